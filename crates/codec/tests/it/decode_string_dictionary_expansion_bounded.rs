//! A string dictionary whose codes repeat a long entry can claim far more output than its few
//! bytes hold. Output beyond what one node can hold is refused before anything is allocated;
//! output within it decodes normally.

use strata_codec::{CODEC_VERSION, CodecError, decode_bytes};

fn varint(mut v: u32, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A bytes buffer: dictionary of `n` values over one plain entry of `len` bytes, every code 0.
fn repeated_entry(n: u32, len: u32) -> Vec<u8> {
    let mut b = vec![CODEC_VERSION, 5]; // bytes kind
    b.push(0x41); // string dictionary
    varint(n, &mut b);
    b.push(0x40); // entries: plain strings
    varint(1, &mut b);
    b.push(0x01); // entry lengths: constant integer node
    varint(1, &mut b);
    b.extend_from_slice(&u64::from(len).to_le_bytes());
    varint(len, &mut b);
    b.extend((0..len).map(|i| b'a' + (i % 26) as u8));
    b.push(0x01); // codes: constant integer node
    varint(n, &mut b);
    b.extend_from_slice(&0u64.to_le_bytes());
    b
}

#[test]
fn string_dictionary_expanding_past_node_size_returns_corrupt() {
    // 3 Mi values (within the default count limit) of a 2000-byte entry: 6 GB from 2 KB.
    let buf = repeated_entry(3 << 20, 2000);
    assert!(buf.len() < 2100);
    match decode_bytes(&buf) {
        Err(CodecError::Corrupt { encoding, .. }) => assert_eq!(encoding, "string dictionary"),
        other => panic!(
            "expected a corrupt string dictionary, got {:?}",
            other.map(|v| v.len())
        ),
    }
}

#[test]
fn string_dictionary_expanding_within_node_size_decodes() {
    let buf = repeated_entry(1000, 2000);
    let values = decode_bytes(&buf).unwrap();
    assert_eq!(values.len(), 1000);
    assert_eq!(values.data.len(), 2_000_000);
    let entry: Vec<u8> = (0..2000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert!(values.iter().all(|v| v == entry.as_slice()));
}
