//! Journeys (SPEC §5, step 1): for one journey and one profile at one
//! instant, whether the profile exits, which stages went overdue, which stage
//! is due, and whether it enters.
//!
//! A journey's stages are its steps in order, then its fallback. A profile's
//! [`JourneyState`] counts the stages done (sent, held out or skipped); the
//! next one is due once `entered_at + after ≤ now`. A stage that was offered
//! and blocked (a cooldown, a cap…) is retried until the stage after it falls
//! due; then it is overdue: skipped, so that a customer never gets day 1's
//! message on day 7 next to day 7's. A stage never offered is offered first,
//! however late. A profile whose exit condition already holds does not enter.

use super::Reason;
use crate::history::{JourneyState, JourneyStatus};
use crate::profile::Profile;
use crate::rules::{Journey, Reentry};
use crate::trigger::EvalError;
use crate::value::Timestamp;

/// A stage that is due: a candidate's place in its journey.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stage<'r> {
    pub journey: &'r Journey,
    /// 0-based; the fallback is the stage after the last step.
    pub index: u32,
    /// The profile's state in the journey, this stage not done.
    pub state: JourneyState,
}

impl Stage<'_> {
    /// The step number as printed and recorded: 1-based.
    pub fn number(&self) -> u32 {
        self.index.saturating_add(1)
    }

    /// What its idempotency key depends on: (journey, step, enrolment).
    pub fn key(&self) -> (&str, u32, u32) {
        (&self.journey.id, self.number(), self.state.enrolment)
    }

    /// The profile's new state once this stage was offered at `now` and
    /// went out (`blocked` is `None`) or was stopped for `blocked`: done if
    /// sent, held out or skipped at once, else marked for a retry. `None`
    /// when the state does not change (a retry already marked).
    pub fn after(&self, blocked: Option<Reason>, now: Timestamp) -> Option<JourneyState> {
        match blocked {
            Some(reason) if !settles(reason) => (!self.state.tried).then_some(JourneyState {
                tried: true,
                ..self.state
            }),
            _ => Some(advance(self.journey, self.state, now)),
        }
    }
}

/// Whether a stage stopped for `reason` is done with: held out (recorded as
/// such), or blocked by what would still block it before the next stage
/// (consent, `max_sends`, the end of its validity), so skipped at once.
/// Timing blocks (cooldown, caps, quiet hours, ranking, validity not begun,
/// `suppress_if`) are retried.
pub(super) const fn settles(reason: Reason) -> bool {
    matches!(reason, Reason::Holdout) || skips_at_once(reason)
}

/// Whether a stage stopped for `reason` is skipped at once (not held out).
pub(super) const fn skips_at_once(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::Unsubscribed
            | Reason::NoConsent
            | Reason::ConsentExpired
            | Reason::MaxSends
            | Reason::Expired
    )
}

/// What one journey does for a profile at one instant.
#[derive(Debug, Default)]
pub(super) struct Progress<'r> {
    /// The profile's new state, if it changed.
    pub update: Option<JourneyState>,
    /// Stages that went overdue, in order: (1-based number, enrolment).
    pub overdue: Vec<(u32, u32)>,
    /// The stage that is due now, if any.
    pub due: Option<Stage<'r>>,
}

/// Where `journey` goes for `profile` at `now`, from its `state` there.
///
/// # Errors
/// [`EvalError`] from the entry or exit condition.
pub(super) fn progress<'r>(
    journey: &'r Journey,
    state: Option<JourneyState>,
    profile: &Profile,
    now: Timestamp,
) -> Result<Progress<'r>, EvalError> {
    let mut progress = Progress::default();
    match state {
        Some(state) if state.status == JourneyStatus::Active => {
            if exits(journey, state, profile, now)? {
                progress.update = Some(JourneyState {
                    status: JourneyStatus::Exited(now),
                    ..state
                });
                return Ok(progress);
            }
            let mut state = state;
            while overdue(journey, state, now) {
                progress
                    .overdue
                    .push((state.done.saturating_add(1), state.enrolment));
                state = advance(journey, state, now);
            }
            if !progress.overdue.is_empty() {
                progress.update = Some(state);
            }
            if state.done >= journey.stage_count() {
                // The rules lost stages since the profile entered.
                progress.update = Some(completed(state, now));
            }
            progress.due = due(journey, state, now);
        }
        state => {
            if may_enter(journey, state, now) && journey.entry.matches(profile, now)? {
                let enrolment = state.map_or(1, |s| s.enrolment.saturating_add(1));
                let entered = JourneyState::entered(now, enrolment);
                if exits(journey, entered, profile, now)? {
                    // Already out: entering would send the first step to a
                    // customer the journey is meant to leave alone.
                    return Ok(progress);
                }
                progress.update = Some(if journey.stage_count() == 0 {
                    completed(entered, now)
                } else {
                    entered
                });
                progress.due = due(journey, entered, now);
            }
        }
    }
    Ok(progress)
}

/// Whether the journey's exit condition holds for an enrolled profile.
fn exits(
    journey: &Journey,
    state: JourneyState,
    profile: &Profile,
    now: Timestamp,
) -> Result<bool, EvalError> {
    let Some(exit) = &journey.exit else {
        return Ok(false);
    };
    Ok(exit
        .evaluate_in_journey(profile, now, state.entered_at)?
        .is_true())
}

/// Whether the re-entry rule lets a profile in (again) at `now`.
fn may_enter(journey: &Journey, state: Option<JourneyState>, now: Timestamp) -> bool {
    let Some(state) = state else {
        return true;
    };
    match (journey.reentry, state.left_at()) {
        (Reentry::After(wait), Some(left)) => left.checked_add(wait).is_some_and(|at| at <= now),
        _ => false,
    }
}

/// When the stage at `index` falls due.
fn due_at(journey: &Journey, state: JourneyState, index: u32) -> Option<Timestamp> {
    let step = journey.stage(index)?;
    Some(
        state
            .entered_at
            .checked_add(step.after)
            .unwrap_or(Timestamp::from_micros(i64::MAX)),
    )
}

/// The next stage, if it is due at `now`.
fn due(journey: &Journey, state: JourneyState, now: Timestamp) -> Option<Stage<'_>> {
    let at = due_at(journey, state, state.done)?;
    (at <= now).then_some(Stage {
        journey,
        index: state.done,
        state,
    })
}

/// Whether the next stage was offered and blocked and the stage after it is
/// due already. A stage never offered (decisions run less often than the
/// steps fall due, or two steps share an `after`) is offered first.
fn overdue(journey: &Journey, state: JourneyState, now: Timestamp) -> bool {
    state.tried
        && due_at(journey, state, state.done.saturating_add(1)).is_some_and(|after| after <= now)
}

/// One more stage done; the journey completes with its last.
fn advance(journey: &Journey, state: JourneyState, now: Timestamp) -> JourneyState {
    let state = JourneyState {
        done: state.done.saturating_add(1),
        tried: false,
        ..state
    };
    if state.done >= journey.stage_count() {
        completed(state, now)
    } else {
        state
    }
}

fn completed(state: JourneyState, now: Timestamp) -> JourneyState {
    JourneyState {
        status: JourneyStatus::Completed(now),
        ..state
    }
}
