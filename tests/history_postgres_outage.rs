//! `nextbest decide --history postgresql://…` when the server goes away and
//! when several processes decide the same profiles at once, against real
//! servers (`common::pg`, a cluster of each test's own).
//!
//! - The server stopped (immediate shutdown, as in a crash) in the middle of
//!   a run: the run fails with a clear error and exit code 1; every record
//!   the server holds after its restart was written as a line first (at
//!   least once), and what was committed before the stop is still there;
//!   the rerun completes, and the store then holds exactly what one
//!   uninterrupted run leaves.
//! - Three processes deciding the same profiles at the same instant, two
//!   threads each: every run succeeds (a profile another process decided
//!   first is decided again, from its record), and the store holds exactly
//!   what one process alone leaves: no cap or `max_sends` exceeded, no
//!   journey step or record twice.
#![cfg(all(feature = "postgres", feature = "cli"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::Cluster;
use common::{NOW, RULES};

/// `nextbest decide` of the bundled rules at [`NOW`] into the history at
/// `url`, reading its profiles from `profiles` (`-` for its stdin).
fn decide(url: &str, profiles: &str, stdin: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .args(["decide", RULES, "--now", NOW, "--threads", "2"])
        .args(["--profiles", profiles, "--history", url])
        .current_dir(common::root())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every (profile, action, key) of the sends of a database.
fn sends(cluster: &Cluster, database: &str) -> BTreeSet<(String, String, String)> {
    let mut client = postgres::Client::connect(&cluster.url(database), postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT profile_id, action, key FROM nextbest_records WHERE outcome = 'sent'",
            &[],
        )
        .unwrap();
    let all: Vec<(String, String, String)> = (rows.iter())
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), distinct.len(), "a send recorded twice");
    distinct
}

/// Every record of a database, with its journey step, in recording order.
fn records(cluster: &Cluster, database: &str) -> BTreeSet<String> {
    let mut client = postgres::Client::connect(&cluster.url(database), postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT profile_id || ' ' || key || ' ' || action || ' ' || outcome || ' ' || \
             coalesce(journey || '/' || step, '-') FROM nextbest_records",
            &[],
        )
        .unwrap();
    let all: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), distinct.len(), "a record twice");
    distinct
}

/// The (profile, action, key) of each emission line of `stdout`.
fn emitted(stdout: &str) -> BTreeSet<(String, String, String)> {
    (stdout.lines())
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line.get("key").is_some())
        .map(|line| {
            let field = |name: &str| line[name].as_str().unwrap().to_owned();
            (field("profile"), field("action"), field("key"))
        })
        .collect()
}

/// What one uninterrupted run of `profiles` leaves in a fresh database.
fn one_run(cluster: &Cluster, profiles: &std::path::Path) -> String {
    let database = cluster.database_name("reference");
    let run = decide(
        &cluster.url_form(&database),
        profiles.to_str().unwrap(),
        Stdio::null(),
    );
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    database
}

#[test]
fn a_server_stopped_mid_run_fails_it_cleanly_and_loses_nothing_committed() {
    let cluster = Cluster::private("outage");
    let dir = common::Scratch::new("pg-outage");
    let profiles = common::many_customers(4096);
    let file = dir.file("profiles.jsonl");
    std::fs::write(&file, &profiles).unwrap();
    let database = cluster.database_name("outage");
    let url = cluster.url_form(&database);
    let lines: Vec<&str> = profiles.lines().collect();
    let (first_half, second_half) = lines.split_at(2048);

    let mut run = decide(&url, "-", Stdio::piped());
    let mut stdin = run.stdin.take().unwrap();
    // Read as it comes: a full pipe would stop the run before its commit.
    let mut output = run.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        output.read_to_string(&mut text).map(|_| text)
    });
    for line in first_half {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    // The run commits each chunk of 1 024 profiles once its lines are
    // written: wait for the first commit, then stop the server under it.
    let mut admin = postgres::Client::connect(&cluster.url(&database), postgres::NoTls).unwrap();
    let started = Instant::now();
    let committed = loop {
        let count: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_tables t WHERE t.tablename = 'nextbest_records'",
                &[],
            )
            .and_then(|row| row.try_get(0))
            .unwrap();
        if count > 0 {
            let records: i64 = admin
                .query_one("SELECT count(*) FROM nextbest_records", &[])
                .unwrap()
                .get(0);
            if records > 0 {
                break records;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no commit came"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(admin);
    cluster.stop_immediately();
    // The rest of the input: the run decides it against a server that is
    // gone (it may have stopped reading already).
    for line in second_half {
        if writeln!(stdin, "{line}").is_err() {
            break;
        }
    }
    drop(stdin);
    let out = run.wait_with_output().unwrap();
    let stdout = reader.join().unwrap().unwrap();
    let stderr = common::text(&out.stderr);
    eprintln!("the run over a stopped server said: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: PostgreSQL history store:") && !stderr.contains("panicked"),
        "{stderr}"
    );

    cluster.restart();
    // Nothing committed was lost, and nothing was recorded without its line.
    let kept = sends(&cluster, &database);
    let mut admin = postgres::Client::connect(&cluster.url(&database), postgres::NoTls).unwrap();
    let records_kept: i64 = admin
        .query_one("SELECT count(*) FROM nextbest_records", &[])
        .unwrap()
        .get(0);
    assert!(records_kept >= committed, "{records_kept} < {committed}");
    let lines_written = emitted(&stdout);
    assert!(kept.is_subset(&lines_written), "a record without its line");

    // The rerun completes; the store holds what one uninterrupted run leaves.
    let rerun = decide(&url, file.to_str().unwrap(), Stdio::null());
    let out = rerun.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let reference = one_run(&cluster, &file);
    assert_eq!(records(&cluster, &database), records(&cluster, &reference));
    assert_eq!(sends(&cluster, &database), sends(&cluster, &reference));
}

#[test]
fn processes_deciding_the_same_profiles_at_once_leave_what_one_process_leaves() {
    let cluster = Cluster::private("procs");
    let dir = common::Scratch::new("pg-procs");
    let file = dir.file("profiles.jsonl");
    std::fs::write(&file, common::many_customers(3000)).unwrap();
    let database = cluster.database_name("shared");
    let url = cluster.url_form(&database);

    let runs: Vec<Child> = (0..3)
        .map(|_| decide(&url, file.to_str().unwrap(), Stdio::null()))
        .collect();
    let mut written = BTreeSet::new();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
        written.extend(emitted(&common::text(&out.stdout)));
    }
    let reference = one_run(&cluster, &file);
    let recorded = sends(&cluster, &database);
    assert_eq!(recorded, sends(&cluster, &reference));
    assert_eq!(records(&cluster, &database), records(&cluster, &reference));
    // Each send recorded was written by some process.
    assert!(recorded.is_subset(&written));
}
