//! The guards of SPEC §5 step 3, in order: validity, holdout, consent,
//! cooldown, `max_sends`, frequency caps, quiet hours.
//!
//! A [`Situation`] is one profile at one instant: what several candidates of
//! one decision ask alike (the global holdout bucket, the profile's time
//! zone, each cap's count in the history) is worked out once, on first use.

use std::cell::OnceCell;

use chrono_tz::Tz;

use super::{Decision, Reason, quiet};
use crate::hash::Salted;
use crate::history::ProfileSnapshot;
use crate::profile::Profile;
use crate::rules::{Action, Category, FrequencyCap, QuietHoursPolicy, RuleSet};
use crate::value::{Timestamp, Value};

/// The end of a guard: pass, or the reason and its figures.
pub(super) type Verdict = Result<(), (Reason, Vec<(&'static str, Value)>)>;

/// What the guards need to know about one action, resolved once when the
/// engine is built rather than by name at every decision.
#[derive(Debug)]
pub(super) struct Plan {
    /// Its channel's consent rule: an index into `consent.channels`.
    consent: Option<usize>,
    /// The caps that count it: indices into `caps`.
    caps: Vec<usize>,
    /// Actions of one class (same consent rule, category, caps and quiet
    /// hours policy) are blocked alike by the guards that look at the
    /// profile as a whole: worked out once per class and decision.
    class: usize,
    /// Its validity window, both ends included (open ends as the extremes).
    valid: (Timestamp, Timestamp),
    /// A marketing action: holdouts, caps and quiet hours apply to it.
    marketing: bool,
    /// Its own holdout: the percentage, and its id as the bucket's salt.
    holdout: Option<(u8, Salted)>,
}

impl Plan {
    /// A plan with neither consent rule nor cap.
    pub const fn none() -> Plan {
        Plan {
            consent: None,
            caps: Vec::new(),
            class: 0,
            valid: (
                Timestamp::from_micros(i64::MIN),
                Timestamp::from_micros(i64::MAX),
            ),
            marketing: false,
            holdout: None,
        }
    }

    /// One plan per action of `rules`, in order.
    pub fn all(rules: &RuleSet) -> Vec<Plan> {
        let channels = &rules.consent.channels;
        let mut classes = Vec::new();
        rules
            .actions
            .iter()
            .map(|action| {
                let consent = channels.iter().position(|c| c.channel == action.channel);
                let caps: Vec<usize> = (rules.caps.iter().enumerate())
                    .filter(|(_, cap)| counts(cap, &action.channel, action.category))
                    .map(|(index, _)| index)
                    .collect();
                let key = (consent, action.category, caps.clone(), action.quiet_hours);
                let class = match classes.iter().position(|k| *k == key) {
                    Some(class) => class,
                    None => {
                        classes.push(key);
                        classes.len() - 1
                    }
                };
                Plan {
                    consent,
                    caps,
                    class,
                    valid: (
                        action
                            .valid_from
                            .unwrap_or(Timestamp::from_micros(i64::MIN)),
                        action
                            .valid_until
                            .unwrap_or(Timestamp::from_micros(i64::MAX)),
                    ),
                    marketing: action.category == Category::Marketing,
                    holdout: (action.holdout_percent).map(|p| (p, Salted::new(&action.id))),
                }
            })
            .collect()
    }

    /// The actions of `rules` that have a trigger, by the class of their
    /// plan.
    pub fn classes(rules: &RuleSet, plans: &[Plan]) -> Vec<Class> {
        let mut classes: Vec<Class> = Vec::new();
        let triggered = (rules.actions.iter().zip(plans).enumerate())
            .filter(|(_, (action, _))| action.trigger.is_some());
        for (index, (_, plan)) in triggered {
            if classes.len() <= plan.class {
                classes.resize_with(plan.class + 1, Class::default);
            }
            if let Some(class) = classes.get_mut(plan.class) {
                class.members.push(index);
                if plan.marketing && plan.holdout.is_some() {
                    class.own_holdouts.push(index);
                }
            }
        }
        classes
    }
}

/// The actions with a trigger in one class, in file order: what the
/// guards that look at the profile as a whole block or pass together.
#[derive(Debug, Default)]
pub(super) struct Class {
    members: Vec<usize>,
    /// The marketing members with a holdout of their own.
    own_holdouts: Vec<usize>,
}

/// What the history holds about one action for the profile.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sent {
    /// Times sent, ever.
    pub count: u32,
    /// The last send, decided at.
    pub last: Option<Timestamp>,
}

/// One profile at one instant, with what the decision's candidates share.
pub(super) struct Situation<'a> {
    rules: &'a RuleSet,
    /// Whether the figures behind a block are wanted.
    explain: bool,
    profile: &'a Profile,
    history: &'a ProfileSnapshot,
    now: Timestamp,
    global_bucket: OnceCell<i64>,
    /// The profile's zone, where the rules have quiet hours.
    zone: Option<Tz>,
    /// The end of the quiet period the profile is in now, if it is.
    quiet_until: OnceCell<Option<Timestamp>>,
    /// Per cap: the sends in its window already in the history.
    cap_counts: Cells<u32, 8>,
}

/// Cells worked out once per decision: on the stack for the usual handful,
/// so that a decision does not allocate for them.
enum Cells<T, const N: usize> {
    Inline([OnceCell<T>; N]),
    Heap(Vec<OnceCell<T>>),
}

impl<T, const N: usize> Cells<T, N> {
    fn new(len: usize) -> Self {
        if len <= N {
            Cells::Inline(std::array::from_fn(|_| OnceCell::new()))
        } else {
            Cells::Heap((0..len).map(|_| OnceCell::new()).collect())
        }
    }

    fn get(&self, index: usize) -> Option<&OnceCell<T>> {
        match self {
            Cells::Inline(cells) => cells.get(index),
            Cells::Heap(cells) => cells.get(index),
        }
    }
}

impl<'a> Situation<'a> {
    pub fn new(
        rules: &'a RuleSet,
        profile: &'a Profile,
        history: &'a ProfileSnapshot,
        now: Timestamp,
        explain: bool,
        zone: Option<Tz>,
    ) -> Self {
        Situation {
            rules,
            explain,
            profile,
            history,
            now,
            global_bucket: OnceCell::new(),
            zone,
            quiet_until: OnceCell::new(),
            cap_counts: Cells::new(rules.caps.len()),
        }
    }

    pub fn profile(&self) -> &'a Profile {
        self.profile
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// A block for `reason`, with its figures when explaining (building
    /// them allocates, and most blocks are never reported).
    pub fn block(
        &self,
        reason: Reason,
        detail: impl FnOnce() -> Vec<(&'static str, Value)>,
    ) -> (Reason, Vec<(&'static str, Value)>) {
        (reason, if self.explain { detail() } else { Vec::new() })
    }

    /// What the history holds about `action`: one lookup.
    pub fn sent(&self, action: &Action) -> Sent {
        let (count, last) = self.history.sends_of(&action.id);
        Sent { count, last }
    }

    /// Every guard, in order; the first that blocks wins. `sent` reads the
    /// history at most once, and only when a guard needs it.
    ///
    /// With `any_block`, the caller only needs to know whether something
    /// blocks past the holdout, not what: the guards after consent then run
    /// cheapest first (the caps and quiet hours are worked out once per
    /// decision; cooldown and `max_sends` read the history).
    pub fn check(
        &self,
        action: &Action,
        plan: &Plan,
        sent: &OnceCell<Sent>,
        decision: &Decision,
        any_block: bool,
    ) -> Verdict {
        self.validity(action, plan)?;
        if plan.marketing {
            self.holdout(action, plan)?;
        }
        self.consent(action, plan)?;
        let sent = || *sent.get_or_init(|| self.sent(action));
        if any_block {
            self.rate(action, plan, decision)?;
            self.cooldown(action, sent())?;
            self.max_sends(action, sent())
        } else {
            self.cooldown(action, sent())?;
            self.max_sends(action, sent())?;
            self.rate(action, plan, decision)
        }
    }

    /// The frequency caps, then quiet hours where the action drops.
    fn rate(&self, action: &Action, plan: &Plan, decision: &Decision) -> Verdict {
        if action.category == Category::Marketing {
            self.caps(plan, decision)?;
            if action.quiet_hours == QuietHoursPolicy::Drop
                && let Some(until) = self.quiet_until()
            {
                return Err(self.block(Reason::QuietHours, || vec![("until", until.into())]));
            }
        }
        Ok(())
    }

    /// The members of `class` that may become candidates when not
    /// explaining, and whether the class is blocked. A guard of the profile
    /// as a whole (consent, a cap the history alone fills, quiet hours it
    /// drops in) blocks the whole class whatever the triggers: only members
    /// the profile is held out of can then leave a trace (a held-out
    /// record), so only they are offered. Each still goes through
    /// [`Situation::may_yield`].
    #[inline(always)] // once per class of every decision: no frame of its own
    pub fn open_members<'c>(
        &self,
        class: &'c Class,
        rules: &RuleSet,
        plans: &[Plan],
    ) -> (&'c [usize], bool) {
        let Some(&first) = class.members.first() else {
            return (&[], false);
        };
        let (Some(action), Some(plan)) = (rules.actions.get(first), plans.get(first)) else {
            return (&class.members, false);
        };
        // Each class is walked once per decision: nothing to remember.
        let blocked = self.class_blocked(action, plan);
        let held_out_globally = plan.marketing && self.global_holdout().is_some();
        match (blocked, held_out_globally) {
            (true, false) => (&class.own_holdouts, true),
            _ => (&class.members, blocked),
        }
    }

    /// Whether an action of `plan` offered by [`Situation::open_members`]
    /// is worth its trigger: valid now, and held out if its class is
    /// blocked. Cooldown and `max_sends` are left to the candidates: they
    /// read the history per action.
    pub fn may_yield(&self, plan: &Plan, class_blocked: bool) -> bool {
        self.is_valid(plan) && (!class_blocked || self.is_held_out(plan))
    }

    /// Whether consent, a cap the history fills or quiet hours block the
    /// class of `action` (all its actions alike).
    #[inline(always)] // its one caller is `open_members`
    fn class_blocked(&self, action: &Action, plan: &Plan) -> bool {
        if self.consent(action, plan).is_err() {
            return true;
        }
        action.category == Category::Marketing && {
            let full = plan.caps.iter().any(|index| {
                self.stored_count(*index)
                    .is_some_and(|(cap, stored)| stored >= cap.max)
            });
            full || (action.quiet_hours == QuietHoursPolicy::Drop && self.quiet_until().is_some())
        }
    }

    /// The guards up to the holdout, for a candidate that cannot win.
    pub fn holdout_only(&self, action: &Action, plan: &Plan) -> Verdict {
        self.validity(action, plan)?;
        if plan.marketing {
            self.holdout(action, plan)?;
        }
        Ok(())
    }

    /// When an emitted action goes out: deferred past quiet hours if it says so.
    pub fn send_at(&self, action: &Action) -> Timestamp {
        let defers =
            action.category == Category::Marketing && action.quiet_hours == QuietHoursPolicy::Defer;
        defers
            .then(|| self.quiet_until())
            .flatten()
            .unwrap_or(self.now)
    }

    /// Whether `now` lies in the action's validity window.
    fn is_valid(&self, plan: &Plan) -> bool {
        let (from, until) = plan.valid;
        from <= self.now && self.now <= until
    }

    fn validity(&self, action: &Action, plan: &Plan) -> Verdict {
        if self.is_valid(plan) {
            return Ok(());
        }
        if let Some(from) = action.valid_from.filter(|from| self.now < *from) {
            return Err(self.block(Reason::NotYetValid, || vec![("valid_from", from.into())]));
        }
        let until = action.valid_until.unwrap_or(self.now);
        Err(self.block(Reason::Expired, || vec![("valid_until", until.into())]))
    }

    /// Whether a marketing action is held out: by the global holdout or
    /// its own.
    fn is_held_out(&self, plan: &Plan) -> bool {
        plan.marketing && (self.global_holdout().is_some() || self.own_holdout(plan).is_some())
    }

    fn holdout(&self, action: &Action, plan: &Plan) -> Verdict {
        if let Some((bucket, percent)) = self.global_holdout() {
            return Err(self.block(Reason::Holdout, || {
                held_out("global".into(), bucket, percent)
            }));
        }
        if let Some((bucket, percent)) = self.own_holdout(plan) {
            return Err(self.block(Reason::Holdout, || {
                held_out(action.id.as_str().into(), bucket, percent)
            }));
        }
        Ok(())
    }

    /// The profile's bucket and the percentage, if the global holdout
    /// holds it.
    fn global_holdout(&self) -> Option<(i64, u8)> {
        let holdout = self.rules.holdout.as_ref()?;
        let bucket = *self
            .global_bucket
            .get_or_init(|| crate::hash::bucket(self.profile.id(), &holdout.salt));
        (bucket < i64::from(holdout.percent)).then_some((bucket, holdout.percent))
    }

    /// The profile's bucket and the percentage, if the action's own
    /// holdout holds it.
    fn own_holdout(&self, plan: &Plan) -> Option<(i64, u8)> {
        let (percent, salt) = plan.holdout?;
        let bucket = salt.bucket(self.profile.id());
        (bucket < i64::from(percent)).then_some((bucket, percent))
    }

    fn consent(&self, action: &Action, plan: &Plan) -> Verdict {
        let consent = &self.rules.consent;
        let marketing = action.category == Category::Marketing;
        let profile = self.profile;
        if let (true, Some(unsubscribed)) = (marketing, &consent.unsubscribed)
            && profile.bool_slot(unsubscribed.slot) == Some(true)
        {
            return Err(self.block(Reason::Unsubscribed, || {
                vec![("trait", unsubscribed.name.as_str().into())]
            }));
        }
        let Some(rule) = plan.consent.and_then(|index| consent.channels.get(index)) else {
            return Ok(());
        };
        let channel = || ("channel", Value::from(action.channel.as_str()));
        match profile.bool_slot(rule.opt_in.slot) {
            Some(true) => {}
            // An explicit opt-out binds every action; a missing opt-in only marketing.
            Some(false) => return Err(self.block(Reason::NoConsent, || vec![channel()])),
            None if marketing => return Err(self.block(Reason::NoConsent, || vec![channel()])),
            None => return Ok(()),
        }
        if let (true, Some(expires)) = (marketing, &rule.expires)
            && let Some(until) = profile.timestamp_slot(expires.slot)
            && until <= self.now
        {
            return Err(self.block(Reason::ConsentExpired, || {
                vec![channel(), ("expired_at", until.into())]
            }));
        }
        Ok(())
    }

    fn max_sends(&self, action: &Action, sent: Sent) -> Verdict {
        let Some(max) = action.max_sends else {
            return Ok(());
        };
        if sent.count >= max {
            return Err(self.block(Reason::MaxSends, || {
                vec![
                    ("count", i64::from(sent.count).into()),
                    ("max", i64::from(max).into()),
                ]
            }));
        }
        Ok(())
    }

    fn cooldown(&self, action: &Action, sent: Sent) -> Verdict {
        let (Some(cooldown), Some(last)) = (action.cooldown, sent.last) else {
            return Ok(());
        };
        // A cooldown that ends exactly now has ended.
        let until = last
            .checked_add(cooldown)
            .unwrap_or(Timestamp::from_micros(i64::MAX));
        if self.now < until {
            return Err(self.block(Reason::Cooldown, || {
                vec![("until", until.into()), ("last_sent", last.into())]
            }));
        }
        Ok(())
    }

    /// Every cap that counts the action, with the sends already in its
    /// window and those chosen earlier in this decision.
    fn caps(&self, plan: &Plan, decision: &Decision) -> Verdict {
        for index in &plan.caps {
            let Some((cap, stored)) = self.stored_count(*index) else {
                continue;
            };
            let chosen = decision
                .emissions
                .iter()
                .filter(|e| counts(cap, &e.channel, e.category))
                .count();
            let count = stored.saturating_add(u32::try_from(chosen).unwrap_or(u32::MAX));
            if count >= cap.max {
                return Err(self.block(Reason::FrequencyCap, || {
                    vec![
                        ("cap", cap.name.as_str().into()),
                        ("count", i64::from(count).into()),
                        ("max", i64::from(cap.max).into()),
                    ]
                }));
            }
        }
        Ok(())
    }

    /// The cap at `index` and the history's sends in its window, read once
    /// per decision.
    fn stored_count(&self, index: usize) -> Option<(&'a FrequencyCap, u32)> {
        let cap = self.rules.caps.get(index)?;
        let stored = self.cap_counts.get(index)?;
        Some((cap, *stored.get_or_init(|| self.stored_sends(cap))))
    }

    /// The history's sends inside `cap`'s window, ending now.
    fn stored_sends(&self, cap: &FrequencyCap) -> u32 {
        let after =
            Timestamp::from_micros(self.now.as_micros().saturating_sub(cap.per.as_micros()));
        self.history
            .sends_in_window(&cap.channels, cap.category, after)
    }

    /// The end of the quiet period at `now` in the profile's zone, if quiet:
    /// worked out once per decision.
    fn quiet_until(&self) -> Option<Timestamp> {
        *self.quiet_until.get_or_init(|| {
            let quiet = self.rules.quiet_hours.as_ref()?;
            let zone = self.zone.unwrap_or(quiet.default_timezone);
            quiet::quiet_until(self.now, zone, quiet.start, quiet.end)
        })
    }
}

/// Whether `cap` counts a send on `channel` in `category`.
fn counts(cap: &FrequencyCap, channel: &str, category: Category) -> bool {
    let channel_counts = cap.channels.is_empty() || cap.channels.iter().any(|c| c == channel);
    channel_counts && cap.category.is_none_or(|c| c == category)
}

fn held_out(group: Value, bucket: i64, percent: u8) -> Vec<(&'static str, Value)> {
    vec![
        ("group", group),
        ("bucket", bucket.into()),
        ("percent", i64::from(percent).into()),
    ]
}
