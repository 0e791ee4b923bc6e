//! The cascade the sampler chooses, and the encoded size, for representative columns. The
//! snapshots make any change of choice visible in review; the assertions pin the scheme each
//! input is meant to get. Every input is also decoded back.

use crate::common;
use crate::common::{BytesShape, IntShape, Rng, bits, ints, strings};
use strata_codec::{
    EncodeOptions, Encoded, Profile, decode_bool, decode_bytes, decode_f64, decode_i64,
    encode_bool, encode_bytes, encode_f64, encode_i64,
};

const N: usize = 1024;

fn general() -> EncodeOptions {
    EncodeOptions::default()
}

fn time_series() -> EncodeOptions {
    EncodeOptions {
        profile: Profile::TimeSeries,
        ..EncodeOptions::default()
    }
}

/// The snapshot text: the cascade, then its size against 8 bytes a value.
fn report(enc: &Encoded, n: usize, raw: usize) -> String {
    format!(
        "{}\n{} bytes for {n} values ({raw} bytes raw)",
        enc.cascade,
        enc.bytes.len()
    )
}

fn snapshot_i64(name: &str, values: &[i64], opts: &EncodeOptions) -> Encoded {
    let enc = encode_i64(values, opts).unwrap();
    assert_eq!(decode_i64(&enc.bytes).unwrap(), values, "{name}");
    insta::assert_snapshot!(name, report(&enc, values.len(), values.len() * 8));
    enc
}

fn snapshot_f64(name: &str, values: &[f64], opts: &EncodeOptions) -> Encoded {
    let enc = encode_f64(values, opts).unwrap();
    assert_eq!(
        bits(&decode_f64(&enc.bytes).unwrap()),
        bits(values),
        "{name}"
    );
    insta::assert_snapshot!(name, report(&enc, values.len(), values.len() * 8));
    enc
}

fn snapshot_bytes(name: &str, values: &[Vec<u8>], opts: &EncodeOptions) -> Encoded {
    let enc = encode_bytes(values, opts).unwrap();
    assert_eq!(
        decode_bytes(&enc.bytes).unwrap(),
        common::byte_values(values),
        "{name}"
    );
    let raw = values.iter().map(Vec::len).sum::<usize>();
    insta::assert_snapshot!(name, report(&enc, values.len(), raw));
    enc
}

#[test]
fn regular_timestamps_time_series_choose_delta_of_constant() {
    let values: Vec<i64> = (0..N as i64)
        .map(|i| 1_700_000_000_000 + i * 1000)
        .collect();
    let enc = snapshot_i64("regular_timestamps_time_series", &values, &time_series());
    // A constant step: delta and delta-of-delta both end in one constant; the cheaper header wins.
    let c = enc.cascade.to_string();
    assert!(c == "delta(constant)" || c == "delta2(constant)", "{c}");
}

#[test]
fn sorted_timestamps_with_repeats_choose_delta() {
    let values = ints(IntShape::SortedRepeats, N, 42);
    let enc = snapshot_i64("sorted_timestamps_with_repeats", &values, &time_series());
    assert!(
        enc.cascade.to_string().starts_with("delta"),
        "{}",
        enc.cascade
    );
}

#[test]
fn small_ints_with_outliers_choose_patched() {
    let mut rng = Rng::new(7);
    let values: Vec<i64> = (0..N)
        .map(|i| {
            if i % 97 == 13 {
                1_000_000_000 + rng.below(1 << 30) as i64
            } else {
                rng.below(16) as i64
            }
        })
        .collect();
    let enc = snapshot_i64("small_ints_with_outliers", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("patched"),
        "{}",
        enc.cascade
    );
}

#[test]
fn low_cardinality_ints_choose_dictionary() {
    let mut rng = Rng::new(8);
    let pool = [-5_000_000_007i64, 3, 1 << 40, 77_777];
    let values: Vec<i64> = (0..N).map(|_| pool[rng.below(4) as usize]).collect();
    let enc = snapshot_i64("low_cardinality_ints", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("dict"),
        "{}",
        enc.cascade
    );
}

#[test]
fn long_runs_choose_rle() {
    let mut rng = Rng::new(9);
    let mut values = Vec::with_capacity(N);
    while values.len() < N {
        let v = rng.next_u64() as i64;
        values.extend(std::iter::repeat_n(v, 100 + rng.below(100) as usize));
    }
    values.truncate(N);
    let enc = snapshot_i64("long_runs", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("rle"),
        "{}",
        enc.cascade
    );
}

fn decimals(scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..N)
        .map(|_| ((rng.unit() * 500.0 - 100.0) * scale).round() / scale)
        .collect()
}

#[test]
fn one_decimal_floats_choose_alp() {
    let enc = snapshot_f64("one_decimal_floats", &decimals(10.0, 10), &general());
    assert!(
        enc.cascade.to_string().starts_with("alp["),
        "{}",
        enc.cascade
    );
}

#[test]
fn two_decimal_floats_choose_alp() {
    let enc = snapshot_f64("two_decimal_floats", &decimals(100.0, 11), &general());
    assert!(
        enc.cascade.to_string().starts_with("alp["),
        "{}",
        enc.cascade
    );
}

#[test]
fn high_precision_positive_reals_pack_below_raw() {
    let mut rng = Rng::new(12);
    let values: Vec<f64> = (0..N).map(|_| 100.0 + rng.unit() * 50.0).collect();
    let enc = snapshot_f64("high_precision_positive_reals", &values, &general());
    // One sign, two exponents: the bit patterns span 52 bits, and no scheme can beat that by much.
    assert!(
        enc.bytes.len() <= N * 52 / 8 + 64,
        "{}: {} bytes",
        enc.cascade,
        enc.bytes.len()
    );
}

#[test]
fn high_precision_signed_reals_choose_alp_rd() {
    let mut rng = Rng::new(12);
    let values: Vec<f64> = (0..N)
        .map(|_| if rng.below(2) == 0 { 1.0 } else { -1.0 } * (100.0 + rng.unit() * 50.0))
        .collect();
    let enc = snapshot_f64("high_precision_signed_reals", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("alprd"),
        "{}",
        enc.cascade
    );
    assert!(
        enc.bytes.len() < N * 7,
        "{}: {} bytes",
        enc.cascade,
        enc.bytes.len()
    );
}

#[test]
fn constant_floats_choose_constant() {
    let enc = snapshot_f64("constant_floats", &vec![21.5; N], &general());
    assert_eq!(enc.cascade.to_string(), "constant");
}

#[test]
fn slowly_varying_series_time_series_snapshot() {
    let mut rng = Rng::new(13);
    let mut v = 20.0f64;
    let values: Vec<f64> = (0..N)
        .map(|_| {
            v += (rng.unit() - 0.5) * 0.2;
            (v * 10.0).round() / 10.0
        })
        .collect();
    let enc = snapshot_f64("slowly_varying_series_time_series", &values, &time_series());
    assert!(enc.bytes.len() < N * 2, "{}", enc.cascade);
}

#[test]
fn low_cardinality_strings_choose_dictionary() {
    let values = strings(BytesShape::LowCardinality, N, 14);
    let enc = snapshot_bytes("low_cardinality_strings", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("dict"),
        "{}",
        enc.cascade
    );
}

#[test]
fn urls_choose_fsst() {
    // Varied hosts, paths and ids: the shared-prefix URLs of `BytesShape::Urls` are so repetitive
    // that LZ4 wins on them.
    let mut rng = Rng::new(15);
    let words = [
        "index", "search", "api", "v2", "users", "products", "images", "blog", "posts", "docs",
    ];
    let hosts: Vec<String> = (0..50)
        .map(|_| {
            (0..5 + rng.below(6))
                .map(|_| char::from(b'a' + rng.below(26) as u8))
                .collect()
        })
        .collect();
    let values: Vec<Vec<u8>> = (0..N)
        .map(|_| {
            let tld = ["com", "org", "net", "io", "de"][rng.below(5) as usize];
            let host = &hosts[rng.below(hosts.len() as u64) as usize];
            let path: Vec<&str> = (0..1 + rng.below(3))
                .map(|_| words[rng.below(words.len() as u64) as usize])
                .collect();
            format!(
                "https://www.{host}.{tld}/{}?id={:x}",
                path.join("/"),
                rng.next_u64() >> rng.below(40)
            )
            .into_bytes()
        })
        .collect();
    let enc = snapshot_bytes("urls", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("fsst"),
        "{}",
        enc.cascade
    );
}

#[test]
fn free_text_choose_fsst() {
    let values = strings(BytesShape::FreeText, N, 16);
    let enc = snapshot_bytes("free_text", &values, &general());
    assert!(
        enc.cascade.to_string().starts_with("fsst"),
        "{}",
        enc.cascade
    );
}

#[test]
fn booleans_mostly_true_snapshot() {
    let mut rng = Rng::new(17);
    let values: Vec<bool> = (0..N).map(|_| rng.below(100) != 0).collect();
    let enc = encode_bool(&values, &general()).unwrap();
    assert_eq!(decode_bool(&enc.bytes).unwrap(), values);
    insta::assert_snapshot!("booleans_mostly_true", report(&enc, N, N / 8));
    // No worse than a bitmap (width-1 bit-packing) and its header.
    assert!(
        enc.bytes.len() <= N / 8 + 16,
        "{}: {} bytes",
        enc.cascade,
        enc.bytes.len()
    );
}

#[test]
fn booleans_all_true_choose_constant() {
    let enc = encode_bool(&[true; N], &general()).unwrap();
    assert_eq!(decode_bool(&enc.bytes).unwrap(), vec![true; N]);
    insta::assert_snapshot!("booleans_all_true", report(&enc, N, N / 8));
    assert_eq!(enc.cascade.to_string(), "constant");
}
