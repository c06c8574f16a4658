//! One journey's funnel: where each enrolment got to and how it ended.
//!
//! Input: a profile's records of one journey (in recording order) and its
//! journey state from the history. Output: the enrolments, each with the
//! last stage it reached and its fate, added into a [`JourneyFunnel`].
//!
//! A history keeps a profile's state for its latest enrolment only, and a
//! record per stage done (sent, held out or skipped, step numbers from 1,
//! the fallback after the last step). So: the records at or after the
//! latest `entered_at` are the latest enrolment's; the earlier ones split
//! into enrolments where the step number starts again; an earlier
//! enrolment that reached its last stage completed, any other exited (a
//! profile re-enters only after leaving); the enrolments the state counts
//! that left no record exited before their first stage.

use serde::Serialize;

use crate::history::{JourneyState, JourneyStatus, Outcome, Record};
use crate::rules::Journey;

/// How one enrolment ended, so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Active,
    Exited,
    Completed,
}

/// One enrolment: the records of its stages, and how it ended.
#[derive(Debug)]
pub(super) struct Enrolment<'r> {
    pub records: Vec<&'r Record>,
    pub fate: Fate,
}

impl Enrolment<'_> {
    /// The last of a journey's `stages` it reached (0: none); a record of
    /// a stage the journey does not have is no stage reached.
    fn reached(&self, stages: u32) -> u32 {
        (self.records.iter())
            .filter_map(|r| step(r))
            .filter(|s| *s <= stages)
            .max()
            .unwrap_or(0)
    }
}

fn step(record: &Record) -> Option<u32> {
    record.journey.as_ref().map(|(_, step)| *step)
}

/// A profile's enrolments in `journey`, oldest first, from its `records`
/// of that journey (recording order) and its `state`.
pub(super) fn enrolments<'r>(
    journey: &Journey,
    records: &[&'r Record],
    state: Option<JourneyState>,
) -> Vec<Enrolment<'r>> {
    let Some(state) = state else {
        // Records without a state: a store that lost its journey states
        // (or a journey renamed back and forth); the records still tell
        // where the enrolments got to, and none is known to be active.
        return split(journey, records, 0);
    };
    let (earlier, latest): (Vec<&Record>, Vec<&Record>) =
        records.iter().partition(|r| r.at < state.entered_at);
    let earlier_count = state.enrolment.saturating_sub(1);
    let mut all = split(journey, &earlier, earlier_count);
    all.push(Enrolment {
        records: latest,
        fate: match state.status {
            JourneyStatus::Active => Fate::Active,
            JourneyStatus::Exited(_) => Fate::Exited,
            JourneyStatus::Completed(_) => Fate::Completed,
        },
    });
    all
}

/// Splits finished enrolments' records where the step number starts again;
/// `count` of them are known (more when the records show more), the ones
/// without records first.
fn split<'r>(journey: &Journey, records: &[&'r Record], count: u32) -> Vec<Enrolment<'r>> {
    let mut groups: Vec<Vec<&Record>> = Vec::new();
    for record in records {
        let starts_again = match (groups.last().and_then(|g| g.last()), step(record)) {
            (Some(previous), Some(this)) => step(previous).is_some_and(|p| this <= p),
            _ => true,
        };
        match groups.last_mut() {
            Some(group) if !starts_again => group.push(record),
            _ => groups.push(vec![record]),
        }
    }
    let silent = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .saturating_sub(groups.len());
    let last = journey.stage_count();
    let silent = (0..silent).map(|_| Enrolment {
        records: Vec::new(),
        fate: Fate::Exited,
    });
    let finished = groups.into_iter().map(|records| {
        let mut enrolment = Enrolment {
            records,
            fate: Fate::Exited,
        };
        if enrolment.reached(last) >= last {
            enrolment.fate = Fate::Completed;
        }
        enrolment
    });
    silent.chain(finished).collect()
}

/// What happened at one stage (a step or the fallback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StageCount {
    /// The stage's number: steps from 1, the fallback after the last step.
    pub step: u32,
    /// Its action.
    pub action: String,
    /// Sent.
    pub sent: u64,
    /// Given up (blocked by consent or `max_sends`, or overdue).
    pub skipped: u64,
    /// Held out (the control group).
    pub held_out: u64,
}

impl StageCount {
    /// How many enrolments reached it, whatever the outcome.
    pub fn reached(&self) -> u64 {
        self.sent + self.skipped + self.held_out
    }
}

/// Between two consecutive stages: how many reached the first and not the
/// second, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DropOff {
    /// The stage left: `entry`, `step 1`, …
    pub from: String,
    /// The stage not reached: `step 1`, …, `fallback`.
    pub to: String,
    /// How many reached `from`.
    pub reached: u64,
    /// Of those, how many left by the exit rule before `to`.
    pub exited: u64,
    /// Of those, how many are still enrolled, waiting for `to`.
    pub waiting: u64,
    /// Of those, how many completed without `to` (a journey whose last
    /// stage was reached by a rule set that has since grown).
    pub completed: u64,
    /// `(exited + completed) / reached`: the share lost here, waiting
    /// ones not counted as lost (`None` when none reached `from`).
    pub rate: Option<f64>,
}

/// One journey's funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct JourneyFunnel {
    /// The journey.
    pub id: String,
    /// Enrolments (a profile that re-entered counts once per entry).
    pub entered: u64,
    /// Each step's outcomes, in order.
    pub steps: Vec<StageCount>,
    /// The fallback's outcomes, if the journey has one.
    pub fallback: Option<StageCount>,
    /// Enrolments ended by the exit rule.
    pub exited: u64,
    /// Enrolments ended after their last stage.
    pub completed: u64,
    /// Enrolments still under way.
    pub active: u64,
    /// Between each stage and the next.
    pub drop_off: Vec<DropOff>,
    /// `left_at[k]`: (exited, waiting, completed) of the enrolments whose
    /// last stage reached was `k` (0: entry).
    #[serde(skip)]
    left_at: Vec<[u64; 3]>,
}

impl JourneyFunnel {
    pub(super) fn new(journey: &Journey) -> JourneyFunnel {
        let stage = |step: usize, action: &str| StageCount {
            step: u32::try_from(step + 1).unwrap_or(u32::MAX),
            action: action.to_owned(),
            sent: 0,
            skipped: 0,
            held_out: 0,
        };
        let steps: Vec<StageCount> = (journey.steps.iter().enumerate())
            .map(|(i, s)| stage(i, &s.action))
            .collect();
        let fallback = (journey.fallback.as_ref()).map(|f| stage(steps.len(), &f.action));
        let stages = steps.len() + usize::from(fallback.is_some());
        JourneyFunnel {
            id: journey.id.clone(),
            entered: 0,
            steps,
            fallback,
            exited: 0,
            completed: 0,
            active: 0,
            drop_off: Vec::new(),
            left_at: vec![[0; 3]; stages + 1],
        }
    }

    /// Adds one enrolment; answers how many of its records name a stage
    /// the journey does not have (a history of another rule set): those
    /// are left out.
    pub(super) fn add(&mut self, enrolment: &Enrolment<'_>) -> u64 {
        let mut unknown = 0;
        for record in &enrolment.records {
            let stage = step(record).and_then(|s| self.stage_mut(s));
            let Some(stage) = stage else {
                unknown += 1;
                continue;
            };
            match record.outcome {
                Outcome::Sent => stage.sent += 1,
                Outcome::Skipped => stage.skipped += 1,
                Outcome::HeldOut => stage.held_out += 1,
            }
        }
        self.entered += 1;
        let column = match enrolment.fate {
            Fate::Exited => {
                self.exited += 1;
                0
            }
            Fate::Active => {
                self.active += 1;
                1
            }
            Fate::Completed => {
                self.completed += 1;
                2
            }
        };
        let stages = self.left_at.len().saturating_sub(1);
        let reached = enrolment.reached(u32::try_from(stages).unwrap_or(u32::MAX));
        let reached = usize::try_from(reached).unwrap_or(usize::MAX);
        if let Some(row) = self.left_at.get_mut(reached.min(stages))
            && let Some(cell) = row.get_mut(column)
        {
            *cell += 1;
        }
        unknown
    }

    fn stage_mut(&mut self, step: u32) -> Option<&mut StageCount> {
        let index = usize::try_from(step).ok()?.checked_sub(1)?;
        let steps = self.steps.len();
        if index < steps {
            self.steps.get_mut(index)
        } else if index == steps {
            self.fallback.as_mut()
        } else {
            None
        }
    }

    /// Fills [`drop_off`](JourneyFunnel::drop_off) once every enrolment is in.
    pub(super) fn finish(&mut self) {
        let names: Vec<String> = std::iter::once("entry".to_owned())
            .chain((1..=self.steps.len()).map(|s| format!("step {s}")))
            .chain(self.fallback.iter().map(|_| "fallback".to_owned()))
            .collect();
        // reached[k]: enrolments whose last stage is k or later.
        let mut reached = vec![0u64; self.left_at.len()];
        let mut running = 0;
        for (k, row) in self.left_at.iter().enumerate().rev() {
            running += row.iter().sum::<u64>();
            if let Some(r) = reached.get_mut(k) {
                *r = running;
            }
        }
        self.drop_off = (names.windows(2).zip(&self.left_at).zip(&reached))
            .map(|((pair, [exited, waiting, completed]), reached)| {
                let (from, to) = match pair {
                    [from, to] => (from.clone(), to.clone()),
                    _ => (String::new(), String::new()),
                };
                let lost = exited + completed;
                DropOff {
                    from,
                    to,
                    reached: *reached,
                    exited: *exited,
                    waiting: *waiting,
                    completed: *completed,
                    rate: (*reached > 0).then(|| lost as f64 / *reached as f64),
                }
            })
            .collect();
    }

    /// Every stage in order: the steps, then the fallback.
    pub fn stages(&self) -> impl Iterator<Item = &StageCount> {
        self.steps.iter().chain(self.fallback.as_ref())
    }
}
