//! Every proper prefix of a valid buffer, for every node type the codec writes, is an error
//! (never a panic, never a shorter value list).

use crate::common::{SMALL_LIMITS, decode_as, valid_buffers};
use strata_codec::value_count;

#[test]
fn every_truncation_of_valid_buffers_returns_err() {
    let samples = valid_buffers();
    let mut checked = 0usize;
    for s in &samples {
        let full =
            decode_as(s.kind, &s.bytes, SMALL_LIMITS).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(Ok(full), value_count(&s.bytes), "{}", s.name);
        for len in 0..s.bytes.len() {
            let prefix = &s.bytes[..len];
            if let Ok(n) = decode_as(s.kind, prefix, SMALL_LIMITS) {
                panic!(
                    "{}: prefix of {len}/{} bytes decoded to {n} values",
                    s.name,
                    s.bytes.len()
                );
            }
            checked += 1;
        }
    }
    assert!(
        samples.len() >= 30 && checked > 10_000,
        "{} buffers, {checked} prefixes",
        samples.len()
    );
}

#[test]
fn value_count_of_short_header_returns_err() {
    for len in 0..3 {
        assert!(value_count(&[1, 1, 2][..len]).is_err());
    }
}
