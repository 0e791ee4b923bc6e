//! Tidy checks that keep the tree honest, run by `cargo test -p xtask`:
//!
//! - layering: a stack crate depends (normal, dev or build) only on stack crates below it;
//! - code map: `docs/ARCHITECTURE.md`'s "Code map" has one heading per workspace member;
//! - test layout: a crate's integration tests are modules of one binary, `tests/it/main.rs`
//!   (each binary links the whole dependency tree again); only a test that installs its own
//!   `#[global_allocator]` keeps a binary of its own directly under `tests/`;
//! - one Arrow: `Cargo.lock` holds a single version of each `arrow*` crate and of `parquet`
//!   (two would compile twice and make their types incompatible at the seams);
//! - heavy dependencies (DataFusion, tokio) only in the crates that need them.
//!
//! Each is a pure function over plain data, so each is also tested against a synthetic tree
//! that must fail.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stack, bottom first. `strata` and `strata-cli` may not exist yet.
const STACK: &[&str] = &[
    "strata-codec",
    "strata-format",
    "strata-memtable",
    "strata-writer",
    "strata-predicate",
    "strata-partition-registry",
    "strata-compactor",
    "strata-object-store",
    "strata",
    "strata-datafusion",
    "strata-distributed",
    "strata-cli",
];

/// Heavy dependencies (many crates, long to compile), and the only members that may use them.
const HEAVY: &[&str] = &["datafusion", "tokio"];
const HEAVY_ALLOWED: &[&str] = &[
    "strata-object-store",
    "strata-datafusion",
    "strata-distributed",
    "strata-cli",
    "strata-benches",
];
/// Distributed execution (gRPC, protobuf), heavier still: one member only.
const DISTRIBUTED: &[&str] = &[
    "datafusion-distributed",
    "datafusion-proto",
    "tonic",
    "prost",
];
const DISTRIBUTED_ALLOWED: &[&str] = &["strata-distributed"];

/// Workspace members outside the stack: they may depend on anything.
const TOOLING: &[&str] = &["strata-benches", "xtask"];

/// A workspace package and the names of the packages it depends on.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    deps: Vec<Dep>,
}

#[derive(Debug, Clone)]
struct Dep {
    name: String,
    /// `normal`, `dev` or `build`, as cargo metadata says.
    kind: String,
}

/// A stack crate depending on one at its own level or above.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LayeringViolation {
    from: String,
    to: String,
    kind: String,
}

impl fmt::Display for LayeringViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} has a {} dependency on {}, which is not below it in the stack",
            self.from, self.kind, self.to
        )
    }
}

/// Every dependency of a stack crate on a stack crate that is not strictly below it.
fn layering_violations(stack: &[&str], packages: &[Package]) -> Vec<LayeringViolation> {
    let level = |name: &str| stack.iter().position(|s| *s == name);
    let mut out = Vec::new();
    for p in packages {
        let Some(from) = level(&p.name) else { continue };
        for d in &p.deps {
            if level(&d.name).is_some_and(|to| to >= from) {
                out.push(LayeringViolation {
                    from: p.name.clone(),
                    to: d.name.clone(),
                    kind: d.kind.clone(),
                });
            }
        }
    }
    out
}

/// The crate headings (`### name`) of the `## Code map` section, backticks stripped, in order.
/// `None` when there is no such section.
fn code_map_crates(markdown: &str) -> Option<Vec<String>> {
    let mut in_section = false;
    let mut found = false;
    let mut in_fence = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            in_section = h.trim().eq_ignore_ascii_case("code map");
            found |= in_section;
        } else if in_section && let Some(h) = line.strip_prefix("### ") {
            out.push(h.trim().trim_matches('`').trim().to_owned());
        }
    }
    found.then_some(out)
}

/// What is wrong with a code map, given the workspace members; empty when it matches.
/// The headings must be the members exactly once each, stack crates in stack order.
fn code_map_problems(headings: &[String], members: &[String], stack: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let documented: BTreeSet<&str> = headings.iter().map(String::as_str).collect();
    let members: BTreeSet<&str> = members.iter().map(String::as_str).collect();
    for m in members.difference(&documented) {
        problems.push(format!(
            "workspace member {m} has no `### {m}` heading in the code map"
        ));
    }
    for h in documented.difference(&members) {
        problems.push(format!(
            "code map heading `### {h}` is not a workspace member"
        ));
    }
    if documented.len() != headings.len() {
        problems.push("the code map has a crate heading more than once".to_owned());
    }
    let levels: Vec<usize> = headings
        .iter()
        .filter_map(|h| stack.iter().position(|s| s == h))
        .collect();
    if levels.windows(2).any(|w| w[0] > w[1]) {
        problems.push("the code map lists stack crates out of stack order".to_owned());
    }
    problems
}

/// One member's `tests/` directory, paths relative to the workspace root.
#[derive(Debug, Clone, Default)]
struct TestsDir {
    /// `<member>/tests`.
    dir: String,
    /// The `.rs` files directly in `tests/` (each its own test binary): file name and text.
    binaries: Vec<(String, String)>,
    /// The module files directly in `tests/it/`, `main.rs` excluded, without `.rs`.
    it_modules: Vec<String>,
    /// The text of `tests/it/main.rs`, if there is one.
    it_main: Option<String>,
}

/// What is wrong with a `tests/` directory's layout; empty when it is one `it` binary plus
/// only binaries that install their own global allocator.
fn test_layout_problems(t: &TestsDir) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, text) in &t.binaries {
        if !text.contains("#[global_allocator]") {
            problems.push(format!(
                "{}/{name} is a test binary of its own; make it a module of {}/it/main.rs \
                 (only a test with its own #[global_allocator] keeps a binary)",
                t.dir, t.dir
            ));
        }
    }
    let declared = |m: &str| {
        let decl = format!("mod {m};");
        t.it_main.as_deref().is_some_and(|main| {
            main.lines().any(|l| {
                let l = l.trim();
                !l.starts_with("//") && (l == decl || l.ends_with(&format!(" {decl}")))
            })
        })
    };
    for m in &t.it_modules {
        if !declared(m) {
            problems.push(format!(
                "{}/it/{m}.rs is not declared in {}/it/main.rs, so it is never compiled or run",
                t.dir, t.dir
            ));
        }
    }
    problems
}

/// The `tests/` directory of every member under `crates/`, and of `benches/` and `xtask/`.
fn tests_dirs(root: &Path) -> Vec<TestsDir> {
    let rs_files = |dir: &Path| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        files
    };
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_owned();
    let mut members: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    members.sort();
    members.extend([root.join("benches"), root.join("xtask")]);
    members
        .into_iter()
        .map(|m| m.join("tests"))
        .filter(|t| t.is_dir())
        .map(|t| {
            let it = t.join("it");
            let main = it.join("main.rs");
            TestsDir {
                dir: t.strip_prefix(root).unwrap().display().to_string(),
                binaries: rs_files(&t)
                    .iter()
                    .map(|p| (name(p), std::fs::read_to_string(p).unwrap()))
                    .collect(),
                it_modules: rs_files(&it)
                    .iter()
                    .filter(|p| **p != main)
                    .map(|p| name(p).trim_end_matches(".rs").to_owned())
                    .collect(),
                it_main: std::fs::read_to_string(&main).ok(),
            }
        })
        .collect()
}

/// `cargo metadata --no-deps --offline` for the workspace, as `Package`s.
fn workspace_packages(root: &Path) -> Vec<Package> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Package {
            name: p["name"].as_str().unwrap().to_owned(),
            deps: p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| Dep {
                    name: d["name"].as_str().unwrap().to_owned(),
                    kind: d["kind"].as_str().unwrap_or("normal").to_owned(),
                })
                .collect(),
        })
        .collect()
}

/// Crates of which `Cargo.lock` must hold one version: `arrow` and `arrow-*`, and `parquet`.
fn is_single_version_crate(name: &str) -> bool {
    name == "arrow" || name.starts_with("arrow-") || name == "parquet"
}

/// `name (v1, v2, …)` for each single-version crate that `lock` (a Cargo.lock) lists more than
/// once.
fn duplicate_versions(lock: &str) -> Vec<String> {
    let mut versions: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if line == "[[package]]" {
            name = None;
        } else if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(n), Some(v)) = (name, line.strip_prefix("version = ")) {
            if is_single_version_crate(n) {
                versions.entry(n).or_default().push(v.trim_matches('"'));
            }
            name = None;
        }
    }
    versions
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(n, v)| format!("{n} ({})", v.join(", ")))
        .collect()
}

/// `member → heavy crate` for each workspace member outside `allowed` that depends on one of
/// `heavy` directly.
fn heavy_dependency_violations(
    packages: &[Package],
    heavy: &[&str],
    allowed: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for p in packages {
        if allowed.contains(&p.name.as_str()) {
            continue;
        }
        for d in &p.deps {
            if heavy.contains(&d.name.as_str()) {
                out.push(format!("{} → {} ({})", p.name, d.name, d.kind));
            }
        }
    }
    out
}

/// The datafusion-* and sqlparser crates in `lock` (a Cargo.lock) that `manifest` (the workspace
/// Cargo.toml) does not build unoptimised in the dev profile (`[profile.dev.package.NAME]` with
/// `opt-level = 0`). Proc-macro crates are skipped: build scripts and macros have their own profile.
fn optimised_sql_crates(lock: &str, manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in lock.lines() {
        let Some(name) = line.strip_prefix("name = ").map(|n| n.trim_matches('"')) else {
            continue;
        };
        let sql = name.starts_with("datafusion") || name.starts_with("sqlparser");
        if !sql || name == "datafusion-macros" || name == "sqlparser_derive" {
            continue;
        }
        let header = format!("[profile.dev.package.{name}]\nopt-level = 0\n");
        if !manifest.contains(&header) && !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    out
}

fn root() -> std::path::PathBuf {
    crate::workspace_root()
}

fn pkg(name: &str, deps: &[(&str, &str)]) -> Package {
    Package {
        name: name.to_owned(),
        deps: deps
            .iter()
            .map(|(n, k)| Dep {
                name: (*n).to_owned(),
                kind: (*k).to_owned(),
            })
            .collect(),
    }
}

#[test]
fn workspace_crates_depend_only_on_lower_stack_crates() {
    let packages = workspace_packages(&root());
    assert!(
        packages.iter().any(|p| p.name == "strata-codec"),
        "cargo metadata did not list strata-codec"
    );
    let violations = layering_violations(STACK, &packages);
    let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        violations.is_empty(),
        "layering violations:\n  {}",
        listed.join("\n  ")
    );
}

#[test]
fn every_workspace_member_is_a_stack_or_tooling_crate() {
    let packages = workspace_packages(&root());
    let unknown: Vec<&str> = packages
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !STACK.contains(n) && !TOOLING.contains(n))
        .collect();
    assert!(
        unknown.is_empty(),
        "members {unknown:?} are neither in the stack nor tooling; add them to STACK or TOOLING \
         in xtask/src/tidy.rs"
    );
}

#[test]
fn layering_check_reports_upward_and_same_level_dependencies() {
    let packages = [
        pkg("strata-codec", &[("thiserror", "normal")]),
        pkg(
            "strata-format",
            &[("strata-codec", "normal"), ("strata-writer", "dev")],
        ),
        pkg("strata-memtable", &[("strata-memtable", "build")]),
        pkg(
            "strata-writer",
            &[("strata-format", "normal"), ("strata-memtable", "normal")],
        ),
        pkg("strata-benches", &[("strata-compactor", "normal")]),
    ];
    let got = layering_violations(STACK, &packages);
    let expected = vec![
        LayeringViolation {
            from: "strata-format".into(),
            to: "strata-writer".into(),
            kind: "dev".into(),
        },
        LayeringViolation {
            from: "strata-memtable".into(),
            to: "strata-memtable".into(),
            kind: "build".into(),
        },
    ];
    assert_eq!(got, expected);
    assert_eq!(
        got[0].to_string(),
        "strata-format has a dev dependency on strata-writer, which is not below it in the stack"
    );
}

#[test]
fn layering_check_accepts_a_downward_only_tree() {
    let packages = [
        pkg("strata-codec", &[]),
        pkg("strata-format", &[("strata-codec", "normal")]),
        pkg(
            "strata-compactor",
            &[("strata-format", "normal"), ("strata-codec", "dev")],
        ),
        pkg("xtask", &[("strata-compactor", "normal")]),
    ];
    assert_eq!(layering_violations(STACK, &packages), vec![]);
}

#[test]
fn architecture_code_map_lists_exactly_the_workspace_members() {
    let path = root().join("docs/ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let headings = code_map_crates(&doc).unwrap_or_else(|| {
        panic!("{} has no `## Code map` section", path.display());
    });
    let members: Vec<String> = workspace_packages(&root())
        .into_iter()
        .map(|p| p.name)
        .collect();
    let problems = code_map_problems(&headings, &members, STACK);
    assert!(
        problems.is_empty(),
        "docs/ARCHITECTURE.md code map:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn code_map_check_reports_missing_extra_and_misordered_crates() {
    let doc = "\
# Architecture
## Bird's-eye view
### not-a-crate
## Code map
### `strata-format`
### strata-codec
```text
### strata-in-a-fence
```
### strata-gone
## Cross-cutting concerns
### Errors
";
    let headings = code_map_crates(doc).unwrap();
    assert_eq!(headings, ["strata-format", "strata-codec", "strata-gone"]);
    let members: Vec<String> = ["strata-codec", "strata-format", "xtask"]
        .map(String::from)
        .to_vec();
    let problems = code_map_problems(&headings, &members, STACK);
    assert_eq!(
        problems,
        [
            "workspace member xtask has no `### xtask` heading in the code map",
            "code map heading `### strata-gone` is not a workspace member",
            "the code map lists stack crates out of stack order",
        ]
    );
    assert_eq!(code_map_crates("# Architecture\n### strata-codec\n"), None);
}

#[test]
fn code_map_check_accepts_a_matching_map() {
    let headings: Vec<String> = ["strata-codec", "strata-format", "strata-benches", "xtask"]
        .map(String::from)
        .to_vec();
    let members: Vec<String> = ["xtask", "strata-benches", "strata-format", "strata-codec"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        code_map_problems(&headings, &members, STACK),
        Vec::<String>::new()
    );
}

#[test]
fn integration_tests_are_modules_of_one_binary_per_crate() {
    let dirs = tests_dirs(&root());
    assert!(
        dirs.iter().any(|t| t.dir == "crates/codec/tests"),
        "found no crates/codec/tests"
    );
    let problems: Vec<String> = dirs.iter().flat_map(test_layout_problems).collect();
    assert!(
        problems.is_empty(),
        "test layout:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn test_layout_check_reports_stray_binaries_and_undeclared_modules() {
    let t = TestsDir {
        dir: "crates/codec/tests".into(),
        binaries: vec![
            ("roundtrip.rs".into(), "#[test]\nfn t() {}\n".into()),
            (
                "memory_bounded.rs".into(),
                "#[global_allocator]\nstatic A: Counting = Counting;\n".into(),
            ),
        ],
        it_modules: ["common", "decode", "forgotten", "cfg_gated"]
            .map(String::from)
            .to_vec(),
        it_main: Some(
            "//! Tests.\nmod common;\n\nmod decode;\n\
             // mod forgotten;\n#[cfg(unix)] mod cfg_gated;\n"
                .into(),
        ),
    };
    assert_eq!(
        test_layout_problems(&t),
        [
            "crates/codec/tests/roundtrip.rs is a test binary of its own; make it a module of \
             crates/codec/tests/it/main.rs (only a test with its own #[global_allocator] keeps a \
             binary)",
            "crates/codec/tests/it/forgotten.rs is not declared in crates/codec/tests/it/main.rs, \
             so it is never compiled or run",
        ]
    );
    let no_main = TestsDir {
        dir: "benches/tests".into(),
        it_modules: vec!["suite".into()],
        ..TestsDir::default()
    };
    assert_eq!(test_layout_problems(&no_main).len(), 1);
}

#[test]
fn test_layout_check_accepts_one_binary_and_allocator_tests() {
    let t = TestsDir {
        dir: "crates/writer/tests".into(),
        binaries: vec![(
            "peak_memory.rs".into(),
            "#![expect(unsafe_code)]\n#[global_allocator]\nstatic A: Counting = Counting;\n".into(),
        )],
        it_modules: vec!["support".into(), "round_trip".into()],
        it_main: Some("mod support;\n\nmod round_trip;\n".into()),
    };
    assert_eq!(test_layout_problems(&t), Vec::<String>::new());
    assert_eq!(
        test_layout_problems(&TestsDir::default()),
        Vec::<String>::new()
    );
}

#[test]
fn cargo_lock_has_one_version_of_each_arrow_crate_and_parquet() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"arrow-array\""),
        "Cargo.lock lists no arrow-array"
    );
    let dups = duplicate_versions(&lock);
    assert!(
        dups.is_empty(),
        "Cargo.lock holds several versions of: {}; align the dependencies (e.g. the \
         `arrow_59` feature of tpchgen-arrow) so each compiles once",
        dups.join(", ")
    );
}

#[test]
fn duplicate_version_check_reports_second_arrow_or_parquet() {
    let lock = "\
[[package]]
name = \"arrow-array\"
version = \"59.3.2\"

[[package]]
name = \"arrow-array\"
version = \"60.0.0\"

[[package]]
name = \"arrow\"
version = \"59.3.2\"

[[package]]
name = \"parquet\"
version = \"58.0.0\"

[[package]]
name = \"parquet\"
version = \"59.3.2\"

[[package]]
name = \"hashbrown\"
version = \"0.14.5\"

[[package]]
name = \"hashbrown\"
version = \"0.15.5\"
";
    assert_eq!(
        duplicate_versions(lock),
        ["arrow-array (59.3.2, 60.0.0)", "parquet (58.0.0, 59.3.2)"]
    );
}

#[test]
fn heavy_dependencies_only_in_the_crates_that_need_them() {
    let packages = workspace_packages(&root());
    let violations = heavy_dependency_violations(&packages, HEAVY, HEAVY_ALLOWED);
    assert!(
        violations.is_empty(),
        "only {HEAVY_ALLOWED:?} may depend on {HEAVY:?}:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn distributed_execution_dependencies_only_in_strata_distributed() {
    let packages = workspace_packages(&root());
    let violations = heavy_dependency_violations(&packages, DISTRIBUTED, DISTRIBUTED_ALLOWED);
    assert!(
        violations.is_empty(),
        "only {DISTRIBUTED_ALLOWED:?} may depend on {DISTRIBUTED:?}:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn heavy_dependency_check_reports_other_members() {
    let packages = [
        pkg("strata-datafusion", &[("datafusion", "normal")]),
        pkg("strata", &[("tokio", "dev"), ("arrow-array", "normal")]),
    ];
    assert_eq!(
        heavy_dependency_violations(&packages, HEAVY, HEAVY_ALLOWED),
        ["strata → tokio (dev)"]
    );
}

#[test]
fn datafusion_crates_build_unoptimised_in_the_dev_profile() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let missing = optimised_sql_crates(&lock, &manifest);
    assert!(
        missing.is_empty(),
        "add `[profile.dev.package.NAME]\\nopt-level = 0` to Cargo.toml for: {} (optimising \
         DataFusion costs CI tens of minutes on two cores)",
        missing.join(", ")
    );
}

#[test]
fn unoptimised_sql_crate_check_reports_missing_entries() {
    let lock = "name = \"datafusion-expr\"\nname = \"datafusion-sql\"\nname = \"datafusion-macros\"\nname = \"arrow\"\nname = \"sqlparser\"\n";
    let manifest = "[profile.dev.package.datafusion-expr]\nopt-level = 0\n[profile.dev.package.sqlparser]\nopt-level = 2\n";
    assert_eq!(
        optimised_sql_crates(lock, manifest),
        ["datafusion-sql", "sqlparser"]
    );
}
