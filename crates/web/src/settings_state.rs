//! The user's settings (the settings dialog), persisted in `localStorage` and applied where
//! they act: cache budgets, prefetch depth and decoders in the image pipeline; batch size,
//! backend and precision in the AI state, which the AI panel also edits (so those three are
//! read from it, one source of truth). Validation is `protocol::settings`'.

use leptos::prelude::*;
use sightline_protocol::settings::{Settings, SettingsError};

use crate::ai::{Ai, AiSettings};
use crate::pipeline::ImagePipeline;
use crate::storage::local_storage;

/// Where the settings are kept.
const SETTINGS_KEY: &str = "sightline.settings";

/// The browser's logical core count (`navigator.hardwareConcurrency`), for the defaults.
pub fn hardware_concurrency() -> u32 {
    web_sys::window().map_or(1, |w| w.navigator().hardware_concurrency() as u32)
}

/// The saved settings, or the defaults; problems of a saved file are logged, and the
/// fields that had them take their defaults.
pub fn load_saved() -> Settings {
    let cores = hardware_concurrency();
    let Some(text) = local_storage().and_then(|s| s.get_item(SETTINGS_KEY).ok()?) else {
        return Settings::defaults(cores);
    };
    let (settings, problems) = Settings::from_json(&text, cores);
    for problem in problems {
        web_sys::console::warn_1(&format!("sightline settings: {problem}").into());
    }
    settings
}

/// Settings state, provided as context.
#[derive(Clone, Copy)]
pub struct SettingsState {
    saved: RwSignal<Settings>,
    /// The settings in force: the saved ones, with the AI panel's batch size, backend and
    /// precision.
    current: Signal<Settings>,
    ai: Ai,
    pipeline: ImagePipeline,
}

impl SettingsState {
    /// `saved` as `load_saved` read it (the pipeline was made with it).
    pub fn new(saved: Settings, ai: Ai, pipeline: ImagePipeline) -> Self {
        let saved = RwSignal::new(saved);
        let current = Signal::derive(move || {
            let ai = ai.settings.get();
            Settings {
                batch_size: ai.params.batch,
                backend: ai.backend,
                precision: ai.params.precision,
                ..saved.get()
            }
        });
        Self {
            saved,
            current,
            ai,
            pipeline,
        }
    }

    /// The settings in force (tracked).
    pub fn settings(&self) -> Signal<Settings> {
        self.current
    }

    /// Validates, persists and applies `settings`; refused with every field's reason.
    pub fn save(&self, settings: Settings) -> Result<(), Vec<SettingsError>> {
        settings.validate()?;
        if let Some(local) = local_storage() {
            let _ = local.set_item(SETTINGS_KEY, &settings.to_json());
        }
        let ai = self.ai.settings.get_untracked();
        let mut params = ai.params;
        params.batch = settings.batch_size;
        params.precision = settings.precision;
        self.ai.save_settings(AiSettings {
            params,
            backend: settings.backend,
        });
        self.pipeline.apply_settings(&settings);
        self.saved.set(settings);
        Ok(())
    }
}
