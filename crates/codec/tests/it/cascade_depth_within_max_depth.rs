//! Cascades stay within `max_depth + 1` levels (a Patched node's exception lists may add one
//! leaf level, and those lists are leaves themselves), for sampled choice on every shape and
//! kind, and for long skewed inputs whose exception lists are again worth patching.

use crate::common::{
    BYTES_SHAPES, FLOAT_SHAPES, INT_SHAPES, Rng, check_bytes_cascade, check_cascade, floats, ints,
    strings,
};
use strata_codec::{
    Cascade, EncodeOptions, Profile, Scheme, decode_u64, encode_bytes, encode_f64, encode_i64,
    encode_u64,
};

fn sampled(max_depth: u8, profile: Profile) -> EncodeOptions {
    EncodeOptions {
        profile,
        scheme: None,
        max_depth,
        entropy: false,
    }
}

#[test]
fn sampled_cascades_every_shape_and_kind_stay_within_max_depth() {
    for max_depth in 1..=3 {
        for profile in [Profile::General, Profile::TimeSeries] {
            let opts = sampled(max_depth, profile);
            for len in [100, 1024, 5000] {
                for shape in INT_SHAPES {
                    let c = encode_i64(&ints(shape, len, 3), &opts).unwrap().cascade;
                    check_cascade(&c, &opts, &format!("{shape:?} x{len}"));
                }
                for shape in FLOAT_SHAPES {
                    let c = encode_f64(&floats(shape, len, 3), &opts).unwrap().cascade;
                    check_cascade(&c, &opts, &format!("{shape:?} x{len}"));
                }
                for shape in BYTES_SHAPES {
                    let c = encode_bytes(&strings(shape, len, 3), &opts)
                        .unwrap()
                        .cascade;
                    check_bytes_cascade(&c, &opts, &format!("{shape:?} x{len}"));
                }
            }
        }
    }
}

/// Each value has width 4 + 8k with probability about 8^-k: patching pays at every level, so
/// the exception values, once split off, are themselves small values with rare outliers.
fn skewed(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let mut level = 0;
            while level < 7 && rng.below(8) == 0 {
                level += 1;
            }
            rng.next_u64() & ((1u64 << (4 + 8 * level)) - 1)
        })
        .collect()
}

fn patched_nodes(c: &Cascade) -> Vec<&Cascade> {
    let mut out: Vec<&Cascade> = c.children.iter().flat_map(patched_nodes).collect();
    if c.scheme == Scheme::Patched {
        out.push(c);
    }
    out
}

#[test]
fn patched_skewed_input_exception_lists_are_leaves() {
    let values = skewed(1 << 17, 11);
    for max_depth in 1..=3 {
        let opts = EncodeOptions {
            scheme: Some(Scheme::Patched),
            ..sampled(max_depth, Profile::General)
        };
        let enc = encode_u64(&values, &opts).unwrap();
        assert_eq!(enc.cascade.scheme, Scheme::Patched, "{}", enc.cascade);
        for p in patched_nodes(&enc.cascade) {
            assert_eq!(p.children.len(), 2, "{p}");
            for list in &p.children {
                assert_eq!(
                    list.depth(),
                    1,
                    "exception list {list} of {p} is not a leaf"
                );
            }
        }
        check_cascade(&enc.cascade, &opts, "skewed");
        assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    }
}

#[test]
fn sampled_skewed_input_under_delta_stays_within_max_depth() {
    // Prefix sums of skewed steps: the deltas are the skewed values, patched below a delta node.
    let mut acc = 0u64;
    let values: Vec<u64> = skewed(1 << 16, 5)
        .into_iter()
        .map(|d| {
            acc = acc.wrapping_add(d);
            acc
        })
        .collect();
    for max_depth in 1..=3 {
        let opts = sampled(max_depth, Profile::General);
        let enc = encode_u64(&values, &opts).unwrap();
        check_cascade(&enc.cascade, &opts, "skewed prefix sums");
        assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    }
}
