//! Derived columns (formats 3.5 and 3.6): an integer column that one or two symbol columns, or
//! one integer column, determine is stored as its exceptions to a per-segment table. Random tables (keys
//! with nulls, functions with exceptions, nullable targets, columns that depend on nothing)
//! read back exactly through every read path, whatever the projection; the writer finds the
//! dependency (the footer says so) and leaves other columns alone; damaged tables and blocks
//! are typed errors.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use proptest::prelude::*;
use strata_format::{
    BlockOptions, DataType, Field, FormatError, Schema, Segment, SegmentFileWriter,
    write_segment_bytes,
};

use crate::common::{assert_batches_identical, derived_table as table, value_keyed_table};

fn options(block_rows: usize) -> BlockOptions {
    BlockOptions {
        block_rows,
        ..BlockOptions::default()
    }
}

/// Writes with `write_batch` on `threads` threads, or stripe by stripe.
fn write(schema: &Schema, batch: &RecordBatch, opts: BlockOptions, threads: usize) -> Vec<u8> {
    let mut w = SegmentFileWriter::new(Vec::new(), schema.clone(), opts).unwrap();
    w.set_threads(threads);
    if threads == 0 {
        let mut start = 0;
        while start < batch.num_rows() {
            let len = opts.block_rows.min(batch.num_rows() - start);
            let cols: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .map(|c| c.slice(start, len))
                .collect();
            w.write_stripe(&cols).unwrap();
            start += len;
        }
    } else {
        w.write_batch(batch).unwrap();
    }
    w.finish().unwrap().0
}

/// Every read path against the batch written: the whole segment, each column alone (a
/// derived column without its keys), each block alone, blocks asked for in one request.
fn check_reads(seg: &Segment, batch: &RecordBatch) {
    assert_batches_identical(&seg.read_all().unwrap(), batch);
    assert_batches_identical(
        &seg.read_columns_threads(&[0, 1, 2, 3, 4], 1).unwrap(),
        batch,
    );
    for c in 0..batch.num_columns() {
        let got = seg.read_column(c).unwrap();
        let want = batch.column(c);
        let (got, want) = (
            crate::common::symbols_as_strings(&got),
            crate::common::symbols_as_strings(want),
        );
        assert_eq!(got.to_data(), want.to_data(), "column {c} read alone");
    }
    let starts = seg.block_starts(2).unwrap().clone();
    for b in 0..seg.footer().columns[2].blocks.len() {
        let (s, e) = (starts[b] as usize, starts[b + 1] as usize);
        for c in [2, 3] {
            let got = seg.read_block(c, b).unwrap();
            assert_eq!(
                got.to_data(),
                batch.column(c).slice(s, e - s).to_data(),
                "column {c} block {b}"
            );
        }
        check_appends(seg, batch, 2, b, s..e);
        // A derived block asked for with one key column, with and without the other.
        for wanted in [vec![(2, b), (0, b)], vec![(2, b), (1, b), (4, b)]] {
            let arrays = seg.read_blocks(&wanted).unwrap();
            assert_eq!(
                arrays[0].to_data(),
                batch.column(2).slice(s, e - s).to_data()
            );
        }
    }
}

fn derived_columns(seg: &Segment) -> Vec<(usize, Vec<usize>)> {
    seg.footer()
        .derived
        .iter()
        .map(|d| (d.column, d.keys.clone()))
        .collect()
}

#[test]
fn a_column_decided_by_two_symbols_is_stored_as_its_exceptions() {
    let (schema, batch) = table(20_000, 30, 7, 200);
    for threads in [0, 1, 2] {
        let bytes = write(&schema, &batch, options(4096), threads);
        let seg = Segment::from_bytes(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(
            derived_columns(&seg),
            vec![(2, vec![0, 1]), (3, vec![0])],
            "threads {threads}"
        );
        let blocks = &seg.footer().columns[2].blocks;
        assert!(blocks.iter().all(|b| b.cascade.starts_with("derived")));
        check_reads(&seg, &batch);
        // Against the same segment without derivation: the derived column is a fraction of
        // its bytes (900 keys' table and about one row in 200 as exceptions).
        let plain = write_segment_bytes(
            schema.clone(),
            std::slice::from_ref(&batch),
            BlockOptions {
                derive: false,
                ..options(4096)
            },
        )
        .unwrap();
        let plain = Segment::from_bytes(Bytes::from(plain)).unwrap();
        assert!(plain.footer().derived.is_empty());
        let col = |s: &Segment| -> u64 {
            s.footer().columns[2]
                .blocks
                .iter()
                .map(|b| u64::from(b.len))
                .sum()
        };
        assert!(
            col(&seg) * 3 < col(&plain),
            "derived {} against {}",
            col(&seg),
            col(&plain)
        );
        // Statistics are those of the values.
        let stats = &seg.footer().columns[2].stats;
        let plain_stats = &plain.footer().columns[2].stats;
        assert_eq!(stats.min, plain_stats.min);
        assert_eq!(stats.max, plain_stats.max);
    }
}

#[test]
fn columns_no_symbol_decides_are_left_alone() {
    // Every row its own route: nothing repeats, nothing to derive.
    let (schema, batch) = table(3_000, 100_000, 3, 0);
    let bytes = write(&schema, &batch, options(1024), 1);
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert!(
        !derived_columns(&seg)
            .iter()
            .any(|(c, _)| *c == 2 || *c == 4)
    );
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
    // Without symbol columns the writer takes its usual path.
    let only_ints = batch.project(&[2, 4]).unwrap();
    let s2 = Schema::new(vec![
        Field::new("distance", DataType::Int64, false),
        Field::new("delay", DataType::Int64, false),
    ])
    .unwrap();
    let bytes = write_segment_bytes(s2, std::slice::from_ref(&only_ints), options(1024)).unwrap();
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert!(seg.footer().derived.is_empty());
    assert_batches_identical(&seg.read_all().unwrap(), &only_ints);
}

/// A key that changes what it decides later in the segment (a new timetable): the rows that
/// differ are exceptions, or their blocks are encoded as usual; either way they read back.
#[test]
fn a_dependency_that_breaks_halfway_reads_back_exactly() {
    let (schema, a) = table(8_192, 20, 11, 0);
    let (_, b) = table(8_192, 20, 11, 0);
    // Same keys, other values in the second half.
    let distance: Int64Array = b
        .column(2)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .iter()
        .map(|v| v.map(|v| v * 3 + 1))
        .collect();
    let mut cols = b.columns().to_vec();
    cols[2] = Arc::new(distance);
    let b = RecordBatch::try_new(b.schema(), cols).unwrap();
    let batch = arrow_select::concat::concat_batches(&a.schema(), [&a, &b]).unwrap();
    let bytes = write(&schema, &batch, options(2048), 1);
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert!(derived_columns(&seg).contains(&(2, vec![0, 1])));
    check_reads(&seg, &batch);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random tables of either kind (symbol-keyed: 1 to 59 airports; value-keyed and sums:
    /// timetables of 1 to 2,000 times), with null keys and noise, read back exactly through
    /// every path, and whole batches on threads write the bytes of stripe-by-stripe writing.
    #[test]
    fn random_tables_read_back_exactly(
        rows in 1usize..6_000,
        value_keyed in any::<bool>(),
        spread in 1u32..2_000,
        seed in any::<u64>(),
        noise in prop_oneof![Just(0u32), 2u32..400],
        block_rows in prop_oneof![Just(64usize), Just(1000), Just(4096)],
        threads in 0usize..3,
    ) {
        let (schema, batch) = if value_keyed {
            value_keyed_table(rows, spread, seed, noise)
        } else {
            table(rows, 1 + spread % 59, seed, noise)
        };
        let bytes = write(&schema, &batch, options(block_rows), threads);
        if threads > 0 {
            prop_assert!(bytes == write(&schema, &batch, options(block_rows), 0));
        }
        let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
        check_reads_all(&seg, &batch);
        if !value_keyed {
            check_reads(&seg, &batch);
        }
    }
}

/// The segment of the first test, the offset and length of its derivation extension's
/// payload in the footer, and the footer's offset.
fn with_extension() -> (Vec<u8>, Segment) {
    let (schema, batch) = table(6_000, 12, 5, 100);
    let bytes = write(&schema, &batch, options(2048), 1);
    let seg = Segment::from_bytes(Bytes::from(bytes.clone())).unwrap();
    assert!(!seg.footer().derived.is_empty());
    (bytes, seg)
}

/// Rewrites the tail's CRC so that a footer change is parsed, not caught by the checksum.
fn fix_footer_crc(bytes: &mut [u8]) {
    let n = bytes.len();
    let footer_len = u64::from_le_bytes(bytes[n - 24..n - 16].try_into().unwrap()) as usize;
    let start = n - 24 - footer_len;
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&bytes[start..n - 24]),
        &bytes[n - 24..n - 12],
    );
    bytes[n - 12..n - 8].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn damaged_derivation_tables_are_typed_errors() {
    let (schema, batch) = value_keyed_table(6_000, 300, 5, 100);
    let value_keyed = write(&schema, &batch, options(2048), 1);
    for good in [with_extension().0, value_keyed] {
        damaged_footers_are_typed_errors(good);
    }
}

/// Flips each of the footer's last bytes (the derivation extension) with the CRC made to
/// match: a flip that leaves valid tables reads other rows; every other one is a typed error,
/// never a panic.
fn damaged_footers_are_typed_errors(good: Vec<u8>) {
    let seg = Segment::from_bytes(Bytes::from(good.clone())).unwrap();
    assert!(!seg.footer().derived.is_empty());
    let n = good.len();
    let footer_len = u64::from_le_bytes(good[n - 24..n - 16].try_into().unwrap()) as usize;
    let footer_start = n - 24 - footer_len;
    // The extension is the footer's last field: flip each of its last bytes with the CRC
    // made to match. A flip that leaves a valid table (another value in an entry) cannot be
    // seen by any reader and reads other rows; every other one is a typed error, never a
    // panic.
    let rows = seg.footer().row_count as usize;
    let mut errors = 0;
    for back in 1..=footer_len.min(400) {
        for mask in [0x01u8, 0x40, 0xff] {
            let mut bad = good.clone();
            bad[footer_start + footer_len - back] ^= mask;
            fix_footer_crc(&mut bad);
            match Segment::from_bytes(Bytes::from(bad)).and_then(|s| s.read_all()) {
                Ok(b) => assert_eq!(b.num_rows(), rows),
                Err(e) => {
                    assert!(e.is_corruption(), "flip {back} from the end: {e}");
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 100, "only {errors} damaged footers were refused");
}

/// A sum's blocks with any byte flipped (the block's CRC made to match) read other values or
/// fail with a typed error, never a panic.
#[test]
fn damaged_sum_blocks_are_typed_errors_or_other_values() {
    let (schema, batch) = value_keyed_table(6_000, 300, 5, 100);
    let good = write(&schema, &batch, options(2048), 1);
    let seg = Segment::from_bytes(Bytes::from(good.clone())).unwrap();
    let sum = seg
        .footer()
        .derived
        .iter()
        .find(|d| d.sum.is_some())
        .unwrap();
    let mut errors = 0;
    for b in &seg.footer().columns[sum.column].blocks {
        let (at, len) = (b.offset as usize, b.len as usize);
        for pos in at..at + len - 4 {
            let mut bad = good.clone();
            bad[pos] ^= 0x5a;
            let crc = crc32c::crc32c(&bad[at..at + len - 4]);
            bad[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
            match Segment::from_bytes(Bytes::from(bad)).and_then(|s| s.read_all()) {
                Ok(r) => assert_eq!(r.num_rows(), 6_000),
                Err(e) => {
                    assert!(e.is_corruption(), "flip at {pos}: {e}");
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 0, "no damaged sum block was refused");
}

#[test]
fn a_derived_block_without_its_table_or_keys_is_refused() {
    let (good, seg) = with_extension();
    assert!(
        !derived_columns(&seg).iter().any(|(c, _)| *c == 4),
        "{:?}",
        derived_columns(&seg)
    );
    let (k, b) = seg.footer().columns[2]
        .blocks
        .iter()
        .enumerate()
        .find(|(_, b)| b.cascade.starts_with("derived"))
        .unwrap();
    let (at, len) = (b.offset as usize, b.len as usize);
    // The block read alone, outside its segment: a typed error, not a guess.
    let field = Field::new("distance", DataType::Int64, false);
    let e = strata_format::decode_block(&field, &good[at..at + len], b.rows as usize).unwrap_err();
    assert!(matches!(e, FormatError::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("derived"), "{e}");
    // The derived flag on a column without a table (the non-derived `delay`): corrupt.
    let d = &seg.footer().columns[4].blocks[0];
    let (at, len) = (d.offset as usize, d.len as usize);
    let mut bad = good.clone();
    bad[at] |= 0x08;
    let crc = crc32c::crc32c(&bad[at..at + len - 4]);
    bad[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
    let s = Segment::from_bytes(Bytes::from(bad)).unwrap();
    let e = s.read_column(4).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    // Exceptions that claim more rows than the block has: corrupt, naming the block.
    let mut bad = good.clone();
    let (at, len) = (b.offset as usize, b.len as usize);
    bad[at + 1] = 0x7f;
    let crc = crc32c::crc32c(&bad[at..at + len - 4]);
    bad[at + len - 4..at + len].copy_from_slice(&crc.to_le_bytes());
    let s = Segment::from_bytes(Bytes::from(bad)).unwrap();
    let e = s.read_column(2).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    assert!(
        e.to_string().contains(&format!("column 2 block {k}")),
        "{e}"
    );
}

#[test]
fn string_keys_from_plain_arrays_derive_too() {
    // Symbol columns given as plain strings (not Arrow dictionaries) intern row by row.
    let (schema, batch) = table(5_000, 25, 9, 0);
    let plain: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| {
            let s = crate::common::symbols_as_strings(c);
            if s.as_any().downcast_ref::<StringArray>().is_some() {
                s
            } else {
                Arc::clone(c)
            }
        })
        .collect();
    let mut w = SegmentFileWriter::new(Vec::new(), schema, options(1024)).unwrap();
    let mut start = 0;
    while start < 5_000 {
        let cols: Vec<ArrayRef> = plain
            .iter()
            .map(|c| c.slice(start, 1024.min(5_000 - start)))
            .collect();
        w.write_stripe(&cols).unwrap();
        start += 1024;
    }
    let bytes = w.finish().unwrap().0;
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert!(derived_columns(&seg).contains(&(2, vec![0, 1])));
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
}

/// Stripes that `write_block` cuts apart (one column's blocks split where the others' are
/// not) end derivation for the rest of the segment; the blocks derived before read back, and
/// the segment opens.
#[test]
fn blocks_written_one_column_at_a_time_end_derivation_safely() {
    let (schema, batch) = table(8_000, 15, 21, 0);
    let mut w = SegmentFileWriter::new(Vec::new(), schema, options(2048)).unwrap();
    let stripe = |start: usize, len: usize| -> Vec<ArrayRef> {
        batch
            .columns()
            .iter()
            .map(|c| c.slice(start, len))
            .collect()
    };
    w.write_stripe(&stripe(0, 2048)).unwrap();
    w.write_stripe(&stripe(2048, 2048)).unwrap();
    // Column 0 in two blocks of 1,000 rows, the others in one of 2,000.
    for c in 0..batch.num_columns() {
        if c == 0 {
            w.write_block(0, &batch.column(0).slice(4096, 1000))
                .unwrap();
            w.write_block(0, &batch.column(0).slice(5096, 1000))
                .unwrap();
        } else {
            w.write_block(c, &batch.column(c).slice(4096, 2000))
                .unwrap();
        }
    }
    // Not aligned any more: a stripe is written without deriving.
    w.write_stripe(&stripe(6096, 1904)).unwrap();
    let bytes = w.finish().unwrap().0;
    let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
    assert!(derived_columns(&seg).contains(&(2, vec![0, 1])));
    let blocks = &seg.footer().columns[2].blocks;
    assert!(
        blocks[1].cascade.starts_with("derived"),
        "{}",
        blocks[1].cascade
    );
    assert!(
        !blocks[3].cascade.starts_with("derived"),
        "{}",
        blocks[3].cascade
    );
    assert_batches_identical(&seg.read_all().unwrap(), &batch);
    for c in 0..batch.num_columns() {
        assert_eq!(
            crate::common::symbols_as_strings(&seg.read_column(c).unwrap()).to_data(),
            crate::common::symbols_as_strings(batch.column(c)).to_data()
        );
    }
}

/// `(column, keys, value key)` of each derivation in the footer.
fn derivations(seg: &Segment) -> Vec<(usize, Vec<usize>, bool)> {
    seg.footer()
        .derived
        .iter()
        .map(|d| (d.column, d.keys.clone(), d.value_key))
        .collect()
}

/// A decoded derived block (block `b` of column `c`, rows `rows` of `batch`) makes its values
/// when first appended: part of it first (through its values), then whole; whole first
/// (straight into the output), then a masked part.
fn check_appends(
    seg: &Segment,
    batch: &RecordBatch,
    c: usize,
    b: usize,
    rows: std::ops::Range<usize>,
) {
    let s = rows.start;
    let rows = rows.len();
    let half = rows / 2;
    let every_third = arrow_buffer::BooleanBuffer::from_iter((0..rows).map(|i| i % 3 == 0));
    let masked = arrow_select::filter::filter(
        &batch.column(c).slice(s, rows),
        &arrow_array::BooleanArray::new(every_third.clone(), None),
    )
    .unwrap();
    for part_first in [true, false] {
        let decoded = seg.decode_blocks(&[(c, b)]).unwrap();
        let mut sink = seg.sink(c, 2 * rows).unwrap();
        if part_first {
            sink.append(&decoded[0], half..rows, None).unwrap();
            sink.append(&decoded[0], 0..rows, None).unwrap();
            let got = sink.finish().unwrap();
            let both = arrow_select::concat::concat(&[
                &batch.column(c).slice(s + half, rows - half),
                &batch.column(c).slice(s, rows),
            ])
            .unwrap();
            assert_eq!(got.to_data(), both.to_data(), "{c}/{b} part, whole");
        } else {
            sink.append(&decoded[0], 0..rows, None).unwrap();
            sink.append(&decoded[0], 0..rows, Some(&every_third))
                .unwrap();
            let got = sink.finish().unwrap();
            let both =
                arrow_select::concat::concat(&[&batch.column(c).slice(s, rows), &masked]).unwrap();
            assert_eq!(got.to_data(), both.to_data(), "{c}/{b} whole, masked");
        }
    }
}

/// Every read path of a table with derived columns: the whole segment, each column alone,
/// each derived block alone and asked for with and without its keys.
fn check_reads_all(seg: &Segment, batch: &RecordBatch) {
    assert_batches_identical(&seg.read_all().unwrap(), batch);
    for c in 0..batch.num_columns() {
        let got = crate::common::symbols_as_strings(&seg.read_column(c).unwrap());
        let want = crate::common::symbols_as_strings(batch.column(c));
        assert_eq!(got.to_data(), want.to_data(), "column {c} read alone");
    }
    for d in &seg.footer().derived {
        let c = d.column;
        let starts = seg.block_starts(c).unwrap().clone();
        for b in 0..seg.footer().columns[c].blocks.len() {
            let (s, e) = (starts[b] as usize, starts[b + 1] as usize);
            let want = batch.column(c).slice(s, e - s).to_data();
            assert_eq!(seg.read_block(c, b).unwrap().to_data(), want, "{c}/{b}");
            let mut with_keys = vec![(c, b)];
            with_keys.extend(d.keys.iter().map(|&k| (k, b)));
            for wanted in [vec![(c, b)], with_keys] {
                let arrays = seg.read_blocks(&wanted).unwrap();
                assert_eq!(arrays[0].to_data(), want, "{c}/{b} in {wanted:?}");
            }
            check_appends(seg, batch, c, b, s..e);
        }
    }
}

/// Format 3.6: integer columns that another integer column decides (a departure time's
/// minute and hour) are stored against a table keyed by its values; a null key is an
/// exception, and so are rows off the timetable.
#[test]
fn columns_decided_by_an_integer_column_are_stored_against_its_values() {
    let (schema, batch) = value_keyed_table(20_000, 300, 7, 150);
    for threads in [0, 1, 2] {
        let bytes = write(&schema, &batch, options(4096), threads);
        let seg = Segment::from_bytes(Bytes::from(bytes)).unwrap();
        let found = derivations(&seg);
        for want in [(2, vec![0], true), (3, vec![0], true), (4, vec![1], false)] {
            assert!(found.contains(&want), "{want:?} not in {found:?}");
        }
        // One of arrival, planned and late is the sum of the other two.
        let sum = seg.footer().derived.iter().find(|d| d.sum.is_some());
        let sum = sum.unwrap_or_else(|| panic!("no sum in {found:?}"));
        let mut cols: Vec<usize> = sum.keys.clone();
        cols.push(sum.column);
        cols.sort_unstable();
        assert_eq!(cols, vec![6, 7, 8], "{found:?}");
        check_reads_all(&seg, &batch);
        let plain = write_segment_bytes(
            schema.clone(),
            std::slice::from_ref(&batch),
            BlockOptions {
                derive: false,
                ..options(4096)
            },
        )
        .unwrap();
        let plain = Segment::from_bytes(Bytes::from(plain)).unwrap();
        let col = |s: &Segment, c: usize| -> u64 {
            s.footer().columns[c]
                .blocks
                .iter()
                .map(|b| u64::from(b.len))
                .sum()
        };
        assert!(
            col(&seg, 2) * 3 < col(&plain, 2),
            "minute derived {} against {}",
            col(&seg, 2),
            col(&plain, 2)
        );
    }
}

/// A column in runs beside its key (a day beside a sorted timestamp; a weekday beside a
/// station id in runs that come back) is decided by it but may be cheaper as it is: no block
/// grows by being derived, and the blocks are no larger than without derivation.
#[test]
fn columns_in_runs_beside_their_key_do_not_grow() {
    let rows = 30_000i64;
    let sorted: Vec<i64> = (0..rows).map(|r| r / 40 * 3_600_000_000).collect();
    let returning: Vec<i64> = (0..rows).map(|r| (r / 40) % 500 * 37 % 1_000).collect();
    for (name, key) in [("sorted", sorted), ("returning", returning)] {
        let day: Vec<i32> = key
            .iter()
            .map(|t| (t / 86_400_000_000 + t % 7) as i32)
            .collect();
        let hour: Vec<i64> = key.iter().map(|t| t / 3_600_000_000 % 24 + t % 5).collect();
        let noise: Vec<i64> = (0..rows).map(|r| r * 2_654_435_761 % 1_000).collect();
        let schema = Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(strata_format::TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("day", DataType::Int32, false),
            Field::new("hour", DataType::Int64, false),
            Field::new("noise", DataType::Int64, false),
        ])
        .unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(schema.to_arrow(strata_format::SymbolAs::Dictionary)),
            vec![
                Arc::new(arrow_array::TimestampMicrosecondArray::from(key)),
                Arc::new(arrow_array::Int32Array::from(day)),
                Arc::new(Int64Array::from(hour)),
                Arc::new(Int64Array::from(noise)),
            ],
        )
        .unwrap();
        let on = write(&schema, &batch, options(4096), 1);
        let on = Segment::from_bytes(Bytes::from(on)).unwrap();
        let off = write_segment_bytes(
            schema.clone(),
            std::slice::from_ref(&batch),
            BlockOptions {
                derive: false,
                ..options(4096)
            },
        )
        .unwrap();
        let off = Segment::from_bytes(Bytes::from(off)).unwrap();
        for c in 0..4 {
            let blocks = |s: &Segment| -> Vec<u32> {
                s.footer().columns[c].blocks.iter().map(|b| b.len).collect()
            };
            for (b, (x, y)) in blocks(&on).iter().zip(blocks(&off)).enumerate() {
                assert!(
                    *x <= y,
                    "{name}: column {c} block {b}: {x} B derived, {y} B own"
                );
            }
        }
        eprintln!(
            "{name}: derived {:?}; column bytes {:?} against {:?}",
            derivations(&on),
            (0..4)
                .map(|c| on.footer().columns[c]
                    .blocks
                    .iter()
                    .map(|b| b.len)
                    .sum::<u32>())
                .collect::<Vec<_>>(),
            (0..4)
                .map(|c| off.footer().columns[c]
                    .blocks
                    .iter()
                    .map(|b| b.len)
                    .sum::<u32>())
                .collect::<Vec<_>>()
        );
        // A sorted key serves no later block: nothing is derived from it.
        if name == "sorted" {
            assert!(on.footer().derived.is_empty(), "{:?}", derivations(&on));
        }
        check_reads_all(&on, &batch);
    }
}

/// Hourly rows of `hours` hours from hour `start`: a day of the month, its month (which the
/// day decides within 28 days) and a reading.
fn hourly(start: i64, hours: i64) -> (Schema, RecordBatch) {
    let t: Vec<i64> = (start..start + hours).collect();
    let day: Vec<i64> = t.iter().map(|h| h / 24 % 30 + 1).collect();
    let month: Vec<i64> = t.iter().map(|h| h / 24 / 30 % 12 + 1).collect();
    let reading: Vec<i64> = t.iter().map(|h| h * 2_654_435_761 % 977).collect();
    let schema = Schema::new(vec![
        Field::new("day", DataType::Int64, false),
        Field::new("month", DataType::Int64, false),
        Field::new("reading", DataType::Int64, false),
    ])
    .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(schema.to_arrow(strata_format::SymbolAs::Dictionary)),
        vec![
            Arc::new(Int64Array::from(day)),
            Arc::new(Int64Array::from(month)),
            Arc::new(Int64Array::from(reading)),
        ],
    )
    .unwrap();
    (schema, batch)
}

/// A segment of one block whose rows are known (a flush of a small partition) pays for its
/// derivation table alone: where the table's entry in the footer costs more than the column's
/// own runs, the column is not derived, and the segment is no larger than one written without
/// derivation. A segment of many blocks shares the table's cost among them and still derives.
#[test]
fn a_one_block_segment_derives_only_what_pays_for_its_table() {
    let write_known = |schema: &Schema, batch: &RecordBatch, derive: bool| -> Vec<u8> {
        let opts = BlockOptions {
            derive,
            ..options(4096).for_segment_rows(batch.num_rows() as u64)
        };
        write_segment_bytes(schema.clone(), std::slice::from_ref(batch), opts).unwrap()
    };
    // 584 hours (24 days), where a month boundary falls, and where none does.
    for start in [0, 200, 700] {
        let (schema, batch) = hourly(start, 584);
        let on = write_known(&schema, &batch, true);
        let off = write_known(&schema, &batch, false);
        let seg = Segment::from_bytes(Bytes::from(on.clone())).unwrap();
        assert!(
            !derived_columns(&seg).iter().any(|(c, _)| *c == 1),
            "start {start}: month derived in a one-block segment: {:?}",
            derivations(&seg)
        );
        assert!(
            on.len() <= off.len(),
            "start {start}: {} B with derivation, {} B without",
            on.len(),
            off.len()
        );
        check_reads_all(&seg, &batch);
    }
    // A column a code decides (500 codes of 30 bits, 250 values of 10 bits in no order, so
    // the values do not decide the code), in one block and in 20: never larger than without
    // the table, and over 20 blocks derived.
    let coded = |rows: usize| -> (Schema, RecordBatch) {
        let code: Vec<i64> = (0..rows as i64)
            .map(|r| {
                let k = ((r as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 500;
                (k.wrapping_mul(0xd6e8_feb8_6659_fd93) >> 34) as i64
            })
            .collect();
        let value: Vec<i64> = code.iter().map(|c| c % 250 * 7_919 % 1_000).collect();
        let schema = Schema::new(vec![
            Field::new("code", DataType::Int64, false),
            Field::new("value", DataType::Int64, false),
        ])
        .unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(schema.to_arrow(strata_format::SymbolAs::Dictionary)),
            vec![
                Arc::new(Int64Array::from(code)),
                Arc::new(Int64Array::from(value)),
            ],
        )
        .unwrap();
        (schema, batch)
    };
    for rows in [1_024, 20_480] {
        let (schema, batch) = coded(rows);
        let opts = options(1_024).for_segment_rows(rows as u64);
        let on = write_segment_bytes(schema.clone(), std::slice::from_ref(&batch), opts).unwrap();
        let off = BlockOptions {
            derive: false,
            ..opts
        };
        let off = write_segment_bytes(schema.clone(), std::slice::from_ref(&batch), off).unwrap();
        assert!(
            on.len() <= off.len(),
            "{rows} rows: {} B with derivation, {} B without",
            on.len(),
            off.len()
        );
        let seg = Segment::from_bytes(Bytes::from(on)).unwrap();
        if rows > 1_024 {
            assert!(
                derived_columns(&seg).contains(&(1, vec![0])),
                "{:?}",
                derivations(&seg)
            );
        }
        check_reads_all(&seg, &batch);
    }
}

/// A derived block keeps the statistics of its values (taken from its own encoding where
/// that was tried): the footer's block statistics, and with blooms always on the blooms,
/// equal those written without derivation.
#[test]
fn derived_blocks_keep_the_statistics_and_blooms_of_their_values() {
    let tables = [
        table(20_000, 30, 7, 200),
        value_keyed_table(20_000, 300, 7, 150),
    ];
    for (schema, batch) in &tables {
        for bloom in [
            strata_format::BloomPolicy::Always,
            strata_format::BloomPolicy::Auto,
        ] {
            let opts = BlockOptions {
                bloom,
                ..options(4096)
            };
            let on = Segment::from_bytes(Bytes::from(write(schema, batch, opts, 1))).unwrap();
            let off_opts = BlockOptions {
                derive: false,
                ..opts
            };
            let off = Segment::from_bytes(Bytes::from(write(schema, batch, off_opts, 1))).unwrap();
            assert!(!on.footer().derived.is_empty());
            for d in &on.footer().derived {
                let (a, b) = (
                    &on.footer().columns[d.column],
                    &off.footer().columns[d.column],
                );
                assert_eq!(a.blocks.len(), b.blocks.len());
                for (x, y) in a.blocks.iter().zip(&b.blocks) {
                    assert_eq!(x.stats, y.stats, "column {}", d.column);
                    if matches!(bloom, strata_format::BloomPolicy::Always) {
                        assert_eq!(x.bloom, y.bloom, "column {}", d.column);
                    }
                }
            }
        }
    }
}
