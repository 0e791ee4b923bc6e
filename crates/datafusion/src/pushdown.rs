//! Filter pushdown: DataFusion `Expr` → Strata predicate, and how exact that is.
//!
//! A translation is **exact** when Strata keeps exactly the rows DataFusion's own filter would:
//! a column compared with a literal of the column's own Arrow type (DataFusion's coercion puts
//! it there), both sides evaluated by Arrow's comparison kernels (floats in IEEE total order,
//! so NaN equals NaN and sorts above every number in both engines; strings bytewise;
//! timestamps as their UTC instant, zone equal on both sides), NULL operands giving NULL and a
//! row kept only when the predicate is TRUE (Kleene AND / OR / NOT in both). One difference is
//! bridged: DataFusion reads float `-0.0` as `+0.0` before comparing while Strata keeps
//! `-0.0 < +0.0`, so a comparison with a float zero is rewritten (`x = 0.0` becomes
//! `x BETWEEN -0.0 AND 0.0`, `x < 0.0` becomes `x < -0.0`, …); with any other literal the two
//! orders agree. It is **inexact** when Strata keeps a superset (an AND one of whose children
//! cannot be translated): Strata prunes, DataFusion
//! filters again. Everything else is unsupported, in particular:
//!
//! - a cast (or any function) over a column: its value is not the stored value, and pruning
//!   with the stored value's statistics could drop matching rows;
//! - NULL literals, NaN literals (NaN payloads differ between engines), binary columns;
//! - `ILIKE`, `LIKE` with an escape character or a pattern other than `'literal prefix%'`.
//!
//! Each filter is classified on its own: the answer never depends on the other filters.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Like, Operator, TableProviderFilterPushDown, expr::InList,
};
use strata::stack::predicate::{CmpOp, Expr as Pred, Literal};
use strata::{BoundPredicate, DataType, Schema, TimeUnit};

/// A Strata predicate for a DataFusion filter, and whether it keeps exactly the same rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Translation {
    pub(crate) predicate: Pred,
    pub(crate) exact: bool,
}

/// How Strata can answer `filter` over `schema` (see the module doc).
pub fn classify(filter: &Expr, schema: &Schema) -> TableProviderFilterPushDown {
    match translate(filter, schema) {
        Some(t) if t.exact => TableProviderFilterPushDown::Exact,
        Some(_) => TableProviderFilterPushDown::Inexact,
        None => TableProviderFilterPushDown::Unsupported,
    }
}

/// The Strata predicate for `filter`, bound-checked against `schema`; `None` when unsupported.
pub(crate) fn translate(filter: &Expr, schema: &Schema) -> Option<Translation> {
    let t = translate_expr(filter, schema)?;
    // Binding is the final check (column exists, literal converts to the column's type).
    BoundPredicate::bind(&t.predicate, schema).ok()?;
    Some(t)
}

/// The conjunction of the translations of `filters` (those that translate), bound to `schema`,
/// and whether every filter was translated exactly.
pub(crate) fn conjunction(filters: &[Expr], schema: &Schema) -> (Option<BoundPredicate>, bool) {
    let mut all_exact = true;
    let mut out: Option<Pred> = None;
    for f in filters {
        match translate(f, schema) {
            Some(t) => {
                all_exact &= t.exact;
                out = Some(match out {
                    Some(p) => p.and(t.predicate),
                    None => t.predicate,
                });
            }
            None => all_exact = false,
        }
    }
    match out.map(|p| BoundPredicate::bind(&p, schema)) {
        Some(Ok(p)) => (Some(p), all_exact),
        Some(Err(_)) => (None, false),
        None => (None, all_exact),
    }
}

fn exact(predicate: Pred) -> Option<Translation> {
    Some(Translation {
        predicate,
        exact: true,
    })
}

fn translate_expr(e: &Expr, schema: &Schema) -> Option<Translation> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                let l = translate_expr(left, schema);
                let r = translate_expr(right, schema);
                match (l, r) {
                    (Some(l), Some(r)) => Some(Translation {
                        predicate: l.predicate.and(r.predicate),
                        exact: l.exact && r.exact,
                    }),
                    // Dropping a conjunct keeps a superset of the rows.
                    (Some(one), None) | (None, Some(one)) => Some(Translation {
                        predicate: one.predicate,
                        exact: false,
                    }),
                    (None, None) => None,
                }
            }
            Operator::Or => {
                let l = translate_expr(left, schema)?;
                let r = translate_expr(right, schema)?;
                Some(Translation {
                    predicate: l.predicate.or(r.predicate),
                    exact: l.exact && r.exact,
                })
            }
            _ => {
                let op = cmp_op(*op)?;
                let ((name, dt), op, v) =
                    if let (Some(c), Some(v)) = (column(left, schema), literal(right)) {
                        (c, op, v)
                    } else if let (Some(v), Some(c)) = (literal(left), column(right, schema)) {
                        (c, op.swapped(), v)
                    } else {
                        return None;
                    };
                let value = convert(&v, dt)?;
                if is_zero(&v) {
                    return exact(compare_with_zero(name, op));
                }
                exact(Pred::cmp(name, op, value))
            }
        },
        Expr::Not(inner) => {
            // NOT of a superset is not a superset: only an exact child can be negated.
            let t = translate_expr(inner, schema)?;
            t.exact.then(|| Translation {
                predicate: t.predicate.not(),
                exact: true,
            })
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            let (name, _) = column(inner, schema)?;
            exact(Pred::IsNull {
                column: name,
                negated: matches!(e, Expr::IsNotNull(_)),
            })
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => {
            let (name, dt) = column(expr, schema)?;
            let (low, high) = (literal(low)?, literal(high)?);
            // DataFusion compares floats with -0.0 read as +0.0: a zero bound takes in both.
            let p = Pred::Between {
                column: name,
                low: if is_zero(&low) {
                    Literal::Float(-0.0)
                } else {
                    convert(&low, dt)?
                },
                high: if is_zero(&high) {
                    Literal::Float(0.0)
                } else {
                    convert(&high, dt)?
                },
            };
            exact(if *negated { p.not() } else { p })
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => {
            let (name, dt) = column(expr, schema)?;
            if list.is_empty() {
                return None;
            }
            // DataFusion's IN list tells -0.0 from +0.0 but its `=` does not, and which one
            // runs depends on its own rewrites: a float zero in the list is not translated.
            let list = list
                .iter()
                .map(|v| literal(v).filter(|v| !is_zero(v)))
                .map(|v| convert(&v?, dt))
                .collect::<Option<Vec<_>>>()?;
            let p = Pred::InList { column: name, list };
            exact(if *negated { p.not() } else { p })
        }
        Expr::Like(Like {
            negated,
            expr,
            pattern,
            escape_char: None,
            case_insensitive: false,
        }) => {
            let (name, dt) = column(expr, schema)?;
            if !matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol) {
                return None;
            }
            let prefix = like_prefix(&literal(pattern)?)?;
            let p = Pred::StartsWith {
                column: name,
                prefix,
            };
            exact(if *negated { p.not() } else { p })
        }
        // A boolean column used as a predicate: `WHERE flag`.
        Expr::Column(_) => {
            let (name, dt) = column(e, schema)?;
            (*dt == DataType::Boolean)
                .then(|| Pred::cmp(name, CmpOp::Eq, Literal::Bool(true)))
                .and_then(exact)
        }
        _ => None,
    }
}

fn cmp_op(op: Operator) -> Option<CmpOp> {
    Some(match op {
        Operator::Eq => CmpOp::Eq,
        Operator::NotEq => CmpOp::NotEq,
        Operator::Lt => CmpOp::Lt,
        Operator::LtEq => CmpOp::LtEq,
        Operator::Gt => CmpOp::Gt,
        Operator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}

/// A bare column reference (no cast, no function) and its Strata type.
fn column<'s>(e: &Expr, schema: &'s Schema) -> Option<(String, &'s DataType)> {
    let Expr::Column(c) = e else { return None };
    let field = schema.fields.iter().find(|f| f.name == c.name)?;
    Some((c.name.clone(), &field.data_type))
}

/// A non-null literal.
fn literal(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) if !v.is_null() => Some(v.clone()),
        _ => None,
    }
}

/// `v` as a Strata literal for a column of type `dt`, only when `v` has the column's own Arrow
/// type (strings: any string type for a string or symbol column), so both engines compare the
/// same values.
fn convert(v: &ScalarValue, dt: &DataType) -> Option<Literal> {
    use ScalarValue as S;
    let int = |x: i64| Some(Literal::Int(x));
    match (dt, v) {
        (DataType::Boolean, S::Boolean(Some(b))) => Some(Literal::Bool(*b)),
        (DataType::Int8, S::Int8(Some(x))) => int(i64::from(*x)),
        (DataType::Int16, S::Int16(Some(x))) => int(i64::from(*x)),
        (DataType::Int32, S::Int32(Some(x))) => int(i64::from(*x)),
        (DataType::Int64, S::Int64(Some(x))) => int(*x),
        (DataType::UInt8, S::UInt8(Some(x))) => int(i64::from(*x)),
        (DataType::UInt16, S::UInt16(Some(x))) => int(i64::from(*x)),
        (DataType::UInt32, S::UInt32(Some(x))) => int(i64::from(*x)),
        (DataType::UInt64, S::UInt64(Some(x))) => Some(match i64::try_from(*x) {
            Ok(i) => Literal::Int(i),
            Err(_) => Literal::UInt(*x),
        }),
        (DataType::Float32, S::Float32(Some(x))) if !x.is_nan() => {
            Some(Literal::Float(f64::from(*x)))
        }
        (DataType::Float64, S::Float64(Some(x))) if !x.is_nan() => Some(Literal::Float(*x)),
        (DataType::Date32, S::Date32(Some(d))) => int(i64::from(*d)),
        (DataType::Timestamp(unit, tz), _) => {
            let (lit_unit, value, lit_tz) = match v {
                S::TimestampSecond(Some(x), z) => (TimeUnit::Second, *x, z),
                S::TimestampMillisecond(Some(x), z) => (TimeUnit::Millisecond, *x, z),
                S::TimestampMicrosecond(Some(x), z) => (TimeUnit::Microsecond, *x, z),
                S::TimestampNanosecond(Some(x), z) => (TimeUnit::Nanosecond, *x, z),
                _ => return None,
            };
            (lit_unit == *unit && lit_tz.as_deref() == tz.as_deref()).then_some(Literal::Int(value))
        }
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol, _) => match v {
            S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => {
                Some(Literal::String(s.clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A float literal equal to zero (either sign).
fn is_zero(v: &ScalarValue) -> bool {
    match v {
        ScalarValue::Float32(Some(x)) => *x == 0.0,
        ScalarValue::Float64(Some(x)) => *x == 0.0,
        _ => false,
    }
}

/// `column op 0.0` as DataFusion evaluates it (float operands with -0.0 read as +0.0, then
/// IEEE total order), in Strata's total order where `-0.0 < +0.0`.
fn compare_with_zero(column: String, op: CmpOp) -> Pred {
    let (neg, pos) = (Literal::Float(-0.0), Literal::Float(0.0));
    let both = |column: String| Pred::Between {
        column,
        low: Literal::Float(-0.0),
        high: Literal::Float(0.0),
    };
    match op {
        CmpOp::Eq => both(column),
        CmpOp::NotEq => both(column).not(),
        CmpOp::Lt => Pred::cmp(column, CmpOp::Lt, neg),
        CmpOp::LtEq => Pred::cmp(column, CmpOp::LtEq, pos),
        CmpOp::Gt => Pred::cmp(column, CmpOp::Gt, pos),
        CmpOp::GtEq => Pred::cmp(column, CmpOp::GtEq, neg),
    }
}

/// The prefix of a `'prefix%'` pattern without other wildcards or backslashes.
fn like_prefix(pattern: &ScalarValue) -> Option<String> {
    let (ScalarValue::Utf8(Some(p))
    | ScalarValue::LargeUtf8(Some(p))
    | ScalarValue::Utf8View(Some(p))) = pattern
    else {
        return None;
    };
    let prefix = p.strip_suffix('%')?;
    (!prefix.contains(['%', '_', '\\'])).then(|| prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use TableProviderFilterPushDown::{Exact, Inexact, Unsupported};
    use datafusion::logical_expr::{cast, col, lit};
    use datafusion::prelude::Expr;
    use std::ops::Not;
    use strata::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("host", DataType::Symbol, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("cpu", DataType::Float64, true),
            Field::new("n", DataType::Int32, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("raw", DataType::Binary, true),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn class(e: Expr) -> TableProviderFilterPushDown {
        classify(&e, &schema())
    }

    fn ts(v: i64, tz: Option<&str>) -> Expr {
        lit(ScalarValue::TimestampMillisecond(
            Some(v),
            tz.map(Into::into),
        ))
    }

    #[test]
    fn comparisons_with_literals_of_the_column_type_are_exact() {
        assert_eq!(class(col("n").gt(lit(5i32))), Exact);
        assert_eq!(class(lit(5i32).lt(col("n"))), Exact);
        assert_eq!(class(col("cpu").eq(lit(-0.0f64))), Exact);
        assert_eq!(class(col("host").eq(lit("a"))), Exact);
        assert_eq!(class(col("name").not_eq(lit("a"))), Exact);
        assert_eq!(class(col("ts").gt_eq(ts(1_000, Some("UTC")))), Exact);
        assert_eq!(class(col("ok")), Exact);
        assert_eq!(class(col("n").between(lit(1i32), lit(9i32))), Exact);
        assert_eq!(class(col("n").not_between(lit(1i32), lit(9i32))), Exact);
        assert_eq!(
            class(col("n").in_list(vec![lit(1i32), lit(2i32)], false)),
            Exact
        );
        assert_eq!(class(col("n").in_list(vec![lit(1i32)], true)), Exact);
        assert_eq!(class(col("name").is_null()), Exact);
        assert_eq!(class(col("name").is_not_null()), Exact);
        assert_eq!(class(col("name").like(lit("ab%"))), Exact);
        assert_eq!(class(col("name").not_like(lit("ab%"))), Exact);
        assert_eq!(
            class(col("n").gt(lit(1i32)).or(col("host").eq(lit("b")))),
            Exact
        );
        assert_eq!(class(col("n").gt(lit(1i32)).not()), Exact);
    }

    #[test]
    fn casts_nulls_nans_other_types_and_patterns_are_unsupported() {
        // A cast over a column is never translated.
        assert_eq!(
            class(cast(col("n"), arrow_schema::DataType::Int64).gt(lit(5i64))),
            Unsupported
        );
        // A literal of another type: DataFusion would compare after a cast.
        assert_eq!(class(col("n").gt(lit(5i64))), Unsupported);
        assert_eq!(class(col("ts").gt(ts(1_000, None))), Unsupported);
        assert_eq!(
            class(col("n").eq(lit(ScalarValue::Int32(None)))),
            Unsupported
        );
        assert_eq!(class(col("cpu").gt(lit(f64::NAN))), Unsupported);
        assert_eq!(class(col("raw").is_null()), Exact);
        assert_eq!(
            class(col("raw").eq(lit(ScalarValue::Binary(Some(vec![1u8]))))),
            Unsupported
        );
        assert_eq!(class(col("name").like(lit("a_c%"))), Unsupported);
        assert_eq!(class(col("name").like(lit("%c"))), Unsupported);
        assert_eq!(class(col("name").ilike(lit("a%"))), Unsupported);
        assert_eq!(class(col("n").eq(col("n"))), Unsupported);
        assert_eq!(class(col("missing").eq(lit(1i32))), Unsupported);
        assert_eq!(
            class(col("n").in_list(vec![lit(1i32), col("n")], false)),
            Unsupported
        );
    }

    #[test]
    fn partial_conjunctions_are_inexact_and_never_negated_or_disjoined() {
        let untranslatable = cast(col("n"), arrow_schema::DataType::Int64).gt(lit(5i64));
        let and = col("n").gt(lit(1i32)).and(untranslatable.clone());
        assert_eq!(class(and.clone()), Inexact);
        assert_eq!(class(and.clone().not()), Unsupported);
        assert_eq!(class(and.or(col("n").eq(lit(0i32)))), Inexact);
        assert_eq!(
            class(untranslatable.or(col("n").eq(lit(0i32)))),
            Unsupported
        );
    }
}
