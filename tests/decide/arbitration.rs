//! Arbitration.

use super::*;

const RANKED: &str = r#"
[[action]]
id = "low"
channel = "email"
trigger = "a"
priority = 1

[[action]]
id = "zeta"
channel = "email"
trigger = "a"
priority = 50

[[action]]
id = "alpha"
channel = "push"
trigger = "a"
priority = 50

[[action]]
id = "scored"
channel = "in_app"
trigger = "a"
score = "40 + 10"

[[action]]
id = "default"
channel = "in_app"
trigger = "a"
"#;

fn ranked_profile(engine: &Engine) -> Profile {
    traits(
        engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "push_opt_in": true}),
    )
}

#[test]
fn arbitration_ranks_by_priority_and_score_and_breaks_ties_by_id() {
    let engine = inline(RANKED);
    let p = ranked_profile(&engine);
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    // zeta, alpha and scored all rank 50: alpha wins by id.
    assert_eq!(emitted(&d), ["alpha"]);
    for loser in ["zeta", "scored", "low", "default"] {
        let s = suppression(&d, loser);
        assert_eq!(s.reason, Reason::Arbitration, "{loser}");
        assert_eq!(s.to_json()["suppressed"], json!("arbitration"));
        assert_eq!(s.to_json()["action"], json!(loser));
    }
    assert_eq!(d.suppressions.len(), 4);

    // Without explain, the losers are not reported.
    let quiet = engine
        .decide(&p, &MemoryHistory::new(), now(), Options::default())
        .unwrap();
    assert_eq!(emitted(&quiet), ["alpha"]);
    assert!(quiet.suppressions.is_empty());

    // The winner blocked (no push consent), the next in rank (by id among
    // equals) takes the place.
    let no_push = traits(
        &engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "push_opt_in": false}),
    );
    let d = explain(&engine, &no_push, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["scored"]);
    assert_eq!(reason(&d, "alpha"), Reason::NoConsent);
    assert_eq!(reason(&d, "zeta"), Reason::Arbitration);
    let chosen = detail(suppression(&d, "zeta"), "chosen");
    assert_eq!(chosen, &Value::from(vec!["scored"]));
}

#[test]
fn at_most_max_actions_are_emitted_best_first() {
    let engine = inline(&format!("{RANKED}\n[decision]\nmax_actions = 3\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta"]);
    assert_eq!(reason(&d, "low"), Reason::Arbitration);
    assert_eq!(reason(&d, "default"), Reason::Arbitration);
    assert_eq!(d.suppressions.len(), 2);

    let engine = inline(&format!("{RANKED}\n[decision]\nmax_actions = 10\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta", "low", "default"]);
    assert!(d.suppressions.is_empty());
}

#[test]
fn arbitration_does_not_depend_on_the_file_order() {
    let reversed: Vec<&str> = RANKED.split("[[action]]").skip(1).collect();
    let reversed: String = reversed
        .iter()
        .rev()
        .map(|a| format!("[[action]]{a}"))
        .collect();
    let engine = inline(&format!("{reversed}\n[decision]\nmax_actions = 3\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta"]);
}
