//! Typed, exact, conservative statistics (zone maps).
//!
//! Min and max are kept in the column's own family — `i64`, `u64`, `f64` or bytes — never
//! through `f64` for integers, so an `i64` above 2^53 prunes correctly. Floats keep NaN out of
//! min/max and count it in `nan_count`; a zero min is stored as `-0.0` and a zero max as `+0.0`
//! (Parquet's rule), so pruning is safe whichever way a reader orders zeros. Byte strings longer
//! than the prefix limit keep a truncated prefix as min and a truncated, *incremented* prefix as
//! max, so `min <= v <= max` holds for every value in the block.

use std::cmp::Ordering;
use std::fmt;

/// A typed statistic value.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarValue {
    /// Booleans.
    Bool(bool),
    /// Signed integers, timestamps, dates.
    Int(i64),
    /// Unsigned integers.
    UInt(u64),
    /// Floats (never NaN in stats).
    Float(f64),
    /// Strings and binaries, compared bytewise (which is code-point order for UTF-8).
    Bytes(Vec<u8>),
}

impl ScalarValue {
    /// Total order within one family; `None` across families.
    pub fn partial_cmp_same(&self, other: &ScalarValue) -> Option<Ordering> {
        match (self, other) {
            (ScalarValue::Bool(a), ScalarValue::Bool(b)) => Some(a.cmp(b)),
            (ScalarValue::Int(a), ScalarValue::Int(b)) => Some(a.cmp(b)),
            (ScalarValue::UInt(a), ScalarValue::UInt(b)) => Some(a.cmp(b)),
            (ScalarValue::Float(a), ScalarValue::Float(b)) => Some(a.total_cmp(b)),
            (ScalarValue::Bytes(a), ScalarValue::Bytes(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalarValue::Bool(v) => write!(f, "{v}"),
            ScalarValue::Int(v) => write!(f, "{v}"),
            ScalarValue::UInt(v) => write!(f, "{v}u"),
            ScalarValue::Float(v) => write!(f, "{v:?}"),
            ScalarValue::Bytes(b) => write!(f, "\"{}\"", b.escape_ascii()),
        }
    }
}

/// Statistics of one block, or of a whole column of a segment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnStats {
    /// Smallest non-null, non-NaN value (a lower bound when `min_exact` is false).
    pub min: Option<ScalarValue>,
    /// Largest non-null, non-NaN value (a strict upper bound when `max_exact` is false).
    pub max: Option<ScalarValue>,
    /// `min` is a value of the column (not a truncated prefix).
    pub min_exact: bool,
    /// `max` is a value of the column (not an incremented prefix).
    pub max_exact: bool,
    /// Null slots.
    pub null_count: u64,
    /// Rows, nulls included.
    pub row_count: u64,
    /// NaN values (floats only).
    pub nan_count: u64,
    /// Exact number of distinct non-null values, when known (blocks know it; merges do not).
    pub distinct_count: Option<u64>,
}

impl ColumnStats {
    /// Folds `other` into `self` (stats of the concatenation).
    pub fn merge(&mut self, other: &ColumnStats) {
        merge_bound(
            &mut self.min,
            &mut self.min_exact,
            &other.min,
            other.min_exact,
            Ordering::Less,
        );
        merge_bound(
            &mut self.max,
            &mut self.max_exact,
            &other.max,
            other.max_exact,
            Ordering::Greater,
        );
        self.null_count += other.null_count;
        self.row_count += other.row_count;
        self.nan_count += other.nan_count;
        self.distinct_count = None;
    }

    /// The merge of every statistic of `all`, in order: the same as folding each into a
    /// default with [`Self::merge`], but each bound is cloned once, not once per improvement.
    pub fn merge_all<'a>(all: impl IntoIterator<Item = &'a ColumnStats>) -> ColumnStats {
        fn fold<'a>(
            best: &mut Option<(&'a ScalarValue, bool)>,
            theirs: &'a Option<ScalarValue>,
            theirs_exact: bool,
            keep: Ordering,
        ) {
            let Some(t) = theirs else { return };
            match best {
                None => *best = Some((t, theirs_exact)),
                Some((m, m_exact)) => match t.partial_cmp_same(m) {
                    Some(o) if o == keep => *best = Some((t, theirs_exact)),
                    Some(Ordering::Equal) => *m_exact |= theirs_exact,
                    _ => {}
                },
            }
        }
        let (mut min, mut max) = (None, None);
        let mut out = ColumnStats::default();
        for s in all {
            fold(&mut min, &s.min, s.min_exact, Ordering::Less);
            fold(&mut max, &s.max, s.max_exact, Ordering::Greater);
            out.null_count += s.null_count;
            out.row_count += s.row_count;
            out.nan_count += s.nan_count;
        }
        if let Some((v, exact)) = min {
            out.min = Some(v.clone());
            out.min_exact = exact;
        }
        if let Some((v, exact)) = max {
            out.max = Some(v.clone());
            out.max_exact = exact;
        }
        out
    }

    /// Whether every row is null.
    pub fn all_null(&self) -> bool {
        self.null_count == self.row_count
    }

    /// Whether a non-null, non-NaN `v` of this column's family could be present: `min <= v <= max`.
    /// Conservative: answers `true` when the stats cannot tell.
    pub fn may_contain(&self, v: &ScalarValue) -> bool {
        if let ScalarValue::Float(x) = v
            && x.is_nan()
        {
            return self.nan_count > 0;
        }
        let above_min = match &self.min {
            Some(m) => {
                m.partial_cmp_same(v).is_none_or(|o| o != Ordering::Greater)
                    || float_zero_equal(m, v)
            }
            None => self.row_count > self.null_count + self.nan_count,
        };
        let below_max = match &self.max {
            Some(m) => {
                m.partial_cmp_same(v).is_none_or(|o| o != Ordering::Less) || float_zero_equal(m, v)
            }
            None => self.row_count > self.null_count + self.nan_count,
        };
        above_min && below_max
    }
}

fn float_zero_equal(a: &ScalarValue, b: &ScalarValue) -> bool {
    matches!((a, b), (ScalarValue::Float(x), ScalarValue::Float(y)) if x == y)
}

fn merge_bound(
    mine: &mut Option<ScalarValue>,
    mine_exact: &mut bool,
    theirs: &Option<ScalarValue>,
    theirs_exact: bool,
    keep: Ordering,
) {
    let Some(t) = theirs else { return };
    match mine {
        None => {
            *mine = Some(t.clone());
            *mine_exact = theirs_exact;
        }
        Some(m) => match t.partial_cmp_same(m) {
            Some(o) if o == keep => {
                *mine = Some(t.clone());
                *mine_exact = theirs_exact;
            }
            // Equal bounds: the bound is a real value if either side says so.
            Some(Ordering::Equal) => *mine_exact |= theirs_exact,
            _ => {}
        },
    }
}

/// Lower bound for a byte string, at most `limit` bytes: the value itself or its prefix.
pub fn truncate_min(v: &[u8], limit: usize) -> (Vec<u8>, bool) {
    if v.len() <= limit {
        (v.to_vec(), true)
    } else {
        (v[..limit].to_vec(), false)
    }
}

/// Upper bound for a byte string, at most `limit` bytes: the value itself, or a prefix whose last
/// byte below `0xFF` is incremented (so it sorts after every string it prefixes). When no such
/// byte exists within the limit the full value is kept.
pub fn truncate_max(v: &[u8], limit: usize) -> (Vec<u8>, bool) {
    if v.len() <= limit {
        return (v.to_vec(), true);
    }
    let mut p = v[..limit].to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return (p, false);
        }
    }
    (v.to_vec(), true)
}

/// Builds block stats for integers.
pub(crate) fn int_stats(values: &[i64], rows: usize, distinct: u64) -> ColumnStats {
    ColumnStats {
        min: values.iter().min().map(|&v| ScalarValue::Int(v)),
        max: values.iter().max().map(|&v| ScalarValue::Int(v)),
        min_exact: true,
        max_exact: true,
        null_count: (rows - values.len()) as u64,
        row_count: rows as u64,
        nan_count: 0,
        distinct_count: Some(distinct),
    }
}

/// Builds block stats for unsigned integers.
pub(crate) fn uint_stats(values: &[u64], rows: usize, distinct: u64) -> ColumnStats {
    ColumnStats {
        min: values.iter().min().map(|&v| ScalarValue::UInt(v)),
        max: values.iter().max().map(|&v| ScalarValue::UInt(v)),
        min_exact: true,
        max_exact: true,
        null_count: (rows - values.len()) as u64,
        row_count: rows as u64,
        nan_count: 0,
        distinct_count: Some(distinct),
    }
}

/// Builds block stats for booleans.
pub(crate) fn bool_stats(values: &[bool], rows: usize) -> ColumnStats {
    let any_true = values.iter().any(|&b| b);
    let any_false = values.iter().any(|&b| !b);
    let (min, max) = if values.is_empty() {
        (None, None)
    } else {
        (
            Some(ScalarValue::Bool(!any_false)),
            Some(ScalarValue::Bool(any_true)),
        )
    };
    ColumnStats {
        min,
        max,
        min_exact: true,
        max_exact: true,
        null_count: (rows - values.len()) as u64,
        row_count: rows as u64,
        nan_count: 0,
        distinct_count: Some(u64::from(any_true) + u64::from(any_false)),
    }
}

/// Builds block stats for floats (NaN counted apart).
pub(crate) fn float_stats(values: &[f64], rows: usize, distinct: u64) -> ColumnStats {
    // One branch-light pass: NaNs compare false and are counted aside; which zero wins does not
    // matter, as zeros are widened below.
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut nans = 0u64;
    for &v in values {
        nans += u64::from(v.is_nan());
        if v < lo {
            lo = v;
        }
        if v > hi {
            hi = v;
        }
    }
    let any = (values.len() as u64) > nans;
    // Zeros: min -0.0 and max +0.0 cover both zeros under either ordering.
    let min = any.then_some(if lo == 0.0 { -0.0 } else { lo });
    let max = any.then_some(if hi == 0.0 { 0.0 } else { hi });
    ColumnStats {
        min: min.map(ScalarValue::Float),
        max: max.map(ScalarValue::Float),
        min_exact: true,
        max_exact: true,
        null_count: (rows - values.len()) as u64,
        row_count: rows as u64,
        nan_count: nans,
        distinct_count: Some(distinct),
    }
}

/// Builds block stats for byte strings with prefix truncation.
pub(crate) fn bytes_stats<'a>(
    values: impl Iterator<Item = &'a [u8]>,
    non_null: usize,
    rows: usize,
    distinct: u64,
    limit: usize,
) -> ColumnStats {
    let mut min: Option<&[u8]> = None;
    let mut max: Option<&[u8]> = None;
    for v in values {
        if min.is_none_or(|m| v < m) {
            min = Some(v);
        }
        if max.is_none_or(|m| v > m) {
            max = Some(v);
        }
    }
    let (min, min_exact) = min.map_or((None, true), |m| {
        let (b, e) = truncate_min(m, limit);
        (Some(ScalarValue::Bytes(b)), e)
    });
    let (max, max_exact) = max.map_or((None, true), |m| {
        let (b, e) = truncate_max(m, limit);
        (Some(ScalarValue::Bytes(b)), e)
    });
    ColumnStats {
        min,
        max,
        min_exact,
        max_exact,
        null_count: (rows - non_null) as u64,
        row_count: rows as u64,
        nan_count: 0,
        distinct_count: Some(distinct),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Option<ScalarValue>> {
        prop_oneof![
            Just(None),
            (-3i64..3).prop_map(|v| Some(ScalarValue::Int(v))),
            (0u64..3).prop_map(|v| Some(ScalarValue::UInt(v))),
            prop::collection::vec(0u8..3, 0..3).prop_map(|v| Some(ScalarValue::Bytes(v))),
        ]
    }

    fn stats() -> impl Strategy<Value = ColumnStats> {
        (
            scalar(),
            scalar(),
            any::<bool>(),
            any::<bool>(),
            0u64..5,
            0u64..5,
            0u64..5,
        )
            .prop_map(
                |(min, max, min_exact, max_exact, nulls, rows, nans)| ColumnStats {
                    min,
                    max,
                    min_exact,
                    max_exact,
                    null_count: nulls,
                    row_count: rows + nulls,
                    nan_count: nans,
                    distinct_count: Some(rows),
                },
            )
    }

    proptest! {
        /// `merge_all` is the fold of `merge` from the default, bounds of mixed families,
        /// ties and exactness flags included.
        #[test]
        fn merge_all_is_the_fold_of_merge(all in prop::collection::vec(stats(), 0..8)) {
            let mut folded = ColumnStats::default();
            for s in &all {
                folded.merge(s);
            }
            prop_assert_eq!(ColumnStats::merge_all(&all), folded);
        }
    }

    #[test]
    fn max_prefix_is_incremented_so_longer_values_stay_inside() {
        let v = b"aaaaab";
        assert_eq!(truncate_max(v, 3), (b"aab".to_vec(), false));
        assert_eq!(truncate_min(v, 3), (b"aaa".to_vec(), false));
        // A plain cut "aaa" would wrongly exclude "aaaaab" (> "aaa").
        assert!(b"aaaaab".as_slice() < b"aab".as_slice());
        assert_eq!(truncate_max(b"a\xff\xffzz", 3), (b"b".to_vec(), false));
        assert_eq!(
            truncate_max(b"\xff\xff\xffzz", 3),
            (b"\xff\xff\xffzz".to_vec(), true)
        );
        assert_eq!(truncate_max(b"ab", 3), (b"ab".to_vec(), true));
    }

    #[test]
    fn merge_keeps_extremes_and_sums_counts() {
        let mut a = int_stats(&[5, 7], 3, 2);
        let b = int_stats(&[i64::MIN, 6], 2, 2);
        a.merge(&b);
        assert_eq!(a.min, Some(ScalarValue::Int(i64::MIN)));
        assert_eq!(a.max, Some(ScalarValue::Int(7)));
        assert_eq!((a.null_count, a.row_count, a.distinct_count), (1, 5, None));
        let mut empty = ColumnStats::default();
        empty.merge(&a);
        assert_eq!(empty.min, a.min);
    }

    #[test]
    fn float_stats_exclude_nan_and_widen_zeros() {
        let s = float_stats(&[0.0, f64::NAN, 1.5, -0.0], 5, 3);
        assert_eq!(s.nan_count, 1);
        assert_eq!(s.null_count, 1);
        assert!(matches!(s.min, Some(ScalarValue::Float(m)) if m == 0.0 && m.is_sign_negative()));
        assert_eq!(s.max, Some(ScalarValue::Float(1.5)));
        assert!(s.may_contain(&ScalarValue::Float(f64::NAN)));
        assert!(s.may_contain(&ScalarValue::Float(0.0)));
        assert!(!s.may_contain(&ScalarValue::Float(2.0)));
    }

    #[test]
    fn big_ints_prune_exactly() {
        let big = (1i64 << 53) + 1;
        let s = int_stats(&[big], 1, 1);
        assert!(s.may_contain(&ScalarValue::Int(big)));
        assert!(!s.may_contain(&ScalarValue::Int(big - 1)));
        assert!(!s.may_contain(&ScalarValue::Int(big + 1)));
    }
}
