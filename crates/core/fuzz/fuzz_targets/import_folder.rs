//! A whole folder: the input is split into files at NUL bytes, named by their first line,
//! and imported with format detection. Never panics, every file is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::annotation::ImageSize;
use sightline_core::formats::{self, ImportOptions, InputFile};

fuzz_target!(|data: &[u8]| {
    let files: Vec<InputFile> = data
        .split(|b| *b == 0)
        .filter_map(|chunk| {
            let at = chunk.iter().position(|b| *b == b'\n')?;
            let name = std::str::from_utf8(&chunk[..at]).ok()?;
            Some(InputFile::new(name, &chunk[at + 1..]))
        })
        .collect();
    let sizes = |file: &InputFile| Some(ImageSize::new(file.bytes.len() as u32 + 1, 64));
    let _ = formats::import_folder(&files, &ImportOptions::default(), &sizes);
});
