//! Rule file → [`RuleSet`]: a walk over the spanned document that validates
//! everything and reports every problem with its place in the file.

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::doc::{Doc, DocValue, Key, Text};
use super::model::*;
use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::schema::{EventSchema, Schema, Type};
use crate::syntax::Span;
use crate::trigger::{CompileError, Compiler, Score, Trigger};
use crate::value::{Duration, Timestamp};

/// Channels nextbest knows without an action using them.
pub(crate) const KNOWN_CHANNELS: [&str; 6] =
    ["email", "push", "sms", "in_app", "sales_task", "webhook"];

/// The fields of one table, with unknown keys already reported.
struct Fields<'d> {
    entries: &'d [(Key, Doc)],
    span: Span,
    what: String,
}

impl<'d> Fields<'d> {
    fn get(&self, key: &str) -> Option<&'d Doc> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }
}

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

    fn wrong_kind<T>(&mut self, doc: &Doc, what: &str, expected: &str) -> Option<T> {
        self.report(
            Diagnostic::error(
                Code::WrongValueType,
                format!("{what} must be {expected}, found {}", doc.value.kind()),
                doc.span,
            )
            .with_label(format!("expected {expected}")),
        );
        None
    }

    /// A table's fields; keys outside `allowed` are reported with a suggestion.
    fn fields<'d>(&mut self, doc: &'d Doc, what: &str, allowed: &[&str]) -> Option<Fields<'d>> {
        let DocValue::Table(entries) = &doc.value else {
            return self.wrong_kind(doc, what, "a table");
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            if let Some((first, _)) = entries.iter().take(i).find(|(k, _)| k.text == key.text) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateId,
                        format!("duplicate key `{}` in {what}", key.text),
                        key.span,
                    )
                    .with_label("defined again here")
                    .with_secondary(first.span, "first defined here"),
                );
            }
            if !allowed.is_empty() && !allowed.contains(&key.text.as_str()) {
                let diagnostic = Diagnostic::error(
                    Code::UnknownKey,
                    format!("unknown key `{}` in {what}", key.text),
                    key.span,
                );
                let diagnostic = match suggest(&key.text, allowed.iter().copied()) {
                    Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                    None => diagnostic
                        .with_label("not a known key")
                        .with_help(format!("the keys of {what} are {}", allowed.join(", "))),
                };
                self.report(diagnostic);
            }
        }
        Some(Fields {
            entries,
            span: doc.span,
            what: what.to_owned(),
        })
    }

    fn required<'d>(&mut self, fields: &Fields<'d>, key: &str) -> Option<&'d Doc> {
        let found = fields.get(key);
        if found.is_none() {
            let header = self.text_of(Span::new(
                fields.span.start,
                fields.span.end.min(fields.span.start + 80),
            ));
            let header = header.lines().next().unwrap_or_default().trim().to_owned();
            let label = if header.is_empty() {
                "in this table".to_owned()
            } else {
                format!("in `{header}`")
            };
            self.report(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{} needs a `{key}`", fields.what),
                    Span::new(fields.span.start, fields.span.start),
                )
                .with_label(label),
            );
        }
        found
    }

    fn string<'d>(&mut self, doc: &'d Doc, what: &str) -> Option<&'d Text> {
        match &doc.value {
            DocValue::String(text) => Some(text),
            _ => self.wrong_kind(doc, what, "a string"),
        }
    }

    fn integer(
        &mut self,
        doc: &Doc,
        what: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let DocValue::Integer(i) = doc.value else {
            return self.wrong_kind(doc, what, "an integer");
        };
        if range.contains(&i) {
            return Some(i);
        }
        let bounds = if *range.end() == i64::MAX {
            format!("at least {}", range.start())
        } else {
            format!("between {} and {}", range.start(), range.end())
        };
        self.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{what} must be {bounds}, found {i}"),
                doc.span,
            )
            .with_label(format!("expected {bounds}")),
        );
        None
    }

    fn duration(&mut self, doc: &Doc, what: &str) -> Option<Duration> {
        let text = self.string(doc, what)?;
        match Duration::parse(&text.text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.report(
                    Diagnostic::error(Code::InvalidDuration, format!("{what}: {e}"), doc.span)
                        .with_label("expected a duration such as `14d`"),
                );
                None
            }
        }
    }

    fn timestamp(&mut self, doc: &Doc, what: &str) -> Option<Timestamp> {
        let text = match &doc.value {
            DocValue::String(t) => t.text.clone(),
            DocValue::Datetime(d) => d.clone(),
            _ => return self.wrong_kind(doc, what, "an RFC 3339 timestamp"),
        };
        match Timestamp::parse(&text) {
            Ok(t) => Some(t),
            Err(e) => {
                self.report(
                    Diagnostic::error(Code::InvalidTimestamp, format!("{what}: {e}"), doc.span)
                        .with_label("expected a timestamp such as `2026-11-01T00:00:00Z`"),
                );
                None
            }
        }
    }

    fn clock(&mut self, doc: &Doc, what: &str) -> Option<NaiveTime> {
        let text = self.string(doc, what)?;
        match NaiveTime::parse_from_str(&text.text, "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                self.report(
                    Diagnostic::error(
                        Code::InvalidClockTime,
                        format!("{what}: `{}` is not a clock time", text.text),
                        doc.span,
                    )
                    .with_label("expected a 24-hour time such as `21:00`"),
                );
                None
            }
        }
    }

    fn zone(&mut self, doc: &Doc, what: &str) -> Option<Tz> {
        let text = self.string(doc, what)?;
        if let Ok(zone) = text.text.parse::<Tz>() {
            return Some(zone);
        }
        let suggestion = suggest(
            &text.text,
            chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
        );
        let diagnostic = Diagnostic::error(
            Code::UnknownTimeZone,
            format!("{what}: unknown time zone `{}`", text.text),
            doc.span,
        );
        self.report(match suggestion {
            Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
            None => diagnostic.with_label("expected an IANA zone name such as `Europe/Berlin`"),
        });
        None
    }

    /// A trait name that must exist with type `ty`.
    fn trait_ref(
        &mut self,
        doc: &Doc,
        what: &str,
        schema: &Schema,
        ty: &Type,
    ) -> Option<AttributeRef> {
        let name = self.string(doc, what)?;
        match schema.attribute(&name.text) {
            Some((slot, found)) if found == ty => Some(AttributeRef {
                name: name.text.clone(),
                slot,
            }),
            Some((_, found)) => {
                let message = format!(
                    "{what} must name a `{ty}` trait, but `{}` is `{found}`",
                    name.text
                );
                self.report(
                    Diagnostic::error(Code::BadTraitReference, message, doc.span)
                        .with_label(format!("this trait has type `{found}`")),
                );
                None
            }
            None => {
                let suggestion = suggest(&name.text, schema.attributes().map(|(n, _)| n));
                let diagnostic = Diagnostic::error(
                    Code::BadTraitReference,
                    format!(
                        "{what} names `{}`, which is not a trait of the schema",
                        name.text
                    ),
                    doc.span,
                );
                self.report(match suggestion {
                    Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                    None => {
                        diagnostic.with_label(format!("declare it under [schema.traits] as `{ty}`"))
                    }
                });
                None
            }
        }
    }

    /// Diagnostics of an expression embedded in a string, moved into the file.
    fn embedded(&mut self, text: &Text, error: CompileError) {
        for mut diagnostic in error.diagnostics {
            diagnostic.remap(|span| text.to_file(span));
            self.report(diagnostic);
        }
    }

    fn trigger(&mut self, doc: &Doc, what: &str, compiler: &Compiler<'_>) -> Option<Trigger> {
        let text = self.string(doc, what)?;
        compiler
            .trigger(&text.text)
            .map_err(|e| self.embedded(text, e))
            .ok()
    }

    fn score(&mut self, doc: &Doc, what: &str, compiler: &Compiler<'_>) -> Option<Score> {
        let text = self.string(doc, what)?;
        compiler
            .score(&text.text)
            .map_err(|e| self.embedded(text, e))
            .ok()
    }

    fn string_list(&mut self, doc: &Doc, what: &str) -> Option<Vec<(String, Span)>> {
        let DocValue::Array(items) = &doc.value else {
            return self.wrong_kind(doc, what, "an array of strings");
        };
        let strings: Vec<Option<(String, Span)>> = items
            .iter()
            .map(|item| self.string(item, what).map(|t| (t.text.clone(), item.span)))
            .collect();
        strings.into_iter().collect()
    }

    fn array_of_tables<'d>(&mut self, doc: &'d Doc, what: &str) -> &'d [Doc] {
        match &doc.value {
            DocValue::Array(items) => items,
            _ => {
                self.wrong_kind::<()>(doc, what, "an array of tables");
                &[]
            }
        }
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
        let actions = top
            .get("action")
            .map(|doc| self.actions(doc, &compiler))
            .unwrap_or_default();
        let channels = self.known_channels(&actions);
        let consent = top
            .get("consent")
            .map(|doc| self.consent(doc, &schema, &channels))
            .unwrap_or_default();
        let quiet_hours = top
            .get("quiet_hours")
            .and_then(|doc| self.quiet_hours(doc, &schema));
        let caps = top
            .get("cap")
            .map(|doc| self.caps(doc, &channels))
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

    fn known_channels(&self, actions: &[(Action, Span)]) -> Vec<String> {
        let mut channels: Vec<String> = KNOWN_CHANNELS.iter().map(|c| (*c).to_owned()).collect();
        for (action, _) in actions {
            if !channels.contains(&action.channel) {
                channels.push(action.channel.clone());
            }
        }
        channels
    }

    fn channel(&mut self, name: &str, span: Span, channels: &[String]) -> bool {
        if channels.iter().any(|c| c == name) {
            return true;
        }
        let diagnostic = Diagnostic::error(
            Code::UnknownChannel,
            format!("unknown channel `{name}`"),
            span,
        );
        self.report(match suggest(name, channels.iter().map(String::as_str)) {
            Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
            None => diagnostic
                .with_label("no action uses this channel")
                .with_help(format!("known channels: {}", channels.join(", "))),
        });
        false
    }

    fn consent(&mut self, doc: &Doc, schema: &Schema, channels: &[String]) -> Consent {
        let mut consent = Consent::default();
        let Some(fields) = self.fields(doc, "[consent]", &[]) else {
            return consent;
        };
        for (key, value) in fields.entries {
            if key.text == "unsubscribed" {
                consent.unsubscribed =
                    self.trait_ref(value, "`consent.unsubscribed`", schema, &Type::Bool);
                continue;
            }
            if !self.channel(&key.text, key.span, channels) {
                continue;
            }
            let what = format!("consent for `{}`", key.text);
            let Some(rule) = self.fields(value, &what, &["opt_in", "expires"]) else {
                continue;
            };
            let opt_in = self.required(&rule, "opt_in").and_then(|d| {
                self.trait_ref(
                    d,
                    &format!("`consent.{}.opt_in`", key.text),
                    schema,
                    &Type::Bool,
                )
            });
            let expires = rule.get("expires").map(|d| {
                self.trait_ref(
                    d,
                    &format!("`consent.{}.expires`", key.text),
                    schema,
                    &Type::Timestamp,
                )
            });
            if let (Some(opt_in), Some(expires)) = (opt_in, optional(expires)) {
                consent.channels.push(ChannelConsent {
                    channel: key.text.clone(),
                    opt_in,
                    expires,
                });
            }
        }
        consent
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

    fn caps(&mut self, doc: &Doc, channels: &[String]) -> Vec<FrequencyCap> {
        let mut caps: Vec<(FrequencyCap, Span)> = Vec::new();
        let mut seen = Vec::new();
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
                .and_then(|d| self.duration(d, "`cap.per`"));
            let cap_channels: Vec<(String, Span)> = match cap_channels {
                Some(None) => continue,
                Some(Some(list)) => list,
                None => Vec::new(),
            };
            let known = cap_channels
                .iter()
                .all(|(c, span)| self.channel(c, *span, channels));
            let distinct = self.distinct(&cap_channels, "`cap.channels`");
            let (Some((name, name_span)), Some(max), Some(per), true, true) =
                (name, max, per, known, distinct)
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

    /// Whether no item of the list `what` is listed twice; each repeat is
    /// reported (a channel listed twice in a cap would be counted twice by
    /// a history that sums per channel).
    fn distinct(&mut self, items: &[(String, Span)], what: &str) -> bool {
        let mut distinct = true;
        for (index, (item, span)) in items.iter().enumerate() {
            let earlier = items.get(..index).unwrap_or_default();
            if let Some((_, first)) = earlier.iter().find(|(e, _)| e == item) {
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{item}` is listed twice in {what}"),
                        *span,
                    )
                    .with_label("listed again here")
                    .with_secondary(*first, "first listed here"),
                );
                distinct = false;
            }
        }
        distinct
    }

    /// Whether `item`'s id (its `key`) is not defined earlier; a repeat is
    /// reported, even when the first definition has problems of its own.
    fn first_definition(
        &mut self,
        kind: &str,
        item: &Doc,
        key: &str,
        seen: &mut Vec<(String, Span)>,
    ) -> bool {
        let Some((id, span)) = peek_string(item, key) else {
            return true;
        };
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
            self.report(
                Diagnostic::error(
                    Code::DuplicateId,
                    format!("duplicate {kind} {key} `{id}`"),
                    span,
                )
                .with_label("defined again here")
                .with_secondary(*first, "first defined here"),
            );
            return false;
        }
        seen.push((id, span));
        true
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

    fn actions(&mut self, doc: &Doc, compiler: &Compiler<'_>) -> Vec<(Action, Span)> {
        let mut actions: Vec<(Action, Span)> = Vec::new();
        let mut seen = Vec::new();
        for item in self.array_of_tables(doc, "`action`") {
            if !self.first_definition("action", item, "id", &mut seen) {
                continue;
            }
            if let Some(action) = self.action(item, compiler) {
                actions.push(action);
            }
        }
        actions
    }

    fn action(&mut self, doc: &Doc, compiler: &Compiler<'_>) -> Option<(Action, Span)> {
        const KEYS: [&str; 14] = [
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
        ];
        let fields = self.fields(doc, "an [[action]]", &KEYS)?;
        let id = self.required(&fields, "id").and_then(|d| {
            self.string(d, "`action.id`")
                .map(|t| (t.text.clone(), d.span))
        });
        let channel = self
            .required(&fields, "channel")
            .and_then(|d| self.string(d, "`action.channel`"))
            .map(|t| t.text.clone());
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
            .map(|d| self.duration(d, "`action.cooldown`"));
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
        let holdout_percent = fields.get("holdout_percent").map(|d| {
            self.integer(d, "`action.holdout_percent`", 0..=100)
                .and_then(|p| u8::try_from(p).ok())
        });
        if let Some(d) = fields.get("description") {
            self.string(d, "`action.description`");
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
            },
            span,
        ))
    }

    fn quiet_hours_policy(&mut self, doc: &Doc) -> Option<QuietHoursPolicy> {
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

    fn journeys(&mut self, doc: &Doc, schema: &Schema, actions: &[String]) -> Vec<Journey> {
        let mut journeys = Vec::new();
        let mut seen = Vec::new();
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

    fn journey(
        &mut self,
        doc: &Doc,
        schema: &Schema,
        actions: &[String],
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
            },
            span,
        ))
    }

    fn step(&mut self, doc: &Doc, what: &str, actions: &[String]) -> Option<(Step, Span)> {
        let fields = self.fields(doc, what, &["after", "action"])?;
        let after = self
            .required(&fields, "after")
            .and_then(|d| self.duration(d, "`after`"));
        let action_doc = self.required(&fields, "action")?;
        let action = self.string(action_doc, "`action`")?;
        if !actions.contains(&action.text) {
            let diagnostic = Diagnostic::error(
                Code::UnknownAction,
                format!("{what} names `{}`, which is not an action", action.text),
                action_doc.span,
            );
            self.report(
                match suggest(&action.text, actions.iter().map(String::as_str)) {
                    Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                    None => diagnostic.with_label("no [[action]] has this id"),
                },
            );
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
    fn check_step_order(&mut self, steps: &[(Step, Span)], fallback: Option<&(Step, Span)>) {
        for pair in steps.windows(2) {
            if let [(before, before_span), (after, after_span)] = pair {
                if after.after < before.after {
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
        }
        if let (Some((fallback, span)), Some((last, last_span))) = (fallback, steps.last()) {
            if fallback.after < last.after {
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
}

/// The ids of every `[[action]]` written in the file, valid or not: a journey
/// naming an action that has problems of its own is not told it does not exist.
fn declared_actions(actions: Option<&Doc>) -> Vec<String> {
    match actions.map(|d| &d.value) {
        Some(DocValue::Array(items)) => items
            .iter()
            .filter_map(|i| peek_string(i, "id"))
            .map(|(id, _)| id)
            .collect(),
        _ => Vec::new(),
    }
}

/// The string value of `key` in a table, without reporting anything.
fn peek_string(doc: &Doc, key: &str) -> Option<(String, Span)> {
    let DocValue::Table(entries) = &doc.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.text == key)
        .and_then(|(_, v)| match &v.value {
            DocValue::String(t) => Some((t.text.clone(), v.span)),
            _ => None,
        })
}

/// `Some(None)` (a present but invalid optional value) becomes `None` (fail);
/// absent (`None`) becomes `Some(None)`.
fn optional<T>(value: Option<Option<T>>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(None) => None,
        Some(Some(v)) => Some(Some(v)),
    }
}
