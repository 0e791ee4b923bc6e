//! With `EncodeOptions::entropy` (the default) the sampler picks the entropy-coded leaf where a
//! skewed distribution saves at least two bits a value, the price of its slower decoding, and
//! keeps bit-packing where it saves less (mildly skewed codes, times of day) or nothing
//! (uniform codes); with it off the output never uses the leaf. The snapshot shows the
//! cascades and sizes.

use crate::common::Rng;
use strata_codec::{
    Cascade, EncodeOptions, Scheme, decode_i64, decode_u64, encode_i64, encode_u64,
};

const N: usize = 1024;

fn entropy() -> EncodeOptions {
    EncodeOptions {
        entropy: true,
        ..EncodeOptions::default()
    }
}

fn uses_ans(c: &Cascade) -> bool {
    c.scheme == Scheme::Ans || c.children.iter().any(uses_ans)
}

/// Zipf-like airport codes: few codes carry most flights.
fn skewed_codes() -> Vec<u64> {
    let mut rng = Rng::new(3);
    (0..N)
        .map(|_| {
            let u = rng.unit();
            (u * u * u * 229.0) as u64
        })
        .collect()
}

/// Codes far more skewed: a handful carry almost every value.
fn heavily_skewed_codes() -> Vec<u64> {
    let mut rng = Rng::new(7);
    (0..N)
        .map(|_| {
            let u = rng.unit();
            (u.powi(6) * 229.0) as u64
        })
        .collect()
}

/// Times of day (HHMM) clustered in the morning and evening peaks.
fn times_of_day() -> Vec<i64> {
    let mut rng = Rng::new(4);
    (0..N)
        .map(|_| {
            let peak = if rng.below(2) == 0 { 7 * 60 } else { 17 * 60 };
            let minutes = peak + (rng.unit() * rng.unit() * 300.0) as i64;
            (minutes / 60) * 100 + minutes % 60
        })
        .collect()
}

fn uniform_codes() -> Vec<u64> {
    let mut rng = Rng::new(5);
    (0..N).map(|_| rng.below(256)).collect()
}

#[test]
fn entropy_on_chooses_ans_where_it_pays_and_off_never() {
    let mut report = String::new();
    let skewed = skewed_codes();
    let heavily = heavily_skewed_codes();
    let times: Vec<u64> = times_of_day().iter().map(|&t| t as u64).collect();
    for (name, values, pays) in [
        ("heavily skewed codes", &heavily, true),
        ("skewed codes", &skewed, false),
        ("times of day", &times, false),
        ("uniform codes", &uniform_codes(), false),
    ] {
        let off = encode_u64(
            values,
            &EncodeOptions {
                entropy: false,
                ..EncodeOptions::default()
            },
        )
        .unwrap();
        assert!(!uses_ans(&off.cascade), "{name}: {}", off.cascade);
        let on = encode_u64(values, &EncodeOptions::default()).unwrap();
        assert_eq!(
            on,
            encode_u64(values, &entropy()).unwrap(),
            "{name}: on by default"
        );
        assert_eq!(&decode_u64(&on.bytes).unwrap(), values, "{name}");
        assert_eq!(uses_ans(&on.cascade), pays, "{name}: {}", on.cascade);
        if pays {
            // Two bits a value at least, less the leaf's table.
            assert!(on.bytes.len() + N / 4 < off.bytes.len() + 64, "{name}");
        } else {
            assert_eq!(on, off, "{name}");
        }
        report.push_str(&format!(
            "{name}: off {} ({} bytes), on {} ({} bytes)\n",
            off.cascade,
            off.bytes.len(),
            on.cascade,
            on.bytes.len()
        ));
    }
    insta::assert_snapshot!("entropy_on_choices", report);
}

#[test]
fn entropy_on_reaches_ans_below_delta_and_dictionary_nodes() {
    // Sorted timestamps with heavily skewed gaps (seconds, most of them short): delta,
    // then the gaps entropy-coded.
    let mut rng = Rng::new(6);
    let mut t = 1_700_000_000i64;
    let ts: Vec<i64> = (0..N)
        .map(|_| {
            t += (rng.unit().powi(8) * 1000.0) as i64;
            t
        })
        .collect();
    let enc = encode_i64(&ts, &entropy()).unwrap();
    assert_eq!(decode_i64(&enc.bytes).unwrap(), ts);
    assert_eq!(enc.cascade.scheme, Scheme::Delta, "{}", enc.cascade);
    assert!(uses_ans(&enc.cascade), "{}", enc.cascade);
    let off = encode_i64(
        &ts,
        &EncodeOptions {
            entropy: false,
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    assert!(
        enc.bytes.len() < off.bytes.len(),
        "{} vs {}",
        enc.cascade,
        off.cascade
    );
}
