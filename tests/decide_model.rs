//! A model-based property test of the decision engine.
//!
//! A small reference model of SPEC §5, written from the SPEC alone with plain
//! `Vec`s and linear scans (validity, global and per-action holdout, consent
//! and unsubscribe, cooldown, `max_sends`, two rolling frequency caps,
//! `suppress_if`, ranking by priority or by a score with ties by id,
//! `max_actions`), is run
//! side by side with the engine over random sequences of operations: decide
//! (with `explain`, optionally recording the decision), advance the clock
//! (minutes to days, and exact cooldown or window lengths give or take a
//! microsecond), and change traits (triggers, opt-ins, consent expiry,
//! unsubscribe). After every decision the emissions (action, channel,
//! `send_at`), the held-out candidates and every suppression reason (with the
//! cooldown and cap figures) must agree. Quiet hours are left out: the rule
//! set has none, so every `send_at` is the decision's instant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::LazyLock;

use nextbest::decide::{Decision, Engine, Options};
use nextbest::history::{History, MemoryHistory, Outcome};
use nextbest::rules::{Format, RuleSet};
use nextbest::{Id, Profile, Timestamp, Value};
use proptest::prelude::*;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The rule set under test; `[decision]` is appended per engine.
const RULES: &str = r#"
[schema.traits]
a = "bool"
b = "bool"
c = "bool"
s = "int"
email_opt_in = "bool"
email_consent_expires = "timestamp"
push_opt_in = "bool"
sms_opt_in = "bool"
unsubscribed = "bool"

[consent]
unsubscribed = "unsubscribed"
email = { opt_in = "email_opt_in", expires = "email_consent_expires" }
push  = { opt_in = "push_opt_in" }
sms   = { opt_in = "sms_opt_in" }
in_app = {}

[holdout]
percent = 10
salt = "model-global"

[[cap]]
name = "marketing-weekly"
category = "marketing"
channels = ["email", "push", "sms"]
max = 3
per = "7d"

[[cap]]
name = "all-daily"
max = 2
per = "1d"

[[action]]
id = "welcome_email"
channel = "email"
trigger = "a"
priority = 30
cooldown = "2d"
max_sends = 3
valid_from = "2026-11-03T00:00:00Z"

[[action]]
id = "promo_push"
channel = "push"
trigger = "b AND NOT c"
priority = 20
cooldown = "12h"
valid_until = "2026-11-20T12:00:00Z"

[[action]]
id = "digest_email"
channel = "email"
trigger = "a OR b"
priority = 20
cooldown = "1d"
holdout_percent = 30

[[action]]
id = "receipt_email"
channel = "email"
category = "transactional"
trigger = "c"
priority = 10
cooldown = "6h"
max_sends = 5

[[action]]
id = "tip_inapp"
channel = "in_app"
trigger = "c"
priority = 5

[[action]]
id = "sms_nudge"
channel = "sms"
trigger = "b"
suppress_if = "a"
priority = 40
cooldown = "3d"
max_sends = 2

[[action]]
id = "score_push"
channel = "push"
trigger = "b OR c"
score = "s"
cooldown = "1d"
"#;

/// Engines with `max_actions` 1 and 2.
static ENGINES: LazyLock<Vec<(usize, Engine)>> = LazyLock::new(|| {
    [1, 2]
        .into_iter()
        .map(|n| {
            let source = format!("{RULES}\n[decision]\nmax_actions = {n}\n");
            let rules = RuleSet::parse(&source, Format::Toml, "model.toml")
                .unwrap_or_else(|e| panic!("{e}"));
            (n, Engine::new(rules))
        })
        .collect()
});

fn at(text: &str) -> i64 {
    Timestamp::parse(text).unwrap().as_micros()
}

// ---------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------

/// The traits the rule set reads; `None` is NULL (missing).
#[derive(Debug, Clone, Default)]
struct Traits {
    a: Option<bool>,
    b: Option<bool>,
    c: Option<bool>,
    /// The score of `score_push`.
    s: Option<i64>,
    email_opt_in: Option<bool>,
    email_expires: Option<i64>,
    push_opt_in: Option<bool>,
    sms_opt_in: Option<bool>,
    unsubscribed: Option<bool>,
}

fn is_true(v: Option<bool>) -> bool {
    v == Some(true)
}

struct ModelAction {
    id: &'static str,
    channel: &'static str,
    transactional: bool,
    /// TRUE under SQL's three-valued logic.
    trigger: fn(&Traits) -> bool,
    suppress_if: Option<fn(&Traits) -> bool>,
    /// A fixed priority, or `None` for the score `s`.
    priority: Option<i64>,
    cooldown: Option<i64>,
    max_sends: Option<usize>,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    holdout_percent: Option<u32>,
}

struct ModelCap {
    name: &'static str,
    /// `Some(transactional?)`, or `None` for every category.
    transactional: Option<bool>,
    /// Empty: every channel.
    channels: &'static [&'static str],
    max: usize,
    per: i64,
}

impl ModelCap {
    fn counts(&self, channel: &str, transactional: bool) -> bool {
        (self.channels.is_empty() || self.channels.contains(&channel))
            && self.transactional.is_none_or(|t| t == transactional)
    }
}

const GLOBAL_SALT: &str = "model-global";
const GLOBAL_PERCENT: u32 = 10;

static ACTIONS: LazyLock<Vec<ModelAction>> = LazyLock::new(|| {
    vec![
        ModelAction {
            id: "welcome_email",
            channel: "email",
            transactional: false,
            trigger: |t| is_true(t.a),
            suppress_if: None,
            priority: Some(30),
            cooldown: Some(2 * DAY),
            max_sends: Some(3),
            valid_from: Some(at("2026-11-03T00:00:00Z")),
            valid_until: None,
            holdout_percent: None,
        },
        ModelAction {
            id: "promo_push",
            channel: "push",
            transactional: false,
            // b AND NOT c: NOT NULL is NULL, so c must be FALSE.
            trigger: |t| is_true(t.b) && t.c == Some(false),
            suppress_if: None,
            priority: Some(20),
            cooldown: Some(12 * HOUR),
            max_sends: None,
            valid_from: None,
            valid_until: Some(at("2026-11-20T12:00:00Z")),
            holdout_percent: None,
        },
        ModelAction {
            id: "digest_email",
            channel: "email",
            transactional: false,
            // a OR b: TRUE OR NULL is TRUE.
            trigger: |t| is_true(t.a) || is_true(t.b),
            suppress_if: None,
            priority: Some(20),
            cooldown: Some(DAY),
            max_sends: None,
            valid_from: None,
            valid_until: None,
            holdout_percent: Some(30),
        },
        ModelAction {
            id: "receipt_email",
            channel: "email",
            transactional: true,
            trigger: |t| is_true(t.c),
            suppress_if: None,
            priority: Some(10),
            cooldown: Some(6 * HOUR),
            max_sends: Some(5),
            valid_from: None,
            valid_until: None,
            holdout_percent: None,
        },
        ModelAction {
            id: "tip_inapp",
            channel: "in_app",
            transactional: false,
            trigger: |t| is_true(t.c),
            suppress_if: None,
            priority: Some(5),
            cooldown: None,
            max_sends: None,
            valid_from: None,
            valid_until: None,
            holdout_percent: None,
        },
        ModelAction {
            id: "sms_nudge",
            channel: "sms",
            transactional: false,
            trigger: |t| is_true(t.b),
            suppress_if: Some(|t| is_true(t.a)),
            priority: Some(40),
            cooldown: Some(3 * DAY),
            max_sends: Some(2),
            valid_from: None,
            valid_until: None,
            holdout_percent: None,
        },
        ModelAction {
            id: "score_push",
            channel: "push",
            transactional: false,
            trigger: |t| is_true(t.b) || is_true(t.c),
            suppress_if: None,
            priority: None,
            cooldown: Some(DAY),
            max_sends: None,
            valid_from: None,
            valid_until: None,
            holdout_percent: None,
        },
    ]
});

impl ModelAction {
    /// Its rank: the priority, or the score (NULL below every number).
    fn rank(&self, t: &Traits) -> f64 {
        match (self.priority, t.s) {
            (Some(p), _) => p as f64,
            (None, Some(s)) => s as f64,
            (None, None) => f64::NEG_INFINITY,
        }
    }
}

const CAPS: [ModelCap; 2] = [
    ModelCap {
        name: "marketing-weekly",
        transactional: Some(false),
        channels: &["email", "push", "sms"],
        max: 3,
        per: 7 * DAY,
    },
    ModelCap {
        name: "all-daily",
        transactional: None,
        channels: &[],
        max: 2,
        per: DAY,
    },
];

/// FNV-1a, 32 bits.
fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(16_777_619);
    }
    hash
}

/// GrowthBook's v2 bucket of SPEC §2.4, 0–99.
fn gb_bucket(key: &str, salt: &str) -> u32 {
    let h1 = fnv1a32(format!("{salt}{key}").as_bytes());
    let h2 = fnv1a32(h1.to_string().as_bytes());
    (h2 % 10_000) / 100
}

/// A send the model remembers.
#[derive(Debug, Clone)]
struct Sent {
    action: &'static str,
    channel: &'static str,
    transactional: bool,
    at: i64,
}

/// What the model expects of one decision.
/// Named figures behind a suppression.
type Figures = Vec<(String, Value)>;

/// (action, channel, send_at).
type ModelEmission = (String, String, i64);

#[derive(Debug, Default, PartialEq)]
struct Expected {
    /// (action, channel, send_at), best first.
    emissions: Vec<ModelEmission>,
    /// Held-out actions, in rank order.
    held_out: Vec<String>,
    /// (action, reason, figures), sorted by action.
    suppressions: Vec<(String, String, Figures)>,
    /// Not later than the last recorded decision: a replay of it.
    replayed: bool,
}

type Blocked = (&'static str, Figures);

struct Model {
    id: String,
    now: i64,
    traits: Traits,
    sends: Vec<Sent>,
    max_actions: usize,
    /// The last decision that recorded anything: its instant and emissions.
    last: Option<(i64, Vec<ModelEmission>)>,
}

impl Model {
    fn guard(&self, a: &ModelAction, chosen: &[&ModelAction]) -> Result<(), Blocked> {
        let now = self.now;
        let t = &self.traits;
        let marketing = !a.transactional;
        if a.valid_from.is_some_and(|from| now < from) {
            return Err(("not_yet_valid", vec![]));
        }
        if a.valid_until.is_some_and(|until| now > until) {
            return Err(("expired", vec![]));
        }
        if marketing {
            if gb_bucket(&self.id, GLOBAL_SALT) < GLOBAL_PERCENT {
                return Err(("holdout", vec![]));
            }
            if let Some(percent) = a.holdout_percent
                && gb_bucket(&self.id, a.id) < percent
            {
                return Err(("holdout", vec![]));
            }
            if is_true(t.unsubscribed) {
                return Err(("unsubscribed", vec![]));
            }
        }
        let rule = match a.channel {
            "email" => Some((t.email_opt_in, t.email_expires)),
            "push" => Some((t.push_opt_in, None)),
            "sms" => Some((t.sms_opt_in, None)),
            _ => None,
        };
        if let Some((opt_in, expires)) = rule {
            match opt_in {
                Some(false) => return Err(("no_consent", vec![])),
                None if marketing => return Err(("no_consent", vec![])),
                // Only marketing: transactional is blocked by an explicit opt-out alone.
                Some(true) if marketing && expires.is_some_and(|e| e <= now) => {
                    return Err(("consent_expired", vec![]));
                }
                None | Some(true) => {}
            }
        }
        let mine: Vec<&Sent> = self.sends.iter().filter(|s| s.action == a.id).collect();
        if let Some(cooldown) = a.cooldown
            && let Some(last) = mine.iter().map(|s| s.at).max()
            && now < last + cooldown
        {
            let until = Value::Timestamp(Timestamp::from_micros(last + cooldown));
            return Err(("cooldown", vec![("until".into(), until)]));
        }
        if let Some(max) = a.max_sends
            && mine.len() >= max
        {
            return Err((
                "max_sends",
                vec![
                    ("count".into(), Value::Int(mine.len() as i64)),
                    ("max".into(), Value::Int(max as i64)),
                ],
            ));
        }
        if marketing {
            for cap in &CAPS {
                if !cap.counts(a.channel, a.transactional) {
                    continue;
                }
                let before = self
                    .sends
                    .iter()
                    .filter(|s| s.at > now - cap.per && cap.counts(s.channel, s.transactional))
                    .count();
                let same_decision = chosen
                    .iter()
                    .filter(|c| cap.counts(c.channel, c.transactional))
                    .count();
                let count = before + same_decision;
                if count >= cap.max {
                    return Err((
                        "frequency_cap",
                        vec![
                            ("cap".into(), Value::from(cap.name)),
                            ("count".into(), Value::Int(count as i64)),
                            ("max".into(), Value::Int(cap.max as i64)),
                        ],
                    ));
                }
            }
        }
        Ok(())
    }

    fn decide(&self) -> Expected {
        // SPEC §5 item 7: not later than the last recorded decision, nothing
        // new; at its instant, what it sent.
        if let Some((at, emissions)) = self.last.as_ref().filter(|(at, _)| self.now <= *at) {
            return Expected {
                emissions: if self.now == *at {
                    emissions.clone()
                } else {
                    Vec::new()
                },
                replayed: true,
                ..Expected::default()
            };
        }
        let mut expected = Expected::default();
        let mut candidates: Vec<&ModelAction> = Vec::new();
        for a in ACTIONS.iter() {
            if !(a.trigger)(&self.traits) {
                continue;
            }
            if a.suppress_if.is_some_and(|s| s(&self.traits)) {
                expected
                    .suppressions
                    .push((a.id.into(), "suppress_if".into(), vec![]));
                continue;
            }
            candidates.push(a);
        }
        let t = &self.traits;
        candidates.sort_by(|x, y| y.rank(t).total_cmp(&x.rank(t)).then(x.id.cmp(y.id)));
        let mut chosen: Vec<&ModelAction> = Vec::new();
        for a in candidates {
            match self.guard(a, &chosen) {
                Err((reason, detail)) => {
                    if reason == "holdout" {
                        expected.held_out.push(a.id.into());
                    }
                    expected
                        .suppressions
                        .push((a.id.into(), reason.into(), detail));
                }
                Ok(()) if chosen.len() >= self.max_actions => {
                    expected
                        .suppressions
                        .push((a.id.into(), "arbitration".into(), vec![]));
                }
                Ok(()) => chosen.push(a),
            }
        }
        expected.emissions = chosen
            .iter()
            .map(|a| (a.id.into(), a.channel.into(), self.now))
            .collect();
        expected.suppressions.sort_by(|x, y| x.0.cmp(&y.0));
        expected
    }

    fn record(&mut self, expected: &Expected) {
        if expected.replayed {
            return;
        }
        if !expected.emissions.is_empty() || !expected.held_out.is_empty() {
            self.last = Some((self.now, expected.emissions.clone()));
        }
        for (action, _, at) in &expected.emissions {
            let a = ACTIONS.iter().find(|a| a.id == action).unwrap();
            self.sends.push(Sent {
                action: a.id,
                channel: a.channel,
                transactional: a.transactional,
                at: *at,
            });
        }
    }

    fn profile(&self, engine: &Engine) -> Profile {
        let t = &self.traits;
        Profile::builder(&engine.rules().schema, self.id.as_str())
            .attribute("a", t.a)
            .attribute("b", t.b)
            .attribute("c", t.c)
            .attribute("s", t.s)
            .attribute("email_opt_in", t.email_opt_in)
            .attribute(
                "email_consent_expires",
                t.email_expires.map(Timestamp::from_micros),
            )
            .attribute("push_opt_in", t.push_opt_in)
            .attribute("sms_opt_in", t.sms_opt_in)
            .attribute("unsubscribed", t.unsubscribed)
            .build()
            .unwrap()
    }
}

/// The engine's decision in the model's terms; the figures are only those the
/// model also computes, so that extra figures do not matter.
fn observed(decision: &Decision, expected: &Expected) -> Expected {
    let mut suppressions: Vec<(String, String, Figures)> = decision
        .suppressions
        .iter()
        .map(|s| {
            (
                s.action.to_string(),
                s.reason.name().to_owned(),
                s.detail.clone(),
            )
        })
        .map(|(action, reason, detail)| {
            let wanted: Vec<String> = expected
                .suppressions
                .iter()
                .find(|(a, r, _)| *a == action && *r == reason)
                .map(|(_, _, d)| d.iter().map(|(k, _)| k.clone()).collect())
                .unwrap_or_default();
            let detail = wanted
                .iter()
                .map(|k| {
                    let v = detail
                        .iter()
                        .find(|(name, _)| name == k)
                        .map_or(Value::Null, |(_, v)| v.clone());
                    (k.clone(), v)
                })
                .collect();
            (action, reason, detail)
        })
        .collect();
    suppressions.sort_by(|x, y| x.0.cmp(&y.0));
    Expected {
        emissions: decision
            .emissions
            .iter()
            .map(|e| {
                (
                    e.action.to_string(),
                    e.channel.to_string(),
                    e.send_at.as_micros(),
                )
            })
            .collect(),
        held_out: decision
            .held_out
            .iter()
            .map(|e| e.action.to_string())
            .collect(),
        suppressions,
        replayed: decision.replayed,
    }
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Decide {
        record: bool,
    },
    Advance(i64),
    /// Move the clock to an instant of the rule set (a validity bound, give
    /// or take a microsecond), if it is still ahead.
    JumpTo(i64),
    /// Trigger traits: 0 = a, 1 = b, 2 = c.
    Flag(u8, Option<bool>),
    /// The score of `score_push`.
    Score(Option<i64>),
    /// Opt-ins: 0 = email, 1 = push, 2 = sms.
    OptIn(u8, Option<bool>),
    /// The email consent's expiry, relative to now.
    Expiry(Option<i64>),
    Unsubscribe(Option<bool>),
}

fn tri() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![Just(None), Just(Some(true)), Just(Some(false))]
}

/// An opt-in: mostly given, so that the later guards are reached.
fn opt_in() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![6 => Just(Some(true)), 2 => Just(None), 2 => Just(Some(false))]
}

/// Unsubscribed: mostly not.
fn unsubscribed() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![7 => Just(None), 2 => Just(Some(false)), 1 => Just(Some(true))]
}

/// An expiry relative to now: anywhere from three days ago to five days
/// ahead, or exactly now or one of the durations `advance` can step by (so
/// that a later decision can fall exactly on the expiry).
fn expiry() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (-3 * 24 * 60i64..=5 * 24 * 60).prop_map(|m| m * MINUTE),
        1 => prop::sample::select(vec![0, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY]),
    ]
}

fn advance() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (1i64..=10 * 24 * 60).prop_map(|m| m * MINUTE),
        // The rule set's cooldowns and windows, give or take a microsecond.
        2 => (
            prop::sample::select(vec![6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 7 * DAY]),
            -1i64..=1,
        )
            .prop_map(|(d, e)| d + e),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::bool::weighted(0.8).prop_map(|record| Op::Decide { record }),
        4 => advance().prop_map(Op::Advance),
        1 => (
            prop::sample::select(vec!["2026-11-03T00:00:00Z", "2026-11-20T12:00:00Z"]),
            -1i64..=1,
        )
            .prop_map(|(bound, e)| Op::JumpTo(at(bound) + e)),
        2 => (0u8..3, tri()).prop_map(|(i, v)| Op::Flag(i, v)),
        1 => score().prop_map(Op::Score),
        2 => (0u8..3, opt_in()).prop_map(|(i, v)| Op::OptIn(i, v)),
        1 => prop::option::of(expiry()).prop_map(Op::Expiry),
        1 => unsubscribed().prop_map(Op::Unsubscribe),
    ]
}

/// A score: NULL, or one that ties or falls between the priorities.
fn score() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(prop::sample::select(vec![0, 5, 15, 20, 25, 30, 40, 50]))
}

fn traits() -> impl Strategy<Value = Traits> {
    (
        (tri(), tri(), tri(), score()),
        opt_in(),
        opt_in(),
        opt_in(),
        unsubscribed(),
    )
        .prop_map(
            |((a, b, c, s), email_opt_in, push_opt_in, sms_opt_in, unsubscribed)| Traits {
                a,
                b,
                c,
                s,
                email_opt_in,
                email_expires: None,
                push_opt_in,
                sms_opt_in,
                unsubscribed,
            },
        )
}

// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

fn run(engine_index: usize, id: u32, start_minutes: i64, initial: Traits, ops: &[Op]) {
    let (max_actions, engine) = &ENGINES[engine_index];
    let mut model = Model {
        id: format!("m-{id}"),
        now: at("2026-11-01T00:00:00Z") + start_minutes * MINUTE,
        traits: initial,
        sends: Vec::new(),
        max_actions: *max_actions,
        last: None,
    };
    let mut history = MemoryHistory::new();
    let mut profile = model.profile(engine);
    let mut sent_keys: Vec<Id> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Decide { record } => {
                let now = Timestamp::from_micros(model.now);
                let options = Options::default().explain(true);
                let decision = engine.decide(&profile, &history, now, options).unwrap();
                let expected = model.decide();
                let got = observed(&decision, &expected);
                assert_eq!(
                    got, expected,
                    "step {step} at {now}, traits {:?}, sends {:?}, ops {ops:?}",
                    model.traits, model.sends
                );
                // Explaining changes what is reported, never what is decided
                // or recorded (unexplained, losers skip the later guards).
                let unexplained = Options::default().explain(false);
                let quiet = engine.decide(&profile, &history, now, unexplained).unwrap();
                assert!(quiet.suppressions.is_empty());
                assert_eq!(
                    quiet.update(),
                    decision.update(),
                    "step {step}, ops {ops:?}"
                );
                assert_eq!(quiet.emissions, decision.emissions);
                // Pure: the same inputs, the same decision, keys included.
                let replay = engine.decide(&profile, &history, now, options).unwrap();
                assert_eq!(replay, decision);
                // Every emission is a new send, under a key not seen
                // before; a replay's are recorded ones, and records nothing.
                for e in &decision.emissions {
                    let seen = sent_keys.contains(&e.key);
                    assert_eq!(seen, decision.replayed, "key at step {step}");
                }
                if decision.replayed {
                    assert!(decision.update().is_empty());
                    continue;
                }
                let records = decision.update().records;
                let sent = records.iter().filter(|r| r.outcome == Outcome::Sent);
                assert_eq!(sent.count(), decision.emissions.len());
                let held = records.iter().filter(|r| r.outcome == Outcome::HeldOut);
                assert_eq!(held.count(), decision.held_out.len());
                if *record {
                    history.record(&decision.update()).unwrap();
                    model.record(&expected);
                    sent_keys.extend(decision.emissions.iter().map(|e| e.key.clone()));
                }
            }
            Op::Advance(by) => model.now += by,
            Op::JumpTo(instant) => model.now = model.now.max(*instant),
            Op::Flag(i, v) => {
                match i {
                    0 => model.traits.a = *v,
                    1 => model.traits.b = *v,
                    _ => model.traits.c = *v,
                }
                profile = model.profile(engine);
            }
            Op::Score(s) => {
                model.traits.s = *s;
                profile = model.profile(engine);
            }
            Op::OptIn(i, v) => {
                match i {
                    0 => model.traits.email_opt_in = *v,
                    1 => model.traits.push_opt_in = *v,
                    _ => model.traits.sms_opt_in = *v,
                }
                profile = model.profile(engine);
            }
            Op::Expiry(offset) => {
                model.traits.email_expires = offset.map(|o| model.now + o);
                profile = model.profile(engine);
            }
            Op::Unsubscribe(v) => {
                model.traits.unsubscribed = *v;
                profile = model.profile(engine);
            }
        }
    }
    // The history agrees with the model on what was sent.
    for a in ACTIONS.iter() {
        let mine: Vec<i64> = model
            .sends
            .iter()
            .filter(|s| s.action == a.id)
            .map(|s| s.at)
            .collect();
        assert_eq!(
            history.times_sent(&model.id, a.id).unwrap() as usize,
            mine.len(),
            "{}",
            a.id
        );
        assert_eq!(
            history
                .last_sent(&model.id, a.id)
                .unwrap()
                .map(Timestamp::as_micros),
            mine.iter().copied().max(),
            "{}",
            a.id
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_reference_model(
        engine_index in 0..2usize,
        id in 0..24u32,
        start_minutes in 0..5 * 24 * 60i64,
        initial in traits(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(engine_index, id, start_minutes, initial, &ops);
    }
}

#[test]
fn the_models_bucket_is_growthbooks() {
    // GrowthBook's own vectors (sdk-js test/cases.json, "hash", version 2).
    assert_eq!(gb_bucket("a", "seed"), 5);
    assert_eq!(gb_bucket("b", "seed"), 26);
    assert_eq!(gb_bucket("def", "foo"), 20);
    for n in 0..2000 {
        let id = format!("m-{n}");
        for salt in [GLOBAL_SALT, "digest_email"] {
            assert_eq!(
                i64::from(gb_bucket(&id, salt)),
                nextbest::hash::bucket(&id, salt),
                "{id} {salt}"
            );
        }
    }
}

#[test]
fn the_id_pool_covers_every_holdout_case() {
    // Among m-0..m-23, some are in the global holdout, some only in
    // digest_email's, and some in neither, so the property sees all three.
    let ids: Vec<String> = (0..24).map(|n| format!("m-{n}")).collect();
    let global = ids
        .iter()
        .filter(|id| gb_bucket(id, GLOBAL_SALT) < GLOBAL_PERCENT)
        .count();
    let digest_only = ids
        .iter()
        .filter(|id| gb_bucket(id, GLOBAL_SALT) >= GLOBAL_PERCENT)
        .filter(|id| gb_bucket(id, "digest_email") < 30)
        .count();
    let neither = ids.len() - global - digest_only;
    assert!(global > 0, "no id in the global holdout");
    assert!(digest_only > 0, "no id in digest_email's holdout only");
    assert!(neither > 0, "no id outside both");
}
