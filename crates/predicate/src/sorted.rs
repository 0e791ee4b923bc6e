//! Row spans a predicate confines a segment to, found by binary search over columns whose
//! blocks are in order.
//!
//! The blocks of a sorted column (a segment's sort key) have minima and maxima that never
//! decrease. When a predicate confines such a column to an interval `[lo, hi]` (comparisons,
//! `BETWEEN`, `IN`, a prefix, under `AND` and `OR`), it can only be true from the first block
//! whose maximum reaches `lo` to the last block whose minimum is at most `hi`: two binary
//! searches instead of one evaluation of the predicate per block. A selective time-range scan of
//! a long segment spent about a quarter of its time evaluating every stripe's statistics.
//!
//! The order is read from the statistics themselves (every block has a minimum and a maximum,
//! no NaN, both sequences non-decreasing), not taken on trust from the schema's sort key, so a
//! segment whose blocks are out of order is scanned as before.

use std::cmp::Ordering;
use std::ops::Range;

use strata_format::{BlockMeta, ScalarValue};

use crate::bind::BoundExpr;
use crate::expr::CmpOp;

/// Bounds on one column's values that a predicate implies for every row where it is true
/// (both inclusive; `None` is unbounded).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Interval {
    pub(crate) lo: Option<ScalarValue>,
    pub(crate) hi: Option<ScalarValue>,
}

impl Interval {
    fn bounded(&self) -> bool {
        self.lo.is_some() || self.hi.is_some()
    }
}

/// Compares two statistics values as the predicate's comparisons may: IEEE order for floats
/// (`-0.0 = 0.0`, so nothing equal under one order is ruled out under the other), the family's
/// order otherwise; `None` when they cannot be compared (NaN, different families).
fn compare(a: &ScalarValue, b: &ScalarValue) -> Option<Ordering> {
    match (a, b) {
        (ScalarValue::Float(x), ScalarValue::Float(y)) => x.partial_cmp(y),
        _ => a.partial_cmp_same(b),
    }
}

/// The tighter of two bounds that both hold: `Greater` keeps the larger (a lower bound).
fn tighter(a: Option<ScalarValue>, b: Option<ScalarValue>, keep: Ordering) -> Option<ScalarValue> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if compare(&b, &a) == Some(keep) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The looser of two bounds of which one holds: `Less` keeps the smaller (a lower bound);
/// unbounded when either is, or when they cannot be compared.
fn looser(a: Option<ScalarValue>, b: Option<ScalarValue>, keep: Ordering) -> Option<ScalarValue> {
    let (a, b) = (a?, b?);
    match compare(&b, &a)? {
        o if o == keep => Some(b),
        _ => Some(a),
    }
}

/// The interval `expr` confines predicate column slot `col` to, wherever `expr` is true.
pub(crate) fn interval(expr: &BoundExpr, col: usize) -> Interval {
    match expr {
        BoundExpr::Cmp { col: c, op, value } if *c == col => {
            let v = Some(value.clone());
            match op {
                CmpOp::Eq => Interval {
                    lo: v.clone(),
                    hi: v,
                },
                CmpOp::Lt | CmpOp::LtEq => Interval { lo: None, hi: v },
                CmpOp::Gt | CmpOp::GtEq => Interval { lo: v, hi: None },
                CmpOp::NotEq => Interval::default(),
            }
        }
        BoundExpr::Between { col: c, low, high } if *c == col => Interval {
            lo: Some(low.clone()),
            hi: Some(high.clone()),
        },
        BoundExpr::InList { col: c, values } if *c == col && !values.is_empty() => {
            values.iter().skip(1).fold(
                Interval {
                    lo: values.first().cloned(),
                    hi: values.first().cloned(),
                },
                |acc, v| Interval {
                    lo: looser(acc.lo, Some(v.clone()), Ordering::Less),
                    hi: looser(acc.hi, Some(v.clone()), Ordering::Greater),
                },
            )
        }
        BoundExpr::StartsWith { col: c, prefix } if *c == col => Interval {
            lo: Some(ScalarValue::Bytes(prefix.clone())),
            hi: None,
        },
        BoundExpr::And(v) => v.iter().fold(Interval::default(), |acc, e| {
            let i = interval(e, col);
            Interval {
                lo: tighter(acc.lo, i.lo, Ordering::Greater),
                hi: tighter(acc.hi, i.hi, Ordering::Less),
            }
        }),
        BoundExpr::Or(v) => {
            let mut parts = v.iter().map(|e| interval(e, col));
            let Some(first) = parts.next() else {
                return Interval::default();
            };
            parts.fold(first, |acc, i| Interval {
                lo: looser(acc.lo, i.lo, Ordering::Less),
                hi: looser(acc.hi, i.hi, Ordering::Greater),
            })
        }
        // Comparisons on other columns, NOT, IS NULL: no bound.
        _ => Interval::default(),
    }
}

/// The rows (counted from the column's first block) outside which a column's values are never
/// in `iv`, found by binary search when the column's block minima and maxima are both
/// non-decreasing; `None` when `iv` is unbounded or the blocks are not in order.
pub(crate) fn column_span(blocks: &[BlockMeta], iv: &Interval) -> Option<Range<u64>> {
    if !iv.bounded() {
        return None;
    }
    let mut starts = Vec::with_capacity(blocks.len() + 1);
    let mut at = 0u64;
    let mut prev: Option<(&ScalarValue, &ScalarValue)> = None;
    for b in blocks {
        let (Some(min), Some(max)) = (&b.stats.min, &b.stats.max) else {
            return None;
        };
        if b.stats.nan_count > 0 {
            return None;
        }
        if let Some((pmin, pmax)) = prev {
            let up = |a, b| matches!(compare(a, b), Some(Ordering::Less | Ordering::Equal));
            if !up(pmin, min) || !up(pmax, max) {
                return None;
            }
        }
        prev = Some((min, max));
        starts.push(at);
        at = at.checked_add(u64::from(b.rows))?;
    }
    starts.push(at);
    // Blocks whose maximum is below `lo` (a prefix, maxima being in order) and blocks whose
    // minimum is above `hi` (a suffix) hold no row the predicate accepts.
    let first = iv.lo.as_ref().map_or(0, |lo| {
        blocks.partition_point(|b| {
            b.stats
                .max
                .as_ref()
                .is_some_and(|m| compare(m, lo) == Some(Ordering::Less))
        })
    });
    let end = iv.hi.as_ref().map_or(blocks.len(), |hi| {
        blocks.partition_point(|b| {
            b.stats
                .min
                .as_ref()
                .is_some_and(|m| compare(m, hi) != Some(Ordering::Greater))
        })
    });
    let (s, e) = (starts.get(first)?, starts.get(end.max(first))?);
    Some(*s..*e)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use strata_format::ColumnStats;

    use super::*;

    fn block(values: &[i64], nulls: u64) -> BlockMeta {
        BlockMeta {
            offset: 0,
            len: 0,
            rows: u32::try_from(values.len() as u64 + nulls).unwrap(),
            cascade: "".into(),
            stats: ColumnStats {
                min: values.iter().min().map(|&v| ScalarValue::Int(v)),
                max: values.iter().max().map(|&v| ScalarValue::Int(v)),
                min_exact: true,
                max_exact: true,
                null_count: nulls,
                row_count: values.len() as u64 + nulls,
                nan_count: 0,
                distinct_count: None,
            },
            bloom: None,
        }
    }

    fn cmp(op: CmpOp, v: i64) -> BoundExpr {
        BoundExpr::Cmp {
            col: 0,
            op,
            value: ScalarValue::Int(v),
        }
    }

    proptest! {
        /// Oracle: the span runs from the first to the last block whose `[min, max]` meets
        /// `[lo, hi]`, and every row whose value is in the interval lies inside it.
        #[test]
        fn span_is_the_blocks_holding_the_interval(
            mut values in prop::collection::vec(-50i64..50, 1..200),
            sizes in prop::collection::vec(1usize..12, 1..40),
            lo in prop::option::of(-60i64..60),
            hi in prop::option::of(-60i64..60),
        ) {
            values.sort_unstable();
            let mut blocks = Vec::new();
            let mut cut = Vec::new();
            let mut at = 0;
            for s in sizes.iter().cycle() {
                if at >= values.len() {
                    break;
                }
                let end = (at + s).min(values.len());
                blocks.push(block(&values[at..end], 0));
                cut.push(at..end);
                at = end;
            }
            let iv = Interval { lo: lo.map(ScalarValue::Int), hi: hi.map(ScalarValue::Int) };
            let got = column_span(&blocks, &iv);
            if lo.is_none() && hi.is_none() {
                prop_assert_eq!(got, None);
                return Ok(());
            }
            let inside = |v: i64| lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h);
            let meets: Vec<usize> = (0..blocks.len())
                .filter(|&b| {
                    let (min, max) = (values[cut[b].start], values[cut[b].end - 1]);
                    lo.is_none_or(|l| max >= l) && hi.is_none_or(|h| min <= h)
                })
                .collect();
            let got = got.unwrap();
            match (meets.first(), meets.last()) {
                (Some(&f), Some(&l)) => {
                    prop_assert_eq!(&got, &(cut[f].start as u64..cut[l].end as u64));
                }
                _ => prop_assert!(got.is_empty(), "{:?}", got),
            }
            for (row, &v) in values.iter().enumerate() {
                prop_assert!(!inside(v) || got.contains(&(row as u64)), "row {} value {}", row, v);
            }
        }

        /// Blocks out of order give no span, whatever the interval.
        #[test]
        fn blocks_out_of_order_give_no_span(
            values in prop::collection::vec(-50i64..50, 2..100),
            lo in -60i64..60,
        ) {
            let blocks: Vec<BlockMeta> = values.iter().map(|&v| block(&[v], 0)).collect();
            let sorted = values.windows(2).all(|w| w[0] <= w[1]);
            let iv = Interval { lo: Some(ScalarValue::Int(lo)), hi: None };
            prop_assert_eq!(column_span(&blocks, &iv).is_some(), sorted);
        }
    }

    #[test]
    fn interval_of_and_or_between_in_and_other_columns() {
        let between = BoundExpr::Between {
            col: 0,
            low: ScalarValue::Int(3),
            high: ScalarValue::Int(9),
        };
        let other = BoundExpr::Cmp {
            col: 1,
            op: CmpOp::Eq,
            value: ScalarValue::Int(0),
        };
        let iv = |lo: Option<i64>, hi: Option<i64>| Interval {
            lo: lo.map(ScalarValue::Int),
            hi: hi.map(ScalarValue::Int),
        };
        let and = BoundExpr::And(vec![cmp(CmpOp::GtEq, 5), between.clone(), other.clone()]);
        assert_eq!(interval(&and, 0), iv(Some(5), Some(9)));
        let or = BoundExpr::Or(vec![cmp(CmpOp::Eq, 20), between.clone()]);
        assert_eq!(interval(&or, 0), iv(Some(3), Some(20)));
        // One side of an OR that does not bound the column leaves it unbounded.
        let or = BoundExpr::Or(vec![between.clone(), other]);
        assert_eq!(interval(&or, 0), Interval::default());
        let not = BoundExpr::Not(Box::new(between));
        assert_eq!(interval(&not, 0), Interval::default());
        assert_eq!(interval(&cmp(CmpOp::NotEq, 4), 0), Interval::default());
        assert_eq!(interval(&cmp(CmpOp::Lt, 4), 0), iv(None, Some(4)));
        let list = BoundExpr::InList {
            col: 0,
            values: vec![
                ScalarValue::Int(7),
                ScalarValue::Int(-2),
                ScalarValue::Int(4),
            ],
        };
        assert_eq!(interval(&list, 0), iv(Some(-2), Some(7)));
        assert_eq!(interval(&list, 1), Interval::default());
    }

    #[test]
    fn negative_zero_and_nan_blocks_are_kept() {
        let fblock = |min: f64, max: f64, nan: u64| {
            let mut b = block(&[0], 0);
            b.stats.min = Some(ScalarValue::Float(min));
            b.stats.max = Some(ScalarValue::Float(max));
            b.stats.nan_count = nan;
            b
        };
        // `x >= 0.0` may hold for a block of -0.0: it is not ruled out.
        let blocks = vec![fblock(-1.0, -0.0, 0), fblock(0.0, 1.0, 0)];
        let iv = Interval {
            lo: Some(ScalarValue::Float(0.0)),
            hi: None,
        };
        assert_eq!(column_span(&blocks, &iv), Some(0..2));
        // A block with NaN: no span (NaN sorts above every value).
        let blocks = vec![fblock(-1.0, 0.0, 1), fblock(0.0, 1.0, 0)];
        assert_eq!(column_span(&blocks, &iv), None);
        // An all-null block (no minimum): no span.
        let blocks = vec![block(&[1], 0), block(&[], 3)];
        let iv = Interval {
            lo: Some(ScalarValue::Int(2)),
            hi: None,
        };
        assert_eq!(column_span(&blocks, &iv), None);
    }
}
