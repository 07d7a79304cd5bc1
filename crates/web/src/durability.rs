//! Asking the browser to keep the site's data (`navigator.storage.persist()`) and reading
//! how full its storage is (`estimate()`); what the user is told about it is
//! `core::durability`'s.
//!
//! The browser is asked once per profile, when the user first has a project of their own
//! (the demo alone holds nothing worth a prompt); the settings can ask again.

use std::time::Duration;

use leptos::prelude::*;
use sightline_core::durability::StorageFacts;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::storage::local_storage;

/// Remembers, per profile, that the browser was asked (it answers the same way until the
/// user's engagement with the site changes; asking on every start would only add noise).
const ASKED_KEY: &str = "sightline-persist-asked";
const ESTIMATE_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
pub struct Durability {
    pub facts: RwSignal<StorageFacts>,
}

impl Durability {
    /// Reads what the browser says now, and the usage again every 30 s.
    pub fn start() -> Self {
        let durability = Self {
            facts: RwSignal::new(StorageFacts::default()),
        };
        durability.refresh();
        let handle = set_interval_with_handle(move || durability.refresh(), ESTIMATE_EVERY);
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
        durability
    }

    /// Re-reads whether the data is kept and how full the storage is.
    pub fn refresh(&self) {
        let facts = self.facts;
        leptos::task::spawn_local(async move {
            let Some(manager) = storage_manager() else {
                return;
            };
            let persisted = settle(manager.persisted()).await.and_then(|v| v.as_bool());
            let estimate = settle(manager.estimate())
                .await
                .map(web_sys::StorageEstimate::unchecked_from_js);
            let usage_bytes = estimate.as_ref().and_then(|e| e.get_usage());
            let quota_bytes = estimate.as_ref().and_then(|e| e.get_quota());
            facts.update(|facts| {
                *facts = StorageFacts {
                    persisted,
                    usage_bytes: usage_bytes.map(|b| b as u64),
                    quota_bytes: quota_bytes.map(|b| b as u64),
                    write_refused: facts.write_refused,
                }
            });
        });
    }

    /// Whether the browser refused the last save for want of space; shown at once, with the
    /// usage read again.
    pub fn set_write_refused(&self, refused: bool) {
        if self.facts.with_untracked(|facts| facts.write_refused) != refused {
            self.facts.update(|facts| facts.write_refused = refused);
            self.refresh();
        }
    }

    /// Asks the browser to keep the site's data, then shows its answer.
    pub fn ask(&self) {
        let durability = *self;
        if let Some(local) = local_storage() {
            let _ = local.set_item(ASKED_KEY, "1");
        }
        leptos::task::spawn_local(async move {
            if let Some(manager) = storage_manager() {
                // The answer is read back by `refresh`, with the rest.
                let _ = settle(manager.persist()).await;
            }
            durability.refresh();
        });
    }

    /// [`Durability::ask`], unless this profile was asked before.
    pub fn ask_once(&self) {
        let asked = local_storage()
            .and_then(|local| local.get_item(ASKED_KEY).ok().flatten())
            .is_some();
        if !asked {
            self.ask();
        }
    }
}

/// `navigator.storage`, where the browser has one (secure contexts only).
fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    let manager = js_sys::Reflect::get(&navigator, &"storage".into()).ok()?;
    manager.dyn_into().ok()
}

/// The value of a promise the Storage API returned; `None` on any failure (the facts then
/// stay unknown, which the status bar says).
async fn settle(promise: Result<js_sys::Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}
