//! Image quality in the page: the project's scores (from the store's cache, else computed by
//! the worker with progress and cancel), near-duplicate groups, the curation rules the
//! quality panel sets (which images match, how the list is sorted), and the user's flags and
//! export exclusions, saved per project.
//!
//! Scores are cached by image content (`store::QUALITY`), so a second run computes only the
//! images, or the metrics, that are new.

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use sightline_core::duplicates::{self, PerceptualHash};
use sightline_core::quality::{Metric, Rule, Scores, sort_by_value};
use sightline_protocol::store::{CurationRecord, QualityRecord};
use sightline_protocol::{ImageRef, ReplyBody, RequestBody, WorkerError};

use crate::ai::{Ai, AiError, Job};
use crate::autosave::Storage;
use crate::navigation::Navigation;

/// Images per quality request: few, so a cancel loses little and progress is fine-grained.
const IMAGES_PER_REQUEST: usize = 2;
/// Candidate pairs per similarity request.
const PAIRS_PER_REQUEST: usize = 8;

/// Quality state shared through context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Quality {
    /// Scores of the project's images, by path.
    pub scores: RwSignal<HashMap<String, Scores>>,
    hashes: StoredValue<HashMap<String, PerceptualHash>>,
    /// Groups of near-duplicates (paths, each group sorted), from the last duplicates run.
    pub groups: RwSignal<Vec<Vec<String>>>,
    /// Flags and exclusions of the project's images, by path.
    pub curation: RwSignal<HashMap<String, CurationRecord>>,
    /// The rules in force; an image matches when it satisfies every one.
    pub rules: RwSignal<Vec<Rule>>,
    /// Only near-duplicates match (with the rules).
    pub duplicates_only: RwSignal<bool>,
    /// The list and the grid show only matching images.
    pub only_matching: RwSignal<bool>,
    /// The metric the list is sorted by, and whether descending.
    pub sort: RwSignal<Option<(Metric, bool)>>,
    /// The metric columns the list shows.
    pub columns: RwSignal<Vec<Metric>>,
    /// The paths that match the rules (all scored images when there are no rules).
    pub matching: Memo<BTreeSet<String>>,
}

impl Quality {
    pub fn new() -> Self {
        let scores = RwSignal::new(HashMap::<String, Scores>::new());
        let groups = RwSignal::new(Vec::<Vec<String>>::new());
        let rules = RwSignal::new(Vec::<Rule>::new());
        let duplicates_only = RwSignal::new(false);
        let matching = Memo::new(move |_| {
            let in_group: BTreeSet<String> = if duplicates_only.get() {
                groups.with(|g| g.iter().flatten().cloned().collect())
            } else {
                BTreeSet::new()
            };
            rules.with(|rules| {
                scores.with(|scores| {
                    scores
                        .iter()
                        .filter(|(path, s)| {
                            rules.iter().all(|r| r.matches(s))
                                && (!duplicates_only.get_untracked() || in_group.contains(*path))
                        })
                        .map(|(path, _)| path.clone())
                        .collect()
                })
            })
        });
        Self {
            scores,
            hashes: StoredValue::new(HashMap::new()),
            groups,
            curation: RwSignal::new(HashMap::new()),
            rules,
            duplicates_only,
            only_matching: RwSignal::new(false),
            sort: RwSignal::new(None),
            columns: RwSignal::new(vec![
                Metric::BlurEffect,
                Metric::MeanLuminance,
                Metric::RmsContrast,
            ]),
            matching,
        }
    }

    /// Keeps the navigation in step: the listed images narrowed to the matching ones when
    /// asked, and ordered by the sort metric.
    pub fn drive(self, nav: Navigation) {
        Effect::new(move |_| {
            let keep = self.only_matching.get().then(|| self.matching.get());
            nav.keep.set(keep);
        });
        Effect::new(move |_| {
            let order = self.sort.get().map(|(metric, descending)| {
                let entries = nav.manifest.with(|m| {
                    m.as_ref()
                        .map(|m| m.images.iter().map(|e| e.path.clone()).collect::<Vec<_>>())
                        .unwrap_or_default()
                });
                let items: Vec<(usize, Option<f64>)> = self.scores.with(|scores| {
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, path)| {
                            (i, scores.get(path).and_then(|s| s.get(&metric).copied()))
                        })
                        .collect()
                });
                sort_by_value(&items, descending)
            });
            nav.order.set(order);
        });
    }

    /// Forgets the last project's scores and loads the open project's flags, exclusions and
    /// cached scores.
    pub async fn load_project(self, storage: Storage, nav: Navigation, project_id: String) {
        self.scores.set(HashMap::new());
        self.hashes.set_value(HashMap::new());
        self.groups.set(Vec::new());
        self.curation.set(HashMap::new());
        let Ok(store) = storage.store().await else {
            return;
        };
        if let Ok((records, _)) = store.curation(&project_id).await {
            self.curation
                .set(records.into_iter().map(|r| (r.path.clone(), r)).collect());
        }
        if let Ok((records, _)) = store.quality().await {
            let by_key: HashMap<String, QualityRecord> =
                records.into_iter().map(|r| (r.key.clone(), r)).collect();
            for (path, image) in nav.image_refs(&nav.entries()) {
                if let Some(record) = by_key.get(&image.source.cache_key()) {
                    self.take(&path, record.scores.clone(), record.phash);
                }
            }
        }
    }

    fn take(&self, path: &str, scores: Scores, phash: Option<PerceptualHash>) {
        self.scores.update(|all| {
            all.entry(path.to_owned()).or_default().extend(scores);
        });
        if let Some(hash) = phash {
            self.hashes.update_value(|h| {
                h.insert(path.to_owned(), hash);
            });
        }
    }

    /// The values of `metric` over the scored images.
    pub fn values(&self, metric: Metric) -> Vec<f64> {
        self.scores
            .with(|s| s.values().filter_map(|s| s.get(&metric).copied()).collect())
    }

    /// Scores every image of the project with the no-reference metrics (what the cache
    /// lacks), then, when `find_duplicates`, groups near-duplicates: candidate pairs by
    /// perceptual hash, each confirmed by SSIM in the worker.
    pub fn run(self, ai: Ai, nav: Navigation, storage: Storage, find_duplicates: bool) {
        let images = nav.image_refs(&nav.entries());
        if images.is_empty() {
            ai.message.set(Some("No images to score.".to_owned()));
            return;
        }
        let Some(job) = ai.start_job("Scoring quality".to_owned(), images.len()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let outcome = self
                .score_all(ai, &job, storage, images, find_duplicates)
                .await;
            ai.finish_job(outcome);
        });
    }

    async fn score_all(
        self,
        ai: Ai,
        job: &Job,
        storage: Storage,
        images: Vec<(String, ImageRef)>,
        find_duplicates: bool,
    ) -> Result<String, AiError> {
        let metrics: Vec<Metric> = Metric::no_reference().collect();
        let total = images.len();
        let to_run: Vec<(String, ImageRef)> = self.scores.with_untracked(|scores| {
            let hashes = self.hashes.get_value();
            images
                .iter()
                .filter(|(path, _)| {
                    let complete = scores
                        .get(path)
                        .is_some_and(|s| metrics.iter().all(|m| s.contains_key(m)));
                    !complete || !hashes.contains_key(path)
                })
                .cloned()
                .collect()
        });
        let cached = total - to_run.len();
        ai.set_job_total(to_run.len());
        let mut errors = Vec::new();
        let mut done = 0;
        for chunk in to_run.chunks(IMAGES_PER_REQUEST) {
            if job.is_cancelled() {
                return Ok(format!(
                    "Cancelled after {done} image(s); their scores are kept."
                ));
            }
            let refs: Vec<ImageRef> = chunk.iter().map(|(_, r)| r.clone()).collect();
            let reply = ai
                .job_request(
                    job,
                    RequestBody::Quality {
                        images: refs,
                        metrics: metrics.clone(),
                        hash: true,
                    },
                    done,
                )
                .await;
            let results = match reply {
                Ok(ReplyBody::Quality { results }) => results,
                Err(WorkerError::Cancelled { .. }) => continue,
                Ok(other) => {
                    return Err(AiError::Unexpected(format!("unexpected reply: {other:?}")));
                }
                Err(error) => return Err(AiError::Worker(error)),
            };
            let mut records = Vec::new();
            for (result, (path, image)) in results.into_iter().zip(chunk) {
                match result.outcome {
                    Ok(found) => {
                        records.push(QualityRecord {
                            key: image.source.cache_key(),
                            scores: found.scores.clone(),
                            phash: found.phash,
                        });
                        self.take(path, found.scores, found.phash);
                    }
                    Err(error) => errors.push(format!("{path}: {error}")),
                }
            }
            done += chunk.len();
            ai.set_job_done(done);
            // The cache is only a cache: a failed write costs a recomputation, nothing else.
            if let Ok(store) = storage.store().await {
                let _ = store.put_quality(&records).await;
            }
        }
        let mut summary = format!("Scored {total} image(s) ({cached} from the cache).");
        if find_duplicates && !job.is_cancelled() {
            let groups = self.find_groups(ai, job, &images).await?;
            summary.push_str(&format!(" {groups} group(s) of near-duplicates."));
        }
        if !errors.is_empty() {
            summary.push_str(&format!(
                " {} image(s) failed: {}",
                errors.len(),
                errors.join("; ")
            ));
        }
        Ok(summary)
    }

    /// Confirms the hash candidates by SSIM and sets the groups; returns how many.
    async fn find_groups(
        self,
        ai: Ai,
        job: &Job,
        images: &[(String, ImageRef)],
    ) -> Result<usize, AiError> {
        let hashes = self.hashes.get_value();
        let hashed: Vec<&(String, ImageRef)> = images
            .iter()
            .filter(|(p, _)| hashes.contains_key(p))
            .collect();
        let codes: Vec<PerceptualHash> = hashed.iter().map(|(p, _)| hashes[p]).collect();
        let pairs = duplicates::candidate_pairs(&codes, duplicates::DEFAULT_MAX_DISTANCE);
        ai.set_job_title("Confirming near-duplicates".to_owned(), pairs.len());
        let mut confirmed = Vec::new();
        let mut done = 0;
        for chunk in pairs.chunks(PAIRS_PER_REQUEST) {
            if job.is_cancelled() {
                break;
            }
            let request = RequestBody::Similarity {
                pairs: chunk
                    .iter()
                    .map(|&(a, b)| (hashed[a].1.clone(), hashed[b].1.clone()))
                    .collect(),
            };
            match ai.job_request(job, request, done).await {
                Ok(ReplyBody::Similarity { ssim }) => {
                    for (&pair, similarity) in chunk.iter().zip(ssim) {
                        if similarity.is_ok_and(|s| s >= duplicates::DEFAULT_MIN_SSIM) {
                            confirmed.push(pair);
                        }
                    }
                }
                Err(WorkerError::Cancelled { .. }) => break,
                Ok(other) => {
                    return Err(AiError::Unexpected(format!("unexpected reply: {other:?}")));
                }
                Err(error) => return Err(AiError::Worker(error)),
            }
            done += chunk.len();
            ai.set_job_done(done);
        }
        let groups: Vec<Vec<String>> = duplicates::groups(hashed.len(), &confirmed)
            .into_iter()
            .map(|group| group.into_iter().map(|i| hashed[i].0.clone()).collect())
            .collect();
        let count = groups.len();
        self.groups.set(groups);
        Ok(count)
    }

    /// Sets the flag or the exclusion of `paths` with `change`, and saves them.
    pub fn curate(
        self,
        storage: Storage,
        project_id: String,
        paths: Vec<String>,
        change: impl Fn(&mut CurationRecord),
    ) {
        let mut changed = Vec::with_capacity(paths.len());
        self.curation.update(|all| {
            for path in paths {
                let record = all.entry(path.clone()).or_insert_with(|| CurationRecord {
                    project_id: project_id.clone(),
                    path,
                    ..CurationRecord::default()
                });
                change(record);
                changed.push(record.clone());
            }
        });
        leptos::task::spawn_local(async move {
            let saved = async { storage.store().await?.put_curation(&changed).await }.await;
            if let Err(error) = saved {
                web_sys::console::warn_1(&format!("curation not saved: {error}").into());
            }
        });
    }

    /// The excluded images and why, by path.
    pub fn excluded(&self) -> HashMap<String, String> {
        self.curation.with(|all| {
            all.values()
                .filter_map(|r| Some((r.path.clone(), r.excluded.clone()?)))
                .collect()
        })
    }
}

impl Default for Quality {
    fn default() -> Self {
        Self::new()
    }
}
