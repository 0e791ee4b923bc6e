//! Every coercion in the crate documentation's table is accepted and keeps every value; every
//! other pair is refused with the column and both types named.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::*;
use arrow_cast::cast;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType as A, Field as ArrowField, Schema as ArrowSchema, TimeUnit as U};
use strata_format::{DataType, Field, Schema, SymbolAs, TimeUnit};
use strata_memtable::{Memtable, MemtableError, MemtableOptions, can_coerce};

fn targets() -> Vec<DataType> {
    vec![
        DataType::Boolean,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Timestamp(TimeUnit::Millisecond, None),
        DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())),
        DataType::Timestamp(TimeUnit::Nanosecond, None),
        DataType::Date32,
        DataType::Utf8,
        DataType::LargeUtf8,
        DataType::Binary,
        DataType::Symbol,
    ]
}

fn dict(k: A, v: A) -> A {
    A::Dictionary(Box::new(k), Box::new(v))
}

fn inputs() -> Vec<A> {
    vec![
        A::Boolean,
        A::Int8,
        A::Int16,
        A::Int32,
        A::Int64,
        A::UInt8,
        A::UInt16,
        A::UInt32,
        A::UInt64,
        A::Float32,
        A::Float64,
        A::Timestamp(U::Second, None),
        A::Timestamp(U::Millisecond, None),
        A::Timestamp(U::Millisecond, Some("UTC".into())),
        A::Timestamp(U::Millisecond, Some("+00:00".into())),
        A::Timestamp(U::Nanosecond, None),
        A::Date32,
        A::Date64,
        A::Utf8,
        A::LargeUtf8,
        A::Utf8View,
        A::Binary,
        A::LargeBinary,
        dict(A::Int8, A::Utf8),
        dict(A::Int32, A::Utf8),
        dict(A::UInt16, A::LargeUtf8),
        dict(A::Int32, A::Int64),
    ]
}

/// Three values of type `t`: its extremes where it has them, and a null.
fn sample(t: &A) -> ArrayRef {
    let strings = StringArray::from(vec![Some("héllo"), Some(""), None]);
    match t {
        A::Boolean => Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        A::Int8 => Arc::new(Int8Array::from(vec![Some(i8::MIN), Some(i8::MAX), None])),
        A::Int16 => Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])),
        A::Int32 => Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
        A::Int64 => Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
        A::UInt8 => Arc::new(UInt8Array::from(vec![Some(0), Some(u8::MAX), None])),
        A::UInt16 => Arc::new(UInt16Array::from(vec![Some(0), Some(u16::MAX), None])),
        A::UInt32 => Arc::new(UInt32Array::from(vec![Some(0), Some(u32::MAX), None])),
        A::UInt64 => Arc::new(UInt64Array::from(vec![Some(0), Some(u64::MAX), None])),
        A::Float32 => Arc::new(Float32Array::from(vec![Some(1.5), Some(-1e10), None])),
        A::Float64 => Arc::new(Float64Array::from(vec![Some(f64::MAX), Some(-0.25), None])),
        A::Timestamp(U::Second, tz) => Arc::new(
            TimestampSecondArray::from(vec![Some(1_700_000_000), Some(-1), None])
                .with_timezone_opt(tz.clone()),
        ),
        A::Timestamp(U::Millisecond, tz) => Arc::new(
            TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), Some(-1), None])
                .with_timezone_opt(tz.clone()),
        ),
        A::Timestamp(U::Nanosecond, tz) => Arc::new(
            TimestampNanosecondArray::from(vec![Some(i64::MAX), Some(-1), None])
                .with_timezone_opt(tz.clone()),
        ),
        A::Date32 => Arc::new(Date32Array::from(vec![Some(19_000), Some(-1), None])),
        A::Date64 => Arc::new(Date64Array::from(vec![Some(86_400_000), Some(0), None])),
        A::Utf8 => Arc::new(strings),
        A::LargeUtf8 | A::Utf8View => cast(&strings, t).unwrap(),
        A::Binary => Arc::new(BinaryArray::from(vec![
            Some(&b"\x00\xff"[..]),
            Some(&b""[..]),
            None,
        ])),
        A::LargeBinary => cast(&sample(&A::Binary), t).unwrap(),
        A::Dictionary(_, v) if **v == A::Int64 => cast(&sample(&A::Int64), t).unwrap(),
        A::Dictionary(..) => cast(&strings, t).unwrap(),
        other => panic!("no sample for {other}"),
    }
}

fn memtable(t: &DataType) -> Memtable {
    let schema = Schema::new(vec![Field::new("c", t.clone(), true)]).unwrap();
    Memtable::new(Arc::new(schema), MemtableOptions::default()).unwrap()
}

fn one_column(a: ArrayRef) -> RecordBatch {
    let schema = ArrowSchema::new(vec![ArrowField::new("c", a.data_type().clone(), true)]);
    RecordBatch::try_new(Arc::new(schema), vec![a]).unwrap()
}

fn display(a: &dyn Array) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let f = ArrayFormatter::try_new(a, &options).unwrap();
    (0..a.len()).map(|i| f.value(i).to_string()).collect()
}

#[test]
fn coercion_table() {
    let mut table = String::new();
    for to in targets() {
        let accepted: Vec<String> = inputs()
            .iter()
            .filter(|from| can_coerce(from, &to))
            .map(ToString::to_string)
            .collect();
        writeln!(table, "{to:<24} <- {}", accepted.join(", ")).unwrap();
    }
    insta::assert_snapshot!(table);
}

#[test]
fn every_accepted_coercion_keeps_every_value() {
    let mut checked = 0;
    for to in targets() {
        for from in inputs().iter().filter(|from| can_coerce(from, &to)) {
            let input = sample(from);
            let mut m = memtable(&to);
            m.append(&one_column(input.clone()))
                .unwrap_or_else(|e| panic!("{from} into {to}: {e}"));
            let d = m.drain().unwrap().unwrap();
            let out = d.batch.column(0);
            assert_eq!(
                out.data_type(),
                &to.to_arrow(SymbolAs::Dictionary),
                "{from} into {to}"
            );
            assert_eq!(display(out), display(&input), "{from} into {to}");
            checked += 1;
        }
    }
    assert_eq!(checked, 50, "pairs in the documented table");
}

#[test]
fn every_other_pair_is_refused_naming_column_and_types() {
    for to in targets() {
        for from in inputs().iter().filter(|from| !can_coerce(from, &to)) {
            let mut m = memtable(&to);
            match m.append(&one_column(sample(from))) {
                Err(MemtableError::SchemaMismatch {
                    column,
                    expected,
                    found,
                }) => {
                    assert_eq!(column, "c");
                    assert!(expected.starts_with(&to.to_string()), "{expected}");
                    assert_eq!(found, from.to_string());
                }
                other => panic!("{from} into {to}: expected SchemaMismatch, got {other:?}"),
            }
            assert!(m.is_empty());
            assert_eq!(m.memory_bytes(), 0);
        }
    }
}

#[test]
fn error_messages() {
    let zoned = DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()));
    let mut m = memtable(&zoned);
    let naive = m
        .append(&one_column(sample(&A::Timestamp(U::Millisecond, None))))
        .unwrap_err();
    let mut m = memtable(&DataType::Int32);
    let narrowing = m.append(&one_column(sample(&A::Int64))).unwrap_err();
    let schema = Schema::new(vec![Field::new("c", DataType::Utf8, false)]).unwrap();
    let mut m = Memtable::new(Arc::new(schema), MemtableOptions::default()).unwrap();
    let null = m.append(&one_column(sample(&A::LargeUtf8))).unwrap_err();
    let mut m = memtable(&DataType::Symbol);
    let binary = m.append(&one_column(sample(&A::Binary))).unwrap_err();
    insta::assert_snapshot!(format!("{naive}\n{narrowing}\n{null}\n{binary}"));
}
