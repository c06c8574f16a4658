//! Decisions recorded through the history seam (issue 14): decide a profile,
//! then commit its update, as a service does, through each store in the
//! same run.
//!
//! ids: `history/memory` (`MemoryHistory`, one commit per decision),
//! `history/durable_one_by_one` (`DurableHistory`, one durable commit per
//! decision), `history/durable_batched_1000` (`DurableHistory` through
//! `Batched`, 1 000 decisions per commit). Each iteration starts from the
//! same history (the bundled customers decided three days earlier, so that
//! cooldowns, caps and journeys read something), copied in untimed, and
//! decides every profile once at `NOW`; throughput is decisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nextbest::decide::{Engine, Options};
use nextbest::history::{Batched, Commit, DurableHistory, History, MemoryHistory};
use nextbest::{Profile, Timestamp};

/// Profiles decided per iteration through the in-memory and batched stores.
const PROFILES: usize = 10_000;
/// Profiles decided per iteration one durable commit at a time: each costs
/// two fsyncs, so fewer.
const ONE_BY_ONE: usize = 200;
const BATCH: usize = 1_000;
const NOW: &str = "2026-11-24T09:00:00Z";
const EARLIER: &str = "2026-11-21T09:00:00Z";

/// Decides every profile at `now` through `history`, committing each
/// decision, then calling `after_each`; returns how many emissions.
fn decide_all<H: History>(
    engine: &Engine,
    profiles: &[Profile],
    history: &mut H,
    now: Timestamp,
    after_each: impl Fn(&mut H),
) -> usize {
    let mut emitted = 0;
    for profile in profiles {
        let decision = engine
            .decide(black_box(profile), &*history, now, Options::default())
            .unwrap();
        emitted += decision.emissions.len();
        assert_eq!(
            history.commit(&decision.update()).unwrap(),
            Commit::Committed
        );
        after_each(history);
    }
    emitted
}

fn flush_when_full(batch: &mut Batched<DurableHistory>) {
    if batch.is_full() {
        assert_eq!(batch.flush().unwrap(), Commit::Committed);
    }
}

/// A copy of the store at `from`, to decide over.
fn copy(from: &Path, to: &Path) -> DurableHistory {
    std::fs::copy(from, to).unwrap();
    DurableHistory::open(to).unwrap()
}

fn bench(c: &mut Criterion) {
    let engine = common::classic_engine();
    let profiles = common::customers(&engine, PROFILES);
    let (now, earlier) = (
        Timestamp::parse(NOW).unwrap(),
        Timestamp::parse(EARLIER).unwrap(),
    );

    // The same history in memory and on disk: every profile decided once,
    // three days before.
    let mut memory = MemoryHistory::new();
    decide_all(&engine, &profiles, &mut memory, earlier, |_| {});
    let dir = std::env::temp_dir().join(format!("nextbest-bench-seam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base: PathBuf = dir.join("base.redb");
    let _ = std::fs::remove_file(&base);
    let mut batch = Batched::new(DurableHistory::open(&base).unwrap(), BATCH);
    decide_all(&engine, &profiles, &mut batch, earlier, flush_when_full);
    assert_eq!(batch.flush().unwrap(), Commit::Committed);
    drop(batch);
    let work = dir.join("work.redb");

    // What every store must emit: the in-memory history's decisions.
    let emitted = decide_all(&engine, &profiles, &mut memory.clone(), now, |_| {});
    let emitted_first = decide_all(
        &engine,
        &profiles[..ONE_BY_ONE],
        &mut memory.clone(),
        now,
        |_| {},
    );
    eprintln!("history seam: {PROFILES} profiles, {emitted} emissions at {NOW}");

    let mut group = c.benchmark_group("history");
    group.sample_size(10);
    group.warm_up_time(StdDuration::from_secs(1));
    group.measurement_time(StdDuration::from_secs(10));
    group.throughput(Throughput::Elements(PROFILES as u64));
    group.bench_function("memory", |b| {
        b.iter_batched(
            || memory.clone(),
            |mut history| {
                let total = decide_all(&engine, &profiles, &mut history, now, |_| {});
                assert_eq!(total, emitted);
                history
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("durable_batched_1000", |b| {
        b.iter_batched(
            || Batched::new(copy(&base, &work), BATCH),
            |mut batch| {
                let total = decide_all(&engine, &profiles, &mut batch, now, flush_when_full);
                assert_eq!(batch.flush().unwrap(), Commit::Committed);
                assert_eq!(total, emitted, "the durable store decides as memory");
                batch
            },
            BatchSize::PerIteration,
        );
    });
    group.throughput(Throughput::Elements(ONE_BY_ONE as u64));
    group.bench_function("durable_one_by_one", |b| {
        b.iter_batched(
            || copy(&base, &work),
            |mut durable| {
                let first = &profiles[..ONE_BY_ONE];
                let total = decide_all(&engine, first, &mut durable, now, |_| {});
                assert_eq!(total, emitted_first);
                durable
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
