//! Which Arrow types a column accepts, and the lossless casts that bring them to the stored type.
//!
//! The rules are listed in the crate documentation; [`can_coerce`] is the single place that
//! decides them and [`coerce_column`] the single place that applies them.

use arrow_array::{Array, ArrayRef};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::DataType as ArrowType;
use strata_format::{DataType, SymbolAs};

use crate::error::{MemtableError, Result};

/// True when a column of Strata type `to` accepts an Arrow array of type `from`.
///
/// The accepted pairs are the crate documentation's coercion table: the exact type, a wider
/// integer of the same signedness, an unsigned integer into a wider signed one, `Float32` into
/// `Float64`, any string form (`Utf8`, `LargeUtf8`, `Dictionary<integer, Utf8 | LargeUtf8>`) into
/// any string column (`Utf8`, `LargeUtf8`, `Symbol`), and a timestamp with the same unit and the
/// same time zone (or both without one).
pub fn can_coerce(from: &ArrowType, to: &DataType) -> bool {
    use ArrowType as A;
    match to {
        DataType::Boolean => matches!(from, A::Boolean),
        DataType::Int8 => matches!(from, A::Int8),
        DataType::Int16 => matches!(from, A::Int8 | A::Int16 | A::UInt8),
        DataType::Int32 => matches!(from, A::Int8 | A::Int16 | A::Int32 | A::UInt8 | A::UInt16),
        DataType::Int64 => matches!(
            from,
            A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32
        ),
        DataType::UInt8 => matches!(from, A::UInt8),
        DataType::UInt16 => matches!(from, A::UInt8 | A::UInt16),
        DataType::UInt32 => matches!(from, A::UInt8 | A::UInt16 | A::UInt32),
        DataType::UInt64 => matches!(from, A::UInt8 | A::UInt16 | A::UInt32 | A::UInt64),
        DataType::Float32 => matches!(from, A::Float32),
        DataType::Float64 => matches!(from, A::Float32 | A::Float64),
        DataType::Timestamp(..) => *from == to.to_arrow(SymbolAs::Dictionary),
        DataType::Date32 => matches!(from, A::Date32),
        DataType::Binary => matches!(from, A::Binary),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol => is_string_form(from),
    }
}

fn is_string_form(t: &ArrowType) -> bool {
    match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 => true,
        ArrowType::Dictionary(k, v) => {
            k.is_dictionary_key_type() && matches!(**v, ArrowType::Utf8 | ArrowType::LargeUtf8)
        }
        _ => false,
    }
}

/// The Arrow type a column is held in between append and drain: the schema's Arrow type, except
/// that a `Symbol` is held as `Utf8` here (the memtable dictionary-encodes it itself).
pub(crate) fn held_type(t: &DataType) -> ArrowType {
    t.to_arrow(SymbolAs::Utf8)
}

/// Brings `array` to [`held_type`]`(to)`, or says why it cannot.
///
/// Casts run with `safe: false`, so a cast that cannot represent a value (a `LargeUtf8` column
/// over 2 GiB into `Utf8`) fails rather than turning the value into a null.
pub(crate) fn coerce_column(column: &str, to: &DataType, array: &ArrayRef) -> Result<ArrayRef> {
    let from = array.data_type();
    if !can_coerce(from, to) {
        return Err(MemtableError::SchemaMismatch {
            column: column.to_string(),
            expected: format!("{to} (Arrow {})", to.to_arrow(SymbolAs::Dictionary)),
            found: from.to_string(),
        });
    }
    let held = held_type(to);
    if *from == held {
        return Ok(array.clone());
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, &held, &options).map_err(|source| MemtableError::Arrow {
        context: format!("coercing column {column:?} from {from} to {held}"),
        source,
    })
}

/// Index of the first null row, if any.
pub(crate) fn first_null(array: &dyn Array) -> Option<usize> {
    let nulls = array.logical_nulls()?;
    if nulls.null_count() == 0 {
        return None;
    }
    nulls.iter().position(|valid| !valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn exact_type_is_returned_without_a_copy() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
        let b = coerce_column("c", &DataType::Int32, &a).unwrap();
        assert_eq!(
            a.to_data().buffers()[0].as_ptr(),
            b.to_data().buffers()[0].as_ptr()
        );
    }

    #[test]
    fn symbol_is_held_as_utf8() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
        let b = coerce_column("c", &DataType::Symbol, &a).unwrap();
        assert_eq!(b.data_type(), &ArrowType::Utf8);
    }

    #[test]
    fn narrowing_is_refused_with_both_types_named() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let e = coerce_column("c", &DataType::Int16, &a).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column \"c\": expected Int16 (Arrow Int16), found Arrow type Int32"
        );
    }

    #[test]
    fn first_null_sees_logical_nulls_of_dictionaries() {
        use arrow_array::{DictionaryArray, types::Int8Type};
        let values = StringArray::from(vec![Some("a"), None]);
        let keys = arrow_array::Int8Array::from(vec![0, 0, 1]);
        let d = DictionaryArray::<Int8Type>::try_new(keys, Arc::new(values)).unwrap();
        assert_eq!(first_null(&d), Some(2));
    }
}
