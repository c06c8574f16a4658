//! Retention: removing old records from every profile's history, keeping
//! its counters and its last decision.

use std::ops::Bound;

use redb::{ReadableTable, WriteTransaction};

use super::names::{NAMES, Names};
use super::{DurableHistory, Fault, PROFILES, add_records, decode, encode, failure, profile_id};
use crate::history::HistoryError;
use crate::value::Timestamp;

/// How many profiles compaction reads before writing back those it changed.
const COMPACT_CHUNK: usize = 4096;

impl DurableHistory {
    /// Retention: deletes every record decided at or before `older_than`, in
    /// one transaction, and returns how many records it deleted. The records
    /// of each profile's last decision are kept whatever their age: a retry
    /// at its instant replays them.
    ///
    /// The per-action counters (`times_sent`, `last_sent`) are kept, so
    /// cooldowns and `max_sends` answer as before; `sends_after` answers as
    /// before for every `after` at or later than `older_than`. Choose
    /// `older_than` before `now` minus the longest rolling-cap window of the
    /// rules, and no decision changes. It reads every profile's history
    /// once, and rewrites those it deletes records from.
    ///
    /// ```
    /// use nextbest::history::{DurableHistory, History, Outcome, Record};
    /// use nextbest::rules::Category;
    /// use nextbest::Timestamp;
    /// let dir = std::env::temp_dir().join(format!("nextbest-doc-compact-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let mut history = DurableHistory::open(dir.join("history.redb"))?;
    /// let send = |at: &str| -> Result<Record, Box<dyn std::error::Error>> {
    ///     let at = Timestamp::parse(at)?;
    ///     Ok(Record::new("c-1", "nudge", "email", Category::Marketing, Outcome::Sent, at, at.to_string()))
    /// };
    /// history.record(&vec![send("2026-11-01T09:00:00Z")?].into())?;
    /// history.record(&vec![send("2026-11-20T09:00:00Z")?].into())?;
    /// assert_eq!(history.compact(Timestamp::parse("2026-11-10T00:00:00Z")?)?, 1);
    /// assert_eq!(history.records("c-1")?.len(), 1);
    /// assert_eq!(history.times_sent("c-1", "nudge")?, 2);
    /// # drop(history);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`HistoryError::Io`] if the store cannot be written, and
    /// [`HistoryError::Damaged`] if a profile's history does not decode;
    /// then nothing was deleted.
    pub fn compact(&mut self, older_than: Timestamp) -> Result<usize, HistoryError> {
        let txn = super::begin_write(&self.db).map_err(|e| failure(&self.path, e))?;
        let removed = match compact_in(&txn, older_than.as_micros()) {
            Ok(removed) => removed,
            Err(e) => {
                let _ = txn.abort();
                return Err(failure(&self.path, e));
            }
        };
        self.commit_txn(txn)?;
        Ok(removed)
    }
}

/// Deletes the records decided at or before `cut` inside `txn`, but those
/// of each profile's last decision. Journey states are kept: they are
/// current, not history.
fn compact_in(txn: &WriteTransaction, cut: i64) -> Result<usize, Fault> {
    let names = Names::load(&txn.open_table(NAMES)?, None)?;
    let mut profiles = txn.open_table(PROFILES)?;
    let mut removed = 0usize;
    let mut from: Option<Vec<u8>> = None;
    loop {
        let start = from.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut changed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut read = 0usize;
        for entry in profiles.range::<&[u8]>((start, Bound::Unbounded))? {
            let (key, value) = entry?;
            let profile = profile_id(key.value())?;
            let mut log = decode(profile, value.value(), &*names)?;
            let gone = log.compact(cut);
            if gone > 0 {
                removed = removed.saturating_add(gone);
                let mut bytes = Vec::new();
                encode(profile, &log, &*names, &mut bytes);
                changed.push((key.value().to_vec(), bytes));
            }
            read += 1;
            if read == COMPACT_CHUNK {
                from = Some(key.value().to_vec());
                break;
            }
        }
        for (profile, bytes) in &changed {
            profiles.insert(profile.as_slice(), bytes.as_slice())?;
        }
        if read < COMPACT_CHUNK {
            break;
        }
    }
    drop(profiles);
    let removed_signed = i64::try_from(removed).unwrap_or(i64::MAX);
    add_records(txn, -removed_signed)?;
    Ok(removed)
}
