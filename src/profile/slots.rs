//! The compact form of a profile's attributes that triggers read, and the
//! form they take while a profile is built.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use crate::schema::Type;
use crate::value::{Duration, Timestamp, Value};

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
/// | longer string, list | 5 | its index among the profile's other values |
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
        // Bytes 0 and 1 are the tag and the length, then the text. Shifted
        // in byte by byte rather than copied into a buffer and read back as
        // words: the read-back of a `memcpy` stalled on store forwarding.
        let mut word = u128::from(Self::TEXT) | (text.len() as u128) << 8;
        for (at, byte) in text.bytes().enumerate() {
            word |= u128::from(byte) << (8 * (at + 2));
        }
        #[allow(clippy::cast_possible_truncation)]
        Some(Slot {
            head: word as u64,
            tail: (word >> 64) as u64,
        })
    }

    #[inline]
    pub(crate) fn of_bool(b: bool) -> Slot {
        Slot {
            head: Self::BOOL,
            tail: u64::from(b),
        }
    }

    /// An int, or the microseconds of a timestamp or a duration.
    #[inline]
    pub(crate) fn of_int(i: i64) -> Slot {
        #[allow(clippy::cast_sign_loss)]
        Slot {
            head: Self::INT,
            tail: i as u64,
        }
    }

    #[inline]
    pub(crate) fn of_float(x: f64) -> Slot {
        Slot {
            head: Self::FLOAT,
            tail: x.to_bits(),
        }
    }

    /// The slot of a value, or `None` when no slot can hold it (a string
    /// longer than [`Slot::TEXT_CAPACITY`], a list).
    fn of(value: &Value) -> Option<Slot> {
        Some(match value {
            Value::Null => Slot::NULL,
            Value::Bool(b) => Slot::of_bool(*b),
            Value::Int(i) => Slot::of_int(*i),
            Value::Timestamp(t) => Slot::of_int(t.as_micros()),
            Value::Duration(d) => Slot::of_int(d.as_micros()),
            Value::Float(x) => Slot::of_float(*x),
            Value::String(s) => return Slot::text(s),
            Value::List(_) => return None,
        })
    }

    /// The slot of the value at `index` of a profile's other values.
    fn other(index: usize) -> Slot {
        Slot {
            head: Self::OTHER,
            tail: index as u64,
        }
    }

    /// The index among the profile's other values, if this slot points there.
    #[inline]
    pub(crate) fn other_index(self) -> Option<usize> {
        (self.head == Self::OTHER).then(|| usize::try_from(self.tail).ok())?
    }

    /// The string held in the slot itself, written into `buffer`.
    fn text_in(self, buffer: &mut [u8; 16]) -> Option<&str> {
        if !self.is_text() {
            return None;
        }
        *buffer = (u128::from(self.tail) << 64 | u128::from(self.head)).to_le_bytes();
        let len = usize::from(*buffer.get(1)?);
        std::str::from_utf8(buffer.get(2..2 + len)?).ok()
    }

    /// Calls `f` with the string held in the slot itself, if it holds one.
    pub(crate) fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> Option<R> {
        let mut buffer = [0u8; 16];
        self.text_in(&mut buffer).map(f)
    }

    /// The value this slot stands for, as an attribute of type `ty`
    /// (ints, timestamps and durations share a tag); `others` are the
    /// profile's values that no slot holds.
    pub(crate) fn value(self, ty: &Type, others: &[Value]) -> Value {
        if let Some(index) = self.other_index() {
            return others.get(index).cloned().unwrap_or(Value::Null);
        }
        #[allow(clippy::cast_possible_wrap)]
        let int = self.tail as i64;
        match (self.head, ty) {
            (Self::BOOL, _) => Value::Bool(self.tail != 0),
            (Self::INT, Type::Timestamp) => Value::Timestamp(Timestamp::from_micros(int)),
            (Self::INT, Type::Duration) => Value::Duration(Duration::from_micros(int)),
            (Self::INT, _) => Value::Int(int),
            (Self::FLOAT, _) => Value::Float(f64::from_bits(self.tail)),
            _ => self
                .with_text(|text| Value::String(text.into()))
                .unwrap_or(Value::Null),
        }
    }
}

/// An attribute's value as it is read: in a slot, or a value no slot holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Slot(Slot),
    Other(Value),
}

impl Cell {
    /// The cell of a string, allocating only when no slot can hold it.
    pub(crate) fn text(text: &str) -> Cell {
        Slot::text(text).map_or_else(|| Cell::Other(Value::from(text)), Cell::Slot)
    }

    pub(crate) fn of(value: Value) -> Cell {
        Slot::of(&value).map_or(Cell::Other(value), Cell::Slot)
    }

    /// The value, as an attribute of type `ty` would hold it.
    pub(crate) fn into_value(self, ty: &Type) -> Value {
        match self {
            Cell::Slot(slot) => slot.value(ty, &[]),
            Cell::Other(value) => value,
        }
    }
}

/// The attributes of a profile being built, in the form evaluation reads
/// them: a slot each, written straight into the slots the profile will keep
/// (see [`Slots`]), and beside them the values that no slot can hold, which
/// a slot points to by index. A short string is copied into its slot and
/// never allocated.
pub(crate) struct Attributes {
    /// Slots reserved for this builder alone: nobody else writes or reads
    /// them until they are handed to the profile.
    slots: Slots,
    others: Vec<Value>,
    /// Places in `others` no slot points to any more (a long value that was
    /// replaced by one a slot holds): reused first, so a builder that is set
    /// again and again (the simulator's) does not grow.
    free: Vec<usize>,
}

impl Attributes {
    /// `count` NULL attributes.
    pub(crate) fn nulls(count: usize) -> Attributes {
        Attributes {
            slots: Slots::reserve(count),
            others: Vec::new(),
            free: Vec::new(),
        }
    }

    /// How many attributes there are.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Sets the attribute in `slot` (ignored past the end, which a checked
    /// slot number never is).
    #[inline(always)]
    pub(crate) fn set(&mut self, slot: usize, cell: Cell) {
        match cell {
            Cell::Slot(value) => self.write(slot, value),
            Cell::Other(value) => self.set_other(slot, value),
        }
    }

    /// Sets a value no slot can hold; the slot points to it.
    fn set_other(&mut self, slot: usize, value: Value) {
        if slot >= self.slots.len() {
            return;
        }
        let index = self.slots.get(slot).other_index();
        match index.and_then(|index| self.others.get_mut(index)) {
            // Set again: the old value's place is reused.
            Some(old) => *old = value,
            None => {
                let index = match self.free.pop() {
                    Some(index) => index,
                    None => {
                        self.others.push(Value::Null);
                        self.others.len() - 1
                    }
                };
                if let Some(place) = self.others.get_mut(index) {
                    *place = value;
                }
                self.write(slot, Slot::other(index));
            }
        }
    }

    /// Writes a slot (one that pointed to a value no slot holds stops
    /// pointing to it).
    #[inline(always)]
    pub(crate) fn write(&mut self, slot: usize, value: Slot) {
        if let Some(index) = self.slots.get(slot).other_index() {
            self.release(index);
        }
        // `&mut self`: these slots are this builder's alone.
        self.slots.write(slot, value);
    }

    /// A place in `others` that no slot points to any more.
    #[cold]
    fn release(&mut self, index: usize) {
        if let Some(place) = self.others.get_mut(index) {
            *place = Value::Null;
            self.free.push(index);
        }
    }

    pub(crate) fn set_value(&mut self, slot: usize, value: Value) {
        self.set(slot, Cell::of(value));
    }

    #[cfg(test)]
    pub(crate) fn get(&self, slot: usize) -> Slot {
        self.slots.get(slot)
    }

    /// The attribute in `slot` as a value of type `ty`.
    pub(crate) fn value(&self, slot: usize, ty: &Type) -> Value {
        self.slots.get(slot).value(ty, &self.others)
    }

    /// The slots and the values no slot holds, for the profile.
    pub(crate) fn into_parts(mut self) -> (Slots, Vec<Value>) {
        if !self.free.is_empty() {
            // Only what a slot points to goes to the profile.
            let mut kept = Vec::with_capacity(self.others.len() - self.free.len());
            for slot in 0..self.slots.len() {
                let taken = (self.slots.get(slot).other_index())
                    .and_then(|index| self.others.get_mut(index))
                    .map(std::mem::take);
                if let Some(value) = taken {
                    kept.push(value);
                    self.slots.write(slot, Slot::other(kept.len() - 1));
                }
            }
            self.others = kept;
        }
        (self.slots, self.others)
    }
}

/// A copy writes slots of its own.
impl Clone for Attributes {
    fn clone(&self) -> Self {
        let slots = Slots::reserve(self.slots.len());
        for slot in 0..self.slots.len() {
            slots.write(slot, self.slots.get(slot));
        }
        Attributes {
            slots,
            others: self.others.clone(),
            free: self.free.clone(),
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
pub(super) struct Slots {
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
    /// `len` NULL slots that nobody else has been given, in this thread's
    /// slab when they fit.
    pub(super) fn reserve(len: usize) -> Slots {
        let Ok(len32) = u32::try_from(len) else {
            // Four billion attributes: not a schema that can be built.
            return Slots {
                slab: slab(0),
                start: 0,
                len: 0,
            };
        };
        if len <= SLAB_SLOTS / 8 {
            let shared = SLAB.try_with(|cell| {
                let mut cell = cell.try_borrow_mut().ok()?;
                let (slab, next) = &mut *cell;
                if slab.len().saturating_sub(*next) < len {
                    *slab = self::slab(SLAB_SLOTS);
                    *next = 0;
                }
                let start = u32::try_from(*next).ok()?;
                *next += len;
                Some(Slots {
                    slab: Arc::clone(slab),
                    start,
                    len: len32,
                })
            });
            if let Ok(Some(slots)) = shared {
                return slots;
            }
        }
        Slots {
            slab: slab(len),
            start: 0,
            len: len32,
        }
    }

    /// Writes a slot. Only [`Attributes`], which holds its slots alone,
    /// writes: a profile's slots are written before it is built and only
    /// read afterwards.
    #[inline(always)]
    fn write(&self, slot: usize, value: Slot) {
        if slot >= self.len as usize {
            return;
        }
        if let Some([head, tail]) = self.slab.get(self.start as usize + slot) {
            head.store(value.head, Relaxed);
            tail.store(value.tail, Relaxed);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline(always)]
    pub(super) fn get(&self, slot: usize) -> Slot {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use proptest::prelude::*;

    use super::*;

    fn value_of(ty: &Type) -> BoxedStrategy<Value> {
        let null = Just(Value::Null);
        match ty {
            Type::Null => null.boxed(),
            Type::Bool => prop_oneof![null, any::<bool>().prop_map(Value::Bool)].boxed(),
            Type::Int => prop_oneof![null, any::<i64>().prop_map(Value::Int)].boxed(),
            Type::Float => prop_oneof![null, any::<f64>().prop_map(Value::Float)].boxed(),
            Type::Timestamp => prop_oneof![
                null,
                any::<i64>().prop_map(|t| Value::Timestamp(Timestamp::from_micros(t)))
            ]
            .boxed(),
            Type::Duration => prop_oneof![
                null,
                any::<i64>().prop_map(|d| Value::Duration(Duration::from_micros(d)))
            ]
            .boxed(),
            // Around the slot's capacity, in bytes of one to four each.
            Type::String => prop_oneof![null, "\\PC{0,16}".prop_map(Value::from)].boxed(),
            Type::List(_) => prop_oneof![
                null,
                prop::collection::vec("[a-z]{0,3}".prop_map(Value::from), 0..3)
                    .prop_map(|items| Value::List(items.into()))
            ]
            .boxed(),
        }
    }

    fn typed_value() -> impl Strategy<Value = (Type, Value)> {
        prop_oneof![
            Just(Type::Bool),
            Just(Type::Int),
            Just(Type::Float),
            Just(Type::Timestamp),
            Just(Type::Duration),
            Just(Type::String),
            Just(Type::List(Box::new(Type::String))),
        ]
        .prop_flat_map(|ty| (Just(ty.clone()), value_of(&ty)))
    }

    /// Bits, so that NaN equals itself and 0.0 differs from -0.0.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    proptest! {
        /// Whatever is set, in whatever order and however often, each
        /// attribute reads back as the last value set for it.
        #[test]
        fn attributes_read_back_as_the_last_value_set(
            sets in prop::collection::vec((0..4usize, typed_value()), 0..24)
        ) {
            let mut attributes = Attributes::nulls(4);
            let mut expected: Vec<Option<(Type, Value)>> = vec![None; 4];
            for (slot, (ty, value)) in sets {
                attributes.set(slot, Cell::of(value.clone()));
                expected[slot] = Some((ty, value));
            }
            let (slots, others) = attributes.into_parts();
            for (slot, expected) in expected.iter().enumerate() {
                let read = slots.get(slot);
                match expected {
                    Some((ty, value)) => {
                        let back = read.value(ty, &others);
                        prop_assert!(same(&back, value), "{back:?} != {value:?}");
                    }
                    None => prop_assert!(read.is_null()),
                }
            }
        }

        /// A string goes into its slot exactly when it fits, and reads back
        /// unchanged either way.
        #[test]
        fn strings_fit_in_a_slot_up_to_its_capacity(text in "\\PC{0,20}") {
            let cell = Cell::text(&text);
            let fits = text.len() <= Slot::TEXT_CAPACITY;
            prop_assert_eq!(matches!(cell, Cell::Slot(_)), fits);
            if let Cell::Slot(slot) = cell {
                prop_assert_eq!(slot.with_text(str::to_owned), Some(text.clone()));
            }
            prop_assert_eq!(cell.into_value(&Type::String), Value::from(text));
        }
    }

    /// Found in review: a long value replaced by a short one stayed behind,
    /// and a builder set again and again grew without bound.
    #[test]
    fn long_values_replaced_by_short_ones_leave_nothing_behind() {
        let mut attributes = Attributes::nulls(2);
        attributes.set(1, Cell::text("kept: a string too long for a slot"));
        for n in 0..100 {
            attributes.set(0, Cell::text(&format!("a string too long for a slot, {n}")));
            attributes.set(0, Cell::of(Value::Null));
        }
        assert!(attributes.others.len() <= 2, "{}", attributes.others.len());
        let (slots, others) = attributes.into_parts();
        assert_eq!(
            others,
            vec![Value::from("kept: a string too long for a slot")]
        );
        assert!(slots.get(0).is_null());
        assert_eq!(slots.get(1).value(&Type::String, &others), others[0]);
    }

    #[test]
    fn a_long_string_set_twice_keeps_one_place() {
        let mut attributes = Attributes::nulls(1);
        attributes.set(0, Cell::text("a string too long for a slot"));
        attributes.set(0, Cell::text("another string too long for one"));
        assert_eq!(attributes.get(0).other_index(), Some(0));
        assert_eq!(attributes.into_parts().1.len(), 1);
    }
}
