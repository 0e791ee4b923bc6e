//! Sampling for the scheme choice: estimate on a few runs of the block, not all of it.

use std::borrow::Cow;

/// Inputs at most this long (the format's default block of 4096 rows) are estimated whole.
const WHOLE: usize = 4096;
const RUNS: usize = 8;
const RUN_LEN: usize = 128;

/// Up to `RUNS` evenly spaced runs of `RUN_LEN` contiguous values (runs keep local structure,
/// such as deltas and repeats, that a scattered sample would destroy).
pub(crate) fn sample<T: Clone>(values: &[T]) -> Cow<'_, [T]> {
    if values.len() <= WHOLE {
        return Cow::Borrowed(values);
    }
    let stride = values.len() / RUNS;
    let mut out = Vec::with_capacity(RUNS * RUN_LEN);
    for i in 0..RUNS {
        let start = i * stride;
        out.extend_from_slice(&values[start..(start + RUN_LEN).min(values.len())]);
    }
    Cow::Owned(out)
}

/// Positions of a scattered probe of `0..n`: one in each window of `step` values, at an offset
/// that changes from window to window. A fixed stride sees a periodic input (a cycle of
/// stations, hours of a day, timestamps 57.6 s apart) at one phase whenever the stride is a
/// multiple of the period, and judges the whole input by that phase.
pub(crate) fn spread(n: usize, step: usize) -> impl Iterator<Item = usize> {
    let step = step.max(1);
    (0..n.div_ceil(step)).map(move |k| {
        let start = k * step;
        let mix = ((k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as usize;
        let at = start + mix % step;
        if at < n { at } else { start }
    })
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_takes_one_position_a_window_at_every_phase() {
        for (n, step) in [(1500, 5), (4096, 16), (10, 1), (7, 3), (0, 4)] {
            let at: Vec<usize> = spread(n, step).collect();
            assert_eq!(at.len(), n.div_ceil(step), "n {n} step {step}");
            for (k, &p) in at.iter().enumerate() {
                assert!(
                    p < n && p / step == k,
                    "n {n} step {step}: {p} in window {k}"
                );
            }
        }
        // A stride of 5 over a period-5 input sees one phase; the spread sees all five.
        let phases: std::collections::HashSet<usize> = spread(1500, 5).map(|p| p % 5).collect();
        assert_eq!(phases.len(), 5);
    }
}
