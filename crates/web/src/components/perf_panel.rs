//! The performance panel (opened from the status bar): the image pipeline's live figures —
//! per cache tier the hit rate, hits and misses, evictions and resident bytes against the
//! budget; decode, open and inference times (p50/p95); the last batch job's rate; thumbnail
//! and import progress.
//!
//! Each tier's row also carries its raw counts as `data-*` attributes, so a browser test
//! reads exact numbers rather than parsing rounded text.

use leptos::prelude::*;
use sightline_core::image_cache::TierStats;
use sightline_core::timing::SpanSummary;
use sightline_core::units::format_bytes;

use crate::pipeline::{ImagePipeline, PipelineFigures};
use crate::studio::UiState;

#[component]
pub fn PerfPanel() -> impl IntoView {
    let ui = expect_context::<UiState>();
    let pipeline = expect_context::<ImagePipeline>();
    let figures = pipeline.figures();
    view! {
        <Show when=move || ui.perf_open.get()>
            <aside class="perf-panel" data-testid="perf-panel" aria-label="Performance">
                <header>
                    <span>"Performance"</span>
                    <button title="Close" on:click=move |_| ui.perf_open.set(false)>"✕"</button>
                </header>
                {move || figures.with(figures_ui)}
            </aside>
        </Show>
    }
}

fn figures_ui(figures: &PipelineFigures) -> impl IntoView + use<> {
    let timings: Vec<(String, SpanSummary)> = figures
        .decode
        .map(|decode| ("decode".to_owned(), decode))
        .into_iter()
        .chain(figures.open.iter().cloned())
        .chain(figures.inference.iter().cloned())
        .collect();
    let memory = figures.cache.memory;
    let store = figures.cache.store;
    view! {
        <table class="perf-cache">
            <thead>
                <tr><th>"cache"</th><th>"hit rate"</th><th>"hits / misses"</th><th>"evicted"</th><th>"entries"</th></tr>
            </thead>
            <tbody>
                {tier_row_ui("memory", "memory", &memory)}
                {tier_row_ui("store", "stored", &store)}
            </tbody>
        </table>
        {budget_ui("memory", "memory", &memory)}
        {budget_ui("store", "stored", &store)}
        <table class="perf-times">
            <thead>
                <tr><th>"span"</th><th>"count"</th><th>"p50"</th><th>"p95"</th></tr>
            </thead>
            <tbody>
                {if timings.is_empty() {
                    view! { <tr><td class="muted" colspan="4">"nothing timed yet"</td></tr> }.into_any()
                } else {
                    timings.into_iter().map(|(span, summary)| view! {
                        <tr data-testid="perf-span" data-span=span.clone()
                            data-count=summary.count data-p50=summary.p50 data-p95=summary.p95>
                            <td>{span.clone()}</td>
                            <td>{summary.count}</td>
                            <td>{format!("{:.1} ms", summary.p50)}</td>
                            <td>{format!("{:.1} ms", summary.p95)}</td>
                        </tr>
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        <dl class="perf-progress">
            <dt>"last batch job"</dt>
            <dd data-testid="perf-batch-rate">
                {figures.last_batch_images_per_s.map_or_else(
                    || "none yet".to_owned(),
                    |rate| format!("{rate:.1} images/s"),
                )}
            </dd>
            <dt>"thumbnails"</dt>
            <dd data-testid="perf-thumbnails">
                {format!("{} / {}", figures.thumbnails_done, figures.thumbnails_total)}
            </dd>
            {figures.import.map(|(done, total)| view! {
                <dt>"import"</dt>
                <dd data-testid="perf-import">
                    <progress max=total.max(1) value=done></progress>
                    {format!(" {done} / {total}")}
                </dd>
            })}
        </dl>
    }
}

fn tier_row_ui(
    tier: &'static str,
    label: &'static str,
    stats: &TierStats,
) -> impl IntoView + use<> {
    let hit_rate = stats
        .hit_rate()
        .map_or_else(|| "–".to_owned(), |rate| format!("{:.1} %", rate * 100.0));
    view! {
        <tr data-testid="perf-tier" data-tier=tier
            data-hits=stats.hits data-misses=stats.misses data-evictions=stats.evictions
            data-entries=stats.entries data-resident-bytes=stats.resident_bytes
            data-budget-bytes=stats.budget_bytes>
            <td>{label}</td>
            <td>{hit_rate}</td>
            <td>{format!("{} / {}", stats.hits, stats.misses)}</td>
            <td>{stats.evictions}</td>
            <td>{stats.entries}</td>
        </tr>
    }
}

/// Resident bytes against the budget, as a bar and in words.
fn budget_ui(tier: &'static str, label: &'static str, stats: &TierStats) -> impl IntoView + use<> {
    let (fill, words) = if stats.budget_bytes == 0 {
        (0.0, format!("{label}: off (no budget)"))
    } else {
        (
            (stats.resident_bytes as f64 / stats.budget_bytes as f64).clamp(0.0, 1.0),
            format!(
                "{label}: {} of {}",
                format_bytes(stats.resident_bytes),
                format_bytes(stats.budget_bytes)
            ),
        )
    };
    view! {
        <div class="perf-budget" data-testid="perf-budget" data-tier=tier>
            <span>{words}</span>
            <div class="bar" role="meter" aria-valuemin="0" aria-valuemax="1" aria-valuenow=fill
                aria-label=format!("{label} cache use")>
                <div class="fill" style:width=format!("{:.1}%", fill * 100.0)></div>
            </div>
        </div>
    }
}
