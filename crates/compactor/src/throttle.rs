//! An I/O rate limiter: the executor charges every byte it reads and writes, and sleeps when it
//! runs ahead of its budget.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket over bytes. One second's worth of tokens may accumulate, so short bursts go
/// through at full speed and the long-run rate stays at the budget.
#[derive(Debug)]
pub struct Throttle {
    bytes_per_sec: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    slept: Duration,
}

impl Throttle {
    /// A limiter allowing `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Self {
        let rate = bytes_per_sec.max(1) as f64;
        Self {
            bytes_per_sec: rate,
            state: Mutex::new(Bucket {
                tokens: rate,
                last: Instant::now(),
                slept: Duration::ZERO,
            }),
        }
    }

    /// A limiter for a share of a device's bandwidth (`share` in 0..=1, e.g. 0.30 normal,
    /// 0.60 emergency).
    pub fn for_budget(device_bytes_per_sec: u64, share: f64) -> Self {
        Self::new((device_bytes_per_sec as f64 * share.clamp(0.01, 1.0)) as u64)
    }

    /// The configured rate.
    pub fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec as u64
    }

    /// Total time spent sleeping so far.
    pub fn slept(&self) -> Duration {
        self.state.lock().map_or(Duration::ZERO, |s| s.slept)
    }

    /// Charges `bytes`, sleeping as long as the budget requires.
    pub fn consume(&self, bytes: u64) {
        let wait = {
            let Ok(mut s) = self.state.lock() else { return };
            let now = Instant::now();
            let refill = now.duration_since(s.last).as_secs_f64() * self.bytes_per_sec;
            s.tokens = (s.tokens + refill).min(self.bytes_per_sec);
            s.last = now;
            s.tokens -= bytes as f64;
            if s.tokens < 0.0 {
                let d = Duration::from_secs_f64(-s.tokens / self.bytes_per_sec);
                s.slept += d;
                d
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_over_budget_sleeps_for_the_excess() {
        let t = Throttle::new(1_000_000);
        // One second of burst is free; the next 200 KB is owed at 1 MB/s, about 0.2 s.
        t.consume(1_000_000);
        assert_eq!(t.slept(), Duration::ZERO);
        t.consume(200_000);
        assert!(
            t.slept() >= Duration::from_millis(150),
            "slept {:?}",
            t.slept()
        );
    }
}
