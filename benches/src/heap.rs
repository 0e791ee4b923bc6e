//! Heap accounting for peak-memory figures.
//!
//! The counters are plain atomics; the `strata-benches` binary installs a global allocator that
//! forwards to the system allocator and reports every allocation and release here (the only
//! `unsafe` of the crate lives in that allocator, in `main.rs`). Without it — in tests, or when
//! the library is used from another binary — [`is_counting`] is false and suites report peak
//! memory as not measured.
//!
//! The figures are requested bytes (`Layout::size`), not the allocator's resident pages.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Records an allocation of `bytes`.
#[inline]
pub fn allocated(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

/// Records a release of `bytes`.
#[inline]
pub fn freed(bytes: usize) {
    CURRENT.fetch_sub(bytes, Ordering::Relaxed);
}

/// Called once by a binary whose global allocator reports to this module.
pub fn set_counting() {
    COUNTING.store(true, Ordering::Relaxed);
}

/// Whether a counting allocator reports here.
pub fn is_counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

/// Bytes allocated and not yet released.
pub fn current() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// Highest [`current`] since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak window at the current level and returns that level.
pub fn reset_peak() -> usize {
    let now = current();
    PEAK.store(now, Ordering::Relaxed);
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_follows_allocations_and_resets_to_current() {
        // Other tests' allocations are not reported here (no counting allocator in tests), so
        // the counters move only by what this test records.
        let base = reset_peak();
        allocated(1000);
        freed(400);
        assert_eq!(current(), base + 600);
        assert_eq!(peak(), base + 1000);
        assert_eq!(reset_peak(), base + 600);
        assert_eq!(peak(), base + 600);
        freed(600);
        assert_eq!(current(), base);
    }
}
