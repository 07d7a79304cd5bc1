//! Every quality metric against the values pyiqa 0.1.16 and scikit-image 0.26 give on the
//! fixture pairs (`tests/data/iqa/`, copied from the shared fixtures with their
//! `reference_values.tsv`; how each value was computed is in the shared
//! `recipes/run_metrics.py`). Nine pairs per metric: three photos, each against itself, a
//! Gaussian blur (σ = 2) and a quality-30 JPEG.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sightline_vision::ComputeDevice;
use sightline_vision::quality::{Kind, Metric, QualityImage, score};

const PHOTOS: [&str; 3] = ["astronaut", "coffee", "chelsea"];
const DISTORTIONS: [&str; 3] = ["ref", "blur_s2", "q30_decoded"];

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iqa")
}

/// `reference_values.tsv`: metric -> "photo/distortion" -> value.
fn references() -> &'static HashMap<String, HashMap<String, f64>> {
    static TABLE: OnceLock<HashMap<String, HashMap<String, f64>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = std::fs::read_to_string(data().join("reference_values.tsv")).unwrap();
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

/// How close a metric must come to the reference.
#[derive(Clone, Copy)]
enum Tolerance {
    Absolute(f64),
    Relative(f64),
}

impl Tolerance {
    fn allows(self, got: f64, want: f64) -> bool {
        let slack = match self {
            Tolerance::Absolute(t) => t,
            // A reference of exactly 0 (an image against itself) asks for 0 up to f32 noise.
            Tolerance::Relative(t) => (t * want.abs()).max(1e-6),
        };
        (got - want).abs() <= slack
    }
}

/// Scores all nine pairs with `metric` and compares each with the `row` of the table.
fn check(metric: Metric, row: &str, tolerance: Tolerance) {
    let want = &references()[row];
    let mut report = Vec::new();
    let mut failures = 0;
    for photo in PHOTOS {
        let reference = image(photo, "ref");
        for distortion in DISTORTIONS {
            let case = format!("{photo}/{distortion}");
            let x = image(photo, distortion);
            let reference = (metric.kind() == Kind::FullReference).then_some(&reference);
            let got = score(metric, &x, reference).unwrap();
            let expected = want[&case];
            let ok = tolerance.allows(got, expected);
            failures += usize::from(!ok);
            report.push(format!(
                "{:>4} {case:24} got {got:<22} want {expected:<22} diff {:.3e}",
                if ok { "ok" } else { "FAIL" },
                (got - expected).abs()
            ));
        }
    }
    println!("{} against `{row}`:\n{}", metric.name(), report.join("\n"));
    assert_eq!(
        failures,
        0,
        "{} differs from `{row}`:\n{}",
        metric.name(),
        report.join("\n")
    );
}

macro_rules! agrees {
    ($($test:ident: $metric:ident vs $row:literal within $tol:expr;)*) => {
        $(
            #[test]
            fn $test() {
                check(Metric::$metric, $row, $tol);
            }
        )*
    };
}

use Tolerance::{Absolute, Relative};

agrees! {
    psnr: Psnr vs "psnr" within Absolute(1e-3);
    psnry: PsnrY vs "psnry" within Absolute(1e-3);
    ssim: Ssim vs "ssim" within Absolute(1e-4);
    ssimc: SsimC vs "ssimc" within Absolute(1e-4);
    ms_ssim: MsSsim vs "ms_ssim" within Absolute(1e-4);
    cw_ssim: CwSsim vs "cw_ssim" within Absolute(1e-4);
    fsim: Fsim vs "fsim" within Relative(1e-3);
    vif: Vif vs "vif" within Relative(1e-3);
    gmsd: Gmsd vs "gmsd" within Relative(1e-3);
    nlpd: Nlpd vs "nlpd" within Relative(1e-3);
    vsi: Vsi vs "vsi" within Relative(1e-3);
    mad: Mad vs "mad" within Absolute(1e-2);
    piqe: Piqe vs "piqe" within Absolute(1e-2);
    entropy: Entropy vs "entropy" within Absolute(1e-4);
    blur_effect: BlurEffect vs "sk_blur_effect" within Absolute(1e-4);
}

#[test]
fn unknown_metric_names_the_known_ones() {
    let error = Metric::from_name("sharpness").unwrap_err().to_string();
    assert!(error.contains("unknown metric `sharpness`"), "{error}");
    for metric in Metric::ALL {
        assert!(
            error.contains(metric.name()),
            "{error} lacks {}",
            metric.name()
        );
        assert_eq!(Metric::from_name(metric.name()).unwrap(), *metric);
    }
}

#[test]
fn a_reference_of_another_size_is_refused() {
    let error = score(
        Metric::Ssim,
        &image("chelsea", "blur_s2"),
        Some(&image("coffee", "ref")),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(error, "the image is 451x300 but its reference is 600x400");
}
