//! Deterministic bucketing, shared by the `bucket()` function and the holdout
//! guard so that both put a profile in the same bucket.

use crate::Id;

/// 32-bit FNV-1a.
fn fnv1a32(bytes: impl IntoIterator<Item = u8>) -> u32 {
    fnv1a32_from(0x811c_9dc5, bytes)
}

/// 32-bit FNV-1a continued from `state`: the hash of a text that starts
/// with what gave `state`.
fn fnv1a32_from(state: u32, bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(state, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// GrowthBook's "v2" hash of `key` under `salt`, as a number in `0..10000`
/// (GrowthBook divides it by 10 000 to get its float in `[0, 1)`).
///
/// `h1 = fnv1a32(salt ++ key)`, `h2 = fnv1a32(decimal string of h1)`, result
/// `h2 mod 10000`.
pub fn growthbook_v2(key: &str, salt: &str) -> u32 {
    Salted::new(salt).growthbook_v2(key)
}

/// The decimal digits of `n`, most significant first, without allocating:
/// two at a time (a holdout bucket hashes the ten digits of a random `u32`
/// at almost every decision).
pub(crate) fn decimal(n: u32) -> impl Iterator<Item = u8> {
    /// "00", "01", … "99".
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    let mut digits = [b'0'; 10];
    let mut put = |at: usize, pair: usize| {
        if let (Some(to), Some(from)) = (digits.get_mut(at..at + 2), PAIRS.get(pair..pair + 2)) {
            to.copy_from_slice(from);
        }
    };
    let mut start = 10;
    let mut rest = n;
    while rest >= 100 {
        start -= 2;
        put(start, (rest % 100) as usize * 2);
        rest /= 100;
    }
    start -= 2;
    put(start, rest as usize * 2);
    if rest < 10 {
        // One digit left: the pair's leading zero is not part of it.
        start += 1;
    }
    digits.into_iter().skip(start)
}

/// The bucket `0..=99` of `key` under `salt`: `bucket(key, salt)` in
/// expressions, and the bucket the holdout guard compares with its percentage.
///
/// ```
/// // GrowthBook's own test vector: hash("seed", "a", version 2) = 0.0505.
/// assert_eq!(nextbest::hash::bucket("a", "seed"), 5);
/// ```
pub fn bucket(key: &str, salt: &str) -> i64 {
    Salted::new(salt).bucket(key)
}

/// A salt with its share of the hash worked out once: the salt comes first
/// in the hashed text, so the buckets of many keys under one salt (a
/// holdout's, at every decision) hash only the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Salted(u32);

impl Salted {
    pub fn new(salt: &str) -> Self {
        Salted(fnv1a32(salt.bytes()))
    }

    /// [`growthbook_v2`]`(key, salt)`.
    pub fn growthbook_v2(self, key: &str) -> u32 {
        let h1 = fnv1a32_from(self.0, key.bytes());
        fnv1a32(decimal(h1)) % 10_000
    }

    /// [`bucket`]`(key, salt)`.
    pub fn bucket(self, key: &str) -> i64 {
        i64::from(self.growthbook_v2(key) / 100)
    }
}

/// 64-bit FNV-1a, fed piece by piece: the decision engine's idempotency
/// keys, and the in-memory history's hash tables (their keys are short ids
/// the rules and the caller chose, and a decision makes dozens of lookups: a
/// cheap hash beats SipHash's flooding resistance there).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64::new()
    }
}

impl std::hash::Hasher for Fnv1a64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        Fnv1a64::write(self, bytes.iter().copied());
    }
}

impl Fnv1a64 {
    pub const fn new() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }

    pub fn write(&mut self, bytes: impl IntoIterator<Item = u8>) -> &mut Self {
        self.0 = bytes.into_iter().fold(self.0, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        self
    }

    /// `n` in decimal.
    pub fn write_decimal(&mut self, n: u32) -> &mut Self {
        self.write(decimal(n))
    }

    /// The hash as 16 lowercase hex digits.
    pub fn to_hex(self) -> Id {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [b'0'; 16];
        for (place, digit) in digits.iter_mut().rev().enumerate() {
            let nibble = (self.0 >> (place * 4)) & 0xf;
            *digit = usize::try_from(nibble)
                .ok()
                .and_then(|n| HEX.get(n).copied())
                .unwrap_or(b'0');
        }
        std::str::from_utf8(&digits)
            .map(Id::from)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_what_to_string_writes() {
        let edges = [
            9,
            10,
            99,
            100,
            999,
            1_000,
            99_999_999,
            100_000_000,
            999_999_999,
        ];
        let edges = edges.into_iter().chain([1_000_000_000, 4_294_967_295]);
        let spread = (0..20_000u32).chain((0..4_000u32).map(|i| i.wrapping_mul(2_654_435_761)));
        for n in spread.chain(edges) {
            let digits: Vec<u8> = decimal(n).collect();
            assert_eq!(digits, n.to_string().into_bytes(), "{n}");
        }
    }

    #[test]
    fn fnv1a64_matches_the_published_vectors() {
        // From the FNV reference test suite (Landon Curt Noll).
        assert_eq!(Fnv1a64::new().to_hex(), "cbf29ce484222325");
        assert_eq!(Fnv1a64::new().write(*b"a").to_hex(), "af63dc4c8601ec8c");
        assert_eq!(
            Fnv1a64::new().write(*b"foobar").to_hex(),
            "85944171f73967e8"
        );
        let pieces = *Fnv1a64::new().write(*b"foo").write(*b"bar");
        assert_eq!(pieces.to_hex(), "85944171f73967e8");
        let mut hasher = Fnv1a64::default();
        std::hash::Hasher::write(&mut hasher, b"foobar");
        assert_eq!(std::hash::Hasher::finish(&hasher), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_salted_bucket_is_the_bucket_of_salt_and_key() {
        for (key, salt) in [
            ("a", "seed"),
            ("c-1", "holdout"),
            ("", ""),
            ("p-99", "churn_email"),
        ] {
            let expected = i64::from(growthbook_v2(key, salt) / 100);
            assert_eq!(
                Salted::new(salt).bucket(key),
                expected,
                "{key:?} under {salt:?}"
            );
        }
        // GrowthBook's test vector: hash("seed", "a", 2) = 0.0505.
        assert_eq!(growthbook_v2("a", "seed"), 505);
    }

    #[test]
    fn decimal_digits_are_those_of_display() {
        for n in [0, 7, 10, 99, 100, 12_345, u32::MAX] {
            let digits: Vec<u8> = decimal(n).collect();
            assert_eq!(digits, n.to_string().into_bytes());
        }
        assert_eq!(
            Fnv1a64::new().write_decimal(42).to_hex(),
            Fnv1a64::new().write(*b"42").to_hex()
        );
    }
}
