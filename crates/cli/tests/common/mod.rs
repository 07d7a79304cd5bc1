//! What the binary's tests share: where this package is, running the binary, scratch
//! folders.

use std::path::PathBuf;
use std::process::Command;

/// This package's folder, read when the test runs (a binary built by another clone of the
/// repository and reused from a shared target directory must not read that clone's files).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
}

pub fn path_text(path: PathBuf) -> String {
    path.to_str().expect("utf-8 path").to_owned()
}

pub fn sightline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sightline-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
