//! The funnel against the engine itself: customers with random logins run
//! through a re-entering journey (with hold-outs and consent-skipped
//! steps) in the simulator, and the report's counts of the history must
//! equal what the decisions said as they were made — every entry, exit
//! and completion, and every stage's sends, hold-outs and skips.

use nextbest::decide::Engine;
use nextbest::history::{JourneyStatus, MemoryHistory};
use nextbest::report::{Options, Report};
use nextbest::rules::{Format, RuleSet};
use nextbest::simulate::Simulation;
use nextbest::{Duration, Profile, Timestamp};
use proptest::prelude::*;

const RULES: &str = r#"
[schema.traits]
at_risk = "bool"
push_ok = "bool"
[schema.events]
login = {}
[consent]
email = {}
push = { opt_in = "push_ok" }
[[action]]
id = "mail"
channel = "email"
[[action]]
id = "push"
channel = "push"
[[action]]
id = "call"
channel = "email"
holdout_percent = 50
[[journey]]
id = "rescue"
entry = "at_risk"
exit = "count(login SINCE journey.entered_at) > 0"
reentry = "2d"
steps = [{ after = "0d", action = "mail" }, { after = "2d", action = "push" }]
fallback = { after = "5d", action = "call" }
"#;

/// A customer: push consent or not, and logins at these hours from the start.
fn customer() -> impl Strategy<Value = (bool, Vec<i64>)> {
    (any::<bool>(), prop::collection::vec(0i64..(40 * 24), 0..6))
}

/// Counts per stage: (sent, held out, skipped).
type Stages = [[u64; 3]; 3];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_funnel_counts_what_the_decisions_did(customers in prop::collection::vec(customer(), 1..6)) {
        let engine = Engine::new(RuleSet::parse(RULES, Format::Toml, "rescue.toml").unwrap());
        let schema = &engine.rules().schema;
        let start = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let hour = Duration::parse("1h").unwrap();
        let end = start + Duration::parse("40d").unwrap();
        let mut history = MemoryHistory::new();
        let mut profiles: Vec<Profile> = Vec::new();
        let (mut entered, mut exited, mut completed, mut active) = (0u64, 0u64, 0u64, 0u64);
        let mut stages: Stages = [[0; 3]; 3];
        for (i, (push_ok, logins)) in customers.iter().enumerate() {
            let mut builder = Profile::builder(schema, format!("c-{i}"))
                .attribute("at_risk", true)
                .attribute("push_ok", *push_ok);
            for h in logins {
                let at = Timestamp::from_micros(start.as_micros() + h * hour.as_micros());
                builder = builder.event("login", at, Vec::<(&str, bool)>::new());
            }
            profiles.push(builder.clone().build().unwrap());
            let step = Duration::parse("6h").unwrap();
            let timeline = Simulation::new(&engine, builder)
                .run_with(&mut history, start, end, step)
                .unwrap();
            let mut last = None;
            for decision in &timeline.decisions {
                for update in &decision.journeys {
                    match update.state.change(decision.at) {
                        "entered" => entered += 1,
                        "exited" => exited += 1,
                        "completed" => completed += 1,
                        _ => {}
                    }
                    last = Some(update.state.status);
                }
                for (column, list) in [&decision.emissions, &decision.held_out, &decision.skipped]
                    .into_iter()
                    .enumerate()
                {
                    for emission in list {
                        if let Some((_, step)) = &emission.journey {
                            stages[*step as usize - 1][column] += 1;
                        }
                    }
                }
            }
            active += u64::from(last == Some(JourneyStatus::Active));
        }
        let report = Report::build(engine.rules(), &history, &profiles, end, &Options::default()).unwrap();
        let funnel = &report.journeys[0];
        // Every customer is at risk from the start: each entered at least once.
        prop_assert!(entered >= customers.len() as u64);
        prop_assert_eq!(
            (funnel.entered, funnel.exited, funnel.completed, funnel.active),
            (entered, exited, completed, active)
        );
        let counted: Vec<[u64; 3]> = funnel.stages().map(|s| [s.sent, s.held_out, s.skipped]).collect();
        prop_assert_eq!(counted, stages.to_vec());
        // A stage is reached by those who reached the one before, less
        // those who left or still wait there.
        for (k, stage) in funnel.stages().enumerate() {
            let d = &funnel.drop_off[k];
            prop_assert_eq!(stage.reached(), d.reached - d.exited - d.waiting - d.completed);
        }
        prop_assert_eq!(report.unknown_records, 0);
    }
}
