//! Rust's full Unicode case mapping as data a SQL engine can apply, for
//! engines whose own `lower`/`upper` map one code point to one code point
//! (DuckDB: `upper('straße')` is `STRAẞE` there, `STRASSE` here).
//!
//! Every table is read off Rust's own `char` and `str` mappings, so the
//! statement maps exactly as the evaluator does, whatever Unicode version
//! either side was built with. `str::to_uppercase` maps each code point on
//! its own; `str::to_lowercase` does too except for `Σ`, which becomes `ς`
//! at the end of a word (Unicode's Final_Sigma): preceded by a cased letter
//! and not followed by one, case-ignorable code points (apostrophes,
//! combining marks…) skipped on both sides. The two classes that rule needs
//! are probed through `to_lowercase` itself.

use std::sync::OnceLock;

/// The case tables, built on first use (one pass over every code point).
pub(super) struct CaseTables {
    /// Code points whose uppercase is not themselves, with it.
    pub upper: Vec<(char, String)>,
    /// The same for lowercase, `Σ` left out (it depends on its context).
    pub lower: Vec<(char, String)>,
    /// Code points the Final_Sigma rule skips.
    pub ignorable: Vec<char>,
    /// Code points that are cased and not skipped.
    pub cased: Vec<char>,
}

pub(super) const SIGMA: char = 'Σ';

/// The tables, computed once per process.
pub(super) fn tables() -> &'static CaseTables {
    static TABLES: OnceLock<CaseTables> = OnceLock::new();
    TABLES.get_or_init(build)
}

fn build() -> CaseTables {
    let mut tables = CaseTables {
        upper: Vec::new(),
        lower: Vec::new(),
        ignorable: Vec::new(),
        cased: vec![SIGMA],
    };
    // Whether the Σ of a probe became ς: the last code point, or in "AΣc"
    // the second (`A` lowercases to one code point).
    let final_sigma = |text: &str| text.to_lowercase().ends_with('ς');
    let second_final = |text: &str| text.to_lowercase().chars().nth(1) == Some('ς');
    let mut probe = String::with_capacity(8);
    // NUL never reaches a statement (strings holding it are refused).
    for c in (1..=0x10_FFFF).filter_map(char::from_u32) {
        if c == SIGMA {
            continue;
        }
        let upper: String = c.to_uppercase().collect();
        if upper.chars().ne([c]) {
            tables.upper.push((c, upper));
        }
        let lower: String = c.to_lowercase().collect();
        if lower.chars().ne([c]) {
            tables.lower.push((c, lower));
        }
        // "AcΣ" ends in ς when c is skipped or cased; "AΣc" when c is
        // skipped or not cased: both exactly when it is skipped. "cΣ" ends
        // in ς when c is cased and not skipped.
        probe.clear();
        probe.extend(['A', c, SIGMA]);
        let after_cased = final_sigma(&probe);
        probe.clear();
        probe.extend(['A', SIGMA, c]);
        let before_end = second_final(&probe);
        if after_cased && before_end {
            tables.ignorable.push(c);
        } else {
            probe.clear();
            probe.extend([c, SIGMA]);
            if final_sigma(&probe) {
                tables.cased.push(c);
            }
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_hold_the_special_cases() {
        let t = tables();
        let upper = |c| {
            t.upper
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.as_str())
        };
        let lower = |c| {
            t.lower
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(upper('ß'), Some("SS"));
        assert_eq!(upper('a'), Some("A"));
        assert_eq!(lower('İ'), Some("i\u{307}"));
        assert_eq!(lower(SIGMA), None);
        assert!(t.ignorable.contains(&'\''), "an apostrophe is skipped");
        assert!(
            t.ignorable.contains(&'\u{301}'),
            "a combining accent is skipped"
        );
        assert!(t.cased.contains(&'a') && t.cased.contains(&'Ω'));
        assert!(!t.cased.contains(&'1') && !t.ignorable.contains(&'1'));
    }
}
