//! The worker's quality requests natively, with an in-memory host: scores equal the vision
//! crate's own, a bad image is a typed error that stops nothing else, progress counts images,
//! a cancel stops the request, and similarity tells a re-encode from another photo.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::HashMap;

use burn::tensor::Device;
use futures_executor::block_on;
use sightline_protocol::{
    Backend, BackendChoice, ImageError, ImageRef, ImageSource, Metric, Progress, ReplyBody,
    WorkerError,
};
use sightline_vision::quality::{QualityImage, duplicates, score};
use sightline_worker::engine::{Engine, Host, StoredModel};

fn iqa(name: &str) -> Vec<u8> {
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo"));
    let path = dir.join("../vision/tests/data/iqa").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Default)]
struct Images {
    bytes: HashMap<String, Vec<u8>>,
    progress: RefCell<Vec<Progress>>,
}

impl Host for Images {
    async fn read_model(&self, key: &str) -> Result<StoredModel, WorkerError> {
        Err(WorkerError::ModelNotFound {
            model: key.to_owned(),
        })
    }

    async fn read_image(&self, source: &ImageSource) -> Result<Vec<u8>, ImageError> {
        let ImageSource::Stored { key } = source else {
            unreachable!("stored images only");
        };
        self.bytes
            .get(key)
            .cloned()
            .ok_or_else(|| ImageError::Read {
                detail: format!("no bytes under {key}"),
            })
    }

    async fn yield_now(&self) {}

    async fn device_for(&self, _: BackendChoice) -> Result<(Device, Backend), WorkerError> {
        Ok((Device::flex(), cpu_backend()))
    }

    fn progress(&self, progress: Progress) {
        self.progress.borrow_mut().push(progress);
    }
}

fn cpu_backend() -> Backend {
    Backend::Cpu {
        reason: "test".into(),
    }
}

fn image(name: &str) -> ImageRef {
    ImageRef {
        name: name.to_owned(),
        source: ImageSource::Stored {
            key: name.to_owned(),
        },
    }
}

fn host() -> Images {
    let mut host = Images::default();
    for name in [
        "chelsea_ref.png",
        "chelsea_q30_decoded.png",
        "coffee_ref.png",
    ] {
        host.bytes.insert(name.to_owned(), iqa(name));
    }
    host.bytes
        .insert("broken.png".into(), b"\x89PNG nope".to_vec());
    host
}

fn prepared(name: &str) -> QualityImage {
    let rgb = image::load_from_memory(&iqa(name))
        .expect("decodes")
        .to_rgb8();
    QualityImage::from_image(&rgb, &Device::flex()).expect("prepared")
}

#[test]
fn scores_equal_vision_and_a_bad_image_stops_nothing() {
    let host = host();
    let engine = Engine::new(Device::flex(), cpu_backend());
    let metrics = [Metric::Entropy, Metric::BlurEffect, Metric::RmsContrast];
    let images = [
        image("chelsea_ref.png"),
        image("broken.png"),
        image("coffee_ref.png"),
    ];
    let reply = block_on(engine.quality(&host, 1, &images, &metrics, true)).expect("runs");
    let ReplyBody::Quality { results } = reply else {
        panic!("a quality reply: {reply:?}");
    };
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["chelsea_ref.png", "broken.png", "coffee_ref.png"]);
    assert!(matches!(results[1].outcome, Err(ImageError::Decode { .. })));
    for (result, name) in [
        (&results[0], "chelsea_ref.png"),
        (&results[2], "coffee_ref.png"),
    ] {
        let found = result.outcome.as_ref().expect("scored");
        let own = prepared(name);
        for metric in metrics {
            assert_eq!(
                found.scores[&metric],
                score(metric, &own, None).unwrap(),
                "{name} {metric}"
            );
        }
        assert_eq!(found.phash, Some(duplicates::perceptual_hash(&own)));
    }
    let done: Vec<u64> = host.progress.borrow().iter().map(|p| p.done).collect();
    assert_eq!(done, [0, 1, 2]);
}

#[test]
fn a_cancel_stops_the_request() {
    let host = host();
    let engine = Engine::new(Device::flex(), cpu_backend());
    engine.cancel(7);
    let reply = block_on(engine.quality(
        &host,
        7,
        &[image("chelsea_ref.png")],
        &[Metric::Entropy],
        false,
    ));
    assert!(
        matches!(reply, Err(WorkerError::Cancelled { .. })),
        "{reply:?}"
    );
    // The cancel is spent: the next request with that id runs.
    let reply = block_on(engine.quality(
        &host,
        7,
        &[image("chelsea_ref.png")],
        &[Metric::Entropy],
        false,
    ));
    assert!(matches!(reply, Ok(ReplyBody::Quality { .. })), "{reply:?}");
}

#[test]
fn similarity_tells_a_re_encode_from_another_photo() {
    let host = host();
    let engine = Engine::new(Device::flex(), cpu_backend());
    let pairs = [
        (image("chelsea_ref.png"), image("chelsea_q30_decoded.png")),
        (image("chelsea_ref.png"), image("coffee_ref.png")),
        (image("chelsea_ref.png"), image("missing.png")),
    ];
    let reply = block_on(engine.similarity(&host, 2, &pairs)).expect("runs");
    let ReplyBody::Similarity { ssim } = reply else {
        panic!("a similarity reply: {reply:?}");
    };
    let same = *ssim[0].as_ref().expect("compared");
    let other = *ssim[1].as_ref().expect("compared");
    assert!(same >= duplicates::DEFAULT_MIN_SSIM, "{same}");
    assert!(other < duplicates::DEFAULT_MIN_SSIM, "{other}");
    assert!(matches!(ssim[2], Err(ImageError::Read { .. })));
}
