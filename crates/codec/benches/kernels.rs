//! Decode kernels: bit-unpacking, delta, dictionary lookups, ALP, ALP-RD and the rANS leaf, in
//! bytes of decoded output per second; and the rANS leaf's encoder (with the sampler that
//! plans it), in bytes of input per second.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;
use strata_codec::{
    EncodeOptions, Limits, Profile, Scheme, decode_f64, decode_f64_into, decode_i64, decode_u64,
    decode_u64_into, encode_f64, encode_i64, encode_u64,
};

const BLOCK: usize = 1024;
const BLOCKS: usize = 64;

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 11
}

fn bench_bitunpack(c: &mut Criterion) {
    let mut g = c.benchmark_group("bitunpack");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    for w in [3u32, 8, 17, 33] {
        let mut seed = 7;
        let opts = EncodeOptions {
            scheme: Some(Scheme::BitPacked),
            ..EncodeOptions::default()
        };
        let blocks: Vec<Vec<u8>> = (0..BLOCKS)
            .map(|_| {
                let v: Vec<u64> = (0..BLOCK)
                    .map(|_| lcg(&mut seed) & ((1u64 << w) - 1))
                    .collect();
                encode_u64(&v, &opts).unwrap().bytes
            })
            .collect();
        g.bench_function(format!("w{w}"), |b| {
            b.iter(|| {
                for blk in &blocks {
                    black_box(decode_u64(black_box(blk)).unwrap());
                }
            })
        });
        // Into one reused buffer, as a reader's output batch is filled: no allocation.
        let mut out = Vec::with_capacity(BLOCK);
        g.bench_function(format!("w{w}_into"), |b| {
            b.iter(|| {
                for blk in &blocks {
                    out.clear();
                    decode_u64_into(black_box(blk), Limits::default(), &mut out).unwrap();
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

/// Dictionary lookups: 40 distinct large values a block, codes bit-packed.
fn bench_dict(c: &mut Criterion) {
    let mut g = c.benchmark_group("dict");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    let mut seed = 13;
    let distinct: Vec<i64> = (0..40).map(|_| lcg(&mut seed) as i64).collect();
    let values: Vec<i64> = (0..BLOCK * BLOCKS)
        .map(|_| distinct[(lcg(&mut seed) % 40) as usize])
        .collect();
    let opts = EncodeOptions {
        scheme: Some(Scheme::Dictionary),
        ..EncodeOptions::default()
    };
    let blocks: Vec<Vec<u8>> = values
        .chunks(BLOCK)
        .map(|c| encode_i64(c, &opts).unwrap().bytes)
        .collect();
    g.bench_function("decode", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(decode_i64(black_box(blk)).unwrap());
            }
        })
    });
    g.finish();
}

fn bench_delta(c: &mut Criterion) {
    let mut g = c.benchmark_group("delta");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    let mut seed = 11;
    let mut t = 1_700_000_000_000_000i64;
    let ts: Vec<i64> = (0..BLOCK * BLOCKS)
        .map(|_| {
            t += (lcg(&mut seed) % 2000) as i64;
            t
        })
        .collect();
    for (name, scheme) in [("delta", Scheme::Delta), ("delta2", Scheme::DeltaOfDelta)] {
        let opts = EncodeOptions {
            scheme: Some(scheme),
            profile: Profile::TimeSeries,
            ..EncodeOptions::default()
        };
        let blocks: Vec<Vec<u8>> = ts
            .chunks(BLOCK)
            .map(|c| encode_i64(c, &opts).unwrap().bytes)
            .collect();
        g.bench_function(name, |b| {
            b.iter(|| {
                for blk in &blocks {
                    black_box(decode_i64(black_box(blk)).unwrap());
                }
            })
        });
    }
    g.finish();
}

fn bench_alp(c: &mut Criterion) {
    let mut g = c.benchmark_group("alp");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    let mut seed = 3;
    let v: Vec<f64> = (0..BLOCK * BLOCKS)
        .map(|_| (lcg(&mut seed) % 100_000) as f64 / 100.0)
        .collect();
    let opts = EncodeOptions {
        scheme: Some(Scheme::Alp),
        ..EncodeOptions::default()
    };
    let blocks: Vec<Vec<u8>> = v
        .chunks(BLOCK)
        .map(|c| encode_f64(c, &opts).unwrap().bytes)
        .collect();
    g.bench_function("decode", |b| {
        b.iter(|| {
            for blk in &blocks {
                black_box(decode_f64(black_box(blk)).unwrap());
            }
        })
    });
    g.throughput(Throughput::Bytes((BLOCK * 8) as u64));
    g.bench_function("encode_sampled", |b| {
        b.iter(|| black_box(encode_f64(black_box(&v[..BLOCK]), &EncodeOptions::default()).unwrap()))
    });
    g.finish();
}

/// Values per block in [`bench_alp_rd`]: the format's default block.
const FORMAT_BLOCK: usize = 4096;

/// The values of `float-series/<name>.csv.gz` under `$STRATA_DATA_DIR` (else `../shared/data`
/// next to the workspace root), lines holding `""` left out as the codec suite leaves them;
/// `None`, with a notice, when the file is absent.
fn float_series(name: &str) -> Option<Vec<f64>> {
    let dir = std::env::var_os("STRATA_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join("float-series").join(format!("{name}.csv.gz"));
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("alprd: {} absent, its case skipped", path.display());
        return None;
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty() && l.trim() != "\"\"")
            .map(|l| l.trim().parse().unwrap())
            .collect(),
    )
}

/// ALP-RD decoding on 4096-value blocks encoded as the codec suite encodes the float series
/// (profile TimeSeries, scheme sampled): random latitudes in radians with every mantissa bit
/// set, as POI-lat's are (no short decimal, so the sampler picks ALP-RD), and POI-lat and
/// POI-lon themselves where the shared data is present. Each block both into a fresh `Vec` (as
/// the suite decodes) and into one reused buffer.
fn bench_alp_rd(c: &mut Criterion) {
    let mut g = c.benchmark_group("alprd");
    let mut seed = 17;
    let synthetic: Vec<f64> = (0..FORMAT_BLOCK * 16)
        .map(|_| (lcg(&mut seed) as f64 / (1u64 << 53) as f64 - 0.5) * 2.8)
        .collect();
    let mut inputs = vec![("latitudes", synthetic)];
    for name in ["POI-lat", "POI-lon"] {
        inputs.extend(float_series(name).map(|v| (name, v)));
    }
    let opts = EncodeOptions {
        profile: Profile::TimeSeries,
        ..EncodeOptions::default()
    };
    for (name, values) in &inputs {
        let encoded: Vec<_> = values
            .chunks(FORMAT_BLOCK)
            .map(|c| encode_f64(c, &opts).unwrap())
            .collect();
        let rd = encoded
            .iter()
            .filter(|e| e.cascade.scheme == Scheme::AlpRd)
            .count();
        // A bench of ALP-RD decoding must decode ALP-RD.
        assert!(
            rd * 10 >= encoded.len() * 9,
            "{name}: {rd} of {} blocks ALP-RD, first {}",
            encoded.len(),
            encoded[0].cascade
        );
        eprintln!(
            "alprd/{name}: {rd} of {} blocks ALP-RD, first {}",
            encoded.len(),
            encoded[0].cascade
        );
        let blocks: Vec<Vec<u8>> = encoded.into_iter().map(|e| e.bytes).collect();
        g.throughput(Throughput::Bytes((values.len() * 8) as u64));
        g.bench_function(format!("{name}_decode"), |b| {
            b.iter(|| {
                for blk in &blocks {
                    black_box(decode_f64(black_box(blk)).unwrap());
                }
            })
        });
        let mut out = Vec::with_capacity(FORMAT_BLOCK);
        g.bench_function(format!("{name}_decode_into"), |b| {
            b.iter(|| {
                for blk in &blocks {
                    out.clear();
                    decode_f64_into(black_box(blk), Limits::default(), &mut out).unwrap();
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

/// The rANS leaf on skewed integers, beside bit-unpacking the same values: a small alphabet
/// (every bin one value, no offset bits), a wide one (bins with offset bits), and the deltas
/// of a sensor's timestamps (bins from zero to some 30 bits wide: jitter around the period,
/// occasional gaps, rare outages).
fn bench_ans(c: &mut Criterion) {
    let mut g = c.benchmark_group("ans");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    let mut seed = 5;
    let small: Vec<u64> = (0..BLOCK * BLOCKS)
        .map(|_| u64::from((lcg(&mut seed) | 1 << 40).trailing_zeros().min(7)) * 3)
        .collect();
    let wide: Vec<u64> = (0..BLOCK * BLOCKS)
        .map(|_| {
            let r = lcg(&mut seed) % 1000;
            r * r / 50 + 5000
        })
        .collect();
    let deltas: Vec<u64> = (0..BLOCK * BLOCKS)
        .map(|_| {
            let r = lcg(&mut seed);
            let jitter = (r & 63) + (r >> 6 & 63);
            match r >> 20 & 1023 {
                0..=4 => 1000 + (r >> 30) % (1 << 30),
                5..=60 => 1000 + (r >> 30) % 100_000,
                _ => 1000 + jitter,
            }
        })
        .collect();
    for (name, v) in [("small", &small), ("wide", &wide), ("deltas", &deltas)] {
        for (scheme, label) in [(Scheme::Ans, "ans"), (Scheme::BitPacked, "bitpacked")] {
            let opts = EncodeOptions {
                scheme: Some(scheme),
                entropy: true,
                ..EncodeOptions::default()
            };
            let blocks: Vec<Vec<u8>> = v
                .chunks(BLOCK)
                .map(|c| encode_u64(c, &opts).unwrap().bytes)
                .collect();
            g.bench_function(format!("{name}_{label}"), |b| {
                b.iter(|| {
                    for blk in &blocks {
                        black_box(decode_u64(black_box(blk)).unwrap());
                    }
                })
            });
        }
    }
    g.finish();
}

/// Encoding with `entropy` on, where the sampler plans `ans` nodes and the encoder codes them,
/// beside entropy off: 4096 values a call, as the format's default block. Delta-coded sensor
/// readings (a slowly drifting level), a small skewed alphabet, and wide skewed values with
/// the scheme forced to `ans` (planning and coding alone).
fn bench_ans_encode(c: &mut Criterion) {
    const N: usize = 4096;
    const CALLS: usize = 16;
    let mut g = c.benchmark_group("ans_encode");
    g.throughput(Throughput::Bytes((N * CALLS * 8) as u64));
    let mut seed = 11;
    let mut level = 20_000i64;
    let sensor: Vec<i64> = (0..N * CALLS)
        .map(|_| {
            let r = lcg(&mut seed);
            level += (r % 9) as i64 - 4
                + if r.is_multiple_of(61) {
                    (r % 401) as i64 - 200
                } else {
                    0
                };
            level
        })
        .collect();
    let small: Vec<u64> = (0..N * CALLS)
        .map(|_| u64::from((lcg(&mut seed) | 1 << 40).trailing_zeros().min(11)) * 3)
        .collect();
    let wide: Vec<u64> = (0..N * CALLS)
        .map(|_| {
            let r = lcg(&mut seed) % 1000;
            r * r / 50 + 5000
        })
        .collect();
    for entropy in [true, false] {
        let on = if entropy { "on" } else { "off" };
        let opts = EncodeOptions {
            entropy,
            ..EncodeOptions::default()
        };
        g.bench_function(format!("sensor_{on}"), |b| {
            b.iter(|| {
                for v in sensor.chunks(N) {
                    black_box(encode_i64(black_box(v), &opts).unwrap());
                }
            })
        });
        g.bench_function(format!("small_{on}"), |b| {
            b.iter(|| {
                for v in small.chunks(N) {
                    black_box(encode_u64(black_box(v), &opts).unwrap());
                }
            })
        });
    }
    let forced = EncodeOptions {
        scheme: Some(Scheme::Ans),
        entropy: true,
        ..EncodeOptions::default()
    };
    g.bench_function("wide_ans", |b| {
        b.iter(|| {
            for v in wide.chunks(N) {
                black_box(encode_u64(black_box(v), &forced).unwrap());
            }
        })
    });
    g.finish();
}

/// The `packedlz4` leaf on hours of the day (a period of 24), beside bit-unpacking the same
/// values: the decode price of what it saves.
fn bench_packed_lz4(c: &mut Criterion) {
    let mut g = c.benchmark_group("packedlz4");
    g.throughput(Throughput::Bytes((BLOCK * BLOCKS * 8) as u64));
    let hours: Vec<u64> = (0..(BLOCK * BLOCKS) as u64).map(|i| i % 24).collect();
    for (scheme, label) in [
        (Scheme::PackedLz4, "packedlz4"),
        (Scheme::BitPacked, "bitpacked"),
    ] {
        let opts = EncodeOptions {
            scheme: Some(scheme),
            ..EncodeOptions::default()
        };
        let blocks: Vec<Vec<u8>> = hours
            .chunks(BLOCK)
            .map(|c| encode_u64(c, &opts).unwrap().bytes)
            .collect();
        g.bench_function(format!("hours_{label}"), |b| {
            b.iter(|| {
                for blk in &blocks {
                    black_box(decode_u64(black_box(blk)).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_bitunpack,
    bench_delta,
    bench_dict,
    bench_alp,
    bench_alp_rd,
    bench_ans,
    bench_ans_encode,
    bench_packed_lz4
);
criterion_main!(benches);
