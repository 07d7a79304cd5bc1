//! A whole project as one file (`.sightline`): what "Export project" writes and "Open
//! project" (from a file or a link) restores on another machine.
//!
//! The file is a zip:
//! - `sightline-project.json`, the [`ProjectManifest`]: a format marker and version, the
//!   project's name, classes and their colours, the app's settings (opaque here), and per
//!   image its path, name, size, problem, curation (flag, exclusion), the zip entry of its
//!   original, and its annotations in the app's own model ([`ImageAnnotations`], as
//!   IndexedDB stores them), so a restored project is the same down to the key order and
//!   the digits of every coordinate;
//! - `originals/<number>-<file name>`: each image's original bytes, stored as they are
//!   (the number keeps names unique; the file name is there for people unpacking it).
//!
//! [`ProjectFileWriter`] streams it through a [`ZipStream`], one original at a time, and
//! writes the manifest last. [`ProjectFile`] reads it in any entry order and trusts nothing:
//! every failure is a [`ProjectFileError`] that says what is wrong, entries that would land
//! outside a folder when unpacked are refused, and no entry is read past a size limit,
//! whatever its header declares.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read, Seek, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::annotation::{Dataset, ImageAnnotations, ImageSize};
use crate::formats::{ZipError, ZipStream};

/// The value of the manifest's `format`.
pub const FORMAT_MARKER: &str = "sightline-project";
/// The manifest version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The file extension of project files (they are zips).
pub const EXTENSION: &str = "sightline";
/// The MIME type to offer project files with.
pub const MIME_TYPE: &str = "application/zip";
/// The manifest's entry.
pub const MANIFEST_PATH: &str = "sightline-project.json";
/// The folder of the originals.
pub const ORIGINALS_DIR: &str = "originals";

/// Unpacked size limits: a manifest of a million images is far below the first, the
/// largest image the app opens (`image_check`) below the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectFileLimits {
    pub manifest_bytes: u64,
    pub original_bytes: u64,
}

impl Default for ProjectFileLimits {
    fn default() -> Self {
        Self {
            manifest_bytes: 64 << 20,
            original_bytes: 512 << 20,
        }
    }
}

/// What a project file says about its project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectManifest {
    /// [`FORMAT_MARKER`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub version: u32,
    pub name: String,
    /// Label classes in order (YOLO ids, COCO categories).
    pub classes: Vec<String>,
    /// Colours the user chose for classes (`#rrggbb`).
    #[serde(default)]
    pub class_colours: BTreeMap<String, String>,
    /// The app's settings as the app wrote them; `null` for none.
    #[serde(default)]
    pub settings: Value,
    pub images: Vec<ProjectImage>,
}

impl ProjectManifest {
    /// An empty project of the current format.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            format: FORMAT_MARKER.to_owned(),
            version: FORMAT_VERSION,
            name: name.into(),
            classes: Vec::new(),
            class_colours: BTreeMap::new(),
            settings: Value::Null,
            images: Vec::new(),
        }
    }

    /// The project's classes and the annotations of every image (empty where it has none).
    pub fn dataset(&self) -> Dataset {
        Dataset {
            classes: self.classes.clone(),
            images: self
                .images
                .iter()
                .map(|image| {
                    image
                        .annotations
                        .clone()
                        .unwrap_or_else(|| ImageAnnotations::new(image.path.clone(), image.size))
                })
                .collect(),
        }
    }
}

/// One image of a project file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectImage {
    /// The image's path in the project; annotations are keyed by it.
    pub path: String,
    /// Shown in the image list.
    pub name: String,
    #[serde(default)]
    pub size: Option<ImageSize>,
    /// The entry holding the original's bytes, set by [`ProjectFileWriter::finish`]; `None`
    /// when the file was written without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// Why the image cannot be shown, as found when it was imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// `None` when the image was never annotated (no record was saved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ImageAnnotations>,
    /// Marked for a second look.
    #[serde(default)]
    pub flagged: bool,
    /// Left out of exports, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

impl ProjectImage {
    /// Image `path`, named by its file name, with nothing else known.
    pub fn new(path: impl Into<String>, size: Option<ImageSize>) -> Self {
        let path = path.into();
        Self {
            name: path.rsplit('/').next().unwrap_or(&path).to_owned(),
            path,
            size,
            original: None,
            problem: None,
            annotations: None,
            flagged: false,
            excluded: None,
        }
    }
}

/// Why a project file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ProjectWriteError {
    #[error(transparent)]
    Zip(#[from] ZipError),
    #[error("could not write the project's manifest: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the original of image {path:?} was added twice")]
    DuplicateOriginal { path: String },
    #[error("an original was added for image {path:?}, which the project does not list")]
    OriginalNotListed { path: String },
    #[error("the project lists image {path:?} twice")]
    DuplicateImage { path: String },
    #[error("image {path:?} holds the annotations of {annotations_path:?}")]
    AnnotationsMismatch {
        path: String,
        annotations_path: String,
    },
    #[error("the project would not open again ({message}); nothing was saved")]
    Unreadable { message: String },
}

/// Writes a project file into `W`, one original at a time, the manifest last.
pub struct ProjectFileWriter<W: Write> {
    zip: ZipStream<W>,
    /// Project path → entry of its original.
    originals: HashMap<String, String>,
}

impl<W: Write> ProjectFileWriter<W> {
    pub fn new(sink: W) -> Self {
        Self {
            zip: ZipStream::new(sink),
            originals: HashMap::new(),
        }
    }

    /// Adds the original bytes of the image at `path` (as the manifest will list it) and
    /// returns the entry they went to.
    pub fn add_original(&mut self, path: &str, bytes: &[u8]) -> Result<String, ProjectWriteError> {
        if self.originals.contains_key(path) {
            return Err(ProjectWriteError::DuplicateOriginal {
                path: path.to_owned(),
            });
        }
        let entry = format!(
            "{ORIGINALS_DIR}/{:05}-{}",
            self.originals.len() + 1,
            sanitised_file_name(path)
        );
        self.zip.add(&entry, bytes)?;
        self.originals.insert(path.to_owned(), entry.clone());
        Ok(entry)
    }

    /// How many originals were added.
    pub fn original_count(&self) -> usize {
        self.originals.len()
    }

    /// Writes `manifest`, with this build's format and version and each image's `original`
    /// set to what was added for it, and closes the zip.
    pub fn finish(mut self, mut manifest: ProjectManifest) -> Result<W, ProjectWriteError> {
        manifest.format = FORMAT_MARKER.to_owned();
        manifest.version = FORMAT_VERSION;
        let mut listed = HashSet::new();
        for image in &mut manifest.images {
            if !listed.insert(image.path.clone()) {
                return Err(ProjectWriteError::DuplicateImage {
                    path: image.path.clone(),
                });
            }
            if let Some(annotations) = &image.annotations
                && annotations.image_path != image.path
            {
                return Err(ProjectWriteError::AnnotationsMismatch {
                    path: image.path.clone(),
                    annotations_path: annotations.image_path.clone(),
                });
            }
            image.original = self.originals.get(&image.path).cloned();
        }
        // Sorted, so the error does not depend on the map's order.
        let mut unlisted: Vec<&String> = self
            .originals
            .keys()
            .filter(|path| !listed.contains(*path))
            .collect();
        unlisted.sort();
        if let Some(path) = unlisted.first() {
            return Err(ProjectWriteError::OriginalNotListed {
                path: (*path).clone(),
            });
        }
        let bytes = serde_json::to_vec_pretty(&manifest)?;
        // JSON has no NaN or infinity: serde_json writes them as `null`, which would not
        // read back. Better to fail the save than to write a file that cannot be opened.
        if let Err(error) = serde_json::from_slice::<ProjectManifest>(&bytes) {
            return Err(ProjectWriteError::Unreadable {
                message: error.to_string(),
            });
        }
        self.zip.add(MANIFEST_PATH, &bytes)?;
        Ok(self.zip.finish()?)
    }
}

/// The file name of `path` with only ASCII letters, digits, `.`, `-` and `_` (others become
/// `_`), at most 100 characters, keeping its extension so images stay stored, not deflated.
fn sanitised_file_name(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        return "image".to_owned();
    }
    const MAX: usize = 100;
    if clean.len() <= MAX {
        return clean;
    }
    // ASCII only, so any byte index is a character boundary.
    match clean.rfind('.') {
        Some(dot) if clean.len() - dot <= 10 => {
            format!("{}{}", &clean[..MAX - (clean.len() - dot)], &clean[dot..])
        }
        _ => clean[..MAX].to_owned(),
    }
}

/// Why a project file could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectFileError {
    #[error(
        "this file is not a Sightline project (.{EXTENSION}): it is not a zip archive ({message})"
    )]
    NotAZip { message: String },
    #[error("this zip is not a Sightline project: it has no {MANIFEST_PATH}")]
    NoManifest,
    #[error(
        "this is not a Sightline project: its {MANIFEST_PATH} says format {found:?}, not {FORMAT_MARKER:?}"
    )]
    WrongFormat { found: String },
    #[error(
        "this project was saved by a newer Sightline (project file version {found}; this one reads up to {supported}): update Sightline to open it"
    )]
    NewerVersion { found: u64, supported: u32 },
    #[error("the project's {MANIFEST_PATH} is invalid: {message}")]
    InvalidManifest { message: String },
    #[error("the project file is incomplete: the original of image {path:?} ({entry}) is missing")]
    MissingOriginal { path: String, entry: String },
    #[error(
        "the project file is refused: its entry {entry:?} points outside the project (an absolute path or `..`)"
    )]
    UnsafePath { entry: String },
    #[error(
        "the project file is refused: its entry {entry:?} unpacks to more than {limit_bytes} bytes"
    )]
    TooLarge { entry: String, limit_bytes: u64 },
    #[error("the project file is damaged: its entry {entry:?} cannot be read ({message})")]
    CorruptEntry { entry: String, message: String },
    #[error("the project has no image {path:?}")]
    UnknownImage { path: String },
}

/// An opened project file: its manifest, and its originals read on demand.
pub struct ProjectFile<R: Read + Seek> {
    manifest: ProjectManifest,
    archive: zip::ZipArchive<R>,
    /// Project path → entry of its original (only images that have one).
    originals: HashMap<String, String>,
    listed: HashSet<String>,
    limits: ProjectFileLimits,
}

/// Opens a project file held in memory (see [`ProjectFile::open`]).
pub fn read_project_file(bytes: &[u8]) -> Result<ProjectFile<Cursor<&[u8]>>, ProjectFileError> {
    ProjectFile::open(Cursor::new(bytes))
}

/// The part of a manifest read first, so that a newer version is reported as such rather than
/// as whatever of its new shape this build cannot parse.
#[derive(Deserialize)]
struct ManifestHeader {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u64>,
}

impl<R: Read + Seek> ProjectFile<R> {
    /// Opens a project file with the default [`ProjectFileLimits`]: checks every entry's
    /// path, reads and checks the manifest, and checks that every original it lists is there.
    pub fn open(reader: R) -> Result<Self, ProjectFileError> {
        Self::open_with_limits(reader, ProjectFileLimits::default())
    }

    pub fn open_with_limits(
        reader: R,
        limits: ProjectFileLimits,
    ) -> Result<Self, ProjectFileError> {
        let mut archive = zip::ZipArchive::new(reader).map_err(|e| ProjectFileError::NotAZip {
            message: e.to_string(),
        })?;
        if let Some(entry) = archive.file_names().find(|name| !is_enclosed(name)) {
            return Err(ProjectFileError::UnsafePath {
                entry: entry.to_owned(),
            });
        }
        if archive.index_for_name(MANIFEST_PATH).is_none() {
            return Err(ProjectFileError::NoManifest);
        }
        let bytes = read_entry(&mut archive, MANIFEST_PATH, limits.manifest_bytes)?;
        let manifest = parse_manifest(&bytes)?;
        let mut originals = HashMap::new();
        let mut listed = HashSet::new();
        for image in &manifest.images {
            if !listed.insert(image.path.clone()) {
                return Err(invalid_manifest(format!(
                    "image {:?} is listed twice",
                    image.path
                )));
            }
            if let Some(annotations) = &image.annotations
                && annotations.image_path != image.path
            {
                return Err(invalid_manifest(format!(
                    "image {:?} holds the annotations of {:?}",
                    image.path, annotations.image_path
                )));
            }
            if let Some(entry) = &image.original {
                if archive.index_for_name(entry).is_none() {
                    return Err(ProjectFileError::MissingOriginal {
                        path: image.path.clone(),
                        entry: entry.clone(),
                    });
                }
                originals.insert(image.path.clone(), entry.clone());
            }
        }
        Ok(Self {
            manifest,
            archive,
            originals,
            listed,
            limits,
        })
    }

    pub fn manifest(&self) -> &ProjectManifest {
        &self.manifest
    }

    pub fn into_manifest(self) -> ProjectManifest {
        self.manifest
    }

    /// The original bytes of the image at `path`; `None` when the file holds none for it.
    pub fn original(&mut self, path: &str) -> Result<Option<Vec<u8>>, ProjectFileError> {
        if !self.listed.contains(path) {
            return Err(ProjectFileError::UnknownImage {
                path: path.to_owned(),
            });
        }
        let Some(entry) = self.originals.get(path) else {
            return Ok(None);
        };
        read_entry(&mut self.archive, entry, self.limits.original_bytes).map(Some)
    }
}

fn invalid_manifest(message: String) -> ProjectFileError {
    ProjectFileError::InvalidManifest { message }
}

fn parse_manifest(bytes: &[u8]) -> Result<ProjectManifest, ProjectFileError> {
    let json_error = |e: serde_json::Error| invalid_manifest(e.to_string());
    let header: ManifestHeader = serde_json::from_slice(bytes).map_err(json_error)?;
    match header.format {
        Some(format) if format == FORMAT_MARKER => {}
        Some(found) => return Err(ProjectFileError::WrongFormat { found }),
        None => return Err(invalid_manifest("it has no `format`".to_owned())),
    }
    match header.version {
        Some(found) if found > u64::from(FORMAT_VERSION) => {
            return Err(ProjectFileError::NewerVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
        Some(_) => {}
        None => return Err(invalid_manifest("it has no `version`".to_owned())),
    }
    serde_json::from_slice(bytes).map_err(json_error)
}

/// The bytes of entry `name`, refused when its header declares more than `limit` bytes or
/// when it unpacks to more (a header may lie).
fn read_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, ProjectFileError> {
    let corrupt = |e: &dyn std::fmt::Display| ProjectFileError::CorruptEntry {
        entry: name.to_owned(),
        message: e.to_string(),
    };
    let too_large = || ProjectFileError::TooLarge {
        entry: name.to_owned(),
        limit_bytes: limit,
    };
    let file = archive.by_name(name).map_err(|e| corrupt(&e))?;
    let declared = file.size();
    if declared > limit {
        return Err(too_large());
    }
    // The declared size is only a hint: a header claiming a gigabyte must not allocate one.
    const MAX_PREALLOCATION: u64 = 8 << 20;
    let mut bytes =
        Vec::with_capacity(usize::try_from(declared.min(MAX_PREALLOCATION)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| corrupt(&e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Whether an entry name stays inside the folder it is unpacked into: not absolute (`/`,
/// `\`, a drive letter), no `..` component, no NUL. Folder entries (`a/`) are fine.
fn is_enclosed(name: &str) -> bool {
    !name.starts_with(['/', '\\'])
        && !name.contains('\0')
        && !name
            .split(['/', '\\'])
            .next()
            .is_some_and(|first| first.contains(':'))
        && name.split(['/', '\\']).all(|part| part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitised_names() {
        assert_eq!(sanitised_file_name("a/b c/ünï x.JPG"), "_n__x.JPG");
        assert_eq!(sanitised_file_name("dir/"), "image");
        let long = format!("{}.png", "x".repeat(300));
        let clean = sanitised_file_name(&long);
        assert_eq!(clean.len(), 100);
        assert!(clean.ends_with("x.png"));
    }

    #[test]
    fn enclosed_names() {
        assert!(is_enclosed("originals/1-a.jpg"));
        assert!(is_enclosed("originals/"));
        for name in [
            "../a",
            "a/../../b",
            "/etc/passwd",
            "\\x",
            "C:/x",
            "a\\..\\b",
        ] {
            assert!(!is_enclosed(name), "{name}");
        }
    }
}
