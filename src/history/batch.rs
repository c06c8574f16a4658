//! Recording many decisions in one commit: a store's cost per commit (an
//! fsync for the embedded store, a round trip and a transaction for a
//! server) is paid once per batch of profiles instead of once per decision.

use std::collections::BTreeMap;

use crate::Id;

use super::{Commit, History, HistoryError, MemoryHistory, ProfileSnapshot, Update};
use crate::value::Timestamp;

/// A store, and the decisions recorded since its last commit: a
/// [`History`] whose reads see both (a profile decided again before the
/// batch is committed replays its pending decision), whose
/// [`commit`](History::commit) only adds to the batch, and which
/// [`flush`](Batched::flush) commits to the store as one transaction once
/// it holds [`size`](Batched::new) decisions, checked against the basis of
/// each profile's first snapshot in the batch.
///
/// A service records its decisions through it and sends a batch's
/// emissions once [`flush`](Batched::flush) answered
/// [`Commit::Committed`]; on [`Commit::Conflict`], the profiles named are
/// out of the batch, to be decided again (the rest is still pending).
///
/// ```
/// use nextbest::decide::{Engine, Options};
/// use nextbest::history::{Batched, Commit, History, MemoryHistory};
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
/// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let mut batch = Batched::new(MemoryHistory::new(), 100);
/// for i in 0..250 {
///     let profile = Profile::builder(&engine.rules().schema, format!("c-{i}"))
///         .attribute("n", 5).build()?;
///     let decision = engine.decide(&profile, &batch, now, Options::default())?;
///     batch.commit(&decision.update())?;
///     if batch.is_full() {
///         assert_eq!(batch.flush()?, Commit::Committed);
///     }
/// }
/// assert_eq!(batch.flush()?, Commit::Committed);
/// assert_eq!(batch.store().times_sent("c-249", "nudge")?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Batched<H> {
    store: H,
    size: usize,
    /// The batch's decisions, for reads.
    pending: MemoryHistory,
    /// The batch's decisions, for the store.
    update: Update,
    /// How many decisions the batch holds.
    decisions: usize,
    /// Per profile decided in the batch, the instant of its last decision
    /// in the store when the batch first read it (`None` for a decision
    /// recorded unconditionally: it is not checked).
    basis: BTreeMap<Id, Option<Option<Timestamp>>>,
}

impl<H: History> Batched<H> {
    /// Batches of `size` decisions (at least one) over `store`.
    pub fn new(store: H, size: usize) -> Batched<H> {
        Batched {
            store,
            size: size.max(1),
            pending: MemoryHistory::new(),
            update: Update::default(),
            decisions: 0,
            basis: BTreeMap::new(),
        }
    }

    /// The store.
    pub fn store(&self) -> &H {
        &self.store
    }

    /// The store, to use it directly (its pending decisions, if any, are
    /// not in it).
    pub fn store_mut(&mut self) -> &mut H {
        &mut self.store
    }

    /// Whether the batch holds `size` decisions or more: time to
    /// [`flush`](Batched::flush).
    pub fn is_full(&self) -> bool {
        self.decisions >= self.size
    }

    /// How many decisions wait to be committed.
    pub fn pending(&self) -> usize {
        self.decisions
    }

    /// Commits the batch to the store, as one transaction.
    ///
    /// # Errors
    /// The store's, when it cannot write: then nothing of the batch was
    /// acknowledged, and the batch is kept.
    pub fn flush(&mut self) -> Result<Commit, HistoryError> {
        if self.update.is_empty() {
            self.decisions = 0;
            return Ok(Commit::Committed);
        }
        let mut update = std::mem::take(&mut self.update);
        update.basis = (self.basis.iter())
            .filter_map(|(profile, seen)| {
                seen.map(|last_decided_at| super::Basis {
                    profile: profile.clone(),
                    last_decided_at,
                })
            })
            .collect();
        let answer = self.store.commit(&update);
        update.basis.clear();
        match answer {
            Ok(Commit::Committed) => {
                self.pending = MemoryHistory::new();
                self.decisions = 0;
                self.basis.clear();
                Ok(Commit::Committed)
            }
            Ok(Commit::Conflict(profiles)) => {
                self.update = update;
                self.drop_profiles(&profiles);
                Ok(Commit::Conflict(profiles))
            }
            Err(error) => {
                self.update = update;
                Err(error)
            }
        }
    }

    /// Takes the decisions of `profiles` out of the batch.
    fn drop_profiles(&mut self, profiles: &[Id]) {
        let dropped = |profile: &Id| profiles.contains(profile);
        let update = &mut self.update;
        update.records.retain(|record| !dropped(&record.profile));
        update.journeys.retain(|change| !dropped(&change.profile));
        update.decided.retain(|(profile, _)| !dropped(profile));
        self.basis.retain(|profile, _| !dropped(profile));
        self.pending = MemoryHistory::new();
        // Recording into memory cannot fail.
        let _ = self.pending.record(&self.update);
        self.decisions = self.basis.len();
    }
}

impl<H: History> History for Batched<H> {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        let mut snapshot = self.store.snapshot(profile, since, now)?;
        if self.basis.contains_key(profile) {
            snapshot.overlay(self.pending.snapshot(profile, since, now)?);
        }
        Ok(snapshot)
    }

    /// The store's snapshots, read at once, with the batch's decisions laid
    /// over those of the profiles it holds.
    fn snapshots(
        &self,
        profiles: &[&str],
        since: Timestamp,
        now: Timestamp,
    ) -> Vec<Result<ProfileSnapshot, HistoryError>> {
        let mut snapshots = self.store.snapshots(profiles, since, now);
        for snapshot in &mut snapshots {
            let Ok(read) = snapshot else { continue };
            if self.basis.contains_key(read.profile()) {
                match self.pending.snapshot(read.profile(), since, now) {
                    Ok(pending) => read.overlay(pending),
                    Err(error) => *snapshot = Err(error),
                }
            }
        }
        snapshots
    }

    /// Adds `update` to the batch. A profile new to the batch is checked
    /// at [`flush`](Batched::flush) against its basis; one already in it
    /// conflicts here if its basis is not the batch's latest decision.
    fn commit(&mut self, update: &Update) -> Result<Commit, HistoryError> {
        let mut conflicts = Vec::new();
        for seen in &update.basis {
            if self.basis.contains_key(&seen.profile) {
                let now = self.snapshot(&seen.profile, super::LATEST, super::LATEST)?;
                if now.last_decided_at() != seen.last_decided_at {
                    conflicts.push(seen.profile.clone());
                }
            }
        }
        if !conflicts.is_empty() {
            return Ok(Commit::Conflict(conflicts));
        }
        for seen in &update.basis {
            (self.basis)
                .entry(seen.profile.clone())
                .or_insert(Some(seen.last_decided_at));
        }
        let mut plain = update.clone();
        plain.basis.clear();
        let profiles = (plain.records.iter().map(|r| &r.profile))
            .chain(plain.journeys.iter().map(|j| &j.profile))
            .chain(plain.decided.iter().map(|(p, _)| p));
        for profile in profiles {
            self.basis.entry(profile.clone()).or_insert(None);
        }
        self.pending.record(&plain)?;
        self.update.extend(plain);
        self.decisions = self.decisions.saturating_add(1);
        Ok(Commit::Committed)
    }
}
