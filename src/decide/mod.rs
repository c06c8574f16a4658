//! Stage 5, decide: (profile, history, now) → the next-best actions.
//!
//! Input: a loaded [`RuleSet`], one profile, its contact history (with its
//! journey states) and the instant. Output: a [`Decision`]: the emissions,
//! the held-out candidates and skipped journey steps to record, the new
//! journey states, and (with `explain`) every candidate that did not win with
//! its reason and the figures behind it.
//! Invariants: pure and deterministic (no clock, no randomness: holdouts are
//! hash buckets); journeys first (exits, then due stages, then entries, see
//! `journey`), then standalone actions; guards run in the order of SPEC §5
//! and the first that blocks names the reason; an action is emitted at most
//! once per decision; nothing is recorded here (see [`Decision::update`]).

#[cfg(feature = "rayon")]
mod batch;
mod guards;
mod journey;
mod output;
mod quiet;

use std::cell::OnceCell;

use crate::Id;

use self::guards::{Class, Plan, Sent, Situation, Verdict};
use self::journey::{Stage, skips_at_once};
use crate::hash::Fnv1a64;
use crate::history::{
    Basis, History, HistoryError, JourneyState, JourneyUpdate, LastDecision, Outcome,
    ProfileSnapshot, Record, Update,
};
use crate::profile::Profile;
use crate::rules::{Action, Category, Ranking, RuleSet};
use crate::trigger::EvalError;
use crate::value::{Timestamp, Value};

/// Why a candidate was not emitted. The names are part of the output contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Before the action's `valid_from`.
    NotYetValid,
    /// After the action's `valid_until`.
    Expired,
    /// Its `suppress_if` is TRUE.
    SuppressIf,
    /// The profile is in a holdout group.
    Holdout,
    /// The profile unsubscribed from marketing.
    Unsubscribed,
    /// No opt-in for the channel (FALSE or NULL).
    NoConsent,
    /// The channel's consent has expired.
    ConsentExpired,
    /// Sent within its cooldown.
    Cooldown,
    /// Sent `max_sends` times already.
    MaxSends,
    /// A rolling frequency cap is full.
    FrequencyCap,
    /// In quiet hours, and the action says `drop`.
    QuietHours,
    /// A better candidate took the decision's last place.
    Arbitration,
}

impl Reason {
    /// The reason's name, as printed.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::SuppressIf => "suppress_if",
            Reason::Holdout => "holdout",
            Reason::Unsubscribed => "unsubscribed",
            Reason::NoConsent => "no_consent",
            Reason::ConsentExpired => "consent_expired",
            Reason::Cooldown => "cooldown",
            Reason::MaxSends => "max_sends",
            Reason::FrequencyCap => "frequency_cap",
            Reason::QuietHours => "quiet_hours",
            Reason::Arbitration => "arbitration",
        }
    }
}

/// Something about a profile that a decision worked around, as the warning
/// says; the caller should tell whoever maintains the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// The profile's time-zone trait names no IANA zone: quiet hours used
    /// the rule set's `default_timezone` instead.
    #[error(
        "profile `{profile}`: time zone `{zone}` is not an IANA zone; quiet hours use the default zone `{used}`"
    )]
    UnknownTimeZone {
        /// The profile's id.
        profile: Id,
        /// The trait's value.
        zone: String,
        /// The zone used instead.
        used: &'static str,
    },
}

/// An action to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Emission {
    /// The profile's id.
    pub profile: Id,
    /// The action's id.
    pub action: Id,
    /// Its channel.
    pub channel: Id,
    /// Its category.
    pub category: Category,
    /// When to send it: the decision's instant, or the end of quiet hours.
    pub send_at: Timestamp,
    /// The journey and step (1-based) it belongs to.
    pub journey: Option<(Id, u32)>,
    /// The same for the same (profile, action, send number, journey
    /// enrolment, step): a replayed decision repeats its keys.
    pub key: Id,
}

/// A candidate that was not emitted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Suppression {
    /// The profile's id.
    pub profile: Id,
    /// The action's id.
    pub action: Id,
    /// The journey and step (1-based) it is, if any.
    pub journey: Option<(Id, u32)>,
    /// Why.
    pub reason: Reason,
    /// The figures behind it (cooldown until, cap count and max…); for a
    /// journey step, `then` says whether it is retried or skipped.
    pub detail: Vec<(&'static str, Value)>,
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Decision {
    /// The instant decided for.
    pub at: Timestamp,
    /// What to send, best first.
    pub emissions: Vec<Emission>,
    /// Candidates held out: recorded for analysis, never sent.
    pub held_out: Vec<Emission>,
    /// Journey steps given up: blocked by consent or `max_sends`, or
    /// overdue because the next step fell due first. Recorded, never sent.
    pub skipped: Vec<Emission>,
    /// The profile's new state in each journey whose state changed
    /// (entered, advanced, exited or completed).
    pub journeys: Vec<JourneyUpdate>,
    /// Every candidate that did not win, when explaining.
    pub suppressions: Vec<Suppression>,
    /// What the caller should know about the inputs (a time-zone trait that
    /// names no zone…): the decision went on as it says.
    pub warnings: Vec<Warning>,
    /// Whether this decision is not later than the last one recorded for
    /// the profile (SPEC §5 item 7): then it chooses nothing new. At the
    /// same instant its emissions are the ones recorded then, under the
    /// same keys; earlier, it has none. Its [`update`](Decision::update)
    /// writes nothing.
    pub replayed: bool,
    /// What it was decided from (see [`Basis`]): its
    /// [`update`](Decision::update) carries it, so that committing it to a
    /// shared store finds out whether another writer decided for the
    /// profile in between. `None` for a replay, which records nothing.
    pub basis: Option<Basis>,
}

impl Decision {
    /// What this decision writes into the history: a record per emission,
    /// holdout and skipped step, the new journey states, and the
    /// decision's [`Basis`]. Pass it to [`History::commit`] (or, for a
    /// single writer, [`History::record`]) before the emissions go out.
    pub fn update(&self) -> Update {
        if self.replayed {
            return Update::default();
        }
        let record = |e: &Emission, outcome| Record {
            profile: e.profile.clone(),
            action: e.action.clone(),
            channel: e.channel.clone(),
            category: e.category,
            outcome,
            at: self.at,
            send_at: e.send_at,
            key: e.key.clone(),
            journey: e.journey.clone(),
        };
        let sent = self.emissions.iter().map(|e| record(e, Outcome::Sent));
        let held_out = self.held_out.iter().map(|e| record(e, Outcome::HeldOut));
        let skipped = self.skipped.iter().map(|e| record(e, Outcome::Skipped));
        let records: Vec<Record> = sent.chain(held_out).chain(skipped).collect();
        // A decision that only changed journey states is a decision all the
        // same: a retry at its instant must replay it, not decide afresh
        // from the states it wrote. (Records carry their own instant.)
        let decided = match (records.first(), self.journeys.first()) {
            (None, Some(change)) => vec![(change.profile.clone(), self.at)],
            _ => Vec::new(),
        };
        let basis = match (records.is_empty() && decided.is_empty(), &self.basis) {
            (false, Some(basis)) => vec![basis.clone()],
            _ => Vec::new(),
        };
        Update {
            records,
            journeys: self.journeys.clone(),
            decided,
            basis,
        }
    }

    /// The decision at `now` for a profile whose last recorded decision,
    /// `last`, is not earlier: what was sent then, if `now` is that instant
    /// (the caller refuses a snapshot that cannot say what that was).
    fn replay(now: Timestamp, last: Option<&LastDecision>) -> Decision {
        let emissions = match last.filter(|last| last.at == now) {
            Some(last) => (last.sent.iter())
                .map(|record| Emission {
                    profile: record.profile.clone(),
                    action: record.action.clone(),
                    channel: record.channel.clone(),
                    category: record.category,
                    send_at: record.send_at,
                    journey: record.journey.clone(),
                    key: record.key.clone(),
                })
                .collect(),
            None => Vec::new(),
        };
        Decision {
            at: now,
            emissions,
            replayed: true,
            ..Decision::default()
        }
    }

    /// Replaces (or sets) the profile's state in a journey.
    fn set_journey(&mut self, profile: &str, journey: &str, state: JourneyState) {
        match self.journeys.iter_mut().find(|u| u.journey == journey) {
            Some(update) => update.state = state,
            None => self.journeys.push(JourneyUpdate {
                profile: profile.into(),
                journey: journey.into(),
                state,
            }),
        }
    }

    /// Sets the profile's state in `stage`'s journey after the stage was
    /// offered and sent (`blocked` is `None`) or stopped.
    fn advance(
        &mut self,
        profile: &Profile,
        stage: &Stage<'_>,
        blocked: Option<Reason>,
        now: Timestamp,
    ) {
        if let Some(state) = stage.after(blocked, now) {
            self.set_journey(profile.id(), &stage.journey.id, state);
        }
    }

    /// Reports a candidate that did not win, when explaining.
    fn suppress(
        &mut self,
        profile: &Profile,
        candidate: &Candidate<'_>,
        reason: Reason,
        mut detail: Vec<(&'static str, Value)>,
        options: Options,
    ) {
        if !options.explain {
            return;
        }
        if let Some(stage) = &candidate.stage {
            let then = match reason {
                Reason::Holdout => "held_out",
                reason if skips_at_once(reason) => "skipped",
                _ => "retry",
            };
            detail.push(("then", then.into()));
            detail.push(("entered_at", stage.state.entered_at.into()));
        }
        self.suppressions.push(Suppression {
            profile: profile.id().into(),
            action: candidate.action.id.as_str().into(),
            journey: candidate
                .stage
                .as_ref()
                .map(|s| (s.journey.id.as_str().into(), s.number())),
            reason,
            detail,
        });
    }
}

/// Options of one decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Report every candidate that did not win.
    pub explain: bool,
}

impl Options {
    /// These options, reporting every candidate that did not win when
    /// `explain` is true.
    ///
    /// ```
    /// use nextbest::decide::Options;
    /// assert!(Options::default().explain(true).explain);
    /// ```
    #[must_use]
    pub const fn explain(mut self, explain: bool) -> Self {
        self.explain = explain;
        self
    }
}

/// The decision engine over a loaded rule set. `Send + Sync`: share one.
///
/// ```
/// use nextbest::decide::{Engine, Options};
/// use nextbest::history::MemoryHistory;
/// use nextbest::rules::{Format, RuleSet};
/// use nextbest::{Profile, Timestamp};
/// let rules = RuleSet::parse(r#"
/// [schema.traits]
/// login_count_30d = "int"
/// [consent]
/// email = {}
/// [[action]]
/// id = "nudge"
/// channel = "email"
/// trigger = "login_count_30d < 2"
/// cooldown = "7d"
/// "#, Format::Toml, "rules.toml")?;
/// let engine = Engine::new(rules);
/// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("login_count_30d", 1).build()?;
/// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let mut history = MemoryHistory::new();
/// let decision = engine.decide(&profile, &history, now, Options::default())?;
/// assert_eq!(decision.emissions[0].action, "nudge");
///
/// // Recorded, the cooldown holds the next day's decision back.
/// use nextbest::history::History;
/// history.record(&decision.update())?;
/// let tomorrow = Timestamp::parse("2026-11-25T09:00:00Z")?;
/// let later = engine.decide(&profile, &history, tomorrow, Options::default().explain(true))?;
/// assert!(later.emissions.is_empty());
/// assert_eq!(later.suppressions[0].reason.name(), "cooldown");
///
/// // Decided again at the same instant (a retried batch), it repeats what
/// // was recorded, under the same key, and records nothing new.
/// let retried = engine.decide(&profile, &history, now, Options::default())?;
/// assert_eq!(retried.emissions, decision.emissions);
/// assert!(retried.replayed && retried.update().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
    /// Per action (file order), its place in id order: ties in the ranking
    /// compare integers, not strings.
    id_order: Vec<u32>,
    /// Per action (file order), what the guards need resolved.
    plans: Vec<Plan>,
    /// The actions with a trigger, by the class of their plan.
    classes: Vec<Class>,
    /// Per journey (file order), per stage: the index of its action.
    stage_actions: Vec<Vec<Option<usize>>>,
    /// The longest rolling window of a cap: how far back a decision counts
    /// sends.
    longest_cap: i64,
}

/// The plan of an action the engine has none for (never: one per action).
static NO_PLAN: Plan = Plan::none();

/// A candidate on its way through the guards. Kept small (the journey stage
/// boxed: most candidates are none), so that a decision's list of them fits
/// in one small allocation.
struct Candidate<'r> {
    action: &'r Action,
    /// The action's index in the rules: its plan and its place in id order.
    index: u32,
    rank: f64,
    /// Its `suppress_if` is TRUE.
    suppressed: bool,
    /// The journey stage it is, if any.
    stage: Option<Box<Stage<'r>>>,
}

/// The most bytes a decision's candidate list starts with. Allocators serve
/// requests under about 1 KiB from per-thread caches; glibc's `malloc`
/// consolidates its free lists on every larger one.
const CANDIDATE_BYTES: usize = 1000;

impl Engine {
    /// An engine over `rules`: the triggers are compiled once, here; share
    /// the engine (it is `Send + Sync`) between threads.
    ///
    /// ```
    /// use nextbest::rules::RuleSet;
    /// use nextbest::Engine;
    /// let root = env!("CARGO_MANIFEST_DIR");
    /// let engine = Engine::new(RuleSet::load(format!("{root}/examples/rules/classic.toml"))?);
    /// assert!(!engine.rules().actions.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(rules: RuleSet) -> Self {
        let mut by_id: Vec<usize> = (0..rules.actions.len()).collect();
        by_id.sort_by_key(|i| rules.actions.get(*i).map(|a| a.id.as_str()));
        let mut id_order = vec![0; by_id.len()];
        for (place, index) in by_id.into_iter().enumerate() {
            if let Some(slot) = id_order.get_mut(index) {
                *slot = u32::try_from(place).unwrap_or(u32::MAX);
            }
        }
        let plans = Plan::all(&rules);
        let classes = Plan::classes(&rules, &plans);
        let action_index = |id: &str| rules.actions.iter().position(|a| a.id == id);
        let stage_actions = (rules.journeys.iter())
            .map(|journey| {
                (0..journey.stage_count())
                    .map(|stage| journey.stage(stage).and_then(|s| action_index(&s.action)))
                    .collect()
            })
            .collect();
        let longest_cap = (rules.caps.iter())
            .map(|cap| cap.per.as_micros())
            .max()
            .unwrap_or(0);
        Engine {
            rules,
            id_order,
            plans,
            classes,
            stage_actions,
            longest_cap,
        }
    }

    /// The rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Decides the next-best actions for `profile` at `now`, from what
    /// `history` holds: reads the profile's snapshot
    /// ([`Engine::snapshot`]), then decides from it
    /// ([`Engine::decide_from`]).
    ///
    /// # Errors
    /// [`Error::History`](crate::Error::History) if the history cannot be
    /// read (SPEC §5 item 8: never decided as if nothing were sent); the
    /// errors of [`Engine::decide_from`] as [`Error::Eval`](crate::Error::Eval).
    ///
    /// ```
    /// use nextbest::{Engine, History, MemoryHistory, Options, Profile, Timestamp};
    /// # let rules = nextbest::rules::RuleSet::parse("[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"n > 1\"", nextbest::rules::Format::Toml, "rules.toml")?;
    /// let engine = Engine::new(rules);
    /// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("n", 2).build()?;
    /// let mut history = MemoryHistory::new();
    /// let now: Timestamp = "2026-11-24T09:00:00Z".parse()?;
    /// let decision = engine.decide(&profile, &history, now, Options::default())?;
    /// assert_eq!(decision.emissions[0].action, "a");
    /// history.record(&decision.update())?; // before the emission goes out
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(
        &self,
        profile: &Profile,
        history: &dyn History,
        now: Timestamp,
        options: Options,
    ) -> Result<Decision, crate::Error> {
        let snapshot = self.snapshot(history, profile.id(), now)?;
        Ok(self.decide_from(profile, &snapshot, now, options)?)
    }

    /// What a decision of `profile` at `now` reads of `history`: its sends
    /// back to the start of the rules' longest rolling cap window, its
    /// counters and journey states, and its last decision.
    ///
    /// ```
    /// # use nextbest::decide::Engine;
    /// # use nextbest::rules::{Format, RuleSet};
    /// use nextbest::history::MemoryHistory;
    /// use nextbest::Timestamp;
    /// # let engine = Engine::new(RuleSet::parse("[schema.traits]\nn = \"int\"\n", Format::Toml, "r.toml")?);
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let snapshot = engine.snapshot(&MemoryHistory::new(), "c-1", now)?;
    /// assert_eq!(snapshot.last_decided_at(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The history's, when it cannot be read.
    pub fn snapshot(
        &self,
        history: &dyn History,
        profile: &str,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        history.snapshot(profile, self.window_start(now), now)
    }

    /// The [`snapshot`](Engine::snapshot)s of many profiles, read at once
    /// ([`History::snapshots`]): one answer per profile, in the order of
    /// `profiles`.
    pub fn snapshots(
        &self,
        history: &dyn History,
        profiles: &[&str],
        now: Timestamp,
    ) -> Vec<Result<ProfileSnapshot, HistoryError>> {
        history.snapshots(profiles, self.window_start(now), now)
    }

    /// The earliest send a decision at `now` counts: the start of the
    /// longest rolling cap window.
    fn window_start(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_micros(now.as_micros().saturating_sub(self.longest_cap))
    }

    /// Decides the next-best actions for `profile` at `now` from its
    /// history's `snapshot`: pure, it reads nothing else.
    ///
    /// ```
    /// use nextbest::decide::{Engine, Options};
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::rules::{Format, RuleSet};
    /// use nextbest::{Profile, Timestamp};
    /// let rules = RuleSet::parse(r#"
    /// [schema.traits]
    /// n = "int"
    /// [consent]
    /// email = {}
    /// [[action]]
    /// id = "nudge"
    /// channel = "email"
    /// trigger = "n > 1"
    /// max_sends = 2
    /// "#, Format::Toml, "rules.toml")?;
    /// let engine = Engine::new(rules);
    /// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("n", 5).build()?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let mut snapshot = ProfileSnapshot::new("c-1", now);
    /// snapshot.set_sends_of("nudge", 2, Timestamp::parse("2026-11-01T09:00:00Z")?);
    /// let decision = engine.decide_from(&profile, &snapshot, now, Options::default())?;
    /// assert!(decision.emissions.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another
    /// schema; [`EvalError::InstantOutOfRange`] if `now`, or the time an
    /// emission is deferred to, is outside the years RFC 3339 can write;
    /// [`EvalError::SnapshotMismatch`] if `snapshot` is of another profile,
    /// starts after the longest cap window, or lacks the sends of a
    /// decision at `now` that it says was made.
    pub fn decide_from(
        &self,
        profile: &Profile,
        snapshot: &ProfileSnapshot,
        now: Timestamp,
        options: Options,
    ) -> Result<Decision, EvalError> {
        if profile.fingerprint() != self.rules.schema.fingerprint() {
            return Err(EvalError::SchemaMismatch {
                profile: profile.id().to_owned(),
            });
        }
        if !now.is_rfc3339() {
            return Err(out_of_range(profile, "the decision instant".into(), now));
        }
        let mismatch = |what: &'static str| EvalError::SnapshotMismatch {
            profile: profile.id().to_owned(),
            what,
        };
        if snapshot.profile() != profile.id() {
            return Err(mismatch("it is another profile's"));
        }
        // A snapshot that starts later would undercount the caps: fail
        // closed, never open.
        if snapshot.since() > self.window_start(now) {
            return Err(mismatch("it starts after the longest cap window"));
        }
        // A retried or replayed decision contacts no one a second time.
        if let Some(last) = snapshot.last_decided_at()
            && now <= last
        {
            let replayed = snapshot.last_decision().filter(|l| l.at == last);
            if now == last && replayed.is_none() {
                return Err(mismatch("it lacks the sends of the decision it replays"));
            }
            return Ok(Decision::replay(now, replayed));
        }
        let history = snapshot;
        let mut decision = Decision {
            at: now,
            emissions: Vec::with_capacity(self.rules.decision.max_actions.min(4)),
            basis: Some(snapshot.basis()),
            ..Decision::default()
        };
        let zone = self.rules.quiet_hours.as_ref().map(|quiet| {
            quiet::profile_zone(quiet, profile).unwrap_or_else(|(zone, used)| {
                decision.warnings.push(Warning::UnknownTimeZone {
                    profile: profile.id().into(),
                    zone,
                    used: used.name(),
                });
                used
            })
        });
        let situation = Situation::new(&self.rules, profile, history, now, options.explain, zone);
        // Room for every candidate when that is a small allocation, else for
        // as many as one holds, grown only when more triggers fire.
        let most = self.rules.actions.len() + self.rules.journeys.len();
        let mut candidates =
            Vec::with_capacity(most.min(CANDIDATE_BYTES / size_of::<Candidate<'_>>()));
        self.journey_candidates(profile, history, now, &mut decision, &mut candidates)?;
        self.standalone_candidates(&situation, options, &mut decision, &mut candidates)?;
        // Best first; ties by id, so the order never depends on the file's; a
        // journey stage before the same action on its own, so that progress
        // is made when both are due.
        let tie = |c: &Candidate<'_>| self.id_order.get(c.index as usize).copied();
        candidates.sort_by(|a, b| {
            b.rank
                .total_cmp(&a.rank)
                .then_with(|| tie(a).cmp(&tie(b)))
                .then_with(|| a.stage.is_none().cmp(&b.stage.is_none()))
        });
        for candidate in candidates {
            self.settle(&situation, options, candidate, &mut decision);
        }
        // Quiet hours may defer a send past the end of year 9999: it could
        // be neither written out nor sent.
        if let Some(late) = (decision.emissions.iter()).find(|e| !e.send_at.is_rfc3339()) {
            let what = format!("the send time of action `{}`", late.action);
            return Err(out_of_range(profile, what, late.send_at));
        }
        Ok(decision)
    }

    /// SPEC §5 step 1: exits, overdue stages, enrolments; due stages become
    /// candidates.
    fn journey_candidates<'r>(
        &'r self,
        profile: &Profile,
        history: &ProfileSnapshot,
        now: Timestamp,
        decision: &mut Decision,
        candidates: &mut Vec<Candidate<'r>>,
    ) -> Result<(), EvalError> {
        for (position, journey) in self.rules.journeys.iter().enumerate() {
            let state = history.journey(&journey.id);
            let progress = journey::progress(journey, state, profile, now)?;
            if let Some(state) = progress.update {
                decision.set_journey(profile.id(), &journey.id, state);
            }
            for (number, enrolment) in progress.overdue {
                if let Some((_, action)) = self.stage_action(position, number - 1) {
                    let stage = (journey.id.as_str(), number, enrolment);
                    let key = idempotency_key(profile.id(), action, Sent::default(), Some(stage));
                    let journey = Some((journey.id.as_str().into(), number));
                    decision
                        .skipped
                        .push(emission(profile, action, now, journey, key));
                }
            }
            if let Some(stage) = progress.due
                && let Some((index, action)) = self.stage_action(position, stage.index)
            {
                let mut candidate = self.candidate(index, action, profile, now)?;
                candidate.stage = Some(Box::new(stage));
                candidates.push(candidate);
            }
        }
        Ok(())
    }

    /// The action of stage `stage` (0-based) of the journey at `journey`,
    /// with its index in the rules.
    fn stage_action(&self, journey: usize, stage: u32) -> Option<(usize, &Action)> {
        let stages = self.stage_actions.get(journey)?;
        let index = (*stages.get(usize::try_from(stage).ok()?)?)?;
        Some((index, self.rules.actions.get(index)?))
    }

    /// The action at `index` of the rules as a candidate, its `suppress_if`
    /// evaluated.
    fn candidate<'r>(
        &'r self,
        index: usize,
        action: &'r Action,
        profile: &Profile,
        now: Timestamp,
    ) -> Result<Candidate<'r>, EvalError> {
        let suppressed = match &action.suppress_if {
            Some(suppress) => suppress.matches(profile, now)?,
            None => false,
        };
        Ok(Candidate {
            action,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            // A suppressed candidate is never ranked.
            rank: if suppressed {
                f64::NEG_INFINITY
            } else {
                rank(action, profile, now)?
            },
            suppressed,
            stage: None,
        })
    }

    /// The action at `index` as a candidate if it has a trigger and the
    /// trigger is TRUE. Inlined: it runs for most actions of every decision,
    /// and its call frame cost more than its own work.
    #[inline(always)]
    fn offer<'r>(
        &'r self,
        index: usize,
        profile: &Profile,
        now: Timestamp,
        candidates: &mut Vec<Candidate<'r>>,
    ) -> Result<(), EvalError> {
        let Some(action) = self.rules.actions.get(index) else {
            return Ok(());
        };
        if let Some(trigger) = &action.trigger
            && trigger.matches(profile, now)?
        {
            candidates.push(self.candidate(index, action, profile, now)?);
        }
        Ok(())
    }

    fn plan(&self, index: usize) -> &Plan {
        self.plans.get(index).unwrap_or(&NO_PLAN)
    }

    /// SPEC §5 step 2: actions whose trigger is TRUE and `suppress_if` not.
    ///
    /// Unexplained, an action that a guard of the profile as a whole already
    /// blocks (validity, consent, a full cap, quiet hours it drops in) is not
    /// evaluated at all: as a candidate it could leave no trace. Not when the
    /// profile is in a holdout group it belongs to: that is recorded. The
    /// actions are then walked class by class (the order of the candidates
    /// does not matter: they are ranked).
    fn standalone_candidates<'r>(
        &'r self,
        situation: &Situation<'_>,
        options: Options,
        decision: &mut Decision,
        candidates: &mut Vec<Candidate<'r>>,
    ) -> Result<(), EvalError> {
        let (profile, now) = (situation.profile(), situation.now());
        if options.explain {
            for index in 0..self.rules.actions.len() {
                self.offer(index, profile, now, candidates)?;
            }
        } else {
            for class in &self.classes {
                let (members, blocked) = situation.open_members(class, &self.rules, &self.plans);
                for &index in members {
                    if situation.may_yield(self.plan(index), blocked) {
                        self.offer(index, profile, now, candidates)?;
                    }
                }
            }
        }
        // `suppress_if` applies to journey stages too (they retry).
        for index in (0..candidates.len()).rev() {
            if !candidates.get(index).is_some_and(|c| c.suppressed) {
                continue;
            }
            let candidate = candidates.remove(index);
            if let Some(stage) = &candidate.stage {
                decision.advance(profile, stage, Some(Reason::SuppressIf), now);
            }
            decision.suppress(profile, &candidate, Reason::SuppressIf, Vec::new(), options);
        }
        Ok(())
    }

    /// Runs one candidate through the guards and the ranking, best first.
    fn settle(
        &self,
        situation: &Situation<'_>,
        options: Options,
        candidate: Candidate<'_>,
        decision: &mut Decision,
    ) {
        let (profile, now) = (situation.profile(), situation.now());
        let (action, plan) = (candidate.action, self.plan(candidate.index as usize));
        let stage = candidate.stage.as_deref();
        let full = decision.emissions.len() >= self.rules.decision.max_actions;
        // The history is read once, and only if a guard or the key needs it.
        let sent = OnceCell::new();
        let verdict = if full && stage.is_none() && !options.explain {
            // It cannot win, and unexplained, which guard stops it leaves no
            // trace; only a holdout does (a held-out record).
            situation
                .holdout_only(action, plan)
                .and_then(|()| Err((Reason::Arbitration, Vec::new())))
        } else {
            // Unexplained, an action on its own only needs to know whether
            // something blocks it; a journey stage needs the first reason.
            let any_block = stage.is_none() && !options.explain;
            situation
                .check(action, plan, &sent, decision, any_block)
                .and_then(|()| {
                    self.arbitration(situation, decision, action)?;
                    let send_at = situation.send_at(action);
                    match action.valid_until {
                        // Deferred past the end of its validity: it would go out expired.
                        Some(until) if send_at > until => Err(situation
                            .block(Reason::Expired, || {
                                vec![("valid_until", until.into()), ("send_at", send_at.into())]
                            })),
                        _ => Ok(send_at),
                    }
                })
        };
        let key = || match stage {
            Some(stage) => {
                idempotency_key(profile.id(), action, Sent::default(), Some(stage.key()))
            }
            None => {
                let sent = *sent.get_or_init(|| situation.sent(action));
                idempotency_key(profile.id(), action, sent, None)
            }
        };
        let journey = || stage.map(|s| (s.journey.id.as_str().into(), s.number()));
        if let Some(stage) = stage {
            let blocked = verdict.as_ref().err().map(|(reason, _)| *reason);
            decision.advance(profile, stage, blocked, now);
        }
        match verdict {
            Ok(send_at) => {
                let sent = emission(profile, action, send_at, journey(), key());
                decision.emissions.push(sent);
            }
            Err((Reason::Holdout, detail)) => {
                let held_out = emission(profile, action, now, journey(), key());
                decision.held_out.push(held_out);
                decision.suppress(profile, &candidate, Reason::Holdout, detail, options);
            }
            Err((reason, detail)) => {
                if stage.is_some() && skips_at_once(reason) {
                    let skipped = emission(profile, action, now, journey(), key());
                    decision.skipped.push(skipped);
                }
                decision.suppress(profile, &candidate, reason, detail, options);
            }
        }
    }

    /// Whether the decision has room for one more emission, and does not
    /// hold this action already (from a journey and on its own, say).
    fn arbitration(
        &self,
        situation: &Situation<'_>,
        decision: &Decision,
        action: &Action,
    ) -> Verdict {
        let full = decision.emissions.len() >= self.rules.decision.max_actions;
        if full || decision.emissions.iter().any(|e| e.action == action.id) {
            return Err(situation.block(Reason::Arbitration, || {
                let winners: Vec<Value> = decision
                    .emissions
                    .iter()
                    .map(|e| Value::from(e.action.as_str()))
                    .collect();
                vec![("chosen", Value::from(winners))]
            }));
        }
        Ok(())
    }
}

fn rank(action: &Action, profile: &Profile, now: Timestamp) -> Result<f64, EvalError> {
    Ok(match &action.ranking {
        #[allow(clippy::cast_precision_loss)]
        Ranking::Priority(p) => *p as f64,
        // A NULL score ranks below every number.
        Ranking::Score(score) => score.evaluate(profile, now)?.unwrap_or(f64::NEG_INFINITY),
    })
}

fn out_of_range(profile: &Profile, what: String, instant: Timestamp) -> EvalError {
    EvalError::InstantOutOfRange {
        profile: profile.id().to_owned(),
        what,
        instant,
    }
}

fn emission(
    profile: &Profile,
    action: &Action,
    send_at: Timestamp,
    journey: Option<(Id, u32)>,
    key: Id,
) -> Emission {
    Emission {
        profile: profile.id().into(),
        action: action.id.as_str().into(),
        channel: action.channel.as_str().into(),
        category: action.category,
        send_at,
        journey,
        key,
    }
}

/// A key that depends only on (profile, action, which send of that action
/// this is) for an action on its own, and on (profile, action, journey
/// enrolment, step) for a journey step: 16 hex digits of FNV-1a 64 over
/// those fields, NUL-separated, numbers in decimal.
fn idempotency_key(
    profile: &str,
    action: &Action,
    sent: Sent,
    stage: Option<(&str, u32, u32)>,
) -> Id {
    let mut hash = Fnv1a64::new();
    hash.write(profile.bytes())
        .write([0])
        .write(action.id.bytes())
        .write([0]);
    match stage {
        Some((journey, step, enrolment)) => hash
            .write(journey.bytes())
            .write([0])
            .write_decimal(enrolment)
            .write([0])
            .write_decimal(step),
        None => hash.write_decimal(sent.count.saturating_add(1)),
    };
    hash.to_hex()
}
