//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use sightline_core::annotation::{Dataset, ImageSize};
use sightline_core::formats::{
    self, ExportOptions, Format, ImportOptions, ImportReport, InputFile,
};

/// Data outside the repository (the shared fixtures): present, skipped with one line, or a
/// failure under `SIGHTLINE_REQUIRE_DATA=1`, as in every crate's tests.
#[allow(unused_imports)] // each test binary uses some of them
pub use sightline_test_support::{manifest_dir, shared_fixture};

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
