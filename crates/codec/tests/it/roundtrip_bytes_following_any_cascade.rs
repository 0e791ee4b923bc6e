//! Encoding strings along the cascade of another block (`encode_bytes_following`) round-trips
//! exactly whatever that cascade is, from any shape, length and options; following an FSST
//! cascade reuses its symbol table (the same table, no training) and still decodes exactly,
//! even for bytes the table never saw.

use crate::common::{BYTES_SCHEMES, BYTES_SHAPES, EDGE_LENGTHS, all_options, byte_values, strings};
use strata_codec::{EncodeOptions, Scheme, decode_bytes, encode_bytes, encode_bytes_following};

fn follow_round_trips(hint_from: &[Vec<u8>], values: &[Vec<u8>], opts: &EncodeOptions) {
    let hint = encode_bytes(hint_from, opts).unwrap().cascade;
    let enc = encode_bytes_following(values, opts, &hint).unwrap();
    assert_eq!(
        decode_bytes(&enc.bytes).unwrap(),
        byte_values(values),
        "{} values along {hint}",
        values.len()
    );
}

#[test]
fn every_shape_follows_every_other_shapes_cascade() {
    let options = all_options(&BYTES_SCHEMES);
    for (i, &from) in BYTES_SHAPES.iter().enumerate() {
        for &to in &BYTES_SHAPES {
            for len in [1usize, 2, 1024] {
                let a = strings(from, EDGE_LENGTHS[i % EDGE_LENGTHS.len()].max(1), 7);
                let b = strings(to, len, 11);
                for opts in options.iter().step_by(3) {
                    follow_round_trips(&a, &b, opts);
                }
            }
        }
    }
}

#[test]
fn following_an_fsst_cascade_reuses_its_table() {
    let opts = EncodeOptions::default();
    // Short names built from a few syllables, as city names are: FSST's case (no long repeats
    // for LZ4, too many distinct values for a dictionary).
    let names = |seed: u64| -> Vec<Vec<u8>> {
        let syllables = [
            "ber", "lin", "ton", "ville", "san", "ta", "mar", "wood", "field", "ch",
        ];
        let mut rng = crate::common::Rng::new(seed);
        (0..1024)
            .map(|_| {
                let k = 2 + rng.below(3);
                (0..k)
                    .map(|_| syllables[rng.below(syllables.len() as u64) as usize])
                    .collect::<String>()
                    .into_bytes()
            })
            .collect()
    };
    let first = encode_bytes(&names(1), &opts).unwrap();
    assert_eq!(first.cascade.scheme, Scheme::Fsst, "{}", first.cascade);
    let next = names(2);
    let followed = encode_bytes_following(&next, &opts, &first.cascade).unwrap();
    assert_eq!(followed.cascade.scheme, Scheme::Fsst);
    // The same table: the symbol count the detail names, and the table bytes after the header.
    assert_eq!(followed.cascade.detail, first.cascade.detail);
    assert_eq!(decode_bytes(&followed.bytes).unwrap(), byte_values(&next));
    let searched = encode_bytes(&next, &opts).unwrap();
    eprintln!(
        "names along the previous block's table: {} bytes, searched: {}",
        followed.bytes.len(),
        searched.bytes.len()
    );
    // Bytes the table never saw are escaped, not lost.
    let binary = strings(crate::common::BytesShape::Binary, 500, 3);
    let enc = encode_bytes_following(&binary, &opts, &first.cascade).unwrap();
    assert_eq!(decode_bytes(&enc.bytes).unwrap(), byte_values(&binary));
    // Following its own cascade gives the same bytes.
    let again = encode_bytes_following(&names(1), &opts, &first.cascade).unwrap();
    assert_eq!(again.bytes, first.bytes);
}
