//! An in-memory [`History`]: per profile, per-action counters and the sends
//! sorted by time in one vector, so a cooldown is one short scan and a
//! rolling cap one binary search plus a walk over the sends inside its
//! window (a handful: that is what a cap limits), never the whole history.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::Id;

use super::{
    Basis, Commit, History, HistoryError, JourneyState, LastDecision, Outcome, ProfileSnapshot,
    Record, Update,
};
use crate::hash::Fnv1a64;
use crate::rules::Category;
use crate::value::Timestamp;

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv1a64>>;

/// What one profile's history holds. Action and channel names are interned
/// (see [`MemoryHistory::names`]), so that the per-action and per-channel
/// entries sit in one contiguous vector each: a lookup reads a cache line or
/// two instead of chasing a hash table and a heap string per entry.
#[derive(Debug, Default, Clone)]
struct ProfileLog {
    /// Per action sent: (name, times sent, last send decided at).
    actions: Vec<(Name, u32, Timestamp)>,
    /// Every send as (decided at, channel, category), ascending in time.
    sends: Vec<(Timestamp, Name, Category)>,
    /// Everything, in recording order.
    records: Vec<Record>,
    /// The instant of the profile's last decision (see [`LastDecision`]):
    /// kept beside the counters, as every decision asks it and the records
    /// sit in cache lines of their own.
    last_at: Option<Timestamp>,
    /// Per journey: where the profile stands.
    journeys: FastMap<Id, JourneyState>,
}

/// An interned action or channel name.
type Name = u32;

impl ProfileLog {
    /// How many sends decided after `after` that `wanted` selects: a binary
    /// search for the window's start, then only the sends inside it.
    fn sends_after(&self, after: Timestamp, wanted: impl Fn(Name, Category) -> bool) -> u32 {
        let first = self.sends.partition_point(|(at, ..)| *at <= after);
        let inside = self.sends.get(first..).unwrap_or_default();
        let count = (inside.iter())
            .filter(|(_, channel, category)| wanted(*channel, *category))
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// Adds a send, after any other at the same instant: recording order
    /// is kept.
    fn insert_send(&mut self, at: Timestamp, channel: Name, category: Category) {
        let place = self.sends.partition_point(|(t, ..)| *t <= at);
        self.sends.insert(place, (at, channel, category));
    }

    fn action(&self, name: Name) -> Option<(u32, Timestamp)> {
        self.actions
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, count, last)| (*count, *last))
    }
}

/// A contact history held in memory.
///
/// ```
/// use nextbest::history::{History, MemoryHistory, Outcome, Record};
/// use nextbest::rules::Category;
/// use nextbest::Timestamp;
/// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let mut history = MemoryHistory::new();
/// let sent = Record::new("c-1", "churn_email", "email", Category::Marketing, Outcome::Sent, at, "k");
/// history.record(&vec![sent].into())?;
/// assert_eq!(history.times_sent("c-1", "churn_email")?, 1);
/// assert_eq!(history.last_sent("c-1", "churn_email")?, Some(at));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryHistory {
    profiles: FastMap<Id, ProfileLog>,
    /// Action and channel names, interned.
    names: FastMap<String, Name>,
    /// The text of each interned name.
    texts: Vec<String>,
}

impl MemoryHistory {
    /// An empty history: for tests, simulations and single runs (it is not
    /// durable).
    ///
    /// ```
    /// use nextbest::{History, MemoryHistory};
    /// let history = MemoryHistory::new();
    /// assert_eq!(history.last_decided_at("c-1")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        MemoryHistory::default()
    }

    /// Every record of a profile, in recording order.
    pub fn records(&self, profile: &str) -> &[Record] {
        self.profiles
            .get(profile)
            .map_or(&[], |p| p.records.as_slice())
    }
}

impl MemoryHistory {
    fn log(&mut self, profile: &str) -> &mut ProfileLog {
        self.profiles.entry(profile.into()).or_default()
    }

    fn set_last_decided_at(&mut self, profile: &str, at: Timestamp) {
        let log = self.log(profile);
        log.last_at = log.last_at.max(Some(at));
    }

    /// The text of an interned name.
    fn text(&self, name: Name) -> &str {
        usize::try_from(name)
            .ok()
            .and_then(|i| self.texts.get(i))
            .map_or("", String::as_str)
    }

    /// The profiles of `basis` whose last decision is not the one it saw.
    fn conflicts(&self, basis: &[Basis]) -> Vec<Id> {
        (basis.iter())
            .filter(|seen| {
                let now = self
                    .profiles
                    .get(seen.profile.as_str())
                    .and_then(|log| log.last_at);
                now != seen.last_decided_at
            })
            .map(|seen| seen.profile.clone())
            .collect()
    }

    /// Appends the update's records and stores its journey states.
    fn apply(&mut self, update: &Update) {
        for record in &update.records {
            let (action, channel) = (self.intern(&record.action), self.intern(&record.channel));
            let log = self.log(&record.profile);
            if record.outcome == Outcome::Sent {
                match log.actions.iter_mut().find(|(n, ..)| *n == action) {
                    Some((_, count, last)) => {
                        *count = count.saturating_add(1);
                        *last = (*last).max(record.at);
                    }
                    None => log.actions.push((action, 1, record.at)),
                }
                log.insert_send(record.at, channel, record.category);
            }
            log.records.push(record.clone());
        }
        for change in &update.journeys {
            (self.log(&change.profile).journeys).insert(change.journey.clone(), change.state);
        }
        let instants = (update.records.iter())
            .map(|record| (&record.profile, record.at))
            .chain(update.decided.iter().map(|(profile, at)| (profile, *at)));
        for (profile, at) in instants {
            self.set_last_decided_at(profile, at);
        }
    }
}

impl MemoryHistory {
    /// The interned name, if it was ever recorded.
    fn name(&self, text: &str) -> Option<Name> {
        self.names.get(text).copied()
    }

    fn intern(&mut self, text: &str) -> Name {
        if let Some(name) = self.names.get(text) {
            return *name;
        }
        let name = Name::try_from(self.names.len()).unwrap_or(Name::MAX);
        self.names.insert(text.to_owned(), name);
        self.texts.push(text.to_owned());
        name
    }

    /// One profile's entry for `action`.
    fn action(&self, profile: &str, action: &str) -> Option<(u32, Timestamp)> {
        self.profiles.get(profile)?.action(self.name(action)?)
    }
}

impl History for MemoryHistory {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let mut snapshot = ProfileSnapshot::new(profile, since);
        let Some(log) = self.profiles.get(profile) else {
            return Ok(snapshot);
        };
        for (action, count, last) in &log.actions {
            snapshot.set_sends_of(self.text(*action), *count, *last);
        }
        let first = log.sends.partition_point(|(at, ..)| *at <= since);
        for (at, channel, category) in log.sends.get(first..).unwrap_or_default() {
            snapshot.add_send(*at, self.text(*channel), *category);
        }
        for (journey, state) in &log.journeys {
            snapshot.set_journey(journey, *state);
        }
        if let Some(last) = log.last_at {
            snapshot.set_last_decided_at(last);
            if last >= now {
                snapshot.set_last_decision(LastDecision::at(last, log.records.iter().rev()));
            }
        }
        Ok(snapshot)
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        let conflicts = self.conflicts(&update.basis);
        if !conflicts.is_empty() {
            return Ok(Commit::Conflict(conflicts));
        }
        self.apply(update);
        Ok(Commit::Committed)
    }

    fn sends_of(
        &self,
        profile: &str,
        action: &str,
    ) -> Result<(u32, Option<Timestamp>), HistoryError> {
        Ok(self
            .action(profile, action)
            .map_or((0, None), |(count, last)| (count, Some(last))))
    }

    fn sends_after(
        &self,
        profile: &str,
        channel: Option<&str>,
        category: Category,
        after: Timestamp,
    ) -> Result<u32, HistoryError> {
        let Some(log) = self.profiles.get(profile) else {
            return Ok(0);
        };
        let channel = match channel {
            Some(text) => match self.name(text) {
                Some(name) => Some(name),
                None => return Ok(0),
            },
            None => None,
        };
        Ok(log.sends_after(after, |c, k| {
            k == category && channel.is_none_or(|wanted| c == wanted)
        }))
    }

    fn journey(&self, profile: &str, journey: &str) -> Result<Option<JourneyState>, HistoryError> {
        Ok(self
            .profiles
            .get(profile)
            .and_then(|log| log.journeys.get(journey).copied()))
    }

    fn last_decision(&self, profile: &str) -> Result<Option<LastDecision>, HistoryError> {
        Ok(self
            .profiles
            .get(profile)
            .and_then(|log| Some(LastDecision::at(log.last_at?, log.records.iter().rev()))))
    }

    fn last_decided_at(&self, profile: &str) -> Result<Option<Timestamp>, HistoryError> {
        Ok(self.profiles.get(profile).and_then(|log| log.last_at))
    }
}
