//! The background scheduler: one thread fed through a channel with compaction triggers and
//! stop, that also drains the deletion queue.
//!
//! Readers never go through it (they take [`Compactor::snapshot`]), and neither do flushes:
//! the facade flushes on its own threads through the registry's one flush path
//! (`Registry::stage_segments` + `Registry::commit_staged`) and triggers the scheduler after
//! each. A cycle runs one plan; when more plans are due the next iteration comes at once.
//! Stopping cancels a running merge at its next output batch, so `stop` + `join` (and dropping
//! the handle) never waits for a whole merge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select};
use strata_partition_registry::RegistryError;
use strata_writer::WriterOptions;

use crate::compactor::{Compactor, CycleReport};
use crate::error::{CompactorError, Result};
use crate::policy::CompactionPolicy;

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The policy evaluated on every tick and trigger.
    pub policy: CompactionPolicy,
    /// How often the policy is evaluated without a trigger: 1 s.
    pub tick: Duration,
    /// How merge outputs are written.
    pub writer: WriterOptions,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            policy: CompactionPolicy::default(),
            tick: Duration::from_secs(1),
            writer: WriterOptions::default(),
        }
    }
}

/// What the scheduler has done so far.
#[derive(Debug, Clone, Default)]
pub struct SchedulerStats {
    /// Completed compaction cycles, oldest first.
    pub cycles: Vec<CycleReport>,
    /// Failed cycles and deletions (the message of each error).
    pub errors: Vec<String>,
    /// Retired files deleted.
    pub files_deleted: u64,
    /// Plans made stale by another merge, or refused because a delete landed on an input
    /// during the merge (the output is discarded), then planned again.
    pub retried: u64,
}

enum Control {
    Trigger,
    Stop,
}

/// A running scheduler. [`CompactionHandle::stop`] asks it to stop after the current step;
/// [`CompactionHandle::join`] waits for it; dropping the handle does both.
#[derive(Debug)]
pub struct CompactionHandle {
    control_tx: Sender<Control>,
    stats: Arc<Mutex<SchedulerStats>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Trigger => "Trigger",
            Control::Stop => "Stop",
        })
    }
}

fn lock(m: &Mutex<SchedulerStats>) -> MutexGuard<'_, SchedulerStats> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CompactionHandle {
    /// Starts the background thread for `compactor`.
    pub fn start(compactor: Arc<Compactor>, config: SchedulerConfig) -> Result<CompactionHandle> {
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(Mutex::new(SchedulerStats::default()));
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            compactor,
            config,
            control_rx,
            stats: Arc::clone(&stats),
            cancel: Arc::clone(&cancel),
        };
        let thread = std::thread::Builder::new()
            .name("strata-compactor".into())
            .spawn(move || worker.run())
            .map_err(CompactorError::Spawn)?;
        Ok(CompactionHandle {
            control_tx,
            stats,
            cancel,
            thread: Some(thread),
        })
    }

    /// Asks for a policy evaluation now instead of at the next tick.
    pub fn trigger(&self) {
        let _ = self.control_tx.send(Control::Trigger);
    }

    /// A copy of the statistics so far.
    pub fn stats(&self) -> SchedulerStats {
        lock(&self.stats).clone()
    }

    /// Asks the thread to stop: a running merge is cancelled at its next output batch
    /// (nothing of it is committed; its inputs stay live).
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        let _ = self.control_tx.send(Control::Stop);
    }

    /// Stops the thread and waits for it; returns the final statistics.
    pub fn join(mut self) -> SchedulerStats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            // A panicking worker has nothing more to report.
            let _ = t.join();
        }
    }
}

impl Drop for CompactionHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    compactor: Arc<Compactor>,
    config: SchedulerConfig,
    control_rx: Receiver<Control>,
    stats: Arc<Mutex<SchedulerStats>>,
    cancel: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        let mut more_due = false;
        loop {
            let wait = if more_due {
                Duration::ZERO
            } else {
                self.config.tick
            };
            let compact = select! {
                recv(self.control_rx) -> c => match c {
                    Ok(Control::Trigger) => true,
                    Ok(Control::Stop) | Err(_) => break,
                },
                default(wait) => true,
            };
            if compact {
                more_due = self.compact_once();
            }
            self.collect();
        }
        self.collect();
    }

    /// Runs the first due plan; returns whether more were due.
    fn compact_once(&self) -> bool {
        if let Err(e) = self.compactor.refresh() {
            lock(&self.stats).errors.push(format!("refresh: {e}"));
            return false;
        }
        let plans = self.compactor.plan(&self.config.policy);
        let Some(plan) = plans.first() else {
            return false;
        };
        let result = self
            .compactor
            .run_plan_cancellable(plan, Some(Arc::clone(&self.cancel)));
        let mut s = lock(&self.stats);
        match result {
            Ok(r) => {
                s.files_deleted += r.files_deleted as u64;
                s.cycles.push(r);
            }
            // Stopping: the merge left nothing behind.
            Err(CompactorError::Cancelled) => return false,
            // Another merge (a requested one) changed the partition since the plan, or a delete
            // landed on an input during the merge (its output was discarded): plan again.
            Err(
                CompactorError::StalePlan { .. }
                | CompactorError::Registry(RegistryError::MergeConflict { .. }),
            ) => {
                s.retried += 1;
                return true;
            }
            Err(e) => {
                s.errors.push(format!("partition {}: {e}", plan.partition));
                return false;
            }
        }
        plans.len() > 1
    }

    fn collect(&self) {
        match self.compactor.collect_garbage() {
            Ok(n) => lock(&self.stats).files_deleted += n as u64,
            Err(e) => lock(&self.stats).errors.push(format!("deleting: {e}")),
        }
    }
}
