//! The `sightline` command line: whole-dataset jobs natively (label, filter, convert, run,
//! bench) over the same `core` and `vision` code that the browser uses.

mod convert;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sightline on the command line.
#[derive(Debug, Parser)]
#[command(name = "sightline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Converts a labelled dataset between LabelMe, YOLO, COCO and Pascal VOC.
    Convert(convert::Args),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Convert(args) => convert::run(&args),
    }
}
