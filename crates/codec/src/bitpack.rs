//! Frame-of-reference bit-packing in the FastLanes-style transposed layout.
//!
//! A chunk of 1024 values is viewed as 64 rows of 16 lanes: value `i` sits in row `i / 16`,
//! lane `i % 16`. Each lane packs its 64 values into `w` consecutive 64-bit words, and word `j`
//! of lane `l` is stored at position `j * 16 + l`. Every row of the decoder therefore does the
//! same shift-and-mask on 16 adjacent words, which the compiler turns into SIMD without any
//! intrinsics. Values past the last full chunk are packed sequentially (LSB first).
//!
//! The reference (the block minimum) is added while unpacking, so FOR and bit-packing are one
//! pass over the data.

use seq_macro::seq;

/// Values in one transposed chunk.
pub(crate) const CHUNK: usize = 1024;
const LANES: usize = 16;

/// Bits needed to represent `x` (0 for 0).
#[inline]
pub(crate) fn width_of(x: u64) -> u8 {
    (64 - x.leading_zeros()) as u8
}

/// Number of 64-bit words needed to pack `n` values of `w` bits.
pub(crate) fn packed_words(n: usize, w: u8) -> usize {
    let w = usize::from(w);
    let full = n / CHUNK;
    let rem = n % CHUNK;
    full * LANES * w + (rem * w).div_ceil(64)
}

#[inline(always)]
fn mask(w: usize) -> u64 {
    if w >= 64 { u64::MAX } else { (1u64 << w) - 1 }
}

#[inline(always)]
fn pack_chunk<const W: usize>(values: &[u64], reference: u64, out: &mut [u64]) {
    if W == 0 {
        return;
    }
    let (values, _) = values.as_chunks::<LANES>();
    let (out, _) = out.as_chunks_mut::<LANES>();
    for (r, row) in values.iter().enumerate().take(64) {
        let bit = r * W;
        let word = bit / 64;
        let shift = bit % 64;
        if let Some(lo) = out.get_mut(word) {
            for l in 0..LANES {
                lo[l] |= row[l].wrapping_sub(reference) << shift;
            }
        }
        if shift + W > 64
            && let Some(hi) = out.get_mut(word + 1)
        {
            for l in 0..LANES {
                hi[l] |= row[l].wrapping_sub(reference) >> (64 - shift);
            }
        }
    }
}

/// Appends the 1024 values of one transposed chunk to `out`, a row of 16 at a time (rows are
/// consecutive values), so the output is written once, with no zero-fill before it.
#[inline(always)]
fn unpack_chunk<const W: usize>(packed: &[u64], reference: u64, out: &mut Vec<u64>) {
    if W == 0 {
        out.resize(out.len() + CHUNK, reference);
        return;
    }
    let (packed, _) = packed.as_chunks::<LANES>();
    let m = mask(W);
    for r in 0..64 {
        let bit = r * W;
        let word = bit / 64;
        let shift = bit % 64;
        let mut row = [0u64; LANES];
        // The caller hands a whole chunk (16·W words); a short one leaves zeros, never a
        // short output.
        if let Some(lo) = packed.get(word) {
            if shift + W <= 64 {
                for l in 0..LANES {
                    row[l] = reference.wrapping_add((lo[l] >> shift) & m);
                }
            } else if let Some(hi) = packed.get(word + 1) {
                for l in 0..LANES {
                    row[l] =
                        reference.wrapping_add(((lo[l] >> shift) | (hi[l] << (64 - shift))) & m);
                }
            }
        }
        out.extend_from_slice(&row);
    }
}

fn pack_chunk_dyn(w: u8, values: &[u64], reference: u64, out: &mut [u64]) {
    seq!(W in 0..=64 {
        match w {
            #(W => pack_chunk::<W>(values, reference, out),)*
            _ => {}
        }
    });
}

fn unpack_chunk_dyn(w: u8, packed: &[u64], reference: u64, out: &mut Vec<u64>) {
    seq!(W in 0..=64 {
        match w {
            #(W => unpack_chunk::<W>(packed, reference, out),)*
            _ => {}
        }
    });
}

/// Packs `values - reference` at `w` bits each. Every value must satisfy
/// `value - reference < 2^w` (wrapping), which the callers guarantee by construction.
pub(crate) fn pack(values: &[u64], reference: u64, w: u8) -> Vec<u64> {
    let mut out = vec![0u64; packed_words(values.len(), w)];
    let wu = usize::from(w);
    let full = values.len() / CHUNK;
    let (chunks, tail) = values.split_at(full * CHUNK);
    let (packed_full, packed_tail) = out.split_at_mut(full * LANES * wu);
    if wu > 0 {
        for (chunk, dst) in chunks
            .chunks_exact(CHUNK)
            .zip(packed_full.chunks_exact_mut(LANES * wu))
        {
            pack_chunk_dyn(w, chunk, reference, dst);
        }
    }
    pack_sequential(tail, reference, w, packed_tail);
    out
}

/// Unpacks `n` values of `w` bits from `packed` and adds `reference`. `packed` must hold
/// [`packed_words`]`(n, w)` words; the caller checks this before calling.
pub(crate) fn unpack_into(packed: &[u64], n: usize, reference: u64, w: u8, out: &mut Vec<u64>) {
    out.reserve(n);
    let start = out.len();
    let wu = usize::from(w);
    let full = n / CHUNK;
    let split = (full * LANES * wu).min(packed.len());
    let (packed_full, packed_tail) = packed.split_at(split);
    if wu == 0 {
        out.resize(start + full * CHUNK, reference);
    } else {
        for src in packed_full.chunks_exact(LANES * wu) {
            unpack_chunk_dyn(w, src, reference, out);
        }
        // Only a short `packed` (which the caller rules out) leaves chunks to fill.
        out.resize(start + full * CHUNK, reference);
    }
    // A block's children rarely hold a multiple of 1024 values (a delta has one fewer, a
    // nullable column's values fewer still), so the tail gets the per-width loop too.
    let tail = (start + n).saturating_sub(out.len());
    extend_sequential_dyn(packed_tail, tail, reference, w, out);
}

/// The bitmap (value `i` at bit `i % 64` of word `i / 64`) of `n` values of 0 or 1 packed at
/// width 1 with reference 0 into `packed` ([`packed_words`]`(n, 1)` words), written into
/// `words` (`n.div_ceil(64)` words, zeroed).
///
/// In a whole chunk, lane `l`'s one word holds rows 0 to 63 (value `row * 16 + l` at bit `row`),
/// so bitmap word `q` of the chunk gathers rows `4q` to `4q + 3` of the 16 lanes: each lane's
/// nibble spread to bits `l`, `16 + l`, `32 + l` and `48 + l`. The sequential tail after the
/// last whole chunk starts on a word boundary and is already a bitmap.
pub(crate) fn bits_of_width_one(packed: &[u64], n: usize, words: &mut [u64]) {
    // SPREAD[x]: bit k of the nibble x moved to bit 16·k.
    const SPREAD: [u64; 16] = {
        let mut t = [0u64; 16];
        let mut x = 0;
        while x < 16 {
            let mut k = 0;
            while k < 4 {
                t[x] |= ((x as u64 >> k) & 1) << (16 * k);
                k += 1;
            }
            x += 1;
        }
        t
    };
    let full = n / CHUNK;
    let (chunks, tail) = packed.split_at((full * LANES).min(packed.len()));
    let (out_chunks, out_tail) = words.split_at_mut((full * (CHUNK / 64)).min(words.len()));
    for (lanes, out) in chunks
        .chunks_exact(LANES)
        .zip(out_chunks.chunks_exact_mut(CHUNK / 64))
    {
        for (q, o) in out.iter_mut().enumerate() {
            let mut w = 0u64;
            for (l, &lane) in lanes.iter().enumerate() {
                w |= SPREAD[((lane >> (4 * q)) & 0xF) as usize] << l;
            }
            *o = w;
        }
    }
    for (o, &t) in out_tail.iter_mut().zip(tail) {
        *o = t;
    }
    // Bits past `n` in the last word are zero in a valid buffer; clear them regardless, as
    // the value path would.
    if !n.is_multiple_of(64)
        && let Some(last) = words.get_mut(n / 64)
    {
        *last &= (1u64 << (n % 64)) - 1;
    }
}

/// Bytes of `n` values packed sequentially (LSB first) at `w` bits: `ceil(n·w / 8)`.
pub(crate) fn sequential_bytes(n: usize, w: u8) -> usize {
    n.saturating_mul(usize::from(w)).div_ceil(8)
}

/// Packs `values - reference` sequentially, LSB first, at `w` bits each, into
/// [`sequential_bytes`] bytes. Unlike [`pack`]'s transposed chunks this keeps consecutive values
/// adjacent, so a value sequence that repeats with a period repeats in the bytes too (what a
/// byte-oriented compressor behind it can find).
pub(crate) fn pack_sequential_bytes(values: &[u64], reference: u64, w: u8) -> Vec<u8> {
    let mut words = vec![0u64; (values.len() * usize::from(w)).div_ceil(64)];
    pack_sequential(values, reference, w, &mut words);
    let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    out.truncate(sequential_bytes(values.len(), w));
    out
}

/// Unpacks `n` values that [`pack_sequential_bytes`] packed from `bytes` (which must hold
/// [`sequential_bytes`]`(n, w)` bytes; the caller checks) and adds `reference`.
pub(crate) fn unpack_sequential_bytes(
    bytes: &[u8],
    n: usize,
    reference: u64,
    w: u8,
    out: &mut Vec<u64>,
) {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut packed: Vec<u64> = Vec::with_capacity(words.len() + 1);
    packed.extend(words.iter().map(|c| u64::from_le_bytes(*c)));
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        packed.push(u64::from_le_bytes(last));
    }
    extend_sequential_dyn(&packed, n, reference, w, out);
}

/// Appends `n` values packed sequentially at `w` bits in `packed`, plus `reference`, to `out`:
/// [`unpack_sequential`] with the width a constant, so each width gets its own loop with the
/// mask and the word-crossing test known to the compiler. Values are appended a group at a
/// time, not written over zeros (a `resize` first cost a pass of its own: blocks of fewer than
/// 1024 values are all tail).
fn extend_sequential_dyn(packed: &[u64], n: usize, reference: u64, w: u8, out: &mut Vec<u64>) {
    out.reserve(n);
    #[cfg(target_arch = "x86_64")]
    if (1..=VBMI_MAX_WIDTH).contains(&w)
        && n >= 16
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
    {
        #[expect(unsafe_code, reason = "calls the AVX-512 VBMI unpacking")]
        // SAFETY: the CPU has AVX-512 F, BW and VBMI, checked just above; `w` is in 1..=56.
        let done = unsafe { extend_sequential_vbmi(packed, n, reference, w, out) };
        let start = out.len();
        out.resize(start + (n - done), 0);
        unpack_sequential_from(
            packed,
            done,
            reference,
            w,
            out.get_mut(start..).unwrap_or_default(),
        );
        return;
    }
    seq!(W in 1..=64 {
        match w {
            #(W => extend_sequential_const::<W>(packed, n, reference, out),)*
            _ => {
                let start = out.len();
                out.resize(start + n, 0);
                unpack_sequential(packed, reference, w, out.get_mut(start..).unwrap_or_default());
            }
        }
    });
}

#[inline(always)]
fn extend_sequential_const<const W: usize>(
    packed: &[u64],
    n: usize,
    reference: u64,
    out: &mut Vec<u64>,
) {
    // Groups of 64 values span exactly W words: the shifts inside a group repeat, so the group
    // is written out value by value (`I` constant too), every word index, shift and
    // word-crossing test known at compile time; as a loop it was not unrolled, and computing
    // them cost about three times the unpacking.
    let (words, _) = packed.as_chunks::<W>();
    let mut done = 0;
    for src in words.iter().take(n / 64) {
        let mut g = [0u64; 64];
        seq!(I in 0..64 {
            g[I] = sequential_value::<W, I>(src, reference);
        });
        out.extend_from_slice(&g);
        done += 64;
    }
    let start = out.len();
    out.resize(start + (n - done), 0);
    unpack_sequential(
        packed.get(done / 64 * W..).unwrap_or_default(),
        reference,
        W as u8,
        out.get_mut(start..).unwrap_or_default(),
    );
}

/// Value `I` of a group of 64 values packed sequentially at `W` bits in `src`, plus `reference`.
#[inline(always)]
fn sequential_value<const W: usize, const I: usize>(src: &[u64; W], reference: u64) -> u64 {
    let bit = I * W;
    let word = bit / 64;
    let shift = bit % 64;
    let lo = src[word] >> shift;
    let hi = if shift + W > 64 && word + 1 < W {
        src[word + 1] << (64 - shift)
    } else {
        0
    };
    reference.wrapping_add((lo | hi) & mask(W))
}

fn pack_sequential(values: &[u64], reference: u64, w: u8, out: &mut [u64]) {
    let w = usize::from(w);
    if w == 0 {
        return;
    }
    for (i, &v) in values.iter().enumerate() {
        let v = v.wrapping_sub(reference);
        let bit = i * w;
        let word = bit / 64;
        let shift = bit % 64;
        if let Some(lo) = out.get_mut(word) {
            *lo |= v << shift;
        }
        if shift + w > 64
            && let Some(hi) = out.get_mut(word + 1)
        {
            *hi |= v >> (64 - shift);
        }
    }
}

fn unpack_sequential(packed: &[u64], reference: u64, w: u8, out: &mut [u64]) {
    unpack_sequential_from(packed, 0, reference, w, out);
}

/// [`unpack_sequential`] of the values from index `first` on (`out[0]` is value `first`).
fn unpack_sequential_from(packed: &[u64], first: usize, reference: u64, w: u8, out: &mut [u64]) {
    let w = usize::from(w);
    if w == 0 {
        out.fill(reference);
        return;
    }
    let m = mask(w);
    for (i, o) in out.iter_mut().enumerate() {
        let bit = (first + i) * w;
        let word = bit / 64;
        let shift = bit % 64;
        let lo = packed.get(word).copied().unwrap_or(0) >> shift;
        let hi = if shift + w > 64 {
            packed.get(word + 1).copied().unwrap_or(0) << (64 - shift)
        } else {
            0
        };
        *o = reference.wrapping_add((lo | hi) & m);
    }
}

/// Widest values [`extend_sequential_vbmi`] unpacks: a value's 8-byte window must start within
/// the first 57 bytes of its group's 64.
const VBMI_MAX_WIDTH: u8 = 56;

/// Appends the first `8 * (n / 8)` of `n` values packed sequentially at `w` bits in `packed`,
/// plus `reference`, to `out` (which has room for `n` more); how many it appended.
///
/// Eight values at `w` bits span exactly `w` bytes, so the group of values `8g..8g + 8` starts
/// at byte `g * w`, bit 0, and value `j` of every group at the same byte and bit offset within
/// it: one 64-byte load of the group's bytes (masked to the bytes `packed` holds, so nothing
/// past it is read), one byte permutation putting each value's eight bytes in its lane, one
/// variable shift, a mask and the reference: six instructions for eight values, where the
/// scalar loop takes about five for one. Blocks shorter than a transposed chunk (1,024 values:
/// a partitioned table's small segments) are all sequential.
///
/// # Safety
/// The CPU has AVX-512 F, BW and VBMI; `w` is in `1..=VBMI_MAX_WIDTH`.
#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX-512 masked loads from and stores to raw pointers"
)]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn extend_sequential_vbmi(
    packed: &[u64],
    n: usize,
    reference: u64,
    w: u8,
    out: &mut Vec<u64>,
) -> usize {
    use std::arch::x86_64::*;
    let w = usize::from(w);
    let mut index = [0u8; 64];
    let mut shifts = [0u64; 8];
    for j in 0..8 {
        let bit = j * w;
        for b in 0..8 {
            index[j * 8 + b] = (bit / 8 + b) as u8;
        }
        shifts[j] = (bit % 8) as u64;
    }
    let groups = n / 8;
    out.reserve(groups * 8);
    let bytes = packed.len() * 8;
    let src = packed.as_ptr().cast::<u8>();
    let start = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u64>();
    // Groups whose 64 bytes all lie in `packed` load them whole, with no mask to compute:
    // group `g` starts at byte `g * w`, and `g * w + 64 <= bytes` for every `g < whole`.
    let whole = bytes
        .checked_sub(64)
        .map_or(0, |room| room / w + 1)
        .min(groups);
    // SAFETY (whole block): loads read only bytes below `bytes` (the first loop's by the
    // bound on `whole` above; in the second, the mask clears the rest, and a masked-off byte
    // is never accessed), and `packed`'s words are little-endian on x86-64, so its bytes are
    // the packed stream; stores write `groups * 8` values into the spare capacity reserved
    // above, and only those are then counted as initialised.
    unsafe {
        let index = _mm512_loadu_si512(index.as_ptr().cast());
        let shifts = _mm512_loadu_si512(shifts.as_ptr().cast());
        let low = _mm512_set1_epi64(mask(w) as i64);
        let reference = _mm512_set1_epi64(reference as i64);
        for g in 0..whole {
            let window = _mm512_loadu_si512(src.add(g * w).cast());
            let v = _mm512_permutexvar_epi8(index, window);
            let v = _mm512_and_si512(_mm512_srlv_epi64(v, shifts), low);
            _mm512_storeu_si512(dst.add(g * 8).cast(), _mm512_add_epi64(v, reference));
        }
        for g in whole..groups {
            let at = g * w;
            let left = bytes.saturating_sub(at);
            let keep: __mmask64 = if left >= 64 {
                u64::MAX
            } else {
                (1u64 << left) - 1
            };
            let window = _mm512_maskz_loadu_epi8(keep, src.add(at.min(bytes)).cast());
            let v = _mm512_permutexvar_epi8(index, window);
            let v = _mm512_and_si512(_mm512_srlv_epi64(v, shifts), low);
            _mm512_storeu_si512(dst.add(g * 8).cast(), _mm512_add_epi64(v, reference));
        }
        out.set_len(start + groups * 8);
    }
    groups * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sequential unpacking (the AVX-512 VBMI path where the CPU has it) against the
    /// value-by-value loop, every width, lengths around groups of 8 and 64, a non-empty
    /// output before, and packed words cut short (missing bytes read as zeros in both).
    #[test]
    fn sequential_unpacking_matches_the_scalar_loop() {
        for w in 1..=64u8 {
            let m = mask(usize::from(w));
            for n in [
                0usize, 7, 8, 15, 16, 17, 63, 64, 65, 127, 200, 583, 986, 1023,
            ] {
                let values: Vec<u64> = (0..n as u64)
                    .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7) & m)
                    .collect();
                let mut packed = vec![0u64; (n * usize::from(w)).div_ceil(64)];
                pack_sequential(&values, 0, w, &mut packed);
                for cut in [0usize, 1] {
                    let short = &packed[..packed.len().saturating_sub(cut)];
                    let mut want = vec![9u64; n];
                    unpack_sequential(short, 77, w, &mut want);
                    let mut got = vec![5u64];
                    extend_sequential_dyn(short, n, 77, w, &mut got);
                    assert_eq!(got[0], 5);
                    assert_eq!(&got[1..], &want[..], "w={w} n={n} cut={cut}");
                    if cut == 0 {
                        let plus: Vec<u64> = values.iter().map(|v| v.wrapping_add(77)).collect();
                        assert_eq!(want, plus, "w={w} n={n}");
                    }
                }
            }
        }
    }

    #[test]
    fn round_trip_every_width_and_tail() {
        for w in 0..=64u8 {
            for n in [0usize, 1, 5, 64, 640, 700, 1023, 1024, 1025, 3000] {
                let m = mask(usize::from(w));
                let reference = 12345u64;
                let values: Vec<u64> = (0..n as u64)
                    .map(|i| reference.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & m))
                    .collect();
                let packed = pack(&values, reference, w);
                assert_eq!(packed.len(), packed_words(n, w));
                // Appended after what the buffer already holds.
                let mut out = vec![7, 7, 7];
                unpack_into(&packed, n, reference, w, &mut out);
                assert_eq!(out[..3], [7, 7, 7], "w={w} n={n}");
                assert_eq!(out[3..], values, "w={w} n={n}");
                let bytes = pack_sequential_bytes(&values, reference, w);
                assert_eq!(bytes.len(), sequential_bytes(n, w));
                let mut out = vec![9];
                unpack_sequential_bytes(&bytes, n, reference, w, &mut out);
                assert_eq!(out[..1], [9], "w={w} n={n}");
                assert_eq!(out[1..], values, "sequential w={w} n={n}");
            }
        }
    }
}
