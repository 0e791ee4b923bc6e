//! Time partitioning: which interval `[start, end)` a timestamp belongs to.
//!
//! Calendar intervals (day, month, year) use true UTC calendar lengths computed from days since
//! the epoch (the proleptic Gregorian civil-from-days algorithm), never 30- or 365-day
//! approximations. All arithmetic is checked: an interval that does not fit in `i64` is
//! [`RegistryError::TimestampOutOfRange`].

use strata_format::TimeUnit;

use crate::error::{RegistryError, Result};

/// How a table cuts time into partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partitioning {
    /// Fixed-length intervals aligned to the epoch, the length in the timestamp's unit (> 0).
    Fixed(i64),
    /// UTC calendar days.
    Day,
    /// UTC calendar months (28 to 31 days).
    Month,
    /// UTC calendar years (365 or 366 days).
    Year,
    /// Picks hour, day, month, year or none for each new partition from the data: the rows per
    /// unit of time of the live segments and of the rows being flushed; see
    /// [`Partitioning::auto_choice`].
    Auto,
    /// One partition for all time (`[i64::MIN, i64::MAX)`): a table whose rows are too sparse
    /// in time for any calendar unit to hold a useful amount, or a table without a time column.
    None,
}

/// Rows a partition should hold, which [`Partitioning::Auto`] aims for: about a million rows
/// is hundreds of 4096-row blocks per column, enough for the codec's
/// per-segment costs (footer, statistics, blooms: a few KiB) to be a small share and for
/// pruning by partition to skip a worthwhile amount.
pub const AUTO_TARGET_ROWS: f64 = 1_000_000.0;

/// Seconds in the calendar units [`Partitioning::Auto`] chooses between (a month and a year
/// at their shortest, so a choice never holds fewer rows than expected).
const AUTO_UNITS: [(i64, Granularity); 4] = [
    (3600, Granularity::Hour),
    (86_400, Granularity::Day),
    (28 * 86_400, Granularity::Month),
    (365 * 86_400, Granularity::Year),
];

/// A calendar granularity, from finest to coarsest; compaction rolls partitions of one up into
/// the next ([`Granularity::coarser`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Granularity {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
    /// One UTC calendar month.
    Month,
    /// One UTC calendar year.
    Year,
}

impl Granularity {
    /// The partitioning that cuts time into this unit.
    pub fn partitioning(self, unit: TimeUnit) -> Partitioning {
        match self {
            Granularity::Hour => Partitioning::Fixed(3600 * units_per_second(unit)),
            Granularity::Day => Partitioning::Day,
            Granularity::Month => Partitioning::Month,
            Granularity::Year => Partitioning::Year,
        }
    }

    /// The next coarser unit (`None` past a year).
    pub fn coarser(self) -> Option<Granularity> {
        match self {
            Granularity::Hour => Some(Granularity::Day),
            Granularity::Day => Some(Granularity::Month),
            Granularity::Month => Some(Granularity::Year),
            Granularity::Year => None,
        }
    }

    /// The finest unit whose intervals are at least `len` long (in `unit`): what a partition
    /// of that length is, for rolling it up. `None` for longer than a year.
    pub fn of_length(len: i64, unit: TimeUnit) -> Option<Granularity> {
        let s = len / units_per_second(unit).max(1);
        [
            (3600, Granularity::Hour),
            (86_400, Granularity::Day),
            (31 * 86_400, Granularity::Month),
            (366 * 86_400, Granularity::Year),
        ]
        .into_iter()
        .find(|(most, _)| s <= *most)
        .map(|(_, g)| g)
    }
}

/// Units of `unit` per second.
pub fn units_per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

impl Partitioning {
    /// The rule of [`Partitioning::Auto`]: the shortest of hour, day, month and year expected
    /// to hold at least [`AUTO_TARGET_ROWS`] rows at `rows_per_second` (rows of the data per
    /// second of the data's time, not of the wall clock), or [`Partitioning::None`] when even a
    /// year would hold fewer. Day when nothing has been observed (`None` or a non-finite or
    /// non-positive rate).
    pub fn auto_choice(rows_per_second: Option<f64>, unit: TimeUnit) -> Partitioning {
        let Some(rate) = rows_per_second.filter(|r| r.is_finite() && *r > 0.0) else {
            return Partitioning::Day;
        };
        AUTO_UNITS
            .iter()
            .find(|(secs, _)| rate * *secs as f64 >= AUTO_TARGET_ROWS)
            .map_or(Partitioning::None, |(_, g)| g.partitioning(unit))
    }

    /// Checks the configuration (a fixed length must be positive).
    pub fn validate(self) -> Result<()> {
        match self {
            Partitioning::Fixed(d) if d <= 0 => Err(RegistryError::InvalidConfig(format!(
                "fixed partition length must be positive, got {d}"
            ))),
            _ => Ok(()),
        }
    }

    /// The interval `[start, end)` holding `t`. `Auto` is resolved with `rows_per_second`
    /// first (see [`Partitioning::auto_choice`]).
    pub fn interval(
        self,
        t: i64,
        unit: TimeUnit,
        rows_per_second: Option<f64>,
    ) -> Result<(i64, i64)> {
        let out_of_range = || RegistryError::TimestampOutOfRange(t);
        let per_day = 86_400 * units_per_second(unit);
        match self {
            Partitioning::Auto => {
                Partitioning::auto_choice(rows_per_second, unit).interval(t, unit, None)
            }
            // `i64::MAX` itself is past the end (ends are exclusive).
            Partitioning::None if t == i64::MAX => Err(out_of_range()),
            Partitioning::None => Ok((i64::MIN, i64::MAX)),
            Partitioning::Fixed(d) => {
                self.validate()?;
                let start = t.div_euclid(d).checked_mul(d).ok_or_else(out_of_range)?;
                let end = start.checked_add(d).ok_or_else(out_of_range)?;
                Ok((start, end))
            }
            Partitioning::Day => Partitioning::Fixed(per_day).interval(t, unit, None),
            Partitioning::Month | Partitioning::Year => {
                let day = t.div_euclid(per_day);
                let (y, m, _) = civil_from_days(day);
                let (first, next) = if self == Partitioning::Month {
                    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                    (days_from_civil(y, m, 1), days_from_civil(ny, nm, 1))
                } else {
                    (days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1))
                };
                let start = first.checked_mul(per_day).ok_or_else(out_of_range)?;
                let end = next.checked_mul(per_day).ok_or_else(out_of_range)?;
                Ok((start, end))
            }
        }
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (`m` in 1..=12).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` of `z` days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    // The ranges above are exact, so the narrowing casts cannot truncate.
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY_MS: i64 = 86_400_000;

    fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
    }

    #[test]
    fn month_and_year_lengths_are_calendar_lengths() {
        let unit = TimeUnit::Millisecond;
        // February 2024 (leap year) has 29 days, February 2023 28, February 1900 28, 2000 29.
        for (y, days) in [(2024, 29), (2023, 28), (1900, 28), (2000, 29)] {
            let t = days_from_civil(y, 2, 10) * DAY_MS + 5;
            let (s, e) = Partitioning::Month.interval(t, unit, None).unwrap();
            assert_eq!(s, days_from_civil(y, 2, 1) * DAY_MS);
            assert_eq!((e - s) / DAY_MS, days, "February {y}");
        }
        let t = days_from_civil(2024, 7, 4) * DAY_MS;
        let (s, e) = Partitioning::Year.interval(t, unit, None).unwrap();
        assert_eq!((e - s) / DAY_MS, 366);
        let (s, e) = Partitioning::Month.interval(t, unit, None).unwrap();
        assert_eq!((e - s) / DAY_MS, 31);
    }

    #[test]
    fn auto_rule_picks_by_rate() {
        let u = TimeUnit::Second;
        assert_eq!(Partitioning::auto_choice(None, u), Partitioning::Day);
        assert_eq!(
            Partitioning::auto_choice(Some(10_000.0), u),
            Partitioning::Fixed(3600)
        );
        assert_eq!(Partitioning::auto_choice(Some(100.0), u), Partitioning::Day);
        assert_eq!(Partitioning::auto_choice(Some(1.0), u), Partitioning::Month);
        assert_eq!(Partitioning::auto_choice(Some(0.05), u), Partitioning::Year);
        // An hourly series: a year holds 8,760 rows, too few for any partition.
        assert_eq!(
            Partitioning::auto_choice(Some(1.0 / 3600.0), u),
            Partitioning::None
        );
        assert_eq!(
            Partitioning::auto_choice(Some(f64::NAN), u),
            Partitioning::Day
        );
    }

    #[test]
    fn none_is_one_interval_for_all_time() {
        let u = TimeUnit::Millisecond;
        for t in [i64::MIN, -1, 0, i64::MAX - 1] {
            assert_eq!(
                Partitioning::None.interval(t, u, None).unwrap(),
                (i64::MIN, i64::MAX)
            );
        }
        assert!(Partitioning::None.interval(i64::MAX, u, None).is_err());
    }

    #[test]
    fn granularities_roll_up_in_order() {
        let u = TimeUnit::Millisecond;
        let len = |p: Partitioning| {
            let (s, e) = p.interval(0, u, None).unwrap();
            e - s
        };
        let mut g = Some(Granularity::Hour);
        let mut seen = Vec::new();
        while let Some(x) = g {
            assert_eq!(Granularity::of_length(len(x.partitioning(u)), u), Some(x));
            seen.push(x);
            g = x.coarser();
        }
        assert_eq!(seen.len(), 4);
        assert_eq!(Granularity::of_length(2 * 366 * 86_400_000, u), None);
    }

    #[test]
    fn out_of_range_is_a_typed_error() {
        let r = Partitioning::Fixed(10).interval(i64::MAX, TimeUnit::Second, None);
        assert!(matches!(r, Err(RegistryError::TimestampOutOfRange(_))));
        let r = Partitioning::Day.interval(i64::MAX, TimeUnit::Nanosecond, None);
        assert!(matches!(r, Err(RegistryError::TimestampOutOfRange(_))));
        assert!(Partitioning::Fixed(0).validate().is_err());
        let r = Partitioning::Fixed(-5).interval(3, TimeUnit::Second, None);
        assert!(matches!(r, Err(RegistryError::InvalidConfig(_))));
    }

    proptest! {
        #[test]
        fn civil_round_trips(z in -100_000_000i64..100_000_000) {
            let (y, m, d) = civil_from_days(z);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            prop_assert_eq!(days_from_civil(y, m, d), z);
            // Consecutive days: same month with d+1, or the first of the next month.
            let (y2, m2, d2) = civil_from_days(z + 1);
            prop_assert!((y2, m2, d2) == (y, m, d + 1) || (d2 == 1 && (m2 == m % 12 + 1)));
        }

        #[test]
        fn intervals_contain_t_and_align(
            t in -4_000_000_000_000i64..4_000_000_000_000,
            which in 0u8..4,
            fixed in 1i64..10_000_000,
        ) {
            let unit = TimeUnit::Millisecond;
            let p = match which { 0 => Partitioning::Fixed(fixed), 1 => Partitioning::Day,
                2 => Partitioning::Month, _ => Partitioning::Year };
            let (s, e) = p.interval(t, unit, None).unwrap();
            prop_assert!(s <= t && t < e);
            // The next interval starts exactly at `e`.
            prop_assert_eq!(p.interval(e, unit, None).unwrap().0, e);
            prop_assert_eq!(p.interval(s, unit, None).unwrap(), (s, e));
            match p {
                Partitioning::Month | Partitioning::Year => {
                    prop_assert_eq!(s.rem_euclid(DAY_MS), 0);
                    let (y, m, d) = civil_from_days(s / DAY_MS);
                    prop_assert_eq!(d, 1);
                    let len = (e - s) / DAY_MS;
                    if p == Partitioning::Year {
                        prop_assert_eq!(m, 1);
                        prop_assert_eq!(len, if is_leap(y) { 366 } else { 365 });
                    } else {
                        let want = match m { 2 => if is_leap(y) { 29 } else { 28 },
                            4 | 6 | 9 | 11 => 30, _ => 31 };
                        prop_assert_eq!(len, want);
                    }
                }
                Partitioning::Day => prop_assert_eq!(e - s, DAY_MS),
                Partitioning::Fixed(d) => {
                    prop_assert_eq!(e - s, d);
                    prop_assert_eq!(s.rem_euclid(d), 0);
                }
                Partitioning::Auto | Partitioning::None => {}
            }
        }
    }
}
