//! `nextbest`: the command line over the library (SPEC §6). A thin shell:
//! argument parsing, files and streams, exit codes; every decision is the
//! library's.
//!
//! Exit codes: 0 success, 1 invalid input (rules, expression or profiles),
//! 2 usage errors (from clap).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nextbest::decide::{Engine, Options};
use nextbest::history::{History, MemoryHistory};
use nextbest::rules::RuleSet;
use nextbest::{Compiler, Profile, ProfileLines, RuleSetError, Schema, Timestamp};

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
        /// The expression.
        #[arg(long)]
        expr: String,
        /// The evaluation instant (RFC 3339); the current time if omitted.
        #[arg(long)]
        now: Option<String>,
        /// JSON-lines profiles; standard input if omitted.
        #[arg(long)]
        profiles: Option<PathBuf>,
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
    },
}

/// A failure already reported on stderr.
struct Reported;

type Outcome = Result<(), Reported>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check { rules } => check(&rules),
        Command::Eval {
            rules,
            expr,
            now,
            profiles,
        } => eval(&rules, &expr, now.as_deref(), profiles.as_deref()),
        Command::Decide {
            rules,
            profiles,
            now,
            explain,
            dry_run,
        } => decide(&rules, &profiles, &now, explain, dry_run),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Reported) => ExitCode::FAILURE,
    }
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

fn profile_input(path: Option<&Path>) -> Result<(Box<dyn BufRead>, String), Reported> {
    match path {
        Some(path) => {
            let file = File::open(path)
                .map_err(|e| report(format!("cannot read `{}`: {e}", path.display())))?;
            Ok((Box::new(BufReader::new(file)), path.display().to_string()))
        }
        None => Ok((Box::new(io::stdin().lock()), "<stdin>".to_owned())),
    }
}

/// Whether to go on writing: a closed pipe (`nextbest eval … | head`) is a
/// normal end, not an error.
enum Flow {
    Continue,
    Stop,
}

fn write_line(out: &mut impl Write, line: impl std::fmt::Display) -> Result<Flow, Reported> {
    match writeln!(out, "{line}") {
        Ok(()) => Ok(Flow::Continue),
        Err(e) => write_failed(&e).map(|()| Flow::Stop),
    }
}

/// Runs `each` over every profile of the input, in constant memory, with
/// buffered stdout. A bad line is reported as `FILE:LINE: …` and skipped; the
/// run fails at the end if there was any.
fn stream_profiles(
    schema: &Schema,
    path: Option<&Path>,
    mut each: impl FnMut(Profile, &mut BufWriter<io::StdoutLock<'static>>) -> Result<Flow, Reported>,
) -> Outcome {
    let (input, origin) = profile_input(path)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut bad_lines = 0usize;
    for result in ProfileLines::new(schema, input) {
        match result {
            Ok(profile) => {
                if let Flow::Stop = each(profile, &mut out)? {
                    return Ok(());
                }
            }
            Err(error) => {
                bad_lines += 1;
                eprintln!("{origin}:{}: {}", error.line(), error.detail());
            }
        }
    }
    if let Err(e) = out.flush() {
        return write_failed(&e);
    }
    if bad_lines > 0 {
        let plural = if bad_lines == 1 { "line" } else { "lines" };
        return Err(report(format!("{bad_lines} bad {plural} in `{origin}`")));
    }
    Ok(())
}

fn eval(rules: &Path, expr: &str, now: Option<&str>, profiles: Option<&Path>) -> Outcome {
    let rules = load_rules(rules)?;
    let now = instant(now)?;
    let trigger = Compiler::new(&rules.schema)
        .trigger(expr)
        .map_err(|error| {
            eprintln!("{}\n", error.render("--expr"));
            report("the expression does not check")
        })?;
    stream_profiles(&rules.schema, profiles, |profile, out| {
        let truth = trigger.evaluate(&profile, now).map_err(report)?;
        write_line(out, format_args!("{}\t{truth}", profile.id()))
    })
}

fn decide(rules: &Path, profiles: &Path, now: &str, explain: bool, dry_run: bool) -> Outcome {
    let engine = Engine::new(load_rules(rules)?);
    let now = instant(Some(now))?;
    let path = (profiles != Path::new("-")).then_some(profiles);
    let mut history = MemoryHistory::new();
    let progress = io::stderr().is_terminal();
    let mut decided = 0u64;
    let outcome = stream_profiles(&engine.rules().schema, path, |profile, out| {
        let decision = engine
            .decide(&profile, &history, now, Options { explain })
            .map_err(report)?;
        let emissions = decision.emissions.iter().map(|e| e.to_json());
        for line in emissions.chain(decision.suppressions.iter().map(|s| s.to_json())) {
            if let Flow::Stop = write_line(out, line)? {
                return Ok(Flow::Stop);
            }
        }
        if !dry_run {
            history.record(&decision.records()).map_err(report)?;
        }
        decided += 1;
        if progress && decided % 100_000 == 0 {
            eprint!("\r{decided} profiles decided");
        }
        Ok(Flow::Continue)
    });
    if progress && decided >= 100_000 {
        eprintln!();
    }
    outcome
}

/// A closed pipe (`nextbest eval … | head`) is a normal end, not an error.
fn write_failed(error: &io::Error) -> Outcome {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(report(format!("cannot write the output: {error}")))
    }
}
