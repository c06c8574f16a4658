//! `nextbest`: the command line over the library (SPEC §6). A thin shell:
//! argument parsing, files and streams, exit codes; every decision is the
//! library's.
//!
//! Exit codes: 0 success, 1 invalid input (rules, expression or profiles),
//! 2 usage errors (from clap).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nextbest::decide::Engine;
use nextbest::history::{DurableHistory, MemoryHistory};
use nextbest::rules::RuleSet;
use nextbest::simulate::{Simulation, SimulationError};
use nextbest::{Compiler, Profile, ProfileBuilder, RuleSetError, Schema, Timestamp};
use rayon::ThreadPool;
use rayon::prelude::*;

#[derive(Parser)]
#[command(
    name = "nextbest",
    version,
    about = "Trigger rules and next-best actions for customer journeys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a rule file: exit 0 with a summary, or 1 with every problem.
    Check {
        /// The rule file (TOML, or JSON by its extension).
        rules: PathBuf,
    },
    /// Evaluate an expression over profiles: one `id<TAB>true|false|null` line each.
    Eval {
        /// The rule file whose schema the expression is written against.
        rules: PathBuf,
        /// The expression (it may start with `-`: `--expr '-1 < n'`).
        #[arg(long, allow_hyphen_values = true)]
        expr: String,
        /// The evaluation instant (RFC 3339); the current time if omitted.
        #[arg(long)]
        now: Option<String>,
        /// JSON-lines profiles; standard input if omitted or `-`.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// Threads to parse and evaluate on (every core by default); lines
        /// come out in input order whatever the number.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Decide the next-best actions: one JSON line per emission (and, with
    /// --explain, per suppression).
    Decide {
        /// The rule file.
        rules: PathBuf,
        /// JSON-lines profiles; standard input if `-`.
        #[arg(long)]
        profiles: PathBuf,
        /// The decision instant (RFC 3339).
        #[arg(long)]
        now: String,
        /// Also print every candidate that did not win, with its reason.
        #[arg(long)]
        explain: bool,
        /// Decide without recording: a profile that appears twice is decided
        /// twice from the same history.
        #[arg(long)]
        dry_run: bool,
        /// The durable contact history (created if missing), read for
        /// cooldowns and caps and, unless --dry-run, updated with what was
        /// emitted: a file, or a `postgresql://` URL for a history shared
        /// with other writers (its tables created if missing). Without it
        /// the run starts from an empty history. A dry run leaves the store
        /// as it is: it creates no store and refuses one that would need
        /// upgrading. Over PostgreSQL, a batch of which another writer
        /// decided a profile meanwhile stops the run: nothing of that batch
        /// is recorded.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Before deciding, drop history records older than the longest
        /// window any rule needs (no decision changes).
        #[arg(long, requires = "history", conflicts_with = "dry_run")]
        compact: bool,
        /// Threads to parse and decide on (every core by default); lines
        /// come out in input order whatever the number.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Simulate one profile over time: decide at every step, record what is
    /// sent, apply the timeline's events and trait changes as their time
    /// comes; one JSON line per emission (as `decide`), each with its "at".
    Simulate {
        /// The rule file.
        rules: PathBuf,
        /// The profile, one JSON object (the format of `--profiles` lines).
        #[arg(long)]
        profile: PathBuf,
        /// What happens later: JSON lines, each an event of the profile
        /// format or `{"timestamp": …, "traits": {…}}`.
        #[arg(long)]
        events: Option<PathBuf>,
        #[command(flatten)]
        range: report::Range,
        /// Also print every suppression, skipped step and journey change.
        #[arg(long)]
        explain: bool,
    },
    /// What the journeys did: drop-off per stage, and each goal's
    /// conversion against the held-out control group with its uplift.
    Report(report::ReportArgs),
    /// The contact pressure a rule set would put on a sample of customers:
    /// sends per customer per week, the most contacted, actions that never
    /// fire, overlapping triggers, binding caps.
    Forecast(report::ForecastArgs),
    /// Compile a trigger to one SQL statement for a warehouse: every
    /// profile's id and verdict, or with --audience the ids where it is TRUE.
    Sql(sql_command::SqlArgs),
    /// Durable history stores.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
}

#[derive(Subcommand)]
enum HistoryCommand {
    /// Verify a store, changing nothing: every page's checksum and every
    /// record; exit 0 with its counts, or 1 naming the damage.
    Verify {
        /// The store's file.
        store: PathBuf,
    },
}

/// A failure already reported on stderr.
struct Reported;

type Outcome = Result<(), Reported>;

mod decide;
mod parallel;
mod report;
mod run_history;
mod sql_command;

use decide::{Run, decide};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let writes_lines = !matches!(cli.command, Command::Check { .. });
    if writes_lines && !standard_output_is_open() {
        report(
            "standard output is closed: nothing would see the lines, yet decisions would be \
             recorded; redirect it (`> /dev/null` to discard them)",
        );
        return ExitCode::FAILURE;
    }
    let outcome = match cli.command {
        Command::Check { rules } => check(&rules),
        Command::Eval {
            rules,
            expr,
            now,
            profiles,
            threads,
        } => eval(&rules, &expr, now.as_deref(), profiles.as_deref(), threads),
        Command::Decide {
            rules,
            profiles,
            now,
            explain,
            dry_run,
            history,
            compact,
            threads,
        } => {
            let run = Run {
                explain,
                dry_run,
                compact,
                threads,
            };
            decide(&rules, &profiles, &now, history.as_deref(), run)
        }
        Command::Simulate {
            rules,
            profile,
            events,
            range,
            explain,
        } => simulate(&SimulateArgs {
            rules,
            profile,
            events,
            range,
            explain,
        }),
        Command::Report(args) => report::run_report(&args),
        Command::Forecast(args) => report::run_forecast(&args),
        Command::History {
            command: HistoryCommand::Verify { store },
        } => verify_history(&store),
        Command::Sql(args) => sql_command::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Reported) => ExitCode::FAILURE,
    }
}

/// Whether the process was started with a standard output. A process
/// started with it closed (`>&-`) gets `/dev/null` from the Rust runtime,
/// opened for reading and writing, and every write "succeeds": told apart
/// from a shell's `> /dev/null` (write-only) by its access mode, where the
/// system shows it (Linux's `/proc`). Elsewhere, assumed open.
fn standard_output_is_open() -> bool {
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else {
        return true;
    };
    if target != Path::new("/dev/null") {
        return true;
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else {
        return true;
    };
    // `flags:` is octal; the low two bits are the access mode, 2 = O_RDWR.
    let flags = (info.lines())
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|octal| u32::from_str_radix(octal.trim(), 8).ok());
    flags.is_none_or(|flags| flags & 0o3 != 0o2)
}

fn report(message: impl std::fmt::Display) -> Reported {
    eprintln!("error: {message}");
    Reported
}

fn load_rules(path: &Path) -> Result<RuleSet, Reported> {
    RuleSet::load(path).map_err(|error| match error {
        RuleSetError::Invalid(invalid) => {
            let count = invalid.diagnostics.len();
            eprintln!("{}\n", invalid.render(io::stderr().is_terminal()));
            let plural = if count == 1 { "problem" } else { "problems" };
            report(format!("`{}` has {count} {plural}", path.display()))
        }
        other => report(other),
    })
}

fn check(path: &Path) -> Outcome {
    let rules = load_rules(path)?;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "{}: ok ({}, {}, {}, {}, {})",
        path.display(),
        plural(rules.schema.attribute_count(), "trait"),
        plural(rules.schema.event_count(), "event type"),
        plural(rules.actions.len(), "action"),
        plural(rules.journeys.len(), "journey"),
        plural(rules.caps.len(), "cap"),
    );
    Ok(())
}

/// `--now`, or the clock: the command line is the edge where the clock is read.
fn instant(now: Option<&str>) -> Result<Timestamp, Reported> {
    match now {
        Some(text) => Timestamp::parse(text).map_err(|e| report(format!("--now: {e}"))),
        None => {
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| report(format!("the system clock is before 1970: {e}")))?;
            Ok(Timestamp::from_micros(
                i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX),
            ))
        }
    }
}

/// Where profiles come from: the reader, its name in messages, and its size
/// when it is a file (for progress).
struct Input {
    reader: Box<dyn BufRead + Send>,
    origin: String,
    size: Option<u64>,
}

/// The profiles' file, or standard input when there is none or it is `-`.
fn profile_input(path: Option<&Path>) -> Result<Input, Reported> {
    match path.filter(|path| *path != Path::new("-")) {
        Some(path) => {
            let file = File::open(path)
                .map_err(|e| report(format!("cannot read `{}`: {e}", path.display())))?;
            let size = file.metadata().ok().map(|meta| meta.len());
            Ok(Input {
                reader: Box::new(BufReader::new(file)),
                origin: path.display().to_string(),
                size,
            })
        }
        None => Ok(Input {
            reader: Box::new(BufReader::new(io::stdin())),
            origin: "<stdin>".to_owned(),
            size: None,
        }),
    }
}

/// Whether to go on writing: a closed pipe (`nextbest eval … | head`) is a
/// normal end, not an error.
enum Flow {
    Continue,
    Stop,
}

fn write_line(out: &mut impl Write, line: impl std::fmt::Display) -> Result<Flow, Reported> {
    written(writeln!(out, "{line}"))
}

/// Writes `text` (whole lines) to the output, as [`write_line`] does.
fn write_lines(out: &mut impl Write, text: &[u8]) -> Result<Flow, Reported> {
    written(out.write_all(text))
}

/// Whether to go on after a write: a closed output stops the run.
fn written(result: io::Result<()>) -> Result<Flow, Reported> {
    match result {
        Ok(()) => Ok(Flow::Continue),
        Err(e) => write_failed(&e).map(|()| Flow::Stop),
    }
}

/// How a stream of profiles ended.
enum End {
    /// Every profile was read and the output flushed; some lines may have
    /// been bad (already reported).
    Completed { bad_lines: usize, origin: String },
    /// The reader of our output went away.
    Stopped,
}

impl End {
    /// Success, or the count of bad lines as the run's error.
    fn outcome(self) -> Outcome {
        match self {
            End::Completed { bad_lines, origin } if bad_lines > 0 => {
                let plural = if bad_lines == 1 { "line" } else { "lines" };
                Err(report(format!("{bad_lines} bad {plural} in `{origin}`")))
            }
            _ => Ok(()),
        }
    }
}

/// Runs `each` over the profiles of the input a chunk at a time, in input
/// order, parsed on `pool`, with buffered stdout. A bad line is reported as
/// `FILE:LINE: …` and skipped.
fn stream_profiles(
    schema: &Schema,
    path: Option<&Path>,
    pool: &ThreadPool,
    mut each: impl FnMut(Vec<Profile>, &mut Out) -> Result<Flow, Reported>,
) -> Result<End, Reported> {
    let input = profile_input(path)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let origin = input.origin.clone();
    let bad_lines = parallel::chunks(schema, input.reader, &origin, input.size, pool, |chunk| {
        each(chunk, &mut out)
    })?;
    let Some(bad_lines) = bad_lines else {
        return Ok(End::Stopped);
    };
    if let Err(e) = out.flush() {
        return write_failed(&e).map(|()| End::Stopped);
    }
    Ok(End::Completed { bad_lines, origin })
}

/// Buffered standard output.
type Out = BufWriter<io::StdoutLock<'static>>;

/// The pool of `--threads`.
fn thread_pool(threads: Option<usize>) -> Result<ThreadPool, Reported> {
    parallel::pool(threads).map_err(report)
}

fn eval(
    rules: &Path,
    expr: &str,
    now: Option<&str>,
    profiles: Option<&Path>,
    threads: Option<usize>,
) -> Outcome {
    let rules = load_rules(rules)?;
    let now = instant(now)?;
    let trigger = Compiler::new(&rules.schema)
        .trigger(expr)
        .map_err(|error| {
            eprintln!("{}\n", error.render("--expr"));
            report("the expression does not check")
        })?;
    let pool = thread_pool(threads)?;
    let end = stream_profiles(&rules.schema, profiles, &pool, |chunk, out| {
        let truths: Vec<_> = pool.install(|| {
            (chunk.par_iter())
                .map(|profile| trigger.evaluate(profile, now))
                .collect()
        });
        for (profile, truth) in chunk.iter().zip(truths) {
            let truth = truth.map_err(report)?;
            if let Flow::Stop = write_line(out, format_args!("{}\t{truth}", profile.id()))? {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    })?;
    end.outcome()
}

/// `nextbest history verify`.
fn verify_history(path: &Path) -> Outcome {
    let store = DurableHistory::open_unchanged(path)
        .map_err(report)?
        .ok_or_else(|| report(format!("{}: no history store there", path.display())))?;
    let contents = store.verify().map_err(report)?;
    println!(
        "{}: ok ({} records, {} sends, {} journey states)",
        path.display(),
        contents.records,
        contents.sends,
        contents.journeys
    );
    Ok(())
}

/// The arguments of `nextbest simulate`.
struct SimulateArgs {
    rules: PathBuf,
    profile: PathBuf,
    events: Option<PathBuf>,
    range: report::Range,
    explain: bool,
}

fn simulate(args: &SimulateArgs) -> Outcome {
    let engine = Engine::new(load_rules(&args.rules)?);
    let (from, to, step) = args.range.parse()?;
    let profile = load_profile(&engine.rules().schema, &args.profile)?;
    let mut simulation = Simulation::new(&engine, profile).explain(args.explain);
    if let Some(path) = &args.events {
        let file = File::open(path)
            .map_err(|e| report(format!("cannot read `{}`: {e}", path.display())))?;
        simulation = simulation
            .timeline_json(BufReader::new(file))
            .map_err(|e| report(format!("{}:{}: {}", path.display(), e.line, e.detail)))?;
    }
    // Each decision's lines are written as it is made: memory stays
    // constant however long the simulation.
    let mut out = BufWriter::new(io::stdout().lock());
    let mut written: Outcome = Ok(());
    let mut history = MemoryHistory::new();
    let run = simulation.run_each(&mut history, from, to, step, |decision| {
        let mut text = Vec::new();
        // Writing into a `Vec` cannot fail.
        let _ = decision.write_timeline_json_lines(args.explain, &mut text);
        match write_lines(&mut out, &text) {
            Ok(Flow::Continue) => ControlFlow::Continue(()),
            stop => {
                written = stop.map(|_| ());
                ControlFlow::Break(())
            }
        }
    });
    run.map_err(|e| match e {
        // The range is the command line's, not the profile's.
        SimulationError::Range { .. } => report(format!("--from, --to, --step: {e}")),
        e => report(format!("`{}`: {e}", args.profile.display())),
    })?;
    written?;
    out.flush().or_else(|e| write_failed(&e))
}

/// One profile from a JSON file, strictly.
fn load_profile(schema: &Schema, path: &Path) -> Result<ProfileBuilder, Reported> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| report(format!("cannot read `{}`: {e}", path.display())))?;
    // A byte order mark (Windows editors write one) is not JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        report(format!(
            "{}:{}:{}: invalid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    ProfileBuilder::from_json_value(schema, &json)
        .map_err(|e| report(format!("{}: {e}", path.display())))
}

/// A closed pipe (`nextbest eval … | head`) is a normal end, not an error.
fn write_failed(error: &io::Error) -> Outcome {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(report(format!("cannot write the output: {error}")))
    }
}
