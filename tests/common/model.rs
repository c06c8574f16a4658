//! The model-based tests of the history stores: random updates, and every
//! answer of a store compared with that of [`MemoryHistory`], the reference
//! semantics. Shared by the tests of each store.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use nextbest::Timestamp;
use nextbest::history::{
    Commit, History, HistoryError, JourneyState, JourneyStatus, JourneyUpdate, LastDecision,
    MemoryHistory, Outcome, ProfileSnapshot, Record, Update,
};
use nextbest::rules::Category;
use proptest::prelude::*;

/// A store under test: a [`History`] that also lists a profile's records.
pub trait Store: History {
    /// Every record of `profile` the store holds, in recording order.
    fn all_records(&self, profile: &str) -> Vec<Record>;
}

pub const PROFILES: [&str; 4] = ["", "p", "p0", "é"];
pub const ACTIONS: [&str; 3] = ["a", "a0", "b"];
pub const CHANNELS: [&str; 3] = ["", "email", "sms"];
pub const CATEGORIES: [Category; 2] = [Category::Marketing, Category::Transactional];

pub fn arb_record() -> impl Strategy<Value = Record> {
    (
        prop::sample::select(&PROFILES[..]),
        prop::sample::select(&ACTIONS[..]),
        prop::sample::select(&CHANNELS[..]),
        prop::sample::select(&CATEGORIES[..]),
        prop_oneof![
            4 => Just(Outcome::Sent),
            1 => Just(Outcome::HeldOut),
            1 => Just(Outcome::Skipped),
        ],
        // A narrow range: equal instants and window edges are common.
        -20i64..200,
        0i64..100,
        "[a-z0-9]{0,6}",
        proptest::option::of((prop::sample::select(&["rescue", "onboard"][..]), 1u32..5)),
    )
        .prop_map(
            |(profile, action, channel, category, outcome, at, delay, key, journey)| {
                let at = Timestamp::from_micros(at);
                let record = Record::new(profile, action, channel, category, outcome, at, key)
                    .delivered_at(Timestamp::from_micros(at.as_micros() + delay));
                match journey {
                    Some((journey, step)) => record.in_journey(journey, step),
                    None => record,
                }
            },
        )
}

pub const JOURNEYS: [&str; 2] = ["rescue", "onboard"];

pub fn arb_journey_update() -> impl Strategy<Value = JourneyUpdate> {
    (
        prop::sample::select(&PROFILES[..]),
        prop::sample::select(&JOURNEYS[..]),
        -20i64..200,
        (1u32..4, 0u32..5, any::<bool>()),
        0u8..3,
        -20i64..200,
    )
        .prop_map(
            |(profile, journey, entered_at, (enrolment, done, tried), status, left_at)| {
                let left_at = Timestamp::from_micros(left_at);
                let mut state =
                    JourneyState::entered(Timestamp::from_micros(entered_at), enrolment);
                state.done = done;
                state.tried = tried;
                state.status = match status {
                    0 => JourneyStatus::Active,
                    1 => JourneyStatus::Exited(left_at),
                    _ => JourneyStatus::Completed(left_at),
                };
                JourneyUpdate::new(profile, journey, state)
            },
        )
}

pub fn arb_update() -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(arb_record(), 0..=5),
        prop::collection::vec(arb_journey_update(), 0..=3),
        // A decision that only changed journey states names its instant.
        prop::collection::vec((prop::sample::select(&PROFILES[..]), -20i64..200), 0..=2),
    )
        .prop_map(|(records, journeys, decided)| {
            let update = journeys
                .into_iter()
                .fold(Update::from(records), Update::with_journey);
            (decided.into_iter()).fold(update, |update, (profile, at)| {
                update.with_decided(profile, Timestamp::from_micros(at))
            })
        })
}

/// The windows worth asking about: the extremes, one in the middle, and just
/// before, at and just after the instants of `records`.
pub fn windows(records: &[Record]) -> Vec<i64> {
    let mut out = vec![i64::MIN, i64::MAX, 100];
    for r in records {
        let at = r.at.as_micros();
        out.extend([at - 1, at, at + 1]);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A read that failed, as a failed test case.
pub fn ok<T>(read: Result<T, HistoryError>) -> Result<T, TestCaseError> {
    read.map_err(|e| TestCaseError::fail(e.to_string()))
}

/// Every answer of `durable` equals that of `model`, for the windows of
/// [`windows`]`(edges)` whose `after` is at least `cut`; and so does every
/// answer of a snapshot of each profile, for the windows from its start.
pub fn assert_same(
    durable: &impl Store,
    model: &MemoryHistory,
    edges: &[Record],
    cut: i64,
) -> Result<(), TestCaseError> {
    for profile in PROFILES {
        assert_same_profile(profile, durable, model, edges, cut)?;
        // The trait's own answers, from the snapshots every history fills.
        assert_same_profile(profile, &Defaults(model), model, edges, cut)?;
        // The instant of the last decision is never lost; its sends are
        // those that end the records the store keeps (which the tests
        // compare with the model's, less what compaction drops).
        let last_at = ok(model.last_decided_at(profile))?;
        let kept = durable.all_records(profile);
        let last = last_at.map(|at| LastDecision::at(at, kept.iter().rev()));
        prop_assert_eq!(&ok(durable.last_decision(profile))?, &last);
        prop_assert_eq!(ok(durable.last_decided_at(profile))?, last_at);
        if cut == i64::MIN {
            prop_assert_eq!(&ok(model.last_decision(profile))?, &last);
            prop_assert_eq!(&ok(Defaults(model).last_decision(profile))?, &last);
        }
        for since in [cut, 100] {
            let since = Timestamp::from_micros(since);
            for now in [i64::MIN, 100, i64::MAX].map(Timestamp::from_micros) {
                let snapshot = ok(durable.snapshot(profile, since, now))?;
                assert_same_snapshot(&snapshot, model, edges, since.as_micros().max(cut))?;
                prop_assert_eq!(snapshot.last_decided_at(), last_at);
                // The last decision's sends, exactly when a decision at
                // `now` replays it.
                let replays = last_at.is_some_and(|at| now <= at);
                let expected = last.clone().filter(|_| replays);
                prop_assert_eq!(snapshot.last_decision().cloned(), expected);
            }
        }
    }
    // Read at once (a profile named twice, one never recorded) as one by one.
    let asked: Vec<&str> = (PROFILES.iter().copied())
        .chain(PROFILES.first().copied())
        .chain(["never-recorded"])
        .collect();
    for since in [cut, 100].map(Timestamp::from_micros) {
        for now in [i64::MIN, 100, i64::MAX].map(Timestamp::from_micros) {
            let batch = durable.snapshots(&asked, since, now);
            prop_assert_eq!(batch.len(), asked.len());
            for (profile, snapshot) in asked.iter().zip(batch) {
                prop_assert_eq!(ok(snapshot)?, ok(durable.snapshot(profile, since, now))?);
            }
        }
    }
    Ok(())
}

/// A history that fills snapshots (from the model) and nothing else, so
/// that the trait's defaults answer every question.
struct Defaults<'a>(&'a MemoryHistory);

impl History for Defaults<'_> {
    fn snapshot(
        &self,
        profile: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<ProfileSnapshot, HistoryError> {
        self.0.snapshot(profile, since, now)
    }

    fn commit(&mut self, _: &Update) -> Result<Commit, HistoryError> {
        Err(HistoryError::Store("only asked".into()))
    }
}

/// Every answer of `durable` about `profile` equals that of `model`, for the
/// windows of [`windows`]`(edges)` whose `after` is at least `cut`.
pub fn assert_same_profile(
    profile: &str,
    durable: &dyn History,
    model: &MemoryHistory,
    edges: &[Record],
    cut: i64,
) -> Result<(), TestCaseError> {
    for journey in JOURNEYS {
        prop_assert_eq!(
            ok(durable.journey(profile, journey))?,
            ok(model.journey(profile, journey))?,
            "journey({:?}, {:?})",
            profile,
            journey
        );
    }
    for action in ACTIONS {
        prop_assert_eq!(
            ok(durable.last_sent(profile, action))?,
            ok(model.last_sent(profile, action))?,
            "last_sent({:?}, {:?})",
            profile,
            action
        );
        prop_assert_eq!(
            ok(durable.times_sent(profile, action))?,
            ok(model.times_sent(profile, action))?,
            "times_sent({:?}, {:?})",
            profile,
            action
        );
    }
    for after in windows(edges).into_iter().filter(|a| *a >= cut) {
        let after = Timestamp::from_micros(after);
        assert_same_sends_after(model, profile, after, |channel, category| {
            ok(durable.sends_after(profile, channel, category, after))
        })?;
    }
    Ok(())
}

/// `answer(channel, category)` equals the model's `sends_after` for every
/// channel (and any channel) and category, after `after`.
pub fn assert_same_sends_after(
    model: &MemoryHistory,
    profile: &str,
    after: Timestamp,
    answer: impl Fn(Option<&str>, Category) -> Result<u32, TestCaseError>,
) -> Result<(), TestCaseError> {
    for category in CATEGORIES {
        for channel in CHANNELS.iter().copied().map(Some).chain([None]) {
            prop_assert_eq!(
                answer(channel, category)?,
                ok(model.sends_after(profile, channel, category, after))?,
                "sends_after({:?}, {:?}, {:?}, {:?})",
                profile,
                channel,
                category,
                after
            );
        }
    }
    Ok(())
}

/// Every answer of `snapshot` equals that of `model` about its profile, for
/// the windows of [`windows`]`(edges)` whose `after` is at least `cut`.
pub fn assert_same_snapshot(
    snapshot: &ProfileSnapshot,
    model: &MemoryHistory,
    edges: &[Record],
    cut: i64,
) -> Result<(), TestCaseError> {
    let profile = snapshot.profile();
    for journey in JOURNEYS {
        let expected = ok(model.journey(profile, journey))?;
        prop_assert_eq!(
            snapshot.journey(journey),
            expected,
            "journey({:?})",
            journey
        );
    }
    for action in ACTIONS {
        let expected = ok(model.sends_of(profile, action))?;
        prop_assert_eq!(
            snapshot.sends_of(action),
            expected,
            "sends_of({:?})",
            action
        );
    }
    for after in windows(edges).into_iter().filter(|a| *a >= cut) {
        let after = Timestamp::from_micros(after);
        // A cap's count in one call.
        let channel_sets: [&[&str]; 5] = [
            &[],
            &["email"],
            &["email", "push"],
            &["sms", "email", "sms"],
            &CHANNELS,
        ];
        for channels in channel_sets {
            let channels: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
            for category in [
                None,
                Some(Category::Marketing),
                Some(Category::Transactional),
            ] {
                let mut expected = 0;
                let all = [Category::Marketing, Category::Transactional];
                for k in all.iter().filter(|k| category.is_none_or(|c| c == **k)) {
                    let mut seen: Vec<&str> = Vec::new();
                    for channel in &channels {
                        if !seen.contains(&channel.as_str()) {
                            seen.push(channel);
                            expected += ok(model.sends_after(profile, Some(channel), *k, after))?;
                        }
                    }
                    if channels.is_empty() {
                        expected += ok(model.sends_after(profile, None, *k, after))?;
                    }
                }
                prop_assert_eq!(
                    snapshot.sends_in_window(&channels, category, after),
                    expected,
                    "sends_in_window({:?}, {:?}, {:?}, {:?})",
                    profile,
                    channels,
                    category,
                    after
                );
            }
        }
        assert_same_sends_after(model, profile, after, |channel, category| {
            Ok(snapshot.sends_after(channel, category, after))
        })?;
    }
    Ok(())
}
