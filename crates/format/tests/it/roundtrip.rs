//! Write-then-read scenarios.

use std::sync::Arc;

use crate::common::{
    all_types_batch, assert_batches_identical, small_batch, small_options, symbols_as_strings,
};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, Float32Array, Int64Array, StringArray};
use bytes::Bytes;
use strata_format::{
    BlockOptions, CURRENT_VERSION, DataType, Field, FileSystem, FormatError, LocalFs, MemFs,
    Prefetch, ScalarValue, Schema, Segment, SegmentFileWriter, SymbolAs, block, write_durably,
    write_segment_bytes,
};

#[test]
fn all_types_round_trip_exactly_across_many_blocks() {
    let (schema, batch) = all_types_batch(3000);
    let opts = BlockOptions {
        block_rows: 1024,
        ..BlockOptions::default()
    };
    let bytes = write_segment_bytes(schema.clone(), std::slice::from_ref(&batch), opts).unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert_eq!(seg.num_rows(), 3000);
    assert_eq!(seg.schema(), &schema);
    assert_eq!(seg.num_blocks(0), 3); // 1024 + 1024 + 952
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
}

#[test]
fn any_block_reads_alone_and_matches_its_slice() {
    let (schema, batch) = all_types_batch(100);
    let opts = BlockOptions {
        block_rows: 16,
        ..BlockOptions::default()
    };
    let seg = Segment::from_bytes(Bytes::from(
        write_segment_bytes(schema, std::slice::from_ref(&batch), opts).unwrap(),
    ))
    .unwrap();
    for c in 0..seg.num_columns() {
        assert_eq!(seg.num_blocks(c), 7);
        for b in 0..7 {
            let got = seg.read_block(c, b).unwrap();
            let want = batch.column(c).slice(b * 16, (100 - b * 16).min(16));
            assert_eq!(
                symbols_as_strings(&got).to_data(),
                symbols_as_strings(&want).to_data(),
                "col {c} block {b}"
            );
        }
    }
    assert!(matches!(
        seg.read_block(0, 7),
        Err(FormatError::InvalidArgument(_))
    ));
    assert!(matches!(
        seg.read_block(99, 0),
        Err(FormatError::InvalidArgument(_))
    ));
}

#[test]
fn projection_returns_requested_columns_in_order() {
    let (schema, batch) = all_types_batch(50);
    let seg = Segment::from_bytes(Bytes::from(
        write_segment_bytes(
            schema,
            std::slice::from_ref(&batch),
            BlockOptions::default(),
        )
        .unwrap(),
    ))
    .unwrap();
    let got = seg.read_columns(&[6, 0]).unwrap();
    assert_eq!(got.schema().field(0).name(), "i64");
    assert_eq!(got.schema().field(1).name(), "ts");
    assert_batches_identical(&got, &batch.project(&[6, 0]).unwrap());
    assert_eq!(seg.read_columns(&[]).unwrap().num_rows(), 50);
}

#[test]
fn symbols_read_as_plain_utf8_when_asked() {
    let (schema, batch) = small_batch();
    let seg = Segment::from_bytes(Bytes::from(
        write_segment_bytes(schema, std::slice::from_ref(&batch), small_options()).unwrap(),
    ))
    .unwrap()
    .with_symbol_as(SymbolAs::Utf8);
    let host = seg.read_column(1).unwrap();
    assert_eq!(host.data_type(), &arrow_schema::DataType::Utf8);
    assert_eq!(
        host.to_data(),
        symbols_as_strings(batch.column(1)).to_data()
    );
    // Dictionary presentation shares the segment dictionary across blocks.
    let seg = seg.with_symbol_as(SymbolAs::Dictionary);
    let d = seg.read_block(1, 0).unwrap();
    let d = d.as_dictionary::<Int32Type>();
    assert_eq!(
        d.values().len(),
        seg.footer().columns[1].dictionary.as_ref().unwrap().len()
    );
    // Stats of a symbol column are over values, not codes.
    let st = &seg.footer().columns[1].stats;
    assert_eq!(
        st.min,
        Some(ScalarValue::Bytes(b"cache-eu-west-1".to_vec()))
    );
    assert_eq!(st.max, Some(ScalarValue::Bytes(b"web-02".to_vec())));
}

#[test]
fn utf8_input_is_accepted_for_symbol_columns() {
    let schema = Schema::new(vec![Field::new("tag", DataType::Symbol, false)]).unwrap();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, BlockOptions::default()).unwrap();
    let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x"]));
    w.write_stripe(std::slice::from_ref(&a)).unwrap();
    let (bytes, written) = w.finish().unwrap();
    assert_eq!(written.row_count, 3);
    let seg = Segment::from_bytes(Bytes::from(bytes))
        .unwrap()
        .with_symbol_as(SymbolAs::Utf8);
    assert_eq!(
        seg.footer().columns[0].dictionary,
        Some(vec![b"x".to_vec(), b"y".to_vec()])
    );
    assert_eq!(seg.read_column(0).unwrap().to_data(), a.to_data());
}

#[test]
fn float32_signalling_nan_keeps_its_bits() {
    let field = Field::new("f", DataType::Float32, false);
    let v = vec![1.5f32, f32::from_bits(0x7f80_0001), -0.0];
    let a: ArrayRef = Arc::new(Float32Array::from(v.clone()));
    let enc = block::encode_block(&field, &a, &BlockOptions::default()).unwrap();
    let back = block::decode_block(&field, &enc.bytes, 3).unwrap();
    let back: Vec<u32> = back
        .as_primitive::<arrow_array::types::Float32Type>()
        .values()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(back, v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
}

#[test]
fn empty_segment_round_trips() {
    let (schema, batch) = small_batch();
    let bytes = write_segment_bytes(schema, &[], small_options()).unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert_eq!(seg.num_rows(), 0);
    let all = seg.read_all().unwrap();
    assert_eq!(all.num_rows(), 0);
    assert_eq!(all.schema().fields(), batch.schema().fields());
}

#[test]
fn wrong_array_type_or_nulls_in_non_nullable_column_is_schema_mismatch() {
    let schema = Schema::new(vec![Field::new("x", DataType::Int32, false)]).unwrap();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, BlockOptions::default()).unwrap();
    let wrong: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    assert!(matches!(
        w.write_block(0, &wrong),
        Err(FormatError::SchemaMismatch(_))
    ));
    let nulls: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![Some(1), None]));
    assert!(matches!(
        w.write_block(0, &nulls),
        Err(FormatError::SchemaMismatch(_))
    ));
}

#[test]
fn unequal_column_lengths_fail_at_finish() {
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
    ])
    .unwrap();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, BlockOptions::default()).unwrap();
    w.write_block(0, &(Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef))
        .unwrap();
    assert!(matches!(w.finish(), Err(FormatError::SchemaMismatch(_))));
}

#[test]
fn blocks_may_be_appended_column_by_column_in_any_order() {
    let (schema, batch) = small_batch();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, small_options()).unwrap();
    // Column 2 first, then 0, then 1: the footer index still reads back in row order.
    for c in [2, 0, 1] {
        for start in (0..10).step_by(4) {
            w.write_block(c, &batch.column(c).slice(start, 4.min(10 - start)))
                .unwrap();
        }
    }
    let (bytes, _) = w.finish().unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
}

#[test]
fn key_range_and_metadata_are_recorded() {
    let (schema, batch) = small_batch();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, small_options()).unwrap();
    w.write_batch(&batch).unwrap();
    w.set_metadata("origin", "test");
    let (bytes, _) = w.finish().unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    let k = seg.footer().key_range.clone().unwrap();
    assert_eq!(k.min, vec![Some(ScalarValue::Int(1_700_000_000_000))]);
    assert_eq!(
        k.max,
        vec![Some(ScalarValue::Int(1_700_000_000_000 + 9 * 250))]
    );
    assert_eq!(
        seg.footer().metadata.get("origin").map(String::as_str),
        Some("test")
    );
}

#[test]
fn segment_written_durably_opens_from_local_and_memory_filesystems() {
    let (schema, batch) = small_batch();
    let bytes = write_segment_bytes(schema, std::slice::from_ref(&batch), small_options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fss: [Box<dyn FileSystem>; 2] = [Box::new(LocalFs), Box::new(MemFs::new())];
    for fs in fss {
        let path = write_durably(fs.as_ref(), dir.path(), "s.seg", &bytes).unwrap();
        let seg = Segment::open(fs.as_ref(), &path).unwrap();
        assert_batches_identical(&seg.read_all().unwrap(), &batch);
    }
}

#[test]
fn prefetch_hints_change_nothing_on_any_file() {
    // Every step, for columns in and out of range, on a file held in memory (local, read
    // whole), one read in place (memory file system) and one from bytes: a hint only.
    let (schema, batch) = small_batch();
    let bytes = write_segment_bytes(schema, std::slice::from_ref(&batch), small_options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fss: [Box<dyn FileSystem>; 2] = [Box::new(LocalFs), Box::new(MemFs::new())];
    let mut segments = vec![Segment::from_bytes(Bytes::from(bytes.clone())).unwrap()];
    for fs in fss {
        let path = write_durably(fs.as_ref(), dir.path(), "p.seg", &bytes).unwrap();
        segments.push(Segment::open(fs.as_ref(), &path).unwrap());
    }
    for seg in &segments {
        let columns = seg.num_columns();
        for stage in [Prefetch::Handle, Prefetch::Tables, Prefetch::Blocks] {
            seg.prefetch(stage, 0..columns + 2);
            seg.prefetch(stage, [columns, usize::MAX]);
            seg.prefetch(stage, []);
        }
        assert_batches_identical(&seg.read_all().unwrap(), &batch);
    }
}

#[test]
fn unknown_major_version_is_refused() {
    let (schema, batch) = small_batch();
    let mut bytes = write_segment_bytes(schema, &[batch], small_options()).unwrap();
    let n = bytes.len();
    bytes[n - 16..n - 14].copy_from_slice(&4u16.to_le_bytes());
    match Segment::from_bytes(Bytes::from(bytes)) {
        Err(FormatError::UnsupportedVersion { major: 4, minor })
            if minor == CURRENT_VERSION.minor => {}
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

#[test]
fn bloom_filters_contain_every_block_value() {
    let (schema, batch) = all_types_batch(2048);
    // Without the zstd stage: its frames of these generated strings are small enough that a
    // filter would cost more than a quarter of the block, and `BloomPolicy::Auto` builds none.
    let opts = BlockOptions {
        block_rows: 1024,
        zstd_level: None,
        ..BlockOptions::default()
    };
    let seg = Segment::from_bytes(Bytes::from(
        write_segment_bytes(schema.clone(), std::slice::from_ref(&batch), opts).unwrap(),
    ))
    .unwrap();
    let s = schema.index_of("s").unwrap();
    let meta = &seg.footer().columns[s];
    for (b, m) in meta.blocks.iter().enumerate() {
        let bloom = m
            .bloom
            .as_ref()
            .expect("a high-cardinality string block has a bloom filter");
        let col = batch.column(s).slice(b * 1024, 1024);
        let mut distinct = std::collections::HashSet::new();
        for v in col.as_string::<i32>().iter().flatten() {
            assert!(bloom.might_contain(&ScalarValue::Bytes(v.as_bytes().to_vec())));
            distinct.insert(v);
        }
        assert_eq!(m.stats.distinct_count, Some(distinct.len() as u64));
    }
    // Booleans never get one.
    assert!(
        seg.footer().columns[2]
            .blocks
            .iter()
            .all(|b| b.bloom.is_none())
    );
}

/// Rewrites a segment as if a later minor version had added an extension to the footer.
fn with_extension_and_minor(bytes: &[u8], minor: u16) -> Vec<u8> {
    let n = bytes.len();
    let footer_len = u64::from_le_bytes(bytes[n - 24..n - 16].try_into().unwrap()) as usize;
    let footer_at = n - 24 - footer_len;
    let mut footer = bytes[footer_at..n - 24].to_vec();
    // The footer (layouts 2 and 3) ends with the extension count, a one-byte varint 0: one unknown
    // extension instead.
    assert_eq!(footer.pop(), Some(0));
    footer.push(1);
    footer.extend_from_slice(&0x7777u16.to_le_bytes());
    footer.push(3);
    footer.extend_from_slice(b"new");
    let mut out = bytes[..footer_at].to_vec();
    out[10..12].copy_from_slice(&minor.to_le_bytes());
    let mut tail = Vec::new();
    tail.extend_from_slice(&(footer.len() as u64).to_le_bytes());
    tail.extend_from_slice(&strata_format::CURRENT_VERSION.major.to_le_bytes());
    tail.extend_from_slice(&minor.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&footer), &tail);
    tail.extend_from_slice(&crc.to_le_bytes());
    tail.extend_from_slice(b"STRATEND");
    out.extend_from_slice(&footer);
    out.extend_from_slice(&tail);
    out
}

#[test]
fn later_minor_version_with_unknown_footer_extension_is_read() {
    let (schema, batch) = small_batch();
    let bytes = write_segment_bytes(schema, std::slice::from_ref(&batch), small_options()).unwrap();
    let later = strata_format::CURRENT_VERSION.minor + 1;
    let newer = with_extension_and_minor(&bytes, later);
    let seg = Segment::from_bytes(Bytes::from(newer)).unwrap();
    assert_eq!(
        seg.version(),
        strata_format::FormatVersion {
            major: strata_format::CURRENT_VERSION.major,
            minor: later
        }
    );
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
}

/// The block index spilled to a side file under any budget, down to one entry at a time, gives
/// the same file as an index held in memory; the side file is gone afterwards.
#[test]
fn spilled_block_index_writes_identical_bytes_and_removes_the_side_file() {
    let (schema, batch) = all_types_batch(3000);
    let write = |budget: Option<usize>| {
        let fs = Arc::new(MemFs::new());
        let spill = std::path::PathBuf::from("/t/s.idx");
        let mut w = SegmentFileWriter::new(Vec::new(), schema.clone(), small_options()).unwrap();
        if let Some(b) = budget {
            w.spill_index(fs.clone(), spill.clone(), b);
        }
        w.write_batch(&batch).unwrap();
        let held = w.index_bytes_in_memory();
        let (bytes, written) = w.finish().unwrap();
        assert!(!fs.exists(&spill).unwrap(), "side file left behind");
        (bytes, written, held)
    };
    let (plain, plain_summary, plain_held) = write(None);
    assert!(plain_held > 10_000, "the test needs a large index");
    let seg = Segment::from_bytes(Bytes::from(plain.clone())).unwrap();
    assert_eq!(plain_summary.row_count, 3000);
    for (c, w) in seg.footer().columns.iter().zip(&plain_summary.columns) {
        assert_eq!(c.blocks.len() as u64, w.blocks);
        assert_eq!(c.stats, w.stats);
        assert_eq!(
            c.blocks.iter().map(|b| u64::from(b.len)).sum::<u64>(),
            w.bytes
        );
    }
    for budget in [0, 1, 500, 4096, usize::MAX] {
        let (bytes, summary, held) = write(Some(budget));
        assert_eq!(bytes, plain, "budget {budget}");
        assert_eq!(summary, plain_summary, "budget {budget}");
        assert!(
            held <= budget.max(plain_held / 10),
            "budget {budget}: {held} bytes held"
        );
    }
}

mod symbol_dictionary_input {
    use super::*;
    use arrow_array::{DictionaryArray, Int32Array};
    use proptest::prelude::*;

    fn symbol_schema() -> Schema {
        Schema::new(vec![Field::new("s", DataType::Symbol, true)]).unwrap()
    }

    /// Writes `blocks` (each one stripe) and returns the file bytes.
    fn write(blocks: &[ArrayRef]) -> Result<Vec<u8>, FormatError> {
        let mut w = SegmentFileWriter::new(Vec::new(), symbol_schema(), BlockOptions::default())?;
        for b in blocks {
            w.write_stripe(std::slice::from_ref(b))?;
        }
        Ok(w.finish()?.0)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Dictionary arrays sharing one values array (with repeated values) write the same
        /// file as the same rows given as plain strings.
        #[test]
        fn dictionary_blocks_write_the_same_file_as_strings(
            values in proptest::collection::vec("[a-d]{0,3}", 1..12),
            blocks in proptest::collection::vec(
                proptest::collection::vec(proptest::option::weighted(0.9, 0usize..64), 1..200),
                1..5,
            ),
        ) {
            let strings = values.clone();
            let values: ArrayRef = Arc::new(StringArray::from(values));
            let n = values.len();
            let mut as_dict = Vec::new();
            let mut as_str = Vec::new();
            for keys in &blocks {
                let k = Int32Array::from(
                    keys.iter().map(|k| k.map(|k| (k % n) as i32)).collect::<Vec<_>>(),
                );
                let d = DictionaryArray::try_new(k, values.clone()).unwrap();
                let plain: StringArray = keys
                    .iter()
                    .map(|k| k.map(|k| strings[k % n].as_str()))
                    .collect();
                as_str.push(Arc::new(plain) as ArrayRef);
                as_dict.push(Arc::new(d) as ArrayRef);
            }
            prop_assert_eq!(write(&as_dict).unwrap(), write(&as_str).unwrap());
        }
    }

    #[test]
    fn dictionary_key_of_a_null_value_is_an_error() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let keys = Int32Array::from(vec![0, 1]);
        let d: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
        let err = write(&[d]).unwrap_err();
        assert!(matches!(err, FormatError::InvalidArgument(_)), "{err}");
    }
}

/// Encoding a batch's columns on several threads writes the same file, byte for byte, as on
/// one; reading it on one thread or several gives the same batch, the one written. Batches
/// are written in uneven pieces so stripes and whole batches interleave.
#[test]
fn threads_change_neither_the_bytes_written_nor_the_rows_read() {
    let (schema, batch) = all_types_batch(5000);
    let opts = BlockOptions {
        block_rows: 256,
        ..BlockOptions::default()
    };
    let write = |threads: usize| {
        let mut w = SegmentFileWriter::new(Vec::new(), schema.clone(), opts).unwrap();
        w.set_threads(threads);
        for (start, len) in [(0, 100), (100, 2000), (2100, 1), (2101, 2899)] {
            w.write_batch(&batch.slice(start, len)).unwrap();
        }
        w.finish().unwrap().0
    };
    let one = write(1);
    for threads in [2, 3, 16] {
        assert!(one == write(threads), "{threads} threads wrote other bytes");
    }
    let seg = Segment::from_bytes(Bytes::from(one)).unwrap();
    let all: Vec<usize> = (0..seg.num_columns()).collect();
    for threads in [1, 2, 5] {
        assert_batches_identical(&seg.read_columns_threads(&all, threads).unwrap(), &batch);
    }
    let some = [3, 0, 3];
    let projected = seg.read_columns_threads(&some, 2).unwrap();
    for (i, &c) in some.iter().enumerate() {
        assert_eq!(projected.column(i), batch.column(c));
    }
}

/// Segments with the same column names and types in the same order say so, whatever their
/// rows, opened one after the other or not; a segment of other columns does not.
#[test]
fn segments_know_when_their_columns_are_the_same() {
    let (schema, batch) = small_batch();
    let open = |b: &arrow_array::RecordBatch| {
        let bytes = write_segment_bytes(schema.clone(), std::slice::from_ref(b), small_options());
        Segment::from_bytes(Bytes::from(bytes.unwrap())).unwrap()
    };
    let a = open(&batch);
    let (all, all_batch) = all_types_batch(10);
    let other = Segment::from_bytes(Bytes::from(
        write_segment_bytes(all, &[all_batch], small_options()).unwrap(),
    ))
    .unwrap();
    let b = open(&batch.slice(0, 3));
    assert!(a.same_columns_as(&a) && a.same_columns_as(&b) && b.same_columns_as(&a));
    assert!(!a.same_columns_as(&other) && !other.same_columns_as(&b));
}
