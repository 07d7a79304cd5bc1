//! The images of a project and which one is open.

use serde::{Deserialize, Serialize};

/// One image of a project, as listed in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// File name shown to the user, unique within the project.
    pub name: String,
    /// The image's path in the project (relative to the manifest or the opened folder);
    /// annotations are keyed by it.
    pub path: String,
    /// For projects opened from the user's files: the content key under which the original
    /// bytes are stored (IndexedDB `blobs`). `None`: fetched from `path` beside the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_key: Option<String>,
}

/// The list of images a project was opened with (the demo's `manifest.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub images: Vec<ImageEntry>,
    /// Models the project offers in the model manager (the demo's detector).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelEntry>,
}

/// A model a manifest offers: an ONNX file beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Shown in the model manager.
    pub name: String,
    /// The ONNX file, relative to the manifest.
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the project manifest is not valid JSON of the expected shape: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the project manifest lists image {0:?} twice")]
    DuplicateName(String),
}

impl Manifest {
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        for image in &manifest.images {
            if !seen.insert(image.name.as_str()) {
                return Err(ManifestError::DuplicateName(image.name.clone()));
            }
        }
        Ok(manifest)
    }
}

/// Which image of a list of `len` is open. Moving past either end stays at the end, as
/// AnyLabeling does with A/D.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageCursor {
    index: usize,
    len: usize,
}

impl ImageCursor {
    pub fn new(len: usize) -> Self {
        Self { index: 0, len }
    }

    /// The open image, `None` for an empty project.
    pub fn index(&self) -> Option<usize> {
        (self.len > 0).then_some(self.index)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn has_next(&self) -> bool {
        self.index + 1 < self.len
    }

    pub fn has_previous(&self) -> bool {
        self.index > 0
    }

    pub fn next(self) -> Self {
        Self {
            index: if self.has_next() {
                self.index + 1
            } else {
                self.index
            },
            ..self
        }
    }

    pub fn previous(self) -> Self {
        Self {
            index: self.index.saturating_sub(1),
            ..self
        }
    }

    /// Opens image `index`; an index past the end opens the last image.
    pub fn go_to(self, index: usize) -> Self {
        Self {
            index: index.min(self.len.saturating_sub(1)),
            ..self
        }
    }
}

/// The files of a folder the user picked, sorted out for opening as a project.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderPlan {
    /// The project's name: the picked folder's name (empty for loose files).
    pub name: String,
    /// `(index into the listing, path in the project)` of each image, sorted by path.
    pub images: Vec<(usize, String)>,
    /// Files that may hold annotations (`.json`, `.txt`, `.xml`, `.yaml`, `.yml`).
    pub annotation_files: Vec<(usize, String)>,
    /// Paths neither an image nor an annotation file (skipped, and said so).
    pub skipped: Vec<String>,
}

/// Sorts out the files of a picked folder as the browser lists them
/// (`webkitRelativePath`: `folder/sub/a.jpg`; loose files: just the name). The picked
/// folder's name becomes the project name and is dropped from the paths; hidden files
/// (`.DS_Store`, `._a.jpg`, anything under a `.folder`) are skipped.
pub fn plan_folder(listing: &[String]) -> FolderPlan {
    let normalised: Vec<String> = listing
        .iter()
        .map(|p| crate::formats::normalise_path(p))
        .collect();
    let top = |path: &str| path.split_once('/').map(|(top, _)| top.to_owned());
    let common_top = match normalised.first().and_then(|p| top(p)) {
        Some(first) if normalised.iter().all(|p| top(p).as_deref() == Some(&first)) => Some(first),
        _ => None,
    };
    let mut plan = FolderPlan {
        name: common_top.clone().unwrap_or_default(),
        ..FolderPlan::default()
    };
    for (index, path) in normalised.into_iter().enumerate() {
        let path = match &common_top {
            Some(top) => path[top.len() + 1..].to_owned(),
            None => path,
        };
        if path.split('/').any(|part| part.starts_with('.')) {
            plan.skipped.push(path);
        } else if crate::formats::is_image_path(&path) {
            plan.images.push((index, path));
        } else if crate::formats::extension(&path).is_some_and(|ext| {
            ["json", "txt", "xml", "yaml", "yml"].contains(&ext.to_ascii_lowercase().as_str())
        }) {
            plan.annotation_files.push((index, path));
        } else {
            plan.skipped.push(path);
        }
    }
    plan.images.sort_by(|a, b| a.1.cmp(&b.1));
    plan
}

/// An image's `(width, height)` as shown, read from its file header (JPEG, PNG, BMP, GIF,
/// TIFF, WebP) without decoding it: a JPEG whose EXIF orientation turns it by 90° (as phone
/// cameras write portraits) has its sides swapped, since browsers (`image-orientation:
/// from-image`), LabelMe and Ultralytics all show and label it turned. `None` when the header
/// is not one of these or is broken.
pub fn image_size_from_header(bytes: &[u8]) -> Option<crate::annotation::ImageSize> {
    let size = imagesize::blob_size(bytes).ok()?;
    let width = u32::try_from(size.width).ok().filter(|w| *w > 0)?;
    let height = u32::try_from(size.height).ok().filter(|h| *h > 0)?;
    let (width, height) = match jpeg_exif_orientation(bytes) {
        // 5 to 8: transposed, rotated by 90° or 270°, possibly mirrored.
        Some(5..=8) => (height, width),
        _ => (width, height),
    };
    Some(crate::annotation::ImageSize { width, height })
}

/// The EXIF orientation tag (1 to 8) of a JPEG: the first APP1 `Exif` segment's IFD0 entry
/// 0x0112. `None` for other formats, without EXIF, or where the EXIF is cut short.
fn jpeg_exif_orientation(bytes: &[u8]) -> Option<u16> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut pos = 2;
    // The markers before the image data: APP1 comes first in every camera's files.
    loop {
        let marker = *bytes.get(pos + 1).filter(|_| bytes[pos] == 0xFF)?;
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2)?,
            *bytes.get(pos + 3)?,
        ]));
        let segment = bytes.get(pos + 4..pos + 2 + length)?;
        match marker {
            0xE1 if segment.starts_with(b"Exif\0\0") => return tiff_orientation(&segment[6..]),
            // Start of scan or end of image: no EXIF before the data.
            0xDA | 0xD9 => return None,
            _ => pos += 2 + length,
        }
    }
}

/// Tag 0x0112 of the first IFD of a TIFF structure (EXIF's layout).
fn tiff_orientation(tiff: &[u8]) -> Option<u16> {
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let pair = [*tiff.get(at)?, *tiff.get(at + 1)?];
        Some(if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let quad: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(quad)
        } else {
            u32::from_le_bytes(quad)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries)
        .map(|index| ifd + 2 + index * 12)
        .find(|&entry| u16_at(entry) == Some(0x0112))
        // A SHORT, its value in the first two bytes of the entry's value field.
        .and_then(|entry| u16_at(entry + 8))
        .filter(|orientation| (1..=8).contains(orientation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_moves_and_stops_at_both_ends() {
        let c = ImageCursor::new(3);
        assert_eq!(c.index(), Some(0));
        assert!(!c.has_previous());
        assert_eq!(c.previous().index(), Some(0));
        let c = c.next().next();
        assert_eq!(c.index(), Some(2));
        assert!(!c.has_next());
        assert_eq!(c.next().index(), Some(2));
        assert_eq!(c.go_to(99).index(), Some(2));
        assert_eq!(c.go_to(1).index(), Some(1));
    }

    #[test]
    fn header_sizes_of_real_images() {
        let root =
            std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo") + "/../../public/demo";
        let manifest = Manifest::from_json(
            &std::fs::read_to_string(format!("{root}/manifest.json")).expect("demo manifest"),
        )
        .expect("parses");
        assert!(!manifest.images.is_empty());
        for entry in &manifest.images {
            let bytes = std::fs::read(format!("{root}/{}", entry.path)).expect("demo image");
            let size = image_size_from_header(&bytes).expect("a readable header");
            // The oracle: the `image` crate's full decode is not a dependency of core, so
            // check against the JPEG SOF / PNG IHDR fields read by hand.
            let (w, h) = if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
                (
                    u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes")),
                    u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes")),
                )
            } else {
                sof_size(&bytes).expect("a JPEG with a SOF marker")
            };
            assert_eq!((size.width, size.height), (w, h), "{}", entry.path);
        }
        assert_eq!(image_size_from_header(b"not an image"), None);
        assert_eq!(
            image_size_from_header(&[0xFF, 0xD8, 0xFF]),
            None,
            "truncated JPEG"
        );
    }

    /// `jpeg` with an APP1 EXIF segment right after its SOI that holds `orientation`.
    fn with_exif_orientation(jpeg: &[u8], orientation: u16, big_endian: bool) -> Vec<u8> {
        let u16_bytes = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32_bytes = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut tiff = if big_endian {
            b"MM\0*".to_vec()
        } else {
            b"II*\0".to_vec()
        };
        tiff.extend(u32_bytes(8));
        // Two entries, the orientation second: 0x010F (Make, ASCII), then 0x0112 (SHORT).
        tiff.extend(u16_bytes(2));
        for (tag, kind, value) in [(0x010F, 2, 0), (0x0112, 3, orientation)] {
            tiff.extend(u16_bytes(tag));
            tiff.extend(u16_bytes(kind));
            tiff.extend(u32_bytes(1));
            // A SHORT sits in the first two bytes of the four-byte value field.
            tiff.extend(u16_bytes(value));
            tiff.extend([0, 0]);
        }
        tiff.extend(u32_bytes(0));
        let mut segment = b"Exif\0\0".to_vec();
        segment.extend(tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(
            u16::try_from(segment.len() + 2)
                .expect("small")
                .to_be_bytes(),
        );
        out.extend(segment);
        out.extend(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_turns_the_header_size() {
        let root =
            std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo") + "/../../public/demo";
        let dog = std::fs::read(format!("{root}/dog.jpg")).expect("demo image");
        let stored = image_size_from_header(&dog).expect("a header");
        let turned = crate::annotation::ImageSize::new(stored.height, stored.width);
        for (orientation, want) in [
            (1, stored),
            (3, stored),
            (5, turned),
            (6, turned),
            (8, turned),
        ] {
            for big_endian in [false, true] {
                let bytes = with_exif_orientation(&dog, orientation, big_endian);
                assert_eq!(
                    image_size_from_header(&bytes),
                    Some(want),
                    "orientation {orientation}, big-endian {big_endian}"
                );
            }
        }
        // An IFD past the end of the EXIF, or an orientation out of range, turns nothing.
        let mut cut = with_exif_orientation(&dog, 6, false);
        // SOI, APP1 marker and length, "Exif\0\0", "II*\0", then the IFD's offset.
        cut[16] = 0xF0;
        assert_eq!(image_size_from_header(&cut), Some(stored));
        let odd = with_exif_orientation(&dog, 60, false);
        assert_eq!(image_size_from_header(&odd), Some(stored));
    }

    /// Width and height from a JPEG's first SOFn segment.
    fn sof_size(bytes: &[u8]) -> Option<(u32, u32)> {
        let mut i = 2;
        while i + 9 < bytes.len() {
            if bytes[i] != 0xFF {
                return None;
            }
            let marker = bytes[i + 1];
            let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]);
                let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]);
                return Some((u32::from(w), u32::from(h)));
            }
            i += 2 + length;
        }
        None
    }

    #[test]
    fn manifest_entries_keep_their_blob_key() {
        let m = Manifest::from_json(
            r#"{"name":"f","images":[{"name":"a.jpg","path":"a.jpg","blob_key":"00ff"},{"name":"b.jpg","path":"b.jpg"}]}"#,
        )
        .expect("parses");
        assert_eq!(m.images[0].blob_key.as_deref(), Some("00ff"));
        assert_eq!(m.images[1].blob_key, None);
        let text = serde_json::to_string(&m).expect("serialises");
        assert_eq!(Manifest::from_json(&text).expect("parses"), m);
        assert!(
            !text.contains("null"),
            "no blob_key written for fetched images: {text}"
        );
    }

    #[test]
    fn folder_plan_strips_the_picked_folder_and_sorts_files_out() {
        let listing: Vec<String> = [
            "shots/b.jpg",
            "shots/a.PNG",
            "shots/labels/a.txt",
            "shots/data.yaml",
            "shots/a.json",
            "shots/notes.pdf",
            "shots/.DS_Store",
            "shots/._a.jpg",
            "shots/.cache/x.jpg",
            "shots/sub/c.jpeg",
        ]
        .map(String::from)
        .to_vec();
        let plan = plan_folder(&listing);
        assert_eq!(plan.name, "shots");
        assert_eq!(
            plan.images,
            vec![
                (1, "a.PNG".to_owned()),
                (0, "b.jpg".to_owned()),
                (9, "sub/c.jpeg".to_owned())
            ]
        );
        assert_eq!(
            plan.annotation_files,
            vec![
                (2, "labels/a.txt".to_owned()),
                (3, "data.yaml".to_owned()),
                (4, "a.json".to_owned())
            ]
        );
        assert_eq!(
            plan.skipped,
            vec!["notes.pdf", ".DS_Store", "._a.jpg", ".cache/x.jpg"]
        );
    }

    #[test]
    fn loose_files_keep_their_names() {
        let plan = plan_folder(&["a.jpg".to_owned(), "x/b.jpg".to_owned()]);
        assert_eq!(plan.name, "");
        assert_eq!(
            plan.images,
            vec![(0, "a.jpg".to_owned()), (1, "x/b.jpg".to_owned())]
        );
        assert_eq!(plan_folder(&[]), FolderPlan::default());
    }

    #[test]
    fn empty_cursor_has_no_index() {
        let c = ImageCursor::new(0);
        assert_eq!(c.index(), None);
        assert_eq!(c.next().index(), None);
        assert_eq!(c.go_to(4).index(), None);
    }

    #[test]
    fn manifest_parses_and_rejects_duplicates() {
        let m = Manifest::from_json(
            r#"{"name":"demo","images":[{"name":"a.jpg","path":"a.jpg"},{"name":"b.png","path":"b.png"}]}"#,
        )
        .expect("valid manifest");
        assert_eq!(m.images.len(), 2);
        let err = Manifest::from_json(
            r#"{"name":"demo","images":[{"name":"a.jpg","path":"a.jpg"},{"name":"a.jpg","path":"x/a.jpg"}]}"#,
        )
        .expect_err("duplicate names");
        assert!(matches!(err, ManifestError::DuplicateName(n) if n == "a.jpg"));
        assert!(matches!(
            Manifest::from_json("{"),
            Err(ManifestError::Malformed(_))
        ));
    }
}
