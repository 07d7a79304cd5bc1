//! Named timing spans and their percentiles, for the performance panel and the CLI's
//! `--stats`.
//!
//! Holds no clock: the page records `performance.now()` differences and the CLI
//! `Instant::elapsed`, so the same figures are computed the same way everywhere and tested
//! with fixed numbers.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use serde::Serialize;

/// Samples kept per span by [`Timings::new`]: enough for stable p95s, bounded memory however
/// long the app runs.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Named spans: keeps the last `capacity` samples of each (a ring) for the percentiles, and
/// counts every sample for the count, mean and max.
#[derive(Clone, Debug)]
pub struct Timings {
    capacity: usize,
    spans: BTreeMap<String, Span>,
}

#[derive(Clone, Debug, Default)]
struct Span {
    recent: VecDeque<f64>,
    count: u64,
    sum: f64,
    max: f64,
}

/// The figures of one span, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SpanSummary {
    /// Every sample recorded.
    pub count: u64,
    /// Median of the recent samples.
    pub p50: f64,
    /// 95th percentile of the recent samples.
    pub p95: f64,
    /// Longest of all samples.
    pub max: f64,
    /// Mean of all samples.
    pub mean: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Self::new()
    }
}

impl Timings {
    /// Keeps [`DEFAULT_CAPACITY`] samples per span.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// Keeps the last `capacity` samples per span (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            spans: BTreeMap::new(),
        }
    }

    /// Records one sample of `span`, in milliseconds.
    pub fn record(&mut self, span: &str, millis: f64) {
        let entry = match self.spans.get_mut(span) {
            Some(entry) => entry,
            None => self.spans.entry(span.to_owned()).or_default(),
        };
        if entry.recent.len() == self.capacity {
            entry.recent.pop_front();
        }
        entry.recent.push_back(millis);
        entry.max = if entry.count == 0 {
            millis
        } else {
            entry.max.max(millis)
        };
        entry.count += 1;
        entry.sum += millis;
    }

    /// The figures of `span`; `None` when nothing was recorded for it.
    pub fn summary(&self, span: &str) -> Option<SpanSummary> {
        self.spans.get(span).map(Span::summary)
    }

    /// The figures of every span, sorted by name.
    pub fn summaries(&self) -> Vec<(String, SpanSummary)> {
        self.spans
            .iter()
            .map(|(name, span)| (name.clone(), span.summary()))
            .collect()
    }

    /// A plain-text table (span, count, p50, p95, max, mean in ms), one line per span under
    /// a header, for `--stats`.
    pub fn report(&self) -> String {
        let summaries = self.summaries();
        let width = summaries
            .iter()
            .map(|(name, _)| name.chars().count())
            .chain([4])
            .max()
            .unwrap_or(4);
        let mut out = format!(
            "{:<width$}  {:>8}  {:>10}  {:>10}  {:>10}  {:>10}\n",
            "span", "count", "p50 ms", "p95 ms", "max ms", "mean ms"
        );
        for (name, s) in summaries {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "{name:<width$}  {:>8}  {:>10.3}  {:>10.3}  {:>10.3}  {:>10.3}",
                s.count, s.p50, s.p95, s.max, s.mean
            );
        }
        out
    }
}

impl Span {
    fn summary(&self) -> SpanSummary {
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        SpanSummary {
            count: self.count,
            p50: percentile(&sorted, 50.0),
            p95: percentile(&sorted, 95.0),
            max: self.max,
            mean: self.sum / self.count as f64,
        }
    }
}

/// The `q`th percentile (0 to 100) of `sorted` (ascending, non-empty), interpolating
/// linearly between the closest ranks: numpy's default `percentile` method, so figures can
/// be checked against it.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(&last) = sorted.last() else {
        return f64::NAN;
    };
    let rank = (q.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let Some(&upper) = sorted.get(below + 1) else {
        return last;
    };
    let lower = sorted[below];
    lower + (upper - lower) * (rank - below as f64)
}
