//! Channels and `[consent]`: the consent table is the list of channels. Every
//! channel an action or a cap names is declared there, one that needs no
//! opt-in as `in_app = {}`; a channel named anywhere else is a load error, so
//! a misspelt channel never sends without consent.

use indexmap::IndexSet;

use super::Loader;
use super::read::{did_you_mean, optional, peek_string};
use crate::diagnostic::{Code, Diagnostic};
use crate::rules::doc::{Doc, DocValue};
use crate::rules::model::*;
use crate::schema::{Schema, Type};
use crate::syntax::Span;

/// Channels nextbest knows without an action using them.
const KNOWN_CHANNELS: [&str; 6] = ["email", "push", "sms", "in_app", "sales_task", "webhook"];

/// The key of `[consent]` that is not a channel.
const UNSUBSCRIBED: &str = "unsubscribed";

impl Loader<'_> {
    /// Whether `[consent]` declares the channel `name`, written at `span`
    /// by an action or a cap; an undeclared one is reported.
    pub(super) fn declared_channel(
        &mut self,
        name: &str,
        span: Span,
        declared: &IndexSet<&str>,
    ) -> bool {
        let message = || format!("channel `{name}` is not declared in [consent]");
        self.channel_in(name, span, declared, message, |d| {
            d.with_label("not declared in [consent]").with_help(format!(
                "declare it in [consent]: `{name} = {{ opt_in = \"<bool trait>\" }}`, \
                 or `{name} = {{}}` if it needs no opt-in"
            ))
        })
    }

    /// Whether a `[consent]` key names a channel nextbest knows or an action
    /// uses; another one (a typo) is reported.
    fn known_channel(&mut self, name: &str, span: Span, known: &IndexSet<&str>) -> bool {
        let message = || format!("unknown channel `{name}`");
        self.channel_in(name, span, known, message, |d| {
            let known: Vec<&str> = known.iter().copied().collect();
            d.with_label("no action uses this channel")
                .with_help(format!("known channels: {}", known.join(", ")))
        })
    }

    /// Whether `name` is one of `channels`; if not, `message` is reported
    /// where it is written with the closest channel as "did you mean", or as
    /// `otherwise` labels it.
    fn channel_in(
        &mut self,
        name: &str,
        span: Span,
        channels: &IndexSet<&str>,
        message: impl FnOnce() -> String,
        otherwise: impl FnOnce(Diagnostic) -> Diagnostic,
    ) -> bool {
        if channels.contains(name) {
            return true;
        }
        let diagnostic = Diagnostic::error(Code::UnknownChannel, message(), span);
        self.report(did_you_mean(diagnostic, name, channels, otherwise));
        false
    }

    pub(super) fn consent(
        &mut self,
        doc: &Doc,
        schema: &Schema,
        known: &IndexSet<&str>,
    ) -> Consent {
        let mut consent = Consent::default();
        let Some(fields) = self.fields(doc, "[consent]", &[]) else {
            return consent;
        };
        for (key, value) in fields.entries {
            if key.text == UNSUBSCRIBED {
                consent.unsubscribed =
                    self.trait_ref(value, "`consent.unsubscribed`", schema, &Type::Bool);
                continue;
            }
            if !self.known_channel(&key.text, key.span, known) {
                continue;
            }
            let what = format!("consent for `{}`", key.text);
            let Some(rule) = self.fields(value, &what, &["opt_in", "expires"]) else {
                continue;
            };
            if rule.entries.is_empty() {
                consent.open.push(key.text.clone());
                continue;
            }
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
}

/// The channels `[consent]` declares, in file order: its keys but
/// `unsubscribed`, whether or not their entries are valid (an entry with
/// problems of its own is reported there, not at every action on it).
pub(super) fn declared_channels(consent: Option<&Doc>) -> IndexSet<&str> {
    match consent.map(|d| &d.value) {
        Some(DocValue::Table(entries)) => (entries.iter())
            .map(|(key, _)| key.text.as_str())
            .filter(|key| *key != UNSUBSCRIBED)
            .collect(),
        _ => IndexSet::new(),
    }
}

/// The channels a `[consent]` key may name: those nextbest knows, then those
/// the `[[action]]` tables name, valid or not.
pub(super) fn known_channels(actions: Option<&Doc>) -> IndexSet<&str> {
    let named: &[Doc] = match actions.map(|d| &d.value) {
        Some(DocValue::Array(items)) => items,
        _ => &[],
    };
    let named = named.iter().filter_map(|a| peek_string(a, "channel"));
    (KNOWN_CHANNELS.into_iter())
        .chain(named.map(|(channel, _)| channel))
        .collect()
}
