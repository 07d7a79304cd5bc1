//! Image quality: which metrics exist and what they mean, the curation presets built on them
//! ("blurry", "too dark", ...), histograms to pick a threshold from, and the per-image report
//! the CLI writes. The numbers themselves are computed by `sightline_vision::quality` (on
//! burn tensors, in the worker or natively); this module is what the page, the worker and the
//! CLI agree on, so it knows no tensors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether a metric compares with a reference image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Needs the pristine image of the same size (PSNR, SSIM, ...).
    FullReference,
    /// Scores the image alone (PIQE, entropy, blur, exposure, ...).
    NoReference,
}

macro_rules! metrics {
    ($( $variant:ident => $name:literal, $label:literal, $kind:ident, $higher:literal, $doc:literal; )*) => {
        /// A quality metric, named as pyiqa names it (scikit-image's and Sightline's own where
        /// pyiqa has none).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Metric {
            $( #[doc = $doc] $variant, )*
        }

        impl Metric {
            /// Every metric, full-reference ones first.
            pub const ALL: &'static [Metric] = &[$( Metric::$variant, )*];

            /// The report key (pyiqa's metric name where pyiqa has the metric).
            pub const fn name(self) -> &'static str {
                match self { $( Metric::$variant => $name, )* }
            }

            /// A short name for a column header.
            pub const fn label(self) -> &'static str {
                match self { $( Metric::$variant => $label, )* }
            }

            /// Whether the metric needs a reference image.
            pub const fn kind(self) -> Kind {
                match self { $( Metric::$variant => Kind::$kind, )* }
            }

            /// Whether a larger value means a better image.
            pub const fn higher_is_better(self) -> bool {
                match self { $( Metric::$variant => $higher, )* }
            }
        }
    };
}

metrics! {
    Psnr => "psnr", "PSNR", FullReference, true, "Peak signal-to-noise ratio over RGB, dB.";
    PsnrY => "psnry", "PSNR Y", FullReference, true, "PSNR on the luminance (Y) channel, dB.";
    Ssim => "ssim", "SSIM", FullReference, true, "SSIM on the Y channel.";
    SsimC => "ssimc", "SSIM RGB", FullReference, true, "SSIM on each RGB channel, averaged.";
    MsSsim => "ms_ssim", "MS-SSIM", FullReference, true, "Multi-scale SSIM.";
    CwSsim => "cw_ssim", "CW-SSIM", FullReference, true, "Complex wavelet SSIM.";
    Fsim => "fsim", "FSIM", FullReference, true, "Feature similarity (phase congruency and gradient), with chroma.";
    Vif => "vif", "VIF", FullReference, true, "Visual information fidelity.";
    Gmsd => "gmsd", "GMSD", FullReference, false, "Gradient magnitude similarity deviation.";
    Nlpd => "nlpd", "NLPD", FullReference, false, "Normalised Laplacian pyramid distance.";
    Vsi => "vsi", "VSI", FullReference, true, "Visual saliency-induced index.";
    Mad => "mad", "MAD", FullReference, false, "Most apparent distortion.";
    Piqe => "piqe", "PIQE", NoReference, false, "Perception-based image quality evaluator (0 best, 100 worst).";
    Entropy => "entropy", "Entropy", NoReference, true, "Shannon entropy of the grey-level histogram, bits.";
    BlurEffect => "blur_effect", "Blur", NoReference, false, "Crete et al.'s blur effect as scikit-image computes it (0 sharp, 1 blurred).";
    LaplacianVariance => "laplacian_var", "Laplacian var", NoReference, true, "Variance of the Laplacian of the grey image (low: blurry).";
    DarkFraction => "dark_fraction", "Dark", NoReference, false, "Fraction of pixels clipped dark (luminance at most 5 of 255).";
    BrightFraction => "bright_fraction", "Bright", NoReference, false, "Fraction of pixels clipped bright (luminance at least 250 of 255).";
    MeanLuminance => "mean_luminance", "Luminance", NoReference, true, "Mean luminance in [0, 1].";
    RmsContrast => "rms_contrast", "Contrast", NoReference, true, "RMS contrast: standard deviation of the grey image in [0, 1].";
}

/// A metric name nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric `{name}` (known: {known})")]
pub struct UnknownMetric {
    /// What was asked for.
    pub name: String,
    /// Every known name, comma-separated.
    pub known: String,
}

impl Metric {
    /// The metrics that score an image alone, in [`Metric::ALL`] order.
    pub fn no_reference() -> impl Iterator<Item = Metric> {
        Self::ALL
            .iter()
            .copied()
            .filter(|m| m.kind() == Kind::NoReference)
    }

    /// The metric called `name` (as [`Metric::name`] spells it, any case).
    pub fn from_name(name: &str) -> Result<Self, UnknownMetric> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| UnknownMetric {
                name: name.to_owned(),
                known: Self::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Metric::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// One image's line of a quality report: its scores in the order asked for, or why it could
/// not be scored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportRow {
    /// The image's path relative to the folder, `/`-separated.
    pub file: String,
    /// `(metric, value)` in the order the metrics were asked for.
    pub scores: Vec<(Metric, f64)>,
    /// The perceptual hash, when duplicates were looked for.
    pub phash: Option<String>,
    /// The 1-based number of the duplicate group the image belongs to, if any.
    pub duplicate_group: Option<usize>,
    /// Why the image (or one of its metrics) failed; the scores that did finish are kept.
    pub error: Option<String>,
}

impl ReportRow {
    /// The JSON object of this row: `{"file": …, "<metric>": value, …}` with pyiqa's metric
    /// names, then `phash`, `duplicate_group` and `error` where present. A value that is not
    /// finite (PSNR of identical images under other conventions) is written as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("file".into(), self.file.clone().into());
        for (metric, value) in &self.scores {
            let value = serde_json::Number::from_f64(*value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number);
            object.insert(metric.name().into(), value);
        }
        if let Some(hash) = &self.phash {
            object.insert("phash".into(), hash.clone().into());
        }
        if let Some(group) = self.duplicate_group {
            object.insert("duplicate_group".into(), group.into());
        }
        if let Some(error) = &self.error {
            object.insert("error".into(), error.clone().into());
        }
        serde_json::Value::Object(object)
    }
}

/// The report as a JSON array of [`ReportRow::to_json`] objects, pretty-printed.
pub fn report_json(rows: &[ReportRow]) -> String {
    let array = serde_json::Value::Array(rows.iter().map(ReportRow::to_json).collect());
    let mut text = serde_json::to_string_pretty(&array).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

/// The report as CSV: a header `file,<metric>…[,phash,duplicate_group],error`, then a line
/// per image; a metric an image lacks is an empty cell.
pub fn report_csv(rows: &[ReportRow], metrics: &[Metric]) -> String {
    let with_hash = rows.iter().any(|r| r.phash.is_some());
    let mut header = vec!["file".to_owned()];
    header.extend(metrics.iter().map(|m| m.name().to_owned()));
    if with_hash {
        header.extend(["phash".to_owned(), "duplicate_group".to_owned()]);
    }
    header.push("error".to_owned());
    let mut text = header.join(",") + "\n";
    for row in rows {
        let mut cells = vec![csv_cell(&row.file)];
        for metric in metrics {
            let value = row
                .scores
                .iter()
                .find(|(m, _)| m == metric)
                .map(|(_, v)| *v);
            cells.push(value.map(|v| v.to_string()).unwrap_or_default());
        }
        if with_hash {
            cells.push(row.phash.clone().unwrap_or_default());
            cells.push(
                row.duplicate_group
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
            );
        }
        cells.push(csv_cell(row.error.as_deref().unwrap_or("")));
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One image's scores, by metric.
pub type Scores = std::collections::BTreeMap<Metric, f64>;

/// Which side of a threshold a rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `value >= threshold`.
    AtLeast,
    /// `value <= threshold`.
    AtMost,
}

impl Comparison {
    /// `≥` or `≤`.
    pub const fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => "≥",
            Comparison::AtMost => "≤",
        }
    }

    /// The other side.
    pub const fn flipped(self) -> Self {
        match self {
            Comparison::AtLeast => Comparison::AtMost,
            Comparison::AtMost => Comparison::AtLeast,
        }
    }
}

/// A condition on one metric: "blur_effect ≥ 0.5".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub metric: Metric,
    pub comparison: Comparison,
    pub threshold: f64,
}

impl Rule {
    /// Whether `value` satisfies the rule (a NaN never does).
    pub fn allows(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::AtLeast => value >= self.threshold,
            Comparison::AtMost => value <= self.threshold,
        }
    }

    /// Whether an image with `scores` satisfies the rule; an image not scored for the
    /// metric does not.
    pub fn matches(&self, scores: &Scores) -> bool {
        scores.get(&self.metric).is_some_and(|&v| self.allows(v))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric.name(),
            self.comparison.symbol(),
            self.threshold
        )
    }
}

/// The curation presets the quality panel offers, each a starting threshold the user moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Blurry,
    TooDark,
    Overexposed,
    LowContrast,
    NearDuplicates,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Blurry,
        Preset::TooDark,
        Preset::Overexposed,
        Preset::LowContrast,
        Preset::NearDuplicates,
    ];

    /// What the panel and the export dialog call it.
    pub const fn label(self) -> &'static str {
        match self {
            Preset::Blurry => "blurry",
            Preset::TooDark => "too dark",
            Preset::Overexposed => "overexposed",
            Preset::LowContrast => "low contrast",
            Preset::NearDuplicates => "near-duplicates",
        }
    }

    /// The rule that flags an image, with its default threshold; `None` for near-duplicates,
    /// which are groups rather than a threshold on one image's score.
    ///
    /// The thresholds are where the fixtures part: scikit-image's blur effect is 0.31–0.41 on
    /// the sharp photos and their JPEGs and 0.67–0.68 after a σ = 2 blur; "too dark" is a
    /// quarter of the pixels crushed to black, "overexposed" a quarter blown to white, "low
    /// contrast" a grey-level spread under a tenth of the range.
    pub const fn rule(self) -> Option<Rule> {
        let (metric, comparison, threshold) = match self {
            Preset::Blurry => (Metric::BlurEffect, Comparison::AtLeast, 0.5),
            Preset::TooDark => (Metric::DarkFraction, Comparison::AtLeast, 0.25),
            Preset::Overexposed => (Metric::BrightFraction, Comparison::AtLeast, 0.25),
            Preset::LowContrast => (Metric::RmsContrast, Comparison::AtMost, 0.1),
            Preset::NearDuplicates => return None,
        };
        Some(Rule {
            metric,
            comparison,
            threshold,
        })
    }
}

/// Counts of values in equal-width bins between the smallest and the largest: what the
/// panel draws under a threshold slider.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub counts: Vec<usize>,
}

impl Histogram {
    /// The histogram of the finite `values` in `bins` bins (at least one); `None` when no
    /// value is finite.
    pub fn of(values: impl IntoIterator<Item = f64>, bins: usize) -> Option<Self> {
        let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let min = values.iter().copied().reduce(f64::min)?;
        let max = values.iter().copied().reduce(f64::max)?;
        let mut histogram = Self {
            min,
            max,
            counts: vec![0; bins.max(1)],
        };
        for v in values {
            let bin = histogram.bin_of(v);
            histogram.counts[bin] += 1;
        }
        Some(histogram)
    }

    /// The bin `value` falls in (the last bin holds the maximum; values outside clamp).
    pub fn bin_of(&self, value: f64) -> usize {
        let bins = self.counts.len();
        let span = self.max - self.min;
        if span <= 0.0 || value.is_nan() {
            return 0;
        }
        let position = ((value - self.min) / span * bins as f64).floor();
        (position.max(0.0) as usize).min(bins - 1)
    }

    /// The value range `[start, end)` of bin `index`.
    pub fn bin_range(&self, index: usize) -> (f64, f64) {
        let width = (self.max - self.min) / self.counts.len() as f64;
        (
            self.min + width * index as f64,
            self.min + width * (index + 1) as f64,
        )
    }
}

/// The order of `items` (an id and its value, if scored) by value, ascending or descending;
/// unscored and NaN values last in either direction, ties in their given order.
pub fn sort_by_value<T: Copy>(items: &[(T, Option<f64>)], descending: bool) -> Vec<T> {
    let mut order: Vec<(T, Option<f64>)> = items.to_vec();
    order.sort_by(|(_, a), (_, b)| {
        let key = |v: &Option<f64>| v.filter(|v| !v.is_nan());
        match (key(a), key(b)) {
            (Some(a), Some(b)) if descending => b.total_cmp(&a),
            (Some(a), Some(b)) => a.total_cmp(&b),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
    order.into_iter().map(|(id, _)| id).collect()
}

/// What an export says of the images left out of it: "3 image(s) left out: 2 blurry,
/// 1 duplicate of a.jpg" (reasons by count, most first, then by name), or `None` when none
/// is.
pub fn left_out_summary<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    if total == 0 {
        return None;
    }
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = by_count
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    Some(format!("{total} image(s) left out: {}", parts.join(", ")))
}
