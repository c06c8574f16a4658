//! Spark SQL's forms, where its semantics differ from the other dialects'
//! (measured on Spark 4.3.0 through pyspark, in local mode, ANSI mode on).
//!
//! Input: IR nodes, as for every dialect. Output: SQL text for Spark.
//!
//! Invariants: no correlated subquery anywhere (Spark takes one only as an
//! aggregate, without `ORDER BY … LIMIT`): event aggregates are joined
//! (`joined.rs`), and a value needed more than once is bound by a lambda
//! (`transform(array(x), v -> body)[0]`). Names are quoted with backquotes
//! (double quotes make strings unless a setting says otherwise). Nothing
//! depends on the session's time zone: instants are read as microseconds
//! (`unix_micros`), and a local time is the instant plus the zone's offset
//! there, computed in integers. No form can raise for data a profile can
//! hold: integers go through `DECIMAL(38, 0)` and back (see
//! `Emitter::narrow`), divisors through `NULLIF`, `floor`/`ceil` only below
//! 2⁵² (see `float::whole`).

use crate::check::ir::*;

use super::{Emitter, MICROS_PER_DAY, MICROS_PER_HOUR};

/// The instants chrono (so the evaluator) can place in a zone, in
/// microseconds since the epoch: outside them a local time is NULL.
fn chrono_range() -> (i64, i64) {
    (
        chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_micros(),
        chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_micros(),
    )
}

impl Emitter<'_> {
    /// `transform(array(x), v -> body)[0]`, nested once per value: each
    /// value written once.
    pub(super) fn spark_bind(values: &[String], names: &[String], body: String) -> String {
        values
            .iter()
            .zip(names)
            .rev()
            .fold(body, |body, (value, name)| {
                format!("transform(array({value}), {name} -> {body})[0]")
            })
    }

    /// `item IN list`, three-valued: `exists` is TRUE when a test is, NULL
    /// when none is but one is NULL, FALSE otherwise.
    pub(super) fn spark_list_contains(&self, kind: Compare, list: String, item: String) -> String {
        let x = format!("x{}", self.fresh());
        self.bind([list, item], |[l, item]| {
            let test = self.compare(kind, CmpOp::Eq, x.clone(), item);
            format!("CASE WHEN {l} IS NULL THEN NULL ELSE exists({l}, {x} -> {test}) END")
        })
    }

    /// `lower` or `upper`: ICU's full mapping in the root locale
    /// (`STRASSE`, `i̇`, a final `ς`), which Spark applies to strings of
    /// the `UNICODE` collation. Under the default collation Spark maps
    /// `İ` to `i` (measured in a JVM in a Turkish locale); the result is
    /// compared by code point again. Checked by the differential test's
    /// case edges.
    pub(super) fn spark_case(&self, name: &str, s: String) -> String {
        format!("({name}(({s}) COLLATE UNICODE)) COLLATE UTF8_BINARY")
    }

    /// The hour or ISO day of week of `micros` in `zone` (a literal, or a
    /// value checked against nextbest's zone names when `check_zone`):
    /// the zone's offset at the instant is what `from_utc_timestamp` adds
    /// to it, and the local time is then whole days and hours of integers.
    /// A zone the JVM does not know (`ROC`; `America/Coyhaique` on JDK
    /// 17.0.15) makes Spark raise `INVALID_TIMEZONE`; the names the JVM
    /// reads as fixed offsets (`EST`, `MST`, `HST`) are handed over as their
    /// tzdb links' targets. The JVM's tzdata must be as recent as
    /// chrono-tz's (2025b): an older one answers by the older rules.
    pub(super) fn spark_local(
        &self,
        part: LocalPart,
        micros: String,
        zone: String,
        check_zone: bool,
    ) -> String {
        let (low, high) = chrono_range();
        self.bind([micros, zone], |[m, z]| {
            let target = if check_zone {
                self.zone_target(&z)
            } else {
                z.clone()
            };
            let shifted =
                format!("unix_micros(from_utc_timestamp(timestamp_micros({m}), {target}))");
            let value = self.bind([shifted], |[l]| {
                let in_day = format!("pmod({l}, {MICROS_PER_DAY})");
                match part {
                    LocalPart::HourOfDay => format!("{in_day} div {MICROS_PER_HOUR}"),
                    // Day 0, 1970-01-01, was a Thursday (ISO 4).
                    LocalPart::DayOfWeek => {
                        format!("pmod(({l} - {in_day}) div {MICROS_PER_DAY} + 3, 7) + 1")
                    }
                }
            });
            let known = if check_zone {
                let names: Vec<String> = chrono_tz::TZ_VARIANTS
                    .iter()
                    .map(|tz| self.string(tz.name()))
                    .collect();
                format!(
                    "WHEN NOT array_contains(array({}), ({z}) COLLATE UTF8_BINARY) THEN NULL ",
                    names.join(", ")
                )
            } else {
                String::new()
            };
            format!(
                "CASE WHEN {m} IS NULL OR {z} IS NULL OR {m} < {low} OR {m} > {high} THEN NULL \
                 {known}ELSE CAST({value} AS BIGINT) END"
            )
        })
    }

    /// GrowthBook v2's `bucket` (see `Emitter::bucket`) with Spark's
    /// arrays: FNV-1a 32 folded over the bytes of the UTF-8 text.
    pub(super) fn spark_bucket(&self, key: String, salt: String) -> String {
        let fnv = |s: String| -> String {
            let n = self.fresh();
            self.bind([s], |[s]| {
                let bytes = format!(
                    "transform(sequence(0, octet_length({s}) - 1), i{n} -> \
                     CAST(conv(substr(hex(encode({s}, 'UTF-8')), 2 * i{n} + 1, 2), 16, 10) AS BIGINT))"
                );
                // `sequence(0, -1)` counts down: the empty text is the seed.
                format!(
                    "CASE WHEN octet_length({s}) = 0 THEN CAST(2166136261 AS BIGINT) \
                     ELSE aggregate({bytes}, CAST(2166136261 AS BIGINT), \
                     (h{n}, b{n}) -> ((h{n} ^ b{n}) * 16777619) % 4294967296) END"
                )
            })
        };
        self.bind([key, salt], |[key, salt]| {
            let h1 = fnv(format!("({salt} || {key})"));
            let h2 = fnv(format!("CAST({h1} AS STRING)"));
            format!(
                "CASE WHEN {key} IS NULL OR {salt} IS NULL THEN NULL \
                 ELSE CAST(({h2} % 10000) div 100 AS BIGINT) END"
            )
        })
    }
}
