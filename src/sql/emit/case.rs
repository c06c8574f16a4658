//! `lower` and `upper` in DuckDB, whose own map one code point to one: the
//! string split into code points, each mapped through Rust's own tables
//! ([`crate::sql::case_map`]), `Σ` by the Final_Sigma rule. The tables are
//! one row every statement that needs them joins (`nextbest_case`).

use super::super::case_map::{self, SIGMA};
use super::Emitter;

impl Emitter<'_> {
    /// `lower(s)` or `upper(s)`, exactly as Rust maps case.
    pub(super) fn duckdb_case(&self, lower: bool, s: String) -> String {
        self.case_table.set(true);
        let map = if lower {
            "nextbest_case.\"lower\""
        } else {
            "nextbest_case.\"upper\""
        };
        self.bind([format!("string_split({s}, '')")], |[chars]| {
            let mapped = |ch: &str| format!("coalesce(map_extract_value({map}, {ch}), {ch})");
            let body = if lower {
                // The first code point on each side that is not skipped.
                let first = |list: String| {
                    format!(
                        "list_filter({list}, lambda x: NOT list_contains(nextbest_case.\"ignorable\", x))[1]"
                    )
                };
                let before = first(format!("list_reverse({chars}[1:i - 1])"));
                let after = first(format!("{chars}[i + 1:]"));
                let cased = |ch: String| {
                    format!("coalesce(list_contains(nextbest_case.\"cased\", {ch}), false)")
                };
                // By code point: `= 'Σ'` would follow a case-insensitive
                // default collation and take `σ` for it.
                let sigma = u32::from(SIGMA);
                format!(
                    "list_transform(range(1, len({chars}) + 1), lambda i: CASE WHEN unicode({chars}[i]) = {sigma} \
                     THEN CASE WHEN {} AND NOT {} THEN 'ς' ELSE 'σ' END ELSE {} END)",
                    cased(before),
                    cased(after),
                    mapped(&format!("{chars}[i]"))
                )
            } else {
                format!("list_transform({chars}, lambda ch: {})", mapped("ch"))
            };
            format!("CASE WHEN {chars} IS NULL THEN NULL ELSE array_to_string({body}, '') END")
        })
    }

    /// The one-row table of case mappings, joined into the statement.
    pub(super) fn case_table_join(&self) -> String {
        let tables = case_map::tables();
        let map = |pairs: &[(char, String)]| {
            let entries: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", self.string(&k.to_string()), self.string(v)))
                .collect();
            format!("MAP {{{}}}", entries.join(", "))
        };
        let list = |chars: &[char]| {
            let items: Vec<String> = chars.iter().map(|c| self.string(&c.to_string())).collect();
            format!("[{}]", items.join(", "))
        };
        format!(
            " CROSS JOIN (SELECT {} AS \"lower\", {} AS \"upper\", {} AS \"ignorable\", {} AS \"cased\") AS nextbest_case",
            map(&tables.lower),
            map(&tables.upper),
            list(&tables.ignorable),
            list(&tables.cased)
        )
    }
}
