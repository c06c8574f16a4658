//! `Serialize` and `Deserialize` for the value types, and `Serialize` for
//! the types a check or a history hands back (feature `serde`). The output
//! types of decisions are serialised in `decide::output`, as the lines the
//! command line prints.
//!
//! Every form is the one of the rule files, profiles and output lines:
//! instants as RFC 3339 strings, durations as `7d`, types as `list<int>`,
//! names of categories, outcomes and severities as rule files write them.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::diagnostic::{Diagnostic, Severity};
use crate::history::{JourneyState, JourneyStatus, Outcome, Record};
use crate::rules::Category;
use crate::schema::Type;
use crate::syntax::Span;
use crate::value::{AsJson, Duration, Timestamp, Truth, Value};

/// A type whose form is a string: written by `Display`, read by `FromStr`.
macro_rules! as_string {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Text;
                impl Visitor<'_> for Text {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$ty, E> {
                        text.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Text)
            }
        }
    )*};
}

as_string! {
    Timestamp => "an RFC 3339 timestamp such as `2026-11-24T09:00:00Z`",
    Duration => "a duration such as `7d`",
    Type => "a type name such as `int` or `list<string>`",
}

/// A type whose form is one of its names.
macro_rules! as_name {
    ($($ty:ty),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }
    )*};
}

as_name!(Category, Outcome);

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// As JSON writes it: `null`, booleans, numbers, strings (timestamps and
/// durations too, as in profiles) and arrays.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        AsJson(self).serialize(serializer)
    }
}

/// From JSON's kinds: `null`, booleans, integers that fit `i64`, finite
/// floats, strings and arrays. A timestamp or duration arrives as a string:
/// a profile's schema makes it one ([`Profile::from_json`](crate::Profile::from_json)).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, a boolean, a number, a string or an array of them")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("{u} is larger than the largest int")))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        if x.is_finite() {
            Ok(Value::Float(x))
        } else {
            Err(E::custom(format!("{x} is not a finite float")))
        }
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::from(text))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::List(items.into()))
    }
}

/// `true`, `false` or `null` (unknown).
impl Serialize for Truth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_option().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Truth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<bool>::deserialize(deserializer).map(Truth::from_option)
    }
}

/// `{"start": …, "end": …}`, byte offsets.
impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut span = serializer.serialize_struct("Span", 2)?;
        span.serialize_field("start", &self.start)?;
        span.serialize_field("end", &self.end)?;
        span.end()
    }
}

/// `{"severity", "code", "message", "span", "label", "secondary", "help"}`:
/// what a tool shows beside the source, without rendering it.
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Secondary<'a> {
            span: Span,
            label: &'a str,
        }
        let secondary: Vec<Secondary<'_>> = (self.secondary.iter())
            .map(|(span, label)| Secondary { span: *span, label })
            .collect();
        let mut diagnostic = serializer.serialize_struct("Diagnostic", 7)?;
        diagnostic.serialize_field("severity", &self.severity)?;
        diagnostic.serialize_field("code", self.code.as_str())?;
        diagnostic.serialize_field("message", &self.message)?;
        diagnostic.serialize_field("span", &self.span)?;
        diagnostic.serialize_field("label", &self.label)?;
        diagnostic.serialize_field("secondary", &secondary)?;
        diagnostic.serialize_field("help", &self.help)?;
        diagnostic.end()
    }
}

/// A history record as the `nextbest_contacts` view shows it: `journey` and
/// `step` are `null` outside journeys.
impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut record = serializer.serialize_struct("Record", 9)?;
        record.serialize_field("profile", self.profile.as_str())?;
        record.serialize_field("action", self.action.as_str())?;
        record.serialize_field("channel", self.channel.as_str())?;
        record.serialize_field("category", &self.category)?;
        record.serialize_field("outcome", &self.outcome)?;
        record.serialize_field("at", &self.at)?;
        record.serialize_field("send_at", &self.send_at)?;
        record.serialize_field("key", self.key.as_str())?;
        let (journey, step) = match &self.journey {
            Some((journey, step)) => (Some(journey.as_str()), Some(*step)),
            None => (None, None),
        };
        record.serialize_field("journey", &journey)?;
        record.serialize_field("step", &step)?;
        record.end()
    }
}

/// `{"status", "entered_at", "left_at", "enrolment", "steps_done", "tried"}`.
impl Serialize for JourneyState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("JourneyState", 6)?;
        state.serialize_field("status", self.status.name())?;
        state.serialize_field("entered_at", &self.entered_at)?;
        let left_at = match self.status {
            JourneyStatus::Active => None,
            JourneyStatus::Exited(at) | JourneyStatus::Completed(at) => Some(at),
        };
        state.serialize_field("left_at", &left_at)?;
        state.serialize_field("enrolment", &self.enrolment)?;
        state.serialize_field("steps_done", &self.done)?;
        state.serialize_field("tried", &self.tried)?;
        state.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn values_round_trip_through_json_in_their_json_kinds() {
        let json = r#"[null,true,-9223372036854775808,0.5,"é",[1,2]]"#;
        let value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        let err = serde_json::from_str::<Value>("9223372036854775808").unwrap_err();
        assert!(
            err.to_string().contains("larger than the largest int"),
            "{err}"
        );
    }

    #[test]
    fn instants_durations_and_types_are_their_rule_file_strings() {
        let at: Timestamp = serde_json::from_str(r#""2026-11-24T09:00:00Z""#).unwrap();
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            r#""2026-11-24T09:00:00Z""#
        );
        let week: Duration = serde_json::from_str(r#""7d""#).unwrap();
        assert_eq!(serde_json::to_string(&week).unwrap(), r#""1w""#);
        let ty: Type = serde_json::from_str(r#""list<int>""#).unwrap();
        assert_eq!(serde_json::to_string(&ty).unwrap(), r#""list<int>""#);
        let err = serde_json::from_str::<Duration>(r#""7 days""#).unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
        let truth: Vec<Truth> = serde_json::from_str("[true,false,null]").unwrap();
        assert_eq!(truth, [Truth::True, Truth::False, Truth::Unknown]);
    }
}
