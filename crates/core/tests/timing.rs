//! Timing spans: percentiles against numpy's default method on known values, the sample
//! ring, and the `--stats` report.

use sightline_core::timing::{DEFAULT_CAPACITY, SpanSummary, Timings, percentile};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn percentiles_match_numpy_linear() {
    // numpy.percentile(x, q), default method "linear": with h = (n - 1)·q/100,
    // x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋]), worked by hand for each value here.
    let x = [1.0, 2.0, 3.0, 4.0];
    for (q, want) in [
        (0.0, 1.0),
        (25.0, 1.75),
        (50.0, 2.5),
        (95.0, 3.85),
        (100.0, 4.0),
    ] {
        assert!(
            close(percentile(&x, q), want),
            "q={q}: {}",
            percentile(&x, q)
        );
    }
    let x = [3.0, 7.0, 8.0, 15.0, 42.0];
    for (q, want) in [
        (10.0, 4.6),
        (50.0, 8.0),
        (90.0, 31.2),
        (95.0, 36.6),
        (99.0, 40.92),
    ] {
        assert!(
            close(percentile(&x, q), want),
            "q={q}: {}",
            percentile(&x, q)
        );
    }
    assert_eq!(percentile(&[5.0], 95.0), 5.0);
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert!(close(percentile(&hundred, 95.0), 95.05));
    assert!(close(percentile(&hundred, 50.0), 50.5));
}

#[test]
fn a_span_summarises_its_samples() {
    let mut t = Timings::new();
    for ms in [4.0, 1.0, 3.0, 2.0] {
        t.record("decode", ms);
    }
    let s: SpanSummary = t.summary("decode").expect("recorded");
    assert_eq!((s.count, s.p50, s.max, s.mean), (4, 2.5, 4.0, 2.5));
    assert!(close(s.p95, 3.85), "{s:?}");
    assert_eq!(t.summary("forward"), None);
}

#[test]
fn the_ring_keeps_the_last_samples_and_counts_all() {
    let mut t = Timings::with_capacity(3);
    for ms in [100.0, 1.0, 2.0, 3.0] {
        t.record("forward", ms);
    }
    let s = t.summary("forward").expect("recorded");
    assert_eq!(s.count, 4);
    // Percentiles over the last three; max and mean over all four.
    assert_eq!(s.p50, 2.0);
    assert_eq!(s.max, 100.0);
    assert!(close(s.mean, 26.5));

    let mut t = Timings::new();
    for i in 0..(DEFAULT_CAPACITY + 10) {
        t.record("x", if i < 10 { 1e6 } else { 1.0 });
    }
    assert_eq!(
        t.summary("x").expect("recorded").p95,
        1.0,
        "old samples left"
    );
}

#[test]
fn the_report_lists_every_span_by_name_with_its_count() {
    let mut t = Timings::new();
    t.record("postprocess", 0.5);
    t.record("decode", 12.25);
    t.record("decode", 13.75);
    let names: Vec<String> = t.summaries().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["decode", "postprocess"]);
    let report = t.report();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].starts_with("span"), "{report}");
    assert!(lines[0].contains("p95"), "{report}");
    let decode: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        decode,
        ["decode", "2", "13.000", "13.675", "13.750", "13.000"]
    );
    assert!(lines[2].starts_with("postprocess"), "{report}");
    assert_eq!(Timings::new().report().lines().count(), 1);
}
