//! `data.yaml` and `classes.txt`: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_core::formats::yolo;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = yolo::parse_data_yaml(text);
    let _ = yolo::parse_class_list(text);
});
