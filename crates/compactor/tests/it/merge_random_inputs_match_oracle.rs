//! The k-way merge against an oracle: concatenate every input's live rows, sort stably by
//! (key, write order, position), and (for last-write-wins) keep the last row of each key.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use proptest::prelude::*;
use roaring::RoaringBitmap;
use strata_compactor::{DuplicatePolicy, MergeInput, MergeOptions, merge_segments};
use strata_format::{BlockOptions, DataType, Field, FileSystem, MemFs, Schema, Segment, SymbolAs};
use strata_writer::{SegmentWriter, WriterOptions};

#[derive(Debug, Clone, PartialEq)]
struct Row {
    ts: i64,
    host: Option<String>,
    v: Option<f64>,
}

fn schema(with_v: bool) -> Schema {
    let mut fields = vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, true),
    ];
    if with_v {
        fields.push(Field::new("v", DataType::Float64, true));
    }
    Schema::new(fields).unwrap().with_sort_key(["ts"]).unwrap()
}

fn write(
    fs: &Arc<MemFs>,
    name: &str,
    rows: &[Row],
    with_v: bool,
    block_rows: usize,
) -> Arc<Segment> {
    let s = schema(with_v);
    let arrow = Arc::new(s.to_arrow(SymbolAs::Utf8));
    let mut cols: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int64Array::from(
            rows.iter().map(|r| r.ts).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.host.clone()).collect::<Vec<_>>(),
        )),
    ];
    if with_v {
        cols.push(Arc::new(Float64Array::from(
            rows.iter().map(|r| r.v).collect::<Vec<_>>(),
        )));
    }
    let batch = RecordBatch::try_new(arrow, cols).unwrap();
    let opts = WriterOptions {
        block: BlockOptions {
            block_rows,
            ..BlockOptions::default()
        },
        ..WriterOptions::default()
    };
    let dyn_fs: Arc<dyn FileSystem> = fs.clone();
    let mut w = SegmentWriter::create(dyn_fs, Path::new("/t"), name, s, opts).unwrap();
    w.write_batch(&batch).unwrap();
    let meta = w.finish().unwrap();
    Arc::new(Segment::open(fs.as_ref(), &meta.path).unwrap())
}

fn read_rows(seg: &Segment) -> Vec<Row> {
    let b = seg
        .clone()
        .with_symbol_as(SymbolAs::Utf8)
        .read_all()
        .unwrap();
    let ts = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let host = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    // The output has `v` only when some input had it.
    let v = b
        .column_by_name("v")
        .map(|c| c.as_any().downcast_ref::<Float64Array>().unwrap().clone());
    (0..b.num_rows())
        .map(|i| Row {
            ts: ts.value(i),
            host: host.is_valid(i).then(|| host.value(i).to_string()),
            v: v.as_ref().and_then(|v| v.is_valid(i).then(|| v.value(i))),
        })
        .collect()
}

fn row_strategy() -> impl Strategy<Value = Row> {
    (
        0i64..200,
        prop::option::of(prop::sample::select(vec!["a", "b", "c", "dd"])),
        prop::option::of(-1e6f64..1e6),
    )
        .prop_map(|(ts, host, v)| Row {
            ts,
            host: host.map(str::to_string),
            v,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn merge_random_sorted_inputs_equal_oracle(
        inputs in prop::collection::vec(
            (prop::collection::vec(row_strategy(), 0..400), any::<bool>(), prop::collection::vec(any::<u16>(), 0..40)),
            1..6,
        ),
        block_rows in 1usize..300,
        batch_rows in 1usize..500,
        lww in any::<bool>(),
    ) {
        let fs = Arc::new(MemFs::new());
        let mut merge_inputs = Vec::new();
        let mut oracle: Vec<(i64, u64, usize, Row)> = Vec::new();
        for (i, (mut rows, with_v, del)) in inputs.into_iter().enumerate() {
            rows.sort_by_key(|r| r.ts);
            if !with_v {
                for r in &mut rows {
                    r.v = None;
                }
            }
            let seg = write(&fs, &format!("in-{i}"), &rows, with_v, block_rows);
            let deleted: RoaringBitmap = del.iter().filter(|_| !rows.is_empty()).map(|&d| u32::from(d) % rows.len() as u32).collect();
            for (pos, r) in rows.iter().enumerate() {
                if !deleted.contains(pos as u32) {
                    oracle.push((r.ts, i as u64, pos, r.clone()));
                }
            }
            merge_inputs.push(MergeInput {
                name: format!("in-{i}"),
                segment: seg,
                deleted: Some(deleted),
                write_order: i as u64,
            });
        }
        oracle.sort_by_key(|a| (a.0, a.1, a.2));
        let mut expected: Vec<Row> = Vec::new();
        for (ts, _, _, r) in oracle {
            if lww && expected.last().is_some_and(|l| l.ts == ts) {
                expected.pop();
            }
            expected.push(r);
        }
        let opts = MergeOptions {
            duplicates: if lww { DuplicatePolicy::LastWriteWins } else { DuplicatePolicy::KeepAll },
            batch_rows,
            writer: WriterOptions {
                block: BlockOptions { block_rows, ..BlockOptions::default() },
                ..WriterOptions::default()
            },
            ..MergeOptions::default()
        };
        let dyn_fs: Arc<dyn FileSystem> = fs.clone();
        let out = merge_segments(dyn_fs, Path::new("/t"), "out", merge_inputs, &opts).unwrap();
        prop_assert_eq!(out.rows_out, expected.len() as u64);
        let seg = Segment::open(fs.as_ref(), &out.meta.path).unwrap();
        let got = read_rows(&seg);
        prop_assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            prop_assert_eq!(g.ts, e.ts);
            prop_assert_eq!(&g.host, &e.host);
            prop_assert_eq!(g.v.map(f64::to_bits), e.v.map(f64::to_bits));
        }
    }
}
