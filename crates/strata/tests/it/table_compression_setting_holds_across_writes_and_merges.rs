//! A table's compression setting: kept in the manifest (log record and checkpoint), applied
//! by every flush and merge of every writer that opens the table, changed back without
//! touching what is already written, and brought to every segment by `rewrite_now`.

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use strata::{Compression, LocalFs, Segment, Table, TableError, TableOptions};

use crate::common::*;

/// `n` rows of one host within one day; `id` and `cpu` drawn from skewed distributions (few
/// values carry most rows), where the entropy-coded leaf pays for its table.
fn skewed(first: i64, n: i64) -> RecordBatch {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ first as u64;
    let mut unit = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut ids, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let u = unit();
        ids.push((u * u * u * 229.0) as i64);
        let v = unit();
        cpu.push(((v * v * 400.0).round()) / 10.0);
    }
    RecordBatch::try_new(
        Arc::new(schema().to_arrow(strata::SymbolAs::Utf8)),
        vec![
            Arc::new(TimestampMillisecondArray::from(
                (first..first + n).map(|i| i * 1000).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec!["a"; n as usize])),
            Arc::new(Int64Array::from(ids)),
            Arc::new(Float64Array::from(cpu)),
        ],
    )
    .unwrap()
}

/// Every live segment's blocks: how many name the entropy-coded leaf (`ans`) in their
/// cascade, and the segments' bytes.
fn ans_blocks(table: &Table) -> (usize, u64) {
    let state = table.state();
    let (mut ans, mut bytes) = (0, 0);
    for s in state.segments() {
        let seg = Segment::open(&LocalFs, &table.registry().path_of(&s.file)).unwrap();
        for c in &seg.footer().columns {
            ans += c
                .blocks
                .iter()
                .filter(|b| b.cascade.contains("ans"))
                .count();
        }
        bytes += s.bytes;
    }
    (ans, bytes)
}

#[test]
fn small_compression_is_kept_by_the_table_and_used_by_flushes_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let (small_path, balanced_path) = (dir.path().join("small"), dir.path().join("balanced"));
    let rows = skewed(0, 20_000);

    let balanced = Table::create(&balanced_path, config(), TableOptions::default()).unwrap();
    assert_eq!(balanced.state().compression, Compression::Balanced);
    balanced.write(&rows).unwrap();
    balanced.flush().unwrap();
    let (balanced_ans, balanced_bytes) = ans_blocks(&balanced);
    assert_eq!(balanced_ans, 0, "the default never uses the entropy leaf");

    let table = Table::create(&small_path, config(), TableOptions::default()).unwrap();
    table.set_compression(Compression::Small).unwrap();
    assert_eq!(table.state().compression, Compression::Small);
    table.write(&rows).unwrap();
    table.flush().unwrap();
    let (ans, bytes) = ans_blocks(&table);
    assert!(ans > 0, "no block of the small table is entropy coded");
    assert!(
        bytes < balanced_bytes,
        "{bytes} B against {balanced_bytes} B"
    );
    assert_eq!(ids(&table), ids(&balanced));
    // Into a checkpoint too: the setting survives a reopen from either.
    table.registry().checkpoint().unwrap();
    table.close().unwrap();
    drop(table);

    let (table, _) = Table::open(&small_path, TableOptions::default()).unwrap();
    assert_eq!(table.state().compression, Compression::Small);
    table.write(&skewed(20_000, 20_000)).unwrap();
    table.compact_now().unwrap();
    assert_eq!(table.state().segments().count(), 1);
    let (ans, _) = ans_blocks(&table);
    assert!(ans > 0, "the merge did not keep the table's setting");
    assert_eq!(ids(&table).values().sum::<usize>(), 40_000);

    // Back to balanced: the next merge writes without the leaf.
    table.set_compression(Compression::Balanced).unwrap();
    table.write(&skewed(40_000, 5_000)).unwrap();
    table.compact_now().unwrap();
    assert_eq!(table.state().segments().count(), 1);
    assert_eq!(ans_blocks(&table).0, 0);
    let before = ids(&table);
    assert_eq!(before.values().sum::<usize>(), 45_000);
    // A partition already at one segment is left alone by `compact_now`; `rewrite_now`
    // writes it again with the table's compression.
    table.set_compression(Compression::Small).unwrap();
    let id_before = table.state().segments().next().unwrap().id;
    assert!(table.compact_now().unwrap().is_empty());
    assert_eq!(ans_blocks(&table).0, 0);
    let cycles = table.rewrite_now().unwrap();
    assert_eq!(cycles.len(), 1);
    assert_eq!(table.state().segments().count(), 1);
    assert_ne!(table.state().segments().next().unwrap().id, id_before);
    assert!(
        ans_blocks(&table).0 > 0,
        "rewrite_now kept the old encoding"
    );
    assert_eq!(ids(&table), before);
    table.set_compression(Compression::Balanced).unwrap();
    table.rewrite_now().unwrap();
    assert_eq!(ans_blocks(&table).0, 0);
    assert_eq!(ids(&table), before);
    table.close().unwrap();
    drop(table);

    let (reader, _) = Table::open_read_only(&small_path, TableOptions::default()).unwrap();
    assert_eq!(reader.state().compression, Compression::Balanced);
    assert!(matches!(
        reader.set_compression(Compression::Small),
        Err(TableError::ReadOnly)
    ));
    balanced.close().unwrap();
}

#[test]
fn compression_names_parse_and_unknown_ones_are_errors() {
    for c in Compression::ALL {
        assert_eq!(Compression::from_name(c.name()).unwrap(), c);
        assert_eq!(c.to_string(), c.name());
    }
    let err = Compression::from_name("tiny").unwrap_err().to_string();
    assert!(err.contains("\"tiny\""), "{err}");
}
