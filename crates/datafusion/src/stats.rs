//! Statistics for DataFusion's planner, from the manifest and the segments' zone maps.
//!
//! Row counts are exact (segment rows minus deleted rows, plus buffered rows). Column minimum,
//! maximum and null count are exact only when no deletion vector can hide the row that holds
//! them and no buffered row escapes them: no deleted rows, nothing buffered, every segment
//! storing the column with the table's type and exact (untruncated) bounds. Float bounds are
//! never exact (zone maps leave NaN out, DataFusion's MIN/MAX do not). Otherwise bounds are
//! inexact (still true bounds when only deletes are in the way) or absent.

use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use strata::stack::compactor::SegmentHandle;
use strata::stack::format::ScalarValue as Zone;
use strata::{DataType, Schema, TimeUnit};

/// Statistics of `segments` (plus `buffered_rows` rows nobody has statistics for) for the
/// columns `projection` (indices into `schema`).
pub(crate) fn statistics(
    schema: &Schema,
    projection: &[usize],
    segments: &[&SegmentHandle],
    buffered_rows: u64,
) -> Statistics {
    let live: u64 = segments.iter().map(|h| h.live_rows()).sum::<u64>() + buffered_rows;
    let any_deleted = segments.iter().any(|h| h.entry.deleted_rows() > 0);
    let bytes: u64 = segments.iter().map(|h| h.entry.bytes).sum();
    let columns = projection
        .iter()
        .map(|&i| match schema.fields.get(i) {
            Some(f) if buffered_rows == 0 => column(&f.name, &f.data_type, segments, any_deleted),
            _ => ColumnStatistics::new_unknown(),
        })
        .collect();
    Statistics {
        num_rows: Precision::Exact(usize::try_from(live).unwrap_or(usize::MAX)),
        total_byte_size: Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX)),
        column_statistics: columns,
    }
}

fn column(
    name: &str,
    dt: &DataType,
    segments: &[&SegmentHandle],
    any_deleted: bool,
) -> ColumnStatistics {
    let mut nulls = 0u64;
    let mut min: Option<Zone> = None;
    let mut max: Option<Zone> = None;
    let mut exact = !any_deleted && !matches!(dt, DataType::Float32 | DataType::Float64);
    for h in segments {
        let footer = h.file.segment().footer();
        let Some(i) = footer.schema.index_of(name) else {
            // Added after this segment was written: all its rows read as NULL.
            nulls += h.entry.rows;
            continue;
        };
        let (Some(field), Some(meta)) = (footer.schema.field(i), footer.columns.get(i)) else {
            return ColumnStatistics::new_unknown();
        };
        if field.data_type != *dt {
            return ColumnStatistics::new_unknown();
        }
        let s = &meta.stats;
        nulls += s.null_count;
        exact &= s.min_exact && s.max_exact;
        fold(&mut min, s.min.as_ref(), std::cmp::Ordering::Less);
        fold(&mut max, s.max.as_ref(), std::cmp::Ordering::Greater);
    }
    let precision = |v: Option<ScalarValue>| match v {
        Some(v) if exact => Precision::Exact(v),
        Some(v) => Precision::Inexact(v),
        None => Precision::Absent,
    };
    let nulls = usize::try_from(nulls).unwrap_or(usize::MAX);
    ColumnStatistics {
        null_count: if any_deleted {
            Precision::Inexact(nulls)
        } else {
            Precision::Exact(nulls)
        },
        min_value: precision(min.as_ref().and_then(|v| to_scalar(v, dt))),
        max_value: precision(max.as_ref().and_then(|v| to_scalar(v, dt))),
        ..ColumnStatistics::new_unknown()
    }
}

/// Keeps in `acc` whichever of `acc` and `v` is further in direction `keep`.
fn fold(acc: &mut Option<Zone>, v: Option<&Zone>, keep: std::cmp::Ordering) {
    let Some(v) = v else { return };
    match acc {
        Some(a) if a.partial_cmp_same(v) != Some(keep.reverse()) => {}
        _ => *acc = Some(v.clone()),
    }
}

/// A zone-map value as DataFusion's scalar of the column's Arrow type (symbols as `Utf8`).
fn to_scalar(v: &Zone, dt: &DataType) -> Option<ScalarValue> {
    use ScalarValue as S;
    Some(match (dt, v) {
        (DataType::Boolean, Zone::Bool(b)) => S::Boolean(Some(*b)),
        (DataType::Int8, Zone::Int(x)) => S::Int8(Some(i8::try_from(*x).ok()?)),
        (DataType::Int16, Zone::Int(x)) => S::Int16(Some(i16::try_from(*x).ok()?)),
        (DataType::Int32, Zone::Int(x)) => S::Int32(Some(i32::try_from(*x).ok()?)),
        (DataType::Int64, Zone::Int(x)) => S::Int64(Some(*x)),
        (DataType::Date32, Zone::Int(x)) => S::Date32(Some(i32::try_from(*x).ok()?)),
        (DataType::Timestamp(unit, tz), Zone::Int(x)) => {
            let tz = tz.clone();
            match unit {
                TimeUnit::Second => S::TimestampSecond(Some(*x), tz),
                TimeUnit::Millisecond => S::TimestampMillisecond(Some(*x), tz),
                TimeUnit::Microsecond => S::TimestampMicrosecond(Some(*x), tz),
                TimeUnit::Nanosecond => S::TimestampNanosecond(Some(*x), tz),
            }
        }
        (DataType::UInt8, Zone::UInt(x)) => S::UInt8(Some(u8::try_from(*x).ok()?)),
        (DataType::UInt16, Zone::UInt(x)) => S::UInt16(Some(u16::try_from(*x).ok()?)),
        (DataType::UInt32, Zone::UInt(x)) => S::UInt32(Some(u32::try_from(*x).ok()?)),
        (DataType::UInt64, Zone::UInt(x)) => S::UInt64(Some(*x)),
        (DataType::Float32, Zone::Float(x)) => S::Float32(Some(*x as f32)),
        (DataType::Float64, Zone::Float(x)) => S::Float64(Some(*x)),
        (DataType::Utf8 | DataType::Symbol, Zone::Bytes(b)) => {
            S::Utf8(Some(String::from_utf8(b.clone()).ok()?))
        }
        (DataType::LargeUtf8, Zone::Bytes(b)) => {
            S::LargeUtf8(Some(String::from_utf8(b.clone()).ok()?))
        }
        (DataType::Binary, Zone::Bytes(b)) => S::Binary(Some(b.clone())),
        _ => return None,
    })
}
