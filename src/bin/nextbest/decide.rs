//! `nextbest decide`: profiles decided a chunk at a time on the pool, their
//! lines written in input order, and each chunk's decisions committed to
//! the history as one transaction once its lines are flushed: at least
//! once, so a line may be written twice but a record never.
//!
//! Over a history that other processes write too (PostgreSQL), a profile
//! that another writer decided after this run read it is decided again,
//! from what that writer recorded (a replay, at the same instant), and its
//! lines are written again.

use std::io::Write;
use std::path::Path;

use nextbest::EvalError;
use nextbest::decide::{Decision, Engine, Options};
use nextbest::history::{Batched, Commit, DurableHistory, History, HistoryError, PostgresHistory};
use nextbest::{Profile, Timestamp};
use rayon::prelude::*;

use crate::run_history::RunHistory;
use crate::{
    End, Flow, Out, Outcome, Reported, instant, load_rules, parallel, report, stream_profiles,
    thread_pool, write_failed, write_lines,
};

/// The switches of one `decide` run.
#[derive(Clone, Copy)]
pub struct Run {
    pub explain: bool,
    pub dry_run: bool,
    pub compact: bool,
    pub threads: Option<usize>,
}

/// How many times a chunk's commit is tried after conflicts before the run
/// gives up: each try decides again only the profiles another writer
/// decided in between, so more than a couple means a writer that never
/// stops deciding them.
const ATTEMPTS: usize = 8;

pub fn decide(
    rules: &Path,
    profiles: &Path,
    now: &str,
    history: Option<&Path>,
    run: Run,
) -> Outcome {
    let engine = Engine::new(load_rules(rules)?);
    let now = instant(Some(now))?;
    let pool = thread_pool(run.threads)?;
    let mut history = open_history(history, &engine, now, run)?;
    let mut lines = Lines {
        explain: run.explain,
        decided: 0,
        warned: 0,
    };
    let options = Options::default().explain(run.explain);
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
            let (text, decision) = match decision {
                // Listed again in the chunk: decided now, from a history
                // that holds its earlier decision (a replay, in a real run).
                Err(nextbest::Error::Eval(EvalError::RepeatedInBatch { .. })) => {
                    let decision =
                        (engine.decide(profile, &*history, now, options)).map_err(report)?;
                    (rendered(&decision, run.explain), decision)
                }
                decision => decision.map_err(report)?,
            };
            // Counted once per profile: a profile decided again after a
            // conflict is not counted twice.
            lines.decided += 1;
            lines.warned += u64::from(!decision.warnings.is_empty());
            if let Flow::Stop = lines.write(&decision, &text, out)? {
                return Ok(Flow::Stop);
            }
            if !run.dry_run {
                history.record(&decision.update()).map_err(report)?;
            }
        }
        if run.dry_run {
            return Ok(Flow::Continue);
        }
        let chunk = Chunk {
            engine: &engine,
            profiles: &chunk,
            now,
            options,
        };
        chunk.commit(&mut *history, &mut lines, out)
    });
    if lines.warned > 0 {
        let (warned, decided) = (lines.warned, lines.decided);
        let plural = if decided == 1 { "profile" } else { "profiles" };
        eprintln!("warning: {warned} of {decided} {plural} decided with a warning (see above)");
    }
    let end = outcome?;
    // Only what reached the output is committed: after a closed pipe the
    // last chunk is decided again next time, under the same keys.
    if let End::Stopped = end {
        return Err(report(
            "the output was closed before every decision was written; \
             what was not written was not recorded",
        ));
    }
    end.outcome()
}

/// What the run wrote: decisions' lines, and the count of profiles decided
/// and of those with warnings.
struct Lines {
    explain: bool,
    decided: u64,
    warned: u64,
}

impl Lines {
    /// Writes `decision`'s lines (`text`, rendered) and its warnings.
    fn write(&self, decision: &Decision, text: &[u8], out: &mut Out) -> Result<Flow, Reported> {
        for warning in &decision.warnings {
            eprintln!("warning: {warning}");
        }
        if text.is_empty() {
            return Ok(Flow::Continue);
        }
        write_lines(out, text)
    }
}

/// A chunk of profiles whose decisions were recorded into the batch.
struct Chunk<'a> {
    engine: &'a Engine,
    profiles: &'a [Profile],
    now: Timestamp,
    options: Options,
}

impl Chunk<'_> {
    /// Flushes the chunk's lines, then commits its decisions: at least once.
    /// A profile another writer decided meanwhile is out of the batch; it is
    /// decided again from what that writer recorded, its lines written, and
    /// the commit tried again. Stops when the reader of the output went away:
    /// nothing after it can be written, so nothing more is recorded.
    fn commit(
        &self,
        history: &mut dyn Store,
        lines: &mut Lines,
        out: &mut Out,
    ) -> Result<Flow, Reported> {
        for _ in 0..ATTEMPTS {
            if let Err(e) = out.flush() {
                return write_failed(&e).map(|()| Flow::Stop);
            }
            let moved = match history.commit_batch().map_err(report)? {
                Commit::Committed => return Ok(Flow::Continue),
                Commit::Conflict(profiles) => profiles,
            };
            for id in &moved {
                let profile = (self.profiles.iter())
                    .find(|profile| profile.id() == id.as_str())
                    .ok_or_else(|| {
                        report(format!(
                            "the history answered that `{id}` was decided by another writer, \
                             but it is not among the profiles being committed"
                        ))
                    })?;
                let decision = (self.engine)
                    .decide(profile, &*history, self.now, self.options)
                    .map_err(report)?;
                if let Flow::Stop =
                    lines.write(&decision, &rendered(&decision, lines.explain), out)?
                {
                    return Ok(Flow::Stop);
                }
                history.record(&decision.update()).map_err(report)?;
            }
        }
        Err(report(format!(
            "other writers kept deciding the same profiles as this run: \
             {ATTEMPTS} commits of one batch conflicted, and the run stopped"
        )))
    }
}

/// A decision's JSON lines, each ended by a newline.
fn rendered(decision: &Decision, explain: bool) -> Vec<u8> {
    let mut text = Vec::new();
    // Writing into a `Vec` cannot fail.
    let _ = decision.write_json_lines(explain, &mut text);
    text
}

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
            Some(store) => Box::new(Batched::new(store, parallel::CHUNK)),
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
    Ok(Box::new(Batched::new(store, parallel::CHUNK)))
}

/// The URL of `--history`, when it names a PostgreSQL database rather than
/// a file.
pub(super) fn postgres_url(history: &Path) -> Option<&str> {
    let text = history.to_str()?;
    (text.starts_with("postgresql://") || text.starts_with("postgres://")).then_some(text)
}

/// A history the run writes to: in memory, or durable in batches.
trait Store: History + Send + Sync {
    /// Makes what was recorded durable, as one transaction; or answers
    /// which profiles another writer decided in between (taken out of what
    /// was recorded).
    fn commit_batch(&mut self) -> Result<Commit, HistoryError> {
        Ok(Commit::Committed)
    }
}

impl Store for RunHistory<'_> {}

impl<H: History + Send + Sync> Store for Batched<H> {
    fn commit_batch(&mut self) -> Result<Commit, HistoryError> {
        self.flush()
    }
}
