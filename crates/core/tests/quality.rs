//! The quality vocabulary shared by the page, the worker and the CLI: metric names, the
//! report's JSON and CSV, curation rules and presets, histograms and sorting.

use proptest::prelude::*;
use sightline_core::quality::{
    Comparison, Histogram, Kind, Metric, Preset, ReportRow, Rule, Scores, left_out_summary,
    report_csv, report_json, sort_by_value,
};

#[test]
fn metric_names_are_pyiqas_and_round_trip() {
    for name in [
        "psnr", "psnry", "ssim", "ssimc", "ms_ssim", "cw_ssim", "fsim", "vif",
    ] {
        let metric = Metric::from_name(name).unwrap();
        assert_eq!(metric.name(), name);
        assert_eq!(metric.kind(), Kind::FullReference);
        let json = serde_json::to_string(&metric).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<Metric>(&json).unwrap(), metric);
    }
    assert_eq!(Metric::from_name(" PIQE ").unwrap(), Metric::Piqe);
    let error = Metric::from_name("niqe").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("unknown metric `niqe` (known: psnr, psnry")
    );
    assert!(serde_json::from_str::<Metric>("\"niqe\"").is_err());
    assert!(Metric::no_reference().all(|m| m.kind() == Kind::NoReference));
    assert!(Metric::no_reference().any(|m| m == Metric::BlurEffect));
}

fn rows() -> Vec<ReportRow> {
    vec![
        ReportRow {
            file: "a.png".into(),
            scores: vec![(Metric::Psnr, 30.5), (Metric::Ssim, 0.9)],
            ..ReportRow::default()
        },
        ReportRow {
            file: "dir/b, \"2\".png".into(),
            scores: vec![(Metric::Psnr, f64::INFINITY)],
            error: Some("ssim: the image is 4x4 but its reference is 8x8".into()),
            ..ReportRow::default()
        },
    ]
}

#[test]
fn the_json_report_is_one_object_per_image_keyed_by_pyiqa_names() {
    let text = report_json(&rows());
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &parsed[0];
    assert_eq!(first["file"], "a.png");
    assert_eq!(first["psnr"], 30.5);
    assert_eq!(first["ssim"], 0.9);
    assert!(first.get("error").is_none());
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["file", "psnr", "ssim"],
        "file first, then metrics as asked"
    );
    let second = &parsed[1];
    assert_eq!(
        second["psnr"],
        serde_json::Value::Null,
        "infinity is not JSON"
    );
    assert!(second["error"].as_str().unwrap().contains("4x4"));
}

#[test]
fn the_csv_report_quotes_what_needs_it() {
    let text = report_csv(&rows(), &[Metric::Psnr, Metric::Ssim]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,psnr,ssim,error");
    assert_eq!(lines[1], "a.png,30.5,0.9,");
    assert_eq!(
        lines[2],
        "\"dir/b, \"\"2\"\".png\",inf,,ssim: the image is 4x4 but its reference is 8x8"
    );
}

#[test]
fn presets_flag_the_fixture_images_they_should() {
    // scikit-image's blur effect of the fixture photos (shared iqa reference values).
    let blurry = Preset::Blurry.rule().unwrap();
    for sharp in [0.3996, 0.3117, 0.4048, 0.4072] {
        assert!(!blurry.allows(sharp));
    }
    for blurred in [0.6656, 0.6692, 0.6836] {
        assert!(blurry.allows(blurred));
    }
    assert!(Preset::NearDuplicates.rule().is_none());
    let rule = Rule {
        metric: Metric::RmsContrast,
        comparison: Comparison::AtMost,
        threshold: 0.1,
    };
    assert_eq!(rule.to_string(), "rms_contrast ≤ 0.1");
    let mut scores = Scores::new();
    assert!(!rule.matches(&scores), "an unscored image matches no rule");
    scores.insert(Metric::RmsContrast, 0.05);
    assert!(rule.matches(&scores));
    assert!(!rule.allows(f64::NAN));
}

#[test]
fn histograms_count_every_finite_value_once() {
    let h = Histogram::of([0.0, 0.1, 0.5, 1.0, f64::NAN, f64::INFINITY], 4).unwrap();
    assert_eq!(h.counts, [2, 0, 1, 1]);
    assert_eq!((h.min, h.max), (0.0, 1.0));
    assert_eq!(h.bin_range(1), (0.25, 0.5));
    assert!(Histogram::of([f64::NAN], 4).is_none());
    assert_eq!(Histogram::of([2.0, 2.0], 3).unwrap().counts, [2, 0, 0]);
}

#[test]
fn sorting_puts_unscored_images_last_both_ways() {
    let items = [
        (0, Some(0.5)),
        (1, None),
        (2, Some(0.1)),
        (3, Some(f64::NAN)),
        (4, Some(0.9)),
    ];
    assert_eq!(sort_by_value(&items, false), [2, 0, 4, 1, 3]);
    assert_eq!(sort_by_value(&items, true), [4, 0, 2, 1, 3]);
}

proptest! {
    #[test]
    fn histogram_totals_and_bins_agree(values in prop::collection::vec(-1e6f64..1e6, 1..200), bins in 1usize..50) {
        let h = Histogram::of(values.iter().copied(), bins).unwrap();
        prop_assert_eq!(h.counts.iter().sum::<usize>(), values.len());
        for v in values {
            let (start, end) = h.bin_range(h.bin_of(v));
            prop_assert!(v >= start - 1e-6 * (1.0 + start.abs()));
            prop_assert!(v <= end + 1e-6 * (1.0 + end.abs()));
        }
    }
}

#[test]
fn the_export_says_how_many_are_left_out_and_why() {
    assert_eq!(left_out_summary([]), None);
    let reasons = ["blurry", "duplicate of a.jpg", "blurry", "too dark"];
    assert_eq!(
        left_out_summary(reasons).unwrap(),
        "4 image(s) left out: 2 blurry, 1 duplicate of a.jpg, 1 too dark"
    );
}
