//! `sightline quality`: scores every image of a folder with pyiqa's metrics — against the
//! file of the same name in `--ref` (full-reference metrics), or alone (no-reference) — and
//! writes one JSON object (or CSV line) per image. An image that cannot be read or scored
//! gets an `error` and the rest go on; Ctrl-C writes what finished.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, bail};
use sightline_core::duplicates::{DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM, PerceptualHash};
use sightline_core::quality::{Kind, Metric, ReportRow, report_csv, report_json};
use sightline_core::timing::Timings;
use sightline_vision::image_io::read_image;
use sightline_vision::quality::duplicates::{find_duplicates_with, perceptual_hash};
use sightline_vision::quality::{QualityImage, score};
use sightline_vision::{ComputeDevice, DeviceChoice};

use crate::pipeline::{
    decode_ahead, decoder_threads, find_images, interrupt_flag, millis, print_stats, progress_bar,
};

/// Arguments of `sightline quality`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of images to score (searched recursively).
    #[arg(long)]
    input: PathBuf,
    /// Folder of pristine references: each image is compared with the file of the same
    /// relative path here (full-reference metrics).
    #[arg(long = "ref")]
    reference: Option<PathBuf>,
    /// Metrics, comma-separated, as pyiqa names them (default: every full-reference metric
    /// with --ref, every no-reference metric without).
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// The report: `.json` (a list of objects, one per image) or `.csv`.
    #[arg(long)]
    out: PathBuf,
    /// Where to compute: auto, cpu, vulkan or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Also hash every image (`phash`) and number the groups of near-duplicates
    /// (`duplicate_group`): hashes within 10 bits, confirmed by SSIM ≥ 0.93 on grey 256x256
    /// copies.
    #[arg(long)]
    duplicates: bool,
    /// Print how long each metric took per image (count, p50, p95, max, mean in ms) to
    /// stderr at the end.
    #[arg(long)]
    stats: bool,
}

/// The report's format, from the extension of `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

impl Format {
    fn of(path: &Path) -> anyhow::Result<Self> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("json") => Ok(Self::Json),
            Some("csv") => Ok(Self::Csv),
            _ => bail!("--out must end in .json or .csv, got {}", path.display()),
        }
    }
}

/// The metrics to compute: those asked for (each known, full-reference ones only with a
/// reference folder), or the default set for whether there is one.
fn chosen_metrics(names: &[String], with_reference: bool) -> anyhow::Result<Vec<Metric>> {
    if names.is_empty() {
        let wanted = if with_reference {
            Kind::FullReference
        } else {
            Kind::NoReference
        };
        return Ok(Metric::ALL
            .iter()
            .copied()
            .filter(|m| m.kind() == wanted)
            .collect());
    }
    let mut metrics = Vec::new();
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        let metric = Metric::from_name(name)?;
        if metric.kind() == Kind::FullReference && !with_reference {
            bail!("{metric} compares each image with a reference: give --ref DIR");
        }
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    if metrics.is_empty() {
        bail!("--metrics names no metric");
    }
    Ok(metrics)
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let format = Format::of(&args.out)?;
    let metrics = chosen_metrics(&args.metrics, args.reference.is_some())?;
    let device = ComputeDevice::select(args.device.parse::<DeviceChoice>()?)?;
    let images = find_images(&args.input)?;
    eprintln!(
        "scoring {} images on {} with {}",
        images.len(),
        device.backend_name,
        metrics
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let interrupted = interrupt_flag();
    let progress = progress_bar(images.len());
    let (decoded, decoders) = decode_ahead(&args.input, images.clone(), decoder_threads(), 4);
    let mut rows = Vec::with_capacity(images.len());
    let mut timings = Timings::new();
    for item in decoded.iter() {
        timings.record("decode", item.decode_ms);
        let mut row = ReportRow {
            file: item.rel.clone(),
            ..ReportRow::default()
        };
        match item.image {
            Ok(image) => {
                let reference = args.reference.as_ref().map(|dir| dir.join(&item.rel));
                let prepared = score_image(
                    &image,
                    reference.as_deref(),
                    &metrics,
                    &device,
                    &mut row,
                    &mut timings,
                );
                if args.duplicates
                    && let Some(prepared) = prepared
                {
                    let start = Instant::now();
                    row.phash = Some(perceptual_hash(&prepared).to_string());
                    timings.record("phash", millis(start.elapsed()));
                }
            }
            Err(err) => row.error = Some(err.to_string()),
        }
        if let Some(error) = &row.error {
            progress.println(format!("FAILED {}: {error}", row.file));
        }
        rows.push(row);
        progress.inc(1);
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
    }
    drop(decoded);
    for decoder in decoders {
        let _ = decoder.join();
    }
    progress.finish_and_clear();
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    if args.duplicates && !interrupted.load(Ordering::SeqCst) {
        number_duplicate_groups(&args.input, &mut rows, &device)?;
    }

    let text = match format {
        Format::Json => report_json(&rows),
        Format::Csv => report_csv(&rows, &metrics),
    };
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    if args.stats {
        print_stats(&timings);
    }
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    eprintln!(
        "{} of {} images scored; report in {}",
        rows.len() - failed,
        images.len(),
        args.out.display()
    );
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("interrupted: the report holds the images scored so far");
        return Ok(ExitCode::from(130));
    }
    if failed > 0 {
        eprintln!("{failed} images failed (see `error` in the report)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Sets `duplicate_group` (1, 2, …) on the rows of near-duplicate images: candidates by
/// the hashes in the rows, each confirmed by SSIM (the images read again, only those in a
/// candidate pair).
fn number_duplicate_groups(
    input: &Path,
    rows: &mut [ReportRow],
    device: &ComputeDevice,
) -> anyhow::Result<()> {
    let hashed: Vec<(usize, PerceptualHash)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.phash.as_deref()?.parse().ok()?)))
        .collect();
    let hashes: Vec<PerceptualHash> = hashed.iter().map(|(_, h)| *h).collect();
    let load = |k: usize| -> anyhow::Result<QualityImage> {
        let file = &rows[hashed[k].0].file;
        let image = read_image(input.join(file)).with_context(|| format!("reading {file}"))?;
        Ok(QualityImage::from_image(&image, &device.device)?)
    };
    let groups = find_duplicates_with(&hashes, load, DEFAULT_MAX_DISTANCE, DEFAULT_MIN_SSIM)?;
    for (number, group) in groups.iter().enumerate() {
        for &k in group {
            rows[hashed[k].0].duplicate_group = Some(number + 1);
        }
    }
    eprintln!("{} group(s) of near-duplicates", groups.len());
    Ok(())
}

/// Scores one decoded image into `row`: its reference (if any) read first; a metric that
/// fails leaves its error and the others go on. Returns the image as the metrics saw it.
fn score_image(
    image: &image::RgbImage,
    reference: Option<&Path>,
    metrics: &[Metric],
    device: &ComputeDevice,
    row: &mut ReportRow,
    timings: &mut Timings,
) -> Option<QualityImage> {
    let prepared = QualityImage::from_image(image, &device.device);
    let reference = reference.map(|path| {
        read_image(path)
            .map_err(|e| format!("reference {}: {e}", path.display()))
            .and_then(|r| QualityImage::from_image(&r, &device.device).map_err(|e| e.to_string()))
    });
    let image = match prepared {
        Ok(image) => image,
        Err(err) => {
            row.error = Some(err.to_string());
            return None;
        }
    };
    let mut errors = Vec::new();
    for &metric in metrics {
        let reference = match (&reference, metric.kind()) {
            (Some(Ok(r)), Kind::FullReference) => Some(r),
            (Some(Err(why)), Kind::FullReference) => {
                if !errors.contains(why) {
                    errors.push(why.clone());
                }
                continue;
            }
            _ => None,
        };
        let start = Instant::now();
        match score(metric, &image, reference) {
            Ok(value) => row.scores.push((metric, value)),
            Err(err) => {
                let why = err.to_string();
                if !errors.contains(&why) {
                    errors.push(why);
                }
            }
        }
        timings.record(metric.name(), millis(start.elapsed()));
    }
    if !errors.is_empty() {
        row.error = Some(errors.join("; "));
    }
    Some(image)
}
