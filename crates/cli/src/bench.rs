//! `sightline bench`: how fast a model runs here. Forward time per image (after a warm-up;
//! median, mean, p95), and, with `--input`, whole-folder throughput — decode, letterbox,
//! forward and post-processing — once image after image and once with decoding overlapped
//! on the other cores, so the gain of the overlap is measured, not assumed. Comparisons
//! with onnxruntime and Ultralytics live in `cargo xtask bench` (benchmarks/).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use sightline_core::timing::Timings;
use sightline_vision::DeviceTensor;
use sightline_vision::detector::read_outputs;
use sightline_vision::image_io::read_image;
use sightline_vision::runtime::NodeTiming;
use sightline_vision::yolo::letterbox::letterbox;

use crate::pipeline::{
    ModelArgs, decode_ahead, decoder_threads, detect_in_batches, find_images, millis, print_stats,
};

/// Arguments of `sightline bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Timed forward passes (after two warm-up passes).
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// A folder of images: also measure whole-folder images/s.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Images per forward pass: also time a forward of this many images, and run the folder
    /// in batches of this size.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Also time every node of the graph (CPU backend: exact; GPU: recording time only) and
    /// print the operators and nodes that take the most time.
    #[arg(long)]
    profile: bool,
    /// Print every timed span (count, p50, p95, max and mean, in ms) to stderr at the end:
    /// "forward" (and "forward.batch") per timed pass; with `--input`, "decode" and "detect"
    /// per image of the one-after-another run and "overlapped.decode" and
    /// "overlapped.detect" per image of the overlapped one.
    #[arg(long)]
    stats: bool,
}

/// Summary of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub mean: f64,
    pub p95: f64,
}

pub fn stats(samples: &[Duration]) -> Option<Stats> {
    if samples.is_empty() {
        return None;
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Some(Stats {
        median: at(0.5),
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
        p95: at(0.95),
    })
}

/// Runs the command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let (device, detector) = args.model.load(args.input.as_deref())?;
    let images = match &args.input {
        Some(dir) => find_images(dir)?,
        None => Vec::new(),
    };
    // The forward input: the first image letterboxed, else a grey frame.
    let sample = match (&args.input, images.first()) {
        (Some(dir), Some(rel)) => read_image(dir.join(rel))?,
        _ => {
            let (w, h) = detector.input_size();
            image::RgbImage::from_pixel(w, h, image::Rgb([114, 114, 114]))
        }
    };
    let (input, _) = letterbox(&sample, detector.input_size());
    let forward = |n: usize| -> anyhow::Result<Duration> {
        let batch = input.repeat(n);
        let start = Instant::now();
        read_outputs(&detector.forward_batch(&batch, n)?)?;
        Ok(start.elapsed())
    };
    let mut timings = Timings::new();
    let mut time = |n: usize, span: &str| -> anyhow::Result<Stats> {
        for _ in 0..2 {
            forward(n)?;
        }
        let samples = (0..args.iterations)
            .map(|_| forward(n))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for sample in &samples {
            timings.record(span, millis(*sample));
        }
        Ok(stats(&samples).expect("at least one iteration"))
    };
    let forward_stats = time(1, "forward")?;
    let (w, h) = detector.input_size();
    println!("model      {}", args.model.model.display());
    println!("device     {}", device.backend_name);
    println!("input      {w}×{h}");
    println!(
        "forward    median {:.1} ms   mean {:.1} ms   p95 {:.1} ms   ({} runs)",
        forward_stats.median, forward_stats.mean, forward_stats.p95, args.iterations
    );
    let batch = args.batch.max(1);
    if batch > 1 {
        match detector.model().batching() {
            Ok(()) => {
                let batched = time(batch, "forward.batch")?;
                let per_image = batched.median / batch as f64;
                println!(
                    "batch {batch:<4} median {:.1} ms   {per_image:.1} ms per image   \
                     ({:.2}× batch 1 per image)",
                    batched.median,
                    forward_stats.median / per_image
                );
            }
            Err(why) => println!("batch      this graph runs one image per forward: {why}"),
        }
    }

    if args.profile {
        let (w, h) = (w as usize, h as usize);
        let tensor = || DeviceTensor::upload(input.clone(), &[1, 3, h, w], &device.device);
        let mut runs = Vec::new();
        for _ in 0..args.iterations.min(5) {
            let (outputs, timings) = detector.model().forward_profiled(vec![tensor()])?;
            read_outputs(&outputs)?;
            runs.push(timings);
        }
        print!("{}", profile_report(&runs, 15));
    }

    let mut failed = 0;
    if let (Some(dir), false) = (&args.input, images.is_empty()) {
        let start = Instant::now();
        for rel in &images {
            let start = Instant::now();
            let image = read_image(dir.join(rel));
            timings.record("decode", millis(start.elapsed()));
            let found = image.and_then(|image| {
                let start = Instant::now();
                let found = detector.detect(&image);
                timings.record("detect", millis(start.elapsed()));
                found
            });
            if found.is_err() {
                failed += 1;
            }
        }
        let sequential = images.len() as f64 / start.elapsed().as_secs_f64();
        let start = Instant::now();
        let (decoded, decoders) = decode_ahead(dir, images.clone(), decoder_threads(), 2 * batch);
        for group in detect_in_batches(&decoded, &detector, batch) {
            for detected in &group {
                detected.record_as("overlapped.", &mut timings);
            }
        }
        for decoder in decoders {
            let _ = decoder.join();
        }
        let overlapped = images.len() as f64 / start.elapsed().as_secs_f64();
        println!(
            "folder     {} images: {sequential:.2} images/s one after another, \
             {overlapped:.2} images/s with decoding overlapped, batch {batch} ({:.2}×)",
            images.len(),
            overlapped / sequential
        );
    }
    if args.stats {
        print_stats(&timings);
    }
    if failed > 0 {
        eprintln!("{failed} images could not be read or run");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Per operator and per node: the median over `runs` of each node's time, summed by
/// operator, with each one's share of the whole, then the `top` slowest nodes.
pub fn profile_report(runs: &[Vec<NodeTiming>], top: usize) -> String {
    use std::fmt::Write as _;
    let Some(first) = runs.first() else {
        return String::new();
    };
    let medians: Vec<f64> = (0..first.len())
        .map(|i| {
            let samples: Vec<Duration> = runs
                .iter()
                .filter_map(|r| r.get(i))
                .map(|t| t.elapsed)
                .collect();
            stats(&samples).map_or(0.0, |s| s.median)
        })
        .collect();
    let total: f64 = medians.iter().sum();
    let mut by_op: Vec<(&str, f64, usize)> = Vec::new();
    for (timing, ms) in first.iter().zip(&medians) {
        match by_op.iter_mut().find(|(op, _, _)| *op == timing.op_type) {
            Some(entry) => {
                entry.1 += ms;
                entry.2 += 1;
            }
            None => by_op.push((&timing.op_type, *ms, 1)),
        }
    }
    by_op.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "profile    {total:.1} ms in {} nodes (median of {} runs)",
        first.len(),
        runs.len()
    );
    for (op, ms, count) in &by_op {
        let _ = writeln!(
            out,
            "  {op:<12} {ms:>8.1} ms {:>5.1} %  {count} nodes",
            100.0 * ms / total.max(f64::MIN_POSITIVE)
        );
    }
    let mut order: Vec<usize> = (0..first.len()).collect();
    order.sort_by(|&a, &b| medians[b].total_cmp(&medians[a]));
    let _ = writeln!(out, "slowest nodes");
    for &i in order.iter().take(top) {
        let t = &first[i];
        let _ = writeln!(
            out,
            "  {:>8.2} ms  {:<10} {:<40} -> {:?}",
            medians[i], t.op_type, t.name, t.output_shape
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_known_samples() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let s = stats(&samples).expect("some");
        assert_eq!(s.median, 11.0, "index round(19 × 0.5) = 10 → 11 ms");
        assert_eq!(s.mean, 10.5);
        assert_eq!(s.p95, 19.0, "index round(19 × 0.95) = 18 → 19 ms");
        assert!(stats(&[]).is_none());
    }

    #[test]
    fn profile_sums_medians_by_operator() {
        let node = |name: &str, op: &str, ms: u64| NodeTiming {
            name: name.into(),
            op_type: op.into(),
            output_shape: vec![1, 2],
            elapsed: Duration::from_millis(ms),
        };
        // Three runs; per node the median is 3 ms (a), 1 ms (b), 6 ms (c).
        let runs = vec![
            vec![
                node("a", "Conv", 3),
                node("b", "Sigmoid", 1),
                node("c", "Conv", 6),
            ],
            vec![
                node("a", "Conv", 2),
                node("b", "Sigmoid", 9),
                node("c", "Conv", 6),
            ],
            vec![
                node("a", "Conv", 4),
                node("b", "Sigmoid", 1),
                node("c", "Conv", 5),
            ],
        ];
        let report = profile_report(&runs, 2);
        assert!(
            report.contains("10.0 ms in 3 nodes (median of 3 runs)"),
            "{report}"
        );
        assert!(
            report.contains("Conv              9.0 ms  90.0 %  2 nodes"),
            "{report}"
        );
        assert!(
            report.contains("Sigmoid           1.0 ms  10.0 %  1 nodes"),
            "{report}"
        );
        let slowest: Vec<&str> = report
            .lines()
            .skip_while(|l| !l.starts_with("slowest"))
            .skip(1)
            .collect();
        assert_eq!(slowest.len(), 2, "{report}");
        assert!(
            slowest[0].contains(" c ") && slowest[1].contains(" a "),
            "{report}"
        );
    }
}
