//! The `serde` feature as a service uses it: decisions serialised with
//! `serde_json` are the lines the command line prints, and the value types
//! read back what they write.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use nextbest::decide::{Engine, Options};
use nextbest::history::MemoryHistory;
use nextbest::rules::RuleSet;
use nextbest::{Duration, Profile, Timestamp, Value};

#[test]
fn emissions_and_suppressions_serialise_as_the_lines_decide_prints() {
    let root = env!("CARGO_MANIFEST_DIR");
    let engine = Engine::new(RuleSet::load(format!("{root}/examples/rules/classic.toml")).unwrap());
    let customers =
        std::fs::read_to_string(format!("{root}/examples/data/customers.jsonl")).unwrap();
    let now: Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
    let (mut emissions, mut suppressions) = (0, 0);
    for line in customers.lines().filter(|l| !l.trim().is_empty()) {
        let profile = Profile::from_json(&engine.rules().schema, line).unwrap();
        let decision = engine
            .decide(
                &profile,
                &MemoryHistory::new(),
                now,
                Options::default().explain(true),
            )
            .unwrap();
        let mut printed = Vec::new();
        decision.write_json_lines(true, &mut printed).unwrap();
        let printed = String::from_utf8(printed).unwrap();
        let mut printed = printed.lines();
        for emission in &decision.emissions {
            assert_eq!(
                serde_json::to_string(emission).unwrap(),
                printed.next().unwrap()
            );
            emissions += 1;
        }
        for suppression in &decision.suppressions {
            assert_eq!(
                serde_json::to_string(suppression).unwrap(),
                printed.next().unwrap()
            );
            suppressions += 1;
        }
        // The whole decision, with the same lines inside.
        let whole = serde_json::to_value(&decision).unwrap();
        assert_eq!(whole["at"], "2026-11-24T09:00:00Z");
        assert_eq!(
            whole["emissions"].as_array().unwrap().len(),
            decision.emissions.len()
        );
    }
    assert!(emissions > 0 && suppressions > 0);
}

#[test]
fn value_types_read_back_what_they_write() {
    let at: Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
    let values = vec![
        Value::Null,
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Float(0.25),
        Value::from("naïve"),
        Value::from(vec![1i64, 2]),
    ];
    let json = serde_json::to_string(&values).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Value>>(&json).unwrap(), values);
    let pair: (Timestamp, Duration) =
        serde_json::from_str(r#"["2026-11-24T09:00:00Z", "36h"]"#).unwrap();
    assert_eq!(pair, (at, Duration::from_secs(36 * 3600)));
    assert_eq!(
        serde_json::to_string(&pair).unwrap(),
        r#"["2026-11-24T09:00:00Z","36h"]"#
    );
}
