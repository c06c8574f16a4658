//! A deterministic simulator: one profile's future, decided step by step.
//!
//! Input: an [`Engine`], a profile (as a [`ProfileBuilder`]), the events and
//! trait changes still to come, and a time range with a step. Output: a
//! [`Timeline`] of the decisions that did something, each at its instant.
//! At every step the simulator decides, records the decision in an in-memory
//! history, and moves on; an event is seen from its own instant on (an
//! expression never sees an event later than its `now`), and a trait change
//! applies from the first step at or after its instant. There is no clock and
//! no randomness: the same inputs give the same timeline.
//!
//! ```
//! use nextbest::decide::Engine;
//! use nextbest::rules::{Format, RuleSet};
//! use nextbest::simulate::Simulation;
//! use nextbest::{Duration, Profile, Timestamp};
//! let rules = RuleSet::parse(r#"
//! [schema.traits]
//! at_risk = "bool"
//! [schema.events]
//! login = {}
//! [consent]
//! email = {}
//! push = {}
//! [[action]]
//! id = "email_day_0"
//! channel = "email"
//! [[action]]
//! id = "push_day_3"
//! channel = "push"
//! [[journey]]
//! id = "rescue"
//! entry = "at_risk"
//! exit = "count(login SINCE journey.entered_at) > 0"
//! steps = [{ after = "0d", action = "email_day_0" }, { after = "3d", action = "push_day_3" }]
//! "#, Format::Toml, "rules.toml")?;
//! let engine = Engine::new(rules);
//! let start = Timestamp::parse("2026-11-24T09:00:00Z")?;
//! let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("at_risk", true);
//!
//! let timeline = Simulation::new(&engine, profile.clone())
//!     .run(start, start + Duration::parse("7d")?, Duration::parse("1h")?)?;
//! let sent: Vec<&str> = timeline.sends().map(|(_, e)| e.action.as_str()).collect();
//! assert_eq!(sent, ["email_day_0", "push_day_3"]);
//!
//! // A login on day 2 ends the journey before the push.
//! let timeline = Simulation::new(&engine, profile)
//!     .event("login", start + Duration::parse("2d")?, Vec::<(&str, i64)>::new())
//!     .run(start, start + Duration::parse("7d")?, Duration::parse("1h")?)?;
//! let sent: Vec<&str> = timeline.sends().map(|(_, e)| e.action.as_str()).collect();
//! assert_eq!(sent, ["email_day_0"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::BufRead;
use std::ops::ControlFlow;

use serde_json::Value as Json;

use crate::decide::{Decision, Emission, Engine, Options};
use crate::history::{History, HistoryError, MemoryHistory};
use crate::profile::{ProfileBuilder, ProfileError};
use crate::trigger::EvalError;
use crate::value::{Duration, Timestamp, Value};

/// The most steps one simulation runs: ten years hourly, with room to spare.
pub const MAX_STEPS: u64 = 100_000;

/// One profile's future, ready to be simulated.
#[derive(Debug, Clone)]
pub struct Simulation<'e> {
    engine: &'e Engine,
    profile: ProfileBuilder,
    /// Trait changes: (from when, trait, value), in the order given.
    changes: Vec<(Timestamp, String, Value)>,
    explain: bool,
}

/// A line of a timeline that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {detail}")]
#[non_exhaustive]
pub struct TimelineError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong, naming the field.
    pub detail: String,
}

/// What went wrong in a simulation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulationError {
    /// The profile, an event or a trait change does not fit the schema.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A decision failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The history could not be read, or refused a record.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The range or the step cannot be simulated.
    #[error("cannot simulate from {from} to {to} every {step}: {reason}")]
    Range {
        /// The start.
        from: Timestamp,
        /// The end.
        to: Timestamp,
        /// The step.
        step: Duration,
        /// Why not.
        reason: String,
    },
}

impl<'e> Simulation<'e> {
    /// A simulation of `profile` under `engine`'s rules.
    pub fn new(engine: &'e Engine, profile: ProfileBuilder) -> Self {
        Simulation {
            engine,
            profile,
            changes: Vec::new(),
            explain: false,
        }
    }

    /// The id of the profile it simulates.
    pub fn profile_id(&self) -> &str {
        self.profile.id()
    }

    /// An event that happens at `at`.
    pub fn event<V: Into<Value>>(
        mut self,
        event: &str,
        at: Timestamp,
        properties: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Self {
        self.profile = self.profile.event(event, at, properties);
        self
    }

    /// A trait that takes `value` at `at` (a consent withdrawn, a segment
    /// changed…).
    pub fn attribute(mut self, at: Timestamp, name: &str, value: impl Into<Value>) -> Self {
        self.changes.push((at, name.to_owned(), value.into()));
        self
    }

    /// Adds a timeline in JSON lines, the format of `nextbest simulate
    /// --events`: each line an event of the profile format (`{"event",
    /// "timestamp", "properties"}`) or a trait change (`{"timestamp",
    /// "traits": {…}}`); blank lines are skipped. Unknown event types and
    /// traits are ignored, as in profiles.
    ///
    /// ```
    /// # use nextbest::decide::Engine;
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::simulate::Simulation;
    /// # use nextbest::Profile;
    /// # let rules = RuleSet::parse("[schema.traits]\nvip = \"bool\"\n[schema.events]\nlogin = {}", Format::Toml, "r.toml")?;
    /// # let engine = Engine::new(rules);
    /// let timeline = r#"
    /// {"event": "login", "timestamp": "2026-11-28T10:00:00Z"}
    /// {"timestamp": "2026-12-01T00:00:00Z", "traits": {"vip": true}}
    /// "#;
    /// let profile = Profile::builder(&engine.rules().schema, "c-1");
    /// let simulation = Simulation::new(&engine, profile).timeline_json(timeline.as_bytes())?;
    ///
    /// let error = Simulation::new(&engine, Profile::builder(&engine.rules().schema, "c-1"))
    ///     .timeline_json(&b"{\"timestamp\": \"soon\", \"traits\": {}}"[..])
    ///     .unwrap_err();
    /// assert_eq!(error.to_string(), "line 1: field `timestamp`: `soon` is not a timestamp; expected RFC 3339 such as `2026-01-15T10:00:00Z`, or a date such as `2026-01-15`");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The first line that cannot be read or does not fit the schema, with
    /// its number.
    pub fn timeline_json(mut self, input: impl BufRead) -> Result<Self, TimelineError> {
        for (index, line) in input.lines().enumerate() {
            let number = index.saturating_add(1);
            let error = |detail: String| TimelineError {
                line: number,
                detail,
            };
            let line = line.map_err(|e| error(format!("cannot read it: {e}")))?;
            let line = match index {
                0 => crate::stream::without_byte_order_mark(&line),
                _ => &line,
            };
            if line.trim().is_empty() {
                continue;
            }
            let json: Json = serde_json::from_str(line)
                .map_err(|e| error(format!("invalid JSON at column {}: {e}", e.column())))?;
            self = self.timeline_entry(&json).map_err(error)?;
        }
        Ok(self)
    }

    /// One line of a timeline already read as JSON (see
    /// [`Simulation::timeline_json`]); `line` numbers it in an error. For
    /// a caller that reads one file of lines for many profiles.
    ///
    /// # Errors
    /// The line does not fit the schema.
    pub fn timeline_value(self, line: usize, json: &Json) -> Result<Self, TimelineError> {
        self.timeline_entry(json)
            .map_err(|detail| TimelineError { line, detail })
    }

    /// One line of a timeline: an event or a trait change.
    fn timeline_entry(mut self, json: &Json) -> Result<Self, String> {
        let Json::Object(object) = json else {
            return Err("expected a JSON object".to_owned());
        };
        if object.contains_key("event") {
            self.profile = self
                .profile
                .json_event("event", json)
                .map_err(|e| e.to_string())?;
            return Ok(self);
        }
        let Some(traits) = object.get("traits") else {
            return Err(
                "expected an event (`event`, `timestamp`, `properties`) or a trait \
                 change (`timestamp`, `traits`)"
                    .to_owned(),
            );
        };
        let at = match object.get("timestamp") {
            Some(Json::String(text)) => {
                Timestamp::parse(text).map_err(|e| format!("field `timestamp`: {e}"))?
            }
            _ => return Err("field `timestamp`: expected an RFC 3339 timestamp".to_owned()),
        };
        let typed = self
            .profile
            .typed_traits(traits)
            .map_err(|e| e.to_string())?;
        self.changes
            .extend(typed.into_iter().map(|(name, value)| (at, name, value)));
        Ok(self)
    }

    /// Also keep every suppression (see [`Options::explain`]).
    pub fn explain(mut self, explain: bool) -> Self {
        self.explain = explain;
        self
    }

    /// Decides at `from`, `from + step`, … up to `to` inclusive, recording
    /// each decision before the next.
    ///
    /// # Errors
    /// [`SimulationError::Range`] for an empty range, a step that is not
    /// positive or more than [`MAX_STEPS`] steps; a profile, event or trait
    /// change that does not fit the schema.
    pub fn run(
        &self,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Timeline, SimulationError> {
        self.run_with(&mut MemoryHistory::new(), from, to, step)
    }

    /// Like [`Simulation::run`], over a history of your own: it is read for
    /// what was sent before `from`, and every decision is recorded in it. A
    /// run can so be continued, by this process or (over a
    /// [`DurableHistory`](crate::history::DurableHistory)) by another.
    ///
    /// ```
    /// # use nextbest::decide::Engine;
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::simulate::Simulation;
    /// # use nextbest::{Duration, Profile, Timestamp};
    /// use nextbest::history::MemoryHistory;
    /// # let rules = RuleSet::parse(r#"
    /// # [schema.traits]
    /// # at_risk = "bool"
    /// # [consent]
    /// # email = {}
    /// # [[action]]
    /// # id = "nudge"
    /// # channel = "email"
    /// # trigger = "at_risk"
    /// # cooldown = "2d"
    /// # "#, Format::Toml, "rules.toml")?;
    /// # let engine = Engine::new(rules);
    /// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("at_risk", true);
    /// let simulation = Simulation::new(&engine, profile);
    /// let (start, day) = (Timestamp::parse("2026-11-24T09:00:00Z")?, Duration::parse("1d")?);
    /// let mut history = MemoryHistory::new();
    /// let first = simulation.run_with(&mut history, start, start + day, day)?;
    /// // Day 2 remembers day 0's send: the 2-day cooldown holds until then.
    /// let rest = simulation.run_with(&mut history, start + day + day, start + day + day, day)?;
    /// assert_eq!(first.sends().count(), 1);
    /// assert_eq!(rest.sends().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Simulation::run`], and a history that cannot record.
    pub fn run_with(
        &self,
        history: &mut dyn History,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Timeline, SimulationError> {
        let mut decisions = Vec::new();
        self.run_each(history, from, to, step, |decision| {
            decisions.push(decision);
            ControlFlow::Continue(())
        })?;
        Ok(Timeline { decisions })
    }

    /// Like [`Simulation::run_with`], handing each decision that did
    /// something to `each` as soon as it is recorded, instead of keeping
    /// them: a long simulation streams in constant memory. `each` stops the
    /// run early by returning [`ControlFlow::Break`].
    ///
    /// ```
    /// # use nextbest::decide::Engine;
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::simulate::{Simulation, timeline_json_lines};
    /// # use nextbest::{Duration, Profile, Timestamp};
    /// use std::ops::ControlFlow;
    /// use nextbest::history::MemoryHistory;
    /// # let rules = RuleSet::parse(r#"
    /// # [schema.traits]
    /// # at_risk = "bool"
    /// # [consent]
    /// # email = {}
    /// # [[action]]
    /// # id = "nudge"
    /// # channel = "email"
    /// # trigger = "at_risk"
    /// # cooldown = "2d"
    /// # "#, Format::Toml, "rules.toml")?;
    /// # let engine = Engine::new(rules);
    /// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("at_risk", true);
    /// let simulation = Simulation::new(&engine, profile);
    /// let (start, day) = (Timestamp::parse("2026-11-24T09:00:00Z")?, Duration::parse("1d")?);
    /// let mut lines = Vec::new();
    /// simulation.run_each(&mut MemoryHistory::new(), start, start + day + day, day, |decision| {
    ///     lines.extend(timeline_json_lines(&decision, false));
    ///     ControlFlow::Continue(())
    /// })?;
    /// assert_eq!(lines.len(), 2); // days 0 and 2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Simulation::run_with`].
    pub fn run_each(
        &self,
        history: &mut dyn History,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
        mut each: impl FnMut(Decision) -> ControlFlow<()>,
    ) -> Result<(), SimulationError> {
        let steps = step_count(from, to, step)?;
        let mut changes: Vec<&(Timestamp, String, Value)> = self.changes.iter().collect();
        // Stable: two changes of one trait at one instant apply in the order given.
        changes.sort_by_key(|(at, ..)| *at);
        let mut pending = changes.into_iter().peekable();
        let mut builder = self.profile.clone();
        let mut profile = builder.clone().build()?;
        let options = Options {
            explain: self.explain,
        };
        for n in 0..steps {
            let now = instant(from, step, n);
            let mut changed = false;
            while let Some((_, name, value)) = pending.next_if(|(at, ..)| *at <= now) {
                builder = builder.attribute(name, value.clone());
                changed = true;
            }
            if changed {
                profile = builder.clone().build()?;
            }
            let snapshot = self.engine.snapshot(history, profile.id(), now)?;
            let decision = self.engine.decide_from(&profile, &snapshot, now, options)?;
            history.record(&decision.update())?;
            if !is_idle(&decision) && each(decision).is_break() {
                break;
            }
        }
        Ok(())
    }
}

/// How many instants `from, from + step, … ≤ to` there are.
fn step_count(from: Timestamp, to: Timestamp, step: Duration) -> Result<u64, SimulationError> {
    let refuse = |reason: &str| SimulationError::Range {
        from,
        to,
        step,
        reason: reason.to_owned(),
    };
    if step.as_micros() <= 0 {
        return Err(refuse("the step must be positive"));
    }
    if to < from {
        return Err(refuse("the end is before the start"));
    }
    let span = i128::from(to.as_micros()) - i128::from(from.as_micros());
    let steps = span / i128::from(step.as_micros()) + 1;
    match u64::try_from(steps) {
        Ok(steps) if steps <= MAX_STEPS => Ok(steps),
        _ => Err(refuse(&format!("more than {MAX_STEPS} steps"))),
    }
}

/// `from + n × step`; in range, since `n` < the step count.
fn instant(from: Timestamp, step: Duration, n: u64) -> Timestamp {
    let offset = i128::from(step.as_micros()) * i128::from(n);
    let micros = i128::from(from.as_micros()) + offset;
    Timestamp::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}

/// A decision that neither sends, holds out, skips, changes a journey nor
/// explains anything.
fn is_idle(decision: &Decision) -> bool {
    decision.emissions.is_empty()
        && decision.held_out.is_empty()
        && decision.skipped.is_empty()
        && decision.journeys.is_empty()
        && decision.suppressions.is_empty()
}

/// The decisions of a simulation that did something, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Timeline {
    /// Each with its instant ([`Decision::at`]).
    pub decisions: Vec<Decision>,
}

impl Timeline {
    /// Every emission with the instant it was decided, in order.
    pub fn sends(&self) -> impl Iterator<Item = (Timestamp, &Emission)> {
        self.decisions
            .iter()
            .flat_map(|d| d.emissions.iter().map(move |e| (d.at, e)))
    }

    /// Every skipped journey step with the instant it was given up.
    pub fn skips(&self) -> impl Iterator<Item = (Timestamp, &Emission)> {
        self.decisions
            .iter()
            .flat_map(|d| d.skipped.iter().map(move |e| (d.at, e)))
    }

    /// The JSON lines `nextbest simulate` prints, as values: those of
    /// [`Decision::to_json_lines`], each with its `"at"`. (A
    /// `serde_json::Value` keeps its keys sorted;
    /// [`Decision::write_timeline_json_lines`] writes them in the command
    /// line's order.)
    ///
    /// ```
    /// # use nextbest::decide::Engine;
    /// # use nextbest::rules::{Format, RuleSet};
    /// # use nextbest::simulate::Simulation;
    /// # use nextbest::{Duration, Profile, Timestamp};
    /// # let rules = RuleSet::parse("[schema.traits]\nx = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"hello\"\nchannel = \"email\"\ntrigger = \"TRUE\"\nmax_sends = 1", Format::Toml, "r.toml")?;
    /// # let engine = Engine::new(rules);
    /// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let profile = Profile::builder(&engine.rules().schema, "c-1");
    /// let timeline = Simulation::new(&engine, profile).run(at, at, Duration::parse("1h")?)?;
    /// let line = &timeline.to_json_lines(false)[0];
    /// assert_eq!(line["at"], "2026-11-24T09:00:00Z");
    /// assert_eq!(line["action"], "hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json_lines(&self, explain: bool) -> Vec<Json> {
        (self.decisions.iter())
            .flat_map(|decision| timeline_json_lines(decision, explain))
            .collect()
    }
}

/// One decision's lines of a timeline, as values:
/// [`Decision::to_json_lines`], each with the decision's `"at"` (see
/// [`Decision::write_timeline_json_lines`] for the printed text).
pub fn timeline_json_lines(decision: &Decision, explain: bool) -> Vec<Json> {
    let at = Json::from(decision.at.to_string());
    (decision.to_json_lines(explain).into_iter())
        .map(|line| {
            let mut object = serde_json::Map::new();
            object.insert("at".into(), at.clone());
            if let Json::Object(fields) = line {
                object.extend(fields);
            }
            Json::Object(object)
        })
        .collect()
}
