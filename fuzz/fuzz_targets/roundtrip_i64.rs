//! The input read as little-endian i64s must survive encode then decode, with default options,
//! with the entropy-coded leaf allowed (`EncodeOptions::entropy`) and with it forced
//! (`Scheme::Ans`): the sampler, and the leaf's lanes, carried start states and bins, on
//! inputs nobody chose.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::{EncodeOptions, Scheme, decode_i64, encode_i64};

fuzz_target!(|data: &[u8]| {
    let values: Vec<i64> = data
        .chunks_exact(8)
        .map(|c| {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            i64::from_le_bytes(word)
        })
        .collect();
    let entropy = EncodeOptions {
        entropy: true,
        ..EncodeOptions::default()
    };
    let ans = EncodeOptions {
        scheme: Some(Scheme::Ans),
        ..entropy
    };
    for opts in [EncodeOptions::default(), entropy, ans] {
        let encoded = match encode_i64(&values, &opts) {
            Ok(e) => e,
            Err(e) => panic!("encode_i64 failed on {} values: {e}", values.len()),
        };
        match decode_i64(&encoded.bytes) {
            Ok(decoded) => assert_eq!(decoded, values, "round trip through {}", encoded.cascade),
            Err(e) => panic!(
                "decode_i64 failed on a buffer encode_i64 wrote ({}): {e}",
                encoded.cascade
            ),
        }
    }
});
