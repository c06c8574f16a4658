//! Profiles: an id, attribute slots, and a columnar, time-sorted event history.
//!
//! A profile is laid out for evaluation, not for editing: attributes sit in a
//! vector indexed by the schema's slot numbers; each event type keeps its
//! timestamps sorted ascending in one vector (binary search finds a window),
//! one column per property, and prefix sums for numeric properties (a windowed
//! `count`, `sum` or `avg` without `WHERE` costs two binary searches; a float
//! column whose values are too far apart to share a 128-bit fixed point is
//! scanned instead).

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use compact_str::CompactString;

use crate::exact_sum::Scale;
use crate::schema::{AttributeHandle, Schema, Type};

mod deserialize;
#[cfg(test)]
mod deserialize_tests;
mod json;
mod serialize;
#[cfg(test)]
mod tests;
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
    /// The attributes laid out for evaluation, by slot (see [`Slot`]).
    slots: Slots,
    /// Everything else, behind one pointer, so that a `Vec<Profile>` stays
    /// small and a pass of triggers over a batch touches little more than
    /// the slots.
    rest: Box<Rest>,
}

/// The parts of a profile that attribute triggers do not read.
#[derive(Clone)]
struct Rest {
    /// Inline up to 24 bytes: no allocation for the usual ids.
    id: CompactString,
    /// The attributes as the API hands them out, by slot.
    attributes: Box<[Value]>,
    events: Box<[EventColumns]>,
}

/// An attribute as evaluation reads it: two words, the first a tag, so that
/// a test is one compare of the tag and a use of the payload.
///
/// | value | `head` | `tail` |
/// |---|---|---|
/// | NULL | 0 | 0 |
/// | bool | 1 | 0 or 1 |
/// | int, timestamp, duration (µs) | 2 | the `i64` |
/// | float | 3 | the bits |
/// | string of up to 14 bytes | 4, the length, bytes 0–5 | bytes 6–13 |
/// | longer string, list | 5 | 0 (read the [`Value`]) |
///
/// Short strings are zero-padded, so two text slots are equal exactly when
/// their strings are: `= 'active'` is a compare of two words with two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    head: u64,
    tail: u64,
}

impl Slot {
    const BOOL: u64 = 1;
    const INT: u64 = 2;
    const FLOAT: u64 = 3;
    const TEXT: u64 = 4;
    const OTHER: u64 = 5;

    /// The most bytes a string can have to sit in a slot.
    pub(crate) const TEXT_CAPACITY: usize = 14;

    pub(crate) const NULL: Slot = Slot { head: 0, tail: 0 };

    /// A slot no attribute holds (its tag is out of range), for comparing
    /// with a string too long to sit in a slot.
    pub(crate) const NO_TEXT: Slot = Slot {
        head: u64::MAX,
        tail: u64::MAX,
    };

    #[inline(always)]
    pub(crate) fn is_null(self) -> bool {
        self.head == 0
    }

    #[inline(always)]
    pub(crate) fn bool(self) -> Option<bool> {
        (self.head == Self::BOOL).then_some(self.tail != 0)
    }

    /// The int-like payload (ints, timestamps, durations).
    #[inline(always)]
    pub(crate) fn int(self) -> Option<i64> {
        #[allow(clippy::cast_possible_wrap)]
        (self.head == Self::INT).then_some(self.tail as i64)
    }

    #[inline(always)]
    pub(crate) fn float(self) -> Option<f64> {
        (self.head == Self::FLOAT).then(|| f64::from_bits(self.tail))
    }

    /// Whether this is a string held in the slot itself.
    #[inline(always)]
    pub(crate) fn is_text(self) -> bool {
        self.head & 0xff == Self::TEXT
    }

    /// The slot of a string, if it is short enough to sit in one.
    pub(crate) fn text(text: &str) -> Option<Slot> {
        if text.len() > Self::TEXT_CAPACITY {
            return None;
        }
        // Bytes 0 and 1 of the head are the tag and the length.
        let mut bytes = [0u8; 16];
        bytes
            .get_mut(2..2 + text.len())?
            .copy_from_slice(text.as_bytes());
        let len = u64::try_from(text.len()).ok()?;
        Some(Slot {
            head: u64::from_le_bytes(*bytes.first_chunk()?) | Self::TEXT | len << 8,
            tail: u64::from_le_bytes(*bytes.last_chunk()?),
        })
    }

    fn of(value: &Value) -> Slot {
        #[allow(clippy::cast_sign_loss)]
        let word = |tag: u64, tail: i64| Slot {
            head: tag,
            tail: tail as u64,
        };
        match value {
            Value::Null => Slot::NULL,
            Value::Bool(b) => word(Self::BOOL, i64::from(*b)),
            Value::Int(i) => word(Self::INT, *i),
            Value::Timestamp(t) => word(Self::INT, t.as_micros()),
            Value::Duration(d) => word(Self::INT, d.as_micros()),
            Value::Float(x) => Slot {
                head: Self::FLOAT,
                tail: x.to_bits(),
            },
            Value::String(s) => Slot::text(s).unwrap_or(Slot {
                head: Self::OTHER,
                tail: 0,
            }),
            Value::List(_) => Slot {
                head: Self::OTHER,
                tail: 0,
            },
        }
    }
}

/// A profile's slots: a run in a slab of slots.
///
/// The profiles a thread builds one after another share slabs of
/// [`SLAB_SLOTS`] slots (32 KiB), so that a batch of profiles has its slots
/// side by side in memory, as an array of structs would: a pass over the batch
/// reads them in order, which the caches and prefetchers follow, rather than
/// from one small allocation per profile scattered among the profiles' other
/// allocations. A slab is freed with the last profile that uses it. The cost
/// is that a long-lived subset of profiles keeps whole slabs alive (at most 32
/// KiB per profile, when every other profile of its slab has been dropped).
/// A profile of more than [`SLAB_SLOTS`]` / 8` attributes gets a slab of its
/// own.
///
/// The words are atomics because a slab is shared while it is still being
/// filled: a profile is written once, before it is handed out, and is only
/// read afterwards. Relaxed loads and stores compile to plain moves.
#[derive(Clone)]
struct Slots {
    slab: Arc<[[AtomicU64; 2]]>,
    /// The first slot's index in the slab.
    start: u32,
    len: u32,
}

/// The size of a shared slab, in slots.
const SLAB_SLOTS: usize = 2048;

thread_local! {
    /// The slab this thread is filling, and its first unused slot.
    static SLAB: RefCell<(Arc<[[AtomicU64; 2]]>, usize)> = RefCell::new((slab(0), 0));
}

fn slab(len: usize) -> Arc<[[AtomicU64; 2]]> {
    (0..len)
        .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
        .collect()
}

impl Slots {
    /// The slots of `attributes`, in this thread's slab when they fit.
    fn new(attributes: &[Value]) -> Slots {
        let Ok(len) = u32::try_from(attributes.len()) else {
            // Four billion attributes: not a schema that can be built.
            return Slots {
                slab: slab(0),
                start: 0,
                len: 0,
            };
        };
        let write = |slab: &[[AtomicU64; 2]], start: u32| {
            let cells = slab.get(start as usize..).unwrap_or_default();
            for ([head, tail], value) in cells.iter().zip(attributes) {
                let slot = Slot::of(value);
                head.store(slot.head, Relaxed);
                tail.store(slot.tail, Relaxed);
            }
        };
        if (len as usize) <= SLAB_SLOTS / 8 {
            let shared = SLAB.try_with(|cell| {
                let mut cell = cell.try_borrow_mut().ok()?;
                let (slab, next) = &mut *cell;
                if slab.len().saturating_sub(*next) < len as usize {
                    *slab = self::slab(SLAB_SLOTS);
                    *next = 0;
                }
                let start = u32::try_from(*next).ok()?;
                write(slab, start);
                *next += len as usize;
                Some(Slots {
                    slab: Arc::clone(slab),
                    start,
                    len,
                })
            });
            if let Ok(Some(slots)) = shared {
                return slots;
            }
        }
        let slab = slab(len as usize);
        write(&slab, 0);
        Slots {
            slab,
            start: 0,
            len,
        }
    }

    #[inline(always)]
    fn get(&self, slot: usize) -> Slot {
        if slot >= self.len as usize {
            return Slot::NULL;
        }
        match self.slab.get(self.start as usize + slot) {
            Some([head, tail]) => Slot {
                head: head.load(Relaxed),
                tail: tail.load(Relaxed),
            },
            None => Slot::NULL,
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
                let floats = column.iter().map(|v| match v {
                    Value::Float(x) => Some(*x),
                    _ => None,
                });
                let (scale, sums) = Scale::prefix_sums(floats)?;
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
            id: CompactString::from(id.into()),
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
        self.rest.events.get(index)
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

/// Builds a [`Profile`] in code. Unlike JSON loading, names are strict: a name
/// the schema does not declare is an error, since in code it is a typo.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    id: CompactString,
    schema: Schema,
    attributes: Vec<Value>,
    events: Vec<Vec<(i64, Vec<Value>)>>,
    errors: Vec<ProfileError>,
}

impl ProfileBuilder {
    /// Sets an attribute by name (a name lookup per call; code that sets
    /// the same attributes profile after profile can resolve them once with
    /// [`Schema::attribute_handle`] and use [`ProfileBuilder::set`]).
    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        match self.schema.attribute(name) {
            Some((slot, ty)) => {
                let field = || format!("traits.{name}");
                if let Some(value) = checked(&mut self.errors, &self.id, field, ty, value.into())
                    && let Some(cell) = self.attributes.get_mut(slot)
                {
                    *cell = value;
                }
            }
            None => self.errors.push(ProfileError::UnknownField {
                profile: self.id.to_string(),
                field: format!("traits.{name}"),
            }),
        }
        self
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
    pub fn set(mut self, handle: AttributeHandle, value: impl Into<Value>) -> Self {
        let resolved = (handle.fingerprint() == self.schema.fingerprint())
            .then(|| self.schema.attribute_at(handle.slot()))
            .flatten();
        match resolved {
            Some((name, ty)) => {
                let field = || format!("traits.{name}");
                if let Some(value) = checked(&mut self.errors, &self.id, field, ty, value.into())
                    && let Some(cell) = self.attributes.get_mut(handle.slot())
                {
                    *cell = value;
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
        self
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
        let mut row = vec![Value::Null; event_schema.len()];
        for (property, value) in properties {
            let field = || format!("events.{event}.{property}");
            let Some((slot, ty)) = event_schema.get(property) else {
                self.errors.push(ProfileError::UnknownField {
                    profile: self.id.to_string(),
                    field: field(),
                });
                continue;
            };
            if let Some(value) = checked(&mut self.errors, &self.id, field, ty, value.into())
                && let Some(cell) = row.get_mut(slot)
            {
                *cell = value;
            }
        }
        if let Some(rows) = self.events.get_mut(index) {
            rows.push((at.as_micros(), row));
        }
        self
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
            slots: Slots::new(&self.attributes),
            rest: Box::new(Rest {
                id: self.id,
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
