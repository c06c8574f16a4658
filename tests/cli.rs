//! The `nextbest` binary driven as a user drives it: arguments, stdin, exit
//! codes, stdout and stderr. Rendered diagnostics are compared with golden
//! files under `tests/data/cli/` (`NEXTBEST_BLESS=1` rewrites them).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Output;

use common::{NOW, nextbest, root, text};

/// Compares `actual` with the golden file, or rewrites it when blessing.
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/data/cli").join(name);
    if std::env::var_os("NEXTBEST_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
    assert_eq!(
        actual, expected,
        "golden file {name} differs (NEXTBEST_BLESS=1 to rewrite)"
    );
}

const CHURN: &str = "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'";

#[test]
fn check_accepts_the_bundled_rules_in_both_formats() {
    for file in ["examples/rules/classic.toml", "examples/rules/classic.json"] {
        let out = nextbest(&["check", file], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{file}: ok (13 traits, 5 event types, 8 actions, 1 journey, 1 cap)\n")
        );
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn check_reports_every_problem_with_file_line_and_column() {
    for name in ["broken.toml", "broken.json"] {
        let file = format!("tests/data/cli/{name}");
        let out = nextbest(&["check", &file], None);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        golden(&format!("{name}.stderr"), &text(&out.stderr));
    }
}

#[test]
fn check_of_a_missing_file_fails_cleanly() {
    let out = nextbest(&["check", "no/such/rules.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot read `no/such/rules.toml`"));
}

#[test]
fn eval_prints_one_line_per_profile() {
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            CHURN,
            "--now",
            NOW,
            "--profiles",
            "examples/data/profiles.jsonl",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 20);
    assert!(stdout.lines().all(|l| {
        let (id, truth) = l.split_once('\t').unwrap();
        id.starts_with("c-") && ["true", "false", "null"].contains(&truth)
    }));
    golden("eval-churn.stdout", &stdout);
}

#[test]
fn eval_reads_standard_input() {
    let profiles = "{\"id\": \"a\", \"traits\": {\"login_count_30d\": 1, \"login_count_60d\": 10, \"user_segment\": \"active\"}}\n\
                    {\"id\": \"b\", \"traits\": {\"login_count_30d\": 9, \"login_count_60d\": 10, \"user_segment\": \"active\"}}\n\
                    {\"id\": \"c\"}\n";
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            CHURN,
            "--now",
            NOW,
        ],
        Some(profiles),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "a\ttrue\nb\tfalse\nc\tnull\n");
}

#[test]
fn eval_reports_bad_lines_by_number_id_and_field_and_goes_on() {
    let profiles = "{\"id\": \"ok-1\"}\n\
                    {\"id\": \"bad-2\", \"traits\": {\"login_count_30d\": \"many\"}}\n\
                    not json\n\
                    {\"id\": \"ok-4\", \"events\": [{\"event\": \"login\", \"timestamp\": \"yesterday\"}]}\n\
                    {\"id\": \"ok-5\"}\n";
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            "TRUE",
            "--now",
            NOW,
        ],
        Some(profiles),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "ok-1\ttrue\nok-5\ttrue\n");
    golden("eval-bad-lines.stderr", &text(&out.stderr));
}

#[test]
fn eval_of_an_expression_that_does_not_check_exits_1() {
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            "login_cnt_30d > 1 AND plan + 1",
        ],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    golden("eval-bad-expression.stderr", &text(&out.stderr));
}

#[test]
fn usage_errors_exit_2() {
    let out = nextbest(&["eval", "examples/rules/classic.toml"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = nextbest(&["frobnicate"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            "TRUE",
            "--now",
            "tomorrow",
        ],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--now: `tomorrow` is not a timestamp"));
}

#[test]
fn eval_streams_many_profiles() {
    let line = "{\"id\": \"p\", \"traits\": {\"login_count_30d\": 1, \"login_count_60d\": 10, \"user_segment\": \"active\"}}\n";
    let input = line.repeat(20_000);
    let out = nextbest(
        &[
            "eval",
            "examples/rules/classic.toml",
            "--expr",
            CHURN,
            "--now",
            NOW,
        ],
        Some(&input),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| *l == "p\ttrue")
            .count(),
        20_000
    );
}

fn decide_lines(extra: &[&str], stdin: Option<&str>) -> (Output, Vec<serde_json::Value>) {
    let mut args = vec!["decide", "examples/rules/classic.toml", "--now", NOW];
    args.extend_from_slice(extra);
    let out = nextbest(&args, stdin);
    let lines = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, lines)
}

#[test]
fn decide_prints_one_json_object_per_emission() {
    let (out, lines) = decide_lines(&["--profiles", "examples/data/customers.jsonl"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!lines.is_empty());
    for (line, written) in lines.iter().zip(text(&out.stdout).lines()) {
        let object = line.as_object().unwrap();
        let keys = common::keys_in_order(written);
        let standalone = ["profile", "action", "channel", "send_at", "key"];
        let step = [
            "profile", "action", "channel", "send_at", "journey", "step", "key",
        ];
        assert!(keys == standalone || keys == step, "{line}");
        assert_eq!(object["key"].as_str().unwrap().len(), 16);
    }
    golden("decide-customers.stdout", &text(&out.stdout));
}

#[test]
fn decide_explain_reports_suppressions_with_spec_reason_names() {
    let (out, lines) = decide_lines(
        &["--profiles", "examples/data/customers.jsonl", "--explain"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let reasons = [
        "not_yet_valid",
        "expired",
        "suppress_if",
        "holdout",
        "unsubscribed",
        "no_consent",
        "consent_expired",
        "cooldown",
        "max_sends",
        "frequency_cap",
        "quiet_hours",
        "arbitration",
    ];
    let suppressed: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l.get("suppressed").is_some())
        .collect();
    assert!(!suppressed.is_empty());
    for line in suppressed {
        assert!(
            reasons.contains(&line["suppressed"].as_str().unwrap()),
            "{line}"
        );
        assert!(line["detail"].is_object(), "{line}");
    }
}

#[test]
fn decide_records_as_it_goes_unless_dry_run() {
    let profile = "{\"id\": \"twice\", \"traits\": {\"login_count_30d\": 1, \"login_count_60d\": 10, \
                   \"user_segment\": \"active\", \"email_opt_in\": true}}\n";
    let input = profile.repeat(2);
    // The second decision, at the same instant, replays the first one
    // recorded: the same line, and no new choice (no next-best action
    // picked because the first is now in its cooldown).
    let (out, lines) = decide_lines(&["--profiles", "-", "--explain"], Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let emitted: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("key").is_some()).collect();
    assert_eq!(emitted.len(), 2, "{lines:?}");
    assert_eq!(
        emitted[0], emitted[1],
        "a replayed decision repeats its key"
    );
    assert!(!lines.iter().any(|l| l["suppressed"] == "cooldown"));
    let (_, dry) = decide_lines(&["--profiles", "-", "--dry-run"], Some(&input));
    assert_eq!(dry.len(), 2);
    assert_eq!(
        dry[0], dry[1],
        "a dry run decides both from the same history"
    );
    assert_eq!(&dry[0], emitted[0]);
}

#[test]
fn a_profile_listed_twice_in_one_batch_sees_its_first_decision() {
    let dir = std::env::temp_dir().join(format!("nextbest-cli-twice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("history.redb");
    let profile = "{\"id\": \"twice\", \"traits\": {\"login_count_30d\": 1, \"login_count_60d\": 10, \
                   \"user_segment\": \"active\", \"email_opt_in\": true}}\n";
    let input = profile.repeat(2);
    let args = [
        "--profiles",
        "-",
        "--explain",
        "--history",
        store.to_str().unwrap(),
    ];
    let emitted = |lines: &[serde_json::Value]| -> Vec<serde_json::Value> {
        (lines.iter())
            .filter(|l| l.get("key").is_some())
            .cloned()
            .collect()
    };

    // Both decisions fall in one uncommitted batch: the second reads the
    // first from the batch, over the (empty) store, and replays it.
    let (out, lines) = decide_lines(&args, Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = emitted(&lines);
    assert_eq!(first.len(), 2, "{lines:?}");
    assert_eq!(first[0], first[1]);

    // The next run at the same instant reads the decision from the store
    // and replays it again; nothing new is recorded.
    let (out, again) = decide_lines(&args, Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(emitted(&again), first);
    let history = nextbest::history::DurableHistory::open(&store).unwrap();
    assert_eq!(history.records("twice").unwrap().len(), 1);
    drop(history);

    // A day later the recorded send holds the action back.
    let later = [
        "decide",
        "examples/rules/classic.toml",
        "--now",
        "2026-11-25T09:00:00Z",
    ];
    let args: Vec<&str> = later.iter().chain(&args).copied().collect();
    let out = nextbest(&args, Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"suppressed\":\"cooldown\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dry_run_leaves_the_history_file_as_it_is() {
    let dir = std::env::temp_dir().join(format!("nextbest-cli-dry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("history.redb");
    let profile = "{\"id\": \"c-9\", \"traits\": {\"login_count_30d\": 1, \"login_count_60d\": 10, \
                   \"user_segment\": \"active\", \"email_opt_in\": true}}\n";
    let history = ["--profiles", "-", "--history", store.to_str().unwrap()];
    let dry: Vec<&str> = history.iter().copied().chain(["--dry-run"]).collect();

    // No store yet: decided from an empty history, and none is created.
    let (out, lines) = decide_lines(&dry, Some(profile));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (_, without) = decide_lines(&["--profiles", "-"], Some(profile));
    assert_eq!(lines, without);
    assert!(!store.exists(), "a dry run created {}", store.display());

    // A real run creates and fills it; a dry run then reads it, writes nothing.
    let (out, recorded) = decide_lines(&history, Some(profile));
    assert_eq!(recorded, without);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = std::fs::read(&store).unwrap();
    let (out, lines) = decide_lines(&dry, Some(profile));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(lines, without, "the recorded decision is replayed");
    assert_eq!(std::fs::read(&store).unwrap(), before);

    // Compacting is writing: not in a dry run.
    let compact: Vec<&str> = dry.iter().copied().chain(["--compact"]).collect();
    let (out, _) = decide_lines(&compact, Some(profile));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&store).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

const SIMULATE: [&str; 10] = [
    "simulate",
    "examples/rules/classic.toml",
    "--profile",
    "examples/data/c-1042.json",
    "--events",
    "examples/data/c-1042-timeline.jsonl",
    "--from",
    "2026-11-24T20:00:00Z",
    "--to",
    "2026-12-15T00:00:00Z",
];

#[test]
fn simulate_prints_the_decide_lines_of_every_step_with_their_instant() {
    let out = nextbest(&SIMULATE, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["at"].as_str().unwrap(), l["action"].as_str().unwrap()))
        .collect();
    // Entered at 21:00 in Berlin: the email waits for 08:00; push consent is
    // withdrawn before day 3 (skipped); the in-app message goes out on day 7;
    // a login on day 9 ends the journey; the standalone churn email comes
    // back once its 14-day cooldown is over.
    assert_eq!(
        sent,
        [
            ("2026-11-24T20:00:00Z", "churn_email"),
            ("2026-12-01T20:00:00Z", "churn_inapp_modal"),
            ("2026-12-08T20:00:00Z", "churn_email"),
        ]
    );
    assert_eq!(lines[0]["send_at"], "2026-11-25T07:00:00Z");
    let keys = common::keys_in_order(text(&out.stdout).lines().next().unwrap());
    assert_eq!(
        keys,
        [
            "at", "profile", "action", "channel", "send_at", "journey", "step", "key"
        ]
    );
    golden("simulate-c-1042.stdout", &text(&out.stdout));

    let mut explain = SIMULATE.to_vec();
    explain.push("--explain");
    let out = nextbest(&explain, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let explained = text(&out.stdout);
    assert!(
        explained.contains(r#""suppressed":"no_consent""#),
        "{explained}"
    );
    assert!(
        explained.contains(r#""journey_status":"exited""#),
        "{explained}"
    );
    // Deterministic: the same run, the same bytes.
    assert_eq!(text(&nextbest(&explain, None).stdout), explained);
}

#[test]
fn simulate_names_the_file_and_line_of_a_bad_timeline_entry() {
    let dir = std::env::temp_dir().join(format!("nextbest-cli-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let timeline = dir.join("timeline.jsonl");
    std::fs::write(
        &timeline,
        "{\"event\": \"login\", \"timestamp\": \"2026-11-25T10:00:00Z\"}\n\n\
         {\"timestamp\": \"2026-11-26T10:00:00Z\", \"traits\": {\"push_opt_in\": \"no\"}}\n",
    )
    .unwrap();
    let mut args = SIMULATE.to_vec();
    let timeline_arg = timeline.display().to_string();
    args[5] = &timeline_arg;
    let out = nextbest(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!(
            "error: {timeline_arg}:3: profile `c-1042`, field `traits.push_opt_in`: expected bool, found string \"no\""
        )
    );
    assert!(out.stdout.is_empty());

    let mut args = SIMULATE.to_vec();
    args.extend(["--step", "0h"]);
    let out = nextbest(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the step must be positive"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn decide_with_a_history_continues_a_journey_across_runs() {
    let dir = std::env::temp_dir().join(format!("nextbest-cli-journey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("history.redb");
    let profile = std::fs::read_to_string(root().join("examples/data/c-1042.json"))
        .unwrap()
        .replace('\n', " ")
        + "\n";
    let decide_at = |now: &str| {
        let args = [
            "decide",
            "examples/rules/classic.toml",
            "--profiles",
            "-",
            "--now",
            now,
            "--history",
            store.to_str().unwrap(),
        ];
        let out = nextbest(&args, Some(&profile));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|l| (l["action"].as_str().unwrap().to_owned(), l["step"].clone()))
            .collect::<Vec<_>>()
    };
    // Each run is a new process: the journey's state comes from the store.
    assert_eq!(
        decide_at("2026-11-24T09:00:00Z"),
        [("churn_email".to_owned(), serde_json::json!(1))]
    );
    assert_eq!(decide_at("2026-11-25T09:00:00Z"), []);
    assert_eq!(
        decide_at("2026-11-27T09:00:00Z"),
        [("churn_push_incentive".to_owned(), serde_json::json!(2))]
    );
    assert_eq!(decide_at("2026-11-27T10:00:00Z"), []);
    std::fs::remove_dir_all(dir).unwrap();
}
