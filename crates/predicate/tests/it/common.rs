//! Random tables, segments and predicates for the property tests, and the oracle: a plain
//! Arrow-kernel filter of the full data.
#![allow(unreachable_pub)]

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int8Array,
    Int64Array, LargeStringArray, RecordBatch, Scalar, StringArray, TimestampMillisecondArray,
    UInt64Array,
};
use arrow_select::filter::{filter_record_batch, prep_null_mask_filter};
use proptest::prelude::*;
use strata_format::{
    BlockOptions, BloomPolicy, DataType, Field, Schema, Segment, SymbolAs, TimeUnit,
    write_segment_bytes,
};
use strata_predicate::{CmpOp, Expr, Literal};

/// Column kinds of the random table, one column each.
pub const COLUMNS: [&str; 12] = [
    "i64", "i8", "u64", "f64", "f32", "ts", "d", "s", "sym", "bin", "b", "ls",
];

pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("i64", DataType::Int64, true),
        Field::new("i8", DataType::Int8, true),
        Field::new("u64", DataType::UInt64, true),
        Field::new("f64", DataType::Float64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("d", DataType::Date32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("sym", DataType::Symbol, true),
        Field::new("bin", DataType::Binary, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("ls", DataType::LargeUtf8, true),
    ])
    .unwrap()
}

/// One cell value, by column family.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    I(i64),
    U(u64),
    F(f64),
    S(String),
    B(bool),
}

const LONG: &str = "a_very_long_common_prefix_that_exceeds_the_stats_limit_";

pub fn int_pool() -> Vec<i64> {
    vec![
        i64::MIN,
        i64::MIN + 1,
        -(1 << 53) - 1,
        -1000,
        -1,
        0,
        1,
        7,
        1000,
        (1 << 53) + 1,
        i64::MAX - 1,
        i64::MAX,
    ]
}

pub fn string_pool() -> Vec<String> {
    let mut v: Vec<String> = ["", "a", "ab", "abc", "b", "zz", "\u{e9}t\u{e9}", "~"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for tail in ["", "a", "b", "ba", "zzzz"] {
        v.push(format!("{LONG}{tail}"));
    }
    v
}

pub fn float_pool() -> Vec<f64> {
    vec![
        f64::NEG_INFINITY,
        -1e300,
        -1.5,
        -0.0,
        0.0,
        0.1,
        1.0,
        2.5,
        1e300,
        f64::INFINITY,
        f64::NAN,
        -f64::NAN,
    ]
}

/// A value strategy for column `c`.
pub fn value(c: usize) -> BoxedStrategy<V> {
    match COLUMNS[c] {
        "i64" => prop_oneof![
            prop::sample::select(int_pool()).prop_map(V::I),
            (-50i64..50).prop_map(V::I)
        ]
        .boxed(),
        "i8" => (-128i64..=127).prop_map(V::I).boxed(),
        "u64" => prop_oneof![
            prop::sample::select(vec![0u64, 1, 1 << 63, u64::MAX - 1, u64::MAX]).prop_map(V::U),
            (0u64..100).prop_map(V::U)
        ]
        .boxed(),
        "f64" | "f32" => prop_oneof![
            prop::sample::select(float_pool()).prop_map(V::F),
            (-20i32..20).prop_map(|x| V::F(f64::from(x) / 4.0))
        ]
        .boxed(),
        "ts" => prop_oneof![
            prop::sample::select(vec![i64::MIN, -1, 0, 1_362_096_000_000, i64::MAX]).prop_map(V::I),
            (1_362_096_000_000i64..1_362_096_000_100).prop_map(V::I)
        ]
        .boxed(),
        "d" => prop_oneof![
            prop::sample::select(vec![i64::from(i32::MIN), 0, i64::from(i32::MAX)]).prop_map(V::I),
            (15_000i64..15_050).prop_map(V::I)
        ]
        .boxed(),
        "b" => any::<bool>().prop_map(V::B).boxed(),
        _ => prop::sample::select(string_pool()).prop_map(V::S).boxed(),
    }
}

/// A column of `n` optional cells: null density drawn per column (none, some, all).
pub fn column(c: usize, n: usize) -> BoxedStrategy<Vec<Option<V>>> {
    prop_oneof![Just(0u32), Just(30u32), Just(100u32)]
        .prop_flat_map(move |pct| {
            prop::collection::vec(
                (0u32..100, value(c)).prop_map(move |(r, v)| (r >= pct).then_some(v)),
                n,
            )
        })
        .boxed()
}

pub fn array(c: usize, cells: &[Option<V>]) -> ArrayRef {
    let i = |v: &Option<V>| match v {
        Some(V::I(x)) => Some(*x),
        _ => None,
    };
    let s = |v: &Option<V>| match v {
        Some(V::S(x)) => Some(x.clone()),
        _ => None,
    };
    let f = |v: &Option<V>| match v {
        Some(V::F(x)) => Some(*x),
        _ => None,
    };
    match COLUMNS[c] {
        "i64" => Arc::new(cells.iter().map(i).collect::<Int64Array>()),
        "i8" => Arc::new(
            cells
                .iter()
                .map(|v| i(v).map(|x| x as i8))
                .collect::<Int8Array>(),
        ),
        "u64" => Arc::new(
            cells
                .iter()
                .map(|v| match v {
                    Some(V::U(x)) => Some(*x),
                    _ => None,
                })
                .collect::<UInt64Array>(),
        ),
        "f64" => Arc::new(cells.iter().map(f).collect::<Float64Array>()),
        "f32" => Arc::new(
            cells
                .iter()
                .map(|v| f(v).map(|x| x as f32))
                .collect::<Float32Array>(),
        ),
        "ts" => Arc::new(cells.iter().map(i).collect::<TimestampMillisecondArray>()),
        "d" => Arc::new(
            cells
                .iter()
                .map(|v| i(v).map(|x| x as i32))
                .collect::<Date32Array>(),
        ),
        "s" | "sym" => Arc::new(cells.iter().map(s).collect::<StringArray>()),
        "ls" => Arc::new(cells.iter().map(s).collect::<LargeStringArray>()),
        "bin" => Arc::new(
            cells
                .iter()
                .map(|v| s(v).map(String::into_bytes))
                .collect::<Vec<_>>()
                .iter()
                .map(|v| v.as_deref())
                .collect::<BinaryArray>(),
        ),
        "b" => Arc::new(
            cells
                .iter()
                .map(|v| match v {
                    Some(V::B(x)) => Some(*x),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        other => panic!("{other}"),
    }
}

/// Random rows: `n` rows of every column.
pub fn table(max_rows: usize) -> BoxedStrategy<RecordBatch> {
    (0..=max_rows)
        .prop_flat_map(|n| {
            let cols: Vec<_> = (0..COLUMNS.len()).map(|c| column(c, n)).collect();
            (cols, prop::option::of(0..COLUMNS.len()))
        })
        .prop_map(|(cols, sort)| {
            let arrays: Vec<ArrayRef> = cols.iter().enumerate().map(|(c, v)| array(c, v)).collect();
            let batch =
                RecordBatch::try_new(Arc::new(schema().to_arrow(SymbolAs::Utf8)), arrays).unwrap();
            if let Some(c) = sort.filter(|_| batch.num_rows() > 0) {
                // Sorted by one column so zone maps are narrow and in order: pruning, and the
                // binary search over ordered blocks, have work to do.
                sorted_by(&batch, c)
            } else {
                batch
            }
        })
        .boxed()
}

/// Block options that exercise pruning: tiny blocks, short string stats, blooms everywhere.
pub fn block_options() -> impl Strategy<Value = BlockOptions> {
    (
        prop::sample::select(vec![1usize, 3, 16, 64]),
        prop::sample::select(vec![4usize, 32]),
        prop::sample::select(vec![
            BloomPolicy::Always,
            BloomPolicy::Auto,
            BloomPolicy::Never,
        ]),
    )
        .prop_map(|(block_rows, stats_prefix, bloom)| BlockOptions {
            block_rows,
            stats_prefix,
            bloom,
            ..BlockOptions::default()
        })
}

/// Writes `batch` as segments split at `cuts` (row offsets).
pub fn segments(batch: &RecordBatch, cuts: &[usize], opts: BlockOptions) -> Vec<Arc<Segment>> {
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().map(|&c| c.min(batch.num_rows())));
    bounds.push(batch.num_rows());
    bounds.sort_unstable();
    bounds.dedup();
    bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let part = batch.slice(w[0], w[1] - w[0]);
            let bytes = write_segment_bytes(schema(), &[part], opts).unwrap();
            Arc::new(
                Segment::from_bytes(bytes.into())
                    .unwrap()
                    .with_symbol_as(SymbolAs::Utf8),
            )
        })
        .collect()
}

/// A predicate the test can evaluate on its own: the typed scalar for the kernels plus the
/// literal for the parser-level model.
#[derive(Debug, Clone)]
pub enum P {
    Cmp(usize, CmpOp, V),
    Between(usize, V, V),
    In(usize, Vec<V>),
    IsNull(usize, bool),
    Prefix(usize, String),
    And(Vec<P>),
    Or(Vec<P>),
    Not(Box<P>),
}

fn is_string(c: usize) -> bool {
    matches!(COLUMNS[c], "s" | "sym" | "bin" | "ls")
}

fn leaf() -> BoxedStrategy<P> {
    (0..COLUMNS.len())
        .prop_flat_map(|c| {
            let ops = prop::sample::select(vec![
                CmpOp::Eq,
                CmpOp::NotEq,
                CmpOp::Lt,
                CmpOp::LtEq,
                CmpOp::Gt,
                CmpOp::GtEq,
            ]);
            let prefix = prop::sample::select(vec![
                String::new(),
                "a".into(),
                "ab".into(),
                "\u{e9}".into(),
                LONG.to_string(),
                format!("{LONG}b"),
                "z".into(),
            ]);
            let mut choices: Vec<BoxedStrategy<P>> = vec![
                (ops, value(c))
                    .prop_map(move |(op, v)| P::Cmp(c, op, v))
                    .boxed(),
                (value(c), value(c))
                    .prop_map(move |(a, b)| P::Between(c, a, b))
                    .boxed(),
                prop::collection::vec(value(c), 1..4)
                    .prop_map(move |v| P::In(c, v))
                    .boxed(),
                any::<bool>().prop_map(move |n| P::IsNull(c, n)).boxed(),
            ];
            if is_string(c) {
                choices.push(prefix.prop_map(move |p| P::Prefix(c, p)).boxed());
            }
            prop::strategy::Union::new(choices)
        })
        .boxed()
}

/// The column of the predicate's first comparison, in reading order.
pub fn first_column(p: &P) -> Option<usize> {
    match p {
        P::Cmp(c, ..) | P::Between(c, ..) | P::In(c, _) | P::IsNull(c, _) | P::Prefix(c, _) => {
            Some(*c)
        }
        P::And(v) | P::Or(v) => v.iter().find_map(first_column),
        P::Not(p) => first_column(p),
    }
}

/// `batch` sorted by column `c` (nulls first, as Arrow sorts).
pub fn sorted_by(batch: &RecordBatch, c: usize) -> RecordBatch {
    let idx = arrow_ord::sort::sort_to_indices(batch.column(c), None, None).unwrap();
    arrow_select::take::take_record_batch(batch, &idx).unwrap()
}

pub fn predicate() -> BoxedStrategy<P> {
    leaf()
        .prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(P::And),
                prop::collection::vec(inner.clone(), 1..4).prop_map(P::Or),
                inner.prop_map(|p| P::Not(Box::new(p))),
            ]
        })
        .boxed()
}

pub fn literal(v: &V) -> Literal {
    match v {
        V::I(x) => Literal::Int(*x),
        V::U(x) if *x > i64::MAX as u64 => Literal::UInt(*x),
        V::U(x) => Literal::Int(*x as i64),
        V::F(x) => Literal::Float(*x),
        V::S(x) => Literal::String(x.clone()),
        V::B(x) => Literal::Bool(*x),
    }
}

pub fn expr(p: &P) -> Expr {
    match p {
        P::Cmp(c, op, v) => Expr::cmp(COLUMNS[*c], *op, literal(v)),
        P::Between(c, a, b) => Expr::Between {
            column: COLUMNS[*c].into(),
            low: literal(a),
            high: literal(b),
        },
        P::In(c, v) => Expr::InList {
            column: COLUMNS[*c].into(),
            list: v.iter().map(literal).collect(),
        },
        P::IsNull(c, negated) => Expr::IsNull {
            column: COLUMNS[*c].into(),
            negated: *negated,
        },
        P::Prefix(c, p) => Expr::StartsWith {
            column: COLUMNS[*c].into(),
            prefix: p.clone(),
        },
        P::And(v) => Expr::And(v.iter().map(expr).collect()),
        P::Or(v) => Expr::Or(v.iter().map(expr).collect()),
        P::Not(p) => Expr::Not(Box::new(expr(p))),
    }
}

/// The literal as a one-row array of the column's Arrow type.
fn scalar(c: usize, v: &V) -> Scalar<ArrayRef> {
    Scalar::new(array(c, &[Some(v.clone())]))
}

fn cmp(a: &ArrayRef, op: CmpOp, s: &Scalar<ArrayRef>) -> BooleanArray {
    use arrow_ord::cmp::*;
    match op {
        CmpOp::Eq => eq(a, s),
        CmpOp::NotEq => neq(a, s),
        CmpOp::Lt => lt(a, s),
        CmpOp::LtEq => lt_eq(a, s),
        CmpOp::Gt => gt(a, s),
        CmpOp::GtEq => gt_eq(a, s),
    }
    .unwrap()
}

/// The oracle: Arrow kernels over the full batch (columns in `COLUMNS` order, symbol as Utf8).
pub fn oracle_mask(p: &P, batch: &RecordBatch) -> BooleanArray {
    let col = |c: usize| batch.column(c).clone();
    match p {
        P::Cmp(c, op, v) => cmp(&col(*c), *op, &scalar(*c, v)),
        P::Between(c, a, b) => and_kleene(
            &cmp(&col(*c), CmpOp::GtEq, &scalar(*c, a)),
            &cmp(&col(*c), CmpOp::LtEq, &scalar(*c, b)),
        )
        .unwrap(),
        P::In(c, v) => v
            .iter()
            .map(|x| cmp(&col(*c), CmpOp::Eq, &scalar(*c, x)))
            .reduce(|a, b| or_kleene(&a, &b).unwrap())
            .unwrap(),
        P::IsNull(c, false) => is_null(col(*c).as_ref()).unwrap(),
        P::IsNull(c, true) => is_not_null(col(*c).as_ref()).unwrap(),
        P::Prefix(c, p) => {
            let s = scalar(*c, &V::S(p.clone()));
            arrow_string::like::starts_with(&col(*c), &s).unwrap()
        }
        P::And(v) => v
            .iter()
            .map(|p| oracle_mask(p, batch))
            .reduce(|a, b| and_kleene(&a, &b).unwrap())
            .unwrap(),
        P::Or(v) => v
            .iter()
            .map(|p| oracle_mask(p, batch))
            .reduce(|a, b| or_kleene(&a, &b).unwrap())
            .unwrap(),
        P::Not(p) => not(&oracle_mask(p, batch)).unwrap(),
    }
}

/// Rows of `batch` the oracle keeps.
pub fn oracle_filter(p: &P, batch: &RecordBatch) -> RecordBatch {
    let m = true_only(&oracle_mask(p, batch));
    filter_record_batch(batch, &m).unwrap()
}

/// NULL → false (`prep_null_mask_filter` expects a null buffer).
pub fn true_only(m: &BooleanArray) -> BooleanArray {
    if m.nulls().is_some() {
        prep_null_mask_filter(m)
    } else {
        m.clone()
    }
}
