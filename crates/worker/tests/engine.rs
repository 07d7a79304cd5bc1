//! The worker's engine natively, with an in-memory host: models load once and describe
//! themselves, detections equal the vision crate's own pipeline, bad images and broken
//! models are typed errors that stop nothing else, and a cancel keeps what finished.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use burn::tensor::Device;
use futures_executor::block_on;
use sightline_protocol::{
    Backend, BackendChoice, DetectParams, FilterParams, ImageError, ImageRef, ImageSource, Message,
    ModelInfo, ModelTask, Precision, PrecisionChoice, Progress, Reply, ReplyBody, Request,
    RequestBody, WorkerError,
};
use sightline_worker::engine::{Engine, Host, StoredModel};
use sightline_worker::handle_request;

/// This package's folder, read when the test runs (a binary built by another clone of the
/// repository and reused from a shared target directory must not read that clone's files).
fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
}

fn data(name: &str) -> String {
    format!("{}/../vision/tests/data/{name}", manifest_dir().display())
}

fn demo(name: &str) -> String {
    format!("{}/../../public/demo/{name}", manifest_dir().display())
}

/// Runs at each yield with the number of yields so far (a `Cancel` arriving).
type YieldHook = Box<dyn Fn(usize)>;

#[derive(Default)]
struct MemoryHost {
    models: HashMap<String, StoredModel>,
    images: HashMap<String, Vec<u8>>,
    progress: RefCell<Vec<Progress>>,
    yields: Cell<usize>,
    on_yield: RefCell<Option<YieldHook>>,
}

impl Host for MemoryHost {
    async fn read_model(&self, key: &str) -> Result<StoredModel, WorkerError> {
        self.models
            .get(key)
            .cloned()
            .ok_or_else(|| WorkerError::ModelNotFound {
                model: key.to_owned(),
            })
    }

    async fn read_image(&self, source: &ImageSource) -> Result<Vec<u8>, ImageError> {
        let ImageSource::Stored { key } = source else {
            return Err(ImageError::Read {
                detail: "only stored images here".into(),
            });
        };
        self.images
            .get(key)
            .cloned()
            .ok_or_else(|| ImageError::Read {
                detail: format!("no bytes under {key}"),
            })
    }

    async fn yield_now(&self) {
        let count = self.yields.get() + 1;
        self.yields.set(count);
        if let Some(hook) = self.on_yield.borrow().as_ref() {
            hook(count);
        }
    }

    async fn device_for(&self, choice: BackendChoice) -> Result<(Device, Backend), WorkerError> {
        match choice {
            BackendChoice::WebGpu => Err(WorkerError::BackendUnavailable {
                detail: "no WebGPU in native tests".into(),
            }),
            _ => Ok((cpu(), cpu_backend())),
        }
    }

    fn progress(&self, progress: Progress) {
        self.progress.borrow_mut().push(progress);
    }
}

fn cpu() -> Device {
    Device::flex()
}

fn cpu_backend() -> Backend {
    Backend::Cpu {
        reason: "test".into(),
    }
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Tiny model file `name` (`yolov8t.onnx`, …) from the shared fixtures
/// (`sightline_test_support::tiny_model`); `None` when they are missing.
fn stored(name: &str) -> Option<StoredModel> {
    let path = sightline_test_support::tiny_model(name.strip_suffix(".onnx")?)?;
    Some(StoredModel {
        name: name.to_owned(),
        onnx: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        config: None,
    })
}

/// Vision's own detector for stored model `name` in `precision`: the oracle of these tests.
fn reference_detector(
    name: &str,
    precision: sightline_vision::Precision,
) -> sightline_vision::Detector {
    let onnx = stored(name).expect("found by host()").onnx;
    let model =
        sightline_vision::OnnxModel::from_bytes_with(&onnx, &cpu(), precision).expect("parses");
    sightline_vision::Detector::new(model, None, None).expect("a detector")
}

fn image(name: &str) -> ImageRef {
    ImageRef {
        name: name.to_owned(),
        source: ImageSource::Stored {
            key: name.to_owned(),
        },
    }
}

/// The models and images of these tests; `None` (a skip line, or a failure under
/// `SIGHTLINE_REQUIRE_DATA=1`) without the shared fixtures' tiny models.
fn host() -> Option<MemoryHost> {
    let mut host = images_host();
    for model in ["yolov8t.onnx", "yolov8t-seg.onnx", "yolov5t-classic.onnx"] {
        host.models.insert(model.to_owned(), stored(model)?);
    }
    host.models.insert(
        "garbage".into(),
        StoredModel {
            name: "garbage.onnx".into(),
            onnx: b"definitely not a protobuf".to_vec(),
            config: None,
        },
    );
    let mut truncated = stored("yolov8t.onnx")?;
    truncated.onnx.truncate(truncated.onnx.len() / 2);
    host.models.insert("truncated".into(), truncated);
    Some(host)
}

/// The demo's photos and a broken JPEG, no models.
fn images_host() -> MemoryHost {
    let mut host = MemoryHost::default();
    for name in ["dog.jpg", "person.jpg", "kite.jpg", "horses.jpg"] {
        host.images.insert(name.to_owned(), read(&demo(name)));
    }
    host.images
        .insert("broken.jpg".into(), b"\xFF\xD8\xFF not really".to_vec());
    host
}

const LOW: DetectParams = DetectParams {
    confidence: 0.01,
    iou: 0.45,
    batch: 1,
    precision: PrecisionChoice::Auto,
};

/// Loads `key` with the default precision setting and no images to check f16 on.
fn load(engine: &Engine, host: &MemoryHost, key: &str) -> Result<ModelInfo, WorkerError> {
    block_on(engine.load_model(host, key, PrecisionChoice::Auto, &[]))
}

fn detections(reply: ReplyBody) -> Vec<sightline_protocol::ImageResult> {
    match reply {
        ReplyBody::Detections { results } => results,
        other => panic!("expected detections, got {other:?}"),
    }
}

#[test]
fn models_load_once_and_describe_themselves() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    let info = load(&engine, &host, "yolov8t.onnx").expect("loads");
    assert_eq!((info.input_width, info.input_height), (320, 320));
    assert_eq!(info.task, ModelTask::Detect);
    // The class names the ONNX metadata carries (`names`), as vision reads them.
    let reference = reference_detector("yolov8t.onnx", sightline_vision::Precision::F32);
    assert_eq!(info.classes, reference.class_names());
    assert!(!info.classes.is_empty());
    assert_eq!(info.backend, cpu_backend());
    let again = load(&engine, &host, "yolov8t.onnx").expect("cached");
    assert_eq!(again, info);
    assert_eq!(engine.loaded(), 1);
    let seg = load(&engine, &host, "yolov8t-seg.onnx").expect("loads");
    assert_eq!(seg.task, ModelTask::Segment);
    assert_eq!(engine.loaded(), 2);
    engine.unload("yolov8t.onnx");
    assert_eq!(engine.loaded(), 1);
    assert_eq!(
        load(&engine, &host, "yolov8t-seg.onnx").expect("still loaded"),
        seg,
        "the other model stays"
    );
    assert_eq!(engine.loaded(), 1);
}

#[test]
fn detections_equal_the_vision_pipeline_and_bad_images_stop_nothing() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    let images = [
        image("dog.jpg"),
        image("broken.jpg"),
        image("missing.jpg"),
        image("person.jpg"),
    ];
    let results = detections(
        block_on(engine.detect(&host, 7, "yolov8t.onnx", &images, &LOW, None)).expect("runs"),
    );
    assert_eq!(results.len(), 4);
    assert!(
        matches!(results[1].outcome, Err(ImageError::Decode { .. })),
        "{:?}",
        results[1]
    );
    assert!(matches!(results[2].outcome, Err(ImageError::Read { .. })));
    // The oracle: vision's own blocking pipeline on the same bytes.
    let mut reference = reference_detector("yolov8t.onnx", sightline_vision::Precision::F32);
    reference.options.score_threshold = LOW.confidence;
    reference.options.iou_threshold = LOW.iou;
    for index in [0, 3] {
        let name = &images[index].name;
        let decoded =
            sightline_vision::image_io::decode_image(&read(&demo(name))).expect("decodes");
        let expected = reference.detect(&decoded).expect("runs");
        let got = results[index].outcome.as_ref().expect("detected");
        assert_eq!((got.width, got.height), decoded.dimensions());
        assert!(
            !expected.is_empty(),
            "{name}: the tiny model finds something at 0.01"
        );
        assert_eq!(got.detections, expected, "{name}");
        assert_eq!(got.matches, None);
    }
    let progress = host.progress.borrow();
    assert_eq!(progress.last().map(|p| (p.done, p.total)), Some((4, 4)));
    assert!(progress.iter().all(|p| p.id == 7));
}

/// Every format the page opens (`core::image_check`: JPEG, PNG, GIF, BMP, WebP, TIFF) is
/// labelled too: the same pixels as PNG, BMP, TIFF and lossless WebP give the PNG's
/// detections; a GIF (256 colours, so other pixels) is labelled at the photo's size.
#[test]
fn every_format_the_page_opens_is_labelled() {
    use image::ImageFormat;
    let Some(mut host) = host() else {
        return;
    };
    let dog = image::load_from_memory(&read(&demo("dog.jpg")))
        .expect("decodes")
        .to_rgb8();
    let formats = [
        ("dog.png", ImageFormat::Png),
        ("dog.bmp", ImageFormat::Bmp),
        ("dog.tiff", ImageFormat::Tiff),
        ("dog.webp", ImageFormat::WebP),
        ("dog.gif", ImageFormat::Gif),
    ];
    for (name, format) in formats {
        let mut bytes = std::io::Cursor::new(Vec::new());
        dog.write_to(&mut bytes, format).expect("encodes");
        host.images.insert(name.to_owned(), bytes.into_inner());
    }
    let images: Vec<_> = formats.iter().map(|(name, _)| image(name)).collect();
    let engine = Engine::new(cpu(), cpu_backend());
    let results = detections(
        block_on(engine.detect(&host, 8, "yolov8t.onnx", &images, &LOW, None)).expect("runs"),
    );
    let outcome = |index: usize| {
        results[index]
            .outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", images[index].name))
    };
    let png = outcome(0);
    assert!(
        !png.detections.is_empty(),
        "the tiny model finds something at 0.01"
    );
    for index in 1..formats.len() {
        let got = outcome(index);
        assert_eq!(
            (got.width, got.height),
            dog.dimensions(),
            "{}",
            images[index].name
        );
        if formats[index].1 != ImageFormat::Gif {
            assert_eq!(got.detections, png.detections, "{}", images[index].name);
        }
    }
}

#[test]
fn filter_says_which_images_match() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    let images = [image("dog.jpg"), image("person.jpg")];
    let all = detections(
        block_on(engine.detect(&host, 1, "yolov8t.onnx", &images, &LOW, None)).expect("runs"),
    );
    let label = all[0].outcome.as_ref().expect("ok").detections[0]
        .label
        .clone();
    let filter = FilterParams {
        classes: vec![label],
        min_confidence: 0.0,
        max_confidence: 1.0,
    };
    let filtered = detections(
        block_on(engine.detect(&host, 2, "yolov8t.onnx", &images, &LOW, Some(&filter)))
            .expect("runs"),
    );
    assert_eq!((all.len(), filtered.len()), (images.len(), images.len()));
    for (plain, with_filter) in all.iter().zip(&filtered) {
        let plain = plain.outcome.as_ref().expect("ok");
        let with_filter = with_filter.outcome.as_ref().expect("ok");
        assert_eq!(with_filter.matches, Some(filter.matches(&plain.detections)));
    }
    assert_eq!(
        filtered[0].outcome.as_ref().expect("ok").matches,
        Some(true)
    );
}

#[test]
fn broken_models_are_refused_by_name_and_not_cached() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    for key in ["garbage", "truncated"] {
        let error = load(&engine, &host, key).expect_err("refused");
        let WorkerError::InvalidModel { detail } = &error else {
            panic!("{key}: expected InvalidModel, got {error:?}");
        };
        assert!(!detail.is_empty());
        assert!(
            error
                .to_string()
                .starts_with("the model file cannot be used")
        );
    }
    assert_eq!(engine.loaded(), 0);
    assert!(matches!(
        load(&engine, &host, "nope"),
        Err(WorkerError::ModelNotFound { .. })
    ));
    let reply = block_on(engine.detect(&host, 3, "garbage", &[image("dog.jpg")], &LOW, None));
    assert!(matches!(reply, Err(WorkerError::InvalidModel { .. })));
}

/// Runs request `id` on yolov8t with the page's Cancel for it arriving at the `at`-th yield
/// of the run; returns what the cancelled run kept.
fn cancelled_at_yield(
    host: &Rc<MemoryHost>,
    engine: &Rc<Engine>,
    at: usize,
    id: u64,
    images: &[ImageRef],
    params: &DetectParams,
) -> Vec<sightline_protocol::ImageResult> {
    let start = host.yields.get();
    let canceller = engine.clone();
    *host.on_yield.borrow_mut() = Some(Box::new(move |count| {
        if count == start + at {
            canceller.cancel(id);
        }
    }));
    let reply = block_on(engine.detect(&**host, id, "yolov8t.onnx", images, params, None));
    let Err(WorkerError::Cancelled { finished }) = reply else {
        panic!("expected a cancel, got {reply:?}");
    };
    finished
}

#[test]
fn a_cancel_keeps_the_images_finished_before_it() {
    let Some(host) = host() else {
        return;
    };
    let host = Rc::new(host);
    let engine = Rc::new(Engine::new(cpu(), cpu_backend()));
    load(&engine, &host, "yolov8t.onnx").expect("loads");
    let images = [
        image("dog.jpg"),
        image("person.jpg"),
        image("kite.jpg"),
        image("horses.jpg"),
    ];
    // The page's Cancel arrives while the third image waits its turn.
    let finished = cancelled_at_yield(&host, &engine, 3, 11, &images, &LOW);
    let names: Vec<&str> = finished.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["dog.jpg", "person.jpg"]);
    assert!(finished.iter().all(|r| r.outcome.is_ok()));
    // The model stays usable, and a later request is not affected by the old cancel.
    *host.on_yield.borrow_mut() = None;
    let results = detections(
        block_on(engine.detect(&*host, 12, "yolov8t.onnx", &images[..1], &LOW, None))
            .expect("runs"),
    );
    assert_eq!(results, finished[..1], "the same result as the one kept");
}

/// Batches of three through one forward each: every image gets the result it gets alone
/// (bad images among them included), progress moves a batch at a time, and a cancel keeps
/// the batches finished before it.
#[test]
fn batches_give_each_image_its_own_result() {
    let Some(host) = host() else {
        return;
    };
    let host = Rc::new(host);
    let engine = Rc::new(Engine::new(cpu(), cpu_backend()));
    let images = [
        image("dog.jpg"),
        image("broken.jpg"),
        image("person.jpg"),
        image("kite.jpg"),
        image("missing.jpg"),
        image("horses.jpg"),
        image("dog.jpg"),
    ];
    let alone = detections(
        block_on(engine.detect(&*host, 20, "yolov8t.onnx", &images, &LOW, None)).expect("runs"),
    );
    assert_eq!(alone.len(), images.len());
    host.progress.borrow_mut().clear();
    let batched_params = DetectParams { batch: 3, ..LOW };
    let batched = detections(
        block_on(engine.detect(&*host, 21, "yolov8t.onnx", &images, &batched_params, None))
            .expect("runs"),
    );
    assert_eq!(batched.len(), images.len());
    for (one, many) in alone.iter().zip(&batched) {
        let name = &one.name;
        assert_eq!(name, &many.name);
        match (&one.outcome, &many.outcome) {
            (Ok(one), Ok(many)) => {
                assert_eq!((one.width, one.height), (many.width, many.height));
                assert_eq!(one.detections.len(), many.detections.len(), "{name}");
                for (a, b) in one.detections.iter().zip(&many.detections) {
                    assert_eq!(a.class_id, b.class_id);
                    assert!((a.score - b.score).abs() < 1e-4, "{name}: {a:?} vs {b:?}");
                    for (x, y) in a.bbox.iter().zip(&b.bbox) {
                        assert!((x - y).abs() < 1e-2, "{name}: {a:?} vs {b:?}");
                    }
                }
            }
            (Err(one), Err(many)) => assert_eq!(one, many),
            (a, b) => panic!("{name}: alone {a:?}, batched {b:?}"),
        }
    }
    let done: Vec<u64> = host.progress.borrow().iter().map(|p| p.done).collect();
    assert_eq!(done, [0, 3, 6, 7]);

    // A cancel arriving before the second batch keeps the first whole.
    let finished = cancelled_at_yield(&host, &engine, 2, 22, &images, &batched_params);
    let names: Vec<&str> = finished.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["dog.jpg", "broken.jpg", "person.jpg"]);
}

/// The f16 setting: f16 is used only when vision's check (`Detector::agrees_with`, the
/// CLI's check too) finds the f32 detections on the job's first images, and the reason is
/// told either way; f32 and auto on the CPU never try it; a changed setting reloads.
#[test]
fn f16_is_used_only_when_it_finds_what_f32_finds() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    let probe = [image("broken.jpg"), image("dog.jpg"), image("person.jpg")];
    let decoded: Vec<image::RgbImage> = ["dog.jpg", "person.jpg"]
        .iter()
        .map(|name| sightline_vision::image_io::decode_image(&read(&demo(name))).expect("decodes"))
        .collect();
    let pixels: Vec<&image::RgbImage> = decoded.iter().collect();
    let f32_detector = reference_detector("yolov5t-classic.onnx", sightline_vision::Precision::F32);
    let f16_detector = reference_detector("yolov5t-classic.onnx", sightline_vision::Precision::F16);
    // The oracle: vision's own check on the images of the probe that decode.
    let oracle = f16_detector.agrees_with(&f32_detector, &pixels);

    let info =
        block_on(engine.load_model(&host, "yolov5t-classic.onnx", PrecisionChoice::F16, &probe))
            .expect("loads");
    match &oracle {
        Ok(()) => {
            assert_eq!(info.precision, Precision::F16, "{}", info.precision_note);
            assert_eq!(
                info.precision_note,
                "f16: same detections as f32 on 2 image(s)"
            );
        }
        Err(why) => {
            assert_eq!(info.precision, Precision::F32);
            assert_eq!(info.precision_note, format!("f32, not f16: {why}"));
        }
    }
    // Detections come from the model in the precision the check chose.
    let chosen = if oracle.is_ok() {
        &f16_detector
    } else {
        &f32_detector
    };
    let params = DetectParams {
        precision: PrecisionChoice::F16,
        confidence: chosen.options.score_threshold,
        iou: chosen.options.iou_threshold,
        ..LOW
    };
    let results = detections(
        block_on(engine.detect(
            &host,
            30,
            "yolov5t-classic.onnx",
            &probe[1..2],
            &params,
            None,
        ))
        .expect("runs"),
    );
    let expected = chosen.detect(&decoded[0]).expect("runs");
    assert_eq!(
        results[0].outcome.as_ref().expect("ok").detections,
        expected
    );
    assert_eq!(
        engine.loaded(),
        1,
        "the same setting reuses the loaded model"
    );

    // The tiny DFL head moves boxes in f16 on the CPU (flex accumulates in f16): refused,
    // with the image and the box named.
    let v8 = block_on(engine.load_model(&host, "yolov8t.onnx", PrecisionChoice::F16, &probe))
        .expect("loads");
    let v8_half = reference_detector("yolov8t.onnx", sightline_vision::Precision::F16);
    let v8_full = reference_detector("yolov8t.onnx", sightline_vision::Precision::F32);
    assert_eq!(
        v8.precision == Precision::F16,
        v8_half.agrees_with(&v8_full, &pixels).is_ok(),
        "{}",
        v8.precision_note
    );

    // f32 chosen, auto on the CPU, and f16 with no image to check: f32, saying why.
    for (choice, probe, note) in [
        (
            PrecisionChoice::F32,
            &probe[..],
            "f32: chosen in the settings",
        ),
        (
            PrecisionChoice::Auto,
            &probe[..],
            "f32: f16 is used on a GPU only (auto)",
        ),
        (
            PrecisionChoice::F16,
            &probe[..1],
            "f32: no images to check f16 against",
        ),
    ] {
        let info = block_on(engine.load_model(&host, "yolov5t-classic.onnx", choice, probe))
            .expect("loads");
        assert_eq!(info.precision, Precision::F32, "{choice:?}");
        assert_eq!(info.precision_note, note, "{choice:?}");
    }
    // Loaded for f16 with nothing to check on: a request with images checks it then.
    let checked =
        block_on(engine.load_model(&host, "yolov5t-classic.onnx", PrecisionChoice::F16, &probe))
            .expect("loads");
    assert_eq!(checked.precision_note, info.precision_note);
    assert_eq!(
        engine.loaded(),
        2,
        "a new setting replaces the model loaded for the old one"
    );
}

#[test]
fn requests_are_answered_with_typed_replies() {
    let Some(host) = host() else {
        return;
    };
    let engine = Engine::new(cpu(), cpu_backend());
    let ask = |id, body| block_on(handle_request(&engine, &host, Request { id, body }));
    let Message::Reply(Reply {
        id: 1,
        outcome: Ok(ReplyBody::Pong(info)),
    }) = ask(1, RequestBody::Ping)
    else {
        panic!("expected a pong");
    };
    assert_eq!(info.protocol_version, sightline_protocol::PROTOCOL_VERSION);
    assert!(matches!(
        ask(
            2,
            RequestBody::SetBackend {
                choice: BackendChoice::WebGpu
            }
        ),
        Message::Reply(Reply {
            id: 2,
            outcome: Err(WorkerError::BackendUnavailable { .. })
        })
    ));
    assert!(matches!(
        ask(3, RequestBody::Cancel { target: 99 }),
        Message::Reply(Reply {
            id: 3,
            outcome: Ok(ReplyBody::CancelRequested { target: 99 })
        })
    ));
    assert!(matches!(
        ask(
            4,
            RequestBody::LoadModel {
                model: "yolov8t.onnx".into(),
                precision: PrecisionChoice::Auto,
                probe: Vec::new(),
            }
        ),
        Message::Reply(Reply {
            id: 4,
            outcome: Ok(ReplyBody::ModelLoaded(_))
        })
    ));
    assert!(matches!(
        ask(
            5,
            RequestBody::UnloadModel {
                model: "yolov8t.onnx".into()
            }
        ),
        Message::Reply(Reply {
            id: 5,
            outcome: Ok(ReplyBody::Unloaded { .. })
        })
    ));
    assert_eq!(engine.loaded(), 0);
    let garbage = sightline_worker::parse_request("{\"id\": 3, \"body\": {\"kind\": \"dance\"}}")
        .map_err(|reply| *reply);
    let Err(Message::Reply(Reply {
        id: 0,
        outcome: Err(WorkerError::BadRequest { detail }),
    })) = garbage
    else {
        panic!("expected a bad-request error");
    };
    assert!(detail.contains("dance"), "{detail}");
}

/// The trained detector (from PyPI; `cargo xtask test` downloads it) on person.jpg through
/// the worker gives Ultralytics' "Normal" box.
#[test]
fn the_trained_model_finds_the_person_ultralytics_finds() {
    let Some(path) = sightline_test_support::fall_model() else {
        return;
    };
    let mut host = images_host();
    host.models.insert(
        "fall".into(),
        StoredModel {
            name: "fall.onnx".into(),
            onnx: std::fs::read(&path).expect("the trained model"),
            config: None,
        },
    );
    let engine = Engine::new(cpu(), cpu_backend());
    let results = detections(
        block_on(engine.detect(
            &host,
            1,
            "fall",
            &[image("person.jpg")],
            &DetectParams::default(),
            None,
        ))
        .expect("runs"),
    );
    let refs: serde_json::Value =
        serde_json::from_slice(&read(&data("fall-yolov8s.detections.json"))).expect("json");
    let got = &results[0].outcome.as_ref().expect("ok").detections;
    let expected = refs["images"]["person.jpg"]["detections"]
        .as_array()
        .expect("list");
    assert_eq!(got.len(), expected.len());
    for want in expected {
        let name = want["name"].as_str().expect("name");
        let xyxy: Vec<f32> = want["xyxy"]
            .as_array()
            .expect("box")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect();
        let best = got
            .iter()
            .filter(|d| d.label == name)
            .map(|d| iou(&d.bbox, &xyxy))
            .fold(0.0_f32, f32::max);
        assert!(best >= 0.95, "{name}: IoU {best}");
    }
}

fn iou(a: &[f32; 4], b: &[f32]) -> f32 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let area = |r: &[f32]| (r[2] - r[0]) * (r[3] - r[1]);
    inter / (area(a) + area(b) - inter)
}
