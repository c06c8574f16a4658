//! Profiles: an id, attribute slots, and a columnar, time-sorted event history.
//!
//! A profile is laid out for evaluation, not for editing: attributes sit in a
//! vector indexed by the schema's slot numbers; each event type keeps its
//! timestamps sorted ascending in one vector (binary search finds a window),
//! one column per property, and prefix sums for numeric properties (a windowed
//! `count`, `sum` or `avg` without `WHERE` costs two binary searches; a float
//! column whose values are too far apart to share a 128-bit fixed point is
//! scanned instead).

use std::fmt;
use std::sync::OnceLock;

use compact_str::CompactString;

use crate::exact_sum::Scale;
use crate::schema::{AttributeHandle, Schema, Type};

mod deserialize;
#[cfg(test)]
mod deserialize_tests;
mod events;
mod json;
mod rebind;
mod serialize;
mod slots;
#[cfg(test)]
mod tests;
use crate::value::{Duration, Timestamp, Value};
use events::EventLog;
pub(crate) use slots::Slot;
use slots::{Attributes, Cell, Slots};

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
    /// The attributes laid out for evaluation, by slot (see [`Slot`]).
    slots: Slots,
    schema: Schema,
    /// Inline up to 24 bytes: no allocation for the usual ids.
    id: CompactString,
    /// Everything else, behind one pointer made only when there is
    /// something to keep (events, values no slot holds) or when the
    /// attributes are first asked for as [`Value`]s: a profile of short
    /// traits is built without an allocation of its own.
    rest: OnceLock<Box<Rest>>,
}

/// The parts of a profile that attribute triggers do not read.
#[derive(Clone, Default)]
struct Rest {
    /// The attribute values no slot can hold (long strings, lists), each
    /// pointed to by its slot.
    others: Box<[Value]>,
    /// By event type; empty when the schema declares none.
    events: Box<[EventColumns]>,
    /// Every attribute as a [`Value`], by slot, made the first time one is
    /// asked for (by the API, or by an evaluation that reads a short
    /// string as text): building a profile allocates no string that fits
    /// in a slot.
    values: OnceLock<Box<[Value]>>,
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
    /// Exact sums of a `float` column as integers in the column's
    /// [`Scale`]: a window's sum `s[j] − s[i]` is exact, and rounds once to
    /// the bits a scan of the window gives (see [`crate::exact_sum`]). A
    /// column without a scale (values too far apart for an `i128`, or not
    /// finite) has no prefix sums.
    Float {
        scale: Scale,
        sums: Vec<i128>,
        counts: Vec<u32>,
    },
}

impl EventColumns {
    /// The columns of an event log, `width` properties wide.
    fn build(log: EventLog, width: usize) -> Self {
        let (timestamps, properties) = log.into_sorted(width);
        let prefix = properties.iter().map(|c| PrefixSums::build(c)).collect();
        EventColumns {
            timestamps,
            properties,
            prefix,
        }
    }

    /// Number of events.
    pub(crate) fn len(&self) -> usize {
        self.timestamps.len()
    }
}

impl PrefixSums {
    fn build(column: &[Value]) -> Option<Self> {
        // Made only for a numeric column: most properties are strings.
        let counts = || {
            let mut counts = Vec::with_capacity(column.len() + 1);
            counts.push(0u32);
            counts
        };
        match column.iter().find(|v| !v.is_null()) {
            Some(Value::Int(_)) => {
                let mut counts = counts();
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
                let floats = column.iter().map(|v| match v {
                    Value::Float(x) => Some(*x),
                    _ => None,
                });
                let (scale, sums) = Scale::prefix_sums(floats)?;
                let mut counts = counts();
                let mut count = 0u32;
                for value in column {
                    count += u32::from(matches!(value, Value::Float(_)));
                    counts.push(count);
                }
                Some(PrefixSums::Float {
                    scale,
                    sums,
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
        map.field("id", &self.id);
        for (slot, value) in self.values().iter().enumerate() {
            if let Some((name, _)) = self.schema.attribute_at(slot) {
                map.field(name, value);
            }
        }
        let events: usize = self.rest().events.iter().map(EventColumns::len).sum();
        map.field("events", &events).finish()
    }
}

impl Profile {
    /// Starts a profile with the given id; unset traits are NULL.
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Type, Value};
    /// let schema = Schema::builder().attribute("n", Type::Int).build()?;
    /// let profile = Profile::builder(&schema, "c-1").attribute("n", 3).build()?;
    /// assert_eq!(profile.attribute("n"), Some(&Value::Int(3)));
    /// assert!(Profile::builder(&schema, "c-2").attribute("m", 1).build().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(schema: &Schema, id: impl Into<crate::Id>) -> ProfileBuilder {
        let attributes = Attributes::nulls(schema.attribute_count());
        ProfileBuilder::new(schema, id.into().into_compact(), attributes)
    }

    /// The profile's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The schema the profile was built against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// An attribute's value by name (`None` if the schema has no such attribute).
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        let (slot, _) = self.schema.attribute(name)?;
        self.values().get(slot)
    }

    /// How many events of a type the profile holds.
    pub fn event_count(&self, event: &str) -> usize {
        self.schema
            .event(event)
            .and_then(|(index, _)| self.rest().events.get(index))
            .map_or(0, EventColumns::len)
    }

    /// The attribute in `slot` as a [`Value`]; a long string or a list
    /// is read where it is, anything else from the values made on first
    /// use.
    pub(crate) fn attribute_slot(&self, slot: usize) -> &Value {
        let found = match self.slots.get(slot).other_index() {
            Some(index) => self.rest().others.get(index),
            None => self.values().get(slot),
        };
        found.unwrap_or(&Value::Null)
    }

    /// Calls `f` with the string attribute in `slot` without making a
    /// [`Value`] of it: `None` when the attribute is not a string.
    pub(crate) fn with_text<R>(&self, slot: usize, f: impl FnOnce(&str) -> R) -> Option<R> {
        let cell = self.slots.get(slot);
        match cell.other_index() {
            Some(index) => match self.rest().others.get(index)? {
                Value::String(text) => Some(f(text)),
                _ => None,
            },
            None => cell.with_text(f),
        }
    }

    /// Every attribute as a [`Value`], by slot.
    fn values(&self) -> &[Value] {
        let rest = self.rest();
        rest.values.get_or_init(|| {
            (0..self.slots.len())
                .map(|slot| match self.schema.attribute_at(slot) {
                    Some((_, ty)) => self.slots.get(slot).value(ty, &rest.others),
                    None => Value::Null,
                })
                .collect()
        })
    }

    /// The parts evaluation of attributes does not read (made empty on
    /// first use if the profile was built without any).
    fn rest(&self) -> &Rest {
        self.rest.get_or_init(Box::default)
    }

    /// The bool attribute in `slot`, read from the compact slots the
    /// triggers read (not the [`Value`]s): `None` when NULL or not a bool.
    #[inline]
    pub(crate) fn bool_slot(&self, slot: usize) -> Option<bool> {
        self.slots.get(slot).bool()
    }

    /// The timestamp (or other int-like) attribute in `slot`, likewise.
    #[inline]
    pub(crate) fn timestamp_slot(&self, slot: usize) -> Option<Timestamp> {
        self.slots.get(slot).int().map(Timestamp::from_micros)
    }

    /// The evaluation form of the attribute in `slot`.
    #[inline]
    pub(crate) fn slot(&self, slot: usize) -> Slot {
        self.slots.get(slot)
    }

    pub(crate) fn events_of(&self, index: usize) -> Option<&EventColumns> {
        self.rest.get()?.events.get(index)
    }

    pub(crate) fn fingerprint(&self) -> u64 {
        self.schema.fingerprint()
    }
}

/// Converts a value given in code to the declared type: ints widen to floats,
/// RFC 3339 strings become timestamps, duration strings durations. A value
/// that does not fit is handed back unchanged.
fn coerce(ty: &Type, value: Value) -> Result<Value, Value> {
    Ok(match (ty, value) {
        (_, Value::Null) => Value::Null,
        (Type::Bool, v @ Value::Bool(_)) => v,
        (Type::Int, v @ Value::Int(_)) => v,
        // As in JSON, a float is finite: the language has no NaN or infinity.
        (Type::Float, Value::Float(x)) if x.is_finite() => Value::Float(x),
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
        Value::Float(x) if x.is_finite() => "float",
        Value::Float(_) => "non-finite float",
        Value::String(_) => "string",
        Value::Timestamp(_) => "timestamp",
        Value::Duration(_) => "duration",
        Value::List(_) => "list",
    }
}

/// The value converted to `ty`, or `None` and an error in `errors`. Nothing
/// is formatted unless the value does not fit: building a profile allocates
/// only what the profile keeps.
fn checked(
    errors: &mut Vec<ProfileError>,
    id: &str,
    field: impl FnOnce() -> String,
    ty: &Type,
    value: Value,
) -> Option<Value> {
    match coerce(ty, value) {
        Ok(converted) => Some(converted),
        Err(value) => {
            errors.push(ProfileError::WrongType {
                profile: id.to_owned(),
                field: field(),
                expected: ty.to_string(),
                found: format!("{} {value}", kind_of(&value)),
            });
            None
        }
    }
}

/// [`checked`] for an attribute, in the form its slot keeps: a value of
/// exactly the declared type goes straight to its slot.
#[inline]
fn checked_cell(
    errors: &mut Vec<ProfileError>,
    id: &str,
    field: impl FnOnce() -> String,
    ty: &Type,
    value: Value,
) -> Option<Cell> {
    let slot = match (ty, &value) {
        (_, Value::Null) => Slot::NULL,
        (Type::Int, Value::Int(i)) => Slot::of_int(*i),
        (Type::Float, Value::Float(x)) if x.is_finite() => Slot::of_float(*x),
        (Type::Bool, Value::Bool(b)) => Slot::of_bool(*b),
        _ => return checked(errors, id, field, ty, value).map(Cell::of),
    };
    Some(Cell::Slot(slot))
}

/// Builds a [`Profile`] in code. Unlike JSON loading, names are strict: a name
/// the schema does not declare is an error, since in code it is a typo.
#[derive(Clone)]
pub struct ProfileBuilder {
    id: CompactString,
    schema: Schema,
    attributes: Attributes,
    events: EventLogs,
    errors: Vec<ProfileError>,
}

/// As a profile's: the id, each attribute by name, the count of events, and
/// the errors so far.
impl fmt::Debug for ProfileBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_struct("ProfileBuilder");
        map.field("id", &self.id);
        for slot in 0..self.schema.attribute_count() {
            if let Some((name, ty)) = self.schema.attribute_at(slot) {
                map.field(name, &self.attributes.value(slot, ty));
            }
        }
        let events: usize = self.events.iter().map(EventLog::len).sum();
        map.field("events", &events)
            .field("errors", &self.errors)
            .finish()
    }
}

impl ProfileBuilder {
    /// A builder of these attributes and no events yet.
    fn new(schema: &Schema, id: CompactString, attributes: Attributes) -> ProfileBuilder {
        ProfileBuilder {
            id,
            schema: schema.clone(),
            attributes,
            events: vec![EventLog::default(); schema.event_count()],
            errors: Vec::new(),
        }
    }

    /// Sets an attribute by name (a name lookup per call; code that sets
    /// the same attributes profile after profile can resolve them once with
    /// [`Schema::attribute_handle`] and use [`ProfileBuilder::set`]).
    #[inline]
    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.put_named(name, value.into());
        self
    }

    /// [`ProfileBuilder::attribute`] in place: the chained calls above are
    /// inlined and leave the builder where it is, this does the work.
    fn put_named(&mut self, name: &str, value: Value) {
        match self.schema.attribute(name) {
            Some((slot, ty)) => {
                let field = || format!("traits.{name}");
                if let Some(cell) = checked_cell(&mut self.errors, &self.id, field, ty, value) {
                    self.attributes.set(slot, cell);
                }
            }
            None => self.errors.push(ProfileError::UnknownField {
                profile: self.id.to_string(),
                field: format!("traits.{name}"),
            }),
        }
    }

    /// Sets the attribute of a handle resolved once from the schema: no
    /// name lookup, nothing allocated but the value's own string or list.
    /// The value is converted as by [`ProfileBuilder::attribute`].
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Type, Value};
    /// let schema = Schema::builder()
    ///     .attribute("login_count_30d", Type::Int)
    ///     .attribute("lifetime_value", Type::Float)
    ///     .build()?;
    /// // Once, at start-up:
    /// let logins = schema.attribute_handle("login_count_30d").ok_or("no such attribute")?;
    /// let value = schema.attribute_handle("lifetime_value").ok_or("no such attribute")?;
    /// // Per profile:
    /// let p = Profile::builder(&schema, "c-1").set(logins, 3).set(value, 120).build()?;
    /// assert_eq!(p.attribute("lifetime_value"), Some(&Value::Float(120.0)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A handle from another schema (a different fingerprint) is an error at
    /// [`ProfileBuilder::build`], as an unknown name is.
    #[inline]
    pub fn set(mut self, handle: AttributeHandle, value: impl Into<Value>) -> Self {
        self.put(handle, value.into());
        self
    }

    /// [`ProfileBuilder::set`] in place.
    fn put(&mut self, handle: AttributeHandle, value: Value) {
        let resolved = (handle.fingerprint() == self.schema.fingerprint())
            .then(|| self.schema.attribute_at(handle.slot()))
            .flatten();
        match resolved {
            Some((name, ty)) => {
                let field = || format!("traits.{name}");
                if let Some(cell) = checked_cell(&mut self.errors, &self.id, field, ty, value) {
                    self.attributes.set(handle.slot(), cell);
                }
            }
            None => self.errors.push(ProfileError::UnknownField {
                profile: self.id.to_string(),
                field: format!(
                    "traits (a handle of another schema, slot {})",
                    handle.slot()
                ),
            }),
        }
    }

    /// Adds an event with its properties.
    pub fn event<V: Into<Value>>(
        mut self,
        event: &str,
        at: Timestamp,
        properties: impl IntoIterator<Item = (&'static str, V)>,
    ) -> Self {
        let Some((index, event_schema)) = self.schema.event(event) else {
            self.errors.push(ProfileError::UnknownField {
                profile: self.id.to_string(),
                field: format!("events.{event}"),
            });
            return self;
        };
        let Some(log) = self.events.get_mut(index) else {
            return self;
        };
        let row = log.open(at.as_micros(), event_schema.len());
        for (property, value) in properties {
            let field = || format!("events.{event}.{property}");
            let Some((slot, ty)) = event_schema.get(property) else {
                self.errors.push(ProfileError::UnknownField {
                    profile: self.id.to_string(),
                    field: field(),
                });
                continue;
            };
            if let Some(value) = checked(&mut self.errors, &self.id, field, ty, value.into()) {
                log.set(row, slot, value);
            }
        }
        self
    }

    /// Adds an event that carries no properties (a login, a page view…):
    /// [`event`](ProfileBuilder::event) without naming a property type.
    ///
    /// ```
    /// use nextbest::{EventSchema, Profile, Schema, Timestamp};
    /// let schema = Schema::builder().event("login", EventSchema::new()).build()?;
    /// let at = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let profile = Profile::builder(&schema, "c-1").event_at("login", at).build()?;
    /// assert_eq!(profile.event_count("login"), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn event_at(self, event: &str, at: Timestamp) -> Self {
        self.event(event, at, std::iter::empty::<(&'static str, Value)>())
    }

    /// Finishes the profile.
    ///
    /// # Errors
    /// The first unknown name or mistyped value given to the builder.
    pub fn build(self) -> Result<Profile, ProfileError> {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        Ok(Profile::assemble(
            &self.schema,
            self.id,
            self.attributes,
            self.events,
        ))
    }
}

/// The events of a profile being built, by event type.
type EventLogs = Vec<EventLog>;

impl Profile {
    /// The profile of these parts (`events` may be shorter than the
    /// schema's event types, even empty: the others have no events).
    fn assemble(
        schema: &Schema,
        id: CompactString,
        attributes: Attributes,
        mut events: EventLogs,
    ) -> Profile {
        let (slots, others) = attributes.into_parts();
        let mut rest = OnceLock::new();
        if schema.event_count() > 0 || !others.is_empty() {
            let events = (0..schema.event_count())
                .map(|index| {
                    let log = events.get_mut(index).map(std::mem::take);
                    let width = schema.event_at(index).map_or(0, |(_, e)| e.len());
                    EventColumns::build(log.unwrap_or_default(), width)
                })
                .collect();
            rest = OnceLock::from(Box::new(Rest {
                others: others.into_boxed_slice(),
                events,
                values: OnceLock::new(),
            }));
        }
        Profile {
            slots,
            schema: schema.clone(),
            id,
            rest,
        }
    }
}

/// A profile that could not be loaded or built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not JSON: the JSON parser's error is the source, an
    /// `Arc<serde_json::Error>` (shared, so that the error stays `Clone`;
    /// its [`classify`](serde_json::Error::classify) tells text cut short
    /// from a syntax error).
    #[error("invalid JSON at column {column}: {message}")]
    InvalidJson {
        /// The column (1-based, in bytes of its line, as the JSON parser
        /// counts) where the text stopped being JSON; the line is the
        /// source's [`line`](serde_json::Error::line).
        column: usize,
        /// What the JSON parser found wrong.
        message: String,
        /// The JSON parser's error.
        #[source]
        source: std::sync::Arc<serde_json::Error>,
    },
    /// The text is JSON, but not shaped like a profile.
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
