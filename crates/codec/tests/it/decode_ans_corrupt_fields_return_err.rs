//! Every field of an entropy-coded (`ans`) node, of four lanes (tag `0x0b`) and of its own lane
//! count (tag `0x0f`), that the decoder can check is checked: a lane count of 0 or above 64, a
//! carry flag that does not match the node, a
//! table log above 12, no bins or more bins than slots, field widths out of range, weights that do not
//! sum to the table size, states below 2^16, missing or extra rANS words, and offset bytes that
//! do not match the bins all return `Err`, never a panic.

use strata_codec::{CodecError, EncodeOptions, Scheme, decode_u64, encode_u64};

use crate::common::Rng;

/// Positions of the fields of a u64 buffer holding one `ans` node at the top.
#[derive(Debug)]
struct Layout {
    /// Position of the lane count (tag `0x0f` only).
    lanes_at: Option<usize>,
    lanes: usize,
    /// Whether the lanes' start states carry offset bytes (the lane byte's top bit).
    carry: bool,
    bins: usize,
    log: usize,
    widths: usize,
    table: usize,
    words_count: usize,
    states: usize,
    words: usize,
    nwords: usize,
    off_len: usize,
    offsets: usize,
}

fn varint(buf: &[u8], at: &mut usize) -> usize {
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        v |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn layout(buf: &[u8]) -> Layout {
    assert!(matches!(buf[2], 0x0b | 0x0f), "top node is not ans");
    let mut at = 3;
    varint(buf, &mut at); // count
    let (lanes_at, lanes, carry) = if buf[2] == 0x0f {
        at += 1;
        let b = buf[at - 1];
        (Some(at - 1), usize::from(b & 0x7f), b & 0x80 != 0)
    } else {
        (None, 4, false)
    };
    at += 8; // reference
    let bins_at = at;
    let bins = varint(buf, &mut at);
    let log = at;
    let widths = log + 1;
    let table = widths + 3;
    let bits: usize = buf[widths..table].iter().map(|&b| usize::from(b)).sum();
    let mut at = table + (bins * bits).div_ceil(8);
    let words_count = at;
    let nwords = varint(buf, &mut at);
    let states = at;
    let words = states + 4 * lanes;
    let mut at = words + 2 * nwords;
    let off_len = at;
    varint(buf, &mut at);
    Layout {
        lanes_at,
        lanes,
        carry,
        bins: bins_at,
        log,
        widths,
        table,
        words_count,
        states,
        words,
        nwords,
        off_len,
        offsets: at,
    }
}

/// A skewed alphabet with a few wide outliers, so that the node has both zero-width and wide
/// bins, an rANS payload and offset bytes.
fn sample_values(len: usize) -> Vec<u64> {
    let mut rng = Rng::new(17);
    (0..len)
        .map(|i| {
            let u = rng.unit();
            if i % 97 == 0 {
                1_000_000 + rng.below(1 << 20)
            } else {
                (u * u * 40.0) as u64
            }
        })
        .collect()
}

/// Value counts of the nodes tested: 400 values make a node of four lanes, 1,500 one of 16 and
/// 8,000 one of 32 (the vector decoder takes the last two where the CPU has it); all have
/// offsets enough for their start states to carry some (tag `0x0f`, carry flag set). Tag `0x0b` (four lanes, nothing
/// carried) is a node without offsets: see `ans_zero_width_node_with_offset_bytes_returns_corrupt`.
const LENGTHS: [usize; 3] = [400, 1500, 8000];

fn encoded(len: usize) -> Vec<u8> {
    let opts = EncodeOptions {
        scheme: Some(Scheme::Ans),
        ..EncodeOptions::default()
    };
    let values = sample_values(len);
    let enc = encode_u64(&values, &opts).unwrap();
    assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    enc.bytes
}

#[test]
fn ans_nodes_of_either_tag_are_tested() {
    let lanes: Vec<(usize, bool)> = LENGTHS
        .iter()
        .map(|&n| {
            let l = layout(&encoded(n));
            (l.lanes, l.carry)
        })
        .collect();
    assert_eq!(lanes, [(4, true), (16, true), (32, true)]);
}

#[test]
fn ans_carry_flag_not_matching_the_node_returns_err() {
    for len in LENGTHS {
        let buf = encoded(len);
        let at = layout(&buf).lanes_at.unwrap();
        // Cleared: the final states hold the carried bytes, not 2^16, and the offsets are short.
        let mut b = buf.clone();
        b[at] &= 0x7f;
        expect_corrupt(&b, "carry flag cleared");
    }
    // Set on a node that carries nothing (no offsets; rewritten as tag 0x0f).
    let buf = zero_width_node();
    let l = layout(&buf);
    assert!(l.lanes_at.is_none() && !l.carry);
    let mut b = buf[..3].to_vec();
    b[2] = 0x0f;
    let mut at = 3;
    varint(&buf, &mut at);
    b.extend_from_slice(&buf[3..at]);
    b.push(0x80 | 4);
    b.extend_from_slice(&buf[at..]);
    expect_corrupt(&b, "carry flag on a node without offsets");
}

#[test]
fn ans_lane_count_out_of_range_returns_corrupt() {
    let buf = encoded(8000);
    let at = layout(&buf).lanes_at.unwrap();
    for lanes in [0u8, 65, 255, 0x80, 0x80 | 65] {
        let mut b = buf.clone();
        b[at] = lanes;
        expect_corrupt(&b, &format!("{lanes} lanes"));
    }
}

fn expect_err(buf: &[u8], what: &str) {
    match decode_u64(buf) {
        Err(_) => {}
        Ok(v) => panic!("{what}: decoded {} values instead of an error", v.len()),
    }
}

fn expect_corrupt(buf: &[u8], what: &str) {
    match decode_u64(buf) {
        Err(CodecError::Corrupt { encoding, .. }) => assert_eq!(encoding, "ans", "{what}"),
        other => panic!("{what}: expected a corrupt ans node, got {other:?}"),
    }
}

#[test]
fn ans_table_header_out_of_range_returns_corrupt() {
    for len in LENGTHS {
        let buf = encoded(len);
        let l = layout(&buf);
        assert!(
            l.table > l.bins + 1 && l.nwords > 0 && l.offsets < buf.len(),
            "{l:?}"
        );
        let edits: [(&str, usize, u8); 6] = [
            ("table log 13", l.log, 13),
            ("table log too small for the bins", l.log, 1),
            ("no bins", l.bins, 0),
            ("lower gap width 65", l.widths, 65),
            ("bin width width 8", l.widths + 1, 8),
            ("weight width 13", l.widths + 2, 13),
        ];
        for (what, at, byte) in edits {
            let mut b = buf.clone();
            b[at] = byte;
            expect_corrupt(&b, what);
        }
    }
}

#[test]
fn ans_weights_not_summing_to_table_size_return_corrupt() {
    for len in LENGTHS {
        let buf = encoded(len);
        let l = layout(&buf);
        let (lw, ww, fw) = (
            usize::from(buf[l.widths]),
            usize::from(buf[l.widths + 1]),
            usize::from(buf[l.widths + 2]),
        );
        assert!(fw > 0);
        // Flip the lowest bit of the first bin's weight field: the sum moves by one.
        let bit = lw + ww;
        let mut b = buf.clone();
        b[l.table + bit / 8] ^= 1 << (bit % 8);
        expect_corrupt(&b, "first weight off by one");
    }
}

#[test]
fn ans_states_below_floor_return_corrupt_and_other_state_changes_keep_the_count() {
    for n in LENGTHS {
        let buf = encoded(n);
        let l = layout(&buf);
        for lane in 0..l.lanes {
            let at = l.states + 4 * lane;
            let mut b = buf.clone();
            b[at..at + 4].copy_from_slice(&0xFFFFu32.to_le_bytes());
            expect_corrupt(&b, &format!("lane {lane} state below 2^16"));
            // rANS carries no checksum: a changed state may still decode (to other values), but
            // never to another count, and never panics.
            for bit in 0..32 {
                let mut b = buf.clone();
                let s = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
                b[at..at + 4].copy_from_slice(&(s ^ (1 << bit)).to_le_bytes());
                if let Ok(v) = decode_u64(&b) {
                    assert_eq!(v.len(), n, "lane {lane} bit {bit}");
                }
            }
        }
    }
}

#[test]
fn ans_missing_or_extra_words_return_err() {
    for len in LENGTHS {
        let buf = encoded(len);
        let l = layout(&buf);
        // One word fewer, the rest of the node intact.
        let mut b = buf[..l.words_count].to_vec();
        put_varint(&mut b, l.nwords - 1);
        b.extend_from_slice(&buf[l.states..l.words + 2 * (l.nwords - 1)]);
        b.extend_from_slice(&buf[l.words + 2 * l.nwords..]);
        expect_err(&b, "one word fewer");
        // One word more.
        let mut b = buf[..l.words_count].to_vec();
        put_varint(&mut b, l.nwords + 1);
        b.extend_from_slice(&buf[l.states..l.words + 2 * l.nwords]);
        b.extend_from_slice(&[0x5a, 0xa5]);
        b.extend_from_slice(&buf[l.words + 2 * l.nwords..]);
        expect_err(&b, "one word more");
    }
}

#[test]
fn ans_offset_bytes_not_matching_the_bins_return_corrupt() {
    for len in LENGTHS {
        let buf = encoded(len);
        let l = layout(&buf);
        let offsets = &buf[l.offsets..];
        for (what, len) in [
            ("one offset byte extra", offsets.len() + 1),
            ("one offset byte short", offsets.len() - 1),
        ] {
            let mut b = buf[..l.off_len].to_vec();
            put_varint(&mut b, len);
            let mut body = offsets.to_vec();
            body.resize(len, 0);
            b.extend_from_slice(&body);
            expect_corrupt(&b, what);
        }
    }
}

/// A node of zero-width bins (no offsets, so nothing carried: tag `0x0b`).
fn zero_width_node() -> Vec<u8> {
    let opts = EncodeOptions {
        scheme: Some(Scheme::Ans),
        ..EncodeOptions::default()
    };
    let values: Vec<u64> = (0..500u64).map(|i| (i * i) % 5).collect();
    let enc = encode_u64(&values, &opts).unwrap();
    assert_eq!(enc.bytes[2], 0x0b);
    assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    enc.bytes
}

#[test]
fn ans_zero_width_node_with_offset_bytes_returns_corrupt() {
    let bytes = zero_width_node();
    let l = layout(&bytes);
    assert_eq!(
        &bytes[l.off_len..],
        &[0],
        "zero-width bins write no offsets"
    );
    let mut b = bytes[..l.off_len].to_vec();
    b.extend_from_slice(&[1, 0]);
    expect_corrupt(&b, "offset byte behind zero-width bins");
}
