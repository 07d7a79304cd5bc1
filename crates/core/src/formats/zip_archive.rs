//! Zip files for downloads: [`ZipStream`] writes entries one at a time into any
//! [`std::io::Write`] sink, and [`zip_archive`] packs a list of entries into bytes in memory.
//!
//! Deflate for label files, stored for images (already compressed). Pure Rust, so it builds
//! for wasm32 as well. Entries carry the zip epoch (1980-01-01) as their time: archives are
//! reproducible, and no clock is read (keep zip's `time` feature off: reading the clock
//! panics on wasm32-unknown-unknown).
//!
//! [`ZipStream`] never seeks: each entry's sizes and CRC follow its data in a data
//! descriptor, and the central directory is written by [`ZipStream::finish`]. So the sink
//! can hand every chunk on as it comes (the browser turns them into `Blob` parts), and an
//! export of many images holds one image at a time, however large the archive.

use std::io::Write;

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, StreamWriter};

use super::is_image_path;

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("could not write zip entry {path:?}: {message}")]
    Entry { path: String, message: String },
    #[error(
        "zip entry {path:?} is not a relative path inside the archive (empty, absolute, `\\` or `..`)"
    )]
    UnsafePath { path: String },
    #[error("could not finish the zip file: {0}")]
    Finish(String),
}

/// A zip archive written entry by entry into `W`, which needs no `Seek`.
///
/// A plain struct with methods, so async code can read the next image between calls to
/// [`add`](Self::add) (progress and cancel go there); dropping it cancels the archive (what
/// was written to the sink is then not a complete zip and should be discarded).
pub struct ZipStream<W: Write> {
    writer: zip::ZipWriter<StreamWriter<W>>,
    entries: usize,
}

impl<W: Write> ZipStream<W> {
    pub fn new(sink: W) -> Self {
        Self {
            writer: zip::ZipWriter::new_stream(sink),
            entries: 0,
        }
    }

    /// Adds one entry: stored when `path` names an image, deflated otherwise. `path` must be
    /// relative, `/`-separated and without `..` (what an unzip tool would write outside its
    /// folder is refused here rather than left to the reader).
    pub fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), ZipError> {
        let method = if is_image_path(path) {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        if !is_safe_entry_path(path) {
            return Err(ZipError::UnsafePath {
                path: path.to_owned(),
            });
        }
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(zip::DateTime::default())
            // Decided before the data is written: a streamed entry cannot grow zip64 fields
            // afterwards.
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        let entry_error = |e: &dyn std::fmt::Display| ZipError::Entry {
            path: path.to_owned(),
            message: e.to_string(),
        };
        self.writer
            .start_file(path, options)
            .map_err(|e| entry_error(&e))?;
        self.writer.write_all(bytes).map_err(|e| entry_error(&e))?;
        self.entries += 1;
        Ok(())
    }

    /// How many entries were added.
    pub fn entry_count(&self) -> usize {
        self.entries
    }

    /// Writes the central directory and gives the sink back.
    pub fn finish(self) -> Result<W, ZipError> {
        let stream = self
            .writer
            .finish()
            .map_err(|e| ZipError::Finish(e.to_string()))?;
        Ok(stream.into_inner())
    }
}

/// Whether `path` is a relative, `/`-separated path that stays inside the archive's folder
/// when unzipped: not empty, no leading `/`, no `\`, no drive letter, no `.`/`..`/empty
/// components, no NUL.
fn is_safe_entry_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && !path.starts_with('/')
        && !path
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'))
        && path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// Packs `(path, bytes)` entries into a zip archive in memory.
pub fn zip_archive<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Vec<u8>, ZipError> {
    let mut zip = ZipStream::new(Vec::new());
    for (path, bytes) in entries {
        zip.add(path, bytes)?;
    }
    zip.finish()
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    #[test]
    fn entries_read_back() {
        let label = b"0 0.5 0.5 0.1 0.1\n".repeat(50);
        let bytes = zip_archive([
            ("labels/a.txt", label.as_slice()),
            ("images/a.jpg", &[1u8, 2, 3][..]),
        ])
        .expect("zip");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("valid zip");
        assert_eq!(archive.len(), 2);
        let mut text = Vec::new();
        let mut entry = archive.by_name("labels/a.txt").expect("entry");
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        entry.read_to_end(&mut text).expect("read");
        assert_eq!(text, label);
        drop(entry);
        let mut entry = archive.by_name("images/a.jpg").expect("entry");
        assert_eq!(entry.compression(), CompressionMethod::Stored);
        let mut image = Vec::new();
        entry.read_to_end(&mut image).expect("read");
        assert_eq!(image, [1, 2, 3]);
    }

    #[test]
    fn unsafe_and_duplicate_paths_are_refused() {
        let mut zip = ZipStream::new(Vec::new());
        for path in ["", "/etc/x", "a/../../x", "a\\b", "./a", "C:/x", "a//b"] {
            assert!(
                matches!(zip.add(path, b"x"), Err(ZipError::UnsafePath { .. })),
                "{path:?}"
            );
        }
        zip.add("a.txt", b"x").expect("first");
        assert!(matches!(
            zip.add("a.txt", b"y"),
            Err(ZipError::Entry { .. })
        ));
        assert_eq!(zip.entry_count(), 1);
    }

    #[test]
    fn archives_are_reproducible() {
        let entries = [("a.txt", &b"hello"[..]), ("b.png", &b"\x89PNG"[..])];
        assert_eq!(
            zip_archive(entries).expect("zip"),
            zip_archive(entries).expect("zip")
        );
    }
}
