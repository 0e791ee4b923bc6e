//! The `packedlz4` leaf (sequential bit-packing behind LZ4): the sampler chooses it for value
//! sequences that repeat with a period (hours of the day, a station cycling through its
//! sensors) and not for values without repetition; it round-trips every width and length
//! against the input; and every field its decoder reads is checked (width above 64, a
//! compressed length past the buffer, a payload that decompresses to the wrong length, an
//! impossible expansion), returning a typed error, never a panic.

use strata_codec::{Cascade, EncodeOptions, Scheme, decode_u64, encode_u64};

use crate::common::{Rng, expect_err};

/// Hours of the day for 1024 hourly rows, with a few hours missing as in real logs.
fn hours() -> Vec<u64> {
    (0..1100u64)
        .filter(|i| i % 173 != 5)
        .map(|i| i % 24)
        .take(1024)
        .collect()
}

fn forced(values: &[u64]) -> Vec<u8> {
    let opts = EncodeOptions {
        scheme: Some(Scheme::PackedLz4),
        ..EncodeOptions::default()
    };
    let enc = encode_u64(values, &opts).unwrap();
    assert_eq!(enc.cascade.scheme, Scheme::PackedLz4);
    assert_eq!(decode_u64(&enc.bytes).unwrap(), values);
    enc.bytes
}

fn uses(c: &Cascade) -> bool {
    c.scheme == Scheme::PackedLz4 || c.children.iter().any(uses)
}

#[test]
fn periodic_sequences_choose_packed_lz4_and_shrink() {
    let stations: Vec<u64> = (0..1024u64).map(|i| 7 + i % 12).collect();
    for (what, values) in [("hours", hours()), ("stations", stations)] {
        let enc = encode_u64(&values, &EncodeOptions::default()).unwrap();
        // Directly, or on the deltas (a periodic sequence has periodic deltas).
        assert!(uses(&enc.cascade), "{what}: {}", enc.cascade);
        assert_eq!(decode_u64(&enc.bytes).unwrap(), values, "{what}");
        let packed = encode_u64(
            &values,
            &EncodeOptions {
                scheme: Some(Scheme::BitPacked),
                ..EncodeOptions::default()
            },
        )
        .unwrap();
        assert!(
            enc.bytes.len() * 4 < packed.bytes.len(),
            "{what}: {} bytes against bit-packing's {}",
            enc.bytes.len(),
            packed.bytes.len()
        );
    }
}

#[test]
fn values_without_repetition_do_not_choose_packed_lz4() {
    let mut rng = Rng::new(5);
    let values: Vec<u64> = (0..1024).map(|_| rng.below(1 << 13)).collect();
    let enc = encode_u64(&values, &EncodeOptions::default()).unwrap();
    assert!(!uses(&enc.cascade), "{}", enc.cascade);
}

#[test]
fn forced_packed_lz4_round_trips_every_width_and_length() {
    let mut rng = Rng::new(11);
    for w in 1..=64u32 {
        for n in [1usize, 7, 63, 64, 65, 1000, 1024, 2500] {
            let top = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            let values: Vec<u64> = (0..n)
                .map(|i| {
                    // Half periodic, half random, so LZ4 both matches and copies literals.
                    let v = if i % 2 == 0 {
                        (i as u64 % 5) << (w - 1)
                    } else {
                        rng.next_u64()
                    };
                    9 + (v & top) / 2
                })
                .collect();
            forced(&values);
        }
    }
}

/// Offsets of the fields of a buffer holding one `packedlz4` node at the top.
struct Layout {
    width: usize,
    len: usize,
    payload: usize,
}

fn layout(buf: &[u8]) -> Layout {
    assert_eq!(buf[2], 0x0c, "top node is not packedlz4");
    let mut at = 3;
    while buf[at] & 0x80 != 0 {
        at += 1; // count varint
    }
    let width = at + 1 + 8;
    let len = width + 1;
    let mut payload = len;
    while buf[payload] & 0x80 != 0 {
        payload += 1;
    }
    Layout {
        width,
        len,
        payload: payload + 1,
    }
}

#[test]
fn corrupt_fields_return_typed_errors() {
    let good = forced(&hours());
    let at = layout(&good);

    let mut b = good.clone();
    b[at.width] = 65;
    expect_err(&b, "width 65");

    // A width one larger needs more bytes than the payload decompresses to.
    let mut b = good.clone();
    b[at.width] += 1;
    expect_err(&b, "width one larger");
    let mut b = good.clone();
    b[at.width] -= 1;
    expect_err(&b, "width one smaller");

    // The compressed length runs past the end of the buffer.
    let mut b = good.clone();
    b[at.len] = 0x7f;
    b.truncate(at.payload + 10);
    expect_err(&b, "length past the end");

    // A payload too short to expand to the packed bytes.
    let mut b = good[..at.len].to_vec();
    b.extend_from_slice(&[2, 0x10, 0x00]);
    expect_err(&b, "impossible expansion");

    // Garbage in place of the LZ4 payload.
    let mut b = good.clone();
    for x in &mut b[at.payload..] {
        *x = 0xff;
    }
    expect_err(&b, "garbage payload");

    // Every truncation.
    for cut in 0..good.len() {
        assert!(decode_u64(&good[..cut]).is_err(), "cut at {cut}");
    }
}

/// Timestamps 57.6 s apart (whole seconds, in ms): their deltas alternate 57,000 and 58,000
/// with period 5. At every length the sampler must find the period (a `delta(packedlz4)` of
/// tens of bytes), not judge the patched scheme by a stride that sees one phase of the cycle
/// (it once chose `delta(patched)` at 1,290 B for 1,500 values, where the stride was 5).
#[test]
fn periodic_deltas_are_found_at_every_length() {
    let ts: Vec<i64> = (0..4096u64)
        .map(|i| (i * 2 * 86_400 / 3000 * 1000) as i64 + 1_772_323_200_000)
        .collect();
    for n in (1024..=4096).step_by(96) {
        let enc = strata_codec::encode_i64(&ts[..n], &EncodeOptions::default()).unwrap();
        assert_eq!(strata_codec::decode_i64(&enc.bytes).unwrap(), &ts[..n]);
        assert!(
            enc.bytes.len() < 128,
            "{n} values: {} B as {}",
            enc.bytes.len(),
            enc.cascade
        );
    }
}
