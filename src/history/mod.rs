//! Contact history: what was sent, held out or skipped for each profile, and
//! when, and where each profile stands in each journey. The decision engine
//! reads it for cooldowns, `max_sends`, rolling frequency caps and journey
//! steps; recording a decision in it is an explicit call.
//!
//! A decision over a store is a transaction per profile or per batch of
//! profiles: read each profile's [`ProfileSnapshot`] (a read that fails
//! fails the decision, SPEC §5 item 8), decide from it (pure), then
//! [`commit`](History::commit) the decisions' [`Update`] against the
//! [`Basis`] of their snapshots: the store answers [`Commit::Committed`],
//! or [`Commit::Conflict`] when another writer decided for one of the
//! profiles in between, and the caller decides those again (a retry at the
//! same instant is then a replay). [`Batched`] does this for a stream of
//! decisions, committing many profiles at once.

mod batch;
#[cfg(feature = "durable")]
mod durable;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod snapshot;

pub use batch::Batched;
#[cfg(feature = "durable")]
pub use durable::{Contents, DurableHistory};
pub use memory::MemoryHistory;
#[cfg(feature = "postgres")]
pub use postgres::{Locking, PostgresHistory};
pub use snapshot::{Basis, ProfileSnapshot};

use std::borrow::Borrow;
use std::path::PathBuf;

use crate::Id;

use crate::rules::Category;
use crate::value::Timestamp;

/// What happened to an action for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// It was emitted (counts for cooldowns, caps and `max_sends`).
    Sent,
    /// The profile was in a holdout group: recorded for analysis, never sent.
    HeldOut,
    /// A journey step that could not be sent in time.
    Skipped,
}

impl Outcome {
    /// The name used in stored records and JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::HeldOut => "held_out",
            Outcome::Skipped => "skipped",
        }
    }

    /// The outcome of that [`name`](Outcome::name), for a store of the
    /// caller's own that keeps records by name.
    ///
    /// ```
    /// use nextbest::history::Outcome;
    /// assert_eq!(Outcome::from_name("held_out"), Some(Outcome::HeldOut));
    /// assert_eq!(Outcome::from_name("Sent"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Outcome> {
        [Outcome::Sent, Outcome::HeldOut, Outcome::Skipped]
            .into_iter()
            .find(|outcome| outcome.name() == name)
    }
}

/// One entry of a profile's contact history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The profile.
    pub profile: Id,
    /// The action.
    pub action: Id,
    /// The channel it went (or would have gone) out on.
    pub channel: Id,
    /// Its category when it was decided.
    pub category: Category,
    /// What happened.
    pub outcome: Outcome,
    /// When it was decided.
    pub at: Timestamp,
    /// When it is (or was) delivered: later than `at` when quiet hours deferred it.
    pub send_at: Timestamp,
    /// The idempotency key of the emission.
    pub key: Id,
    /// The journey and step (1-based; the fallback is the step after the
    /// last) it belongs to, if any.
    pub journey: Option<(Id, u32)>,
}

impl Record {
    /// A record of `action` decided for `profile` at `at`, on `channel`,
    /// with its `outcome` and idempotency `key`: delivered at `at`, in no
    /// journey (see [`delivered_at`](Record::delivered_at) and
    /// [`in_journey`](Record::in_journey)). The engine makes the records of
    /// its decisions; this is for importing sends made elsewhere, and for
    /// tests of a store.
    ///
    /// ```
    /// use nextbest::history::{Outcome, Record, Update};
    /// use nextbest::rules::Category;
    /// use nextbest::{History, MemoryHistory, Timestamp};
    ///
    /// let at = Timestamp::parse("2026-11-20T09:00:00Z")?;
    /// let sent = Record::new("c-1042", "winback_email", "email", Category::Marketing, Outcome::Sent, at, "legacy-77")
    ///     .delivered_at(Timestamp::parse("2026-11-20T10:00:00Z")?);
    /// let mut history = MemoryHistory::new();
    /// history.record(&Update::from(vec![sent]))?;
    /// assert_eq!(history.times_sent("c-1042", "winback_email")?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        profile: impl Into<Id>,
        action: impl Into<Id>,
        channel: impl Into<Id>,
        category: Category,
        outcome: Outcome,
        at: Timestamp,
        key: impl Into<Id>,
    ) -> Record {
        Record {
            profile: profile.into(),
            action: action.into(),
            channel: channel.into(),
            category,
            outcome,
            at,
            send_at: at,
            key: key.into(),
            journey: None,
        }
    }

    /// The same record, delivered at `send_at` (quiet hours deferred it).
    pub fn delivered_at(mut self, send_at: Timestamp) -> Record {
        self.send_at = send_at;
        self
    }

    /// The same record, as step `step` (1-based) of `journey`.
    pub fn in_journey(mut self, journey: impl Into<Id>, step: u32) -> Record {
        self.journey = Some((journey.into(), step));
        self
    }
}

/// Where a profile stands in one journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JourneyState {
    /// When the current (or, once left, the last) enrolment began.
    pub entered_at: Timestamp,
    /// Which enrolment it is: 1 for the first entry, 2 after a re-entry…
    /// (the idempotency keys of its steps depend on it, not on the instant,
    /// so that a decision replayed later repeats them).
    pub enrolment: u32,
    /// How many of the journey's stages (its steps, then its fallback) are
    /// done: sent, held out or skipped.
    pub done: u32,
    /// Whether the next stage was offered and blocked, and waits for a
    /// retry: only such a stage is skipped when the one after it falls due.
    pub tried: bool,
    /// Enrolled, or left and when.
    pub status: JourneyStatus,
}

impl JourneyState {
    /// Enrolment number `enrolment`, begun at `at`.
    pub const fn entered(at: Timestamp, enrolment: u32) -> JourneyState {
        JourneyState {
            entered_at: at,
            enrolment,
            done: 0,
            tried: false,
            status: JourneyStatus::Active,
        }
    }

    /// What a decision at `at` that produced this state did: `entered`,
    /// `advanced`, `exited` or `completed` (the names of explained output).
    ///
    /// ```
    /// use nextbest::history::JourneyState;
    /// use nextbest::Timestamp;
    /// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// assert_eq!(JourneyState::entered(at, 1).change(at), "entered");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn change(&self, at: Timestamp) -> &'static str {
        match self.status {
            JourneyStatus::Active if self.entered_at == at => "entered",
            JourneyStatus::Active => "advanced",
            status => status.name(),
        }
    }

    /// When the profile left, if it did.
    pub const fn left_at(&self) -> Option<Timestamp> {
        match self.status {
            JourneyStatus::Active => None,
            JourneyStatus::Exited(at) | JourneyStatus::Completed(at) => Some(at),
        }
    }
}

/// Whether a profile is still in a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JourneyStatus {
    /// Enrolled: its steps are still to come.
    Active,
    /// Left at this instant because its `exit` condition held.
    Exited(Timestamp),
    /// Left at this instant after its last stage.
    Completed(Timestamp),
}

impl JourneyStatus {
    /// The name used in stored states and JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            JourneyStatus::Active => "active",
            JourneyStatus::Exited(_) => "exited",
            JourneyStatus::Completed(_) => "completed",
        }
    }
}

/// A profile's new state in a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JourneyUpdate {
    /// The profile.
    pub profile: Id,
    /// The journey.
    pub journey: Id,
    /// Where the profile now stands in it.
    pub state: JourneyState,
}

/// The latest decision recorded for a profile: what a decision at the same
/// or an earlier instant replays (SPEC §5 item 7).
///
/// Its instant is the latest a history was given for the profile: of a
/// record, or of a decision that only changed journey states
/// ([`Update::decided`]); compaction never forgets it. Its sends are the
/// [`Outcome::Sent`] records at that instant that end the profile's records
/// in recording order (the engine records a profile's decisions in time
/// order, since a decision not later than the last records nothing, so
/// those are all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LastDecision {
    /// The instant it was decided at.
    pub at: Timestamp,
    /// Its sends, in the order they were emitted (best first).
    pub sent: Vec<Record>,
}

impl LastDecision {
    /// The decision at `at` that sent `sent`, in the order they were
    /// emitted (for a store of the caller's own that keeps it as such).
    pub fn new(at: Timestamp, sent: Vec<Record>) -> LastDecision {
        LastDecision { at, sent }
    }

    /// The last decision, at `at`, of a profile whose records are
    /// `newest_first` (the reverse of recording order): the sends among the
    /// records at `at` that come before any record of another instant.
    ///
    /// ```
    /// use nextbest::history::{LastDecision, Outcome, Record};
    /// use nextbest::rules::Category;
    /// use nextbest::Timestamp;
    /// let record = |at: &str, outcome| {
    ///     Record::new("c-1", "a", "email", Category::Marketing, outcome, Timestamp::parse(at).unwrap(), at)
    /// };
    /// let recorded = [
    ///     record("2026-11-23T09:00:00Z", Outcome::Sent),
    ///     record("2026-11-24T09:00:00Z", Outcome::Sent),
    ///     record("2026-11-24T09:00:00Z", Outcome::HeldOut),
    /// ];
    /// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let last = LastDecision::at(at, recorded.iter().rev());
    /// assert_eq!(last.sent, [recorded[1].clone()]);
    /// // A later decision that recorded only journey states sent nothing.
    /// let later = Timestamp::parse("2026-11-25T09:00:00Z")?;
    /// assert!(LastDecision::at(later, recorded.iter().rev()).sent.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn at<R: Borrow<Record>>(
        at: Timestamp,
        newest_first: impl IntoIterator<Item = R>,
    ) -> LastDecision {
        let mut sent: Vec<Record> = (newest_first.into_iter())
            .take_while(|record| record.borrow().at == at)
            .filter(|record| record.borrow().outcome == Outcome::Sent)
            .map(|record| record.borrow().clone())
            .collect();
        sent.reverse();
        LastDecision { at, sent }
    }
}

/// What one or more decisions write into a history: written together, in one
/// transaction for a durable store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Update {
    /// Records to append.
    pub records: Vec<Record>,
    /// Journey states to replace, in order (a later one for the same
    /// profile and journey wins).
    pub journeys: Vec<JourneyUpdate>,
    /// The profiles whose decisions this update records, each with the
    /// decision's instant: a later decision at or before it replays it
    /// (see [`History::last_decision`]). Records carry their instant too;
    /// this names it for a decision that only changed journey states.
    pub decided: Vec<(Id, Timestamp)>,
    /// What the decisions were decided from: [`History::commit`] records
    /// the update only if each profile's last decision is still the one
    /// its basis names. Empty for an unconditional write.
    pub basis: Vec<Basis>,
}

impl JourneyUpdate {
    /// `profile` now stands at `state` in `journey`.
    pub fn new(
        profile: impl Into<Id>,
        journey: impl Into<Id>,
        state: JourneyState,
    ) -> JourneyUpdate {
        JourneyUpdate {
            profile: profile.into(),
            journey: journey.into(),
            state,
        }
    }
}

impl Update {
    /// An update that writes nothing; add to it with the `with_` methods,
    /// or make one of records with `Update::from(records)`.
    pub fn new() -> Update {
        Update::default()
    }

    /// The same update, appending `record` too.
    pub fn with_record(mut self, record: Record) -> Update {
        self.records.push(record);
        self
    }

    /// The same update, replacing a journey state too.
    pub fn with_journey(mut self, journey: JourneyUpdate) -> Update {
        self.journeys.push(journey);
        self
    }

    /// The same update, naming `profile`'s decision at `at` too.
    pub fn with_decided(mut self, profile: impl Into<Id>, at: Timestamp) -> Update {
        self.decided.push((profile.into(), at));
        self
    }

    /// The same update, recorded only if `basis` still holds (see
    /// [`History::commit`]).
    pub fn with_basis(mut self, basis: Basis) -> Update {
        self.basis.push(basis);
        self
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.journeys.is_empty() && self.decided.is_empty()
    }

    /// Appends another update after this one.
    pub fn extend(&mut self, other: Update) {
        self.records.extend(other.records);
        self.journeys.extend(other.journeys);
        self.decided.extend(other.decided);
        self.basis.extend(other.basis);
    }
}

impl From<Vec<Record>> for Update {
    fn from(records: Vec<Record>) -> Update {
        Update {
            records,
            ..Update::default()
        }
    }
}

/// A failure of a history store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The store could not be read or written.
    #[error("history store: {0}")]
    Store(String),
    /// A store of the caller's own (an implementation of [`History`])
    /// failed: its error is the source, for the caller to downcast.
    ///
    /// ```
    /// use nextbest::history::HistoryError;
    ///
    /// let failure = std::io::Error::new(std::io::ErrorKind::TimedOut, "redis did not answer");
    /// let error = HistoryError::custom(failure);
    /// assert_eq!(error.to_string(), "the history store failed");
    /// let source = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<std::io::Error>());
    /// assert_eq!(source.map(|e| e.kind()), Some(std::io::ErrorKind::TimedOut));
    /// ```
    // The source's message is the source's to print (error chains print
    // each cause once).
    #[error("the history store failed")]
    Custom(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The store's file could not be read or written. A write that failed
    /// was not acknowledged: the store holds all of it or none of it.
    #[error("history store {}: {detail}", .path.display())]
    Io {
        /// The store's file.
        path: PathBuf,
        /// What failed.
        detail: String,
        /// The operating system's error, when one caused it: its
        /// [`kind`](std::io::Error::kind) tells a full disk from a
        /// permission problem.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The file exists but is not a nextbest history store; it was not changed.
    #[error("{} is not a nextbest history store ({detail})", .path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// Why not.
        detail: String,
    },
    /// The file is a store, but damaged (cut short, or bytes changed under
    /// it): its checksums do not match, or its database engine cannot read
    /// it. Nothing was decided from it.
    #[error("history store {} is damaged ({detail}); restore it from a backup", .path.display())]
    Damaged {
        /// The store's file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The store was written in a format version this build does not read;
    /// it was not changed.
    #[error(
        "{} is a nextbest history store of format version {found}, but this nextbest reads version {expected}{}",
        .path.display(),
        if found > expected { "; use a newer nextbest" } else { "" }
    )]
    Format {
        /// The store's file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// The store is of an older format version, which opening it for
    /// writing upgrades in place; it was opened to be left unchanged.
    #[error(
        "{} is a nextbest history store of format version {found}, upgraded to version {expected} in place when opened for writing; it was opened to be left unchanged",
        .path.display()
    )]
    NeedsUpgrade {
        /// The store's file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version opening it for writing upgrades it to.
        expected: u32,
    },
    /// Another writer decided for these profiles since the decisions being
    /// recorded read their history; nothing was recorded.
    #[error("history store: {} profiles were decided by another writer meanwhile", .profiles.len())]
    Conflict {
        /// The profiles.
        profiles: Vec<Id>,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("history store {} is in use by another process", .path.display())]
    InUse {
        /// The store's file.
        path: PathBuf,
    },
    /// The PostgreSQL server could not be reached, or refused a statement.
    /// A commit that failed was rolled back: nothing of it is recorded.
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL history store: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The database holds nextbest tables of another version; nothing was
    /// changed.
    #[error(
        "the PostgreSQL history store's tables are of version {found}, but this nextbest reads version {expected}{}",
        if found > expected { "; use a newer nextbest" } else { "" }
    )]
    SchemaVersion {
        /// The version of the tables in the database.
        found: i32,
        /// The version this build reads and writes.
        expected: i32,
    },
}

impl HistoryError {
    /// A failure of a store of the caller's own, kept as the source.
    pub fn custom(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        HistoryError::Custom(error.into())
    }
}

/// What a store answers a [`commit`](History::commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// The update is recorded (durably, for a durable store).
    Committed,
    /// Nothing was recorded: these profiles were decided by another writer
    /// since their snapshots were read. Decide them again from new
    /// snapshots (at the same instant that is a replay of the other
    /// writer's decision) and commit again.
    Conflict(Vec<Id>),
}

/// The earliest instant: a snapshot from it holds every send.
const EARLIEST: Timestamp = Timestamp::from_micros(i64::MIN);
/// The latest instant: a snapshot for a decision then reads no replay.
const LATEST: Timestamp = Timestamp::from_micros(i64::MAX);

/// A contact history the decision engine reads and records into.
///
/// A store implements [`snapshot`](History::snapshot) and
/// [`commit`](History::commit); the questions below have defaults that ask
/// a snapshot, and a store answers them more cheaply where it can. Every
/// read returns a `Result`: a store that cannot answer says so, and the
/// decision fails (SPEC §5 item 8), never "never sent".
///
/// How a store fits the seam: a single-writer embedded store (see
/// [`DurableHistory`]) checks the bases inside its write transaction and
/// never conflicts unless a caller mixes snapshots of different times; a
/// store shared by many writers (PostgreSQL) takes a per-profile lock (an
/// advisory transaction lock, or a row lock on a per-profile row where
/// advisory locks are not shared), compares each profile's last-decided
/// instant with its basis, writes everything of the update in one
/// transaction and answers [`Commit::Conflict`] for the profiles whose
/// instant moved.
pub trait History {
    /// Everything one decision of `profile` at `now` reads, at once: its
    /// counters (times sent and last send, per action), its journey states,
    /// the instant of its last decision, its sends decided after `since`
    /// (so that a rolling-window count is exact for every window that
    /// starts at or after it) and, when its last decision is at or after
    /// `now` (the decision replays it, SPEC §5 item 7), that decision's
    /// sends ([`ProfileSnapshot::set_last_decision`]).
    ///
    /// # Errors
    /// A store that cannot be read: the decision must fail.
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError>;

    /// The [`snapshot`](History::snapshot)s of many profiles at once, one
    /// answer per profile in the order of `profiles` (a profile named twice
    /// gets two equal snapshots). A store that answers each read with a
    /// round trip to a server answers all of them with one; the default asks
    /// [`snapshot`](History::snapshot) for each.
    ///
    /// A read that fails fails the answers it could not give: an `Err` in
    /// their places, never an empty snapshot (SPEC §5 item 8).
    ///
    /// ```
    /// use nextbest::history::{History, MemoryHistory};
    /// use nextbest::Timestamp;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let mut snapshots = MemoryHistory::new().snapshots(&["c-1", "c-2"], now, now);
    /// let c2 = snapshots.pop().expect("one answer per profile")?;
    /// assert_eq!(c2.profile(), "c-2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn snapshots(
        &self,
        profiles: &[&str],
        since: Timestamp,
        now: Timestamp,
    ) -> Vec<Result<ProfileSnapshot, HistoryError>> {
        (profiles.iter())
            .map(|profile| self.snapshot(profile, since, now))
            .collect()
    }

    /// Records `update`, in one transaction, if every profile of its
    /// [`basis`](Update::basis) still has the last decision its snapshot
    /// saw; otherwise records nothing and answers which did not. A profile's decisions are to be
    /// recorded in time order, as the engine produces them (see
    /// [`LastDecision`]).
    ///
    /// # Errors
    /// A store that cannot write; then nothing of `update` is acknowledged.
    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError>;

    /// Records `update` for a single writer, which no other can have raced:
    /// a [`Commit::Conflict`] is then an error.
    ///
    /// # Errors
    /// A store that cannot write, or a conflict; then nothing of `update`
    /// is acknowledged.
    fn record(&mut self, update: &Update) -> Result<(), HistoryError> {
        match self.commit(update)? {
            Commit::Committed => Ok(()),
            Commit::Conflict(profiles) => Err(HistoryError::Conflict { profiles }),
        }
    }

    /// How many times `action` was sent to `profile`, ever, and when last.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn sends_of(
        &self,
        profile: &str,
        action: &str,
    ) -> Result<(u32, Option<Timestamp>), HistoryError> {
        Ok(self.snapshot(profile, LATEST, LATEST)?.sends_of(action))
    }

    /// How many times `action` was sent to `profile`, ever.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn times_sent(&self, profile: &str, action: &str) -> Result<u32, HistoryError> {
        Ok(self.sends_of(profile, action)?.0)
    }

    /// The most recent send of `action` to `profile`.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn last_sent(&self, profile: &str, action: &str) -> Result<Option<Timestamp>, HistoryError> {
        Ok(self.sends_of(profile, action)?.1)
    }

    /// How many sends to `profile` in `category` were decided after `after`
    /// (exclusive): on `channel`, or on any channel when it is `None`.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn sends_after(
        &self,
        profile: &str,
        channel: Option<&str>,
        category: Category,
        after: Timestamp,
    ) -> Result<u32, HistoryError> {
        let snapshot = self.snapshot(profile, after, LATEST)?;
        Ok(snapshot.sends_after(channel, category, after))
    }

    /// Where `profile` stands in `journey`: `None` if it never entered it.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn journey(&self, profile: &str, journey: &str) -> Result<Option<JourneyState>, HistoryError> {
        Ok(self.snapshot(profile, LATEST, LATEST)?.journey(journey))
    }

    /// The latest decision recorded for `profile` (see [`LastDecision`]):
    /// `None` if nothing was ever recorded for it.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn last_decision(&self, profile: &str) -> Result<Option<LastDecision>, HistoryError> {
        let snapshot = self.snapshot(profile, LATEST, EARLIEST)?;
        Ok(snapshot.last_decision().cloned())
    }

    /// The instant of [`last_decision`](History::last_decision), without
    /// its sends.
    ///
    /// # Errors
    /// A store that cannot be read.
    fn last_decided_at(&self, profile: &str) -> Result<Option<Timestamp>, HistoryError> {
        Ok(self.snapshot(profile, LATEST, LATEST)?.last_decided_at())
    }
}
