//! Stores of format 3, as nextbest wrote them before format 4: the tables
//! built directly with redb, for the tests of the upgrade.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use nextbest::history::{JourneyStatus, Outcome, Update};
use nextbest::rules::Category;
use redb::{ReadableTable, TableDefinition};

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
const ACTIONS: TableDefinition<(&str, &str), (u32, i64)> = TableDefinition::new("actions");
const SENDS: TableDefinition<(&str, &str, u8, i64, u64), ()> = TableDefinition::new("sends");
type RecordValue<'a> = (&'a str, &'a str, u8, u8, i64, i64, &'a str);
const RECORDS: TableDefinition<(&str, u64), RecordValue<'_>> = TableDefinition::new("records");
const BY_TIME: TableDefinition<(i64, u64), &str> = TableDefinition::new("records_by_time");
const RECORD_STEPS: TableDefinition<(&str, u64), (&str, u32)> =
    TableDefinition::new("record_steps");
/// (entered at, enrolment, done, tried, status, left at).
type JourneyValue = (i64, u32, u32, bool, u8, i64);
const JOURNEYS: TableDefinition<(&str, &str), JourneyValue> = TableDefinition::new("journeys");
const LAST_DECIDED: TableDefinition<&str, i64> = TableDefinition::new("last_decided");

/// Writes a new store of format 3 at `path` holding `updates`, as format 3
/// recorded them one commit each; then, with `cut`, as its compaction left
/// it: the records decided at or before `cut` gone (but those of each
/// profile's last decision), their sends still counted in `actions`.
pub fn write_v3(path: &Path, updates: &[Update], cut: Option<i64>) {
    let mut builder = redb::Builder::new();
    builder.create_with_file_format_v3(true);
    let db = builder.create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.insert("format", "nextbest-history").unwrap();
        meta.insert("version", "3").unwrap();
        let mut actions = txn.open_table(ACTIONS).unwrap();
        let mut sends = txn.open_table(SENDS).unwrap();
        let mut records = txn.open_table(RECORDS).unwrap();
        let mut by_time = txn.open_table(BY_TIME).unwrap();
        let mut steps = txn.open_table(RECORD_STEPS).unwrap();
        let mut journeys = txn.open_table(JOURNEYS).unwrap();
        let mut last_decided = txn.open_table(LAST_DECIDED).unwrap();
        // The instant of each profile's last decision, for the cut.
        let mut last: HashMap<&str, i64> = HashMap::new();
        for update in updates {
            let instants = (update.records.iter().map(|r| (r.profile.as_str(), r.at)))
                .chain(update.decided.iter().map(|(p, at)| (p.as_str(), *at)));
            for (profile, at) in instants {
                let noted = last.entry(profile).or_insert(at.as_micros());
                *noted = (*noted).max(at.as_micros());
            }
        }
        let mut seq = 0u64;
        for update in updates {
            for r in &update.records {
                let (p, at) = (r.profile.as_str(), r.at.as_micros());
                let category = u8::from(r.category == Category::Transactional);
                // Format 3's codes: the position in this list (written so
                // that it still compiles when the enums grow).
                let outcome = [Outcome::Sent, Outcome::HeldOut, Outcome::Skipped]
                    .iter()
                    .position(|o| *o == r.outcome)
                    .unwrap() as u8;
                if r.outcome == Outcome::Sent {
                    let key = (p, r.action.as_str());
                    let (count, latest) = actions.get(key).unwrap().map_or((0, at), |v| v.value());
                    actions.insert(key, (count + 1, latest.max(at))).unwrap();
                }
                let kept = cut.is_none_or(|cut| at > cut || last.get(p) == Some(&at));
                if kept {
                    if r.outcome == Outcome::Sent {
                        let channel = r.channel.as_str();
                        sends.insert((p, channel, category, at, seq), ()).unwrap();
                    }
                    let send_at = r.send_at.as_micros();
                    let value = (r.action.as_str(), r.channel.as_str(), category, outcome);
                    let value = (
                        value.0,
                        value.1,
                        value.2,
                        value.3,
                        at,
                        send_at,
                        r.key.as_str(),
                    );
                    records.insert((p, seq), value).unwrap();
                    by_time.insert((at, seq), p).unwrap();
                    if let Some((journey, step)) = &r.journey {
                        steps.insert((p, seq), (journey.as_str(), *step)).unwrap();
                    }
                }
                if r.outcome != Outcome::Sent {
                    note(&mut last_decided, p, at);
                }
                seq += 1;
            }
            for change in &update.journeys {
                let state = change.state;
                let status = if matches!(state.status, JourneyStatus::Exited(_)) {
                    1
                } else if matches!(state.status, JourneyStatus::Completed(_)) {
                    2
                } else {
                    0
                };
                let left_at = state.left_at().map_or(0, |at| at.as_micros());
                let value = (
                    state.entered_at.as_micros(),
                    state.enrolment,
                    state.done,
                    state.tried,
                    status,
                    left_at,
                );
                let key = (change.profile.as_str(), change.journey.as_str());
                journeys.insert(key, value).unwrap();
            }
            for (profile, at) in &update.decided {
                note(&mut last_decided, profile, at.as_micros());
            }
        }
        txn.open_table(COUNTERS)
            .unwrap()
            .insert("next_seq", seq)
            .unwrap();
    }
    txn.commit().unwrap();
}

fn note(table: &mut redb::Table<&'static str, i64>, profile: &str, at: i64) {
    let noted = table.get(profile).unwrap().map(|v| v.value());
    if noted.is_none_or(|noted| noted < at) {
        table.insert(profile, at).unwrap();
    }
}

/// Turns the store of format 3 at `path` into one of format `version` (1
/// or 2) by deleting the tables that version lacked.
pub fn downgrade(path: &Path, version: u32) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    assert!(txn.delete_table(LAST_DECIDED).unwrap());
    if version < 2 {
        assert!(txn.delete_table(RECORD_STEPS).unwrap());
        assert!(txn.delete_table(JOURNEYS).unwrap());
    }
    txn.open_table(META)
        .unwrap()
        .insert("version", version.to_string().as_str())
        .unwrap();
    txn.commit().unwrap();
}

/// The names of the tables of the store at `path`.
pub fn tables(path: &Path) -> Vec<String> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut names: Vec<String> = (txn.list_tables().unwrap())
        .map(|t| redb::TableHandle::name(&t).to_owned())
        .collect();
    names.sort();
    names
}
