//! Rule file → [`RuleSet`]: a walk over the spanned document that validates
//! everything and reports every problem with its place in the file.

mod actions;
mod channels;
mod goals;
mod journeys;
mod read;

use chrono_tz::Tz;
use indexmap::IndexSet;

use self::channels::{declared_channels, known_channels};
use self::journeys::declared_actions;
use self::read::FirstSeen;
use super::doc::Doc;
use super::model::*;
use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::schema::{EventSchema, Schema, Type};
use crate::syntax::Span;
use crate::trigger::Compiler;

pub(crate) struct Loader<'s> {
    pub diagnostics: Vec<Diagnostic>,
    source: &'s str,
}

impl<'s> Loader<'s> {
    pub fn new(source: &'s str) -> Self {
        Loader {
            diagnostics: Vec::new(),
            source,
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The source text of a span, for messages.
    fn text_of(&self, span: Span) -> &'s str {
        self.source.get(span.range()).unwrap_or_default()
    }

    // ------------------------------------------------------------ sections

    pub fn rule_set(&mut self, root: &Doc) -> Option<RuleSet> {
        let top = self.fields(
            root,
            "the rule set",
            &[
                "schema",
                "consent",
                "quiet_hours",
                "cap",
                "holdout",
                "decision",
                "action",
                "journey",
            ],
        )?;
        let schema = match self.required(&top, "schema") {
            Some(doc) => self.schema(doc),
            None => None,
        };
        let schema = schema?;
        let compiler = Compiler::new(&schema);
        let declared = declared_channels(top.get("consent"));
        let actions = top
            .get("action")
            .map(|doc| self.actions(doc, &compiler, &declared))
            .unwrap_or_default();
        let consent = top
            .get("consent")
            .map(|doc| self.consent(doc, &schema, &known_channels(top.get("action"))))
            .unwrap_or_default();
        let quiet_hours = top
            .get("quiet_hours")
            .and_then(|doc| self.quiet_hours(doc, &schema));
        let caps = top
            .get("cap")
            .map(|doc| self.caps(doc, &declared))
            .unwrap_or_default();
        let holdout = top.get("holdout").and_then(|doc| self.holdout(doc));
        let decision = top
            .get("decision")
            .and_then(|doc| self.decision(doc))
            .unwrap_or_default();
        let journeys = top
            .get("journey")
            .map(|doc| self.journeys(doc, &schema, &declared_actions(top.get("action"))))
            .unwrap_or_default();
        let actions = actions.into_iter().map(|(action, _)| action).collect();
        Some(RuleSet {
            schema,
            consent,
            quiet_hours,
            caps,
            holdout,
            decision,
            actions,
            journeys,
        })
    }

    /// The schema. A trait or property whose type is invalid is still
    /// declared, with the type of NULL, so that expressions using it are not
    /// reported a second time (the file is rejected anyway).
    fn schema(&mut self, doc: &Doc) -> Option<Schema> {
        let fields = self.fields(doc, "[schema]", &["traits", "events"])?;
        let mut builder = Schema::builder();
        if let Some(traits) = fields
            .get("traits")
            .and_then(|t| self.fields(t, "[schema.traits]", &[]))
        {
            for (key, value) in traits.entries {
                let ty = self.type_name(value, &format!("trait `{}`", key.text));
                builder = builder.attribute(key.text.clone(), ty.unwrap_or(Type::Null));
            }
        }
        if let Some(events) = fields
            .get("events")
            .and_then(|e| self.fields(e, "[schema.events]", &[]))
        {
            for (key, value) in events.entries {
                let what = format!("event `{}`", key.text);
                let Some(properties) = self.fields(value, &what, &[]) else {
                    continue;
                };
                let mut event = EventSchema::new();
                for (property, ty) in properties.entries {
                    if property.text == "timestamp" {
                        self.report(
                            Diagnostic::error(
                                Code::InvalidValue,
                                format!("{what} cannot declare a property `timestamp`"),
                                property.span,
                            )
                            .with_label("reserved for the event's own time"),
                        );
                        continue;
                    }
                    let ty =
                        self.type_name(ty, &format!("property `{}.{}`", key.text, property.text));
                    event = event.property(property.text.clone(), ty.unwrap_or(Type::Null));
                }
                builder = builder.event(key.text.clone(), event);
            }
        }
        match builder.build() {
            Ok(schema) => Some(schema),
            Err(e) => {
                self.report(
                    Diagnostic::error(Code::InvalidValue, e.to_string(), doc.span)
                        .with_label("in this schema"),
                );
                None
            }
        }
    }

    fn type_name(&mut self, doc: &Doc, what: &str) -> Option<Type> {
        let text = self.string(doc, what)?;
        match text.text.parse::<Type>() {
            Ok(ty) => Some(ty),
            Err(e) => {
                let suggestion = suggest(
                    &text.text,
                    [
                        "bool",
                        "int",
                        "float",
                        "string",
                        "timestamp",
                        "duration",
                        "list<string>",
                    ]
                    .into_iter(),
                );
                let diagnostic =
                    Diagnostic::error(Code::InvalidValue, format!("{what}: {e}"), doc.span);
                self.report(match suggestion {
                    Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                    None => diagnostic.with_label("not a type"),
                });
                None
            }
        }
    }

    fn quiet_hours(&mut self, doc: &Doc, schema: &Schema) -> Option<QuietHours> {
        let fields = self.fields(
            doc,
            "[quiet_hours]",
            &["start", "end", "timezone_trait", "default_timezone"],
        )?;
        let start = self
            .required(&fields, "start")
            .and_then(|d| self.clock(d, "`quiet_hours.start`"));
        let end = self
            .required(&fields, "end")
            .and_then(|d| self.clock(d, "`quiet_hours.end`"));
        let timezone = fields
            .get("timezone_trait")
            .map(|d| self.trait_ref(d, "`quiet_hours.timezone_trait`", schema, &Type::String));
        let default_timezone = match fields.get("default_timezone") {
            Some(d) => self.zone(d, "`quiet_hours.default_timezone`"),
            None => Some(Tz::UTC),
        };
        let timezone = match timezone {
            Some(None) => return None,
            Some(Some(t)) => Some(t),
            None => None,
        };
        Some(QuietHours {
            start: start?,
            end: end?,
            timezone,
            default_timezone: default_timezone?,
        })
    }

    fn category(&mut self, doc: &Doc, what: &str) -> Option<Category> {
        let text = self.string(doc, what)?;
        match text.text.as_str() {
            "marketing" => Some(Category::Marketing),
            "transactional" => Some(Category::Transactional),
            other => {
                let diagnostic = Diagnostic::error(
                    Code::InvalidValue,
                    format!("{what}: unknown category `{other}`"),
                    doc.span,
                );
                self.report(
                    match suggest(other, ["marketing", "transactional"].into_iter()) {
                        Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                        None => diagnostic.with_label("expected `marketing` or `transactional`"),
                    },
                );
                None
            }
        }
    }

    fn caps(&mut self, doc: &Doc, declared: &IndexSet<&str>) -> Vec<FrequencyCap> {
        let mut caps: Vec<(FrequencyCap, Span)> = Vec::new();
        let mut seen = FirstSeen::default();
        for item in self.array_of_tables(doc, "`cap`") {
            if !self.first_definition("cap", item, "name", &mut seen) {
                continue;
            }
            let Some(fields) = self.fields(
                item,
                "a [[cap]]",
                &["name", "category", "channels", "max", "per"],
            ) else {
                continue;
            };
            let name = self.required(&fields, "name").and_then(|d| {
                self.string(d, "`cap.name`")
                    .map(|t| (t.text.clone(), d.span))
            });
            let category = fields
                .get("category")
                .map(|d| self.category(d, "`cap.category`"));
            let cap_channels = fields
                .get("channels")
                .map(|d| self.string_list(d, "`cap.channels`"));
            let max = self
                .required(&fields, "max")
                .and_then(|d| self.integer(d, "`cap.max`", 1..=i64::from(u32::MAX)));
            let per = self
                .required(&fields, "per")
                .and_then(|d| self.window(d, "`cap.per`"));
            let cap_channels: Vec<(String, Span)> = match cap_channels {
                Some(None) => continue,
                Some(Some(list)) => list,
                None => Vec::new(),
            };
            let undeclared = (cap_channels.iter())
                .filter(|(c, span)| !self.declared_channel(c, *span, declared))
                .count();
            let distinct = self.distinct(&cap_channels, "`cap.channels`");
            let (Some((name, name_span)), Some(max), Some(per), 0, true) =
                (name, max, per, undeclared, distinct)
            else {
                continue;
            };
            let category = match category {
                Some(None) => continue,
                Some(Some(c)) => Some(c),
                None => None,
            };
            caps.push((
                FrequencyCap {
                    name,
                    category,
                    channels: cap_channels.into_iter().map(|(c, _)| c).collect(),
                    max: u32::try_from(max).unwrap_or(u32::MAX),
                    per,
                },
                name_span,
            ));
        }
        caps.into_iter().map(|(c, _)| c).collect()
    }

    fn holdout(&mut self, doc: &Doc) -> Option<Holdout> {
        let fields = self.fields(doc, "[holdout]", &["percent", "salt"])?;
        let percent = self
            .required(&fields, "percent")
            .and_then(|d| self.integer(d, "`holdout.percent`", 0..=100));
        let salt = self
            .required(&fields, "salt")
            .and_then(|d| self.string(d, "`holdout.salt`"))
            .map(|t| t.text.clone());
        Some(Holdout {
            percent: u8::try_from(percent?).ok()?,
            salt: salt?,
        })
    }

    fn decision(&mut self, doc: &Doc) -> Option<DecisionSettings> {
        let fields = self.fields(doc, "[decision]", &["max_actions"])?;
        let max_actions = match fields.get("max_actions") {
            Some(d) => self.integer(d, "`decision.max_actions`", 1..=1000)?,
            None => 1,
        };
        Some(DecisionSettings {
            max_actions: usize::try_from(max_actions).unwrap_or(1),
        })
    }
}
