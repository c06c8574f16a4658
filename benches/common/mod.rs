//! What the benches share: a small deterministic generator, so that every
//! run measures the same data, and the configuration of the benches that
//! have a `main` of their own.

use std::time::Duration;

use criterion::Criterion;

/// SplitMix64: small, fast, and the same sequence on every platform.
#[allow(dead_code)] // Each bench is a crate; the history benches use none.
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 20 samples of 3 s after 1 s of warm-up, then the command line's options:
/// enough for the batch benches, short enough to run them all often.
#[allow(dead_code)] // Each bench is a crate; `decide` and `simulate` set theirs per group.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// The engine of the bundled rules (`examples/rules/classic.toml`).
#[allow(dead_code)] // Each bench is a crate; only the history benches use it.
pub fn classic_engine() -> nextbest::decide::Engine {
    let root = env!("CARGO_MANIFEST_DIR");
    let rules = nextbest::rules::RuleSet::load(format!("{root}/examples/rules/classic.toml"))
        .expect("the bundled rules");
    nextbest::decide::Engine::new(rules)
}

/// `count` profiles: the bundled customers over and over, each under an id
/// of its own (`p-0`, `p-1`, …).
#[allow(dead_code)] // Each bench is a crate; only the history benches use it.
pub fn customers(engine: &nextbest::decide::Engine, count: usize) -> Vec<nextbest::Profile> {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/examples/data/customers.jsonl"))
        .expect("the bundled customers");
    let lines: Vec<serde_json::Value> = (text.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (0..count)
        .map(|i| {
            let mut line = lines.get(i % lines.len()).expect("a customer").clone();
            line["id"] = serde_json::Value::String(format!("p-{i}"));
            nextbest::Profile::from_json(&engine.rules().schema, &line.to_string())
                .expect("a bundled customer")
        })
        .collect()
}
