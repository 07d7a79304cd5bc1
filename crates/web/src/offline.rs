//! The installed, offline app as the page sees it: the service worker (`sw.js`, written per
//! build by `cargo xtask pwa`) and its updates, the browser's install prompt, whether the
//! page is cross-origin isolated, and caching the AI files for use without a network.
//!
//! Updates wait for the user: a new build installs beside the running one and
//! `update_ready` turns on; [`Offline::apply_update`] lets it take over and reloads once it
//! has, so a page never runs on two builds' files.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::image_loader::{absolute_url, js_error_text};

/// The files the worker needs, as the build names them (see `xtask/src/pwa.rs`).
const AI_FILES: [&str; 2] = ["worker.js", "worker_bg.wasm"];

/// Making AI available offline: where it stands.
#[derive(Clone, Debug, PartialEq)]
pub enum AiFiles {
    /// Not looked at yet, or no service worker (nothing can be kept).
    Unknown,
    Missing,
    Caching {
        done: f64,
        total: f64,
    },
    Cached,
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct Offline {
    /// The build's version (stamped into index.html by the build), empty in a build without.
    pub build: &'static str,
    /// `crossOriginIsolated`: SharedArrayBuffer and wasm threads are available.
    pub isolated: bool,
    /// A service worker serves this page: it reloads with the network gone.
    pub controlled: RwSignal<bool>,
    pub update_ready: RwSignal<bool>,
    /// The browser offered to install the app (`beforeinstallprompt`).
    pub can_install: RwSignal<bool>,
    pub ai_files: RwSignal<AiFiles>,
    install_event: StoredValue<Option<JsValue>, LocalStorage>,
    registration: StoredValue<Option<web_sys::ServiceWorkerRegistration>, LocalStorage>,
    /// The user accepted an update: reload when the new worker takes over.
    reload_on_change: StoredValue<Rc<Cell<bool>>, LocalStorage>,
    cancel_caching: StoredValue<Option<web_sys::AbortController>, LocalStorage>,
}

impl Offline {
    /// Reads the page's state and registers the service worker.
    pub fn start() -> Self {
        let window = web_sys::window();
        let isolated = window
            .as_ref()
            .and_then(|w| js_sys::Reflect::get(w, &"crossOriginIsolated".into()).ok())
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let offline = Self {
            build: build_version(),
            isolated,
            controlled: RwSignal::new(false),
            update_ready: RwSignal::new(false),
            can_install: RwSignal::new(false),
            ai_files: RwSignal::new(AiFiles::Unknown),
            install_event: StoredValue::new_local(None),
            registration: StoredValue::new_local(None),
            reload_on_change: StoredValue::new_local(Rc::new(Cell::new(false))),
            cancel_caching: StoredValue::new_local(None),
        };
        offline.listen_for_install();
        if let Some(container) = service_workers() {
            offline.controlled.set(container.controller().is_some());
            let reload = offline.reload_on_change.get_value();
            let controlled = offline.controlled;
            let on_change = Closure::<dyn FnMut()>::new(move || {
                controlled.set(true);
                if reload.get() {
                    let _ = web_sys::window().map(|w| w.location().reload());
                }
            });
            container.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
            on_change.forget();
            leptos::task::spawn_local(offline.register(container));
        }
        offline
    }

    async fn register(self, container: web_sys::ServiceWorkerContainer) {
        let options = web_sys::RegistrationOptions::new();
        options.set_scope("./");
        let registration = match JsFuture::from(container.register_with_options("sw.js", &options))
            .await
            .map(|r| r.dyn_into::<web_sys::ServiceWorkerRegistration>())
        {
            Ok(Ok(registration)) => registration,
            // A browser that blocks service workers (a policy, an automation flag) answers
            // with nothing: the app works online only.
            Ok(Err(_)) => return,
            Err(error) => {
                web_sys::console::warn_1(
                    &format!(
                        "the service worker did not register: {}",
                        js_error_text(&error)
                    )
                    .into(),
                );
                return;
            }
        };
        self.registration.set_value(Some(registration.clone()));
        let has_controller =
            move || service_workers().is_some_and(|container| container.controller().is_some());
        // A build that finished installing while an older one serves the page waits for the
        // user; the very first install has nothing to replace and takes over by itself.
        if registration.waiting().is_some() && has_controller() {
            self.update_ready.set(true);
        }
        let update_ready = self.update_ready;
        let watched = registration.clone();
        let on_found = Closure::<dyn FnMut()>::new(move || {
            let Some(installing) = watched.installing() else {
                return;
            };
            let worker = installing.clone();
            let on_state = Closure::<dyn FnMut()>::new(move || {
                if worker.state() == web_sys::ServiceWorkerState::Installed && has_controller() {
                    update_ready.set(true);
                }
            });
            installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        registration.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
        on_found.forget();
        if let Ok(promise) = registration.update() {
            let _ = JsFuture::from(promise).await;
        }
        self.refresh_ai_files().await;
    }

    /// Lets the waiting build take over; the page reloads on it.
    pub fn apply_update(&self) {
        let Some(waiting) = self.registration.with_value(|r| {
            r.as_ref()
                .and_then(web_sys::ServiceWorkerRegistration::waiting)
        }) else {
            return;
        };
        self.reload_on_change.with_value(|reload| reload.set(true));
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"skip-waiting".into());
        let _ = waiting.post_message(&message);
    }

    fn listen_for_install(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let (event_slot, can_install) = (self.install_event, self.can_install);
        let on_prompt = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            // Keep the browser's own mini-bar away; the status bar offers "Install".
            event.prevent_default();
            event_slot.set_value(Some(event.into()));
            can_install.set(true);
        });
        let on_installed = Closure::<dyn FnMut()>::new(move || {
            event_slot.set_value(None);
            can_install.set(false);
        });
        let _ = window.add_event_listener_with_callback(
            "beforeinstallprompt",
            on_prompt.as_ref().unchecked_ref(),
        );
        let _ = window.add_event_listener_with_callback(
            "appinstalled",
            on_installed.as_ref().unchecked_ref(),
        );
        on_prompt.forget();
        on_installed.forget();
    }

    /// Shows the browser's install dialog (it can be shown once per offer).
    pub fn install(&self) {
        let Some(event) = self.install_event.get_value() else {
            return;
        };
        self.install_event.set_value(None);
        self.can_install.set(false);
        if let Ok(prompt) = js_sys::Reflect::get(&event, &"prompt".into())
            && let Some(prompt) = prompt.dyn_ref::<js_sys::Function>()
        {
            let _ = prompt.call0(&event);
        }
    }

    /// Whether every AI file is in the service worker's caches.
    pub async fn refresh_ai_files(&self) {
        if !self.controlled.get_untracked() {
            return;
        }
        let Some(caches) = web_sys::window().and_then(|w| w.caches().ok()) else {
            return;
        };
        let mut all = true;
        for file in AI_FILES {
            let found = JsFuture::from(caches.match_with_str(&absolute_url(file)))
                .await
                .is_ok_and(|hit| !hit.is_undefined());
            all &= found;
        }
        if !matches!(self.ai_files.get_untracked(), AiFiles::Caching { .. }) {
            self.ai_files.set(if all {
                AiFiles::Cached
            } else {
                AiFiles::Missing
            });
        }
    }

    /// Downloads the worker's files through the service worker, which keeps them, with
    /// progress; [`Offline::cancel_ai_files`] stops it.
    pub async fn cache_ai_files(self) {
        if !self.controlled.get_untracked() {
            self.ai_files.set(AiFiles::Failed(
                "no service worker serves this page yet: reload it once, then try again".into(),
            ));
            return;
        }
        let Ok(controller) = web_sys::AbortController::new() else {
            return;
        };
        self.cancel_caching.set_value(Some(controller.clone()));
        let result = self.download(&controller.signal()).await;
        self.cancel_caching.set_value(None);
        match result {
            Ok(()) => {
                self.ai_files.set(AiFiles::Missing);
                self.refresh_ai_files().await;
            }
            Err(error) => self.ai_files.set(AiFiles::Failed(error)),
        }
    }

    pub fn cancel_ai_files(&self) {
        self.cancel_caching.with_value(|c| {
            if let Some(controller) = c {
                controller.abort();
            }
        });
    }

    async fn download(&self, signal: &web_sys::AbortSignal) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let mut responses = Vec::new();
        let mut total = 0.0;
        for file in AI_FILES {
            let init = web_sys::RequestInit::new();
            init.set_signal(Some(signal));
            let response: web_sys::Response =
                JsFuture::from(window.fetch_with_str_and_init(file, &init))
                    .await
                    .map_err(|e| format!("{file}: {}", js_error_text(&e)))?
                    .unchecked_into();
            if !response.ok() {
                return Err(format!("{file}: HTTP {}", response.status()));
            }
            total += response
                .headers()
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0);
            responses.push(response);
        }
        let mut done = 0.0;
        self.ai_files.set(AiFiles::Caching { done, total });
        for response in responses {
            let Some(body) = response.body() else {
                continue;
            };
            let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
            loop {
                let chunk = JsFuture::from(reader.read()).await.map_err(|e| {
                    if signal.aborted() {
                        "cancelled".to_owned()
                    } else {
                        js_error_text(&e)
                    }
                })?;
                let finished = js_sys::Reflect::get(&chunk, &"done".into())
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true);
                if finished {
                    break;
                }
                if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
                    done += f64::from(value.unchecked_into::<js_sys::Uint8Array>().length());
                }
                // A compressed transfer reads more bytes than its Content-Length says.
                self.ai_files.set(AiFiles::Caching {
                    done,
                    total: total.max(done),
                });
            }
        }
        Ok(())
    }
}

fn service_workers() -> Option<web_sys::ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    // Absent on insecure origins (plain http other than localhost).
    js_sys::Reflect::get(&navigator, &"serviceWorker".into())
        .ok()
        .filter(|v| !v.is_undefined())?;
    Some(navigator.service_worker())
}

/// The version the build stamped into `<meta name="sightline-build">`. Read once per page
/// and kept for its lifetime (leaked), so that `Offline` stays `Copy` like the other contexts.
fn build_version() -> &'static str {
    let version = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("meta[name=sightline-build]")
                .ok()
                .flatten()
        })
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_default();
    Box::leak(version.into_boxed_str())
}

/// "12.3 MB" for progress lines.
pub fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}
