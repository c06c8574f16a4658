//! Name resolution: attributes, event properties, `profile.`, `journey.`, and
//! fields of `last(…)`/`first(…)`, with "did you mean" suggestions.

use super::ir::*;
use super::{Checker, node};
use crate::diagnostic::{Code, Diagnostic};
use crate::schema::{EventSchema, Type};
use crate::syntax::{AggregateFn, Expr, ExprKind, Name, Span};

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    // A candidate that extends the name (`product` → `product_id`) is as
    // likely a slip as a typo is.
    candidates
        .map(|c| {
            let extends = c.len() > name.len() && name.len() >= 3 && c.starts_with(name);
            let distance = if extends {
                limit
            } else {
                strsim::damerau_levenshtein(name, c)
            };
            (distance, c)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, c)| c.to_owned())
}

/// An "unknown name" diagnostic with its suggestion.
pub(crate) fn unknown(
    code: Code,
    message: String,
    span: Span,
    suggestion: Option<String>,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(code, message, span);
    match suggestion {
        Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
        None => diagnostic.with_label("not declared in the schema"),
    }
}

impl Checker<'_> {
    pub(super) fn name(&mut self, name: &Name) -> Option<Node> {
        let property = self.scope.and_then(|event| {
            let (_, schema) = self.schema.event_at(event)?;
            let (slot, ty) = schema.get(&name.text)?;
            Some((event, slot, ty.clone()))
        });
        let attribute = self
            .schema
            .attribute(&name.text)
            .map(|(slot, ty)| (slot, ty.clone()));
        match (property, attribute) {
            (Some(_), Some(_)) => self.error(
                Diagnostic::error(
                    Code::AmbiguousName,
                    format!(
                        "`{}` is both an event property and a profile attribute",
                        name.text
                    ),
                    name.span,
                )
                .with_label("ambiguous name")
                .with_help(format!(
                    "write `profile.{0}` for the attribute, or `{1}.{0}` for the property",
                    name.text,
                    self.scope_name()
                )),
            ),
            (Some((event, slot, ty)), None) => Some(node(NodeKind::Property { event, slot }, ty)),
            (None, Some((slot, ty))) => {
                self.reads.attributes.insert(slot);
                Some(node(NodeKind::Attribute(slot), ty))
            }
            (None, None) if self.scope.is_some() && name.text == "timestamp" => {
                let event = self.scope?;
                Some(node(NodeKind::EventTime(event), Type::Timestamp))
            }
            (None, None) if name.text == "id" => Some(node(NodeKind::ProfileId, Type::String)),
            (None, None) => self.unknown_name(name),
        }
    }

    /// The name of the event type bound by the innermost `WHERE`.
    fn scope_name(&self) -> String {
        self.scope
            .and_then(|event| self.schema.event_at(event))
            .map_or_else(String::new, |(n, _)| n.to_owned())
    }

    /// `event.property` inside a `WHERE` on that event type.
    fn scoped_property(&mut self, field: &Name) -> Option<Node> {
        let event = self.scope?;
        if field.text == "timestamp" {
            return Some(node(NodeKind::EventTime(event), Type::Timestamp));
        }
        let (event_name, schema) = self.schema.event_at(event)?;
        if let Some((slot, ty)) = schema.get(&field.text) {
            return Some(node(NodeKind::Property { event, slot }, ty.clone()));
        }
        let suggestion = suggest(&field.text, schema.properties().map(|(n, _)| n));
        let message = format!("event `{event_name}` has no property `{}`", field.text);
        self.error(unknown(
            Code::UnknownProperty,
            message,
            field.span,
            suggestion,
        ))
    }

    fn unknown_name(&mut self, name: &Name) -> Option<Node> {
        let properties: Vec<String> = self
            .scope
            .and_then(|event| self.schema.event_at(event))
            .map(|(_, e)| e.properties().map(|(n, _)| n.to_owned()).collect())
            .unwrap_or_default();
        let candidates = self
            .schema
            .attributes()
            .map(|(n, _)| n)
            .chain(properties.iter().map(String::as_str));
        let suggestion = suggest(&name.text, candidates);
        let mut diagnostic = match self.scope {
            Some(_) => unknown(
                Code::UnknownProperty,
                format!(
                    "`{}` is neither a property of `{}` nor an attribute",
                    name.text,
                    self.scope_name()
                ),
                name.span,
                suggestion,
            ),
            None => unknown(
                Code::UnknownAttribute,
                format!("unknown attribute `{}`", name.text),
                name.span,
                suggestion,
            ),
        };
        if self.schema.event(&name.text).is_some() {
            diagnostic = diagnostic.with_help(format!(
                "`{0}` is an event type: aggregate it, as in `count({0} WITHIN 7d)` or `last({0}).timestamp`",
                name.text
            ));
        }
        self.error(diagnostic)
    }

    pub(super) fn event_type(&mut self, name: &Name) -> Option<(usize, EventSchema)> {
        if let Some((index, schema)) = self.schema.event(&name.text) {
            self.reads.events.insert(index);
            return Some((index, schema.clone()));
        }
        let suggestion = suggest(&name.text, self.schema.events().map(|(n, _)| n));
        self.error(unknown(
            Code::UnknownEvent,
            format!("unknown event type `{}`", name.text),
            name.span,
            suggestion,
        ))
    }

    pub(super) fn field(&mut self, base: &Expr, field: &Name, span: Span) -> Option<Node> {
        match &base.kind {
            ExprKind::Name(prefix)
                if prefix.text == "profile" && self.schema.attribute("profile").is_none() =>
            {
                self.profile_field(field)
            }
            ExprKind::Name(prefix)
                if prefix.text == "journey" && self.schema.attribute("journey").is_none() =>
            {
                self.journey_field(field, span)
            }
            ExprKind::Name(prefix)
                if self.scope.is_some()
                    && prefix.text == self.scope_name()
                    && self.schema.attribute(&prefix.text).is_none() =>
            {
                self.scoped_property(field)
            }
            ExprKind::Aggregate(aggregate)
                if matches!(aggregate.function, AggregateFn::Last | AggregateFn::First) =>
            {
                let found = self.aggregate(aggregate, base.span)?;
                let (_, event_schema) = self.schema.event_at(found.event)?;
                let (event_field, ty) = if field.text == "timestamp" {
                    (EventField::Timestamp, Type::Timestamp)
                } else if let Some((slot, ty)) = event_schema.get(&field.text) {
                    (EventField::Property(slot), ty.clone())
                } else {
                    let suggestion = suggest(
                        &field.text,
                        event_schema
                            .properties()
                            .map(|(n, _)| n)
                            .chain(["timestamp"]),
                    );
                    let message = format!(
                        "event `{}` has no property `{}`",
                        aggregate.event.text, field.text
                    );
                    return self.error(unknown(
                        Code::UnknownProperty,
                        message,
                        field.span,
                        suggestion,
                    ));
                };
                Some(node(NodeKind::EventField(Box::new(found), event_field), ty))
            }
            _ => {
                let base_node = self.expr(base)?;
                self.error(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!(
                            "a value of type `{}` has no field `{}`",
                            base_node.ty, field.text
                        ),
                        field.span,
                    )
                    .with_label("no such field")
                    .with_help(
                        "fields exist on `profile.`, `journey.` and on `last(…)`/`first(…)`",
                    ),
                )
            }
        }
    }

    fn profile_field(&mut self, field: &Name) -> Option<Node> {
        if let Some((slot, ty)) = self.schema.attribute(&field.text) {
            self.reads.attributes.insert(slot);
            return Some(node(NodeKind::Attribute(slot), ty.clone()));
        }
        if field.text == "id" {
            return Some(node(NodeKind::ProfileId, Type::String));
        }
        let suggestion = suggest(&field.text, self.schema.attributes().map(|(n, _)| n));
        self.error(unknown(
            Code::UnknownAttribute,
            format!("unknown attribute `{}`", field.text),
            field.span,
            suggestion,
        ))
    }

    fn journey_field(&mut self, field: &Name, span: Span) -> Option<Node> {
        if field.text != "entered_at" {
            let suggestion = suggest(&field.text, ["entered_at"].into_iter());
            return self.error(unknown(
                Code::UnknownField,
                format!("a journey has no field `{}`", field.text),
                field.span,
                suggestion,
            ));
        }
        if !self.context.journey {
            return self.error(
                Diagnostic::error(
                    Code::UnavailableName,
                    "`journey.entered_at` is only available in a journey's conditions",
                    span,
                )
                .with_label("not inside a journey"),
            );
        }
        Some(node(NodeKind::JourneyEnteredAt, Type::Timestamp))
    }
}
