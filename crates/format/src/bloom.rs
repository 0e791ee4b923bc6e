//! Split-block bloom filters, Parquet's SBBF design.
//!
//! The filter is an array of 256-bit blocks of eight `u32` words. A value's 64-bit hash picks a
//! block with its upper 32 bits (`(h >> 32) * blocks >> 32`) and sets one bit in each word with
//! its lower 32 bits times one of eight salt constants (top five bits of the product). Hashes are
//! `xxh64(seed 0)` of the value's canonical bytes ([`hash_i64`], [`hash_u64`], [`hash_f64`],
//! [`hash_bytes`]); filters are sized for a false-positive rate at the block's distinct count.

use xxhash_rust::xxh64::xxh64;

use crate::stats::ScalarValue;

const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// Largest filter this crate builds or reads (1 Mi blocks = 32 MiB).
pub const MAX_BLOOM_BLOCKS: usize = 1 << 20;

/// A split-block bloom filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BloomFilter {
    blocks: Vec<[u32; 8]>,
}

impl BloomFilter {
    /// A filter sized for `ndv` distinct values at false-positive rate `fpp` (Parquet's formula,
    /// without rounding to a power of two).
    pub fn with_ndv_fpp(ndv: u64, fpp: f64) -> Self {
        let fpp = if fpp.is_finite() {
            fpp.clamp(1e-6, 0.5)
        } else {
            0.01
        };
        let bits = -8.0 * (ndv.max(1) as f64) / (1.0 - fpp.powf(1.0 / 8.0)).ln();
        let blocks = ((bits / 256.0).ceil() as usize).clamp(1, MAX_BLOOM_BLOCKS);
        Self {
            blocks: vec![[0; 8]; blocks],
        }
    }

    /// A filter from its words (as stored); `None` if the count is not a whole, non-zero number
    /// of blocks within [`MAX_BLOOM_BLOCKS`].
    pub fn from_words(words: &[u32]) -> Option<Self> {
        if words.is_empty() || !words.len().is_multiple_of(8) || words.len() / 8 > MAX_BLOOM_BLOCKS
        {
            return None;
        }
        let blocks = words
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u32; 8];
                b.copy_from_slice(c);
                b
            })
            .collect();
        Some(Self { blocks })
    }

    /// The words, block after block.
    pub fn words(&self) -> impl Iterator<Item = u32> + '_ {
        self.blocks.iter().flatten().copied()
    }

    /// Number of 256-bit blocks.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Size in bytes.
    pub fn size_bytes(&self) -> usize {
        self.blocks.len() * 32
    }

    fn block_index(&self, hash: u64) -> usize {
        (((hash >> 32) * self.blocks.len() as u64) >> 32) as usize
    }

    fn mask(hash: u64) -> [u32; 8] {
        let key = hash as u32;
        let mut m = [0u32; 8];
        for (w, salt) in m.iter_mut().zip(SALT) {
            *w = 1 << (key.wrapping_mul(salt) >> 27);
        }
        m
    }

    /// Adds a hash.
    pub fn insert_hash(&mut self, hash: u64) {
        let i = self.block_index(hash);
        let mask = Self::mask(hash);
        if let Some(block) = self.blocks.get_mut(i) {
            for (w, m) in block.iter_mut().zip(mask) {
                *w |= m;
            }
        }
    }

    /// Whether a hash may have been added (no false negatives).
    pub fn might_contain_hash(&self, hash: u64) -> bool {
        let mask = Self::mask(hash);
        self.blocks
            .get(self.block_index(hash))
            .is_none_or(|block| block.iter().zip(mask).all(|(w, m)| w & m != 0))
    }

    /// Whether a value may be present; `true` for values that are never hashed (booleans, NaN).
    pub fn might_contain(&self, v: &ScalarValue) -> bool {
        hash_scalar(v).is_none_or(|h| self.might_contain_hash(h))
    }
}

/// Hash of a signed integer, timestamp or date (as `i64` little-endian).
pub fn hash_i64(v: i64) -> u64 {
    xxh64(&v.to_le_bytes(), 0)
}

/// Hash of an unsigned integer (as `u64` little-endian).
pub fn hash_u64(v: u64) -> u64 {
    xxh64(&v.to_le_bytes(), 0)
}

/// Hash of a float (as `f64` bits, `-0.0` folded into `+0.0`); `None` for NaN, which equals nothing.
pub fn hash_f64(v: f64) -> Option<u64> {
    if v.is_nan() {
        return None;
    }
    let v = if v == 0.0 { 0.0 } else { v };
    Some(xxh64(&v.to_bits().to_le_bytes(), 0))
}

/// Hash of a string or binary value (its bytes).
pub fn hash_bytes(v: &[u8]) -> u64 {
    xxh64(v, 0)
}

/// Hash of a scalar in its family; `None` for booleans and NaN.
pub fn hash_scalar(v: &ScalarValue) -> Option<u64> {
    match v {
        ScalarValue::Bool(_) => None,
        ScalarValue::Int(i) => Some(hash_i64(*i)),
        ScalarValue::UInt(u) => Some(hash_u64(*u)),
        ScalarValue::Float(f) => hash_f64(*f),
        ScalarValue::Bytes(b) => Some(hash_bytes(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_about_one_percent_false_positives() {
        let n = 1000u64;
        let mut f = BloomFilter::with_ndv_fpp(n, 0.01);
        for i in 0..n {
            f.insert_hash(hash_u64(i));
        }
        assert!((0..n).all(|i| f.might_contain_hash(hash_u64(i))));
        let fp = (n..n + 100_000)
            .filter(|&i| f.might_contain_hash(hash_u64(i)))
            .count();
        assert!(fp < 2_000, "false positives {fp} of 100000");
        assert_eq!(
            BloomFilter::from_words(&f.words().collect::<Vec<_>>()),
            Some(f)
        );
    }

    #[test]
    fn floats_fold_zero_and_skip_nan() {
        assert_eq!(hash_f64(0.0), hash_f64(-0.0));
        assert_eq!(hash_f64(f64::NAN), None);
        let f = BloomFilter::with_ndv_fpp(1, 0.01);
        assert!(f.might_contain(&ScalarValue::Float(f64::NAN)));
        assert!(f.might_contain(&ScalarValue::Bool(true)));
    }

    #[test]
    fn bad_word_counts_are_refused() {
        assert_eq!(BloomFilter::from_words(&[]), None);
        assert_eq!(BloomFilter::from_words(&[0; 7]), None);
    }
}
