//! The `strata` command-line tool.

use clap::Parser;

/// Strata: an embeddable columnar storage engine.
#[derive(Debug, Parser)]
#[command(name = "strata", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
