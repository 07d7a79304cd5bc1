//! The quality panel (right): scores the project's images in the worker (cached per image
//! content), curation presets with adjustable thresholds over a histogram of the folder,
//! sorting, flags and export exclusions for the matching images, and near-duplicate groups
//! side by side with "keep this one".
//!
//! The panel's rules narrow the image list together with the detection filter of the AI
//! panel ("sharp images with a person"): the list shows what both keep.

use leptos::prelude::*;
use sightline_core::quality::{Comparison, Histogram, Metric, Preset, Rule};

use super::job_status::JobStatus;
use super::listed::{Thumbnail, format_score};
use crate::ai::Ai;
use crate::autosave::Storage;
use crate::navigation::Navigation;
use crate::quality::Quality;
use crate::studio::Document;

/// Bins of a rule's histogram.
const HISTOGRAM_BINS: usize = 24;

#[component]
pub fn QualityPanel() -> impl IntoView {
    let quality = expect_context::<Quality>();
    let ai = expect_context::<Ai>();
    let nav = expect_context::<Navigation>();
    let storage = expect_context::<Storage>();
    let doc = expect_context::<Document>();
    let open = RwSignal::new(false);
    let find_duplicates = RwSignal::new(true);

    let run = move |_| quality.run(ai, nav, storage, find_duplicates.get_untracked());
    let choose = move |preset: Preset| {
        match preset.rule() {
            Some(rule) => {
                quality.rules.set(vec![rule]);
                quality.duplicates_only.set(false);
            }
            None => {
                quality.rules.set(Vec::new());
                quality.duplicates_only.set(true);
            }
        }
        quality.only_matching.set(true);
    };
    let rule_indices = move || (0..quality.rules.with(Vec::len)).collect::<Vec<_>>();
    let scored = move || quality.scores.with(|s| s.len());
    let matching = move || quality.matching.with(|m| m.len());
    let curate_matching =
        move |change: fn(&mut sightline_protocol::store::CurationRecord, &str)| {
            let paths: Vec<String> = quality.matching.get_untracked().into_iter().collect();
            let reason = describe(&quality);
            quality.curate(storage, doc.project_id.get_untracked(), paths, move |r| {
                change(r, &reason)
            });
        };

    view! {
        <section class="quality-panel" aria-label="Quality">
            <header class="toggle" data-testid="quality-toggle" on:click=move |_| open.update(|o| *o = !*o)>
                <span>{move || if open.get() { "▾ Quality" } else { "▸ Quality" }}</span>
                <span class="muted" data-testid="quality-state">
                    {move || match scored() {
                        0 => "not scored".to_owned(),
                        n => format!("{n} scored"),
                    }}
                </span>
            </header>
            <Show when=move || open.get()>
                <div class="quality-body">
                    <div class="row">
                        <button data-testid="quality-run" disabled=move || ai.job.with(Option::is_some)
                            title="Score every image (what is cached is not computed again)"
                            on:click=run>"Score quality"</button>
                        <label title="Group images whose perceptual hashes are close and whose SSIM confirms it">
                            <input type="checkbox" data-testid="quality-duplicates"
                                prop:checked=move || find_duplicates.get()
                                on:change=move |e| find_duplicates.set(event_target_checked(&e)) />
                            "near-duplicates"
                        </label>
                    </div>
                    <JobStatus prefix="quality" />
                    <Show when=move || ai.message.with(Option::is_some)>
                        <p class="ai-message" role="status" data-testid="quality-message">{move || ai.message.get()}</p>
                    </Show>

                    <div class="presets" role="group" aria-label="Presets">
                        {Preset::ALL.into_iter().map(|preset| view! {
                            <button data-testid=format!("preset-{}", preset.label().replace(' ', "-"))
                                on:click=move |_| choose(preset)>{preset.label()}</button>
                        }).collect_view()}
                    </div>
                    <For each=rule_indices key=|i| *i let:index>
                        <RuleEditor index />
                    </For>
                    <div class="row">
                        <button data-testid="quality-add-rule" on:click=move |_| quality.rules.update(|r| r.push(Rule {
                            metric: Metric::BlurEffect,
                            comparison: Comparison::AtMost,
                            threshold: 0.5,
                        }))>"+ rule"</button>
                        <label>
                            <input type="checkbox" data-testid="quality-duplicates-only"
                                prop:checked=move || quality.duplicates_only.get()
                                on:change=move |e| quality.duplicates_only.set(event_target_checked(&e)) />
                            "near-duplicates only"
                        </label>
                    </div>
                    <p data-testid="quality-matching-count">
                        {move || format!("{} of {} scored image(s) match", matching(), scored())}
                    </p>
                    <div class="row">
                        <label>
                            <input type="checkbox" data-testid="quality-only-matching"
                                prop:checked=move || quality.only_matching.get()
                                on:change=move |e| quality.only_matching.set(event_target_checked(&e)) />
                            "list only these"
                        </label>
                        <button data-testid="quality-clear" on:click=move |_| {
                            quality.rules.set(Vec::new());
                            quality.duplicates_only.set(false);
                            quality.only_matching.set(false);
                        }>"Show all"</button>
                    </div>
                    <div class="row">
                        <button data-testid="quality-flag" disabled=move || matching() == 0
                            on:click=move |_| curate_matching(|r, _| r.flagged = true)>"Flag"</button>
                        <button data-testid="quality-unflag" disabled=move || matching() == 0
                            on:click=move |_| curate_matching(|r, _| r.flagged = false)>"Unflag"</button>
                        <button data-testid="quality-exclude" disabled=move || matching() == 0
                            title="Leave the matching images out of exports"
                            on:click=move |_| curate_matching(|r, why| r.excluded = Some(why.to_owned()))>"Exclude"</button>
                        <button data-testid="quality-include" disabled=move || matching() == 0
                            on:click=move |_| curate_matching(|r, _| r.excluded = None)>"Include"</button>
                    </div>

                    <label>"sort list by "
                        <select data-testid="quality-sort" on:change=move |e| {
                            let value = event_target_value(&e);
                            quality.sort.set(Metric::from_name(&value).ok().map(|m| (m, !m.higher_is_better())));
                        }>
                            <option value="" selected=move || quality.sort.with(Option::is_none)>"project order"</option>
                            {Metric::no_reference().map(|m| view! {
                                <option value=m.name() selected=move || quality.sort.get().is_some_and(|(s, _)| s == m)>
                                    {m.label()}
                                </option>
                            }).collect_view()}
                        </select>
                    </label>
                    <fieldset class="columns">
                        <legend>"columns"</legend>
                        {Metric::no_reference().map(|m| view! {
                            <label>
                                <input type="checkbox" data-testid="quality-column" value=m.name()
                                    prop:checked=move || quality.columns.with(|c| c.contains(&m))
                                    on:change=move |e| {
                                        let on = event_target_checked(&e);
                                        quality.columns.update(|c| {
                                            c.retain(|x| *x != m);
                                            if on { c.push(m); c.sort(); }
                                        });
                                    } />
                                {m.label()}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <DuplicateGroups />
                </div>
            </Show>
        </section>
    }
}

/// Why the matching images are excluded, for the export dialog: the presets' names where
/// the rules are theirs, else the rules themselves.
fn describe(quality: &Quality) -> String {
    let mut parts: Vec<String> = quality.rules.with_untracked(|rules| {
        rules
            .iter()
            .map(|rule| {
                Preset::ALL
                    .into_iter()
                    .find(|p| {
                        p.rule().is_some_and(|r| {
                            r.metric == rule.metric && r.comparison == rule.comparison
                        })
                    })
                    .map_or_else(|| rule.to_string(), |p| p.label().to_owned())
            })
            .collect()
    });
    if quality.duplicates_only.get_untracked() {
        parts.push(Preset::NearDuplicates.label().to_owned());
    }
    if parts.is_empty() {
        "excluded by hand".to_owned()
    } else {
        parts.join(", ")
    }
}

/// One rule: its metric, side and threshold, over the histogram of the metric in the folder
/// (bins on the kept side highlighted).
#[component]
fn RuleEditor(index: usize) -> impl IntoView {
    let quality = expect_context::<Quality>();
    let rule = move || quality.rules.with(|r| r.get(index).copied());
    let update = move |change: &dyn Fn(&mut Rule)| {
        quality.rules.update(|rules| {
            if let Some(rule) = rules.get_mut(index) {
                change(rule);
            }
        })
    };
    let histogram = Memo::new(move |_| {
        let metric = rule()?.metric;
        Histogram::of(quality.values(metric), HISTOGRAM_BINS)
    });
    view! {
        <div class="rule" data-testid="quality-rule">
            <div class="row">
                <select data-testid="rule-metric" on:change=move |e| {
                    if let Ok(metric) = Metric::from_name(&event_target_value(&e)) {
                        update(&|r| r.metric = metric);
                    }
                }>
                    {Metric::no_reference().map(|m| view! {
                        <option value=m.name() selected=move || rule().is_some_and(|r| r.metric == m)>{m.label()}</option>
                    }).collect_view()}
                </select>
                <button data-testid="rule-side" title="Keep the other side"
                    on:click=move |_| update(&|r| r.comparison = r.comparison.flipped())>
                    {move || rule().map(|r| r.comparison.symbol())}
                </button>
                <input type="number" step="any" data-testid="rule-threshold"
                    prop:value=move || rule().map(|r| r.threshold.to_string())
                    on:change=move |e| {
                        if let Ok(v) = event_target_value(&e).parse::<f64>()
                            && v.is_finite()
                        {
                            update(&|r| r.threshold = v);
                        }
                    } />
                <button title="Remove this rule" on:click=move |_| quality.rules.update(|r| {
                    if index < r.len() { r.remove(index); }
                })>"✕"</button>
            </div>
            {move || histogram.get().map(|h| {
                let peak = h.counts.iter().copied().max().unwrap_or(1).max(1);
                let rule = rule();
                let bars = h.counts.iter().enumerate().map(|(bin, &count)| {
                    let (start, end) = h.bin_range(bin);
                    let kept = rule.is_some_and(|r| r.allows((start + end) / 2.0));
                    let height = format!("{}%", 100 * count / peak);
                    view! {
                        <span class="bar" class:kept=kept style:height=height
                            title=format!("{count} image(s) in {}–{}", format_score(start), format_score(end))
                            on:click=move |_| update(&|r| r.threshold = (start + end) / 2.0)></span>
                    }
                }).collect_view();
                view! {
                    <div class="histogram" data-testid="quality-histogram" title="Click a bar to move the threshold there">
                        {bars}
                    </div>
                    <div class="histogram-range muted">
                        <span>{format_score(h.min)}</span><span>{format_score(h.max)}</span>
                    </div>
                }
            })}
        </div>
    }
}

/// The near-duplicate groups, side by side; "keep" leaves the others of its group out of
/// exports ("duplicate of …") and brings the kept one back.
#[component]
fn DuplicateGroups() -> impl IntoView {
    let quality = expect_context::<Quality>();
    let nav = expect_context::<Navigation>();
    let storage = expect_context::<Storage>();
    let doc = expect_context::<Document>();
    let keep = move |group: Vec<String>, kept: String| {
        let reason = format!("duplicate of {kept}");
        quality.curate(storage, doc.project_id.get_untracked(), group, move |r| {
            r.excluded = (r.path != kept).then(|| reason.clone());
        });
    };
    let entry = move |path: &str| {
        nav.manifest.with_untracked(|m| {
            let m = m.as_ref()?;
            let index = m.images.iter().position(|e| e.path == path)?;
            Some((index, m.images[index].clone()))
        })
    };
    view! {
        <Show when=move || quality.groups.with(|g| !g.is_empty())>
            <fieldset class="duplicates" data-testid="duplicate-groups">
                <legend>{move || format!("{} group(s) of near-duplicates", quality.groups.with(Vec::len))}</legend>
                <For each=move || quality.groups.get() key=|g| g.clone() let:group>
                    <div class="group" data-testid="duplicate-group">
                        {group.iter().filter_map(|path| entry(path)).map(|(index, image)| {
                            let members = group.clone();
                            let kept = image.path.clone();
                            let excluded_path = image.path.clone();
                            view! {
                                <figure data-testid="duplicate-member" data-path=image.path.clone()>
                                    <Thumbnail entry=image.clone() />
                                    <figcaption>
                                        <a href="#" on:click=move |e| {
                                            e.prevent_default();
                                            nav.cursor.update(|c| *c = c.go_to(index));
                                        }>{image.name.clone()}</a>
                                        <button data-testid="keep-one" title="Keep this one; leave the others out of exports"
                                            class:kept=move || quality.curation.with(|c| c.get(&excluded_path).is_some_and(|r| r.excluded.is_none()))
                                            on:click=move |_| keep(members.clone(), kept.clone())>"keep"</button>
                                    </figcaption>
                                </figure>
                            }
                        }).collect_view()}
                    </div>
                </For>
            </fieldset>
        </Show>
    }
}
