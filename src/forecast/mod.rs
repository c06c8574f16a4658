//! Contact-pressure forecasts (SPEC §10): what a rule set would send to a
//! sample of customers over the coming weeks, before it goes live.
//!
//! Input: an [`Engine`], a sample of profiles (each a [`Simulation`],
//! with the events and trait changes still to come), and a time range
//! with a step. Output: a [`Forecast`] — the distribution of sends per
//! customer per week, the most-contacted customers and which actions
//! reached them, the actions that never fire, the pairs of triggers that
//! fire together most of the time, and how often each cap binds.
//!
//! Each profile is simulated on its own (its own in-memory history, the
//! simulator deciding at every step with every suppression explained),
//! so profiles can be simulated in parallel and added in any order: the
//! forecast is the same.
//!
//! What is counted:
//! - a **send** is an emission, counted in the week of its decision
//!   (weeks run from `from` in steps of seven days; the last may be
//!   shorter, and the instant `to` itself, when it starts a new week,
//!   counts in the last one);
//! - an action **fires** at a decision when its trigger is TRUE there: it
//!   was emitted, held out or suppressed (cooldown, cap, arbitration…) as
//!   a standalone action, not as a journey step;
//! - two triggers **overlap** when they fire at the same decisions: the
//!   share is the decisions where both fired over those where either did,
//!   and pairs of [`OVERLAP`] or more are listed;
//! - a cap **binds** when it suppresses a candidate.
//!
//! ```
//! use nextbest::decide::Engine;
//! use nextbest::forecast::Forecast;
//! use nextbest::rules::{Format, RuleSet};
//! use nextbest::simulate::Simulation;
//! use nextbest::{Duration, Profile, Timestamp};
//! let rules = RuleSet::parse(r#"
//! [schema.traits]
//! at_risk = "bool"
//! [consent]
//! email = {}
//! [[cap]]
//! name = "weekly"
//! max = 2
//! per = "7d"
//! [[action]]
//! id = "nudge"
//! channel = "email"
//! trigger = "at_risk"
//! cooldown = "1d"
//! [[action]]
//! id = "never"
//! channel = "email"
//! trigger = "NOT at_risk AND at_risk"
//! "#, Format::Toml, "rules.toml")?;
//! let engine = Engine::new(rules);
//! let schema = &engine.rules().schema;
//! let sample: Vec<Simulation> = ["c-1", "c-2"]
//!     .into_iter()
//!     .map(|id| Simulation::new(&engine, Profile::builder(schema, id).attribute("at_risk", true)))
//!     .collect();
//! let from = Timestamp::parse("2026-12-01T00:00:00Z")?;
//! let to = from + Duration::parse("14d")?;
//! let forecast = Forecast::run(&engine, &sample, from, to, Duration::parse("1h")?)?;
//! // The cap lets two daily nudges through in any seven days: days 0, 1,
//! // 7, 8 and 14 (the end is simulated too), for each customer.
//! assert_eq!(forecast.sends, 10);
//! // Two whole weeks each, of two sends: days 0 and 1; days 7 and 8 (day
//! // 14, the last instant, begins a week the range does not cover: its
//! // sends count in `sends` only).
//! assert_eq!(forecast.per_week.counts, [0, 0, 4]);
//! assert_eq!(forecast.caps[0].customers, 2);
//! assert_eq!(forecast.caps[0].name, "weekly");
//! assert_eq!(forecast.never_fire[0].id, "never");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod render;

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use serde::Serialize;

use crate::decide::{Decision, Engine, Reason};
use crate::history::MemoryHistory;
use crate::rules::RuleSet;
use crate::simulate::{Simulation, SimulationError};
use crate::value::{Duration, Timestamp, Value};

/// The share of decisions two triggers must fire together at to be listed
/// as overlapping: more often together than apart.
pub const OVERLAP: f64 = 0.5;

/// How many of the most-contacted customers a forecast lists.
pub const TOP: usize = 10;

/// Seven days.
const WEEK: i64 = 7 * 86_400_000_000;

/// What a forecast could not be made from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForecastError {
    /// A profile could not be simulated.
    #[error("profile `{profile}`: {error}")]
    Simulation {
        /// The profile.
        profile: String,
        /// What went wrong.
        error: SimulationError,
    },
    /// The range or the step cannot be simulated.
    #[error("cannot forecast from {from} to {to} every {step}: {reason}")]
    Range {
        /// The start.
        from: Timestamp,
        /// The end.
        to: Timestamp,
        /// The step.
        step: Duration,
        /// Why not.
        reason: String,
    },
}

/// One customer's simulated future, summarised: what [`Tally::add`] adds.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProfileForecast {
    /// The profile.
    pub profile: String,
    /// Sends in each week.
    pub weekly: Vec<u32>,
    /// Sends per action.
    pub sends: BTreeMap<String, u64>,
    /// Hold-outs per action.
    pub held_out: BTreeMap<String, u64>,
    /// Decisions at which each action's trigger fired.
    pub fired: BTreeMap<String, u64>,
    /// Decisions at which both triggers of a pair (in id order) fired.
    pub together: BTreeMap<(String, String), u64>,
    /// Per action, per suppression reason: how often.
    pub suppressed: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Candidates each cap suppressed.
    pub cap_blocks: BTreeMap<String, u64>,
}

/// The per-customer, per-week send counts: `counts[n]` customer-weeks
/// with `n` sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Distribution {
    /// `counts[n]`: how many customer-weeks had `n` sends.
    pub counts: Vec<u64>,
    /// The mean sends per customer-week.
    pub mean: f64,
    /// The median, 90th and 99th percentile and the most, of sends in a
    /// customer-week.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The most.
    pub max: u64,
}

impl Distribution {
    fn new(counts: Vec<u64>) -> Distribution {
        let total: u64 = counts.iter().sum();
        let sends: u64 = (counts.iter().enumerate()).map(|(n, c)| n as u64 * c).sum();
        let percentile = |share: f64| -> u64 {
            // The smallest n with at least `share` of the customer-weeks at
            // or below it.
            let wanted = (share * total as f64).ceil() as u64;
            let mut seen = 0;
            for (n, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= wanted.max(1) {
                    return n as u64;
                }
            }
            0
        };
        Distribution {
            mean: if total == 0 {
                0.0
            } else {
                sends as f64 / total as f64
            },
            p50: percentile(0.5),
            p90: percentile(0.9),
            p99: percentile(0.99),
            max: counts.iter().rposition(|c| *c > 0).unwrap_or(0) as u64,
            counts,
        }
    }
}

/// One of the most-contacted customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Contacted {
    /// The profile.
    pub profile: String,
    /// Sends over the whole range.
    pub sends: u64,
    /// The most sends in one week.
    pub busiest_week: u32,
    /// Which actions reached it, how often, most first.
    pub actions: Vec<(String, u64)>,
}

/// One action over the sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActionPressure {
    /// The action.
    pub id: String,
    /// Sends.
    pub sends: u64,
    /// Decisions that held it out: a held-out customer stays a candidate,
    /// so this counts decisions, not customers.
    pub held_out: u64,
    /// Customers it was sent to.
    pub customers: u64,
    /// Decisions at which its trigger fired.
    pub fired: u64,
    /// Why it was suppressed, how often, most first.
    pub suppressed: Vec<(String, u64)>,
}

/// Two triggers that fire together most of the time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Overlap {
    /// One action.
    pub first: String,
    /// The other.
    pub second: String,
    /// Decisions where both fired.
    pub together: u64,
    /// Decisions where either fired.
    pub either: u64,
    /// `together / either`.
    pub share: f64,
}

/// How often a cap binds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CapPressure {
    /// The cap.
    pub name: String,
    /// Candidates it suppressed.
    pub blocks: u64,
    /// Customers it suppressed anything for.
    pub customers: u64,
}

/// A forecast (see the [module](self) documentation for what it counts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Forecast {
    /// The first instant simulated.
    #[serde(serialize_with = "instant")]
    pub from: Timestamp,
    /// The last instant that may be simulated.
    #[serde(serialize_with = "instant")]
    pub to: Timestamp,
    /// The step.
    #[serde(serialize_with = "duration")]
    pub step: Duration,
    /// Customers simulated.
    pub customers: u64,
    /// Weeks in the range (the last may be shorter).
    pub weeks: u32,
    /// Sends, all customers together.
    pub sends: u64,
    /// Sends per customer per week: over the whole weeks from the start (a
    /// partial last week is left out of it; its sends count in `sends`).
    pub per_week: Distribution,
    /// The most-contacted customers, most first (ties by id).
    pub most_contacted: Vec<Contacted>,
    /// Every action, in rule-file order.
    pub actions: Vec<ActionPressure>,
    /// The actions whose trigger never fired.
    pub never_fire: Vec<ActionPressure>,
    /// Trigger pairs that fire together [`OVERLAP`] of the time or more,
    /// most overlapping first.
    pub overlaps: Vec<Overlap>,
    /// Every cap, in rule-file order.
    pub caps: Vec<CapPressure>,
}

fn instant<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_string())
}

fn duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// A forecast being made: profiles are simulated with
/// [`Tally::simulate`] (on any thread) and added with [`Tally::add`].
#[derive(Debug)]
pub struct Tally<'r> {
    rules: &'r RuleSet,
    from: Timestamp,
    to: Timestamp,
    step: Duration,
    weeks: u32,
    customers: u64,
    weekly: Vec<u64>,
    /// (sends, busiest week, profile, actions) of the most contacted.
    top: Vec<Contacted>,
    total: ProfileForecast,
    customers_of: HashMap<String, u64>,
    cap_customers: HashMap<String, u64>,
}

impl<'r> Tally<'r> {
    /// An empty forecast of `rules` from `from` to `to` every `step`.
    ///
    /// # Errors
    /// [`ForecastError::Range`] for an empty range or a step that is not
    /// positive.
    pub fn new(
        rules: &'r RuleSet,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Tally<'r>, ForecastError> {
        let refuse = |reason: &str| ForecastError::Range {
            from,
            to,
            step,
            reason: reason.to_owned(),
        };
        if to < from {
            return Err(refuse("the end is before the start"));
        }
        if step.as_micros() <= 0 {
            return Err(refuse("the step must be positive"));
        }
        let span = i128::from(to.as_micros()) - i128::from(from.as_micros());
        // Whole weeks only: a last partial week would count as a customer-
        // week with a fraction of a week's exposure and pull the
        // distribution down (a range shorter than a week is one week).
        let weeks = (span / i128::from(WEEK)).max(1);
        let weeks = u32::try_from(weeks).map_err(|_| refuse("too many weeks"))?;
        Ok(Tally {
            rules,
            from,
            to,
            step,
            weeks,
            customers: 0,
            weekly: Vec::new(),
            top: Vec::new(),
            total: ProfileForecast::default(),
            customers_of: HashMap::new(),
            cap_customers: HashMap::new(),
        })
    }

    /// Simulates one profile and summarises it (does not add it).
    ///
    /// # Errors
    /// The simulation fails (a profile that does not fit the schema, a
    /// range of more than [`crate::simulate::MAX_STEPS`] steps…).
    pub fn simulate(&self, simulation: &Simulation<'_>) -> Result<ProfileForecast, ForecastError> {
        let simulation = simulation.clone().explain(true);
        let mut summary = ProfileForecast {
            profile: simulation.profile_id().to_owned(),
            weekly: vec![0; usize::try_from(self.weeks).unwrap_or(0)],
            ..ProfileForecast::default()
        };
        let run = simulation.run_each(
            &mut MemoryHistory::new(),
            self.from,
            self.to,
            self.step,
            |decision| {
                self.summarise(&mut summary, &decision);
                ControlFlow::Continue(())
            },
        );
        run.map_err(|error| ForecastError::Simulation {
            profile: summary.profile.clone(),
            error,
        })?;
        Ok(summary)
    }

    fn summarise(&self, summary: &mut ProfileForecast, decision: &Decision) {
        let offset = decision
            .at
            .as_micros()
            .saturating_sub(self.from.as_micros())
            / WEEK;
        let week = usize::try_from(offset).unwrap_or(usize::MAX);
        // Sends of a partial last week count in the totals, not in the
        // weekly distribution.
        if let Some(count) = summary.weekly.get_mut(week) {
            *count += u32::try_from(decision.emissions.len()).unwrap_or(u32::MAX);
        }
        for emission in &decision.emissions {
            *summary
                .sends
                .entry(emission.action.to_string())
                .or_default() += 1;
        }
        for held in &decision.held_out {
            *summary.held_out.entry(held.action.to_string()).or_default() += 1;
        }
        for suppression in &decision.suppressions {
            let reasons = summary
                .suppressed
                .entry(suppression.action.to_string())
                .or_default();
            *reasons.entry(suppression.reason.name()).or_default() += 1;
            if suppression.reason == Reason::FrequencyCap
                && let Some((_, Value::String(cap))) =
                    suppression.detail.iter().find(|(key, _)| *key == "cap")
            {
                *summary.cap_blocks.entry(cap.to_string()).or_default() += 1;
            }
        }
        // The standalone triggers that fired here, each once.
        let mut fired: Vec<&str> = (decision.emissions.iter().chain(&decision.held_out))
            .filter(|e| e.journey.is_none())
            .map(|e| e.action.as_str())
            .chain(
                (decision.suppressions.iter())
                    .filter(|s| s.journey.is_none())
                    .map(|s| s.action.as_str()),
            )
            .collect();
        fired.sort_unstable();
        fired.dedup();
        for action in &fired {
            *summary.fired.entry((*action).to_owned()).or_default() += 1;
        }
        for (i, first) in fired.iter().enumerate() {
            for second in fired.iter().skip(i + 1) {
                let pair = ((*first).to_owned(), (*second).to_owned());
                *summary.together.entry(pair).or_default() += 1;
            }
        }
    }

    /// Adds a simulated profile.
    pub fn add(&mut self, profile: ProfileForecast) {
        self.customers += 1;
        for week in &profile.weekly {
            let n = usize::try_from(*week).unwrap_or(usize::MAX);
            if self.weekly.len() <= n {
                self.weekly.resize(n + 1, 0);
            }
            if let Some(count) = self.weekly.get_mut(n) {
                *count += 1;
            }
        }
        let sends: u64 = profile.sends.values().sum();
        if sends > 0 {
            let mut actions: Vec<(String, u64)> =
                profile.sends.iter().map(|(a, n)| (a.clone(), *n)).collect();
            actions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            self.top.push(Contacted {
                profile: profile.profile.clone(),
                sends,
                busiest_week: profile.weekly.iter().copied().max().unwrap_or(0),
                actions,
            });
            self.top.sort_by(|a, b| {
                b.sends
                    .cmp(&a.sends)
                    .then_with(|| a.profile.cmp(&b.profile))
            });
            self.top.truncate(TOP);
        }
        for action in profile.sends.keys() {
            *self.customers_of.entry(action.clone()).or_default() += 1;
        }
        for cap in profile.cap_blocks.keys() {
            *self.cap_customers.entry(cap.clone()).or_default() += 1;
        }
        merge(&mut self.total.sends, profile.sends);
        merge(&mut self.total.held_out, profile.held_out);
        merge(&mut self.total.fired, profile.fired);
        merge(&mut self.total.together, profile.together);
        merge(&mut self.total.cap_blocks, profile.cap_blocks);
        for (action, reasons) in profile.suppressed {
            merge(self.total.suppressed.entry(action).or_default(), reasons);
        }
    }

    /// The finished forecast.
    pub fn finish(self) -> Forecast {
        let total = &self.total;
        let count = |map: &BTreeMap<String, u64>, key: &str| map.get(key).copied().unwrap_or(0);
        let actions: Vec<ActionPressure> = (self.rules.actions.iter())
            .map(|action| {
                let mut suppressed: Vec<(String, u64)> = (total.suppressed.get(&action.id))
                    .map(|r| r.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
                    .unwrap_or_default();
                suppressed.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                ActionPressure {
                    id: action.id.clone(),
                    sends: count(&total.sends, &action.id),
                    held_out: count(&total.held_out, &action.id),
                    customers: self.customers_of.get(&action.id).copied().unwrap_or(0),
                    fired: count(&total.fired, &action.id),
                    suppressed,
                }
            })
            .collect();
        // Whose trigger is never TRUE: an action that fires but is always
        // held back (consent, caps) is a different problem, shown by its
        // `fired` and `suppressed`.
        let never_fire = (actions.iter()).filter(|a| a.fired == 0).cloned().collect();
        let mut overlaps: Vec<Overlap> = (total.together.iter())
            .filter_map(|(pair, together)| {
                // Decisions where either fired: each one's, less those
                // counted twice, over every customer.
                let either = (count(&total.fired, &pair.0) + count(&total.fired, &pair.1))
                    .saturating_sub(*together);
                let share = *together as f64 / either.max(1) as f64;
                (share >= OVERLAP).then(|| Overlap {
                    first: pair.0.clone(),
                    second: pair.1.clone(),
                    together: *together,
                    either,
                    share,
                })
            })
            .collect();
        overlaps.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| b.together.cmp(&a.together))
                .then_with(|| (&a.first, &a.second).cmp(&(&b.first, &b.second)))
        });
        let caps = (self.rules.caps.iter())
            .map(|cap| CapPressure {
                name: cap.name.clone(),
                blocks: count(&total.cap_blocks, &cap.name),
                customers: self.cap_customers.get(&cap.name).copied().unwrap_or(0),
            })
            .collect();
        Forecast {
            from: self.from,
            to: self.to,
            step: self.step,
            customers: self.customers,
            weeks: self.weeks,
            sends: total.sends.values().sum(),
            per_week: Distribution::new(self.weekly),
            most_contacted: self.top,
            actions,
            never_fire,
            overlaps,
            caps,
        }
    }
}

fn merge<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (key, value) in from {
        *into.entry(key).or_default() += value;
    }
}

impl Forecast {
    /// Simulates every profile of `sample` from `from` to `to` every
    /// `step` (one after the other; the command line spreads them over
    /// threads with [`Tally::simulate`]).
    ///
    /// # Errors
    /// As [`Tally::new`] and [`Tally::simulate`].
    pub fn run(
        engine: &Engine,
        sample: &[Simulation<'_>],
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Forecast, ForecastError> {
        let mut tally = Tally::new(engine.rules(), from, to, step)?;
        for simulation in sample {
            let summary = tally.simulate(simulation)?;
            tally.add(summary);
        }
        Ok(tally.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Format, RuleSet};

    fn rules() -> RuleSet {
        let source = "[schema.traits]\nx = \"int\"\n[consent]\nemail = {}\n\
                      [[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"x > 0\"\n\
                      [[action]]\nid = \"b\"\nchannel = \"email\"\ntrigger = \"x > 1\"\n";
        RuleSet::parse(source, Format::Toml, "rules.toml").unwrap()
    }

    fn summary(profile: &str, fired: &[(&str, u64)], together: u64) -> ProfileForecast {
        ProfileForecast {
            profile: profile.into(),
            weekly: vec![0],
            fired: fired.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect(),
            together: [(("a".to_owned(), "b".to_owned()), together)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect(),
            ..ProfileForecast::default()
        }
    }

    /// The share of an overlap is over every customer: one for whom
    /// only one trigger fires counts against the pair.
    #[test]
    fn overlaps_count_decisions_where_either_fires_over_every_customer() {
        let rules = rules();
        let from = Timestamp::from_micros(0);
        let step = Duration::from_micros(3_600_000_000);
        let mut tally = Tally::new(&rules, from, from, step).unwrap();
        tally.add(summary("c-1", &[("a", 10), ("b", 10)], 10));
        tally.add(summary("c-2", &[("a", 30)], 0));
        assert_eq!(tally.finish().overlaps, []);

        let mut tally = Tally::new(&rules, from, from, step).unwrap();
        tally.add(summary("c-1", &[("a", 10), ("b", 10)], 10));
        tally.add(summary("c-2", &[("a", 5)], 0));
        let overlaps = tally.finish().overlaps;
        assert_eq!((overlaps[0].together, overlaps[0].either), (10, 15));
    }

    #[test]
    fn the_distribution_reads_its_percentiles_from_the_counts() {
        // 10 customer-weeks: 5 with no send, 4 with one, 1 with three.
        let d = Distribution::new(vec![5, 4, 0, 1]);
        assert_eq!((d.p50, d.p90, d.p99, d.max), (0, 1, 3, 3));
        assert!((d.mean - 0.7).abs() < 1e-12);
        assert_eq!(Distribution::new(Vec::new()).max, 0);
    }

    #[test]
    fn a_range_that_ends_before_it_starts_is_refused() {
        let rules = rules();
        let later = Timestamp::from_micros(10);
        let error = Tally::new(
            &rules,
            later,
            Timestamp::from_micros(0),
            Duration::from_micros(1),
        )
        .unwrap_err();
        assert!(error.to_string().contains("the end is before the start"));
        let error = Tally::new(&rules, later, later, Duration::from_micros(0)).unwrap_err();
        assert!(error.to_string().contains("the step must be positive"));
    }
}
