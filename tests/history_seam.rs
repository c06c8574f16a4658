//! The seam between the engine and a history store (issue 14):
//!
//! - a read that fails fails the decision (SPEC §5 item 8), one by one, in
//!   a batch and through [`Batched`], never deciding as if nothing were sent;
//! - two writers deciding the same profile from the same history: the
//!   second commit conflicts, and deciding again honours what the first
//!   sent (a cap two different actions would both pass, a replay at the
//!   same instant), over the memory history, the durable store and
//!   [`Batched`];
//! - a snapshot that cannot answer for a decision (of another profile,
//!   starting after the longest cap window, without the sends of the
//!   decision it would replay) fails it;
//! - recording through [`Batched`], whatever the batch size, decides and
//!   records exactly as recording each decision at once (a property test
//!   over random sequences of decisions against `MemoryHistory`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::SeqCst;

use common::{CAPPED, Scratch};
use nextbest::decide::{Decision, Engine, Options};
use nextbest::history::{
    Batched, Commit, DurableHistory, History, HistoryError, MemoryHistory, ProfileSnapshot, Update,
};
use nextbest::rules::{Format, RuleSet};
use nextbest::{Error, EvalError, Profile, Timestamp};
use proptest::prelude::*;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn engine(rules: &str) -> Engine {
    Engine::new(RuleSet::parse(rules, Format::Toml, "rules.toml").unwrap())
}

fn profile(engine: &Engine, id: &str, n: i64) -> Profile {
    Profile::builder(&engine.rules().schema, id)
        .attribute("n", n)
        .build()
        .unwrap()
}

/// A store whose reads fail once `reads_left` is spent: a lost connection.
/// (An atomic, so that a batch may read it from several threads.)
struct FailingStore {
    inner: MemoryHistory,
    reads_left: AtomicU32,
}

impl FailingStore {
    fn new(reads: u32) -> FailingStore {
        FailingStore {
            inner: MemoryHistory::new(),
            reads_left: AtomicU32::new(reads),
        }
    }
}

impl History for FailingStore {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let spend = |left: u32| left.checked_sub(1);
        match self.reads_left.fetch_update(SeqCst, SeqCst, spend) {
            Ok(_) => self.inner.snapshot(profile, since, now),
            Err(_) => Err(HistoryError::Store("connection lost".into())),
        }
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        self.inner.commit(update)
    }
}

#[test]
fn a_failed_read_fails_the_decision_instead_of_answering_never_sent() {
    let engine = engine(CAPPED);
    let p = profile(&engine, "c-1", 9);
    let t1 = at("2026-11-24T09:00:00Z");
    let mut store = FailingStore::new(1);
    let first = engine.decide(&p, &store, t1, Options::default()).unwrap();
    assert_eq!(first.emissions.len(), 2, "{first:?}");
    store.record(&first.update()).unwrap();

    // A day later the cap and `max_sends` hold every action back; a store
    // that answered "never sent" on a failed read would send them again.
    let t2 = at("2026-11-25T09:00:00Z");
    let failed = engine.decide(&p, &store, t2, Options::default());
    match failed {
        Err(Error::History(HistoryError::Store(detail))) => assert_eq!(detail, "connection lost"),
        other => panic!("{other:?}"),
    }
    store.reads_left.store(1, SeqCst);
    let decided = engine.decide(&p, &store, t2, Options::default()).unwrap();
    assert!(decided.emissions.is_empty(), "{decided:?}");

    // Through a batch of the library, the same.
    let batch = Batched::new(store, 10);
    let failed = engine.decide(&p, &batch, t2, Options::default());
    assert!(matches!(failed, Err(Error::History(_))), "{failed:?}");
}

#[cfg(feature = "rayon")]
#[test]
fn a_failed_read_fails_the_decisions_of_a_batch_it_could_not_answer_for() {
    let engine = engine(CAPPED);
    let profiles: Vec<Profile> = (0..4)
        .map(|i| profile(&engine, &format!("c-{i}"), 9))
        .collect();
    let store = FailingStore::new(2);
    let now = at("2026-11-24T09:00:00Z");
    let decisions = engine.decide_batch(&profiles, &store, now, Options::default());
    let failed = (decisions.iter())
        .filter(|d| matches!(d, Err(Error::History(_))))
        .count();
    assert_eq!((decisions.len(), failed), (4, 2));
}

fn decide(engine: &Engine, profile: &Profile, history: &dyn History, now: Timestamp) -> Decision {
    engine
        .decide(profile, history, now, Options::default())
        .unwrap()
}

/// Two writers decide `c-1` from the same history: the second to commit
/// conflicts and decides again, from the first's decision.
fn two_writers(history: &mut dyn History) {
    let engine = engine(CAPPED);
    let p = profile(&engine, "c-1", 3);
    let t1 = at("2026-11-24T09:00:00Z");
    // Both read before either commits, at the same instant: a retried batch
    // on two replicas.
    let a = decide(&engine, &p, &*history, t1);
    let b = decide(&engine, &p, &*history, t1);
    assert_eq!(a.emissions, b.emissions);
    assert_eq!(history.commit(&a.update()).unwrap(), Commit::Committed);
    assert_eq!(
        history.commit(&b.update()).unwrap(),
        Commit::Conflict(vec!["c-1".into()])
    );
    let again = decide(&engine, &p, &*history, t1);
    assert!(again.replayed, "{again:?}");
    assert_eq!(
        again.emissions, a.emissions,
        "the same sends, the same keys"
    );
    assert_eq!(history.commit(&again.update()).unwrap(), Commit::Committed);

    // Later, at two different instants: each would pass the weekly cap with
    // its own action, the first with `first`, the second (whose snapshot
    // predates it) with `first` too; only one send a week may go out.
    let t2 = at("2026-12-02T09:00:00Z");
    let t3 = at("2026-12-02T10:00:00Z");
    let early = decide(&engine, &p, &*history, t2);
    let late = decide(&engine, &p, &*history, t3);
    assert_eq!((early.emissions.len(), late.emissions.len()), (1, 1));
    assert_eq!(history.commit(&late.update()).unwrap(), Commit::Committed);
    assert_eq!(
        history.commit(&early.update()).unwrap(),
        Commit::Conflict(vec!["c-1".into()])
    );
    // Decided again: earlier than the last decision, it chooses nothing.
    let again = decide(&engine, &p, &*history, t2);
    assert!(again.replayed && again.emissions.is_empty(), "{again:?}");
    assert_eq!(history.times_sent("c-1", "first").unwrap(), 2);
    assert_eq!(history.times_sent("c-1", "second").unwrap(), 0);
}

#[test]
fn a_conflict_makes_the_caller_decide_again_over_memory() {
    two_writers(&mut MemoryHistory::new());
}

#[test]
fn a_conflict_makes_the_caller_decide_again_over_the_durable_store() {
    let dir = Scratch::new("seam-conflict");
    two_writers(&mut DurableHistory::open(dir.file("history.redb")).unwrap());
}

#[test]
fn a_conflict_makes_the_caller_decide_again_through_a_batch() {
    two_writers(&mut Batched::new(MemoryHistory::new(), 1000));
}

#[test]
fn a_batch_that_conflicts_commits_nothing_and_keeps_the_other_profiles() {
    let engine = engine(CAPPED);
    let (p1, p2) = (profile(&engine, "c-1", 3), profile(&engine, "c-2", 3));
    let now = at("2026-11-24T09:00:00Z");
    let mut batch = Batched::new(MemoryHistory::new(), 100);
    for p in [&p1, &p2] {
        let decision = engine.decide(p, &batch, now, Options::default()).unwrap();
        assert_eq!(batch.commit(&decision.update()).unwrap(), Commit::Committed);
    }
    // Another writer decides `c-2` meanwhile, straight into the store.
    let other = engine
        .decide(&p2, batch.store(), now, Options::default())
        .unwrap();
    batch.store_mut().record(&other.update()).unwrap();
    assert_eq!(batch.flush().unwrap(), Commit::Conflict(vec!["c-2".into()]));
    assert_eq!(batch.store().times_sent("c-1", "first").unwrap(), 0);
    assert_eq!(batch.pending(), 1);
    // `c-2` decided again is the other writer's decision, replayed.
    let again = engine.decide(&p2, &batch, now, Options::default()).unwrap();
    assert!(again.replayed && again.emissions == other.emissions);
    assert_eq!(batch.flush().unwrap(), Commit::Committed);
    assert_eq!(batch.store().times_sent("c-1", "first").unwrap(), 1);
    assert_eq!(batch.store().times_sent("c-2", "first").unwrap(), 1);
}

/// The bundled rules and customers: journeys, caps, quiet hours, holdouts.
fn classic() -> (Engine, Vec<Profile>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let engine = Engine::new(RuleSet::load(format!("{root}/examples/rules/classic.toml")).unwrap());
    let customers =
        std::fs::read_to_string(format!("{root}/examples/data/customers.jsonl")).unwrap();
    let profiles = (customers.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| Profile::from_json(&engine.rules().schema, line).unwrap())
        .collect();
    (engine, profiles)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Decisions recorded through a batch of any size (flushed when full,
    /// and at the end) are those decided and recorded one by one, and leave
    /// the same records: a profile decided twice inside one batch sees its
    /// pending decision (a replay at the same instant, the caps and
    /// journeys it moved later).
    #[test]
    fn batched_recording_equals_one_by_one(
        steps in prop::collection::vec((0usize..40, 0i64..30), 1..80),
        size in 1usize..12,
    ) {
        let (engine, profiles) = classic();
        let options = Options::default().explain(true );
        let mut alone = MemoryHistory::new();
        let mut batch = Batched::new(MemoryHistory::new(), size);
        let mut now = at("2026-11-24T09:00:00Z");
        for (index, hours) in steps {
            // Time moves forward by whole hours, or not at all.
            now = Timestamp::from_micros(now.as_micros() + hours * 3_600_000_000);
            let p = &profiles[index];
            let one = engine.decide(p, &alone, now, options).unwrap();
            alone.record(&one.update()).unwrap();
            let batched = engine.decide(p, &batch, now, options).unwrap();
            prop_assert_eq!(&batched.emissions, &one.emissions);
            prop_assert_eq!(&batched.suppressions, &one.suppressions);
            prop_assert_eq!(&batched.journeys, &one.journeys);
            prop_assert_eq!(batched.replayed, one.replayed);
            prop_assert_eq!(batch.commit(&batched.update()).unwrap(), Commit::Committed);
            if batch.is_full() {
                prop_assert_eq!(batch.flush().unwrap(), Commit::Committed);
            }
        }
        prop_assert_eq!(batch.flush().unwrap(), Commit::Committed);
        for p in &profiles {
            prop_assert_eq!(batch.store().records(p.id()), alone.records(p.id()));
            prop_assert_eq!(
                batch.store().last_decided_at(p.id()).unwrap(),
                alone.last_decided_at(p.id()).unwrap()
            );
        }
    }
}

/// A store that knows when a profile was last decided but forgets what it
/// sent then: a decision at that instant must fail, not send afresh.
struct ForgetfulStore(MemoryHistory);

impl History for ForgetfulStore {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let full = self.0.snapshot(profile, since, now)?;
        let mut forgetful = ProfileSnapshot::new(profile, since);
        if let Some(at) = full.last_decided_at() {
            forgetful.set_last_decided_at(at);
        }
        Ok(forgetful)
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        self.0.commit(update)
    }
}

#[test]
fn a_snapshot_that_cannot_answer_for_the_decision_fails_it() {
    let engine = engine(CAPPED);
    let p = profile(&engine, "c-1", 9);
    let now = at("2026-11-24T09:00:00Z");
    let mismatch = |decided: Result<_, Error>, expected: &str| match decided {
        Err(Error::Eval(EvalError::SnapshotMismatch { profile, what })) => {
            assert_eq!((profile.as_str(), what), ("c-1", expected));
        }
        other => panic!("{other:?}"),
    };

    let mut store = ForgetfulStore(MemoryHistory::new());
    let first = decide(&engine, &p, &store, now);
    assert!(!first.emissions.is_empty());
    store.record(&first.update()).unwrap();
    let retried = engine.decide(&p, &store, now, Options::default());
    mismatch(retried, "it lacks the sends of the decision it replays");
    // Later than the last decision, it needs none of them.
    let later = at("2026-12-24T09:00:00Z");
    assert!(engine.decide(&p, &store, later, Options::default()).is_ok());

    let other = ProfileSnapshot::new("c-2", Timestamp::from_micros(0));
    let decided = engine.decide_from(&p, &other, now, Options::default());
    mismatch(decided.map_err(Error::from), "it is another profile's");
    // The weekly cap counts a week back: a snapshot of one day would
    // undercount it.
    let short = ProfileSnapshot::new("c-1", at("2026-11-23T09:00:00Z"));
    let decided = engine.decide_from(&p, &short, now, Options::default());
    mismatch(
        decided.map_err(Error::from),
        "it starts after the longest cap window",
    );
}
