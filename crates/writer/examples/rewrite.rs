//! Rewrites one segment `reps` times and prints rows per second: a driver for profiling the
//! write path on real data (`cargo run --release --example rewrite -- SEGMENT [REPS] [THREADS]`).
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use strata_format::{LocalFs, Segment};
use strata_writer::{SegmentWriter, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(
        args.get(1)
            .ok_or("usage: rewrite SEGMENT [REPS] [THREADS]")?,
    );
    let reps: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let seg = Segment::open(&LocalFs, path)?;
    let all: Vec<usize> = (0..seg.num_columns()).collect();
    let batch = seg.read_columns_threads(&all, 1)?;
    let dir = tempfile::tempdir()?;
    let mut secs = Vec::new();
    let mut bytes = 0;
    for _ in 0..reps {
        let t = Instant::now();
        let mut w = SegmentWriter::create(
            Arc::new(LocalFs),
            dir.path(),
            "out.seg",
            seg.schema().clone(),
            WriterOptions::default(),
        )?;
        w.set_threads(threads);
        let mut off = 0;
        while off < batch.num_rows() {
            let n = 65_536.min(batch.num_rows() - off);
            w.write_batch(&batch.slice(off, n))?;
            off += n;
        }
        let meta = w.finish()?;
        secs.push(t.elapsed().as_secs_f64());
        bytes = meta.bytes;
        std::fs::remove_file(&meta.path)?;
    }
    secs.sort_by(f64::total_cmp);
    let med = secs[secs.len() / 2];
    println!(
        "{} rows, {bytes} bytes, median {:.1} ms, {:.0} krows/s",
        batch.num_rows(),
        med * 1e3,
        batch.num_rows() as f64 / med / 1e3
    );
    Ok(())
}
