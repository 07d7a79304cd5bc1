//! Fetching and decoding images with the browser's own decoder (`createImageBitmap`, off the
//! main thread), and drawing them on a canvas.

use js_sys::Promise;
use sightline_core::view::{Size, ViewTransform};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, Response};

/// Why an image could not be shown, in words for the status bar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("could not fetch {url}: {detail}")]
    Network { url: String, detail: String },
    #[error("could not fetch {url}: HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url} is not an image the browser can decode: {detail}")]
    Decode { url: String, detail: BitmapError },
}

/// Why the browser could not decode or draw an image, in its own words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BitmapError {
    /// Not running in a window (a worker, a test harness).
    #[error("no window")]
    NoWindow,
    #[error("the canvas has no 2d context")]
    NoContext,
    /// What the browser said (the message of the exception it threw).
    #[error("{0}")]
    Browser(String),
}

impl BitmapError {
    fn browser(err: JsValue) -> Self {
        Self::Browser(js_error_text(&err))
    }
}

pub(crate) fn js_error_text(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{err:?}"))
}

fn window() -> Result<web_sys::Window, BitmapError> {
    web_sys::window().ok_or(BitmapError::NoWindow)
}

/// `relative` resolved against the page's base URL (the worker resolves URLs against its own
/// script, and caches key by absolute URL).
pub fn absolute_url(relative: &str) -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .and_then(|base| web_sys::Url::new_with_base(relative, &base).ok())
        .map_or_else(|| relative.to_owned(), |url| url.href())
}

/// GETs `url` and returns the response, failing on network errors and non-2xx statuses.
pub async fn fetch(url: &str) -> Result<Response, LoadError> {
    let network = |detail: String| LoadError::Network {
        url: url.to_owned(),
        detail,
    };
    let window = window().map_err(|e| network(e.to_string()))?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|err| network(js_error_text(&err)))?;
    let response: Response = response
        .dyn_into()
        .map_err(|err| network(js_error_text(&err)))?;
    if !response.ok() {
        return Err(LoadError::Http {
            url: url.to_owned(),
            status: response.status(),
        });
    }
    Ok(response)
}

/// `bytes` (held in JS memory) as a `Blob` of type `mime`.
pub(crate) fn blob_of(bytes: &js_sys::Uint8Array, mime: &str) -> Result<Blob, BitmapError> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(bytes), &options)
        .map_err(BitmapError::browser)
}

/// Decodes image bytes held in a blob with the browser's decoder, which runs off the main
/// thread; EXIF orientation is applied, as cameras expect.
pub async fn decode_blob(blob: &Blob) -> Result<ImageBitmap, BitmapError> {
    let window = window()?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let promise: Promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options)
        .map_err(BitmapError::browser)?;
    let bitmap = JsFuture::from(promise)
        .await
        .map_err(BitmapError::browser)?;
    Ok(bitmap.unchecked_into())
}

/// Sizes the canvas backing store to its CSS box at the device pixel ratio, clears it and
/// draws `bitmap` fitted into it. Returns the `view_from_image` transform used (in CSS
/// pixels), `None` when the canvas has no size yet.
pub fn draw_fitted(
    canvas: &HtmlCanvasElement,
    bitmap: Option<&ImageBitmap>,
) -> Result<Option<ViewTransform>, BitmapError> {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let view_size = Size::new(
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    if view_size.is_empty() {
        return Ok(None);
    }
    canvas.set_width((view_size.width * ratio).round() as u32);
    canvas.set_height((view_size.height * ratio).round() as u32);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(BitmapError::browser)?
        .ok_or(BitmapError::NoContext)?
        .unchecked_into();
    context
        .set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0)
        .map_err(BitmapError::browser)?;
    context.clear_rect(0.0, 0.0, view_size.width, view_size.height);
    let Some(bitmap) = bitmap else {
        return Ok(None);
    };
    let image_size = Size::new(f64::from(bitmap.width()), f64::from(bitmap.height()));
    let view_from_image = ViewTransform::fit(image_size, view_size);
    draw_bitmap(&context, bitmap, image_size, &view_from_image)?;
    Ok(Some(view_from_image))
}

/// Draws `bitmap` — the image, or a smaller level of it — over the original's `natural` size
/// where `view_from_image` puts it (CSS pixels); smoothing only when the bitmap is shown
/// smaller than its pixels, so zoomed-in pixels stay sharp for precise labelling.
pub(crate) fn draw_bitmap(
    context: &CanvasRenderingContext2d,
    bitmap: &ImageBitmap,
    natural: Size,
    view_from_image: &ViewTransform,
) -> Result<(), BitmapError> {
    let size_in_view = view_from_image.view_size_of(natural);
    let bitmap_scale = size_in_view.width / f64::from(bitmap.width().max(1));
    context.set_image_smoothing_enabled(bitmap_scale < 1.0);
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(
            bitmap,
            view_from_image.offset_in_view.x,
            view_from_image.offset_in_view.y,
            size_in_view.width,
            size_in_view.height,
        )
        .map_err(BitmapError::browser)
}
