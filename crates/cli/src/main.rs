//! The `sightline` command line: whole-dataset jobs natively (label, filter, convert, run,
//! bench) over the same `core` and `vision` code that the browser uses.

use clap::Parser;

/// Sightline on the command line.
#[derive(Debug, Parser)]
#[command(name = "sightline", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
