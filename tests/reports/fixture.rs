//! A small history where every figure of the report is known by hand
//! (the figures are worked out in the comments and in `library.rs`).

use nextbest::history::{
    History, JourneyState, JourneyStatus, JourneyUpdate, Outcome, Record, Update,
};
use nextbest::rules::{Category, Format, RuleSet};
use nextbest::{Duration, Profile, Timestamp};

pub const RULES: &str = r#"
[schema.traits]
x = "int"

[schema.events]
purchase = { amount = "float" }
login = {}

[consent]
email = {}
push = {}

[[action]]
id = "welcome"
channel = "email"
goal = "exists(purchase WITHIN 1d)"
goal_window = "7d"

[[action]]
id = "reminder"
channel = "push"

[[action]]
id = "rescue_email"
channel = "email"

[[action]]
id = "rescue_push"
channel = "push"

[[action]]
id = "rescue_call"
channel = "email"

[[journey]]
id = "rescue"
entry = "x > 0"
exit = "count(login SINCE journey.entered_at) > 0"
reentry = "1d"
steps = [
  { after = "0d", action = "rescue_email" },
  { after = "3d", action = "rescue_push" },
]
fallback = { after = "7d", action = "rescue_call" }
goal = "count(login WITHIN 30d) > 0"
goal_window = "14d"
"#;

/// The report's instant.
pub const NOW: &str = "2026-12-01T00:00:00Z";

pub fn rules() -> RuleSet {
    RuleSet::parse(RULES, Format::Toml, "report.toml").unwrap()
}

/// The first sends: 2026-11-01T09:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-01T09:00:00Z").unwrap()
}

pub fn days(n: i64) -> Duration {
    Duration::from_micros(n * 86_400_000_000)
}

/// `at − by`.
pub fn earlier(at: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_micros(at.as_micros() - by.as_micros())
}

pub fn hours(n: i64) -> Duration {
    Duration::from_micros(n * 3_600_000_000)
}

/// The profiles as JSON lines (the `--profiles` file).
///
/// - p1: a purchase 2 days after `welcome` (converted, inside 7d).
/// - p2: no purchase; a login a day after the journey's first send.
/// - p3: a purchase a day after being held out of `welcome` (converted).
/// - p4: a purchase 8 days after being held out (outside the 7d window),
///   a login 10 days after the journey's first send (inside 14d).
/// - p5: `welcome` sent 3 days before the report: its window is open.
/// - p6: a purchase an hour *before* `welcome` and no event after it: the
///   goal is only evaluated at event times inside the window, so no.
pub fn profiles_jsonl() -> String {
    let at = |d: Duration| (t0() + d).to_string();
    let before = earlier(t0(), hours(1)).to_string();
    let lines = [
        format!(
            r#"{{"id": "p1", "traits": {{"x": 1}}, "events": [{{"event": "purchase", "timestamp": "{}", "properties": {{"amount": 10.0}}}}]}}"#,
            at(days(2))
        ),
        format!(
            r#"{{"id": "p2", "traits": {{"x": 1}}, "events": [{{"event": "login", "timestamp": "{}"}}]}}"#,
            at(days(1))
        ),
        format!(
            r#"{{"id": "p3", "traits": {{"x": 1}}, "events": [{{"event": "purchase", "timestamp": "{}", "properties": {{"amount": 5.0}}}}]}}"#,
            at(days(1))
        ),
        format!(
            r#"{{"id": "p4", "traits": {{"x": 1}}, "events": [{{"event": "purchase", "timestamp": "{}", "properties": {{"amount": 5.0}}}}, {{"event": "login", "timestamp": "{}"}}]}}"#,
            at(days(8)),
            at(days(10))
        ),
        r#"{"id": "p5", "traits": {"x": 1}}"#.to_owned(),
        format!(
            r#"{{"id": "p6", "traits": {{"x": 1}}, "events": [{{"event": "purchase", "timestamp": "{before}", "properties": {{"amount": 1.0}}}}]}}"#
        ),
    ];
    lines.join("\n") + "\n"
}

pub fn profiles(rules: &RuleSet) -> Vec<Profile> {
    nextbest::ProfileLines::new(&rules.schema, profiles_jsonl().as_bytes())
        .map(Result::unwrap)
        .collect()
}

pub fn record(
    profile: &str,
    action: &str,
    outcome: Outcome,
    at: Timestamp,
    journey: Option<u32>,
) -> Record {
    let channel = if action.contains("push") || action == "reminder" {
        "push"
    } else {
        "email"
    };
    let key = format!("{profile}-{action}-{}", at.as_micros());
    let record = Record::new(
        profile,
        action,
        channel,
        Category::Marketing,
        outcome,
        at,
        key,
    );
    match journey {
        Some(step) => record.in_journey("rescue", step),
        None => record,
    }
}

fn state(
    profile: &str,
    entered_at: Timestamp,
    enrolment: u32,
    status: JourneyStatus,
) -> JourneyUpdate {
    let mut state = JourneyState::entered(entered_at, enrolment);
    state.status = status;
    JourneyUpdate::new(profile, "rescue", state)
}

/// Writes the fixture's history into `history`.
///
/// Journey `rescue` (3 stages: two steps and the fallback):
/// - p1: entered once, step 1 sent, still active.
/// - p2: entered once, step 1 sent, exited a day later.
/// - p3: entered once, every stage held out, completed.
/// - p4: entered twice: the first enrolment step 1 sent, step 2 skipped,
///   fallback sent (completed); the second, at day 20, has done nothing yet.
/// - p5: entered twice, never got to a stage: both exited.
/// - p6: never entered.
pub fn record_history(history: &mut dyn History) {
    use Outcome::{HeldOut, Sent, Skipped};
    let t = t0();
    let now = Timestamp::parse(NOW).unwrap();
    let records = vec![
        // welcome
        record("p1", "welcome", Sent, t, None),
        record("p2", "welcome", Sent, t, None),
        record("p3", "welcome", HeldOut, t, None),
        record("p4", "welcome", HeldOut, t, None),
        record("p5", "welcome", Sent, earlier(now, days(3)), None),
        record("p6", "welcome", Sent, t, None),
        record("p6", "welcome", Sent, t + days(9), None),
        // reminder: one send, one hold-out, one after the report's instant
        record("p1", "reminder", Sent, t + days(1), None),
        record("p2", "reminder", HeldOut, t + days(1), None),
        record("p2", "reminder", Sent, now + days(4), None),
        // the journey
        record("p1", "rescue_email", Sent, t, Some(1)),
        record("p2", "rescue_email", Sent, t, Some(1)),
        record("p3", "rescue_email", HeldOut, t, Some(1)),
        record("p3", "rescue_push", HeldOut, t + days(3), Some(2)),
        record("p3", "rescue_call", HeldOut, t + days(7), Some(3)),
        record("p4", "rescue_email", Sent, t, Some(1)),
        record("p4", "rescue_push", Skipped, t + days(3), Some(2)),
        record("p4", "rescue_call", Sent, t + days(7), Some(3)),
        // an action these rules no longer have
        record("p6", "retired", Sent, t, None),
    ];
    let journeys = vec![
        state("p1", t, 1, JourneyStatus::Active),
        state("p2", t, 1, JourneyStatus::Exited(t + days(1))),
        state("p3", t, 1, JourneyStatus::Completed(t + days(7))),
        state("p4", t + days(20), 2, JourneyStatus::Active),
        state("p5", t + days(14), 2, JourneyStatus::Exited(t + days(15))),
    ];
    history
        .record(
            &journeys
                .into_iter()
                .fold(Update::from(records), Update::with_journey),
        )
        .unwrap();
}

/// A rule set that presses: a daily nudge under a weekly cap of two, two
/// triggers on the same trait, and an action that can never fire.
pub const PRESSING: &str = r#"
[schema.traits]
at_risk = "bool"
vip = "bool"
[schema.events]
login = {}
[consent]
email = {}
push = {}
[[cap]]
name = "weekly"
channels = ["email"]
max = 2
per = "7d"
[[action]]
id = "nudge"
channel = "email"
trigger = "at_risk"
cooldown = "1d"
[[action]]
id = "push_nudge"
channel = "push"
trigger = "at_risk AND count(login WITHIN 30d) = 0"
cooldown = "3d"
[[action]]
id = "never"
channel = "email"
trigger = "vip AND NOT vip"
"#;

pub const SAMPLE: &str = "{\"id\": \"c-1\", \"traits\": {\"at_risk\": true}}\n\
                          {\"id\": \"c-2\", \"traits\": {\"at_risk\": true}}\n\
                          {\"id\": \"c-3\", \"traits\": {\"at_risk\": false}}\n";
