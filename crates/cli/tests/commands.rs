//! The `sightline` binary end to end on the demo images: `label` writes all three formats
//! (read back by the format code, one shape per detection), `filter` lists and copies the
//! images Ultralytics' detections say should match, `bench` reports its timings.

use std::path::{Path, PathBuf};

use sightline_core::formats::{self, Format, ImportOptions, InputFile};

mod common;
use common::{manifest_dir, path_text, scratch, sightline};

fn demo() -> String {
    path_text(manifest_dir().join("../../public/demo"))
}

/// yolov8t from the shared fixtures (exported by AGPL code: never committed, LICENSES.md).
fn tiny() -> Option<String> {
    sightline_test_support::tiny_model("yolov8t").map(path_text)
}

fn refs() -> PathBuf {
    manifest_dir().join("../vision/tests/data/fall-yolov8s.detections.json")
}

fn files_under(root: &Path, dir: &Path, out: &mut Vec<InputFile>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(InputFile::new(rel, std::fs::read(&path).expect("readable")));
        }
    }
}

/// The trained model, or a skip (a failure under `SIGHTLINE_REQUIRE_DATA=1`).
fn fall_model() -> Option<String> {
    sightline_test_support::fall_model().map(path_text)
}

#[test]
fn label_writes_every_format_with_one_shape_per_detection() {
    let Some(model) = tiny() else {
        return;
    };
    let out = scratch("label");
    let mut counts = Vec::new();
    for format in ["labelme", "yolo", "coco"] {
        let dir = out.join(format);
        let run = sightline(&[
            "label",
            "--model",
            &model,
            "--input",
            &demo(),
            "--format",
            format,
            "--out",
            dir.to_str().expect("utf-8"),
            "--conf",
            "0.05",
            "--device",
            "cpu",
        ]);
        assert!(
            run.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        // Read back: the labels plus the images (by name, sizes from the cache) import.
        let mut files = Vec::new();
        files_under(&dir, &dir, &mut files);
        let cached = dir.join(".sightline/detections");
        let mut detections = 0;
        let mut entries = std::fs::read_dir(&cached)
            .expect("cache")
            .collect::<Vec<_>>();
        entries.sort_by_key(|e| e.as_ref().map(|e| e.path()).ok());
        let mut sizes = std::collections::HashMap::new();
        for entry in entries {
            let path = entry.expect("entry").path();
            let value: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("cached")).expect("json");
            detections += value["detections"].as_array().expect("list").len();
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let size = sightline_core::annotation::ImageSize::new(
                value["width"].as_u64().expect("w") as u32,
                value["height"].as_u64().expect("h") as u32,
            );
            files.push(InputFile::new(
                if format == "yolo" {
                    format!("images/{name}")
                } else {
                    name.clone()
                },
                Vec::new(),
            ));
            sizes.insert(name, size);
        }
        assert_eq!(sizes.len(), 9, "every demo image labelled");
        let size_of = |f: &InputFile| {
            sizes
                .get(f.path.rsplit('/').next().unwrap_or(&f.path))
                .copied()
        };
        let options = ImportOptions {
            format: Some(match format {
                "labelme" => Format::Labelme,
                "yolo" => Format::Yolo,
                _ => Format::Coco,
            }),
        };
        let (dataset, report) = formats::import_folder(&files, &options, &size_of);
        assert!(!report.has_errors(), "{format}: {:?}", report.issues);
        assert_eq!(
            dataset.images.len(),
            sizes.len(),
            "{format}: every image read back"
        );
        assert_eq!(dataset.shape_count(), detections, "{format}");
        counts.push(detections);
    }
    assert!(counts[0] > 0, "the tiny model finds something at 0.05");
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}

#[test]
fn filter_lists_and_copies_what_ultralytics_finds() {
    let Some(model) = fall_model() else { return };
    let out = scratch("filter");
    let list = out.join("list.txt");
    let copies = out.join("copies");
    let run = sightline(&[
        "filter",
        "--model",
        &model,
        "--input",
        &demo(),
        "--classes",
        "Normal",
        "--min-conf",
        "0.5",
        "--list",
        list.to_str().expect("utf-8"),
        "--copy-to",
        copies.to_str().expect("utf-8"),
        "--device",
        "cpu",
        // Three images per forward pass, and f16 asked for: it is used only if it finds what
        // f32 finds on the first images, so the list must equal Ultralytics' either way.
        "--batch",
        "3",
        "--precision",
        "f16",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("precision  f16 (same detections as f32")
            || stderr.contains("precision  f32, not f16: reduced precision refused"),
        "the f16 check is reported: {stderr}"
    );
    let refs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(refs()).expect("refs")).expect("json");
    let mut expected: Vec<String> = refs["images"]
        .as_object()
        .expect("images")
        .iter()
        .filter(|(_, image)| {
            image["detections"]
                .as_array()
                .expect("list")
                .iter()
                .any(|d| d["name"] == "Normal" && d["conf"].as_f64().expect("conf") >= 0.5)
        })
        .map(|(name, _)| name.clone())
        .collect();
    expected.sort();
    assert!(expected.contains(&"person.jpg".to_owned()));
    // The references cover the five photographs; the other demo images have no oracle.
    let listed: Vec<String> = std::fs::read_to_string(&list)
        .expect("list")
        .lines()
        .filter(|name| refs["images"].get(*name).is_some())
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, expected);
    // Exactly the listed images are copied (the demo's others included), nothing else.
    let mut all_listed: Vec<String> = std::fs::read_to_string(&list)
        .expect("list")
        .lines()
        .map(str::to_owned)
        .collect();
    all_listed.sort();
    let mut copied: Vec<String> = std::fs::read_dir(&copies)
        .expect("copies")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    copied.sort();
    assert_eq!(copied, all_listed);
    for name in &expected {
        assert_eq!(
            std::fs::read(copies.join(name)).expect("copied"),
            std::fs::read(Path::new(&demo()).join(name)).expect("original")
        );
    }
    let bad = sightline(&[
        "filter",
        "--model",
        &model,
        "--input",
        &demo(),
        "--classes",
        "Cat",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("Normal"),
        "names the real classes"
    );
}

#[test]
fn bench_reports_forward_and_folder_rates() {
    let Some(model) = tiny() else {
        return;
    };
    let run = sightline(&[
        "bench",
        "--model",
        &model,
        "--input",
        &demo(),
        "--iterations",
        "3",
        "--device",
        "cpu",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("input      320×320"), "{text}");
    let forward = text
        .lines()
        .find(|l| l.starts_with("forward"))
        .expect("forward line");
    let median: f64 = forward
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .expect("a median in ms");
    assert!(median > 0.0);
    assert!(text.contains("9 images:"), "{text}");
}

/// The `count` column of span `name` in a `--stats` table.
fn span_count(report: &str, name: &str) -> Option<u64> {
    report.lines().find_map(|line| {
        let mut columns = line.split_whitespace();
        (columns.next() == Some(name)).then(|| columns.next()?.parse().ok())?
    })
}

#[test]
fn stats_time_every_stage_once_per_image() {
    let out = scratch("stats");
    let Some(model) = tiny() else {
        return;
    };
    let input = demo();
    let labels = out.join("labels");
    let model_args = ["--model", &model, "--device", "cpu", "--conf", "0.05"];
    let runs = [
        (
            "label",
            vec!["--input", &input, "--out", labels.to_str().expect("utf-8")],
            vec![("decode", 9), ("detect", 9), ("write", 9)],
        ),
        (
            "filter",
            vec!["--input", &input, "--min-conf", "0.05", "--batch", "4"],
            vec![("decode", 9), ("detect", 9)],
        ),
        (
            "bench",
            vec!["--input", &input, "--iterations", "3", "--batch", "2"],
            vec![
                ("forward", 3),
                ("decode", 9),
                ("detect", 9),
                ("overlapped.decode", 9),
                ("overlapped.detect", 9),
            ],
        ),
    ];
    for (command, args, spans) in runs {
        let mut all = vec![command, "--stats"];
        all.extend(model_args);
        all.extend(args);
        let run = sightline(&all);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{command}: {stderr}");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("span") && l.contains("p95")),
            "{command}: a table header: {stderr}"
        );
        for (span, count) in spans {
            assert_eq!(
                span_count(&stderr, span),
                Some(count),
                "{command}: span {span}: {stderr}"
            );
        }
    }
    // Without the flag, no table.
    let run = sightline(&[
        "bench",
        "--iterations",
        "1",
        "--model",
        &model,
        "--device",
        "cpu",
    ]);
    assert!(run.status.success());
    assert_eq!(
        span_count(&String::from_utf8_lossy(&run.stderr), "forward"),
        None
    );
}
