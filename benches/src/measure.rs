//! Timing: run a closure several times, keep the median.

use std::time::Instant;

use crate::Result;

/// Runs `f` `reps` times (at least once) and returns the median wall time in seconds.
pub fn median_secs<F>(reps: usize, mut f: F) -> Result<f64>
where
    F: FnMut() -> Result<()>,
{
    let mut times = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(median(&mut times))
}

/// Median seconds per call of `f` over `reps` timed runs, each run lasting at least about
/// `min_run_secs`: a first call, timed only to calibrate, sets how many calls one run makes,
/// so inputs that take microseconds are not timed at the clock's resolution.
pub fn median_secs_per_call<F>(reps: usize, min_run_secs: f64, mut f: F) -> Result<f64>
where
    F: FnMut() -> Result<()>,
{
    let start = Instant::now();
    f()?;
    let once = start.elapsed().as_secs_f64();
    let calls = calls_per_run(once, min_run_secs);
    let per_run = median_secs(reps, || {
        for _ in 0..calls {
            f()?;
        }
        Ok(())
    })?;
    Ok(per_run / calls as f64)
}

/// A timed operation, boxed so that operations of different codecs can be interleaved.
pub type Op<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Median seconds per call of each operation. Each is calibrated like
/// [`median_secs_per_call`], then the runs are interleaved (run 1 of every operation, then run
/// 2, …) so that load from other processes on a shared machine hits every operation alike and
/// the ratios between them stay fair.
pub fn interleaved_medians(ops: &mut [Op<'_>], reps: usize, min_run_secs: f64) -> Result<Vec<f64>> {
    let mut calls = Vec::with_capacity(ops.len());
    for op in ops.iter_mut() {
        let start = Instant::now();
        op()?;
        calls.push(calls_per_run(start.elapsed().as_secs_f64(), min_run_secs));
    }
    let mut times = vec![Vec::with_capacity(reps.max(1)); ops.len()];
    for _ in 0..reps.max(1) {
        for ((op, &n), t) in ops.iter_mut().zip(&calls).zip(&mut times) {
            let start = Instant::now();
            for _ in 0..n {
                op()?;
            }
            t.push(start.elapsed().as_secs_f64() / n as f64);
        }
    }
    Ok(times.iter_mut().map(|t| median(t)).collect())
}

/// How many calls of `once` seconds make a run of at least `min_run_secs` (1..=1,000,000).
pub fn calls_per_run(once: f64, min_run_secs: f64) -> usize {
    if once > 0.0 {
        ((min_run_secs / once).ceil() as usize).clamp(1, 1_000_000)
    } else {
        1_000_000
    }
}

/// Median of `xs` (mean of the middle two for an even count); 0 when empty.
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// CPU time the calling thread has run, in seconds, where the OS tells it (Linux:
/// `/proc/thread-self/schedstat`, nanoseconds). On a machine shared with other work, the CPU
/// time of a single-threaded operation measures its cost per core better than wall time.
pub fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Throughput in MB/s (10^6 bytes) of `bytes` processed in `secs`.
pub fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / 1e6 / secs
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_count_is_middle_value() {
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
    }

    #[test]
    fn median_of_even_count_is_mean_of_middle_two() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn median_secs_runs_closure_reps_times() {
        let mut calls = 0;
        let secs = median_secs(4, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 4);
        assert!(secs >= 0.0);
    }

    #[test]
    fn calls_per_run_fills_the_minimum_run_time() {
        assert_eq!(calls_per_run(0.001, 0.1), 100);
        assert_eq!(calls_per_run(0.3, 0.1), 1);
        assert_eq!(calls_per_run(0.0, 0.1), 1_000_000);
    }

    #[test]
    fn median_secs_per_call_makes_a_calibration_call_then_whole_runs() {
        let mut calls = 0;
        let secs = median_secs_per_call(3, 0.0, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        // With no minimum run time each run is one call (unless the clock read 0 for the
        // calibration call, in which case runs are as long as allowed).
        assert!(calls == 4 || calls == 1 + 3 * 1_000_000, "{calls} calls");
        assert!(secs >= 0.0);
    }

    #[test]
    fn interleaved_medians_runs_every_op_in_turn() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut ops: Vec<Op<'_>> = vec![
            Box::new(|| {
                log.borrow_mut().push('a');
                Ok(())
            }),
            Box::new(|| {
                log.borrow_mut().push('b');
                Ok(())
            }),
        ];
        let secs = interleaved_medians(&mut ops, 2, 0.0).unwrap();
        drop(ops);
        assert_eq!(secs.len(), 2);
        // Calibration a, b; then run 1 a, b; run 2 a, b (one call each, unless the clock read 0).
        let log: String = log.into_inner().into_iter().collect();
        assert!(log == "ababab" || log.len() > 6, "{log}");
    }

    #[test]
    fn thread_cpu_time_grows_with_work() {
        let Some(before) = thread_cpu_secs() else {
            println!("no per-thread CPU time on this OS; skipped");
            return;
        };
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = thread_cpu_secs().unwrap();
        assert!(after > before, "{before} -> {after} ({x})");
    }

    #[test]
    fn mb_per_s_divides_bytes_by_time() {
        assert_eq!(mb_per_s(8_000_000, 2.0), 4.0);
    }
}
