//! The entropy-coded leaf (`Scheme::Ans`) forced at the top round-trips any integers exactly as
//! the plain encoding (the oracle) does: skewed small alphabets (one bin per value), log-uniform
//! magnitudes (wide bins), extremes and random 64-bit values, at and around the chunk and
//! sampling edges, as i64 and as u64.

use crate::common::Rng;
use proptest::prelude::*;
use strata_codec::{
    Cascade, EncodeOptions, Scheme, decode_i64, decode_u64, encode_i64, encode_u64,
};

fn forced(scheme: Scheme) -> EncodeOptions {
    EncodeOptions {
        scheme: Some(scheme),
        ..EncodeOptions::default()
    }
}

/// Inputs the binning treats differently, from a seed: `family` picks the distribution.
fn values(family: u8, len: usize, seed: u64, base: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|_| {
            let r = rng.next_u64();
            let v = match family {
                // Zipf-like codes over a small alphabet.
                0 => {
                    let u = rng.unit();
                    (u * u * u * 229.0) as u64
                }
                // Log-uniform magnitudes: a few wide bins pay.
                1 => r >> (r % 64),
                // Uniform over a mid-size alphabet.
                2 => r % 5000,
                // Extremes and their neighbours.
                3 => [0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1][(r % 6) as usize],
                // Anything.
                _ => r,
            };
            base.wrapping_add(v)
        })
        .collect()
}

fn check(values: &[u64]) -> Result<(), TestCaseError> {
    let oracle = decode_u64(&encode_u64(values, &forced(Scheme::Plain)).unwrap().bytes).unwrap();
    let enc = encode_u64(values, &forced(Scheme::Ans)).unwrap();
    let expected_top = if values.is_empty() {
        Scheme::Plain
    } else {
        Scheme::Ans
    };
    prop_assert_eq!(enc.cascade.scheme, expected_top, "{}", enc.cascade);
    prop_assert_eq!(
        decode_u64(&enc.bytes).unwrap(),
        oracle,
        "u64 via {}",
        enc.cascade
    );

    let signed: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    let enc = encode_i64(&signed, &forced(Scheme::Ans)).unwrap();
    prop_assert_eq!(
        decode_i64(&enc.bytes).unwrap(),
        signed,
        "i64 via {}",
        enc.cascade
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ans_forced_any_distribution_round_trips_like_plain(
        family in 0u8..5,
        len in prop_oneof![0usize..8, 60usize..70, 1020usize..1030, 2040usize..2060, 0usize..5000],
        seed in any::<u64>(),
        base in prop_oneof![Just(0u64), any::<u64>()],
    ) {
        check(&values(family, len, seed, base))?;
    }

    #[test]
    fn ans_chosen_by_sampling_round_trips_like_plain(
        family in 0u8..3,
        len in 0usize..3000,
        seed in any::<u64>(),
    ) {
        let values = values(family, len, seed, 1000);
        let opts = EncodeOptions { entropy: true, ..EncodeOptions::default() };
        let enc = encode_u64(&values, &opts).unwrap();
        prop_assert_eq!(decode_u64(&enc.bytes).unwrap(), values, "via {}", enc.cascade);
    }
}

/// The bins the encoder planned show in the cascade detail, e.g. `ans[bins=3,log=5]`.
fn bins(c: &Cascade) -> usize {
    c.detail
        .split(',')
        .find_map(|p| p.strip_prefix("bins="))
        .and_then(|b| b.parse().ok())
        .unwrap_or(0)
}

#[test]
fn ans_far_apart_codes_get_one_bin_each_and_wide_ranges_get_few_bins() {
    // Eight codes 1000 apart with geometric frequencies: merging any two would cost 10 offset
    // bits a value, so each keeps its own zero-width bin.
    let mut rng = Rng::new(7);
    let codes: Vec<u64> = (0..1024)
        .map(|_| u64::from(rng.next_u64().trailing_zeros().min(7)) * 1000)
        .collect();
    let enc = encode_u64(&codes, &forced(Scheme::Ans)).unwrap();
    assert_eq!(bins(&enc.cascade), 8, "{}", enc.cascade);
    assert_eq!(decode_u64(&enc.bytes).unwrap(), codes);
    // log2(8) = 3 bits packed; the entropy is under 2 bits.
    assert!(
        enc.bytes.len() < 1024 * 2 / 8 + 64,
        "{} bytes",
        enc.bytes.len()
    );

    let wide = values(4, 1024, 7, 0);
    let enc = encode_u64(&wide, &forced(Scheme::Ans)).unwrap();
    assert!(bins(&enc.cascade) < 16, "{}", enc.cascade);
    assert_eq!(decode_u64(&enc.bytes).unwrap(), wide);
}
