//! The declared shape of profiles: typed attributes (traits) and event types
//! with typed properties.
//!
//! Names are resolved to slots once, when an expression is compiled; the order
//! of declaration is the slot order (kept by `IndexMap`), so a profile stores
//! its attributes in a plain vector and evaluation never hashes a name.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use indexmap::IndexMap;

/// A table of names in declaration order.
///
/// Keyed by a fast unkeyed hash rather than the standard library's SipHash:
/// a name is looked up for every trait, event and property of every
/// profile read, and the tables are built from the rule set, never from
/// profile data, so lookups with untrusted names cannot flood them.
type Names<V> = IndexMap<String, V, BuildHasherDefault<NameHasher>>;

/// FxHash's mix (a rotate, an xor and a multiply per word), eight bytes at
/// a time.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut mix = |word: u64| self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            mix(u64::from_le_bytes(*word));
        }
        if !rest.is_empty() {
            // Shifted in byte by byte: a short copy into a buffer read back
            // as a word stalls on store forwarding.
            let word = (rest.iter().rev()).fold(0u64, |word, &byte| word << 8 | u64::from(byte));
            // The length keeps "a" and "a\0" apart.
            mix(word ^ (rest.len() as u64) << 59);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The static type of a value or an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Type {
    /// The type of the `NULL` literal: compatible with every type.
    Null,
    /// `bool`
    Bool,
    /// `int` (i64)
    Int,
    /// `float` (f64)
    Float,
    /// `string`
    String,
    /// `timestamp`: a UTC instant.
    Timestamp,
    /// `duration`
    Duration,
    /// `list<T>`
    List(Box<Type>),
}

impl Type {
    /// Whether values of this type are numbers (`int` or `float`).
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Null => f.write_str("null"),
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::String => f.write_str("string"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Duration => f.write_str("duration"),
            Type::List(item) => write!(f, "list<{item}>"),
        }
    }
}

/// A type name that is not one of the language's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown type `{0}`; expected bool, int, float, string, timestamp, duration or list<T>")]
pub struct UnknownType(pub String);

impl FromStr for Type {
    type Err = UnknownType;

    /// Parses `int`, `list<string>`, … as written in rule files.
    ///
    /// ```
    /// use nextbest::Type;
    /// assert_eq!("list<string>".parse::<Type>().unwrap(), Type::List(Box::new(Type::String)));
    /// assert!("integer".parse::<Type>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        Ok(match trimmed {
            "bool" => Type::Bool,
            "int" => Type::Int,
            "float" => Type::Float,
            "string" => Type::String,
            "timestamp" => Type::Timestamp,
            "duration" => Type::Duration,
            _ => {
                let item = trimmed
                    .strip_prefix("list<")
                    .and_then(|rest| rest.strip_suffix('>'))
                    .ok_or_else(|| UnknownType(text.to_owned()))?;
                let item: Type = item.parse().map_err(|_| UnknownType(text.to_owned()))?;
                Type::List(Box::new(item))
            }
        })
    }
}

/// The properties of one event type.
///
/// ```
/// use nextbest::{EventSchema, Type};
/// let purchase = EventSchema::new().property("amount", Type::Float).property("product_id", Type::String);
/// assert_eq!(purchase.properties().count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSchema {
    properties: Names<Type>,
}

impl EventSchema {
    /// An event type without properties.
    pub fn new() -> Self {
        EventSchema::default()
    }

    /// Declares a property (a later declaration of the same name replaces it).
    pub fn property(mut self, name: impl Into<String>, ty: Type) -> Self {
        self.properties.insert(name.into(), ty);
        self
    }

    /// The declared properties in slot order.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &Type)> {
        self.properties.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The slot and type of a property.
    pub fn get(&self, name: &str) -> Option<(usize, &Type)> {
        self.properties
            .get_full(name)
            .map(|(slot, _, ty)| (slot, ty))
    }

    /// The name of the property in `slot`.
    pub fn name(&self, slot: usize) -> Option<&str> {
        self.properties.get_index(slot).map(|(n, _)| n.as_str())
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether the event type has no property.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }
}

/// An attribute of a [`Schema`], resolved once by
/// [`Schema::attribute_handle`]: its slot, and the schema's fingerprint so
/// that a handle is never used on a profile of another schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeHandle {
    slot: u32,
    fingerprint: u64,
}

impl AttributeHandle {
    /// The attribute's slot in the schema.
    pub fn slot(self) -> usize {
        self.slot as usize
    }

    /// The fingerprint of the schema it was resolved from.
    pub fn fingerprint(self) -> u64 {
        self.fingerprint
    }
}

/// A problem with a schema definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// An attribute, event or property name that cannot be written in an expression.
    #[error(
        "`{0}` is not a valid name; names must not be empty or contain a backtick or a newline"
    )]
    InvalidName(String),
    /// An event property that would hide the event's own timestamp.
    #[error(
        "event `{event}` declares a property `timestamp`, which is reserved for the event's time"
    )]
    ReservedProperty {
        /// The event type.
        event: String,
    },
}

/// The declared attributes and event types of a profile.
///
/// ```
/// use nextbest::{EventSchema, Schema, Type};
/// let schema = Schema::builder()
///     .attribute("login_count_30d", Type::Int)
///     .attribute("user_segment", Type::String)
///     .event("page_view", EventSchema::new().property("path", Type::String))
///     .build()
///     .unwrap();
/// assert_eq!(schema.attribute("user_segment").map(|(slot, _)| slot), Some(1));
/// ```
///
/// A `Schema` is cheap to clone: clones share one declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema(Arc<Declaration>);

#[derive(Debug, PartialEq, Eq)]
struct Declaration {
    attributes: Names<Type>,
    events: Names<EventSchema>,
    fingerprint: u64,
}

/// Builds a [`Schema`].
#[derive(Debug, Clone, Default)]
pub struct SchemaBuilder {
    attributes: Names<Type>,
    events: Names<EventSchema>,
}

impl SchemaBuilder {
    /// Declares an attribute (a later declaration of the same name replaces it).
    pub fn attribute(mut self, name: impl Into<String>, ty: Type) -> Self {
        self.attributes.insert(name.into(), ty);
        self
    }

    /// Declares an event type.
    pub fn event(mut self, name: impl Into<String>, event: EventSchema) -> Self {
        self.events.insert(name.into(), event);
        self
    }

    /// Finishes the schema.
    ///
    /// # Errors
    /// A name that cannot be written in an expression, or an event property
    /// named `timestamp`.
    pub fn build(self) -> Result<Schema, SchemaError> {
        let names = self
            .attributes
            .keys()
            .chain(self.events.keys())
            .chain(self.events.values().flat_map(|e| e.properties.keys()));
        for name in names {
            if name.is_empty() || name.contains(['`', '\n']) {
                return Err(SchemaError::InvalidName(name.clone()));
            }
        }
        if let Some((event, _)) = self
            .events
            .iter()
            .find(|(_, e)| e.get("timestamp").is_some())
        {
            return Err(SchemaError::ReservedProperty {
                event: event.clone(),
            });
        }
        let fingerprint = fingerprint(&self.attributes, &self.events);
        Ok(Schema(Arc::new(Declaration {
            attributes: self.attributes,
            events: self.events,
            fingerprint,
        })))
    }
}

/// FNV-1a over the declaration, so that profiles and compiled expressions can
/// check cheaply that they agree on slot numbers.
fn fingerprint(attributes: &Names<Type>, events: &Names<EventSchema>) -> u64 {
    // Names carry their length: a name may hold `:` or `;`, and without it
    // `x:int;a:y` of one schema would read as two attributes of another.
    let mut text = String::new();
    for (name, ty) in attributes {
        text.push_str(&format!("a{}:{name}:{ty};", name.len()));
    }
    for (name, event) in events {
        text.push_str(&format!("e{}:{name}(", name.len()));
        for (property, ty) in &event.properties {
            text.push_str(&format!("{}:{property}:{ty};", property.len()));
        }
        text.push(')');
    }
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Schema {
    /// Starts a schema (a rule file's `[schema]` builds one for you).
    ///
    /// ```
    /// use nextbest::{EventSchema, Schema, Type};
    /// let schema = Schema::builder()
    ///     .attribute("plan", Type::String)
    ///     .event("purchase", EventSchema::new().property("amount", Type::Float))
    ///     .build()?;
    /// assert_eq!(schema.attribute("plan").map(|(_, ty)| ty.clone()), Some(Type::String));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The slot and type of an attribute.
    pub fn attribute(&self, name: &str) -> Option<(usize, &Type)> {
        self.0
            .attributes
            .get_full(name)
            .map(|(slot, _, ty)| (slot, ty))
    }

    /// A handle on an attribute, resolved once, for
    /// [`ProfileBuilder::set`](crate::ProfileBuilder::set): setting by
    /// handle looks no name up. `None` if the schema has no such attribute.
    ///
    /// ```
    /// use nextbest::{Schema, Type};
    /// let schema = Schema::builder().attribute("plan", Type::String).build()?;
    /// assert!(schema.attribute_handle("plan").is_some());
    /// assert!(schema.attribute_handle("plam").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attribute_handle(&self, name: &str) -> Option<AttributeHandle> {
        let (slot, _) = self.attribute(name)?;
        Some(AttributeHandle {
            slot: u32::try_from(slot).ok()?,
            fingerprint: self.fingerprint(),
        })
    }

    /// The attributes in slot order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &Type)> {
        self.0.attributes.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The name and type of the attribute in `slot`.
    pub fn attribute_at(&self, slot: usize) -> Option<(&str, &Type)> {
        self.0
            .attributes
            .get_index(slot)
            .map(|(n, t)| (n.as_str(), t))
    }

    /// The number of attributes.
    pub fn attribute_count(&self) -> usize {
        self.0.attributes.len()
    }

    /// The index and schema of an event type.
    pub fn event(&self, name: &str) -> Option<(usize, &EventSchema)> {
        self.0.events.get_full(name).map(|(index, _, e)| (index, e))
    }

    /// The event types in index order.
    pub fn events(&self) -> impl Iterator<Item = (&str, &EventSchema)> {
        self.0.events.iter().map(|(n, e)| (n.as_str(), e))
    }

    /// The name and schema of the event type at `index`.
    pub fn event_at(&self, index: usize) -> Option<(&str, &EventSchema)> {
        self.0.events.get_index(index).map(|(n, e)| (n.as_str(), e))
    }

    /// The number of event types.
    pub fn event_count(&self) -> usize {
        self.0.events.len()
    }

    /// A hash of the declaration: equal schemas have equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        self.0.fingerprint
    }
}
