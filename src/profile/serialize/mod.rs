//! [`Profile::from_serialize`]: a profile straight from a service's own
//! `#[derive(Serialize)]` struct, by a [`serde::Serializer`] that writes each
//! field into its attribute's slot, converting it with the rules of the JSON
//! loader ([`value_from_scalar`]), with no `serde_json::Value` in between.
//!
//! Only what is slow anyway goes through JSON: the `events` field (converted
//! to a `serde_json::Value` and read by the JSON loader's event code), and
//! the description of a value in an error message.

use std::cell::RefCell;
use std::fmt;

use compact_str::{CompactString, ToCompactString};
use serde::ser::{self, Impossible, Serialize};
use serde_json::Value as Json;

use super::json::{Scalar, cell_from_scalar, describe};
use super::slots::{Attributes, Cell, Slot};
use super::{Profile, ProfileBuilder, ProfileError};
use crate::schema::{Schema, Type};
use crate::value::Value;

impl Profile {
    /// Builds a profile from any [`Serialize`] value, typically the
    /// service's own `#[derive(Serialize)]` struct: the fast path, with no
    /// JSON text or `serde_json::Value` in between for the traits.
    ///
    /// **Accepted shape**: a struct (or a map with string keys) whose fields
    /// are read by name:
    /// * `id`: the profile's id, a string or a number, as in the JSON form.
    ///   Optional here (unlike [`Profile::from_json`]): without it the id is
    ///   empty.
    /// * `traits`: a nested struct or map of traits, as in the JSON form
    ///   (`None` or unit is no traits).
    /// * `events`: a sequence of events shaped as in the JSON form:
    ///   `{event, timestamp (an RFC 3339 string), properties: {..}}`.
    /// * any other field named like one of the schema's attributes: that
    ///   attribute. So a flat struct of traits works as is, and so does the
    ///   JSON form `{id, traits, events}`. Attributes named `id`, `traits` or
    ///   `events` can only be given inside `traits`.
    /// * any other field: ignored, as unknown traits are in JSON.
    ///
    /// Values are converted as the JSON loader converts JSON: integers (any
    /// width; `u64` above `i64::MAX` does not fit an int), floats (finite),
    /// `bool`, strings (`char`, `&str`, `String`, and unit enum variants,
    /// which serialize as their name), timestamps as RFC 3339 strings,
    /// durations as strings such as `"7d"`, lists from sequences, tuples and
    /// byte strings; `None` and `()` are NULL; `Option`s and newtype structs
    /// are transparent. A NaN or infinite float is an error (JSON cannot
    /// hold one; serde_json would write it as `null`). Events and their
    /// properties go through `serde_json::to_value` and then the JSON
    /// loader, with its rules.
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Type, Value};
    /// #[derive(serde::Serialize)]
    /// struct Customer {
    ///     id: String,
    ///     login_count_30d: i64,
    ///     user_segment: &'static str,
    ///     signed_up: String,
    ///     internal_note: String, // not in the schema: ignored
    /// }
    /// let schema = Schema::builder()
    ///     .attribute("login_count_30d", Type::Int)
    ///     .attribute("user_segment", Type::String)
    ///     .attribute("signed_up", Type::Timestamp)
    ///     .build()?;
    /// let customer = Customer {
    ///     id: "c-1".into(),
    ///     login_count_30d: 3,
    ///     user_segment: "active",
    ///     signed_up: "2026-01-05T10:00:00Z".into(),
    ///     internal_note: "VIP call".into(),
    /// };
    /// let p = Profile::from_serialize(&schema, &customer)?;
    /// assert_eq!(p.id(), "c-1");
    /// assert_eq!(p.attribute("login_count_30d"), Some(&Value::Int(3)));
    ///
    /// // The same errors as `from_json`, naming the profile and the field:
    /// #[derive(serde::Serialize)]
    /// struct Wrong { id: &'static str, login_count_30d: &'static str }
    /// let err = Profile::from_serialize(&schema, &Wrong { id: "c-2", login_count_30d: "x" }).unwrap_err();
    /// assert_eq!(err.to_string(), "profile `c-2`, field `traits.login_count_30d`: expected int, found string \"x\"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Profile::from_json`]: a value that is not a struct or map, an id
    /// that is not a string or number, a value of the wrong type (naming the
    /// profile id and the field, such as `traits.login_count_30d` or
    /// `events[2].timestamp`), or an error raised by the value's own
    /// `Serialize` implementation. The first trait error is reported before
    /// any event error, whatever the order of the fields.
    pub fn from_serialize<T: Serialize + ?Sized>(
        schema: &Schema,
        value: &T,
    ) -> Result<Profile, ProfileError> {
        let mut load = Load {
            schema,
            fields: Fields::take(schema),
            position: 0,
            id: None,
            attributes: Attributes::nulls(schema.attribute_count()),
            id_error: None,
            trait_error: None,
            events: None,
        };
        let serialized = value.serialize(Object {
            load: &mut load,
            nested: false,
        });
        std::mem::take(&mut load.fields).give_back();
        match serialized {
            Ok(()) => load.finish(),
            Err(Fail::Custom(message)) => Err(ProfileError::Json { message }),
            Err(_) => Err(ProfileError::Json {
                message: format!("a profile must be a JSON object, found {}", found(value)),
            }),
        }
    }
}

/// What serializing a profile gathers; errors wait for the id, which may
/// come after them.
struct Load<'s> {
    schema: &'s Schema,
    /// What the fields of a struct mean, by position.
    fields: Fields,
    /// The position of the next field of a top-level struct.
    position: usize,
    id: Option<CompactString>,
    attributes: Attributes,
    /// An id that is neither a string nor a number: reported first.
    /// (This and the next two are boxed: rare, and unboxed they made `Load`
    /// large enough that handing it on cost a `memcpy` per profile.)
    id_error: Option<Box<ProfileError>>,
    /// The first mistyped trait: field, expected, found.
    trait_error: Option<Box<(String, String, String)>>,
    /// The `events` field, for the JSON loader.
    events: Option<Box<Json>>,
}

impl Load<'_> {
    /// A top-level field of a struct, its meaning cached by position: the
    /// name is looked up only when the struct is not the one seen last.
    #[inline(always)]
    fn struct_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Fail> {
        let position = self.position;
        self.position += 1;
        let field = match self.fields.get(position, name) {
            Some(field) => field,
            None => {
                let field = Field::of(self.schema, name);
                self.fields.put(position, name, field);
                field
            }
        };
        // The kind comes from this schema, not the cache: the cache is keyed
        // on a fingerprint, which two schemas could share.
        if let Field::Attribute(slot) = field
            && let Some(kind) = self
                .schema
                .attribute_at(slot)
                .and_then(|(_, ty)| Direct::of(ty))
            && let Ok(written) = value.serialize(SlotWriter { kind })
        {
            self.attributes.write(slot, written);
            return Ok(());
        }
        self.field(field, name, value)
    }

    /// A top-level field.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        field: Field,
        name: &str,
        value: &T,
    ) -> Result<(), Fail> {
        match field {
            Field::Id => {
                match value.serialize(Id) {
                    Ok(id) => self.id = Some(id),
                    Err(Fail::Custom(message)) => return Err(Fail::Custom(message)),
                    Err(_) => {
                        let message =
                            format!("field `id` must be a string, found {}", found(value));
                        self.id_error
                            .get_or_insert_with(|| Box::new(ProfileError::Json { message }));
                    }
                }
                Ok(())
            }
            Field::Traits => match value.serialize(Object {
                load: self,
                nested: true,
            }) {
                Ok(()) => Ok(()),
                Err(Fail::Custom(message)) => Err(Fail::Custom(message)),
                Err(_) => {
                    let found = found(value);
                    self.trait_error.get_or_insert_with(|| {
                        Box::new(("traits".into(), "an object".into(), found))
                    });
                    Ok(())
                }
            },
            Field::Events => {
                let events = serde_json::to_value(value)
                    .map_err(|e| Fail::Custom(format!("field `events`: {e}")))?;
                self.events = Some(Box::new(events));
                Ok(())
            }
            Field::Attribute(slot) => self.attribute(slot, name, value),
            Field::Unknown => Ok(()),
        }
    }

    /// A trait by name: written into its slot, or ignored if the schema has
    /// none.
    fn named_attribute<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), Fail> {
        match self.schema.attribute(name) {
            Some((slot, _)) => self.attribute(slot, name, value),
            None => Ok(()),
        }
    }

    /// The trait in `slot`, named `name`.
    fn attribute<T: Serialize + ?Sized>(
        &mut self,
        slot: usize,
        name: &str,
        value: &T,
    ) -> Result<(), Fail> {
        let Some((_, ty)) = self.schema.attribute_at(slot) else {
            return Ok(());
        };
        match value.serialize(Typed { ty }) {
            Ok(cell) => self.attributes.set(slot, cell),
            Err(Fail::Custom(message)) => return Err(Fail::Custom(message)),
            Err(fail) => {
                if self.trait_error.is_none() {
                    let found = match fail {
                        Fail::NonFinite(x) => format!("number {x}"),
                        _ => found(value),
                    };
                    let error = (format!("traits.{name}"), ty.to_string(), found);
                    self.trait_error = Some(Box::new(error));
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Profile, ProfileError> {
        if let Some(error) = self.id_error {
            return Err(*error);
        }
        let id = self.id.unwrap_or_default();
        if let Some(error) = self.trait_error {
            let (field, expected, found) = *error;
            return Err(ProfileError::WrongType {
                profile: id.to_string(),
                field,
                expected,
                found,
            });
        }
        let Some(events) = &self.events else {
            return Ok(Profile::assemble(
                self.schema,
                id,
                self.attributes,
                Vec::new(),
            ));
        };
        ProfileBuilder::new(self.schema, id, self.attributes)
            .load_json(|loader| loader.events(Some(events)))?
            .build()
    }
}

/// What a top-level field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Traits,
    Events,
    /// The attribute in this slot.
    Attribute(usize),
    Unknown,
}

impl Field {
    fn of(schema: &Schema, name: &str) -> Field {
        match name {
            "id" => Field::Id,
            "traits" => Field::Traits,
            "events" => Field::Events,
            _ => schema
                .attribute(name)
                .map_or(Field::Unknown, |(slot, _)| Field::Attribute(slot)),
        }
    }
}

/// The fields of the struct this thread serialized last, by position: a
/// field whose name is the same `&'static str` (same address and length)
/// as last time at its position means the same, under a schema of the same
/// fingerprint.
#[derive(Default)]
struct Fields {
    fingerprint: u64,
    fields: Vec<(usize, usize, Field)>,
}

thread_local! {
    static FIELDS: RefCell<Fields> = RefCell::default();
}

impl Fields {
    /// This thread's cache, emptied if it was for another schema.
    fn take(schema: &Schema) -> Fields {
        let mut fields = FIELDS
            .try_with(|cell| cell.try_borrow_mut().map(|mut f| std::mem::take(&mut *f)))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        if fields.fingerprint != schema.fingerprint() {
            fields.fingerprint = schema.fingerprint();
            fields.fields.clear();
        }
        fields
    }

    fn give_back(self) {
        let _ = FIELDS.try_with(|cell| {
            if let Ok(mut f) = cell.try_borrow_mut() {
                *f = self;
            }
        });
    }

    #[inline]
    fn get(&self, position: usize, name: &'static str) -> Option<Field> {
        match self.fields.get(position) {
            Some(&(at, len, field)) if at == name.as_ptr() as usize && len == name.len() => {
                Some(field)
            }
            _ => None,
        }
    }

    fn put(&mut self, position: usize, name: &'static str, field: Field) {
        let entry = (name.as_ptr() as usize, name.len(), field);
        if position == self.fields.len() {
            self.fields.push(entry);
        } else if let Some(cell) = self.fields.get_mut(position) {
            *cell = entry;
        }
    }
}

/// `describe` of the value's JSON form, for error messages only.
fn found<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(json) => describe(&json),
        Err(e) => format!("a value JSON cannot hold ({e})"),
    }
}

/// Why a value could not be written.
#[derive(Debug)]
enum Fail {
    /// The value does not have the expected shape or type (described from
    /// the value afterwards).
    Mismatch,
    /// A NaN or infinite float.
    NonFinite(f64),
    /// An error of the value's own `Serialize` implementation, or a map key
    /// that is not a string.
    Custom(String),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Mismatch => f.write_str("a value of another type"),
            Fail::NonFinite(x) => write!(f, "number {x}"),
            Fail::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Fail {}

impl ser::Error for Fail {
    fn custom<M: fmt::Display>(message: M) -> Self {
        Fail::Custom(message.to_string())
    }
}

/// The associated types of a serializer that takes no compound value: its
/// `Ok` and error, and `Impossible` for every kind of sequence or map.
macro_rules! scalars_only {
    ($ok:ty) => {
        type Ok = $ok;
        type Error = Fail;
        type SerializeSeq = Impossible<$ok, Fail>;
        type SerializeTuple = Impossible<$ok, Fail>;
        type SerializeTupleStruct = Impossible<$ok, Fail>;
        type SerializeTupleVariant = Impossible<$ok, Fail>;
        type SerializeMap = Impossible<$ok, Fail>;
        type SerializeStruct = Impossible<$ok, Fail>;
        type SerializeStructVariant = Impossible<$ok, Fail>;
    };
}

/// The methods of a serializer that refuse what they are given.
macro_rules! refuse {
    ($($method:ident)*) => { $( refuse!(@ $method); )* };
    // Not a refusal: the narrow numbers as the wide ones.
    (@ widen) => {
        fn serialize_i8(self, v: i8) -> Result<Self::Ok, Fail> { self.serialize_i64(v.into()) }
        fn serialize_i16(self, v: i16) -> Result<Self::Ok, Fail> { self.serialize_i64(v.into()) }
        fn serialize_i32(self, v: i32) -> Result<Self::Ok, Fail> { self.serialize_i64(v.into()) }
        fn serialize_u8(self, v: u8) -> Result<Self::Ok, Fail> { self.serialize_u64(v.into()) }
        fn serialize_u16(self, v: u16) -> Result<Self::Ok, Fail> { self.serialize_u64(v.into()) }
        fn serialize_u32(self, v: u32) -> Result<Self::Ok, Fail> { self.serialize_u64(v.into()) }
        fn serialize_f32(self, v: f32) -> Result<Self::Ok, Fail> { self.serialize_f64(v.into()) }
    };
    (@ serialize_bool) => { fn serialize_bool(self, _: bool) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_i64) => { fn serialize_i64(self, _: i64) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_u64) => { fn serialize_u64(self, _: u64) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_f64) => { fn serialize_f64(self, _: f64) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_char) => { fn serialize_char(self, _: char) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_str) => { fn serialize_str(self, _: &str) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_bytes) => { fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_none) => { fn serialize_none(self) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_unit) => { fn serialize_unit(self) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) } };
    (@ serialize_unit_struct) => {
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Fail> { Err(Fail::Mismatch) }
    };
    (@ serialize_unit_variant) => {
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<Self::Ok, Fail> {
            Err(Fail::Mismatch)
        }
    };
    (@ serialize_newtype_variant) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self, _: &'static str, _: u32, _: &'static str, _: &T,
        ) -> Result<Self::Ok, Fail> {
            Err(Fail::Mismatch)
        }
    };
    (@ serialize_seq) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Fail> { Err(Fail::Mismatch) }
    };
    (@ serialize_tuple) => {
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Fail> { Err(Fail::Mismatch) }
    };
    (@ serialize_tuple_struct) => {
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Fail> {
            Err(Fail::Mismatch)
        }
    };
    (@ serialize_tuple_variant) => {
        fn serialize_tuple_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeTupleVariant, Fail> {
            Err(Fail::Mismatch)
        }
    };
    (@ serialize_map) => {
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Fail> { Err(Fail::Mismatch) }
    };
    (@ serialize_struct) => {
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Fail> {
            Err(Fail::Mismatch)
        }
    };
    (@ serialize_struct_variant) => {
        fn serialize_struct_variant(
            self, _: &'static str, _: u32, _: &'static str, _: usize,
        ) -> Result<Self::SerializeStructVariant, Fail> {
            Err(Fail::Mismatch)
        }
    };
}

/// A profile (`nested: false`) or its `traits` (`nested: true`): a struct
/// or a map of fields.
struct Object<'a, 's> {
    load: &'a mut Load<'s>,
    nested: bool,
}

impl Object<'_, '_> {
    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Fail> {
        if self.nested {
            self.load.named_attribute(name, value)
        } else {
            self.load
                .field(Field::of(self.load.schema, name), name, value)
        }
    }

    /// Nothing at all: no traits, or (for a profile) not an object.
    fn nothing(self) -> Result<(), Fail> {
        if self.nested {
            Ok(())
        } else {
            Err(Fail::Mismatch)
        }
    }
}

impl<'a, 's> ser::Serializer for Object<'a, 's> {
    type Ok = ();
    type Error = Fail;
    type SerializeSeq = Impossible<(), Fail>;
    type SerializeTuple = Impossible<(), Fail>;
    type SerializeTupleStruct = Impossible<(), Fail>;
    type SerializeTupleVariant = Impossible<(), Fail>;
    type SerializeMap = Entries<'a, 's>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Fail>;

    refuse!(widen serialize_bool serialize_i64 serialize_u64 serialize_f64 serialize_char
        serialize_str serialize_bytes serialize_unit_struct serialize_unit_variant
        serialize_newtype_variant serialize_seq serialize_tuple serialize_tuple_struct
        serialize_tuple_variant serialize_struct_variant);

    fn serialize_none(self) -> Result<(), Fail> {
        self.nothing()
    }

    fn serialize_unit(self) -> Result<(), Fail> {
        self.nothing()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Fail> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Fail> {
        value.serialize(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Entries<'a, 's>, Fail> {
        Ok(Entries {
            object: self,
            key: String::new(),
        })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Fail> {
        Ok(self)
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = ();
    type Error = Fail;

    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Fail> {
        if self.nested {
            self.load.named_attribute(name, value)
        } else {
            self.load.struct_field(name, value)
        }
    }

    fn end(self) -> Result<(), Fail> {
        Ok(())
    }
}

/// The fields of an object given as a map.
struct Entries<'a, 's> {
    object: Object<'a, 's>,
    /// The last key, reused from entry to entry.
    key: String,
}

impl ser::SerializeMap for Entries<'_, '_> {
    type Ok = ();
    type Error = Fail;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Fail> {
        self.key.clear();
        key.serialize(Key(&mut self.key))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fail> {
        self.object.field(&self.key, value)
    }

    fn end(self) -> Result<(), Fail> {
        Ok(())
    }
}

/// A map key, which must be a string.
struct Key<'b>(&'b mut String);

impl Key<'_> {
    fn refused() -> Fail {
        Fail::Custom("a profile's field names must be strings".to_owned())
    }
}

impl ser::Serializer for Key<'_> {
    scalars_only!(());

    refuse!(widen serialize_bool serialize_i64 serialize_u64 serialize_f64 serialize_bytes
        serialize_none serialize_unit serialize_unit_struct serialize_newtype_variant
        serialize_seq serialize_tuple serialize_tuple_struct serialize_tuple_variant
        serialize_map serialize_struct serialize_struct_variant);

    fn serialize_str(self, key: &str) -> Result<(), Fail> {
        self.0.push_str(key);
        Ok(())
    }

    fn serialize_char(self, key: char) -> Result<(), Fail> {
        self.0.push(key);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        key: &'static str,
    ) -> Result<(), Fail> {
        self.serialize_str(key)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Fail> {
        Err(Self::refused())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        key: &T,
    ) -> Result<(), Fail> {
        key.serialize(self)
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, key: &T) -> Result<(), Fail> {
        use fmt::Write;
        write!(self.0, "{key}").map_err(|_| Self::refused())
    }
}

/// The profile's id: a string, or a number written out as JSON writes it.
struct Id;

impl ser::Serializer for Id {
    scalars_only!(CompactString);

    refuse!(widen serialize_bool serialize_bytes serialize_none serialize_unit
        serialize_unit_struct serialize_unit_variant serialize_newtype_variant serialize_seq
        serialize_tuple serialize_tuple_struct serialize_tuple_variant serialize_map
        serialize_struct serialize_struct_variant);

    fn serialize_i64(self, id: i64) -> Result<CompactString, Fail> {
        Ok(id.to_compact_string())
    }

    fn serialize_u64(self, id: u64) -> Result<CompactString, Fail> {
        Ok(id.to_compact_string())
    }

    fn serialize_f64(self, id: f64) -> Result<CompactString, Fail> {
        serde_json::Number::from_f64(id)
            .map(|n| n.to_compact_string())
            .ok_or(Fail::Mismatch)
    }

    fn serialize_char(self, id: char) -> Result<CompactString, Fail> {
        Ok(id.to_compact_string())
    }

    fn serialize_str(self, id: &str) -> Result<CompactString, Fail> {
        Ok(CompactString::from(id))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, id: &T) -> Result<CompactString, Fail> {
        id.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        id: &T,
    ) -> Result<CompactString, Fail> {
        id.serialize(self)
    }
}

mod direct;
use direct::{Direct, SlotWriter};

/// A value of a declared type.
#[derive(Clone, Copy)]
struct Typed<'t> {
    ty: &'t Type,
}

impl Typed<'_> {
    fn scalar(self, scalar: Scalar<'_>) -> Result<Cell, Fail> {
        cell_from_scalar(self.ty, scalar).ok_or(Fail::Mismatch)
    }
}

impl<'t> ser::Serializer for Typed<'t> {
    type Ok = Cell;
    type Error = Fail;
    type SerializeSeq = Items<'t>;
    type SerializeTuple = Items<'t>;
    type SerializeTupleStruct = Items<'t>;
    type SerializeTupleVariant = Impossible<Cell, Fail>;
    type SerializeMap = Impossible<Cell, Fail>;
    type SerializeStruct = Impossible<Cell, Fail>;
    type SerializeStructVariant = Impossible<Cell, Fail>;

    refuse!(widen serialize_newtype_variant serialize_tuple_variant serialize_map serialize_struct
        serialize_struct_variant);

    fn serialize_bool(self, v: bool) -> Result<Cell, Fail> {
        self.scalar(Scalar::Bool(v))
    }

    fn serialize_i64(self, v: i64) -> Result<Cell, Fail> {
        self.scalar(Scalar::Int(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Cell, Fail> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => self.serialize_i64(i),
            (_, Ok(u)) => self.serialize_u64(u),
            _ => Err(Fail::Mismatch),
        }
    }

    fn serialize_u64(self, v: u64) -> Result<Cell, Fail> {
        self.scalar(match i64::try_from(v) {
            Ok(i) => Scalar::Int(i),
            Err(_) => Scalar::UInt(v),
        })
    }

    fn serialize_u128(self, v: u128) -> Result<Cell, Fail> {
        u64::try_from(v)
            .map_err(|_| Fail::Mismatch)
            .and_then(|u| self.serialize_u64(u))
    }

    fn serialize_f64(self, v: f64) -> Result<Cell, Fail> {
        if !v.is_finite() {
            return Err(Fail::NonFinite(v));
        }
        self.scalar(Scalar::Float(v))
    }

    fn serialize_char(self, v: char) -> Result<Cell, Fail> {
        self.scalar(Scalar::Str(v.encode_utf8(&mut [0; 4])))
    }

    fn serialize_str(self, v: &str) -> Result<Cell, Fail> {
        self.scalar(Scalar::Str(v))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Cell, Fail> {
        let Type::List(item) = self.ty else {
            return Err(Fail::Mismatch);
        };
        let item = Typed { ty: item };
        let items: Result<Vec<Value>, Fail> = v
            .iter()
            .map(|byte| {
                Ok(item
                    .scalar(Scalar::Int((*byte).into()))?
                    .into_value(item.ty))
            })
            .collect();
        Ok(Cell::Other(Value::List(items?.into())))
    }

    fn serialize_none(self) -> Result<Cell, Fail> {
        Ok(Cell::Slot(Slot::NULL))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Cell, Fail> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Cell, Fail> {
        Ok(Cell::Slot(Slot::NULL))
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, Fail> {
        Ok(Cell::Slot(Slot::NULL))
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Cell, Fail> {
        self.scalar(Scalar::Str(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Cell, Fail> {
        value.serialize(self)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'t>, Fail> {
        match self.ty {
            Type::List(item) => Ok(Items {
                item,
                items: Vec::with_capacity(len.unwrap_or(0)),
            }),
            _ => Err(Fail::Mismatch),
        }
    }

    fn serialize_tuple(self, len: usize) -> Result<Items<'t>, Fail> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items<'t>, Fail> {
        self.serialize_seq(Some(len))
    }
}

/// The items of a list.
struct Items<'t> {
    item: &'t Type,
    items: Vec<Value>,
}

impl Items<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fail> {
        let item = value.serialize(Typed { ty: self.item })?;
        self.items.push(item.into_value(self.item));
        Ok(())
    }
}

/// `Items` as the three kinds of sequence serde has.
macro_rules! items {
    ($($kind:ident :: $add:ident),*) => {$(
        impl ser::$kind for Items<'_> {
            type Ok = Cell;
            type Error = Fail;

            fn $add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fail> {
                self.push(value)
            }

            fn end(self) -> Result<Cell, Fail> {
                Ok(Cell::Other(Value::List(self.items.into())))
            }
        }
    )*};
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);
