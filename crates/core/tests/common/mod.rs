//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use sightline_core::annotation::{Dataset, ImageSize};
use sightline_core::formats::{
    self, ExportOptions, Format, ImportOptions, ImportReport, InputFile,
};

/// `../shared` (or `$SIGHTLINE_SHARED`): data that may not be copied into the repository.
/// `None` (after printing why) when it is absent, unless `SIGHTLINE_REQUIRE_DATA=1`, which
/// makes its absence a failure.
pub fn shared_dir(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("SIGHTLINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../../shared"));
    let dir = base.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SIGHTLINE_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("SIGHTLINE_REQUIRE_DATA=1 but {} is missing", dir.display());
    }
    eprintln!(
        "skipped: {} is missing (set SIGHTLINE_SHARED)",
        dir.display()
    );
    None
}

/// The files of `dir` (not recursive) as an import would receive them.
pub fn read_folder(dir: &std::path::Path) -> Vec<InputFile> {
    let mut files: Vec<InputFile> = std::fs::read_dir(dir)
        .expect("readable folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            InputFile::new(name, std::fs::read(&path).expect("readable file"))
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

pub fn data_dir() -> PathBuf {
    manifest_dir().join("tests/data")
}

/// Reads `tests/data/<sub>` recursively.
pub fn read_data(sub: &str) -> Vec<InputFile> {
    let root = data_dir().join(sub);
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(&root)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                files.push(InputFile::new(
                    relative,
                    std::fs::read(&path).expect("readable"),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Image sizes looked up by path (tests use empty image files with known sizes).
pub fn sizes_from(map: HashMap<String, ImageSize>) -> impl Fn(&InputFile) -> Option<ImageSize> {
    move |file: &InputFile| map.get(&file.path).copied()
}

/// Exports `dataset` as `format` and imports the result again (images as empty files whose
/// sizes are known).
pub fn reimport(
    dataset: &Dataset,
    format: Format,
    options: &ExportOptions,
) -> (Dataset, ImportReport) {
    let export = formats::export(dataset, format, options).expect("export");
    let mut files: Vec<InputFile> = export
        .files
        .iter()
        .map(|f| InputFile::new(f.path.clone(), f.bytes.clone()))
        .collect();
    let mut sizes = HashMap::new();
    for placement in &export.image_placements {
        files.push(InputFile::new(placement.output_path.clone(), Vec::new()));
        if let Some(size) = dataset
            .image(&placement.image_path)
            .and_then(|i| i.image_size)
        {
            sizes.insert(placement.output_path.clone(), size);
        }
    }
    let sizes = sizes_from(sizes);
    formats::import_folder(
        &files,
        &ImportOptions {
            format: Some(format),
        },
        &sizes,
    )
}

/// This package's folder, read when the test runs (a binary built by another clone of the
/// repository and reused from a shared target directory must not read that clone's files).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
}
