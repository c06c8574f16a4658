//! The durable store on a failing disk, through a redb storage backend of
//! the test's own: a write that fails is not acknowledged and leaves the
//! store whole; a read that fails fails the decision that needed it (SPEC
//! §5 item 8), never answering "never sent"; an upgrade from format 3 cut
//! short leaves the old store readable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use common::{record, v3};
use nextbest::decide::{Engine, Options};
use nextbest::history::{DurableHistory, History, HistoryError, Outcome, Update};
use nextbest::rules::{Category, Format, RuleSet};
use nextbest::{Error, Profile, Timestamp};

/// An in-memory "disk" whose every write, sync and resize fails once a
/// budget of operations is spent, as a full or failing disk would, and
/// whose reads fail while `failing_reads` is set.
#[derive(Debug, Clone)]
struct FlakyDisk {
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Operations left before failures start; negative: never fail.
    budget: Arc<AtomicI64>,
    failing_reads: Arc<AtomicBool>,
}

impl FlakyDisk {
    fn new() -> FlakyDisk {
        FlakyDisk::holding(Vec::new())
    }

    /// A disk holding `bytes`, never failing.
    fn holding(bytes: Vec<u8>) -> FlakyDisk {
        FlakyDisk {
            bytes: Arc::new(Mutex::new(bytes)),
            budget: Arc::new(AtomicI64::new(-1)),
            failing_reads: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same bytes, never failing: the disk after a restart.
    fn restarted(&self) -> FlakyDisk {
        FlakyDisk {
            bytes: Arc::clone(&self.bytes),
            budget: Arc::new(AtomicI64::new(-1)),
            failing_reads: Arc::new(AtomicBool::new(false)),
        }
    }

    fn spend(&self) -> io::Result<()> {
        let left = self.budget.load(Ordering::SeqCst);
        if left < 0 {
            return Ok(());
        }
        if left == 0 {
            return Err(io::Error::other("injected disk failure"));
        }
        self.budget.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

impl redb::StorageBackend for FlakyDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.lock().unwrap().len() as u64)
    }

    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if self.failing_reads.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected read failure"));
        }
        let bytes = self.bytes.lock().unwrap();
        let start = usize::try_from(offset).unwrap();
        bytes
            .get(start..start + len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.spend()?;
        self.bytes
            .lock()
            .unwrap()
            .resize(usize::try_from(len).unwrap(), 0);
        Ok(())
    }

    fn sync_data(&self, _eventual: bool) -> io::Result<()> {
        self.spend()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.spend()?;
        let mut bytes = self.bytes.lock().unwrap();
        let start = usize::try_from(offset).unwrap();
        bytes[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
}

#[test]
fn a_failed_write_is_not_acknowledged_and_leaves_the_store_whole() {
    let m = Category::Marketing;
    let first = [
        record("c-1", "mail", "email", m, Outcome::Sent, 10),
        record("c-2", "mail", "email", m, Outcome::Sent, 11),
    ];
    let second = [
        record("c-1", "mail", "email", m, Outcome::Sent, 20),
        record("c-1", "push", "push", m, Outcome::Sent, 21),
        record("c-3", "mail", "email", m, Outcome::HeldOut, 22),
    ];
    let mut saw_failure = false;
    let mut budget = 0;
    loop {
        let disk = FlakyDisk::new();
        let mut history = DurableHistory::open_backend("flaky.redb", disk.clone()).unwrap();
        history.record(&Update::from(first.to_vec())).unwrap();
        disk.budget.store(budget, Ordering::SeqCst);
        let result = history.record(&Update::from(second.to_vec()));
        if result.is_err() {
            // redb refuses to write on after a failed write, until reopened.
            disk.budget.store(-1, Ordering::SeqCst);
            let again = history.record(&Update::from(vec![record(
                "c-9",
                "mail",
                "email",
                m,
                Outcome::Sent,
                1,
            )]));
            assert!(again.is_err(), "budget {budget}");
        }
        drop(history);

        let history = DurableHistory::open_backend("flaky.redb", disk.restarted()).unwrap();
        let whole = history.times_sent("c-1", "mail").unwrap() == 2;
        match &result {
            Ok(()) => assert!(whole, "acknowledged but not stored (budget {budget})"),
            Err(error) => {
                saw_failure = true;
                assert!(matches!(error, HistoryError::Io { .. }), "{error:?}");
                assert!(error.to_string().contains("flaky.redb"), "{error}");
                // The disk's error stays reachable, for its kind.
                assert!(std::error::Error::source(error).is_some(), "{error:?}");
            }
        }
        // All of the second batch or none of it, and the first one intact.
        let expected: (u32, u32, usize) = if whole { (2, 1, 1) } else { (1, 0, 0) };
        assert_eq!(
            (
                history.times_sent("c-1", "mail").unwrap(),
                history.times_sent("c-1", "push").unwrap(),
                history.records("c-3").unwrap().len(),
            ),
            expected,
            "budget {budget}"
        );
        assert_eq!(history.times_sent("c-2", "mail").unwrap(), 1);
        assert_eq!(
            history
                .sends_after("c-1", None, m, Timestamp::from_micros(0))
                .unwrap(),
            expected.0 + expected.1
        );
        assert_eq!(history.len().unwrap(), 2 + 3 * usize::from(whole) as u64);
        if result.is_ok() {
            break;
        }
        budget += 1;
        assert!(budget < 1_000, "record never succeeded");
    }
    assert!(saw_failure);
}

#[test]
fn a_failed_read_fails_the_decision() {
    let engine = Engine::new(
        RuleSet::parse(
            "[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n\
             [[action]]\nid = \"mail\"\nchannel = \"email\"\ntrigger = \"n > 0\"\nmax_sends = 1\n",
            Format::Toml,
            "rules.toml",
        )
        .unwrap(),
    );
    let m = Category::Marketing;
    // Enough profiles that the tables span many pages, most of them never
    // read while the store opens.
    let sent: Vec<_> = (0..3_000)
        .map(|i| record(&format!("c-{i}"), "mail", "email", m, Outcome::Sent, 10))
        .collect();
    let disk = FlakyDisk::new();
    let mut history = DurableHistory::open_backend("flaky.redb", disk.clone()).unwrap();
    history.record(&Update::from(sent)).unwrap();
    drop(history);

    let disk = disk.restarted();
    let history = DurableHistory::open_backend("flaky.redb", disk.clone()).unwrap();
    disk.failing_reads.store(true, Ordering::SeqCst);
    let profile = Profile::builder(&engine.rules().schema, "c-2999")
        .attribute("n", 1)
        .build()
        .unwrap();
    let now = Timestamp::from_micros(1_000);
    match engine.decide(&profile, &history, now, Options::default()) {
        Err(Error::History(error @ HistoryError::Io { .. })) => {
            assert!(error.to_string().contains("flaky.redb"), "{error}");
        }
        other => panic!("a decision from a failed read: {other:?}"),
    }
    // redb refuses every read on after a failed one; opened again, the
    // store answers, and `max_sends` holds the profile back.
    let again = engine.decide(&profile, &history, now, Options::default());
    assert!(matches!(again, Err(Error::History(_))), "{again:?}");
    drop(history);
    disk.failing_reads.store(false, Ordering::SeqCst);
    let history = DurableHistory::open_backend("flaky.redb", disk).unwrap();
    let decision = engine.decide(&profile, &history, now, Options::default());
    assert!(decision.unwrap().emissions.is_empty());
}

#[test]
fn an_upgrade_cut_short_leaves_the_old_store_readable() {
    let m = Category::Marketing;
    let updates = [
        Update::from(vec![
            record("c-1", "mail", "email", m, Outcome::Sent, 10),
            record("c-2", "mail", "email", m, Outcome::HeldOut, 10),
        ]),
        Update::from(vec![
            record("c-1", "push", "push", m, Outcome::Sent, 20),
            record("c-1", "mail", "email", m, Outcome::Sent, 20),
        ]),
    ];
    let dir = common::Scratch::new("upgrade-cut-short");
    let file = dir.file("v3.redb");
    // Compacted at 15: c-1's first send is only counted any more.
    v3::write_v3(&file, &updates, Some(15));
    let v3_bytes = std::fs::read(&file).unwrap();
    // Every answer, before and after an upgrade however it ended.
    let answers = |history: &DurableHistory| {
        let after = Timestamp::from_micros(15);
        (
            history.times_sent("c-1", "mail").unwrap(),
            history.last_sent("c-1", "mail").unwrap(),
            history.sends_after("c-1", None, m, after).unwrap(),
            history.records("c-1").unwrap(),
            history.records("c-2").unwrap(),
            history.last_decided_at("c-2").unwrap(),
            history.len().unwrap(),
        )
    };
    let expected = answers(&DurableHistory::open(&file).unwrap());
    assert_eq!(expected.0, 2);
    assert_eq!(expected.3.len(), 2);
    let mut failed = 0;
    for budget in 0.. {
        assert!(budget < 1_000, "the upgrade never succeeded");
        let disk = FlakyDisk::holding(v3_bytes.clone());
        disk.budget.store(budget, Ordering::SeqCst);
        let opened = DurableHistory::open_backend("flaky.redb", disk.clone());
        let done = opened.is_ok();
        if let Err(error) = opened {
            failed += 1;
            assert!(error.to_string().contains("flaky.redb"), "{error}");
        }
        // After the restart, the store opens (upgraded now, or before) and
        // answers as before.
        let history = DurableHistory::open_backend("flaky.redb", disk.restarted()).unwrap();
        assert_eq!(answers(&history), expected, "budget {budget}");
        if done {
            break;
        }
    }
    assert!(failed > 0, "no upgrade was cut short");
}
