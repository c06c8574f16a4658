//! The JSON form of a profile read straight into a [`ProfileBuilder`]'s slots
//! by a schema-driven [`DeserializeSeed`]: no `serde_json::Value` in
//! between, values converted by the JSON loader's rules
//! ([`value_from_scalar`]), names looked up in the schema as they are read.
//!
//! This is the fast path for input that loads. Whatever it does not take
//! (a value of the wrong type, a missing id, malformed JSON, a duplicated
//! `id`, `traits`, `events` or event key, anything unusual) makes it give up,
//! and [`Profile::from_json`] reads the line again with the `Value` loader,
//! which is the reference: it accepts or rejects, with the error message
//! naming the profile id, the field and the value. So accepted inputs and
//! errors are those of the `Value` loader by construction, and the fast path
//! only needs to be right about what it accepts (a property test compares
//! the two).
//!
//! The one `Value` left: an event's `properties` written before its `event`
//! name (the schema of its properties is not known yet).

use std::fmt;

use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::events::EventLog;
use super::json::{Scalar, cell_from_scalar, value_from_json};
use super::slots::{Attributes, Cell};
use super::{Profile, ProfileBuilder};
use crate::schema::{EventSchema, Schema, Type};
use crate::value::{Timestamp, Value};

/// The profile of one line of JSON, or `None` when the fast path gives up
/// (see the module's documentation): the caller then reads it with the
/// `Value` loader.
pub(super) fn profile(schema: &Schema, text: &str) -> Option<Profile> {
    let mut de = serde_json::Deserializer::from_str(text);
    let builder = ProfileSeed { schema }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    builder.build().ok()
}

/// The error that makes the fast path give up; the message is not shown.
fn give_up<E: de::Error>() -> E {
    E::custom("")
}

/// The whole profile object.
struct ProfileSeed<'s> {
    schema: &'s Schema,
}

impl<'de> DeserializeSeed<'de> for ProfileSeed<'_> {
    type Value = ProfileBuilder;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<ProfileBuilder, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ProfileSeed<'_> {
    type Value = ProfileBuilder;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a profile object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProfileBuilder, A::Error> {
        let schema = self.schema;
        let attributes = Attributes::nulls(schema.attribute_count());
        let mut builder = ProfileBuilder::new(schema, CompactString::default(), attributes);
        let (mut id, mut traits, mut events) = (None, false, false);
        while let Some(key) = map.next_key_seed(KeySeed(top_key))? {
            match key {
                TopKey::Id if id.is_none() => id = Some(map.next_value_seed(IdSeed)?),
                TopKey::Traits if !traits => {
                    traits = true;
                    map.next_value_seed(TraitsSeed {
                        schema,
                        attributes: &mut builder.attributes,
                    })?;
                }
                TopKey::Events if !events => {
                    events = true;
                    map.next_value_seed(EventsSeed {
                        schema,
                        events: &mut builder.events,
                    })?;
                }
                TopKey::Other => map.next_value_seed(Skip)?,
                // A duplicated key: the `Value` loader keeps the last one.
                TopKey::Id | TopKey::Traits | TopKey::Events => return Err(give_up()),
            }
        }
        builder.id = id.ok_or_else(give_up)?;
        Ok(builder)
    }
}

#[derive(Clone, Copy)]
enum TopKey {
    Id,
    Traits,
    Events,
    Other,
}

fn top_key(key: &str) -> TopKey {
    match key {
        "id" => TopKey::Id,
        "traits" => TopKey::Traits,
        "events" => TopKey::Events,
        _ => TopKey::Other,
    }
}

/// A map key, classified by a function of its text as it is read (borrowed
/// from the input when it has no escapes: no allocation).
struct KeySeed<F>(F);

impl<'de, K, F: FnOnce(&str) -> K> DeserializeSeed<'de> for KeySeed<F> {
    type Value = K;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<K, D::Error> {
        de.deserialize_str(self)
    }
}

impl<K, F: FnOnce(&str) -> K> Visitor<'_> for KeySeed<F> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K, E> {
        Ok((self.0)(key))
    }
}

/// The id: a string, or a number written as `serde_json` writes it.
struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = CompactString;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<CompactString, D::Error> {
        de.deserialize_any(self)
    }
}

impl Visitor<'_> for IdSeed {
    type Value = CompactString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<CompactString, E> {
        Ok(CompactString::from(id))
    }

    fn visit_i64<E: de::Error>(self, id: i64) -> Result<CompactString, E> {
        Ok(CompactString::from(
            serde_json::Number::from(id).to_string(),
        ))
    }

    fn visit_u64<E: de::Error>(self, id: u64) -> Result<CompactString, E> {
        Ok(CompactString::from(
            serde_json::Number::from(id).to_string(),
        ))
    }

    fn visit_f64<E: de::Error>(self, id: f64) -> Result<CompactString, E> {
        let number = serde_json::Number::from_f64(id).ok_or_else(give_up)?;
        Ok(CompactString::from(number.to_string()))
    }
}

/// The `traits` object (or `null`), written into the attributes by slot.
struct TraitsSeed<'s, 'b> {
    schema: &'s Schema,
    attributes: &'b mut Attributes,
}

impl<'de> DeserializeSeed<'de> for TraitsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TraitsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of traits")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        fill(map, |name| self.schema.attribute(name), self.attributes)
    }
}

/// Reads an object of named values into `cells` by slot: a name `lookup`
/// does not know is skipped, a value of the wrong type gives up. A repeated
/// name overwrites, as in the `Value` loader (the last one wins).
fn fill<'de, 't, A: MapAccess<'de>>(
    mut map: A,
    lookup: impl Fn(&str) -> Option<(usize, &'t Type)>,
    cells: &mut (impl Cells + ?Sized),
) -> Result<(), A::Error> {
    while let Some(field) = map.next_key_seed(KeySeed(&lookup))? {
        match field {
            Some((slot, ty)) => {
                let cell = map.next_value_seed(TypedSeed(ty))?;
                cells.put(slot, ty, cell).ok_or_else(give_up)?;
            }
            None => map.next_value_seed(Skip)?,
        }
    }
    Ok(())
}

/// Where [`fill`] writes the values it reads, by slot.
trait Cells {
    /// Writes `cell`, read as a `ty`, into `slot`; `None` if there is none.
    fn put(&mut self, slot: usize, ty: &Type, cell: Cell) -> Option<()>;
}

/// A profile's traits: a short string stays in its slot, never allocated.
impl Cells for Attributes {
    fn put(&mut self, slot: usize, _: &Type, cell: Cell) -> Option<()> {
        (slot < self.len()).then(|| self.set(slot, cell))
    }
}

/// One value converted to a type by [`value_from_scalar`]; a list item by
/// item. A value that does not fit gives up.
struct TypedSeed<'t>(&'t Type);

impl<'de> DeserializeSeed<'de> for TypedSeed<'_> {
    type Value = Cell;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Cell, D::Error> {
        de.deserialize_any(self)
    }
}

impl TypedSeed<'_> {
    fn scalar<E: de::Error>(&self, scalar: Scalar<'_>) -> Result<Cell, E> {
        cell_from_scalar(self.0, scalar).ok_or_else(give_up)
    }
}

impl<'de> Visitor<'de> for TypedSeed<'_> {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of type {}", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        self.scalar(Scalar::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell, E> {
        self.scalar(Scalar::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Cell, E> {
        self.scalar(Scalar::Int(i))
    }

    /// As `serde_json::Number::as_i64` then `as_u64` sort it in the `Value`
    /// loader: an int when it fits `i64`.
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Cell, E> {
        self.scalar(i64::try_from(u).map_or(Scalar::UInt(u), Scalar::Int))
    }

    /// A float, or an integer literal out of the `u64`/`i64` range, which
    /// `serde_json` reads as a float (refused by an int field past 2⁵³).
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Cell, E> {
        self.scalar(Scalar::Float(x))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
        self.scalar(Scalar::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        let Type::List(item) = self.0 else {
            return Err(give_up());
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(cell) = seq.next_element_seed(TypedSeed(item))? {
            items.push(cell.into_value(item));
        }
        Ok(Cell::Other(Value::List(items.into())))
    }
}

/// The `events` array (or `null`), each event pushed to its type's rows.
struct EventsSeed<'s, 'b> {
    schema: &'s Schema,
    events: &'b mut [EventLog],
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (schema, logs) = (self.schema, self.events);
        while seq
            .next_element_seed(EventSeed {
                schema,
                logs: &mut *logs,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One event object, added to its type's log (nothing for an event type
/// the schema does not declare).
struct EventSeed<'s, 'l> {
    schema: &'s Schema,
    logs: &'l mut [EventLog],
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

#[derive(Clone, Copy)]
enum EventKey {
    Event,
    Timestamp,
    Properties,
    Other,
}

fn event_key(key: &str) -> EventKey {
    match key {
        "event" => EventKey::Event,
        "timestamp" => EventKey::Timestamp,
        "properties" => EventKey::Properties,
        _ => EventKey::Other,
    }
}

/// An event's properties so far: written into the event's row once its
/// type is known, kept as JSON when they come before the `event` name.
enum Properties {
    Absent,
    Written(usize),
    Early(Json),
}

impl<'de> Visitor<'de> for EventSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let schema = self.schema;
        // `Some(None)`: an event type the schema does not declare.
        let mut kind: Option<Option<(usize, &EventSchema)>> = None;
        let mut at: Option<Option<Timestamp>> = None;
        let mut properties: Option<Properties> = None;
        while let Some(key) = map.next_key_seed(KeySeed(event_key))? {
            match key {
                EventKey::Event if kind.is_none() => {
                    kind = Some(map.next_value_seed(KeySeed(|name: &str| schema.event(name)))?);
                }
                EventKey::Timestamp if at.is_none() => {
                    at = Some(map.next_value_seed(TimestampSeed)?);
                }
                EventKey::Properties if properties.is_none() => {
                    properties = Some(match kind {
                        Some(Some((index, event))) => {
                            // Its time is set when it is known.
                            let log = self.logs.get_mut(index).ok_or_else(give_up)?;
                            let row = log.open(0, event.len());
                            map.next_value_seed(PropertiesSeed { event, log, row })?;
                            Properties::Written(row)
                        }
                        Some(None) => {
                            map.next_value_seed(Skip)?;
                            Properties::Absent
                        }
                        None => Properties::Early(map.next_value()?),
                    });
                }
                EventKey::Other => map.next_value_seed(Skip)?,
                // A duplicated key: the `Value` loader keeps the last one.
                EventKey::Event | EventKey::Timestamp | EventKey::Properties => {
                    return Err(give_up());
                }
            }
        }
        // No `event`: an error. An undeclared type: ignored, whatever its
        // timestamp and properties.
        let Some((index, event)) = kind.ok_or_else(give_up)? else {
            return Ok(());
        };
        let at = at.flatten().ok_or_else(give_up)?.as_micros();
        let log = self.logs.get_mut(index).ok_or_else(give_up)?;
        match properties.unwrap_or(Properties::Absent) {
            Properties::Written(row) => log.set_time(row, at),
            Properties::Absent | Properties::Early(Json::Null) => {
                log.open(at, event.len());
            }
            Properties::Early(Json::Object(object)) => {
                let row = log.open(at, event.len());
                for (name, json) in &object {
                    if let Some((slot, ty)) = event.get(name) {
                        let value = value_from_json(ty, json).ok_or_else(give_up)?;
                        log.set(row, slot, value);
                    }
                }
            }
            Properties::Early(_) => return Err(give_up()),
        }
        Ok(())
    }
}

/// A timestamp: `None` when it is a string that is not RFC 3339 (an error
/// only for a declared event type); anything else but a string gives up.
struct TimestampSeed;

impl<'de> DeserializeSeed<'de> for TimestampSeed {
    type Value = Option<Timestamp>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl Visitor<'_> for TimestampSeed {
    type Value = Option<Timestamp>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Timestamp::parse(text).ok())
    }
}

/// A declared event's `properties` object (or `null`), written into its
/// row.
struct PropertiesSeed<'e, 'l> {
    event: &'e EventSchema,
    log: &'l mut EventLog,
    row: usize,
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of properties")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let event = self.event;
        let mut row = EventRow {
            log: self.log,
            row: self.row,
            width: event.len(),
        };
        fill(map, |name| event.get(name), &mut row)
    }
}

/// The row of one event in its type's log.
struct EventRow<'l> {
    log: &'l mut EventLog,
    row: usize,
    width: usize,
}

/// An event's properties: a string the last events of its column already
/// hold is shared, not allocated again.
impl Cells for EventRow<'_> {
    fn put(&mut self, slot: usize, ty: &Type, cell: Cell) -> Option<()> {
        if slot >= self.width {
            return None;
        }
        let (log, row) = (&mut *self.log, self.row);
        match cell {
            Cell::Slot(small) if small.is_text() => {
                small.with_text(|text| log.set_text(row, slot, text))
            }
            cell => {
                log.set(row, slot, cell.into_value(ty));
                Some(())
            }
        }
    }
}

/// A value that is not used, read in full as the `Value` loader reads it
/// (unlike `IgnoredAny`, which `serde_json` skips without checking that a
/// number is in range, and the `Value` loader refuses `1e400`).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}
