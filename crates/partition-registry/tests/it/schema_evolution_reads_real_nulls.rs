//! Schema evolution: an added nullable column reads as real nulls in older segments (not 0 or
//! NaN), a dropped column is metadata only, a widened column is cast, and incompatible changes
//! are typed errors.

use std::sync::Arc;

use crate::common::*;
use arrow_array::{
    Array, Float64Array, Int32Array, Int64Array, RecordBatch, TimestampMillisecondArray,
};
use strata_format::{DataType, FaultFs, Field};
use strata_partition_registry::{Edit, RegistryError, SchemaChange};

fn collect(r: &strata_partition_registry::Registry) -> RecordBatch {
    let batches: Vec<RecordBatch> = r
        .scan()
        .unwrap()
        .execute()
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn added_float_column_is_null_in_old_segments_and_survives_reopen() {
    let fs = FaultFs::new();
    let r = create(&fs);
    r.write_segment(&batch(&r, &[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    r.commit(Edit::ChangeSchema(SchemaChange::AddColumn(Field::new(
        "f",
        DataType::Float64,
        true,
    ))))
    .unwrap();
    let schema = r.state().schema.schema();
    let b = RecordBatch::try_new(
        Arc::new(schema.to_arrow(Default::default())),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![3])),
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(Int64Array::from(vec![30])),
            Arc::new(Float64Array::from(vec![0.5])),
        ],
    )
    .unwrap();
    r.write_segment(&b, Default::default()).unwrap();
    drop(r);
    let fs = fs.restart();
    let r = open(&fs);
    let all = collect(&r);
    let f = all
        .column_by_name("f")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(f.len(), 3);
    assert!(f.is_null(0) && f.is_null(1), "old rows must be real nulls");
    assert_eq!(f.null_count(), 2);
    assert_eq!(f.value(2), 0.5);
}

#[test]
fn drop_is_metadata_only_and_widening_casts_old_segments() {
    let fs = FaultFs::new();
    let r = create(&fs);
    r.commit(Edit::ChangeSchema(SchemaChange::AddColumn(Field::new(
        "small",
        DataType::Int32,
        true,
    ))))
    .unwrap();
    let schema = r.state().schema.schema();
    let b = RecordBatch::try_new(
        Arc::new(schema.to_arrow(Default::default())),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![1, 2])),
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Int64Array::from(vec![10, 20])),
            Arc::new(Int32Array::from(vec![Some(-7), None])),
        ],
    )
    .unwrap();
    let seg = r.write_segment(&b, Default::default()).unwrap();
    let file_before = fs.contents(&dir().join(&seg.file)).unwrap();
    r.commit(Edit::ChangeSchema(SchemaChange::ChangeType {
        column: "small".into(),
        to: DataType::Int64,
    }))
    .unwrap();
    r.commit(Edit::ChangeSchema(SchemaChange::DropColumn("v".into())))
        .unwrap();
    assert_eq!(fs.contents(&dir().join(&seg.file)).unwrap(), file_before);
    let all = collect(&r);
    assert!(all.column_by_name("v").is_none());
    let small = all
        .column_by_name("small")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(small.value(0), -7);
    assert!(small.is_null(1));
    // A dropped name cannot come back (old files still hold values under it).
    let e = r
        .commit(Edit::ChangeSchema(SchemaChange::AddColumn(Field::new(
            "v",
            DataType::Int64,
            true,
        ))))
        .unwrap_err();
    assert!(matches!(e, RegistryError::InvalidSchemaChange(_)), "{e}");
}

#[test]
fn incompatible_changes_are_typed_errors() {
    let fs = FaultFs::new();
    let r = create(&fs);
    let before = r.state();
    let cases = [
        (
            SchemaChange::ChangeType {
                column: "v".into(),
                to: DataType::Int32,
            },
            "narrowing",
        ),
        (
            SchemaChange::ChangeType {
                column: "v".into(),
                to: DataType::Utf8,
            },
            "to string",
        ),
        (
            SchemaChange::ChangeType {
                column: "ts".into(),
                to: DataType::Int64,
            },
            "time column",
        ),
    ];
    for (c, what) in cases {
        let e = r.commit(Edit::ChangeSchema(c)).unwrap_err();
        assert!(
            matches!(e, RegistryError::IncompatibleTypeChange { .. }),
            "{what}: {e}"
        );
    }
    for c in [
        SchemaChange::AddColumn(Field::new("nn", DataType::Int64, false)),
        SchemaChange::AddColumn(Field::new("k", DataType::Int64, true)),
        SchemaChange::DropColumn("ts".into()),
        SchemaChange::DropColumn("nope".into()),
    ] {
        let e = r.commit(Edit::ChangeSchema(c.clone())).unwrap_err();
        assert!(
            matches!(e, RegistryError::InvalidSchemaChange(_)),
            "{c:?}: {e}"
        );
    }
    assert_eq!(r.state(), before);
}
