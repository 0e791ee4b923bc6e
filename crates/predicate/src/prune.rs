//! Three-valued pruning: the set of outcomes a predicate can take over a block or a segment.
//!
//! Every node maps the facts known about its columns — typed zone maps, null and NaN counts,
//! bloom filters, symbol dictionaries — to a subset of {TRUE, FALSE, NULL} that contains every
//! outcome any row can produce. NOT swaps TRUE and FALSE; AND and OR combine sets with the Kleene
//! tables. The sets may be larger than the truth (conservative), never smaller.

use std::cmp::Ordering;
use std::fmt;

use strata_format::{BloomFilter, ColumnStats, ScalarValue};

use crate::bind::BoundExpr;
use crate::expr::CmpOp;

/// A subset of {TRUE, FALSE, NULL}: the outcomes a predicate may produce over some rows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Outcomes(u8);

const T: u8 = 1;
const F: u8 = 2;
const N: u8 = 4;

impl Outcomes {
    /// No outcome (no rows).
    pub const NONE: Outcomes = Outcomes(0);
    /// Only TRUE.
    pub const TRUE: Outcomes = Outcomes(T);
    /// Only FALSE.
    pub const FALSE: Outcomes = Outcomes(F);
    /// Only NULL.
    pub const NULL: Outcomes = Outcomes(N);
    /// Anything.
    pub const ANY: Outcomes = Outcomes(T | F | N);

    /// Some row may satisfy the predicate (the rows must be read).
    pub fn may_be_true(self) -> bool {
        self.0 & T != 0
    }

    /// Some row may fail (FALSE or NULL).
    pub fn may_be_false_or_null(self) -> bool {
        self.0 & (F | N) != 0
    }

    /// Whether a row's outcome (`Some(true)` TRUE, `Some(false)` FALSE, `None` NULL) is in the set.
    pub fn contains(self, outcome: Option<bool>) -> bool {
        let bit = match outcome {
            Some(true) => T,
            Some(false) => F,
            None => N,
        };
        self.0 & bit != 0
    }

    /// Every row satisfies the predicate: rows need no evaluation.
    pub fn always_true(self) -> bool {
        self.0 == T
    }

    /// No row satisfies the predicate: the rows need not be read.
    pub fn never_true(self) -> bool {
        !self.may_be_true()
    }

    fn from_bools(t: bool, f: bool) -> Outcomes {
        Outcomes(if t { T } else { 0 } | if f { F } else { 0 })
    }

    fn union(self, o: Outcomes) -> Outcomes {
        Outcomes(self.0 | o.0)
    }

    fn not(self) -> Outcomes {
        let mut r = self.0 & N;
        if self.0 & T != 0 {
            r |= F;
        }
        if self.0 & F != 0 {
            r |= T;
        }
        Outcomes(r)
    }

    fn combine(self, o: Outcomes, table: fn(u8, u8) -> u8) -> Outcomes {
        let mut r = 0;
        for a in [T, F, N] {
            for b in [T, F, N] {
                if self.0 & a != 0 && o.0 & b != 0 {
                    r |= table(a, b);
                }
            }
        }
        Outcomes(r)
    }

    fn and(self, o: Outcomes) -> Outcomes {
        self.combine(o, |a, b| {
            if a == F || b == F {
                F
            } else if a == N || b == N {
                N
            } else {
                T
            }
        })
    }

    fn or(self, o: Outcomes) -> Outcomes {
        self.combine(o, |a, b| {
            if a == T || b == T {
                T
            } else if a == N || b == N {
                N
            } else {
                F
            }
        })
    }
}

impl fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(T, "TRUE"), (F, "FALSE"), (N, "NULL")]
            .into_iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| n)
            .collect();
        write!(f, "{{{}}}", names.join(", "))
    }
}

/// What is known about one column over the rows being pruned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColumnFacts<'a> {
    /// Nothing usable (e.g. the stored type differs from the bound type).
    Unknown,
    /// The column is absent: `rows` nulls.
    Missing {
        /// Rows.
        rows: u64,
    },
    /// Zone map, optional bloom filter, optional symbol dictionary (all values of the segment).
    Known {
        stats: &'a ColumnStats,
        bloom: Option<&'a BloomFilter>,
        dictionary: Option<&'a [Vec<u8>]>,
    },
}

/// Outcome set of `expr` given the facts of each column slot.
pub(crate) fn outcomes<'a>(expr: &BoundExpr, facts: &dyn Fn(usize) -> ColumnFacts<'a>) -> Outcomes {
    match expr {
        BoundExpr::Cmp { col, op, value } => leaf(facts(*col), |k| cmp_values(k, *op, value)),
        BoundExpr::Between { col, low, high } => {
            let f = facts(*col);
            leaf(f, |k| cmp_values(k, CmpOp::GtEq, low))
                .and(leaf(f, |k| cmp_values(k, CmpOp::LtEq, high)))
        }
        BoundExpr::InList { col, values } => {
            let f = facts(*col);
            values.iter().fold(Outcomes::FALSE, |acc, v| {
                acc.or(leaf(f, |k| cmp_values(k, CmpOp::Eq, v)))
            })
        }
        BoundExpr::IsNull { col, negated } => {
            let o = match facts(*col) {
                ColumnFacts::Unknown => Outcomes::from_bools(true, true),
                ColumnFacts::Missing { rows } => Outcomes::from_bools(rows > 0, false),
                ColumnFacts::Known { stats, .. } => {
                    let nulls = stats.null_count.min(stats.row_count);
                    Outcomes::from_bools(nulls > 0, stats.row_count > nulls)
                }
            };
            if *negated { o.not() } else { o }
        }
        BoundExpr::StartsWith { col, prefix } => leaf(facts(*col), |k| starts_with(k, prefix)),
        BoundExpr::And(v) => v
            .iter()
            .fold(Outcomes::TRUE, |acc, e| acc.and(outcomes(e, facts))),
        BoundExpr::Or(v) => v
            .iter()
            .fold(Outcomes::FALSE, |acc, e| acc.or(outcomes(e, facts))),
        BoundExpr::Not(e) => outcomes(e, facts).not(),
    }
}

/// Facts about the non-null values of a column.
struct Known<'a> {
    stats: &'a ColumnStats,
    bloom: Option<&'a BloomFilter>,
    dictionary: Option<&'a [Vec<u8>]>,
}

/// A value predicate: NULL for null rows, `values` decides the non-null ones.
fn leaf(f: ColumnFacts<'_>, values: impl FnOnce(&Known<'_>) -> Outcomes) -> Outcomes {
    match f {
        ColumnFacts::Unknown => Outcomes::ANY,
        ColumnFacts::Missing { rows } => {
            if rows > 0 {
                Outcomes::NULL
            } else {
                Outcomes::NONE
            }
        }
        ColumnFacts::Known {
            stats,
            bloom,
            dictionary,
        } => {
            let nulls = stats.null_count.min(stats.row_count);
            let non_null = stats.row_count - nulls;
            let mut o = if nulls > 0 {
                Outcomes::NULL
            } else {
                Outcomes::NONE
            };
            if non_null == 0 {
                return o;
            }
            // NaN (of either sign) sorts above or below every number in Arrow's total order.
            if stats.nan_count > 0 {
                o = o.union(Outcomes::from_bools(true, true));
            }
            if non_null > stats.nan_count {
                o = o.union(values(&Known {
                    stats,
                    bloom,
                    dictionary,
                }));
            }
            o
        }
    }
}

fn cmp(a: &ScalarValue, b: &ScalarValue) -> Option<Ordering> {
    a.partial_cmp_same(b)
}

/// Outcomes of `x op v` over non-null, non-NaN `x` with `min <= x <= max`.
fn cmp_values(k: &Known<'_>, op: CmpOp, v: &ScalarValue) -> Outcomes {
    let (Some(lo), Some(hi)) = (&k.stats.min, &k.stats.max) else {
        return Outcomes::from_bools(true, true);
    };
    let (Some(lo_v), Some(hi_v)) = (cmp(lo, v), cmp(hi, v)) else {
        return Outcomes::from_bools(true, true);
    };
    use Ordering::{Equal, Greater, Less};
    // Every value equals v: only when both bounds are real values equal to v.
    let all_equal = lo_v == Equal && hi_v == Equal && k.stats.min_exact && k.stats.max_exact;
    let may_equal = lo_v != Greater && hi_v != Less && !definitely_absent(k, v);
    match op {
        CmpOp::Eq => Outcomes::from_bools(may_equal, !all_equal),
        CmpOp::NotEq => Outcomes::from_bools(!all_equal, may_equal),
        CmpOp::Lt => Outcomes::from_bools(lo_v == Less, hi_v != Less),
        CmpOp::LtEq => Outcomes::from_bools(lo_v != Greater, hi_v == Greater),
        CmpOp::Gt => Outcomes::from_bools(hi_v == Greater, lo_v != Greater),
        CmpOp::GtEq => Outcomes::from_bools(hi_v != Less, lo_v == Less),
    }
}

/// The bloom filter or the dictionary proves `v` is not among the values.
fn definitely_absent(k: &Known<'_>, v: &ScalarValue) -> bool {
    if let Some(b) = k.bloom
        && !b.might_contain(v)
    {
        return true;
    }
    if let (Some(d), ScalarValue::Bytes(v)) = (k.dictionary, v) {
        return !d.iter().any(|x| x == v);
    }
    false
}

/// The smallest byte string greater than every string starting with `p`, if any.
fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut s = p.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// Outcomes of `x LIKE 'prefix%'` over non-null `x` with `min <= x <= max`.
fn starts_with(k: &Known<'_>, prefix: &[u8]) -> Outcomes {
    let (Some(ScalarValue::Bytes(lo)), Some(ScalarValue::Bytes(hi))) = (&k.stats.min, &k.stats.max)
    else {
        return Outcomes::from_bools(true, true);
    };
    // x starts with p  <=>  p <= x < succ(p).
    let succ = prefix_successor(prefix);
    let below_succ = |s: &Vec<u8>| succ.as_ref().is_none_or(|u| s < u);
    let mut may_true = hi.as_slice() >= prefix && below_succ(lo);
    let mut may_false = !(lo.as_slice() >= prefix && below_succ(hi));
    if let Some(d) = k.dictionary {
        may_true &= d.iter().any(|x| x.starts_with(prefix));
        may_false &= !d.iter().all(|x| x.starts_with(prefix));
    }
    Outcomes::from_bools(may_true, may_false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(min: i64, max: i64, nulls: u64, rows: u64) -> ColumnStats {
        ColumnStats {
            min: Some(ScalarValue::Int(min)),
            max: Some(ScalarValue::Int(max)),
            min_exact: true,
            max_exact: true,
            null_count: nulls,
            row_count: rows,
            nan_count: 0,
            distinct_count: None,
        }
    }

    fn run(e: &BoundExpr, s: &ColumnStats) -> Outcomes {
        outcomes(e, &|_| ColumnFacts::Known {
            stats: s,
            bloom: None,
            dictionary: None,
        })
    }

    fn lt(v: i64) -> BoundExpr {
        BoundExpr::Cmp {
            col: 0,
            op: CmpOp::Lt,
            value: ScalarValue::Int(v),
        }
    }

    #[test]
    fn ranges_give_true_false_or_maybe() {
        let s = stats(10, 20, 0, 5);
        assert_eq!(run(&lt(5), &s), Outcomes::FALSE);
        assert_eq!(run(&lt(21), &s), Outcomes::TRUE);
        assert_eq!(run(&lt(15), &s), Outcomes(T | F));
        assert_eq!(run(&BoundExpr::Not(Box::new(lt(21))), &s), Outcomes::FALSE);
        let with_nulls = stats(10, 20, 2, 5);
        assert_eq!(run(&lt(21), &with_nulls), Outcomes(T | N));
        assert!(!run(&lt(21), &with_nulls).always_true());
    }

    #[test]
    fn kleene_tables_over_sets() {
        assert_eq!(Outcomes::NULL.and(Outcomes::FALSE), Outcomes::FALSE);
        assert_eq!(Outcomes::NULL.or(Outcomes::TRUE), Outcomes::TRUE);
        assert_eq!(Outcomes::NULL.and(Outcomes::TRUE), Outcomes::NULL);
        assert_eq!(Outcomes::NULL.not(), Outcomes::NULL);
        assert_eq!(Outcomes::NONE.and(Outcomes::TRUE), Outcomes::NONE);
    }

    #[test]
    fn prefix_successor_skips_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
