#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Peak memory of a merge does not grow with the input size: the data path holds inputs ×
//! block × columns, and the output's block index stays within `WriterOptions::index_memory`
//! (past it, entries go to a side file and are streamed into the footer). Measured with a
//! counting global allocator around the merge call only; inputs are opened before (their
//! footers belong to the table index) and live on the local filesystem, so file contents are
//! not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use strata_compactor::{MergeInput, MergeOptions, merge_segments};
use strata_format::{DataType, Field, FileSystem, LocalFs, Schema, Segment, SymbolAs};
use strata_writer::{SegmentWriter, WriterOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as System.alloc.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as System.dealloc.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Default options but a 4 KiB block-index budget: the smaller run's index (about 6 KB in
/// the compact footer layout) must pass it too, or the larger run's peak would hold a budget
/// the smaller never filled, and the comparison would measure the budget, not growth.
fn opts() -> WriterOptions {
    WriterOptions {
        index_memory: 4096,
        ..WriterOptions::default()
    }
}

fn build_inputs(dir: &Path, k: usize, rows: usize) -> Vec<MergeInput> {
    let schema = Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, false),
        Field::new("v", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["ts"])
    .unwrap();
    let arrow = Arc::new(schema.to_arrow(SymbolAs::Utf8));
    let fs: Arc<dyn FileSystem> = Arc::new(LocalFs);
    (0..k)
        .map(|i| {
            let name = format!("in-{i}");
            let mut w =
                SegmentWriter::create(fs.clone(), dir, &name, schema.clone(), opts()).unwrap();
            for chunk in (0..rows).collect::<Vec<_>>().chunks(10_000) {
                let ts: Vec<i64> = chunk.iter().map(|&r| (r * k + i) as i64).collect();
                let host: Vec<String> = chunk.iter().map(|&r| format!("h{}", r % 50)).collect();
                let v: Vec<f64> = chunk.iter().map(|&r| (r % 1000) as f64 / 10.0).collect();
                let b = RecordBatch::try_new(
                    arrow.clone(),
                    vec![
                        Arc::new(Int64Array::from(ts)),
                        Arc::new(StringArray::from(host)),
                        Arc::new(Float64Array::from(v)),
                    ],
                )
                .unwrap();
                w.write_batch(&b).unwrap();
            }
            let meta = w.finish().unwrap();
            MergeInput {
                name,
                segment: Arc::new(Segment::open(&LocalFs, &meta.path).unwrap()),
                deleted: None,
                write_order: i as u64,
            }
        })
        .collect()
}

/// Peak bytes allocated by the merge, and the number of output blocks.
fn peak_of_merge(rows: usize) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = build_inputs(dir.path(), 4, rows);
    let merge_opts = MergeOptions {
        writer: opts(),
        ..MergeOptions::default()
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = merge_segments(Arc::new(LocalFs), dir.path(), "out", inputs, &merge_opts).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    assert_eq!(out.rows_out, 4 * rows as u64);
    // The footer streamed back from the side file is whole, and the side file is gone.
    let merged = Segment::open(&LocalFs, &out.meta.path).unwrap();
    assert_eq!(merged.footer().row_count, 4 * rows as u64);
    assert_eq!(merged.read_column(0).unwrap().len(), 4 * rows);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    (peak, out.meta.columns[0].blocks as usize)
}

#[test]
fn merge_ten_times_more_rows_peak_stays_within_1_2x() {
    let (small, small_blocks) = peak_of_merge(25_000);
    let (large, large_blocks) = peak_of_merge(250_000);
    println!(
        "peak allocation during merge: {} rows ({small_blocks} blocks per column) {small} B, \
         {} rows ({large_blocks} blocks per column) {large} B ({:.2}x)",
        4 * 25_000,
        4 * 250_000,
        large as f64 / small as f64
    );
    // The output really has ten times the blocks (and index entries).
    assert!(
        large_blocks >= 9 * small_blocks,
        "{small_blocks} vs {large_blocks} blocks"
    );
    assert!(
        large as f64 <= 1.2 * small as f64,
        "peak grew from {small} to {large} bytes for 10x the rows"
    );
}
