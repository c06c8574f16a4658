//! `[[journey]]` tables: steps, fallbacks and the order they fall due in.

use std::collections::HashSet;

use super::Loader;
use super::read::{FirstSeen, optional, peek_string};
use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::doc::{Doc, DocValue};
use crate::rules::model::*;
use crate::schema::Schema;
use crate::syntax::Span;
use crate::trigger::Compiler;

impl Loader<'_> {
    pub(super) fn journeys(
        &mut self,
        doc: &Doc,
        schema: &Schema,
        actions: &HashSet<&str>,
    ) -> Vec<Journey> {
        let mut journeys = Vec::new();
        let mut seen = FirstSeen::default();
        for item in self.array_of_tables(doc, "`journey`") {
            if !self.first_definition("journey", item, "id", &mut seen) {
                continue;
            }
            if let Some((journey, _)) = self.journey(item, schema, actions) {
                journeys.push(journey);
            }
        }
        journeys
    }

    pub(super) fn journey(
        &mut self,
        doc: &Doc,
        schema: &Schema,
        actions: &HashSet<&str>,
    ) -> Option<(Journey, Span)> {
        let fields = self.fields(
            doc,
            "a [[journey]]",
            &[
                "id",
                "entry",
                "exit",
                "reentry",
                "steps",
                "fallback",
                "description",
                "goal",
                "goal_window",
            ],
        )?;
        let plain = Compiler::new(schema);
        let inside = Compiler::new(schema).journey(true);
        let id = self.required(&fields, "id").and_then(|d| {
            self.string(d, "`journey.id`")
                .map(|t| (t.text.clone(), d.span))
        });
        let entry = self
            .required(&fields, "entry")
            .and_then(|d| self.trigger(d, "`journey.entry`", &plain));
        let exit = fields
            .get("exit")
            .map(|d| self.trigger(d, "`journey.exit`", &inside));
        let reentry = match fields.get("reentry") {
            None => Some(Reentry::Never),
            Some(d) => match &d.value {
                DocValue::String(t) if t.text == "never" => Some(Reentry::Never),
                _ => self
                    .duration(d, "`journey.reentry` (a duration or \"never\")")
                    .map(Reentry::After),
            },
        };
        let steps: Vec<Option<(Step, Span)>> = match self.required(&fields, "steps") {
            Some(d) => {
                let items = self.array_of_tables(d, "`journey.steps`");
                items
                    .iter()
                    .map(|s| self.step(s, "a journey step", actions))
                    .collect()
            }
            None => vec![None],
        };
        let fallback = fields
            .get("fallback")
            .map(|d| self.step(d, "a journey fallback", actions));
        let goal = self.goal(&fields, doc, "journey", &plain);
        let valid: Vec<(Step, Span)> = steps.iter().flatten().cloned().collect();
        self.check_step_order(&valid, fallback.as_ref().and_then(Option::as_ref));
        let steps: Vec<(Step, Span)> = steps.into_iter().collect::<Option<_>>()?;
        let (id, span) = id?;
        Some((
            Journey {
                id,
                entry: entry?,
                exit: optional(exit)?,
                reentry: reentry?,
                steps: steps.into_iter().map(|(s, _)| s).collect(),
                fallback: optional(fallback)?.map(|(s, _)| s),
                goal: goal?,
            },
            span,
        ))
    }

    pub(super) fn step(
        &mut self,
        doc: &Doc,
        what: &str,
        actions: &HashSet<&str>,
    ) -> Option<(Step, Span)> {
        let fields = self.fields(doc, what, &["after", "action"])?;
        let after = self
            .required(&fields, "after")
            .and_then(|d| self.duration(d, "`after`"));
        let action_doc = self.required(&fields, "action")?;
        let action = self.string(action_doc, "`action`")?;
        if !actions.contains(action.text.as_str()) {
            let diagnostic = Diagnostic::error(
                Code::UnknownAction,
                format!("{what} names `{}`, which is not an action", action.text),
                action_doc.span,
            );
            self.report(match suggest(&action.text, actions.iter().copied()) {
                Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                None => diagnostic.with_label("no [[action]] has this id"),
            });
            return None;
        }
        let after_span = fields.get("after").map_or(doc.span, |d| d.span);
        Some((
            Step {
                after: after?,
                action: action.text.clone(),
            },
            after_span,
        ))
    }

    /// Steps run in order of `after`, and a fallback comes after the last step.
    pub(super) fn check_step_order(
        &mut self,
        steps: &[(Step, Span)],
        fallback: Option<&(Step, Span)>,
    ) {
        for pair in steps.windows(2) {
            if let [(before, before_span), (after, after_span)] = pair
                && after.after < before.after
            {
                self.report(
                        Diagnostic::error(
                            Code::UnreachableJourney,
                            format!(
                                "journey steps out of order: a step due at `{}` is listed after one due at `{}`",
                                after.after, before.after
                            ),
                            *after_span,
                        )
                        .with_label("this step is due earlier than the one before it")
                        .with_secondary(*before_span, "previous step"),
                    );
            }
        }
        if let (Some((fallback, span)), Some((last, last_span))) = (fallback, steps.last())
            && fallback.after < last.after
        {
            self.report(
                Diagnostic::error(
                    Code::UnreachableJourney,
                    format!(
                        "the fallback (`{}`) falls due before the last step (`{}`)",
                        fallback.after, last.after
                    ),
                    *span,
                )
                .with_label("a fallback counts from entry, like the steps")
                .with_secondary(*last_span, "last step"),
            );
        }
    }
}

/// The ids of every `[[action]]` written in the file, valid or not: a journey
/// naming an action that has problems of its own is not told it does not exist.
pub(super) fn declared_actions(actions: Option<&Doc>) -> HashSet<&str> {
    match actions.map(|d| &d.value) {
        Some(DocValue::Array(items)) => items
            .iter()
            .filter_map(|i| peek_string(i, "id"))
            .map(|(id, _)| id)
            .collect(),
        _ => HashSet::new(),
    }
}
