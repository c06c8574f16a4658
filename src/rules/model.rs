//! The rule set as the decision engine sees it: every expression compiled,
//! every trait reference resolved to a slot, every duration and time parsed.

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::schema::Schema;
use crate::trigger::{Score, Trigger};
use crate::value::{Duration, Timestamp};

/// A loaded, validated rule set (SPEC §4).
#[derive(Debug)]
#[non_exhaustive]
pub struct RuleSet {
    /// The declared traits and events.
    pub schema: Schema,
    /// What each channel needs before anything is sent on it.
    pub consent: Consent,
    /// The quiet period in the customer's own time zone, if any.
    pub quiet_hours: Option<QuietHours>,
    /// Rolling-window frequency caps.
    pub caps: Vec<FrequencyCap>,
    /// The global control group, if any.
    pub holdout: Option<Holdout>,
    /// How many actions one decision may emit.
    pub decision: DecisionSettings,
    /// The actions, in file order.
    pub actions: Vec<Action>,
    /// The journeys, in file order.
    pub journeys: Vec<Journey>,
}

impl RuleSet {
    /// The action with this id.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// The journey with this id.
    pub fn journey(&self, id: &str) -> Option<&Journey> {
        self.journeys.iter().find(|j| j.id == id)
    }

    /// The longest look-back any rule needs into the contact history: its
    /// longest cooldown or cap window. Records older than this can be
    /// compacted away without changing a decision (counters are kept).
    pub fn longest_window(&self) -> Duration {
        let cooldowns = self.actions.iter().filter_map(|a| a.cooldown);
        let caps = self.caps.iter().map(|c| c.per);
        cooldowns.chain(caps).max().unwrap_or_default()
    }
}

/// A trait the rule set refers to, resolved to its slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeRef {
    /// The trait's name.
    pub name: String,
    /// Its slot in the schema.
    pub slot: usize,
}

/// Consent rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Consent {
    /// A bool trait: TRUE blocks every marketing action on every channel.
    pub unsubscribed: Option<AttributeRef>,
    /// The channels that need an opt-in, and what each needs.
    pub channels: Vec<ChannelConsent>,
    /// The channels declared as needing no opt-in (`in_app = {}`). Every
    /// channel an action or a cap names is in `channels` or here: a rule set
    /// naming any other does not load.
    pub open: Vec<String>,
}

impl Consent {
    /// The rule for a channel, if it has one.
    pub fn channel(&self, channel: &str) -> Option<&ChannelConsent> {
        self.channels.iter().find(|c| c.channel == channel)
    }
}

/// What one channel needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelConsent {
    /// The channel.
    pub channel: String,
    /// A bool trait that must be TRUE (NULL is no consent).
    pub opt_in: AttributeRef,
    /// A timestamp trait after which the consent lapses (NULL: never).
    pub expires: Option<AttributeRef>,
}

/// Quiet hours in the customer's own time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuietHours {
    /// Local time the quiet period starts.
    pub start: NaiveTime,
    /// Local time it ends (the next day when before `start`).
    pub end: NaiveTime,
    /// A string trait holding the customer's IANA zone.
    pub timezone: Option<AttributeRef>,
    /// The zone used when the trait is missing or not a valid zone: read
    /// it with [`default_timezone`](QuietHours::default_timezone). (The
    /// zone database's type is not part of nextbest's API.)
    pub(crate) default_timezone: Tz,
}

impl QuietHours {
    /// The IANA name of the zone used when the customer's zone trait is
    /// missing or not a valid zone (`UTC` unless the rule file names one).
    pub fn default_timezone(&self) -> &'static str {
        self.default_timezone.name()
    }
}

/// A rolling-window frequency cap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrequencyCap {
    /// The cap's name, reported when it blocks.
    pub name: String,
    /// Only actions of this category count (`None`: every category).
    pub category: Option<Category>,
    /// Only sends on these channels count (empty: every channel).
    pub channels: Vec<String>,
    /// How many sends the window allows.
    pub max: u32,
    /// The window's length.
    pub per: Duration,
}

/// The global holdout group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holdout {
    /// Percentage of profiles held out, 0–100.
    pub percent: u8,
    /// The bucketing salt.
    pub salt: String,
}

/// Decision settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionSettings {
    /// How many actions one decision may emit (default 1).
    pub max_actions: usize,
}

impl Default for DecisionSettings {
    fn default() -> Self {
        DecisionSettings { max_actions: 1 }
    }
}

/// Marketing or transactional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Category {
    /// Subject to every guard (the default).
    Marketing,
    /// Bypasses holdout, caps and quiet hours; never an explicit opt-out.
    Transactional,
}

impl Category {
    /// The name as written in rule files.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Marketing => "marketing",
            Category::Transactional => "transactional",
        }
    }

    /// The category of that [`name`](Category::name), for a store of the
    /// caller's own that keeps records by name.
    ///
    /// ```
    /// use nextbest::rules::Category;
    /// assert_eq!(Category::from_name("marketing"), Some(Category::Marketing));
    /// assert_eq!(Category::from_name("promo"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Category> {
        [Category::Marketing, Category::Transactional]
            .into_iter()
            .find(|category| category.name() == name)
    }
}

/// What an action does in quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuietHoursPolicy {
    /// Send at the end of the quiet period (the default).
    Defer,
    /// Send anyway.
    Ignore,
    /// Do not send; report `quiet_hours`.
    Drop,
}

/// How candidates are ranked.
#[derive(Debug)]
#[non_exhaustive]
pub enum Ranking {
    /// A fixed priority (default 0).
    Priority(i64),
    /// A numeric expression over the profile.
    Score(Box<Score>),
}

/// An action: what can be sent, when and how often.
#[derive(Debug)]
#[non_exhaustive]
pub struct Action {
    /// Unique id.
    pub id: String,
    /// The channel it is sent on.
    pub channel: String,
    /// Marketing or transactional.
    pub category: Category,
    /// When it is a candidate on its own (`None`: journeys only).
    pub trigger: Option<Trigger>,
    /// When it is suppressed even though triggered.
    pub suppress_if: Option<Trigger>,
    /// Priority or score.
    pub ranking: Ranking,
    /// Minimum time between two sends of this action.
    pub cooldown: Option<Duration>,
    /// Most sends per profile, ever.
    pub max_sends: Option<u32>,
    /// What quiet hours do to it.
    pub quiet_hours: QuietHoursPolicy,
    /// Not sent before this instant.
    pub valid_from: Option<Timestamp>,
    /// Not sent after this instant.
    pub valid_until: Option<Timestamp>,
    /// Its own control group, salted by its id.
    pub holdout_percent: Option<u8>,
    /// What counts as a conversion after it is sent or held out (the
    /// reports of SPEC §10); `None`: not measured.
    pub goal: Option<Goal>,
}

/// What a journey team counts as a conversion: `goal = "<expression>"` and
/// `goal_window = "7d"` on an action or a journey.
///
/// A profile contacted (sent) or held out at instant `t` — the record's
/// `send_at`, the moment it was or would have been delivered — converted
/// when the goal is TRUE at some instant `e` with `t < e ≤ t + window`,
/// where `e` is the timestamp of one of the profile's own events. The goal
/// is evaluated with `now() = e`, so it sees the events up to `e` and no
/// later (an aggregate's window counts back from `e`) and the profile's
/// traits as they are given to the report. A goal over traits alone is so
/// tested only at the instants the profile did something. Evaluated by
/// the reports (`report::Report`, `nextbest report`).
#[derive(Debug)]
#[non_exhaustive]
pub struct Goal {
    /// The expression that marks a conversion.
    pub trigger: Trigger,
    /// How long after the send or hold-out a conversion counts.
    pub window: Duration,
}

/// When a profile may enter a journey again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reentry {
    /// Never again.
    Never,
    /// This long after it exited or completed.
    After(Duration),
}

/// A step of a journey: an action, due `after` the moment of entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// Delay from entry.
    pub after: Duration,
    /// The action's id.
    pub action: String,
}

/// A multi-step journey.
#[derive(Debug)]
#[non_exhaustive]
pub struct Journey {
    /// Unique id.
    pub id: String,
    /// When a profile enters.
    pub entry: Trigger,
    /// When an enrolled profile leaves (may use `journey.entered_at`).
    pub exit: Option<Trigger>,
    /// When it may enter again.
    pub reentry: Reentry,
    /// The steps, in order of `after`.
    pub steps: Vec<Step>,
    /// Sent when the profile never exits, `after` entry.
    pub fallback: Option<Step>,
    /// What counts as a conversion after the journey's first send or
    /// hold-out (see [`Goal`]); `None`: not measured.
    pub goal: Option<Goal>,
}

impl Journey {
    /// The stage at `index` (0-based): the steps in order, then the fallback.
    pub fn stage(&self, index: u32) -> Option<&Step> {
        let index = usize::try_from(index).ok()?;
        self.steps
            .get(index)
            .or_else(|| self.fallback.as_ref().filter(|_| index == self.steps.len()))
    }

    /// How many stages it has: its steps, and its fallback if any.
    pub fn stage_count(&self) -> u32 {
        let count = self.steps.len() + usize::from(self.fallback.is_some());
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}
