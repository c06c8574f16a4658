//! The generic readers of a rule file: a table's fields, strings, numbers,
//! durations, times, trait references and embedded expressions, each
//! reporting what is wrong with its place.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::Loader;
use crate::check::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::AttributeRef;
use crate::rules::doc::{Doc, DocValue, Key, Text};
use crate::schema::{Schema, Type};
use crate::syntax::Span;
use crate::trigger::{CompileError, Compiler, Score, Trigger};
use crate::value::{Duration, Timestamp};

/// The fields of one table, with unknown keys already reported.
pub(super) struct Fields<'d> {
    pub(super) entries: &'d [(Key, Doc)],
    span: Span,
    what: String,
}

impl<'d> Fields<'d> {
    pub(super) fn get(&self, key: &str) -> Option<&'d Doc> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }
}

impl Loader<'_> {
    pub(super) fn wrong_kind<T>(&mut self, doc: &Doc, what: &str, expected: &str) -> Option<T> {
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
    pub(super) fn fields<'d>(
        &mut self,
        doc: &'d Doc,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'d>> {
        let DocValue::Table(entries) = &doc.value else {
            return self.wrong_kind(doc, what, "a table");
        };
        let mut keys = FirstSeen::default();
        for (key, _) in entries {
            if let Some(first) = keys.repeat(&key.text, key.span) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateId,
                        format!("duplicate key `{}` in {what}", key.text),
                        key.span,
                    )
                    .with_label("defined again here")
                    .with_secondary(first, "first defined here"),
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

    pub(super) fn required<'d>(&mut self, fields: &Fields<'d>, key: &str) -> Option<&'d Doc> {
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

    pub(super) fn string<'d>(&mut self, doc: &'d Doc, what: &str) -> Option<&'d Text> {
        match &doc.value {
            DocValue::String(text) => Some(text),
            _ => self.wrong_kind(doc, what, "a string"),
        }
    }

    pub(super) fn integer(
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

    pub(super) fn duration(&mut self, doc: &Doc, what: &str) -> Option<Duration> {
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

    /// A duration longer than zero: a cooldown or a cap's window of zero
    /// length would hold nothing back.
    pub(super) fn window(&mut self, doc: &Doc, what: &str) -> Option<Duration> {
        let duration = self.duration(doc, what)?;
        if duration > Duration::default() {
            return Some(duration);
        }
        let written = match &doc.value {
            DocValue::String(text) => text.text.as_str(),
            _ => "",
        };
        self.report(
            Diagnostic::error(
                Code::InvalidValue,
                format!("{what} must be longer than zero, found `{written}`"),
                doc.span,
            )
            .with_label("a window of zero length holds nothing back"),
        );
        None
    }

    pub(super) fn timestamp(&mut self, doc: &Doc, what: &str) -> Option<Timestamp> {
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

    pub(super) fn clock(&mut self, doc: &Doc, what: &str) -> Option<NaiveTime> {
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

    pub(super) fn zone(&mut self, doc: &Doc, what: &str) -> Option<Tz> {
        let text = self.string(doc, what)?;
        if let Ok(zone) = text.text.parse::<Tz>() {
            return Some(zone);
        }
        let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        // `utc` or `europe/berlin` is a zone in the wrong case: suggest it,
        // though its edit distance is too large for a typo.
        let suggestion = (names().find(|name| name.eq_ignore_ascii_case(text.text.trim())))
            .map(str::to_owned)
            .or_else(|| suggest(&text.text, names()));
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
    pub(super) fn trait_ref(
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
    pub(super) fn embedded(&mut self, text: &Text, error: CompileError) {
        for mut diagnostic in error.diagnostics {
            diagnostic.remap(|span| text.to_file(span));
            self.report(diagnostic);
        }
    }

    pub(super) fn trigger(
        &mut self,
        doc: &Doc,
        what: &str,
        compiler: &Compiler<'_>,
    ) -> Option<Trigger> {
        let text = self.string(doc, what)?;
        compiler
            .trigger(&text.text)
            .map_err(|e| self.embedded(text, e))
            .ok()
    }

    pub(super) fn score(
        &mut self,
        doc: &Doc,
        what: &str,
        compiler: &Compiler<'_>,
    ) -> Option<Score> {
        let text = self.string(doc, what)?;
        compiler
            .score(&text.text)
            .map_err(|e| self.embedded(text, e))
            .ok()
    }

    pub(super) fn string_list(&mut self, doc: &Doc, what: &str) -> Option<Vec<(String, Span)>> {
        let DocValue::Array(items) = &doc.value else {
            return self.wrong_kind(doc, what, "an array of strings");
        };
        let strings: Vec<Option<(String, Span)>> = items
            .iter()
            .map(|item| self.string(item, what).map(|t| (t.text.clone(), item.span)))
            .collect();
        strings.into_iter().collect()
    }

    pub(super) fn array_of_tables<'d>(&mut self, doc: &'d Doc, what: &str) -> &'d [Doc] {
        match &doc.value {
            DocValue::Array(items) => items,
            _ => {
                self.wrong_kind::<()>(doc, what, "an array of tables");
                &[]
            }
        }
    }

    /// Whether no item of the list `what` is listed twice; each repeat is
    /// reported (a channel listed twice in a cap would be counted twice by
    /// a history that sums per channel).
    pub(super) fn distinct(&mut self, items: &[(String, Span)], what: &str) -> bool {
        let mut distinct = true;
        let mut listed = FirstSeen::default();
        for (item, span) in items {
            if let Some(first) = listed.repeat(item, *span) {
                self.report(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{item}` is listed twice in {what}"),
                        *span,
                    )
                    .with_label("listed again here")
                    .with_secondary(first, "first listed here"),
                );
                distinct = false;
            }
        }
        distinct
    }

    /// Whether `item`'s id (its `key`) is not defined earlier; a repeat is
    /// reported, even when the first definition has problems of its own.
    pub(super) fn first_definition<'d>(
        &mut self,
        kind: &str,
        item: &'d Doc,
        key: &str,
        seen: &mut FirstSeen<'d>,
    ) -> bool {
        let Some((id, span)) = peek_string(item, key) else {
            return true;
        };
        let Some(first) = seen.repeat(id, span) else {
            return true;
        };
        self.report(
            Diagnostic::error(
                Code::DuplicateId,
                format!("duplicate {kind} {key} `{id}`"),
                span,
            )
            .with_label("defined again here")
            .with_secondary(first, "first defined here"),
        );
        false
    }
}

/// `diagnostic` about the unknown `name`, labelled "did you mean" with the
/// closest of `candidates`, or by `otherwise` when none is close enough.
pub(super) fn did_you_mean<'a>(
    diagnostic: Diagnostic,
    name: &str,
    candidates: impl IntoIterator<Item = &'a &'a str>,
    otherwise: impl FnOnce(Diagnostic) -> Diagnostic,
) -> Diagnostic {
    match suggest(name, candidates.into_iter().copied()) {
        Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
        None => otherwise(diagnostic),
    }
}

/// Where each name was first written: a repeat is found with one look-up,
/// so checking a table of n keys or a file of n ids is linear in n.
#[derive(Debug, Default)]
pub(super) struct FirstSeen<'a> {
    first: HashMap<&'a str, Span>,
}

impl<'a> FirstSeen<'a> {
    /// Records `name`, written at `span`; if it was written before, where it
    /// was first written (and the first place is kept).
    pub(super) fn repeat(&mut self, name: &'a str, span: Span) -> Option<Span> {
        match self.first.entry(name) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(entry) => {
                entry.insert(span);
                None
            }
        }
    }
}

/// The string value of `key` in a table, without reporting anything.
pub(super) fn peek_string<'d>(doc: &'d Doc, key: &str) -> Option<(&'d str, Span)> {
    let DocValue::Table(entries) = &doc.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.text == key)
        .and_then(|(_, v)| match &v.value {
            DocValue::String(t) => Some((t.text.as_str(), v.span)),
            _ => None,
        })
}

/// `Some(None)` (a present but invalid optional value) becomes `None` (fail);
/// absent (`None`) becomes `Some(None)`.
pub(super) fn optional<T>(value: Option<Option<T>>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(None) => None,
        Some(Some(v)) => Some(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_seen_keeps_the_first_place_of_each_name() {
        let mut seen = FirstSeen::default();
        assert_eq!(seen.repeat("a", Span::new(0, 1)), None);
        assert_eq!(seen.repeat("b", Span::new(2, 3)), None);
        assert_eq!(seen.repeat("a", Span::new(4, 5)), Some(Span::new(0, 1)));
        assert_eq!(seen.repeat("a", Span::new(6, 7)), Some(Span::new(0, 1)));
        assert_eq!(seen.first.len(), 2, "one entry per name, found by hashing");
    }
}
