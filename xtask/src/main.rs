//! `cargo xtask`: the one place that installs tools, builds, serves, tests and benchmarks.
//!
//! ```text
//! cargo xtask serve [--port N]   set up, build the app and serve it on 127.0.0.1 (the demo)
//! cargo xtask test               set up, then every check: fmt, clippy (native + wasm32),
//!                                cargo deny, native tests, wasm tests in headless Chromium,
//!                                fuzz smoke, app build, licence policy, browser e2e specs
//! cargo xtask setup              only install what is missing (idempotent, quiet when done)
//! cargo xtask build              set up and build the app into dist/ (to publish: AGPL models
//!                                left out); prints the wasm sizes and fails when the app
//!                                wasm is over its gzip budget
//! cargo xtask bench              forward time per image against onnxruntime, as ratios
//! cargo xtask bench-quality      time per image of each quality metric against pyiqa and
//!                                scikit-image (speed-ups, peak memory), and on wgpu
//! cargo xtask pwa              (Trunk's post-build hook) write sw.js, stamp the version,
//!                                put index.html under the Content-Security-Policy
//! cargo xtask licences           the licence checks of `test` alone: cargo deny, AGPL models
//! cargo xtask size [DIST]        raw and gzip size of the built app and worker wasm (dist/ by
//!                                default); fails when the app wasm is over its gzip budget
//! ```
//!
//! Everything is installed from crates.io, npm, PyPI or Debian; nothing else is downloaded.
//! Build outputs go to `$CARGO_TARGET_DIR`, by default `~/.cache/sightline/target`, outside
//! the clone, so fresh clones (CI) reuse earlier builds.

mod bench;
mod bench_quality;
mod csp;
mod licences;
mod pwa;
mod serve;
mod setup;
mod steps;
mod wasm_size;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let env = steps::Env::new(&root);
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::build_tools(&env).map(|()| true),
        Some("build") => setup::build_tools(&env)
            .and_then(|()| steps::build_app(&env))
            .and_then(|()| licences::leave_out_agpl_models(&root.join(steps::DIST)))
            .map(|()| true),
        Some("serve") => {
            let port = flag_value(&args, "--port").unwrap_or_else(|| "8080".to_owned());
            setup::build_tools(&env)
                .and_then(|()| steps::serve(&env, &port))
                .map(|()| true)
        }
        Some("test") => setup::build_tools(&env)
            .and_then(|()| setup::test_tools(&env))
            .map(|()| steps::test_all(&env)),
        Some("licences") => licences::ensure_cargo_deny(&env)
            .and_then(|()| licences::deny(&env))
            .and_then(|()| licences::check_models(&root, &root.join(steps::DIST)))
            .map(|()| true),
        Some("size") => {
            let dist = args
                .get(1)
                .map_or_else(|| root.join(steps::DIST), PathBuf::from);
            wasm_size::report(&dist).map(|()| true)
        }
        Some("bench") => setup::build_tools(&env)
            .and_then(|()| setup::test_tools(&env))
            .and_then(|()| bench::bench(&env)),
        Some("bench-quality") => bench_quality::bench_quality(&env),
        // Trunk's post_build hook (Trunk.toml), not meant to be run by hand.
        Some("pwa") => pwa::hook(&root).map(|()| true),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve [--port N] | test | setup | build | bench | bench-quality | licences | size [DIST]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

fn flag_value(args: &[String], name: &str) -> Option<String> {
    let position = args.iter().position(|a| a == name)?;
    args.get(position + 1).cloned()
}

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
