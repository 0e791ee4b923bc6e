//! A `parts` node (tag `0x0e`) stores a buffer as runs of 1024 values, each with its own cascade.
//! The encoder takes it where runs differ enough that one cascade for the buffer costs more
//! (and not where one cascade fits every run); a block following a `parts` cascade follows the
//! cascade the parts were chosen over and is tried in parts again (from two runs), decoding
//! under a limit of its own count; and every field its decoders read is checked, returning a
//! typed error, never a panic (`common::valid_buffers` holds forced `parts` buffers of integers
//! and floats for the random-byte and byte-flip tests).

use strata_codec::{
    EncodeOptions, Limits, Scheme, decode_f64, decode_f64_with, decode_i64, decode_i64_with,
    decode_u64, decode_u64_with, encode_f64, encode_f64_following, encode_i64,
    encode_i64_following, encode_u64,
};

use crate::common::{Rng, bits, expect_err};

/// Four runs of 1024, each drawn from 64 large values of its own (a sensor per run, say). One
/// dictionary for the buffer holds 256 values and spends 8 bits a code, spread over the whole
/// code range in every run; each run's own dictionary (runs follow the buffer's cascade with
/// their own dictionaries) spends 6.
fn mixed_ints(seed: u64) -> Vec<i64> {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(4096);
    for _ in 0..4 {
        let set: Vec<i64> = (0..64).map(|_| rng.below(1 << 40) as i64).collect();
        v.extend((0..1024).map(|_| set[rng.below(64) as usize]));
    }
    v
}

/// Four runs of 1024 decimals at different scales: one decimal, two, four, whole numbers.
fn mixed_floats(seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(4096);
    v.extend((0..1024).map(|_| (200 + rng.below(100)) as f64 / 10.0));
    v.extend((0..1024).map(|_| (100_000 + rng.below(10_000)) as f64 / 100.0));
    v.extend((0..1024).map(|_| rng.below(10_000) as f64 / 10_000.0));
    v.extend((0..1024).map(|_| rng.below(50) as f64));
    v
}

#[test]
fn runs_that_need_their_own_cascades_are_stored_in_parts() {
    let ints = mixed_ints(1);
    let enc = encode_i64(&ints, &EncodeOptions::default()).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
    assert_eq!(enc.cascade.children.len(), 4);
    assert_eq!(decode_i64(&enc.bytes).unwrap(), ints);
    // Each run: 64 dictionary values of 40 bits (320 bytes) and 1024 codes of 6 bits (768).
    assert!(
        enc.bytes.len() < 4 * (320 + 768) + 300,
        "{} bytes",
        enc.bytes.len()
    );
    let whole = encode_i64(
        &ints,
        &EncodeOptions {
            scheme: Some(Scheme::Dictionary),
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    assert!(enc.bytes.len() < whole.bytes.len());

    let floats = mixed_floats(2);
    let enc = encode_f64(&floats, &EncodeOptions::default()).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
    assert_eq!(bits(&decode_f64(&enc.bytes).unwrap()), bits(&floats));
    let one = encode_f64(
        &floats,
        &EncodeOptions {
            scheme: Some(Scheme::Alp),
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    assert!(
        enc.bytes.len() < one.bytes.len(),
        "{} against one ALP node's {}",
        enc.bytes.len(),
        one.bytes.len()
    );
    // The footer's name of the cascade lists each distinct top scheme of the parts once, in
    // order.
    let mut distinct: Vec<&str> = Vec::new();
    for c in &enc.cascade.children {
        if !distinct.contains(&c.scheme.name()) {
            distinct.push(c.scheme.name());
        }
    }
    assert_eq!(
        enc.cascade.shape(),
        format!("parts({})", distinct.join(", "))
    );
    assert!(enc.cascade.shape().starts_with("parts(alp"));
}

#[test]
fn one_cascade_is_kept_where_it_fits_every_run() {
    let timestamps: Vec<i64> = (0..4096).map(|i| 1_700_000_000_000 + i * 1000).collect();
    let enc = encode_i64(&timestamps, &EncodeOptions::default()).unwrap();
    assert_ne!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
    let mut rng = Rng::new(3);
    let noise: Vec<u64> = (0..4096).map(|_| rng.below(1 << 20)).collect();
    let enc = encode_u64(&noise, &EncodeOptions::default()).unwrap();
    assert_ne!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
    let decimals: Vec<f64> = (0..4096)
        .map(|_| rng.below(10_000) as f64 / 100.0)
        .collect();
    let enc = encode_f64(&decimals, &EncodeOptions::default()).unwrap();
    assert_ne!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
    // Nor below two runs.
    let enc = encode_i64(&mixed_ints(4)[..2047], &EncodeOptions::default()).unwrap();
    assert_ne!(enc.cascade.scheme, Scheme::Parts, "{}", enc.cascade);
}

/// Fewer than two runs are never in parts; the four runs of the hints' shape are.
fn expect_parts_where_due(c: &strata_codec::Cascade, n: usize) {
    let parted = c.scheme == Scheme::Parts;
    let due = if n < 2048 {
        !parted
    } else {
        parted || n != 4096
    };
    assert!(due, "n={n}: {c}");
}

#[test]
fn blocks_following_parts_follow_the_whole_cascade_and_try_parts_again() {
    let opts = EncodeOptions::default();
    let hint = encode_i64(&mixed_ints(5), &opts).unwrap().cascade;
    assert_eq!(hint.scheme, Scheme::Parts);
    // What a later block follows is the cascade the parts were chosen over.
    assert_ne!(hint.followed().scheme, Scheme::Parts);
    let fhint = encode_f64(&mixed_floats(6), &opts).unwrap().cascade;
    assert_eq!(fhint.scheme, Scheme::Parts);
    assert_eq!(fhint.followed().scheme, Scheme::Alp);
    for n in [0usize, 1, 925, 1024, 1025, 2047, 2048, 4096, 6000] {
        // Decoded under the limit a segment reader sets: the block's row count.
        let limits = Limits { max_values: n };
        let ints: Vec<i64> = mixed_ints(n as u64 + 7)
            .into_iter()
            .cycle()
            .take(n)
            .collect();
        let enc = encode_i64_following(&ints, &opts, &hint).unwrap();
        expect_parts_where_due(&enc.cascade, n);
        // (Where the followed scheme applies at all: not to zero or one value.)
        if n > 1 {
            assert_eq!(
                enc.cascade.followed().scheme,
                hint.followed().scheme,
                "n={n}: {}",
                enc.cascade
            );
        }
        assert_eq!(decode_i64_with(&enc.bytes, limits).unwrap(), ints, "n={n}");

        let floats: Vec<f64> = mixed_floats(n as u64 + 8)
            .into_iter()
            .cycle()
            .take(n)
            .collect();
        let enc = encode_f64_following(&floats, &opts, &fhint).unwrap();
        expect_parts_where_due(&enc.cascade, n);
        let back = decode_f64_with(&enc.bytes, limits).unwrap();
        assert_eq!(bits(&back), bits(&floats), "n={n}");
    }
}

/// A buffer header (codec version 1, kind) and a `parts` node of `n` values in runs of `run`.
fn parts_header(kind: u8, n: u8, run: u8) -> Vec<u8> {
    vec![1, kind, 0x0e, n, run]
}

/// A constant node of `n` (< 128) values `v`.
fn constant(n: u8, v: u64) -> Vec<u8> {
    let mut b = vec![0x01, n];
    b.extend_from_slice(&v.to_le_bytes());
    b
}

#[test]
fn the_layout_decodes_as_documented() {
    // Five values in runs of two: two constant parts of 2 and one of 1.
    let mut b = parts_header(2, 5, 2);
    b.extend(constant(2, 7));
    b.extend(constant(2, 9));
    b.extend(constant(1, 11));
    assert_eq!(decode_u64(&b).unwrap(), [7, 7, 9, 9, 11]);
    // The same parts under a float buffer hold bit patterns.
    b[1] = 3;
    let back = decode_f64(&b).unwrap();
    assert_eq!(bits(&back), [7, 7, 9, 9, 11]);
    // A run longer than the node (1024, two bytes of varint), under a limit of its count.
    let mut b = vec![1, 2, 0x0e, 2, 0x80, 0x08];
    b.extend(constant(2, 7));
    let limits = Limits { max_values: 2 };
    assert_eq!(decode_u64_with(&b, limits).unwrap(), [7, 7]);
}

#[test]
fn corrupt_fields_return_typed_errors() {
    // Runs of 0 values.
    let mut b = parts_header(2, 2, 0);
    b.extend(constant(2, 7));
    expect_err(&b, "runs of 0");
    // A part that is itself a parts node.
    let mut b = parts_header(2, 2, 2);
    b.extend([0x0e, 2, 1]);
    b.extend(constant(1, 7));
    b.extend(constant(1, 7));
    expect_err(&b, "nested parts");
    // A part claiming more, or fewer, values than its run.
    for claimed in [1u8, 3] {
        let mut b = parts_header(2, 4, 2);
        b.extend(constant(2, 7));
        b.extend(constant(claimed, 7));
        expect_err(&b, &format!("a part of {claimed} in a run of 2"));
        b[1] = 3;
        assert!(decode_f64(&b).is_err(), "float part of {claimed}");
    }
    // Parts that end before the count does.
    let mut b = parts_header(2, 5, 2);
    b.extend(constant(2, 7));
    expect_err(&b, "two parts missing");
    // Every truncation of real buffers, integer and float.
    let forced = EncodeOptions {
        scheme: Some(Scheme::Parts),
        ..EncodeOptions::default()
    };
    let ints = encode_i64(&mixed_ints(9)[..3000], &forced).unwrap().bytes;
    assert_eq!(ints[2], 0x0e);
    for cut in 0..ints.len() {
        assert!(decode_i64(&ints[..cut]).is_err(), "cut at {cut}");
    }
    let floats = encode_f64(&mixed_floats(10)[..3000], &forced)
        .unwrap()
        .bytes;
    assert_eq!(floats[2], 0x0e);
    for cut in 0..floats.len() {
        assert!(decode_f64(&floats[..cut]).is_err(), "cut at {cut}");
    }
}
