//! Tests of the durable contact history ([`DurableHistory`]) through the
//! public API.
//!
//! - A model-based property test: random sequences of batches of records,
//!   reopenings of the store and queries run against a [`DurableHistory`] and a
//!   [`MemoryHistory`] side by side; after every step every `last_sent`,
//!   `times_sent`, `sends_after` (on each channel and on any channel, with
//!   windows at and around the recorded instants) and the record log agree.
//! - Retention: after `compact`, `times_sent` and `last_sent` answer as before
//!   for every (profile, action), `sends_after` as before for every window at
//!   or after the cut, and only records after the cut remain; this still holds
//!   after reopening and further records.
//! - Format checks: a store of a newer format version, a redb database without
//!   nextbest metadata, a file that is no redb database and a store already
//!   open are refused with clear errors, and the file is left as it was.
//! - Failures: a storage backend that fails from its k-th operation on makes
//!   `record` fail (and every later write on that handle); reopened, the store
//!   holds the batch entirely or not at all, and every batch acknowledged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nextbest::decide::{Engine, Options};
use nextbest::history::{
    DurableHistory, History, HistoryError, JourneyState, JourneyStatus, JourneyUpdate,
    MemoryHistory, Outcome, Record, Update,
};
use nextbest::rules::{Category, Format};
use nextbest::{Profile, RuleSet, Timestamp};
use proptest::prelude::*;

mod common;

use common::model::*;
use common::{record, v3};

impl Store for DurableHistory {
    fn all_records(&self, profile: &str) -> Vec<Record> {
        self.records(profile).unwrap()
    }
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "nextbest-history-test-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Record(Update),
    Reopen,
    LastSent(&'static str, &'static str),
    TimesSent(&'static str, &'static str),
    SendsAfter(&'static str, Option<&'static str>, Category, i64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => arb_update().prop_map(Op::Record),
        1 => Just(Op::Reopen),
        1 => (prop::sample::select(&PROFILES[..]), prop::sample::select(&ACTIONS[..]))
            .prop_map(|(p, a)| Op::LastSent(p, a)),
        1 => (prop::sample::select(&PROFILES[..]), prop::sample::select(&ACTIONS[..]))
            .prop_map(|(p, a)| Op::TimesSent(p, a)),
        2 => (
            prop::sample::select(&PROFILES[..]),
            prop::option::weighted(0.75, prop::sample::select(&CHANNELS[..])),
            prop::sample::select(&CATEGORIES[..]),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), -30i64..210],
        )
            .prop_map(|(p, c, k, after)| Op::SendsAfter(p, c, k, after)),
    ]
}

fn assert_same_log(durable: &DurableHistory, model: &MemoryHistory) -> Result<(), TestCaseError> {
    for profile in PROFILES {
        prop_assert_eq!(durable.records(profile).unwrap(), model.records(profile));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn durable_history_answers_as_memory_history(ops in prop::collection::vec(arb_op(), 1..20)) {
        let dir = TempDir::new();
        let path = dir.file("history.redb");
        let mut durable = DurableHistory::open(&path).unwrap();
        let mut model = MemoryHistory::new();
        let mut all: Vec<Record> = Vec::new();
        for op in ops {
            // The edges of the latest batch are checked after every step, and
            // those of every record at the end.
            let mut latest: Vec<Record> = Vec::new();
            match op {
                Op::Record(update) => {
                    durable.record(&update).unwrap();
                    model.record(&update).unwrap();
                    all.extend(update.records.iter().cloned());
                    latest = update.records;
                }
                Op::Reopen => {
                    drop(durable);
                    durable = DurableHistory::open(&path).unwrap();
                }
                Op::LastSent(p, a) => {
                    prop_assert_eq!(durable.last_sent(p, a).unwrap(), model.last_sent(p, a).unwrap());
                }
                Op::TimesSent(p, a) => {
                    prop_assert_eq!(durable.times_sent(p, a).unwrap(), model.times_sent(p, a).unwrap());
                }
                Op::SendsAfter(p, c, k, after) => {
                    let after = Timestamp::from_micros(after);
                    prop_assert_eq!(
                        durable.sends_after(p, c, k, after).unwrap(),
                        model.sends_after(p, c, k, after).unwrap()
                    );
                }
            }
            assert_same(&durable, &model, &latest, i64::MIN)?;
        }
        drop(durable);
        let durable = DurableHistory::open(&path).unwrap();
        assert_same(&durable, &model, &all, i64::MIN)?;
        assert_same_log(&durable, &model)?;
        prop_assert_eq!(durable.len().unwrap(), all.len() as u64);
    }

    #[test]
    fn compaction_keeps_every_answer_after_the_cut(
        before in prop::collection::vec(prop::collection::vec(arb_record(), 1..=5), 1..8),
        after_cut in prop::collection::vec(prop::collection::vec(arb_record(), 1..=5), 0..4),
        cut in -30i64..210,
    ) {
        let dir = TempDir::new();
        let path = dir.file("history.redb");
        let mut durable = DurableHistory::open(&path).unwrap();
        let mut model = MemoryHistory::new();
        let mut all: Vec<Record> = Vec::new();
        for batch in before {
            durable.record(&Update::from(batch.clone())).unwrap();
            model.record(&Update::from(batch.clone())).unwrap();
            all.extend(batch);
        }
        let removed = durable.compact(Timestamp::from_micros(cut)).unwrap();
        // Each profile's last decision's records are kept, whatever the cut.
        let kept = |r: &Record| {
            r.at.as_micros() > cut || model.last_decided_at(&r.profile).unwrap() == Some(r.at)
        };
        prop_assert_eq!(removed, all.iter().filter(|r| !kept(r)).count());
        assert_same(&durable, &model, &all, cut)?;
        // Only the records after the cut are left, in recording order.
        for profile in PROFILES {
            let kept: Vec<Record> = model
                .records(profile)
                .iter()
                .filter(|r| kept(r))
                .cloned()
                .collect();
            prop_assert_eq!(durable.records(profile).unwrap(), kept);
        }
        // Compacting again at the same cut removes nothing.
        prop_assert_eq!(durable.compact(Timestamp::from_micros(cut)).unwrap(), 0);

        drop(durable);
        let mut durable = DurableHistory::open(&path).unwrap();
        for batch in after_cut {
            durable.record(&Update::from(batch.clone())).unwrap();
            model.record(&Update::from(batch.clone())).unwrap();
            assert_same(&durable, &model, &batch, cut)?;
            all.extend(batch);
        }
        assert_same(&durable, &model, &all, cut)?;
    }

    #[test]
    fn a_version_3_store_is_upgraded_with_every_answer_unchanged(
        updates in prop::collection::vec(arb_update(), 1..8),
        cut in proptest::option::of(-30i64..210),
    ) {
        let dir = TempDir::new();
        let path = dir.file("history.redb");
        v3::write_v3(&path, &updates, cut);
        let mut model = MemoryHistory::new();
        let mut all: Vec<Record> = Vec::new();
        for update in &updates {
            model.record(update).unwrap();
            all.extend(update.records.iter().cloned());
        }
        let history = DurableHistory::open(&path).unwrap();
        let cut = cut.unwrap_or(i64::MIN);
        assert_same(&history, &model, &all, cut)?;
        let mut held = 0;
        for profile in PROFILES {
            let last = model.last_decided_at(profile).unwrap();
            let kept: Vec<Record> = (model.records(profile).iter())
                .filter(|r| r.at.as_micros() > cut || Some(r.at) == last)
                .cloned()
                .collect();
            prop_assert_eq!(history.records(profile).unwrap(), kept.clone());
            held += kept.len() as u64;
        }
        prop_assert_eq!(history.len().unwrap(), held);
        prop_assert_eq!(history.verify().unwrap().records, held);
        drop(history);
        prop_assert_eq!(v3::tables(&path), ["counters", "meta", "names", "profiles"]);
        prop_assert_eq!(get_meta(&path, "version"), Some("4".to_owned()));
    }
}

#[test]
fn records_survive_reopening_and_only_sends_count() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    let mut history = DurableHistory::open(&path).unwrap();
    assert!(history.is_empty().unwrap());
    let m = Category::Marketing;
    history
        .record(&Update::from(vec![
            record("c-1", "mail", "email", m, Outcome::Sent, 10),
            record("c-1", "mail", "email", m, Outcome::HeldOut, 20),
            record("c-1", "mail", "email", m, Outcome::Skipped, 30),
            record("c-1", "mail", "email", m, Outcome::Sent, 5),
        ]))
        .unwrap();
    drop(history);
    let history = DurableHistory::open(&path).unwrap();
    assert_eq!(history.path(), path);
    assert_eq!(history.len().unwrap(), 4);
    assert_eq!(history.times_sent("c-1", "mail").unwrap(), 2);
    assert_eq!(
        history.last_sent("c-1", "mail").unwrap(),
        Some(Timestamp::from_micros(10))
    );
    let email = Some("email");
    assert_eq!(
        history
            .sends_after("c-1", email, m, Timestamp::from_micros(4))
            .unwrap(),
        2
    );
    assert_eq!(
        history
            .sends_after("c-1", email, m, Timestamp::from_micros(5))
            .unwrap(),
        1
    );
    assert_eq!(
        history
            .sends_after("c-1", None, m, Timestamp::from_micros(10))
            .unwrap(),
        0
    );
    assert_eq!(history.records("c-1").unwrap().len(), 4);
    assert_eq!(history.records("c-2").unwrap(), vec![]);
}

#[test]
fn an_empty_file_becomes_a_store() {
    let dir = TempDir::new();
    let path = dir.file("empty.redb");
    std::fs::write(&path, b"").unwrap();
    let mut history = DurableHistory::open(&path).unwrap();
    history
        .record(&Update::from(vec![record(
            "c",
            "a",
            "sms",
            Category::Transactional,
            Outcome::Sent,
            1,
        )]))
        .unwrap();
    assert_eq!(history.times_sent("c", "a").unwrap(), 1);
}

/// Rewrites one entry of the store's `meta` table through redb itself.
fn set_meta(path: &Path, key: &str, value: &str) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn
            .open_table(redb::TableDefinition::<&str, &str>::new("meta"))
            .unwrap();
        meta.insert(key, value).unwrap();
    }
    txn.commit().unwrap();
}

fn get_meta(path: &Path, key: &str) -> Option<String> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn
        .open_table(redb::TableDefinition::<&str, &str>::new("meta"))
        .unwrap();
    meta.get(key).unwrap().map(|v| v.value().to_owned())
}

#[test]
fn a_store_of_a_newer_version_is_refused_and_left_alone() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    drop(DurableHistory::open(&path).unwrap());
    assert_eq!(
        get_meta(&path, "format").as_deref(),
        Some("nextbest-history")
    );
    assert_eq!(get_meta(&path, "version").as_deref(), Some("4"));
    assert_eq!(DurableHistory::FORMAT_VERSION, 4);

    set_meta(&path, "version", "5");
    let error = DurableHistory::open(&path).unwrap_err();
    assert!(
        matches!(
            &error,
            HistoryError::Format { path: p, found: 5, expected: 4 } if *p == path
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("version 5"), "{message}");
    assert!(message.contains("version 4"), "{message}");
    assert!(message.contains("newer nextbest"), "{message}");
    assert_eq!(get_meta(&path, "version").as_deref(), Some("5"));

    // Another format's metadata, or no version.
    set_meta(&path, "format", "something-else");
    let error = DurableHistory::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::NotAStore { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("is not a nextbest history store")
    );
}

#[test]
fn a_version_1_store_is_upgraded_in_place_and_keeps_its_records() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    version_1_store(&path);

    let mut history = DurableHistory::open(&path).unwrap();
    assert_eq!(history.times_sent("c-1", "mail").unwrap(), 1);
    assert_eq!(history.records("c-1").unwrap().len(), 2);
    assert_eq!(history.journey("c-1", "rescue").unwrap(), None);
    // The upgrade works out the instant of the last decision.
    let latest = (history.records("c-1").unwrap().iter()).map(|r| r.at).max();
    assert_eq!(history.last_decided_at("c-1").unwrap(), latest);
    let state = JourneyState::entered(Timestamp::from_micros(30), 1);
    history
        .record(&Update::new().with_journey(JourneyUpdate::new("c-1", "rescue", state)))
        .unwrap();
    drop(history);
    assert_eq!(get_meta(&path, "version").as_deref(), Some("4"));
    let history = DurableHistory::open(&path).unwrap();
    assert_eq!(history.journey("c-1", "rescue").unwrap(), Some(state));
}

/// A store of format 1 at `path`: one send to `c-1` and one holdout.
fn version_1_store(path: &Path) {
    let m = Category::Marketing;
    let records = vec![
        record("c-1", "mail", "email", m, Outcome::Sent, 10),
        record("c-1", "mail", "email", m, Outcome::HeldOut, 20),
    ];
    v3::write_v3(path, &[Update::from(records)], None);
    v3::downgrade(path, 1);
}

#[test]
fn opening_unchanged_creates_nothing_and_upgrades_nothing() {
    let dir = TempDir::new();
    let missing = dir.file("missing.redb");
    assert!(DurableHistory::open_unchanged(&missing).unwrap().is_none());
    assert!(!missing.exists(), "no file is created");

    let empty = dir.file("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    assert!(DurableHistory::open_unchanged(&empty).unwrap().is_none());
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    let old = dir.file("old.redb");
    version_1_store(&old);
    let before = std::fs::read(&old).unwrap();
    let error = DurableHistory::open_unchanged(&old).unwrap_err();
    assert!(
        matches!(
            error,
            HistoryError::NeedsUpgrade {
                found: 1,
                expected: 4,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("format version 1"), "{error}");
    assert_eq!(
        std::fs::read(&old).unwrap(),
        before,
        "the file is untouched"
    );
    assert_eq!(get_meta(&old, "version").as_deref(), Some("1"));

    // Opened for writing, it is upgraded, and then opens unchanged.
    drop(DurableHistory::open(&old).unwrap());
    let current = DurableHistory::open_unchanged(&old).unwrap().unwrap();
    assert_eq!(current.times_sent("c-1", "mail").unwrap(), 1);
}

#[test]
fn a_redb_database_without_metadata_is_refused_and_left_alone() {
    let dir = TempDir::new();
    let path = dir.file("other.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<u64, u64>::new("other"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        txn.commit().unwrap();
    }
    let error = DurableHistory::open(&path).unwrap_err();
    assert!(
        matches!(&error, HistoryError::NotAStore { path: p, .. } if *p == path),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "{} is not a nextbest history store",
            path.display()
        )),
        "{message}"
    );
    // The foreign table is still there, and no table of ours was added.
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| redb::TableHandle::name(&t).to_owned())
        .collect();
    assert_eq!(names, ["other"]);
}

#[test]
fn a_file_that_is_not_a_redb_database_is_refused_and_left_alone() {
    let dir = TempDir::new();
    // Pseudo-random bytes (xorshift), a short text and a file that starts
    // like a redb database but is only a few bytes long.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..10_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    for (name, bytes) in [
        ("random.bin", random),
        ("text.redb", b"profile,action\nc-1,mail\n".to_vec()),
        ("short.redb", b"redb".to_vec()),
    ] {
        let path = dir.file(name);
        std::fs::write(&path, &bytes).unwrap();
        let error = DurableHistory::open(&path).unwrap_err();
        assert!(
            matches!(&error, HistoryError::NotAStore { path: p, .. } if *p == path),
            "{name}: {error:?}"
        );
        assert!(
            error.to_string().starts_with(&format!(
                "{} is not a nextbest history store",
                path.display()
            )),
            "{error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was changed");
    }
}

#[test]
fn a_store_in_use_is_refused() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    let mut first = DurableHistory::open(&path).unwrap();
    let error = DurableHistory::open(&path).unwrap_err();
    assert!(
        matches!(&error, HistoryError::InUse { path: p } if *p == path),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "history store {} is in use by another process",
            path.display()
        )
    );
    // The first handle is unaffected, and the store opens once it is closed.
    first
        .record(&Update::from(vec![record(
            "c",
            "a",
            "email",
            Category::Marketing,
            Outcome::Sent,
            3,
        )]))
        .unwrap();
    drop(first);
    assert_eq!(
        DurableHistory::open(&path)
            .unwrap()
            .times_sent("c", "a")
            .unwrap(),
        1
    );
}

#[test]
fn a_path_that_cannot_be_created_is_an_io_error_naming_it() {
    let dir = TempDir::new();
    let path = dir.file("missing-dir").join("history.redb");
    let error = DurableHistory::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::Io { .. }), "{error:?}");
    // The operating system's error is kept as the source, with its kind.
    let cause = std::error::Error::source(&error)
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(cause, Some(std::io::ErrorKind::NotFound), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_store_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<DurableHistory>();
}

#[test]
fn decisions_against_the_store_are_those_against_memory() {
    let source = std::fs::read_to_string("examples/rules/classic.toml").unwrap();
    let engine = Engine::new(RuleSet::parse(&source, Format::Toml, "classic.toml").unwrap());
    let customers = std::fs::read_to_string("examples/data/customers.jsonl").unwrap();
    let profiles: Vec<Profile> = (customers.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| Profile::from_json(&engine.rules().schema, line).unwrap())
        .collect();
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    let mut durable = DurableHistory::open(&path).unwrap();
    let mut memory = MemoryHistory::new();
    let start = Timestamp::parse("2026-11-24T09:00:00Z")
        .unwrap()
        .as_micros();
    let mut sent = 0;
    // Every 13 hours for three weeks: cooldowns, caps, journey steps and
    // quiet hours all come round, against both histories.
    for tick in 0..40 {
        let now = Timestamp::from_micros(start + tick * 13 * 3_600_000_000);
        for profile in &profiles {
            let options = Options::default().explain(true);
            let from_store = engine.decide(profile, &durable, now, options).unwrap();
            let from_memory = engine.decide(profile, &memory, now, options).unwrap();
            assert_eq!(from_store, from_memory, "{} at {now}", profile.id());
            sent += from_store.emissions.len();
            durable.record(&from_store.update()).unwrap();
            memory.record(&from_memory.update()).unwrap();
        }
    }
    assert!(sent > profiles.len(), "only {sent} sends");
    drop(durable);
    // The store derives the engine's keys instead of storing them: no
    // profile's value holds the 8 bytes of one of its keys.
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn
        .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("profiles"))
        .unwrap();
    let mut keys = 0;
    for profile in &profiles {
        let Some(value) = table.get(profile.id().as_bytes()).unwrap() else {
            assert!(memory.records(profile.id()).is_empty(), "{}", profile.id());
            continue;
        };
        let value = value.value();
        for record in memory.records(profile.id()) {
            let key = u64::from_str_radix(&record.key, 16).unwrap().to_be_bytes();
            let stored = value.windows(8).any(|bytes| bytes == key);
            assert!(!stored, "{}'s key {} is stored", profile.id(), record.key);
            keys += 1;
        }
    }
    assert!(keys > sent, "only {keys} keys");
}

#[test]
fn a_version_2_store_is_upgraded_with_the_instants_of_its_journey_only_decisions() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    let (sent_at, left_at) = (Timestamp::from_micros(10), Timestamp::from_micros(50));
    let mut record = Record::new(
        "c-1",
        "mail",
        "email",
        Category::Marketing,
        Outcome::Sent,
        sent_at,
        "k",
    );
    let mut updates = vec![Update::from(vec![record.clone()])];
    let mut state = JourneyState::entered(sent_at, 1);
    state.status = JourneyStatus::Exited(left_at);
    let left = JourneyUpdate::new("c-2", "rescue", state);
    record.profile = "c-2".into();
    updates.push(Update::from(vec![record]));
    // A decision that only changed a journey state: version 2 left no
    // note of its instant.
    updates.push(Update::new().with_journey(left));
    v3::write_v3(&path, &updates, None);
    v3::downgrade(&path, 2);

    let history = DurableHistory::open(&path).unwrap();
    assert_eq!(history.last_decided_at("c-1").unwrap(), Some(sent_at));
    // The journey was left after the last record: that is the last decision.
    assert_eq!(history.last_decided_at("c-2").unwrap(), Some(left_at));
    let last = history.last_decision("c-2").unwrap().unwrap();
    assert_eq!((last.at, last.sent.len()), (left_at, 0));
    drop(history);
    assert_eq!(get_meta(&path, "version").as_deref(), Some("4"));
}

#[test]
fn a_profile_whose_history_does_not_decode_is_damage_naming_it() {
    let dir = TempDir::new();
    let path = dir.file("history.redb");
    let m = Category::Marketing;
    let mut history = DurableHistory::open(&path).unwrap();
    history
        .record(&Update::from(vec![
            record("c-1", "mail", "email", m, Outcome::Sent, 10),
            record("c-2", "mail", "email", m, Outcome::Sent, 10),
        ]))
        .unwrap();
    drop(history);
    // Bytes no nextbest writes, under c-2: a header bit it never sets.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&[u8], &[u8]>::new("profiles"))
            .unwrap()
            .insert("c-2".as_bytes(), [0x80u8, 1, 2].as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let mut history = DurableHistory::open(&path).unwrap();
    assert_eq!(history.times_sent("c-1", "mail").unwrap(), 1);
    let at = Timestamp::from_micros(20);
    let errors = [
        history.snapshot("c-2", at, at).unwrap_err(),
        history.times_sent("c-2", "mail").unwrap_err(),
        history.verify().unwrap_err(),
        history
            .record(&Update::from(vec![record(
                "c-2",
                "mail",
                "email",
                m,
                Outcome::Sent,
                20,
            )]))
            .unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(&error, HistoryError::Damaged { path: p, .. } if *p == path),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("profile `c-2`"), "{message}");
        assert!(message.contains("at byte 0"), "{message}");
    }
    // Nothing was written over it, and c-1 is still recorded into.
    history
        .record(&Update::from(vec![record(
            "c-1",
            "mail",
            "email",
            m,
            Outcome::Sent,
            20,
        )]))
        .unwrap();
    assert_eq!(history.times_sent("c-1", "mail").unwrap(), 2);
    assert!(history.records("c-2").is_err());
}
