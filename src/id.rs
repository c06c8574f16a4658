//! [`Id`]: the string type of the ids in decisions and history records.
//!
//! Profile, action, channel and journey ids and idempotency keys are short
//! strings that a decision copies many times. `Id` keeps up to 24 bytes
//! inline (no allocation for the usual ids and keys) and reads as a `&str`
//! everywhere. It is a type of this crate so that the inline-string crate
//! behind it is not part of nextbest's public API: it can change without a
//! breaking release.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;

/// An id or key: a `String` look-alike kept inline up to 24 bytes.
///
/// It dereferences to `str`, compares with `&str` and `String`, and
/// hashes like the `str` it holds, so a map keyed by `Id` is searched
/// with a `&str`:
///
/// ```
/// use nextbest::Id;
/// use std::collections::HashMap;
///
/// let id = Id::from("c-1042");
/// assert_eq!(id, "c-1042");
/// assert!(id.starts_with("c-"));
/// let seen: HashMap<Id, u32> = HashMap::from([(id.clone(), 1)]);
/// assert_eq!(seen.get("c-1042"), Some(&1));
/// assert_eq!(id.to_string(), "c-1042");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(CompactString);

impl Id {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The crate's inline string inside, without copying it.
    pub(crate) fn into_compact(self) -> CompactString {
        self.0
    }

    /// Wraps the crate's inline string without copying it.
    #[cfg(feature = "durable")]
    pub(crate) fn from_compact(text: CompactString) -> Id {
        Id(text)
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

// `Hash` of `CompactString` is `str`'s, which `Borrow<str>` requires.
impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl From<&str> for Id {
    fn from(text: &str) -> Id {
        Id(CompactString::from(text))
    }
}

impl From<String> for Id {
    fn from(text: String) -> Id {
        Id(CompactString::from(text))
    }
}

impl From<&String> for Id {
    fn from(text: &String) -> Id {
        Id(CompactString::from(text.as_str()))
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0.into_string()
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        // Borrowed when the input allows, so a short id allocates nothing.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Id, E> {
                Ok(Id::from(text))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn hashes_like_the_str_it_holds() {
        // `Borrow<str>` is only sound for map lookups if this holds, for
        // inline and heap-allocated ids alike.
        for text in [
            "",
            "c-1042",
            "a key longer than twenty-four bytes, on the heap",
        ] {
            assert_eq!(hash_of(&Id::from(text)), hash_of(text));
        }
    }

    #[test]
    fn orders_and_compares_as_its_text() {
        let mut ids: Vec<Id> = ["b", "a", "B", "é"].into_iter().map(Id::from).collect();
        ids.sort();
        assert_eq!(ids, ["B", "a", "b", "é"]);
        assert_eq!(format!("{:?}", Id::from("x\"y")), r#""x\"y""#);
        assert_eq!(String::from(Id::from("kept")), "kept");
    }
}
