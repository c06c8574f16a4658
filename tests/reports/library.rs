//! `report::…` through the public API, against the hand-worked fixture.

use nextbest::Timestamp;
use nextbest::history::MemoryHistory;
use nextbest::report::{Options, Report, ReportError, Uplift, Verdict};

use crate::fixture;

fn report(min_group: u64) -> Report {
    let rules = fixture::rules();
    let mut history = MemoryHistory::new();
    fixture::record_history(&mut history);
    let profiles = fixture::profiles(&rules);
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let options = Options::default().min_group(min_group);
    Report::build(&rules, &history, &profiles, now, &options).unwrap()
}

#[test]
fn the_journey_funnel_counts_every_enrolment_and_where_it_stopped() {
    let report = report(2);
    assert_eq!(report.profiles, 6);
    let funnel = &report.journeys[0];
    assert_eq!(funnel.id, "rescue");
    // p1, p2, p3 once; p4 and p5 twice.
    assert_eq!(funnel.entered, 7);
    // p2, and both of p5's enrolments; p3 and p4's first; p1 and p4's second.
    assert_eq!((funnel.exited, funnel.completed, funnel.active), (3, 2, 2));
    let stage = |i: usize| {
        let s = &funnel.steps[i];
        (s.action.as_str(), s.sent, s.held_out, s.skipped)
    };
    assert_eq!(stage(0), ("rescue_email", 3, 1, 0));
    assert_eq!(stage(1), ("rescue_push", 0, 1, 1));
    let fallback = funnel.fallback.as_ref().unwrap();
    assert_eq!((fallback.step, fallback.sent, fallback.held_out), (3, 1, 1));
    // Last stage reached: p1 1 (active), p2 1 (exited), p3 3, p4 3 then 0
    // (active), p5 0 and 0 (exited).
    let drops: Vec<_> = (funnel.drop_off.iter())
        .map(|d| {
            (
                d.from.as_str(),
                d.to.as_str(),
                d.reached,
                d.exited,
                d.waiting,
            )
        })
        .collect();
    assert_eq!(
        drops,
        [
            ("entry", "step 1", 7, 2, 1),
            ("step 1", "step 2", 4, 1, 1),
            ("step 2", "fallback", 2, 0, 0),
        ]
    );
    assert_eq!(funnel.drop_off[0].rate, Some(2.0 / 7.0));
    assert_eq!(funnel.drop_off[1].rate, Some(0.25));
}

#[test]
fn conversion_counts_each_profile_once_and_waits_for_open_windows() {
    let report = report(2);
    let welcome = &report.actions[0];
    assert_eq!(welcome.id, "welcome");
    // Contacted: p1 (converted), p2, p6 (purchase before the send only).
    // Held out: p3 (converted), p4 (purchase after the window). p5: open.
    assert_eq!((welcome.sent, welcome.converted_sent), (3, 1));
    assert_eq!((welcome.held_out, welcome.converted_held_out), (2, 1));
    assert_eq!(welcome.pending, 1);
    let uplift = welcome.uplift.unwrap();
    assert_eq!(Some(uplift), Uplift::newcombe(1, 3, 1, 2));
    assert!((uplift.difference - (1.0 / 3.0 - 0.5)).abs() < 1e-12);
    assert_eq!(welcome.verdict, Some(Verdict::Unclear));
    // No goal: the groups are counted, nothing is estimated; the send
    // after the report's instant is not seen.
    let reminder = &report.actions[1];
    assert_eq!((reminder.sent, reminder.held_out), (1, 1));
    assert_eq!((reminder.uplift, reminder.verdict), (None, None));
    assert_eq!(report.unknown_records, 1);
}

#[test]
fn a_journey_goal_counts_the_first_enrolment_that_contacted() {
    let report = report(1);
    let goal = &report.journey_goals[0];
    assert_eq!(goal.id, "rescue");
    // Contacted: p1 (no login), p2 (login on day 1), p4 (login on day 10).
    // Held out: p3 (every stage held out, no login).
    assert_eq!((goal.sent, goal.converted_sent), (3, 2));
    assert_eq!((goal.held_out, goal.converted_held_out), (1, 0));
    assert_eq!(goal.uplift, Uplift::newcombe(2, 3, 0, 1));
}

#[test]
fn below_the_minimum_the_report_says_too_few_to_tell() {
    let report = report(3);
    let welcome = &report.actions[0];
    assert_eq!(welcome.uplift, None);
    assert_eq!(welcome.verdict, Some(Verdict::TooFewToTell));
    let text = report.to_text();
    assert!(text.contains("uplift: too few to tell"), "{text}");
    let json = report.to_json();
    assert_eq!(json["actions"][0]["verdict"], "too_few_to_tell");
    assert_eq!(json["actions"][0]["uplift_ci"], serde_json::Value::Null);
}

#[test]
fn the_json_has_the_shape_the_issue_asks_for() {
    let json = report(2).to_json();
    let journey = &json["journeys"][0];
    for key in ["id", "entered", "steps", "exited", "fallback", "active"] {
        assert!(journey.get(key).is_some(), "journey without `{key}`");
    }
    assert_eq!(journey["fallback"], 2);
    assert_eq!(
        journey["steps"][0],
        serde_json::json!({"step": 1, "action": "rescue_email", "sent": 3, "skipped": 0, "held_out": 1})
    );
    let action = &json["actions"][0];
    for key in [
        "id",
        "sent",
        "held_out",
        "converted_sent",
        "converted_held_out",
        "uplift",
        "uplift_ci",
    ] {
        assert!(action.get(key).is_some(), "action without `{key}`");
    }
    let ci = action["uplift_ci"].as_array().unwrap();
    let uplift = Uplift::newcombe(1, 3, 1, 2).unwrap();
    assert_eq!(ci[0].as_f64(), Some(uplift.low));
    assert_eq!(ci[1].as_f64(), Some(uplift.high));
}

#[test]
fn a_profile_given_twice_is_refused() {
    let rules = fixture::rules();
    let profiles = fixture::profiles(&rules);
    let twice = [&profiles[0], &profiles[0]];
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let error = Report::build(
        &rules,
        &MemoryHistory::new(),
        twice,
        now,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(error, ReportError::RepeatedProfile { .. }));
    assert_eq!(error.to_string(), "profile `p1` is given more than once");
}

#[test]
fn records_of_a_stage_the_journey_does_not_have_are_left_out_and_counted() {
    use nextbest::history::{History, Outcome, Update};
    let rules = fixture::rules();
    let mut history = MemoryHistory::new();
    fixture::record_history(&mut history);
    let at = fixture::t0() + fixture::days(1);
    let mut stray = fixture::record("p1", "rescue_call", Outcome::Sent, at, Some(9));
    stray.key = "stray".into();
    history.record(&Update::from(vec![stray])).unwrap();
    let profiles = fixture::profiles(&rules);
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let options = Options::default().min_group(2);
    let with_stray = Report::build(&rules, &history, &profiles, now, &options).unwrap();
    assert_eq!(with_stray.unknown_records, 2);
    assert_eq!(with_stray.journeys, report(2).journeys);
}

/// Found in review: a goal read the events before the send, so a purchase
/// an hour before `welcome` and any event after it counted as a conversion.
#[test]
fn a_goal_counts_only_what_happened_after_the_contact() {
    use nextbest::History;
    use nextbest::history::{Outcome, Update};
    let rules = fixture::rules();
    let t = fixture::t0();
    let mut history = MemoryHistory::new();
    let update = Update::from(vec![fixture::record(
        "q",
        "welcome",
        Outcome::Sent,
        t,
        None,
    )]);
    history.record(&update).unwrap();
    let before = fixture::earlier(t, fixture::hours(1));
    let after = t + fixture::hours(1);
    let line = format!(
        r#"{{"id": "q", "traits": {{"x": 1}}, "events": [{{"event": "purchase", "timestamp": "{before}", "properties": {{"amount": 1.0}}}}, {{"event": "login", "timestamp": "{after}"}}]}}"#
    );
    let profile = nextbest::Profile::from_json(&rules.schema, &line).unwrap();
    let now = Timestamp::parse(fixture::NOW).unwrap();
    let report = Report::build(&rules, &history, &[profile], now, &Options::default()).unwrap();
    let welcome = &report.actions[0];
    assert_eq!(welcome.id, "welcome");
    assert_eq!((welcome.sent, welcome.converted_sent), (1, 0));
}

/// Found in review: journey states are the latest ones, so a report as of
/// an instant before a journey changed is refused rather than miscounted.
#[test]
fn a_report_before_the_last_journey_change_is_refused() {
    let rules = fixture::rules();
    let mut history = MemoryHistory::new();
    fixture::record_history(&mut history);
    let profiles = fixture::profiles(&rules);
    let early = fixture::t0() + fixture::days(2);
    let error = Report::build(&rules, &history, &profiles, early, &Options::default()).unwrap_err();
    assert!(
        matches!(error, ReportError::JourneyChangedAfter { .. }),
        "{error}"
    );
}
