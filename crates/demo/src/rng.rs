//! A tiny seeded PRNG (SplitMix64).
//!
//! The generator must be byte-identical across platforms and dependency
//! updates, so it carries its own generator instead of relying on `rand`,
//! whose streams may change between versions.

/// SplitMix64: fast, full-period, good enough statistical quality for
/// synthetic logs (this is not used for anything security-relevant).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6b61_6875_6465_6d6f) // "kahudemo"
    }

    /// An independent generator derived from this one and a label, so that
    /// adding events to one stream does not shift every other stream.
    pub(crate) fn fork(&self, label: &str) -> Rng {
        let mut h = self.0;
        for b in label.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let mut r = Rng(h);
        r.next_u64();
        r
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift avoids modulo bias well enough for n << 2^64.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// `true` with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` uppercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        const H: &[u8; 16] = b"0123456789ABCDEF";
        (0..n).map(|_| H[self.below(16) as usize] as char).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut f1 = a.fork("x");
        let mut f2 = a.fork("y");
        assert_ne!(f1.next_u64(), f2.next_u64());
        for _ in 0..1000 {
            assert!(a.below(10) < 10);
            let r = a.range(-3, 3);
            assert!((-3..=3).contains(&r));
        }
    }
}
