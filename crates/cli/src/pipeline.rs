//! What `label`, `filter` and `bench` share: finding a folder's images, loading a model on
//! the chosen device, decoding images on worker threads ahead of the model so that decode
//! overlaps inference (the model runs on the calling thread, its images arriving through a
//! bounded channel), running them through the model `--batch` images per forward, and
//! timing each image's stages for `--stats`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use sightline_core::formats;
use sightline_core::timing::Timings;
use sightline_vision::image_io::read_image;
use sightline_vision::{ComputeDevice, Detection, Detector, DeviceChoice, Precision, VisionError};

/// The model options every model command takes.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// An ONNX model or an AnyLabeling model config (.yaml).
    #[arg(long)]
    pub model: PathBuf,
    /// Where to run: auto, cpu, vulkan or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Minimum confidence (default: the config's, else 0.25).
    #[arg(long)]
    pub conf: Option<f32>,
    /// NMS IoU threshold (default: the config's, else 0.45).
    #[arg(long)]
    pub iou: Option<f32>,
    /// Compute in f32, f16, or auto: f16 on a GPU that has f16 arithmetic. f16 is used only
    /// when it finds the same objects as f32 on the first images of the input (else f32,
    /// saying why).
    #[arg(long, default_value = "auto")]
    pub precision: String,
}

/// Images of the input the f16 model is checked on against the f32 one (as many as the
/// worker checks, `sightline_protocol::PRECISION_PROBE_IMAGES`).
const PRECISION_PROBE_IMAGES: usize = 3;

impl ModelArgs {
    /// The device and the model loaded on it, thresholds applied, in the precision asked for
    /// (f16 only where the device has it and it agrees with f32 on the first images of
    /// `input`).
    pub fn load(&self, input: Option<&Path>) -> anyhow::Result<(ComputeDevice, Detector)> {
        let device = ComputeDevice::select(self.device.parse::<DeviceChoice>()?)?;
        let load = |precision| -> anyhow::Result<Detector> {
            let mut detector = Detector::load_with(&self.model, &device.device, precision)
                .with_context(|| format!("loading {} in {precision}", self.model.display()))?;
            if let Some(conf) = self.conf {
                detector.options.score_threshold = conf;
            }
            if let Some(iou) = self.iou {
                detector.options.iou_threshold = iou;
            }
            Ok(detector)
        };
        let auto = self.precision.eq_ignore_ascii_case("auto");
        let wants_f16 = if auto {
            device.is_gpu() && Precision::F16.supported_on(&device.device)
        } else {
            match self.precision.parse::<Precision>()? {
                Precision::F32 => false,
                Precision::F16 if Precision::F16.supported_on(&device.device) => true,
                Precision::F16 => bail!("{} cannot compute in f16", device.backend_name),
            }
        };
        let reference = load(Precision::F32)?;
        if !wants_f16 {
            return Ok((device, reference));
        }
        let probe = probe_images(input);
        if probe.is_empty() && auto {
            eprintln!("precision  f32 (no input images to check f16 against)");
            return Ok((device, reference));
        }
        let probe: Vec<&RgbImage> = probe.iter().collect();
        let checked = load(Precision::F16).and_then(|half| {
            half.agrees_with(&reference, &probe)?;
            Ok(half)
        });
        match checked {
            Ok(half) => {
                eprintln!(
                    "precision  f16 (same detections as f32 on {} image(s))",
                    probe.len()
                );
                Ok((device, half))
            }
            Err(why) => {
                eprintln!("precision  f32, not f16: {why:#}");
                Ok((device, reference))
            }
        }
    }
}

/// The first images of `input` that decode, for the f16 check.
fn probe_images(input: Option<&Path>) -> Vec<RgbImage> {
    let Some(dir) = input else { return Vec::new() };
    find_images(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|rel| read_image(dir.join(rel)).ok())
        .take(PRECISION_PROBE_IMAGES)
        .collect()
}

/// The images under `root` (recursively, hidden entries skipped) as sorted `/` paths
/// relative to it.
pub fn find_images(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut images = Vec::new();
    collect_images(root, root, &mut images)?;
    images.sort();
    Ok(images)
}

fn collect_images(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            collect_images(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if formats::is_image_path(&rel) {
                out.push(rel);
            }
        }
    }
    Ok(())
}

/// Parses `--shard K/N` (K counted from 0); none means the whole folder.
pub fn parse_shard(text: Option<&str>) -> anyhow::Result<(usize, usize)> {
    let Some(text) = text else { return Ok((0, 1)) };
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if n > 0 && k < n => Ok((k, n)),
        _ => bail!("--shard must be K/N with 0 <= K < N, got `{text}`"),
    }
}

/// One image read from disk, or why it could not be.
pub struct Decoded {
    pub rel: String,
    pub image: Result<RgbImage, VisionError>,
    /// How long reading and decoding it took on its decoder thread, in ms.
    pub decode_ms: f64,
}

/// Decodes `images` (relative to `root`) on `workers` threads, at most `ahead` images in
/// front of the consumer. Dropping the receiver stops the workers at their next image.
pub fn decode_ahead(
    root: &Path,
    images: Vec<String>,
    workers: usize,
    ahead: usize,
) -> (Receiver<Decoded>, Vec<JoinHandle<()>>) {
    let (sender, receiver) = sync_channel(ahead.max(1));
    let images = Arc::new(images);
    let next = Arc::new(AtomicUsize::new(0));
    let handles = (0..workers.max(1))
        .map(|_| {
            let (sender, images, next, root) = (
                sender.clone(),
                images.clone(),
                next.clone(),
                root.to_path_buf(),
            );
            std::thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(rel) = images.get(index) else { break };
                    let start = Instant::now();
                    let image = read_image(root.join(rel));
                    let decode_ms = millis(start.elapsed());
                    if sender
                        .send(Decoded {
                            rel: rel.clone(),
                            image,
                            decode_ms,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    (receiver, handles)
}

/// One image's detections and its size in pixels, or why it could not be read or run.
pub struct Detected {
    pub rel: String,
    pub result: Result<((u32, u32), Vec<Detection>), VisionError>,
    /// How long decoding it took ([`Decoded::decode_ms`]).
    pub decode_ms: f64,
    /// Its share of its batch's detection (letterbox, forward, post-processing), in ms: a
    /// batch runs as one call, so its time is split evenly among the images that ran.
    /// `None` when it did not run (it could not be decoded).
    pub detect_ms: Option<f64>,
}

impl Detected {
    /// Records this image's stages as the spans "decode" and "detect" (for `--stats`).
    pub fn record(&self, timings: &mut Timings) {
        self.record_as("", timings);
    }

    /// Records this image's stages as the spans "<prefix>decode" and "<prefix>detect".
    pub fn record_as(&self, prefix: &str, timings: &mut Timings) {
        timings.record(&format!("{prefix}decode"), self.decode_ms);
        if let Some(ms) = self.detect_ms {
            timings.record(&format!("{prefix}detect"), ms);
        }
    }
}

/// Takes the decoded images in groups of up to `batch` (fewer at the end) and runs each
/// group through the model in one forward pass when the model allows it
/// ([`Detector::detect_batch`]). Yields each group's results in arrival order.
pub fn detect_in_batches<'a>(
    decoded: &'a Receiver<Decoded>,
    detector: &'a Detector,
    batch: usize,
) -> impl Iterator<Item = Vec<Detected>> + 'a {
    std::iter::from_fn(move || {
        let group: Vec<Decoded> = decoded.iter().take(batch.max(1)).collect();
        if group.is_empty() {
            return None;
        }
        let images: Vec<&RgbImage> = group.iter().filter_map(|d| d.image.as_ref().ok()).collect();
        let start = Instant::now();
        let mut found = detector.detect_batch(&images).into_iter();
        let share = millis(start.elapsed()) / images.len().max(1) as f64;
        let results = group
            .into_iter()
            .map(
                |Decoded {
                     rel,
                     image,
                     decode_ms,
                 }| {
                    let detect_ms = image.is_ok().then_some(share);
                    let result = match image {
                        Ok(image) => found
                            .next()
                            .unwrap_or_else(|| {
                                Err(VisionError::Outputs("no result for this image".into()))
                            })
                            .map(|detections| ((image.width(), image.height()), detections)),
                        Err(err) => Err(err),
                    };
                    Detected {
                        rel,
                        result,
                        decode_ms,
                        detect_ms,
                    }
                },
            )
            .collect();
        Some(results)
    })
}

/// A duration in milliseconds, the unit of [`Timings`].
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints the `--stats` table of `timings` to stderr (stdout may be a listing).
pub fn print_stats(timings: &Timings) {
    eprint!("{}", timings.report());
}

/// Decoder threads for this machine: all cores but the one running the model.
pub fn decoder_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Set by Ctrl-C: long jobs stop cleanly at the next image, keeping what finished.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    // A second handler cannot be installed (tests); ignoring that keeps the default.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    interrupted
}

/// A progress bar with rate and ETA.
pub fn progress_bar(len: usize) -> ProgressBar {
    let progress = ProgressBar::new(len as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard(None).unwrap(), (0, 1));
        assert_eq!(parse_shard(Some("2/4")).unwrap(), (2, 4));
        assert!(parse_shard(Some("4/4")).is_err());
        assert!(parse_shard(Some("x")).is_err());
    }

    #[test]
    fn decoding_ahead_yields_every_image_once_with_errors_in_place() {
        let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("../../public/demo");
        let mut images = find_images(&root).expect("lists");
        assert!(images.len() >= 9);
        images.push("missing.jpg".into());
        let (receiver, handles) = decode_ahead(&root, images.clone(), 3, 2);
        let mut seen: Vec<(String, bool)> =
            receiver.iter().map(|d| (d.rel, d.image.is_ok())).collect();
        for handle in handles {
            handle.join().expect("worker");
        }
        seen.sort();
        let mut want: Vec<(String, bool)> = images
            .iter()
            .map(|r| (r.clone(), r != "missing.jpg"))
            .collect();
        want.sort();
        assert_eq!(seen, want);
    }
}
