//! Opening files as a new project, whichever way they came: the "Open folder…" and "Open
//! files…" pickers, a drop on the window (files or whole folders), or the operating system
//! opening them with the installed app (`launchQueue`). The project opens at once from the
//! files; the originals are then stored in the background with progress and cancel.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::autosave::Storage;
use crate::folder_import::{Picked, start_import, store_originals};
use crate::navigation::Navigation;
use crate::pipeline::ImagePipeline;
use crate::project_open::open_imported;
use crate::studio::Studio;

/// An import in progress: images stored so far, and the switch that cancels it.
#[derive(Clone)]
pub struct Importing {
    pub done: usize,
    pub total: usize,
    pub cancel: Rc<Cell<bool>>,
}

#[derive(Clone, Copy)]
pub struct Importer {
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    pipeline: ImagePipeline,
    pub importing: RwSignal<Option<Importing>, LocalStorage>,
}

impl Importer {
    pub fn new(nav: Navigation, studio: Studio, storage: Storage, pipeline: ImagePipeline) -> Self {
        Self {
            nav,
            studio,
            storage,
            pipeline,
            importing: RwSignal::new_local(None),
        }
    }

    /// Opens `files` as a new project (one import at a time).
    pub fn import(self, files: Vec<Picked>) {
        if files.is_empty() || self.importing.with_untracked(Option::is_some) {
            return;
        }
        let Self {
            nav,
            studio,
            storage,
            pipeline,
            importing,
        } = self;
        let cancel = Rc::new(Cell::new(false));
        importing.set(Some(Importing {
            done: 0,
            total: 0,
            cancel: cancel.clone(),
        }));
        leptos::task::spawn_local(async move {
            let progress = move |done: usize, total: usize| {
                pipeline.set_import_progress(Some((done, total)));
                importing.update(|i| {
                    if let Some(i) = i {
                        i.done = done;
                        i.total = total;
                    }
                })
            };
            let started = match start_import(storage, files).await {
                Ok(started) => started,
                Err(failure) => {
                    importing.set(None);
                    studio.ui.import_report.set(Some(vec![failure.to_string()]));
                    studio.ui.notice.set(Some(failure.to_string()));
                    return;
                }
            };
            studio.ui.import_report.set(Some(started.report.clone()));
            if let Err(error) = storage.refresh_projects().await {
                studio.ui.notice.set(Some(error.to_string()));
            }
            let project_id = started.project.id.clone();
            let import_id = project_id.clone();
            open_imported(
                nav,
                studio,
                storage,
                started.project,
                started.manifest,
                started.files.clone(),
            );
            // The originals are stored while the user already works on the images.
            let stored = move |path: &str, key: &str| {
                pipeline.learn_stored(path, key);
                if studio.doc.project_id.get_untracked() == project_id {
                    studio.doc.blob_keys.update_value(|keys| {
                        keys.insert(path.to_owned(), key.to_owned());
                    });
                }
            };
            let outcome = store_originals(
                storage,
                import_id,
                started.to_store,
                started.files,
                cancel,
                progress,
                stored,
            )
            .await;
            importing.set(None);
            pipeline.set_import_progress(None);
            match outcome {
                Ok(problems) if problems.is_empty() => {}
                Ok(problems) => studio.ui.import_report.update(|report| {
                    report.get_or_insert_with(Vec::new).extend(problems);
                }),
                Err(failure) => studio.ui.notice.set(Some(failure.to_string())),
            }
        });
    }

    /// Files dropped anywhere on the window, and files the OS opens the installed app with,
    /// are imported like picked ones.
    pub fn accept_from_outside(self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let drag_over = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
            // Without this the browser opens a dropped file in place of the app.
            event.prevent_default();
        });
        let drop = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            // The entries must be taken during the event; they are read afterwards.
            let items = dropped_items(&event);
            leptos::task::spawn_local(async move {
                let mut files = Vec::new();
                for item in items {
                    match item {
                        Dropped::Entry(entry) => collect_entry(entry, &mut files).await,
                        Dropped::File(file) => files.push(Picked {
                            path: file.name(),
                            file,
                        }),
                    }
                }
                self.import(files);
            });
        });
        let _ =
            window.add_event_listener_with_callback("dragover", drag_over.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("drop", drop.as_ref().unchecked_ref());
        drag_over.forget();
        drop.forget();

        let Ok(queue) = js_sys::Reflect::get(&window, &"launchQueue".into()) else {
            return;
        };
        let Ok(set_consumer) = js_sys::Reflect::get(&queue, &"setConsumer".into()) else {
            return;
        };
        let Some(set_consumer) = set_consumer.dyn_ref::<js_sys::Function>() else {
            return;
        };
        let consumer = Closure::<dyn FnMut(JsValue)>::new(move |params: JsValue| {
            let handles = js_sys::Reflect::get(&params, &"files".into())
                .map(|f| js_sys::Array::from(&f))
                .unwrap_or_default();
            leptos::task::spawn_local(async move {
                let mut files = Vec::new();
                for handle in handles.iter() {
                    if let Some(file) = call_async(&handle, "getFile").await {
                        let file: web_sys::File = file.unchecked_into();
                        files.push(Picked {
                            path: file.name(),
                            file,
                        });
                    }
                }
                self.import(files);
            });
        });
        let _ = set_consumer.call1(&queue, consumer.as_ref());
        consumer.forget();
    }
}

/// A dropped item: an entry to read (a file or a whole folder), or only its file (items
/// made by script carry no entry).
enum Dropped {
    Entry(JsValue),
    File(web_sys::File),
}

/// Every dropped item, taken while the event lasts (its items are emptied after it).
fn dropped_items(event: &web_sys::Event) -> Vec<Dropped> {
    let Ok(transfer) = js_sys::Reflect::get(event, &"dataTransfer".into()) else {
        return Vec::new();
    };
    let items = js_sys::Reflect::get(&transfer, &"items".into())
        .map(|items| js_sys::Array::from(&items))
        .unwrap_or_default();
    let call = |item: &JsValue, method: &str| {
        js_sys::Reflect::get(item, &method.into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(item).ok())
            .filter(|value| !value.is_null() && !value.is_undefined())
    };
    items
        .iter()
        .filter_map(|item| match call(&item, "webkitGetAsEntry") {
            Some(entry) => Some(Dropped::Entry(entry)),
            None => call(&item, "getAsFile").map(|file| Dropped::File(file.unchecked_into())),
        })
        .collect()
}

/// Adds the files under `entry` (a file, or a folder read recursively) with their paths.
async fn collect_entry(entry: JsValue, out: &mut Vec<Picked>) {
    let mut pending = vec![entry];
    while let Some(entry) = pending.pop() {
        let is_file = js_sys::Reflect::get(&entry, &"isFile".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let path = js_sys::Reflect::get(&entry, &"fullPath".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        if is_file {
            if let Some(file) = call_with_callback(&entry, "file").await {
                out.push(Picked {
                    path,
                    file: file.unchecked_into(),
                });
            }
            continue;
        }
        let Some(reader) = js_sys::Reflect::get(&entry, &"createReader".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(&entry).ok())
        else {
            continue;
        };
        // `readEntries` answers in batches (100 in Chromium) until an empty one.
        while let Some(batch) = call_with_callback(&reader, "readEntries").await {
            let batch = js_sys::Array::from(&batch);
            if batch.length() == 0 {
                break;
            }
            pending.extend(batch.iter());
        }
    }
}

/// Calls `target.method(onSuccess, onError)` and waits for either.
async fn call_with_callback(target: &JsValue, method: &str) -> Option<JsValue> {
    let function = js_sys::Reflect::get(target, &method.into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let target = target.clone();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let _ = function.call2(&target, &resolve, &reject);
    });
    JsFuture::from(promise).await.ok()
}

/// Calls `target.method()`, which returns a promise, and waits for it.
async fn call_async(target: &JsValue, method: &str) -> Option<JsValue> {
    let function = js_sys::Reflect::get(target, &method.into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = function.call0(target).ok()?;
    JsFuture::from(js_sys::Promise::from(promise)).await.ok()
}
