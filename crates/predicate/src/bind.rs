//! Binding: resolving column names against a schema and converting literals to column types.

use std::fmt;

use arrow_array::timezone::Tz;
use arrow_array::types::Date32Type;
use arrow_cast::parse::{Parser, string_to_datetime};
use strata_format::{DataType, PhysicalKind, ScalarValue, Schema, TimeUnit};

use crate::error::{PredicateError, Result};
use crate::expr::{CmpOp, Expr, Literal};

/// A column a bound predicate reads.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundColumn {
    /// Column name.
    pub name: String,
    /// Index in the schema the predicate was bound against.
    pub index: usize,
    /// The column's type in that schema.
    pub data_type: DataType,
}

/// A predicate node with columns resolved (`col` indexes [`BoundPredicate::columns`]) and
/// literals converted to the column's family ([`ScalarValue::Int`] for signed integers, dates and
/// timestamps in the column's unit, [`ScalarValue::UInt`], [`ScalarValue::Float`] — for
/// `Float32` columns already rounded to `f32` —, [`ScalarValue::Bytes`], [`ScalarValue::Bool`]).
#[derive(Debug, Clone, PartialEq)]
pub enum BoundExpr {
    /// `column op value`.
    Cmp {
        /// Column slot.
        col: usize,
        /// Operator.
        op: CmpOp,
        /// Converted literal.
        value: ScalarValue,
    },
    /// `column BETWEEN low AND high`, both inclusive.
    Between {
        /// Column slot.
        col: usize,
        /// Lower bound.
        low: ScalarValue,
        /// Upper bound.
        high: ScalarValue,
    },
    /// `column IN (values)`.
    InList {
        /// Column slot.
        col: usize,
        /// Candidates.
        values: Vec<ScalarValue>,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        /// Column slot.
        col: usize,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `column LIKE 'prefix%'` (bytewise prefix).
    StartsWith {
        /// Column slot.
        col: usize,
        /// The prefix bytes.
        prefix: Vec<u8>,
    },
    /// Kleene conjunction.
    And(Vec<BoundExpr>),
    /// Kleene disjunction.
    Or(Vec<BoundExpr>),
    /// Kleene negation.
    Not(Box<BoundExpr>),
}

/// A predicate checked against a schema: ready for pruning ([`BoundPredicate::prune_segment`], [`BoundPredicate::prune_block`]),
/// row evaluation ([`BoundPredicate::evaluate`]) and scans ([`crate::Scan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundPredicate {
    pub(crate) expr: BoundExpr,
    pub(crate) columns: Vec<BoundColumn>,
    pub(crate) source: Expr,
}

impl BoundPredicate {
    /// Resolves `expr`'s columns in `schema` and converts its literals to the column types.
    ///
    /// Integers are range-checked for the column's width (signed or unsigned); an integer may
    /// compare with a float column; strings with `Utf8`, `LargeUtf8`, `Symbol` and `Binary`
    /// columns; timestamps are RFC 3339 strings (`'2013-03-01T00:00:00Z'`, with an offset, without
    /// one meaning UTC, or date-only) or raw integers in the column's unit; `Date32` takes
    /// `'YYYY-MM-DD'` or a day number; `LIKE` needs a string column.
    pub fn bind(expr: &Expr, schema: &Schema) -> Result<BoundPredicate> {
        let mut columns: Vec<BoundColumn> = Vec::new();
        let bound = bind_expr(expr, schema, &mut columns)?;
        Ok(BoundPredicate {
            expr: bound,
            columns,
            source: expr.clone(),
        })
    }

    /// Parses `text` ([`crate::parse`]) and binds it to `schema`.
    pub fn parse_and_bind(text: &str, schema: &Schema) -> Result<BoundPredicate> {
        let e = crate::parse::parse(text)?;
        Self::bind(&e, schema)
    }

    /// The bound tree.
    pub fn expr(&self) -> &BoundExpr {
        &self.expr
    }

    /// The columns the predicate reads, in first-use order (slots of [`BoundExpr`]).
    pub fn columns(&self) -> &[BoundColumn] {
        &self.columns
    }

    /// The expression it was bound from.
    pub fn source(&self) -> &Expr {
        &self.source
    }
}

impl fmt::Display for BoundPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

fn slot(name: &str, schema: &Schema, columns: &mut Vec<BoundColumn>) -> Result<usize> {
    if let Some(i) = columns.iter().position(|c| c.name == name) {
        return Ok(i);
    }
    let index = schema
        .index_of(name)
        .ok_or_else(|| PredicateError::UnknownColumn {
            name: name.to_string(),
        })?;
    let field = schema
        .field(index)
        .ok_or_else(|| PredicateError::UnknownColumn {
            name: name.to_string(),
        })?;
    columns.push(BoundColumn {
        name: name.to_string(),
        index,
        data_type: field.data_type.clone(),
    });
    Ok(columns.len() - 1)
}

fn bind_expr(e: &Expr, schema: &Schema, columns: &mut Vec<BoundColumn>) -> Result<BoundExpr> {
    let typed = |column: &str, columns: &mut Vec<BoundColumn>| -> Result<(usize, DataType)> {
        let s = slot(column, schema, columns)?;
        let dt = columns.get(s).map(|c| c.data_type.clone()).ok_or_else(|| {
            PredicateError::UnknownColumn {
                name: column.to_string(),
            }
        })?;
        Ok((s, dt))
    };
    Ok(match e {
        Expr::Cmp { column, op, value } => {
            let (col, dt) = typed(column, columns)?;
            BoundExpr::Cmp {
                col,
                op: *op,
                value: convert_literal(column, &dt, value)?,
            }
        }
        Expr::Between { column, low, high } => {
            let (col, dt) = typed(column, columns)?;
            BoundExpr::Between {
                col,
                low: convert_literal(column, &dt, low)?,
                high: convert_literal(column, &dt, high)?,
            }
        }
        Expr::InList { column, list } => {
            let (col, dt) = typed(column, columns)?;
            BoundExpr::InList {
                col,
                values: list
                    .iter()
                    .map(|l| convert_literal(column, &dt, l))
                    .collect::<Result<_>>()?,
            }
        }
        Expr::IsNull { column, negated } => {
            let (col, _) = typed(column, columns)?;
            BoundExpr::IsNull {
                col,
                negated: *negated,
            }
        }
        Expr::StartsWith { column, prefix } => {
            let (col, dt) = typed(column, columns)?;
            if !is_string(&dt) {
                return Err(PredicateError::TypeMismatch {
                    column: column.clone(),
                    expected: format!("{dt} (LIKE needs a string column)"),
                    literal: Literal::String(format!("{prefix}%")).to_string(),
                });
            }
            BoundExpr::StartsWith {
                col,
                prefix: prefix.as_bytes().to_vec(),
            }
        }
        Expr::And(v) => BoundExpr::And(
            v.iter()
                .map(|e| bind_expr(e, schema, columns))
                .collect::<Result<_>>()?,
        ),
        Expr::Or(v) => BoundExpr::Or(
            v.iter()
                .map(|e| bind_expr(e, schema, columns))
                .collect::<Result<_>>()?,
        ),
        Expr::Not(e) => BoundExpr::Not(Box::new(bind_expr(e, schema, columns)?)),
    })
}

fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol | DataType::Binary
    )
}

/// Inclusive range of a signed integer column's values.
fn signed_range(dt: &DataType) -> (i64, i64) {
    match dt {
        DataType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        DataType::Int32 | DataType::Date32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

fn unsigned_max(dt: &DataType) -> u64 {
    match dt {
        DataType::UInt8 => u8::MAX.into(),
        DataType::UInt16 => u16::MAX.into(),
        DataType::UInt32 => u32::MAX.into(),
        _ => u64::MAX,
    }
}

/// Converts a literal to the family value of a column of type `dt`.
pub(crate) fn convert_literal(column: &str, dt: &DataType, lit: &Literal) -> Result<ScalarValue> {
    let mismatch = |expected: String| PredicateError::TypeMismatch {
        column: column.to_string(),
        expected,
        literal: lit.to_string(),
    };
    match (dt.physical(), lit) {
        (PhysicalKind::Bool, Literal::Bool(b)) => Ok(ScalarValue::Bool(*b)),
        (PhysicalKind::Int, Literal::Int(v)) => {
            let (lo, hi) = signed_range(dt);
            if (lo..=hi).contains(v) {
                Ok(ScalarValue::Int(*v))
            } else {
                Err(mismatch(format!("{dt} ({lo}..={hi})")))
            }
        }
        (PhysicalKind::Int, Literal::String(s)) => match dt {
            DataType::Timestamp(unit, _) => parse_timestamp(s, *unit)
                .map(ScalarValue::Int)
                .ok_or_else(|| mismatch(format!("{dt} (an RFC 3339 timestamp or date)"))),
            DataType::Date32 => Date32Type::parse(s)
                .map(|d| ScalarValue::Int(d.into()))
                .ok_or_else(|| mismatch(format!("{dt} (a 'YYYY-MM-DD' date)"))),
            _ => Err(mismatch(dt.to_string())),
        },
        (PhysicalKind::UInt, Literal::Int(v)) => match u64::try_from(*v) {
            Ok(u) if u <= unsigned_max(dt) => Ok(ScalarValue::UInt(u)),
            _ => Err(mismatch(format!("{dt} (0..={})", unsigned_max(dt)))),
        },
        (PhysicalKind::UInt, Literal::UInt(u)) if *u <= unsigned_max(dt) => {
            Ok(ScalarValue::UInt(*u))
        }
        (PhysicalKind::UInt, Literal::UInt(_)) => {
            Err(mismatch(format!("{dt} (0..={})", unsigned_max(dt))))
        }
        (PhysicalKind::Float, Literal::Float(f)) => Ok(ScalarValue::Float(round_float(dt, *f))),
        (PhysicalKind::Float, Literal::Int(v)) => {
            Ok(ScalarValue::Float(round_float(dt, *v as f64)))
        }
        (PhysicalKind::Float, Literal::UInt(v)) => {
            Ok(ScalarValue::Float(round_float(dt, *v as f64)))
        }
        (PhysicalKind::Bytes, Literal::String(s)) => Ok(ScalarValue::Bytes(s.as_bytes().to_vec())),
        (PhysicalKind::Int, Literal::UInt(_)) => {
            let (lo, hi) = signed_range(dt);
            Err(mismatch(format!("{dt} ({lo}..={hi})")))
        }
        _ => Err(mismatch(dt.to_string())),
    }
}

/// Float32 columns compare with the literal rounded to `f32`, as the Arrow kernels see it.
fn round_float(dt: &DataType, f: f64) -> f64 {
    if *dt == DataType::Float32 {
        f64::from(f as f32)
    } else {
        f
    }
}

/// A timestamp string in the column's unit (UTC when the string has no offset).
fn parse_timestamp(s: &str, unit: TimeUnit) -> Option<i64> {
    let utc: Tz = "+00:00".parse().ok()?;
    let t = string_to_datetime(&utc, s).ok()?;
    match unit {
        TimeUnit::Second => Some(t.timestamp()),
        TimeUnit::Millisecond => Some(t.timestamp_millis()),
        TimeUnit::Microsecond => Some(t.timestamp_micros()),
        TimeUnit::Nanosecond => t.timestamp_nanos_opt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_format::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("i8", DataType::Int8, true),
            Field::new("u16", DataType::UInt16, true),
            Field::new("f32", DataType::Float32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("d", DataType::Date32, true),
            Field::new("s", DataType::Symbol, true),
        ])
        .unwrap()
    }

    fn value(text: &str) -> ScalarValue {
        match BoundPredicate::parse_and_bind(text, &schema())
            .unwrap()
            .expr
        {
            BoundExpr::Cmp { value, .. } => value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn literals_convert_to_column_units() {
        assert_eq!(value("i8 = -128"), ScalarValue::Int(-128));
        assert_eq!(value("u16 = 65535"), ScalarValue::UInt(65535));
        assert_eq!(value("f32 = 3"), ScalarValue::Float(3.0));
        assert_eq!(value("f32 = 0.1"), ScalarValue::Float(f64::from(0.1f32)));
        assert_eq!(
            value("ts = '2013-03-01T00:00:00Z'"),
            ScalarValue::Int(1_362_096_000_000)
        );
        assert_eq!(
            value("ts = '2013-03-01T08:00:00+08:00'"),
            ScalarValue::Int(1_362_096_000_000)
        );
        assert_eq!(
            value("ts = '2013-03-01'"),
            ScalarValue::Int(1_362_096_000_000)
        );
        assert_eq!(value("d = '1970-01-11'"), ScalarValue::Int(10));
        assert_eq!(value("s = 'x'"), ScalarValue::Bytes(b"x".to_vec()));
    }

    #[test]
    fn out_of_range_and_wrong_kind_are_type_errors() {
        for bad in [
            "i8 = 128",
            "u16 = -1",
            "u16 = 65536",
            "i8 = 1.5",
            "ts = 'yesterday'",
            "s = 1",
            "f32 LIKE 'a%'",
        ] {
            let e = BoundPredicate::parse_and_bind(bad, &schema()).unwrap_err();
            assert!(
                matches!(e, PredicateError::TypeMismatch { .. }),
                "{bad}: {e}"
            );
        }
    }
}
