//! Exact sums of floats, rounded once.
//!
//! `sum` and `avg` of a float property are the exact sum of the values,
//! rounded once to the nearest float (ties to even). That result depends on
//! neither the order of the values nor how they are grouped, so a window's sum
//! taken from prefix sums, a scan of the window with `WHERE TRUE`, and the
//! reference interpreter all give the same bits, and a window's sum does not
//! depend on the events outside it (a compensated running sum has none of
//! these properties: prefix-sum differences round differently from a direct
//! sum).
//!
//! Two exact representations serve. [`Scale`] writes the values of one
//! column as integer multiples of a common power of two in an `i128`, when
//! they fit: prefix sums in that form add and subtract exactly, and a scan
//! adds in it as cheaply as in floats. [`Accumulator`] is a fixed-point
//! number wide enough for any sum of finite floats, for a column whose values
//! span too many binary orders of magnitude for an `i128`.

/// The exponent of the smallest subnormal float: every finite float is an
/// integer multiple of 2^-1074.
const MIN_EXPONENT: i32 = -1074;

/// A finite float as `mantissa × 2^exponent`, the mantissa an integer of at
/// most 53 bits carrying the sign.
fn parts(x: f64) -> (i64, i32) {
    let bits = x.to_bits();
    #[allow(clippy::cast_possible_truncation)]
    let field = ((bits >> 52) & 0x7ff) as i32;
    #[allow(clippy::cast_possible_wrap)]
    let fraction = (bits & ((1 << 52) - 1)) as i64;
    let (magnitude, exponent) = if field == 0 {
        (fraction, MIN_EXPONENT)
    } else {
        (fraction | 1 << 52, field - 1075)
    };
    if bits >> 63 == 1 {
        (-magnitude, exponent)
    } else {
        (magnitude, exponent)
    }
}

/// 2^e as a float, for `e` in `-1074..=1023`.
fn pow2(e: i32) -> Option<f64> {
    let field = e.checked_add(1023)?;
    if field > 0 {
        let field = u64::try_from(field).ok().filter(|f| *f < 0x7ff)?;
        Some(f64::from_bits(field << 52))
    } else {
        let shift = u32::try_from(e - MIN_EXPONENT).ok()?;
        Some(f64::from_bits(1u64.checked_shl(shift)?))
    }
}

/// The unit `2^e` in which a column's values are integers: `units × 2^e` is
/// the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scale(i32);

impl Scale {
    /// The coarsest unit in which every value is an integer; `None` for a
    /// value that is not finite.
    fn of(values: impl Iterator<Item = f64>) -> Option<Scale> {
        let mut unit = i32::MAX;
        for x in values {
            if !x.is_finite() {
                return None;
            }
            let (mantissa, exponent) = parts(x);
            if mantissa != 0 {
                unit = unit.min(exponent.saturating_add_unsigned(mantissa.trailing_zeros()));
            }
        }
        Some(Scale(if unit == i32::MAX { 0 } else { unit }))
    }

    /// Prefix sums of a column in its coarsest unit: entry `i` is the exact
    /// sum of the values before `i` (a `None` adds nothing). `None` when a
    /// value is not finite, or when the magnitudes of all the values add up
    /// past an `i128`: then a sum of some of them might not fit either.
    pub(crate) fn prefix_sums(
        values: impl Iterator<Item = Option<f64>> + Clone,
    ) -> Option<(Scale, Vec<i128>)> {
        let scale = Scale::of(values.clone().flatten())?;
        let mut sums = Vec::with_capacity(values.size_hint().0 + 1);
        sums.push(0);
        let (mut sum, mut magnitudes) = (0i128, 0i128);
        for x in values {
            if let Some(x) = x {
                let units = scale.units(x)?;
                magnitudes = magnitudes.checked_add(units.checked_abs()?)?;
                sum += units;
            }
            sums.push(sum);
        }
        Some((scale, sums))
    }

    /// `x` in this unit: `None` if it is not an integer multiple of it or
    /// does not fit.
    pub(crate) fn units(self, x: f64) -> Option<i128> {
        let (mantissa, exponent) = parts(x);
        if mantissa == 0 {
            return Some(0);
        }
        // The mantissa without its trailing zeros, so that the unit of a
        // column is never finer than its value's lowest bit.
        let zeros = mantissa.trailing_zeros();
        let (mantissa, exponent) = (mantissa >> zeros, exponent.checked_add_unsigned(zeros)?);
        let shift = u32::try_from(exponent.checked_sub(self.0)?).ok()?;
        // Below 2^126, so that two of them still add without overflow.
        let bits = 64 - mantissa.unsigned_abs().leading_zeros();
        (bits + shift <= 126).then(|| i128::from(mantissa) << shift)
    }

    /// `units × 2^unit` rounded once to the nearest float, ties to even;
    /// `None` when that is not finite.
    pub(crate) fn to_float(self, units: i128) -> Option<f64> {
        // One rounding: the unit is at least 2^-1074, so a value below
        // 2^-1021 is an int of at most 53 bits times the unit, which
        // converts exactly, and a larger one is a normal float, which the
        // conversion rounds to 53 bits and scaling by a power of two keeps.
        // Both conversions round to nearest, ties to even; the one from
        // `i64` is an instruction, the one from `i128` a library call.
        #[allow(clippy::cast_precision_loss)]
        let converted = match i64::try_from(units) {
            Ok(small) => small as f64,
            Err(_) => units as f64,
        };
        let x = converted * pow2(self.0)?;
        x.is_finite().then_some(x)
    }
}

/// The number of 64-bit limbs of an [`Accumulator`]: 2^-1074 to 2^1024
/// takes 2 098 bits, and 206 more leave room for 2^200 maximal values.
const LIMBS: usize = 36;

/// A fixed-point number in two's complement whose bit 0 weighs 2^-1074:
/// every finite float, and every sum of them, is an integer here.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    limbs: [u64; LIMBS],
    /// A NaN or an infinity was added: the sum is NULL.
    non_finite: bool,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            limbs: [0; LIMBS],
            non_finite: false,
        }
    }
}

impl Accumulator {
    pub(crate) fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.non_finite = true;
            return;
        }
        let (mantissa, exponent) = parts(x);
        self.add_parts(mantissa, exponent);
    }

    /// Adds `mantissa × 2^exponent`, a finite float's [`parts`].
    fn add_parts(&mut self, mantissa: i64, exponent: i32) {
        let Ok(position) = u32::try_from(exponent - MIN_EXPONENT) else {
            return;
        };
        let (limb, offset) = ((position / 64) as usize, position % 64);
        // Below 2^53, shifted by at most 63 bits: two words.
        let shifted = u128::from(mantissa.unsigned_abs()) << offset;
        #[allow(clippy::cast_possible_truncation)]
        let words = [shifted as u64, (shifted >> 64) as u64];
        let Some(limbs) = self.limbs.get_mut(limb..) else {
            return;
        };
        let mut carry = false;
        for (i, limb) in limbs.iter_mut().enumerate() {
            let word = words.get(i).copied().unwrap_or(0);
            if i >= words.len() && !carry {
                break;
            }
            (*limb, carry) = if mantissa < 0 {
                sub_with_borrow(*limb, word, carry)
            } else {
                add_with_carry(*limb, word, carry)
            };
        }
    }

    /// The sum rounded once to the nearest float, ties to even; `None` when
    /// that is not finite or a value was not.
    pub(crate) fn to_float(&self) -> Option<f64> {
        if self.non_finite {
            return None;
        }
        let negative = self.limbs.last().is_some_and(|top| top >> 63 == 1);
        let mut limbs = self.limbs;
        if negative {
            let mut carry = true;
            for limb in &mut limbs {
                (*limb, carry) = add_with_carry(!*limb, 0, carry);
            }
        }
        let magnitude = round(&limbs)?;
        Some(if negative { -magnitude } else { magnitude })
    }
}

/// A non-negative fixed-point number (bit 0 weighing 2^-1074) rounded to
/// the nearest float, ties to even.
fn round(limbs: &[u64; LIMBS]) -> Option<f64> {
    let Some((index, top)) = limbs.iter().enumerate().rev().find(|(_, l)| **l != 0) else {
        return Some(0.0);
    };
    #[allow(clippy::cast_possible_truncation)]
    let highest = index as u32 * 64 + 63 - top.leading_zeros();
    if highest < 53 {
        // At most 53 bits, all of them at or above 2^-1074: exact.
        #[allow(clippy::cast_precision_loss)]
        return Some(limbs.first().copied().unwrap_or(0) as f64 * pow2(MIN_EXPONENT)?);
    }
    // The 53 bits of the result and the next one below them.
    let low = highest - 53;
    let (limb, offset) = ((low / 64) as usize, low % 64);
    let word = |i: usize| u128::from(limbs.get(i).copied().unwrap_or(0));
    let window = ((word(limb) | word(limb + 1) << 64) >> offset) & ((1 << 54) - 1);
    let below = limbs.get(..limb).is_some_and(|l| l.iter().any(|w| *w != 0))
        || word(limb) & ((1 << offset) - 1) != 0;
    let (mut mantissa, half) = (window >> 1, window & 1 == 1);
    let mut exponent = i64::from(highest) + i64::from(MIN_EXPONENT);
    if half && (below || mantissa & 1 == 1) {
        mantissa += 1;
        if mantissa == 1 << 53 {
            mantissa >>= 1;
            exponent += 1;
        }
    }
    // `highest` is at least 53, so the result is a normal float.
    let field = u64::try_from(exponent + 1023).ok().filter(|f| *f < 0x7ff)?;
    #[allow(clippy::cast_possible_truncation)]
    Some(f64::from_bits(
        field << 52 | (mantissa as u64 & ((1 << 52) - 1)),
    ))
}

/// `a + b + carry`, and whether it carries out.
fn add_with_carry(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (sum, first) = a.overflowing_add(b);
    let (sum, second) = sum.overflowing_add(u64::from(carry));
    (sum, first || second)
}

/// `a - b - borrow`, and whether it borrows.
fn sub_with_borrow(a: u64, b: u64, borrow: bool) -> (u64, bool) {
    let (difference, first) = a.overflowing_sub(b);
    let (difference, second) = difference.overflowing_sub(u64::from(borrow));
    (difference, first || second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accumulated(values: &[f64]) -> Option<f64> {
        let mut sum = Accumulator::default();
        values.iter().for_each(|x| sum.add(*x));
        sum.to_float()
    }

    /// The sum in a column's scale, where there is one.
    fn scaled(values: &[f64]) -> Option<Option<f64>> {
        let (scale, sums) = Scale::prefix_sums(values.iter().map(|x| Some(*x)))?;
        Some(scale.to_float(*sums.last()?))
    }

    /// Sums checked against Python's `math.fsum`, which rounds the exact
    /// sum once.
    #[test]
    fn sums_are_the_exact_sum_rounded_once() {
        let two_53 = 9_007_199_254_740_992.0;
        let two_80 = 2f64.powi(80);
        let cases: [(&[f64], f64); 13] = [
            (&[], 0.0),
            (&[0.1, 0.2, 0.3], 0.6),
            (&[1e20, 1.0, -1e20], 1.0),
            // 2^53 + 1 is half-way: to even. A little more: up.
            (&[two_53, 1.0], two_53),
            (&[two_53, 1.0, 2f64.powi(-1000)], two_53 + 2.0),
            (&[two_53 + 2.0, 1.0], two_53 + 4.0),
            (&[-two_53, -1.0, -2f64.powi(-1000)], -two_53 - 2.0),
            (&[f64::MAX, f64::MAX, -f64::MAX], f64::MAX),
            (&[5e-324, 5e-324, -1e-323, 2.5e-308], 2.5e-308),
            (&[1e300, 1e-300, -1e300], 1e-300),
            // Totals past an `i64` in their scale, half-way and beyond.
            (&[1e20, 0.5], 1e20),
            (&[two_80, 2f64.powi(27)], two_80),
            (&[two_80, 2f64.powi(27), 0.5], two_80 + 2f64.powi(28)),
        ];
        for (values, expected) in cases {
            let sum = accumulated(values);
            assert_eq!(
                sum.map(f64::to_bits),
                Some(expected.to_bits()),
                "{values:?}"
            );
            if let Some(scaled) = scaled(values) {
                assert_eq!(
                    scaled.map(f64::to_bits),
                    Some(expected.to_bits()),
                    "{values:?}"
                );
            }
        }
    }

    #[test]
    fn a_sum_that_is_not_finite_is_none() {
        assert_eq!(accumulated(&[f64::MAX, f64::MAX]), None);
        assert_eq!(accumulated(&[-f64::MAX, -f64::MAX]), None);
        assert_eq!(accumulated(&[1.0, f64::NAN]), None);
        assert_eq!(accumulated(&[f64::INFINITY, f64::NEG_INFINITY]), None);
        assert_eq!(scaled(&[f64::MAX, f64::MAX]), Some(None));
    }

    #[test]
    fn prefix_sums_exist_only_where_every_sum_fits() {
        let column = [Some(0.5), None, Some(3.0), Some(0.0)];
        let sums = Scale::prefix_sums(column.into_iter());
        assert_eq!(sums, Some((Scale(-1), vec![0, 1, 1, 7, 7])));
        let zeros = Scale::prefix_sums([Some(0.0), Some(-0.0)].into_iter());
        assert_eq!(zeros, Some((Scale(0), vec![0, 0, 0])));
        let fits = |values: &[f64]| Scale::prefix_sums(values.iter().map(|x| Some(*x))).is_some();
        assert!(!fits(&[1e300, 1e-300]));
        assert!(!fits(&[1.0, f64::NAN]));
        // A value may take up to 126 bits of units, all of them together
        // up to 127, whatever their signs.
        let big = 2f64.powi(125);
        assert!(!fits(&[2f64.powi(126), 1.0]));
        assert!(fits(&[big, big, big, 1.0]));
        assert!(!fits(&[big, big, big, -big, 1.0]));
    }

    #[test]
    fn scaled_sums_round_once_near_the_subnormals() {
        // In units of 2^-1074, the sums below 2^-1021 are exact and the
        // ones above round once, as the accumulator rounds them.
        let tiny = 5e-324;
        for values in [
            &[2.2e-308, tiny, tiny, tiny][..],
            &[2.2250738585072014e-308, -tiny, 3.0 * tiny],
            &[4.450147717014403e-308, tiny, -2.2250738585072014e-308],
            &[1e-300, tiny, 1e-310, -1e-300],
        ] {
            let expected = accumulated(values).map(f64::to_bits);
            assert_eq!(
                scaled(values).map(|s| s.map(f64::to_bits)),
                Some(expected),
                "{values:?}"
            );
        }
    }
}
