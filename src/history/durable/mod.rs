//! A durable [`History`] in one file: an embedded, transactional
//! [redb](https://docs.rs/redb) database.
//!
//! # File format, version 3
//!
//! | table             | key                                            | value                                                   |
//! |-------------------|------------------------------------------------|---------------------------------------------------------|
//! | `meta`            | `&str`                                         | `&str`: `format = "nextbest-history"`, `version = "3"`  |
//! | `counters`        | `&str`                                         | `u64`: `next_seq`, the sequence number of the next record |
//! | `actions`         | `(profile, action)`                            | `(times_sent u32, last_sent i64 µs)`, sends only        |
//! | `sends`           | `(profile, channel, category u8, at i64 µs, seq u64)` | `()`, sends only                                 |
//! | `records`         | `(profile, seq u64)`                           | `(action, channel, category u8, outcome u8, at, send_at, key)` |
//! | `records_by_time` | `(at i64 µs, seq u64)`                         | `profile`, for retention                                |
//! | `record_steps`    | `(profile, seq u64)`                           | `(journey, step u32)`, records of journey steps only    |
//! | `journeys`        | `(profile, journey)`                           | `(entered_at i64 µs, enrolment u32, done u32, tried bool, status u8, left_at i64 µs)` |
//! | `last_decided`    | `profile`                                      | `i64 µs`: the latest decision that sent nothing         |
//!
//! A cooldown or `max_sends` check is one B-tree lookup in `actions`; a rolling
//! cap is one range scan of `sends` over exactly the sends inside the window of
//! one (profile, channel, category), as in [`MemoryHistory`](super::MemoryHistory).
//! Categories are stored as 0 = marketing, 1 = transactional; outcomes as
//! 0 = sent, 1 = held out, 2 = skipped; journey statuses as 0 = active,
//! 1 = exited, 2 = completed (`left_at` is 0 while active).
//!
//! The instant of a profile's last decision, which replays are checked
//! against, is the later of its latest `last_sent` in `actions` and its
//! `last_decided`; compaction keeps the records decided at it.
//!
//! Version 1 had neither `record_steps` nor `journeys`; version 2 had no
//! `last_decided`. Opening an older store adds what it lacks and sets the
//! version to 3, in one commit. `last_decided` is then worked out from the
//! records that are not sends and from the journey states' entry and exit
//! instants; a version 2 decision that only marked a journey stage for a
//! retry left no trace of its instant, so a batch decided by an older
//! nextbest should not be re-run at the same instant after upgrading.
//!
//! The `meta` table keeps its name and types in every future version, so that
//! any version can tell which version wrote a file.

mod contain;
mod open;
mod verify;

pub use verify::Contents;

use std::collections::HashMap;
use std::fmt;
use std::ops::{Bound, RangeInclusive};
use std::path::{Path, PathBuf};

use redb::{
    Database, DatabaseError, ReadOnlyTable, ReadableTable, ReadableTableMetadata, StorageError,
    TableDefinition, TableError, WriteTransaction,
};

use compact_str::CompactString;

use super::{
    Basis, Commit, History, HistoryError, JourneyState, JourneyStatus, LastDecision, Outcome,
    ProfileSnapshot, Record, Update,
};
use crate::rules::Category;
use crate::value::Timestamp;

/// The value of `format` in the `meta` table.
const FORMAT: &str = "nextbest-history";

/// Format version metadata.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Monotonic counters (`next_seq`).
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Per (profile, action): (times sent, last send decided at, µs).
const ACTIONS: TableDefinition<(&str, &str), (u32, i64)> = TableDefinition::new("actions");
/// Sends by (profile, channel, category, decided at µs, seq).
const SENDS: TableDefinition<(&str, &str, u8, i64, u64), ()> = TableDefinition::new("sends");
/// Every record by (profile, seq).
const RECORDS: TableDefinition<(&str, u64), RecordValue<'_>> = TableDefinition::new("records");
/// Every record by (decided at µs, seq) → profile.
const BY_TIME: TableDefinition<(i64, u64), &str> = TableDefinition::new("records_by_time");
/// The journey and step of the records of journey steps, by (profile, seq).
const RECORD_STEPS: TableDefinition<(&str, u64), (&str, u32)> =
    TableDefinition::new("record_steps");
/// Per (profile, journey): (entered at µs, enrolment, stages done, tried,
/// status, left at µs).
const JOURNEYS: TableDefinition<(&str, &str), JourneyValue> = TableDefinition::new("journeys");
/// Per profile: the latest instant of a decision that sent nothing (it held
/// out, skipped, or only changed journey states). The instant of a
/// profile's last decision is the later of this and of its last send (in
/// `actions`): written only for decisions that send nothing, so that a
/// send costs no extra write and a snapshot no extra range. Compaction
/// keeps the records decided at the last decision's instant.
const LAST_DECIDED: TableDefinition<&str, i64> = TableDefinition::new("last_decided");

type SendKey<'a> = (&'a str, &'a str, u8, i64, u64);
type ActionsTable = ReadOnlyTable<(&'static str, &'static str), (u32, i64)>;
type SendsTable = ReadOnlyTable<(&'static str, &'static str, u8, i64, u64), ()>;
/// (action, channel, category, outcome, at, send_at, key).
type RecordValue<'a> = (&'a str, &'a str, u8, u8, i64, i64, &'a str);
type RecordsTable = ReadOnlyTable<(&'static str, u64), RecordValue<'static>>;
type StepsTable = ReadOnlyTable<(&'static str, u64), (&'static str, u32)>;
/// (entered_at, enrolment, done, tried, status, left_at).
type JourneyValue = (i64, u32, u32, bool, u8, i64);
type JourneysTable = ReadOnlyTable<(&'static str, &'static str), JourneyValue>;

/// How many records compaction reads before deleting them.
const COMPACT_CHUNK: usize = 4096;

/// A contact history stored durably in one file.
///
/// Every [`record`](History::record) call is one ACID transaction, committed
/// with an fsync before it returns `Ok`: a batch is on disk entirely or not at
/// all, even if the process or machine crashes. When `record` fails, the
/// batch is not acknowledged and the store holds all of it or none of it (a
/// disk that fails while the commit is being synced leaves it unknowable
/// which); redb then refuses further writes on this handle until the store is
/// opened again. Only one process at a time may open a store; a second
/// [`open`](DurableHistory::open) is refused with [`HistoryError::InUse`].
///
/// Queries read a snapshot taken after the last commit. A query whose read
/// fails (an I/O error, a damaged page) is an error naming the store, so a
/// decision that needs it fails (SPEC §5 item 8). Being the store's only
/// writer, it sees a [`Commit::Conflict`] only for an update whose basis was
/// read before another commit of the same profiles.
///
/// ```
/// use nextbest::history::{DurableHistory, History, Outcome, Record};
/// use nextbest::rules::Category;
/// use nextbest::Timestamp;
/// let dir = std::env::temp_dir().join(format!("nextbest-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("history.redb");
/// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let mut history = DurableHistory::open(&path)?;
/// history.record(&vec![Record {
///     profile: "c-1".into(), action: "churn_email".into(), channel: "email".into(),
///     category: Category::Marketing, outcome: Outcome::Sent, at, send_at: at, key: "k".into(),
///     journey: None,
/// }].into())?;
/// drop(history);
/// let history = DurableHistory::open(&path)?;
/// assert_eq!(history.times_sent("c-1", "churn_email")?, 1);
/// assert_eq!(history.last_sent("c-1", "churn_email")?, Some(at));
/// # drop(history);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DurableHistory {
    path: PathBuf,
    db: Database,
    /// The tables as of the last commit; `None` when it could not be taken,
    /// then each query reads a fresh snapshot.
    view: Option<View>,
}

impl fmt::Debug for DurableHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableHistory")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A read snapshot of the query tables.
struct View {
    actions: ActionsTable,
    sends: SendsTable,
    records: RecordsTable,
    steps: StepsTable,
    journeys: JourneysTable,
    last_decided: ReadOnlyTable<&'static str, i64>,
}

impl View {
    fn open(db: &Database) -> Result<View, Fault> {
        let txn = db.begin_read()?;
        Ok(View {
            actions: txn.open_table(ACTIONS)?,
            sends: txn.open_table(SENDS)?,
            records: txn.open_table(RECORDS)?,
            steps: txn.open_table(RECORD_STEPS)?,
            journeys: txn.open_table(JOURNEYS)?,
            last_decided: txn.open_table(LAST_DECIDED)?,
        })
    }
}

impl DurableHistory {
    /// The format version this build writes and reads.
    pub const FORMAT_VERSION: u32 = 3;

    /// The file of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record of a profile still in the store, in recording order.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read.
    pub fn records(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        let read = |view: &View| -> Result<Vec<Record>, Fault> {
            let mut out = Vec::new();
            for entry in view.records.range((profile, 0)..=(profile, u64::MAX))? {
                let (seq, value) = entry?;
                out.push(decode_record(view, profile, seq.value().1, value.value())?);
            }
            Ok(out)
        };
        self.read(read)
    }

    /// How many records the store holds, of every profile.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read.
    pub fn len(&self) -> Result<u64, HistoryError> {
        self.read(|view| Ok(view.records.len()?))
    }

    /// Whether the store holds no record.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read.
    pub fn is_empty(&self) -> Result<bool, HistoryError> {
        Ok(self.len()? == 0)
    }

    /// Retention: deletes every record decided at or before `older_than`
    /// from the record log and the per-channel send index, in one
    /// transaction, and returns how many records it deleted. The records of
    /// each profile's last decision are kept whatever their age: a retry at
    /// its instant replays them.
    ///
    /// The per-action counters (`times_sent`, `last_sent`) are kept, so
    /// cooldowns and `max_sends` answer as before; `sends_after` answers as
    /// before for every `after` at or later than `older_than`. Choose
    /// `older_than` before `now` minus the longest rolling-cap window of the
    /// rules, and no decision changes.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be written; then nothing was
    /// deleted.
    pub fn compact(&mut self, older_than: Timestamp) -> Result<usize, HistoryError> {
        let txn = begin_write(&self.db).map_err(|e| io_error(&self.path, e))?;
        let removed = match compact_in(&txn, older_than.as_micros()) {
            Ok(removed) => removed,
            Err(e) => {
                let _ = txn.abort();
                return Err(io_error(&self.path, e));
            }
        };
        self.commit_txn(txn)?;
        Ok(removed)
    }

    /// Commits, then takes the snapshot later queries read.
    fn commit_txn(&mut self, txn: WriteTransaction) -> Result<(), HistoryError> {
        // The snapshot of before is stale either way.
        self.view = None;
        let committed = txn.commit().map_err(|e| io_error(&self.path, e));
        // After a failed commit, the snapshot shows what the store holds.
        self.view = View::open(&self.db).ok();
        committed
    }

    /// Reads the current snapshot (a fresh one when there is none); a failed
    /// read is an error naming the store.
    fn read<R>(&self, read: impl FnOnce(&View) -> Result<R, Fault>) -> Result<R, HistoryError> {
        self.on_view(read).map_err(|e| io_error(&self.path, e))
    }

    /// Runs `read` on the current snapshot, or on a fresh one when there
    /// is none.
    fn on_view<R>(&self, read: impl FnOnce(&View) -> Result<R, Fault>) -> Result<R, Fault> {
        match &self.view {
            Some(view) => read(view),
            None => View::open(&self.db).and_then(|view| read(&view)),
        }
    }
}

impl History for DurableHistory {
    /// Three range reads (the profile's counters, its journeys and its
    /// sends) and one lookup, and the last decision's records only when a
    /// decision at `now` replays it.
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        self.read(|view| {
            let mut snapshot = read_profile(view, profile, since)?;
            if snapshot.last_decided_at().is_some_and(|last| now <= last)
                && let Some(last) = read_last_decision(view, profile)?
            {
                snapshot.set_last_decision(last);
            }
            Ok(snapshot)
        })
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        if update.is_empty() {
            return Ok(Commit::Committed);
        }
        let txn = begin_write(&self.db).map_err(|e| io_error(&self.path, e))?;
        let conflicts = match conflicts(&txn, &update.basis) {
            Ok(conflicts) => conflicts,
            Err(e) => {
                let _ = txn.abort();
                return Err(io_error(&self.path, e));
            }
        };
        if !conflicts.is_empty() {
            let _ = txn.abort();
            return Ok(Commit::Conflict(conflicts));
        }
        let written = write_records(&txn, &update.records)
            .and_then(|()| write_journeys(&txn, update))
            .and_then(|()| write_last_decided(&txn, update));
        if let Err(e) = written {
            let _ = txn.abort();
            return Err(io_error(&self.path, e));
        }
        self.commit_txn(txn)?;
        Ok(Commit::Committed)
    }

    fn sends_of(
        &self,
        profile: &str,
        action: &str,
    ) -> Result<(u32, Option<Timestamp>), HistoryError> {
        self.read(|view| {
            Ok(view
                .actions
                .get((profile, action))?
                .map_or((0, None), |entry| {
                    let (count, last) = entry.value();
                    (count, Some(Timestamp::from_micros(last)))
                }))
        })
    }

    fn sends_after(
        &self,
        profile: &str,
        channel: Option<&str>,
        category: Category,
        after: Timestamp,
    ) -> Result<u32, HistoryError> {
        let channels = channel.as_ref().map(std::slice::from_ref);
        let categories = Category::selected(Some(category));
        self.read(|view| count_sends(view, profile, channels, categories, after))
    }

    fn journey(&self, profile: &str, journey: &str) -> Result<Option<JourneyState>, HistoryError> {
        self.read(|view| {
            view.journeys
                .get((profile, journey))?
                .map(|entry| journey_state(entry.value()))
                .transpose()
        })
    }

    fn last_decision(&self, profile: &str) -> Result<Option<LastDecision>, HistoryError> {
        self.read(|view| read_last_decision(view, profile))
    }

    fn last_decided_at(&self, profile: &str) -> Result<Option<Timestamp>, HistoryError> {
        self.read(|view| read_last_decided_at(view, profile))
    }
}

/// The profiles of `basis` whose last decision in the store, as `txn`
/// sees it, is not the one the basis names.
fn conflicts(txn: &WriteTransaction, basis: &[Basis]) -> Result<Vec<CompactString>, Fault> {
    if basis.is_empty() {
        return Ok(Vec::new());
    }
    let actions = txn.open_table(ACTIONS)?;
    let noted = txn.open_table(LAST_DECIDED)?;
    let mut conflicts = Vec::new();
    for seen in basis {
        let last_send = last_send_at(&actions, &seen.profile)?;
        if last_decided_at(&noted, &seen.profile, last_send)? != seen.last_decided_at {
            conflicts.push(seen.profile.clone());
        }
    }
    Ok(conflicts)
}

/// How many sends of `profile` in `categories` were decided after `after`
/// on `channels`, or on any channel when `None` (a skip scan: one seek per
/// channel the profile has sends on, then the windows of that channel).
fn count_sends(
    view: &View,
    profile: &str,
    channels: Option<&[impl AsRef<str>]>,
    categories: &[Category],
    after: Timestamp,
) -> Result<u32, Fault> {
    let Some(first) = after.as_micros().checked_add(1) else {
        return Ok(0);
    };
    let in_channel = |channel: &str| -> Result<u32, Fault> {
        let mut total: u32 = 0;
        for category in categories {
            let code = category_code(*category);
            let count = count_window(&view.sends, profile, channel, code, first)?;
            total = total.saturating_add(count);
        }
        Ok(total)
    };
    let mut total: u32 = 0;
    match channels {
        Some(channels) => {
            for channel in channels {
                total = total.saturating_add(in_channel(channel.as_ref())?);
            }
        }
        None => {
            let start = Bound::Included((profile, "", 0, i64::MIN, 0));
            let mut next = seek_channel(&view.sends, profile, start)?;
            while let Some(channel) = next {
                total = total.saturating_add(in_channel(&channel)?);
                let past =
                    Bound::Excluded((profile, channel.as_str(), u8::MAX, i64::MAX, u64::MAX));
                next = seek_channel(&view.sends, profile, past)?;
            }
        }
    }
    Ok(total)
}

/// How many sends of `profile` on `channel` in `category` were decided at or
/// after `first`: a range scan over exactly those.
fn count_window(
    sends: &SendsTable,
    profile: &str,
    channel: &str,
    category: u8,
    first: i64,
) -> Result<u32, Fault> {
    let window: RangeInclusive<SendKey<'_>> =
        (profile, channel, category, first, 0)..=(profile, channel, category, i64::MAX, u64::MAX);
    let mut count: u32 = 0;
    for entry in sends.range(window)? {
        entry?;
        count = count.saturating_add(1);
    }
    Ok(count)
}

/// The channel of the first send of `profile` from `from` on.
fn seek_channel(
    sends: &SendsTable,
    profile: &str,
    from: Bound<SendKey<'_>>,
) -> Result<Option<String>, Fault> {
    let Some(entry) = sends.range((from, Bound::Unbounded))?.next() else {
        return Ok(None);
    };
    let (key, _) = entry?;
    let (p, channel, ..) = key.value();
    Ok((p == profile).then(|| channel.to_owned()))
}

/// The record of `profile` at `seq`, whose stored value is `value`.
fn decode_record(
    view: &View,
    profile: &str,
    seq: u64,
    value: RecordValue<'_>,
) -> Result<Record, Fault> {
    let (action, channel, category, outcome, at, send_at, key) = value;
    let journey = view.steps.get((profile, seq))?.map(|step| {
        let (journey, step) = step.value();
        (journey.into(), step)
    });
    Ok(Record {
        profile: profile.into(),
        action: action.into(),
        channel: channel.into(),
        category: category_from_code(category)?,
        outcome: outcome_from_code(outcome)?,
        at: Timestamp::from_micros(at),
        send_at: Timestamp::from_micros(send_at),
        key: key.into(),
        journey,
    })
}

/// The latest decision recorded for `profile`: its records read newest
/// first, only as far back as that decision's instant.
fn read_last_decision(view: &View, profile: &str) -> Result<Option<LastDecision>, Fault> {
    let Some(at) = read_last_decided_at(view, profile)? else {
        return Ok(None);
    };
    let mut newest_first: Vec<Record> = Vec::new();
    for entry in view
        .records
        .range((profile, 0)..=(profile, u64::MAX))?
        .rev()
    {
        let (seq, value) = entry?;
        if value.value().4 != at.as_micros() {
            break;
        }
        newest_first.push(decode_record(view, profile, seq.value().1, value.value())?);
    }
    Ok(Some(LastDecision::at(at, newest_first)))
}

/// The instant of the last decision recorded for `profile`.
fn read_last_decided_at(view: &View, profile: &str) -> Result<Option<Timestamp>, Fault> {
    let last_send = last_send_at(&view.actions, profile)?;
    last_decided_at(&view.last_decided, profile, last_send)
}

/// The later of `last_send` and the instant noted for `profile`.
fn last_decided_at(
    noted: &impl ReadableTable<&'static str, i64>,
    profile: &str,
    last_send: Option<i64>,
) -> Result<Option<Timestamp>, Fault> {
    let noted = noted.get(profile)?.map(|at| at.value());
    Ok(noted.max(last_send).map(Timestamp::from_micros))
}

/// When the last send to `profile` was decided.
fn last_send_at(
    actions: &impl ReadableTable<(&'static str, &'static str), (u32, i64)>,
    profile: &str,
) -> Result<Option<i64>, Fault> {
    let mut latest = None;
    for entry in actions.range((Bound::Included((profile, "")), Bound::Unbounded))? {
        let (key, value) = entry?;
        if key.value().0 != profile {
            break;
        }
        latest = latest.max(Some(value.value().1));
    }
    Ok(latest)
}

/// Notes, inside `txn`, the instant of each decision of the update that
/// sent nothing (its records, if any, are held out or skipped), where it is
/// later than what was noted before.
fn write_last_decided(txn: &WriteTransaction, update: &Update) -> Result<(), Fault> {
    let unsent = (update.records.iter())
        .filter(|record| record.outcome != Outcome::Sent)
        .map(|record| (record.profile.as_str(), record.at));
    let decided = (update.decided.iter()).map(|(profile, at)| (profile.as_str(), *at));
    let mut notes = unsent.chain(decided).peekable();
    if notes.peek().is_none() {
        return Ok(());
    }
    let mut last_decided = txn.open_table(LAST_DECIDED)?;
    for (profile, at) in notes {
        let noted = last_decided.get(profile)?.map(|at| at.value());
        let at = at.as_micros();
        if noted.is_none_or(|noted| noted < at) {
            last_decided.insert(profile, at)?;
        }
    }
    Ok(())
}

/// What [`History::snapshot`] holds but the last decision's records, read
/// from one snapshot.
fn read_profile(view: &View, profile: &str, since: Timestamp) -> Result<ProfileSnapshot, Fault> {
    let mut snapshot = ProfileSnapshot::new(profile, since);
    let mut last_send = None;
    for entry in view
        .actions
        .range((Bound::Included((profile, "")), Bound::Unbounded))?
    {
        let (key, value) = entry?;
        let (p, action) = key.value();
        if p != profile {
            break;
        }
        let (count, last) = value.value();
        last_send = last_send.max(Some(last));
        snapshot.set_sends_of(action, count, Timestamp::from_micros(last));
    }
    for entry in view
        .journeys
        .range((Bound::Included((profile, "")), Bound::Unbounded))?
    {
        let (key, value) = entry?;
        let (p, journey) = key.value();
        if p != profile {
            break;
        }
        snapshot.set_journey(journey, journey_state(value.value())?);
    }
    // One scan over all of the profile's sends: a range per channel and
    // category costs more in B-tree descents than the few sends outside the
    // window (compaction keeps them few) cost to skip.
    let first = (profile, "", 0, i64::MIN, 0);
    for entry in view
        .sends
        .range((Bound::Included(first), Bound::Unbounded))?
    {
        let (key, _) = entry?;
        let (p, channel, category, at, _) = key.value();
        if p != profile {
            break;
        }
        let at = Timestamp::from_micros(at);
        if at > since {
            snapshot.add_send(at, channel, category_from_code(category)?);
        }
    }
    if let Some(at) = last_decided_at(&view.last_decided, profile, last_send)? {
        snapshot.set_last_decided_at(at);
    }
    Ok(snapshot)
}

/// Appends `records` inside `txn`.
fn write_records(txn: &WriteTransaction, records: &[Record]) -> Result<(), Fault> {
    let mut counters = txn.open_table(COUNTERS)?;
    let mut actions = txn.open_table(ACTIONS)?;
    let mut sends = txn.open_table(SENDS)?;
    let mut log = txn.open_table(RECORDS)?;
    let mut by_time = txn.open_table(BY_TIME)?;
    let mut steps = txn.open_table(RECORD_STEPS)?;
    let mut seq = counters.get("next_seq")?.map_or(0, |v| v.value());
    for record in records {
        let at = record.at.as_micros();
        let category = category_code(record.category);
        if record.outcome == Outcome::Sent {
            let key = (record.profile.as_str(), record.action.as_str());
            let (count, last) = actions.get(key)?.map_or((0, at), |entry| entry.value());
            actions.insert(key, (count.saturating_add(1), last.max(at)))?;
            sends.insert(
                (
                    record.profile.as_str(),
                    record.channel.as_str(),
                    category,
                    at,
                    seq,
                ),
                (),
            )?;
        }
        log.insert(
            (record.profile.as_str(), seq),
            (
                record.action.as_str(),
                record.channel.as_str(),
                category,
                outcome_code(record.outcome),
                at,
                record.send_at.as_micros(),
                record.key.as_str(),
            ),
        )?;
        by_time.insert((at, seq), record.profile.as_str())?;
        if let Some((journey, step)) = &record.journey {
            steps.insert((record.profile.as_str(), seq), (journey.as_str(), *step))?;
        }
        seq = seq
            .checked_add(1)
            .ok_or_else(|| StorageError::Corrupted("record sequence exhausted".into()))?;
    }
    counters.insert("next_seq", seq)?;
    Ok(())
}

/// Stores the update's journey states inside `txn`.
fn write_journeys(txn: &WriteTransaction, update: &Update) -> Result<(), Fault> {
    let mut journeys = txn.open_table(JOURNEYS)?;
    for change in &update.journeys {
        let state = change.state;
        let (status, left_at) = match state.status {
            JourneyStatus::Active => (0, 0),
            JourneyStatus::Exited(at) => (1, at.as_micros()),
            JourneyStatus::Completed(at) => (2, at.as_micros()),
        };
        let value = (
            state.entered_at.as_micros(),
            state.enrolment,
            state.done,
            state.tried,
            status,
            left_at,
        );
        journeys.insert((change.profile.as_str(), change.journey.as_str()), value)?;
    }
    Ok(())
}

fn journey_state(
    (entered_at, enrolment, done, tried, status, left_at): JourneyValue,
) -> Result<JourneyState, Fault> {
    let left_at = Timestamp::from_micros(left_at);
    let status = match status {
        0 => JourneyStatus::Active,
        1 => JourneyStatus::Exited(left_at),
        2 => JourneyStatus::Completed(left_at),
        _ => {
            return Err(
                StorageError::Corrupted(format!("unknown journey status code {status}")).into(),
            );
        }
    };
    Ok(JourneyState {
        entered_at: Timestamp::from_micros(entered_at),
        enrolment,
        done,
        tried,
        status,
    })
}

/// Deletes the records decided at or before `cut` inside `txn`, but those
/// of each profile's last decision: a decision at its instant or earlier
/// must still replay it. Journey states are kept: they are current, not
/// history.
fn compact_in(txn: &WriteTransaction, cut: i64) -> Result<usize, Fault> {
    let mut by_time = txn.open_table(BY_TIME)?;
    let mut log = txn.open_table(RECORDS)?;
    let mut sends = txn.open_table(SENDS)?;
    let mut steps = txn.open_table(RECORD_STEPS)?;
    let last_decided = txn.open_table(LAST_DECIDED)?;
    let actions = txn.open_table(ACTIONS)?;
    let mut removed = 0usize;
    // Per profile of the chunk, the instant of its last decision: the
    // records decided at it are kept, so it stays what it was.
    let mut last_of: HashMap<String, Option<i64>> = HashMap::new();
    // The records kept are passed over: each chunk starts after the last.
    let mut from = Bound::Unbounded;
    loop {
        let mut chunk: Vec<(i64, u64, String)> = Vec::new();
        for entry in by_time
            .range((from, Bound::Included((cut, u64::MAX))))?
            .take(COMPACT_CHUNK)
        {
            let (key, profile) = entry?;
            let (at, seq) = key.value();
            chunk.push((at, seq, profile.value().to_owned()));
        }
        let Some((at, seq, _)) = chunk.last() else {
            return Ok(removed);
        };
        from = Bound::Excluded((*at, *seq));
        last_of.clear();
        for (at, seq, profile) in &chunk {
            let last = match last_of.get(profile) {
                Some(last) => *last,
                None => {
                    let last_send = last_send_at(&actions, profile)?;
                    let last = last_decided_at(&last_decided, profile, last_send)?
                        .map(Timestamp::as_micros);
                    last_of.insert(profile.clone(), last);
                    last
                }
            };
            if last == Some(*at) {
                continue;
            }
            by_time.remove((*at, *seq))?;
            steps.remove((profile.as_str(), *seq))?;
            if let Some(entry) = log.remove((profile.as_str(), *seq))? {
                let (_, channel, category, outcome, ..) = entry.value();
                if outcome == outcome_code(Outcome::Sent) {
                    sends.remove((profile.as_str(), channel, category, *at, *seq))?;
                }
            }
            removed = removed.saturating_add(1);
        }
    }
}

const fn category_code(category: Category) -> u8 {
    match category {
        Category::Marketing => 0,
        Category::Transactional => 1,
    }
}

fn category_from_code(code: u8) -> Result<Category, StorageError> {
    match code {
        0 => Ok(Category::Marketing),
        1 => Ok(Category::Transactional),
        _ => Err(StorageError::Corrupted(format!(
            "unknown category code {code}"
        ))),
    }
}

const fn outcome_code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Sent => 0,
        Outcome::HeldOut => 1,
        Outcome::Skipped => 2,
    }
}

fn outcome_from_code(code: u8) -> Result<Outcome, StorageError> {
    match code {
        0 => Ok(Outcome::Sent),
        1 => Ok(Outcome::HeldOut),
        2 => Ok(Outcome::Skipped),
        _ => Err(StorageError::Corrupted(format!(
            "unknown outcome code {code}"
        ))),
    }
}

/// A write transaction of the store. Committed in two phases (two syncs):
/// with one, redb recovers from a commit cut short by a crash by checking
/// its pages' checksums, and so takes a committed page damaged later for
/// such a commit and silently rolls the store back to the commit before,
/// losing acknowledged records. With two, a page whose checksum fails is
/// damage, which opening the store reports.
fn begin_write(db: &Database) -> Result<WriteTransaction, Fault> {
    let mut txn = db.begin_write()?;
    txn.set_two_phase_commit(true);
    Ok(txn)
}

/// A failure inside redb, boxed: `redb::Error` is large.
struct Fault(Box<redb::Error>);

macro_rules! fault_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Fault {
            fn from(error: $t) -> Fault {
                Fault(Box::new(error.into()))
            }
        }
    )*};
}

fault_from!(
    redb::Error,
    StorageError,
    TableError,
    redb::TransactionError,
    redb::CommitError,
    DatabaseError
);

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn io_error(path: &Path, error: impl Into<Fault>) -> HistoryError {
    HistoryError::Io {
        path: path.to_path_buf(),
        detail: error.into().to_string(),
    }
}
