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
use nextbest::EvalError;
use nextbest::decide::{Engine, Options};
use nextbest::history::{
    Batched, Commit, DurableHistory, History, HistoryError, MemoryHistory, PostgresHistory,
};
use nextbest::rules::RuleSet;
use nextbest::simulate::{Simulation, SimulationError, timeline_json_lines};
use nextbest::{Compiler, Duration, Profile, ProfileBuilder, RuleSetError, Schema, Timestamp};
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
        /// The first instant decided (RFC 3339).
        #[arg(long)]
        from: String,
        /// The last instant that may be decided (RFC 3339, inclusive).
        #[arg(long)]
        to: String,
        /// Time between two decisions.
        #[arg(long, default_value = "1h")]
        step: String,
        /// Also print every suppression, skipped step and journey change.
        #[arg(long)]
        explain: bool,
    },
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

mod parallel;
mod run_history;
mod sql_command;

use run_history::RunHistory;

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
            from,
            to,
            step,
            explain,
        } => simulate(&SimulateArgs {
            rules,
            profile,
            events,
            from,
            to,
            step,
            explain,
        }),
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

/// The switches of one `decide` run.
#[derive(Clone, Copy)]
struct Run {
    explain: bool,
    dry_run: bool,
    compact: bool,
    threads: Option<usize>,
}

/// How many profiles' records are committed to the durable store at once.
const BATCH: usize = 512;

fn open_history<'e>(
    path: Option<&Path>,
    engine: &'e Engine,
    now: Timestamp,
    run: Run,
) -> Result<Box<dyn Store + 'e>, Reported> {
    let Some(path) = path else {
        return Ok(Box::new(RunHistory::new(engine.rules(), now)));
    };
    if let Some(url) = postgres_url(path) {
        if run.compact {
            return Err(report(
                "--compact compacts the embedded store; a PostgreSQL history is \
                 compacted by its database's own maintenance",
            ));
        }
        let opened = if run.dry_run {
            PostgresHistory::connect_unchanged(url)
        } else {
            PostgresHistory::connect(url).map(Some)
        };
        return Ok(match opened.map_err(report)? {
            Some(store) => Box::new(Batched::new(store, BATCH)),
            None => Box::new(RunHistory::new(engine.rules(), now)),
        });
    }
    let opened = if run.dry_run {
        DurableHistory::open_unchanged(path)
    } else {
        DurableHistory::open(path).map(Some)
    };
    let Some(mut store) = opened.map_err(report)? else {
        // A dry run over a store that does not exist yet: an empty history.
        return Ok(Box::new(RunHistory::new(engine.rules(), now)));
    };
    if run.compact {
        let window = engine.rules().longest_window();
        let cut = Timestamp::from_micros(now.as_micros().saturating_sub(window.as_micros()));
        let removed = store.compact(cut).map_err(report)?;
        eprintln!(
            "compacted {removed} records decided at or before {cut} \
             (each customer's last decision is kept)"
        );
    }
    Ok(Box::new(Batched::new(store, BATCH)))
}

/// The URL of `--history`, when it names a PostgreSQL database rather than
/// a file.
fn postgres_url(history: &Path) -> Option<&str> {
    let text = history.to_str()?;
    (text.starts_with("postgresql://") || text.starts_with("postgres://")).then_some(text)
}

/// A history the run writes to: in memory, or durable in batches.
trait Store: History + Send + Sync {
    /// Whether a batch is due.
    fn batch_full(&self) -> bool {
        false
    }
    /// Makes what was recorded durable.
    fn commit_batch(&mut self) -> Result<(), HistoryError> {
        Ok(())
    }
}

impl Store for RunHistory<'_> {}

/// Batches over a store. The embedded store's only writer is never raced;
/// over PostgreSQL a conflict stops the run, as the lines of the batch are
/// already written (at least once: see [`commit`]).
impl<H: History + Send + Sync> Store for Batched<H> {
    fn batch_full(&self) -> bool {
        self.is_full()
    }
    fn commit_batch(&mut self) -> Result<(), HistoryError> {
        match self.flush()? {
            Commit::Committed => Ok(()),
            Commit::Conflict(profiles) => Err(HistoryError::Conflict { profiles }),
        }
    }
}

fn decide(rules: &Path, profiles: &Path, now: &str, history: Option<&Path>, run: Run) -> Outcome {
    let engine = Engine::new(load_rules(rules)?);
    let now = instant(Some(now))?;
    let pool = thread_pool(run.threads)?;
    let mut history = open_history(history, &engine, now, run)?;
    let mut decided = 0u64;
    let mut warned = 0u64;
    let options = Options {
        explain: run.explain,
    };
    let schema = &engine.rules().schema;
    let outcome = stream_profiles(schema, Some(profiles), &pool, |chunk, out| {
        let shared: &(dyn History + Sync) = &*history;
        // Decided, and their lines rendered, on the pool from the same
        // history; written and recorded here, in input order.
        let decisions: Vec<_> = pool.install(|| {
            let decisions = engine.decide_batch(&chunk, shared, now, options);
            (decisions.into_par_iter())
                .map(|decision| decision.map(|d| (rendered(&d, run.explain), d)))
                .collect()
        });
        for (profile, decision) in chunk.iter().zip(decisions) {
            let (lines, decision) = match decision {
                // Listed again in the chunk: decided now, from a history
                // that holds its earlier decision (a replay, in a real run).
                Err(nextbest::Error::Eval(EvalError::RepeatedInBatch { .. })) => {
                    let decision =
                        (engine.decide(profile, &*history, now, options)).map_err(report)?;
                    (rendered(&decision, run.explain), decision)
                }
                decision => decision.map_err(report)?,
            };
            for warning in &decision.warnings {
                eprintln!("warning: {warning}");
            }
            warned += u64::from(!decision.warnings.is_empty());
            if !lines.is_empty()
                && let Flow::Stop = write_lines(out, &lines)?
            {
                return Ok(Flow::Stop);
            }
            if !run.dry_run {
                history.record(&decision.update()).map_err(report)?;
                if history.batch_full()
                    && let Flow::Stop = commit(&mut *history, out)?
                {
                    return Ok(Flow::Stop);
                }
            }
            decided += 1;
        }
        Ok(Flow::Continue)
    });
    if warned > 0 {
        let plural = if decided == 1 { "profile" } else { "profiles" };
        eprintln!("warning: {warned} of {decided} {plural} decided with a warning (see above)");
    }
    let end = outcome?;
    // Only what reached the output is committed: after a closed pipe the
    // last batch is decided again next time, under the same keys.
    match end {
        End::Completed { .. } if !run.dry_run => history.commit_batch().map_err(report)?,
        End::Completed { .. } => {}
        End::Stopped => {
            return Err(report(
                "the output was closed before every decision was written; \
                 what was not written was not recorded",
            ));
        }
    }
    end.outcome()
}

/// A decision's JSON lines, each ended by a newline.
fn rendered(decision: &nextbest::decide::Decision, explain: bool) -> Vec<u8> {
    let mut text = Vec::new();
    // Writing into a `Vec` cannot fail.
    let _ = decision.write_json_lines(explain, &mut text);
    text
}

/// The arguments of `nextbest simulate`.
struct SimulateArgs {
    rules: PathBuf,
    profile: PathBuf,
    events: Option<PathBuf>,
    from: String,
    to: String,
    step: String,
    explain: bool,
}

fn simulate(args: &SimulateArgs) -> Outcome {
    let engine = Engine::new(load_rules(&args.rules)?);
    let timestamp =
        |flag: &str, text: &str| Timestamp::parse(text).map_err(|e| report(format!("{flag}: {e}")));
    let from = timestamp("--from", &args.from)?;
    let to = timestamp("--to", &args.to)?;
    let step = Duration::parse(&args.step).map_err(|e| report(format!("--step: {e}")))?;
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
        for line in timeline_json_lines(&decision, args.explain) {
            match write_line(&mut out, line) {
                Ok(Flow::Continue) => {}
                stop => {
                    written = stop.map(|_| ());
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
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

/// Flushes the emissions, then commits their records: at-least-once.
/// Stops when the reader went away: nothing after it can be written.
fn commit(history: &mut dyn Store, out: &mut impl Write) -> Result<Flow, Reported> {
    if let Err(e) = out.flush() {
        return write_failed(&e).map(|()| Flow::Stop);
    }
    history.commit_batch().map_err(report)?;
    Ok(Flow::Continue)
}

/// A closed pipe (`nextbest eval … | head`) is a normal end, not an error.
fn write_failed(error: &io::Error) -> Outcome {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(report(format!("cannot write the output: {error}")))
    }
}
