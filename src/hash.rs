//! Deterministic bucketing, shared by the `bucket()` function and the holdout
//! guard so that both put a profile in the same bucket.

/// 32-bit FNV-1a.
fn fnv1a32(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// GrowthBook's "v2" hash of `key` under `salt`, as a number in `0..10000`
/// (GrowthBook divides it by 10 000 to get its float in `[0, 1)`).
///
/// `h1 = fnv1a32(salt ++ key)`, `h2 = fnv1a32(decimal string of h1)`, result
/// `h2 mod 10000`.
pub fn growthbook_v2(key: &str, salt: &str) -> u32 {
    let h1 = fnv1a32(salt.bytes().chain(key.bytes()));
    fnv1a32(decimal(h1)) % 10_000
}

/// The decimal digits of `n`, most significant first, without allocating.
fn decimal(n: u32) -> impl Iterator<Item = u8> {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut rest = n;
    loop {
        if let Some(digit) = digits.get_mut(len) {
            // `rest % 10` is below 10: the cast keeps every bit.
            #[allow(clippy::cast_possible_truncation)]
            let d = (rest % 10) as u8;
            *digit = b'0' + d;
        }
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    digits.into_iter().take(len).rev()
}

/// The bucket `0..=99` of `key` under `salt`: `bucket(key, salt)` in
/// expressions, and the bucket the holdout guard compares with its percentage.
///
/// ```
/// // GrowthBook's own test vector: hash("seed", "a", version 2) = 0.0505.
/// assert_eq!(nextbest::hash::bucket("a", "seed"), 5);
/// ```
pub fn bucket(key: &str, salt: &str) -> i64 {
    i64::from(growthbook_v2(key, salt) / 100)
}
