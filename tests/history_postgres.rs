//! Tests of the PostgreSQL history ([`PostgresHistory`]) against a real
//! server: a throwaway cluster started once for this binary
//! (`common::pg`), each test in a database of its own. Without PostgreSQL
//! installed they fail, saying so.
//!
//! - The model-based test of the durable store, over this store: random
//!   updates, reconnections and every answer compared with
//!   [`MemoryHistory`]'s, the record log included.
//! - Tables: created on first use, found again by a second handle, refused
//!   when of a newer version (and left as they were); the analysts' view
//!   `nextbest_contacts` has the SPEC's columns, instants as `timestamptz`.
//! - Two handles on one database, one profile: the second commit
//!   conflicts, and deciding again replays the first's decision or
//!   respects the cap it used up.
//! - Eight threads, each with a handle of its own, decide the same
//!   profiles at the same instants through [`Batched`], retrying on
//!   conflicts: the store ends as one writer deciding each profile once
//!   per instant leaves a [`MemoryHistory`]: no cap exceeded, no record twice.
//! - `nextbest decide --history postgresql://…`: records, replays at the
//!   same instant, honours the cap later; a dry run creates no tables.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use common::CAPPED;
use common::model::{PROFILES, Store, arb_update, assert_same};
use common::pg::cluster;
use nextbest::decide::{Engine, Options};
use nextbest::history::{
    Batched, Commit, History, HistoryError, Locking, MemoryHistory, Outcome, PostgresHistory,
    Record, Update,
};
use nextbest::rules::{Category, Format, RuleSet};
use nextbest::{Profile, Timestamp};
use proptest::prelude::*;

impl Store for PostgresHistory {
    fn all_records(&self, profile: &str) -> Vec<Record> {
        self.records(profile).unwrap()
    }
}

/// A fresh database with the store's tables: its connection string and a
/// handle on it.
fn fresh(name: &str) -> (String, PostgresHistory) {
    let url = cluster().database(name);
    let history = PostgresHistory::connect(&url).unwrap();
    (url, history)
}

/// `update` with keys unique across the test: the store refuses a second
/// send of a profile under one key (the engine's keys never repeat among
/// a profile's sends), which random keys would make.
fn unique_keys(mut update: Update) -> Update {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    for record in &mut update.records {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        record.key = format!("{}-{n}", record.key).into();
    }
    update
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn postgres_history_answers_as_memory_history(
        steps in prop::collection::vec((arb_update(), prop::bool::weighted(0.2)), 1..12)
    ) {
        let (url, mut store) = fresh("model");
        let mut model = MemoryHistory::new();
        let mut all: Vec<Record> = Vec::new();
        for (update, reconnect) in steps {
            let update = unique_keys(update);
            store.record(&update).unwrap();
            model.record(&update).unwrap();
            all.extend(update.records.iter().cloned());
            if reconnect {
                store = PostgresHistory::connect(&url).unwrap();
            }
            assert_same(&store, &model, &update.records, i64::MIN)?;
        }
        assert_same(&store, &model, &all, i64::MIN)?;
        for profile in PROFILES {
            prop_assert_eq!(store.records(profile).unwrap(), model.records(profile));
        }
    }
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn send(profile: &str, key: &str, when: &str) -> Record {
    Record::new(
        profile,
        "nudge",
        "email",
        Category::Marketing,
        Outcome::Sent,
        at(when),
        key,
    )
    .in_journey("rescue", 2)
}

#[test]
fn tables_are_created_once_and_a_newer_version_is_refused_and_left_alone() {
    let (url, mut history) = fresh("version");
    history
        .record(&vec![send("c-1", "k1", "2026-11-24T09:00:00Z")].into())
        .unwrap();
    // A second handle finds the tables and what they hold.
    let again = PostgresHistory::connect(&url).unwrap();
    assert_eq!(again.times_sent("c-1", "nudge").unwrap(), 1);
    drop((history, again));

    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute("UPDATE nextbest_schema_version SET version = 2")
        .unwrap();
    match PostgresHistory::connect(&url) {
        Err(
            error @ HistoryError::SchemaVersion {
                found: 2,
                expected: 1,
            },
        ) => {
            assert!(
                error.to_string().contains("use a newer nextbest"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let count: i64 = admin
        .query_one("SELECT count(*) FROM nextbest_records", &[])
        .unwrap()
        .get(0);
    let version: i32 = admin
        .query_one("SELECT version FROM nextbest_schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!((count, version), (1, 2));
}

#[test]
fn analysts_read_the_contacts_view_with_timestamps() {
    let (url, mut history) = fresh("contacts");
    let mut held = send("c-1", "k2", "2026-11-25T10:30:00.000001Z");
    held.outcome = Outcome::HeldOut;
    held.send_at = at("2026-11-25T12:00:00Z");
    history
        .record(&vec![send("c-1", "k1", "2026-11-24T09:00:00Z"), held].into())
        .unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin.batch_execute("SET TIME ZONE 'UTC'").unwrap();
    let rows = admin
        .query(
            "SELECT profile_id, key, action, channel, outcome, at::text, send_at::text \
             FROM nextbest_contacts ORDER BY seq",
            &[],
        )
        .unwrap();
    let rows: Vec<Vec<String>> = (rows.iter())
        .map(|row| (0..7).map(|i| row.get::<_, String>(i)).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["c-1", "k1", "nudge", "email", "sent"]
                .map(String::from)
                .to_vec(),
            ["c-1", "k2", "nudge", "email", "held_out"]
                .map(String::from)
                .to_vec(),
        ]
        .into_iter()
        .zip([
            ["2026-11-24 09:00:00+00", "2026-11-24 09:00:00+00"],
            ["2026-11-25 10:30:00.000001+00", "2026-11-25 12:00:00+00"],
        ])
        .map(|(mut row, times)| {
            row.extend(times.map(String::from));
            row
        })
        .collect::<Vec<_>>()
    );
}

#[test]
fn a_second_send_under_one_key_is_refused_and_nothing_of_its_commit_is_kept() {
    let (_, mut history) = fresh("unique");
    history
        .record(&vec![send("c-1", "k1", "2026-11-24T09:00:00Z")].into())
        .unwrap();
    let again = vec![
        send("c-2", "k1", "2026-11-24T09:00:00Z"),
        send("c-1", "k1", "2026-11-25T09:00:00Z"),
    ];
    let error = history.record(&again.into()).unwrap_err();
    assert!(matches!(error, HistoryError::Postgres(_)), "{error:?}");
    assert!(
        error.to_string().contains("nextbest_records_sent_key"),
        "{error}"
    );
    // Rolled back as a whole: `c-2` in the same commit is not recorded.
    assert_eq!(history.times_sent("c-2", "nudge").unwrap(), 0);
    assert_eq!(history.times_sent("c-1", "nudge").unwrap(), 1);
}

fn engine() -> Engine {
    Engine::new(RuleSet::parse(CAPPED, Format::Toml, "rules.toml").unwrap())
}

fn profile(engine: &Engine, id: &str) -> Profile {
    Profile::builder(&engine.rules().schema, id)
        .attribute("n", 3)
        .build()
        .unwrap()
}

#[test]
fn two_handles_on_one_database_conflict_and_decide_again() {
    two_handles_conflict("conflict", Locking::Advisory);
}

#[test]
fn two_handles_locking_rows_conflict_and_decide_again() {
    two_handles_conflict("conflict_rows", Locking::Rows);
}

fn two_handles_conflict(database: &str, locking: Locking) {
    let (url, a) = fresh(database);
    let mut a = a.locking(locking);
    let mut b = PostgresHistory::connect(&url).unwrap().locking(locking);
    let engine = engine();
    let p = profile(&engine, "c-1");
    let options = Options::default();
    let t1 = at("2026-11-24T09:00:00Z");
    let from_a = engine.decide(&p, &a, t1, options).unwrap();
    let from_b = engine.decide(&p, &b, t1, options).unwrap();
    assert_eq!(a.commit(&from_a.update()).unwrap(), Commit::Committed);
    assert_eq!(
        b.commit(&from_b.update()).unwrap(),
        Commit::Conflict(vec!["c-1".into()])
    );
    // At the same instant, deciding again replays what `a` sent.
    let again = engine.decide(&p, &b, t1, options).unwrap();
    assert!(again.replayed, "{again:?}");
    assert_eq!(again.emissions, from_a.emissions);
    assert_eq!(b.commit(&again.update()).unwrap(), Commit::Committed);

    // A day later, `b` (whose snapshot predates `a`'s send of `first`)
    // would send `first` again; `a` sends it first, and `b` decided again
    // finds the weekly cap used up.
    let (t2, t3) = (at("2026-12-02T09:00:00Z"), at("2026-12-02T10:00:00Z"));
    let late = engine.decide(&p, &b, t3, options).unwrap();
    let early = engine.decide(&p, &a, t2, options).unwrap();
    assert_eq!((early.emissions.len(), late.emissions.len()), (1, 1));
    assert_eq!(a.commit(&early.update()).unwrap(), Commit::Committed);
    assert_eq!(
        b.commit(&late.update()).unwrap(),
        Commit::Conflict(vec!["c-1".into()])
    );
    let again = engine.decide(&p, &b, t3, options).unwrap();
    assert!(again.emissions.is_empty(), "{again:?}");
    b.commit(&again.update()).unwrap();
    assert_eq!(a.times_sent("c-1", "first").unwrap(), 2);
    assert_eq!(a.times_sent("c-1", "second").unwrap(), 0);
}

/// Decides every profile at each instant of `instants` through a batch of
/// `size` over `store`, deciding again the profiles of a conflict until
/// their batch commits.
fn decide_all(
    engine: &Engine,
    profiles: &[Profile],
    instants: &[Timestamp],
    mut store: Batched<PostgresHistory>,
) {
    for now in instants {
        let mut todo: Vec<&Profile> = profiles.iter().collect();
        while !todo.is_empty() {
            let mut retry = Vec::new();
            for p in &todo {
                let decision = engine.decide(p, &store, *now, Options::default()).unwrap();
                store.commit(&decision.update()).unwrap();
                if store.is_full() {
                    retry.extend(conflicts(&mut store, profiles));
                }
            }
            retry.extend(conflicts(&mut store, profiles));
            todo = retry;
        }
    }
}

/// Flushes `store`: the profiles to decide again.
fn conflicts<'a>(
    store: &mut Batched<PostgresHistory>,
    profiles: &'a [Profile],
) -> Vec<&'a Profile> {
    match store.flush().unwrap() {
        Commit::Committed => Vec::new(),
        Commit::Conflict(ids) => (profiles.iter())
            .filter(|p| ids.iter().any(|id| id == p.id()))
            .collect(),
    }
}

#[test]
fn eight_writers_deciding_the_same_profiles_leave_what_one_writer_leaves() {
    race("race", Locking::Advisory);
}

#[test]
fn eight_writers_locking_rows_leave_what_one_writer_leaves() {
    race("race_rows", Locking::Rows);
}

fn race(database: &str, locking: Locking) {
    let url = cluster().database(database);
    let engine = engine();
    let profiles: Vec<Profile> = (0..6)
        .map(|i| profile(&engine, &format!("c-{i}")))
        .collect();
    let instants = [
        "2026-11-24T09:00:00Z",
        "2026-11-26T09:00:00Z",
        "2026-12-02T09:00:00Z",
    ]
    .map(at);
    let sizes = [1, 2, 3, 4, 1, 2, 3, 4];
    // All connected before any decides, so that they do race.
    let start = Barrier::new(sizes.len());
    std::thread::scope(|scope| {
        for size in sizes {
            let history = PostgresHistory::connect(&url).unwrap().locking(locking);
            let store = Batched::new(history, size);
            let (engine, profiles, start) = (&engine, &profiles, &start);
            scope.spawn(move || {
                start.wait();
                decide_all(engine, profiles, &instants, store);
            });
        }
    });

    let mut model = MemoryHistory::new();
    for now in instants {
        for p in &profiles {
            let decision = engine.decide(p, &model, now, Options::default()).unwrap();
            model.record(&decision.update()).unwrap();
        }
    }
    let store = PostgresHistory::connect(&url).unwrap();
    for p in &profiles {
        let id = p.id();
        assert_eq!(store.records(id).unwrap(), model.records(id), "{id}");
        // The cap: one send a week (two weeks were decided).
        assert_eq!(store.times_sent(id, "first").unwrap(), 2, "{id}");
    }
}

/// The JSON lines of `nextbest decide` with `args` over `profiles`.
#[cfg(feature = "cli")]
fn decide_lines(args: &[&str], profiles: &str) -> Vec<serde_json::Value> {
    let mut all = vec!["decide", "--profiles", "-"];
    all.extend(args);
    let out = common::nextbest(&all, Some(profiles));
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    (common::text(&out.stdout).lines())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[cfg(feature = "cli")]
#[test]
fn decide_with_a_postgresql_history_records_replays_and_honours_the_cap() {
    let dir = common::Scratch::new("pg-cli");
    let rules = dir.file("rules.toml");
    std::fs::write(&rules, CAPPED).unwrap();
    let rules = rules.to_str().unwrap();
    let database = cluster().database_name("cli");
    let url = cluster().url_form(&database);
    let profiles = "{\"id\": \"c-1\", \"traits\": {\"n\": 3}}\n";
    let run = |now: &str, extra: &[&str]| {
        let mut args = vec![rules, "--now", now, "--history", &url];
        args.extend(extra);
        decide_lines(&args, profiles)
    };

    // A dry run over a database without the tables creates none.
    assert_eq!(run("2026-11-24T09:00:00Z", &["--dry-run"]).len(), 1);
    let mut admin = postgres::Client::connect(&cluster().url(&database), postgres::NoTls).unwrap();
    let tables: Option<String> = admin
        .query_one("SELECT to_regclass('nextbest_records')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, None);

    let first = run("2026-11-24T09:00:00Z", &[]);
    assert_eq!(first.len(), 1, "{first:?}");
    // At the same instant: the same send, replayed, recorded once.
    assert_eq!(run("2026-11-24T09:00:00Z", &[]), first);
    let history = PostgresHistory::connect(&url).unwrap();
    assert_eq!(history.records("c-1").unwrap().len(), 1);
    // A day later the weekly cap holds both actions back.
    assert!(run("2026-11-25T09:00:00Z", &[]).is_empty());
    assert_eq!(history.times_sent("c-1", "first").unwrap(), 1);
    assert_eq!(history.times_sent("c-1", "second").unwrap(), 0);
}
