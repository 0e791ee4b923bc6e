//! ALP-RD (high-precision reals, whose left bits are dictionary-coded): the sampler chooses it
//! for latitudes in radians with every mantissa bit set, as the POI series hold; values of that
//! shape, with left parts outside the dictionary among them, round-trip bit for bit through it
//! forced or chosen, into a fresh or a partly filled buffer; and every field its decoder reads
//! is checked (right width, codes outside the dictionary, right parts wider than their width,
//! exception positions and left parts, child counts, truncation), returning a typed error,
//! never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use strata_codec::{
    CodecError, EncodeOptions, Limits, Profile, Scheme, decode_f64, decode_f64_into, encode_f64,
    encode_u64,
};

use crate::common::{Rng, bits, round_trip_f64};

/// `n` latitudes in radians, uniform over ±1.4, every mantissa bit random.
fn latitudes(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| (rng.unit() - 0.5) * 2.8).collect()
}

fn forced() -> EncodeOptions {
    EncodeOptions {
        scheme: Some(Scheme::AlpRd),
        ..EncodeOptions::default()
    }
}

#[test]
fn high_precision_latitudes_choose_alp_rd_and_round_trip_bit_exact() {
    for profile in [Profile::General, Profile::TimeSeries] {
        let opts = EncodeOptions {
            profile,
            ..EncodeOptions::default()
        };
        for n in [1000, 4096] {
            let values = latitudes(n, 3 + n as u64);
            let enc = encode_f64(&values, &opts).unwrap();
            assert_eq!(
                enc.cascade.scheme,
                Scheme::AlpRd,
                "{profile:?}: {}",
                enc.cascade
            );
            assert_eq!(bits(&decode_f64(&enc.bytes).unwrap()), bits(&values));
        }
    }
}

#[test]
fn alp_rd_decodes_after_values_already_in_the_buffer() {
    let values = latitudes(4096, 9);
    let enc = encode_f64(&values, &forced()).unwrap();
    let mut out = vec![1.5, -0.0];
    let n = decode_f64_into(&enc.bytes, Limits::default(), &mut out).unwrap();
    assert_eq!(n, values.len());
    assert_eq!(bits(&out[..2]), bits(&[1.5, -0.0]));
    assert_eq!(bits(&out[2..]), bits(&values));
}

/// ALP-RD-shaped values: mostly high-precision reals of a few magnitudes (left parts the
/// dictionary holds), some of other magnitudes and signs, specials and exact decimals (left
/// parts it may not hold: exceptions).
fn alp_rd_shaped() -> impl Strategy<Value = Vec<f64>> {
    (0usize..5000, any::<u64>(), 0u64..40).prop_map(|(n, seed, outliers)| {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| {
                if rng.below(100) >= outliers {
                    return (rng.unit() - 0.5) * 2.8;
                }
                match rng.below(5) {
                    0 => f64::from_bits(rng.next_u64()),
                    1 => rng.unit() * 1e6,
                    2 => -rng.unit() * 1e-9,
                    3 => [f64::NAN, -0.0, f64::INFINITY, f64::MIN_POSITIVE][rng.below(4) as usize],
                    _ => rng.below(1000) as f64 / 8.0,
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn alp_rd_shaped_values_round_trip_bit_exact(values in alp_rd_shaped(), sampled in any::<bool>()) {
        let opts = if sampled {
            EncodeOptions { profile: Profile::TimeSeries, ..EncodeOptions::default() }
        } else {
            forced()
        };
        round_trip_f64(&values, &opts);
    }
}

/// The bytes of an integer node holding `values`, bit-packed (the buffer's version and kind
/// bytes cut off).
fn packed_node(values: &[u64]) -> Vec<u8> {
    let opts = EncodeOptions {
        scheme: Some(Scheme::BitPacked),
        ..EncodeOptions::default()
    };
    encode_u64(values, &opts).unwrap().bytes[2..].to_vec()
}

/// A count as the codec writes it (LEB128).
fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The fields of an ALP-RD node, written out by [`Node::bytes`] as the encoder lays them out.
#[derive(Clone)]
struct Node {
    count: usize,
    right_bits: u8,
    dict: Vec<u16>,
    codes: Vec<u64>,
    right: Vec<u64>,
    positions: Vec<u64>,
    lefts: Vec<u64>,
}

impl Node {
    /// A valid node of 1100 values (a whole 1024-value chunk and a tail): five dictionary
    /// entries, two exceptions.
    fn valid() -> Self {
        let mut rng = Rng::new(21);
        let count = 1100;
        Node {
            count,
            right_bits: 52,
            dict: vec![0x3fe, 0x3fd, 0xbfe, 0x3fc, 0xbfd],
            codes: (0..count).map(|_| rng.below(5)).collect(),
            right: (0..count).map(|_| rng.next_u64() >> 12).collect(),
            positions: vec![3, 1099],
            lefts: vec![0x7ff, 0x001],
        }
    }

    fn bytes(&self) -> Vec<u8> {
        // The version and kind bytes of a float buffer.
        let mut out = encode_f64(&[], &EncodeOptions::default()).unwrap().bytes[..2].to_vec();
        out.push(0x22);
        varint(self.count, &mut out);
        out.push(self.right_bits);
        out.push(self.dict.len() as u8);
        for d in &self.dict {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend(packed_node(&self.codes));
        out.extend(packed_node(&self.right));
        varint(self.positions.len(), &mut out);
        if !self.positions.is_empty() {
            out.extend(packed_node(&self.positions));
            out.extend(packed_node(&self.lefts));
        }
        out
    }

    /// The values the node stands for, computed value by value.
    fn values(&self) -> Vec<u64> {
        let r = self.right_bits;
        let mut v: Vec<u64> = self
            .codes
            .iter()
            .zip(&self.right)
            .map(|(&c, &rt)| (u64::from(self.dict.get(c as usize).copied().unwrap_or(0)) << r) | rt)
            .collect();
        for (&p, &l) in self.positions.iter().zip(&self.lefts) {
            v[p as usize] = (l << r) | (v[p as usize] & ((1 << r) - 1));
        }
        v
    }
}

fn expect_corrupt(node: &Node, what: &str) {
    match decode_f64(&node.bytes()) {
        Err(CodecError::Corrupt { .. }) => {}
        Err(e) => panic!("{what}: untyped for this node: {e:?}"),
        Ok(v) => panic!("{what}: decoded {} values instead of an error", v.len()),
    }
}

#[test]
fn hand_written_alp_rd_nodes_decode_to_their_values() {
    let valid = Node::valid();
    assert_eq!(bits(&decode_f64(&valid.bytes()).unwrap()), valid.values());
    // A dictionary longer than any encoder writes (the table path), an empty one (code 0 a
    // placeholder), and no exceptions.
    let mut rng = Rng::new(4);
    let mut long = Node::valid();
    long.dict = (0..200).map(|i| 0x3000 + i).collect();
    long.codes = (0..long.count).map(|_| rng.below(200)).collect();
    long.right_bits = 48;
    long.right = long.right.iter().map(|r| r >> 4).collect();
    long.lefts = vec![0xffff, 0x8000];
    let mut empty = Node::valid();
    empty.dict.clear();
    empty.codes = vec![0; empty.count];
    let mut none = Node::valid();
    none.positions.clear();
    none.lefts.clear();
    for (what, node) in [("long", long), ("empty", empty), ("none", none)] {
        assert_eq!(
            bits(&decode_f64(&node.bytes()).unwrap()),
            node.values(),
            "{what}"
        );
    }
}

#[test]
fn corrupt_alp_rd_fields_return_err() {
    for right_bits in [0, 64, 200] {
        let mut n = Node::valid();
        n.right_bits = right_bits;
        expect_corrupt(&n, &format!("right width {right_bits}"));
    }
    for (i, code) in [(0, 5), (1099, 7), (500, 255), (7, 256), (1024, u64::MAX)] {
        let mut n = Node::valid();
        n.codes[i] = code;
        expect_corrupt(&n, &format!("code {code} at {i}"));
    }
    let mut n = Node::valid();
    n.dict = (0..200).map(|i| 0x3000 + i).collect();
    n.codes[900] = 200;
    expect_corrupt(&n, "code 200 in a dictionary of 200");
    let mut n = Node::valid();
    n.dict = (0..9).collect();
    n.right[5] = u64::MAX;
    expect_corrupt(&n, "right part too wide beside a dictionary of 9");
    let mut n = Node::valid();
    n.dict.clear();
    n.codes = vec![0; n.count];
    n.codes[17] = 1;
    expect_corrupt(&n, "code 1 in an empty dictionary");
    for i in [0, 1023, 1024, 1099] {
        let mut n = Node::valid();
        n.right[i] = 1 << 52;
        expect_corrupt(&n, &format!("right part too wide at {i}"));
    }
    for p in [1100, u64::from(u32::MAX), u64::MAX] {
        let mut n = Node::valid();
        n.positions[1] = p;
        expect_corrupt(&n, &format!("exception position {p}"));
    }
    let mut n = Node::valid();
    n.lefts[0] = 1 << 12;
    expect_corrupt(&n, "exception left part too wide");
    for (what, codes, right) in [("codes", 1099, 1100), ("right parts", 1100, 1101)] {
        let mut n = Node::valid();
        n.codes.resize(codes, 0);
        n.right.resize(right, 0);
        expect_corrupt(&n, &format!("{what} of the wrong count"));
    }
    let mut n = Node::valid();
    n.lefts.pop();
    expect_corrupt(&n, "fewer left parts than positions");
}

#[test]
fn truncated_and_changed_alp_rd_buffers_return_err_never_panic() {
    let values: Vec<f64> = latitudes(1500, 33)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if i % 97 == 0 { v * 1e9 } else { v })
        .collect();
    let enc = encode_f64(&values, &forced()).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::AlpRd);
    assert!(
        enc.cascade.children.len() == 4,
        "exceptions: {}",
        enc.cascade
    );
    for cut in 0..enc.bytes.len() {
        match decode_f64(&enc.bytes[..cut]) {
            Err(_) => {}
            Ok(v) => panic!("cut at {cut}: decoded {} values", v.len()),
        }
    }
    let mut buf = enc.bytes.clone();
    for i in 0..buf.len() {
        let original = buf[i];
        for mask in [0x01, 0x10, 0x80, 0xff] {
            buf[i] = original ^ mask;
            let r = catch_unwind(AssertUnwindSafe(|| decode_f64(&buf)));
            assert!(r.is_ok(), "byte {i} xor {mask:#04x}: decoder panicked");
        }
        buf[i] = original;
    }
}
