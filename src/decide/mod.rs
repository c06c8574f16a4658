//! Stage 5, decide: (profile, history, now) → the next-best actions.
//!
//! Input: a loaded [`RuleSet`], one profile, its contact history and the
//! instant. Output: a [`Decision`]: the emissions, and (with `explain`) every
//! candidate that did not win with its reason and the figures behind it.
//! Invariants: pure and deterministic (no clock, no randomness: holdouts are
//! hash buckets); guards run in the order of SPEC §5 and the first that blocks
//! names the reason; nothing is recorded here (see [`Decision::records`]).

mod quiet;

use std::fmt::Write as _;

use chrono_tz::Tz;

use crate::history::{History, Outcome, Record};
use crate::profile::Profile;
use crate::rules::{Action, Category, QuietHoursPolicy, Ranking, RuleSet};
use crate::trigger::EvalError;
use crate::value::{Timestamp, Value};

/// Why a candidate was not emitted. The names are part of the output contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Before the action's `valid_from`.
    NotYetValid,
    /// After the action's `valid_until`.
    Expired,
    /// Its `suppress_if` is TRUE.
    SuppressIf,
    /// The profile is in a holdout group.
    Holdout,
    /// The profile unsubscribed from marketing.
    Unsubscribed,
    /// No opt-in for the channel (FALSE or NULL).
    NoConsent,
    /// The channel's consent has expired.
    ConsentExpired,
    /// Sent within its cooldown.
    Cooldown,
    /// Sent `max_sends` times already.
    MaxSends,
    /// A rolling frequency cap is full.
    FrequencyCap,
    /// In quiet hours, and the action says `drop`.
    QuietHours,
    /// A better candidate took the decision's last place.
    Arbitration,
}

impl Reason {
    /// The reason's name, as printed.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::SuppressIf => "suppress_if",
            Reason::Holdout => "holdout",
            Reason::Unsubscribed => "unsubscribed",
            Reason::NoConsent => "no_consent",
            Reason::ConsentExpired => "consent_expired",
            Reason::Cooldown => "cooldown",
            Reason::MaxSends => "max_sends",
            Reason::FrequencyCap => "frequency_cap",
            Reason::QuietHours => "quiet_hours",
            Reason::Arbitration => "arbitration",
        }
    }
}

/// An action to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emission {
    /// The profile's id.
    pub profile: String,
    /// The action's id.
    pub action: String,
    /// Its channel.
    pub channel: String,
    /// Its category.
    pub category: Category,
    /// When to send it: the decision's instant, or the end of quiet hours.
    pub send_at: Timestamp,
    /// The journey and step (1-based) it belongs to.
    pub journey: Option<(String, u32)>,
    /// The same for the same (profile, action, send number, journey
    /// enrolment, step): a replayed decision repeats its keys.
    pub key: String,
}

/// A candidate that was not emitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The profile's id.
    pub profile: String,
    /// The action's id.
    pub action: String,
    /// Why.
    pub reason: Reason,
    /// The figures behind it (cooldown until, cap count and max…).
    pub detail: Vec<(&'static str, Value)>,
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The instant decided for.
    pub at: Timestamp,
    /// What to send, best first.
    pub emissions: Vec<Emission>,
    /// Candidates held out: recorded for analysis, never sent.
    pub held_out: Vec<Emission>,
    /// Every candidate that did not win, when explaining.
    pub suppressions: Vec<Suppression>,
}

impl Decision {
    /// The history records this decision makes: one per emission and one per
    /// holdout. Pass them to [`History::record`] once the emissions are safe.
    pub fn records(&self) -> Vec<Record> {
        let record = |e: &Emission, outcome| Record {
            profile: e.profile.clone(),
            action: e.action.clone(),
            channel: e.channel.clone(),
            category: e.category,
            outcome,
            at: self.at,
            send_at: e.send_at,
            key: e.key.clone(),
        };
        let sent = self.emissions.iter().map(|e| record(e, Outcome::Sent));
        sent.chain(self.held_out.iter().map(|e| record(e, Outcome::HeldOut)))
            .collect()
    }
}

/// Options of one decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Report every candidate that did not win.
    pub explain: bool,
}

/// The decision engine over a loaded rule set. `Send + Sync`: share one.
///
/// ```
/// use nextbest::decide::{Engine, Options};
/// use nextbest::history::MemoryHistory;
/// use nextbest::rules::{Format, RuleSet};
/// use nextbest::{Profile, Timestamp};
/// let rules = RuleSet::parse(r#"
/// [schema.traits]
/// login_count_30d = "int"
/// [[action]]
/// id = "nudge"
/// channel = "email"
/// trigger = "login_count_30d < 2"
/// cooldown = "7d"
/// "#, Format::Toml, "rules.toml")?;
/// let engine = Engine::new(rules);
/// let profile = Profile::builder(&engine.rules().schema, "c-1").attribute("login_count_30d", 1).build()?;
/// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let mut history = MemoryHistory::new();
/// let decision = engine.decide(&profile, &history, now, Options::default())?;
/// assert_eq!(decision.emissions[0].action, "nudge");
///
/// // Recorded, the cooldown holds the next decision back.
/// use nextbest::history::History;
/// history.record(&decision.records())?;
/// let again = engine.decide(&profile, &history, now, Options { explain: true })?;
/// assert!(again.emissions.is_empty());
/// assert_eq!(again.suppressions[0].reason.name(), "cooldown");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
}

/// A candidate on its way through the guards.
struct Candidate<'r> {
    action: &'r Action,
    rank: f64,
    journey: Option<(String, u32, i64)>,
}

/// The end of a guard: pass, or the reason and its figures.
type Verdict = Result<(), (Reason, Vec<(&'static str, Value)>)>;

impl Engine {
    /// An engine over `rules`.
    pub fn new(rules: RuleSet) -> Self {
        Engine { rules }
    }

    /// The rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Decides the next-best actions for `profile` at `now`.
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn decide(
        &self,
        profile: &Profile,
        history: &dyn History,
        now: Timestamp,
        options: Options,
    ) -> Result<Decision, EvalError> {
        if profile.fingerprint() != self.rules.schema.fingerprint() {
            return Err(EvalError::SchemaMismatch {
                profile: profile.id().to_owned(),
            });
        }
        let mut decision = Decision {
            at: now,
            ..Decision::default()
        };
        let mut candidates = Vec::new();
        for action in &self.rules.actions {
            let Some(trigger) = &action.trigger else {
                continue;
            };
            if !trigger.matches(profile, now)? {
                continue;
            }
            if let Some(suppress) = &action.suppress_if {
                if suppress.matches(profile, now)? {
                    if options.explain {
                        decision.suppressions.push(suppression(
                            profile,
                            action,
                            Reason::SuppressIf,
                            Vec::new(),
                        ));
                    }
                    continue;
                }
            }
            candidates.push(Candidate {
                action,
                rank: rank(action, profile, now)?,
                journey: None,
            });
        }
        // Best first; ties by id, so the order never depends on the file's.
        candidates.sort_by(|a, b| {
            b.rank
                .total_cmp(&a.rank)
                .then_with(|| a.action.id.cmp(&b.action.id))
        });
        for candidate in candidates {
            let action = candidate.action;
            match self.guards(profile, history, now, action, &decision) {
                Err((Reason::Holdout, detail)) => {
                    let key =
                        idempotency_key(profile.id(), action, history, candidate.journey.as_ref());
                    decision
                        .held_out
                        .push(emission(profile, action, now, candidate.journey, key));
                    if options.explain {
                        decision.suppressions.push(suppression(
                            profile,
                            action,
                            Reason::Holdout,
                            detail,
                        ));
                    }
                }
                Err((reason, detail)) => {
                    if options.explain {
                        decision
                            .suppressions
                            .push(suppression(profile, action, reason, detail));
                    }
                }
                Ok(()) if decision.emissions.len() >= self.rules.decision.max_actions => {
                    if options.explain {
                        let winners: Vec<Value> = decision
                            .emissions
                            .iter()
                            .map(|e| Value::from(e.action.as_str()))
                            .collect();
                        decision.suppressions.push(suppression(
                            profile,
                            action,
                            Reason::Arbitration,
                            vec![("chosen", Value::from(winners))],
                        ));
                    }
                }
                Ok(()) => {
                    let send_at = self.send_at(profile, now, action).unwrap_or(now);
                    if let Some(until) = action.valid_until.filter(|until| send_at > *until) {
                        // Deferred past the end of its validity: it would go out expired.
                        if options.explain {
                            let detail =
                                vec![("valid_until", until.into()), ("send_at", send_at.into())];
                            let expired = suppression(profile, action, Reason::Expired, detail);
                            decision.suppressions.push(expired);
                        }
                        continue;
                    }
                    let key =
                        idempotency_key(profile.id(), action, history, candidate.journey.as_ref());
                    decision.emissions.push(emission(
                        profile,
                        action,
                        send_at,
                        candidate.journey,
                        key,
                    ));
                }
            }
        }
        Ok(decision)
    }

    /// Every guard of SPEC §5, in order; the first that blocks wins.
    fn guards(
        &self,
        profile: &Profile,
        history: &dyn History,
        now: Timestamp,
        action: &Action,
        decision: &Decision,
    ) -> Verdict {
        let marketing = action.category == Category::Marketing;
        validity(action, now)?;
        if marketing {
            self.holdout(profile, action)?;
        }
        self.consent(profile, action, now)?;
        cooldown(profile, history, action, now)?;
        max_sends(profile, history, action)?;
        if marketing {
            self.caps(profile, history, action, now, decision)?;
            if action.quiet_hours == QuietHoursPolicy::Drop {
                if let Some(until) = self.quiet_until(profile, now) {
                    return Err((Reason::QuietHours, vec![("until", until.into())]));
                }
            }
        }
        Ok(())
    }

    fn holdout(&self, profile: &Profile, action: &Action) -> Verdict {
        if let Some(holdout) = &self.rules.holdout {
            let bucket = crate::hash::bucket(profile.id(), &holdout.salt);
            if bucket < i64::from(holdout.percent) {
                return Err((
                    Reason::Holdout,
                    vec![
                        ("group", "global".into()),
                        ("bucket", bucket.into()),
                        ("percent", i64::from(holdout.percent).into()),
                    ],
                ));
            }
        }
        if let Some(percent) = action.holdout_percent {
            let bucket = crate::hash::bucket(profile.id(), &action.id);
            if bucket < i64::from(percent) {
                return Err((
                    Reason::Holdout,
                    vec![
                        ("group", action.id.as_str().into()),
                        ("bucket", bucket.into()),
                        ("percent", i64::from(percent).into()),
                    ],
                ));
            }
        }
        Ok(())
    }

    fn consent(&self, profile: &Profile, action: &Action, now: Timestamp) -> Verdict {
        let consent = &self.rules.consent;
        let marketing = action.category == Category::Marketing;
        if let (true, Some(unsubscribed)) = (marketing, &consent.unsubscribed) {
            if *profile.attribute_slot(unsubscribed.slot) == Value::Bool(true) {
                return Err((
                    Reason::Unsubscribed,
                    vec![("trait", unsubscribed.name.as_str().into())],
                ));
            }
        }
        let Some(rule) = consent.channel(&action.channel) else {
            return Ok(());
        };
        let channel = ("channel", Value::from(action.channel.as_str()));
        match profile.attribute_slot(rule.opt_in.slot) {
            Value::Bool(true) => {}
            // An explicit opt-out binds every action; a missing opt-in only marketing.
            Value::Bool(false) => return Err((Reason::NoConsent, vec![channel])),
            _ if marketing => return Err((Reason::NoConsent, vec![channel])),
            _ => return Ok(()),
        }
        if let (true, Some(expires)) = (marketing, &rule.expires) {
            if let Value::Timestamp(until) = profile.attribute_slot(expires.slot) {
                if *until <= now {
                    return Err((
                        Reason::ConsentExpired,
                        vec![channel, ("expired_at", (*until).into())],
                    ));
                }
            }
        }
        Ok(())
    }

    fn caps(
        &self,
        profile: &Profile,
        history: &dyn History,
        action: &Action,
        now: Timestamp,
        decision: &Decision,
    ) -> Verdict {
        for cap in &self.rules.caps {
            let counts_channel = |channel: &str| {
                cap.channels.is_empty() || cap.channels.iter().any(|c| c == channel)
            };
            let counts_category = |category: Category| cap.category.is_none_or(|c| c == category);
            if !counts_channel(&action.channel) || !counts_category(action.category) {
                continue;
            }
            let after = Timestamp::from_micros(now.as_micros().saturating_sub(cap.per.as_micros()));
            let categories: &[Category] = match cap.category {
                Some(c) => &[c][..],
                None => &[Category::Marketing, Category::Transactional][..],
            };
            let channels: Vec<Option<&str>> = if cap.channels.is_empty() {
                vec![None]
            } else {
                cap.channels.iter().map(|c| Some(c.as_str())).collect()
            };
            let mut count: u32 = 0;
            for channel in &channels {
                for category in categories {
                    let sends = history.sends_after(profile.id(), *channel, *category, after);
                    count = count.saturating_add(sends);
                }
            }
            let chosen = decision
                .emissions
                .iter()
                .filter(|e| counts_channel(&e.channel) && counts_category(e.category))
                .count();
            count = count.saturating_add(u32::try_from(chosen).unwrap_or(u32::MAX));
            if count >= cap.max {
                return Err((
                    Reason::FrequencyCap,
                    vec![
                        ("cap", cap.name.as_str().into()),
                        ("count", i64::from(count).into()),
                        ("max", i64::from(cap.max).into()),
                    ],
                ));
            }
        }
        Ok(())
    }

    /// The end of the quiet period at `now` in the profile's zone, if quiet.
    fn quiet_until(&self, profile: &Profile, now: Timestamp) -> Option<Timestamp> {
        let quiet = self.rules.quiet_hours.as_ref()?;
        let zone = quiet
            .timezone
            .as_ref()
            .and_then(|t| match profile.attribute_slot(t.slot) {
                Value::String(name) => name.parse::<Tz>().ok(),
                _ => None,
            })
            .unwrap_or(quiet.default_timezone);
        quiet::quiet_until(now, zone, quiet.start, quiet.end)
    }

    /// When an emitted action goes out: deferred past quiet hours if it says so.
    fn send_at(&self, profile: &Profile, now: Timestamp, action: &Action) -> Option<Timestamp> {
        if action.category == Category::Transactional
            || action.quiet_hours != QuietHoursPolicy::Defer
        {
            return None;
        }
        self.quiet_until(profile, now)
    }
}

fn validity(action: &Action, now: Timestamp) -> Verdict {
    if let Some(from) = action.valid_from {
        if now < from {
            return Err((Reason::NotYetValid, vec![("valid_from", from.into())]));
        }
    }
    if let Some(until) = action.valid_until {
        if now > until {
            return Err((Reason::Expired, vec![("valid_until", until.into())]));
        }
    }
    Ok(())
}

fn cooldown(profile: &Profile, history: &dyn History, action: &Action, now: Timestamp) -> Verdict {
    let (Some(cooldown), Some(last)) =
        (action.cooldown, history.last_sent(profile.id(), &action.id))
    else {
        return Ok(());
    };
    // A cooldown that ends exactly now has ended.
    let until = last
        .checked_add(cooldown)
        .unwrap_or(Timestamp::from_micros(i64::MAX));
    if now < until {
        return Err((
            Reason::Cooldown,
            vec![("until", until.into()), ("last_sent", last.into())],
        ));
    }
    Ok(())
}

fn max_sends(profile: &Profile, history: &dyn History, action: &Action) -> Verdict {
    let Some(max) = action.max_sends else {
        return Ok(());
    };
    let sent = history.times_sent(profile.id(), &action.id);
    if sent >= max {
        return Err((
            Reason::MaxSends,
            vec![
                ("count", i64::from(sent).into()),
                ("max", i64::from(max).into()),
            ],
        ));
    }
    Ok(())
}

fn rank(action: &Action, profile: &Profile, now: Timestamp) -> Result<f64, EvalError> {
    Ok(match &action.ranking {
        #[allow(clippy::cast_precision_loss)]
        Ranking::Priority(p) => *p as f64,
        // A NULL score ranks below every number.
        Ranking::Score(score) => score.evaluate(profile, now)?.unwrap_or(f64::NEG_INFINITY),
    })
}

fn suppression(
    profile: &Profile,
    action: &Action,
    reason: Reason,
    detail: Vec<(&'static str, Value)>,
) -> Suppression {
    Suppression {
        profile: profile.id().to_owned(),
        action: action.id.clone(),
        reason,
        detail,
    }
}

fn emission(
    profile: &Profile,
    action: &Action,
    send_at: Timestamp,
    journey: Option<(String, u32, i64)>,
    key: String,
) -> Emission {
    Emission {
        profile: profile.id().to_owned(),
        action: action.id.clone(),
        channel: action.channel.clone(),
        category: action.category,
        send_at,
        journey: journey.map(|(id, step, _)| (id, step)),
        key,
    }
}

/// A key that depends only on (profile, action, which send of that action
/// this is, journey enrolment and step): 16 hex digits of FNV-1a 64.
fn idempotency_key(
    profile: &str,
    action: &Action,
    history: &dyn History,
    journey: Option<&(String, u32, i64)>,
) -> String {
    let send_number = history.times_sent(profile, &action.id) + 1;
    let mut text = format!("{profile}\u{0}{}\u{0}{send_number}", action.id);
    if let Some((id, step, enrolled_at)) = journey {
        let _ = write!(text, "\u{0}{id}\u{0}{enrolled_at}\u{0}{step}");
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// A value as JSON: timestamps and durations as strings, as in profiles.
fn json_value(value: &Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::from(&**s),
        Value::Timestamp(t) => Json::from(t.to_string()),
        Value::Duration(d) => Json::from(d.to_string()),
        Value::List(items) => Json::Array(items.iter().map(json_value).collect()),
    }
}

impl Emission {
    /// The JSON line `nextbest decide` prints (SPEC §6).
    pub fn to_json(&self) -> serde_json::Value {
        let mut line = serde_json::Map::new();
        line.insert("profile".into(), self.profile.as_str().into());
        line.insert("action".into(), self.action.as_str().into());
        line.insert("channel".into(), self.channel.as_str().into());
        line.insert("send_at".into(), self.send_at.to_string().into());
        if let Some((journey, step)) = &self.journey {
            line.insert("journey".into(), journey.as_str().into());
            line.insert("step".into(), (*step).into());
        }
        line.insert("key".into(), self.key.as_str().into());
        serde_json::Value::Object(line)
    }
}

impl Suppression {
    /// The JSON line `nextbest decide --explain` prints (SPEC §6).
    pub fn to_json(&self) -> serde_json::Value {
        let detail: serde_json::Map<String, serde_json::Value> = self
            .detail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json_value(v)))
            .collect();
        serde_json::json!({
            "profile": self.profile,
            "action": self.action,
            "suppressed": self.reason.name(),
            "detail": detail,
        })
    }
}
