//! Reads every row and column of one segment `reps` times, as a streaming [`Scan`] in batches
//! of 65,536 rows (`scan`) or as one batch (`columns`), and prints rows per second: a driver
//! for profiling the read path on real data
//! (`cargo run --release --example scan_segment -- SEGMENT [scan|columns] [REPS] [THREADS]
//! [PREDICATE]`; a predicate, such as `"date >= 983571480000000"`, applies to `scan`).
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use strata_format::{LocalFs, Segment};
use strata_predicate::{BoundPredicate, Scan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: scan_segment SEGMENT [scan|columns] [REPS] [THREADS] [PREDICATE]";
    let path = Path::new(args.get(1).ok_or(usage)?);
    let mode = args.get(2).map_or("scan", String::as_str);
    let reps: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let threads: usize = args.get(4).map_or(Ok(1), |s| s.parse())?;
    let predicate = args.get(5);
    let mut secs = Vec::new();
    let mut rows = 0;
    // Opened once: the footer's decoding is not part of a read.
    let seg = Arc::new(Segment::open(&LocalFs, path)?);
    for _ in 0..reps {
        let t = Instant::now();
        rows = match mode {
            "scan" => {
                let mut n = 0;
                let mut scan = Scan::new(vec![Arc::clone(&seg)])
                    .batch_size(65_536)
                    .threads(threads);
                if let Some(p) = predicate {
                    scan = scan.predicate(BoundPredicate::parse_and_bind(p, seg.schema())?);
                }
                for b in scan {
                    n += b?.num_rows();
                }
                n
            }
            "columns" => {
                let all: Vec<usize> = (0..seg.num_columns()).collect();
                seg.read_columns_threads(&all, threads)?.num_rows()
            }
            _ => return Err(usage.into()),
        };
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let med = secs[secs.len() / 2];
    println!(
        "{mode}: {rows} rows, median {:.2} ms, {:.0} krows/s",
        med * 1e3,
        rows as f64 / med / 1e3
    );
    Ok(())
}
