//! One profile's whole history as one value of the `profiles` table (format
//! 4): its encoding and decoding.
//!
//! Input: a [`ProfileLog`] (names already interned as numbers, see
//! `names.rs`); output: its bytes, and back. Decoding never trusts the
//! bytes: every length, count and number is checked against what is left
//! and what its type holds, and any mismatch is an [`Undecodable`] saying
//! what was expected at which byte, never a panic. Decoding what
//! [`ProfileLog::encode`] wrote gives back the same log.
//!
//! The layout, in order (varints are LEB128, unsigned, at most as long as
//! their type needs; "instant" is a tagged delta, below):
//!
//! 1. One header byte: bit 0 the last decision's instant follows, bit 1
//!    compacted counters follow, bit 2 journey states follow; the other
//!    bits are 0.
//! 2. The instant of the profile's last decision, a delta from 0. It is the
//!    *reference* of the instants below (0 when absent).
//! 3. Compacted counters: a count, then per action `action`, `times`, and
//!    the instant of its latest compacted send (delta from the reference).
//!    They hold the sends compaction removed from the records; the live
//!    counters are these plus the sends among the records.
//! 4. Journey states: a count, then per journey `journey`, `entered_at`
//!    (delta from the reference), `enrolment`, `done`, a byte (bit 0
//!    `tried`, bits 1–2 the status: 0 active, 1 exited, 2 completed) and,
//!    when left, `left_at` (delta from `entered_at`).
//! 5. The records, in recording order, up to the end of the value: a flags
//!    byte (bit 0 transactional, bits 1–2 the outcome: 0 sent, 1 held
//!    out, 2 skipped, bit 3 the key is 16 lowercase hex digits, bit 4 a
//!    journey step, bit 5 `send_at` differs from `at`, bit 6 the key is
//!    the engine's, derived), `action`, `channel`, `at` (delta from the
//!    previous record's, the first from the reference), `send_at` (delta
//!    from `at`) if flagged, the key (nothing when derived, 8 bytes
//!    big-endian when hex, else a length and its UTF-8 bytes), and
//!    `journey`, `step` if flagged.
//!
//! A derived key is the one the decision engine gives the record in its
//! place (see [`Derivation`]): of a journey step, from its journey, step
//! and the enrolment of the profile's journey state; else from how many
//! times its action was sent before it (the compacted sends, then the
//! sends among the records before it). It is left out of the bytes, and
//! computed again when decoded: the encoder derives every key afresh from
//! the log it encodes, and writes it whenever it differs (a key of another
//! engine, or a journey entered again since), so that decoding always
//! gives back the key that was recorded.
//!
//! An instant delta `d` (µs, computed exactly in 128 bits) is stored as the
//! varint of `zigzag(d / 1 000 000) << 1 | 1` when `d` is whole seconds,
//! else of `zigzag(d) << 1`: a day between two decisions takes 3 bytes, an
//! instant at the same time 1.

use crate::Id;

use super::super::{JourneyState, JourneyStatus, Outcome};
use crate::rules::Category;
use crate::value::Timestamp;

/// An interned action, channel or journey name (see `names.rs`).
pub(super) type Name = u32;

/// What the engine derives a record's key from, besides the profile and
/// the action (see `idempotency_key` in `decide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Derivation {
    /// An action on its own, sent this many times counting this send.
    Send(u32),
    /// A journey step.
    Step {
        journey: Name,
        enrolment: u32,
        step: u32,
    },
}

/// The engine's key of a record of `action`, derived as `Derivation`
/// says; `None` when a name it needs is unknown.
pub(super) type Derive<'a> = &'a dyn Fn(Name, Derivation) -> Option<u64>;

/// The derivations of a profile's records, one record after another.
struct Context<'l> {
    journeys: &'l [(Name, JourneyState)],
    /// Per action, the sends so far.
    sent: Vec<(Name, u32)>,
}

impl<'l> Context<'l> {
    fn new(journeys: &'l [(Name, JourneyState)], compacted: &[(Name, u32, i64)]) -> Context<'l> {
        let sent = (compacted.iter())
            .map(|(action, count, _)| (*action, *count))
            .collect();
        Context { journeys, sent }
    }

    /// How the engine derives the key of the record of `action`, on
    /// `journey` if a step, that comes next.
    fn derivation(&self, action: Name, journey: Option<(Name, u32)>) -> Option<Derivation> {
        match journey {
            Some((journey, step)) => {
                let (_, state) = self.journeys.iter().find(|(j, _)| *j == journey)?;
                Some(Derivation::Step {
                    journey,
                    enrolment: state.enrolment,
                    step,
                })
            }
            None => {
                let sent = (self.sent.iter()).find(|(a, _)| *a == action);
                Some(Derivation::Send(
                    sent.map_or(0, |(_, n)| *n).saturating_add(1),
                ))
            }
        }
    }

    /// Counts the record of `action` with `outcome` that came next.
    fn passed(&mut self, action: Name, outcome: Outcome) {
        if outcome != Outcome::Sent {
            return;
        }
        match self.sent.iter_mut().find(|(a, _)| *a == action) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.sent.push((action, 1)),
        }
    }
}

/// One profile's history, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ProfileLog {
    /// The instant of its last decision (µs).
    pub last_at: Option<i64>,
    /// Per action, the sends compaction removed from `records`: (action,
    /// how many, the latest decided at µs).
    pub compacted: Vec<(Name, u32, i64)>,
    /// Per journey, where the profile stands.
    pub journeys: Vec<(Name, JourneyState)>,
    /// Its records, in recording order.
    pub records: Vec<Entry>,
}

/// One record of a profile, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub action: Name,
    pub channel: Name,
    pub category: Category,
    pub outcome: Outcome,
    /// Decided at, µs.
    pub at: i64,
    /// Delivered at, µs.
    pub send_at: i64,
    pub key: Key,
    /// The journey and step.
    pub journey: Option<(Name, u32)>,
}

/// An idempotency key: the engine's (16 lowercase hex digits) in 8 bytes,
/// any other as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    Hex(u64),
    Text(Id),
}

impl Key {
    pub fn new(key: &str) -> Key {
        let hex = key.len() == 16
            && key
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match u64::from_str_radix(key, 16) {
            Ok(value) if hex => Key::Hex(value),
            _ => Key::Text(key.into()),
        }
    }

    pub fn text(&self) -> Id {
        match self {
            Key::Hex(value) => Id::from_compact(compact_str::format_compact!("{value:016x}")),
            Key::Text(text) => text.clone(),
        }
    }
}

impl ProfileLog {
    /// The live counters of `action`: the compacted ones plus the sends
    /// among the records.
    pub fn sends_of(&self, action: Name) -> Option<(u32, i64)> {
        let compacted = (self.compacted.iter())
            .find(|(a, ..)| *a == action)
            .map(|(_, count, last)| (*count, *last));
        let sent = self.sent().filter(|entry| entry.action == action);
        sent.fold(compacted, |acc, entry| {
            let (count, last) = acc.unwrap_or((0, entry.at));
            Some((count.saturating_add(1), last.max(entry.at)))
        })
    }

    /// The live counters of every action sent, in the order first met.
    pub fn counters(&self) -> Vec<(Name, u32, i64)> {
        let mut out = self.compacted.clone();
        for entry in self.sent() {
            match out.iter_mut().find(|(a, ..)| *a == entry.action) {
                Some((_, count, last)) => {
                    *count = count.saturating_add(1);
                    *last = (*last).max(entry.at);
                }
                None => out.push((entry.action, 1, entry.at)),
            }
        }
        out
    }

    /// The records that are sends.
    pub fn sent(&self) -> impl Iterator<Item = &Entry> {
        (self.records.iter()).filter(|entry| entry.outcome == Outcome::Sent)
    }

    /// Moves the last decision's instant to `at` if that is later.
    pub fn decided(&mut self, at: i64) {
        self.last_at = self.last_at.max(Some(at));
    }

    /// Sets where the profile stands in `journey`.
    pub fn set_journey(&mut self, journey: Name, state: JourneyState) {
        match self.journeys.iter_mut().find(|(j, _)| *j == journey) {
            Some(entry) => entry.1 = state,
            None => self.journeys.push((journey, state)),
        }
    }

    /// Removes the records decided at or before `cut`, but those decided at
    /// the last decision's instant, folding the sends among them into the
    /// compacted counters; returns how many it removed.
    pub fn compact(&mut self, cut: i64) -> usize {
        let before = self.records.len();
        let last_at = self.last_at;
        let mut removed_sends: Vec<(Name, i64)> = Vec::new();
        self.records.retain(|entry| {
            let keep = entry.at > cut || Some(entry.at) == last_at;
            if !keep && entry.outcome == Outcome::Sent {
                removed_sends.push((entry.action, entry.at));
            }
            keep
        });
        for (action, at) in removed_sends {
            match self.compacted.iter_mut().find(|(a, ..)| *a == action) {
                Some((_, count, last)) => {
                    *count = count.saturating_add(1);
                    *last = (*last).max(at);
                }
                None => self.compacted.push((action, 1, at)),
            }
        }
        before - self.records.len()
    }

    /// The stored bytes; `derive` gives the engine's keys, left out of them.
    pub fn encode(&self, out: &mut Vec<u8>, derive: Derive<'_>) {
        out.clear();
        let header = u8::from(self.last_at.is_some())
            | u8::from(!self.compacted.is_empty()) << 1
            | u8::from(!self.journeys.is_empty()) << 2;
        out.push(header);
        let reference = self.last_at.unwrap_or(0);
        if let Some(last_at) = self.last_at {
            put_instant(out, 0, last_at);
        }
        if !self.compacted.is_empty() {
            put_varint(out, self.compacted.len() as u128);
            for (action, count, last) in &self.compacted {
                put_varint(out, u128::from(*action));
                put_varint(out, u128::from(*count));
                put_instant(out, reference, *last);
            }
        }
        if !self.journeys.is_empty() {
            put_varint(out, self.journeys.len() as u128);
            for (journey, state) in &self.journeys {
                put_journey(out, reference, *journey, state);
            }
        }
        let mut previous = reference;
        let mut context = Context::new(&self.journeys, &self.compacted);
        for entry in &self.records {
            let derived = (context.derivation(entry.action, entry.journey))
                .and_then(|how| derive(entry.action, how));
            let derived = matches!(entry.key, Key::Hex(key) if Some(key) == derived);
            put_entry(out, previous, entry, derived);
            context.passed(entry.action, entry.outcome);
            previous = entry.at;
        }
    }

    /// Decodes the stored `bytes`, with the keys the engine derives from
    /// `derive`.
    ///
    /// # Errors
    /// [`Undecodable`], saying what was expected where, for bytes that
    /// [`encode`](ProfileLog::encode) never writes.
    pub fn decode(bytes: &[u8], derive: Derive<'_>) -> Result<ProfileLog, Undecodable> {
        let mut input = Input { bytes, at: 0 };
        let header = input.byte("the header byte")?;
        if header & !0b111 != 0 {
            return Err(input.error_before(1, "a header byte with only bits 0 to 2"));
        }
        let mut log = ProfileLog::default();
        if header & 1 != 0 {
            log.last_at = Some(input.instant(0, "the last decision's instant")?);
        }
        let reference = log.last_at.unwrap_or(0);
        if header & 0b10 != 0 {
            let count = input.count("the number of compacted counters")?;
            for _ in 0..count {
                let action = input.u32("an action name")?;
                let times = input.u32("a count of compacted sends")?;
                let last = input.instant(reference, "a compacted send's instant")?;
                log.compacted.push((action, times, last));
            }
        }
        if header & 0b100 != 0 {
            let count = input.count("the number of journey states")?;
            for _ in 0..count {
                log.journeys.push(input.journey(reference)?);
            }
        }
        let mut previous = reference;
        let mut context = Context::new(&log.journeys, &log.compacted);
        let mut records = Vec::new();
        while !input.is_empty() {
            let entry = input.entry(previous, &context, derive)?;
            context.passed(entry.action, entry.outcome);
            previous = entry.at;
            records.push(entry);
        }
        log.records = records;
        Ok(log)
    }
}

/// Where the bytes of a value stop making sense: what was expected, at
/// which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Undecodable {
    pub offset: usize,
    pub expected: &'static str,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.offset)
    }
}

const TRANSACTIONAL: u8 = 1;
const OUTCOME_SHIFT: u8 = 1;
const HEX_KEY: u8 = 1 << 3;
const STEP: u8 = 1 << 4;
const DEFERRED: u8 = 1 << 5;
const DERIVED_KEY: u8 = 1 << 6;
const MICROS_PER_SECOND: i128 = 1_000_000;

/// `entry`, whose key is the engine's `derived` one or not.
fn put_entry(out: &mut Vec<u8>, previous: i64, entry: &Entry, derived: bool) {
    let outcome = match entry.outcome {
        Outcome::Sent => 0,
        Outcome::HeldOut => 1,
        Outcome::Skipped => 2,
    };
    let flags = (u8::from(entry.category == Category::Transactional) * TRANSACTIONAL)
        | (outcome << OUTCOME_SHIFT)
        | (u8::from(matches!(entry.key, Key::Hex(_)) && !derived) * HEX_KEY)
        | (u8::from(derived) * DERIVED_KEY)
        | (u8::from(entry.journey.is_some()) * STEP)
        | (u8::from(entry.send_at != entry.at) * DEFERRED);
    out.push(flags);
    put_varint(out, u128::from(entry.action));
    put_varint(out, u128::from(entry.channel));
    put_instant(out, previous, entry.at);
    if entry.send_at != entry.at {
        put_instant(out, entry.at, entry.send_at);
    }
    match &entry.key {
        _ if derived => {}
        Key::Hex(value) => out.extend_from_slice(&value.to_be_bytes()),
        Key::Text(text) => {
            put_varint(out, text.len() as u128);
            out.extend_from_slice(text.as_bytes());
        }
    }
    if let Some((journey, step)) = entry.journey {
        put_varint(out, u128::from(journey));
        put_varint(out, u128::from(step));
    }
}

fn put_journey(out: &mut Vec<u8>, reference: i64, journey: Name, state: &JourneyState) {
    put_varint(out, u128::from(journey));
    put_instant(out, reference, state.entered_at.as_micros());
    put_varint(out, u128::from(state.enrolment));
    put_varint(out, u128::from(state.done));
    let (status, left_at) = match state.status {
        JourneyStatus::Active => (0, None),
        JourneyStatus::Exited(at) => (1, Some(at)),
        JourneyStatus::Completed(at) => (2, Some(at)),
    };
    out.push(u8::from(state.tried) | status << 1);
    if let Some(left_at) = left_at {
        put_instant(out, state.entered_at.as_micros(), left_at.as_micros());
    }
}

/// `at` as a tagged delta from `from` (see the module docs).
fn put_instant(out: &mut Vec<u8>, from: i64, at: i64) {
    let delta = i128::from(at) - i128::from(from);
    let tagged = if delta % MICROS_PER_SECOND == 0 {
        zigzag(delta / MICROS_PER_SECOND) << 1 | 1
    } else {
        zigzag(delta) << 1
    };
    put_varint(out, tagged);
}

/// Exact for every delta of two `i64`: 65 bits at most, so that the tag's
/// shift still fits.
const fn zigzag(n: i128) -> u128 {
    ((n << 1) ^ (n >> 127)) as u128
}

const fn unzigzag(n: u128) -> i128 {
    (n >> 1) as i128 ^ -((n & 1) as i128)
}

fn put_varint(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The bytes of a value, read from the front.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn error(&self, expected: &'static str) -> Undecodable {
        Undecodable {
            offset: self.at,
            expected,
        }
    }

    fn error_before(&self, read: usize, expected: &'static str) -> Undecodable {
        Undecodable {
            offset: self.at.saturating_sub(read),
            expected,
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, Undecodable> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| self.error(what))?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&[u8], Undecodable> {
        let end = self.at.checked_add(len).ok_or_else(|| self.error(what))?;
        let bytes = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.error(what))?;
        self.at = end;
        Ok(bytes)
    }

    /// A varint of at most `bits` bits.
    fn varint(&mut self, bits: u32, what: &'static str) -> Result<u128, Undecodable> {
        let start = self.at;
        let mut value: u128 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.byte(what)?;
            let part = u128::from(byte & 0x7f);
            if shift >= bits || (shift > 0 && part.leading_zeros() < 128 - (bits - shift)) {
                self.at = start;
                return Err(self.error(what));
            }
            value |= part << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Undecodable> {
        let start = self.at;
        let value = self.varint(32, what)?;
        u32::try_from(value).map_err(|_| Undecodable {
            offset: start,
            expected: what,
        })
    }

    /// A count of items, each at least one byte long: never more than the
    /// bytes left, so that a damaged count allocates nothing.
    fn count(&mut self, what: &'static str) -> Result<usize, Undecodable> {
        let start = self.at;
        let count = self.varint(64, what)?;
        match usize::try_from(count) {
            Ok(count) if count <= self.bytes.len() - self.at.min(self.bytes.len()) => Ok(count),
            _ => Err(Undecodable {
                offset: start,
                expected: what,
            }),
        }
    }

    /// An instant stored as a delta from `from`.
    fn instant(&mut self, from: i64, what: &'static str) -> Result<i64, Undecodable> {
        let start = self.at;
        let tagged = self.varint(67, what)?;
        let delta = unzigzag(tagged >> 1);
        let delta = if tagged & 1 == 1 {
            delta.checked_mul(MICROS_PER_SECOND)
        } else {
            Some(delta)
        };
        delta
            .and_then(|delta| i64::try_from(i128::from(from) + delta).ok())
            .ok_or(Undecodable {
                offset: start,
                expected: what,
            })
    }

    fn journey(&mut self, reference: i64) -> Result<(Name, JourneyState), Undecodable> {
        let journey = self.u32("a journey name")?;
        let entered_at = self.instant(reference, "a journey's entry instant")?;
        let enrolment = self.u32("a journey enrolment")?;
        let done = self.u32("a count of journey stages done")?;
        let flags = self.byte("a journey state's flags")?;
        let left_at = |input: &mut Self| input.instant(entered_at, "a journey's exit instant");
        let status = match flags >> 1 {
            0 => JourneyStatus::Active,
            1 => JourneyStatus::Exited(Timestamp::from_micros(left_at(self)?)),
            2 => JourneyStatus::Completed(Timestamp::from_micros(left_at(self)?)),
            _ => return Err(self.error_before(1, "a journey status of 0, 1 or 2")),
        };
        let state = JourneyState {
            entered_at: Timestamp::from_micros(entered_at),
            enrolment,
            done,
            tried: flags & 1 == 1,
            status,
        };
        Ok((journey, state))
    }

    fn entry(
        &mut self,
        previous: i64,
        context: &Context<'_>,
        derive: Derive<'_>,
    ) -> Result<Entry, Undecodable> {
        let flags = self.byte("a record's flags")?;
        let outcome = match (flags >> OUTCOME_SHIFT) & 0b11 {
            0 => Outcome::Sent,
            1 => Outcome::HeldOut,
            2 => Outcome::Skipped,
            _ => return Err(self.error_before(1, "an outcome of 0, 1 or 2")),
        };
        if flags >> 7 != 0 || flags & (HEX_KEY | DERIVED_KEY) == HEX_KEY | DERIVED_KEY {
            return Err(self.error_before(
                1,
                "record flags with bit 7 clear, bits 3 and 6 not both set",
            ));
        }
        let action = self.u32("an action name")?;
        let channel = self.u32("a channel name")?;
        let at = self.instant(previous, "a record's instant")?;
        let send_at = if flags & DEFERRED != 0 {
            self.instant(at, "a record's delivery instant")?
        } else {
            at
        };
        let key_at = self.at;
        let key = if flags & DERIVED_KEY != 0 {
            None
        } else if flags & HEX_KEY != 0 {
            let bytes = self.take(8, "an 8-byte key")?;
            let mut value = [0u8; 8];
            value.copy_from_slice(bytes);
            Some(Key::Hex(u64::from_be_bytes(value)))
        } else {
            let len = self.count("a key's length")?;
            let start = self.at;
            let bytes = self.take(len, "a key's bytes")?;
            let text = std::str::from_utf8(bytes).map_err(|_| Undecodable {
                offset: start,
                expected: "a key in UTF-8",
            })?;
            Some(Key::Text(text.into()))
        };
        let journey = if flags & STEP != 0 {
            Some((self.u32("a journey name")?, self.u32("a journey step")?))
        } else {
            None
        };
        let key = match key {
            Some(key) => key,
            None => (context.derivation(action, journey))
                .and_then(|how| derive(action, how))
                .map(Key::Hex)
                .ok_or(Undecodable {
                    offset: key_at,
                    expected: "a key the engine derives from names the store holds",
                })?,
        };
        Ok(Entry {
            action,
            channel,
            category: if flags & TRANSACTIONAL != 0 {
                Category::Transactional
            } else {
                Category::Marketing
            },
            outcome,
            at,
            send_at,
            key,
            journey,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_instant() -> impl Strategy<Value = i64> {
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            -1_000i64..1_000,
            // Whole seconds around 2026.
            (1_700_000_000i64..1_900_000_000).prop_map(|s| s * 1_000_000),
            any::<i64>(),
        ]
    }

    fn arb_state() -> impl Strategy<Value = JourneyState> {
        (arb_instant(), any::<u32>(), any::<u32>(), any::<bool>()).prop_flat_map(
            |(entered, enrolment, done, tried)| {
                (0u8..3, arb_instant()).prop_map(move |(status, left)| JourneyState {
                    entered_at: Timestamp::from_micros(entered),
                    enrolment,
                    done,
                    tried,
                    status: match status {
                        0 => JourneyStatus::Active,
                        1 => JourneyStatus::Exited(Timestamp::from_micros(left)),
                        _ => JourneyStatus::Completed(Timestamp::from_micros(left)),
                    },
                })
            },
        )
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        (
            (
                prop_oneof![0u32..3, Just(u32::MAX)],
                0u32..4,
                any::<bool>(),
                0u8..3,
            ),
            (
                arb_instant(),
                prop_oneof![Just(None), arb_instant().prop_map(Some)],
            ),
            prop_oneof![
                any::<u64>().prop_map(|v| format!("{v:016x}")),
                "\\PC{0,20}",
                "[0-9A-F]{16}",
            ],
            proptest::option::of((0u32..3, 1u32..4)),
        )
            .prop_map(
                |((action, channel, transactional, outcome), (at, send_at), key, journey)| Entry {
                    action,
                    channel,
                    category: if transactional {
                        Category::Transactional
                    } else {
                        Category::Marketing
                    },
                    outcome: [Outcome::Sent, Outcome::HeldOut, Outcome::Skipped][outcome as usize],
                    at,
                    send_at: send_at.unwrap_or(at),
                    key: Key::new(&key),
                    journey,
                },
            )
    }

    /// A stand-in for the engine's keys: any function of the derivation
    /// will do, and one name (`u32::MAX`) is unknown.
    fn fake_key(action: Name, how: Derivation) -> Option<u64> {
        let how = match how {
            Derivation::Send(count) => u64::from(count),
            Derivation::Step {
                journey,
                enrolment,
                step,
            } => u64::from(journey) << 40 ^ u64::from(enrolment) << 20 ^ u64::from(step) ^ 1 << 63,
        };
        (action != u32::MAX).then_some(u64::from(action) << 32 ^ how)
    }

    /// Logs whose records' keys are often the derived ones.
    fn arb_log() -> impl Strategy<Value = ProfileLog> {
        (
            proptest::option::of(arb_instant()),
            prop::collection::vec((0u32..3, any::<u32>(), arb_instant()), 0..3),
            prop::collection::vec((0u32..3, arb_state()), 0..3),
            prop::collection::vec((arb_entry(), any::<bool>()), 0..6),
        )
            .prop_map(|(last_at, compacted, journeys, records)| {
                let mut log = ProfileLog {
                    last_at,
                    compacted,
                    journeys,
                    records: Vec::new(),
                };
                let mut context = Context::new(&log.journeys, &log.compacted);
                for (mut entry, engine) in records {
                    let how = context.derivation(entry.action, entry.journey);
                    if let Some(key) = how.and_then(|how| fake_key(entry.action, how))
                        && engine
                    {
                        entry.key = Key::Hex(key);
                    }
                    context.passed(entry.action, entry.outcome);
                    log.records.push(entry);
                }
                log
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn decoding_gives_back_what_was_encoded(log in arb_log()) {
            let mut bytes = Vec::new();
            log.encode(&mut bytes, &fake_key);
            prop_assert_eq!(ProfileLog::decode(&bytes, &fake_key), Ok(log));
        }

        #[test]
        fn any_bytes_decode_or_are_refused_never_a_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..64)
        ) {
            if let Ok(log) = ProfileLog::decode(&bytes, &fake_key) {
                // What decodes encodes back to bytes that decode the same.
                let mut again = Vec::new();
                log.encode(&mut again, &fake_key);
                prop_assert_eq!(ProfileLog::decode(&again, &fake_key), Ok(log));
            }
        }

        #[test]
        fn damaged_values_are_refused_or_decode_never_a_panic(
            log in arb_log(), flip in any::<prop::sample::Index>(), mask in 1u8..,
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = Vec::new();
            log.encode(&mut bytes, &fake_key);
            let mut flipped = bytes.clone();
            flipped[flip.index(bytes.len())] ^= mask;
            let _ = ProfileLog::decode(&flipped, &fake_key);
            let _ = ProfileLog::decode(&bytes[..cut.index(bytes.len())], &fake_key);
        }
    }

    #[test]
    fn only_lowercase_sixteen_digit_keys_are_packed() {
        assert_eq!(
            Key::new("00ff00ff00ff00ff"),
            Key::Hex(0x00ff_00ff_00ff_00ff)
        );
        for text in [
            "00FF00FF00FF00FF",
            "+0ff00ff00ff00ff",
            "abc",
            "",
            "0123456789abcdef0",
        ] {
            assert_eq!(Key::new(text), Key::Text(text.into()), "{text}");
        }
        assert_eq!(Key::new("0123456789abcdef").text(), "0123456789abcdef");
    }

    #[test]
    fn a_daily_send_takes_six_bytes_with_the_engines_key() {
        let day = 86_400_000_000;
        let at = 1_796_000_000_000_000;
        let entry = |at| Entry {
            action: 3,
            channel: 1,
            category: Category::Marketing,
            outcome: Outcome::Sent,
            at,
            send_at: at,
            key: Key::new("0123456789abcdef"),
            journey: None,
        };
        let log = ProfileLog {
            last_at: Some(at + day),
            records: vec![entry(at), entry(at + day)],
            ..ProfileLog::default()
        };
        let mut bytes = Vec::new();
        log.encode(&mut bytes, &fake_key);
        // The header 1, the last decision's instant 5 (whole seconds since
        // 1970), then per record its flags 1, names 2, the day since the
        // record before (or to the reference) 3, its key 8.
        assert_eq!(bytes.len(), 1 + 5 + 2 * (1 + 2 + 3 + 8));
        // The engine's keys are left out.
        let engine = |_: Name, _: Derivation| Some(0x0123_4567_89ab_cdef);
        log.encode(&mut bytes, &engine);
        assert_eq!(bytes.len(), 1 + 5 + 2 * (1 + 2 + 3));
        assert_eq!(ProfileLog::decode(&bytes, &engine), Ok(log));
    }

    #[test]
    fn errors_say_what_was_expected_where() {
        let error = ProfileLog::decode(&[], &fake_key).unwrap_err();
        assert_eq!(error.to_string(), "expected the header byte at byte 0");
        let error = ProfileLog::decode(&[0b1000], &fake_key).unwrap_err();
        assert_eq!(error.offset, 0);
        // A record cut inside its key.
        let error = ProfileLog::decode(&[0, HEX_KEY, 0, 0, 1, 0xab], &fake_key).unwrap_err();
        assert_eq!(error.to_string(), "expected an 8-byte key at byte 5");
        // A count of more journeys than there are bytes.
        let error = ProfileLog::decode(&[0b100, 0x7f], &fake_key).unwrap_err();
        assert_eq!(error.expected, "the number of journey states");
        // A varint longer than its type.
        let error =
            ProfileLog::decode(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f], &fake_key).unwrap_err();
        assert_eq!((error.offset, error.expected), (2, "an action name"));
    }

    #[test]
    fn compaction_folds_the_removed_sends_into_the_counters() {
        let entry = |action, at, outcome| Entry {
            action,
            channel: 0,
            category: Category::Marketing,
            outcome,
            at,
            send_at: at,
            key: Key::new("k"),
            journey: None,
        };
        let mut log = ProfileLog {
            last_at: Some(30),
            records: vec![
                entry(1, 10, Outcome::Sent),
                entry(1, 20, Outcome::HeldOut),
                entry(2, 20, Outcome::Sent),
                entry(1, 30, Outcome::Sent),
            ],
            ..ProfileLog::default()
        };
        let before = (log.sends_of(1), log.sends_of(2), log.counters().len());
        assert_eq!(log.compact(25), 3);
        assert_eq!(
            (log.sends_of(1), log.sends_of(2), log.counters().len()),
            before
        );
        assert_eq!(log.sends_of(1), Some((2, 30)));
        // The last decision's records are kept whatever the cut.
        assert_eq!(log.compact(100), 0);
        assert_eq!(log.records.len(), 1);
    }
}
