//! The browser's image primitives the pipeline is built from: at most N decodes at a time,
//! encoding a decoded bitmap as a smaller level (tier 2) or a thumbnail, and waiting for the
//! next task.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, ImageBitmap, ImageBitmapOptions, ImageEncodeOptions, ImageOrientation, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d, ResizeQuality,
};

use crate::image_loader::{BitmapError, js_error_text};

fn browser(err: JsValue) -> BitmapError {
    BitmapError::Browser(js_error_text(&err))
}

fn global() -> Result<web_sys::Window, BitmapError> {
    web_sys::window().ok_or(BitmapError::NoWindow)
}

async fn bitmap_of(promise: Result<Promise, JsValue>) -> Result<ImageBitmap, BitmapError> {
    let bitmap = JsFuture::from(promise.map_err(browser)?)
        .await
        .map_err(browser)?;
    Ok(bitmap.unchecked_into())
}

/// Resolves in a later task of the event loop (`setTimeout(0)`), after what the current one
/// has scheduled — the drawing of the image just opened.
pub async fn next_task() {
    let promise = Promise::new(&mut |resolve, _| {
        let scheduled = web_sys::window()
            .is_some_and(|window| window.set_timeout_with_callback(&resolve).is_ok());
        if !scheduled {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// A 2d context on a new offscreen canvas of `width`×`height`.
fn offscreen(
    width: u32,
    height: u32,
) -> Result<(OffscreenCanvas, OffscreenCanvasRenderingContext2d), BitmapError> {
    let canvas = OffscreenCanvas::new(width, height).map_err(browser)?;
    let context = canvas
        .get_context("2d")
        .map_err(browser)?
        .ok_or(BitmapError::NoContext)?
        .unchecked_into();
    Ok((canvas, context))
}

/// The canvas's picture encoded as `mime` at `quality`: its bytes (in JS memory) and the
/// type the browser actually wrote.
async fn encoded(
    canvas: &OffscreenCanvas,
    mime: &str,
    quality: f64,
) -> Result<(Uint8Array, String), BitmapError> {
    let options = ImageEncodeOptions::new();
    options.set_type(mime);
    options.set_quality(quality);
    let blob: Blob = JsFuture::from(
        canvas
            .convert_to_blob_with_options(&options)
            .map_err(browser)?,
    )
    .await
    .map_err(browser)?
    .unchecked_into();
    let written = blob.type_();
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(browser)?;
    Ok((Uint8Array::new(&buffer), written))
}

/// `bitmap` scaled to `width`×`height` and encoded as a JPEG: a tier-2 level. JPEG, not raw
/// RGBA: a 2048×1536 level is about 1 MB instead of 12.6 MB, and reading and decoding it
/// is faster than reading the raw pixels back from IndexedDB, measured in
/// `benchmarks/README.md`. It is a stand-in shown at once; the original is decoded behind it.
pub async fn encode_level(
    bitmap: &ImageBitmap,
    width: u32,
    height: u32,
) -> Result<(Uint8Array, String), BitmapError> {
    let (canvas, context) = offscreen(width, height)?;
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(
            bitmap,
            0.0,
            0.0,
            f64::from(width),
            f64::from(height),
        )
        .map_err(browser)?;
    encoded(&canvas, "image/jpeg", 0.9).await
}

/// A thumbnail of `blob` whose longer side (by the header's `width`×`height`) is `side`,
/// encoded as WebP: its bytes, size and type.
pub async fn thumbnail(
    blob: &Blob,
    header: (u32, u32),
    side: u32,
) -> Result<(Uint8Array, u32, u32, String), BitmapError> {
    let options = ImageBitmapOptions::new();
    options.set_image_orientation(ImageOrientation::FromImage);
    options.set_resize_quality(ResizeQuality::Medium);
    // One side only: the browser keeps the aspect ratio of the image as oriented.
    if header.0 >= header.1 {
        options.set_resize_width(side.min(header.0.max(1)));
    } else {
        options.set_resize_height(side.min(header.1.max(1)));
    }
    let bitmap =
        bitmap_of(global()?.create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options))
            .await?;
    let (width, height) = (bitmap.width(), bitmap.height());
    let (canvas, context) = offscreen(width, height)?;
    context
        .draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)
        .map_err(browser)?;
    bitmap.close();
    let (bytes, mime) = encoded(&canvas, "image/webp", 0.8).await?;
    Ok((bytes, width, height, mime))
}

/// At most `limit` decodes at once (a setting; each 12 MP decode holds 48 MB while it runs).
/// Waiters are served in order, an urgent one (the image the user asked for) first.
pub struct DecodeSlots {
    limit: Cell<usize>,
    busy: Cell<usize>,
    waiting: RefCell<VecDeque<oneshot::Sender<()>>>,
}

/// A held slot; dropping it frees the slot for the next waiter.
pub struct Slot(Rc<DecodeSlots>);

impl DecodeSlots {
    pub fn new(limit: usize) -> Rc<Self> {
        Rc::new(Self {
            limit: Cell::new(limit.max(1)),
            busy: Cell::new(0),
            waiting: RefCell::new(VecDeque::new()),
        })
    }

    pub fn set_limit(self: &Rc<Self>, limit: usize) {
        self.limit.set(limit.max(1));
        self.wake();
    }

    /// Waits for a free slot.
    pub async fn acquire(self: &Rc<Self>, urgent: bool) -> Slot {
        if self.busy.get() < self.limit.get() && self.waiting.borrow().is_empty() {
            self.busy.set(self.busy.get() + 1);
            return Slot(self.clone());
        }
        let (sender, receiver) = oneshot::channel();
        if urgent {
            self.waiting.borrow_mut().push_front(sender);
        } else {
            self.waiting.borrow_mut().push_back(sender);
        }
        // The slot is counted as busy by `wake` before it sends.
        let _ = receiver.await;
        Slot(self.clone())
    }

    fn wake(&self) {
        while self.busy.get() < self.limit.get() {
            let Some(next) = self.waiting.borrow_mut().pop_front() else {
                return;
            };
            self.busy.set(self.busy.get() + 1);
            if next.send(()).is_err() {
                // The waiter is gone (its task was dropped): the slot is free again.
                self.busy.set(self.busy.get() - 1);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.busy.set(self.0.busy.get() - 1);
        self.0.wake();
    }
}
