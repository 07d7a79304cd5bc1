//! Share links: a full setup and arbitrary valid setups round-trip; every kind of hostile link
//! is refused with its own error, without executing or allocating what it asks for.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use sightline_core::annotation::{Shape, ShapeKind};
use sightline_core::share::{
    self, ImageSourceSpec, LINK_VERSION, LabelProblem, LabelingSetup, LinkError, MAX_DECODED_BYTES,
    MAX_LINK_CHARS, SharedClass, SharedModel, UrlProblem,
};
use sightline_core::view::{Point, Size};

/// Records the largest single allocation of the thread that asks, so that the zip-bomb test
/// can show the decoder never asks for what the bomb unpacks to.
#[allow(unsafe_code)] // A global allocator is unsafe by definition; it only forwards to System.
mod allocations {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        // `const`, without a destructor: reading it never allocates, so the allocator may.
        static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
    }

    fn note(size: usize) {
        let _ = LARGEST.try_with(|largest| {
            if let Some(so_far) = largest.get() {
                largest.set(Some(so_far.max(size)));
            }
        });
    }

    pub struct Recording;

    unsafe impl GlobalAlloc for Recording {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// What `f` returns and the largest allocation it made on this thread.
    pub fn largest_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        LARGEST.with(|largest| largest.set(Some(0)));
        let result = f();
        let largest = LARGEST.with(|largest| largest.take()).unwrap_or(0);
        (result, largest)
    }
}

#[global_allocator]
static ALLOCATOR: allocations::Recording = allocations::Recording;

const APP: &str = "https://sightline.example/app/";

fn p(x: f64, y: f64) -> Point {
    Point::new(x, y)
}

fn urls(list: &[&str]) -> ImageSourceSpec {
    ImageSourceSpec::Urls(list.iter().map(|url| (*url).to_owned()).collect())
}

/// The smallest valid setup: one image.
fn minimal_setup() -> LabelingSetup {
    LabelingSetup {
        name: String::new(),
        classes: Vec::new(),
        model: None,
        images: urls(&["images/a.jpg"]),
        open: None,
        annotations: None,
    }
}

/// Every field set: classes with and without colours, a model, image URLs of each kind, the
/// image to open, and shapes of every kind with their metadata.
fn full_setup() -> LabelingSetup {
    let mut dog = Shape::rectangle("dog", p(10.0, 20.0), p(110.5, 220.25));
    dog.difficult = true;
    dog.group_id = Some(3);
    let mut cat = Shape::polygon(
        "cat",
        vec![p(300.0, 300.0), p(400.0, 310.0), p(380.0, 420.0)],
    );
    cat.description = Some("tabby\nstriped".to_owned());
    let mut predicted = Shape::rectangle("person", p(500.0, 100.0), p(600.0, 300.0));
    predicted.score = Some(0.875);
    predicted.predicted = true;
    predicted
        .flags
        .insert("occluded".to_owned(), serde_json::Value::Bool(true));
    let rotated = Shape::rotated_rectangle("dog", p(50.0, 60.0), Size::new(30.0, 10.0), 0.5);
    let a_shapes = vec![
        dog,
        cat,
        predicted,
        rotated,
        Shape::new("nose", ShapeKind::Point, vec![p(1.5, 2.5)]),
        Shape::new("edge", ShapeKind::Line, vec![p(0.0, 0.0), p(9.0, 9.0)]),
        Shape::new(
            "path",
            ShapeKind::Linestrip,
            vec![p(0.0, 0.0), p(1.0, 2.0), p(3.0, 1.0)],
        ),
        Shape::new(
            "ball",
            ShapeKind::Circle,
            vec![p(20.0, 20.0), p(25.0, 20.0)],
        ),
    ];
    let mut annotations = BTreeMap::new();
    annotations.insert("https://cdn.example/img/a.jpg".to_owned(), a_shapes);
    annotations.insert("/demo/b.png".to_owned(), Vec::new());
    LabelingSetup {
        name: "Street scenes".to_owned(),
        classes: vec![
            SharedClass {
                name: "dog".to_owned(),
                colour: Some("#ff8800".to_owned()),
            },
            SharedClass {
                name: "cat".to_owned(),
                colour: Some("#00AAFF".to_owned()),
            },
            SharedClass {
                name: "person".to_owned(),
                colour: None,
            },
        ],
        model: Some(SharedModel {
            url: "https://models.example/yolo11n.onnx".to_owned(),
            confidence: 0.25,
            iou: 0.45,
        }),
        images: urls(&[
            "https://cdn.example/img/a.jpg",
            "/demo/b.png",
            "./c.jpeg",
            "images/d.jpg",
            "//other.example/e.jpg",
        ]),
        open: Some("/demo/b.png".to_owned()),
        annotations: Some(annotations),
    }
}

/// A payload of `json` as it is, without the checks of `encode`: what a hostile link holds.
fn payload_of_json(json: &str) -> String {
    payload_of_bytes(json.as_bytes())
}

fn payload_of_bytes(bytes: &[u8]) -> String {
    let compressed = miniz_oxide::deflate::compress_to_vec(bytes, 9);
    format!("{LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(compressed))
}

/// A payload of `setup` without the checks of `encode`.
fn unchecked_payload(setup: &LabelingSetup) -> String {
    payload_of_json(&serde_json::to_string(setup).expect("serialises"))
}

/// Addresses that must never be fetched, in the forms a browser would still read as them.
const HOSTILE_URLS: [&str; 10] = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    " \u{0}javascript:alert(1)",
    "jav\nascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "blob:https://sightline.example/1234",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "ftp://files.example/a.jpg",
];

fn assert_unsafe_url(result: Result<LabelingSetup, LinkError>, expected_field: &str, url: &str) {
    match result {
        Err(LinkError::UnsafeUrl { field, problem, .. }) => {
            assert_eq!(field, expected_field, "{url:?}");
            assert!(
                matches!(problem, UrlProblem::Scheme { .. }),
                "{url:?}: {problem:?}"
            );
        }
        other => panic!("{url:?} as {expected_field}: {other:?}"),
    }
}

// --- Round trips -------------------------------------------------------------------------

#[test]
fn full_setup_round_trips() {
    let setup = full_setup();
    let payload = share::encode(&setup).expect("encodes");
    assert!(payload.starts_with("1."), "{payload}");
    assert_eq!(share::decode(&payload), Ok(setup));
}

#[test]
fn minimal_setup_round_trips() {
    let setup = minimal_setup();
    let payload = share::encode(&setup).expect("encodes");
    assert_eq!(share::decode(&payload), Ok(setup));
}

#[test]
fn manifest_and_project_file_sources_round_trip() {
    for images in [
        ImageSourceSpec::Manifest("https://data.example/set/manifest.json".to_owned()),
        ImageSourceSpec::ProjectFile("projects/street.sightline.json".to_owned()),
    ] {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "img/a.jpg".to_owned(),
            vec![Shape::rectangle("dog", p(1.0, 2.0), p(3.0, 4.0))],
        );
        let setup = LabelingSetup {
            images,
            open: Some("img/a.jpg".to_owned()),
            annotations: Some(annotations),
            ..minimal_setup()
        };
        let payload = share::encode(&setup).expect("encodes");
        assert_eq!(share::decode(&payload), Ok(setup));
    }
}

#[test]
fn encoding_is_deterministic() {
    let setup = full_setup();
    assert_eq!(share::encode(&setup), share::encode(&setup.clone()));
}

#[test]
fn link_round_trips_through_payload_of() {
    let setup = full_setup();
    let link = share::link(APP, &setup).expect("fits");
    assert!(
        link.starts_with("https://sightline.example/app/#share=1."),
        "{link}"
    );
    assert!(link.len() <= MAX_LINK_CHARS);
    let payload = share::payload_of(&link).expect("has a payload");
    assert_eq!(share::decode(payload), Ok(setup));
}

#[test]
fn link_replaces_the_base_urls_fragment() {
    let link = share::link("https://sightline.example/#old=1", &minimal_setup()).expect("fits");
    assert!(
        link.starts_with("https://sightline.example/#share=1."),
        "{link}"
    );
    assert_eq!(link.matches('#').count(), 1, "{link}");
}

#[test]
fn labels_with_markup_round_trip_as_text() {
    let markup = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
        "a & b < c",
    ];
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "images/a.jpg".to_owned(),
        markup
            .iter()
            .map(|label| Shape::new(*label, ShapeKind::Point, vec![p(1.0, 1.0)]))
            .collect(),
    );
    let setup = LabelingSetup {
        name: "<b>bold</b>".to_owned(),
        classes: markup
            .iter()
            .map(|name| SharedClass {
                name: (*name).to_owned(),
                colour: None,
            })
            .collect(),
        annotations: Some(annotations),
        ..minimal_setup()
    };
    let decoded = share::decode(&share::encode(&setup).expect("encodes")).expect("decodes");
    assert_eq!(decoded, setup);
    assert_eq!(decoded.classes[0].name, "<script>alert(1)</script>");
}

// --- Size ---------------------------------------------------------------------------------

#[test]
fn link_over_the_limit_is_too_long() {
    // Unrelated random-looking names do not compress, so the link grows past the limit.
    let images: Vec<String> = (0..2_000u64)
        .map(|i| format!("img/{:016x}.jpg", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let setup = LabelingSetup {
        images: ImageSourceSpec::Urls(images),
        ..minimal_setup()
    };
    match share::link(APP, &setup) {
        Err(LinkError::TooLong { chars, limit }) => {
            assert_eq!(limit, MAX_LINK_CHARS);
            assert!(chars > limit, "{chars}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn link_counts_the_base_url() {
    // A payload that fits alone but not behind a long base URL.
    let payload = share::encode(&minimal_setup()).expect("encodes");
    let base = format!("https://sightline.example/{}", "x".repeat(MAX_LINK_CHARS));
    assert!(payload.len() < MAX_LINK_CHARS);
    assert!(matches!(
        share::link(&base, &minimal_setup()),
        Err(LinkError::TooLong { .. })
    ));
}

#[test]
fn oversized_payload_is_refused_before_decoding() {
    // Not even valid base64: the length alone refuses it.
    let payload = format!("1.{}", "@".repeat(MAX_LINK_CHARS));
    assert_eq!(
        share::decode(&payload),
        Err(LinkError::TooLong {
            chars: MAX_LINK_CHARS + 2,
            limit: MAX_LINK_CHARS
        })
    );
}

#[test]
fn zip_bomb_is_too_large_without_allocating_it() {
    // DEFLATE reaches about 1000:1, so the largest bomb that fits in a link is ~6 MB.
    let bomb = payload_of_bytes(&vec![0u8; 6_000_000]);
    assert!(bomb.len() <= MAX_LINK_CHARS, "{} chars", bomb.len());
    let (result, largest) = allocations::largest_during(|| share::decode(&bomb));
    assert_eq!(
        result,
        Err(LinkError::TooLarge {
            limit: MAX_DECODED_BYTES
        })
    );
    // The output buffer doubles up to the cap; `Vec`'s amortised growth may reserve up to
    // twice what the last step asks for, so the bound is twice the cap, not 6 MB.
    assert!(
        largest <= 2 * MAX_DECODED_BYTES,
        "decode allocated {largest} bytes at once"
    );
}

#[test]
fn fifty_megabyte_zip_bomb_does_not_fit_in_a_link() {
    let bomb = payload_of_bytes(&vec![0u8; 50_000_000]);
    assert!(matches!(
        share::decode(&bomb),
        Err(LinkError::TooLong { .. })
    ));
}

// --- Damaged and foreign links ------------------------------------------------------------

#[test]
fn empty_payload_is_refused() {
    assert_eq!(share::decode(""), Err(LinkError::Empty));
    assert_eq!(share::decode("  \n"), Err(LinkError::Empty));
}

#[test]
fn truncated_payload_is_corrupt() {
    let payload = share::encode(&full_setup()).expect("encodes");
    let half = &payload[..payload.len() / 2];
    assert_eq!(share::decode(half), Err(LinkError::Corrupt));
}

#[test]
fn every_truncation_is_refused_cleanly() {
    let payload = share::encode(&full_setup()).expect("encodes");
    for end in 2..payload.len() {
        let error = share::decode(&payload[..end]).expect_err("a cut link does not open");
        assert!(
            matches!(error, LinkError::Corrupt | LinkError::NotBase64 { .. }),
            "cut at {end}: {error:?}"
        );
    }
}

#[test]
fn payload_with_only_a_version_is_corrupt() {
    assert_eq!(share::decode("1."), Err(LinkError::Corrupt));
}

#[test]
fn newer_version_is_unsupported() {
    let payload = share::encode(&minimal_setup()).expect("encodes");
    let newer = payload.replacen("1.", "2.", 1);
    let error = share::decode(&newer).expect_err("refused");
    assert_eq!(
        error,
        LinkError::UnsupportedVersion {
            found: "2".to_owned(),
            supported: LINK_VERSION
        }
    );
    assert!(error.to_string().contains("version 2"), "{error}");
}

#[test]
fn non_numeric_version_is_unsupported() {
    assert_eq!(
        share::decode("x.abcd"),
        Err(LinkError::UnsupportedVersion {
            found: "x".to_owned(),
            supported: LINK_VERSION
        })
    );
}

#[test]
fn missing_version_is_unsupported() {
    assert_eq!(
        share::decode("abcdef"),
        Err(LinkError::UnsupportedVersion {
            found: String::new(),
            supported: LINK_VERSION
        })
    );
}

#[test]
fn not_base64_names_the_character() {
    assert_eq!(
        share::decode("1.@@@"),
        Err(LinkError::NotBase64 {
            position: 3,
            character: '@'
        })
    );
    assert_eq!(
        share::decode("1.ab€d"),
        Err(LinkError::NotBase64 {
            position: 5,
            character: '€'
        })
    );
}

#[test]
fn standard_base64_alphabet_is_not_base64url() {
    assert!(matches!(
        share::decode("1.ab+/"),
        Err(LinkError::NotBase64 { character: '+', .. })
    ));
}

#[test]
fn random_bytes_are_corrupt() {
    let payload = format!("1.{}", URL_SAFE_NO_PAD.encode([0xffu8; 64]));
    assert_eq!(share::decode(&payload), Err(LinkError::Corrupt));
}

#[test]
fn invalid_json_is_refused() {
    assert!(matches!(
        share::decode(&payload_of_json("{not json")),
        Err(LinkError::InvalidJson(_))
    ));
}

#[test]
fn wrongly_typed_json_is_refused() {
    for json in [
        r#"{"n":5,"i":{"u":["a.jpg"]}}"#,
        r#"{"i":{"u":"a.jpg"}}"#,
        r#"{"i":{"x":["a.jpg"]}}"#,
        r#"{"i":{"u":["a.jpg"]},"m":{"u":"m.onnx","c":"high","i":0.5}}"#,
        r#"[1,2,3]"#,
        r#""just a string""#,
    ] {
        assert!(
            matches!(
                share::decode(&payload_of_json(json)),
                Err(LinkError::InvalidJson(_))
            ),
            "{json}"
        );
    }
}

#[test]
fn json_missing_the_images_is_refused() {
    match share::decode(&payload_of_json(r#"{"n":"x"}"#)) {
        Err(LinkError::InvalidJson(message)) => assert!(message.contains("`i`"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let json = format!(r#"{{"i":{{"u":["a.jpg"]}},"x":{}}}"#, "[".repeat(100_000));
    assert!(matches!(
        share::decode(&payload_of_json(&json)),
        Err(LinkError::InvalidJson(_))
    ));
}

#[test]
fn invalid_utf8_is_refused() {
    assert!(matches!(
        share::decode(&payload_of_bytes(b"{\"n\":\"\xff\xfe\"}")),
        Err(LinkError::InvalidJson(_))
    ));
}

// --- Hostile addresses --------------------------------------------------------------------

#[test]
fn javascript_image_url_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["a.jpg", "b.jpg", "javascript:alert(document.cookie)"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 3",
        "javascript:",
    );
}

#[test]
fn mixed_case_javascript_image_url_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["JavaScript:alert(1)"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 1",
        "JavaScript:",
    );
}

#[test]
fn javascript_with_a_tab_inside_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["java\tscript:alert(1)"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 1",
        "java\\tscript:",
    );
}

#[test]
fn data_image_url_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["data:image/svg+xml,<svg onload=alert(1)>"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 1",
        "data:",
    );
}

#[test]
fn blob_image_url_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["blob:https://sightline.example/uuid"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 1",
        "blob:",
    );
}

#[test]
fn file_image_url_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["file:///etc/passwd"]),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image 1",
        "file:",
    );
}

#[test]
fn unsafe_image_urls_are_refused() {
    for url in HOSTILE_URLS {
        let setup = LabelingSetup {
            images: urls(&["ok.jpg", url]),
            ..minimal_setup()
        };
        assert_unsafe_url(share::decode(&unchecked_payload(&setup)), "image 2", url);
    }
}

#[test]
fn unsafe_model_urls_are_refused() {
    for url in HOSTILE_URLS {
        let setup = LabelingSetup {
            model: Some(SharedModel {
                url: url.to_owned(),
                confidence: 0.25,
                iou: 0.45,
            }),
            ..minimal_setup()
        };
        assert_unsafe_url(share::decode(&unchecked_payload(&setup)), "model", url);
    }
}

#[test]
fn unsafe_manifest_urls_are_refused() {
    for url in HOSTILE_URLS {
        let setup = LabelingSetup {
            images: ImageSourceSpec::Manifest(url.to_owned()),
            ..minimal_setup()
        };
        assert_unsafe_url(share::decode(&unchecked_payload(&setup)), "manifest", url);
    }
}

#[test]
fn unsafe_project_file_urls_are_refused() {
    for url in HOSTILE_URLS {
        let setup = LabelingSetup {
            images: ImageSourceSpec::ProjectFile(url.to_owned()),
            ..minimal_setup()
        };
        assert_unsafe_url(
            share::decode(&unchecked_payload(&setup)),
            "project file",
            url,
        );
    }
}

#[test]
fn unsafe_open_and_annotated_paths_are_refused_for_manifests() {
    let manifest = ImageSourceSpec::Manifest("manifest.json".to_owned());
    let setup = LabelingSetup {
        images: manifest.clone(),
        open: Some("javascript:alert(1)".to_owned()),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "image to open",
        "open",
    );
    let mut annotations = BTreeMap::new();
    annotations.insert("data:text/html,x".to_owned(), Vec::new());
    let setup = LabelingSetup {
        images: manifest,
        annotations: Some(annotations),
        ..minimal_setup()
    };
    assert_unsafe_url(
        share::decode(&unchecked_payload(&setup)),
        "annotated image",
        "annotations",
    );
}

#[test]
fn encode_refuses_what_decode_refuses() {
    let setup = LabelingSetup {
        images: urls(&["javascript:alert(1)"]),
        ..minimal_setup()
    };
    assert!(matches!(
        share::encode(&setup),
        Err(LinkError::UnsafeUrl { .. })
    ));
    assert!(matches!(
        share::link(APP, &setup),
        Err(LinkError::UnsafeUrl { .. })
    ));
}

#[test]
fn refused_url_is_shortened_and_escaped_in_the_message() {
    let url = format!("javascript:\n{}", "a".repeat(500));
    let setup = LabelingSetup {
        images: urls(&[&url]),
        ..minimal_setup()
    };
    let error = share::decode(&unchecked_payload(&setup)).expect_err("refused");
    let message = error.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("javascript:\\n"), "{message}");
    assert!(message.len() < 300, "{message}");
}

#[test]
fn check_source_url_accepts_web_and_relative_addresses() {
    for url in [
        "https://cdn.example/a.jpg",
        "HTTP://cdn.example/a.jpg",
        "http://localhost:8080/a.jpg",
        "images/a.jpg",
        "/demo/x.jpg",
        "./a.png",
        "../b.png",
        "//cdn.example/a.jpg",
        "a.jpg?v=2#top",
        "my photos/a b.jpg",
        "1javascript:alert(1)",
        "ｊavascript:alert(1)",
    ] {
        assert_eq!(share::check_source_url(url), Ok(()), "{url:?}");
    }
}

#[test]
fn check_source_url_refuses_other_schemes() {
    for (url, scheme) in [
        ("javascript:alert(1)", "javascript"),
        (" JavaScript:alert(1)", "javascript"),
        ("java\tscript:alert(1)", "javascript"),
        ("java\r\nscript:alert(1)", "javascript"),
        ("\u{1}\u{1f}javascript:alert(1)", "javascript"),
        ("data:image/png;base64,AAAA", "data"),
        ("blob:https://a.example/x", "blob"),
        ("file:///c:/x.jpg", "file"),
        ("vbscript:x", "vbscript"),
        ("ftp://a.example/x.jpg", "ftp"),
        ("c:\\images\\a.jpg", "c"),
        ("view-source:https://a.example", "view-source"),
    ] {
        assert_eq!(
            share::check_source_url(url),
            Err(UrlProblem::Scheme {
                scheme: scheme.to_owned()
            }),
            "{url:?}"
        );
    }
}

#[test]
fn check_source_url_refuses_control_characters_empty_and_long() {
    assert_eq!(
        share::check_source_url("images/a\u{7f}.jpg"),
        Err(UrlProblem::ControlCharacter)
    );
    assert_eq!(
        share::check_source_url("images/a\n.jpg"),
        Err(UrlProblem::ControlCharacter)
    );
    assert_eq!(share::check_source_url(""), Err(UrlProblem::Empty));
    assert_eq!(share::check_source_url(" \t "), Err(UrlProblem::Empty));
    assert!(matches!(
        share::check_source_url(&format!("https://a.example/{}", "a".repeat(3_000))),
        Err(UrlProblem::TooLong { .. })
    ));
}

// --- Other rules --------------------------------------------------------------------------

#[test]
fn empty_class_name_is_refused() {
    let setup = LabelingSetup {
        classes: vec![SharedClass {
            name: " ".to_owned(),
            colour: None,
        }],
        ..minimal_setup()
    };
    assert!(matches!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::InvalidLabel {
            problem: LabelProblem::Empty,
            ..
        })
    ));
}

#[test]
fn long_class_name_is_refused() {
    let setup = LabelingSetup {
        classes: vec![SharedClass {
            name: "x".repeat(300),
            colour: None,
        }],
        ..minimal_setup()
    };
    assert!(matches!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::InvalidLabel {
            problem: LabelProblem::TooLong {
                chars: 300,
                limit: 256
            },
            ..
        })
    ));
}

#[test]
fn class_name_with_control_characters_is_refused() {
    let setup = LabelingSetup {
        classes: vec![SharedClass {
            name: "dog\u{1b}[31m".to_owned(),
            colour: None,
        }],
        ..minimal_setup()
    };
    assert!(matches!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::InvalidLabel {
            problem: LabelProblem::ControlCharacter,
            ..
        })
    ));
}

#[test]
fn shape_label_with_control_characters_is_refused() {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "images/a.jpg".to_owned(),
        vec![Shape::new("a\u{0}b", ShapeKind::Point, vec![p(1.0, 1.0)])],
    );
    let setup = LabelingSetup {
        annotations: Some(annotations),
        ..minimal_setup()
    };
    assert!(matches!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::InvalidLabel {
            problem: LabelProblem::ControlCharacter,
            ..
        })
    ));
}

#[test]
fn duplicate_class_is_refused() {
    let class = SharedClass {
        name: "dog".to_owned(),
        colour: None,
    };
    let setup = LabelingSetup {
        classes: vec![class.clone(), class],
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::InvalidLabel {
            what: "class 2".to_owned(),
            label: "dog".to_owned(),
            problem: LabelProblem::Duplicate
        })
    );
}

#[test]
fn invalid_colour_is_refused() {
    for colour in [
        "red",
        "#ff00",
        "#gg0000",
        "#ff0000;background:url(x)",
        "ff0000",
    ] {
        let setup = LabelingSetup {
            classes: vec![SharedClass {
                name: "dog".to_owned(),
                colour: Some(colour.to_owned()),
            }],
            ..minimal_setup()
        };
        assert_eq!(
            share::decode(&unchecked_payload(&setup)),
            Err(LinkError::InvalidColour {
                class: "dog".to_owned(),
                colour: colour.to_owned()
            }),
            "{colour}"
        );
    }
}

#[test]
fn thresholds_outside_zero_to_one_are_refused() {
    for (confidence, iou, threshold) in [(1.5, 0.5, "confidence"), (0.5, -0.1, "IoU")] {
        let setup = LabelingSetup {
            model: Some(SharedModel {
                url: "m.onnx".to_owned(),
                confidence,
                iou,
            }),
            ..minimal_setup()
        };
        assert!(
            matches!(
                share::decode(&unchecked_payload(&setup)),
                Err(LinkError::InvalidThreshold { threshold: t, .. }) if t == threshold
            ),
            "{threshold}"
        );
    }
}

#[test]
fn too_many_classes_are_refused() {
    let classes = (0..1_001)
        .map(|i| SharedClass {
            name: format!("c{i}"),
            colour: None,
        })
        .collect();
    let setup = LabelingSetup {
        classes,
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::TooMany {
            what: "classes",
            count: 1_001,
            limit: 1_000
        })
    );
}

#[test]
fn too_many_images_are_refused() {
    // Through `encode`: 10,001 different addresses do not fit in a link, so a decoded link
    // is refused as too long first.
    let images = (0..10_001).map(|i| format!("{i}.jpg")).collect();
    let setup = LabelingSetup {
        images: ImageSourceSpec::Urls(images),
        ..minimal_setup()
    };
    assert_eq!(
        share::encode(&setup),
        Err(LinkError::TooMany {
            what: "images",
            count: 10_001,
            limit: 10_000
        })
    );
}

#[test]
fn no_images_is_refused() {
    let setup = LabelingSetup {
        images: urls(&[]),
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::NoImages)
    );
}

#[test]
fn duplicate_image_is_refused() {
    let setup = LabelingSetup {
        images: urls(&["a.jpg", "b.jpg", "a.jpg"]),
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::DuplicateImage {
            url: "a.jpg".to_owned()
        })
    );
}

#[test]
fn open_image_must_be_listed() {
    let setup = LabelingSetup {
        open: Some("images/elsewhere.jpg".to_owned()),
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::OpenNotInImages {
            image: "images/elsewhere.jpg".to_owned()
        })
    );
}

#[test]
fn annotated_image_must_be_listed() {
    let mut annotations = BTreeMap::new();
    annotations.insert("images/elsewhere.jpg".to_owned(), Vec::new());
    let setup = LabelingSetup {
        annotations: Some(annotations),
        ..minimal_setup()
    };
    assert_eq!(
        share::decode(&unchecked_payload(&setup)),
        Err(LinkError::UnknownAnnotatedImage {
            image: "images/elsewhere.jpg".to_owned()
        })
    );
}

#[test]
fn shape_with_wrong_point_count_is_refused() {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "images/a.jpg".to_owned(),
        vec![Shape::new("dog", ShapeKind::Polygon, vec![p(1.0, 1.0)])],
    );
    let setup = LabelingSetup {
        annotations: Some(annotations),
        ..minimal_setup()
    };
    let error = share::decode(&unchecked_payload(&setup)).expect_err("refused");
    assert!(
        matches!(error, LinkError::InvalidShape { shape: 1, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("3 or more"), "{error}");
}

#[test]
fn shape_with_non_finite_coordinates_is_not_encoded() {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "images/a.jpg".to_owned(),
        vec![Shape::new("dog", ShapeKind::Point, vec![p(f64::NAN, 1.0)])],
    );
    let setup = LabelingSetup {
        annotations: Some(annotations),
        ..minimal_setup()
    };
    assert!(matches!(
        share::encode(&setup),
        Err(LinkError::InvalidShape { .. })
    ));
}

#[test]
fn every_error_has_a_message() {
    let errors = [
        share::decode("").expect_err("empty"),
        share::decode("2.abc").expect_err("version"),
        share::decode("x.abc").expect_err("version"),
        share::decode("abc").expect_err("version"),
        share::decode("1.@").expect_err("base64"),
        share::decode("1.abc").expect_err("corrupt"),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.starts_with("the share link"), "{message}");
    }
}

// --- Finding the payload ------------------------------------------------------------------

#[test]
fn payload_of_finds_the_fragment_parameter() {
    assert_eq!(
        share::payload_of("https://a.example/app/#share=1.abc"),
        Some("1.abc")
    );
    assert_eq!(share::payload_of("#share=1.abc"), Some("1.abc"));
    assert_eq!(share::payload_of("share=1.abc"), Some("1.abc"));
    assert_eq!(share::payload_of("#view=2&share=1.abc&x=y"), Some("1.abc"));
    assert_eq!(
        share::payload_of("  https://a.example/#share=1.abc\n"),
        Some("1.abc")
    );
    assert_eq!(share::payload_of("#share="), Some(""));
}

#[test]
fn payload_of_ignores_everything_but_the_fragment() {
    assert_eq!(share::payload_of("https://a.example/app/"), None);
    assert_eq!(share::payload_of("https://a.example/?share=1.abc"), None);
    assert_eq!(
        share::payload_of("https://a.example/?a=1&share=1.abc"),
        None
    );
    assert_eq!(
        share::payload_of("https://a.example/?share=1.abc#x=1"),
        None
    );
    assert_eq!(share::payload_of("#noshare=1.abc"), None);
    assert_eq!(share::payload_of("1.abc"), None);
    assert_eq!(share::payload_of(""), None);
}

// --- Property tests -----------------------------------------------------------------------

fn label() -> impl Strategy<Value = String> {
    // Not blank: a class name must have something to show.
    "[a-zA-Z0-9<>&\"'/_.-][a-zA-Z0-9 <>&\"'/_.-]{0,11}|[\\p{L}\\p{N}]{1,6}"
}

fn relative_or_web_url() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(""),
            Just("https://cdn.example/"),
            Just("http://localhost:8080/"),
            Just("/"),
            Just("./"),
            Just("//cdn.example/"),
        ],
        "[a-z0-9_-]{1,10}",
        prop_oneof![Just(".jpg"), Just(".png"), Just(".json"), Just(".onnx")],
    )
        .prop_map(|(prefix, stem, extension)| format!("{prefix}{stem}{extension}"))
}

fn shape() -> impl Strategy<Value = Shape> {
    let point = (-1e4f64..1e4, -1e4f64..1e4).prop_map(|(x, y)| Point::new(x, y));
    (
        prop_oneof![label(), Just(String::new())],
        proptest::sample::select(ShapeKind::ALL.to_vec()),
        proptest::collection::vec(point, 4..8),
        proptest::option::of(0.0f64..=1.0),
        proptest::option::of(any::<i64>()),
        proptest::option::of("[a-z \n]{0,10}"),
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(label, kind, mut points, score, group_id, description, (predicted, difficult))| {
                let count = match kind {
                    ShapeKind::Point => 1,
                    ShapeKind::RotatedRectangle => 4,
                    ShapeKind::Polygon | ShapeKind::Linestrip => points.len(),
                    _ => 2,
                };
                points.truncate(count);
                let mut shape = Shape::new(label, kind, points);
                shape.score = score;
                shape.group_id = group_id;
                shape.description = description;
                shape.predicted = predicted;
                shape.difficult = difficult;
                shape
            },
        )
}

fn setup() -> impl Strategy<Value = LabelingSetup> {
    let classes = proptest::collection::btree_set(label(), 0..6).prop_flat_map(|names| {
        let count = names.len();
        (
            Just(names),
            proptest::collection::vec(proptest::option::of("#[0-9a-fA-F]{6}"), count),
        )
            .prop_map(|(names, colours)| {
                names
                    .into_iter()
                    .zip(colours)
                    .map(|(name, colour)| SharedClass { name, colour })
                    .collect::<Vec<_>>()
            })
    });
    let model = proptest::option::of(
        (relative_or_web_url(), 0.0f32..=1.0, 0.0f32..=1.0).prop_map(|(url, confidence, iou)| {
            SharedModel {
                url,
                confidence,
                iou,
            }
        }),
    );
    let images = prop_oneof![
        proptest::collection::btree_set(relative_or_web_url(), 1..6)
            .prop_map(|urls| ImageSourceSpec::Urls(urls.into_iter().collect())),
        relative_or_web_url().prop_map(ImageSourceSpec::Manifest),
        relative_or_web_url().prop_map(ImageSourceSpec::ProjectFile),
    ];
    (
        proptest::option::of(label()).prop_map(Option::unwrap_or_default),
        classes,
        model,
        images,
    )
        .prop_flat_map(|(name, classes, model, images)| {
            // `open` and the annotated images: listed ones for URLs, any paths otherwise.
            let paths: BoxedStrategy<String> = match &images {
                ImageSourceSpec::Urls(urls) => proptest::sample::select(urls.clone()).boxed(),
                _ => relative_or_web_url().boxed(),
            };
            (
                Just((name, classes, model, images)),
                proptest::option::of(paths.clone()),
                proptest::option::of(proptest::collection::btree_map(
                    paths,
                    proptest::collection::vec(shape(), 0..4),
                    0..3,
                )),
            )
        })
        .prop_map(
            |((name, classes, model, images), open, annotations)| LabelingSetup {
                name,
                classes,
                model,
                images,
                open,
                annotations,
            },
        )
}

proptest! {
    #[test]
    fn any_valid_setup_round_trips(setup in setup()) {
        let payload = share::encode(&setup).expect("a small valid setup encodes");
        prop_assert_eq!(share::decode(&payload), Ok(setup.clone()));
        // Deterministic, and a decoded setup encodes to the same payload.
        prop_assert_eq!(share::encode(&setup), Ok(payload.clone()));
        let link = share::link(APP, &setup).expect("fits");
        prop_assert_eq!(share::payload_of(&link), Some(payload.as_str()));
    }

    #[test]
    fn decode_never_panics_on_text(text in "\\PC{0,64}") {
        let _ = share::decode(&text);
        let _ = share::payload_of(&text);
        let _ = share::check_source_url(&text);
    }

    #[test]
    fn decode_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = share::decode(&format!("1.{}", URL_SAFE_NO_PAD.encode(&bytes)));
        let _ = share::decode(&payload_of_bytes(&bytes));
    }
}
