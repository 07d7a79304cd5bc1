//! Settings: valid defaults, each limit refused with its reason, loading saved JSON field by
//! field, and the round trip.

use sightline_core::image_cache::CacheBudgets;
use sightline_protocol::settings::{
    BATCH_SIZE, DECODER_CONCURRENCY, MEMORY_CACHE_MB, PREFETCH_DEPTH, STORE_CACHE_MB, Settings,
    SettingsError, field,
};
use sightline_protocol::{BackendChoice, DetectParams, PrecisionChoice};

#[test]
fn defaults_are_valid_and_follow_the_core_count() {
    for (cores, decoders) in [(0, 1), (1, 1), (2, 1), (4, 3), (5, 4), (64, 4)] {
        let settings = Settings::defaults(cores);
        assert_eq!(settings.validate(), Ok(()), "{cores} cores");
        assert_eq!(settings.decoder_concurrency, decoders, "{cores} cores");
    }
    let settings = Settings::defaults(8);
    assert_eq!(
        (
            settings.memory_cache_mb,
            settings.store_cache_mb,
            settings.prefetch_depth
        ),
        (512, 2048, 2)
    );
    assert_eq!(settings.batch_size, DetectParams::default().batch);
    assert_eq!(settings.backend, BackendChoice::Auto);
    assert_eq!(settings.precision, PrecisionChoice::Auto);
}

/// Each numeric field with a setter, its error name and its limits.
type Field = (
    &'static str,
    fn(&mut Settings, u32),
    std::ops::RangeInclusive<u32>,
);

fn fields() -> [Field; 5] {
    [
        (
            field::MEMORY_CACHE,
            |s, v| s.memory_cache_mb = v,
            MEMORY_CACHE_MB,
        ),
        (
            field::STORE_CACHE,
            |s, v| s.store_cache_mb = v,
            STORE_CACHE_MB,
        ),
        (
            field::PREFETCH_DEPTH,
            |s, v| s.prefetch_depth = v,
            PREFETCH_DEPTH,
        ),
        (
            field::DECODER_CONCURRENCY,
            |s, v| s.decoder_concurrency = v,
            DECODER_CONCURRENCY,
        ),
        (field::BATCH_SIZE, |s, v| s.batch_size = v, BATCH_SIZE),
    ]
}

#[test]
fn each_field_is_refused_just_outside_its_limits_and_allowed_on_them() {
    for (name, set, range) in fields() {
        for edge in [*range.start(), *range.end()] {
            let mut settings = Settings::defaults(4);
            set(&mut settings, edge);
            assert_eq!(settings.validate(), Ok(()), "{name} = {edge}");
        }
        let outside = [range.start().checked_sub(1), range.end().checked_add(1)];
        for value in outside.into_iter().flatten() {
            let mut settings = Settings::defaults(4);
            set(&mut settings, value);
            let errors = settings.validate().expect_err("refused");
            assert_eq!(errors.len(), 1, "{name} = {value}: {errors:?}");
            assert_eq!(errors[0].field, name);
            let limit = if value < *range.start() {
                format!("{} ", range.start())
            } else {
                format!("{} ", range.end())
            };
            assert!(
                errors[0].reason.starts_with(&value.to_string()),
                "{}",
                errors[0]
            );
            assert!(errors[0].reason.contains(&limit), "{}", errors[0]);
        }
    }
}

#[test]
fn the_reason_reads_whole() {
    let settings = Settings {
        memory_cache_mb: 10,
        prefetch_depth: 9,
        ..Settings::defaults(4)
    };
    let errors = settings.validate().expect_err("refused");
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "memory cache: 10 MB is below the 64 MB minimum",
            "prefetch depth: 9 images is above the 8 images maximum"
        ]
    );
}

#[test]
fn saved_settings_round_trip_through_json() {
    let settings = Settings {
        memory_cache_mb: 1024,
        store_cache_mb: 0,
        prefetch_depth: 5,
        decoder_concurrency: 2,
        batch_size: 8,
        backend: BackendChoice::WebGpu,
        precision: PrecisionChoice::F16,
    };
    let json = settings.to_json();
    assert!(json.contains("\"backend\":\"web_gpu\""), "{json}");
    assert_eq!(Settings::from_json(&json, 16), (settings, Vec::new()));
}

#[test]
fn a_file_from_an_older_build_loads_with_defaults_for_what_it_lacks() {
    let (settings, errors) = Settings::from_json(r#"{"memory_cache_mb": 2048}"#, 4);
    assert_eq!(
        settings,
        Settings {
            memory_cache_mb: 2048,
            ..Settings::defaults(4)
        }
    );
    let named: Vec<&str> = errors.iter().map(|e| e.field).collect();
    assert_eq!(
        named,
        [
            field::STORE_CACHE,
            field::PREFETCH_DEPTH,
            field::DECODER_CONCURRENCY,
            field::BATCH_SIZE,
            field::BACKEND,
            field::PRECISION
        ]
    );
    assert!(
        errors.iter().all(|e| e.reason.starts_with("missing")),
        "{errors:?}"
    );
}

#[test]
fn bad_fields_take_their_default_and_the_good_ones_stay() {
    let text = r#"{
        "memory_cache_mb": 10,
        "store_cache_mb": "lots",
        "prefetch_depth": -1,
        "decoder_concurrency": 3,
        "batch_size": 4,
        "backend": "quantum",
        "precision": "f32",
        "unknown": true
    }"#;
    let (settings, errors) = Settings::from_json(text, 4);
    let defaults = Settings::defaults(4);
    assert_eq!(
        settings,
        Settings {
            decoder_concurrency: 3,
            batch_size: 4,
            precision: PrecisionChoice::F32,
            ..defaults
        }
    );
    let named: Vec<&str> = errors.iter().map(|e| e.field).collect();
    assert_eq!(
        named,
        [
            field::MEMORY_CACHE,
            field::STORE_CACHE,
            field::PREFETCH_DEPTH,
            field::BACKEND
        ]
    );
    assert_eq!(
        errors[0],
        SettingsError {
            field: field::MEMORY_CACHE,
            reason: "10 MB is below the 64 MB minimum; the default 512 is used".into()
        }
    );
    assert!(errors[1].reason.contains("\"lots\""), "{}", errors[1]);
    assert!(
        errors.iter().all(|e| e.reason.ends_with("is used")),
        "{errors:?}"
    );
}

#[test]
fn an_unreadable_file_gives_the_defaults_with_one_reason() {
    for text in ["", "{not json", "[1, 2]", "null"] {
        let (settings, errors) = Settings::from_json(text, 2);
        assert_eq!(settings, Settings::defaults(2), "{text:?}");
        assert_eq!(errors.len(), 1, "{text:?}");
        assert_eq!(errors[0].field, field::ALL);
    }
}

#[test]
fn cache_budgets_count_a_megabyte_as_1024_squared_bytes() {
    let settings = Settings {
        memory_cache_mb: 512,
        store_cache_mb: 0,
        ..Settings::defaults(4)
    };
    assert_eq!(
        settings.cache_budgets(),
        CacheBudgets {
            memory_bytes: 512 * 1024 * 1024,
            store_bytes: 0
        }
    );
    let most = Settings {
        store_cache_mb: *STORE_CACHE_MB.end(),
        ..Settings::defaults(4)
    };
    assert_eq!(most.cache_budgets().store_bytes, 65_536u64 << 20);
}
