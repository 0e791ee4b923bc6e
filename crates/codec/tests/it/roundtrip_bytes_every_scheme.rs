//! Byte strings (empty, 100 KB long, duplicated, binary, shared prefixes) round-trip exactly
//! under plain, dictionary, FSST and LZ4 forced at the top and under sampled choice.

use crate::common;
use crate::common::{
    BYTES_SCHEMES, BYTES_SHAPES, EDGE_LENGTHS, all_options, bytes_strategy, long_string,
    options_strategy, round_trip_bytes, strings,
};
use proptest::prelude::*;

#[test]
fn bytes_every_shape_at_edge_lengths_every_option_round_trip() {
    let options = all_options(&BYTES_SCHEMES);
    for shape in BYTES_SHAPES {
        for len in EDGE_LENGTHS {
            let values = strings(shape, len, 0xB17E5 ^ len as u64);
            for opts in &options {
                round_trip_bytes(&values, opts);
            }
        }
    }
}

#[test]
fn bytes_long_strings_every_option_round_trip() {
    let long = long_string(100 * 1024, 1);
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![long.clone()],
        vec![Vec::new(), long.clone(), Vec::new()],
        vec![long.clone(), long.clone(), long.clone()],
        vec![vec![0xFF; 100 * 1024], vec![0x00; 100 * 1024]],
        vec![
            long_string(100 * 1024, 2),
            b"short".to_vec(),
            long_string(100 * 1024, 3),
        ],
    ];
    for values in &cases {
        for opts in all_options(&BYTES_SCHEMES) {
            round_trip_bytes(values, &opts);
        }
    }
}

#[test]
fn bytes_literal_edge_cases_every_option_round_trip() {
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![],
        vec![Vec::new()],
        vec![vec![0xFF]],
        vec![vec![0xFF, 0xFE, 0x00, 0xC3, 0x28]; 3000],
        (0..=255u8).map(|b| vec![b; 9]).collect(),
        (0..2049)
            .map(|i| format!("{:0>200}", i % 3).into_bytes())
            .collect(),
        (0..1025).map(|i: u32| i.to_le_bytes().to_vec()).collect(),
    ];
    for values in &cases {
        for opts in all_options(&BYTES_SCHEMES) {
            round_trip_bytes(values, &opts);
        }
    }
}

#[test]
fn bytes_str_and_vec_inputs_encode_identically() {
    let owned = strings(common::BytesShape::Urls, 500, 9);
    let strs: Vec<&str> = owned
        .iter()
        .map(|v| std::str::from_utf8(v).unwrap())
        .collect();
    for opts in all_options(&BYTES_SCHEMES) {
        let a = strata_codec::encode_bytes(&owned, &opts).unwrap();
        let b = strata_codec::encode_bytes(&strs, &opts).unwrap();
        assert_eq!(a, b, "{opts:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn bytes_random_shapes_and_options_round_trip(
        values in bytes_strategy(),
        opts in options_strategy(&BYTES_SCHEMES),
    ) {
        round_trip_bytes(&values, &opts);
    }
}

/// FSST's decoder checks every code before it expands any: a code past the symbol table and an
/// escape with no literal after it (the last byte of a node is its last string's last code)
/// are typed corruption errors naming the encoding.
#[test]
fn fsst_bad_codes_are_typed_errors() {
    use strata_codec::{CodecError, EncodeOptions, Scheme, decode_bytes, encode_bytes};
    let values: Vec<String> = (0..300).map(|i| format!("zip-{:05}", i * 37)).collect();
    let opts = EncodeOptions {
        scheme: Some(Scheme::Fsst),
        ..EncodeOptions::default()
    };
    let enc = encode_bytes(&values, &opts).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::Fsst);
    let last = enc.bytes.len() - 1;
    for (code, reason) in [(254u8, "outside"), (255u8, "escape at end")] {
        let mut bad = enc.bytes.clone();
        bad[last] = code;
        match decode_bytes(&bad) {
            Err(CodecError::Corrupt {
                encoding,
                reason: r,
            }) => {
                assert_eq!(encoding, "fsst");
                assert!(r.contains(reason), "{r}");
            }
            other => panic!("code {code}: {other:?}"),
        }
    }
}
