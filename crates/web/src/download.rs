//! Files the app hands to the user: a `Write` sink that moves what is written into JS memory
//! in chunks (so a zip of a thousand images never sits whole in wasm memory), and the
//! download itself.

use wasm_bindgen::JsCast;

use crate::image_loader::js_error_text;

/// Bytes kept in wasm memory before they move to a JS chunk.
const CHUNK: usize = 4 << 20;

/// A growing file made of JS `Uint8Array` parts; [`BlobParts::into_blob`] makes the `Blob`.
#[derive(Default)]
pub struct BlobParts {
    parts: Vec<js_sys::Uint8Array>,
    pending: Vec<u8>,
    written: u64,
}

impl BlobParts {
    pub fn written(&self) -> u64 {
        self.written
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            self.parts
                .push(js_sys::Uint8Array::from(self.pending.as_slice()));
            self.pending.clear();
        }
    }

    pub fn into_blob(mut self, mime: &str) -> Result<web_sys::Blob, String> {
        self.flush_pending();
        let parts: js_sys::Array = self.parts.iter().collect();
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(|e| js_error_text(&e))
    }
}

impl std::io::Write for BlobParts {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.pending.len() >= CHUNK {
            self.flush_pending();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Offers `blob` as a download named `file_name`.
pub fn download_blob(blob: &web_sys::Blob, file_name: &str) -> Result<(), String> {
    let js = |e: wasm_bindgen::JsValue| js_error_text(&e);
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(js)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(js)?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    // The download has its own reference to the blob by now; the URL is no longer needed.
    web_sys::Url::revoke_object_url(&url).map_err(js)
}

/// Offers `bytes` as a download.
pub fn download(bytes: &[u8], file_name: &str, mime: &str) -> Result<(), String> {
    let mut parts = BlobParts::default();
    std::io::Write::write_all(&mut parts, bytes).map_err(|e| e.to_string())?;
    download_blob(&parts.into_blob(mime)?, file_name)
}
