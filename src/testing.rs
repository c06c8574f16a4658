//! Test helpers for rule authors: prove in a few lines of a unit test what a
//! journey will do before it reaches a customer.
//!
//! A [`Scenario`] is a rule set, one profile, the events still to come (at
//! offsets from the start, such as `"4d"`) and a step; [`Scenario::run_for`]
//! simulates it (see [`crate::simulate`]) and the [`Run`] it returns answers
//! and asserts what was sent, when, and what was skipped. Offsets are
//! duration literals of the trigger language (`90m`, `36h`, `3d`, `2w`).
//!
//! These are assertions: like `assert_eq!`, they panic with a readable
//! report (the whole timeline) when they fail, and so does a scenario whose
//! rules or profile are invalid.
//!
//! ```
//! use nextbest::testing::Scenario;
//! let rules = r#"
//! [schema.traits]
//! at_risk = "bool"
//! push_opt_in = "bool"
//! [schema.events]
//! login = {}
//! [consent]
//! email = {}
//! push = { opt_in = "push_opt_in" }
//! sales_task = {}
//! [[action]]
//! id = "rescue_email"
//! channel = "email"
//! [[action]]
//! id = "rescue_push"
//! channel = "push"
//! [[action]]
//! id = "call_task"
//! channel = "sales_task"
//! [[journey]]
//! id = "rescue"
//! entry = "at_risk"
//! exit = "count(login SINCE journey.entered_at) > 0"
//! steps = [{ after = "0d", action = "rescue_email" }, { after = "3d", action = "rescue_push" }]
//! fallback = { after = "14d", action = "call_task" }
//! "#;
//! let scenario = Scenario::from_toml(rules)
//!     .starting_at("2026-11-24T09:00:00Z")
//!     .profile("c-1042", |p| p.attribute("at_risk", true).attribute("push_opt_in", true));
//!
//! // Never comes back: every step, then the fallback.
//! scenario.run_for("21d").assert_sends(&[
//!     ("0d", "rescue_email"),
//!     ("3d", "rescue_push"),
//!     ("14d", "call_task"),
//! ]);
//!
//! // Logs in on day 2: the journey ends there.
//! let run = scenario.clone().event("2d", "login").run_for("21d");
//! run.assert_sends(&[("0d", "rescue_email")]);
//! run.assert_not_sent("call_task");
//! ```
// Assertions report by panicking, as `assert!` does: that is their job.
#![allow(clippy::panic)]

use std::fmt::{self, Write as _};

use crate::decide::{Emission, Engine};
use crate::profile::{Profile, ProfileBuilder};
use crate::rules::{Format, RuleSet, RuleSetError};
use crate::simulate::{Simulation, Timeline};
use crate::value::{Duration, Timestamp, Value};

/// An event still to come: offset from the start, type, properties.
type FutureEvent = (Duration, String, Vec<(&'static str, Value)>);

/// A journey test: rules, one profile, its future, and a step.
#[derive(Debug, Clone)]
pub struct Scenario {
    engine: std::sync::Arc<Engine>,
    profile: ProfileBuilder,
    start: Timestamp,
    step: Duration,
    events: Vec<FutureEvent>,
    changes: Vec<(Duration, String, Value)>,
    explain: bool,
}

impl Scenario {
    /// A scenario over a rule set written in TOML, starting at
    /// 2026-01-05T09:00:00Z (a Monday morning), deciding every hour, for a
    /// profile `test-profile` with every trait NULL.
    ///
    /// # Panics
    /// If the rules do not load, with every diagnostic.
    pub fn from_toml(rules: &str) -> Scenario {
        match RuleSet::parse(rules, Format::Toml, "rules.toml") {
            Ok(rules) => Scenario::new(Engine::new(rules)),
            Err(RuleSetError::Invalid(invalid)) => {
                panic!("the rules do not load:\n{}", invalid.render(false))
            }
            Err(error) => panic!("the rules do not load: {error}"),
        }
    }

    /// A scenario over an engine.
    pub fn new(engine: Engine) -> Scenario {
        let profile = Profile::builder(&engine.rules().schema, "test-profile");
        Scenario {
            engine: std::sync::Arc::new(engine),
            profile,
            start: Timestamp::from_micros(1_767_603_600_000_000),
            step: Duration::from_secs(3_600),
            events: Vec::new(),
            changes: Vec::new(),
            explain: false,
        }
    }

    /// The first instant decided (RFC 3339); offsets count from it.
    ///
    /// # Panics
    /// If `at` is not a timestamp.
    pub fn starting_at(mut self, at: &str) -> Scenario {
        self.start = Timestamp::parse(at).unwrap_or_else(|e| panic!("starting_at: {e}"));
        self
    }

    /// How often to decide (default `1h`).
    ///
    /// # Panics
    /// If `step` is not a duration.
    pub fn every(mut self, step: &str) -> Scenario {
        self.step = duration("every", step);
        self
    }

    /// The profile: its id, and its traits and past events set on the builder.
    pub fn profile(
        mut self,
        id: &str,
        build: impl FnOnce(ProfileBuilder) -> ProfileBuilder,
    ) -> Scenario {
        self.profile = build(Profile::builder(&self.engine.rules().schema, id));
        self
    }

    /// An event (without properties) `offset` after the start.
    ///
    /// # Panics
    /// If `offset` is not a duration.
    pub fn event(self, offset: &str, event: &str) -> Scenario {
        self.event_with(offset, event, Vec::<(&'static str, Value)>::new())
    }

    /// An event with properties `offset` after the start.
    ///
    /// # Panics
    /// If `offset` is not a duration.
    pub fn event_with<V: Into<Value>>(
        mut self,
        offset: &str,
        event: &str,
        properties: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Scenario {
        let properties = properties.into_iter().map(|(k, v)| (k, v.into())).collect();
        let offset = duration("event", offset);
        self.events.push((offset, event.to_owned(), properties));
        self
    }

    /// A trait that takes `value` `offset` after the start (a consent
    /// withdrawn, a segment changed…).
    ///
    /// # Panics
    /// If `offset` is not a duration.
    pub fn change(mut self, offset: &str, name: &str, value: impl Into<Value>) -> Scenario {
        let offset = duration("change", offset);
        self.changes.push((offset, name.to_owned(), value.into()));
        self
    }

    /// Keep every suppression, to inspect with [`Run::timeline`].
    pub fn explain(mut self) -> Scenario {
        self.explain = true;
        self
    }

    /// Simulates from the start for `span` (inclusive).
    ///
    /// # Panics
    /// If `span` is not a duration, or the profile, an event or a change
    /// does not fit the schema.
    pub fn run_for(&self, span: &str) -> Run {
        let end = self.start + duration("run_for", span);
        let mut profile = self.profile.clone();
        for (offset, event, properties) in &self.events {
            profile = profile.event(event, self.start + *offset, properties.clone());
        }
        let mut simulation = Simulation::new(&self.engine, profile).explain(self.explain);
        for (offset, name, value) in &self.changes {
            simulation = simulation.attribute(self.start + *offset, name, value.clone());
        }
        match simulation.run(self.start, end, self.step) {
            Ok(timeline) => Run {
                start: self.start,
                timeline,
            },
            Err(error) => panic!("the scenario does not run: {error}"),
        }
    }
}

fn duration(what: &str, text: &str) -> Duration {
    Duration::parse(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// What a scenario did.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    start: Timestamp,
    timeline: Timeline,
}

impl Run {
    /// Every decision that did something.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Every emission with its offset from the start, in order.
    pub fn sends(&self) -> Vec<(Duration, &Emission)> {
        let start = self.start;
        let offset = move |at: Timestamp| Duration::from_micros(at.as_micros() - start.as_micros());
        self.timeline
            .sends()
            .map(|(at, e)| (offset(at), e))
            .collect()
    }

    /// The actions sent, in order.
    pub fn sent_actions(&self) -> Vec<&str> {
        self.sends()
            .into_iter()
            .map(|(_, e)| e.action.as_str())
            .collect()
    }

    /// When `action` was first sent, as an offset from the start.
    pub fn first_send(&self, action: &str) -> Option<Duration> {
        self.sends()
            .into_iter()
            .find(|(_, e)| e.action == action)
            .map(|(offset, _)| offset)
    }

    /// Asserts exactly these sends, as (offset from the start, action), in order.
    ///
    /// # Panics
    /// If the sends differ, with the whole timeline.
    pub fn assert_sends(&self, expected: &[(&str, &str)]) {
        let expected: Vec<(Duration, &str)> = expected
            .iter()
            .map(|(offset, action)| (duration("assert_sends", offset), *action))
            .collect();
        let actual: Vec<(Duration, &str)> = self
            .sends()
            .into_iter()
            .map(|(offset, e)| (offset, e.action.as_str()))
            .collect();
        if actual != expected {
            let list = |sends: &[(Duration, &str)]| {
                let items: Vec<String> = sends
                    .iter()
                    .map(|(offset, action)| format!("({}, {action})", offset_text(*offset)))
                    .collect();
                format!("[{}]", items.join(", "))
            };
            panic!(
                "sends differ\n  expected: {}\n    actual: {}\n\n{self}",
                list(&expected),
                list(&actual)
            );
        }
    }

    /// Asserts that `action` was sent at least once.
    ///
    /// # Panics
    /// If it was not, with the whole timeline.
    pub fn assert_sent(&self, action: &str) {
        if self.first_send(action).is_none() {
            panic!("`{action}` was never sent\n\n{self}");
        }
    }

    /// Asserts that `action` was never sent.
    ///
    /// # Panics
    /// If it was, with the whole timeline.
    pub fn assert_not_sent(&self, action: &str) {
        if let Some(offset) = self.first_send(action) {
            panic!("`{action}` was sent at +{}\n\n{self}", offset_text(offset));
        }
    }

    /// Asserts that the journey step `action` was skipped (blocked by
    /// consent or `max_sends`, or overdue).
    ///
    /// # Panics
    /// If it was not, with the whole timeline.
    pub fn assert_skipped(&self, action: &str) {
        if !self.timeline.skips().any(|(_, e)| e.action == action) {
            panic!("`{action}` was never skipped\n\n{self}");
        }
    }
}

/// `3d 2h`, `90m`, `0s`: an offset as people read it.
fn offset_text(offset: Duration) -> String {
    let mut left = offset.as_micros();
    if left == 0 {
        return "0d".to_owned();
    }
    let mut text = String::new();
    if left < 0 {
        text.push('-');
        left = left.saturating_neg();
    }
    let units = [
        ("d", 86_400_000_000),
        ("h", 3_600_000_000),
        ("m", 60_000_000),
        ("s", 1_000_000),
    ];
    for (suffix, size) in units {
        if left >= size {
            let _ = write!(text, "{}{suffix} ", left / size);
            left %= size;
        }
    }
    if left > 0 {
        let _ = write!(text, "{left}us");
    }
    text.trim_end().to_owned()
}

impl fmt::Display for Run {
    /// The timeline, one line per sent, held-out or skipped step and journey
    /// change, with offsets from the start.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "timeline from {}:", self.start)?;
        for decision in &self.timeline.decisions {
            let at = Duration::from_micros(decision.at.as_micros() - self.start.as_micros());
            let at = offset_text(at);
            for update in &decision.journeys {
                let change = update.state.change(decision.at);
                writeln!(f, "  +{at:<8} journey {} {change}", update.journey)?;
            }
            let kinds = [
                ("sent", &decision.emissions),
                ("held out", &decision.held_out),
                ("skipped", &decision.skipped),
            ];
            for (kind, emissions) in kinds {
                for e in emissions {
                    write!(f, "  +{at:<8} {kind} {} on {}", e.action, e.channel)?;
                    if let Some((journey, step)) = &e.journey {
                        write!(f, " ({journey} step {step})")?;
                    }
                    if e.send_at != decision.at {
                        write!(f, ", deferred to {}", e.send_at)?;
                    }
                    writeln!(f)?;
                }
            }
        }
        Ok(())
    }
}
