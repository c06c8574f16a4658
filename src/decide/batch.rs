//! Many profiles decided at once, on a rayon thread pool (feature `rayon`).

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use rayon::prelude::*;

use super::{Decision, Engine, Options};
use crate::Error;
use crate::hash::Fnv1a64;
use crate::history::History;
use crate::profile::Profile;
use crate::trigger::EvalError;
use crate::value::Timestamp;

impl Engine {
    /// Decides every profile of `profiles` at `now`, in parallel on the
    /// current rayon pool (the global one, or yours inside
    /// `ThreadPool::install`), each as [`Engine::decide`] would. The
    /// decisions come back in the order of `profiles`.
    ///
    /// Every decision reads `history` as it is: record the updates
    /// ([`Decision::update`]) in order afterwards, as one
    /// [`History::record`] of them all if the history batches. A profile
    /// listed twice would be decided twice from the same history, and both
    /// decisions could then be recorded: so only its first occurrence is
    /// decided, and each later one is
    /// [`EvalError::RepeatedInBatch`]; a history that cannot be read fails
    /// the decisions it could not answer for. Decide those in a later batch, once
    /// the first is recorded (it is then a replay, or a new decision).
    ///
    /// ```
    /// use nextbest::decide::{Engine, Options};
    /// use nextbest::history::{History, MemoryHistory, Update};
    /// use nextbest::rules::{Format, RuleSet};
    /// use nextbest::{Profile, Timestamp};
    /// let rules = RuleSet::parse(r#"
    /// [schema.traits]
    /// n = "int"
    /// [consent]
    /// email = {}
    /// [[action]]
    /// id = "nudge"
    /// channel = "email"
    /// trigger = "n > 1"
    /// "#, Format::Toml, "rules.toml")?;
    /// let engine = Engine::new(rules);
    /// let schema = &engine.rules().schema;
    /// let profiles: Vec<Profile> = (0..100)
    ///     .map(|i| Profile::builder(schema, format!("c-{i}")).attribute("n", i).build())
    ///     .collect::<Result<_, _>>()?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let mut history = MemoryHistory::new();
    /// let decisions = engine.decide_batch(&profiles, &history, now, Options::default());
    /// let mut update = Update::default();
    /// for decision in decisions {
    ///     update.extend(decision?.update());
    /// }
    /// assert_eq!(update.records.len(), 98);
    /// history.record(&update)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide_batch(
        &self,
        profiles: &[Profile],
        history: &(dyn History + Sync),
        now: Timestamp,
        options: Options,
    ) -> Vec<Result<Decision, Error>> {
        // FNV: ids are short, and SipHash's resistance to chosen keys buys
        // nothing in a set that lives for one call.
        let mut seen: HashSet<&str, BuildHasherDefault<Fnv1a64>> =
            HashSet::with_capacity_and_hasher(profiles.len(), BuildHasherDefault::default());
        let first: Vec<bool> = profiles.iter().map(|p| seen.insert(p.id())).collect();
        // Snapshots are read a slice of profiles at a time: one round trip
        // per slice for a store on a server, and slices enough to keep
        // every thread busy for one in memory.
        let slice = (profiles.len() / rayon::current_num_threads().saturating_mul(4))
            .clamp(MIN_SLICE, MAX_SLICE);
        let decisions: Vec<Vec<Result<Decision, Error>>> = (profiles.par_chunks(slice))
            .zip(first.par_chunks(slice))
            .map(|(profiles, first)| self.decide_slice(profiles, first, history, now, options))
            .collect();
        decisions.into_iter().flatten().collect()
    }

    /// Decides the first occurrences among `profiles` from one batched read
    /// of their snapshots; refuses the others.
    fn decide_slice(
        &self,
        profiles: &[Profile],
        first: &[bool],
        history: &(dyn History + Sync),
        now: Timestamp,
        options: Options,
    ) -> Vec<Result<Decision, Error>> {
        let ids: Vec<&str> = (profiles.iter().zip(first))
            .filter(|(_, first)| **first)
            .map(|(profile, _)| profile.id())
            .collect();
        let mut snapshots = self.snapshots(history, &ids, now).into_iter();
        (profiles.iter().zip(first))
            .map(|(profile, first)| {
                if !*first {
                    return Err(Error::Eval(EvalError::RepeatedInBatch {
                        profile: profile.id().to_owned(),
                    }));
                }
                match snapshots.next() {
                    Some(snapshot) => Ok(self.decide_from(profile, &snapshot?, now, options)?),
                    // A store that answered for fewer profiles than asked.
                    None => self.decide(profile, history, now, options),
                }
            })
            .collect()
    }
}

/// The fewest profiles whose snapshots are read at once.
const MIN_SLICE: usize = 16;
/// The most: a read of more holds a server's connection for longer
/// without saving round trips that matter.
const MAX_SLICE: usize = 1024;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::history::MemoryHistory;
    use crate::rules::{Format, RuleSet};

    #[test]
    fn a_batch_decides_as_one_by_one_and_refuses_a_repeated_profile() {
        let rules = RuleSet::parse(
            "[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n\
             [[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"n % 3 = 0\"\n",
            Format::Toml,
            "rules.toml",
        )
        .unwrap();
        let engine = Engine::new(rules);
        let schema = &engine.rules().schema;
        let mut profiles: Vec<Profile> = (0..500)
            .map(|i| {
                Profile::builder(schema, format!("c-{i}"))
                    .attribute("n", i)
                    .build()
                    .unwrap()
            })
            .collect();
        profiles.push(profiles[7].clone());
        let now = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
        let history = MemoryHistory::new();
        let batch = engine.decide_batch(&profiles, &history, now, Options::default());
        assert_eq!(batch.len(), profiles.len());
        for (profile, decided) in profiles.iter().zip(&batch).take(500) {
            let alone = engine.decide(profile, &history, now, Options::default());
            assert_eq!(decided.as_ref().ok(), alone.as_ref().ok());
        }
        assert!(matches!(
            &batch[500],
            Err(Error::Eval(EvalError::RepeatedInBatch { profile })) if profile == "c-7"
        ));
    }
}
