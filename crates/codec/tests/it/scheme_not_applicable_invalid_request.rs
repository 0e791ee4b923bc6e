//! Forcing a scheme that cannot apply to a value kind (ALP for integers, Gorilla for strings,
//! FSST for floats …) is an `InvalidRequest`, whatever the values; every applicable scheme is
//! accepted, even on empty input.

use strata_codec::{
    CodecError, EncodeOptions, Encoded, Result, Scheme, encode_bool, encode_bytes, encode_f64,
    encode_i64, encode_u64,
};

type Encoder = fn(usize, &EncodeOptions) -> Result<Encoded>;

fn kinds() -> [(&'static str, Encoder, &'static [Scheme]); 5] {
    const INT: &[Scheme] = &[
        Scheme::Constant,
        Scheme::Plain,
        Scheme::BitPacked,
        Scheme::Patched,
        Scheme::Delta,
        Scheme::DeltaOfDelta,
        Scheme::Rle,
        Scheme::Dictionary,
        Scheme::Lz4,
        Scheme::Ans,
        Scheme::PackedLz4,
        Scheme::Parts,
    ];
    const FLOAT: &[Scheme] = &[
        Scheme::Constant,
        Scheme::Plain,
        Scheme::BitPacked,
        Scheme::Patched,
        Scheme::Delta,
        Scheme::DeltaOfDelta,
        Scheme::Rle,
        Scheme::Dictionary,
        Scheme::Lz4,
        Scheme::Alp,
        Scheme::AlpRd,
        Scheme::Gorilla,
        Scheme::Ans,
        Scheme::PackedLz4,
        Scheme::Parts,
    ];
    const BYTES: &[Scheme] = &[Scheme::Plain, Scheme::Dictionary, Scheme::Fsst, Scheme::Lz4];
    [
        (
            "i64",
            |n, o| encode_i64(&(0..n as i64).collect::<Vec<_>>(), o),
            INT,
        ),
        (
            "u64",
            |n, o| encode_u64(&(0..n as u64).collect::<Vec<_>>(), o),
            INT,
        ),
        ("bool", |n, o| encode_bool(&vec![true; n], o), INT),
        (
            "f64",
            |n, o| encode_f64(&(0..n).map(|i| i as f64 / 4.0).collect::<Vec<_>>(), o),
            FLOAT,
        ),
        ("bytes", |n, o| encode_bytes(&vec!["strata"; n], o), BYTES),
    ]
}

#[test]
fn forced_scheme_for_wrong_kind_returns_invalid_request() {
    let mut refused = 0;
    for (kind, encode, applicable) in kinds() {
        for scheme in Scheme::ALL {
            if applicable.contains(&scheme) {
                continue;
            }
            for n in [0, 1, 100] {
                let opts = EncodeOptions {
                    scheme: Some(scheme),
                    ..EncodeOptions::default()
                };
                match encode(n, &opts) {
                    Err(CodecError::InvalidRequest(msg)) => {
                        assert!(
                            msg.contains(scheme.name()),
                            "{kind}/{scheme}: message {msg:?} does not name the scheme"
                        );
                        refused += 1;
                    }
                    other => panic!(
                        "{kind} forced to {scheme} on {n} values: expected InvalidRequest, got {other:?}"
                    ),
                }
            }
        }
    }
    // Integers refuse alp, alprd, gorilla, fsst; floats refuse fsst; bytes refuse twelve
    // schemes.
    assert_eq!(refused, 3 * (3 * 4 + 1 + 12));
}

#[test]
fn forced_applicable_scheme_is_accepted_even_when_empty() {
    for (kind, encode, applicable) in kinds() {
        for &scheme in applicable {
            for n in [0, 1, 2, 3, 100] {
                let opts = EncodeOptions {
                    scheme: Some(scheme),
                    ..EncodeOptions::default()
                };
                if let Err(e) = encode(n, &opts) {
                    panic!("{kind} forced to {scheme} on {n} values failed: {e}");
                }
            }
        }
    }
}

#[test]
fn scheme_names_parse_back() {
    for s in Scheme::ALL {
        assert_eq!(Scheme::from_name(s.name()), Some(s));
        assert_eq!(s.to_string(), s.name());
    }
    assert_eq!(Scheme::from_name("zstd"), None);
}
