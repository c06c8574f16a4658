//! A service's use of nextbest with `default-features = false, features =
//! ["serde"]`: decide, then serialise the decision with `serde_json`.
//! `.ci/run` runs it and checks its dependency tree: no redb, no clap, no
//! pest stack guard (nor its C code), and `serde_json::Map` left sorted.

use nextbest::decide::{Engine, Options};
use nextbest::history::MemoryHistory;
use nextbest::rules::{Format, RuleSet};
use nextbest::{Profile, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = RuleSet::parse(
        r#"
[schema.traits]
logins = "int"
[consent]
email = {}
[[action]]
id = "nudge"
channel = "email"
trigger = "logins < 2"
"#,
        Format::Toml,
        "rules.toml",
    )?;
    let engine = Engine::new(rules);
    let profile = Profile::builder(&engine.rules().schema, "c-1")
        .attribute("logins", 1)
        .build()?;
    let now: Timestamp = "2026-11-24T09:00:00Z".parse()?;
    let decision = engine.decide(&profile, &MemoryHistory::new(), now, Options::default())?;
    let json = serde_json::to_string(&decision)?;
    println!("{json}");
    let emission = serde_json::to_string(&decision.emissions[0])?;
    assert!(emission.starts_with(r#"{"profile":"c-1","action":"nudge","channel":"email""#));

    // Linking nextbest changes no other crate's serde_json: maps stay sorted.
    let mut map = serde_json::Map::new();
    map.insert("b".into(), 1.into());
    map.insert("a".into(), 2.into());
    let keys: Vec<&String> = map.keys().collect();
    assert_eq!(keys, ["a", "b"], "serde_json's preserve_order is on");
    Ok(())
}
