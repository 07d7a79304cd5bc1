//! Sightline's own grey-image statistics (no pyiqa metric has them) against OpenCV and
//! numpy on the fixture images: `tests/data/iqa/extra_values.tsv`, written by
//! `tests/data/iqa/recipe_extra.py`. Nine images per metric: three photos, each as is, with
//! a Gaussian blur (σ = 2) and as a quality-30 JPEG.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use sightline_vision::ComputeDevice;
use sightline_vision::quality::{Metric, QualityImage, score};

const PHOTOS: [&str; 3] = ["astronaut", "coffee", "chelsea"];
const DISTORTIONS: [&str; 3] = ["ref", "blur_s2", "q30_decoded"];
/// Relative tolerance, with an absolute floor for values of 0 (no clipped pixels).
const RELATIVE: f64 = 1e-4;
const FLOOR: f64 = 1e-6;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iqa")
}

/// `extra_values.tsv`: metric -> "photo/distortion" -> value.
fn references() -> &'static HashMap<String, HashMap<String, f64>> {
    static TABLE: OnceLock<HashMap<String, HashMap<String, f64>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = std::fs::read_to_string(data().join("extra_values.tsv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').skip(1).collect();
        lines
            .map(|line| {
                let mut cells = line.split('\t');
                let metric = cells.next().unwrap().to_string();
                let values = header
                    .iter()
                    .zip(cells)
                    .filter_map(|(case, v)| Some((case.to_string(), v.parse().ok()?)))
                    .collect();
                (metric, values)
            })
            .collect()
    })
}

fn image(photo: &str, distortion: &str) -> QualityImage {
    let rgb = image::open(data().join(format!("{photo}_{distortion}.png")))
        .unwrap()
        .to_rgb8();
    QualityImage::from_image(&rgb, &ComputeDevice::cpu().unwrap().device).unwrap()
}

/// Scores all nine images with `metric` and compares each with its row of the table.
fn check(metric: Metric) {
    let want = &references()[metric.name()];
    let mut report = Vec::new();
    let mut failures = 0;
    for photo in PHOTOS {
        for distortion in DISTORTIONS {
            let case = format!("{photo}/{distortion}");
            let x = image(photo, distortion);
            let start = Instant::now();
            let got = score(metric, &x, None).unwrap();
            let elapsed = start.elapsed();
            let expected = want[&case];
            let ok = (got - expected).abs() <= (RELATIVE * expected.abs()).max(FLOOR);
            failures += usize::from(!ok);
            report.push(format!(
                "{:>4} {case:24} got {got:<22} want {expected:<22} diff {:.3e} ({:.2} ms)",
                if ok { "ok" } else { "FAIL" },
                (got - expected).abs(),
                elapsed.as_secs_f64() * 1e3
            ));
        }
    }
    println!("{}:\n{}", metric.name(), report.join("\n"));
    assert_eq!(
        failures,
        0,
        "{} differs from OpenCV:\n{}",
        metric.name(),
        report.join("\n")
    );
}

macro_rules! agrees {
    ($($test:ident: $metric:ident;)*) => {
        $(
            #[test]
            fn $test() {
                check(Metric::$metric);
            }
        )*
    };
}

agrees! {
    laplacian_var: LaplacianVariance;
    dark_fraction: DarkFraction;
    bright_fraction: BrightFraction;
    mean_luminance: MeanLuminance;
    rms_contrast: RmsContrast;
}

/// A `width x height` image whose left `black_columns` columns are black, the rest white.
fn black_then_white(width: usize, height: usize, black_columns: usize) -> QualityImage {
    let pixels: Vec<u8> = (0..height)
        .flat_map(|_| (0..width).map(|c| if c < black_columns { 0 } else { 255 }))
        .flat_map(|v| [v; 3])
        .collect();
    QualityImage::from_rgb8(
        &pixels,
        width,
        height,
        &ComputeDevice::cpu().unwrap().device,
    )
    .unwrap()
}

#[test]
fn black_and_half_black_images() {
    let score = |metric: Metric, x: &QualityImage| score(metric, x, None).unwrap();
    let black = black_then_white(16, 12, 16);
    assert_eq!(score(Metric::DarkFraction, &black), 1.0);
    assert_eq!(score(Metric::BrightFraction, &black), 0.0);
    assert_eq!(score(Metric::MeanLuminance, &black), 0.0);
    assert_eq!(score(Metric::RmsContrast, &black), 0.0);
    assert_eq!(score(Metric::LaplacianVariance, &black), 0.0);

    let half = black_then_white(16, 12, 8);
    assert_eq!(score(Metric::DarkFraction, &half), 0.5);
    assert_eq!(score(Metric::BrightFraction, &half), 0.5);
    assert!((score(Metric::MeanLuminance, &half) - 0.5).abs() < 1e-12);
    assert!((score(Metric::RmsContrast, &half) - 0.5).abs() < 1e-12);
}
