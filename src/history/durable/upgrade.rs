//! Upgrading a store of format 1, 2 or 3 to format 4, in place and in one
//! commit.
//!
//! Input: the tables of the older format (each record a B-tree entry, names
//! and keys as text). Output: every profile's history as one value, the
//! dictionary, the count of records; the old tables deleted. The answers
//! are the same before and after: the records in recording order (their
//! sequence numbers), the counters (a counter that counts more sends than
//! the records still hold keeps the difference as compacted sends), the
//! journey states and the instant of each profile's last decision.

use std::collections::BTreeMap;

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use super::codec::{Entry, Key, ProfileLog};
use super::names::{Interner, NAMES, Names};
use super::{COUNTERS, DurableHistory, Fault, META, PROFILES, RECORDS_HELD, begin_write, encode};
use crate::history::{JourneyState, JourneyStatus, Outcome};
use crate::rules::Category;
use crate::value::Timestamp;

/// Format 3: per (profile, action), (times sent, last send decided at µs).
pub(super) const ACTIONS: TableDefinition<(&str, &str), (u32, i64)> =
    TableDefinition::new("actions");
/// Format 3: the sends by (profile, channel, category, decided at µs, seq).
pub(super) const SENDS: TableDefinition<(&str, &str, u8, i64, u64), ()> =
    TableDefinition::new("sends");
/// Format 3: every record by (profile, seq) → (action, channel, category,
/// outcome, at µs, send_at µs, key).
pub(super) const RECORDS: TableDefinition<(&str, u64), RecordValue<'_>> =
    TableDefinition::new("records");
type RecordValue<'a> = (&'a str, &'a str, u8, u8, i64, i64, &'a str);
/// Format 3: every record by (decided at µs, seq) → profile.
pub(super) const BY_TIME: TableDefinition<(i64, u64), &str> =
    TableDefinition::new("records_by_time");
/// Formats 2 and 3: the journey and step of the records of journey steps.
pub(super) const RECORD_STEPS: TableDefinition<(&str, u64), (&str, u32)> =
    TableDefinition::new("record_steps");
/// Formats 2 and 3: per (profile, journey), (entered at µs, enrolment,
/// stages done, tried, status 0 active 1 exited 2 completed, left at µs).
pub(super) const JOURNEYS: TableDefinition<(&str, &str), JourneyValue> =
    TableDefinition::new("journeys");
type JourneyValue = (i64, u32, u32, bool, u8, i64);
/// Format 3: per profile, the latest instant of a decision that sent
/// nothing.
pub(super) const LAST_DECIDED: TableDefinition<&str, i64> = TableDefinition::new("last_decided");

/// Rewrites the store of format `found` as this build's, in one commit.
pub(super) fn upgrade(db: &Database, found: u32) -> Result<(), Fault> {
    let txn = begin_write(db)?;
    let empty = Names::default();
    let mut names = Interner::new(&empty);
    let (logs, records) = read_old(&txn, found, &mut names)?;
    txn.delete_table(ACTIONS)?;
    txn.delete_table(SENDS)?;
    txn.delete_table(RECORDS)?;
    txn.delete_table(BY_TIME)?;
    txn.delete_table(RECORD_STEPS)?;
    txn.delete_table(JOURNEYS)?;
    txn.delete_table(LAST_DECIDED)?;
    {
        let mut profiles = txn.open_table(PROFILES)?;
        let mut bytes = Vec::new();
        for (profile, log) in &logs {
            encode(profile, log, &names, &mut bytes);
            profiles.insert(profile.as_bytes(), bytes.as_slice())?;
        }
        names.write(&mut txn.open_table(NAMES)?)?;
        let mut counters = txn.open_table(COUNTERS)?;
        counters.remove("next_seq")?;
        counters.insert(RECORDS_HELD, records)?;
        txn.open_table(META)?.insert(
            "version",
            DurableHistory::FORMAT_VERSION.to_string().as_str(),
        )?;
    }
    txn.commit()?;
    Ok(())
}

/// Every profile's history in the old tables, with the names they use
/// interned in `names`, and how many records they hold.
fn read_old(
    txn: &WriteTransaction,
    found: u32,
    names: &mut Interner<'_>,
) -> Result<(BTreeMap<String, ProfileLog>, u64), Fault> {
    let mut logs: BTreeMap<String, ProfileLog> = BTreeMap::new();
    let records = txn.open_table(RECORDS)?;
    let steps = match found {
        1 => None,
        _ => Some(txn.open_table(RECORD_STEPS)?),
    };
    let mut held = 0u64;
    for entry in records.iter()? {
        let (key, value) = entry?;
        let (profile, seq) = key.value();
        let (action, channel, category, outcome, at, send_at, key) = value.value();
        let journey = match &steps {
            Some(steps) => match steps.get((profile, seq))? {
                Some(step) => {
                    let (journey, step) = step.value();
                    Some((names.intern(journey)?, step))
                }
                None => None,
            },
            None => None,
        };
        let entry = Entry {
            action: names.intern(action)?,
            channel: names.intern(channel)?,
            category: category_from_code(profile, category)?,
            outcome: outcome_from_code(profile, outcome)?,
            at,
            send_at,
            key: Key::new(key),
            journey,
        };
        let log = logs.entry(profile.to_owned()).or_default();
        // Before format 3, the records that are not sends are what tells
        // when a decision sent nothing.
        if found < 3 && entry.outcome != Outcome::Sent {
            log.decided(at);
        }
        log.records.push(entry);
        held += 1;
    }
    // The counters: those the records no longer show are compacted sends.
    for entry in txn.open_table(ACTIONS)?.iter()? {
        let (key, value) = entry?;
        let ((profile, action), (times, last)) = (key.value(), value.value());
        let number = names.intern(action)?;
        let log = logs.entry(profile.to_owned()).or_default();
        let kept = log.sent().filter(|entry| entry.action == number).count();
        let compacted = times.saturating_sub(u32::try_from(kept).unwrap_or(u32::MAX));
        if compacted > 0 {
            log.compacted.push((number, compacted, last));
        }
        log.decided(last);
    }
    if found >= 2 {
        read_journeys(&txn.open_table(JOURNEYS)?, &mut logs, names, found)?;
    }
    if found >= 3 {
        for entry in txn.open_table(LAST_DECIDED)?.iter()? {
            let (profile, at) = entry?;
            logs.entry(profile.value().to_owned())
                .or_default()
                .decided(at.value());
        }
    }
    Ok((logs, held))
}

/// The journey states; before format 3, their entry and exit instants are
/// decisions too.
fn read_journeys(
    journeys: &impl ReadableTable<(&'static str, &'static str), JourneyValue>,
    logs: &mut BTreeMap<String, ProfileLog>,
    names: &mut Interner<'_>,
    found: u32,
) -> Result<(), Fault> {
    for entry in journeys.iter()? {
        let (key, value) = entry?;
        let ((profile, journey), value) = (key.value(), value.value());
        let state = journey_state(profile, value)?;
        let number = names.intern(journey)?;
        let log = logs.entry(profile.to_owned()).or_default();
        if found < 3 {
            let at = state
                .left_at()
                .unwrap_or(state.entered_at)
                .max(state.entered_at);
            log.decided(at.as_micros());
        }
        log.set_journey(number, state);
    }
    Ok(())
}

fn journey_state(
    profile: &str,
    (entered_at, enrolment, done, tried, status, left_at): JourneyValue,
) -> Result<JourneyState, Fault> {
    let left_at = Timestamp::from_micros(left_at);
    let status = match status {
        0 => JourneyStatus::Active,
        1 => JourneyStatus::Exited(left_at),
        2 => JourneyStatus::Completed(left_at),
        _ => return Err(unknown(profile, "journey status", status)),
    };
    Ok(JourneyState {
        entered_at: Timestamp::from_micros(entered_at),
        enrolment,
        done,
        tried,
        status,
    })
}

fn unknown(profile: &str, what: &str, code: u8) -> Fault {
    Fault::damaged(format!(
        "a record of profile `{profile}` has an unknown {what} code {code}"
    ))
}

fn category_from_code(profile: &str, code: u8) -> Result<Category, Fault> {
    match code {
        0 => Ok(Category::Marketing),
        1 => Ok(Category::Transactional),
        _ => Err(unknown(profile, "category", code)),
    }
}

fn outcome_from_code(profile: &str, code: u8) -> Result<Outcome, Fault> {
    match code {
        0 => Ok(Outcome::Sent),
        1 => Ok(Outcome::HeldOut),
        2 => Ok(Outcome::Skipped),
        _ => Err(unknown(profile, "outcome", code)),
    }
}
