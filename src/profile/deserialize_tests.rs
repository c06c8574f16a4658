//! The streaming JSON reader against the `Value` loader, its reference:
//! on JSON text, so that duplicate keys, key order and number literals
//! outside what a `serde_json::Value` holds are covered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;

use super::deserialize;
use super::tests::{NAMES, any_json, any_type, same, schema, schema_of};
use super::{Profile, ProfileError};
use crate::schema::{EventSchema, Schema, Type};
use crate::value::Value;

/// Number and string literals at the edges, as JSON text.
const LITERALS: [&str; 22] = [
    "-9223372036854775809",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740992",
    "9007199254740993",
    "9007199254740993.0",
    "-9007199254740992.0",
    "1e400",
    "-0",
    "-0.0",
    "1.0",
    "3e2",
    "\"é€😀\"",
    "\"\\u00e9\\n\"",
    "\"\\ud800\"",
    "\"2026-01-05T10:00:00Z\"",
    "\"7d\"",
    "[1, 2.5, null, \"x\"]",
    "{\"a\": [1, {\"b\": null}]}",
];

fn any_value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any_json().prop_map(|j| j.to_string()),
        2 => prop::sample::select(&LITERALS[..]).prop_map(str::to_owned),
        1 => prop::collection::vec(prop::sample::select(&LITERALS[..]), 0..3)
            .prop_map(|items| format!("[{}]", items.join(", "))),
    ]
}

/// An object as text, keys in the order given, duplicates kept.
fn object(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn entries(
    keys: &'static [&'static str],
    value: impl Strategy<Value = String>,
    max: usize,
) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (prop::sample::select(keys).prop_map(str::to_owned), value),
        0..max,
    )
}

fn any_event() -> impl Strategy<Value = String> {
    let event = prop_oneof![
        4 => prop::sample::select(&["\"purchase\"", "\"other\""][..]).prop_map(str::to_owned),
        1 => any_value_text(),
    ];
    let timestamp = prop_oneof![
        4 => Just("\"2026-01-05T10:00:00Z\"".to_owned()),
        1 => Just("\"2026-01-05T10:00:00+02:00\"".to_owned()),
        1 => any_value_text(),
    ];
    let properties = prop_oneof![
        4 => entries(&["amount", "x", "amount"], any_value_text(), 3).prop_map(|e| object(&e)),
        1 => any_value_text(),
    ];
    let key = prop_oneof![
        4 => Just(("event", 0)),
        4 => Just(("timestamp", 1)),
        3 => Just(("properties", 2)),
        1 => Just(("extra", 3)),
    ];
    prop::collection::vec((key, event, timestamp, properties, any_value_text()), 0..5).prop_map(
        |fields| {
            let entries: Vec<(String, String)> = fields
                .into_iter()
                .map(|((k, which), e, t, p, x)| {
                    let v = match which {
                        0 => e,
                        1 => t,
                        2 => p,
                        _ => x,
                    };
                    (k.to_owned(), v)
                })
                .collect();
            object(&entries)
        },
    )
}

/// A profile line: top-level fields in any order, sometimes repeated or
/// missing, traits known and unknown, events, and sometimes broken text.
fn any_line() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        4 => Just("\"c-1\"".to_owned()),
        1 => Just("\"é-ü\"".to_owned()),
        1 => any_value_text(),
    ];
    let traits = prop_oneof![
        6 => entries(&["a", "b", "c", "d", "zz", "é", "a"], any_value_text(), 6)
            .prop_map(|e| object(&e)),
        1 => any_value_text(),
    ];
    let events = prop_oneof![
        6 => prop::collection::vec(any_event(), 0..4).prop_map(|e| format!("[{}]", e.join(", "))),
        1 => any_value_text(),
    ];
    let field = prop_oneof![
        4 => id.prop_map(|v| ("id".to_owned(), v)),
        4 => traits.prop_map(|v| ("traits".to_owned(), v)),
        4 => events.prop_map(|v| ("events".to_owned(), v)),
        1 => any_value_text().prop_map(|v| ("other".to_owned(), v)),
    ];
    let broken = prop_oneof![
        12 => Just(None),
        1 => Just(Some(" x")),
        1 => Just(Some(" {}")),
        1 => Just(Some("\n")),
    ];
    (
        prop::collection::vec(field, 0..5),
        broken,
        0usize..200,
        any::<bool>(),
    )
        .prop_map(|(fields, broken, cut, truncate)| {
            let mut text = object(&fields);
            if truncate && cut < text.len() && text.is_char_boundary(cut) && broken.is_some() {
                text.truncate(cut);
            } else if let Some(tail) = broken {
                text.push_str(tail);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the text, `from_json` gives what the `Value` loader gives;
    /// and what the streaming reader accepts on its own is that too.
    #[test]
    fn streaming_is_the_value_loader(
        types in prop::collection::vec(any_type(), NAMES.len()),
        line in any_line(),
    ) {
        let schema = schema_of(&types);
        let reference = Profile::from_json_dom(&schema, &line);
        let loaded = Profile::from_json(&schema, &line);
        prop_assert!(same(&loaded, &reference), "{line}\n{loaded:?}\n{reference:?}");
        if let Some(streamed) = deserialize::profile(&schema, &line) {
            prop_assert!(same(&Ok(streamed), &reference), "{line}\n{reference:?}");
        }
    }
}

fn classic() -> Schema {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("lifetime_value", Type::Float)
        .attribute("user_segment", Type::String)
        .attribute("email_opt_in", Type::Bool)
        .attribute("last_login", Type::Timestamp)
        .event("login", EventSchema::new())
        .event(
            "page_view",
            EventSchema::new().property("path", Type::String),
        )
        .build()
        .unwrap()
}

/// Ordinary lines never need the `Value` loader.
#[test]
fn ordinary_lines_take_the_fast_path() {
    let schema = classic();
    for line in include_str!("../../examples/data/customers.jsonl").lines() {
        let streamed = deserialize::profile(&schema, line);
        assert!(streamed.is_some(), "{line}");
        assert!(same(
            &Ok(streamed.unwrap()),
            &Profile::from_json_dom(&schema, line)
        ));
    }
    // Keys in any order, properties before the event name, escapes.
    let line = r#"{"traits": {"login_count_30d": 2.0, "user_segment": "\u00e9"}, "events": [{"properties": {"path": "/x"}, "timestamp": "2026-01-05T10:00:00Z", "event": "page_view"}, {"event": "nope", "timestamp": "later"}], "id": 12}"#;
    let p = deserialize::profile(&schema, line).unwrap();
    assert_eq!(p.id(), "12");
    assert_eq!(p.attribute("login_count_30d"), Some(&Value::Int(2)));
    assert_eq!(p.attribute("user_segment"), Some(&Value::from("é")));
    assert_eq!(p.event_count("page_view"), 1);
}

/// The errors are the `Value` loader's, naming the profile even when the id
/// comes last; the int rules hold at the edges of `i64` and of 2⁵³.
#[test]
fn errors_and_edges() {
    let schema = schema();
    let err = |text: &str| Profile::from_json(&schema, text).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"traits": {"login_count_30d": "x"}, "id": "b"}"#),
        "profile `b`, field `traits.login_count_30d`: expected int, found string \"x\""
    );
    for big in [
        "-9223372036854775809",
        "9223372036854775808",
        "9007199254740993.0",
    ] {
        let line = format!(r#"{{"id": "b", "traits": {{"login_count_30d": {big}}}}}"#);
        assert!(deserialize::profile(&schema, &line).is_none(), "{big}");
        assert!(err(&line).contains("traits.login_count_30d"), "{big}");
    }
    let int = |text: &str| {
        let line = format!(r#"{{"id": "b", "traits": {{"login_count_30d": {text}}}}}"#);
        deserialize::profile(&schema, &line).map(|p| p.attribute("login_count_30d").cloned())
    };
    assert_eq!(
        int("-9223372036854775808"),
        Some(Some(Value::Int(i64::MIN)))
    );
    assert_eq!(int("9223372036854775807"), Some(Some(Value::Int(i64::MAX))));
    assert_eq!(
        int("-9007199254740990.0"),
        Some(Some(Value::Int(-9_007_199_254_740_990)))
    );
    // Unknown traits must still be valid JSON, as the `Value` loader reads them.
    let out_of_range = r#"{"id": "b", "traits": {"unknown": 1e400}}"#;
    assert!(matches!(
        Profile::from_json(&schema, out_of_range),
        Err(ProfileError::InvalidJson { .. })
    ));
}
