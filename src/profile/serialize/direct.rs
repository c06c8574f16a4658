//! The fast path of `Profile::from_serialize`: a struct field whose
//! attribute is a bool, an int, a float or a string is written straight into
//! its slot, without a [`Value`](crate::Value) or a schema lookup in between.
//! Anything this path does not take (another type, a value that needs a
//! conversion, a string too long for a slot, a value of the wrong type) is
//! refused, and the general path reads it again: it gives the value or the
//! error message.

use serde::ser::{self, Impossible, Serialize};

use super::Fail;
use crate::profile::Slot;
use crate::schema::Type;

/// The attribute types a slot holds as they are serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direct {
    Bool,
    Int,
    Float,
    Text,
}

impl Direct {
    pub(super) fn of(ty: &Type) -> Option<Direct> {
        match ty {
            Type::Bool => Some(Direct::Bool),
            Type::Int => Some(Direct::Int),
            Type::Float => Some(Direct::Float),
            Type::String => Some(Direct::Text),
            _ => None,
        }
    }
}

/// One value as its slot, or a refusal (`Err`).
pub(super) struct SlotWriter {
    pub(super) kind: Direct,
}

impl SlotWriter {
    #[inline(always)]
    fn write(self, slot: Option<Slot>) -> Result<Slot, Fail> {
        slot.ok_or(Fail::Mismatch)
    }
}

impl ser::Serializer for SlotWriter {
    scalars_only!(Slot);

    refuse!(widen serialize_char serialize_bytes serialize_unit_struct serialize_unit_variant
        serialize_newtype_variant serialize_seq serialize_tuple serialize_tuple_struct
        serialize_tuple_variant serialize_map serialize_struct serialize_struct_variant);

    fn serialize_bool(self, v: bool) -> Result<Slot, Fail> {
        let slot = (self.kind == Direct::Bool).then(|| Slot::of_bool(v));
        self.write(slot)
    }

    /// An int field, or a float field given an int (widened, as the
    /// general path does).
    fn serialize_i64(self, v: i64) -> Result<Slot, Fail> {
        #[allow(clippy::cast_precision_loss)]
        let slot = match self.kind {
            Direct::Int => Some(Slot::of_int(v)),
            Direct::Float => Some(Slot::of_float(v as f64)),
            Direct::Bool | Direct::Text => None,
        };
        self.write(slot)
    }

    fn serialize_u64(self, v: u64) -> Result<Slot, Fail> {
        self.serialize_i64(i64::try_from(v).map_err(|_| Fail::Mismatch)?)
    }

    /// A finite float for a float field; an int field given a float is
    /// the general path's (it must be an exact int).
    fn serialize_f64(self, v: f64) -> Result<Slot, Fail> {
        let slot = (self.kind == Direct::Float && v.is_finite()).then(|| Slot::of_float(v));
        self.write(slot)
    }

    fn serialize_str(self, v: &str) -> Result<Slot, Fail> {
        let slot = (self.kind == Direct::Text).then(|| Slot::text(v)).flatten();
        self.write(slot)
    }

    /// NULL, whatever the type.
    fn serialize_none(self) -> Result<Slot, Fail> {
        self.write(Some(Slot::NULL))
    }

    fn serialize_unit(self) -> Result<Slot, Fail> {
        self.write(Some(Slot::NULL))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Slot, Fail> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Slot, Fail> {
        value.serialize(self)
    }
}
