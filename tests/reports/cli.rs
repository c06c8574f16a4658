//! `nextbest report` and `nextbest forecast` as a user drives them.

use nextbest::history::DurableHistory;

use crate::common::{Scratch, nextbest, text};
use crate::fixture::{self, PRESSING, SAMPLE};

/// The fixture's history in a store file, and its profiles in a file.
fn fixture_files(dir: &Scratch) -> (String, String, String) {
    let rules = dir.file("rules.toml");
    std::fs::write(&rules, fixture::RULES).unwrap();
    let store = dir.file("history.redb");
    let mut history = DurableHistory::open(&store).unwrap();
    fixture::record_history(&mut history);
    drop(history);
    let profiles = dir.file("profiles.jsonl");
    std::fs::write(&profiles, fixture::profiles_jsonl()).unwrap();
    let path = |p: std::path::PathBuf| p.to_str().unwrap().to_owned();
    (path(rules), path(store), path(profiles))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = nextbest(args, None);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// `nextbest report RULES --history STORE --profiles PROFILES --now NOW EXTRA…`.
fn report(
    rules: &str,
    store: &str,
    profiles: &str,
    now: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "report",
        rules,
        "--history",
        store,
        "--profiles",
        profiles,
        "--now",
        now,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn report_prints_the_hand_worked_figures_from_a_store_file() {
    let dir = Scratch::new("report-cli");
    let (rules, store, profiles) = fixture_files(&dir);
    let html = dir.file("report.html");
    let html_path = html.to_str().unwrap();
    let json_args = ["--min-group", "2", "--json", "--html", html_path];
    let (code, stdout, stderr) = report(&rules, &store, &profiles, fixture::NOW, &json_args);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let journey = &json["journeys"][0];
    assert_eq!(
        (
            &journey["entered"],
            &journey["exited"],
            &journey["active"],
            &journey["fallback"]
        ),
        (&7.into(), &3.into(), &2.into(), &2.into())
    );
    let welcome = &json["actions"][0];
    assert_eq!(welcome["sent"], 3);
    assert_eq!(welcome["converted_sent"], 1);
    assert_eq!(welcome["held_out"], 2);
    assert_eq!(welcome["converted_held_out"], 1);
    assert_eq!(welcome["uplift_ci"].as_array().map(Vec::len), Some(2));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("rescue_email"));
    // The store was opened to be read, not changed.
    assert_eq!(DurableHistory::open(&store).unwrap().len().unwrap(), 19);

    let (code, stdout, stderr) = report(&rules, &store, &profiles, fixture::NOW, &json_args[..2]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("journey rescue: 7 entered, 3 exited, 2 completed, 2 active"),
        "{stdout}"
    );
    assert!(
        stdout.contains("contacted 3, converted 1 (33.3 %); held out 2, converted 1 (50.0 %)"),
        "{stdout}"
    );
}

#[test]
fn report_refuses_what_it_cannot_read() {
    let dir = Scratch::new("report-cli-errors");
    let (rules, store, profiles) = fixture_files(&dir);
    let missing = dir.file("missing.redb");
    let (code, _, stderr) = report(
        &rules,
        missing.to_str().unwrap(),
        &profiles,
        fixture::NOW,
        &[],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("no history store at"), "{stderr}");
    assert!(!missing.exists(), "a report must not create a store");

    let bad = dir.file("bad.jsonl");
    std::fs::write(&bad, "{\"id\": \"p1\", \"traits\": {\"x\": 1}}\n{\"id\": \"p2\", \"traits\": {\"x\": \"one\"}}\n").unwrap();
    let (code, _, stderr) = report(&rules, &store, bad.to_str().unwrap(), fixture::NOW, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("bad.jsonl: line 2: profile `p2`, field `traits.x`"),
        "{stderr}"
    );

    let (code, _, stderr) = report(&rules, &store, &profiles, "yesterday", &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--now:"), "{stderr}");

    let (code, _, stderr) = report(
        &rules,
        &store,
        &profiles,
        fixture::NOW,
        &["--min-group", "0"],
    );
    assert_eq!(code, 2, "a usage error");
    assert!(stderr.contains("--min-group"), "{stderr}");
}

/// `nextbest forecast` of the pressing rules over the sample, with a
/// timeline of `events` (JSON lines), from `from` to `to`, and `extra`
/// arguments.
fn forecast(
    name: &str,
    events: &str,
    from: &str,
    to: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let dir = Scratch::new(name);
    let rules = dir.file("rules.toml");
    std::fs::write(&rules, PRESSING).unwrap();
    let sample = dir.file("sample.jsonl");
    std::fs::write(&sample, SAMPLE).unwrap();
    let timeline = dir.file("events.jsonl");
    std::fs::write(&timeline, events).unwrap();
    let mut args = vec![
        "forecast",
        rules.to_str().unwrap(),
        "--profiles",
        sample.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        "--events",
        timeline.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn forecast_reports_the_pressure_of_a_sample() {
    let dir = Scratch::new("forecast-cli-page");
    let html = dir.file("forecast.html");
    // c-2 logs in on day 2: its push trigger stops firing.
    let login =
        "{\"profile\": \"c-2\", \"event\": \"login\", \"timestamp\": \"2026-12-03T00:00:00Z\"}\n";
    let (code, stdout, stderr) = forecast(
        "forecast-cli",
        login,
        "2026-12-01T00:00:00Z",
        "2026-12-14T23:00:00Z",
        &["--json", "--html", html.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["customers"], 3);
    // 13 days 23 hours: one whole week (the partial second is left out of
    // the weekly distribution, its sends counted in the totals).
    assert_eq!(json["weeks"], 1);
    // Nudges: days 0, 1, 7, 8 for each of c-1 and c-2 (the cap of two in
    // seven days). Push: c-1 on days 0, 3, 6, 9, 12; c-2 on day 0 only.
    let action = |id: &str| {
        json["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(action("nudge")["sends"], 8);
    assert_eq!(action("push_nudge")["sends"], 6);
    assert_eq!(json["sends"], 14);
    assert_eq!(json["never_fire"][0]["id"], "never");
    assert_eq!(json["caps"][0]["name"], "weekly");
    assert_eq!(json["caps"][0]["customers"], 2);
    assert_eq!(json["most_contacted"][0]["profile"], "c-1");
    assert_eq!(json["most_contacted"][0]["sends"], 9);
    // c-3 gets nothing: its one customer-week is at zero.
    assert_eq!(json["per_week"]["counts"][0], 1);
    // Both triggers fire together whenever push fires for c-1 (it also
    // fires alone, for c-2 after the login, only on `nudge`'s side).
    let overlap = &json["overlaps"][0];
    assert_eq!(
        (&overlap["first"], &overlap["second"]),
        (&"nudge".into(), &"push_nudge".into())
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("sends per customer per week"));
}

#[test]
fn forecast_refuses_a_timeline_line_for_a_customer_not_in_the_sample() {
    let stranger =
        "\n{\"profile\": \"c-9\", \"event\": \"login\", \"timestamp\": \"2026-12-03T00:00:00Z\"}\n";
    let (code, _, stderr) = forecast(
        "forecast-cli-stranger",
        stranger,
        "2026-12-01T00:00:00Z",
        "2026-12-02T00:00:00Z",
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("events.jsonl:2: field `profile`: `c-9` is not in the sample"),
        "{stderr}"
    );
    let (code, _, stderr) = forecast(
        "forecast-cli-range",
        "",
        "2026-12-02T00:00:00Z",
        "2026-12-01T00:00:00Z",
        &[],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("the end is before the start"), "{stderr}");
}
