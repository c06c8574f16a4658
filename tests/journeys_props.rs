//! Properties of journeys over random customers and futures, through the
//! simulator: whatever the timeline, each stage of an enrolment is settled
//! (sent, held out or skipped) at most once and in order, never before it is
//! due nor after the customer exited; explaining never changes what is sent;
//! and a simulation cut in two over the same history equals one run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::LazyLock;

use nextbest::decide::Engine;
use nextbest::history::{JourneyStatus, MemoryHistory};
use nextbest::rules::{Format, RuleSet};
use nextbest::simulate::{Simulation, Timeline};
use nextbest::{Duration, Profile, Timestamp};
use proptest::prelude::*;

/// The churn journey of the classic rules, with a cap and quiet hours, and a
/// standalone action competing for the same cap.
const RULES: &str = r#"
[schema.traits]
at_risk = "bool"
email_opt_in = "bool"
push_opt_in = "bool"
timezone = "string"
vip = "bool"

[schema.events]
login = {}

[consent]
email = { opt_in = "email_opt_in" }
push = { opt_in = "push_opt_in" }
in_app = {}
sales_task = {}

[quiet_hours]
start = "21:00"
end = "08:00"
timezone_trait = "timezone"

[[cap]]
name = "weekly"
category = "marketing"
channels = ["email", "push"]
max = 2
per = "7d"

[[action]]
id = "churn_email"
channel = "email"
priority = 50
cooldown = "14d"
max_sends = 3

[[action]]
id = "churn_push"
channel = "push"
priority = 40

[[action]]
id = "churn_inapp"
channel = "in_app"
quiet_hours = "ignore"

[[action]]
id = "csm_call"
channel = "sales_task"
category = "transactional"

[[action]]
id = "vip_push"
channel = "push"
trigger = "vip"
priority = 60
cooldown = "2d"

[[journey]]
id = "churn_rescue"
entry = "at_risk"
exit = "count(login SINCE journey.entered_at) > 0"
reentry = "10d"
steps = [
  { after = "0d", action = "churn_email" },
  { after = "3d", action = "churn_push" },
  { after = "7d", action = "churn_inapp" },
]
fallback = { after = "14d", action = "csm_call" }
"#;

static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::new(RuleSet::parse(RULES, Format::Toml, "rules.toml").unwrap()));

const HOUR: i64 = 3_600_000_000;
const START: i64 = 1_795_510_800_000_000; // 2026-11-24T09:00:00Z

/// When each stage falls due after entry, in hours.
const DUE_HOURS: [i64; 4] = [0, 72, 168, 336];

#[derive(Debug, Clone)]
struct Customer {
    email: Option<bool>,
    push: Option<bool>,
    vip: bool,
    zone: &'static str,
    /// Logins, hours after the start.
    logins: Vec<i64>,
    /// Hours after the start when push consent flips.
    push_change: Option<(i64, bool)>,
    /// Decision step, hours.
    step: i64,
    /// Offset of the start, minutes.
    minutes: i64,
}

fn customer() -> impl Strategy<Value = Customer> {
    (
        prop::option::weighted(0.9, any::<bool>()),
        prop::option::weighted(0.9, any::<bool>()),
        prop::bool::weighted(0.3),
        prop::sample::select(vec![
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Tokyo",
        ]),
        prop::collection::vec(0i64..40 * 24, 0..3),
        prop::option::of((0i64..30 * 24, any::<bool>())),
        prop::sample::select(vec![1i64, 2, 5, 24]),
        0i64..60,
    )
        .prop_map(
            |(email, push, vip, zone, logins, push_change, step, minutes)| Customer {
                email,
                push,
                vip,
                zone,
                logins,
                push_change,
                step,
                minutes,
            },
        )
}

fn start(customer: &Customer) -> Timestamp {
    Timestamp::from_micros(START + customer.minutes * 60_000_000)
}

fn simulation(customer: &Customer) -> Simulation<'static> {
    let at = |hours: i64| Timestamp::from_micros(start(customer).as_micros() + hours * HOUR);
    let mut profile = Profile::builder(&ENGINE.rules().schema, "c-1")
        .attribute("at_risk", true)
        .attribute("vip", customer.vip)
        .attribute("timezone", customer.zone);
    if let Some(email) = customer.email {
        profile = profile.attribute("email_opt_in", email);
    }
    if let Some(push) = customer.push {
        profile = profile.attribute("push_opt_in", push);
    }
    let mut simulation = Simulation::new(&ENGINE, profile);
    for login in &customer.logins {
        simulation = simulation.event("login", at(*login), Vec::<(&str, i64)>::new());
    }
    if let Some((hours, push)) = customer.push_change {
        simulation = simulation.attribute(at(hours), "push_opt_in", push);
    }
    simulation
}

fn run(customer: &Customer, explain: bool) -> Timeline {
    let from = start(customer);
    let to = from + Duration::from_days(45);
    simulation(customer)
        .explain(explain)
        .run(from, to, Duration::from_micros(customer.step * HOUR))
        .unwrap()
}

/// What happened to one enrolment's stages: (stage number, instant).
type Settled = Vec<(u32, Timestamp)>;

/// Every enrolment (by entry time) with its settled stages and its exit.
fn enrolments(timeline: &Timeline) -> HashMap<Timestamp, (Settled, Option<Timestamp>)> {
    let mut out: HashMap<Timestamp, (Settled, Option<Timestamp>)> = HashMap::new();
    let mut current: Option<Timestamp> = None;
    for decision in &timeline.decisions {
        for update in &decision.journeys {
            if update.state.entered_at == decision.at {
                current = Some(decision.at);
            }
            if let JourneyStatus::Exited(at) = update.state.status {
                out.entry(update.state.entered_at).or_default().1 = Some(at);
            }
        }
        let settled = decision
            .emissions
            .iter()
            .chain(&decision.held_out)
            .chain(&decision.skipped);
        for e in settled {
            if let (Some((_, step)), Some(entered)) = (&e.journey, current) {
                out.entry(entered).or_default().0.push((*step, decision.at));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn each_stage_is_settled_once_in_order_when_due_and_never_after_an_exit(customer in customer()) {
        let timeline = run(&customer, false);
        for (entered, (mut settled, exit)) in enrolments(&timeline) {
            // One decision may skip an overdue stage and send the next.
            settled.sort_by_key(|(step, at)| (*at, *step));
            let steps: Vec<u32> = settled.iter().map(|(s, _)| *s).collect();
            let mut sorted = steps.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(&steps, &sorted, "stages out of order or repeated: {:?}", settled);
            let end = start(&customer).as_micros() + 45 * 24 * HOUR;
            let settled_by = entered.as_micros() + (DUE_HOURS[3] + 3 * customer.step + 48) * HOUR;
            if exit.is_none() && settled_by <= end {
                // The fallback may lose a ranking, never more than a cooldown long.
                prop_assert_eq!(&steps, &[1, 2, 3, 4], "an enrolment left unfinished: {:?}", settled);
            }
            for (step, at) in &settled {
                let due = entered.as_micros() + DUE_HOURS[*step as usize - 1] * HOUR;
                prop_assert!(at.as_micros() >= due, "stage {} settled before due", step);
                if let Some(exit) = exit {
                    prop_assert!(*at < exit, "stage {} settled after the exit", step);
                }
            }
        }
    }

    #[test]
    fn explaining_never_changes_what_is_sent(customer in customer()) {
        let quiet = run(&customer, false);
        let explained = run(&customer, true);
        let sends = |t: &Timeline| t.sends().map(|(at, e)| (at, e.clone())).collect::<Vec<_>>();
        prop_assert_eq!(sends(&quiet), sends(&explained));
        // And the same inputs give the same timeline.
        prop_assert_eq!(run(&customer, false), quiet);
    }

    #[test]
    fn a_simulation_cut_in_two_over_one_history_equals_one_run(
        customer in customer(),
        cut in 1i64..44 * 24,
    ) {
        let whole = run(&customer, false);
        let from = start(&customer);
        let to = from + Duration::from_days(45);
        let step = customer.step * HOUR;
        // The cut falls on the grid of decision instants.
        let cut = from.as_micros() + (cut * HOUR / step) * step;
        let mut history = MemoryHistory::new();
        let simulation = simulation(&customer);
        let first = simulation
            .run_with(&mut history, from, Timestamp::from_micros(cut), Duration::from_micros(step))
            .unwrap();
        let rest = simulation
            .run_with(
                &mut history,
                Timestamp::from_micros(cut + step),
                to,
                Duration::from_micros(step),
            )
            .unwrap();
        let mut decisions = first.decisions;
        decisions.extend(rest.decisions);
        prop_assert_eq!(decisions, whole.decisions);
    }

    #[test]
    fn any_timeline_text_is_read_or_refused_with_its_line_never_a_panic(
        lines in prop::collection::vec(
            prop_oneof![
                Just(r#"{"event": "login", "timestamp": "2026-11-25T10:00:00Z"}"#.to_owned()),
                Just(r#"{"timestamp": "2026-11-26T00:00:00Z", "traits": {"vip": true}}"#.to_owned()),
                Just(r#"{"timestamp": "2026-11-26T00:00:00Z", "traits": {"vip": 3}}"#.to_owned()),
                Just(r#"{"event": "login"}"#.to_owned()),
                Just("[]".to_owned()),
                Just(String::new()),
                ".{0,40}",
            ],
            0..6,
        ),
    ) {
        let text = lines.join("\n");
        let profile = Profile::builder(&ENGINE.rules().schema, "c-1");
        match Simulation::new(&ENGINE, profile).timeline_json(text.as_bytes()) {
            Ok(simulation) => {
                let from = Timestamp::from_micros(START);
                let run = simulation.run(from, from + Duration::from_days(3), Duration::from_secs(3600));
                prop_assert!(run.is_ok(), "{:?}", run.err());
            }
            Err(error) => {
                prop_assert!((1..=lines.len()).contains(&error.line), "{error}");
                prop_assert!(!error.detail.is_empty());
            }
        }
    }
}
