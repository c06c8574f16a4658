//! `Profile::from_serialize` against `Profile::from_json`, and the builder's
//! handles.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Profile, ProfileError};
use crate::schema::{EventSchema, Schema, Type};
use crate::value::Value;

/// Everything a profile holds, comparable: id, values and evaluation slots
/// by slot (a slot that points to a value no slot holds, by that value: its
/// index depends on the order the attributes were set in), events column
/// by column.
pub(super) fn contents(p: &Profile) -> String {
    let slots: Vec<_> = (0..p.schema.attribute_count())
        .map(|s| {
            let slot = p.slot(s);
            slot.other_index()
                .map_or(Ok(slot), |index| Err(&p.rest().others[index]))
        })
        .collect();
    format!(
        "{:?} {:?} {:?} {:?}",
        p.id(),
        p.values(),
        slots,
        p.rest().events
    )
}

pub(super) fn same(a: &Result<Profile, ProfileError>, b: &Result<Profile, ProfileError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => contents(a) == contents(b),
        // Every field, the JSON parser's error included.
        (Err(a), Err(b)) => format!("{a:?}") == format!("{b:?}"),
        _ => false,
    }
}

pub(super) fn schema() -> Schema {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("lifetime_value", Type::Float)
        .attribute("user_segment", Type::String)
        .attribute("email_opt_in", Type::Bool)
        .attribute("signed_up", Type::Timestamp)
        .attribute("cooldown", Type::Duration)
        .attribute("tags", Type::List(Box::new(Type::String)))
        .attribute("id", Type::Int)
        .event(
            "purchase",
            EventSchema::new().property("amount", Type::Float),
        )
        .build()
        .unwrap()
}

#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Segment {
    Active,
}

#[derive(Serialize)]
struct Event {
    event: &'static str,
    timestamp: &'static str,
    properties: Amount,
}

#[derive(Serialize)]
struct Amount {
    amount: f32,
}

#[derive(Serialize)]
struct Flat {
    lifetime_value: u8,
    id: &'static str,
    login_count_30d: Option<i32>,
    user_segment: Segment,
    email_opt_in: bool,
    signed_up: String,
    cooldown: &'static str,
    tags: (char, &'static str),
    unknown: Vec<u8>,
    events: Vec<Event>,
}

#[test]
fn a_flat_struct_is_the_json_form() {
    let flat = Flat {
        lifetime_value: 120,
        id: "c-1",
        login_count_30d: Some(3),
        user_segment: Segment::Active,
        email_opt_in: true,
        signed_up: "2026-01-05T10:00:00Z".into(),
        cooldown: "7d",
        tags: ('a', "bc"),
        unknown: vec![1, 2],
        events: vec![Event {
            event: "purchase",
            timestamp: "2026-02-01T00:00:00Z",
            properties: Amount { amount: 2.5 },
        }],
    };
    let json = json!({
        "id": "c-1",
        "traits": {
            "lifetime_value": 120, "login_count_30d": 3, "user_segment": "active",
            "email_opt_in": true, "signed_up": "2026-01-05T10:00:00Z", "cooldown": "7d",
            "tags": ["a", "bc"],
        },
        "events": [{"event": "purchase", "timestamp": "2026-02-01T00:00:00Z", "properties": {"amount": 2.5}}],
    });
    let from_struct = Profile::from_serialize(&schema(), &flat);
    let from_json = Profile::from_json_value(&schema(), &json, false).map(|(p, _)| p);
    assert!(same(&from_struct, &from_json), "{from_struct:?}");
    let p = from_struct.unwrap();
    assert_eq!(p.attribute("lifetime_value"), Some(&Value::Float(120.0)));
    assert_eq!(p.attribute("id"), Some(&Value::Null));
    assert_eq!(p.event_count("purchase"), 1);
    // The JSON form itself, as a `Serialize` value.
    assert!(same(&Profile::from_serialize(&schema(), &json), &from_json));
}

#[test]
fn the_id_is_optional_and_may_be_a_number() {
    #[derive(Serialize)]
    struct NoId {
        login_count_30d: i64,
    }
    let p = Profile::from_serialize(&schema(), &NoId { login_count_30d: 1 }).unwrap();
    assert_eq!(p.id(), "");
    let p = Profile::from_serialize(&schema(), &json!({"id": 42})).unwrap();
    assert_eq!(p.id(), "42");
    let p = Profile::from_serialize(&schema(), &json!({"id": 4.5})).unwrap();
    assert_eq!(p.id(), "4.5");
}

#[test]
fn errors_name_the_profile_even_when_the_id_comes_last() {
    #[derive(Serialize)]
    struct Late {
        login_count_30d: &'static str,
        lifetime_value: &'static str,
        id: &'static str,
    }
    let late = Late {
        login_count_30d: "x",
        lifetime_value: "y",
        id: "c-9",
    };
    let err = Profile::from_serialize(&schema(), &late).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile `c-9`, field `traits.login_count_30d`: expected int, found string \"x\""
    );
}

#[test]
fn trait_errors_come_before_event_errors() {
    let json = json!({
        "events": [{"event": "purchase", "timestamp": "yesterday"}],
        "traits": {"email_opt_in": 1},
        "id": "c-3",
    });
    let err = Profile::from_serialize(&schema(), &json).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile `c-3`, field `traits.email_opt_in`: expected bool, found number 1"
    );
    let json = json!({"id": "c-3", "events": [{"event": "purchase", "timestamp": "yesterday"}]});
    let err = Profile::from_serialize(&schema(), &json).unwrap_err();
    let from_text = Profile::from_json(&schema(), &json.to_string()).unwrap_err();
    assert_eq!(format!("{err:?}"), format!("{from_text:?}"));
}

#[test]
fn shapes_that_are_not_profiles() {
    let err = Profile::from_serialize(&schema(), &3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a profile must be a JSON object, found number 3"
    );
    let err = Profile::from_serialize(&schema(), &json!({"id": true})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `id` must be a string, found bool true"
    );
    let err = Profile::from_serialize(&schema(), &json!({"id": "c", "traits": [1]})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile `c`, field `traits`: expected an object, found array [1]"
    );
}

#[test]
fn non_finite_floats_are_errors() {
    #[derive(Serialize)]
    struct Nan {
        lifetime_value: f64,
    }
    let err = Profile::from_serialize(
        &schema(),
        &Nan {
            lifetime_value: f64::NAN,
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile ``, field `traits.lifetime_value`: expected float, found number NaN"
    );
}

/// A builder refuses what JSON cannot hold either: the language has no NaN
/// or infinity, and a trigger must never see one.
#[test]
fn builders_refuse_non_finite_floats() {
    let schema = schema();
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Profile::builder(&schema, "c-1")
            .attribute("lifetime_value", Value::Float(x))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "profile `c-1`, field `traits.lifetime_value`: expected float, \
                 found non-finite float {x}"
            )
        );
        let handle = schema.attribute_handle("lifetime_value").unwrap();
        let by_handle = Profile::builder(&schema, "c-1").set(handle, Value::Float(x));
        assert!(by_handle.build().is_err());
    }
}

#[test]
fn handles_set_attributes_without_names() {
    let schema = schema();
    let logins = schema.attribute_handle("login_count_30d").unwrap();
    let value = schema.attribute_handle("lifetime_value").unwrap();
    assert!(schema.attribute_handle("nope").is_none());
    let by_handle = Profile::builder(&schema, "c-1")
        .set(logins, 3)
        .set(value, 2)
        .build();
    let by_name = Profile::builder(&schema, "c-1")
        .attribute("login_count_30d", 3)
        .attribute("lifetime_value", 2)
        .build();
    assert!(same(&by_handle, &by_name));
    let err = Profile::builder(&schema, "c-1")
        .set(logins, "x")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile `c-1`, field `traits.login_count_30d`: expected int, found string \"x\""
    );
    let other = Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .build()
        .unwrap();
    let foreign = other.attribute_handle("login_count_30d").unwrap();
    assert!(matches!(
        Profile::builder(&schema, "c-1").set(foreign, 1).build(),
        Err(ProfileError::UnknownField { .. })
    ));
}

// ---------------------------------------------------------------------------
// Properties

pub(super) fn any_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Int),
        Just(Type::Float),
        Just(Type::String),
        Just(Type::Timestamp),
        Just(Type::Duration),
    ];
    leaf.prop_recursive(2, 4, 1, |item| item.prop_map(|t| Type::List(Box::new(t))))
}

/// Any JSON a trait might be given: every kind, including the edges of the
/// number rules and strings that are timestamps or durations.
pub(super) fn any_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        prop_oneof![
            (-1e6f64..1e6).prop_map(|x| x.round()),
            -1e300f64..1e300,
            Just(9_007_199_254_740_992.0),
            Just(-9_223_372_036_854_775_808.0),
        ]
        .prop_map(Json::from),
        prop_oneof![
            Just("2026-01-05T10:00:00Z".to_owned()),
            Just("7d".to_owned()),
            Just("90m".to_owned()),
            "[a-z]{0,20}",
        ]
        .prop_map(Json::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Json::from),
            prop::collection::btree_map("[a-c]", inner, 0..2)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

pub(super) const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn any_profile() -> impl Strategy<Value = (Vec<Type>, Json)> {
    let event = (
        prop_oneof![Just("purchase"), Just("other")],
        prop_oneof![
            Just(json!("2026-01-05T10:00:00Z")),
            Just(json!("then")),
            Just(json!(1))
        ],
        prop::option::of(prop::collection::btree_map(
            prop_oneof![Just("amount"), Just("x")],
            any_json(),
            0..2,
        )),
    )
        .prop_map(|(event, timestamp, properties)| {
            let mut e = json!({"event": event, "timestamp": timestamp});
            if let Some(p) = properties {
                e["properties"] =
                    Json::Object(p.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
            }
            e
        });
    (
        prop::collection::vec(any_type(), NAMES.len()),
        prop::collection::vec((prop::sample::select(&NAMES[..]), any_json()), 0..5),
        prop::collection::vec(event, 0..3),
        prop_oneof![Just(json!("c-1")), Just(json!(7)), Just(json!(null))],
    )
        .prop_map(|(types, traits, events, id)| {
            let traits: serde_json::Map<String, Json> =
                traits.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            (types, json!({"id": id, "traits": traits, "events": events}))
        })
}

pub(super) fn schema_of(types: &[Type]) -> Schema {
    let mut builder = Schema::builder().event(
        "purchase",
        EventSchema::new().property("amount", Type::Float),
    );
    for (name, ty) in NAMES.iter().zip(types) {
        builder = builder.attribute(*name, ty.clone());
    }
    builder.build().unwrap()
}

/// A struct of several Rust types, with values at the edges.
#[derive(Debug, Serialize)]
struct Typed {
    a: i64,
    b: Option<f64>,
    c: String,
    d: Vec<u64>,
}

fn any_struct() -> impl Strategy<Value = Typed> {
    (
        any::<i64>(),
        prop::option::of(prop_oneof![
            -1e20f64..1e20,
            (-100f64..100.0).prop_map(|x| x.round())
        ]),
        prop_oneof![
            Just("2026-01-05T10:00:00Z".to_owned()),
            Just("7d".to_owned()),
            "[a-z]{0,20}"
        ],
        prop::collection::vec(any::<u64>(), 0..3),
    )
        .prop_map(|(a, b, c, d)| Typed { a, b, c, d })
}

proptest! {
    /// The JSON form, as a `Serialize` value, loads as `from_json` loads it.
    #[test]
    fn from_serialize_is_from_json((types, json) in any_profile()) {
        let schema = schema_of(&types);
        let direct = Profile::from_serialize(&schema, &json);
        // The decoded JSON: its text would not round-trip every float.
        let loaded = Profile::from_json_value(&schema, &json, false).map(|(p, _)| p);
        prop_assert!(same(&direct, &loaded), "{:?}\n{:?}", direct, loaded);
    }

    /// A flat struct loads as its traits do in the JSON form, whatever the
    /// declared types (so wrong types give the same errors).
    #[test]
    fn a_struct_is_its_traits(value in any_struct(), types in prop::collection::vec(any_type(), NAMES.len())) {
        let schema = schema_of(&types);
        let direct = Profile::from_serialize(&schema, &value);
        let json = json!({"id": "", "traits": serde_json::to_value(&value).unwrap()});
        // The decoded JSON: its text would not round-trip every float.
        let loaded = Profile::from_json_value(&schema, &json, false).map(|(p, _)| p);
        prop_assert!(same(&direct, &loaded), "{:?}\n{:?}", direct, loaded);
    }
}

#[test]
fn the_field_cache_follows_structs_and_schemas() {
    #[derive(Serialize)]
    struct One {
        login_count_30d: i64,
        lifetime_value: f64,
    }
    #[derive(Serialize)]
    struct Two {
        lifetime_value: f64,
        login_count_30d: i64,
    }
    let other = Schema::builder()
        .attribute("lifetime_value", Type::Float)
        .attribute("login_count_30d", Type::Int)
        .build()
        .unwrap();
    for _ in 0..3 {
        for schema in [schema(), other.clone()] {
            let one = Profile::from_serialize(
                &schema,
                &One {
                    login_count_30d: 1,
                    lifetime_value: 2.0,
                },
            );
            let two = Profile::from_serialize(
                &schema,
                &Two {
                    lifetime_value: 2.0,
                    login_count_30d: 1,
                },
            );
            assert!(same(&one, &two));
            let p = one.unwrap();
            assert_eq!(p.attribute("login_count_30d"), Some(&Value::Int(1)));
            assert_eq!(p.attribute("lifetime_value"), Some(&Value::Float(2.0)));
        }
    }
}

/// Two schemas whose old fingerprint text was the same (`a:x:int;a:y:string;`
/// against an attribute named `x:int;a:y`): a struct serialized under one
/// must not write its fields under the other's types (found in review).
#[test]
fn a_struct_serialized_under_two_look_alike_schemas_keeps_each_schema_s_types() {
    #[derive(Serialize)]
    struct S {
        x: i64,
        y: &'static str,
    }
    let a = Schema::builder()
        .attribute("x", Type::Int)
        .attribute("y", Type::String)
        .build()
        .unwrap();
    let b = Schema::builder()
        .attribute("x:int;a:y", Type::String)
        .build()
        .unwrap();
    assert_ne!(a.fingerprint(), b.fingerprint());
    let s = S { x: 5, y: "v" };
    let under_a = Profile::from_serialize(&a, &s).unwrap();
    assert_eq!(under_a.attribute("x"), Some(&Value::Int(5)));
    let under_b = Profile::from_serialize(&b, &s).unwrap();
    assert_eq!(under_b.attribute("x:int;a:y"), Some(&Value::Null));
}

#[test]
fn text_that_is_not_json_keeps_the_parsers_error_as_its_source() {
    let err = Profile::from_json(&schema(), r#"{"id": "c-1", "traits": {"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid JSON at column 25: EOF while parsing an object"
    );
    let source = std::error::Error::source(&err)
        .and_then(|source| source.downcast_ref::<std::sync::Arc<serde_json::Error>>())
        .expect("the JSON parser's error as the source");
    assert!(source.is_eof());
    let err = Profile::from_json(&schema(), r#"{"id": 01}"#).unwrap_err();
    let Some(ProfileError::InvalidJson { column: 9, .. }) = Some(&err) else {
        panic!("{err:?}");
    };
}
