//! Conversion of one action or journey: the contacted and the held-out
//! group, each profile counted once (see the [module](super) docs for who
//! falls in which group and when its window starts).

use serde::Serialize;

use super::ReportError;
use super::funnel::Enrolment;
use super::uplift::{Uplift, Verdict};
use crate::history::{Outcome, Record};
use crate::profile::Profile;
use crate::rules::{Action, Goal, Journey};
use crate::value::{Duration, Timestamp};

/// The conversion of one action or journey.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Conversion {
    /// The action or journey.
    pub id: String,
    /// Its goal expression, if it has one.
    pub goal: Option<String>,
    /// Its goal window.
    #[serde(serialize_with = "window")]
    pub window: Option<Duration>,
    /// Profiles in the contacted group (first contact sent, window closed).
    pub sent: u64,
    /// Profiles in the held-out group (first contact held out, window closed).
    pub held_out: u64,
    /// Of the contacted, how many converted (0 without a goal).
    pub converted_sent: u64,
    /// Of the held out, how many converted (0 without a goal).
    pub converted_held_out: u64,
    /// Profiles whose window is still open at the report's instant.
    pub pending: u64,
    /// The uplift and its 95 % interval, when both groups are large enough.
    pub uplift: Option<Uplift>,
    /// What the comparison concludes (`None` without a goal).
    pub verdict: Option<Verdict>,
}

fn window<S: serde::Serializer>(window: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match window {
        Some(w) => s.serialize_str(&w.to_string()),
        None => s.serialize_none(),
    }
}

/// What a profile's goals are evaluated over.
pub(super) struct Goals<'p> {
    pub profile: &'p Profile,
    /// The profile's event instants, ascending.
    pub events: &'p [Timestamp],
    pub now: Timestamp,
}

impl Goals<'_> {
    /// Whether the profile converted after `start`: `None` while the
    /// window is still open at `now`.
    fn converted(
        &self,
        goal: &Goal,
        start: Timestamp,
        owner: &str,
    ) -> Result<Option<bool>, ReportError> {
        let end = start + goal.window;
        if end > self.now {
            return Ok(None);
        }
        let first = self.events.partition_point(|t| *t <= start);
        let inside = self.events.get(first..).unwrap_or_default();
        if inside.first().is_none_or(|t| *t > end) {
            return Ok(Some(false));
        }
        // Only what happened after the contact counts towards its goal: a
        // purchase before the send is no conversion, however a goal's
        // window reaches back.
        let since = self.profile.events_after(start)?;
        for at in inside.iter().take_while(|t| **t <= end) {
            let hit = goal
                .trigger
                .matches(&since, *at)
                .map_err(|error| ReportError::Goal {
                    profile: self.profile.id().to_owned(),
                    owner: owner.to_owned(),
                    error,
                })?;
            if hit {
                return Ok(Some(true));
            }
        }
        Ok(Some(false))
    }
}

impl Conversion {
    pub(super) fn new(id: &str, goal: Option<&Goal>) -> Conversion {
        Conversion {
            id: id.to_owned(),
            goal: goal.map(|g| g.trigger.source().to_owned()),
            window: goal.map(|g| g.window),
            sent: 0,
            held_out: 0,
            converted_sent: 0,
            converted_held_out: 0,
            pending: 0,
            uplift: None,
            verdict: None,
        }
    }

    /// The contacted group's conversion rate.
    pub fn rate_sent(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.converted_sent as f64 / self.sent as f64)
    }

    /// The held-out group's conversion rate.
    pub fn rate_held_out(&self) -> Option<f64> {
        (self.held_out > 0).then(|| self.converted_held_out as f64 / self.held_out as f64)
    }

    /// Counts a profile into a group, once its window (if any) has closed.
    fn count(
        &mut self,
        goals: &Goals<'_>,
        goal: Option<&Goal>,
        sent: bool,
        start: Timestamp,
    ) -> Result<(), ReportError> {
        let converted = match goal {
            None => Some(false),
            Some(goal) => goals.converted(goal, start, &self.id)?,
        };
        let Some(converted) = converted else {
            self.pending += 1;
            return Ok(());
        };
        let converted = u64::from(converted);
        if sent {
            self.sent += 1;
            self.converted_sent += converted;
        } else {
            self.held_out += 1;
            self.converted_held_out += converted;
        }
        Ok(())
    }

    /// Adds a profile's first send or hold-out of `action`, if any.
    pub(super) fn add_action(
        &mut self,
        goals: &Goals<'_>,
        action: &Action,
        records: &[Record],
    ) -> Result<(), ReportError> {
        let first = (records.iter())
            .find(|r| r.action == action.id.as_str() && r.outcome != Outcome::Skipped);
        match first {
            Some(r) => self.count(
                goals,
                action.goal.as_ref(),
                r.outcome == Outcome::Sent,
                r.send_at,
            ),
            None => Ok(()),
        }
    }

    /// Adds a profile's first enrolment in `journey` that sent or held out
    /// anything.
    pub(super) fn add_journey(
        &mut self,
        goals: &Goals<'_>,
        journey: &Journey,
        enrolments: &[Enrolment<'_>],
    ) -> Result<(), ReportError> {
        let contacted =
            |e: &&Enrolment<'_>| e.records.iter().any(|r| r.outcome != Outcome::Skipped);
        let Some(enrolment) = enrolments.iter().find(contacted) else {
            return Ok(());
        };
        let first = |outcome| enrolment.records.iter().find(|r| r.outcome == outcome);
        let (sent, start) = match (first(Outcome::Sent), first(Outcome::HeldOut)) {
            (Some(sent), _) => (true, sent.send_at),
            (None, Some(held)) => (false, held.send_at),
            (None, None) => return Ok(()),
        };
        self.count(goals, journey.goal.as_ref(), sent, start)
    }

    /// Estimates the uplift once every profile is in.
    pub(super) fn finish(&mut self, min_group: u64) {
        if self.goal.is_none() {
            return;
        }
        self.uplift = (self.sent >= min_group && self.held_out >= min_group)
            .then(|| {
                Uplift::newcombe(
                    self.converted_sent,
                    self.sent,
                    self.converted_held_out,
                    self.held_out,
                )
            })
            .flatten();
        self.verdict = Some(self.uplift.map_or(Verdict::TooFewToTell, |u| u.verdict()));
    }
}
