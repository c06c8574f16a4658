//! Runtime values: what a profile holds and what an expression produces.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// A UTC instant, in microseconds since the Unix epoch.
///
/// ```
/// use nextbest::Timestamp;
/// let t = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
/// assert_eq!(t.to_string(), "2026-11-24T09:00:00Z");
/// assert_eq!(Timestamp::parse("2026-11-24").unwrap().to_string(), "2026-11-24T00:00:00Z");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// The first instant RFC 3339 can write: `0000-01-01T00:00:00Z`.
    pub const EARLIEST_RFC3339: Timestamp = Timestamp(-62_167_219_200_000_000);

    /// The last instant RFC 3339 can write: `9999-12-31T23:59:59.999999Z`.
    pub const LATEST_RFC3339: Timestamp = Timestamp(253_402_300_799_999_999);

    /// Whether RFC 3339 can write this instant (its year is 0000 to 9999 in
    /// UTC). Every timestamp [`parse`](Timestamp::parse) returns can; one
    /// computed from it (a deferral, a cooldown's end) may not.
    ///
    /// ```
    /// use nextbest::{Duration, Timestamp};
    /// let last_day = Timestamp::parse("9999-12-31T12:00:00Z")?;
    /// assert!(last_day.is_rfc3339());
    /// assert!(!(last_day + Duration::parse("1d")?).is_rfc3339());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn is_rfc3339(self) -> bool {
        Self::EARLIEST_RFC3339.0 <= self.0 && self.0 <= Self::LATEST_RFC3339.0
    }

    /// Converts from chrono.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Timestamp(at.timestamp_micros())
    }

    /// Converts to chrono (`None` only outside chrono's range of ±262 000 years).
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.0)
    }

    /// Parses RFC 3339 (`2026-01-15T10:00:00+02:00`) or a bare date
    /// (`2026-01-15`, midnight UTC).
    ///
    /// ```
    /// use nextbest::Timestamp;
    /// // In UTC this is in year 10000, which RFC 3339 cannot write back.
    /// assert!(Timestamp::parse("9999-12-31T23:00:00-05:00").is_err());
    /// ```
    ///
    /// # Errors
    /// [`InvalidTimestamp`] when the text is neither, or names an instant
    /// whose year in UTC is outside 0000 to 9999.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        parse_timestamp(text)
            .map(Timestamp)
            .filter(|at| at.is_rfc3339())
            .ok_or_else(|| InvalidTimestamp(text.to_owned()))
    }

    /// This instant moved by `by`, or `None` on overflow.
    pub fn checked_add(self, by: Duration) -> Option<Self> {
        self.0.checked_add(by.0).map(Timestamp)
    }
}

/// `instant + duration`, saturating at the ends of representable time
/// (about ±292 000 years): `checked_add` tells the overflow apart.
///
/// ```
/// use nextbest::{Duration, Timestamp};
/// let start = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// assert_eq!((start + Duration::parse("3d")?).to_string(), "2026-11-27T09:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, by: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(by.0))
    }
}

/// `instant - duration`, saturating as [`Add`](std::ops::Add) does.
///
/// ```
/// use nextbest::{Duration, Timestamp};
/// let now: Timestamp = "2026-11-24T09:00:00Z".parse()?;
/// assert_eq!((now - Duration::from_days(7)).to_string(), "2026-11-17T09:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, by: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(by.0))
    }
}

/// The span from `earlier` to this instant (negative if it is later),
/// saturating.
///
/// ```
/// use nextbest::{Duration, Timestamp};
/// let (a, b): (Timestamp, Timestamp) = ("2026-11-24".parse()?, "2026-11-25T12:00:00Z".parse()?);
/// assert_eq!(b - a, Duration::parse("36h")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl std::ops::Sub<Timestamp> for Timestamp {
    type Output = Duration;

    fn sub(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

/// [`Timestamp::parse`]: RFC 3339, or a date.
impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(text: &str) -> Result<Self, InvalidTimestamp> {
        Timestamp::parse(text)
    }
}

/// As [`Display`](fmt::Display) writes it (RFC 3339), not microseconds.
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// A timestamp text that is neither RFC 3339 nor a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a timestamp; expected RFC 3339 such as `2026-01-15T10:00:00Z`, or a date such as `2026-01-15`"
)]
pub struct InvalidTimestamp(pub String);

/// Microseconds since the epoch of an RFC 3339 timestamp or a bare date.
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(micros) = crate::rfc3339::parse_utc(text) {
        return Some(micros);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_micros());
    }
    if text.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = [0u8; 32];
        if let Some(text) = crate::rfc3339::format_utc(self.0, &mut buffer) {
            return f.write_str(text);
        }
        match self.to_datetime() {
            Some(at) => f.write_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => write!(f, "{}µs", self.0),
        }
    }
}

/// A signed span of time, in microseconds.
///
/// ```
/// use nextbest::Duration;
/// let d = Duration::parse("14d").unwrap();
/// assert_eq!(d, Duration::from_days(14));
/// assert_eq!(d.to_string(), "2w");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Duration {
    /// A duration of `micros` microseconds.
    pub const fn from_micros(micros: i64) -> Self {
        Duration(micros)
    }

    /// A duration of whole seconds (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        Duration(secs.saturating_mul(1_000_000))
    }

    /// A duration of whole days (saturating).
    pub const fn from_days(days: i64) -> Self {
        Duration(days.saturating_mul(MICROS_PER_DAY))
    }

    /// The length in microseconds.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses a duration literal such as `500ms`, `30s`, `15m`, `12h`, `14d`, `2w`.
    ///
    /// # Errors
    /// [`InvalidDuration`] for anything else, or a value too large.
    pub fn parse(text: &str) -> Result<Self, InvalidDuration> {
        let invalid = || InvalidDuration(text.to_owned());
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .ok_or_else(invalid)?;
        let (amount, unit) = text.split_at(split);
        let unit = crate::syntax::DurationUnit::from_suffix(unit).ok_or_else(invalid)?;
        let amount: String = amount.chars().filter(|c| *c != '_').collect();
        let amount: i64 = amount.parse().map_err(|_| invalid())?;
        amount
            .checked_mul(unit.micros())
            .map(Duration)
            .ok_or_else(invalid)
    }
}

/// A duration text that is not a number followed by a unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a duration; expected a whole number and a unit, such as `500ms`, `30s`, `15m`, `12h`, `14d` or `2w`"
)]
pub struct InvalidDuration(pub String);

/// [`Duration::parse`]: a whole number and a unit, such as `7d`.
impl std::str::FromStr for Duration {
    type Err = InvalidDuration;

    fn from_str(text: &str) -> Result<Self, InvalidDuration> {
        Duration::parse(text)
    }
}

impl fmt::Display for Duration {
    /// The largest unit that divides the duration exactly, such as `36h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::syntax::DurationUnit::*;
        for unit in [Weeks, Days, Hours, Minutes, Seconds, Milliseconds] {
            if self.0 % unit.micros() == 0 {
                return write!(f, "{}{}", self.0 / unit.micros(), unit.suffix());
            }
        }
        write!(f, "{}us", self.0)
    }
}

/// SQL's three truth values.
///
/// ```
/// use nextbest::Truth;
/// assert_eq!(Truth::Unknown.and(Truth::False), Truth::False);
/// assert_eq!(Truth::Unknown.or(Truth::True), Truth::True);
/// assert_eq!(Truth::Unknown.not(), Truth::Unknown);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Truth {
    /// Definitely true: the trigger fires.
    True,
    /// Definitely false.
    False,
    /// NULL: not enough data to say. A trigger does not fire.
    Unknown,
}

impl Truth {
    /// Whether this is `True` (only `True` fires a trigger).
    pub const fn is_true(self) -> bool {
        matches!(self, Truth::True)
    }

    /// SQL `AND`.
    pub const fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    /// SQL `OR`.
    pub const fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// SQL `NOT`.
    #[allow(clippy::should_implement_trait)]
    pub const fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    /// `Some(bool)` → `True`/`False`; `None` → `Unknown`.
    pub const fn from_option(value: Option<bool>) -> Truth {
        match value {
            Some(true) => Truth::True,
            Some(false) => Truth::False,
            None => Truth::Unknown,
        }
    }

    /// `True`/`False` → `Some(bool)`; `Unknown` → `None`.
    pub const fn to_option(self) -> Option<bool> {
        match self {
            Truth::True => Some(true),
            Truth::False => Some(false),
            Truth::Unknown => None,
        }
    }
}

impl From<bool> for Truth {
    fn from(value: bool) -> Self {
        if value { Truth::True } else { Truth::False }
    }
}

impl fmt::Display for Truth {
    /// `true`, `false` or `null`, as `nextbest eval` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Truth::True => "true",
            Truth::False => "false",
            Truth::Unknown => "null",
        })
    }
}

/// A runtime value. `Null` is SQL's NULL: missing or unknown.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// Missing or unknown.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float (never NaN).
    Float(f64),
    /// A string (shared, cheap to clone).
    String(Arc<str>),
    /// A UTC instant.
    Timestamp(Timestamp),
    /// A span of time.
    Duration(Duration),
    /// A list.
    List(Arc<[Value]>),
}

impl Value {
    /// Whether this is `Null`.
    pub const fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean as a truth value (`Null` → `Unknown`; other kinds → `Unknown`).
    pub fn truth(&self) -> Truth {
        match self {
            Value::Bool(b) => Truth::from(*b),
            _ => Truth::Unknown,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        if v.is_nan() {
            Value::Null
        } else {
            Value::Float(v)
        }
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v.into())
    }
}
impl From<Timestamp> for Value {
    fn from(v: Timestamp) -> Self {
        Value::Timestamp(v)
    }
}
impl From<Duration> for Value {
    fn from(v: Duration) -> Self {
        Value::Duration(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl fmt::Display for Value {
    /// The value as JSON would show it (`null`, `true`, `3`, `"text"`, `["a"]`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::String(s) => write!(f, "{}", serde_json::Value::from(&**s)),
            Value::Timestamp(t) => write!(f, "\"{t}\""),
            Value::Duration(d) => write!(f, "\"{d}\""),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A value as JSON: timestamps and durations as strings, as in profiles. A
/// figure past the end of year 9999 (a cooldown of thousands of years ends
/// there) is written as the last instant RFC 3339 can write, which it is at
/// least: the line stays RFC 3339 for every reader. (A send time is never
/// clamped: a decision that would send that late is refused.) A float that
/// is not finite is `null`.
pub(crate) struct AsJson<'a>(pub(crate) &'a Value);

impl Serialize for AsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::String(s) => serializer.serialize_str(s),
            Value::Timestamp(t) => serializer
                .collect_str(&(*t).clamp(Timestamp::EARLIEST_RFC3339, Timestamp::LATEST_RFC3339)),
            Value::Duration(d) => serializer.collect_str(d),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&AsJson(item))?;
                }
                seq.end()
            }
        }
    }
}
