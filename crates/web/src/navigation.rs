//! Where the user is in the project: its image list, the open image, and the image filter
//! that narrows what the list shows and what A/D step through.

use std::collections::BTreeSet;

use leptos::prelude::*;
use sightline_core::listing::{around, name_matches, next_listed};
use sightline_core::project::{ImageCursor, ImageEntry, Manifest};
use sightline_core::view::Size;
use sightline_protocol::{FilterParams, ImageRef, ImageSource, PRECISION_PROBE_IMAGES};

use crate::image_loader::absolute_url;
use crate::pipeline::{ImagePipeline, Shown};
use crate::project_loader::image_url;

/// The open image: what is drawn, or why nothing is.
#[derive(Clone, Debug)]
pub enum OpenImage {
    None,
    Loading,
    Loaded(Shown),
    Failed(String),
}

impl OpenImage {
    pub fn size(&self) -> Option<Size> {
        match self {
            OpenImage::Loaded(shown) => Some(shown.natural),
            _ => None,
        }
    }
}

/// The image filter in force: which images matched.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFilter {
    pub params: FilterParams,
    pub matching: BTreeSet<String>,
}

/// Navigation state, provided as context by the app.
#[derive(Clone, Copy)]
pub struct Navigation {
    pub manifest: RwSignal<Option<Manifest>>,
    pub manifest_url: RwSignal<String>,
    pub cursor: RwSignal<ImageCursor>,
    pub open_image: RwSignal<OpenImage, LocalStorage>,
    pub project_error: RwSignal<Option<String>>,
    pub filter: RwSignal<Option<ImageFilter>>,
    /// The image list's search by file name (`core::listing::name_matches`).
    pub query: RwSignal<String>,
    /// The paths the quality panel keeps, when it narrows the list.
    pub keep: RwSignal<Option<BTreeSet<String>>>,
    /// Project indices in the order the quality panel sorts by; `None`: project order.
    pub order: RwSignal<Option<Vec<usize>>>,
    /// The project indices of the listed images, in display order: those the image filter
    /// and the quality panel keep whose names match the search, in project order or the
    /// quality panel's. One memo for the list, the grid, A/D and prefetch.
    pub listed: Memo<Vec<usize>>,
    /// Where the project's images are loaded, cached and checked.
    pub pipeline: ImagePipeline,
    /// The image the next opened project starts on (a shared link's), if it has it.
    pub start_at: StoredValue<Option<String>>,
}

impl Navigation {
    pub fn new(manifest_url: &str, pipeline: ImagePipeline) -> Self {
        let manifest = RwSignal::new(None::<Manifest>);
        let filter = RwSignal::new(None::<ImageFilter>);
        let query = RwSignal::new(String::new());
        let keep = RwSignal::new(None::<BTreeSet<String>>);
        let order = RwSignal::new(None::<Vec<usize>>);
        let listed = Memo::new(move |_| {
            let wanted = |e: &ImageEntry| {
                filter.with(|f| f.as_ref().is_none_or(|f| f.matching.contains(&e.path)))
                    && keep.with(|k| k.as_ref().is_none_or(|k| k.contains(&e.path)))
                    && query.with(|q| name_matches(&e.name, q))
            };
            manifest.with(|m| {
                let Some(m) = m else { return Vec::new() };
                order.with(|order| match order {
                    Some(order) => order
                        .iter()
                        .copied()
                        .filter(|&i| m.images.get(i).is_some_and(wanted))
                        .collect(),
                    None => (0..m.images.len())
                        .filter(|&i| wanted(&m.images[i]))
                        .collect(),
                })
            })
        });
        Self {
            manifest,
            manifest_url: RwSignal::new(manifest_url.to_owned()),
            cursor: RwSignal::new(ImageCursor::new(0)),
            open_image: RwSignal::new_local(OpenImage::None),
            project_error: RwSignal::new(None),
            filter,
            query,
            keep,
            order,
            listed,
            pipeline,
            start_at: StoredValue::new(None),
        }
    }

    /// Name of the open image, if any (tracked).
    pub fn current_name(&self) -> Option<String> {
        let index = self.cursor.get().index()?;
        self.manifest
            .with(|m| Some(m.as_ref()?.images.get(index)?.name.clone()))
    }

    /// Path of the open image in the manifest, the key of its annotations (tracked).
    pub fn current_path(&self) -> Option<String> {
        let index = self.cursor.get().index()?;
        self.manifest
            .with(|m| Some(m.as_ref()?.images.get(index)?.path.clone()))
    }

    /// The open image's entry (untracked).
    pub fn current_entry(&self) -> Option<ImageEntry> {
        let index = self.cursor.get_untracked().index()?;
        self.manifest
            .with_untracked(|m| m.as_ref()?.images.get(index).cloned())
    }

    /// Every image of the project (untracked).
    pub fn entries(&self) -> Vec<ImageEntry> {
        self.manifest
            .with_untracked(|m| m.as_ref().map(|m| m.images.clone()).unwrap_or_default())
    }

    /// The nearest listed image after (`forward`) or before the open one whose path
    /// satisfies `wanted`, if any (untracked).
    fn nearest(&self, forward: bool, wanted: impl Fn(&str) -> bool) -> Option<usize> {
        let from = self.cursor.get_untracked().index();
        self.listed.with_untracked(|listed| {
            self.manifest.with_untracked(|m| {
                let images = &m.as_ref()?.images;
                next_listed(listed, from, forward, |i| wanted(&images[i].path))
            })
        })
    }

    /// Moves one image forward or back among those listed (the filter and the search skip
    /// the others).
    pub fn step(&self, forward: bool) {
        self.step_where(forward, |_| true);
    }

    /// Moves to the nearest listed image forward or back whose path satisfies `wanted`
    /// ("next unlabelled"); stays put when there is none.
    pub fn step_where(&self, forward: bool, wanted: impl Fn(&str) -> bool) {
        if let Some(target) = self.nearest(forward, wanted) {
            self.cursor.update(|c| *c = c.go_to(target));
        }
    }

    /// The listed neighbours of the open image, nearest first, alternating forward and
    /// back, `depth` each way: what to prefetch (untracked).
    pub fn neighbours(&self, depth: usize) -> Vec<ImageEntry> {
        let Some(index) = self.cursor.get_untracked().index() else {
            return Vec::new();
        };
        let order = self
            .listed
            .with_untracked(|listed| around(listed, index, depth));
        self.manifest.with_untracked(|m| {
            let Some(images) = m.as_ref().map(|m| &m.images) else {
                return Vec::new();
            };
            order.into_iter().map(|i| images[i].clone()).collect()
        })
    }

    /// How the worker finds `entry`: its stored bytes (stored at import, or since), else its
    /// URL (absolute, since the worker resolves against its own script).
    pub fn image_ref(&self, entry: &ImageEntry) -> ImageRef {
        let key = entry
            .blob_key
            .clone()
            .or_else(|| self.pipeline.stored_key(&entry.path));
        let source = match key {
            Some(key) => ImageSource::Stored { key },
            None => {
                let relative = image_url(&self.manifest_url.get_untracked(), &entry.path);
                ImageSource::Url {
                    url: absolute_url(&relative),
                }
            }
        };
        ImageRef {
            name: entry.path.clone(),
            source,
        }
    }

    /// `entries` as (path, how the worker finds it).
    pub fn image_refs(&self, entries: &[ImageEntry]) -> Vec<(String, ImageRef)> {
        entries
            .iter()
            .map(|e| (e.path.clone(), self.image_ref(e)))
            .collect()
    }

    /// The project's first images, for the f16 check of a model added now.
    pub fn probe_images(&self) -> Vec<ImageRef> {
        self.manifest.with_untracked(|m| {
            m.iter()
                .flat_map(|m| m.images.iter())
                .take(PRECISION_PROBE_IMAGES)
                .map(|entry| self.image_ref(entry))
                .collect()
        })
    }
}
