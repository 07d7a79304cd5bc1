//! Decoding user images (JPEG, PNG) into RGB with EXIF orientation applied, as OpenCV's
//! `imread` does, and with a pixel limit so that a hostile file cannot exhaust memory.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use crate::error::{Result, VisionError};

/// Images above this many pixels are refused.
pub const MAX_IMAGE_PIXELS: u64 = 200_000_000;

/// Decodes encoded image bytes to 8-bit RGB (grey, 16-bit and alpha are converted).
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    decode_image_within(bytes, MAX_IMAGE_PIXELS)
}

/// [`decode_image`] refusing images above `max_pixels` (the fuzz targets ask for less than
/// [`MAX_IMAGE_PIXELS`], to stay inside libFuzzer's memory limit).
pub(crate) fn decode_image_within(bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(VisionError::Image("the file is empty".into()));
    }
    // Baseline JPEGs: decode exactly as libjpeg-turbo (OpenCV) does; the rest: `image`.
    let orientation_only = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .filter(|r| r.format() == Some(image::ImageFormat::Jpeg))
        .and_then(|r| r.into_decoder().ok())
        .map(|mut d| d.orientation().ok());
    if let Some(orientation) = orientation_only
        && let Some(decoded) = crate::jpeg::decode_baseline(bytes, max_pixels)
    {
        let Ok((width, height, rgb)) = decoded else {
            return Err(VisionError::Image("the JPEG file is truncated".into()));
        };
        let Some(rgb) = RgbImage::from_raw(width as u32, height as u32, rgb) else {
            return Err(VisionError::Image("JPEG size mismatch".into()));
        };
        let mut image = DynamicImage::ImageRgb8(rgb);
        if let Some(orientation) = orientation {
            image.apply_orientation(orientation);
        }
        return Ok(image.to_rgb8());
    }
    if orientation_only.is_some()
        && let Some(reason) = crate::jpeg::fallback_refusal(bytes)
    {
        return Err(VisionError::Image(reason.into()));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| VisionError::Image(err.to_string()))?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| VisionError::Image(err.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(VisionError::Image(format!(
            "{width}x{height} is above the limit of {max_pixels} pixels"
        )));
    }
    let orientation = decoder.orientation().ok();
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|err| VisionError::Image(err.to_string()))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(image.to_rgb8())
}

/// Reads and decodes an image file.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_image(path: impl AsRef<std::path::Path>) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|err| VisionError::Io {
        path: path.display().to_string(),
        message: err.to_string(),
    })?;
    decode_image(&bytes)
}
