//! The `sightline` command line: whole-dataset jobs natively (label, filter, convert, run,
//! bench, quality) over the same `core` and `vision` code that the browser uses.

mod bench;
mod convert;
mod filter;
mod label;
mod pipeline;
mod quality;
mod run;

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
    /// Runs an ONNX model on a .npy input and writes each output as <out>/<name>.npy.
    Run(run::Args),
    /// Pre-labels a folder of images with a YOLO model (LabelMe, YOLO or COCO output).
    Label(label::Args),
    /// Lists (and copies) the images in which a model finds chosen classes.
    Filter(filter::Args),
    /// Times a model here: forward per image, and whole-folder images/s.
    Bench(bench::Args),
    /// Scores image quality (pyiqa's metrics), with or without reference images, and finds
    /// near-duplicates.
    Quality(quality::Args),
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Convert(args) => convert::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Label(args) => label::run(&args),
        Command::Filter(args) => filter::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Quality(args) => quality::run(&args),
    }
}
