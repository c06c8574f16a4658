//! The classic journeys end to end through the simulator (SPEC §5 step 1 and
//! the simulator of §6), through the public API and the test helpers a rule
//! author would use.
//!
//! `examples/rules/classic.toml` runs the churn-prevention sequence: an email
//! at entry, a push with an incentive on day 3, an in-app message on day 7,
//! and a call task from customer success on day 14 if the customer never
//! comes back (`exit` on any login since entry, re-entry after 90 days).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nextbest::decide::{Engine, Reason};
use nextbest::hash::bucket;
use nextbest::history::{DurableHistory, History, JourneyStatus, MemoryHistory, Outcome};
use nextbest::rules::{Format, RuleSet};
use nextbest::simulate::Simulation;
use nextbest::testing::Scenario;
use nextbest::{Duration, Profile, ProfileBuilder, Timestamp, Value};

const START: &str = "2026-11-24T09:00:00Z";

fn classic_source() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/rules/classic.toml"
    ))
    .unwrap()
}

/// The classic rules with `churn_email` sent by the journey alone: its own
/// trigger (the same condition as the journey's entry) would send it again
/// once its 14-day cooldown ends, which `the_journey_and_the_standalone_action_share_churn_email`
/// shows on the rules as they are.
fn journey_only_source() -> String {
    let source = classic_source();
    let trigger =
        "trigger     = \"login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'\"\n";
    let churn_email = source.find("id          = \"churn_email\"").unwrap();
    let at = churn_email + source[churn_email..].find(trigger).unwrap();
    format!("{}{}", &source[..at], &source[at + trigger.len()..])
}

/// A profile id outside the classic 5 % holdout.
fn reachable() -> &'static str {
    let id = "c-1042";
    assert!(bucket(id, "2026-global") >= 5, "{id} is held out");
    id
}

/// At churn risk (3 logins in 30 days against 11 in 60), opted in to email
/// and push, in UTC, seen 10 days ago, not worth a win-back, not on `basic`.
fn churn_risk(profile: ProfileBuilder) -> ProfileBuilder {
    let start = Timestamp::parse(START).unwrap();
    profile
        .attribute("login_count_30d", 3)
        .attribute("login_count_60d", 11)
        .attribute("user_segment", "active")
        .attribute("plan", "pro")
        .attribute("lifetime_value", 50.0)
        .attribute(
            "last_login",
            Timestamp::from_micros(start.as_micros() - Duration::from_days(10).as_micros()),
        )
        .attribute("email_opt_in", true)
        .attribute("push_opt_in", true)
        .attribute("timezone", "UTC")
}

fn journey_only_engine() -> Engine {
    Engine::new(RuleSet::parse(&journey_only_source(), Format::Toml, "classic.toml").unwrap())
}

fn scenario() -> Scenario {
    Scenario::from_toml(&journey_only_source())
        .starting_at(START)
        .profile(reachable(), churn_risk)
}

#[test]
fn a_customer_who_never_comes_back_gets_every_step_then_the_fallback() {
    let run = scenario().run_for("21d");
    run.assert_sends(&[
        ("0d", "churn_email"),
        ("3d", "churn_push_incentive"),
        ("7d", "churn_inapp_modal"),
        ("14d", "csm_call_task"),
    ]);
    let steps: Vec<_> = run
        .sends()
        .into_iter()
        .map(|(_, e)| e.journey.clone().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            ("churn_rescue".into(), 1),
            ("churn_rescue".into(), 2),
            ("churn_rescue".into(), 3),
            ("churn_rescue".into(), 4),
        ]
    );
    // Entered at the start, completed with the fallback, never again after.
    let changes: Vec<JourneyStatus> = run
        .timeline()
        .decisions
        .iter()
        .flat_map(|d| d.journeys.iter().map(|u| u.state.status))
        .collect();
    let completed_at = Timestamp::parse("2026-12-08T09:00:00Z").unwrap();
    assert_eq!(changes.first(), Some(&JourneyStatus::Active));
    assert_eq!(
        changes.last(),
        Some(&JourneyStatus::Completed(completed_at))
    );
    // One enrolment: every key differs and none repeats.
    let mut keys: Vec<&str> = run.sends().iter().map(|(_, e)| e.key.as_str()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 4);
}

#[test]
fn a_login_on_day_4_ends_the_journey() {
    let run = scenario().event("4d", "login").run_for("21d");
    run.assert_sends(&[("0d", "churn_email"), ("3d", "churn_push_incentive")]);
    run.assert_not_sent("churn_inapp_modal");
    run.assert_not_sent("csm_call_task");
    let exit = run
        .timeline()
        .decisions
        .iter()
        .find(|d| {
            d.journeys
                .iter()
                .any(|u| matches!(u.state.status, JourneyStatus::Exited(_)))
        })
        .unwrap();
    assert_eq!(exit.at.to_string(), "2026-11-28T09:00:00Z");
}

#[test]
fn a_customer_enters_again_once_the_reentry_period_has_passed() {
    // Exits on day 4 (a login); still at risk, re-enters 90 days later.
    let run = scenario().event("4d", "login").every("6h").run_for("100d");
    run.assert_sends(&[
        ("0d", "churn_email"),
        ("3d", "churn_push_incentive"),
        ("94d", "churn_email"),
        ("97d", "churn_push_incentive"),
    ]);
    let sends = run.sends();
    let (first, again) = (&sends[0].1, &sends[2].1);
    assert_eq!(first.journey, again.journey);
    // A new enrolment: the same step has a new key.
    assert_ne!(first.key, again.key);
}

#[test]
fn a_step_that_falls_in_quiet_hours_is_deferred_to_the_morning() {
    // 21:30 in Berlin when the customer enters: quiet until 08:00 local.
    let run = scenario()
        .starting_at("2026-11-24T20:30:00Z")
        .profile(reachable(), |p| {
            churn_risk(p).attribute("timezone", "Europe/Berlin")
        })
        .run_for("1d");
    run.assert_sends(&[("0d", "churn_email")]);
    let (_, email) = &run.sends()[0];
    assert_eq!(email.send_at.to_string(), "2026-11-25T07:00:00Z");
    assert_eq!(email.journey, Some(("churn_rescue".into(), 1)));
}

#[test]
fn a_push_step_without_push_consent_is_skipped_at_once() {
    let run = scenario()
        .profile(reachable(), |p| {
            churn_risk(p).attribute("push_opt_in", false)
        })
        .explain()
        .run_for("8d");
    run.assert_sends(&[("0d", "churn_email"), ("7d", "churn_inapp_modal")]);
    run.assert_skipped("churn_push_incentive");
    // Skipped on day 3, not retried after.
    let blocked: Vec<_> = run
        .timeline()
        .decisions
        .iter()
        .flat_map(|d| d.suppressions.iter().map(move |s| (d.at, s)))
        .filter(|(_, s)| s.action == "churn_push_incentive")
        .collect();
    assert_eq!(blocked.len(), 1, "{run}");
    let (at, suppression) = &blocked[0];
    assert_eq!(at.to_string(), "2026-11-27T09:00:00Z");
    assert_eq!(suppression.reason, Reason::NoConsent);
    assert!(
        suppression
            .detail
            .contains(&("then", Value::from("skipped")))
    );
}

#[test]
fn a_step_blocked_by_the_frequency_cap_is_retried_until_the_next_step_falls_due() {
    // Three marketing sends in the first hours fill `marketing-weekly`
    // (3 per 7 days): the journey's email, a win-back email and a
    // pricing follow-up. The day-3 push is retried every hour until day 7,
    // when the in-app step falls due: the push is skipped, the in-app sent.
    let start = Timestamp::parse(START).unwrap();
    let long_ago = Timestamp::from_micros(start.as_micros() - Duration::from_days(90).as_micros());
    let run = scenario()
        .profile(reachable(), |p| {
            churn_risk(p)
                .attribute("lifetime_value", 150.0)
                .attribute("last_login", long_ago)
        })
        .event_with("2h", "page_view", [("path", "/pricing")])
        .event_with("2h", "page_view", [("path", "/pricing")])
        .event_with("2h", "page_view", [("path", "/pricing")])
        .explain()
        .run_for("8d");
    run.assert_sends(&[
        ("0d", "churn_email"),
        ("1h", "winback_email"),
        ("2h", "pricing_followup"),
        ("7d", "churn_inapp_modal"),
    ]);
    run.assert_skipped("churn_push_incentive");
    let retries: Vec<&str> = run
        .timeline()
        .decisions
        .iter()
        .flat_map(|d| d.suppressions.iter())
        .filter(|s| s.action == "churn_push_incentive")
        .map(|s| s.reason.name())
        .collect();
    // Day 3 09:00 to day 6 23:00 UTC... every hour from 3d to 7d - 1h.
    assert_eq!(retries.len(), 4 * 24, "{run}");
    assert!(retries.iter().all(|r| *r == "frequency_cap"), "{retries:?}");
}

#[test]
fn a_step_blocked_by_a_cap_goes_out_as_soon_as_the_window_frees_it() {
    let rules = r#"
[schema.traits]
at_risk = "bool"
[consent]
email = {}
push = {}
in_app = {}
[[cap]]
name = "one-every-two-days"
max = 1
per = "2d"
[[action]]
id = "email"
channel = "email"
[[action]]
id = "push"
channel = "push"
[[action]]
id = "in_app"
channel = "in_app"
[[journey]]
id = "rescue"
entry = "at_risk"
steps = [
  { after = "0d", action = "email" },
  { after = "1d", action = "push" },
  { after = "5d", action = "in_app" },
]
"#;
    let run = Scenario::from_toml(rules)
        .profile("c-1", |p| p.attribute("at_risk", true))
        .run_for("8d");
    run.assert_sends(&[("0d", "email"), ("2d", "push"), ("5d", "in_app")]);
}

#[test]
fn the_journey_and_the_standalone_action_share_churn_email() {
    // As shipped, `churn_email` also has its own trigger (the journey's
    // entry condition): at entry the journey's step wins and it is sent
    // once; when its 14-day cooldown ends it is a standalone candidate
    // again and outranks the fallback (priority 50 against 0), which goes
    // out an hour later.
    let run = Scenario::from_toml(&classic_source())
        .starting_at(START)
        .profile(reachable(), churn_risk)
        .run_for("15d");
    run.assert_sends(&[
        ("0d", "churn_email"),
        ("3d", "churn_push_incentive"),
        ("7d", "churn_inapp_modal"),
        ("14d", "churn_email"),
        ("337h", "csm_call_task"),
    ]);
    let sends = run.sends();
    assert!(sends[0].1.journey.is_some());
    assert_eq!(sends[3].1.journey, None);
}

#[test]
fn a_restart_in_the_middle_of_a_journey_continues_where_it_left_off() {
    let engine = journey_only_engine();
    let start = Timestamp::parse(START).unwrap();
    let profile = churn_risk(Profile::builder(&engine.rules().schema, reachable()));
    let hour = Duration::from_secs(3600);
    let day = |n: i64| start + Duration::from_days(n);
    let simulation = Simulation::new(&engine, profile);

    // One process throughout, in memory.
    let whole = simulation.run(start, day(21), hour).unwrap();

    // A process that stops after day 4 and another that goes on from the
    // same store.
    let dir = tempdir();
    let path = dir.join("history.redb");
    let mut store = DurableHistory::open(&path).unwrap();
    let before = simulation
        .run_with(&mut store, start, day(4), hour)
        .unwrap();
    drop(store);
    let mut store = DurableHistory::open(&path).unwrap();
    let state = store.journey(reachable(), "churn_rescue").unwrap().unwrap();
    assert_eq!((state.entered_at, state.done), (start, 2));
    let after = simulation
        .run_with(&mut store, day(4) + hour, day(21), hour)
        .unwrap();

    let resumed: Vec<_> = before.sends().chain(after.sends()).collect();
    let continuous: Vec<_> = whole.sends().collect();
    assert_eq!(resumed, continuous);
    assert_eq!(continuous.len(), 4);
    let records = store.records(reachable()).unwrap();
    assert!(records.iter().all(|r| r.outcome == Outcome::Sent));
    assert_eq!(records.len(), 4);
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn decisions_are_recorded_in_the_history_a_simulation_is_given() {
    let engine = journey_only_engine();
    let start = Timestamp::parse(START).unwrap();
    let profile = churn_risk(Profile::builder(&engine.rules().schema, reachable()));
    let mut history = MemoryHistory::new();
    Simulation::new(&engine, profile)
        .run_with(
            &mut history,
            start,
            start + Duration::from_days(8),
            Duration::from_secs(3600),
        )
        .unwrap();
    let state = history
        .journey(reachable(), "churn_rescue")
        .unwrap()
        .unwrap();
    assert_eq!(state.done, 3);
    assert_eq!(state.status, JourneyStatus::Active);
    assert_eq!(
        history
            .times_sent(reachable(), "churn_inapp_modal")
            .unwrap(),
        1
    );
}

#[test]
fn a_simulation_refuses_an_empty_range_or_a_step_that_is_not_positive() {
    let engine = Engine::new(RuleSet::parse(&classic_source(), Format::Toml, "c.toml").unwrap());
    let profile = Profile::builder(&engine.rules().schema, "c-1");
    let simulation = Simulation::new(&engine, profile);
    let start = Timestamp::parse(START).unwrap();
    let later = start + Duration::from_days(1);
    let zero = Duration::from_micros(0);
    let hour = Duration::from_secs(3600);
    for (from, to, step, why) in [
        (start, later, zero, "the step must be positive"),
        (later, start, hour, "the end is before the start"),
        (
            start,
            start + Duration::from_days(36_500),
            hour,
            "more than 100000 steps",
        ),
    ] {
        let error = simulation.run(from, to, step).unwrap_err().to_string();
        assert!(error.contains(why), "{error}");
    }
    // A single instant is a range of one step.
    assert!(simulation.run(start, start, hour).is_ok());
}

/// A fresh directory under the system's temporary one.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nextbest-journeys-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const THREE_STEPS: &str = r#"
[schema.traits]
at_risk = "bool"
[schema.events]
login = {}
[consent]
email = {}
push = {}
in_app = {}
sales_task = {}
[[action]]
id = "email"
channel = "email"
[[action]]
id = "push"
channel = "push"
[[action]]
id = "in_app"
channel = "in_app"
[[action]]
id = "call"
channel = "sales_task"
[[journey]]
id = "rescue"
entry = "at_risk"
exit = "count(login SINCE journey.entered_at) > 0"
steps = [
  { after = "0d", action = "email" },
  { after = "3d", action = "push" },
  { after = "STEP3", action = "in_app" },
]
fallback = { after = "FALLBACK", action = "call" }
"#;

fn three_steps(step3: &str, fallback: &str) -> Scenario {
    let rules = THREE_STEPS
        .replace("STEP3", step3)
        .replace("FALLBACK", fallback);
    Scenario::from_toml(&rules)
        .starting_at(START)
        .profile("c-1", |p| p.attribute("at_risk", true))
}

#[test]
fn steps_due_at_the_same_time_are_all_sent_one_decision_apart() {
    // Step 3 shares step 2's `after`, the fallback step 3's: none is skipped.
    three_steps("3d", "3d").run_for("4d").assert_sends(&[
        ("0d", "email"),
        ("3d", "push"),
        ("73h", "in_app"),
        ("74h", "call"),
    ]);
}

#[test]
fn a_step_never_offered_is_sent_late_rather_than_skipped() {
    // Decisions once a week: the day-3 push is offered on day 7, the day-7
    // message on day 14; nothing is skipped that was never tried.
    let run = three_steps("7d", "21d").every("7d").run_for("28d");
    run.assert_sends(&[
        ("0d", "email"),
        ("7d", "push"),
        ("14d", "in_app"),
        ("21d", "call"),
    ]);
    assert_eq!(run.timeline().skips().count(), 0);
}

#[test]
fn a_customer_who_already_meets_the_exit_condition_does_not_enter() {
    // A login at the very instant of entry already meets the exit: no day-0
    // message. An hour later that login is before the entry and no longer
    // counts, so the customer enters then.
    let run = three_steps("7d", "14d").event("0d", "login").run_for("2h");
    run.assert_sends(&[("1h", "email")]);
    let first = &run.timeline().decisions[0];
    assert_eq!(
        first.at,
        Timestamp::parse("2026-11-24T10:00:00Z").unwrap(),
        "{run}"
    );
}

#[test]
fn a_journey_step_replayed_later_after_a_lost_record_keeps_its_key() {
    // The first decision's emission went out but its record was lost: the
    // next run, an hour later, enrols the customer again and must repeat the
    // key so that downstream de-duplication catches the resend.
    let engine = journey_only_engine();
    let profile = churn_risk(Profile::builder(&engine.rules().schema, reachable()))
        .build()
        .unwrap();
    let history = MemoryHistory::new();
    let at = |t: &str| Timestamp::parse(t).unwrap();
    let options = nextbest::decide::Options::default();
    let first = engine
        .decide(&profile, &history, at("2026-11-24T09:00:00Z"), options)
        .unwrap();
    let replay = engine
        .decide(&profile, &history, at("2026-11-24T10:00:00Z"), options)
        .unwrap();
    assert_eq!(first.emissions[0].journey, replay.emissions[0].journey);
    assert_eq!(first.emissions[0].key, replay.emissions[0].key);
}
