//! A dataset as one zip file, for a browser download: deflate for label files, stored for
//! images (already compressed). Pure Rust, so it builds for wasm32 as well. Entries carry
//! the zip epoch (1980-01-01) as their time: archives are reproducible, and no clock is read
//! (keep zip's `time` feature off: reading the clock panics on wasm32-unknown-unknown).

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use super::is_image_path;

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("could not write zip entry {path:?}: {message}")]
    Entry { path: String, message: String },
    #[error("could not finish the zip file: {0}")]
    Finish(String),
}

/// Packs `(path, bytes)` entries into a zip archive in memory.
pub fn zip_archive<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Vec<u8>, ZipError> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in entries {
        let method = if is_image_path(path) {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(zip::DateTime::default())
            .large_file(bytes.len() >= u32::MAX as usize);
        let entry_error = |e: &dyn std::fmt::Display| ZipError::Entry {
            path: path.to_owned(),
            message: e.to_string(),
        };
        writer
            .start_file(path, options)
            .map_err(|e| entry_error(&e))?;
        writer.write_all(bytes).map_err(|e| entry_error(&e))?;
    }
    let cursor = writer
        .finish()
        .map_err(|e| ZipError::Finish(e.to_string()))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

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
        assert_eq!(
            archive
                .by_name("images/a.jpg")
                .expect("entry")
                .compression(),
            CompressionMethod::Stored
        );
    }
}
