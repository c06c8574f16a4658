//! Crash safety of `nextbest decide --history`: a real process is killed with
//! SIGKILL at arbitrary points of a large batch, several times; then every
//! profile must have been emitted at least once, every repeat must carry the
//! same key, the store must reopen cleanly, and a final run must emit nothing.
#![cfg(all(feature = "cli", unix))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nextbest::Timestamp;
use nextbest::history::{DurableHistory, History};

const PROFILES: usize = 20_000;
const NOW: &str = "2026-11-24T09:00:00Z";

const RULES: &str = r#"
[schema.traits]
login_count_30d = "int"
login_count_60d = "int"

[consent]
email = {}

[[action]]
id = "churn_email"
channel = "email"
trigger = "login_count_30d < 0.6 * login_count_60d"
cooldown = "30d"
"#;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nextbest-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let profiles = dir.join("profiles.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&profiles).unwrap());
    for i in 0..PROFILES {
        writeln!(
            file,
            r#"{{"id": "p-{i}", "traits": {{"login_count_30d": 1, "login_count_60d": 10}}}}"#
        )
        .unwrap();
    }
    file.flush().unwrap();
    (rules, profiles)
}

/// Runs decide, killing it after `kill_after` if given; returns the complete
/// output lines as (profile, key).
fn run(
    rules: &Path,
    profiles: &Path,
    store: &Path,
    kill_after: Option<Duration>,
) -> Vec<(String, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .args([
            "decide",
            rules.to_str().unwrap(),
            "--profiles",
            profiles.to_str().unwrap(),
            "--now",
            NOW,
        ])
        .args(["--history", store.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = {
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
            text
        })
    };
    if let Some(delay) = kill_after {
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
    }
    let status = child.wait().unwrap();
    let text = reader.join().unwrap();
    if kill_after.is_none() {
        assert!(status.success(), "a run to completion failed");
    }
    // A line cut by the kill has no newline: only complete lines count.
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                json["profile"].as_str().unwrap().to_owned(),
                json["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn sigkill_at_any_point_loses_nothing_and_resends_under_the_same_key() {
    let dir = scratch();
    let (rules, profiles) = write_inputs(&dir);
    let store = dir.join("history.redb");
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut emitted = 0;
    // Kill points spread from "before the first commit" to "near the end".
    for delay_ms in [30, 700, 150, 1_500, 400, 2_500] {
        for (profile, key) in run(
            &rules,
            &profiles,
            &store,
            Some(Duration::from_millis(delay_ms)),
        ) {
            emitted += 1;
            if let Some(first) = keys.insert(profile.clone(), key.clone()) {
                assert_eq!(first, key, "{profile} was re-emitted under another key");
            }
        }
    }
    for (profile, key) in run(&rules, &profiles, &store, None) {
        emitted += 1;
        if let Some(first) = keys.insert(profile.clone(), key.clone()) {
            assert_eq!(first, key, "{profile} was re-emitted under another key");
        }
    }
    assert_eq!(keys.len(), PROFILES, "every profile emitted at least once");
    assert!(emitted >= PROFILES);
    // A completed run followed by the same run (same instant) chooses
    // nothing new: it replays every recorded send under its key.
    let replayed = run(&rules, &profiles, &store, None);
    assert_eq!(replayed.len(), PROFILES);
    for (profile, key) in replayed {
        assert_eq!(
            keys[&profile], key,
            "{profile} was replayed under another key"
        );
    }
    // The store reopens cleanly, with each send recorded once.
    let history = DurableHistory::open(&store).unwrap();
    assert_eq!(
        history.len().unwrap(),
        PROFILES as u64,
        "one record per send"
    );
    for i in (0..PROFILES).step_by(997) {
        assert_eq!(
            history
                .times_sent(&format!("p-{i}"), "churn_email")
                .unwrap(),
            1
        );
    }
    let now = Timestamp::parse(NOW).unwrap();
    assert_eq!(history.last_sent("p-0", "churn_email").unwrap(), Some(now));
    drop(history);
    let _ = std::fs::remove_dir_all(&dir);
}
