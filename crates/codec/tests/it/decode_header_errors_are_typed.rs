//! Header and count problems come back as the specific `CodecError` variant: wrong kind →
//! `KindMismatch`, wrong version → `UnsupportedVersion`, trailing bytes → `Corrupt`, counts above
//! the limits → `TooManyValues`, non-0/1 booleans → `Corrupt`.

use crate::common::{KINDS, Kind, decode_as, valid_buffers};
use strata_codec::{
    CODEC_VERSION, CodecError, EncodeOptions, Limits, Scheme, decode_bool, decode_bytes_with,
    decode_f64_with, decode_i64_with, decode_u64, decode_u64_with, encode_bytes, encode_f64,
    encode_i64, encode_u64,
};

const BIG: Limits = Limits {
    max_values: 1 << 20,
};

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::I64 => "i64",
        Kind::U64 => "u64",
        Kind::F64 => "f64",
        Kind::Bool => "bool",
        Kind::Bytes => "bytes",
    }
}

#[test]
fn decode_as_wrong_kind_returns_kind_mismatch() {
    for s in valid_buffers() {
        for kind in KINDS.into_iter().filter(|&k| k != s.kind) {
            let err = decode_as(kind, &s.bytes, BIG).unwrap_err();
            assert_eq!(
                err,
                CodecError::KindMismatch {
                    expected: kind_name(kind),
                    found: kind_name(s.kind)
                },
                "{} decoded as {kind:?}",
                s.name
            );
        }
    }
}

#[test]
fn decode_unknown_kind_byte_returns_kind_mismatch_unknown() {
    let mut buf = encode_u64(&[1, 2, 3], &EncodeOptions::default())
        .unwrap()
        .bytes;
    for kind_byte in [0u8, 6, 0x80, 0xFF] {
        buf[1] = kind_byte;
        for kind in KINDS {
            assert_eq!(
                decode_as(kind, &buf, BIG).unwrap_err(),
                CodecError::KindMismatch {
                    expected: kind_name(kind),
                    found: "unknown"
                }
            );
        }
    }
}

#[test]
fn decode_wrong_version_returns_unsupported_version() {
    for s in valid_buffers() {
        let mut buf = s.bytes.clone();
        assert_eq!(buf[0], CODEC_VERSION);
        for version in [0u8, CODEC_VERSION + 1, 0xFF] {
            buf[0] = version;
            for kind in KINDS {
                assert_eq!(
                    decode_as(kind, &buf, BIG).unwrap_err(),
                    CodecError::UnsupportedVersion {
                        found: version,
                        supported: CODEC_VERSION
                    },
                    "{}",
                    s.name
                );
            }
        }
    }
}

#[test]
fn decode_empty_buffer_returns_truncated() {
    for kind in KINDS {
        assert!(
            matches!(decode_as(kind, &[], BIG), Err(CodecError::Truncated { .. })),
            "{kind:?}"
        );
        assert!(
            matches!(
                decode_as(kind, &[CODEC_VERSION], BIG),
                Err(CodecError::Truncated { .. })
            ),
            "{kind:?}"
        );
    }
}

#[test]
fn decode_with_trailing_bytes_returns_corrupt() {
    for s in valid_buffers() {
        for extra in [&[0u8][..], &[0xFF], &[1, 2, 3, 4, 5, 6, 7, 8]] {
            let mut buf = s.bytes.clone();
            buf.extend_from_slice(extra);
            let err = decode_as(s.kind, &buf, BIG).unwrap_err();
            assert!(
                matches!(err, CodecError::Corrupt { .. }),
                "{} + {extra:?}: {err}",
                s.name
            );
        }
    }
}

#[test]
fn decode_count_above_limit_returns_too_many_values() {
    let n = 100usize;
    let opts = EncodeOptions::default();
    let cases: Vec<(Kind, Vec<u8>)> = vec![
        (
            Kind::I64,
            encode_i64(&(0..n as i64).collect::<Vec<_>>(), &opts)
                .unwrap()
                .bytes,
        ),
        (Kind::U64, encode_u64(&vec![5; n], &opts).unwrap().bytes),
        (
            Kind::F64,
            encode_f64(&(0..n).map(|i| i as f64 / 10.0).collect::<Vec<_>>(), &opts)
                .unwrap()
                .bytes,
        ),
        (
            Kind::Bytes,
            encode_bytes(&vec!["abc"; n], &opts).unwrap().bytes,
        ),
    ];
    for (kind, buf) in &cases {
        assert_eq!(
            decode_as(*kind, buf, Limits { max_values: n }),
            Ok(n),
            "{kind:?} at the limit"
        );
        assert_eq!(
            decode_as(*kind, buf, Limits { max_values: n - 1 }),
            Err(CodecError::TooManyValues {
                count: n as u64,
                limit: n - 1
            }),
            "{kind:?} above the limit"
        );
    }
    // Forced schemes put the count in other node types too.
    for s in [
        Scheme::Rle,
        Scheme::Dictionary,
        Scheme::Lz4,
        Scheme::Delta,
        Scheme::Gorilla,
        Scheme::Alp,
    ] {
        let values: Vec<f64> = (0..n).map(|i| (i / 10) as f64).collect();
        let buf = encode_f64(
            &values,
            &EncodeOptions {
                scheme: Some(s),
                ..opts
            },
        )
        .unwrap()
        .bytes;
        assert_eq!(
            decode_f64_with(&buf, Limits { max_values: n }).map(|v| v.len()),
            Ok(n),
            "{s}"
        );
        assert!(
            matches!(
                decode_f64_with(&buf, Limits { max_values: n - 1 }),
                Err(CodecError::TooManyValues { .. })
            ),
            "{s}"
        );
    }
    for s in [Scheme::Dictionary, Scheme::Fsst, Scheme::Lz4] {
        let buf = encode_bytes(
            &vec!["https://example.com/a"; n],
            &EncodeOptions {
                scheme: Some(s),
                ..opts
            },
        )
        .unwrap()
        .bytes;
        assert!(
            matches!(
                decode_bytes_with(&buf, Limits { max_values: 10 }),
                Err(CodecError::TooManyValues { .. })
            ),
            "{s}"
        );
    }
}

#[test]
fn decode_nested_count_above_limit_returns_too_many_values() {
    // 10 runs of 100: the top count (1000) is over a limit of 500, the child counts are not.
    let values: Vec<i64> = (0..1000).map(|i| i / 100).collect();
    let buf = encode_i64(
        &values,
        &EncodeOptions {
            scheme: Some(Scheme::Rle),
            ..EncodeOptions::default()
        },
    )
    .unwrap()
    .bytes;
    assert_eq!(
        decode_i64_with(&buf, Limits { max_values: 1000 }).unwrap(),
        values
    );
    assert_eq!(
        decode_i64_with(&buf, Limits { max_values: 500 }),
        Err(CodecError::TooManyValues {
            count: 1000,
            limit: 500
        })
    );
}

#[test]
fn decode_bool_from_non_binary_ints_returns_corrupt() {
    let mut buf = encode_u64(&[0, 1, 2, 1], &EncodeOptions::default())
        .unwrap()
        .bytes;
    assert_eq!(decode_u64(&buf).unwrap(), vec![0, 1, 2, 1]);
    buf[1] = 4; // the bool kind byte
    assert!(matches!(decode_bool(&buf), Err(CodecError::Corrupt { .. })));
    let mut ok = encode_u64(&[0, 1, 1, 0], &EncodeOptions::default())
        .unwrap()
        .bytes;
    ok[1] = 4;
    assert_eq!(decode_bool(&ok).unwrap(), vec![false, true, true, false]);
    assert!(decode_u64_with(&ok, BIG).is_err());
}

#[test]
fn errors_display_their_context() {
    let err = decode_as(
        Kind::F64,
        &encode_u64(&[1], &EncodeOptions::default()).unwrap().bytes,
        BIG,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value kind mismatch: buffer holds u64, caller asked for f64"
    );
    let err = decode_as(Kind::U64, &[9, 2], BIG).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("unsupported codec version 9 (this build reads version {CODEC_VERSION})")
    );
}
