//! Arbitrary bytes into the appending decoders (`decode_u64_into`, `decode_i64_bits_into`,
//! `decode_f64_into`), checked against the allocating ones: they must never panic, must append
//! exactly what `decode_*_with` returns, and on an error must leave the output as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_codec::{
    Limits, decode_f64_into, decode_f64_with, decode_i64_bits_into, decode_i64_with,
    decode_u64_into, decode_u64_with,
};

const LIMITS: Limits = Limits {
    max_values: 1 << 16,
};

/// Values already in the output before the decoder appends.
const PREFIX: [u64; 3] = [7, u64::MAX, 0];

fuzz_target!(|data: &[u8]| {
    let mut out = PREFIX.to_vec();
    match (decode_u64_into(data, LIMITS, &mut out), decode_u64_with(data, LIMITS)) {
        (Ok(n), Ok(v)) => {
            assert_eq!(n, v.len());
            assert_eq!(out[..PREFIX.len()], PREFIX);
            assert_eq!(out[PREFIX.len()..], v[..]);
        }
        (Err(_), Err(_)) => assert_eq!(out, PREFIX),
        (a, b) => panic!("u64: into {a:?}, with {:?}", b.map(|v| v.len())),
    }

    let mut out = PREFIX.to_vec();
    match (
        decode_i64_bits_into(data, LIMITS, &mut out),
        decode_i64_with(data, LIMITS),
    ) {
        (Ok(n), Ok(v)) => {
            assert_eq!(n, v.len());
            assert_eq!(out[..PREFIX.len()], PREFIX);
            let bits: Vec<u64> = v.iter().map(|&x| x as u64).collect();
            assert_eq!(out[PREFIX.len()..], bits[..]);
        }
        (Err(_), Err(_)) => assert_eq!(out, PREFIX),
        (a, b) => panic!("i64: into {a:?}, with {:?}", b.map(|v| v.len())),
    }

    let prefix: Vec<f64> = PREFIX.iter().map(|&b| f64::from_bits(b)).collect();
    let mut out = prefix.clone();
    match (decode_f64_into(data, LIMITS, &mut out), decode_f64_with(data, LIMITS)) {
        (Ok(n), Ok(v)) => {
            assert_eq!(n, v.len());
            let got: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
            let want: Vec<u64> = prefix.iter().chain(&v).map(|x| x.to_bits()).collect();
            assert_eq!(got, want);
        }
        (Err(_), Err(_)) => {
            let got: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, PREFIX);
        }
        (a, b) => panic!("f64: into {a:?}, with {:?}", b.map(|v| v.len())),
    }
});
