//! Decisions through the PostgreSQL history (issue 14) against the
//! in-memory history in the same run, as a service decides with the
//! library: `Engine::decide_batch` over 1 000 profiles (their snapshots read
//! in slices, one statement each), each decision's update added to a
//! `Batched` history, and the batch committed as one transaction.
//!
//! ids: `history_postgres/memory` (`Batched<MemoryHistory>`) and
//! `history_postgres/postgres_batched_1000` (`Batched<PostgresHistory>`, a
//! cluster of the bench's own on a unix socket, flushing each commit to the
//! disk as a production server does). Each iteration starts from the same
//! history (the bundled customers under 10 000 ids, decided three days
//! earlier; a copy of a template database for PostgreSQL, made untimed)
//! and decides every profile once; throughput is decisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/pg.rs"]
mod pg;

mod common;

use std::time::Duration as StdDuration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nextbest::decide::{Engine, Options};
use nextbest::history::{Batched, Commit, History, MemoryHistory, PostgresHistory};
use nextbest::{Profile, Timestamp};

const PROFILES: usize = 10_000;
const BATCH: usize = 1_000;
const NOW: &str = "2026-11-24T09:00:00Z";
const EARLIER: &str = "2026-11-21T09:00:00Z";

/// Decides every profile at `now`, `BATCH` at a time, committing each
/// batch as one transaction; returns how many emissions.
fn decide_in_batches<H: History + Sync>(
    engine: &Engine,
    profiles: &[Profile],
    batch: &mut Batched<H>,
    now: Timestamp,
) -> usize {
    let mut emitted = 0;
    for slice in profiles.chunks(BATCH) {
        let decisions = engine.decide_batch(slice, &*batch, now, Options::default());
        for decision in decisions {
            let decision = decision.unwrap();
            emitted += decision.emissions.len();
            assert_eq!(batch.commit(&decision.update()).unwrap(), Commit::Committed);
        }
        assert_eq!(batch.flush().unwrap(), Commit::Committed);
    }
    emitted
}

fn bench(c: &mut Criterion) {
    let engine = common::classic_engine();
    let profiles = common::customers(&engine, PROFILES);
    let (now, earlier) = (
        Timestamp::parse(NOW).unwrap(),
        Timestamp::parse(EARLIER).unwrap(),
    );

    let mut memory = Batched::new(MemoryHistory::new(), BATCH);
    decide_in_batches(&engine, &profiles, &mut memory, earlier);
    let memory = memory.store().clone();
    let cluster = pg::Cluster::durable("bench");
    let template = cluster.database_name("template");
    let mut base = Batched::new(
        PostgresHistory::connect(&cluster.url(&template)).unwrap(),
        BATCH,
    );
    decide_in_batches(&engine, &profiles, &mut base, earlier);
    drop(base);
    // Statistics, as autovacuum keeps them on a live database: without
    // them the planner guesses the tables' sizes.
    postgres::Client::connect(&cluster.url(&template), postgres::NoTls)
        .unwrap()
        .batch_execute("VACUUM ANALYZE")
        .unwrap();
    let emitted = decide_in_batches(
        &engine,
        &profiles,
        &mut Batched::new(memory.clone(), BATCH),
        now,
    );
    eprintln!("history_postgres: {PROFILES} profiles, {emitted} emissions at {NOW}");

    let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).unwrap();
    let mut copies = 0;
    let mut copy = || {
        copies += 1;
        let name = format!("work{copies}");
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .unwrap();
        PostgresHistory::connect(&cluster.url(&name)).unwrap()
    };

    let mut group = c.benchmark_group("history_postgres");
    group.sample_size(10);
    group.warm_up_time(StdDuration::from_secs(1));
    group.measurement_time(StdDuration::from_secs(10));
    group.throughput(Throughput::Elements(PROFILES as u64));
    group.bench_function("memory", |b| {
        b.iter_batched(
            || Batched::new(memory.clone(), BATCH),
            |mut batch| {
                assert_eq!(
                    decide_in_batches(&engine, &profiles, &mut batch, now),
                    emitted
                );
                batch
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("postgres_batched_1000", |b| {
        b.iter_batched(
            || Batched::new(copy(), BATCH),
            |mut batch| {
                let total = decide_in_batches(&engine, &profiles, &mut batch, now);
                assert_eq!(total, emitted, "PostgreSQL decides as memory");
                batch
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
