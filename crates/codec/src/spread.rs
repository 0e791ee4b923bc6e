//! Moving a nullable column's packed values onto their valid rows ([`spread`]).
//!
//! A block's non-null values are decoded as one dense sequence; the rows of the output buffer
//! then take them in place, one per valid row, nulls getting zero. Where the CPU has AVX-512
//! (detected at run time) 4- and 8-byte values move eight or sixteen rows to an instruction
//! (`vpexpand`); elsewhere, and for narrower values, a 64-row word at a time.

mod private {
    pub trait Sealed {}
}

/// A fixed-width number whose default is all zero bits: what [`spread`] moves.
pub trait Lane: Copy + Default + private::Sealed {}

macro_rules! lanes {
    ($($t:ty),*) => {$(
        impl private::Sealed for $t {}
        impl Lane for $t {}
    )*};
}
lanes!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// Moves the values `dst[..values]` (one per set bit of `valid`, in row order) to the rows of
/// their set bits, from the last row down, so no value is overwritten before it moves (a
/// value's row is never before its index); the other rows get zero. `valid` holds the rows'
/// validity as 64-bit words, row `i` at bit `i % 64` of word `i / 64`; bits past `dst.len()`
/// are ignored.
///
/// When `values` is not the number of valid rows or `valid` is short, no value is read or
/// written out of `dst` and nothing panics, but which value lands where is unspecified.
pub fn spread<T: Lane>(dst: &mut [T], values: usize, valid: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    if (size_of::<T>() == 8 || size_of::<T>() == 4)
        && std::arch::is_x86_feature_detected!("avx512f")
        && consistent(dst.len(), values, valid)
    {
        #[expect(unsafe_code, reason = "calls the AVX-512 copy")]
        // SAFETY: the CPU has AVX-512F, checked just above; `values` is the number of set
        // bits among the first `dst.len()` of `valid`, which holds that many bits, also
        // checked; `T` is 4 or 8 bytes wide, a plain number (`Lane` is sealed).
        unsafe {
            expand_avx512(dst, values, valid);
        }
        return;
    }
    spread_words(dst, values, valid);
}

/// Whether `valid` covers `rows` rows and sets exactly `values` of them.
fn consistent(rows: usize, values: usize, valid: &[u64]) -> bool {
    let full = rows / 64;
    let tail = rows % 64;
    if valid.len() < full + usize::from(tail > 0) {
        return false;
    }
    let mut set: usize = valid[..full].iter().map(|w| w.count_ones() as usize).sum();
    if tail > 0 {
        set += (valid[full] & (u64::MAX >> (64 - tail))).count_ones() as usize;
    }
    set == values
}

/// [`spread`] on any CPU: a word without nulls moves as one run; otherwise only its set bits,
/// then only its unset ones, are visited.
fn spread_words<T: Lane>(dst: &mut [T], values: usize, valid: &[u64]) {
    let n = dst.len();
    let mut k = values.min(n);
    for first in (0..n.div_ceil(64)).rev().map(|i| i * 64) {
        let w = valid.get(first / 64).copied().unwrap_or(0);
        let in_word = (n - first).min(64);
        let full = u64::MAX >> (64 - in_word);
        if w & full == full {
            // No null in this word: its values move as one run.
            k = k.saturating_sub(in_word);
            dst.copy_within(k..k + in_word, first);
            continue;
        }
        let mut set = w & full;
        while set != 0 {
            let b = 63 - set.leading_zeros() as usize;
            k = k.saturating_sub(1);
            if let Some(&v) = dst.get(k) {
                dst[first + b] = v;
            }
            set &= !(1u64 << b);
        }
        // Every value still to move sits below `k`, which is at most `first`: the null rows of
        // this word can take the default now.
        let mut unset = !w & full;
        while unset != 0 {
            dst[first + unset.trailing_zeros() as usize] = T::default();
            unset &= unset - 1;
        }
    }
}

/// [`spread`] by AVX-512's expanding loads: for each run of `L` rows from the last, the next
/// `popcount(mask)` values below `k` load into the lanes of the mask's set bits (zero
/// elsewhere) and store over the rows. Stops early once every row below is valid (the values
/// there are already in place).
///
/// # Safety
/// The CPU has AVX-512F; `size_of::<T>()` is 4 or 8; `valid` holds at least `dst.len()` bits
/// of which exactly `values` are set.
#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX-512 expanding loads and masked stores on raw pointers"
)]
#[target_feature(enable = "avx512f")]
unsafe fn expand_avx512<T: Lane>(dst: &mut [T], values: usize, valid: &[u64]) {
    use std::arch::x86_64::*;
    let n = dst.len();
    let base = dst.as_mut_ptr();
    let lanes = 64 / size_of::<T>();
    let lane_mask = (1u64 << lanes) - 1;
    // The rows `[p, p + lanes)` from the last; the first pass covers the rows past the last
    // whole run, if any.
    let mut p = n - n % lanes;
    let mut width = n % lanes;
    if width == 0 && n > 0 {
        p -= lanes;
        width = lanes;
    }
    let mut k = values;
    while width > 0 {
        let word = valid[p / 64] >> (p % 64);
        let keep = if width == lanes {
            lane_mask
        } else {
            (1u64 << width) - 1
        };
        let m = word & keep;
        if m == lane_mask && k == p + lanes {
            // Every row below `p + lanes` is valid: their values are where they belong.
            return;
        }
        k -= m.count_ones() as usize;
        // SAFETY: `k + popcount(m) <= values <= n` (the set bits from row `p` up number
        // `values - k`), so the expanding load reads inside `dst`; the store writes the rows
        // `[p, p + width)`, inside `dst`, and only after the load.
        unsafe {
            let src = base.add(k);
            let to = base.add(p);
            if size_of::<T>() == 8 {
                let v = _mm512_maskz_expandloadu_epi64(m as u8, src as *const i64);
                _mm512_mask_storeu_epi64(to as *mut i64, keep as u8, v);
            } else {
                let v = _mm512_maskz_expandloadu_epi32(m as u16, src as *const i32);
                _mm512_mask_storeu_epi32(to as *mut i32, keep as u16, v);
            }
        }
        if p == 0 {
            break;
        }
        p -= lanes;
        width = lanes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `spread` must give: row `i` takes the next value if valid, else zero.
    fn oracle<T: Lane>(packed: &[T], valid: &[bool]) -> Vec<T> {
        let mut it = packed.iter();
        valid
            .iter()
            .map(|&v| if v { *it.next().unwrap() } else { T::default() })
            .collect()
    }

    fn words(valid: &[bool]) -> Vec<u64> {
        let mut w = vec![0u64; valid.len().div_ceil(64)];
        for (i, &v) in valid.iter().enumerate() {
            w[i / 64] |= u64::from(v) << (i % 64);
        }
        w
    }

    fn check<T: Lane + PartialEq + std::fmt::Debug>(make: impl Fn(u64) -> T) {
        let mut next = crate::xorshift(0x2545_F491_4F6C_DD1D);
        for n in [
            0usize, 1, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 130, 1000, 1024, 4096,
        ] {
            // Valid rows per 512: none, an eighth, ... all; 509 and 511 leave runs of whole
            // words without a null; a valid prefix exercises the early stop.
            for density in [0u64, 64, 192, 448, 509, 511, 512, 1000] {
                let valid: Vec<bool> = (0..n)
                    .map(|i| {
                        if density == 1000 {
                            i < n / 2 || next().is_multiple_of(4)
                        } else {
                            next() % 512 < density
                        }
                    })
                    .collect();
                let count = valid.iter().filter(|&&v| v).count();
                let packed: Vec<T> = (1..=count as u64).map(&make).collect();
                let want = oracle(&packed, &valid);
                let w = words(&valid);
                let mut got = vec![make(99); n];
                got[..count].copy_from_slice(&packed);
                let mut scalar = got.clone();
                spread(&mut got, count, &w);
                assert_eq!(got, want, "{n} rows, density {density}/512");
                spread_words(&mut scalar, count, &w);
                assert_eq!(scalar, want, "words, {n} rows, density {density}/512");
            }
        }
    }

    #[test]
    fn spread_puts_each_value_on_its_valid_row() {
        check(|v| v);
        check(|v| v as i64 * -3);
        check(|v| v as f64 * 0.5);
        check(|v| v as u32);
        check(|v| v as f32 + 0.25);
        check(|v| v as i16);
        check(|v| v as u8);
    }

    #[test]
    fn inconsistent_counts_stay_inside_the_buffer() {
        let valid = words(&[true; 100]);
        for values in [0usize, 1, 50, 99, 101, 1000] {
            let mut dst = vec![1u64; 100];
            spread(&mut dst, values, &valid);
            spread(&mut dst, values, &valid[..1]);
            spread(&mut dst, values, &[]);
        }
    }
}
