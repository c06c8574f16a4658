//! The history of one `decide` run without `--history`: every decision is at
//! the same instant, so a profile decided earlier in the run is replayed
//! (SPEC §5 item 7) and one never decided has no history at all. Only what
//! a replay needs is kept, per profile: the sends, as indices into the rules
//! and the key, about 50 bytes each instead of a full record.

use std::collections::HashMap;

use nextbest::Id;
use nextbest::Timestamp;
use nextbest::history::{
    Commit, History, HistoryError, LastDecision, Outcome, ProfileSnapshot, Record, Update,
};
use nextbest::rules::RuleSet;

/// A send, by the places of its action and journey in the rules.
#[derive(Debug)]
struct Send {
    action: u32,
    /// The journey and step, or `None`.
    journey: Option<(u32, u32)>,
    send_at: Timestamp,
    key: Id,
}

/// The decisions of a run at `now`, for the rules they were made under.
pub struct RunHistory<'r> {
    rules: &'r RuleSet,
    /// The places of the actions and journeys, by id.
    actions: HashMap<&'r str, u32>,
    journeys: HashMap<&'r str, u32>,
    now: Timestamp,
    /// Per profile decided in the run (that wrote anything): its sends.
    decided: HashMap<Id, Vec<Send>>,
}

impl<'r> RunHistory<'r> {
    /// An empty history for a run at `now` under `rules`.
    pub fn new(rules: &'r RuleSet, now: Timestamp) -> Self {
        let places =
            |ids: Vec<&'r str>| (ids.into_iter().zip(0u32..)).collect::<HashMap<&'r str, u32>>();
        RunHistory {
            rules,
            actions: places(rules.actions.iter().map(|a| a.id.as_str()).collect()),
            journeys: places(rules.journeys.iter().map(|j| j.id.as_str()).collect()),
            now,
            decided: HashMap::new(),
        }
    }

    fn send(&self, record: &Record) -> Option<Send> {
        let action = *self.actions.get(record.action.as_str())?;
        let journey = match &record.journey {
            Some((id, step)) => Some((*self.journeys.get(id.as_str())?, *step)),
            None => None,
        };
        Some(Send {
            action,
            journey,
            send_at: record.send_at,
            key: record.key.clone(),
        })
    }

    fn record_of(&self, profile: &str, send: &Send) -> Option<Record> {
        let action = self.rules.actions.get(usize::try_from(send.action).ok()?)?;
        let record = Record::new(
            profile,
            action.id.as_str(),
            action.channel.as_str(),
            action.category,
            Outcome::Sent,
            self.now,
            send.key.clone(),
        )
        .delivered_at(send.send_at);
        Some(match send.journey {
            Some((journey, step)) => {
                let journey = self.rules.journeys.get(usize::try_from(journey).ok()?)?;
                record.in_journey(journey.id.as_str(), step)
            }
            None => record,
        })
    }
}

/// A profile not decided in the run has no history: its snapshot is empty.
/// One that was is replayed: its snapshot holds that decision.
impl History for RunHistory<'_> {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        _: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let mut snapshot = ProfileSnapshot::new(profile, since);
        if let Some(sends) = self.decided.get(profile) {
            let sent = (sends.iter())
                .map(|send| self.record_of(profile, send))
                .collect::<Option<Vec<Record>>>()
                .ok_or_else(|| HistoryError::Store("a send of an unknown action".into()))?;
            snapshot.set_last_decision(LastDecision::new(self.now, sent));
        }
        Ok(snapshot)
    }

    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        let conflicts: Vec<Id> = (update.basis.iter())
            .filter(|seen| {
                let last = self.decided.contains_key(&seen.profile).then_some(self.now);
                last != seen.last_decided_at
            })
            .map(|seen| seen.profile.clone())
            .collect();
        if !conflicts.is_empty() {
            return Ok(Commit::Conflict(conflicts));
        }
        let refuse = |what: String| Err(HistoryError::Store(what));
        for record in &update.records {
            if record.at != self.now {
                return refuse(format!(
                    "a run at {} cannot record a decision at {}",
                    self.now, record.at
                ));
            }
            let send = match record.outcome {
                Outcome::Sent => match self.send(record) {
                    Some(send) => Some(send),
                    None => {
                        return refuse(format!("action `{}` is not in the rules", record.action));
                    }
                },
                // Held out, skipped: no send to replay.
                _ => None,
            };
            let sends = self.decided.entry(record.profile.clone()).or_default();
            sends.extend(send);
        }
        for change in &update.journeys {
            self.decided.entry(change.profile.clone()).or_default();
        }
        for (profile, _) in &update.decided {
            self.decided.entry(profile.clone()).or_default();
        }
        Ok(Commit::Committed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use nextbest::Profile;
    use nextbest::decide::{Engine, Options};
    use nextbest::history::MemoryHistory;
    use nextbest::rules::Category;

    /// Every bundled customer decided three times in one run, explained:
    /// the run's history decides exactly as a full in-memory one.
    #[test]
    fn a_run_decides_as_a_full_memory_history_would() {
        let root = env!("CARGO_MANIFEST_DIR");
        let engine =
            Engine::new(RuleSet::load(format!("{root}/examples/rules/classic.toml")).unwrap());
        let customers =
            std::fs::read_to_string(format!("{root}/examples/data/customers.jsonl")).unwrap();
        let profiles: Vec<Profile> = (customers.lines())
            .filter(|line| !line.trim().is_empty())
            .map(|line| Profile::from_json(&engine.rules().schema, line).unwrap())
            .collect();
        for now in ["2026-11-24T09:00:00Z", "2026-11-24T22:30:00Z"] {
            let now = Timestamp::parse(now).unwrap();
            let mut run = RunHistory::new(engine.rules(), now);
            let mut full = MemoryHistory::new();
            let options = Options::default().explain(true);
            let (mut replayed, mut recorded) = (0, 0);
            for pass in 0..3 {
                for profile in &profiles {
                    let mine = engine.decide(profile, &run, now, options).unwrap();
                    let reference = engine.decide(profile, &full, now, options).unwrap();
                    assert_eq!(mine, reference, "{}", profile.id());
                    replayed += usize::from(mine.replayed);
                    recorded += usize::from(pass == 0 && !mine.update().is_empty());
                    run.record(&mine.update()).unwrap();
                    full.record(&reference.update()).unwrap();
                }
            }
            // Each profile whose first decision wrote something is replayed
            // on both later passes; the others are decided afresh.
            assert!(recorded > 0);
            assert_eq!(replayed, 2 * recorded);
        }
    }

    #[test]
    fn a_decision_at_another_instant_is_refused() {
        let root = env!("CARGO_MANIFEST_DIR");
        let rules = RuleSet::load(format!("{root}/examples/rules/classic.toml")).unwrap();
        let now = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
        let mut run = RunHistory::new(&rules, now);
        let record = Record::new(
            "c-1",
            "churn_email",
            "email",
            Category::Marketing,
            Outcome::Sent,
            Timestamp::parse("2026-11-25T09:00:00Z").unwrap(),
            "k",
        )
        .delivered_at(now);
        assert!(run.record(&vec![record].into()).is_err());
        assert_eq!(run.last_decided_at("c-1").unwrap(), None);
    }
}
