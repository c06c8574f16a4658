//! Profiles: an id, attribute slots, and a columnar, time-sorted event history.
//!
//! A profile is laid out for evaluation, not for editing: attributes sit in a
//! vector indexed by the schema's slot numbers; each event type keeps its
//! timestamps sorted ascending in one vector (binary search finds a window),
//! one column per property, and prefix sums for numeric properties (a windowed
//! `count`, `sum` or `avg` without `WHERE` costs two binary searches).

use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::schema::{Schema, Type};
use crate::value::{Duration, Timestamp, Value};

/// A customer profile, built against a [`Schema`].
///
/// ```
/// use nextbest::{EventSchema, Profile, Schema, Timestamp, Type, Value};
/// let schema = Schema::builder()
///     .attribute("plan", Type::String)
///     .event("purchase", EventSchema::new().property("amount", Type::Float))
///     .build()?;
/// let at = Timestamp::parse("2026-11-02T17:12:00Z")?;
/// let profile = Profile::builder(&schema, "c-1042")
///     .attribute("plan", "pro")
///     .event("purchase", at, [("amount", 59.0)])
///     .build()?;
/// assert_eq!(profile.attribute("plan"), Some(&Value::from("pro")));
/// assert_eq!(profile.event_count("purchase"), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Profile {
    schema: Schema,
    /// The attributes laid out for evaluation, by slot: 16 bytes each, short
    /// strings inline (see [`Slot`]).
    slots: Box<[Slot]>,
    /// Everything else, behind one pointer, so that a `Vec<Profile>` is 32
    /// bytes a profile and a pass of triggers over a batch touches little
    /// more than the slots.
    rest: Box<Rest>,
}

/// The parts of a profile that attribute triggers do not read.
#[derive(Clone)]
struct Rest {
    id: Arc<str>,
    /// The attributes as the API hands them out, by slot.
    attributes: Box<[Value]>,
    events: Box<[EventColumns]>,
}

/// A string of up to [`SmallStr::CAPACITY`] bytes, stored inline and padded
/// with zeros, so that two are equal exactly when their texts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SmallStr {
    len: u8,
    bytes: [u8; SmallStr::CAPACITY],
}

impl SmallStr {
    pub(crate) const CAPACITY: usize = 14;

    /// A value no text is equal to (its length is out of range).
    pub(crate) const NONE: SmallStr = SmallStr {
        len: u8::MAX,
        bytes: [0; SmallStr::CAPACITY],
    };

    /// The inline form of a text, if it is short enough.
    pub(crate) fn new(text: &str) -> Option<SmallStr> {
        let mut bytes = [0; SmallStr::CAPACITY];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(SmallStr {
            len: u8::try_from(text.len()).ok()?,
            bytes,
        })
    }
}

/// An attribute as evaluation reads it: one tag test and the payload, in 16
/// bytes, with no pointer to follow for numbers, bools and short strings.
/// Each slot holds the same value as the attribute's [`Value`]; strings longer
/// than [`SmallStr::CAPACITY`] bytes and lists are [`Slot::Other`] and are read
/// from the [`Value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    Null,
    Bool(bool),
    /// An int, or a timestamp or duration in microseconds.
    Int(i64),
    Float(f64),
    Str(SmallStr),
    Other,
}

// Two slots to a cache line's quarter: the point of the type.
const _: () = assert!(std::mem::size_of::<Slot>() == 16);

impl Slot {
    /// The int-like payload (ints, timestamps, durations).
    #[inline(always)]
    pub(crate) fn int(self) -> Option<i64> {
        match self {
            Slot::Int(i) => Some(i),
            _ => None,
        }
    }

    #[inline(always)]
    pub(crate) fn float(self) -> Option<f64> {
        match self {
            Slot::Float(x) => Some(x),
            _ => None,
        }
    }

    fn of(value: &Value) -> Slot {
        match value {
            Value::Null => Slot::Null,
            Value::Bool(b) => Slot::Bool(*b),
            Value::Int(i) => Slot::Int(*i),
            Value::Timestamp(t) => Slot::Int(t.as_micros()),
            Value::Duration(d) => Slot::Int(d.as_micros()),
            Value::Float(x) => Slot::Float(*x),
            Value::String(s) => SmallStr::new(s).map_or(Slot::Other, Slot::Str),
            Value::List(_) => Slot::Other,
        }
    }
}

/// The history of one event type, sorted by time.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventColumns {
    /// Microseconds since the epoch, ascending.
    pub(crate) timestamps: Vec<i64>,
    /// `properties[slot][event]`.
    pub(crate) properties: Vec<Vec<Value>>,
    /// `prefix[slot]`: prefix sums of a numeric property.
    pub(crate) prefix: Vec<Option<PrefixSums>>,
}

/// Prefix sums over a numeric column: entry `i` covers events `0..i`.
#[derive(Debug, Clone)]
pub(crate) enum PrefixSums {
    /// Exact sums of an `int` column.
    Int { sums: Vec<i128>, counts: Vec<u32> },
    /// Sums of a `float` column with Neumaier's running compensation, so a
    /// window's sum `(s[j] − s[i]) + (c[j] − c[i])` keeps its small terms even
    /// next to large ones.
    Float {
        sums: Vec<f64>,
        compensations: Vec<f64>,
        counts: Vec<u32>,
    },
}

impl EventColumns {
    fn build(mut rows: Vec<(i64, Vec<Value>)>, width: usize) -> Self {
        rows.sort_by_key(|(at, _)| *at);
        let mut columns = EventColumns {
            timestamps: Vec::with_capacity(rows.len()),
            properties: vec![Vec::with_capacity(rows.len()); width],
            prefix: Vec::new(),
        };
        for (at, values) in rows {
            columns.timestamps.push(at);
            for (column, value) in columns.properties.iter_mut().zip(values) {
                column.push(value);
            }
        }
        columns.prefix = columns
            .properties
            .iter()
            .map(|c| PrefixSums::build(c))
            .collect();
        columns
    }

    /// Number of events.
    pub(crate) fn len(&self) -> usize {
        self.timestamps.len()
    }
}

impl PrefixSums {
    fn build(column: &[Value]) -> Option<Self> {
        let mut counts = Vec::with_capacity(column.len() + 1);
        counts.push(0u32);
        match column.iter().find(|v| !v.is_null()) {
            Some(Value::Int(_)) => {
                let mut sums = Vec::with_capacity(column.len() + 1);
                sums.push(0i128);
                let (mut sum, mut count) = (0i128, 0u32);
                for value in column {
                    if let Value::Int(i) = value {
                        sum += i128::from(*i);
                        count += 1;
                    }
                    sums.push(sum);
                    counts.push(count);
                }
                Some(PrefixSums::Int { sums, counts })
            }
            Some(Value::Float(_)) => {
                let mut sums = Vec::with_capacity(column.len() + 1);
                let mut compensations = Vec::with_capacity(column.len() + 1);
                sums.push(0f64);
                compensations.push(0f64);
                let (mut sum, mut compensation, mut count) = (0f64, 0f64, 0u32);
                for value in column {
                    if let Value::Float(x) = value {
                        let next = sum + x;
                        compensation += if sum.abs() >= x.abs() {
                            (sum - next) + x
                        } else {
                            (x - next) + sum
                        };
                        sum = next;
                        count += 1;
                    }
                    sums.push(sum);
                    compensations.push(compensation);
                    counts.push(count);
                }
                Some(PrefixSums::Float {
                    sums,
                    compensations,
                    counts,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_struct("Profile");
        map.field("id", &self.rest.id);
        for (slot, value) in self.rest.attributes.iter().enumerate() {
            if let Some((name, _)) = self.schema.attribute_at(slot) {
                map.field(name, value);
            }
        }
        let events: usize = self.rest.events.iter().map(EventColumns::len).sum();
        map.field("events", &events).finish()
    }
}

impl Profile {
    /// Starts a profile with the given id.
    pub fn builder(schema: &Schema, id: impl Into<String>) -> ProfileBuilder {
        ProfileBuilder {
            id: id.into(),
            schema: schema.clone(),
            attributes: vec![Value::Null; schema.attribute_count()],
            events: vec![Vec::new(); schema.event_count()],
            errors: Vec::new(),
        }
    }

    /// The profile's id.
    pub fn id(&self) -> &str {
        &self.rest.id
    }

    /// The schema the profile was built against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// An attribute's value by name (`None` if the schema has no such attribute).
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        let (slot, _) = self.schema.attribute(name)?;
        self.rest.attributes.get(slot)
    }

    /// How many events of a type the profile holds.
    pub fn event_count(&self, event: &str) -> usize {
        self.schema
            .event(event)
            .and_then(|(index, _)| self.rest.events.get(index))
            .map_or(0, EventColumns::len)
    }

    pub(crate) fn attribute_slot(&self, slot: usize) -> &Value {
        self.rest.attributes.get(slot).unwrap_or(&Value::Null)
    }

    /// The evaluation form of the attribute in `slot`.
    #[inline]
    pub(crate) fn slot(&self, slot: usize) -> Slot {
        self.slots.get(slot).copied().unwrap_or(Slot::Null)
    }

    pub(crate) fn events_of(&self, index: usize) -> Option<&EventColumns> {
        self.rest.events.get(index)
    }

    pub(crate) fn fingerprint(&self) -> u64 {
        self.schema.fingerprint()
    }

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
        let json: Json = serde_json::from_str(text).map_err(|e| ProfileError::Json {
            message: e.to_string(),
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
            builder: Profile::builder(schema, id.clone()),
            lenient,
            warnings: Vec::new(),
        };
        loader.traits(object.get("traits"))?;
        loader.events(object.get("events"))?;
        let JsonLoader {
            builder, warnings, ..
        } = loader;
        Ok((builder.build()?, warnings))
    }
}

struct JsonLoader<'s> {
    schema: &'s Schema,
    builder: ProfileBuilder,
    lenient: bool,
    warnings: Vec<ProfileError>,
}

impl JsonLoader<'_> {
    fn structural(&self, field: &str, expected: &str, found: &Json) -> ProfileError {
        ProfileError::WrongType {
            profile: self.builder.id.clone(),
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
                    profile: self.builder.id.clone(),
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
            if let Some(cell) = self.builder.attributes.get_mut(slot) {
                *cell = value;
            }
        }
        Ok(())
    }

    fn events(&mut self, events: Option<&Json>) -> Result<(), ProfileError> {
        let events = match events {
            None | Some(Json::Null) => return Ok(()),
            Some(Json::Array(events)) => events,
            Some(other) => return Err(self.structural("events", "an array", other)),
        };
        for (n, event) in events.iter().enumerate() {
            let Json::Object(event) = event else {
                return Err(self.structural(&format!("events[{n}]"), "an object", event));
            };
            let name = match event.get("event") {
                Some(Json::String(name)) => name,
                Some(other) => {
                    return Err(self.structural(&format!("events[{n}].event"), "a string", other));
                }
                None => {
                    return Err(self.structural(
                        &format!("events[{n}].event"),
                        "an event name",
                        &Json::Null,
                    ));
                }
            };
            let Some((index, event_schema)) = self.schema.event(name) else {
                continue;
            };
            let at = match event.get("timestamp") {
                Some(json @ Json::String(text)) => match Timestamp::parse(text) {
                    Ok(at) => at,
                    Err(_) => {
                        return Err(self.structural(
                            &format!("events[{n}].timestamp"),
                            "an RFC 3339 timestamp",
                            json,
                        ));
                    }
                },
                Some(other) => {
                    return Err(self.structural(
                        &format!("events[{n}].timestamp"),
                        "an RFC 3339 timestamp",
                        other,
                    ));
                }
                None => {
                    return Err(self.structural(
                        &format!("events[{n}].timestamp"),
                        "a timestamp",
                        &Json::Null,
                    ));
                }
            };
            let mut row = vec![Value::Null; event_schema.len()];
            match event.get("properties") {
                None | Some(Json::Null) => {}
                Some(Json::Object(properties)) => {
                    for (property, json) in properties {
                        let Some((slot, ty)) = event_schema.get(property) else {
                            continue;
                        };
                        let value =
                            self.value(|| format!("events[{n}].properties.{property}"), ty, json)?;
                        if let Some(cell) = row.get_mut(slot) {
                            *cell = value;
                        }
                    }
                }
                Some(other) => {
                    return Err(self.structural(
                        &format!("events[{n}].properties"),
                        "an object",
                        other,
                    ));
                }
            }
            if let Some(rows) = self.builder.events.get_mut(index) {
                rows.push((at.as_micros(), row));
            }
        }
        Ok(())
    }
}

/// `"string \"x\""`, `"a number 3.5"`… for error messages.
fn describe(json: &Json) -> String {
    let text = json.to_string();
    let shown = if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    };
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(_) => format!("bool {shown}"),
        Json::Number(_) => format!("number {shown}"),
        Json::String(_) => format!("string {shown}"),
        Json::Array(_) => format!("array {shown}"),
        Json::Object(_) => format!("object {shown}"),
    }
}

/// Converts JSON to a value of type `ty`: `None` when it does not fit.
/// JSON `null` is NULL for every type.
pub(crate) fn value_from_json(ty: &Type, json: &Json) -> Option<Value> {
    if json.is_null() {
        return Some(Value::Null);
    }
    Some(match (ty, json) {
        (Type::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Type::Int, Json::Number(n)) => Value::Int(match n.as_i64() {
            Some(i) => i,
            None => exact_int(n.as_f64()?)?,
        }),
        (Type::Float, Json::Number(n)) => Value::Float(n.as_f64().filter(|x| x.is_finite())?),
        (Type::String, Json::String(s)) => Value::String(s.as_str().into()),
        (Type::Timestamp, Json::String(s)) => Value::Timestamp(Timestamp::parse(s).ok()?),
        (Type::Duration, Json::String(s)) => Value::Duration(Duration::parse(s).ok()?),
        (Type::List(item), Json::Array(items)) => {
            let items: Option<Vec<Value>> =
                items.iter().map(|j| value_from_json(item, j)).collect();
            Value::List(items?.into())
        }
        _ => return None,
    })
}

/// A float that is exactly an i64 (`3.0` for an int field).
fn exact_int(x: f64) -> Option<i64> {
    let fits = x.fract() == 0.0
        && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x);
    #[allow(clippy::cast_possible_truncation)]
    fits.then_some(x as i64)
}

/// Converts a value given in code to the declared type: ints widen to floats,
/// RFC 3339 strings become timestamps, duration strings durations. A value
/// that does not fit is handed back unchanged.
fn coerce(ty: &Type, value: Value) -> Result<Value, Value> {
    Ok(match (ty, value) {
        (_, Value::Null) => Value::Null,
        (Type::Bool, v @ Value::Bool(_)) => v,
        (Type::Int, v @ Value::Int(_)) => v,
        (Type::Float, v @ Value::Float(_)) => v,
        #[allow(clippy::cast_precision_loss)]
        (Type::Float, Value::Int(i)) => Value::Float(i as f64),
        (Type::String, v @ Value::String(_)) => v,
        (Type::Timestamp, v @ Value::Timestamp(_)) => v,
        (Type::Timestamp, Value::String(s)) => match Timestamp::parse(&s) {
            Ok(at) => Value::Timestamp(at),
            Err(_) => return Err(Value::String(s)),
        },
        (Type::Duration, v @ Value::Duration(_)) => v,
        (Type::Duration, Value::String(s)) => match Duration::parse(&s) {
            Ok(d) => Value::Duration(d),
            Err(_) => return Err(Value::String(s)),
        },
        (Type::List(item), Value::List(items)) => {
            let converted: Option<Vec<Value>> =
                items.iter().map(|v| coerce(item, v.clone()).ok()).collect();
            match converted {
                Some(converted) => Value::List(converted.into()),
                None => return Err(Value::List(items)),
            }
        }
        (_, value) => return Err(value),
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::String(_) => "string",
        Value::Timestamp(_) => "timestamp",
        Value::Duration(_) => "duration",
        Value::List(_) => "list",
    }
}

/// Builds a [`Profile`] in code. Unlike JSON loading, names are strict: a name
/// the schema does not declare is an error, since in code it is a typo.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    id: String,
    schema: Schema,
    attributes: Vec<Value>,
    events: Vec<Vec<(i64, Vec<Value>)>>,
    errors: Vec<ProfileError>,
}

impl ProfileBuilder {
    /// Sets an attribute.
    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        // A handle on the schema (an `Arc`), so that the declared type can be
        // borrowed while the builder is updated.
        let schema = self.schema.clone();
        match schema.attribute(name) {
            Some((slot, ty)) => {
                if let Some(value) = self.checked(|| format!("traits.{name}"), ty, value.into()) {
                    if let Some(cell) = self.attributes.get_mut(slot) {
                        *cell = value;
                    }
                }
            }
            None => self.errors.push(ProfileError::UnknownField {
                profile: self.id.clone(),
                field: format!("traits.{name}"),
            }),
        }
        self
    }

    /// Adds an event with its properties.
    pub fn event<V: Into<Value>>(
        mut self,
        event: &str,
        at: Timestamp,
        properties: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Self {
        let schema = self.schema.clone();
        let Some((index, event_schema)) = schema.event(event) else {
            self.errors.push(ProfileError::UnknownField {
                profile: self.id.clone(),
                field: format!("events.{event}"),
            });
            return self;
        };
        let mut row = vec![Value::Null; event_schema.len()];
        for (property, value) in properties {
            let field = || format!("events.{event}.{property}");
            let Some((slot, ty)) = event_schema.get(property) else {
                self.errors.push(ProfileError::UnknownField {
                    profile: self.id.clone(),
                    field: field(),
                });
                continue;
            };
            if let Some(value) = self.checked(field, ty, value.into()) {
                if let Some(cell) = row.get_mut(slot) {
                    *cell = value;
                }
            }
        }
        if let Some(rows) = self.events.get_mut(index) {
            rows.push((at.as_micros(), row));
        }
        self
    }

    /// The value converted to `ty`, or `None` and an error. Nothing is
    /// formatted unless the value does not fit: building a profile allocates
    /// only what the profile keeps.
    fn checked(
        &mut self,
        field: impl FnOnce() -> String,
        ty: &Type,
        value: Value,
    ) -> Option<Value> {
        match coerce(ty, value) {
            Ok(converted) => Some(converted),
            Err(value) => {
                self.errors.push(ProfileError::WrongType {
                    profile: self.id.clone(),
                    field: field(),
                    expected: ty.to_string(),
                    found: format!("{} {value}", kind_of(&value)),
                });
                None
            }
        }
    }

    /// Finishes the profile.
    ///
    /// # Errors
    /// The first unknown name or mistyped value given to the builder.
    pub fn build(self) -> Result<Profile, ProfileError> {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        let events = self
            .events
            .into_iter()
            .enumerate()
            .map(|(index, rows)| {
                let width = self.schema.event_at(index).map_or(0, |(_, e)| e.len());
                EventColumns::build(rows, width)
            })
            .collect();
        Ok(Profile {
            schema: self.schema,
            slots: self.attributes.iter().map(Slot::of).collect(),
            rest: Box::new(Rest {
                id: self.id.into(),
                attributes: self.attributes.into_boxed_slice(),
                events,
            }),
        })
    }
}

/// A profile that could not be loaded or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The text is not JSON, or not shaped like a profile.
    #[error("{message}")]
    Json {
        /// What is wrong.
        message: String,
    },
    /// A value that does not have the declared type.
    #[error("profile `{profile}`, field `{field}`: expected {expected}, found {found}")]
    WrongType {
        /// The profile's id.
        profile: String,
        /// The path of the field, such as `traits.login_count_30d`.
        field: String,
        /// The declared type.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A name the schema does not declare (builder only).
    #[error("profile `{profile}`, field `{field}`: not declared in the schema")]
    UnknownField {
        /// The profile's id.
        profile: String,
        /// The path of the field.
        field: String,
    },
}
