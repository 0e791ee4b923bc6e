//! Writes the golden segment files of the format version this build writes under
//! `tests/golden/v<major>/` (`v<major>.<minor>/` for a minor above 0). Run once per format
//! version (v1's were written by a version-1 build, v2's by version 2, v3's by version 3,
//! v3.1's by 3.1, v3.2's by 3.2, v3.3's by 3.3, v3.4's by 3.4, v3.5's by 3.5, v3.6's by
//! 3.6, v3.7's by 3.7);
//! tests only ever read them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/common.rs"]
#[allow(dead_code, reason = "the example uses only part of the test helpers")]
mod common;

use std::path::PathBuf;

use strata_format::FileSystem;

use strata_format::{
    BlockOptions, CURRENT_VERSION, FormatVersion, LocalFs, SegmentFileWriter, write_durably,
    write_segment_bytes,
};

fn main() {
    let FormatVersion { major, minor } = CURRENT_VERSION;
    let name = if minor == 0 {
        format!("v{major}")
    } else {
        format!("v{major}.{minor}")
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}"));
    LocalFs.create_dir_all(&dir).unwrap();
    let (schema, batch) = common::all_types_batch(1500);
    let bytes = write_segment_bytes(schema, &[batch], BlockOptions::default()).unwrap();
    write_durably(&LocalFs, &dir, "all_types.seg", &bytes).unwrap();

    let (schema, batch) = common::small_batch();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, common::small_options()).unwrap();
    w.write_batch(&batch).unwrap();
    w.set_metadata("written-by", format!("golden {name}"));
    let (bytes, _) = w.finish().unwrap();
    write_durably(&LocalFs, &dir, "small.seg", &bytes).unwrap();

    // From 3.1: a block whose integer and float digits use bit-packing per miniblock.
    if (major, minor) >= (3, 1) {
        let (schema, batch, options) = common::drifting_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "drifting.seg", &bytes).unwrap();
    }
    // From 3.2: a block of each numeric column stored in parts.
    if (major, minor) >= (3, 2) {
        let (schema, batch, options) = common::parts_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "parts.seg", &bytes).unwrap();
    }
    // From 3.3: blocks whose values are a zstd frame of the codec's buffer.
    if (major, minor) >= (3, 3) {
        let (schema, batch, options) = common::zstd_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "zstd.seg", &bytes).unwrap();
    }
    // From 3.4: a symbol dictionary stored as a zstd frame in the footer.
    if (major, minor) >= (3, 4) {
        let (schema, batch, options) = common::dictionary_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "dictionary.seg", &bytes).unwrap();
    }
    // From 3.5: integer columns stored against derivation tables of symbol columns.
    if (major, minor) >= (3, 5) {
        let (schema, batch, options) = common::derived_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "derived.seg", &bytes).unwrap();
    }
    // From 3.6: integer columns stored against tables keyed by another column's values.
    if (major, minor) >= (3, 6) {
        let (schema, batch, options) = common::value_keyed_batch();
        let bytes = write_segment_bytes(schema, &[batch], options).unwrap();
        write_durably(&LocalFs, &dir, "value_keyed.seg", &bytes).unwrap();
    }
    println!("wrote {}", dir.display());
}
