//! Oracle stress test, bounded in operations and time: one writer (inserts through the
//! registry's flush path, deletes, late rows into older partitions), four reader threads
//! and the background compactor. Every reader's snapshot must hold exactly the rows of some
//! writer state between the last operation completed before the snapshot was taken and the
//! last one started before its scan ended.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use strata_compactor::{
    CompactionHandle, CompactionPolicy, Compactor, CompactorConfig, SchedulerConfig,
};
use strata_format::FaultFs;
use strata_predicate::BoundPredicate;

type Row = (i64, i64, Option<i64>);

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn oracle_stress_one_writer_four_readers_background_compactor() {
    let fs = FaultFs::new();
    let reg = create(&fs);
    let c = Arc::new(
        Compactor::open(
            Arc::new(reg),
            CompactorConfig {
                device_bytes_per_sec: 1 << 40,
                ..CompactorConfig::default()
            },
        )
        .unwrap(),
    );
    let handle = CompactionHandle::start(
        Arc::clone(&c),
        SchedulerConfig {
            policy: CompactionPolicy {
                dead_space_ratio: 0.05,
                max_segments: 3,
                min_interval: Duration::ZERO,
                target_segment_bytes: u64::MAX,
                ..CompactionPolicy::default()
            },
            tick: Duration::from_millis(2),
            ..SchedulerConfig::default()
        },
    )
    .unwrap();

    // states[i] = rows after i writer operations.
    let states: Arc<Mutex<Vec<BTreeSet<Row>>>> = Arc::new(Mutex::new(vec![BTreeSet::new()]));
    let started = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (c, states, started, completed, done) = (
                Arc::clone(&c),
                Arc::clone(&states),
                Arc::clone(&started),
                Arc::clone(&completed),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !done.load(Ordering::SeqCst) || checks == 0 {
                    let lo = completed.load(Ordering::SeqCst);
                    let snap = c.snapshot();
                    let snap_version = snap.version;
                    let got: BTreeSet<Row> = scan_rows(snap.scan()).into_iter().collect();
                    drop(snap);
                    let hi = started.load(Ordering::SeqCst);
                    let states = states.lock().unwrap();
                    let ok = (lo..=hi).any(|i| states[i] == got);
                    if !ok {
                        let want = &states[lo.min(states.len() - 1)];
                        let missing: Vec<_> = want.difference(&got).collect();
                        let extra: Vec<_> = got.difference(want).collect();
                        let segs: Vec<_> = c
                            .snapshot()
                            .segments()
                            .map(|h| (h.entry.id, h.entry.rows, h.entry.deleted_rows()))
                            .collect();
                        panic!(
                            "snapshot v{} matches no state in {lo}..={hi}: missing {missing:?} extra {extra:?}; now {segs:?}",
                            snap_version
                        );
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    let mut rng = Lcg(7);
    let mut live: BTreeSet<Row> = BTreeSet::new();
    let mut next_k = 0i64;
    let deadline = Instant::now() + Duration::from_secs(4);
    for _ in 0..150 {
        if Instant::now() > deadline {
            break;
        }
        // The state an operation leads to is known (and recorded) before it starts.
        if live.len() < 10 || rng.next(3) > 0 {
            // Mostly the newest day, sometimes a late row into an older one.
            let day = if rng.next(4) == 0 { rng.next(3) } else { 3 } as i64;
            let n = 1 + rng.next(20) as i64;
            let rows: Vec<(i64, i64)> = (0..n)
                .map(|i| (day * DAY + (rng.next(1000) as i64), next_k + i))
                .collect();
            next_k += n;
            live.extend(rows.iter().map(|&(ts, k)| (ts, k, Some(k * 10))));
            states.lock().unwrap().push(live.clone());
            started.fetch_add(1, Ordering::SeqCst);
            c.registry()
                .write_segments(&batch(&rows), Default::default())
                .unwrap();
            c.refresh().unwrap();
            handle.trigger();
        } else {
            let victims: Vec<i64> = live
                .iter()
                .map(|r| r.1)
                .filter(|_| rng.next(8) == 0)
                .take(5)
                .collect();
            live.retain(|r| !victims.contains(&r.1));
            states.lock().unwrap().push(live.clone());
            started.fetch_add(1, Ordering::SeqCst);
            if !victims.is_empty() {
                let sql = victims
                    .iter()
                    .map(|k| format!("k = {k}"))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let p = BoundPredicate::parse_and_bind(&sql, &schema()).unwrap();
                c.registry().delete(&p).unwrap();
                c.refresh().unwrap();
            }
        }
        completed.fetch_add(1, Ordering::SeqCst);
        handle.trigger();
    }
    done.store(true, Ordering::SeqCst);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    handle.trigger();
    let stats = handle.join();
    eprintln!(
        "{} ops, {checks} reader checks, {} cycles, {} files deleted, errors {:?}",
        completed.load(Ordering::SeqCst),
        stats.cycles.len(),
        stats.files_deleted,
        stats.errors
    );
    assert!(!stats.cycles.is_empty(), "the compactor never ran");
    for e in &stats.errors {
        assert!(e.contains("merge conflict"), "unexpected error: {e}");
    }
    for r in &stats.cycles {
        assert_eq!(r.rows_in - r.rows_deleted, r.rows_out, "{r:?}");
    }
    let want: Vec<Row> = live.iter().copied().collect();
    assert_eq!(rows(c.registry()), want);
    assert_eq!(scan_rows(c.snapshot().scan()), want);
    // Every retired segment file is gone; every referenced one is there. (Superseded
    // deletion vectors are left to recovery.)
    c.collect_garbage().unwrap();
    let (orphans, missing) = orphans_and_missing(&fs, c.registry());
    assert!(missing.is_empty(), "{missing:?}");
    let seg_orphans: Vec<_> = orphans
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "strata"))
        .collect();
    assert!(seg_orphans.is_empty(), "{seg_orphans:?}");
    // And after a restart the same rows, with nothing left over.
    drop(c);
    let after = fs.restart();
    let reg = open(&after);
    assert_eq!(rows(&reg), want);
    assert_files_are_referenced(&after, &reg);
}
