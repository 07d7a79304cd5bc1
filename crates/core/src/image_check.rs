//! Whether a file's bytes are an image the app can show, and if not, why — read from the
//! bytes alone, before any decoder sees them.
//!
//! A folder of thousands of images holds a few bad ones (empty, cut short by a failed copy,
//! a text file named `.jpg`, a gigapixel scan). The browser's decoder answers those with an
//! opaque error, or exhausts memory; checking here gives each bad image an error tile with a
//! reason while every other image goes on. The format is taken from the content, as browsers
//! decode by content: a good image with the wrong extension is shown, and only noted.

use crate::annotation::ImageSize;
use crate::formats::extension;
use crate::project::image_size_from_header;

/// The most pixels an image may have. A decoded image costs width × height × 4 bytes of
/// RGBA: 100 megapixels are 400 MB, close to where browsers refuse to allocate a bitmap or
/// canvas, and most of a default memory cache on their own; a larger image would crash the
/// tab or flush the cache for one picture, so it is refused with this limit named.
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;

/// An image format the browser decodes, recognised by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
    Tiff,
}

impl ImageFormat {
    /// The name people know the format by.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Bmp => "BMP",
            ImageFormat::WebP => "WebP",
            ImageFormat::Tiff => "TIFF",
        }
    }
}

/// The format `bytes` start like, by magic bytes; `None` when none of them.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    let format = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageFormat::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        ImageFormat::Gif
    } else if bytes.starts_with(b"BM") {
        ImageFormat::Bmp
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        ImageFormat::WebP
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        ImageFormat::Tiff
    } else {
        return None;
    };
    Some(format)
}

/// The format a path's extension names (case-insensitive); `None` for any other extension.
/// The one list of image extensions: a folder's images are the files it names
/// (`formats::is_image_path`).
pub fn format_of_path(path: &str) -> Option<ImageFormat> {
    let format = match extension(path)?.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "jfif" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "gif" => ImageFormat::Gif,
        "bmp" => ImageFormat::Bmp,
        "webp" => ImageFormat::WebP,
        "tif" | "tiff" => ImageFormat::Tiff,
        _ => return None,
    };
    Some(format)
}

/// Why a file cannot be shown as an image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageProblem {
    /// Zero bytes: an interrupted copy, or a placeholder.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// The bytes start like none of the formats (a text file, a RAW file, a renamed PDF).
    #[error(
        "not an image: the bytes are not JPEG, PNG, GIF, BMP, WebP or TIFF{}",
        despite_name(extension)
    )]
    NotAnImage {
        /// The file's extension, lowercase, when it has one.
        extension: Option<String>,
    },
    /// A JPEG without its end-of-image marker or a PNG without its IEND chunk: the file was
    /// cut short (an interrupted copy or download).
    #[error("truncated: the {} data ends before the end of the image", format.name())]
    Truncated { format: ImageFormat },
    /// Over [`MAX_IMAGE_PIXELS`].
    #[error(
        "{width}×{height} is over the limit of {limit} pixels (decoded, it would take {} MB)",
        u64::from(*width) * u64::from(*height) * 4 / 1_000_000
    )]
    TooLarge { width: u32, height: u32, limit: u64 },
    /// The format's magic bytes, then a header or segment structure that makes no sense.
    #[error("the {} header could not be read", format.name())]
    BadHeader { format: ImageFormat },
    /// A PNG chunk the image needs (IHDR, PLTE, IDAT, IEND) whose CRC does not match its
    /// bytes: the file was damaged on the way. Browsers refuse such an image without saying
    /// why (a damaged optional chunk, such as text, is only skipped, by them and here).
    #[error("damaged: the PNG chunk {chunk} fails its checksum (CRC)")]
    BadChecksum { chunk: String },
}

fn despite_name(extension: &Option<String>) -> String {
    match extension {
        Some(ext) => format!(" (whatever the .{ext} name says)"),
        None => String::new(),
    }
}

/// An image that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedImage {
    /// The format of the content.
    pub format: ImageFormat,
    /// Its size from the header.
    pub size: ImageSize,
    /// Whether the path's extension names that format; when not, the image is still shown
    /// (browsers decode by content) and the UI may say so.
    pub extension_matches: bool,
}

/// Checks the bytes of the file at `path` (the path is used for its extension only): not
/// empty, a known format, complete (JPEG and PNG, whose ends are marked), undamaged (the
/// checksums of a PNG's critical chunks), a readable header and at most [`MAX_IMAGE_PIXELS`].
/// The size is the image as shown (a JPEG's EXIF orientation applied).
pub fn check_image(path: &str, bytes: &[u8]) -> Result<CheckedImage, ImageProblem> {
    if bytes.is_empty() {
        return Err(ImageProblem::Empty);
    }
    let Some(format) = sniff(bytes) else {
        return Err(ImageProblem::NotAnImage {
            extension: extension(path).map(str::to_ascii_lowercase),
        });
    };
    match format {
        ImageFormat::Jpeg => jpeg_complete(bytes)?,
        ImageFormat::Png => png_complete(bytes)?,
        // Their ends are not marked; the decoder finds what is missing.
        ImageFormat::Gif | ImageFormat::Bmp | ImageFormat::WebP | ImageFormat::Tiff => {}
    }
    let size = image_size_from_header(bytes).ok_or(ImageProblem::BadHeader { format })?;
    let pixels = u64::from(size.width) * u64::from(size.height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(ImageProblem::TooLarge {
            width: size.width,
            height: size.height,
            limit: MAX_IMAGE_PIXELS,
        });
    }
    Ok(CheckedImage {
        format,
        size,
        extension_matches: format_of_path(path) == Some(format),
    })
}

/// Walks a JPEG's segments and scans to its end-of-image marker. The walk, not a search of
/// the last bytes, because cameras append data after the marker and the marker's bytes
/// cannot occur inside a scan (0xFF is stuffed there) but can inside an embedded thumbnail.
fn jpeg_complete(bytes: &[u8]) -> Result<(), ImageProblem> {
    const FORMAT: ImageFormat = ImageFormat::Jpeg;
    let truncated = ImageProblem::Truncated { format: FORMAT };
    let mut pos = 2;
    loop {
        if bytes.get(pos) != Some(&0xFF) {
            return Err(if pos >= bytes.len() {
                truncated
            } else {
                ImageProblem::BadHeader { format: FORMAT }
            });
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(truncated);
        };
        pos += 1;
        match marker {
            0xD9 => return Ok(()),
            // Markers without a segment.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = bytes.get(pos..pos + 2) else {
            return Err(truncated);
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return Err(ImageProblem::BadHeader { format: FORMAT });
        }
        pos += length;
        if pos > bytes.len() {
            return Err(truncated);
        }
        if marker == 0xDA {
            pos = end_of_scan(bytes, pos).ok_or(truncated.clone())?;
        }
    }
}

/// The position of the marker that ends the entropy-coded scan starting at `pos`; `None`
/// when the bytes end first.
fn end_of_scan(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += bytes.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(pos + 1)? {
            // A stuffed 0xFF data byte, or a restart marker inside the scan.
            0x00 | 0xD0..=0xD7 => pos += 2,
            // Fill before a marker.
            0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

/// Walks a PNG's chunks to IEND, checking the CRC of each critical chunk (the ones named
/// with an upper-case first letter).
fn png_complete(bytes: &[u8]) -> Result<(), ImageProblem> {
    let truncated = ImageProblem::Truncated {
        format: ImageFormat::Png,
    };
    let mut pos = 8;
    loop {
        let Some(head) = bytes.get(pos..pos + 8) else {
            return Err(truncated);
        };
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = &head[4..8];
        // Length, type, data and CRC; a length past the end of the file is a cut.
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| pos.checked_add(12)?.checked_add(length))
            .filter(|&end| end <= bytes.len())
            .ok_or(truncated.clone())?;
        // The CRC covers the type and the data, and is stored big-endian after them.
        if kind[0].is_ascii_uppercase()
            && crc32fast::hash(&bytes[pos + 4..end - 4]).to_be_bytes() != bytes[end - 4..end]
        {
            return Err(ImageProblem::BadChecksum {
                chunk: String::from_utf8_lossy(kind).into_owned(),
            });
        }
        if kind == b"IEND" {
            return Ok(());
        }
        pos = end;
    }
}
