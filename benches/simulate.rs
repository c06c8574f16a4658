//! The simulator: one churn-risk profile under `examples/rules/classic.toml`,
//! decided every hour for 90 days (2 161 decisions), measured in the same run
//! as a hand-written Rust loop that evaluates the same conditions and keeps
//! the same state (journey, cooldowns, `max_sends`, the weekly cap, quiet
//! hours) in plain arrays and vectors.
//!
//! ids: `simulate/engine/classic_90d_hourly` (`Simulation::run` with an
//! in-memory history), `simulate/native/classic_90d_hourly` (the native loop).
//! Before measuring, the bench checks that both produce the same sends: the
//! same actions, decided at the same instants, going out at the same
//! (quiet-hours deferred) instants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration as ChronoDuration, LocalResult, NaiveTime, TimeZone};
use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nextbest::decide::Engine;
use nextbest::rules::{Category, Format, QuietHoursPolicy, RuleSet};
use nextbest::simulate::{Simulation, Timeline};
use nextbest::{Duration, Profile, ProfileBuilder, Timestamp, Value};

use common::Rng;

const START: &str = "2026-11-24T09:00:00Z";
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// 90 days hourly, both ends included.
const STEPS: usize = 90 * 24 + 1;
const PROFILE_ID: &str = "c-1042";

/// What this bench draws beyond `common::Rng`.
trait RngExt {
    /// An instant in `[from, to)`, to the second.
    fn between(&mut self, from: i64, to: i64) -> i64;
}

impl RngExt for Rng {
    fn between(&mut self, from: i64, to: i64) -> i64 {
        from + (self.below(((to - from) / 1_000_000) as u64) as i64) * 1_000_000
    }
}

// ---------------------------------------------------------------------------
// The scenario: one list of events, fed to both sides.

#[derive(Debug, Clone, Copy)]
enum Kind {
    Login,
    PageView(&'static str),
    Purchase,
    SupportTicket,
    OrderFulfilled,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: i64,
    kind: Kind,
}

/// About 200 past events over the 120 days before `start`, then the few
/// events of the simulated 90 days.
fn scenario(start: i64) -> Vec<Event> {
    let mut rng = Rng(1042);
    let mut events = Vec::new();
    let mut push = |at: i64, kind| events.push(Event { at, kind });
    let past = start - 120 * DAY;
    // The last login is the `last_login` trait: 10 days before the start.
    push(start - 10 * DAY, Kind::Login);
    for _ in 0..30 {
        push(rng.between(past, start - 11 * DAY), Kind::Login);
    }
    // Page views up to an hour before the start; /pricing ones only older
    // than 8 days, so that the pricing trigger starts from nothing.
    for _ in 0..110 {
        let path = ["/docs", "/home", "/blog", "/changelog"][rng.below(4) as usize];
        push(rng.between(past, start - HOUR), Kind::PageView(path));
    }
    for _ in 0..25 {
        push(
            rng.between(past, start - 8 * DAY),
            Kind::PageView("/pricing"),
        );
    }
    // Purchases: the last 27 days before the start, so `pricing_followup`
    // is blocked until day 3.
    push(start - 27 * DAY, Kind::Purchase);
    for _ in 0..10 {
        push(rng.between(past, start - 31 * DAY), Kind::Purchase);
    }
    // Support tickets long enough ago to suppress nothing.
    for _ in 0..6 {
        push(rng.between(past, start - 15 * DAY), Kind::SupportTicket);
    }
    // Orders: the last one 9 days before the start (usage tips fall due on
    // day 5, when the weekly cap is full).
    push(start - 9 * DAY + 3 * HOUR, Kind::OrderFulfilled);
    for _ in 0..15 {
        push(rng.between(past, start - 20 * DAY), Kind::OrderFulfilled);
    }

    // The simulated 90 days.
    let at =
        |day: i64, hour: i64, minute: i64| start + day * DAY + hour * HOUR + minute * 60_000_000;
    // Pricing interest in the evenings of days 1 and 2 (blocked by the
    // purchase until day 3).
    push(at(1, 9, 30), Kind::PageView("/pricing"));
    push(at(2, 8, 0), Kind::PageView("/pricing"));
    push(at(2, 10, 15), Kind::PageView("/pricing"));
    push(at(2, 11, 0), Kind::PageView("/docs"));
    // The customer comes back on day 10: the journey exits before its fallback.
    push(at(10, 5, 0), Kind::Login);
    // Pricing again on days 11 and 12, late in the evening (Berlin).
    push(at(11, 9, 0), Kind::PageView("/pricing"));
    push(at(12, 8, 30), Kind::PageView("/pricing"));
    push(at(12, 11, 15), Kind::PageView("/pricing"));
    // A ticket just before churn_email's cooldown ends: suppressed two days.
    push(at(13, 17, 30), Kind::SupportTicket);
    // A new order: usage tips on day 40.
    push(at(26, 2, 0), Kind::OrderFulfilled);
    for (day, hour) in [
        (37, 1),
        (38, 3),
        (38, 6),
        (39, 0),
        (45, 2),
        (45, 4),
        (46, 1),
    ] {
        push(at(day, hour, 0), Kind::PageView("/pricing"));
    }
    // A purchase on day 50 blocks the pricing follow-up for 30 days.
    push(at(50, 4, 0), Kind::Purchase);
    for (day, hour) in [
        (58, 1),
        (59, 3),
        (60, 2),
        (78, 10),
        (79, 11),
        (81, 9),
        (82, 0),
    ] {
        push(at(day, hour, 0), Kind::PageView("/pricing"));
    }
    push(at(70, 3, 0), Kind::Login);
    events
}

/// The profile as the engine reads it.
fn builder(engine: &Engine, start: i64, events: &[Event]) -> ProfileBuilder {
    let mut builder = Profile::builder(&engine.rules().schema, PROFILE_ID)
        .attribute("login_count_30d", 3i64)
        .attribute("login_count_60d", 11i64)
        .attribute("user_segment", "active")
        .attribute("plan", "pro")
        .attribute("lifetime_value", 50.0)
        .attribute("last_login", Timestamp::from_micros(start - 10 * DAY))
        .attribute("email_opt_in", true)
        .attribute("push_opt_in", true)
        .attribute("timezone", "Europe/Berlin");
    for (n, event) in events.iter().enumerate() {
        let at = Timestamp::from_micros(event.at);
        let none = Vec::<(&str, Value)>::new();
        builder = match event.kind {
            Kind::Login => builder.event("login", at, none),
            Kind::PageView(path) => builder.event("page_view", at, [("path", path)]),
            Kind::Purchase => builder.event(
                "purchase",
                at,
                [
                    ("amount", Value::from(49.0)),
                    ("product_id", Value::from("pro-annual")),
                ],
            ),
            Kind::SupportTicket => builder.event(
                "support_ticket",
                at,
                [
                    ("product_id", Value::from("pro")),
                    ("severity", Value::from(2i64)),
                ],
            ),
            Kind::OrderFulfilled => {
                builder.event("order_fulfilled", at, [("order_id", format!("o-{n}"))])
            }
        };
    }
    builder
}

// ---------------------------------------------------------------------------
// The native side: a plain struct and a plain loop.

/// The profile as a hand-written service would hold it.
struct NativeProfile {
    id: String,
    login_count_30d: i64,
    login_count_60d: i64,
    user_segment: String,
    plan: String,
    lifetime_value: f64,
    last_login: i64,
    email_opt_in: bool,
    email_consent_expires: Option<i64>,
    push_opt_in: bool,
    unsubscribed: bool,
    timezone: String,
    /// Sorted timestamps per event type.
    logins: Vec<i64>,
    page_views: Vec<i64>,
    /// The page views whose path is /pricing.
    pricing_views: Vec<i64>,
    purchases: Vec<i64>,
    support_tickets: Vec<i64>,
    orders_fulfilled: Vec<i64>,
}

impl NativeProfile {
    fn new(start: i64, events: &[Event]) -> NativeProfile {
        let mut p = NativeProfile {
            id: PROFILE_ID.to_owned(),
            login_count_30d: 3,
            login_count_60d: 11,
            user_segment: "active".to_owned(),
            plan: "pro".to_owned(),
            lifetime_value: 50.0,
            last_login: start - 10 * DAY,
            email_opt_in: true,
            email_consent_expires: None,
            push_opt_in: true,
            unsubscribed: false,
            timezone: "Europe/Berlin".to_owned(),
            logins: Vec::new(),
            page_views: Vec::new(),
            pricing_views: Vec::new(),
            purchases: Vec::new(),
            support_tickets: Vec::new(),
            orders_fulfilled: Vec::new(),
        };
        for event in events {
            match event.kind {
                Kind::Login => p.logins.push(event.at),
                Kind::PageView(path) => {
                    p.page_views.push(event.at);
                    if path == "/pricing" {
                        p.pricing_views.push(event.at);
                    }
                }
                Kind::Purchase => p.purchases.push(event.at),
                Kind::SupportTicket => p.support_tickets.push(event.at),
                Kind::OrderFulfilled => p.orders_fulfilled.push(event.at),
            }
        }
        for list in [
            &mut p.logins,
            &mut p.page_views,
            &mut p.pricing_views,
            &mut p.purchases,
            &mut p.support_tickets,
            &mut p.orders_fulfilled,
        ] {
            list.sort_unstable();
        }
        p
    }
}

/// Events in `(now - length, now]`.
fn within(times: &[i64], now: i64, length: i64) -> usize {
    let end = times.partition_point(|t| *t <= now);
    let start = times.partition_point(|t| *t <= now - length);
    end - start.min(end)
}

/// Events in `[since, now]`.
fn since(times: &[i64], now: i64, since: i64) -> usize {
    let end = times.partition_point(|t| *t <= now);
    let start = times.partition_point(|t| *t < since);
    end - start.min(end)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Email,
    Push,
    InApp,
    SalesTask,
}

struct NativeAction {
    id: &'static str,
    channel: Channel,
    marketing: bool,
    /// Quiet hours defer it (else: ignored, or transactional).
    defer: bool,
    cooldown: Option<i64>,
    max_sends: Option<u32>,
    /// Its place in id order: the tie-break of equal ranks.
    id_order: u8,
}

const CHURN_EMAIL: usize = 0;
const CHURN_PUSH: usize = 1;
const CHURN_INAPP: usize = 2;
const CSM_CALL: usize = 3;
const PRICING: usize = 4;
const WINBACK: usize = 5;
const USAGE_TIPS: usize = 6;
const UPSELL: usize = 7;

const ACTIONS: [NativeAction; 8] = [
    NativeAction {
        id: "churn_email",
        channel: Channel::Email,
        marketing: true,
        defer: true,
        cooldown: Some(14 * DAY),
        max_sends: Some(3),
        id_order: 0,
    },
    NativeAction {
        id: "churn_push_incentive",
        channel: Channel::Push,
        marketing: true,
        defer: true,
        cooldown: None,
        max_sends: None,
        id_order: 2,
    },
    NativeAction {
        id: "churn_inapp_modal",
        channel: Channel::InApp,
        marketing: true,
        defer: false,
        cooldown: None,
        max_sends: None,
        id_order: 1,
    },
    NativeAction {
        id: "csm_call_task",
        channel: Channel::SalesTask,
        marketing: false,
        defer: false,
        cooldown: None,
        max_sends: None,
        id_order: 3,
    },
    NativeAction {
        id: "pricing_followup",
        channel: Channel::Email,
        marketing: true,
        defer: true,
        cooldown: Some(7 * DAY),
        max_sends: None,
        id_order: 4,
    },
    NativeAction {
        id: "winback_email",
        channel: Channel::Email,
        marketing: true,
        defer: true,
        cooldown: Some(30 * DAY),
        max_sends: Some(2),
        id_order: 7,
    },
    NativeAction {
        id: "usage_tips_push",
        channel: Channel::Push,
        marketing: true,
        defer: true,
        cooldown: Some(30 * DAY),
        max_sends: None,
        id_order: 6,
    },
    NativeAction {
        id: "upsell_email",
        channel: Channel::Email,
        marketing: true,
        defer: true,
        cooldown: Some(21 * DAY),
        max_sends: None,
        id_order: 5,
    },
];

/// Static priorities (pricing_followup has a score instead).
const PRIORITY: [f64; 8] = [50.0, 40.0, 0.0, 0.0, f64::NAN, 30.0, 20.0, 10.0];

/// churn_rescue: (after, action) per stage, the fallback last.
const STAGES: [(i64, usize); 4] = [
    (0, CHURN_EMAIL),
    (3 * DAY, CHURN_PUSH),
    (7 * DAY, CHURN_INAPP),
    (14 * DAY, CSM_CALL),
];
const REENTRY: i64 = 90 * DAY;
/// upsell_email's validity: 2026-11-01T00:00:00Z ..= 2027-01-31T23:59:59Z.
const UPSELL_FROM: i64 = 1_793_491_200_000_000;
const UPSELL_UNTIL: i64 = 1_801_439_999_000_000;
const CAP_MAX: usize = 3;
const CAP_PER: i64 = 7 * DAY;

#[derive(Clone, Copy)]
enum JourneyState {
    Never,
    Active { entered: i64, done: usize },
    Left { at: i64 },
}

/// Why a candidate is not sent, as far as the outcome depends on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// Held out: recorded, counts as done for a journey stage.
    HeldOut,
    /// Skipped at once when a journey stage (consent, max_sends, expired).
    Skip,
    /// Retried at the next decision.
    Retry,
}

/// GrowthBook v2 bucket (0..=99) of `key` under `salt`, as the holdout uses.
fn bucket(key: &str, salt: &str) -> u32 {
    let fnv = |bytes: &mut dyn Iterator<Item = u8>| {
        bytes.fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    };
    let h1 = fnv(&mut salt.bytes().chain(key.bytes()));
    fnv(&mut h1.to_string().into_bytes().into_iter()) % 10_000 / 100
}

/// The end of quiet hours (21:00–08:00 local) if `now` is inside them.
fn quiet_until(now: i64, zone: Tz) -> Option<i64> {
    let start = NaiveTime::from_hms_opt(21, 0, 0)?;
    let end = NaiveTime::from_hms_opt(8, 0, 0)?;
    let local = DateTime::from_timestamp_micros(now)?
        .with_timezone(&zone)
        .naive_local();
    let time = local.time();
    if time < start && time >= end {
        return None;
    }
    let mut day = local.date();
    if time >= end {
        day = day.succ_opt()?;
    }
    let mut wall = day.and_time(end);
    let resume = loop {
        match zone.from_local_datetime(&wall) {
            LocalResult::Single(at) => break at.timestamp_micros(),
            LocalResult::Ambiguous(first, second) => {
                let first = first.timestamp_micros();
                break if first > now {
                    first
                } else {
                    second.timestamp_micros()
                };
            }
            // A DST gap: the first wall time that exists.
            LocalResult::None => wall += ChronoDuration::minutes(1),
        }
    };
    (resume > now).then_some(resume)
}

/// One send: (decided at, action, goes out at).
type Send = (i64, usize, i64);

/// The native simulation: every hour from `start`, `STEPS` decisions.
fn native_run(p: &NativeProfile, start: i64) -> Vec<Send> {
    let mut sends = Vec::with_capacity(32);
    // Per profile, once: the holdout bucket and the time zone.
    let held_out = bucket(&p.id, "2026-global") < 5;
    let zone: Tz = p.timezone.parse().unwrap_or(Tz::UTC);
    let mut last_sent: [Option<i64>; 8] = [None; 8];
    let mut times_sent: [u32; 8] = [0; 8];
    // Decision times of marketing sends on email, push or sms (the cap's).
    let mut capped: Vec<i64> = Vec::with_capacity(64);
    let mut journey = JourneyState::Never;
    // (action, rank, is a journey stage)
    let mut candidates: [(usize, f64, bool); 9] = [(0, 0.0, false); 9];

    for n in 0..STEPS as i64 {
        let now = start + n * HOUR;
        let mut count = 0;

        // The triggers (and the pricing score) of this instant.
        let churn = (p.login_count_30d as f64) < 0.6 * p.login_count_60d as f64
            && p.user_segment == "active";

        // Journey: exit, overdue stages, entry; the due stage is a candidate.
        let mut stage: Option<usize> = None;
        match journey {
            JourneyState::Active { entered, mut done } => {
                if since(&p.logins, now, entered) > 0 {
                    journey = JourneyState::Left { at: now };
                } else {
                    // A stage still not done when the next falls due is skipped.
                    while done + 1 < STAGES.len() && entered + STAGES[done + 1].0 <= now {
                        done += 1;
                    }
                    journey = JourneyState::Active { entered, done };
                    if entered + STAGES[done].0 <= now {
                        stage = Some(done);
                    }
                }
            }
            JourneyState::Never | JourneyState::Left { .. } => {
                let may_enter = match journey {
                    JourneyState::Left { at } => at + REENTRY <= now,
                    _ => true,
                };
                if may_enter && churn {
                    journey = JourneyState::Active {
                        entered: now,
                        done: 0,
                    };
                    stage = Some(0);
                }
            }
        }
        if let Some(index) = stage {
            let action = STAGES[index].1;
            candidates[count] = (action, PRIORITY[action], true);
            count += 1;
        }

        if churn {
            candidates[count] = (CHURN_EMAIL, PRIORITY[CHURN_EMAIL], false);
            count += 1;
        }
        let pricing_views = within(&p.pricing_views, now, 7 * DAY);
        if pricing_views >= 3 && within(&p.purchases, now, 30 * DAY) == 0 {
            let score = 10.0 + pricing_views as f64 + p.lifetime_value / 100.0;
            candidates[count] = (PRICING, score, false);
            count += 1;
        }
        if (now - p.last_login).div_euclid(DAY) > 60 && p.email_opt_in && p.lifetime_value >= 100.0
        {
            candidates[count] = (WINBACK, PRIORITY[WINBACK], false);
            count += 1;
        }
        let orders = p.orders_fulfilled.partition_point(|t| *t <= now);
        if orders > 0 && (now - p.orders_fulfilled[orders - 1]).div_euclid(DAY) == 14 {
            candidates[count] = (USAGE_TIPS, PRIORITY[USAGE_TIPS], false);
            count += 1;
        }
        if p.plan == "basic" && p.lifetime_value > 200.0 {
            candidates[count] = (UPSELL, PRIORITY[UPSELL], false);
            count += 1;
        }

        // suppress_if: churn_email 2 days after a ticket, upsell 14 days.
        let mut kept = 0;
        for i in 0..count {
            let suppressed = match candidates[i].0 {
                CHURN_EMAIL => within(&p.support_tickets, now, 2 * DAY) > 0,
                UPSELL => within(&p.support_tickets, now, 14 * DAY) > 0,
                _ => false,
            };
            if !suppressed {
                candidates[kept] = candidates[i];
                kept += 1;
            }
        }
        let candidates = &mut candidates[..kept];
        // Best first; ties by id, a journey stage before the action alone.
        candidates.sort_unstable_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(ACTIONS[a.0].id_order.cmp(&ACTIONS[b.0].id_order))
                .then(b.2.cmp(&a.2))
        });

        let capped_recent = capped.len() - capped.partition_point(|t| *t <= now - CAP_PER);
        let mut emitted: Option<(usize, i64)> = None;
        for &(index, _, is_stage) in candidates.iter() {
            let action = &ACTIONS[index];
            let verdict = (|| {
                if index == UPSELL {
                    if now < UPSELL_FROM {
                        return Err(Blocked::Retry);
                    }
                    if now > UPSELL_UNTIL {
                        return Err(Blocked::Skip);
                    }
                }
                if action.marketing && held_out {
                    return Err(Blocked::HeldOut);
                }
                if action.marketing && p.unsubscribed {
                    return Err(Blocked::Skip);
                }
                match action.channel {
                    Channel::Email => {
                        if !p.email_opt_in {
                            return Err(Blocked::Skip);
                        }
                        if action.marketing && p.email_consent_expires.is_some_and(|t| t <= now) {
                            return Err(Blocked::Skip);
                        }
                    }
                    Channel::Push if !p.push_opt_in => return Err(Blocked::Skip),
                    _ => {}
                }
                if let (Some(cooldown), Some(last)) = (action.cooldown, last_sent[index])
                    && now < last + cooldown
                {
                    return Err(Blocked::Retry);
                }
                if action.max_sends.is_some_and(|max| times_sent[index] >= max) {
                    return Err(Blocked::Skip);
                }
                let counts = |i: usize| {
                    ACTIONS[i].marketing
                        && matches!(ACTIONS[i].channel, Channel::Email | Channel::Push)
                };
                if counts(index) {
                    let chosen = emitted.is_some_and(|(i, _)| counts(i));
                    if capped_recent + usize::from(chosen) >= CAP_MAX {
                        return Err(Blocked::Retry);
                    }
                }
                // max_actions = 1
                if emitted.is_some() {
                    return Err(Blocked::Retry);
                }
                let send_at = if action.defer {
                    quiet_until(now, zone).unwrap_or(now)
                } else {
                    now
                };
                if index == UPSELL && send_at > UPSELL_UNTIL {
                    return Err(Blocked::Skip);
                }
                Ok(send_at)
            })();
            let done = match verdict {
                Ok(send_at) => {
                    emitted = Some((index, send_at));
                    true
                }
                Err(Blocked::HeldOut | Blocked::Skip) => true,
                Err(Blocked::Retry) => false,
            };
            if let (true, true, JourneyState::Active { entered, done }) = (done, is_stage, journey)
            {
                journey = if done + 1 >= STAGES.len() {
                    JourneyState::Left { at: now }
                } else {
                    JourneyState::Active {
                        entered,
                        done: done + 1,
                    }
                };
            }
        }
        // Record the decision.
        if let Some((index, send_at)) = emitted {
            last_sent[index] = Some(now);
            times_sent[index] += 1;
            if ACTIONS[index].marketing
                && matches!(ACTIONS[index].channel, Channel::Email | Channel::Push)
            {
                capped.push(now);
            }
            sends.push((now, index, send_at));
        }
    }
    sends
}

// ---------------------------------------------------------------------------

/// The engine's sends as (decided at, action, goes out at).
fn engine_sends(timeline: &Timeline) -> Vec<(i64, String, i64)> {
    timeline
        .sends()
        .map(|(at, e)| (at.as_micros(), e.action.to_string(), e.send_at.as_micros()))
        .collect()
}

fn show(at: i64) -> String {
    Timestamp::from_micros(at).to_string()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::parse(
        include_str!("../examples/rules/classic.toml"),
        Format::Toml,
        "examples/rules/classic.toml",
    )
    .unwrap();
    let engine = Engine::new(rules);
    let start = Timestamp::parse(START).unwrap();
    let end = start + Duration::from_days(90);
    let step = Duration::parse("1h").unwrap();
    let events = scenario(start.as_micros());
    let profile = builder(&engine, start.as_micros(), &events);
    let native = NativeProfile::new(start.as_micros(), &events);

    // The native constants are the rules' own.
    assert!(
        nextbest::hash::bucket(PROFILE_ID, "2026-global") >= 5,
        "outside the holdout"
    );
    assert_eq!(
        i64::from(bucket(PROFILE_ID, "2026-global")),
        nextbest::hash::bucket(PROFILE_ID, "2026-global")
    );
    assert_eq!(
        Timestamp::parse("2026-11-01T00:00:00Z")
            .unwrap()
            .as_micros(),
        UPSELL_FROM
    );
    assert_eq!(
        Timestamp::parse("2027-01-31T23:59:59Z")
            .unwrap()
            .as_micros(),
        UPSELL_UNTIL
    );
    let mut ids: Vec<&str> = ACTIONS.iter().map(|a| a.id).collect();
    ids.sort_unstable();
    for action in &ACTIONS {
        let rule = engine.rules().action(action.id).unwrap();
        let channel = match action.channel {
            Channel::Email => "email",
            Channel::Push => "push",
            Channel::InApp => "in_app",
            Channel::SalesTask => "sales_task",
        };
        assert_eq!(rule.channel, channel, "{}", action.id);
        assert_eq!(
            rule.category == Category::Marketing,
            action.marketing,
            "{}",
            action.id
        );
        let defers = action.marketing && rule.quiet_hours == QuietHoursPolicy::Defer;
        assert_eq!(defers, action.defer, "{}", action.id);
        assert_eq!(
            rule.cooldown.map(Duration::as_micros),
            action.cooldown,
            "{}",
            action.id
        );
        assert_eq!(rule.max_sends, action.max_sends, "{}", action.id);
        assert_eq!(ids[usize::from(action.id_order)], action.id);
    }
    assert_eq!(engine.rules().actions.len(), ACTIONS.len());

    // The engine's timeline (explained, for the summary) and the native
    // sends must be the same: same actions, same decision instants, same
    // delivery instants.
    let timeline = Simulation::new(&engine, profile.clone())
        .explain(true)
        .run(start, end, step)
        .unwrap();
    let expected = engine_sends(&timeline);
    let native_named: Vec<(i64, String, i64)> = native_run(&native, start.as_micros())
        .iter()
        .map(|&(at, index, send_at)| (at, ACTIONS[index].id.to_owned(), send_at))
        .collect();
    let engine_pairs: Vec<(i64, &str)> = expected
        .iter()
        .map(|(at, a, _)| (*at, a.as_str()))
        .collect();
    let native_pairs: Vec<(i64, &str)> = native_named
        .iter()
        .map(|(at, a, _)| (*at, a.as_str()))
        .collect();
    if native_named != expected {
        for line in 0..expected.len().max(native_named.len()) {
            let side = |list: &[(i64, String, i64)]| {
                list.get(line).map_or_else(
                    || "-".to_owned(),
                    |(at, action, send_at)| {
                        format!("{} {action} (out {})", show(*at), show(*send_at))
                    },
                )
            };
            eprintln!(
                "engine {} | native {}",
                side(&expected),
                side(&native_named)
            );
        }
    }
    assert_eq!(
        engine_pairs, native_pairs,
        "engine and native send different actions or at different instants"
    );
    assert_eq!(
        expected, native_named,
        "engine and native defer sends differently"
    );
    assert!(timeline.decisions.iter().all(|d| d.held_out.is_empty()));

    let sends = expected.len();
    eprintln!("simulate: {STEPS} decisions, {sends} sends (engine = native):");
    for (at, action, send_at) in &expected {
        let deferred = if send_at == at {
            String::new()
        } else {
            format!(", deferred to {}", show(*send_at))
        };
        eprintln!("  {} {action}{deferred}", show(*at));
    }
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for s in timeline.decisions.iter().flat_map(|d| &d.suppressions) {
        let key = format!("{} {}", s.action, s.reason.name());
        match reasons.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => reasons.push((key, 1)),
        }
    }
    let reasons: Vec<String> = reasons.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    eprintln!("suppressions: {}", reasons.join(", "));
    let journeys: Vec<String> = timeline
        .decisions
        .iter()
        .flat_map(|d| {
            d.journeys.iter().map(move |j| {
                format!(
                    "{} {} done {} {}",
                    d.at,
                    j.journey,
                    j.state.done,
                    j.state.status.name()
                )
            })
        })
        .collect();
    eprintln!("journey: {}", journeys.join("; "));

    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(STEPS as u64));
    group.sample_size(20);
    group.warm_up_time(StdDuration::from_secs(1));
    group.measurement_time(StdDuration::from_secs(5));
    group.bench_function("engine/classic_90d_hourly", |b| {
        b.iter(|| {
            let timeline = Simulation::new(&engine, black_box(&profile).clone())
                .run(black_box(start), end, step)
                .unwrap();
            assert_eq!(timeline.sends().count(), sends);
            timeline
        });
    });
    group.bench_function("native/classic_90d_hourly", |b| {
        b.iter(|| {
            let sent = native_run(black_box(&native), black_box(start.as_micros()));
            assert_eq!(sent.len(), sends);
            sent
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
