//! Changing any single byte of a valid buffer, in several ways, never makes a decoder panic:
//! the result is an error or some values (a flipped data bit is still a valid buffer). A count
//! changed anywhere is caught as a structural error rather than read past.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::common::{KINDS, SMALL_LIMITS, decode_as, valid_buffers};

#[test]
fn every_single_byte_change_of_valid_buffers_never_panics() {
    let samples = valid_buffers();
    let (mut ok, mut err) = (0usize, 0usize);
    for s in &samples {
        let mut buf = s.bytes.clone();
        for i in 0..buf.len() {
            let original = buf[i];
            for mask in [0x01, 0x80, 0xFF, 0x7F] {
                buf[i] = original ^ mask;
                let result =
                    catch_unwind(AssertUnwindSafe(|| decode_as(s.kind, &buf, SMALL_LIMITS)));
                match result {
                    Ok(Ok(_)) => ok += 1,
                    Ok(Err(_)) => err += 1,
                    Err(_) => panic!("{}: decoder panicked with byte {i} xor {mask:#04x}", s.name),
                }
            }
            buf[i] = original;
        }
        assert_eq!(buf, s.bytes);
    }
    // Both outcomes occur: data bytes decode to other values, structure bytes are rejected.
    assert!(ok > 0 && err > 0, "{ok} accepted, {err} rejected");
}

#[test]
fn single_byte_change_of_short_buffers_under_every_kind_never_panics() {
    for s in valid_buffers().iter().filter(|s| s.bytes.len() <= 256) {
        let mut buf = s.bytes.clone();
        for i in 0..buf.len() {
            let original = buf[i];
            for b in [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF] {
                buf[i] = b;
                for kind in KINDS {
                    let _ = decode_as(kind, &buf, SMALL_LIMITS);
                }
            }
            buf[i] = original;
        }
    }
}
