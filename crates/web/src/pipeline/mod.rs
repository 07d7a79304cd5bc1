//! The image pipeline: every image the page shows goes through here. It owns the
//! decoded-image cache — tier 1 decoded `ImageBitmap`s in memory, tier 2 a display-resolution
//! level of each, JPEG-encoded, in IndexedDB, under `core::image_cache::TieredLru`'s policy
//! and byte budgets — decoding off the main thread at most N at a time, prefetching the
//! neighbours of the open image (a navigation cancels what is no longer wanted), the
//! thumbnails of the list and grid, what is known wrong with each image, and the live
//! figures of the performance panel.
//!
//! Every cache entry is keyed by the original's content key (SHA-256), so a changed original
//! never serves stale pixels; tier 2 adds the level's side to it (`store::level_key`).

mod decode;
mod source;
mod thumbnails;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use leptos::prelude::*;
use sightline_core::image_cache::{
    CacheAction, CacheStats, Lookup, TieredLru, display_level_side, level_size,
};
use sightline_core::image_check::check_image;
use sightline_core::project::ImageEntry;
use sightline_core::timing::{SpanSummary, Timings};
use sightline_core::view::Size;
use sightline_idb_store::JsBytes;
use sightline_protocol::settings::Settings;
use sightline_protocol::store::{LevelIndexRow, LevelRow, level_content_key, level_key};
use web_sys::{Blob, ImageBitmap};

pub use thumbnails::ThumbState;

use crate::autosave::Storage;
use crate::folder_import::content_key;
use crate::image_loader::{blob_of, decode_blob};
use crate::project_loader::ProjectLoadError;
use decode::{DecodeSlots, encode_level};
use source::{Sources, bytes_of};

/// The longest side of this screen's tier-2 levels (`core::image_cache::display_level_side`).
fn screen_level_side() -> u32 {
    let Some(window) = web_sys::window() else {
        return display_level_side(0.0, 1.0);
    };
    let side = window
        .screen()
        .ok()
        .and_then(|s| Some(s.width().ok()?.max(s.height().ok()?)))
        .unwrap_or(0);
    display_level_side(f64::from(side), window.device_pixel_ratio())
}

/// An image ready to draw.
#[derive(Clone, Debug)]
pub struct Shown {
    pub bitmap: ImageBitmap,
    /// The original's size: annotations are in its pixels, whatever the bitmap's size.
    pub natural: Size,
    /// Which tier served it.
    pub from: Lookup,
}

impl Shown {
    /// True when the bitmap is a tier-2 level (smaller, and encoded lossily): the original
    /// is decoded next, for zooming in and exact pixels.
    pub fn is_level(&self) -> bool {
        self.from == Lookup::Store
    }
}

/// The live figures of the performance panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipelineFigures {
    pub cache: CacheStats,
    /// Decode times of originals (ms).
    pub decode: Option<SpanSummary>,
    /// Time from asking for an image to having it drawable, per tier that served it.
    pub open: Vec<(String, SpanSummary)>,
    /// Inference time per image, by span name ("inference webgpu", "inference cpu").
    pub inference: Vec<(String, SpanSummary)>,
    pub last_batch_images_per_s: Option<f64>,
    pub thumbnails_done: usize,
    pub thumbnails_total: usize,
    /// Images stored of those being imported, while an import runs.
    pub import: Option<(usize, usize)>,
}

/// An image's original bytes, checked, with its content key and its header's size.
struct Original {
    blob: Blob,
    key: String,
    header: (u32, u32),
}

struct Inner {
    storage: Storage,
    policy: RefCell<TieredLru<String>>,
    /// Tier 1: decoded bitmaps by content key.
    memory: RefCell<HashMap<String, ImageBitmap>>,
    /// Original sizes by content key (a level's bitmap is smaller).
    natural: RefCell<HashMap<String, (u32, u32)>>,
    /// Content keys learnt by path in the open project.
    keys: RefCell<HashMap<String, String>>,
    /// Of those, the images whose originals are stored in IndexedDB (a manifest image's key
    /// is learnt when it is fetched, but its bytes stay at its URL).
    stored: RefCell<HashMap<String, String>>,
    sources: RefCell<Sources>,
    slots: Rc<DecodeSlots>,
    /// The longest side of tier-2 levels on this screen.
    level_side: u32,
    timings: RefCell<Timings>,
    /// Bumped by every navigation: prefetches of an older generation stop.
    generation: Cell<u64>,
    prefetch_depth: Cell<usize>,
    /// Paths being loaded now, with who waits for them (an open of an image being
    /// prefetched waits for that decode instead of starting another).
    in_flight: RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    /// The key of the image on screen: its bitmap is never closed under it.
    displayed: RefCell<Option<String>>,
    thumbnails: thumbnails::Thumbnails,
}

/// The pipeline, provided as context.
#[derive(Clone, Copy)]
pub struct ImagePipeline {
    inner: StoredValue<Rc<Inner>, LocalStorage>,
    /// Bumped whenever a figure may have changed; `figures` is computed from the state only
    /// when read (the panel open), not on every decode or thumbnail.
    changed: RwSignal<u64>,
    figures: Memo<PipelineFigures>,
    batch_rate: RwSignal<Option<f64>>,
    import: RwSignal<Option<(usize, usize)>>,
    problems: RwSignal<HashMap<String, String>>,
    thumbs: RwSignal<HashMap<String, ThumbState>, LocalStorage>,
}

/// The tier-2 rows (levels of `side`) that the evictions among `actions` name.
fn evicted_levels(actions: Vec<CacheAction<String>>, side: u32) -> Vec<String> {
    actions
        .into_iter()
        .filter_map(|action| match action {
            CacheAction::Evict(key) => Some(level_key(&key, side)),
            _ => None,
        })
        .collect()
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

impl ImagePipeline {
    pub fn new(storage: Storage, settings: &Settings) -> Self {
        let inner = Rc::new(Inner {
            storage,
            policy: RefCell::new(TieredLru::new(settings.cache_budgets())),
            memory: RefCell::default(),
            natural: RefCell::default(),
            keys: RefCell::default(),
            stored: RefCell::default(),
            sources: RefCell::default(),
            slots: DecodeSlots::new(settings.decoder_concurrency as usize),
            level_side: screen_level_side(),
            timings: RefCell::new(Timings::new()),
            generation: Cell::new(0),
            prefetch_depth: Cell::new(settings.prefetch_depth as usize),
            in_flight: RefCell::default(),
            displayed: RefCell::default(),
            thumbnails: thumbnails::Thumbnails::default(),
        });
        let inner = StoredValue::new_local(inner);
        let changed = RwSignal::new(0_u64);
        let batch_rate = RwSignal::new(None);
        let import = RwSignal::new(None);
        let figures = Memo::new(move |_| {
            changed.track();
            figures_of(&inner.get_value(), batch_rate.get(), import.get())
        });
        let pipeline = Self {
            inner,
            changed,
            figures,
            batch_rate,
            import,
            problems: RwSignal::new(HashMap::new()),
            thumbs: RwSignal::new_local(HashMap::new()),
        };
        pipeline.restore_store_index();
        pipeline
    }

    fn inner(&self) -> Rc<Inner> {
        self.inner.get_value()
    }

    /// The live figures (tracked).
    pub fn figures(&self) -> Memo<PipelineFigures> {
        self.figures
    }

    /// Why the image at `path` cannot be shown, if it cannot (tracked).
    pub fn problem(&self, path: &str) -> Option<String> {
        self.problems.with(|p| p.get(path).cloned())
    }

    fn set_problem(&self, path: &str, reason: Option<String>) {
        self.problems.update(|p| match reason {
            Some(reason) => {
                p.insert(path.to_owned(), reason);
            }
            None => {
                p.remove(path);
            }
        });
    }

    /// Applies new settings: budgets (evicting down to them), decoders, prefetch depth.
    pub fn apply_settings(&self, settings: &Settings) {
        let inner = self.inner();
        inner.slots.set_limit(settings.decoder_concurrency as usize);
        inner.prefetch_depth.set(settings.prefetch_depth as usize);
        let actions = inner
            .policy
            .borrow_mut()
            .set_budgets(settings.cache_budgets());
        self.carry_out(actions);
        self.refresh_figures();
    }

    /// A new project is open: its sources, the problems known from its import, and no
    /// thumbnails or keys of the last one. The cache itself is kept: it is keyed by
    /// content, so images shared with the last project still hit.
    pub fn open_project(
        &self,
        manifest_url: String,
        files: HashMap<String, web_sys::File>,
        entries: &[ImageEntry],
        problems: HashMap<String, String>,
    ) {
        let inner = self.inner();
        *inner.sources.borrow_mut() = Sources {
            manifest_url,
            files,
        };
        let stored: HashMap<String, String> = entries
            .iter()
            .filter_map(|entry| Some((entry.path.clone(), entry.blob_key.clone()?)))
            .collect();
        *inner.keys.borrow_mut() = stored.clone();
        *inner.stored.borrow_mut() = stored;
        inner.generation.set(inner.generation.get() + 1);
        self.problems.set(problems);
        self.reset_thumbnails(entries);
    }

    /// The key image `path`'s original is stored under in IndexedDB, when it is stored (an
    /// import stores originals after the project opens, so its entries do not carry it).
    pub fn stored_key(&self, path: &str) -> Option<String> {
        self.inner().stored.borrow().get(path).cloned()
    }

    /// The import stored `path`'s original under `key`.
    pub fn learn_stored(&self, path: &str, key: &str) {
        let inner = self.inner();
        inner
            .keys
            .borrow_mut()
            .insert(path.to_owned(), key.to_owned());
        inner
            .stored
            .borrow_mut()
            .insert(path.to_owned(), key.to_owned());
    }

    /// The image the user asked for: from memory, from tier 2, or decoded. Bumps the
    /// generation, so prefetches for the last position stop.
    pub async fn open(&self, entry: &ImageEntry) -> Result<Shown, ProjectLoadError> {
        let inner = self.inner();
        inner.generation.set(inner.generation.get() + 1);
        let started = now_ms();
        // An image being prefetched: wait for that decode rather than start another.
        let waiting = inner
            .in_flight
            .borrow_mut()
            .get_mut(&entry.path)
            .map(|waiters| {
                let (sender, receiver) = oneshot::channel();
                waiters.push(sender);
                receiver
            });
        if let Some(receiver) = waiting {
            let _ = receiver.await;
        }
        let shown = self.load(entry).await;
        match &shown {
            Ok(shown) => {
                let key = inner.keys.borrow().get(&entry.path).cloned();
                *inner.displayed.borrow_mut() = key;
                let span = match shown.from {
                    Lookup::Memory => "open from memory",
                    Lookup::Store => "open from store",
                    Lookup::Miss => "open by decoding",
                };
                inner.timings.borrow_mut().record(span, now_ms() - started);
            }
            Err(error) => self.set_problem(&entry.path, Some(error.to_string())),
        }
        self.refresh_figures();
        shown
    }

    /// The full-resolution original of an image shown from a smaller level.
    pub async fn open_original(&self, entry: &ImageEntry) -> Result<Shown, ProjectLoadError> {
        let original = self.read_original(entry).await?;
        let shown = self.decode_into_cache(entry, &original, None).await?;
        self.refresh_figures();
        shown.ok_or(ProjectLoadError::Superseded)
    }

    /// How many images ahead and behind the open one to prefetch (a setting).
    pub fn prefetch_depth(&self) -> usize {
        self.inner().prefetch_depth.get()
    }

    /// Loads `entries` ahead (the neighbours of the open image, nearest first) until the
    /// next navigation.
    pub fn prefetch(&self, entries: Vec<ImageEntry>) {
        let generation = self.inner().generation.get();
        for entry in entries {
            let pipeline = *self;
            leptos::task::spawn_local(async move {
                let inner = pipeline.inner();
                if inner.generation.get() != generation
                    || inner.in_flight.borrow().contains_key(&entry.path)
                {
                    return;
                }
                let cached = inner.keys.borrow().get(&entry.path).is_some_and(|key| {
                    let policy = inner.policy.borrow();
                    policy.in_memory(key)
                });
                if cached {
                    return;
                }
                inner
                    .in_flight
                    .borrow_mut()
                    .insert(entry.path.clone(), Vec::new());
                let _ = pipeline.prefetch_one(&entry, generation).await;
                let waiters = inner.in_flight.borrow_mut().remove(&entry.path);
                for waiter in waiters.into_iter().flatten() {
                    let _ = waiter.send(());
                }
                pipeline.refresh_figures();
            });
        }
    }

    async fn prefetch_one(
        &self,
        entry: &ImageEntry,
        generation: u64,
    ) -> Result<(), ProjectLoadError> {
        let inner = self.inner();
        let known = inner.keys.borrow().get(&entry.path).cloned();
        let stored = |key: &String| inner.policy.borrow().in_store(key);
        if let Some(key) = known.as_ref().filter(|key| stored(key))
            && self.promote(entry, key).await.is_some()
        {
            return Ok(());
        }
        let original = self.read_original(entry).await?;
        if known.is_none()
            && stored(&original.key)
            && self.promote(entry, &original.key).await.is_some()
        {
            return Ok(());
        }
        self.decode_into_cache(entry, &original, Some(generation))
            .await?;
        Ok(())
    }

    /// One lookup, counted in the statistics, then the load from where it is. An image not
    /// seen yet this session is looked up once its content key is known (tier 2 may hold it
    /// from an earlier one).
    async fn load(&self, entry: &ImageEntry) -> Result<Shown, ProjectLoadError> {
        let known = self.inner().keys.borrow().get(&entry.path).cloned();
        if let Some(key) = &known
            && let Some(shown) = self.cached(entry, key).await
        {
            return Ok(shown);
        }
        let original = self.read_original(entry).await?;
        if known.is_none()
            && let Some(shown) = self.cached(entry, &original.key).await
        {
            return Ok(shown);
        }
        self.decode_into_cache(entry, &original, None)
            .await?
            .ok_or(ProjectLoadError::Superseded)
    }

    /// The counted lookup of `key`, and the image from the tier that holds it.
    async fn cached(&self, entry: &ImageEntry, key: &str) -> Option<Shown> {
        let lookup = self.inner().policy.borrow_mut().lookup(&key.to_owned());
        match lookup {
            Lookup::Memory => self.memory_hit(key),
            Lookup::Store => self.promote(entry, key).await,
            Lookup::Miss => None,
        }
    }

    /// The original bytes of `entry`, unchecked, from wherever they are (a picked file,
    /// IndexedDB, its URL): what exports and project files carry.
    pub async fn original_bytes(&self, entry: &ImageEntry) -> Result<Vec<u8>, ProjectLoadError> {
        let inner = self.inner();
        let origin = inner.sources.borrow().origin(entry);
        let blob = origin.blob(inner.storage, &entry.path).await?;
        bytes_of(&blob)
            .await
            .map_err(|detail| ProjectLoadError::Read {
                path: entry.path.clone(),
                detail,
            })
    }

    /// The original of `entry`, checked (`core::image_check`) and named by its content key
    /// (hashed unless known, and remembered).
    async fn read_original(&self, entry: &ImageEntry) -> Result<Original, ProjectLoadError> {
        let inner = self.inner();
        let path = &entry.path;
        let origin = inner.sources.borrow().origin(entry);
        let blob = origin.blob(inner.storage, path).await?;
        let read_error = |detail: String| ProjectLoadError::Read {
            path: path.clone(),
            detail,
        };
        let bytes = bytes_of(&blob).await.map_err(read_error)?;
        let checked = check_image(path, &bytes).map_err(|problem| ProjectLoadError::Bad {
            path: path.clone(),
            problem,
        })?;
        let known = inner.keys.borrow().get(path).cloned();
        let key = match known {
            Some(key) => key,
            None => {
                let key = content_key(&bytes)
                    .await
                    .map_err(|e| read_error(e.to_string()))?;
                inner.keys.borrow_mut().insert(path.clone(), key.clone());
                key
            }
        };
        Ok(Original {
            blob,
            key,
            header: (checked.size.width, checked.size.height),
        })
    }

    fn memory_hit(&self, key: &str) -> Option<Shown> {
        let inner = self.inner();
        let bitmap = inner.memory.borrow().get(key).cloned()?;
        let (width, height) = inner.natural.borrow().get(key).copied()?;
        Some(Shown {
            bitmap,
            natural: Size::new(f64::from(width), f64::from(height)),
            from: Lookup::Memory,
        })
    }

    /// A tier-2 hit: the stored level as a bitmap, put back in memory (the stored copy
    /// stays). `None` when the level turns out missing or unreadable (it is forgotten).
    async fn promote(&self, entry: &ImageEntry, key: &str) -> Option<Shown> {
        let inner = self.inner();
        let level_key = level_key(key, inner.level_side);
        let read = async {
            let store = inner.storage.store().await.ok()?;
            let row = store.level(&level_key).await.ok()??;
            let bitmap = decode_blob(&blob_of(&row.image.0, &row.mime).ok()?)
                .await
                .ok()?;
            Some((store, row, bitmap))
        };
        let Some((store, row, bitmap)) = read.await else {
            inner.policy.borrow_mut().forget_stored(&key.to_owned());
            return None;
        };
        // Its last use, for the LRU order after a reload: written after the image is shown.
        let index = LevelIndexRow {
            key: level_key,
            bytes: u64::from(row.image.0.length()),
            used_ms: js_sys::Date::now(),
        };
        leptos::task::spawn_local(async move {
            let _ = store.touch_level(&index).await;
        });
        let natural = (row.natural_width, row.natural_height);
        inner.natural.borrow_mut().insert(key.to_owned(), natural);
        self.cache(key, bitmap.clone(), natural, entry);
        Some(Shown {
            bitmap,
            natural: Size::new(f64::from(natural.0), f64::from(natural.1)),
            from: Lookup::Store,
        })
    }

    /// Decodes an original and caches the bitmap. A prefetch passes its `generation`: it
    /// waits behind the user's own requests and gives up (`None`) when a navigation has made
    /// it unwanted before its decode starts.
    async fn decode_into_cache(
        &self,
        entry: &ImageEntry,
        original: &Original,
        generation: Option<u64>,
    ) -> Result<Option<Shown>, ProjectLoadError> {
        let inner = self.inner();
        let path = entry.path.clone();
        let key = original.key.clone();
        let slot = inner.slots.acquire(generation.is_none()).await;
        if generation.is_some_and(|g| g != inner.generation.get()) {
            return Ok(None);
        }
        let started = now_ms();
        let bitmap =
            decode_blob(&original.blob)
                .await
                .map_err(|detail| ProjectLoadError::Decode {
                    path: path.clone(),
                    detail,
                })?;
        inner
            .timings
            .borrow_mut()
            .record("decode", now_ms() - started);
        drop(slot);
        let natural = (bitmap.width(), bitmap.height());
        inner.natural.borrow_mut().insert(key.clone(), natural);
        self.cache(&key, bitmap.clone(), natural, entry);
        Ok(Some(Shown {
            bitmap,
            natural: Size::new(f64::from(natural.0), f64::from(natural.1)),
            from: Lookup::Miss,
        }))
    }

    /// Puts a bitmap in tier 1 and carries out what the policy says follows.
    fn cache(&self, key: &str, bitmap: ImageBitmap, natural: (u32, u32), entry: &ImageEntry) {
        let inner = self.inner();
        let (level_width, level_height) = level_size(natural.0, natural.1, inner.level_side);
        let memory_bytes = u64::from(bitmap.width()) * u64::from(bitmap.height()) * 4;
        let store_bytes = u64::from(level_width) * u64::from(level_height) * 4;
        inner.memory.borrow_mut().insert(key.to_owned(), bitmap);
        let actions = inner
            .policy
            .borrow_mut()
            .insert(key.to_owned(), memory_bytes, store_bytes);
        self.carry_out(actions);
        self.set_problem(&entry.path, None);
    }

    /// Does what the cache policy decided, in order.
    fn carry_out(&self, actions: Vec<CacheAction<String>>) {
        let inner = self.inner();
        let mut evicted = Vec::new();
        for action in actions {
            match action {
                CacheAction::Demote(key) => {
                    let bitmap = inner.memory.borrow_mut().remove(&key);
                    match bitmap {
                        Some(bitmap) => self.demote(key, bitmap),
                        None => inner.policy.borrow_mut().forget_stored(&key),
                    }
                }
                CacheAction::Drop(key) => {
                    let bitmap = inner.memory.borrow_mut().remove(&key);
                    if let Some(bitmap) = bitmap {
                        self.release(&key, &bitmap);
                    }
                }
                CacheAction::Evict(key) => evicted.push(level_key(&key, inner.level_side)),
            }
        }
        if !evicted.is_empty() {
            let storage = inner.storage;
            leptos::task::spawn_local(async move {
                if let Ok(store) = storage.store().await {
                    let _ = store.delete_levels(&evicted).await;
                }
            });
        }
    }

    /// Frees a bitmap's pixels now rather than at the next garbage collection, unless it
    /// is the one on screen.
    fn release(&self, key: &str, bitmap: &ImageBitmap) {
        if self.inner().displayed.borrow().as_deref() != Some(key) {
            bitmap.close();
        }
    }

    /// Writes a bitmap's level to tier 2, then frees the bitmap. On a quota error the
    /// cache makes room in tier 2 (never elsewhere) and tries once more; a level that
    /// cannot be written is forgotten.
    fn demote(&self, key: String, bitmap: ImageBitmap) {
        let pipeline = *self;
        leptos::task::spawn_local(async move {
            // The encoding (a scaled draw and a JPEG of a screenful) waits for the next
            // task, so it never delays the open whose insert demoted this image.
            decode::next_task().await;
            let inner = pipeline.inner();
            let natural = inner
                .natural
                .borrow()
                .get(&key)
                .copied()
                .unwrap_or((bitmap.width(), bitmap.height()));
            let (width, height) = level_size(natural.0, natural.1, inner.level_side);
            let encoded = encode_level(&bitmap, width, height).await;
            pipeline.release(&key, &bitmap);
            let (Ok((image, mime)), Ok(store)) = (encoded, inner.storage.store().await) else {
                inner.policy.borrow_mut().forget_stored(&key);
                return;
            };
            // The level was demoted with an upper bound of its size (raw RGBA); its real
            // size now takes that place, which may evict others or, if it no longer fits,
            // the level itself.
            let bytes = u64::from(image.length());
            let evicted = evicted_levels(
                inner.policy.borrow_mut().record_stored(key.clone(), bytes),
                inner.level_side,
            );
            let row = LevelRow {
                key: level_key(&key, inner.level_side),
                width,
                height,
                natural_width: natural.0,
                natural_height: natural.1,
                mime,
                image: JsBytes(image),
            };
            let _ = store.delete_levels(&evicted).await;
            if evicted.contains(&row.key) {
                return;
            }
            let index = LevelIndexRow {
                key: row.key.clone(),
                bytes,
                used_ms: js_sys::Date::now(),
            };
            let mut written = store.put_level(&row, &index).await;
            if written.as_ref().is_err_and(|e| e.is_quota()) {
                let evicted = evicted_levels(
                    inner.policy.borrow_mut().make_room_in_store(bytes),
                    inner.level_side,
                );
                let _ = store.delete_levels(&evicted).await;
                // Room made by evicting this very level leaves nothing to retry.
                if !evicted.contains(&row.key) {
                    written = store.put_level(&row, &index).await;
                }
            }
            match written {
                // Forgotten while it was being written (a read found it missing): the row
                // must not outlive the policy's knowledge of it.
                Ok(()) if !inner.policy.borrow().in_store(&key) => {
                    let _ = store.delete_levels(std::slice::from_ref(&row.key)).await;
                }
                Ok(()) => {}
                Err(error) => {
                    // Only a cache entry is lost; the console says why for whoever looks.
                    web_sys::console::warn_1(
                        &format!("sightline cache: level not kept: {error}").into(),
                    );
                    inner.policy.borrow_mut().forget_stored(&key);
                }
            }
            pipeline.refresh_figures();
        });
    }

    /// Answers a full disk on a write that must not be dropped (annotations): the cache
    /// gives way first, evicting stored levels worth at least `bytes`. Returns whether any
    /// were evicted (so that the write is worth retrying at once).
    pub async fn make_room(&self, bytes: u64) -> bool {
        let inner = self.inner();
        let evicted = evicted_levels(
            inner.policy.borrow_mut().make_room_in_store(bytes),
            inner.level_side,
        );
        if evicted.is_empty() {
            return false;
        }
        let deleted = match inner.storage.store().await {
            Ok(store) => store.delete_levels(&evicted).await.is_ok(),
            Err(_) => false,
        };
        self.refresh_figures();
        deleted
    }

    /// Reads tier 2's index (its rows only, no pixels) into the policy, oldest first.
    fn restore_store_index(&self) {
        let pipeline = *self;
        leptos::task::spawn_local(async move {
            let inner = pipeline.inner();
            let Ok(store) = inner.storage.store().await else {
                return;
            };
            let Ok(mut rows) = store.level_index().await else {
                return;
            };
            rows.sort_by(|a, b| a.used_ms.total_cmp(&b.used_ms));
            let mut stale = Vec::new();
            for row in rows {
                // Levels of another side (an older build) are not this cache's: drop them.
                let Some(key) = level_content_key(&row.key, inner.level_side) else {
                    stale.push(row.key);
                    continue;
                };
                let evicted = inner
                    .policy
                    .borrow_mut()
                    .record_stored(key.to_owned(), row.bytes);
                stale.extend(evicted_levels(evicted, inner.level_side));
            }
            let _ = store.delete_levels(&stale).await;
            pipeline.refresh_figures();
        });
    }

    /// Records one inference span (ms per image) and the images/s of a finished batch job.
    pub fn record_inference(&self, backend: &str, millis_per_image: f64) {
        self.inner()
            .timings
            .borrow_mut()
            .record(&format!("inference {backend}"), millis_per_image);
        self.refresh_figures();
    }

    /// The images/s of the last batch job.
    pub fn record_batch_rate(&self, images_per_s: f64) {
        self.batch_rate.set(Some(images_per_s));
    }

    /// Import progress for the panel (`None` when no import runs).
    pub fn set_import_progress(&self, progress: Option<(usize, usize)>) {
        self.import.set(progress);
    }

    fn refresh_figures(&self) {
        self.changed.update(|n| *n += 1);
    }
}

/// The performance panel's figures from the pipeline's state.
fn figures_of(
    inner: &Inner,
    last_batch_images_per_s: Option<f64>,
    import: Option<(usize, usize)>,
) -> PipelineFigures {
    let timings = inner.timings.borrow();
    let summaries = timings.summaries();
    let named = |prefix: &str| {
        summaries
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .cloned()
            .collect()
    };
    let (thumbnails_done, thumbnails_total) = inner.thumbnails.progress();
    PipelineFigures {
        cache: inner.policy.borrow().stats(),
        decode: summaries
            .iter()
            .find(|(name, _)| name == "decode")
            .map(|(_, summary)| *summary),
        open: named("open "),
        inference: named("inference "),
        last_batch_images_per_s,
        thumbnails_done,
        thumbnails_total,
        import,
    }
}
