//! With `EncodeOptions::entropy` the sampler picks the entropy-coded leaf where a skewed
//! distribution pays for its table, and keeps bit-packing where it does not (uniform codes);
//! the default leaves the output exactly as before. The snapshot shows the cascades and sizes.

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
fn entropy_on_chooses_ans_where_it_pays_and_default_output_is_unchanged() {
    let mut report = String::new();
    let skewed = skewed_codes();
    let times: Vec<u64> = times_of_day().iter().map(|&t| t as u64).collect();
    for (name, values, pays) in [
        ("skewed codes", &skewed, true),
        ("times of day", &times, true),
        ("uniform codes", &uniform_codes(), false),
    ] {
        let off = encode_u64(values, &EncodeOptions::default()).unwrap();
        let explicit_off = encode_u64(
            values,
            &EncodeOptions {
                entropy: false,
                ..EncodeOptions::default()
            },
        )
        .unwrap();
        assert_eq!(off, explicit_off, "{name}: entropy is off by default");
        assert!(!uses_ans(&off.cascade), "{name}: {}", off.cascade);
        let on = encode_u64(values, &entropy()).unwrap();
        assert_eq!(&decode_u64(&on.bytes).unwrap(), values, "{name}");
        assert_eq!(uses_ans(&on.cascade), pays, "{name}: {}", on.cascade);
        if pays {
            assert!(on.bytes.len() < off.bytes.len(), "{name}");
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
    // Sorted timestamps with skewed gaps: delta, then the gaps entropy-coded.
    let mut rng = Rng::new(6);
    let mut t = 1_700_000_000i64;
    let ts: Vec<i64> = (0..N)
        .map(|_| {
            t += [0, 0, 0, 60, 60, 120, 300, 3600][rng.below(8) as usize];
            t
        })
        .collect();
    let enc = encode_i64(&ts, &entropy()).unwrap();
    assert_eq!(decode_i64(&enc.bytes).unwrap(), ts);
    assert_eq!(enc.cascade.scheme, Scheme::Delta, "{}", enc.cascade);
    assert!(uses_ans(&enc.cascade), "{}", enc.cascade);
    let off = encode_i64(&ts, &EncodeOptions::default()).unwrap();
    assert!(
        enc.bytes.len() < off.bytes.len(),
        "{} vs {}",
        enc.cascade,
        off.cascade
    );
}
