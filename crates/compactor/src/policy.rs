//! When to compact and what: a pure function from a [`TableState`] to [`MergePlan`]s.
//!
//! Triggers (per partition): dead space above [`CompactionPolicy::dead_space_ratio`], more
//! than [`CompactionPolicy::max_segments`] segments, and at least
//! [`CompactionPolicy::min_interval`] since the partition's last compaction — unless dead space
//! is above [`CompactionPolicy::emergency_dead_space_ratio`], which ignores the interval and
//! takes the larger I/O share.
//!
//! Roll-ups ([`CompactionPolicy::plan_roll_ups`]): adjacent partitions that are small
//! (together at most [`CompactionPolicy::target_segment_bytes`]) and cold (the next coarser
//! calendar unit they fall in ends before the table's newest partition starts) are rolled up
//! into one partition of that unit — hours into days, days into months, months into years —
//! and their segments merged into one, so a table that grows slowly does not end up with
//! thousands of tiny partitions.
//!
//! Selection ranks a partition's segments: most dead space first, then small segments (below
//! [`CompactionPolicy::target_segment_bytes`]), then segments whose key ranges overlap another's,
//! then the oldest (lowest id). Size tiers: while a partition has at least two small segments,
//! a segment-count plan merges small segments only, so large segments are rewritten only
//! when nothing smaller is left to merge; a plan over large segments takes a run of segments
//! adjacent in key range, so its output does not straddle segments it left out.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use strata_partition_registry::{
    Granularity, Partition, PartitionState, SegmentEntry, SegmentId, TableState,
};

/// Most segments one roll-up merges (a year of day partitions with a segment or two each).
const ROLL_UP_MAX_INPUTS: usize = 1024;

/// Trigger thresholds and budgets. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactionPolicy {
    /// Dead space (deleted bytes / all bytes of a partition) above which it is compacted: 0.20.
    pub dead_space_ratio: f64,
    /// Dead space above which compaction is an emergency: 0.70.
    pub emergency_dead_space_ratio: f64,
    /// More segments than this in a partition trigger a merge: 32.
    pub max_segments: usize,
    /// Least time between two compactions of one partition (emergencies ignore it): 60 s.
    pub min_interval: Duration,
    /// Segments below this many bytes are small and merged together first: 64 MiB.
    pub target_segment_bytes: u64,
    /// Most inputs of one plan: 32.
    pub max_inputs: usize,
    /// Share of the device bandwidth a normal plan may use: 0.30.
    pub normal_io_share: f64,
    /// Share of the device bandwidth an emergency plan may use: 0.60.
    pub emergency_io_share: f64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            dead_space_ratio: 0.20,
            emergency_dead_space_ratio: 0.70,
            max_segments: 32,
            min_interval: Duration::from_secs(60),
            target_segment_bytes: 64 << 20,
            max_inputs: 32,
            normal_io_share: 0.30,
            emergency_io_share: 0.60,
        }
    }
}

/// Why a plan was chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlanReason {
    /// Dead space above the threshold (`ratio` in 0..=1).
    DeadSpace {
        /// Dead bytes / all bytes of the partition.
        ratio: f64,
    },
    /// Dead space above the emergency threshold.
    Emergency {
        /// Dead bytes / all bytes of the partition.
        ratio: f64,
    },
    /// Too many segments; the small ones are merged together.
    SmallSegments {
        /// Segments in the partition.
        segments: usize,
    },
    /// Too many segments and fewer than two small ones: large, adjacent segments are merged.
    TooManySegments {
        /// Segments in the partition.
        segments: usize,
    },
    /// Asked for ([`CompactionPolicy::plan_requested`]): the partition is brought down to one
    /// segment without deleted rows, whatever the triggers say.
    Requested {
        /// Segments in the partition.
        segments: usize,
    },
    /// Small, cold, adjacent partitions rolled up into one coarser partition.
    RollUp {
        /// Partitions rolled up.
        partitions: usize,
    },
}

impl fmt::Display for PlanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanReason::DeadSpace { ratio } => write!(f, "dead space {:.1} %", ratio * 100.0),
            PlanReason::Emergency { ratio } => {
                write!(f, "emergency: dead space {:.1} %", ratio * 100.0)
            }
            PlanReason::SmallSegments { segments } => {
                write!(f, "{segments} segments: merging the small ones")
            }
            PlanReason::TooManySegments { segments } => {
                write!(f, "{segments} segments: merging adjacent large ones")
            }
            PlanReason::Requested { segments } => {
                write!(f, "requested: {segments} segments")
            }
            PlanReason::RollUp { partitions } => {
                write!(f, "rolling {partitions} small partitions up into one")
            }
        }
    }
}

/// Partitions rolled up into one coarser partition `[start, end)` (every partition it overlaps).
#[derive(Debug, Clone, PartialEq)]
pub struct RollUp {
    /// Starts of the partitions rolled up.
    pub from: Vec<i64>,
    /// Start of the new partition.
    pub start: i64,
    /// End of the new partition, exclusive.
    pub end: i64,
}

/// One merge to run: inputs from a single partition (or, for a roll-up, from the partitions
/// rolled up), the reason, the I/O budget.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    /// The partition (its start); every input lives in it. For a roll-up, the start of the
    /// new partition.
    pub partition: i64,
    /// Input segment ids, in selection order.
    pub inputs: Vec<SegmentId>,
    /// Why.
    pub reason: PlanReason,
    /// Share of the device bandwidth the executor may use (0.30 normal, 0.60 emergency).
    pub io_share: f64,
    /// Whether dead space is above the emergency threshold.
    pub emergency: bool,
    /// The partitions this plan rolls up (its inputs are all their segments), if it does.
    pub roll_up: Option<RollUp>,
}

/// Dead bytes / all bytes of a partition (0 when it holds no bytes).
pub fn dead_ratio(p: &Partition) -> f64 {
    let d = p.dead_space();
    if d.total_bytes == 0 {
        return 0.0;
    }
    d.bytes as f64 / d.total_bytes as f64
}

fn dead_fraction(s: &SegmentEntry) -> f64 {
    if s.rows == 0 {
        0.0
    } else {
        s.deleted_rows() as f64 / s.rows as f64
    }
}

fn overlaps_another(s: &SegmentEntry, p: &Partition) -> bool {
    p.segments
        .values()
        .any(|o| o.id != s.id && o.min_ts <= s.max_ts && s.min_ts <= o.max_ts)
}

impl CompactionPolicy {
    /// Whether a partition in `state` may be compacted at all: Active or Sealed (a Merging
    /// partition is being merged already, a Deleted one has nothing).
    fn eligible(state: PartitionState) -> bool {
        matches!(state, PartitionState::Active | PartitionState::Sealed)
    }

    /// The plans for `state` at `now`, given when each partition was last compacted.
    /// Emergencies come first, then by dead space (largest first), then by partition.
    pub fn plan(
        &self,
        state: &TableState,
        now: Instant,
        last_compacted: &HashMap<i64, Instant>,
    ) -> Vec<MergePlan> {
        let mut plans: Vec<(f64, MergePlan)> = state
            .partitions
            .values()
            .filter(|p| Self::eligible(p.state))
            .filter_map(|p| {
                let ratio = dead_ratio(p);
                self.plan_partition(p, ratio, now, last_compacted.get(&p.start))
                    .map(|plan| (ratio, plan))
            })
            .collect();
        plans.sort_by(|(ra, a), (rb, b)| {
            b.emergency
                .cmp(&a.emergency)
                .then(rb.total_cmp(ra))
                .then(a.partition.cmp(&b.partition))
        });
        let mut plans: Vec<MergePlan> = plans.into_iter().map(|(_, p)| p).collect();
        plans.extend(self.plan_roll_ups(state));
        plans
    }

    /// Roll-ups (see the module documentation): for each run of partitions inside one
    /// interval of the next coarser calendar unit, at least two of them, Active or Sealed,
    /// together at most [`CompactionPolicy::target_segment_bytes`], where that interval ends
    /// before the newest partition starts. Partitions longer than a year, and tables without
    /// a time column, are never rolled up.
    pub fn plan_roll_ups(&self, state: &TableState) -> Vec<MergePlan> {
        let Some((&newest, _)) = state.partitions.iter().next_back() else {
            return Vec::new();
        };
        if state.config.time_column().is_none() {
            return Vec::new();
        }
        let unit = state.config.time_unit;
        let mut plans = Vec::new();
        let mut taken_until = i64::MIN;
        for p in state.partitions.values() {
            if p.start < taken_until {
                continue;
            }
            let coarse = p
                .end
                .checked_sub(p.start)
                .and_then(|len| Granularity::of_length(len, unit))
                .and_then(Granularity::coarser)
                .and_then(|g| g.partitioning(unit).interval(p.start, unit, None).ok());
            let Some((start, end)) = coarse else {
                continue;
            };
            if end > newest {
                continue;
            }
            let group: Vec<&Partition> = state
                .partitions
                .range(..end)
                .map(|(_, q)| q)
                .filter(|q| q.end > start)
                .collect();
            let fits = group.len() >= 2
                && group
                    .iter()
                    .all(|q| q.start >= start && q.end <= end && Self::eligible(q.state));
            let bytes: u64 = group
                .iter()
                .flat_map(|q| q.segments.values())
                .map(|s| s.bytes)
                .sum();
            let inputs: Vec<SegmentId> = group
                .iter()
                .flat_map(|q| q.segments.keys().copied())
                .collect();
            if !fits || bytes > self.target_segment_bytes || inputs.len() > ROLL_UP_MAX_INPUTS {
                continue;
            }
            taken_until = end;
            plans.push(MergePlan {
                partition: start,
                inputs,
                reason: PlanReason::RollUp {
                    partitions: group.len(),
                },
                io_share: self.normal_io_share,
                emergency: false,
                roll_up: Some(RollUp {
                    from: group.iter().map(|q| q.start).collect(),
                    start,
                    end,
                }),
            });
        }
        plans
    }

    /// Plans that ignore the triggers (a user asked to compact now): every queryable partition
    /// with two or more segments, or with deleted rows, gets one plan over up to
    /// [`CompactionPolicy::max_inputs`] segments adjacent in key range (the whole partition
    /// when it has no more), at the emergency I/O share. Running the plans and planning again
    /// converges: each run leaves fewer segments or fewer deleted rows.
    pub fn plan_requested(&self, state: &TableState) -> Vec<MergePlan> {
        state
            .partitions
            .values()
            .filter(|p| Self::eligible(p.state))
            .filter(|p| p.segments.len() >= 2 || p.segments.values().any(|s| s.deleted_rows() > 0))
            .map(|p| MergePlan {
                partition: p.start,
                inputs: self.adjacent_run(p, self.max_inputs.max(2)),
                reason: PlanReason::Requested {
                    segments: p.segments.len(),
                },
                io_share: self.emergency_io_share,
                emergency: false,
                roll_up: None,
            })
            .filter(|plan| !plan.inputs.is_empty())
            .chain(self.plan_roll_ups(state))
            .collect()
    }

    /// Plans that rewrite what [`Self::plan_requested`] leaves alone: every queryable
    /// partition of exactly one segment without deleted rows gets a plan rewriting that
    /// segment (so that a changed setting of the table, such as its compression, reaches
    /// segments already written). Together with [`Self::plan_requested`] every segment is
    /// rewritten.
    pub fn plan_rewrite(&self, state: &TableState) -> Vec<MergePlan> {
        state
            .partitions
            .values()
            .filter(|p| Self::eligible(p.state))
            .filter(|p| p.segments.len() == 1 && p.segments.values().all(|s| s.deleted_rows() == 0))
            .map(|p| MergePlan {
                partition: p.start,
                inputs: p.segments.keys().copied().collect(),
                reason: PlanReason::Requested { segments: 1 },
                io_share: self.emergency_io_share,
                emergency: false,
                roll_up: None,
            })
            .collect()
    }

    /// The plan for one partition, if one of its triggers fires.
    pub fn plan_partition(
        &self,
        p: &Partition,
        ratio: f64,
        now: Instant,
        last: Option<&Instant>,
    ) -> Option<MergePlan> {
        let emergency = ratio > self.emergency_dead_space_ratio;
        let rested = last.is_none_or(|t| now.saturating_duration_since(*t) >= self.min_interval);
        if !emergency && !rested {
            return None;
        }
        let max_inputs = self.max_inputs.max(1);
        let ranked = self.ranked(p);
        let small = |s: &SegmentEntry| s.bytes < self.target_segment_bytes;
        let (inputs, reason) = if ratio > self.dead_space_ratio || emergency {
            // Every segment with deleted rows, then small ones that ride along for free.
            let inputs: Vec<SegmentId> = ranked
                .iter()
                .filter(|s| s.deleted_rows() > 0 || small(s))
                .take(max_inputs)
                .map(|s| s.id)
                .collect();
            let reason = if emergency {
                PlanReason::Emergency { ratio }
            } else {
                PlanReason::DeadSpace { ratio }
            };
            (inputs, reason)
        } else if p.segments.len() > self.max_segments {
            let segments = p.segments.len();
            let smalls: Vec<SegmentId> = ranked
                .iter()
                .filter(|s| small(s))
                .take(max_inputs)
                .map(|s| s.id)
                .collect();
            if smalls.len() >= 2 {
                (smalls, PlanReason::SmallSegments { segments })
            } else {
                (
                    self.adjacent_run(p, max_inputs),
                    PlanReason::TooManySegments { segments },
                )
            }
        } else {
            return None;
        };
        // A dead-space plan may rewrite a single segment; a count plan needs two.
        let enough = match reason {
            PlanReason::DeadSpace { .. } | PlanReason::Emergency { .. } => !inputs.is_empty(),
            _ => inputs.len() >= 2,
        };
        enough.then_some(MergePlan {
            partition: p.start,
            inputs,
            reason,
            io_share: if emergency {
                self.emergency_io_share
            } else {
                self.normal_io_share
            },
            emergency,
            roll_up: None,
        })
    }

    /// The partition's segments in selection order: dead space, small, overlapping, oldest.
    fn ranked<'a>(&self, p: &'a Partition) -> Vec<&'a SegmentEntry> {
        let mut v: Vec<(&SegmentEntry, f64, bool, bool)> = p
            .segments
            .values()
            .map(|s| {
                (
                    s,
                    dead_fraction(s),
                    s.bytes < self.target_segment_bytes,
                    overlaps_another(s, p),
                )
            })
            .collect();
        v.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(b.2.cmp(&a.2))
                .then(b.3.cmp(&a.3))
                .then(a.0.id.cmp(&b.0.id))
        });
        v.into_iter().map(|(s, ..)| s).collect()
    }

    /// The run of `n` segments adjacent in key range (ordered by `min_ts`) with the most
    /// overlapping members, ties going to the oldest run (smallest sum of ids).
    fn adjacent_run(&self, p: &Partition, n: usize) -> Vec<SegmentId> {
        let mut by_key: Vec<&SegmentEntry> = p.segments.values().collect();
        by_key.sort_by_key(|s| (s.min_ts, s.max_ts, s.id));
        let n = n.min(by_key.len());
        if n == 0 {
            return Vec::new();
        }
        let overlap: Vec<bool> = by_key.iter().map(|s| overlaps_another(s, p)).collect();
        let mut best: Option<(usize, usize, u128)> = None;
        for start in 0..=by_key.len() - n {
            let run = start..start + n;
            let overlapping = overlap
                .get(run.clone())
                .map_or(0, |o| o.iter().filter(|&&b| b).count());
            let age: u128 = by_key
                .get(run)
                .map_or(0, |r| r.iter().map(|s| u128::from(s.id)).sum());
            let better = match best {
                None => true,
                Some((_, o, a)) => overlapping > o || (overlapping == o && age < a),
            };
            if better {
                best = Some((start, overlapping, age));
            }
        }
        let start = best.map_or(0, |(s, ..)| s);
        by_key.iter().skip(start).take(n).map(|s| s.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_format::{DataType, Field, Schema, TimeUnit};
    use strata_partition_registry::{Edit, Partitioning, TableConfig};

    use super::*;

    const DAY: i64 = 86_400;

    /// One segment: (partition day, bytes, rows, deleted rows, min_ts, max_ts within the day).
    type Seg = (i64, u64, u64, u32, i64, i64);

    fn state(segs: &[Seg]) -> TableState {
        let schema = Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Second, None),
            false,
        )])
        .unwrap();
        let mut s =
            TableState::new(TableConfig::new(schema, "ts", Partitioning::Day).unwrap()).unwrap();
        s.apply_record(&[Edit::ReserveSegmentIds { limit: 10_000 }])
            .unwrap();
        for (id, &(day, bytes, rows, deleted, lo, hi)) in segs.iter().enumerate() {
            let start = day * DAY;
            if !s.partitions.contains_key(&start) {
                s.apply_record(&[Edit::CreatePartition {
                    start,
                    end: start + DAY,
                }])
                .unwrap();
            }
            let id = id as u64;
            s.apply_record(&[Edit::AddSegment(SegmentEntry {
                id,
                file: format!("part-{start}/seg-{id}.strata"),
                partition: start,
                rows,
                bytes,
                min_ts: start + lo,
                max_ts: start + hi,
                schema_version: 0,
                deletion: None,
            })])
            .unwrap();
            if deleted > 0 {
                s.apply_record(&[Edit::AddDeletionVector {
                    segment: id,
                    file: "dv".into(),
                    bitmap: Arc::new((0..deleted).collect()),
                }])
                .unwrap();
            }
        }
        s
    }

    const BIG: u64 = 1 << 30;

    #[test]
    fn defaults_are_the_documented_thresholds() {
        let p = CompactionPolicy::default();
        assert_eq!(p.dead_space_ratio, 0.20);
        assert_eq!(p.emergency_dead_space_ratio, 0.70);
        assert_eq!(p.max_segments, 32);
        assert_eq!(p.min_interval, Duration::from_secs(60));
        assert_eq!((p.normal_io_share, p.emergency_io_share), (0.30, 0.60));
    }

    #[test]
    fn dead_space_over_threshold_plans_the_deleted_segments_first() {
        // Day 0: 22.5 % dead (segments 1 and 3 partly dead, 0 and 2 clean and large).
        let s = state(&[
            (0, BIG, 100, 0, 0, 10),
            (0, BIG, 100, 50, 20, 30),
            (0, BIG, 100, 0, 40, 50),
            (0, BIG, 100, 40, 60, 70),
        ]);
        let now = Instant::now();
        let plans = CompactionPolicy::default().plan(&s, now, &HashMap::new());
        assert_eq!(plans.len(), 1);
        let plan = &plans[0];
        assert_eq!(
            plan.inputs,
            vec![1, 3],
            "most dead first, clean large ones left"
        );
        assert!(matches!(plan.reason, PlanReason::DeadSpace { ratio } if ratio > 0.2));
        assert_eq!((plan.io_share, plan.emergency), (0.30, false));
        // 15 % dead: nothing to do.
        let s = state(&[(0, BIG, 100, 15, 0, 10), (0, BIG, 100, 15, 20, 30)]);
        assert!(
            CompactionPolicy::default()
                .plan(&s, now, &HashMap::new())
                .is_empty()
        );
    }

    #[test]
    fn interval_holds_back_normal_plans_but_not_emergencies() {
        let t0 = Instant::now();
        let normal = state(&[(0, BIG, 100, 30, 0, 10)]);
        let emergency = state(&[(0, BIG, 100, 80, 0, 10)]);
        let policy = CompactionPolicy::default();
        let recent = HashMap::from([(0, t0)]);
        let soon = t0 + Duration::from_secs(10);
        let later = t0 + Duration::from_secs(61);
        assert!(policy.plan(&normal, soon, &recent).is_empty());
        assert_eq!(policy.plan(&normal, later, &recent).len(), 1);
        let e = policy.plan(&emergency, soon, &recent);
        assert_eq!(e.len(), 1);
        assert!(e[0].emergency);
        assert_eq!(e[0].io_share, 0.60);
        assert!(matches!(e[0].reason, PlanReason::Emergency { .. }));
    }

    #[test]
    fn many_segments_merge_small_tier_before_large_ones() {
        let mut segs: Vec<Seg> = (0..30)
            .map(|i| (0, BIG, 100, 0, i * 10, i * 10 + 5))
            .collect();
        segs.extend((30..36).map(|i| (0, 1000, 10, 0, i * 10, i * 10 + 5)));
        let s = state(&segs);
        let plans = CompactionPolicy::default().plan(&s, Instant::now(), &HashMap::new());
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].inputs, (30..36).collect::<Vec<_>>());
        assert_eq!(plans[0].reason, PlanReason::SmallSegments { segments: 36 });
        // Without a small tier, a run of adjacent large segments, overlapping ones preferred.
        let mut segs: Vec<Seg> = (0..40)
            .map(|i| (0, BIG, 100, 0, i * 10, i * 10 + 5))
            .collect();
        // Segments 38 and 39 overlap 0 and 1 in key range.
        segs[38] = (0, BIG, 100, 0, 1, 12);
        segs[39] = (0, BIG, 100, 0, 3, 4);
        let s = state(&segs);
        let policy = CompactionPolicy {
            max_inputs: 4,
            ..CompactionPolicy::default()
        };
        let plans = policy.plan(&s, Instant::now(), &HashMap::new());
        assert_eq!(
            plans[0].reason,
            PlanReason::TooManySegments { segments: 40 }
        );
        let mut got = plans[0].inputs.clone();
        got.sort();
        assert_eq!(
            got,
            vec![0, 1, 38, 39],
            "the overlapping run, adjacent by key"
        );
    }

    #[test]
    fn plans_never_cross_partitions_and_emergencies_come_first() {
        let s = state(&[
            (0, BIG, 100, 50, 0, 10),
            (0, BIG, 100, 0, 20, 30),
            (1, BIG, 100, 90, 0, 10),
            (2, BIG, 100, 50, 0, 10),
        ]);
        let plans = CompactionPolicy::default().plan(&s, Instant::now(), &HashMap::new());
        let order: Vec<i64> = plans.iter().map(|p| p.partition).collect();
        assert_eq!(order, vec![DAY, 2 * DAY, 0]);
        for p in &plans {
            for id in &p.inputs {
                assert_eq!(s.segment(*id).unwrap().partition, p.partition);
            }
        }
    }

    #[test]
    fn merging_and_deleted_partitions_are_left_alone() {
        let mut s = state(&[(0, BIG, 100, 90, 0, 10)]);
        s.apply_record(&[Edit::SetPartitionState {
            partition: 0,
            state: PartitionState::Sealed,
        }])
        .unwrap();
        let policy = CompactionPolicy::default();
        assert_eq!(policy.plan(&s, Instant::now(), &HashMap::new()).len(), 1);
        s.apply_record(&[Edit::SetPartitionState {
            partition: 0,
            state: PartitionState::Merging,
        }])
        .unwrap();
        assert!(policy.plan(&s, Instant::now(), &HashMap::new()).is_empty());
    }
}
