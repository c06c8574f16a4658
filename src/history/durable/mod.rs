//! A durable [`History`] in one file: an embedded, transactional
//! [redb](https://docs.rs/redb) database.
//!
//! # File format, version 4
//!
//! | table      | key       | value                                                              |
//! |------------|-----------|--------------------------------------------------------------------|
//! | `meta`     | `&str`    | `&str`: `format = "nextbest-history"`, `version = "4"`             |
//! | `counters` | `&str`    | `u64`: `records`, how many records the store holds                 |
//! | `names`    | `u32`     | `&str`: the dictionary of action, channel and journey names, numbered 0, 1, 2… |
//! | `profiles` | `&[u8]`: the profile id in UTF-8 | `&[u8]`: the profile's whole history, compactly encoded |
//!
//! A profile's value holds the instant of its last decision, its journey
//! states, its records in recording order (names as dictionary numbers, the
//! engine's 16-hex-digit keys left out when they are the ones the engine
//! derives for the record in its place, else as 8 bytes, any other key as
//! its text, instants as deltas, whole seconds in fewer bytes) and, per action, the
//! sends compaction removed, so that `times_sent` and `last_sent` answer as
//! before compaction: the layout is in `codec.rs`. A snapshot is one B-tree
//! lookup and one decoding; a commit extends, encodes and writes each
//! profile it records once (starting from what the snapshots of its
//! decisions decoded, else reading it), in one transaction with the names
//! it adds and the count of records. The dictionary is small (the names of
//! the rules' actions, channels and journeys) and read whole into memory.
//! There is no index by time: compaction reads every profile's value (one
//! pass over the table) and rewrites those it removes records from.
//!
//! The instant of a profile's last decision, which replays are checked
//! against, is the latest instant of its records and of its decisions that
//! only changed journey states; compaction keeps the records decided at it.
//!
//! Bytes that do not decode (a profile's value, or a name missing from the
//! dictionary) are [`HistoryError::Damaged`], naming the profile; nothing is
//! decided from them or written over them.
//!
//! # Older formats
//!
//! Version 3 kept a B-tree entry per record in several tables (`actions`,
//! `sends`, `records`, `records_by_time`, `record_steps`, `journeys`,
//! `last_decided`, with names and keys as text); version 2 had no
//! `last_decided`, version 1 no journeys either. Opening an older store
//! rewrites it as version 4 in one commit: a crash during the upgrade leaves
//! the old store as it was. redb then compacts the file, giving back the
//! old tables' space (a crash during that loses nothing: each of its steps
//! is a commit of the same contents). For a store before version 3 the instant of a
//! profile's last decision is worked out from the records that are not sends
//! and the journey states' entry and exit instants; a version 2 decision
//! that only marked a journey stage for a retry left no trace of its
//! instant, so a batch decided by an older nextbest should not be re-run at
//! the same instant after upgrading.
//!
//! The `meta` table keeps its name and types in every future version, so that
//! any version can tell which version wrote a file.

mod codec;
mod compact;
mod contain;
mod names;
mod open;
mod upgrade;
mod verify;

pub use verify::Contents;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::Id;
use redb::{
    Database, DatabaseError, ReadOnlyTable, ReadableTable, StorageError, TableDefinition,
    TableError, WriteTransaction,
};

use super::{
    Commit, History, HistoryError, JourneyState, LastDecision, Outcome, ProfileSnapshot, Record,
    Update,
};
use crate::hash::Fnv1a64;
use crate::rules::Category;
use crate::value::Timestamp;
use codec::{Entry, Key, Name, ProfileLog};
use names::{Dictionary, Interner, NAMES, Names, engine_key};

/// The value of `format` in the `meta` table.
const FORMAT: &str = "nextbest-history";

/// Format version metadata.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Totals (`records`).
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// The key in `counters` of how many records the store holds.
const RECORDS_HELD: &str = "records";
/// Per profile (its id in UTF-8), its whole history (see `codec.rs`).
/// Keyed by bytes, not `&str`: redb compares `&str` keys by checking both
/// as UTF-8 first, at every step of every lookup.
const PROFILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("profiles");

type ProfilesTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

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
/// let sent = Record::new("c-1", "churn_email", "email", Category::Marketing, Outcome::Sent, at, "k");
/// history.record(&vec![sent].into())?;
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
    /// The histories snapshots read since the last commit, decoded: the
    /// next commit, which records the decisions made from them (through
    /// [`Batched`](super::Batched), a thousand at a time), starts from them
    /// instead of reading and decoding each again. Valid until a commit:
    /// this handle is the store's only writer.
    read: Mutex<ReadCache>,
}

/// Decoded histories by profile.
type ReadCache = HashMap<Id, ProfileLog, BuildHasherDefault<Fnv1a64>>;

/// How many histories [`DurableHistory::read`] keeps at most: more than a
/// batch's, and a bound for a handle that reads without committing.
const READ_CACHE: usize = 16_384;

impl fmt::Debug for DurableHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableHistory")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A read snapshot of the store.
struct View {
    profiles: ProfilesTable,
    counters: ReadOnlyTable<&'static str, u64>,
    names: Arc<Names>,
}

impl View {
    /// A snapshot of the last commit; `known` are names read before, kept
    /// if the dictionary did not grow since.
    fn open(db: &Database, known: Option<&Arc<Names>>) -> Result<View, Fault> {
        let txn = db.begin_read()?;
        let names = Names::load(&txn.open_table(NAMES)?, known)?;
        Ok(View {
            profiles: txn.open_table(PROFILES)?,
            counters: txn.open_table(COUNTERS)?,
            names,
        })
    }

    /// The stored history of `profile`, if it has one.
    fn log(&self, profile: &str) -> Result<Option<ProfileLog>, Fault> {
        match self.profiles.get(profile.as_bytes())? {
            Some(value) => decode(profile, value.value(), &*self.names).map(Some),
            None => Ok(None),
        }
    }

    /// The name numbered `number` in the history of `profile`.
    fn text(&self, profile: &str, number: Name) -> Result<&str, Fault> {
        text(&self.names, profile, number)
    }

    /// `entry` of `profile` as a record.
    fn record(&self, profile: &str, entry: &Entry) -> Result<Record, Fault> {
        let journey = match entry.journey {
            Some((journey, step)) => Some((self.text(profile, journey)?.into(), step)),
            None => None,
        };
        Ok(Record {
            profile: profile.into(),
            action: self.text(profile, entry.action)?.into(),
            channel: self.text(profile, entry.channel)?.into(),
            category: entry.category,
            outcome: entry.outcome,
            at: Timestamp::from_micros(entry.at),
            send_at: Timestamp::from_micros(entry.send_at),
            key: entry.key.text(),
            journey,
        })
    }

    /// The last decision of `profile`, decided at `at`: the records at that
    /// instant that end its records.
    fn last_decision(
        &self,
        profile: &str,
        log: &ProfileLog,
        at: i64,
    ) -> Result<LastDecision, Fault> {
        let mut newest_first = Vec::new();
        for entry in log.records.iter().rev().take_while(|entry| entry.at == at) {
            if entry.outcome == Outcome::Sent {
                newest_first.push(self.record(profile, entry)?);
            }
        }
        Ok(LastDecision::at(Timestamp::from_micros(at), newest_first))
    }
}

/// The name numbered `number` in the history of `profile`.
fn text<'n>(names: &'n Names, profile: &str, number: Name) -> Result<&'n str, Fault> {
    names.text(number).ok_or_else(|| {
        Fault::damaged(format!(
            "the history of profile `{profile}` names number {number}, which its dictionary lacks"
        ))
    })
}

/// The bytes of the history of `profile`, whose names are in `names`.
fn encode(profile: &str, log: &ProfileLog, names: &dyn Dictionary, out: &mut Vec<u8>) {
    let derive = |action, how| engine_key(names, profile, action, how);
    log.encode(out, &derive);
}

/// The id of a profile, stored as `key`.
fn profile_id(key: &[u8]) -> Result<&str, Fault> {
    std::str::from_utf8(key).map_err(|_| {
        let shown = String::from_utf8_lossy(key);
        Fault::damaged(format!("a profile id is not UTF-8: `{shown}`"))
    })
}

/// The stored history of `profile`, decoded with the names of `names`.
fn decode(profile: &str, bytes: &[u8], names: &dyn Dictionary) -> Result<ProfileLog, Fault> {
    let derive = |action, how| engine_key(names, profile, action, how);
    ProfileLog::decode(bytes, &derive).map_err(|e| {
        Fault::damaged(format!(
            "the history of profile `{profile}` does not decode: {e}"
        ))
    })
}

impl DurableHistory {
    /// The format version this build writes and reads.
    pub const FORMAT_VERSION: u32 = 4;

    /// The file of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record of a profile still in the store, in recording order.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read;
    /// [`HistoryError::Damaged`] if the profile's history does not decode.
    pub fn records(&self, profile: &str) -> Result<Vec<Record>, HistoryError> {
        self.read(|view| {
            let Some(log) = view.log(profile)? else {
                return Ok(Vec::new());
            };
            (log.records.iter())
                .map(|entry| view.record(profile, entry))
                .collect()
        })
    }

    /// How many records the store holds, of every profile.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read.
    pub fn len(&self) -> Result<u64, HistoryError> {
        self.read(|view| Ok(view.counters.get(RECORDS_HELD)?.map_or(0, |n| n.value())))
    }

    /// Whether the store holds no record.
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be read.
    pub fn is_empty(&self) -> Result<bool, HistoryError> {
        Ok(self.len()? == 0)
    }

    /// Keeps the history of `profile` a snapshot read (`None`: it has none)
    /// for the next commit.
    fn remember(&self, profile: &str, log: Option<&ProfileLog>) {
        if let Ok(mut read) = self.read.lock()
            && read.len() < READ_CACHE
        {
            read.insert(profile.into(), log.cloned().unwrap_or_default());
        }
    }

    /// Commits, then takes the snapshot later queries read.
    fn commit_txn(&mut self, txn: WriteTransaction) -> Result<(), HistoryError> {
        // The snapshot of before is stale either way; its names still hold.
        let known = self.view.take().map(|view| view.names);
        if let Ok(mut read) = self.read.lock() {
            read.clear();
        }
        let committed = txn.commit().map_err(|e| failure(&self.path, e));
        // After a failed commit, the snapshot shows what the store holds.
        self.view = View::open(&self.db, known.as_ref()).ok();
        committed
    }

    /// Reads the current snapshot (a fresh one when there is none); a failed
    /// read is an error naming the store.
    fn read<R>(&self, read: impl FnOnce(&View) -> Result<R, Fault>) -> Result<R, HistoryError> {
        self.on_view(read).map_err(|e| failure(&self.path, e))
    }

    /// Runs `read` on the current snapshot, or on a fresh one when there
    /// is none.
    fn on_view<R>(&self, read: impl FnOnce(&View) -> Result<R, Fault>) -> Result<R, Fault> {
        match &self.view {
            Some(view) => read(view),
            None => View::open(&self.db, None).and_then(|view| read(&view)),
        }
    }

    /// Runs `write` in a write transaction, committed if it answers
    /// `Ok(None)`, aborted otherwise.
    fn write<C>(
        &mut self,
        write: impl FnOnce(&WriteTransaction, &Names) -> Result<Option<C>, Fault>,
    ) -> Result<Option<C>, HistoryError> {
        let txn = begin_write(&self.db).map_err(|e| failure(&self.path, e))?;
        let known = self.view.as_ref().map(|view| &view.names);
        let written = (txn.open_table(NAMES).map_err(Fault::from))
            .and_then(|table| Names::load(&table, known))
            .and_then(|names| write(&txn, &names));
        match written {
            Ok(None) => self.commit_txn(txn).map(|()| None),
            Ok(Some(refused)) => {
                let _ = txn.abort();
                Ok(Some(refused))
            }
            Err(e) => {
                let _ = txn.abort();
                Err(failure(&self.path, e))
            }
        }
    }
}

impl History for DurableHistory {
    /// One lookup and one decoding.
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        self.read(|view| {
            let mut snapshot = ProfileSnapshot::new(profile, since);
            let log = view.log(profile)?;
            self.remember(profile, log.as_ref());
            let Some(log) = log else {
                return Ok(snapshot);
            };
            for (action, count, last) in log.counters() {
                let action = view.text(profile, action)?;
                snapshot.set_sends_of(action, count, Timestamp::from_micros(last));
            }
            let since = since.as_micros();
            for entry in log.sent().filter(|entry| entry.at > since) {
                let channel = view.text(profile, entry.channel)?;
                snapshot.add_send(Timestamp::from_micros(entry.at), channel, entry.category);
            }
            for (journey, state) in &log.journeys {
                snapshot.set_journey(view.text(profile, *journey)?, *state);
            }
            if let Some(last) = log.last_at {
                snapshot.set_last_decided_at(Timestamp::from_micros(last));
                if now.as_micros() <= last {
                    snapshot.set_last_decision(view.last_decision(profile, &log, last)?);
                }
            }
            Ok(snapshot)
        })
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        if update.is_empty() {
            return Ok(Commit::Committed);
        }
        let mut read = (self.read.lock())
            .map(|mut read| std::mem::take(&mut *read))
            .unwrap_or_default();
        let refused = self.write(|txn, names| write_update(txn, names, update, &mut read))?;
        Ok(refused.map_or(Commit::Committed, Commit::Conflict))
    }

    fn sends_of(
        &self,
        profile: &str,
        action: &str,
    ) -> Result<(u32, Option<Timestamp>), HistoryError> {
        self.read(|view| {
            let counters = match (view.names.number(action), view.log(profile)?) {
                (Some(action), Some(log)) => log.sends_of(action),
                _ => None,
            };
            Ok(counters.map_or((0, None), |(count, last)| {
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
        self.read(|view| {
            let Some(log) = view.log(profile)? else {
                return Ok(0);
            };
            let channel = match channel.map(|text| view.names.number(text)) {
                Some(None) => return Ok(0),
                Some(Some(number)) => Some(number),
                None => None,
            };
            let after = after.as_micros();
            let count = (log.sent())
                .filter(|entry| entry.at > after && entry.category == category)
                .filter(|entry| channel.is_none_or(|wanted| entry.channel == wanted))
                .count();
            Ok(u32::try_from(count).unwrap_or(u32::MAX))
        })
    }

    fn journey(&self, profile: &str, journey: &str) -> Result<Option<JourneyState>, HistoryError> {
        self.read(|view| {
            let (Some(journey), Some(log)) = (view.names.number(journey), view.log(profile)?)
            else {
                return Ok(None);
            };
            Ok((log.journeys.iter())
                .find(|(j, _)| *j == journey)
                .map(|(_, state)| *state))
        })
    }

    fn last_decision(&self, profile: &str) -> Result<Option<LastDecision>, HistoryError> {
        self.read(|view| match view.log(profile)? {
            Some(log) => match log.last_at {
                Some(at) => view.last_decision(profile, &log, at).map(Some),
                None => Ok(None),
            },
            None => Ok(None),
        })
    }

    fn last_decided_at(&self, profile: &str) -> Result<Option<Timestamp>, HistoryError> {
        self.read(|view| {
            Ok(view
                .log(profile)?
                .and_then(|log| log.last_at)
                .map(Timestamp::from_micros))
        })
    }
}

/// The profiles an update rewrites, with their histories as they stand in
/// the transaction, and whether it changed them.
type Touched<'u> = BTreeMap<&'u str, (ProfileLog, bool)>;

/// Where an update finds the histories it rewrites: those snapshots read
/// since the last commit, else the table (whose names are `known`).
struct Source<'s, T> {
    profiles: &'s T,
    known: &'s Names,
    read: &'s mut ReadCache,
}

/// The history of `profile` in `touched`, from `source` first.
fn touch<'t, 'u>(
    source: &mut Source<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    touched: &'t mut Touched<'u>,
    profile: &'u str,
) -> Result<&'t mut (ProfileLog, bool), Fault> {
    if !touched.contains_key(profile) {
        let log = match source.read.remove(profile) {
            Some(log) => log,
            None => match source.profiles.get(profile.as_bytes())? {
                Some(value) => decode(profile, value.value(), source.known)?,
                None => ProfileLog::default(),
            },
        };
        touched.insert(profile, (log, false));
    }
    touched
        .get_mut(profile)
        .ok_or_else(|| Fault::damaged(format!("lost the history of profile `{profile}`")))
}

/// Writes `update` inside `txn` if every profile of its basis still has
/// the last decision the basis names; otherwise writes nothing and answers
/// those that do not.
fn write_update(
    txn: &WriteTransaction,
    known: &Names,
    update: &Update,
    read: &mut ReadCache,
) -> Result<Option<Vec<Id>>, Fault> {
    let mut profiles = txn.open_table(PROFILES)?;
    let mut touched = Touched::new();
    let mut source = Source {
        profiles: &profiles,
        known,
        read,
    };
    let mut conflicts = Vec::new();
    for seen in &update.basis {
        let (log, _) = touch(&mut source, &mut touched, &seen.profile)?;
        if log.last_at.map(Timestamp::from_micros) != seen.last_decided_at {
            conflicts.push(seen.profile.clone());
        }
    }
    if !conflicts.is_empty() {
        return Ok(Some(conflicts));
    }
    let mut names = Interner::new(known);
    for record in &update.records {
        let journey = match &record.journey {
            Some((journey, step)) => Some((names.intern(journey)?, *step)),
            None => None,
        };
        let entry = Entry {
            action: names.intern(&record.action)?,
            channel: names.intern(&record.channel)?,
            category: record.category,
            outcome: record.outcome,
            at: record.at.as_micros(),
            send_at: record.send_at.as_micros(),
            key: Key::new(&record.key),
            journey,
        };
        let (log, changed) = touch(&mut source, &mut touched, &record.profile)?;
        log.decided(entry.at);
        log.records.push(entry);
        *changed = true;
    }
    for change in &update.journeys {
        let journey = names.intern(&change.journey)?;
        let (log, changed) = touch(&mut source, &mut touched, &change.profile)?;
        log.set_journey(journey, change.state);
        *changed = true;
    }
    for (profile, at) in &update.decided {
        let (log, changed) = touch(&mut source, &mut touched, profile)?;
        log.decided(at.as_micros());
        *changed = true;
    }
    // In key order: each leaf of the B-tree is copied once per commit.
    let mut bytes = Vec::new();
    for (profile, (log, changed)) in &touched {
        if *changed {
            encode(profile, log, &names, &mut bytes);
            profiles.insert(profile.as_bytes(), bytes.as_slice())?;
        }
    }
    add_records(txn, update.records.len() as i64)?;
    names.write(&mut txn.open_table(NAMES)?)?;
    Ok(None)
}

/// Adds `delta` to the count of records the store holds, inside `txn`.
fn add_records(txn: &WriteTransaction, delta: i64) -> Result<(), Fault> {
    let mut counters = txn.open_table(COUNTERS)?;
    let held = counters.get(RECORDS_HELD)?.map_or(0, |n| n.value());
    let held = held.checked_add_signed(delta).ok_or_else(|| {
        Fault::damaged(format!("its count of records ({held}) is off by {delta}"))
    })?;
    counters.insert(RECORDS_HELD, held)?;
    Ok(())
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

/// A failure of the store: inside redb (boxed: `redb::Error` is large), or
/// bytes that no nextbest writes.
#[derive(Debug)]
enum Fault {
    Redb(Box<redb::Error>),
    Damaged(String),
}

impl Fault {
    fn damaged(detail: String) -> Fault {
        Fault::Damaged(detail)
    }
}

macro_rules! fault_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Fault {
            fn from(error: $t) -> Fault {
                Fault::Redb(Box::new(error.into()))
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
        match self {
            Fault::Redb(error) => error.fmt(f),
            Fault::Damaged(detail) => f.write_str(detail),
        }
    }
}

/// The error naming the store at `path`: damage for bytes no nextbest
/// writes, else a failure to read or write.
fn failure(path: &Path, error: impl Into<Fault>) -> HistoryError {
    match error.into() {
        Fault::Damaged(detail) => HistoryError::Damaged {
            path: path.to_path_buf(),
            detail,
        },
        Fault::Redb(error) => HistoryError::Io {
            path: path.to_path_buf(),
            detail: error.to_string(),
            source: io_cause(*error),
        },
    }
}

/// The operating system's error inside a redb error, if one caused it.
fn io_cause(error: redb::Error) -> Option<std::io::Error> {
    match error {
        redb::Error::Io(e) => Some(e),
        _ => None,
    }
}
