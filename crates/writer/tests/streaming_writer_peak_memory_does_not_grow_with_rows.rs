//! Peak live heap while streaming 1 000 000 rows through one `SegmentWriter` versus 100 000 rows,
//! `finish` included: the writer keeps one partial stripe, not the data, and at most
//! `WriterOptions::index_memory` bytes of the footer's block index (the rest waits in a side
//! file and is streamed into the footer), so ten times the rows cost at most 1.2 times the peak.
//! Measured with a counting global allocator; this binary holds a single test so no other
//! test's allocations are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![expect(
    unsafe_code,
    reason = "a counting global allocator implements GlobalAlloc"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use strata_format::{BloomPolicy, DataType, Field, LocalFs, Schema, Segment, SymbolAs};
use strata_writer::{SegmentWriter, WriterOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let live = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const BATCH_ROWS: i64 = 10_000;

fn batch(schema: &arrow_schema::SchemaRef, start: i64) -> RecordBatch {
    let range = start..start + BATCH_ROWS;
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(
        range.clone().map(|i| i * 1000),
    ));
    let host: ArrayRef = Arc::new(StringArray::from_iter_values(
        range.clone().map(|i| format!("host-{}", i % 23)),
    ));
    let v: ArrayRef = Arc::new(Float64Array::from_iter(
        range.map(|i| (i % 13 != 0).then_some((i as f64).sin() * 100.0)),
    ));
    RecordBatch::try_new(schema.clone(), vec![ts, host, v]).unwrap()
}

/// What one streaming run measured, in bytes.
struct Peaks {
    /// Peak live heap above the starting level while the batches were written.
    streaming: usize,
    /// The same, up to the end of `finish` (which encodes the footer).
    with_finish: usize,
    /// File bytes outside the data blocks: header, footer and tail.
    footer: usize,
    /// Arrow memory of all the batches streamed.
    raw: usize,
}

/// Peak live bytes above the starting level while `rows` rows stream through a writer (batches
/// are built one at a time and dropped after `write_batch`), up to and including `finish`.
fn peak_streaming(rows: i64, opts: WriterOptions) -> Peaks {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, false),
        Field::new("v", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["ts"])
    .unwrap();
    let arrow_schema = Arc::new(schema.to_arrow(SymbolAs::Utf8));
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let mut w =
        SegmentWriter::create(Arc::new(LocalFs), dir.path(), "s.strata", schema, opts).unwrap();
    let mut start = 0;
    let mut raw = 0;
    while start < rows {
        let b = batch(&arrow_schema, start);
        raw += b.get_array_memory_size();
        w.write_batch(&b).unwrap();
        start += BATCH_ROWS;
    }
    let streaming = PEAK.load(Ordering::SeqCst) - base;
    let meta = w.finish().unwrap();
    assert_eq!(meta.rows, rows as u64);
    let with_finish = PEAK.load(Ordering::SeqCst) - base;
    let data: u64 = meta.columns.iter().map(|c| c.bytes).sum();
    // The file is whole: its footer indexes every block, and no side file is left.
    let seg = Segment::open(&LocalFs, &meta.path).unwrap();
    assert_eq!(
        seg.footer().columns[0].blocks.len() as u64,
        meta.columns[0].blocks
    );
    assert_eq!(seg.read_column(0).unwrap().len(), rows as usize);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    Peaks {
        streaming,
        with_finish,
        footer: (meta.bytes - data) as usize,
        raw,
    }
}

#[test]
fn streaming_writer_peak_memory_ten_times_the_rows_stays_within_1_2x() {
    let no_bloom = {
        let mut o = WriterOptions::default();
        o.block.bloom = BloomPolicy::Never;
        o
    };
    for (what, opts) in [
        ("default options", WriterOptions::default()),
        ("without bloom filters", no_bloom),
    ] {
        // Warm up once-only allocations (thread-locals, lazy statics) outside the measurement.
        peak_streaming(BATCH_ROWS, opts);
        let small = peak_streaming(100_000, opts);
        let large = peak_streaming(1_000_000, opts);
        println!(
            "{what}: peak live heap while streaming 100k rows {} B, 1M rows {} B ({:.2}x); \
             including finish {} B, {} B ({:.2}x); footer {} B, {} B",
            small.streaming,
            large.streaming,
            large.streaming as f64 / small.streaming as f64,
            small.with_finish,
            large.with_finish,
            large.with_finish as f64 / small.with_finish as f64,
            small.footer,
            large.footer,
        );
        // The data is not held: the peak stays a small fraction of what was streamed.
        assert!(
            large.with_finish * 8 < large.raw,
            "{what}: peak {} B is not small next to the {} B streamed",
            large.with_finish,
            large.raw
        );
        // Nor is the block index, though the footer's index really grew ten times (the
        // schema and the symbol dictionary, about 2 KB, do not grow).
        assert!(
            large.footer > 7 * small.footer,
            "{what}: footer did not grow"
        );
        assert!(
            large.with_finish as f64 <= 1.2 * small.with_finish as f64,
            "{what}: peak grew from {} B to {} B for ten times the rows",
            small.with_finish,
            large.with_finish
        );
    }
}
