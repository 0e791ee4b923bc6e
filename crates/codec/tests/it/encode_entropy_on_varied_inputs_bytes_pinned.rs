//! With `EncodeOptions::entropy` on, the bytes written for a spread of integer and float
//! inputs (skewed small alphabets, wide log-uniform values, runs, noisy sensor readings
//! whose deltas the sampler finds, lengths 1..=10,000) hash to a pinned value: work on the
//! encoder's speed must not change a byte it writes. A change of format or of the sampler's
//! choices updates the pin on purpose.

use crate::common::Rng;
use strata_codec::{EncodeOptions, Scheme, encode_f64, encode_i64, encode_u64};

/// FNV-1a, 64 bits: the same on every toolchain.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

fn inputs() -> Vec<Vec<i64>> {
    let mut rng = Rng::new(0x9e37_79b9);
    let mut out = Vec::new();
    for len in [1usize, 7, 100, 1000, 1024, 2500, 4096, 10_000] {
        for shape in 0..7u64 {
            let mut level = 10_000i64;
            let v: Vec<i64> = (0..len)
                .map(|i| {
                    let r = rng.next_u64();
                    match shape {
                        0 => i64::from((r | 1 << 40).trailing_zeros().min(9)) * 3,
                        1 => (r >> (r % 64)) as i64,
                        2 => {
                            // A sensor reading drifting by small steps.
                            level += (r % 21) as i64 - 10;
                            level
                        }
                        3 => {
                            let q = (r % 1000) as i64;
                            q * q / 50 - 3000
                        }
                        4 => ((i / 37) % 5) as i64,
                        5 => (r % 229).min(u64::from(r.trailing_zeros()) * 9) as i64,
                        _ => (r % 100_000) as i64 - 50_000,
                    }
                })
                .collect();
            out.push(v);
        }
    }
    out
}

#[test]
fn encode_entropy_on_varied_inputs_bytes_pinned() {
    let on = EncodeOptions {
        entropy: true,
        ..EncodeOptions::default()
    };
    let ans = EncodeOptions {
        scheme: Some(Scheme::Ans),
        ..on
    };
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for v in inputs() {
        fnv(&mut h, &encode_i64(&v, &on).unwrap().bytes);
        let u: Vec<u64> = v.iter().map(|&x| x.unsigned_abs()).collect();
        fnv(&mut h, &encode_u64(&u, &on).unwrap().bytes);
        fnv(&mut h, &encode_u64(&u, &ans).unwrap().bytes);
        let f: Vec<f64> = v.iter().map(|&x| x as f64 / 100.0).collect();
        fnv(&mut h, &encode_f64(&f, &on).unwrap().bytes);
    }
    assert_eq!(h, 0xf986_ce8d_151e_7fa7, "hash {h:#018x}");
}
