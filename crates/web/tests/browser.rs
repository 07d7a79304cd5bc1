//! The browser decoding and drawing path in a real page (headless Chromium).
#![cfg(target_arch = "wasm32")]

use sightline_web::image_loader::{decode_blob, draw_fitted};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement};

wasm_bindgen_test_configure!(run_in_browser);

const DOG_JPG: &[u8] = include_bytes!("../../../public/demo/dog.jpg");

fn blob_of(bytes: &[u8]) -> Blob {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).expect("a blob")
}

fn canvas_of_css_size(width: u32, height: u32) -> HtmlCanvasElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let canvas: HtmlCanvasElement = document
        .create_element("canvas")
        .expect("canvas")
        .unchecked_into();
    canvas
        .set_attribute(
            "style",
            &format!("width:{width}px;height:{height}px;display:block"),
        )
        .expect("style");
    document
        .body()
        .expect("body")
        .append_child(&canvas)
        .expect("attached");
    canvas
}

fn alpha_at(canvas: &HtmlCanvasElement, x: f64, y: f64) -> u8 {
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .expect("2d")
        .expect("2d")
        .unchecked_into();
    context
        .get_image_data(x, y, 1.0, 1.0)
        .expect("pixels")
        .data()[3]
}

#[wasm_bindgen_test]
async fn jpeg_decodes_with_the_browser_decoder() {
    let bitmap = decode_blob(&blob_of(DOG_JPG))
        .await
        .expect("dog.jpg decodes");
    assert_eq!((bitmap.width(), bitmap.height()), (768, 576));
}

#[wasm_bindgen_test]
async fn garbage_bytes_are_a_decode_error() {
    let err = decode_blob(&blob_of(b"definitely not an image"))
        .await
        .expect_err("must fail");
    assert!(!err.to_string().is_empty());
}

#[wasm_bindgen_test]
async fn image_is_fitted_and_centred_in_the_canvas() {
    let bitmap = decode_blob(&blob_of(DOG_JPG))
        .await
        .expect("dog.jpg decodes");
    let canvas = canvas_of_css_size(400, 400);
    let view_from_image = draw_fitted(&canvas, Some(&bitmap))
        .expect("draws")
        .expect("has a size");
    // 768×576 into 400×400: width fills, 300 px tall, 50 px bands above and below.
    assert!((view_from_image.scale - 400.0 / 768.0).abs() < 1e-9);
    assert!((view_from_image.offset_in_view.y - 50.0).abs() < 1e-9);
    let ratio = web_sys::window().expect("window").device_pixel_ratio();
    assert_eq!(canvas.width(), (400.0 * ratio).round() as u32);
    assert_eq!(
        alpha_at(&canvas, 200.0 * ratio, 200.0 * ratio),
        255,
        "centre is painted"
    );
    assert_eq!(
        alpha_at(&canvas, 200.0 * ratio, 10.0 * ratio),
        0,
        "band above is empty"
    );
    assert_eq!(
        alpha_at(&canvas, 200.0 * ratio, 390.0 * ratio),
        0,
        "band below is empty"
    );
    canvas.remove();
}
