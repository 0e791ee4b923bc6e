//! Property test of the policy over random tables: plans never cross partitions, never repeat
//! an input, respect the input cap, carry the budget of their urgency, come emergencies first,
//! and a recently compacted partition is planned only in an emergency; roll-ups take whole,
//! small, cold runs of partitions inside one coarser calendar interval.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use strata_compactor::{CompactionPolicy, MergePlan, PlanReason, dead_ratio};
use strata_format::{DataType, Field, Schema, TimeUnit};
use strata_partition_registry::{Edit, Partitioning, SegmentEntry, TableConfig, TableState};

const DAY: i64 = 86_400;

/// (day: January 1-4, January 31 - February 3 or March 2-5; bytes, rows, deleted, min offset,
/// span)
type Seg = (i64, u64, u64, u64, i64, i64);

fn table(segs: &[Seg]) -> TableState {
    let schema = Schema::new(vec![Field::new(
        "ts",
        DataType::Timestamp(TimeUnit::Second, None),
        false,
    )])
    .unwrap();
    let mut s =
        TableState::new(TableConfig::new(schema, "ts", Partitioning::Day).unwrap()).unwrap();
    s.apply_record(&[Edit::ReserveSegmentIds { limit: 100_000 }])
        .unwrap();
    for (id, &(day, bytes, rows, deleted, lo, span)) in segs.iter().enumerate() {
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
            file: format!("f{id}"),
            partition: start,
            rows,
            bytes,
            min_ts: start + lo,
            max_ts: start + lo + span,
            schema_version: 0,
            deletion: None,
        })])
        .unwrap();
        let deleted = deleted.min(rows) as u32;
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

fn seg() -> impl Strategy<Value = Seg> {
    (
        prop_oneof![0i64..4, 30i64..34, 60i64..64],
        1u64..2_000,
        1u64..100,
        0u64..120,
        0i64..80_000,
        0i64..5_000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn plans_are_well_formed(
        segs in proptest::collection::vec(seg(), 0..60),
        max_segments in 1usize..10,
        max_inputs in 1usize..8,
        target in 1u64..2_000,
    ) {
        let s = table(&segs);
        let policy = CompactionPolicy {
            max_segments,
            max_inputs,
            target_segment_bytes: target,
            ..CompactionPolicy::default()
        };
        let now = Instant::now();
        let plans = policy.plan(&s, now, &HashMap::new());
        let mut partitions = BTreeSet::new();
        let mut seen_normal = false;
        for p in plans.iter().filter(|p| p.roll_up.is_some()) {
            check_roll_up(&s, p, target)?;
        }
        for p in plans.iter().filter(|p| p.roll_up.is_none()) {
            prop_assert!(partitions.insert(p.partition), "two plans for one partition");
            let part = &s.partitions[&p.partition];
            let ids: BTreeSet<_> = p.inputs.iter().collect();
            prop_assert_eq!(ids.len(), p.inputs.len(), "repeated input");
            prop_assert!(!p.inputs.is_empty() && p.inputs.len() <= max_inputs);
            for id in &p.inputs {
                prop_assert!(part.segments.contains_key(id), "input outside its partition");
            }
            let ratio = dead_ratio(part);
            prop_assert_eq!(p.emergency, ratio > 0.70);
            prop_assert_eq!(p.io_share, if p.emergency { 0.60 } else { 0.30 });
            prop_assert!(!(p.emergency && seen_normal), "emergency after a normal plan");
            seen_normal |= !p.emergency;
            match p.reason {
                PlanReason::SmallSegments { .. } => {
                    prop_assert!(p.inputs.len() >= 2);
                    for id in &p.inputs {
                        prop_assert!(part.segments[id].bytes < target, "large input in small tier");
                    }
                }
                PlanReason::TooManySegments { segments } => {
                    prop_assert!(segments > max_segments && p.inputs.len() >= 2);
                }
                PlanReason::DeadSpace { ratio: r } | PlanReason::Emergency { ratio: r } => {
                    prop_assert!(r > 0.20);
                }
                PlanReason::Requested { .. } => prop_assert!(false, "trigger plan marked requested"),
                PlanReason::RollUp { .. } => prop_assert!(false, "roll-up without its partitions"),
            }
        }
        // Requested plans: one per partition holding two or more segments or deleted rows,
        // over segments of that partition only, the whole partition when it fits one plan.
        let (requested, roll_ups): (Vec<_>, Vec<_>) = policy
            .plan_requested(&s)
            .into_iter()
            .partition(|p| p.roll_up.is_none());
        for p in &roll_ups {
            check_roll_up(&s, p, target)?;
        }
        let wanted: BTreeSet<i64> = s
            .partitions
            .values()
            .filter(|p| p.segments.len() >= 2 || p.segments.values().any(|e| e.deleted_rows() > 0))
            .map(|p| p.start)
            .collect();
        prop_assert_eq!(requested.iter().map(|p| p.partition).collect::<BTreeSet<_>>(), wanted);
        for p in &requested {
            let part = &s.partitions[&p.partition];
            prop_assert_eq!(p.inputs.len(), part.segments.len().min(max_inputs.max(2)));
            for id in &p.inputs {
                prop_assert!(part.segments.contains_key(id), "input outside its partition");
            }
            prop_assert_eq!(p.reason, PlanReason::Requested { segments: part.segments.len() });
        }
        // Every partition compacted a moment ago: only emergencies remain.
        let recent: HashMap<i64, Instant> = s.partitions.keys().map(|k| (*k, now)).collect();
        let soon = policy.plan(&s, now + Duration::from_secs(1), &recent);
        let emergencies: Vec<_> = plans
            .iter()
            .filter(|p| p.emergency || p.roll_up.is_some())
            .cloned()
            .collect();
        prop_assert_eq!(soon, emergencies);
    }
}

/// A roll-up plan takes every segment of the partitions it rolls up, which are all the
/// partitions overlapping its interval, at least two, inside it, small together, and older
/// than the newest partition.
fn check_roll_up(s: &TableState, p: &MergePlan, target: u64) -> Result<(), TestCaseError> {
    let Some(r) = &p.roll_up else {
        return Ok(());
    };
    prop_assert_eq!(p.partition, r.start);
    prop_assert_eq!(
        p.reason,
        PlanReason::RollUp {
            partitions: r.from.len()
        }
    );
    let overlapping: Vec<i64> = s
        .partitions
        .values()
        .filter(|q| q.start < r.end && r.start < q.end)
        .map(|q| q.start)
        .collect();
    prop_assert_eq!(&overlapping, &r.from);
    prop_assert!(r.from.len() >= 2);
    let newest = s.partitions.keys().next_back().copied().unwrap_or(i64::MIN);
    prop_assert!(r.end <= newest, "a roll-up of the newest partition");
    let mut all: Vec<u64> = Vec::new();
    let mut bytes = 0;
    for q in &r.from {
        let part = &s.partitions[q];
        prop_assert!(part.start >= r.start && part.end <= r.end);
        all.extend(part.segments.keys());
        bytes += part.segments.values().map(|e| e.bytes).sum::<u64>();
    }
    prop_assert!(bytes <= target);
    let mut inputs = p.inputs.clone();
    inputs.sort_unstable();
    all.sort_unstable();
    prop_assert_eq!(inputs, all);
    Ok(())
}
