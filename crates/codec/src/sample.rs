//! Sampling for the scheme choice: estimate on a few runs of the block, not all of it.

use std::borrow::Cow;

/// Inputs at most this long are estimated whole.
const WHOLE: usize = 2048;
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
