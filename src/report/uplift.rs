//! Conversion against the control group: two proportions and the 95 %
//! interval of their difference by Newcombe's hybrid score method (method
//! 10 of Newcombe 1998, "Interval estimation for the difference between
//! independent proportions: comparison of eleven methods", Statistics in
//! Medicine 17:873–890): the Wilson score interval of each proportion
//! (without continuity correction), combined by "square and add".
//!
//! Input: converted and total counts of the contacted and the held-out
//! group. Output: the uplift (difference of rates) and its interval, or
//! nothing when a group is smaller than the stated minimum.

use serde::Serialize;

/// The 97.5th percentile of the standard normal distribution: a two-sided
/// 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// How many profiles each group needs before an uplift is estimated, unless
/// the caller says otherwise: with fewer, the interval is so wide (about
/// ±0.35 at 15 per group) that it only says "too few to tell".
pub const MIN_GROUP: u64 = 30;

/// The 95 % Wilson score interval of `converted / total`; `None` for an
/// empty group.
///
/// ```
/// use nextbest::report::wilson;
/// let (low, high) = wilson(81, 263).unwrap();
/// assert!((low - 0.2553).abs() < 1e-4 && (high - 0.3662).abs() < 1e-4);
/// assert_eq!(wilson(0, 0), None);
/// ```
pub fn wilson(converted: u64, total: u64) -> Option<(f64, f64)> {
    if total == 0 || converted > total {
        return None;
    }
    // Counts far below 2^53: exact as floats.
    let n = total as f64;
    let p = converted as f64 / n;
    let z2 = Z_95 * Z_95;
    let centre = 2.0 * n * p + z2;
    let spread = Z_95 * (z2 + 4.0 * n * p * (1.0 - p)).sqrt();
    let denominator = 2.0 * (n + z2);
    let low = ((centre - spread) / denominator).max(0.0);
    let high = ((centre + spread) / denominator).min(1.0);
    // At p = 0 or 1 the bound is exactly 0 or 1; rounding must not move it.
    let low = if converted == 0 { 0.0 } else { low };
    let high = if converted == total { 1.0 } else { high };
    Some((low, high))
}

/// The difference of two rates and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Uplift {
    /// Rate of the contacted minus rate of the held out.
    pub difference: f64,
    /// The interval's lower bound.
    pub low: f64,
    /// The interval's upper bound.
    pub high: f64,
}

impl Uplift {
    /// Newcombe's hybrid score interval for `x1/n1 − x2/n2`; `None` when a
    /// group is empty or a count exceeds its total.
    ///
    /// ```
    /// use nextbest::report::Uplift;
    /// // Newcombe (1998), table II, example (a).
    /// let uplift = Uplift::newcombe(56, 70, 48, 80).unwrap();
    /// assert!((uplift.difference - 0.2).abs() < 1e-12);
    /// assert!((uplift.low - 0.0524).abs() < 5e-5 && (uplift.high - 0.3339).abs() < 5e-5);
    /// ```
    pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Uplift> {
        let (l1, u1) = wilson(x1, n1)?;
        let (l2, u2) = wilson(x2, n2)?;
        let p1 = x1 as f64 / n1 as f64;
        let p2 = x2 as f64 / n2 as f64;
        let difference = p1 - p2;
        let below = ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
        let above = ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
        Some(Uplift {
            difference,
            low: difference - below,
            high: difference + above,
        })
    }

    /// What the interval says: `better` when it lies above zero, `worse`
    /// below, `unclear` when it holds zero.
    pub fn verdict(&self) -> Verdict {
        if self.low > 0.0 {
            Verdict::Better
        } else if self.high < 0.0 {
            Verdict::Worse
        } else {
            Verdict::Unclear
        }
    }
}

/// What a conversion comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The contacted convert more: the interval lies above zero.
    Better,
    /// The contacted convert less: the interval lies below zero.
    Worse,
    /// The interval holds zero: no difference shown.
    Unclear,
    /// A group is below the minimum size: no interval is given.
    TooFewToTell,
}

impl Verdict {
    /// The words a report prints.
    pub const fn words(self) -> &'static str {
        match self {
            Verdict::Better => "better than the control group",
            Verdict::Worse => "worse than the control group",
            Verdict::Unclear => "no clear difference",
            Verdict::TooFewToTell => "too few to tell",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Newcombe (1998) table II, method 10, as the DescTools R package's
    /// tests reproduce it (`BinomDiffCI(..., method = "score")`), to four
    /// decimals.
    #[test]
    fn newcombes_published_examples() {
        let cases = [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((10, 10, 0, 20), (0.6791, 1.0000)),
            ((84, 101, 89, 105), (-0.1177, 0.0851)),
        ];
        for ((x1, n1, x2, n2), (low, high)) in cases {
            let u = Uplift::newcombe(x1, n1, x2, n2).unwrap();
            let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
            assert_eq!(
                (round(u.low), round(u.high)),
                (low, high),
                "{x1}/{n1} − {x2}/{n2}"
            );
            let expected = x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64;
            assert!((u.difference - expected).abs() < 1e-12);
        }
    }

    #[test]
    fn swapping_the_groups_mirrors_the_interval() {
        let a = Uplift::newcombe(9, 12, 20, 138).unwrap();
        let b = Uplift::newcombe(20, 138, 9, 12).unwrap();
        assert!((a.low + b.high).abs() < 1e-12 && (a.high + b.low).abs() < 1e-12);
    }

    #[test]
    fn empty_or_impossible_groups_have_no_interval() {
        assert_eq!(Uplift::newcombe(1, 2, 0, 0), None);
        assert_eq!(Uplift::newcombe(3, 2, 0, 5), None);
        assert_eq!(wilson(0, 10).map(|w| w.0), Some(0.0));
        assert_eq!(wilson(10, 10).map(|w| w.1), Some(1.0));
    }

    use proptest::prelude::*;

    /// A count and a total it does not exceed.
    fn proportion() -> impl Strategy<Value = (u64, u64)> {
        (1u64..2_000).prop_flat_map(|n| (0..=n, Just(n)))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// The interval holds the estimate, stays within [−1, 1], and
        /// swapping the groups mirrors it; each Wilson interval holds its
        /// rate within [0, 1].
        #[test]
        fn intervals_hold_their_estimates(
            (x1, n1) in proportion(),
            (x2, n2) in proportion(),
        ) {
            let u = Uplift::newcombe(x1, n1, x2, n2).unwrap();
            prop_assert!(-1.0 <= u.low && u.low <= u.difference + 1e-12);
            prop_assert!(u.difference <= u.high + 1e-12 && u.high <= 1.0);
            let m = Uplift::newcombe(x2, n2, x1, n1).unwrap();
            prop_assert!((u.low + m.high).abs() < 1e-12 && (u.high + m.low).abs() < 1e-12);
            let (low, high) = wilson(x1, n1).unwrap();
            let p = x1 as f64 / n1 as f64;
            prop_assert!(0.0 <= low && low <= p + 1e-12 && p <= high + 1e-12 && high <= 1.0);
        }
    }

    #[test]
    fn verdicts_follow_the_interval() {
        let up = Uplift::newcombe(56, 70, 48, 80).unwrap();
        assert_eq!(up.verdict(), Verdict::Better);
        let down = Uplift::newcombe(48, 80, 56, 70).unwrap();
        assert_eq!(down.verdict(), Verdict::Worse);
        let flat = Uplift::newcombe(84, 101, 89, 105).unwrap();
        assert_eq!(flat.verdict(), Verdict::Unclear);
    }
}
