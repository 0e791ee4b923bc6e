//! Arbitrary bytes, valid headers over arbitrary bodies, and valid buffers with random edits
//! go through every decoder (with small limits) without a panic: the result is a value or a
//! `CodecError`.

use std::sync::LazyLock;

use crate::common::{KINDS, SMALL_LIMITS, Sample, decode_as, decode_every_way, valid_buffers};
use proptest::prelude::*;
use strata_codec::CODEC_VERSION;

static VALID: LazyLock<Vec<Sample>> = LazyLock::new(valid_buffers);

/// Every node tag the codec writes (integer, float and string nodes) plus a few unknown ones.
const TAGS: [u8; 21] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x21, 0x22, 0x23, 0x24,
    0x40, 0x41, 0x42, 0x43, 0xFF,
];

/// A varint count below 128, or a few bytes that may form a longer (or overlong) one.
fn count_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..0x80).prop_map(|b| vec![b]),
        prop::collection::vec(any::<u8>(), 1..6),
    ]
}

/// Bodies that look like nodes: a tag, a count, then random bytes with more tags sprinkled in.
fn node_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&TAGS[..]),
        count_bytes(),
        prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(&TAGS[..])],
            0..300,
        ),
    )
        .prop_map(|(tag, count, rest)| {
            let mut v = vec![tag];
            v.extend(count);
            v.extend(rest);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..400)) {
        decode_every_way(&buf);
    }

    #[test]
    fn decoders_valid_header_random_nodes_never_panic(kind in 0u8..=6, body in node_like()) {
        let mut buf = vec![CODEC_VERSION, kind];
        buf.extend(body);
        decode_every_way(&buf);
    }

    #[test]
    fn decoders_randomly_edited_valid_buffers_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let sample = &VALID[pick.index(VALID.len())];
        let mut buf = sample.bytes.clone();
        for (at, byte) in &edits {
            let i = at.index(buf.len());
            buf[i] = *byte;
        }
        if let Some(cut) = cut {
            buf.truncate(cut.index(buf.len()));
        }
        for kind in KINDS {
            let _ = decode_as(kind, &buf, SMALL_LIMITS);
        }
    }
}

#[test]
fn valid_buffers_decode_only_as_their_own_kind() {
    for s in VALID.iter() {
        for kind in KINDS {
            let ok = decode_as(kind, &s.bytes, SMALL_LIMITS).is_ok();
            assert_eq!(ok, kind == s.kind, "{} decoded as {kind:?}", s.name);
        }
    }
}
