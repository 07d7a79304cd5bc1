//! `sightline label`: pre-label a folder of images with a YOLO model and write LabelMe, YOLO
//! or COCO labels.
//!
//! Resumable: each finished image's detections are kept in `<out>/.sightline/detections/`,
//! so a rerun (after Ctrl-C, a crash, a preempted cluster job) only processes what is left.
//! `--shard K/N` (K in 0..N) takes every N-th image starting at K, for Kubernetes Indexed
//! Jobs or Slurm arrays. Unreadable images are listed with their error, the rest continue,
//! and the exit code is non-zero if any failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sightline_core::annotation::{Dataset, ImageAnnotations, ImageSize};
use sightline_core::detection::Detection;
use sightline_core::formats::{self, ExportOptions, Format};
use sightline_core::timing::Timings;

use crate::pipeline::{
    ModelArgs, decode_ahead, decoder_threads, detect_in_batches, find_images, interrupt_flag,
    millis, parse_shard, print_stats, progress_bar,
};

/// Arguments of `sightline label`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Folder of images (searched recursively).
    #[arg(long)]
    input: PathBuf,
    /// Label format: labelme, yolo or coco.
    #[arg(long, default_value = "labelme")]
    format: String,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Images per forward pass (decoding runs ahead on the other cores).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Process only shard K of N (`K/N`, K counted from 0).
    #[arg(long)]
    shard: Option<String>,
    /// Print how long each stage took (count, p50, p95, max and mean per span, in ms) to
    /// stderr at the end.
    #[arg(long)]
    stats: bool,
}

/// What is kept per finished image.
#[derive(Debug, Serialize, Deserialize)]
struct ImageResult {
    width: u32,
    height: u32,
    detections: Vec<Detection>,
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let format = match args.format.to_ascii_lowercase().as_str() {
        "labelme" => Format::Labelme,
        "yolo" => Format::Yolo,
        "coco" => Format::Coco,
        other => bail!("unknown format `{other}` (use labelme, yolo or coco)"),
    };
    let (shard, shards) = parse_shard(args.shard.as_deref())?;
    let (device, detector) = args.model.load(Some(&args.input))?;
    let images: Vec<String> = find_images(&args.input)?
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % shards == shard)
        .map(|(_, p)| p)
        .collect();
    let cache = args.out.join(".sightline/detections");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;

    let interrupted = interrupt_flag();
    let progress = progress_bar(images.len());
    eprintln!(
        "labelling {} images on {} (shard {shard}/{shards})",
        images.len(),
        device.backend_name
    );

    let mut failures: Vec<(String, String)> = Vec::new();
    let mut timings = Timings::new();
    let todo: Vec<String> = images
        .iter()
        .filter(|p| !cache_path(&cache, p).is_file())
        .cloned()
        .collect();
    progress.inc((images.len() - todo.len()) as u64);
    // Decode runs ahead on the other cores while the model works on this one.
    let batch = args.batch.max(1);
    let (decoded, decoders) = decode_ahead(&args.input, todo, decoder_threads(), 2 * batch);
    for group in detect_in_batches(&decoded, &detector, batch) {
        for detected in group {
            detected.record(&mut timings);
            let rel = detected.rel;
            let result = detected
                .result
                .map(|((width, height), detections)| ImageResult {
                    width,
                    height,
                    detections,
                });
            match result {
                Ok(result) => {
                    let path = cache_path(&cache, &rel);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    let start = Instant::now();
                    std::fs::write(&path, serde_json::to_vec(&result)?)?;
                    timings.record("write", millis(start.elapsed()));
                }
                Err(err) => {
                    progress.println(format!("FAILED {rel}: {}", err.to_string().trim()));
                    failures.push((rel, err.to_string().trim().to_string()));
                }
            }
            progress.inc(1);
        }
        // A forward pass cannot be cut short: Ctrl-C takes effect after the current batch,
        // whose results are kept.
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
    }
    drop(decoded);
    for decoder in decoders {
        let _ = decoder.join();
    }
    progress.finish_and_clear();

    // Write the labels of every finished image (also after Ctrl-C: nothing done is lost).
    let mut dataset = Dataset {
        classes: detector.class_names().to_vec(),
        images: Vec::new(),
    };
    for rel in &images {
        let Ok(bytes) = std::fs::read(cache_path(&cache, rel)) else {
            continue;
        };
        let Ok(result) = serde_json::from_slice::<ImageResult>(&bytes) else {
            continue;
        };
        let mut annotations = ImageAnnotations::new(
            rel.clone(),
            Some(ImageSize::new(result.width, result.height)),
        );
        annotations.shapes = result.detections.iter().map(Detection::to_shape).collect();
        dataset.images.push(annotations);
    }
    let options = ExportOptions {
        yolo_task: if detector.is_segmentation() {
            formats::yolo::YoloTask::Segment
        } else {
            formats::yolo::YoloTask::Detect
        },
        ..ExportOptions::default()
    };
    let export = formats::export(&dataset, format, &options)?;
    for file in &export.files {
        let path = args.out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for issue in &export.issues {
        eprintln!("note: {issue}");
    }
    if args.stats {
        print_stats(&timings);
    }
    let done = dataset.images.len();
    eprintln!(
        "{done} of {} images labelled, written to {}",
        images.len(),
        args.out.display()
    );
    if !failures.is_empty() {
        let list: String = failures
            .iter()
            .map(|(p, e)| format!("{p}\t{e}\n"))
            .collect();
        let path = args.out.join(".sightline/failed.tsv");
        std::fs::write(&path, list)?;
        eprintln!(
            "{} images failed (listed in {}):",
            failures.len(),
            path.display()
        );
        for (rel, err) in &failures {
            eprintln!("  {rel}: {err}");
        }
        return Ok(ExitCode::FAILURE);
    }
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("interrupted: rerun the same command to continue");
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

fn cache_path(cache: &Path, rel: &str) -> PathBuf {
    cache.join(format!("{rel}.json"))
}
