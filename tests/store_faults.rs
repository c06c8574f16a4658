//! Fault injection for the durable store, driven through the real binary
//! (`nextbest decide --history`) as a user drives it:
//!
//! - a store cut short at many points, and with bytes changed at many
//!   offsets (every k-th offset, and a seeded sample of the bytes in use);
//! - a process killed while it creates a store, and while it compacts one;
//! - a full disk, on a small tmpfs (only as root; skipped with a reason
//!   otherwise).
//!
//! Every run must exit 0 or 1, never panic, and when it fails say so
//! naming the store's file. A store that opens without error must still
//! hold every send of a run that exited 0 (its commit returned `Ok`).
//! Everything is deterministic: the kill tests assert what must hold at
//! whatever point the kill lands.
#![cfg(all(feature = "cli", unix))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;
use nextbest::Timestamp;
use nextbest::history::{DurableHistory, History, HistoryError};

/// One send a day at most: every day's run sends to every profile again.
const RULES: &str = r#"
[schema.traits]
n = "int"

[consent]
email = {}

[[action]]
id = "hello"
channel = "email"
trigger = "n > 0"
cooldown = "1d"
"#;

/// A directory of its own, removed when dropped, holding `rules.toml`.
fn scratch(name: &str) -> Scratch {
    let dir = Scratch::new(&format!("faults-{name}"));
    std::fs::write(dir.file("rules.toml"), RULES).unwrap();
    dir
}

/// A profiles file of `count` profiles in `dir`.
fn profiles_file(dir: &Scratch, count: usize) -> PathBuf {
    let path = dir.file(&format!("profiles-{count}.jsonl"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..count {
        writeln!(file, r#"{{"id": "p-{i}", "traits": {{"n": 1}}}}"#).unwrap();
    }
    file.flush().unwrap();
    path
}

/// The instant of day `day` of the test's calendar.
fn day(day: u32) -> String {
    format!("2026-11-{day:02}T09:00:00Z")
}

/// Starts `nextbest decide` over `profiles` at `now` with the store `store`.
fn spawn(dir: &Scratch, profiles: &Path, now: &str, store: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .arg("decide")
        .arg(dir.file("rules.toml"))
        .arg("--profiles")
        .arg(profiles)
        .args(["--now", now, "--history"])
        .arg(store)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What one run printed and how it ended.
struct Run {
    code: Option<i32>,
    /// (profile, key) of every emission line.
    sends: Vec<(String, String)>,
    stderr: String,
}

fn finish(child: Child) -> Run {
    run_of(&child.wait_with_output().unwrap())
}

fn run_of(output: &Output) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout);
    // A line cut by a kill has no newline: only complete lines count.
    let complete = stdout.rfind('\n').map_or("", |end| &stdout[..=end]);
    let sends = complete
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                json["profile"].as_str().unwrap().to_owned(),
                json["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    Run {
        code: output.status.code(),
        sends,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn decide(dir: &Scratch, profiles: &Path, now: &str, store: &Path, extra: &[&str]) -> Run {
    finish(spawn(dir, profiles, now, store, extra))
}

/// A run that ended on its own (not killed): exit 0, or exit 1 with an
/// error naming the store; never a panic.
fn assert_clean_end(run: &Run, store: &Path, what: &str) {
    assert!(
        !run.stderr.contains("panicked"),
        "{what}: a panic: {}",
        run.stderr
    );
    match run.code {
        Some(0) => {}
        Some(1) => assert!(
            run.stderr.contains(&store.display().to_string()),
            "{what}: the error does not name the store: {}",
            run.stderr
        ),
        code => panic!("{what}: exit {code:?}: {}", run.stderr),
    }
}

/// Every send acknowledged so far, by profile: the keys, in order.
type Acknowledged = BTreeMap<String, Vec<String>>;

fn acknowledge(acknowledged: &mut Acknowledged, run: &Run) {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for (profile, key) in &run.sends {
        acknowledged
            .entry(profile.clone())
            .or_default()
            .push(key.clone());
    }
}

/// The store at `store` holds every acknowledged send.
fn assert_holds(store: &Path, acknowledged: &Acknowledged, what: &str) {
    let history = DurableHistory::open_unchanged(store)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .unwrap_or_else(|| panic!("{what}: no store"));
    for (profile, keys) in acknowledged {
        let stored: Vec<String> = history
            .records(profile)
            .unwrap()
            .into_iter()
            .map(|r| r.key.to_string())
            .collect();
        for key in keys {
            assert!(stored.contains(key), "{what}: {profile}'s {key} was lost");
        }
    }
}

/// Runs decide on each of `days` in turn, each run exiting 0, and adds
/// their sends to `acknowledged`.
fn daily_runs(
    dir: &Scratch,
    profiles: &Path,
    store: &Path,
    days: std::ops::RangeInclusive<u32>,
    acknowledged: &mut Acknowledged,
) {
    for d in days {
        acknowledge(acknowledged, &decide(dir, profiles, &day(d), store, &[]));
    }
}

/// A store built by three daily runs over 40 profiles, and its sends.
fn small_store(dir: &Scratch) -> (PathBuf, Acknowledged) {
    let profiles = profiles_file(dir, 40);
    let store = dir.file("pristine.db");
    let mut acknowledged = Acknowledged::new();
    daily_runs(dir, &profiles, &store, 1..=3, &mut acknowledged);
    assert_eq!(acknowledged.values().map(Vec::len).sum::<usize>(), 120);
    (store, acknowledged)
}

/// xorshift64: a fixed sequence for a fixed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// Runs a decision on a damaged copy of the store: it must end cleanly, and
/// if it decided, the copy must still hold every acknowledged send (a send
/// lost would have been sent again: the cooldown held on day 3).
fn check_damaged(dir: &Scratch, damaged: &[u8], acknowledged: &Acknowledged, what: &str) {
    let store = dir.file("damaged.db");
    std::fs::write(&store, damaged).unwrap();
    let profiles = dir.file("profiles-40.jsonl");
    let run = decide(dir, &profiles, "2026-11-03T12:00:00Z", &store, &[]);
    assert_clean_end(&run, &store, what);
    if run.code == Some(0) {
        assert!(run.sends.is_empty(), "{what}: sent again: {:?}", run.sends);
        assert_holds(&store, acknowledged, what);
    } else {
        // The library refuses it too, with the same kind of error.
        let error = DurableHistory::open(&store).unwrap_err();
        assert!(
            error.to_string().contains(&store.display().to_string()),
            "{what}: {error}"
        );
    }
}

#[test]
fn a_store_cut_short_is_refused_naming_it_never_a_panic() {
    let dir = scratch("truncated");
    let (store, acknowledged) = small_store(&dir);
    let bytes = std::fs::read(&store).unwrap();
    // An empty file is no store yet (a new store is created in it): every
    // other length is checked.
    let mut lengths: Vec<usize> = vec![1, 8, 64, 511, 512, 4095, 4096, 4097];
    lengths.extend((1..32).map(|i| bytes.len() * i / 32));
    lengths.push(bytes.len() - 1);
    for length in lengths {
        check_damaged(
            &dir,
            &bytes[..length],
            &acknowledged,
            &format!("cut at {length} of {}", bytes.len()),
        );
    }
}

#[test]
fn a_store_with_bytes_changed_is_refused_or_answers_right_never_a_panic() {
    let dir = scratch("flipped");
    let (store, acknowledged) = small_store(&dir);
    let bytes = std::fs::read(&store).unwrap();
    // Every k-th offset, all bits flipped; then single bits flipped at a
    // seeded sample of the bytes in use (not zero), where the data is.
    let mut offsets: Vec<(usize, u8)> = (0..bytes.len())
        .step_by(bytes.len() / 48 + 1)
        .map(|offset| (offset, 0xff))
        .collect();
    let in_use: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != 0).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..96 {
        let offset = in_use[rng.below(in_use.len())];
        offsets.push((offset, 1 << rng.below(8)));
    }
    // The header, where redb starts reading.
    offsets.extend((0..64).step_by(3).map(|offset| (offset, 0x10)));
    for (offset, mask) in offsets {
        let mut damaged = bytes.clone();
        damaged[offset] ^= mask;
        check_damaged(
            &dir,
            &damaged,
            &acknowledged,
            &format!("byte {offset} ^ {mask:#04x}"),
        );
    }
}

#[test]
fn damage_to_the_last_commit_is_refused_not_rolled_back_over() {
    // The bytes the last run's commit wrote: where the store differs from
    // its copy taken before that run (past redb's header page).
    let dir = scratch("last-commit");
    let profiles = profiles_file(&dir, 40);
    let store = dir.file("pristine.db");
    let mut acknowledged = Acknowledged::new();
    daily_runs(&dir, &profiles, &store, 1..=2, &mut acknowledged);
    let before = std::fs::read(&store).unwrap();
    daily_runs(&dir, &profiles, &store, 3..=3, &mut acknowledged);
    let after = std::fs::read(&store).unwrap();
    let written: Vec<usize> = (4096..after.len())
        .filter(|&i| before.get(i) != Some(&after[i]))
        .collect();
    assert!(!written.is_empty());
    for offset in written.iter().step_by(written.len() / 24 + 1) {
        let mut damaged = after.clone();
        damaged[*offset] ^= 0x01;
        check_damaged(&dir, &damaged, &acknowledged, &format!("byte {offset}"));
    }
}

/// Kills `child` with SIGKILL as soon as `ready` holds (or at once after
/// two seconds), then waits for it.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() && start.elapsed() < Duration::from_secs(2) {
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait_with_output();
}

/// Whether `dir` holds a temporary file of a store's creation.
fn creating(dir: &Scratch) -> bool {
    std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".creating-"))
}

#[test]
fn a_process_killed_while_it_creates_the_store_leaves_none_or_a_whole_one() {
    let dir = scratch("killed-creating");
    let profiles = profiles_file(&dir, 3);
    for round in 0..12u32 {
        let store = dir.file(&format!("new-{round}.db"));
        let child = spawn(&dir, &profiles, &day(1), &store, &[]);
        // Killed as soon as the creation shows in the directory, then a
        // little later each round, through to after the rename.
        let delay = Duration::from_micros(u64::from(round) * 400);
        kill_when(child, || {
            let seen = creating(&dir) || store.exists();
            if seen {
                std::thread::sleep(delay);
            }
            seen
        });
        let run = decide(&dir, &profiles, &day(1), &store, &[]);
        assert_clean_end(&run, &store, &format!("round {round}"));
        assert_eq!(run.code, Some(0), "round {round}: {}", run.stderr);
        assert!(!creating(&dir), "round {round}: a temporary file is left");
        // Whatever the killed run committed, and the run after it, holds.
        let history = DurableHistory::open(&store).unwrap();
        for i in 0..3 {
            assert_eq!(history.times_sent(&format!("p-{i}"), "hello").unwrap(), 1);
        }
    }
}

#[test]
fn leftovers_of_a_killed_creation_are_removed_unless_in_use() {
    let dir = scratch("leftovers");
    let store = dir.file("history.db");
    // A killed creation: an empty file where the store goes, a temporary
    // file cut short; and a creation under way (its file locked).
    std::fs::write(&store, b"").unwrap();
    let stale = dir.file(".history.db.creating-1-1");
    std::fs::write(&stale, b"redb, cut short").unwrap();
    let busy = dir.file(".history.db.creating-2-2");
    let held = redb::Database::create(&busy).unwrap();
    // Another store's temporary file is not this store's business.
    let other = dir.file(".other.db.creating-3-3");
    std::fs::write(&other, b"").unwrap();

    let history = DurableHistory::open(&store).unwrap();
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(busy.exists(), "a creation under way keeps its file");
    assert!(other.exists());
    assert_eq!(history.len().unwrap(), 0);
    drop((history, held));
}

#[test]
fn a_process_killed_while_it_compacts_loses_no_acknowledged_send() {
    let dir = scratch("killed-compacting");
    let profiles = profiles_file(&dir, 1500);
    let pristine = dir.file("pristine.db");
    let mut acknowledged = Acknowledged::new();
    daily_runs(&dir, &profiles, &pristine, 1..=4, &mut acknowledged);
    let bytes = std::fs::read(&pristine).unwrap();
    for (round, delay_ms) in [0u64, 2, 5, 10, 20, 40, 80, 160].into_iter().enumerate() {
        let store = dir.file(&format!("compacted-{round}.db"));
        std::fs::write(&store, &bytes).unwrap();
        // Day 4 again: nothing new is chosen (the day's decisions are
        // replayed), only the compaction writes.
        let child = spawn(&dir, &profiles, &day(4), &store, &["--compact"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill_when(child, || true);
        let run = decide(&dir, &profiles, &day(4), &store, &[]);
        assert_clean_end(&run, &store, &format!("round {round}"));
        assert_eq!(run.code, Some(0), "round {round}: {}", run.stderr);
        // Day 4's sends come out again under their keys, none other.
        assert_eq!(run.sends.len(), acknowledged.len(), "round {round}");
        for (profile, key) in &run.sends {
            let last = acknowledged[profile].last();
            assert_eq!(last, Some(key), "round {round}: {profile} sent anew");
        }
        // Compaction may drop old records, never the counters of sends.
        let history = DurableHistory::open(&store).unwrap();
        for (profile, keys) in &acknowledged {
            let sent = u32::try_from(keys.len()).unwrap();
            assert_eq!(
                history.times_sent(profile, "hello").unwrap(),
                sent,
                "{profile}"
            );
            let last = history.last_sent(profile, "hello").unwrap();
            assert_eq!(last, Some(Timestamp::parse(&day(4)).unwrap()));
        }
    }
}

/// A tmpfs of `size` mounted at `dir`, unmounted when dropped; `None`, with
/// the reason printed, when this test cannot mount one.
struct Mount(PathBuf);

impl Mount {
    fn new(dir: &Path, size: &str) -> Option<Mount> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::piped())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Mount(dir.to_path_buf())),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                println!("skipped: cannot mount a tmpfs (needs root): {why}");
                None
            }
            Err(e) => {
                println!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_run_naming_the_store_and_breaks_nothing() {
    let dir = scratch("full");
    let disk = dir.file("disk");
    std::fs::create_dir(&disk).unwrap();
    let Some(mount) = Mount::new(&disk, "512k") else {
        return;
    };
    let profiles = profiles_file(&dir, 2000);
    let store = disk.join("history.db");

    // Too small to create the store: an error, and no broken file.
    let run = decide(&dir, &profiles, &day(1), &store, &[]);
    assert_clean_end(&run, &store, "creating on a full disk");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.sends.len() < 2000);

    // With room for the store but not for a day of records.
    mount.resize("3m");
    let mut acknowledged = Acknowledged::new();
    let small = profiles_file(&dir, 20);
    acknowledge(
        &mut acknowledged,
        &decide(&dir, &small, &day(1), &store, &[]),
    );
    let filler = disk.join("filler");
    let _ = std::fs::write(&filler, vec![1u8; 4 << 20]);
    for d in 2..=3 {
        let run = decide(&dir, &profiles, &day(d), &store, &[]);
        assert_clean_end(&run, &store, &format!("day {d} on a full disk"));
        if run.code == Some(0) {
            acknowledge(&mut acknowledged, &run);
        }
    }
    assert_holds(&store, &acknowledged, "after the disk filled up");

    // Room again: the store carries on.
    std::fs::remove_file(&filler).unwrap();
    mount.resize("64m");
    let run = decide(&dir, &profiles, &day(4), &store, &[]);
    assert_clean_end(&run, &store, "after the disk was freed");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    acknowledge(&mut acknowledged, &run);
    assert_holds(&store, &acknowledged, "after the disk was freed");
    drop(mount);
}

#[test]
fn damage_is_an_error_of_its_own_naming_the_store() {
    let dir = scratch("error");
    let (store, _) = small_store(&dir);
    let bytes = std::fs::read(&store).unwrap();
    let cut = dir.file("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let error = DurableHistory::open(&cut).unwrap_err();
    assert!(
        matches!(&error, HistoryError::Damaged { path, .. } if *path == cut),
        "{error:?}"
    );
    assert!(error.to_string().contains("is damaged"), "{error}");
    let error = DurableHistory::open_unchanged(&cut).unwrap_err();
    assert!(matches!(error, HistoryError::Damaged { .. }), "{error:?}");
}

#[test]
fn history_verify_says_ok_with_counts_or_names_the_damage() {
    let dir = scratch("verify");
    let (store, _) = small_store(&dir);
    let verify = |path: &Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_nextbest"))
            .args(["history", "verify"])
            .arg(path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stdout, stderr)
    };
    let before = std::fs::read(&store).unwrap();
    let (code, stdout, stderr) = verify(&store);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{}: ok (120 records, 120 sends, 0 journey states)\n",
            store.display()
        )
    );
    assert_eq!(std::fs::read(&store).unwrap(), before, "verify changed it");

    let cut = dir.file("cut.db");
    std::fs::write(&cut, &before[..before.len() / 3]).unwrap();
    let (code, stdout, stderr) = verify(&cut);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: history store {} is damaged",
            cut.display()
        )),
        "{stderr}"
    );

    let missing = dir.file("missing.db");
    let (code, _, stderr) = verify(&missing);
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert!(!missing.exists(), "verify created it");
}
