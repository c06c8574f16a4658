//! What one decision reads of one profile's history, read at once into
//! memory: any store fills one ([`History::snapshot`](super::History::snapshot)),
//! and the engine decides from it without asking the store again, so a
//! decision is pure once its snapshot is read and a store's read can fail
//! only before it.

use crate::Id;

use super::{JourneyState, LastDecision};
use crate::rules::Category;
use crate::value::Timestamp;

/// One profile's history as one decision reads it: per action, how many
/// times it was sent and when last; the sends decided after
/// [`since`](ProfileSnapshot::since) (the start of the longest rolling cap
/// window); the profile's journey states; and its last decision, for
/// replays (SPEC §5 item 7).
///
/// A store fills one with the setters; the engine only reads it. A custom
/// store, here one that keeps its sends in a plain list:
///
/// ```
/// use nextbest::history::{LastDecision, ProfileSnapshot};
/// use nextbest::rules::Category;
/// use nextbest::Timestamp;
/// let t = |s: &str| Timestamp::parse(s).unwrap();
/// // (action, channel, decided at): what the store holds for `c-1`.
/// let sends = [("nudge", "email", t("2026-11-20T09:00:00Z")),
///              ("nudge", "email", t("2026-11-23T09:00:00Z"))];
/// let since = t("2026-11-17T09:00:00Z");
/// let mut snapshot = ProfileSnapshot::new("c-1", since);
/// snapshot.set_sends_of("nudge", 2, t("2026-11-23T09:00:00Z"));
/// for (_, channel, at) in sends {
///     snapshot.add_send(at, channel, Category::Marketing);
/// }
/// snapshot.set_last_decided_at(t("2026-11-23T09:00:00Z"));
///
/// assert_eq!(snapshot.sends_of("nudge"), (2, Some(t("2026-11-23T09:00:00Z"))));
/// let window = t("2026-11-21T09:00:00Z");
/// assert_eq!(snapshot.sends_after(Some("email"), Category::Marketing, window), 1);
/// assert_eq!(snapshot.last_decided_at(), Some(t("2026-11-23T09:00:00Z")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSnapshot {
    profile: Id,
    since: Timestamp,
    /// Per action sent: (action, times sent, last send decided at).
    actions: Vec<(Id, u32, Timestamp)>,
    /// The sends decided after `since` as (decided at, channel, category),
    /// ascending in time, in recording order at the same instant.
    sends: Vec<(Timestamp, Id, Category)>,
    journeys: Vec<(Id, JourneyState)>,
    last_at: Option<Timestamp>,
    /// The last decision with its sends, where the store read them.
    last: Option<LastDecision>,
}

/// What a decision was based on: the profile and the instant of its last
/// decision when its snapshot was read. Every recorded decision moves that
/// instant forward (a decision not later than it replays and records
/// nothing), so a store that finds it changed at commit knows another
/// writer decided for the profile in between: see
/// [`History::commit`](super::History::commit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Basis {
    /// The profile.
    pub profile: Id,
    /// The instant of its last decision then (`None`: never decided).
    pub last_decided_at: Option<Timestamp>,
}

impl Basis {
    /// `profile`, last decided at `last_decided_at` (`None`: never).
    pub fn new(profile: impl Into<Id>, last_decided_at: Option<Timestamp>) -> Basis {
        Basis {
            profile: profile.into(),
            last_decided_at,
        }
    }
}

impl ProfileSnapshot {
    /// An empty snapshot of `profile` whose sends are those decided after
    /// `since` (exclusive).
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::Timestamp;
    /// let snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// assert_eq!(snapshot.profile(), "c-1");
    /// assert_eq!(snapshot.last_decided_at(), None);
    /// ```
    pub fn new(profile: &str, since: Timestamp) -> ProfileSnapshot {
        ProfileSnapshot {
            profile: profile.into(),
            since,
            actions: Vec::new(),
            sends: Vec::new(),
            journeys: Vec::new(),
            last_at: None,
            last: None,
        }
    }

    /// The profile.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The sends it holds are those decided after this instant.
    pub fn since(&self) -> Timestamp {
        self.since
    }

    /// What a decision from it is based on.
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::Timestamp;
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// snapshot.set_last_decided_at(Timestamp::from_micros(5));
    /// assert_eq!(snapshot.basis().last_decided_at, Some(Timestamp::from_micros(5)));
    /// ```
    pub fn basis(&self) -> Basis {
        Basis {
            profile: self.profile.clone(),
            last_decided_at: self.last_at,
        }
    }

    /// Sets the counters of `action`: sent `count` times, the last decided
    /// at `last`.
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::Timestamp;
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// snapshot.set_sends_of("nudge", 3, Timestamp::from_micros(9));
    /// assert_eq!(snapshot.sends_of("nudge"), (3, Some(Timestamp::from_micros(9))));
    /// assert_eq!(snapshot.sends_of("other"), (0, None));
    /// ```
    pub fn set_sends_of(&mut self, action: &str, count: u32, last: Timestamp) {
        match self.actions.iter_mut().find(|(a, ..)| a == action) {
            Some(entry) => *entry = (action.into(), count, last),
            None => self.actions.push((action.into(), count, last)),
        }
    }

    /// Adds a send decided at `at`, for the rolling-cap counts, after any
    /// other at the same instant; one decided at or before
    /// [`since`](ProfileSnapshot::since) is left out.
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::rules::Category;
    /// use nextbest::Timestamp;
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(10));
    /// snapshot.add_send(Timestamp::from_micros(5), "email", Category::Marketing);
    /// snapshot.add_send(Timestamp::from_micros(15), "email", Category::Marketing);
    /// let all = Timestamp::from_micros(10);
    /// assert_eq!(snapshot.sends_after(None, Category::Marketing, all), 1);
    /// ```
    pub fn add_send(&mut self, at: Timestamp, channel: &str, category: Category) {
        if at <= self.since {
            return;
        }
        let place = self.sends.partition_point(|(t, ..)| *t <= at);
        self.sends.insert(place, (at, channel.into(), category));
    }

    /// Sets where the profile stands in `journey`.
    ///
    /// ```
    /// use nextbest::history::{JourneyState, ProfileSnapshot};
    /// use nextbest::Timestamp;
    /// let at = Timestamp::from_micros(0);
    /// let mut snapshot = ProfileSnapshot::new("c-1", at);
    /// snapshot.set_journey("rescue", JourneyState::entered(at, 1));
    /// assert_eq!(snapshot.journey("rescue"), Some(JourneyState::entered(at, 1)));
    /// ```
    pub fn set_journey(&mut self, journey: &str, state: JourneyState) {
        match self.journeys.iter_mut().find(|(j, _)| j == journey) {
            Some(entry) => entry.1 = state,
            None => self.journeys.push((journey.into(), state)),
        }
    }

    /// Sets the instant of the profile's last decision (the later of this
    /// and any set before wins). A store sets its sends too, with
    /// [`set_last_decision`](ProfileSnapshot::set_last_decision), when a
    /// decision at that instant may be asked (see
    /// [`History::snapshot`](super::History::snapshot)).
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::Timestamp;
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// snapshot.set_last_decided_at(Timestamp::from_micros(7));
    /// snapshot.set_last_decided_at(Timestamp::from_micros(3));
    /// assert_eq!(snapshot.last_decided_at(), Some(Timestamp::from_micros(7)));
    /// ```
    pub fn set_last_decided_at(&mut self, at: Timestamp) {
        self.last_at = self.last_at.max(Some(at));
    }

    /// Sets the profile's last decision with its sends: what a decision at
    /// its instant replays.
    ///
    /// ```
    /// use nextbest::history::{LastDecision, ProfileSnapshot};
    /// use nextbest::Timestamp;
    /// let at = Timestamp::from_micros(7);
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// snapshot.set_last_decision(LastDecision::new(at, Vec::new()));
    /// assert_eq!(snapshot.last_decided_at(), Some(at));
    /// assert_eq!(snapshot.last_decision().map(|last| last.at), Some(at));
    /// ```
    pub fn set_last_decision(&mut self, last: LastDecision) {
        self.set_last_decided_at(last.at);
        self.last = Some(last);
    }

    /// How many times `action` was sent, and when last.
    pub fn sends_of(&self, action: &str) -> (u32, Option<Timestamp>) {
        (self.actions.iter())
            .find(|(a, ..)| a == action)
            .map_or((0, None), |(_, count, last)| (*count, Some(*last)))
    }

    /// How many sends in `category` were decided after `after` (exclusive),
    /// on `channel` or on any channel when it is `None`: exact for every
    /// `after` not earlier than [`since`](ProfileSnapshot::since).
    pub fn sends_after(&self, channel: Option<&str>, category: Category, after: Timestamp) -> u32 {
        self.count_after(after, |c, k| {
            k == category && channel.is_none_or(|wanted| c == wanted)
        })
    }

    /// How many sends were decided after `after` (exclusive) on any of
    /// `channels` (every channel when empty) in `category` (every category
    /// when `None`): a rolling cap's count.
    ///
    /// ```
    /// use nextbest::history::ProfileSnapshot;
    /// use nextbest::rules::Category;
    /// use nextbest::Timestamp;
    /// let mut snapshot = ProfileSnapshot::new("c-1", Timestamp::from_micros(0));
    /// snapshot.add_send(Timestamp::from_micros(5), "email", Category::Marketing);
    /// snapshot.add_send(Timestamp::from_micros(6), "sms", Category::Transactional);
    /// let after = Timestamp::from_micros(0);
    /// assert_eq!(snapshot.sends_in_window(&[], None, after), 2);
    /// assert_eq!(snapshot.sends_in_window(&["sms".into()], Some(Category::Marketing), after), 0);
    /// ```
    pub fn sends_in_window(
        &self,
        channels: &[String],
        category: Option<Category>,
        after: Timestamp,
    ) -> u32 {
        self.count_after(after, |c, k| {
            category.is_none_or(|wanted| k == wanted)
                && (channels.is_empty() || channels.iter().any(|wanted| wanted == c))
        })
    }

    /// Where the profile stands in `journey`: `None` if it never entered it.
    pub fn journey(&self, journey: &str) -> Option<JourneyState> {
        (self.journeys.iter())
            .find(|(j, _)| j == journey)
            .map(|(_, state)| *state)
    }

    /// The instant of the profile's last decision, `None` if it has none.
    pub fn last_decided_at(&self) -> Option<Timestamp> {
        self.last_at
    }

    /// The profile's last decision with its sends, if the store read them.
    pub fn last_decision(&self) -> Option<&LastDecision> {
        self.last.as_ref()
    }

    /// A binary search for the window's start, then only the sends inside
    /// it (a handful: that is what a cap limits).
    fn count_after(&self, after: Timestamp, wanted: impl Fn(&str, Category) -> bool) -> u32 {
        let first = self.sends.partition_point(|(at, ..)| *at <= after);
        let inside = self.sends.get(first..).unwrap_or_default();
        let count = (inside.iter())
            .filter(|(_, channel, category)| wanted(channel, *category))
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

impl ProfileSnapshot {
    /// Lays `newer`, a snapshot of the same profile holding only decisions
    /// later than this one's, over this one: counters add up, sends join,
    /// its journey states and last decision win.
    pub(super) fn overlay(&mut self, newer: ProfileSnapshot) {
        for (action, count, last) in newer.actions {
            let (before, last_before) = self.sends_of(&action);
            let last = last_before.map_or(last, |before| before.max(last));
            self.set_sends_of(&action, before.saturating_add(count), last);
        }
        for (at, channel, category) in newer.sends {
            self.add_send(at, &channel, category);
        }
        for (journey, state) in newer.journeys {
            self.set_journey(&journey, state);
        }
        if let Some(at) = newer.last_at {
            self.set_last_decided_at(at);
        }
        if let Some(last) = newer.last {
            self.set_last_decision(last);
        }
    }
}
