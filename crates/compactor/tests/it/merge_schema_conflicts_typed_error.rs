//! Schema union rules of a merge: conflicts are typed errors, symbols past the limit fall back
//! to strings without losing a value, sort keys must agree.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use strata_compactor::{CompactorError, MergeInput, MergeOptions, merge_segments, merged_schema};
use strata_format::{BlockOptions, DataType, Field, FileSystem, MemFs, Schema, Segment, SymbolAs};

fn segment(fields: Vec<Field>, sort: &[&str], columns: Vec<ArrayRef>) -> Arc<Segment> {
    let schema = Schema::new(fields)
        .unwrap()
        .with_sort_key(sort.iter().copied())
        .unwrap();
    let batch = RecordBatch::try_new(Arc::new(schema.to_arrow(SymbolAs::Utf8)), columns).unwrap();
    let bytes =
        strata_format::write_segment_bytes(schema, &[batch], BlockOptions::default()).unwrap();
    Arc::new(Segment::from_bytes(bytes.into()).unwrap())
}

fn input(i: u64, segment: Arc<Segment>) -> MergeInput {
    MergeInput {
        name: format!("in-{i}"),
        segment,
        deleted: None,
        write_order: i,
    }
}

#[test]
fn merge_type_conflict_returns_typed_error() {
    let a = segment(
        vec![
            Field::new("ts", DataType::Int64, false),
            Field::new("x", DataType::Int64, true),
        ],
        &["ts"],
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![Some(2)])),
        ],
    );
    let b = segment(
        vec![
            Field::new("ts", DataType::Int64, false),
            Field::new("x", DataType::Utf8, true),
        ],
        &["ts"],
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(StringArray::from(vec![Some("2")])),
        ],
    );
    let err = merged_schema(&[a.as_ref(), b.as_ref()], 100).unwrap_err();
    assert!(
        matches!(err, CompactorError::TypeConflict { ref column, .. } if column == "x"),
        "{err}"
    );
    let fs: Arc<dyn FileSystem> = Arc::new(MemFs::new());
    let err = merge_segments(
        fs.clone(),
        Path::new("/t"),
        "out",
        vec![input(0, a), input(1, b)],
        &MergeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CompactorError::TypeConflict { .. }));
    // Nothing was left behind.
    assert!(
        fs.list_dir(Path::new("/t"))
            .map(|v| v.is_empty())
            .unwrap_or(true)
    );
}

#[test]
fn merge_different_sort_keys_is_invalid() {
    let a = segment(
        vec![
            Field::new("ts", DataType::Int64, false),
            Field::new("x", DataType::Int64, false),
        ],
        &["ts"],
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![2])),
        ],
    );
    let b = segment(
        vec![
            Field::new("ts", DataType::Int64, false),
            Field::new("x", DataType::Int64, false),
        ],
        &["x"],
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![2])),
        ],
    );
    assert!(matches!(
        merged_schema(&[a.as_ref(), b.as_ref()], 100),
        Err(CompactorError::InvalidMerge(_))
    ));
}

#[test]
fn merge_symbols_past_limit_fall_back_to_strings_keeping_every_value() {
    let fields = || {
        vec![
            Field::new("ts", DataType::Int64, false),
            Field::new("tag", DataType::Symbol, false),
        ]
    };
    let a = segment(
        fields(),
        &["ts"],
        vec![
            Arc::new(Int64Array::from(vec![1, 3])),
            Arc::new(StringArray::from(vec!["a", "b"])),
        ],
    );
    let b = segment(
        fields(),
        &["ts"],
        vec![
            Arc::new(Int64Array::from(vec![2, 4])),
            Arc::new(StringArray::from(vec!["c", "a"])),
        ],
    );
    let schema = merged_schema(&[a.as_ref(), b.as_ref()], 2).unwrap();
    assert_eq!(schema.fields[1].data_type, DataType::Utf8);
    let schema = merged_schema(&[a.as_ref(), b.as_ref()], 3).unwrap();
    assert_eq!(schema.fields[1].data_type, DataType::Symbol);

    let fs = Arc::new(MemFs::new());
    let opts = MergeOptions {
        symbol_limit: 2,
        ..MergeOptions::default()
    };
    let dyn_fs: Arc<dyn FileSystem> = fs.clone();
    let out = merge_segments(
        dyn_fs,
        Path::new("/t"),
        "out",
        vec![input(0, a), input(1, b)],
        &opts,
    )
    .unwrap();
    let seg = Segment::open(fs.as_ref(), &out.meta.path).unwrap();
    assert_eq!(seg.schema().fields[1].data_type, DataType::Utf8);
    let batch = seg.read_all().unwrap();
    let tags = batch
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let got: Vec<&str> = (0..tags.len()).map(|i| tags.value(i)).collect();
    assert_eq!(got, ["a", "c", "b", "a"]);
}
