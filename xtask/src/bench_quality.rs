//! `cargo xtask bench-quality`: the time per image of every metric of `sightline quality`
//! against pyiqa 0.1.16 (and scikit-image 0.26's `blur_effect`) on the same images, the same
//! CPU threads, in the same run, printed as speed-ups (pyiqa's time over ours; goal ≥ 5×)
//! with the peak memory of each run; then the no-reference metrics on wgpu (Vulkan), when
//! this machine can build and run that.
//!
//! Two image sets: the 9 fixture pairs of the metric tests (`crates/vision/tests/data/iqa/`,
//! 451×300 to 600×400) and a generated folder of [`FOLDER_COUNT`] pairs at [`FOLDER_SIZE`]
//! (`benchmarks/quality/make_folder.py`, made once under the cache). Per set, the release
//! CLI runs once with `--ref` (the full-reference metrics) and once without (the
//! no-reference ones), with `--stats`; `benchmarks/quality/pyiqa_times.py` then times the
//! same metrics in the IQA virtual environment. Peak memory is GNU time's maximum resident
//! set size of each process.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{json_number, python_env};
use crate::steps::{Env, run};

/// The IQA references from PyPI (torch comes with pyiqa).
const IQA_PACKAGES: &[&str] = &["pyiqa==0.1.16", "scikit-image==0.26.0"];
const IQA_CHECK: &str = "import torch, pyiqa, skimage; \
                         assert pyiqa.__version__ == '0.1.16', pyiqa.__version__; \
                         assert skimage.__version__ == '0.26.0', skimage.__version__";
/// GNU time (peak memory) and lavapipe (the Vulkan device wgpu finds without a GPU).
const DEBIAN_PACKAGES: &[&str] = &["time", "mesa-vulkan-drivers"];
const GNU_TIME: &str = "/usr/bin/time";

/// The generated folder: small images so that pyiqa's slow metrics fit in minutes.
const FOLDER_COUNT: usize = 1000;
const FOLDER_SIZE: &str = "320x240";
const FOLDER_SEED: u64 = 0;
/// pyiqa times each metric until this many seconds are spent on a set (at least 3 images,
/// on the fixtures a multiple of 3: one of each photo): its slow metrics (MAD, CW-SSIM,
/// SSIMC, VIF, ...) take seconds per image on two cores, so they are timed on the first
/// images only. Ours are timed on every image.
const PYIQA_FIXTURE_BUDGET_S: &str = "15";
const PYIQA_FOLDER_BUDGET_S: &str = "10";
const PYIQA_MIN_IMAGES: &str = "3";
/// A run that takes longer than this is stopped (the wgpu one, on a CPU emulation of
/// Vulkan, could otherwise take very long).
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
const WGPU_TIMEOUT: Duration = Duration::from_secs(300);

/// Full-reference metrics, in the order the table prints them, and whether pyiqa has them.
const FULL_REFERENCE: &[&str] = &[
    "psnr", "psnry", "ssim", "ssimc", "ms_ssim", "cw_ssim", "fsim", "vif", "gmsd", "nlpd", "vsi",
    "mad",
];
/// No-reference metrics; the last five are OpenCV-style statistics with no pyiqa
/// counterpart (printed without a reference time).
const NO_REFERENCE: &[&str] = &[
    "piqe",
    "entropy",
    "blur_effect",
    "laplacian_var",
    "dark_fraction",
    "bright_fraction",
    "mean_luminance",
    "rms_contrast",
];
const WITHOUT_REFERENCE_TIME: &[&str] = &[
    "laplacian_var",
    "dark_fraction",
    "bright_fraction",
    "mean_luminance",
    "rms_contrast",
];
const GOAL: f64 = 5.0;

/// One image set: images under `input`, references of the same names under `reference`.
struct Set {
    name: String,
    input: PathBuf,
    reference: PathBuf,
    /// Short name for the files of its runs.
    tag: &'static str,
    /// pyiqa's per-metric time budget in seconds, and the multiple of images it stops at.
    budget_s: &'static str,
    step: &'static str,
}

/// What one timed process left: its stdout and stderr, and its peak RSS in MB.
struct Outcome {
    stdout: String,
    stderr: String,
    peak_mb: Option<f64>,
    wall_s: f64,
}

pub fn bench_quality(env: &Env) -> Result<bool, String> {
    let started = Instant::now();
    if let Err(err) = crate::setup::ensure_debian_packages(DEBIAN_PACKAGES) {
        println!("xtask: could not install {DEBIAN_PACKAGES:?} ({err}); going on without");
    }
    let python = python_env(
        env,
        "venv-iqa",
        IQA_CHECK,
        IQA_PACKAGES,
        " (torch comes with pyiqa: a few GB, once)",
    )?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let work = env.cache.join("bench-quality");
    let runs = work.join("runs");
    std::fs::create_dir_all(&runs).map_err(|err| format!("{}: {err}", runs.display()))?;
    let sets = [fixture_set(env, &work)?, folder_set(env, &python, &work)?];

    println!("xtask: building the CLI (release)");
    run(
        env,
        "cargo",
        &["build", "--release", "--quiet", "-p", "sightline-cli"],
    )?;
    let cli = env.target_dir.join("release/sightline");
    let pyiqa_script = env.root.join("benchmarks/quality/pyiqa_times.py");
    let mut summary = String::new();
    for set in &sets {
        summary += &bench_set(env, &cli, &python, &pyiqa_script, set, threads, &runs)?;
    }
    let wgpu = wgpu_check(env, &sets[0], &runs);
    println!("{summary}");
    println!("{wgpu}");
    println!(
        "(bench-quality took {:.0} s; logs and reports in {})",
        started.elapsed().as_secs_f64(),
        runs.display()
    );
    Ok(true)
}

/// The 9 fixture images as `{distortion}-{photo}.png` (so that every 3 in name order are
/// one of each photo size), each beside its photo's `_ref` image under the same name (the
/// `ref` images against themselves, as in the tests).
fn fixture_set(env: &Env, work: &Path) -> Result<Set, String> {
    let data = env.root.join("crates/vision/tests/data/iqa");
    let dir = work.join("fixtures");
    let (input, reference) = (dir.join("input"), dir.join("ref"));
    for folder in [&input, &reference] {
        std::fs::create_dir_all(folder).map_err(|err| format!("{}: {err}", folder.display()))?;
    }
    let mut count = 0;
    for entry in std::fs::read_dir(&data).map_err(|err| format!("{}: {err}", data.display()))? {
        let path = entry.map_err(|err| err.to_string())?.path();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let Some((photo, distortion)) = name.strip_suffix(".png").and_then(|s| s.split_once('_'))
        else {
            continue;
        };
        let name = format!("{distortion}-{photo}.png");
        let copy = |from: &Path, to: &Path| {
            std::fs::copy(from, to)
                .map_err(|err| format!("{} -> {}: {err}", from.display(), to.display()))
        };
        copy(&path, &input.join(&name))?;
        copy(
            &data.join(format!("{photo}_ref.png")),
            &reference.join(&name),
        )?;
        count += 1;
    }
    if count != 9 {
        return Err(format!(
            "expected 9 fixture PNGs in {}, found {count}",
            data.display()
        ));
    }
    Ok(Set {
        name: "fixtures (9 pairs, 451x300 to 600x400)".to_owned(),
        input,
        reference,
        tag: "fixtures",
        budget_s: PYIQA_FIXTURE_BUDGET_S,
        step: "3",
    })
}

/// The generated folder, made once (a `complete` marker is written last).
fn folder_set(env: &Env, python: &Path, work: &Path) -> Result<Set, String> {
    let dir = work.join(format!(
        "folder-{FOLDER_COUNT}-{FOLDER_SIZE}-seed{FOLDER_SEED}"
    ));
    let marker = dir.join("complete");
    if !marker.exists() {
        println!(
            "xtask: generating {FOLDER_COUNT} image pairs at {FOLDER_SIZE} in {}",
            dir.display()
        );
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        }
        crate::steps::run_command(
            Command::new(python)
                .arg(env.root.join("benchmarks/quality/make_folder.py"))
                .arg(&dir)
                .args(["--count", &FOLDER_COUNT.to_string()])
                .args(["--size", FOLDER_SIZE, "--seed", &FOLDER_SEED.to_string()]),
        )?;
        std::fs::write(&marker, "").map_err(|err| format!("{}: {err}", marker.display()))?;
    }
    Ok(Set {
        name: format!("generated folder ({FOLDER_COUNT} pairs, {FOLDER_SIZE})"),
        input: dir.join("input"),
        reference: dir.join("ref"),
        tag: "folder",
        budget_s: PYIQA_FOLDER_BUDGET_S,
        step: "1",
    })
}

/// Our CLI and pyiqa on one set, full-reference then no-reference; returns the table.
fn bench_set(
    env: &Env,
    cli: &Path,
    python: &Path,
    script: &Path,
    set: &Set,
    threads: usize,
    runs: &Path,
) -> Result<String, String> {
    let tag = set.tag;
    let load_before = load_average();
    let mut ours: Vec<Span> = Vec::new();
    let mut theirs = String::new();
    let mut memory = Vec::new();
    for (kind, metrics) in [("fr", FULL_REFERENCE), ("nr", NO_REFERENCE)] {
        let with_ref = kind == "fr";
        println!(
            "xtask: {} — sightline, {} metrics",
            set.name,
            kind.to_uppercase()
        );
        let mut command = Command::new(cli);
        command
            .arg("quality")
            .arg("--input")
            .arg(&set.input)
            .args([
                "--device",
                "cpu",
                "--stats",
                "--metrics",
                &metrics.join(","),
            ])
            .arg("--out")
            .arg(runs.join(format!("{tag}-{kind}-cpu.csv")));
        if with_ref {
            command.arg("--ref").arg(&set.reference);
        }
        let outcome = timed(
            env,
            command,
            runs,
            &format!("{tag}-{kind}-sightline"),
            RUN_TIMEOUT,
        )?;
        ours.extend(stats_spans(&outcome.stderr));
        memory.push((
            format!("sightline {}", kind.to_uppercase()),
            outcome.peak_mb,
            outcome.wall_s,
        ));

        let pyiqa_metrics: Vec<&str> = metrics
            .iter()
            .copied()
            .filter(|m| !WITHOUT_REFERENCE_TIME.contains(m))
            .collect();
        println!(
            "xtask: {} — pyiqa / scikit-image, {} metrics",
            set.name,
            kind.to_uppercase()
        );
        let mut command = Command::new(python);
        command
            .arg(script)
            .arg("--input")
            .arg(&set.input)
            .args(["--metrics", &pyiqa_metrics.join(",")])
            .args([
                "--threads",
                &threads.to_string(),
                "--min-images",
                PYIQA_MIN_IMAGES,
            ]);
        if with_ref {
            command.arg("--ref").arg(&set.reference);
        }
        command.args(["--budget-s", set.budget_s, "--step", set.step]);
        let outcome = timed(
            env,
            command,
            runs,
            &format!("{tag}-{kind}-pyiqa"),
            RUN_TIMEOUT,
        )?;
        if !outcome.stdout.trim_start().starts_with('{') {
            return Err(format!(
                "pyiqa_times.py printed no report: {}",
                outcome.stderr.lines().last().unwrap_or("")
            ));
        }
        theirs += &outcome.stdout;
        memory.push((
            format!("python {}", kind.to_uppercase()),
            outcome.peak_mb,
            outcome.wall_s,
        ));
    }

    // Both sides stall when other processes share the cores (torch's threads wait for each
    // other at every parallel region), pyiqa far more: compare runs on an idle machine.
    let mut table = format!(
        "\n{} — CPU, {threads} threads each (sightline: rayon over all cores, decoding on \
         the other thread(s); torch.set_num_threads({threads})); load average {load_before} \
         before, {} after\n",
        set.name,
        load_average()
    );
    let _ = writeln!(
        table,
        "{:<16} {:>9} {:>10} {:>7} {:>9} {:>9} {:>9} {:>11}",
        "metric", "ours ms", "pyiqa ms", "images", "speed-up", "p50", "bound", "ours met/s"
    );
    let mut misses = Vec::new();
    for name in FULL_REFERENCE.iter().chain(NO_REFERENCE) {
        let Some(span) = ours.iter().find(|s| s.name == *name) else {
            let _ = writeln!(table, "{name:<16} (no time from sightline)");
            continue;
        };
        let mean = span.mean;
        let rate = 1000.0 / mean;
        let Some(reference) = json_number(&theirs, name) else {
            let _ = writeln!(
                table,
                "{name:<16} {mean:>9.3} {:>10} {:>7} {:>9} {:>9} {:>9} {rate:>11.1}   (no pyiqa metric)",
                "-", "-", "-", "-", "-"
            );
            continue;
        };
        let images = json_number(&theirs, &format!("images:{name}"))
            .map_or_else(|| "?".to_owned(), |n| format!("{n:.0}"));
        let ratio = |key: &str, ours: f64| {
            json_number(&theirs, &format!("{key}:{name}")).map(|theirs| theirs / ours)
        };
        let shown = |r: Option<f64>| r.map_or_else(|| "?".to_owned(), |r| format!("{r:.1}x"));
        let (median, bound) = (ratio("p50", span.p50), ratio("min", span.p50));
        let speedup = reference / mean;
        let flag = if speedup < GOAL {
            misses.push(format!("{name} {speedup:.1}x"));
            "  under 5x"
        } else if bound.is_some_and(|b| b < GOAL) {
            "  (bound under 5x)"
        } else {
            ""
        };
        let _ = writeln!(
            table,
            "{name:<16} {mean:>9.3} {reference:>10.2} {images:>7} {speedup:>8.1}x {:>9} {:>9} \
             {rate:>11.1}{flag}",
            shown(median),
            shown(bound),
        );
    }
    let decode = ours.iter().find(|s| s.name == "decode");
    if let Some(decode) = decode {
        let _ = writeln!(
            table,
            "(decode: {:.2} ms per image, not in the metric times)",
            decode.mean
        );
    }
    let _ = writeln!(
        table,
        "(ours: mean over all {} images, sightline's --stats; pyiqa: mean over `images`, \
         each metric on the first images until {} s were spent, after a warm-up call; \
         speed-up = pyiqa mean / ours mean, goal >= 5x; p50 = the same for the medians; \
         bound = pyiqa's fastest image / our median: a floor on the idle-machine speed-up, \
         as other load only slows both; met/s = 1000 / ours ms)",
        decode.map_or(0, |d| d.count),
        set.budget_s
    );
    let peaks: Vec<String> = memory
        .iter()
        .map(|(who, mb, wall)| match mb {
            Some(mb) => format!("{who} {mb:.0} MB ({wall:.0} s)"),
            None => format!("{who} ? MB ({wall:.0} s)"),
        })
        .collect();
    let _ = writeln!(table, "peak RSS: {}", peaks.join(", "));
    if misses.is_empty() {
        let _ = writeln!(table, "every metric with a pyiqa counterpart is >= 5x");
    } else {
        let _ = writeln!(table, "under the 5x goal: {}", misses.join(", "));
    }
    print!("{table}");
    Ok(table)
}

/// The no-reference metrics on the fixtures through wgpu: built with `--features wgpu`, run
/// with `--device vulkan`; the scores compared with the CPU run's. Here Vulkan is Mesa's
/// lavapipe, a CPU emulation, so the times say that it works, not how fast a GPU is.
fn wgpu_check(env: &Env, fixtures: &Set, runs: &Path) -> String {
    let mut out = String::from("\nwgpu (--device vulkan), no-reference metrics on the fixtures:\n");
    println!("xtask: building the CLI with --features wgpu (release)");
    let build = env
        .command("cargo")
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "sightline-cli",
            "--features",
            "wgpu",
        ])
        .stderr(Stdio::piped())
        .output();
    match build {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            let _ = writeln!(out, "the wgpu build failed: {}", last_lines(&why, 8));
            return out;
        }
        Err(err) => {
            let _ = writeln!(out, "cannot start cargo for the wgpu build: {err}");
            return out;
        }
    }
    let cli = env.target_dir.join("release/sightline");
    let report = runs.join("fixtures-nr-vulkan.csv");
    let mut command = Command::new(&cli);
    command
        .arg("quality")
        .arg("--input")
        .arg(&fixtures.input)
        .args([
            "--device",
            "vulkan",
            "--stats",
            "--metrics",
            &NO_REFERENCE.join(","),
        ])
        .arg("--out")
        .arg(&report);
    let outcome = match timed(env, command, runs, "fixtures-nr-vulkan", WGPU_TIMEOUT) {
        Ok(outcome) => outcome,
        Err(err) => {
            let _ = writeln!(out, "the wgpu run failed: {err}");
            return out;
        }
    };
    let device = outcome
        .stderr
        .lines()
        .find(|l| l.starts_with("scoring"))
        .unwrap_or("")
        .to_owned();
    let spans = stats_spans(&outcome.stderr);
    if spans.is_empty() {
        let _ = writeln!(
            out,
            "the wgpu run printed no times: {}",
            last_lines(&outcome.stderr, 8)
        );
        return out;
    }
    let cpu = std::fs::read_to_string(runs.join("fixtures-nr-cpu.csv")).unwrap_or_default();
    let gpu = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = writeln!(out, "({device}; adapter: {})", vulkan_adapter());
    let _ = writeln!(
        out,
        "{:<16} {:>12} {:>22}",
        "metric", "vulkan ms", "max |vulkan - cpu|"
    );
    for name in NO_REFERENCE {
        let Some(mean) = spans.iter().find(|s| s.name == *name).map(|s| s.mean) else {
            let _ = writeln!(out, "{name:<16} (no time)");
            continue;
        };
        let diff = csv_column(&cpu, name)
            .zip(csv_column(&gpu, name))
            .filter(|(a, b)| a.len() == b.len() && !a.is_empty())
            .map(|(a, b)| {
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max)
            });
        let diff = diff.map_or_else(|| "(no scores)".to_owned(), |d| format!("{d:.3e}"));
        let _ = writeln!(out, "{name:<16} {mean:>12.2} {diff:>22}");
    }
    let _ = writeln!(
        out,
        "peak RSS {} MB, {:.0} s. lavapipe runs the shaders on the CPU: a check that the \
         metrics run on wgpu, not a GPU speed.",
        outcome
            .peak_mb
            .map_or_else(|| "?".to_owned(), |m| format!("{m:.0}")),
        outcome.wall_s
    );
    out
}

/// The 1-minute load average (`/proc/loadavg`), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The Vulkan device's name from `vulkaninfo --summary` when that tool exists; else a guess
/// from the installed drivers (without /dev/dri only lavapipe can run).
fn vulkan_adapter() -> String {
    let named = Command::new("vulkaninfo")
        .arg("--summary")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.trim_start().starts_with("deviceName"))
                .filter_map(|l| Some(l.split('=').nth(1)?.trim().to_owned()))
                .reduce(|a, b| format!("{a}, {b}"))
        });
    if let Some(named) = named {
        return named;
    }
    let lavapipe = Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json").exists();
    match (lavapipe, Path::new("/dev/dri").exists()) {
        (true, false) => "Mesa lavapipe (no /dev/dri: no GPU is reachable)".to_owned(),
        (true, true) => "a GPU driver or Mesa lavapipe (vulkaninfo absent)".to_owned(),
        (false, _) => "unknown (no lavapipe, vulkaninfo absent)".to_owned(),
    }
}

/// Runs `command` (under GNU time when present, for the peak RSS) with its output in files
/// `runs/label.{out,err}`; stops it after `timeout`. Fails when it fails.
fn timed(
    env: &Env,
    command: Command,
    runs: &Path,
    label: &str,
    timeout: Duration,
) -> Result<Outcome, String> {
    use std::os::unix::process::CommandExt as _;
    let rss_file = runs.join(format!("{label}.rss"));
    let _ = std::fs::remove_file(&rss_file);
    let gnu_time = Path::new(GNU_TIME).exists();
    let mut wrapped = if gnu_time {
        let mut wrapped = Command::new(GNU_TIME);
        wrapped
            .args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .arg(command.get_program())
            .args(command.get_args());
        wrapped
    } else {
        command
    };
    let file = |ext: &str| {
        let path = runs.join(format!("{label}.{ext}"));
        std::fs::File::create(&path)
            .map(|f| (f, path.clone()))
            .map_err(|err| format!("{}: {err}", path.display()))
    };
    let (stdout_file, stdout_path) = file("out")?;
    let (stderr_file, stderr_path) = file("err")?;
    wrapped
        .current_dir(&env.root)
        .stdout(stdout_file)
        .stderr(stderr_file)
        // Its own process group, so that a timeout stops the program under GNU time too.
        .process_group(0);
    let started = Instant::now();
    let mut child = wrapped
        .spawn()
        .map_err(|err| format!("cannot start {wrapped:?}: {err}"))?;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|err| err.to_string())? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            return Err(format!(
                "{label} stopped after {} s (log: {})",
                timeout.as_secs(),
                stderr_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let wall_s = started.elapsed().as_secs_f64();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "{label} failed ({status}): {}",
            last_lines(&stderr, 8)
        ));
    }
    let peak_mb = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    Ok(Outcome {
        stdout,
        stderr,
        peak_mb,
        wall_s,
    })
}

/// One line of `sightline quality --stats`' table.
#[derive(Debug, PartialEq)]
struct Span {
    name: String,
    count: usize,
    p50: f64,
    mean: f64,
}

/// The lines of `sightline quality --stats`' table (after its `span count p50 p95 max mean`
/// header).
fn stats_spans(stderr: &str) -> Vec<Span> {
    stderr
        .lines()
        .skip_while(|line| !line.starts_with("span "))
        .skip(1)
        .map_while(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [name, count, p50, _, _, mean] = words.as_slice() else {
                return None;
            };
            Some(Span {
                name: (*name).to_owned(),
                count: count.parse().ok()?,
                p50: p50.parse().ok()?,
                mean: mean.parse().ok()?,
            })
        })
        .collect()
}

/// The numbers of column `name` of a `sightline quality` CSV report (empty cells skipped).
fn csv_column(csv: &str, name: &str) -> Option<Vec<f64>> {
    let mut lines = csv.lines();
    let column = lines.next()?.split(',').position(|h| h == name)?;
    Some(
        lines
            .filter_map(|line| line.split(',').nth(column)?.parse().ok())
            .collect(),
    )
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::{Span, csv_column, stats_spans};

    #[test]
    fn reads_the_mean_of_each_span_of_the_stats_table() {
        let stderr = "scoring 9 images on cpu (burn flex) with psnr, ssim\n\
                      span      count      p50 ms      p95 ms      max ms     mean ms\n\
                      decode        9       3.000       4.000       5.000       3.500\n\
                      ssim          9      12.000      14.000      15.000      12.250\n\
                      9 of 9 images scored; report in r.csv\n";
        let span = |name: &str, p50, mean| Span {
            name: name.to_owned(),
            count: 9,
            p50,
            mean,
        };
        assert_eq!(
            stats_spans(stderr),
            vec![span("decode", 3.0, 3.5), span("ssim", 12.0, 12.25)]
        );
        assert!(stats_spans("no table").is_empty());
    }

    #[test]
    fn reads_a_column_of_the_csv_report() {
        let csv = "file,piqe,entropy,error\na.png,30.5,7.25,\nb.png,,7.0,failed\n";
        assert_eq!(csv_column(csv, "entropy"), Some(vec![7.25, 7.0]));
        assert_eq!(csv_column(csv, "piqe"), Some(vec![30.5]));
        assert_eq!(csv_column(csv, "vif"), None);
    }
}
