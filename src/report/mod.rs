//! Reports for journey teams (SPEC §10): where customers drop out of each
//! journey, and whether each action and journey with a goal works better
//! than its held-out control group.
//!
//! Input: the rule set, a contact history ([`ContactLog`]: the records of
//! what was sent, held out or skipped, and each profile's journey states),
//! the profiles with their events, and the instant the report is made
//! for. Output: a [`Report`] — a [`JourneyFunnel`] per journey and a
//! [`Conversion`] per action and per journey — printed as text, JSON or a
//! self-contained HTML page with charts.
//!
//! What is counted:
//! - Only the profiles given are reported on (a history cannot list its
//!   profiles), and only records decided at or before `now`.
//! - **Funnels** count enrolments: a profile that re-entered a journey
//!   counts once per entry. A history keeps each profile's latest
//!   enrolment and a record per stage done, so the records before the
//!   latest entry are split into earlier enrolments where the step
//!   numbers start again; an earlier one that reached the last stage
//!   completed, any other left by the exit rule.
//! - **Conversions** count profiles, each once, by its first record of the
//!   action (or its first enrolment of the journey) that was sent or held
//!   out: in the contacted group if it was sent (for a journey: if any
//!   stage of that enrolment was sent), otherwise in the held-out group.
//!   Its window starts at that record's `send_at` (for a journey, at its
//!   first send, or its first hold-out when nothing was sent). A profile
//!   whose window has not closed by `now` is *pending*, in neither group,
//!   so that late contacts do not pull the rate down. It converted when
//!   the [goal](crate::rules::Goal) is TRUE at one of its own event times
//!   inside the window.
//! - The uplift is the contacted group's rate minus the held-out group's,
//!   with a 95 % interval by Newcombe's hybrid score method ([`Uplift`]);
//!   with fewer than [`Options::min_group`] profiles in either group the
//!   report says "too few to tell" instead.
//!
//! ```
//! use nextbest::history::{MemoryHistory, History};
//! use nextbest::decide::{Engine, Options as DecideOptions};
//! use nextbest::report::{Options, Report};
//! use nextbest::rules::{Format, RuleSet};
//! use nextbest::{Duration, Profile, Timestamp};
//! let rules = RuleSet::parse(r#"
//! [schema.traits]
//! at_risk = "bool"
//! [schema.events]
//! purchase = {}
//! [consent]
//! email = {}
//! [[action]]
//! id = "nudge"
//! channel = "email"
//! trigger = "at_risk"
//! goal = "exists(purchase WITHIN 7d)"
//! goal_window = "7d"
//! "#, Format::Toml, "rules.toml")?;
//! let engine = Engine::new(rules);
//! let at = Timestamp::parse("2026-11-02T09:00:00Z")?;
//! let schema = &engine.rules().schema;
//! let profile = Profile::builder(schema, "c-1")
//!     .attribute("at_risk", true)
//!     .event("purchase", at + Duration::parse("2d")?, Vec::<(&str, bool)>::new())
//!     .build()?;
//! let mut history = MemoryHistory::new();
//! let decision = engine.decide(&profile, &history, at, DecideOptions::default())?;
//! history.record(&decision.update())?;
//!
//! let now = at + Duration::parse("30d")?;
//! let report = Report::build(engine.rules(), &history, [&profile], now, &Options::default())?;
//! let nudge = &report.actions[0];
//! assert_eq!((nudge.sent, nudge.converted_sent), (1, 1));
//! assert!(nudge.uplift.is_none()); // one profile: too few to tell
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod conversion;
mod funnel;
mod html;
mod render;
mod uplift;

use std::collections::HashSet;

use crate::Id;

pub use conversion::Conversion;
pub use funnel::{DropOff, JourneyFunnel, StageCount};
pub use uplift::{MIN_GROUP, Uplift, Verdict, wilson};

use crate::history::{History, HistoryError, MemoryHistory, Record};
use crate::profile::Profile;
use crate::rules::RuleSet;
use crate::trigger::EvalError;
use crate::value::Timestamp;

/// A history a report can read: the [`History`] seam for journey states,
/// and every record of a profile (the seam's snapshot keeps only what a
/// decision needs: no hold-outs, no skipped steps).
pub trait ContactLog: History {
    /// Every record of `profile` the store still holds, in recording order.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn contacts(&self, profile: &str) -> Result<Vec<Record>, HistoryError>;
}

impl ContactLog for MemoryHistory {
    fn contacts(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        Ok(self.records(profile).to_vec())
    }
}

#[cfg(feature = "durable")]
impl ContactLog for crate::history::DurableHistory {
    fn contacts(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        self.records(profile)
    }
}

#[cfg(feature = "postgres")]
impl ContactLog for crate::history::PostgresHistory {
    fn contacts(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        self.records(profile)
    }
}

/// How a report is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The fewest profiles each group (contacted, held out) needs before
    /// an uplift is estimated (default [`MIN_GROUP`]).
    pub min_group: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_group: MIN_GROUP,
        }
    }
}

impl Options {
    /// Sets [`Options::min_group`] (at least 1).
    ///
    /// ```
    /// assert_eq!(nextbest::report::Options::default().min_group(5).min_group, 5);
    /// ```
    pub const fn min_group(mut self, min_group: u64) -> Self {
        self.min_group = if min_group == 0 { 1 } else { min_group };
        self
    }
}

/// What a report could not be made from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The history could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A goal could not be evaluated over a profile.
    #[error("profile `{profile}`: goal of `{owner}`: {error}")]
    Goal {
        /// The profile.
        profile: String,
        /// The action or journey whose goal it is.
        owner: String,
        /// What went wrong.
        error: EvalError,
    },
    /// A profile could not be cut down to what happened after a contact.
    #[error(transparent)]
    Profile(#[from] crate::ProfileError),
    /// A journey state of the profile changed after the report's instant:
    /// the history keeps each journey's latest state only, so a report as
    /// of an earlier instant would count later exits and re-entries. Make
    /// the report at or after the history's last journey change.
    #[error(
        "profile `{profile}`: journey `{journey}` changed at {changed}, after the report's \
         instant {now}; a report is made at or after the last journey change"
    )]
    JourneyChangedAfter {
        /// The profile.
        profile: String,
        /// The journey.
        journey: String,
        /// When its state last changed.
        changed: Timestamp,
        /// The report's instant.
        now: Timestamp,
    },
    /// The same profile was given twice: it would be counted twice.
    #[error("profile `{profile}` is given more than once")]
    RepeatedProfile {
        /// The profile.
        profile: String,
    },
}

/// A report (see the [module](self) documentation for what it counts).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// The instant it was made for.
    pub now: Timestamp,
    /// The profiles read.
    pub profiles: u64,
    /// One funnel per journey, in rule-file order.
    pub journeys: Vec<JourneyFunnel>,
    /// One per action, in rule-file order.
    pub actions: Vec<Conversion>,
    /// One per journey that has a goal, in rule-file order.
    pub journey_goals: Vec<Conversion>,
    /// Records naming an action, journey or stage the rule set does not
    /// have (a history written under another rule set): left out.
    pub unknown_records: u64,
    /// The minimum group size the report was made with.
    pub min_group: u64,
}

/// A report being made, one profile at a time (constant memory in the
/// number of profiles, apart from the set of ids that guards against a
/// profile given twice).
#[derive(Debug)]
pub struct Tally<'r> {
    rules: &'r RuleSet,
    now: Timestamp,
    options: Options,
    seen: HashSet<Id>,
    report: Report,
}

impl<'r> Tally<'r> {
    /// An empty report of `rules` at `now`.
    pub fn new(rules: &'r RuleSet, now: Timestamp, options: &Options) -> Tally<'r> {
        let report = Report {
            now,
            profiles: 0,
            journeys: rules.journeys.iter().map(JourneyFunnel::new).collect(),
            actions: (rules.actions.iter())
                .map(|a| Conversion::new(&a.id, a.goal.as_ref()))
                .collect(),
            journey_goals: (rules.journeys.iter())
                .filter(|j| j.goal.is_some())
                .map(|j| Conversion::new(&j.id, j.goal.as_ref()))
                .collect(),
            unknown_records: 0,
            min_group: options.min_group,
        };
        Tally {
            rules,
            now,
            options: *options,
            seen: HashSet::new(),
            report,
        }
    }

    /// Adds one profile: its records and journey states read from `log`.
    ///
    /// # Errors
    /// The history cannot be read, a goal cannot be evaluated over the
    /// profile, or the profile was added before.
    pub fn add<L: ContactLog + ?Sized>(
        &mut self,
        log: &L,
        profile: &Profile,
    ) -> Result<(), ReportError> {
        if !self.seen.insert(profile.id().into()) {
            return Err(ReportError::RepeatedProfile {
                profile: profile.id().to_owned(),
            });
        }
        let now = self.now;
        let records: Vec<Record> = (log.contacts(profile.id())?.into_iter())
            .filter(|r| r.at <= now)
            .collect();
        let snapshot = log.snapshot(profile.id(), now, now)?;
        for journey in &self.rules.journeys {
            let Some(state) = snapshot.journey(&journey.id) else {
                continue;
            };
            let changed = state
                .left_at()
                .map_or(state.entered_at, |left| left.max(state.entered_at));
            if changed > now {
                return Err(ReportError::JourneyChangedAfter {
                    profile: profile.id().to_owned(),
                    journey: journey.id.clone(),
                    changed,
                    now,
                });
            }
        }
        let events = event_times(profile);
        let goals = conversion::Goals {
            profile,
            events: &events,
            now,
        };
        self.report.profiles += 1;
        let known_actions = (records.iter())
            .filter(|r| self.rules.action(&r.action).is_some())
            .count();
        self.report.unknown_records += (records.len() - known_actions) as u64;
        for (action, conversion) in self.rules.actions.iter().zip(&mut self.report.actions) {
            conversion.add_action(&goals, action, &records)?;
        }
        let mut goal_index = 0;
        for (journey, funnel) in self.rules.journeys.iter().zip(&mut self.report.journeys) {
            let mine: Vec<&Record> = (records.iter())
                .filter(|r| r.journey.as_ref().is_some_and(|(j, _)| *j == journey.id))
                .collect();
            let enrolments = funnel::enrolments(journey, &mine, snapshot.journey(&journey.id));
            for enrolment in &enrolments {
                self.report.unknown_records += funnel.add(enrolment);
            }
            if journey.goal.is_some()
                && let Some(conversion) = self.report.journey_goals.get_mut(goal_index)
            {
                goal_index += 1;
                conversion.add_journey(&goals, journey, &enrolments)?;
            }
        }
        Ok(())
    }

    /// The finished report.
    pub fn finish(mut self) -> Report {
        for funnel in &mut self.report.journeys {
            funnel.finish();
        }
        let min = self.options.min_group;
        for conversion in (self.report.actions.iter_mut()).chain(&mut self.report.journey_goals) {
            conversion.finish(min);
        }
        self.report
    }
}

impl Report {
    /// The report of `rules` over `profiles`, from `log`, at `now`.
    ///
    /// # Errors
    /// As [`Tally::add`].
    pub fn build<'p, L: ContactLog + ?Sized>(
        rules: &RuleSet,
        log: &L,
        profiles: impl IntoIterator<Item = &'p Profile>,
        now: Timestamp,
        options: &Options,
    ) -> Result<Report, ReportError> {
        let mut tally = Tally::new(rules, now, options);
        for profile in profiles {
            tally.add(log, profile)?;
        }
        Ok(tally.finish())
    }
}

/// Every instant at which the profile has an event, of any type, ascending
/// and without repeats: the instants a goal is evaluated at.
fn event_times(profile: &Profile) -> Vec<Timestamp> {
    let mut times: Vec<i64> = (0..profile.schema().event_count())
        .filter_map(|i| profile.events_of(i))
        .flat_map(|columns| columns.timestamps.iter().copied())
        .collect();
    times.sort_unstable();
    times.dedup();
    times.into_iter().map(Timestamp::from_micros).collect()
}
