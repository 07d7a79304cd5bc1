//! `sightline filter`: the images of a folder in which a model finds chosen classes with a
//! confidence in a range — listed (one relative path per line, to stdout or a file) and
//! optionally copied, keeping their folders. The same rule as the browser's image filter
//! (`sightline_core::detection::any_matches`): an image matches when at least one detection
//! of a chosen class (any class when none is chosen) has a confidence in
//! `[min_conf, max_conf]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};
use sightline_core::detection::any_matches;
use sightline_core::timing::Timings;

use crate::pipeline::{
    ModelArgs, decode_ahead, decoder_threads, detect_in_batches, find_images, interrupt_flag,
    print_stats, progress_bar,
};

/// Arguments of `sightline filter`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Folder of images (searched recursively).
    #[arg(long)]
    input: PathBuf,
    /// Classes to look for, comma-separated (all classes when omitted).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Lowest confidence that counts.
    #[arg(long, default_value_t = 0.5)]
    min_conf: f32,
    /// Highest confidence that counts.
    #[arg(long, default_value_t = 1.0)]
    max_conf: f32,
    /// Write the matching paths to this file instead of standard output.
    #[arg(long)]
    list: Option<PathBuf>,
    /// Copy the matching images here (same relative paths).
    #[arg(long)]
    copy_to: Option<PathBuf>,
    /// Images per forward pass (decoding runs ahead on the other cores).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Print how long each stage took (count, p50, p95, max and mean per span, in ms) to
    /// stderr at the end.
    #[arg(long)]
    stats: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.min_conf) || args.min_conf > args.max_conf {
        bail!(
            "--min-conf {} and --max-conf {} must satisfy 0 <= min <= max",
            args.min_conf,
            args.max_conf
        );
    }
    let (device, mut detector) = args.model.load(Some(&args.input))?;
    let unknown: Vec<&String> = args
        .classes
        .iter()
        .filter(|c| !detector.class_names().contains(c))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "the model has no class {unknown:?}; its classes are {:?}",
            detector.class_names()
        );
    }
    // Every detection that can count must survive post-processing.
    detector.options.score_threshold = detector.options.score_threshold.min(args.min_conf);
    let images = find_images(&args.input)?;
    eprintln!(
        "filtering {} images on {} for {} in [{}, {}]",
        images.len(),
        device.backend_name,
        if args.classes.is_empty() {
            "any class".to_owned()
        } else {
            args.classes.join(", ")
        },
        args.min_conf,
        args.max_conf
    );
    let interrupted = interrupt_flag();
    let progress = progress_bar(images.len());
    let batch = args.batch.max(1);
    let (decoded, decoders) =
        decode_ahead(&args.input, images.clone(), decoder_threads(), 2 * batch);
    let mut matching = Vec::new();
    let mut failures = Vec::new();
    let mut timings = Timings::new();
    for group in detect_in_batches(&decoded, &detector, batch) {
        for detected in group {
            detected.record(&mut timings);
            let rel = detected.rel;
            match detected.result {
                Ok((_, detections)) => {
                    if any_matches(&detections, &args.classes, args.min_conf, args.max_conf) {
                        matching.push(rel);
                    }
                }
                Err(err) => {
                    progress.println(format!("FAILED {rel}: {}", err.to_string().trim()));
                    failures.push((rel, err.to_string()));
                }
            }
            progress.inc(1);
        }
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
    }
    drop(decoded);
    for decoder in decoders {
        let _ = decoder.join();
    }
    progress.finish_and_clear();
    matching.sort();

    let listing: String = matching.iter().map(|rel| format!("{rel}\n")).collect();
    match &args.list {
        Some(path) => {
            std::fs::write(path, &listing).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(listing.as_bytes())?,
    }
    if let Some(dir) = &args.copy_to {
        for rel in &matching {
            let target = dir.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::copy(args.input.join(rel), &target)
                .with_context(|| format!("copying {rel} to {}", target.display()))?;
        }
    }
    if args.stats {
        print_stats(&timings);
    }
    eprintln!("{} of {} images match", matching.len(), images.len());
    if !failures.is_empty() {
        eprintln!("{} images failed:", failures.len());
        for (rel, err) in &failures {
            eprintln!("  {rel}: {}", err.trim());
        }
        return Ok(ExitCode::FAILURE);
    }
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("interrupted: the list holds the images checked so far");
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
