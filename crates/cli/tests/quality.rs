//! `sightline quality` end to end on the IQA fixtures (the vision crate's copies, with the
//! pyiqa values in their `reference_values.tsv`): full-reference scores against a reference
//! folder, no-reference scores as CSV, per-image errors that let the rest go on, refused
//! arguments, and near-duplicate groups.

use std::path::{Path, PathBuf};

mod common;
use common::{manifest_dir, path_text, scratch, sightline};

fn iqa(name: &str) -> PathBuf {
    manifest_dir().join("../vision/tests/data/iqa").join(name)
}

/// pyiqa's value of `metric` for `case` ("photo/distortion").
fn reference(metric: &str, case: &str) -> f64 {
    let text = std::fs::read_to_string(iqa("reference_values.tsv")).expect("tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let column = header.iter().position(|h| *h == case).expect("case");
    let row = lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|cells| cells[0] == metric)
        .expect("metric");
    row[column].parse().expect("number")
}

fn copy(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
    std::fs::copy(iqa(from), to).expect("copy");
}

fn report(path: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

fn row<'a>(rows: &'a [serde_json::Value], file: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["file"] == file)
        .expect("row of the file")
}

#[test]
fn full_reference_scores_match_pyiqa_and_bad_pairs_are_named() {
    let dir = scratch("quality-fr");
    let (input, refs) = (dir.join("in"), dir.join("ref"));
    copy("astronaut_blur_s2.png", &input.join("astronaut.png"));
    copy("astronaut_ref.png", &refs.join("astronaut.png"));
    copy("coffee_q30_decoded.png", &input.join("sub/coffee.png"));
    copy("coffee_ref.png", &refs.join("sub/coffee.png"));
    // A reference of another size, a missing reference, bytes that are no image.
    copy("chelsea_ref.png", &input.join("other_size.png"));
    copy("coffee_ref.png", &refs.join("other_size.png"));
    copy("chelsea_blur_s2.png", &input.join("lonely.png"));
    std::fs::write(input.join("broken.png"), b"not a png").expect("write");
    let out = dir.join("report.json");
    let output = sightline(&[
        "quality",
        "--input",
        &path_text(input.clone()),
        "--ref",
        &path_text(refs.clone()),
        "--metrics",
        "psnr,ssim,ms_ssim",
        "--out",
        &path_text(out.clone()),
        "--device",
        "cpu",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "failures are an error exit: {stderr}"
    );
    assert!(stderr.contains("2 of 5 images scored"), "{stderr}");
    let rows = report(&out);
    let files: Vec<&str> = rows.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        [
            "astronaut.png",
            "broken.png",
            "lonely.png",
            "other_size.png",
            "sub/coffee.png"
        ]
    );
    for (file, case) in [
        ("astronaut.png", "astronaut/blur_s2"),
        ("sub/coffee.png", "coffee/q30_decoded"),
    ] {
        let r = row(&rows, file);
        assert!(
            (r["psnr"].as_f64().unwrap() - reference("psnr", case)).abs() < 1e-3,
            "{r}"
        );
        assert!(
            (r["ssim"].as_f64().unwrap() - reference("ssim", case)).abs() < 1e-4,
            "{r}"
        );
        assert!(
            (r["ms_ssim"].as_f64().unwrap() - reference("ms_ssim", case)).abs() < 1e-4,
            "{r}"
        );
        assert!(r.get("error").is_none(), "{r}");
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["file", "psnr", "ssim", "ms_ssim"]);
    }
    let error = |file: &str| row(&rows, file)["error"].as_str().unwrap().to_owned();
    assert_eq!(
        error("other_size.png"),
        "the image is 451x300 but its reference is 600x400"
    );
    assert!(
        error("lonely.png").starts_with("reference "),
        "{}",
        error("lonely.png")
    );
    assert!(error("lonely.png").contains("lonely.png"));
    assert!(
        error("broken.png").contains("decode"),
        "{}",
        error("broken.png")
    );
}

#[test]
fn no_reference_scores_go_to_csv() {
    let dir = scratch("quality-nr");
    copy("chelsea_ref.png", &dir.join("in/chelsea.png"));
    copy("coffee_blur_s2.png", &dir.join("in/coffee.png"));
    let out = dir.join("report.csv");
    let output = sightline(&[
        "quality",
        "--input",
        &path_text(dir.join("in")),
        "--out",
        &path_text(out.clone()),
        "--device",
        "cpu",
        "--stats",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("entropy"),
        "--stats times each metric: {stderr}"
    );
    let text = std::fs::read_to_string(&out).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "file,piqe,entropy,blur_effect,laplacian_var,dark_fraction,bright_fraction,mean_luminance,rms_contrast,error"
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cells[0], "chelsea.png");
    let entropy: f64 = cells[2].parse().unwrap();
    assert!(
        (entropy - reference("entropy", "chelsea/ref")).abs() < 1e-4,
        "{entropy}"
    );
    let blur: f64 = lines[2].split(',').nth(3).unwrap().parse().unwrap();
    assert!(
        (blur - reference("sk_blur_effect", "coffee/blur_s2")).abs() < 1e-4,
        "{blur}"
    );
    assert!(lines[1].ends_with(','), "no error: {}", lines[1]);
}

#[test]
fn unknown_metrics_and_a_missing_reference_folder_are_refused() {
    let dir = scratch("quality-args");
    copy("chelsea_ref.png", &dir.join("in/a.png"));
    let input = path_text(dir.join("in"));
    let out = path_text(dir.join("r.json"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "quality", "--input", &input, "--out", &out, "--device", "cpu",
        ];
        args.extend(extra);
        let output = sightline(&args);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let unknown = run(&["--metrics", "entropy,niqe"]);
    assert!(
        unknown.contains("unknown metric `niqe` (known: psnr, psnry, ssim"),
        "{unknown}"
    );
    assert!(unknown.contains("blur_effect"), "{unknown}");
    let no_ref = run(&["--metrics", "ssim"]);
    assert!(
        no_ref.contains("ssim compares each image with a reference: give --ref DIR"),
        "{no_ref}"
    );
    assert!(
        !dir.join("r.json").exists(),
        "nothing written for refused arguments"
    );
    let bad_out = sightline(&["quality", "--input", &input, "--out", "r.txt"]);
    assert!(String::from_utf8_lossy(&bad_out.stderr).contains("--out must end in .json or .csv"));
}

#[test]
fn near_duplicates_are_numbered_groups() {
    let dir = scratch("quality-dup");
    let input = dir.join("in");
    copy("astronaut_ref.png", &input.join("a1.png"));
    copy("astronaut_q30_decoded.png", &input.join("a2.png"));
    copy("coffee_ref.png", &input.join("c1.png"));
    copy("coffee_q30_decoded.png", &input.join("c2.png"));
    copy("chelsea_ref.png", &input.join("lone.png"));
    let out = dir.join("report.json");
    let output = sightline(&[
        "quality",
        "--input",
        &path_text(input),
        "--metrics",
        "entropy",
        "--duplicates",
        "--out",
        &path_text(out.clone()),
        "--device",
        "cpu",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = report(&out);
    let group = |file: &str| {
        row(&rows, file)
            .get("duplicate_group")
            .and_then(|g| g.as_u64())
    };
    assert_eq!(group("a1.png"), Some(1));
    assert_eq!(group("a2.png"), Some(1));
    assert_eq!(group("c1.png"), Some(2));
    assert_eq!(group("c2.png"), Some(2));
    assert_eq!(group("lone.png"), None);
    assert!(
        rows.iter()
            .all(|r| r["phash"].as_str().is_some_and(|h| h.len() == 16))
    );
}
