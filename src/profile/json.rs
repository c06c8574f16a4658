//! The JSON form of a profile (SPEC §3): `{"id", "traits", "events"}`, and
//! the conversion rules from JSON values to typed [`Value`]s, which
//! [`Profile::from_serialize`] shares.

use std::fmt;

use serde_json::Value as Json;

use super::slots::{Cell, Slot};
use super::{Profile, ProfileBuilder, ProfileError};
use crate::schema::{Schema, Type};
use crate::value::{Duration, Timestamp, Value};

impl Profile {
    /// Parses the JSON form of SPEC §3 strictly: a value of the wrong type is an
    /// error. Unknown traits and event types are ignored.
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Type};
    /// let schema = Schema::builder().attribute("login_count_30d", Type::Int).build()?;
    /// let p = Profile::from_json(&schema, r#"{"id": "c-1", "traits": {"login_count_30d": 3}}"#)?;
    /// assert_eq!(p.id(), "c-1");
    /// let err = Profile::from_json(&schema, r#"{"id": "c-2", "traits": {"login_count_30d": "x"}}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "profile `c-2`, field `traits.login_count_30d`: expected int, found string \"x\"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Malformed JSON, a missing id, or a value of the wrong type, naming the
    /// profile id and the field.
    pub fn from_json(schema: &Schema, text: &str) -> Result<Profile, ProfileError> {
        // Straight into the slots; what that does not take, the `Value`
        // loader reads, and reports.
        if let Some(profile) = super::deserialize::profile(schema, text) {
            return Ok(profile);
        }
        Profile::from_json_dom(schema, text)
    }

    /// [`Profile::from_json`] through a `serde_json::Value`: the reference,
    /// and the path of every error.
    pub(super) fn from_json_dom(schema: &Schema, text: &str) -> Result<Profile, ProfileError> {
        let json: Json = serde_json::from_str(text).map_err(|e| {
            // One profile is one line: the column is the useful part.
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .and_then(|at| message.get(..at))
                .unwrap_or(&message)
                .to_owned();
            ProfileError::InvalidJson {
                column: e.column(),
                message,
                source: std::sync::Arc::new(e),
            }
        })?;
        Profile::from_json_value(schema, &json, false).map(|(profile, _)| profile)
    }

    /// Parses the JSON form of a profile, already decoded. With `lenient`, a
    /// value of the wrong type becomes NULL and is returned as a warning
    /// instead of failing the profile.
    ///
    /// # Errors
    /// A missing id, a structural problem, or (unless `lenient`) a value of the
    /// wrong type.
    pub fn from_json_value(
        schema: &Schema,
        json: &Json,
        lenient: bool,
    ) -> Result<(Profile, Vec<ProfileError>), ProfileError> {
        let (builder, warnings) = load_json(schema, json, lenient)?;
        Ok((builder.build()?, warnings))
    }
}

/// A profile's JSON form loaded into a builder, with the warnings of lenient mode.
fn load_json(
    schema: &Schema,
    json: &Json,
    lenient: bool,
) -> Result<(ProfileBuilder, Vec<ProfileError>), ProfileError> {
    let Json::Object(object) = json else {
        return Err(ProfileError::Json {
            message: format!("a profile must be a JSON object, found {}", describe(json)),
        });
    };
    let id = match object.get("id") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(ProfileError::Json {
                message: format!("field `id` must be a string, found {}", describe(other)),
            });
        }
        None => {
            return Err(ProfileError::Json {
                message: "missing field `id`".to_owned(),
            });
        }
    };
    let mut loader = JsonLoader {
        schema,
        builder: Profile::builder(schema, id),
        lenient,
        warnings: Vec::new(),
    };
    loader.traits(object.get("traits"))?;
    loader.events(object.get("events"))?;
    Ok((loader.builder, loader.warnings))
}

impl ProfileBuilder {
    /// A builder holding the JSON form of a profile (SPEC §3), loaded
    /// strictly as [`Profile::from_json`] does, to add to before building
    /// (the simulator adds the events still to come).
    ///
    /// ```
    /// use nextbest::{ProfileBuilder, Schema, Type, Value};
    /// let schema = Schema::builder().attribute("plan", Type::String).build()?;
    /// let json = serde_json::json!({"id": "c-1", "traits": {"plan": "basic"}});
    /// let p = ProfileBuilder::from_json_value(&schema, &json)?.attribute("plan", "pro").build()?;
    /// assert_eq!(p.attribute("plan"), Some(&Value::from("pro")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Profile::from_json`].
    pub fn from_json_value(schema: &Schema, json: &Json) -> Result<ProfileBuilder, ProfileError> {
        load_json(schema, json, false).map(|(builder, _)| builder)
    }

    /// Adds one event of the JSON form of SPEC §3 (`{"event", "timestamp",
    /// "properties"}`), strictly; `field` names it in errors. An event type
    /// the schema does not declare is ignored, as in profile files.
    ///
    /// ```
    /// use nextbest::{EventSchema, Profile, Schema, Type};
    /// let schema = Schema::builder().event("login", EventSchema::new()).build()?;
    /// let login = serde_json::json!({"event": "login", "timestamp": "2026-11-28T10:00:00Z"});
    /// let p = Profile::builder(&schema, "c-1").json_event("line 3", &login)?.build()?;
    /// assert_eq!(p.event_count("login"), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A malformed event or a property of the wrong type, naming the profile
    /// and `field`.
    pub fn json_event(self, field: &str, event: &Json) -> Result<ProfileBuilder, ProfileError> {
        self.load_json(|loader| loader.event(EventField::Named(field), event))
    }

    /// The profile's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The traits of a JSON object, typed by the schema but not set: the
    /// simulator applies them later. Unknown traits are left out.
    pub(crate) fn typed_traits(&self, traits: &Json) -> Result<Vec<(String, Value)>, ProfileError> {
        let Json::Object(object) = traits else {
            return Err(ProfileError::WrongType {
                profile: self.id.to_string(),
                field: "traits".to_owned(),
                expected: "an object".to_owned(),
                found: describe(traits),
            });
        };
        let mut typed = Vec::with_capacity(object.len());
        for (name, json) in object {
            let Some((_, ty)) = self.schema.attribute(name) else {
                continue;
            };
            let value = value_from_json(ty, json).ok_or_else(|| ProfileError::WrongType {
                profile: self.id.to_string(),
                field: format!("traits.{name}"),
                expected: ty.to_string(),
                found: describe(json),
            })?;
            typed.push((name.clone(), value));
        }
        Ok(typed)
    }

    pub(super) fn load_json(
        self,
        load: impl FnOnce(&mut JsonLoader<'_>) -> Result<(), ProfileError>,
    ) -> Result<ProfileBuilder, ProfileError> {
        let schema = self.schema.clone();
        let mut loader = JsonLoader {
            schema: &schema,
            builder: self,
            lenient: false,
            warnings: Vec::new(),
        };
        load(&mut loader)?;
        Ok(loader.builder)
    }
}

pub(super) struct JsonLoader<'s> {
    schema: &'s Schema,
    builder: ProfileBuilder,
    lenient: bool,
    warnings: Vec<ProfileError>,
}

impl JsonLoader<'_> {
    fn structural(&self, field: &str, expected: &str, found: &Json) -> ProfileError {
        ProfileError::WrongType {
            profile: self.builder.id.to_string(),
            field: field.to_owned(),
            expected: expected.to_owned(),
            found: describe(found),
        }
    }

    /// A value converted to `ty`; a mismatch is an error, or NULL and a
    /// warning when lenient.
    /// The field's path is only built when there is an error to report.
    fn value(
        &mut self,
        field: impl FnOnce() -> String,
        ty: &Type,
        json: &Json,
    ) -> Result<Value, ProfileError> {
        match value_from_json(ty, json) {
            Some(value) => Ok(value),
            None => {
                let error = ProfileError::WrongType {
                    profile: self.builder.id.to_string(),
                    field: field(),
                    expected: ty.to_string(),
                    found: describe(json),
                };
                if self.lenient {
                    self.warnings.push(error);
                    Ok(Value::Null)
                } else {
                    Err(error)
                }
            }
        }
    }

    fn traits(&mut self, traits: Option<&Json>) -> Result<(), ProfileError> {
        let traits = match traits {
            None | Some(Json::Null) => return Ok(()),
            Some(Json::Object(traits)) => traits,
            Some(other) => return Err(self.structural("traits", "an object", other)),
        };
        for (name, json) in traits {
            let Some((slot, ty)) = self.schema.attribute(name) else {
                continue;
            };
            let value = self.value(|| format!("traits.{name}"), ty, json)?;
            self.builder.attributes.set_value(slot, value);
        }
        Ok(())
    }

    pub(super) fn events(&mut self, events: Option<&Json>) -> Result<(), ProfileError> {
        let events = match events {
            None | Some(Json::Null) => return Ok(()),
            Some(Json::Array(events)) => events,
            Some(other) => return Err(self.structural("events", "an array", other)),
        };
        for (n, event) in events.iter().enumerate() {
            self.event(EventField::Index(n), event)?;
        }
        Ok(())
    }

    /// One event object; `field` names it in errors (`events[3]`).
    fn event(&mut self, field: EventField<'_>, event: &Json) -> Result<(), ProfileError> {
        let Json::Object(event) = event else {
            return Err(self.structural(&field.to_string(), "an object", event));
        };
        let name = match event.get("event") {
            Some(Json::String(name)) => name,
            Some(other) => {
                return Err(self.structural(&format!("{field}.event"), "a string", other));
            }
            None => {
                return Err(self.structural(
                    &format!("{field}.event"),
                    "an event name",
                    &Json::Null,
                ));
            }
        };
        let Some((index, event_schema)) = self.schema.event(name) else {
            return Ok(());
        };
        let at = match event.get("timestamp") {
            Some(json @ Json::String(text)) => match Timestamp::parse(text) {
                Ok(at) => at,
                Err(_) => {
                    return Err(self.structural(
                        &format!("{field}.timestamp"),
                        "an RFC 3339 timestamp",
                        json,
                    ));
                }
            },
            Some(other) => {
                return Err(self.structural(
                    &format!("{field}.timestamp"),
                    "an RFC 3339 timestamp",
                    other,
                ));
            }
            None => {
                return Err(self.structural(
                    &format!("{field}.timestamp"),
                    "a timestamp",
                    &Json::Null,
                ));
            }
        };
        let Some(row) = self
            .builder
            .events
            .get_mut(index)
            .map(|log| log.open(at.as_micros(), event_schema.len()))
        else {
            return Ok(());
        };
        match event.get("properties") {
            None | Some(Json::Null) => {}
            Some(Json::Object(properties)) => {
                for (property, json) in properties {
                    let Some((slot, ty)) = event_schema.get(property) else {
                        continue;
                    };
                    let value =
                        self.value(|| format!("{field}.properties.{property}"), ty, json)?;
                    if let Some(log) = self.builder.events.get_mut(index) {
                        log.set(row, slot, value);
                    }
                }
            }
            Some(other) => {
                return Err(self.structural(&format!("{field}.properties"), "an object", other));
            }
        }
        Ok(())
    }
}

/// Where an event object sits, for error messages; formatted only when one
/// is reported.
#[derive(Clone, Copy)]
enum EventField<'a> {
    /// `events[n]` of a profile.
    Index(usize),
    /// A named field (a line of a simulation timeline).
    Named(&'a str),
}

impl fmt::Display for EventField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventField::Index(n) => write!(f, "events[{n}]"),
            EventField::Named(name) => f.write_str(name),
        }
    }
}

/// `"string \"x\""`, `"a number 3.5"`… for error messages.
pub(super) fn describe(json: &Json) -> String {
    let text = json.to_string();
    let shown = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    };
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(_) => format!("bool {shown}"),
        Json::Number(n) if n.is_f64() && n.as_f64().is_some_and(|x| x.abs() >= EXACT_INT_BOUND) => {
            format!(
                "number {shown} (out of the int range, or a float past 2^53, which is not exact)"
            )
        }
        Json::Number(_) => format!("number {shown}"),
        Json::String(_) => format!("string {shown}"),
        Json::Array(_) => format!("array {shown}"),
        Json::Object(_) => format!("object {shown}"),
    }
}

/// One value as JSON or a serializer hands it over, before it is typed: the
/// conversion rules ([`value_from_scalar`]) are written once, for both.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    /// An integer in the `i64` range.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

/// Converts a scalar to a value of type `ty`: `None` when it does not fit.
/// `null` is NULL for every type; an int field takes a whole float below
/// 2⁵³ (see [`exact_int`]), a float field any finite number.
pub(super) fn value_from_scalar(ty: &Type, scalar: Scalar<'_>) -> Option<Value> {
    #[allow(clippy::cast_precision_loss)]
    Some(match (ty, scalar) {
        (_, Scalar::Null) => Value::Null,
        (Type::Bool, Scalar::Bool(b)) => Value::Bool(b),
        (Type::Int, Scalar::Int(i)) => Value::Int(i),
        (Type::Int, Scalar::UInt(u)) => Value::Int(exact_int(u as f64)?),
        (Type::Int, Scalar::Float(x)) => Value::Int(exact_int(x)?),
        (Type::Float, Scalar::Int(i)) => Value::Float(i as f64),
        (Type::Float, Scalar::UInt(u)) => Value::Float(u as f64),
        (Type::Float, Scalar::Float(x)) => Value::Float(Some(x).filter(|x| x.is_finite())?),
        (Type::String, Scalar::Str(s)) => Value::String(s.into()),
        (Type::Timestamp, Scalar::Str(s)) => Value::Timestamp(Timestamp::parse(s).ok()?),
        (Type::Duration, Scalar::Str(s)) => Value::Duration(Duration::parse(s).ok()?),
        _ => return None,
    })
}

/// [`value_from_scalar`] in the form an attribute keeps it: a string that
/// fits in a slot is copied there, never allocated.
/// The usual cases go straight to their slot.
#[inline]
pub(super) fn cell_from_scalar(ty: &Type, scalar: Scalar<'_>) -> Option<Cell> {
    Some(Cell::Slot(match (ty, scalar) {
        (_, Scalar::Null) => Slot::NULL,
        (Type::Bool, Scalar::Bool(b)) => Slot::of_bool(b),
        (Type::Int, Scalar::Int(i)) => Slot::of_int(i),
        (Type::Float, Scalar::Float(x)) if x.is_finite() => Slot::of_float(x),
        (Type::String, Scalar::Str(text)) => return Some(Cell::text(text)),
        (ty, scalar) => return value_from_scalar(ty, scalar).map(Cell::of),
    }))
}

/// Converts JSON to a value of type `ty`: `None` when it does not fit.
/// JSON `null` is NULL for every type.
pub(crate) fn value_from_json(ty: &Type, json: &Json) -> Option<Value> {
    let scalar = match json {
        Json::Null => Scalar::Null,
        Json::Bool(b) => Scalar::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Scalar::Int(i),
            (None, Some(u)) => Scalar::UInt(u),
            (None, None) => Scalar::Float(n.as_f64()?),
        },
        Json::String(s) => Scalar::Str(s),
        Json::Array(items) => {
            let Type::List(item) = ty else {
                return None;
            };
            let items: Option<Vec<Value>> =
                items.iter().map(|j| value_from_json(item, j)).collect();
            return Some(Value::List(items?.into()));
        }
        Json::Object(_) => return None,
    };
    value_from_scalar(ty, scalar)
}

/// 2⁵³: from there on, not every integer is a float.
const EXACT_INT_BOUND: f64 = 9_007_199_254_740_992.0;

/// A float that is certainly the integer it was written as (`3.0` for an
/// int field): whole and of magnitude below 2⁵³. Past that, a float may be
/// a rounded integer literal: JSON's `-9223372036854775809`, out of the i64
/// range, is read as the float −2⁶³, and `9007199254740993.0` as
/// 9007199254740992. Rounding either into range would be a silent change
/// of the data.
fn exact_int(x: f64) -> Option<i64> {
    let fits = x.fract() == 0.0 && x.abs() < EXACT_INT_BOUND;
    #[allow(clippy::cast_possible_truncation)]
    fits.then_some(x as i64)
}
