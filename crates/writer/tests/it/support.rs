//! Helpers shared by the writer's scenario tests.
#![allow(unreachable_pub)]

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType as ArrowType;

/// `STRATA_DATA_DIR`, or `../shared/data` relative to the workspace root.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("STRATA_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Presents dictionary arrays as their value type, so that a column read back as a dictionary
/// compares with one written as plain strings (and two dictionaries with different codes
/// compare by value).
pub fn logical(a: &ArrayRef) -> Result<ArrayRef, String> {
    match a.data_type() {
        ArrowType::Dictionary(_, v) => {
            arrow_cast::cast(a, v).map_err(|e| format!("casting {} to {v}: {e}", a.data_type()))
        }
        _ => Ok(a.clone()),
    }
}

/// Compares two arrays value by value: same logical type, same nulls, and for floats the same
/// bits (so NaN payloads and -0.0 must survive).
pub fn arrays_equal(actual: &ArrayRef, expected: &ArrayRef) -> Result<(), String> {
    let a = logical(actual)?;
    let e = logical(expected)?;
    if a.data_type() != e.data_type() {
        return Err(format!(
            "type {} != expected {}",
            a.data_type(),
            e.data_type()
        ));
    }
    if a.len() != e.len() {
        return Err(format!("{} rows != expected {}", a.len(), e.len()));
    }
    let nulls_of = |x: &ArrayRef| -> Vec<bool> { (0..x.len()).map(|i| x.is_valid(i)).collect() };
    if nulls_of(&a) != nulls_of(&e) {
        let row = (0..a.len()).find(|&i| a.is_valid(i) != e.is_valid(i));
        return Err(format!("validity differs (first at row {row:?})"));
    }
    let bits_differ_at = match a.data_type() {
        ArrowType::Float32 => {
            let (x, y) = (
                a.as_primitive::<Float32Type>(),
                e.as_primitive::<Float32Type>(),
            );
            (0..x.len()).find(|&i| x.is_valid(i) && x.value(i).to_bits() != y.value(i).to_bits())
        }
        ArrowType::Float64 => {
            let (x, y) = (
                a.as_primitive::<Float64Type>(),
                e.as_primitive::<Float64Type>(),
            );
            (0..x.len()).find(|&i| x.is_valid(i) && x.value(i).to_bits() != y.value(i).to_bits())
        }
        _ => {
            if a.to_data() == e.to_data() {
                None
            } else {
                Some(
                    (0..a.len())
                        .find(|&i| a.slice(i, 1).to_data() != e.slice(i, 1).to_data())
                        .unwrap_or(0),
                )
            }
        }
    };
    match bits_differ_at {
        None => Ok(()),
        Some(row) => Err(format!(
            "values differ at row {row}: {:?} != expected {:?}",
            a.slice(row, 1),
            e.slice(row, 1)
        )),
    }
}

/// Compares two batches column by column with [`arrays_equal`] (names and row counts too;
/// field metadata and dictionary-vs-plain presentation are not compared).
pub fn batches_equal(actual: &RecordBatch, expected: &RecordBatch) -> Result<(), String> {
    if actual.num_rows() != expected.num_rows() {
        return Err(format!(
            "{} rows != expected {}",
            actual.num_rows(),
            expected.num_rows()
        ));
    }
    if actual.num_columns() != expected.num_columns() {
        return Err(format!(
            "{} columns != expected {}",
            actual.num_columns(),
            expected.num_columns()
        ));
    }
    let (sa, se) = (actual.schema(), expected.schema());
    for (i, (fa, fe)) in sa.fields().iter().zip(se.fields()).enumerate() {
        if fa.name() != fe.name() {
            return Err(format!(
                "column {i} is {:?}, expected {:?}",
                fa.name(),
                fe.name()
            ));
        }
        arrays_equal(actual.column(i), expected.column(i))
            .map_err(|e| format!("column {:?}: {e}", fa.name()))?;
    }
    Ok(())
}
