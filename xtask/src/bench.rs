//! `cargo xtask bench`: our forward time against onnxruntime's on the same files, same
//! machine, same run, printed as ratios (criterion between two onnxruntime runs, then pairs
//! of the two taken in turns); then whole-folder images/s of `sightline bench --input`
//! against Ultralytics' predict pipeline on the same model and folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::steps::{Env, run, run_command};

const ONNXRUNTIME: &str = "onnxruntime==1.31.1";
/// Ultralytics' predict pipeline for the folder reference (pulls torch: a large download,
/// made once into its own virtual environment).
const ULTRALYTICS: &[&str] = &[
    "ultralytics==8.4.190",
    "onnxruntime==1.31.1",
    "onnx==1.23.2",
];
const BENCH_MODELS: &[&str] = &["yolov8n", "yolo11n"];

pub fn bench(env: &Env) -> Result<bool, String> {
    let python = ensure_venv(env)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let models_dir = env.shared.join("fixtures/models/n");
    let mut model_paths: Vec<PathBuf> = BENCH_MODELS
        .iter()
        .map(|m| models_dir.join(format!("{m}.onnx")))
        .collect();
    if env.fall_model.exists() {
        model_paths.push(env.fall_model.clone());
    }
    let model_paths: Vec<PathBuf> = model_paths.into_iter().filter(|p| p.exists()).collect();
    if model_paths.is_empty() {
        return Err(format!(
            "no benchmark models under {}",
            models_dir.display()
        ));
    }

    // The machine's speed drifts (shared cores): onnxruntime runs right before and right
    // after criterion, and the ratio uses the mean of the two.
    println!("xtask: onnxruntime reference ({ONNXRUNTIME}, {threads} threads), before");
    let before = ort_forward(env, &python, &model_paths, threads)?;
    println!("xtask: criterion forward benchmark (sightline-vision, CPU backend)");
    run(
        env,
        "cargo",
        &["bench", "-p", "sightline-vision", "--bench", "forward"],
    )?;
    println!("xtask: onnxruntime reference, after");
    let after = ort_forward(env, &python, &model_paths, threads)?;
    println!(
        "\n{:<16} {:>14} {:>16} {:>8}",
        "model", "sightline ms", "onnxruntime ms", "ratio"
    );
    for path in &model_paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ours = criterion_mean_ms(&env.target_dir, &name);
        let theirs = json_number(&before, &name).zip(json_number(&after, &name));
        match (ours, theirs) {
            (Some(ours), Some((first, second))) => {
                let theirs = (first + second) / 2.0;
                println!(
                    "{name:<16} {ours:>14.1} {theirs:>16.1} {:>7.2}x   (onnxruntime {first:.1} before, {second:.1} after)",
                    ours / theirs
                )
            }
            _ => println!("{name:<16} (missing: ours {ours:?}, onnxruntime {theirs:?})"),
        }
    }
    println!("(ratio = sightline / onnxruntime; target <= 1.0x)");
    let cli = build_cli(env)?;
    interleaved_forward(env, &python, &cli, &model_paths, threads)?;
    folder_throughput(env, &cli, &model_paths)?;
    Ok(true)
}

/// Pairs of forward measurements taken in turns per model.
const PAIRS: usize = 5;

/// The forward ratio again, robust to the machine's drift: per model, [`PAIRS`] pairs of
/// onnxruntime's median over 20 runs and `sightline bench`'s median over 20, one right after
/// the other; the ratio is the median of the pairs' ratios, printed with their spread.
fn interleaved_forward(
    env: &Env,
    python: &Path,
    cli: &Path,
    models: &[PathBuf],
    threads: usize,
) -> Result<(), String> {
    println!(
        "\n{:<16} {:>14} {:>16} {:>8}   (interleaved: {PAIRS} pairs of 20-run medians)",
        "model", "sightline ms", "onnxruntime ms", "ratio"
    );
    for model in models {
        let name = model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut pairs = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            let theirs = json_number(
                &ort_forward(env, python, std::slice::from_ref(model), threads)?,
                &name,
            );
            let mut ours = Command::new(cli);
            ours.arg("bench").arg("--model").arg(model).args([
                "--device",
                "cpu",
                "--iterations",
                "20",
            ]);
            let ours = ours
                .output()
                .map_err(|err| format!("{ours:?}: {err}"))
                .map(|o| forward_median(&String::from_utf8_lossy(&o.stdout)))?;
            if let (Some(ours), Some(theirs)) = (ours, theirs) {
                pairs.push((ours, theirs));
            }
        }
        if pairs.is_empty() {
            println!("{name:<16} (no pair measured)");
            continue;
        }
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let ratios: Vec<f64> = pairs.iter().map(|(ours, theirs)| ours / theirs).collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)));
        println!(
            "{name:<16} {:>14.1} {:>16.1} {:>7.2}x   (pairs {low:.2}-{high:.2}x)",
            median(pairs.iter().map(|p| p.0).collect()),
            median(pairs.iter().map(|p| p.1).collect()),
            median(ratios),
        );
    }
    println!("(ratio = median of sightline / onnxruntime over the pairs; target <= 1.0x)");
    Ok(())
}

/// The release CLI, built for the interleaved and folder benchmarks.
fn build_cli(env: &Env) -> Result<PathBuf, String> {
    println!("xtask: building the CLI (release)");
    run(
        env,
        "cargo",
        &["build", "--release", "--quiet", "-p", "sightline-cli"],
    )?;
    Ok(env.target_dir.join("release/sightline"))
}

/// The forward median in ms from `sightline bench`'s report.
fn forward_median(report: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.starts_with("forward"))?;
    line.split_whitespace()
        .skip_while(|word| *word != "median")
        .nth(1)?
        .parse()
        .ok()
}

/// onnxruntime's forward ms per model, as the JSON text `ort_forward.py` prints.
fn ort_forward(
    env: &Env,
    python: &Path,
    models: &[PathBuf],
    threads: usize,
) -> Result<String, String> {
    let mut command = Command::new(python);
    command
        .arg(env.root.join("benchmarks/ort_forward.py"))
        .args(models)
        .args(["--threads", &threads.to_string()]);
    let out = command
        .output()
        .map_err(|err| format!("{command:?}: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "onnxruntime run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whole-folder images/s: `sightline bench --input` (decode, letterbox, forward, NMS; decode
/// overlapped) against Ultralytics' predict pipeline, same model and folder, one after the
/// other per model.
fn folder_throughput(env: &Env, cli: &Path, models: &[PathBuf]) -> Result<(), String> {
    let folder = env.shared.join("fixtures/images");
    let python = ensure_ultralytics(env)?;
    println!(
        "\n{:<16} {:>20} {:>22} {:>8}",
        "folder", "sightline images/s", "ultralytics images/s", "ratio"
    );
    for model in models {
        let name = model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut ours = Command::new(cli);
        ours.arg("bench")
            .arg("--model")
            .arg(model)
            .arg("--input")
            .arg(&folder)
            .args(["--device", "cpu", "--iterations", "3"]);
        let ours = ours
            .output()
            .map_err(|err| format!("{ours:?}: {err}"))
            .map(|o| folder_rate(&String::from_utf8_lossy(&o.stdout)))?;
        let mut theirs = Command::new(&python);
        theirs
            .arg(env.root.join("benchmarks/ultralytics_folder.py"))
            .arg(model)
            .arg(&folder);
        let theirs = theirs
            .output()
            .map_err(|err| format!("{theirs:?}: {err}"))
            .map(|o| json_number(&String::from_utf8_lossy(&o.stdout), "images_per_s"))?;
        match (ours, theirs) {
            (Some(ours), Some(theirs)) => println!(
                "{name:<16} {ours:>20.2} {theirs:>22.2} {:>7.2}x",
                ours / theirs
            ),
            _ => println!("{name:<16} (missing: ours {ours:?}, ultralytics {theirs:?})"),
        }
    }
    println!("(ratio = sightline / ultralytics images/s; target >= 1.0x on CPU)");
    Ok(())
}

/// The best of the two folder rates `sightline bench` prints (one after another, and with
/// decoding overlapped): what `label` and `filter` would reach on this machine.
fn folder_rate(report: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.starts_with("folder"))?;
    let rates: Vec<f64> = line
        .split(" images/s")
        .filter_map(|part| part.rsplit(' ').next()?.parse().ok())
        .collect();
    rates.into_iter().reduce(f64::max)
}

/// A virtual environment with Ultralytics from PyPI, made once under the cache.
fn ensure_ultralytics(env: &Env) -> Result<PathBuf, String> {
    python_env(
        env,
        "venv-ultralytics",
        "import ultralytics, onnxruntime, onnx",
        ULTRALYTICS,
        " (torch comes with it: a few GB, once)",
    )
}

/// A virtual environment with onnxruntime from PyPI, made once under the cache.
fn ensure_venv(env: &Env) -> Result<PathBuf, String> {
    python_env(
        env,
        "venv",
        "import onnxruntime, numpy",
        &[ONNXRUNTIME, "numpy"],
        "",
    )
}

/// The python of virtual environment `name` under the cache, made and filled with
/// `packages` from PyPI unless `check` already imports there.
pub(crate) fn python_env(
    env: &Env,
    name: &str,
    check: &str,
    packages: &[&str],
    note: &str,
) -> Result<PathBuf, String> {
    let venv = env.cache.join(name);
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        println!(
            "xtask: installing {} into {}{note}",
            packages.join(" "),
            venv.display()
        );
        run(env, "python3", &["-m", "venv", &venv.to_string_lossy()])?;
        run_command(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(packages),
        )?;
    }
    Ok(python)
}

/// Mean time of criterion's last run of benchmark `name`, in ms, from its estimates.json.
fn criterion_mean_ms(target_dir: &Path, name: &str) -> Option<f64> {
    let criterion = target_dir.join("criterion");
    let groups = std::fs::read_dir(&criterion).ok()?;
    let mut newest: Option<(std::time::SystemTime, f64)> = None;
    for group in groups.filter_map(Result::ok) {
        let estimates = group.path().join(name).join("new/estimates.json");
        let Ok(text) = std::fs::read_to_string(&estimates) else {
            continue;
        };
        let Some(mean_ns) = json_number(&text[text.find("\"mean\"")?..], "point_estimate") else {
            continue;
        };
        let modified = std::fs::metadata(&estimates)
            .and_then(|m| m.modified())
            .ok()?;
        if newest.is_none_or(|(t, _)| modified > t) {
            newest = Some((modified, mean_ns / 1e6));
        }
    }
    newest.map(|(_, ms)| ms)
}

/// The first number after `"key":` in a JSON text (xtask has no JSON parser on purpose: it
/// builds in seconds with std alone).
pub(crate) fn json_number(text: &str, key: &str) -> Option<f64> {
    let start = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::json_number;

    #[test]
    fn reads_numbers_from_json_text() {
        let text = r#"{"yolov8n": 63.25, "yolo11n": 1.5e2, "mean":{"point_estimate":42.0}}"#;
        assert_eq!(json_number(text, "yolov8n"), Some(63.25));
        assert_eq!(json_number(text, "yolo11n"), Some(150.0));
        assert_eq!(json_number(text, "point_estimate"), Some(42.0));
        assert_eq!(json_number(text, "absent"), None);
    }

    #[test]
    fn reads_the_best_folder_rate_of_sightline_bench() {
        let report = "forward    median 1.0 ms\nfolder     21 images: 7.37 images/s one after \
                      another, 6.30 images/s with decoding overlapped, batch 1 (0.85×)\n";
        assert_eq!(super::folder_rate(report), Some(7.37));
        assert_eq!(super::folder_rate("no folder line"), None);
    }

    #[test]
    fn reads_the_forward_median_of_sightline_bench() {
        let report = "device     cpu (burn flex)\nforward    median 63.0 ms   mean 62.6 ms   \
                      p95 68.2 ms   (10 runs)\n";
        assert_eq!(super::forward_median(report), Some(63.0));
        assert_eq!(super::forward_median("no forward line"), None);
    }
}
