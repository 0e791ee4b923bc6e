//! Row evaluation with Arrow kernels: comparisons by `arrow_ord::cmp` (floats in IEEE total
//! order, so NaN equals NaN and sorts above every number), Kleene AND/OR/NOT by `arrow_arith`,
//! prefixes by `arrow_string`. A NULL input makes a comparison NULL.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar,
    UInt64Array,
};
use arrow_schema::DataType as ArrowType;
use strata_format::{DataType, ScalarValue, SymbolAs};

use crate::bind::{BoundExpr, BoundPredicate};
use crate::error::{PredicateError, Result};
use crate::expr::CmpOp;

impl BoundPredicate {
    /// Evaluates the predicate on every row of `batch` (columns found by name) with Arrow
    /// kernels. NULL where the outcome is unknown; keep only TRUE rows.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let schema = batch.schema();
        let cols = self
            .columns
            .iter()
            .map(|c| {
                let (i, _) = schema.column_with_name(&c.name).ok_or_else(|| {
                    PredicateError::UnknownColumn {
                        name: c.name.clone(),
                    }
                })?;
                conform(batch.column(i), &c.data_type)
            })
            .collect::<Result<Vec<_>>>()?;
        eval(&self.expr, &cols, batch.num_rows())
    }
}

/// The Arrow type a comparison scalar must have for an array of type `t` (dictionary values).
fn value_type(t: &ArrowType) -> &ArrowType {
    match t {
        ArrowType::Dictionary(_, v) => v,
        other => other,
    }
}

/// `array` as the bound type expects it: kept when its (value) type matches, cast otherwise.
pub(crate) fn conform(array: &ArrayRef, bound: &DataType) -> Result<ArrayRef> {
    let want = bound.to_arrow(SymbolAs::Utf8);
    if value_type(array.data_type()) == &want {
        Ok(Arc::clone(array))
    } else {
        Ok(arrow_cast::cast(array, &want)?)
    }
}

/// A one-row array holding `v` as Arrow type `t`.
fn scalar(v: &ScalarValue, t: &ArrowType) -> Result<Scalar<ArrayRef>> {
    let base: ArrayRef = match v {
        ScalarValue::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        ScalarValue::Int(i) => Arc::new(Int64Array::from(vec![*i])),
        ScalarValue::UInt(u) => Arc::new(UInt64Array::from(vec![*u])),
        ScalarValue::Float(f) => Arc::new(Float64Array::from(vec![*f])),
        ScalarValue::Bytes(b) => Arc::new(BinaryArray::from_vec(vec![b.as_slice()])),
    };
    let t = value_type(t);
    let arr = if base.data_type() == t {
        base
    } else {
        arrow_cast::cast(&base, t)?
    };
    if arr.is_null(0) {
        return Err(PredicateError::InvalidArgument(format!(
            "literal {v} does not fit type {t}"
        )));
    }
    Ok(Scalar::new(arr))
}

fn compare(array: &ArrayRef, op: CmpOp, v: &ScalarValue) -> Result<BooleanArray> {
    use arrow_ord::cmp;
    let s = scalar(v, array.data_type())?;
    let a = array.as_ref();
    Ok(match op {
        CmpOp::Eq => cmp::eq(&a, &s)?,
        CmpOp::NotEq => cmp::neq(&a, &s)?,
        CmpOp::Lt => cmp::lt(&a, &s)?,
        CmpOp::LtEq => cmp::lt_eq(&a, &s)?,
        CmpOp::Gt => cmp::gt(&a, &s)?,
        CmpOp::GtEq => cmp::gt_eq(&a, &s)?,
    })
}

/// Evaluates `expr` over `cols` (one array per column slot, each conformed to its bound type).
pub(crate) fn eval(expr: &BoundExpr, cols: &[ArrayRef], rows: usize) -> Result<BooleanArray> {
    let col = |i: usize| {
        cols.get(i)
            .ok_or_else(|| PredicateError::InvalidArgument(format!("no column for slot {i}")))
    };
    Ok(match expr {
        BoundExpr::Cmp { col: c, op, value } => compare(col(*c)?, *op, value)?,
        BoundExpr::Between { col: c, low, high } => {
            let a = col(*c)?;
            and_kleene(
                &compare(a, CmpOp::GtEq, low)?,
                &compare(a, CmpOp::LtEq, high)?,
            )?
        }
        BoundExpr::InList { col: c, values } => {
            let a = col(*c)?;
            let mut acc = BooleanArray::from(vec![false; a.len()]);
            for v in values {
                acc = or_kleene(&acc, &compare(a, CmpOp::Eq, v)?)?;
            }
            acc
        }
        BoundExpr::IsNull { col: c, negated } => {
            let a = col(*c)?;
            if *negated {
                is_not_null(a.as_ref())?
            } else {
                is_null(a.as_ref())?
            }
        }
        BoundExpr::StartsWith { col: c, prefix } => {
            let a = col(*c)?;
            let s = scalar(&ScalarValue::Bytes(prefix.clone()), a.data_type())?;
            arrow_string::like::starts_with(a, &s)?
        }
        BoundExpr::And(v) => {
            let mut acc = BooleanArray::from(vec![true; rows]);
            for e in v {
                acc = and_kleene(&acc, &eval(e, cols, rows)?)?;
            }
            acc
        }
        BoundExpr::Or(v) => {
            let mut acc = BooleanArray::from(vec![false; rows]);
            for e in v {
                acc = or_kleene(&acc, &eval(e, cols, rows)?)?;
            }
            acc
        }
        BoundExpr::Not(e) => not(&eval(e, cols, rows)?)?,
    })
}
