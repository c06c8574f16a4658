//! What the command-line tests share: running the real `nextbest` binary as
//! a user runs it, and scratch directories.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The bundled rules, customers, and the instant the README decides at:
/// what most command-line tests run.
pub const RULES: &str = "examples/rules/classic.toml";
/// See [`RULES`].
pub const CUSTOMERS: &str = "examples/data/customers.jsonl";
/// See [`RULES`].
pub const NOW: &str = "2026-11-24T09:00:00Z";

/// The crate's root: the working directory of every run.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `nextbest ARGS` with `stdin` as its standard input.
pub fn nextbest(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nextbest"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: a child that answers as it reads would
    // otherwise fill its stdout pipe while we still fill its stdin.
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_owned();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(data.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A directory of its own for one test, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh directory named after `name`, this process and how many
    /// came before it in this process.
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nextbest-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// The path of `file` inside it.
    pub fn file(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A record of `profile` decided at `at` µs, sent at `at + 7`, under a key
/// of its own.
pub fn record(
    profile: &str,
    action: &str,
    channel: &str,
    category: nextbest::rules::Category,
    outcome: nextbest::history::Outcome,
    at: i64,
) -> nextbest::history::Record {
    nextbest::history::Record::new(
        profile,
        action,
        channel,
        category,
        outcome,
        nextbest::Timestamp::from_micros(at),
        format!("{profile}/{action}/{at}"),
    )
    .delivered_at(nextbest::Timestamp::from_micros(at + 7))
}

/// Two actions under one cap of one send a week, and one sent at most once.
pub const CAPPED: &str = r#"
[schema.traits]
n = "int"
[consent]
email = {}
push = {}
[decision]
max_actions = 3
[[cap]]
name = "weekly"
category = "marketing"
max = 1
per = "7d"
[[action]]
id = "first"
channel = "email"
trigger = "n > 0"
priority = 2
[[action]]
id = "second"
channel = "email"
trigger = "n > 0"
priority = 1
[[action]]
id = "once"
channel = "push"
trigger = "n > 5"
category = "transactional"
max_sends = 1
"#;

pub mod engines;
pub mod model;
#[cfg(feature = "postgres")]
pub mod pg;

/// `count` JSON lines of profiles: the bundled customers over and over,
/// each under an id of its own (`p-0`, `p-1`, …).
pub fn many_customers(count: usize) -> String {
    let customers = std::fs::read_to_string(root().join("examples/data/customers.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = (customers.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().cycle().take(count).enumerate() {
        let mut line = line.clone();
        line["id"] = serde_json::Value::String(format!("p-{i}"));
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// The keys of a JSON object line in the order they are written (a
/// `serde_json::Value` sorts them).
pub fn keys_in_order(line: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Keys>(line).unwrap().0
}

#[cfg(feature = "durable")]
pub mod v3;
