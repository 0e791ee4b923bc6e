//! Any predicate prints as text that parses back to the same predicate: the textual form is
//! how a scan's predicate travels (between processes, in plans sent to other machines), so it
//! must lose nothing — column names that need quoting, quotes and escapes in strings, `LIKE`
//! prefixes holding `%`, `_` or `\`, every float (NaN, ±inf, -0.0, subnormals, the extremes)
//! and the integer extremes.

use proptest::prelude::*;
use strata_predicate::{CmpOp, Expr, Literal, parse};

fn column() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,6}",
        // Keywords, spaces, quotes, dots, unicode, leading digits: all need quoting.
        prop::sample::select(vec![
            "and", "OR", "not", "between", "in", "is", "null", "like", "true", "nan", "inf",
        ])
        .prop_map(str::to_string),
        "[ -~]{1,8}",
        "\\PC{1,6}",
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            1e21,
            0.1,
        ]),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1]).prop_map(Literal::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Literal::UInt),
        float().prop_map(Literal::Float),
        "\\PC{0,8}".prop_map(Literal::String),
        "['\\\\%_ a]{0,6}".prop_map(Literal::String),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::NotEq,
        CmpOp::Lt,
        CmpOp::LtEq,
        CmpOp::Gt,
        CmpOp::GtEq,
    ])
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (column(), op(), literal()).prop_map(|(column, op, value)| Expr::Cmp { column, op, value }),
        (column(), literal(), literal()).prop_map(|(column, low, high)| Expr::Between {
            column,
            low,
            high
        }),
        (column(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(column, list)| Expr::InList { column, list }),
        (column(), any::<bool>()).prop_map(|(column, negated)| Expr::IsNull { column, negated }),
        (column(), "['\\\\%_ a-c]{0,6}|\\PC{0,4}")
            .prop_map(|(column, prefix)| Expr::StartsWith { column, prefix }),
    ]
}

/// Trees as the parser builds them: an AND's children are not ANDs, an OR's are not ORs (the
/// parser flattens `a AND (b AND c)`), and every AND / OR has at least two children.
fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| {
                Expr::And(
                    v.into_iter()
                        .flat_map(|e| match e {
                            Expr::And(c) => c,
                            e => vec![e],
                        })
                        .collect(),
                )
            }),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| {
                Expr::Or(
                    v.into_iter()
                        .flat_map(|e| match e {
                            Expr::Or(c) => c,
                            e => vec![e],
                        })
                        .collect(),
                )
            }),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_predicate_prints_as_text_that_parses_back_to_it(e in expr()) {
        let text = e.to_string();
        let back = parse(&text).map_err(|err| {
            TestCaseError::fail(format!("{text:?} does not parse: {}", err.render(&text)))
        })?;
        // `Debug` tells NaN from NaN's sign and -0.0 from 0.0, where `==` on floats would not.
        prop_assert_eq!(format!("{back:?}"), format!("{e:?}"), "text: {}", text);
    }
}
