//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cmd;

struct Step {
    name: &'static str,
    command: Command,
    /// Printed after a failure: how to reproduce or fix.
    hint: &'static str,
}

fn steps(root: &Path) -> Vec<Step> {
    let cargo = |args: &[&str]| {
        let mut c = cmd::in_dir(cmd::cargo(), root);
        c.args(args);
        // A CI run builds once from a clean clone: incremental caches would only take disk
        // (gigabytes over the test binaries; one CI machine ran out of space in clippy).
        if std::env::var_os("CARGO_INCREMENTAL").is_none() {
            c.env("CARGO_INCREMENTAL", "0");
        }
        c
    };
    // `--lib --examples` selects the targets that need dev-dependencies, so the feature
    // resolver unifies the same features as clippy's `--all-targets` and rustdoc reuses the
    // dependencies clippy already checked (without it serde's features differ and about 300
    // crates were checked a second time: 4 minutes of a clean two-core run).
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--lib", "--examples"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    vec![
        Step {
            name: "fmt",
            command: cargo(&["fmt", "--all", "--check"]),
            hint: "run `cargo fmt --all` and commit the result",
        },
        Step {
            name: "clippy",
            command: cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            hint: "fix the lints above (library code may not unwrap, expect or panic)",
        },
        // The default targets: libraries, binaries and integration tests (skipping the targets
        // marked `test = false`, which `--all-targets` would force back in), examples built, and
        // doctests. Benches are type-checked by clippy's `--all-targets`.
        Step {
            name: "test",
            command: cargo(&["test", "--workspace"]),
            hint: "rerun the failing package with `cargo test -p <package>`",
        },
        Step {
            name: "doc",
            command: doc,
            hint: "fix the rustdoc warnings above (broken links, missing docs)",
        },
    ]
}

/// Runs every step; the first failure ends the run with its name, command and a hint.
pub(crate) fn run(root: &Path) -> Result<()> {
    let mut steps = steps(root);
    let total = steps.len();
    let mut done: Vec<(&'static str, Duration)> = Vec::new();
    let started = Instant::now();
    for (i, step) in steps.iter_mut().enumerate() {
        let shown = cmd::display(&step.command);
        eprintln!("\n==> ci [{}/{total}] {}: {shown}", i + 1, step.name);
        disk_report(root);
        let t = Instant::now();
        let result = cmd::run(&mut step.command);
        let took = t.elapsed();
        if let Err(e) = result {
            disk_report(root);
            eprintln!(
                "==> ci [{}/{total}] {} FAILED after {}",
                i + 1,
                step.name,
                secs(took)
            );
            bail!(
                "ci step `{}` failed: {e:#}\n       hint: {}",
                step.name,
                step.hint
            );
        }
        eprintln!(
            "==> ci [{}/{total}] {} ok in {}",
            i + 1,
            step.name,
            secs(took)
        );
        done.push((step.name, took));
    }
    disk_report(root);
    eprintln!("\n==> ci passed in {}", secs(started.elapsed()));
    for (name, took) in done {
        eprintln!("    {name:<8} {}", secs(took));
    }
    Ok(())
}

/// Prints the free space where the build writes (best effort: `df` may be missing), so a run
/// that fails for lack of disk says so next to the step that ran out.
fn disk_report(root: &Path) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let at = if target.exists() {
        target
    } else {
        root.to_path_buf()
    };
    if let Ok(out) = Command::new("df").arg("-h").arg(&at).output()
        && let Some(line) = String::from_utf8_lossy(&out.stdout).lines().nth(1)
    {
        eprintln!("    disk: {line}");
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
