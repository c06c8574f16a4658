//! ClickHouse's forms, where its semantics differ from the other dialects'
//! (measured on ClickHouse 26.9 through chDB 4.4.0).
//!
//! Input: IR nodes, as for every dialect. Output: SQL text for ClickHouse.
//!
//! Invariants: no correlated subquery anywhere. ClickHouse answers a
//! correlated subquery with NULL wherever an outer value is NULL (and
//! `count` of no row with NULL), so
//! * each event aggregate is joined (`joined.rs`, `join_use_nulls = 1`: a
//!   user without events reads NULL, which `count` and `sum` turn into 0);
//! * a value needed more than once is bound by a lambda
//!   (`arrayMap((v) -> body, [x])[1]`), not by a scalar subquery.
//!
//! The statement's `SETTINGS` say what it depends on: `join_use_nulls`,
//! `cast_keep_nullable` (a `CAST` keeps NULL rather than raising) and
//! `precise_float_parsing` (float literals, written as text, read back
//! exactly).

use crate::check::ir::*;
use crate::schema::Type;

use super::{Emitter, SqlError, refuse};

/// The settings every ClickHouse statement runs with.
pub(super) const SETTINGS: &str =
    " SETTINGS join_use_nulls = 1, cast_keep_nullable = 1, precise_float_parsing = 1";

/// The range of `DateTime64`, 1900-01-01 up to 2300-01-01 (exclusive), in
/// microseconds since the epoch: a local hour or day of week outside it is
/// an error in the statement rather than a wrong value.
const DATETIME64_MICROS: (i64, i64) = (-2_208_988_800_000_000, 10_413_792_000_000_000);

impl Emitter<'_> {
    /// ClickHouse's column type for a value of `ty`; every one is Nullable.
    pub(super) fn clickhouse_type(&self, ty: &Type) -> Result<String, SqlError> {
        Ok(match ty {
            Type::Bool | Type::Null => "Nullable(Bool)",
            Type::Int | Type::Timestamp | Type::Duration => "Nullable(Int64)",
            Type::Float => "Nullable(Float64)",
            Type::String => "Nullable(String)",
            Type::List(_) => return Err(self.no_null_lists()),
        }
        .to_owned())
    }

    /// ClickHouse arrays cannot be NULL: a list trait that is NULL and one
    /// that is empty would read alike.
    pub(super) fn no_null_lists(&self) -> SqlError {
        refuse(
            "S0106",
            "a list value",
            self.dialect,
            "ClickHouse arrays cannot be NULL, so a NULL list and an empty one would read alike",
        )
    }

    /// `arrayMap((v…) -> body, [x]…)[1]`: each value written once.
    pub(super) fn clickhouse_bind(
        &self,
        values: &[String],
        names: &[String],
        body: String,
    ) -> String {
        let arrays: Vec<String> = values.iter().map(|v| format!("[{v}]")).collect();
        format!(
            "arrayMap(({}) -> {body}, {})[1]",
            names.join(", "),
            arrays.join(", ")
        )
    }

    /// `a % b`, NULL when `b` is 0; `b = -1` gives 0 for every `a` (where
    /// ClickHouse raises for `MIN % -1`), so the divisor becomes 1.
    pub(super) fn clickhouse_rem(&self, a: String, b: String) -> String {
        self.bind([b], |[b]| {
            format!("({a} % (CASE WHEN {b} = -1 THEN 1 ELSE NULLIF({b}, 0) END))")
        })
    }

    /// The hour or ISO day of week of `micros` in the literal zone `zone`;
    /// an instant outside `DateTime64`'s range raises.
    pub(super) fn clickhouse_local(&self, part: LocalPart, micros: String, zone: &str) -> String {
        let zone = self.string(zone);
        let (low, high) = DATETIME64_MICROS;
        self.bind([micros], |[m]| {
            let at = format!("fromUnixTimestamp64Micro({m}, 'UTC')");
            let value = match part {
                LocalPart::HourOfDay => format!("toHour({at}, {zone})"),
                LocalPart::DayOfWeek => format!("toDayOfWeek({at}, 0, {zone})"),
            };
            format!(
                "CAST({value} + throwIf(NOT ({m} IS NULL OR ({m} >= {low} AND {m} < {high})), \
                 'nextbest: an instant outside the range of DateTime64') AS BIGINT)"
            )
        })
    }

    /// GrowthBook v2's `bucket` (see `Emitter::bucket`) with ClickHouse's
    /// arrays: FNV-1a 32 folded over the bytes of the UTF-8 text.
    pub(super) fn clickhouse_bucket(&self, key: String, salt: String) -> String {
        let fnv = |s: &str| -> String {
            let n = self.fresh();
            let s = format!("ifNull({s}, '')");
            format!(
                "arrayFold((h{n}, b{n}) -> (bitXor(h{n}, b{n}) * 16777619) % 4294967296, \
                 arrayMap(i{n} -> toUInt64(reinterpretAsUInt8(substring({s}, i{n}, 1))), \
                 range(1, length({s}) + 1)), toUInt64(2166136261))"
            )
        };
        self.bind([key, salt], |[key, salt]| {
            let h1 = fnv(&format!("concat({salt}, {key})"));
            let h2 = self.bind([format!("toString({h1})")], |[t]| fnv(&t));
            format!(
                "CASE WHEN {key} IS NULL OR {salt} IS NULL THEN NULL \
                 ELSE CAST(intDiv({h2} % 10000, 100) AS BIGINT) END"
            )
        })
    }
}
