//! Strata's schema model and its exact mapping to and from Arrow.
//!
//! Strata stores a closed set of types ([`DataType`]); every Arrow type outside it is refused
//! with [`FormatError::UnsupportedType`] naming the field, never cast. `Symbol` is a
//! dictionary-encoded, low-cardinality string: Arrow's `Dictionary<Int32, Utf8>` maps to it, and a
//! `Utf8` field whose metadata holds [`SYMBOL_METADATA_KEY`]` = "true"` does too.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow_schema::{
    DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, TimeUnit as ArrowUnit,
};

use crate::error::{FormatError, Result};

/// Field metadata key marking an Arrow `Utf8` field as a [`DataType::Symbol`] (value `"true"`).
pub const SYMBOL_METADATA_KEY: &str = "strata.symbol";

/// Schema metadata key carrying the sort key as comma-separated column names.
pub const SORT_KEY_METADATA_KEY: &str = "strata.sort_key";

/// Resolution of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Seconds.
    Second,
    /// Milliseconds.
    Millisecond,
    /// Microseconds.
    Microsecond,
    /// Nanoseconds.
    Nanosecond,
}

impl TimeUnit {
    fn to_arrow(self) -> ArrowUnit {
        match self {
            TimeUnit::Second => ArrowUnit::Second,
            TimeUnit::Millisecond => ArrowUnit::Millisecond,
            TimeUnit::Microsecond => ArrowUnit::Microsecond,
            TimeUnit::Nanosecond => ArrowUnit::Nanosecond,
        }
    }

    fn from_arrow(u: &ArrowUnit) -> Self {
        match u {
            ArrowUnit::Second => TimeUnit::Second,
            ArrowUnit::Millisecond => TimeUnit::Millisecond,
            ArrowUnit::Microsecond => TimeUnit::Microsecond,
            ArrowUnit::Nanosecond => TimeUnit::Nanosecond,
        }
    }

    /// Short name: `s`, `ms`, `us`, `ns`.
    pub fn short_name(self) -> &'static str {
        match self {
            TimeUnit::Second => "s",
            TimeUnit::Millisecond => "ms",
            TimeUnit::Microsecond => "us",
            TimeUnit::Nanosecond => "ns",
        }
    }
}

/// A column type Strata can store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `bool`.
    Boolean,
    /// `i8`.
    Int8,
    /// `i16`.
    Int16,
    /// `i32`.
    Int32,
    /// `i64`.
    Int64,
    /// `u8`.
    UInt8,
    /// `u16`.
    UInt16,
    /// `u32`.
    UInt32,
    /// `u64`.
    UInt64,
    /// `f32`.
    Float32,
    /// `f64`.
    Float64,
    /// Signed 64-bit count of `unit` since the Unix epoch, optionally with a time zone.
    Timestamp(TimeUnit, Option<Arc<str>>),
    /// Days since the Unix epoch, `i32`.
    Date32,
    /// UTF-8 string with 32-bit offsets.
    Utf8,
    /// UTF-8 string with 64-bit offsets.
    LargeUtf8,
    /// Bytes with 32-bit offsets.
    Binary,
    /// Low-cardinality string stored through a per-segment dictionary.
    Symbol,
}

/// How [`Schema::to_arrow`] (and the reader) presents [`DataType::Symbol`] columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymbolAs {
    /// Arrow `Dictionary<Int32, Utf8>`.
    #[default]
    Dictionary,
    /// Plain Arrow `Utf8` (the field carries [`SYMBOL_METADATA_KEY`] so it maps back).
    Utf8,
}

/// Broad family of a type: which codec path and which statistic kind it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhysicalKind {
    /// Booleans.
    Bool,
    /// Signed integers, timestamps and dates (widened to `i64`).
    Int,
    /// Unsigned integers (widened to `u64`).
    UInt,
    /// Floats.
    Float,
    /// Strings and binaries (including symbols, whose stats are over values).
    Bytes,
}

impl DataType {
    /// The physical family.
    pub fn physical(&self) -> PhysicalKind {
        match self {
            DataType::Boolean => PhysicalKind::Bool,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Timestamp(..)
            | DataType::Date32 => PhysicalKind::Int,
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                PhysicalKind::UInt
            }
            DataType::Float32 | DataType::Float64 => PhysicalKind::Float,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::Symbol => {
                PhysicalKind::Bytes
            }
        }
    }

    /// The Arrow type this maps to.
    pub fn to_arrow(&self, symbol_as: SymbolAs) -> ArrowType {
        match self {
            DataType::Boolean => ArrowType::Boolean,
            DataType::Int8 => ArrowType::Int8,
            DataType::Int16 => ArrowType::Int16,
            DataType::Int32 => ArrowType::Int32,
            DataType::Int64 => ArrowType::Int64,
            DataType::UInt8 => ArrowType::UInt8,
            DataType::UInt16 => ArrowType::UInt16,
            DataType::UInt32 => ArrowType::UInt32,
            DataType::UInt64 => ArrowType::UInt64,
            DataType::Float32 => ArrowType::Float32,
            DataType::Float64 => ArrowType::Float64,
            DataType::Timestamp(u, tz) => ArrowType::Timestamp(u.to_arrow(), tz.clone()),
            DataType::Date32 => ArrowType::Date32,
            DataType::Utf8 => ArrowType::Utf8,
            DataType::LargeUtf8 => ArrowType::LargeUtf8,
            DataType::Binary => ArrowType::Binary,
            DataType::Symbol => match symbol_as {
                SymbolAs::Dictionary => {
                    ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Utf8))
                }
                SymbolAs::Utf8 => ArrowType::Utf8,
            },
        }
    }

    /// Maps an Arrow type; `field` names the field in the error.
    pub fn from_arrow(field: &str, t: &ArrowType) -> Result<Self> {
        Ok(match t {
            ArrowType::Boolean => DataType::Boolean,
            ArrowType::Int8 => DataType::Int8,
            ArrowType::Int16 => DataType::Int16,
            ArrowType::Int32 => DataType::Int32,
            ArrowType::Int64 => DataType::Int64,
            ArrowType::UInt8 => DataType::UInt8,
            ArrowType::UInt16 => DataType::UInt16,
            ArrowType::UInt32 => DataType::UInt32,
            ArrowType::UInt64 => DataType::UInt64,
            ArrowType::Float32 => DataType::Float32,
            ArrowType::Float64 => DataType::Float64,
            ArrowType::Timestamp(u, tz) => DataType::Timestamp(TimeUnit::from_arrow(u), tz.clone()),
            ArrowType::Date32 => DataType::Date32,
            ArrowType::Utf8 => DataType::Utf8,
            ArrowType::LargeUtf8 => DataType::LargeUtf8,
            ArrowType::Binary => DataType::Binary,
            ArrowType::Dictionary(k, v) if **k == ArrowType::Int32 && **v == ArrowType::Utf8 => {
                DataType::Symbol
            }
            other => {
                return Err(FormatError::UnsupportedType {
                    field: field.to_string(),
                    data_type: other.to_string(),
                });
            }
        })
    }

    /// Stable type code written in the footer.
    pub(crate) fn code(&self) -> u8 {
        match self {
            DataType::Boolean => 1,
            DataType::Int8 => 2,
            DataType::Int16 => 3,
            DataType::Int32 => 4,
            DataType::Int64 => 5,
            DataType::UInt8 => 6,
            DataType::UInt16 => 7,
            DataType::UInt32 => 8,
            DataType::UInt64 => 9,
            DataType::Float32 => 10,
            DataType::Float64 => 11,
            DataType::Timestamp(..) => 12,
            DataType::Date32 => 13,
            DataType::Utf8 => 14,
            DataType::LargeUtf8 => 15,
            DataType::Binary => 16,
            DataType::Symbol => 17,
        }
    }

    /// Inverse of [`DataType::code`] for the types without parameters.
    pub(crate) fn from_simple_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => DataType::Boolean,
            2 => DataType::Int8,
            3 => DataType::Int16,
            4 => DataType::Int32,
            5 => DataType::Int64,
            6 => DataType::UInt8,
            7 => DataType::UInt16,
            8 => DataType::UInt32,
            9 => DataType::UInt64,
            10 => DataType::Float32,
            11 => DataType::Float64,
            13 => DataType::Date32,
            14 => DataType::Utf8,
            15 => DataType::LargeUtf8,
            16 => DataType::Binary,
            17 => DataType::Symbol,
            _ => return None,
        })
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Timestamp(u, None) => write!(f, "Timestamp({})", u.short_name()),
            DataType::Timestamp(u, Some(tz)) => write!(f, "Timestamp({}, {tz})", u.short_name()),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Column name, unique within its schema.
    pub name: String,
    /// Column type.
    pub data_type: DataType,
    /// Whether the column may hold nulls.
    pub nullable: bool,
}

impl Field {
    /// A new field.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            data_type,
            nullable,
        }
    }

    /// Maps an Arrow field (see the module doc for the Symbol rules).
    pub fn from_arrow(f: &ArrowField) -> Result<Self> {
        let mut data_type = DataType::from_arrow(f.name(), f.data_type())?;
        if data_type == DataType::Utf8
            && f.metadata().get(SYMBOL_METADATA_KEY).map(String::as_str) == Some("true")
        {
            data_type = DataType::Symbol;
        }
        Ok(Self::new(f.name().clone(), data_type, f.is_nullable()))
    }

    /// The Arrow field. A Symbol shown as `Utf8` carries [`SYMBOL_METADATA_KEY`].
    pub fn to_arrow(&self, symbol_as: SymbolAs) -> ArrowField {
        let f = ArrowField::new(
            &self.name,
            self.data_type.to_arrow(symbol_as),
            self.nullable,
        );
        if self.data_type == DataType::Symbol && symbol_as == SymbolAs::Utf8 {
            f.with_metadata(HashMap::from([(
                SYMBOL_METADATA_KEY.to_string(),
                "true".to_string(),
            )]))
        } else {
            f
        }
    }
}

/// An ordered list of fields and an optional sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Schema {
    /// The columns, in order.
    pub fields: Vec<Field>,
    /// Column names the rows are sorted by (e.g. timestamp, then tags); empty for unsorted.
    pub sort_key: Vec<String>,
}

impl Schema {
    /// A schema without sort key. Fails on duplicate field names.
    pub fn new(fields: Vec<Field>) -> Result<Self> {
        let mut seen = HashSet::new();
        for f in &fields {
            if !seen.insert(f.name.as_str()) {
                return Err(FormatError::SchemaMismatch(format!(
                    "duplicate field name {:?}",
                    f.name
                )));
            }
        }
        Ok(Self {
            fields,
            sort_key: Vec::new(),
        })
    }

    /// Sets the sort key; every name must be a field of the schema, at most once.
    pub fn with_sort_key<S: Into<String>>(
        mut self,
        key: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let key: Vec<String> = key.into_iter().map(Into::into).collect();
        let mut seen = HashSet::new();
        for k in &key {
            if self.index_of(k).is_none() {
                return Err(FormatError::SchemaMismatch(format!(
                    "sort key column {k:?} is not in the schema"
                )));
            }
            if !seen.insert(k.as_str()) {
                return Err(FormatError::SchemaMismatch(format!(
                    "sort key column {k:?} appears twice"
                )));
            }
        }
        self.sort_key = key;
        Ok(self)
    }

    /// Marks the named `Utf8` field as a [`DataType::Symbol`].
    pub fn with_symbol(mut self, name: &str) -> Result<Self> {
        let i = self
            .index_of(name)
            .ok_or_else(|| FormatError::InvalidArgument(format!("no field named {name:?}")))?;
        let f = &mut self.fields[i];
        match f.data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol => {
                f.data_type = DataType::Symbol;
                Ok(self)
            }
            ref other => Err(FormatError::SchemaMismatch(format!(
                "field {name:?} of type {other} cannot be a symbol; only strings can"
            ))),
        }
    }

    /// Index of the field called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Field `i`.
    pub fn field(&self, i: usize) -> Option<&Field> {
        self.fields.get(i)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Indexes of the sort key columns, in key order.
    pub fn sort_key_indices(&self) -> Vec<usize> {
        self.sort_key
            .iter()
            .filter_map(|k| self.index_of(k))
            .collect()
    }

    /// Maps an Arrow schema. The sort key is read from [`SORT_KEY_METADATA_KEY`] when present.
    pub fn from_arrow(s: &ArrowSchema) -> Result<Self> {
        let fields = s
            .fields()
            .iter()
            .map(|f| Field::from_arrow(f))
            .collect::<Result<Vec<_>>>()?;
        let schema = Self::new(fields)?;
        match s.metadata().get(SORT_KEY_METADATA_KEY) {
            Some(key) if !key.is_empty() => schema.with_sort_key(key.split(',').map(str::trim)),
            _ => Ok(schema),
        }
    }

    /// The Arrow schema; a non-empty sort key is recorded under [`SORT_KEY_METADATA_KEY`].
    pub fn to_arrow(&self, symbol_as: SymbolAs) -> ArrowSchema {
        let fields: Vec<ArrowField> = self.fields.iter().map(|f| f.to_arrow(symbol_as)).collect();
        let s = ArrowSchema::new(fields);
        if self.sort_key.is_empty() {
            s
        } else {
            s.with_metadata(HashMap::from([(
                SORT_KEY_METADATA_KEY.to_string(),
                self.sort_key.join(","),
            )]))
        }
    }

    /// An Arrow schema of some of the columns, in the order given; it carries the sort key when
    /// every sort-key column is among them.
    pub fn project_arrow(&self, columns: &[usize], symbol_as: SymbolAs) -> Result<ArrowSchema> {
        let fields = columns
            .iter()
            .map(|&i| {
                self.fields
                    .get(i)
                    .map(|f| f.to_arrow(symbol_as))
                    .ok_or_else(|| FormatError::InvalidArgument(format!("no column {i}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let s = ArrowSchema::new(fields);
        let keep_key = !self.sort_key.is_empty()
            && self.sort_key_indices().iter().all(|k| columns.contains(k));
        Ok(if keep_key {
            s.with_metadata(HashMap::from([(
                SORT_KEY_METADATA_KEY.to_string(),
                self.sort_key.join(","),
            )]))
        } else {
            s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_types() -> Vec<ArrowField> {
        vec![
            ArrowField::new("b", ArrowType::Boolean, true),
            ArrowField::new("i8", ArrowType::Int8, false),
            ArrowField::new("i16", ArrowType::Int16, false),
            ArrowField::new("i32", ArrowType::Int32, false),
            ArrowField::new("i64", ArrowType::Int64, false),
            ArrowField::new("u8", ArrowType::UInt8, false),
            ArrowField::new("u16", ArrowType::UInt16, false),
            ArrowField::new("u32", ArrowType::UInt32, false),
            ArrowField::new("u64", ArrowType::UInt64, false),
            ArrowField::new("f32", ArrowType::Float32, true),
            ArrowField::new("f64", ArrowType::Float64, true),
            ArrowField::new("ts_s", ArrowType::Timestamp(ArrowUnit::Second, None), false),
            ArrowField::new(
                "ts_ms",
                ArrowType::Timestamp(ArrowUnit::Millisecond, None),
                false,
            ),
            ArrowField::new(
                "ts_us",
                ArrowType::Timestamp(ArrowUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            ArrowField::new(
                "ts_ns",
                ArrowType::Timestamp(ArrowUnit::Nanosecond, Some("Europe/Paris".into())),
                false,
            ),
            ArrowField::new("d", ArrowType::Date32, true),
            ArrowField::new("s", ArrowType::Utf8, true),
            ArrowField::new("ls", ArrowType::LargeUtf8, true),
            ArrowField::new("bin", ArrowType::Binary, true),
            ArrowField::new(
                "sym",
                ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Utf8)),
                true,
            ),
        ]
    }

    #[test]
    fn arrow_round_trip_is_exact_for_every_supported_type() {
        let arrow = ArrowSchema::new(all_types());
        let s = Schema::from_arrow(&arrow).unwrap();
        assert_eq!(s.len(), 20);
        assert_eq!(s.fields[19].data_type, DataType::Symbol);
        assert_eq!(s.to_arrow(SymbolAs::Dictionary), arrow);
        // Symbols shown as Utf8 map back to Symbol through the field metadata.
        let as_utf8 = s.to_arrow(SymbolAs::Utf8);
        assert_eq!(as_utf8.field(19).data_type(), &ArrowType::Utf8);
        assert_eq!(Schema::from_arrow(&as_utf8).unwrap(), s);
    }

    #[test]
    fn unsupported_arrow_type_names_the_field() {
        for t in [
            ArrowType::Float16,
            ArrowType::Decimal128(10, 2),
            ArrowType::LargeBinary,
            ArrowType::Date64,
            ArrowType::Dictionary(Box::new(ArrowType::Int8), Box::new(ArrowType::Utf8)),
            ArrowType::Dictionary(Box::new(ArrowType::Int32), Box::new(ArrowType::Int64)),
            ArrowType::List(Arc::new(ArrowField::new("item", ArrowType::Int32, true))),
        ] {
            let arrow = ArrowSchema::new(vec![
                ArrowField::new("ok", ArrowType::Int64, false),
                ArrowField::new("bad_col", t.clone(), true),
            ]);
            match Schema::from_arrow(&arrow) {
                Err(FormatError::UnsupportedType { field, data_type }) => {
                    assert_eq!(field, "bad_col");
                    assert_eq!(data_type, t.to_string());
                }
                other => panic!("expected UnsupportedType for {t}, got {other:?}"),
            }
        }
    }

    #[test]
    fn sort_key_round_trips_through_arrow_metadata_and_is_validated() {
        let s = Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            Field::new("host", DataType::Utf8, false),
        ])
        .unwrap()
        .with_symbol("host")
        .unwrap()
        .with_sort_key(["ts", "host"])
        .unwrap();
        assert_eq!(s.sort_key_indices(), vec![0, 1]);
        assert_eq!(Schema::from_arrow(&s.to_arrow(SymbolAs::Utf8)).unwrap(), s);
        assert!(matches!(
            s.clone().with_sort_key(["nope"]),
            Err(FormatError::SchemaMismatch(_))
        ));
        assert!(matches!(
            s.clone().with_sort_key(["ts", "ts"]),
            Err(FormatError::SchemaMismatch(_))
        ));
        assert!(matches!(
            s.with_symbol("ts"),
            Err(FormatError::SchemaMismatch(_))
        ));
    }

    #[test]
    fn duplicate_field_names_are_refused() {
        let r = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("a", DataType::Utf8, false),
        ]);
        assert!(matches!(r, Err(FormatError::SchemaMismatch(_))));
    }
}
