//! The command line at its edges (issue 12): retried batches, closed and
//! failing outputs, odd arguments and inputs. Each test drives the real
//! binary and fails on the defect it is named after.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{CUSTOMERS, NOW, RULES, Scratch, nextbest, text};
use nextbest::history::DurableHistory;

/// `decide` over the bundled customers at `now`, with `extra` arguments.
fn decide(now: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["decide", RULES, "--profiles", CUSTOMERS, "--now", now];
    args.extend_from_slice(extra);
    let out = nextbest(&args, None);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn a_retried_batch_replays_and_contacts_no_one_again() {
    let dir = Scratch::new("retried-batch");
    let store = dir.file("history.redb");
    let history = ["--history", store.to_str().unwrap()];
    let (code, first, stderr) = decide(NOW, &history);
    assert_eq!(code, 0, "{stderr}");
    assert!(first.lines().count() >= 10, "{first}");
    let recorded = || DurableHistory::open(&store).unwrap().len().unwrap();
    let after_first = recorded();
    // Retried three times at the same instant: the same lines, the same
    // keys, nothing new chosen and nothing new recorded.
    for retry in 1..=3 {
        let (code, again, stderr) = decide(NOW, &history);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(again, first, "retry {retry} differs");
        assert_eq!(recorded(), after_first, "retry {retry} recorded more");
    }
    // An earlier instant chooses nothing at all.
    let (code, earlier, stderr) = decide("2026-11-23T09:00:00Z", &history);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(earlier, "");
    assert_eq!(recorded(), after_first);
}

/// A churn-risk profile of the bundled rules, opted in to email.
fn churner(id: &str, timezone: &str) -> String {
    format!(
        r#"{{"id": "{id}", "traits": {{"login_count_30d": 1, "login_count_60d": 10, "user_segment": "active", "email_opt_in": true, "timezone": "{timezone}"}}}}"#
    )
}

/// `count` churn-risk profiles, one per line, in a file of `dir`.
fn many_profiles(dir: &Scratch, count: usize) -> std::path::PathBuf {
    let path = dir.file("profiles.jsonl");
    let lines: Vec<String> = (0..count)
        .map(|i| churner(&format!("p-{i}"), "UTC"))
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

/// `eval RULES --expr EXPR` over profiles given on stdin.
fn eval_stdin(expr: &str, input: &str) -> std::process::Output {
    nextbest(
        &["eval", RULES, "--expr", expr, "--profiles", "-"],
        Some(input),
    )
}

/// `decide RULES --now NOW` over profiles given on stdin.
fn decide_stdin(now: &str, input: &str) -> std::process::Output {
    nextbest(
        &["decide", RULES, "--profiles", "-", "--now", now],
        Some(input),
    )
}

fn records_in(store: &std::path::Path) -> u64 {
    DurableHistory::open(store).unwrap().len().unwrap()
}

#[test]
fn a_closed_stdout_stops_decide_before_anything_is_recorded() {
    let dir = Scratch::new("closed-stdout");
    let store = dir.file("history.redb");
    // `>&-`: the process starts without a standard output at all.
    let out = std::process::Command::new("sh")
        .args(["-c", r#"exec "$0" "$@" >&-"#])
        .arg(env!("CARGO_BIN_EXE_nextbest"))
        .args(["decide", RULES, "--profiles", CUSTOMERS, "--now", NOW])
        .args(["--history", store.to_str().unwrap()])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("standard output is closed"),
        "{}",
        text(&out.stderr)
    );
    assert!(!store.exists(), "nothing was to be recorded");
}

#[test]
fn a_full_stdout_stops_decide_before_anything_is_recorded() {
    let dir = Scratch::new("full-stdout");
    let store = dir.file("history.redb");
    let profiles = many_profiles(&dir, 2_000);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .args(["decide", RULES, "--now", NOW, "--profiles"])
        .arg(&profiles)
        .args(["--history", store.to_str().unwrap()])
        .current_dir(common::root())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot write the output"));
    assert_eq!(records_in(&store), 0);
}

#[test]
fn a_reader_that_goes_away_fails_decide_and_unwritten_sends_are_not_recorded() {
    use std::io::{BufRead, BufReader};
    let dir = Scratch::new("broken-pipe");
    let store = dir.file("history.redb");
    let profiles = many_profiles(&dir, 20_000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .args(["decide", RULES, "--now", NOW, "--profiles"])
        .arg(&profiles)
        .args(["--history", store.to_str().unwrap()])
        .current_dir(common::root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -n 1`.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("was not recorded"));
    // What was recorded had been written: into the pipe at the most, and
    // a pipe and the output buffer hold far fewer lines than the input.
    let line = first.len() as u64;
    let most = (1 << 20) / line;
    assert!(
        records_in(&store) <= most,
        "{} > {most}",
        records_in(&store)
    );
}

#[test]
fn an_expression_may_start_with_a_minus() {
    let out = nextbest(
        &[
            "eval",
            RULES,
            "--expr",
            "-1 < login_count_30d",
            "--profiles",
            CUSTOMERS,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("cust-100\ttrue\n"));
}

#[test]
fn a_byte_order_mark_before_the_first_profile_is_skipped() {
    let input = format!("\u{feff}{}\n", churner("bom", "UTC"));
    let out = eval_stdin("login_count_30d = 1", &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "bom\ttrue\n");
}

#[test]
fn a_send_deferred_past_year_9999_is_refused() {
    // 22:00 is quiet: the send would go out at 08:00 of year 10000.
    let input = churner("late", "UTC");
    let out = decide_stdin("9999-12-31T22:00:00Z", &input);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("profile `late`") && stderr.contains("0000 to 9999"),
        "{stderr}"
    );
    // An instant that is in year 10000 once in UTC is not a timestamp.
    let out = decide_stdin("9999-12-31T23:00:00-05:00", &input);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--now"));
}

#[test]
fn an_unknown_time_zone_uses_the_default_and_says_so() {
    let input = format!(
        "{}\n{}\n",
        churner("mars", "Mars/Olympus"),
        churner("berlin", "Europe/Berlin")
    );
    // 22:00 UTC is quiet in UTC (the default) and in Berlin (23:00).
    let out = decide_stdin("2026-11-24T22:00:00Z", &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(r#""profile":"mars","action":"churn_email","channel":"email","send_at":"2026-11-25T08:00:00Z""#), "{stdout}");
    assert!(
        stdout.contains(r#""send_at":"2026-11-25T07:00:00Z""#),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("profile `mars`: time zone `Mars/Olympus` is not an IANA zone; quiet hours use the default zone `UTC`"),
        "{stderr}"
    );
    assert!(!stderr.contains("berlin"), "{stderr}");
    assert!(
        stderr.contains("1 of 2 profiles decided with a warning"),
        "{stderr}"
    );
}

#[test]
fn an_int_outside_the_i64_range_is_refused_not_rounded() {
    for value in [
        "-9223372036854775809",
        "9223372036854775808",
        "1e19",
        "9007199254740993.0",
    ] {
        let input = format!(r#"{{"id": "big", "traits": {{"login_count_30d": {value}}}}}"#);
        let out = eval_stdin("login_count_30d < 0", &input);
        assert_eq!(out.status.code(), Some(1), "{value}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("profile `big`, field `traits.login_count_30d`: expected int"),
            "{value}: {stderr}"
        );
    }
    // In range, and a whole float that is exact, still load.
    let input = r#"{"id": "ok", "traits": {"login_count_30d": -9223372036854775808}}
{"id": "three", "traits": {"login_count_30d": 3.0}}"#;
    let out = eval_stdin("login_count_30d < 0", input);
    assert_eq!(text(&out.stdout), "ok\ttrue\nthree\tfalse\n");
}

#[test]
fn an_explained_instant_past_year_9999_is_written_as_the_last_rfc_3339_one() {
    let dir = Scratch::new("far-cooldown");
    let rules = dir.file("rules.toml");
    let rules_text = "[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n\
                      [[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"n > 0\"\n\
                      cooldown = \"3650000d\"\n";
    std::fs::write(&rules, rules_text).unwrap();
    let store = dir.file("history.redb");
    let run = |now: &str| {
        let args = [
            "decide",
            rules.to_str().unwrap(),
            "--profiles",
            "-",
            "--explain",
            "--now",
            now,
            "--history",
            store.to_str().unwrap(),
        ];
        let out = nextbest(&args, Some("{\"id\": \"x\", \"traits\": {\"n\": 1}}\n"));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    run("2026-01-01T00:00:00Z");
    let blocked = run("2026-01-02T00:00:00Z");
    assert!(
        blocked.contains(r#""until":"9999-12-31T23:59:59.999999Z""#),
        "{blocked}"
    );
}

#[test]
fn every_thread_count_prints_the_same_lines_in_input_order_and_records_the_same() {
    let dir = Scratch::new("threads");
    // 10 000 lines of 700 customers: each listed about 14 times, within a
    // chunk of 1 024 lines and across chunks.
    let customers = std::fs::read_to_string(CUSTOMERS).unwrap();
    let customers: Vec<&str> = customers.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut lines = Vec::new();
    for i in 0..10_000 {
        let line = customers[i % customers.len()];
        let renamed = line.replacen("\"id\":\"", &format!("\"id\":\"{}-", i % 700), 1);
        lines.push(renamed);
    }
    let profiles = dir.file("profiles.jsonl");
    std::fs::write(&profiles, lines.join("\n")).unwrap();
    let run = |threads: &str, store: &str| {
        let store = dir.file(store);
        let args = [
            "decide",
            RULES,
            "--profiles",
            profiles.to_str().unwrap(),
            "--now",
            NOW,
            "--explain",
            "--threads",
            threads,
            "--history",
            store.to_str().unwrap(),
        ];
        let out = nextbest(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (text(&out.stdout), records_in(&store))
    };
    let (one, recorded) = run("1", "one.redb");
    assert!(one.lines().count() > 5_000, "{}", one.lines().count());
    assert!(recorded > 0);
    for threads in ["2", "3"] {
        let (many, many_recorded) = run(threads, &format!("{threads}.redb"));
        assert!(many == one, "--threads {threads} printed other lines");
        assert_eq!(many_recorded, recorded);
    }
    let out = nextbest(
        &[
            "decide",
            RULES,
            "--profiles",
            CUSTOMERS,
            "--now",
            NOW,
            "--threads",
            "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--threads must be at least 1"));
}

#[test]
fn eval_prints_the_same_lines_on_every_thread_count() {
    let run = |threads: &str| {
        let args = [
            "eval",
            RULES,
            "--expr",
            "lifetime_value > 300.0",
            "--now",
            NOW,
            "--profiles",
            CUSTOMERS,
            "--threads",
            threads,
        ];
        let out = nextbest(&args, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let one = run("1");
    assert_eq!(one.lines().count(), 40);
    assert_eq!(run("4"), one);
}
