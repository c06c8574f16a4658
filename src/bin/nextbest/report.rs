//! `nextbest report` and `nextbest forecast` (SPEC §10): the reports of
//! the library's `report` and `forecast` modules, as text, JSON or an HTML
//! page written to a file.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use nextbest::history::{DurableHistory, PostgresHistory};
use nextbest::report::{ContactLog, Options, Tally};
use nextbest::{ProfileLines, Timestamp};

use super::decide::postgres_url;
use super::{Outcome, Reported, load_rules, report as fail, write_failed};

/// How a report is printed.
#[derive(Args)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML page with charts to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// The arguments of `nextbest report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The rule file.
    rules: PathBuf,
    /// The contact history: a store file, or a `postgresql://` URL. Read
    /// only: nothing is created or changed.
    #[arg(long)]
    history: PathBuf,
    /// The profiles, with their events, as JSON lines.
    #[arg(long)]
    profiles: PathBuf,
    /// The instant the report is made for (RFC 3339): later records are
    /// left out, and a goal window still open then is counted as pending.
    #[arg(long)]
    now: String,
    /// The fewest profiles each group needs before an uplift is estimated
    /// (at least 1).
    #[arg(long, default_value_t = nextbest::report::MIN_GROUP,
          value_parser = clap::value_parser!(u64).range(1..))]
    min_group: u64,
    #[command(flatten)]
    output: Output,
}

/// `nextbest report`.
pub fn run_report(args: &ReportArgs) -> Outcome {
    let rules = load_rules(&args.rules)?;
    let now = Timestamp::parse(&args.now).map_err(|e| fail(format!("--now: {e}")))?;
    let log = open_log(&args.history)?;
    let options = Options::default().min_group(args.min_group);
    let mut tally = Tally::new(&rules, now, &options);
    let origin = args.profiles.display();
    let file =
        File::open(&args.profiles).map_err(|e| fail(format!("cannot read `{origin}`: {e}")))?;
    for profile in ProfileLines::new(&rules.schema, BufReader::new(file)) {
        let profile = profile.map_err(|e| fail(format!("{origin}: {e}")))?;
        tally
            .add(&*log, &profile)
            .map_err(|e| fail(format!("{origin}: {e}")))?;
    }
    let report = tally.finish();
    print(
        &args.output,
        || report.to_text(),
        || report.to_json(),
        || report.to_html(),
    )
}

/// The history, opened to be left unchanged.
fn open_log(path: &Path) -> Result<Box<dyn ContactLog>, Reported> {
    if let Some(url) = postgres_url(path) {
        return match PostgresHistory::connect_unchanged(url).map_err(fail)? {
            Some(store) => Ok(Box::new(store)),
            None => Err(fail("--history: that database holds no nextbest history")),
        };
    }
    match DurableHistory::open_unchanged(path).map_err(fail)? {
        Some(store) => Ok(Box::new(store)),
        None => Err(fail(format!(
            "--history: no history store at `{}`",
            path.display()
        ))),
    }
}

/// Writes the HTML page if asked, then the text or JSON to stdout.
pub fn print(
    output: &Output,
    text: impl FnOnce() -> String,
    json: impl FnOnce() -> serde_json::Value,
    html: impl FnOnce() -> String,
) -> Outcome {
    if let Some(path) = &output.html {
        std::fs::write(path, html())
            .map_err(|e| fail(format!("cannot write `{}`: {e}", path.display())))?;
    }
    let body = if output.json {
        format!("{:#}\n", json())
    } else {
        text()
    };
    let mut out = io::stdout().lock();
    match out.write_all(body.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) => write_failed(&e),
    }
}

/// The instants a simulation decides at: `--from`, `--to`, `--step`.
#[derive(Args)]
pub struct Range {
    /// The first instant decided (RFC 3339).
    #[arg(long)]
    from: String,
    /// The last instant that may be decided (RFC 3339, inclusive).
    #[arg(long)]
    to: String,
    /// Time between two decisions.
    #[arg(long, default_value = "1h")]
    step: String,
}

impl Range {
    /// The first and last instants and the step, each checked.
    pub fn parse(&self) -> Result<(Timestamp, Timestamp, nextbest::Duration), Reported> {
        let timestamp = |flag: &str, text: &str| {
            Timestamp::parse(text).map_err(|e| fail(format!("{flag}: {e}")))
        };
        let step =
            nextbest::Duration::parse(&self.step).map_err(|e| fail(format!("--step: {e}")))?;
        Ok((
            timestamp("--from", &self.from)?,
            timestamp("--to", &self.to)?,
            step,
        ))
    }
}

/// The arguments of `nextbest forecast`.
#[derive(Args)]
pub struct ForecastArgs {
    /// The rule file.
    rules: PathBuf,
    /// The sample of profiles, as JSON lines.
    #[arg(long)]
    profiles: PathBuf,
    #[command(flatten)]
    range: Range,
    /// What happens later: JSON lines as `simulate --events` takes, each
    /// for every profile, or for one when it has a `"profile"` field.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Threads to simulate on (every core by default).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    output: Output,
}

/// `nextbest forecast`.
pub fn run_forecast(args: &ForecastArgs) -> Outcome {
    use nextbest::ProfileBuilder;
    use nextbest::decide::Engine;
    use nextbest::forecast::Tally as Forecasting;
    use rayon::prelude::*;

    let engine = Engine::new(load_rules(&args.rules)?);
    let (from, to, step) = args.range.parse()?;
    let schema = &engine.rules().schema;
    let mut builders = Vec::new();
    for (number, line) in json_lines(&args.profiles)? {
        let builder = ProfileBuilder::from_json_value(schema, &line)
            .map_err(|e| fail(format!("{}:{number}: {e}", args.profiles.display())))?;
        builders.push(builder);
    }
    let mut simulations: Vec<_> = (builders.into_iter())
        .map(|b| nextbest::simulate::Simulation::new(&engine, b))
        .collect();
    if let Some(path) = &args.events {
        apply_timeline(path, &mut simulations)?;
    }
    let tally = Forecasting::new(engine.rules(), from, to, step)
        .map_err(|e| fail(format!("--from, --to, --step: {e}")))?;
    let pool = super::thread_pool(args.threads)?;
    let progress = progress(simulations.len());
    let summaries: Vec<_> = pool.install(|| {
        (simulations.par_iter())
            .map(|simulation| {
                let summary = tally.simulate(simulation);
                progress.inc(1);
                summary
            })
            .collect()
    });
    progress.finish_and_clear();
    let mut tally = tally;
    for summary in summaries {
        tally.add(summary.map_err(|e| fail(format!("{}: {e}", args.profiles.display())))?);
    }
    let forecast = tally.finish();
    print(
        &args.output,
        || forecast.to_text(),
        || forecast.to_json(),
        || forecast.to_html(),
    )
}

/// Customers simulated, their rate and an ETA, on stderr when it is a
/// terminal (a hidden bar otherwise).
fn progress(customers: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(customers as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{wide_bar} {pos}/{len} customers · {per_sec} · ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// The JSON values of a JSON-lines file with their line numbers; blank
/// lines and a byte order mark skipped.
fn json_lines(path: &Path) -> Result<Vec<(usize, serde_json::Value)>, Reported> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let json = serde_json::from_str(line).map_err(|e| {
            fail(format!(
                "{}:{number}:{}: invalid JSON: {e}",
                path.display(),
                e.column()
            ))
        })?;
        lines.push((number, json));
    }
    Ok(lines)
}

/// Gives each simulation the timeline's lines for every profile and those
/// naming it; a line naming a profile not in the sample is an error (a
/// typo would otherwise silently change nothing).
fn apply_timeline(
    path: &Path,
    simulations: &mut Vec<nextbest::simulate::Simulation<'_>>,
) -> Result<(), Reported> {
    use std::collections::HashMap;
    let at = |number: usize, detail: &str| fail(format!("{}:{number}: {detail}", path.display()));
    let place: HashMap<String, usize> = (simulations.iter().enumerate())
        .map(|(i, s)| (s.profile_id().to_owned(), i))
        .collect();
    let mut everyone = Vec::new();
    let mut own: Vec<Vec<(usize, serde_json::Value)>> = vec![Vec::new(); simulations.len()];
    for (number, mut line) in json_lines(path)? {
        let target = match &mut line {
            serde_json::Value::Object(object) => object.remove("profile"),
            _ => None,
        };
        match target {
            None => everyone.push((number, line)),
            Some(serde_json::Value::String(id)) => {
                match place.get(&id).and_then(|i| own.get_mut(*i)) {
                    Some(lines) => lines.push((number, line)),
                    None => {
                        return Err(at(
                            number,
                            &format!("field `profile`: `{id}` is not in the sample"),
                        ));
                    }
                }
            }
            Some(_) => {
                return Err(at(
                    number,
                    "field `profile`: expected a profile id (a string)",
                ));
            }
        }
    }
    let taken = std::mem::take(simulations);
    for (simulation, lines) in taken.into_iter().zip(own) {
        let mut simulation = simulation;
        for (number, line) in everyone.iter().chain(&lines) {
            simulation = simulation
                .timeline_value(*number, line)
                .map_err(|e| at(e.line, &e.detail))?;
        }
        simulations.push(simulation);
    }
    Ok(())
}
