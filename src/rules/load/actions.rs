//! `[[action]]` tables.

use indexmap::IndexSet;

use super::Loader;
use super::read::{FirstSeen, optional};
use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::doc::Doc;
use crate::rules::model::*;
use crate::syntax::Span;
use crate::trigger::Compiler;
use crate::value::Timestamp;

impl Loader<'_> {
    pub(super) fn actions(
        &mut self,
        doc: &Doc,
        compiler: &Compiler<'_>,
        channels: &IndexSet<&str>,
    ) -> Vec<(Action, Span)> {
        let mut actions: Vec<(Action, Span)> = Vec::new();
        let mut seen = FirstSeen::default();
        for item in self.array_of_tables(doc, "`action`") {
            if !self.first_definition("action", item, "id", &mut seen) {
                continue;
            }
            if let Some(action) = self.action(item, compiler, channels) {
                actions.push(action);
            }
        }
        actions
    }

    pub(super) fn action(
        &mut self,
        doc: &Doc,
        compiler: &Compiler<'_>,
        channels: &IndexSet<&str>,
    ) -> Option<(Action, Span)> {
        const KEYS: [&str; 16] = [
            "id",
            "channel",
            "category",
            "trigger",
            "suppress_if",
            "priority",
            "score",
            "cooldown",
            "max_sends",
            "quiet_hours",
            "valid_from",
            "valid_until",
            "holdout_percent",
            "description",
            "goal",
            "goal_window",
        ];
        let fields = self.fields(doc, "an [[action]]", &KEYS)?;
        let id = self.required(&fields, "id").and_then(|d| {
            self.string(d, "`action.id`")
                .map(|t| (t.text.clone(), d.span))
        });
        let channel = self.required(&fields, "channel").and_then(|d| {
            let name = &self.string(d, "`action.channel`")?.text;
            self.declared_channel(name, d.span, channels)
                .then(|| name.clone())
        });
        let category = match fields.get("category") {
            Some(d) => self.category(d, "`action.category`"),
            None => Some(Category::Marketing),
        };
        let trigger = fields
            .get("trigger")
            .map(|d| self.trigger(d, "`action.trigger`", compiler));
        let suppress_if = fields
            .get("suppress_if")
            .map(|d| self.trigger(d, "`action.suppress_if`", compiler));
        let ranking = match (fields.get("priority"), fields.get("score")) {
            (Some(p), Some(s)) => {
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        "an action has either a `priority` or a `score`, not both",
                        s.span,
                    )
                    .with_label("remove this or the priority")
                    .with_secondary(p.span, "priority set here"),
                );
                None
            }
            (Some(p), None) => self
                .integer(p, "`action.priority`", i64::MIN..=i64::MAX)
                .map(Ranking::Priority),
            (None, Some(s)) => self
                .score(s, "`action.score`", compiler)
                .map(|s| Ranking::Score(Box::new(s))),
            (None, None) => Some(Ranking::Priority(0)),
        };
        let cooldown = fields
            .get("cooldown")
            .map(|d| self.window(d, "`action.cooldown`"));
        let max_sends = fields.get("max_sends").map(|d| {
            self.integer(d, "`action.max_sends`", 1..=i64::from(u32::MAX))
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX))
        });
        let quiet_hours = match fields.get("quiet_hours") {
            Some(d) => self.quiet_hours_policy(d),
            None => Some(QuietHoursPolicy::Defer),
        };
        let valid_from = fields
            .get("valid_from")
            .map(|d| self.timestamp(d, "`action.valid_from`"));
        let valid_until = fields
            .get("valid_until")
            .map(|d| self.timestamp(d, "`action.valid_until`"));
        let valid = self.validity(
            fields.get("valid_from").zip(valid_from.flatten()),
            fields.get("valid_until").zip(valid_until.flatten()),
        );
        let holdout_percent = fields.get("holdout_percent").map(|d| {
            self.integer(d, "`action.holdout_percent`", 0..=100)
                .and_then(|p| u8::try_from(p).ok())
        });
        if let Some(d) = fields.get("description") {
            self.string(d, "`action.description`");
        }
        let goal = self.goal(&fields, doc, "action", compiler);
        if !valid {
            return None;
        }
        let (id, span) = id?;
        Some((
            Action {
                id,
                channel: channel?,
                category: category?,
                trigger: optional(trigger)?,
                suppress_if: optional(suppress_if)?,
                ranking: ranking?,
                cooldown: optional(cooldown)?,
                max_sends: optional(max_sends)?,
                quiet_hours: quiet_hours?,
                valid_from: optional(valid_from)?,
                valid_until: optional(valid_until)?,
                holdout_percent: optional(holdout_percent)?,
                goal: goal?,
            },
            span,
        ))
    }

    pub(super) fn quiet_hours_policy(&mut self, doc: &Doc) -> Option<QuietHoursPolicy> {
        let text = self.string(doc, "`action.quiet_hours`")?;
        match text.text.as_str() {
            "defer" => Some(QuietHoursPolicy::Defer),
            "ignore" => Some(QuietHoursPolicy::Ignore),
            "drop" => Some(QuietHoursPolicy::Drop),
            other => {
                let diagnostic = Diagnostic::error(
                    Code::InvalidValue,
                    format!("`action.quiet_hours`: unknown policy `{other}`"),
                    doc.span,
                );
                self.report(
                    match suggest(other, ["defer", "ignore", "drop"].into_iter()) {
                        Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                        None => diagnostic.with_label("expected `defer`, `ignore` or `drop`"),
                    },
                );
                None
            }
        }
    }

    /// Whether an action's validity window is open: `valid_from` after
    /// `valid_until` would never let it be sent, and is reported.
    fn validity(
        &mut self,
        from: Option<(&Doc, Timestamp)>,
        until: Option<(&Doc, Timestamp)>,
    ) -> bool {
        let (Some((from_doc, from)), Some((until_doc, until))) = (from, until) else {
            return true;
        };
        if from <= until {
            return true;
        }
        self.report(
            Diagnostic::error(
                Code::InvalidValue,
                "`action.valid_until` is before `action.valid_from`: the action could never be sent",
                until_doc.span,
            )
            .with_label("the window closes here, before it opens")
            .with_secondary(from_doc.span, "it opens here"),
        );
        false
    }
}
