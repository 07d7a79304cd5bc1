//! The user's settings (the settings dialog): their defaults, their limits, and reading them
//! back from the JSON the page saved.
//!
//! Here rather than in the page so that the limits are tested natively and the worker can
//! share the types. A value out of range is refused with the reason (the dialog shows it);
//! a saved file that is old, hand-edited or damaged still loads, field by field, each bad
//! field taking its default and being reported rather than losing every setting.

use std::ops::RangeInclusive;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sightline_core::image_cache::CacheBudgets;
use sightline_core::units::BYTES_PER_MB;

use crate::{BackendChoice, DetectParams, PrecisionChoice};

/// Tier-1 cache (decoded bitmaps in memory) by default: room for about twenty 12 MP photos.
pub const MEMORY_CACHE_MB_DEFAULT: u32 = 512;
/// Below 64 MB a single large photo would not stay decoded; above 16 GB is beyond what a
/// browser tab may hold.
pub const MEMORY_CACHE_MB: RangeInclusive<u32> = 64..=16_384;
/// Tier-2 cache (stored levels in IndexedDB) by default.
pub const STORE_CACHE_MB_DEFAULT: u32 = 2_048;
/// Zero turns tier 2 off; 64 GB is far beyond what browsers grant a site by default.
pub const STORE_CACHE_MB: RangeInclusive<u32> = 0..=65_536;
/// Images decoded ahead of and behind the current one.
pub const PREFETCH_DEPTH_DEFAULT: u32 = 2;
/// More than 8 each way spends memory on images a user rarely reaches before moving on.
pub const PREFETCH_DEPTH: RangeInclusive<u32> = 0..=8;
/// Decodes at once; the default takes a core less than the machine has (the page needs
/// one), up to this many.
pub const DECODER_CONCURRENCY_DEFAULT_MAX: u32 = 4;
/// Decodes at once, at least one.
pub const DECODER_CONCURRENCY: RangeInclusive<u32> = 1..=16;
/// Images per forward pass; GPU memory grows with it.
pub const BATCH_SIZE: RangeInclusive<u32> = 1..=64;

/// The names errors give the fields: what the dialog labels them, so a reason reads whole.
pub mod field {
    /// [`Settings::memory_cache_mb`](super::Settings::memory_cache_mb).
    pub const MEMORY_CACHE: &str = "memory cache";
    /// [`Settings::store_cache_mb`](super::Settings::store_cache_mb).
    pub const STORE_CACHE: &str = "stored cache";
    /// [`Settings::prefetch_depth`](super::Settings::prefetch_depth).
    pub const PREFETCH_DEPTH: &str = "prefetch depth";
    /// [`Settings::decoder_concurrency`](super::Settings::decoder_concurrency).
    pub const DECODER_CONCURRENCY: &str = "decoder concurrency";
    /// [`Settings::batch_size`](super::Settings::batch_size).
    pub const BATCH_SIZE: &str = "batch size";
    /// [`Settings::backend`](super::Settings::backend).
    pub const BACKEND: &str = "backend";
    /// [`Settings::precision`](super::Settings::precision).
    pub const PRECISION: &str = "precision";
    /// The saved settings as a whole (not JSON, or not an object).
    pub const ALL: &str = "settings";
}

/// The user's settings, persisted by the page as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Budget of decoded bitmaps in memory, in MB ([`MEMORY_CACHE_MB`]).
    pub memory_cache_mb: u32,
    /// Budget of stored levels in IndexedDB, in MB; 0 turns tier 2 off ([`STORE_CACHE_MB`]).
    pub store_cache_mb: u32,
    /// Images prefetched ahead and behind the current one ([`PREFETCH_DEPTH`]).
    pub prefetch_depth: u32,
    /// Images decoded at once ([`DECODER_CONCURRENCY`]).
    pub decoder_concurrency: u32,
    /// Images per forward pass of a batch job ([`BATCH_SIZE`]).
    pub batch_size: u32,
    /// Where models run.
    pub backend: BackendChoice,
    /// The number format models compute in.
    pub precision: PrecisionChoice,
}

/// Why one field was refused (or, on loading, replaced by its default).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SettingsError {
    /// One of the [`field`] names.
    pub field: &'static str,
    /// Why, in words for the dialog.
    pub reason: String,
}

/// A whole-number setting: where it lives in the JSON (and the dialog's test id), its name
/// and unit in messages, its limits, and how to read and write it. [`NUMBERS`] lists them
/// all, for validation, loading and the settings dialog.
pub struct NumberSetting {
    /// The [`Settings`] field's name in the JSON.
    pub key: &'static str,
    /// One of the [`field`] names.
    pub field: &'static str,
    unit: &'static str,
    pub range: RangeInclusive<u32>,
    pub get: fn(&Settings) -> u32,
    pub set: fn(&mut Settings, u32),
}

impl NumberSetting {
    /// `value` if within the limits, else why not.
    pub fn check(&self, value: u32) -> Result<(), SettingsError> {
        let (min, max, unit) = (self.range.start(), self.range.end(), self.unit);
        let reason = if value < *min {
            format!("{value}{unit} is below the {min}{unit} minimum")
        } else if value > *max {
            format!("{value}{unit} is above the {max}{unit} maximum")
        } else {
            return Ok(());
        };
        Err(SettingsError {
            field: self.field,
            reason,
        })
    }
}

/// Every whole-number setting, in the dialog's order.
pub static NUMBERS: [NumberSetting; 5] = [
    NumberSetting {
        key: "memory_cache_mb",
        field: field::MEMORY_CACHE,
        unit: " MB",
        range: MEMORY_CACHE_MB,
        get: |s| s.memory_cache_mb,
        set: |s, v| s.memory_cache_mb = v,
    },
    NumberSetting {
        key: "store_cache_mb",
        field: field::STORE_CACHE,
        unit: " MB",
        range: STORE_CACHE_MB,
        get: |s| s.store_cache_mb,
        set: |s, v| s.store_cache_mb = v,
    },
    NumberSetting {
        key: "prefetch_depth",
        field: field::PREFETCH_DEPTH,
        unit: " images",
        range: PREFETCH_DEPTH,
        get: |s| s.prefetch_depth,
        set: |s, v| s.prefetch_depth = v,
    },
    NumberSetting {
        key: "decoder_concurrency",
        field: field::DECODER_CONCURRENCY,
        unit: " decoders",
        range: DECODER_CONCURRENCY,
        get: |s| s.decoder_concurrency,
        set: |s, v| s.decoder_concurrency = v,
    },
    NumberSetting {
        key: "batch_size",
        field: field::BATCH_SIZE,
        unit: " images",
        range: BATCH_SIZE,
        get: |s| s.batch_size,
        set: |s, v| s.batch_size = v,
    },
];

impl Settings {
    /// The defaults on a machine with `hardware_concurrency` logical cores
    /// (`navigator.hardwareConcurrency`).
    pub fn defaults(hardware_concurrency: u32) -> Self {
        Self {
            memory_cache_mb: MEMORY_CACHE_MB_DEFAULT,
            store_cache_mb: STORE_CACHE_MB_DEFAULT,
            prefetch_depth: PREFETCH_DEPTH_DEFAULT,
            decoder_concurrency: hardware_concurrency.saturating_sub(1).clamp(
                *DECODER_CONCURRENCY.start(),
                DECODER_CONCURRENCY_DEFAULT_MAX,
            ),
            batch_size: DetectParams::default().batch,
            backend: BackendChoice::default(),
            precision: PrecisionChoice::default(),
        }
    }

    /// Every field out of range, each with why ("memory cache: 10 MB is below the 64 MB
    /// minimum").
    pub fn validate(&self) -> Result<(), Vec<SettingsError>> {
        let errors: Vec<SettingsError> = NUMBERS
            .iter()
            .filter_map(|number| number.check((number.get)(self)).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Reads saved JSON. A missing, unreadable or out-of-range field takes its default and is
    /// reported, so a settings file from an older build (or a damaged one) still loads.
    pub fn from_json(text: &str, hardware_concurrency: u32) -> (Settings, Vec<SettingsError>) {
        let defaults = Settings::defaults(hardware_concurrency);
        let object = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return (defaults, vec![unreadable_file("not a JSON object")]),
            Err(err) => return (defaults, vec![unreadable_file(&err.to_string())]),
        };
        let mut errors = Vec::new();
        let mut settings = defaults.clone();
        for number in &NUMBERS {
            let default = (number.get)(&defaults);
            let value = read(&object, number.key, number.field, default, &mut errors);
            let value = match number.check(value) {
                Ok(()) => value,
                Err(mut err) => {
                    err.reason = format!("{}; the default {default} is used", err.reason);
                    errors.push(err);
                    default
                }
            };
            (number.set)(&mut settings, value);
        }
        settings.backend = read(
            &object,
            "backend",
            field::BACKEND,
            defaults.backend,
            &mut errors,
        );
        settings.precision = read(
            &object,
            "precision",
            field::PRECISION,
            defaults.precision,
            &mut errors,
        );
        (settings, errors)
    }

    /// The JSON the page saves.
    pub fn to_json(&self) -> String {
        // Only numbers and unit enum variants: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The cache budgets these settings ask for (1 MB = 1024 × 1024 bytes).
    pub fn cache_budgets(&self) -> CacheBudgets {
        CacheBudgets {
            memory_bytes: u64::from(self.memory_cache_mb) * BYTES_PER_MB,
            store_bytes: u64::from(self.store_cache_mb) * BYTES_PER_MB,
        }
    }
}

fn unreadable_file(why: &str) -> SettingsError {
    SettingsError {
        field: field::ALL,
        reason: format!("could not be read ({why}); the defaults are used"),
    }
}

/// Field `key` of the saved object, or `default` with the reason added to `errors`.
fn read<T: DeserializeOwned + std::fmt::Debug>(
    object: &Map<String, Value>,
    key: &str,
    field: &'static str,
    default: T,
    errors: &mut Vec<SettingsError>,
) -> T {
    let why = match object.get(key) {
        None => "missing".to_owned(),
        Some(value) => match T::deserialize(value) {
            Ok(value) => return value,
            Err(err) => format!("{value} could not be read ({err})"),
        },
    };
    errors.push(SettingsError {
        field,
        reason: format!("{why}; the default {default:?} is used"),
    });
    default
}
