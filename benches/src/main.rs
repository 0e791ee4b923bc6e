//! `strata-benches`: runs the benchmark suites and writes their reports.
//!
//! ```text
//! cargo run --release -p strata-benches -- [--data DIR] [--quick] [--suite NAME] [--out DIR]
//!     [--store URL]
//! ```
//!
//! `--store URL` (`s3://bucket/prefix`, configured from the `AWS_*` environment variables, or
//! `memory://name`): the `sql` suite also loads its tables there and queries them beside the
//! local ones.
//!
//! `--data` defaults to `$STRATA_DATA_DIR`, else `../shared/data` from the workspace root.
//! `--out` defaults to `<workspace>/target/bench`. Each suite prints its markdown to stdout
//! and writes `<out>/<suite>.md` and `<out>/<suite>.json`.
//!
//! The binary fixes glibc's malloc thresholds (see [`fix_malloc_thresholds`]) so that timings
//! do not depend on what ran before them, and counts heap bytes (see `strata_benches::heap`) through [`CountingAlloc`], so
//! suites can report peak memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::ExitCode;

use strata_benches::heap;
use strata_benches::{BenchContext, BenchError, Result, default_data_dir, default_out_dir, suites};

/// The system allocator, reporting every allocation and release to `strata_benches::heap`.
struct CountingAlloc;

// A global allocator is unsafe by definition. This one adds nothing but counting: every call is
// forwarded unchanged to `System`, and the counters are safe atomics in the library.
#[expect(
    unsafe_code,
    reason = "GlobalAlloc is an unsafe trait; calls forward to System"
)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            heap::allocated(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            heap::allocated(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every path above uses it).
        unsafe { System.dealloc(ptr, layout) };
        heap::freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` and `layout` come from `System` as above; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            heap::freed(layout.size());
            heap::allocated(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const USAGE: &str =
    "usage: strata-benches [--data DIR] [--quick] [--suite NAME] [--out DIR] [--store URL]";

struct Args {
    ctx: BenchContext,
    suite: Option<String>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut data_dir = std::env::var_os("STRATA_DATA_DIR").map(PathBuf::from);
    let mut out_dir = None;
    let mut quick = false;
    let mut suite = None;
    let mut store = None;
    let mut args = std::env::args().skip(1);
    let value = |flag: &str, v: Option<String>| {
        v.ok_or_else(|| BenchError::Usage(format!("{flag} needs a value\n{USAGE}")))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data_dir = Some(PathBuf::from(value("--data", args.next())?)),
            "--out" => out_dir = Some(PathBuf::from(value("--out", args.next())?)),
            "--suite" => suite = Some(value("--suite", args.next())?),
            "--store" => store = Some(value("--store", args.next())?),
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => {
                return Err(BenchError::Usage(format!(
                    "unknown argument {other:?}\n{USAGE}"
                )));
            }
        }
    }
    Ok(Some(Args {
        ctx: BenchContext {
            data_dir: data_dir.unwrap_or_else(default_data_dir),
            out_dir: out_dir.unwrap_or_else(default_out_dir),
            quick,
            store,
        },
        suite,
    }))
}

fn run() -> Result<()> {
    heap::set_counting();
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let all = suites();
    if let Some(name) = &args.suite
        && !all.iter().any(|s| s.name() == name)
    {
        let names: Vec<&str> = all.iter().map(|s| s.name()).collect();
        return Err(BenchError::Usage(format!(
            "unknown suite {name:?}; suites: {}",
            names.join(", ")
        )));
    }
    eprintln!("data: {}", args.ctx.data_dir.display());
    for suite in all
        .iter()
        .filter(|s| args.suite.as_deref().is_none_or(|n| n == s.name()))
    {
        let out = strata_benches::run_and_write(suite.as_ref(), &args.ctx)?;
        println!("{}", out.markdown);
        eprintln!(
            "wrote {}/{name}.md and {name}.json",
            args.ctx.out_dir.display(),
            name = suite.name()
        );
    }
    Ok(())
}

/// glibc's `mallopt` parameters (malloc.h).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_TRIM_THRESHOLD: i32 = -1;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const M_MMAP_THRESHOLD: i32 = -3;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallopt is a C function of glibc, which every Linux GNU target links"
)]
unsafe extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
}

/// Fixes glibc's malloc thresholds for the whole run (blocks up to 32 MiB from the heap, and
/// up to 256 MiB of freed memory kept), so that every reader and writer reuses freed memory
/// rather than faulting in fresh pages. By default glibc raises its mmap threshold as large
/// blocks are freed, so whether a 512 KiB output buffer costs a hundred page faults depends on
/// what the process did before: the segment suite's full-read ratios moved between 1.5 and 3.1
/// on the same table with what ran before it. Fixed, they repeat within a few per cent, for
/// Strata and its peers alike.
fn fix_malloc_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[expect(
        unsafe_code,
        reason = "mallopt takes two integers and has no preconditions"
    )]
    // SAFETY: mallopt only sets allocator parameters; any value is accepted or refused with 0.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
}

fn main() -> ExitCode {
    fix_malloc_thresholds();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
