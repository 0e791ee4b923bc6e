//! Exact distinct counting over 64-bit keys: a linear-probing set sized for the keys it will
//! see, with Fibonacci hashing. Block statistics count distinct values with it and the
//! dictionary search collects them with it; both see at most one block's values, so the table
//! stays in cache and no general-purpose hasher is needed.

/// A set of `u64` keys by open addressing. Slot value zero marks an empty slot; the key zero is
/// recorded on the side.
#[derive(Debug)]
pub struct DistinctSet {
    table: Vec<u64>,
    bits: u32,
    has_zero: bool,
    len: usize,
}

impl DistinctSet {
    /// A set that holds `n` keys at a load factor of at most one half.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        let bits = (n.max(1) * 2).next_power_of_two().trailing_zeros().max(4);
        Self {
            table: vec![0; 1 << bits],
            bits,
            has_zero: false,
            len: 0,
        }
    }

    /// Adds `key`; true when it was not there yet. The table doubles when it gets half full,
    /// so a capacity guessed too small costs a rehash, never a wrong count.
    #[inline]
    pub fn insert(&mut self, key: u64) -> bool {
        if key == 0 {
            let new = !self.has_zero;
            self.has_zero = true;
            self.len += usize::from(new);
            return new;
        }
        if self.insert_nonzero(key) {
            self.len += 1;
            if self.len * 2 > self.table.len() {
                self.grow();
            }
            true
        } else {
            false
        }
    }

    #[inline]
    fn insert_nonzero(&mut self, key: u64) -> bool {
        let mask = self.table.len() - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize;
        // The load stays at most one half, so an empty slot is always found.
        while let Some(slot) = self.table.get_mut(i & mask) {
            if *slot == key {
                return false;
            }
            if *slot == 0 {
                *slot = key;
                return true;
            }
            i += 1;
        }
        false
    }

    fn grow(&mut self) {
        self.bits += 1;
        let old = std::mem::replace(&mut self.table, vec![0; 1 << self.bits]);
        for k in old.into_iter().filter(|&k| k != 0) {
            self.insert_nonzero(k);
        }
    }

    /// Number of distinct keys inserted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no key was inserted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Exact number of distinct keys among `keys`, of which there are at most `n`.
pub fn count_distinct(keys: impl IntoIterator<Item = u64>, n: usize) -> u64 {
    let mut set = DistinctSet::with_capacity(n);
    for k in keys {
        set.insert(k);
    }
    set.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_distinct_matches_a_set() {
        let mut next = crate::xorshift(0x2545_F491_4F6C_DD1Du64);
        let mut cases: Vec<Vec<u64>> = vec![
            vec![],
            vec![0],
            vec![0, 0, 0],
            vec![u64::MAX, 0, u64::MAX, 1],
            // Keys that differ only in high bits, or only in low bits, or by multiples of 2^k.
            (0..5000).map(|i| i << 40).collect(),
            (0..5000).map(|i| (i % 37) << 58).collect(),
            (0..4096).map(|i| i * 1024).chain(0..4096).collect(),
        ];
        for len in [1, 2, 15, 16, 17, 1000, 1024, 5000] {
            for range in [1u64, 2, 10, 1000, u64::MAX] {
                cases.push((0..len).map(|_| next() % range.max(1)).collect());
            }
        }
        for keys in cases {
            let want = keys.iter().collect::<std::collections::BTreeSet<_>>().len() as u64;
            assert_eq!(count_distinct(keys.iter().copied(), keys.len()), want);
        }
        // A set made too small grows.
        assert_eq!(count_distinct(1..=5000, 1), 5000);
    }
}
