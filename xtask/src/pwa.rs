//! The offline app: Trunk's post-build hook (`cargo xtask pwa`, see Trunk.toml) turns the
//! staged build into an installable PWA.
//!
//! - `sw.js` is written from `crates/web/pwa/sw.js` with this build's version and the lists of
//!   files to precache (the app shell and the demo project) and to cache on first AI use (the
//!   worker). The version is a hash of those files, so the browser sees a new service worker
//!   exactly when something it serves changed, and the shell of one build is never mixed with
//!   another's.
//! - `index.html` gets the version (`<meta name="sightline-build">`), which the page shows and
//!   the update spec compares, and the Content-Security-Policy ([`crate::csp`]): Trunk's
//!   inline loader moves into `start-HASH.js` first, so that nothing inline runs. `sw.js` sends
//!   the same policy as a header on what it serves (the AI worker takes it from there).
//!
//! Every URL is relative, so `dist/` works under any path of any static host.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::csp;

/// The template, relative to the workspace root.
const TEMPLATE: &str = "crates/web/pwa/sw.js";
/// Loaded when AI is first used (or "Make AI available offline"), never on the first visit.
const AI_FILES: &[&str] = &["worker.js", "worker_bg.wasm"];
/// Models live in IndexedDB once added; the demo's is fetched by "Add the demo model" only.
const NEVER_PRECACHED_DIRS: &[&str] = &["demo/models"];

/// What one build serves, split by when the service worker caches it.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub version: String,
    pub shell: Vec<String>,
    pub ai: Vec<String>,
}

/// Runs as Trunk's `post_build` hook: `TRUNK_STAGING_DIR` holds the finished build and
/// `TRUNK_PUBLIC_URL` the base its URLs start with (`./`).
pub fn hook(root: &Path) -> Result<(), String> {
    let staging = std::env::var_os("TRUNK_STAGING_DIR")
        .map(PathBuf::from)
        .ok_or("xtask pwa runs as Trunk's post_build hook (TRUNK_STAGING_DIR is not set)")?;
    let base = std::env::var("TRUNK_PUBLIC_URL").unwrap_or_else(|_| "./".to_owned());
    let template = std::fs::read_to_string(root.join(TEMPLATE))
        .map_err(|e| format!("reading {TEMPLATE}: {e}"))?;
    write_pwa(&staging, &template, &base)
}

/// Puts `index.html` under the Content-Security-Policy (its inline loader written to a file
/// beside it), writes `sw.js` into `dir` and stamps `index.html` with the build's version.
pub fn write_pwa(dir: &Path, template: &str, base: &str) -> Result<(), String> {
    let index_path = dir.join("index.html");
    let index =
        std::fs::read_to_string(&index_path).map_err(|e| format!("reading index.html: {e}"))?;
    let rewritten = csp::rewrite_index(&index, base)?;
    // Before the plan: the loader is part of the shell, and of the version's hash.
    if let Some((name, text)) = &rewritten.loader {
        std::fs::write(dir.join(name), text).map_err(|e| format!("writing {name}: {e}"))?;
    }
    let plan = plan(dir)?;
    let sw = service_worker(template, &plan)?;
    std::fs::write(dir.join("sw.js"), sw).map_err(|e| format!("writing sw.js: {e}"))?;
    std::fs::write(&index_path, stamp_index(&rewritten.html, &plan.version)?)
        .map_err(|e| format!("writing index.html: {e}"))
}

/// Lists the build's files and hashes them (name and bytes, in path order).
pub fn plan(dir: &Path) -> Result<Plan, String> {
    let mut files = Vec::new();
    list_files(dir, dir, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    // The policy is in index.html and in sw.js's headers: a new one is a new build.
    hash.update(csp::POLICY.as_bytes());
    let (mut shell, mut ai) = (Vec::new(), Vec::new());
    for file in files {
        if file == "sw.js" || file == "index.html" {
            continue;
        }
        if NEVER_PRECACHED_DIRS
            .iter()
            .any(|d| file.starts_with(&format!("{d}/")))
        {
            continue;
        }
        let bytes = std::fs::read(dir.join(&file)).map_err(|e| format!("reading {file}: {e}"))?;
        hash.update(file.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        if AI_FILES.contains(&file.as_str()) {
            ai.push(file);
        } else {
            shell.push(file);
        }
    }
    // index.html is hashed through what it loads (every name it links carries a content hash).
    let digest = hash.finalize();
    let version = digest[..8].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    shell.insert(0, "index.html".to_owned());
    Ok(Plan { version, shell, ai })
}

pub(crate) fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The template with its placeholders filled; each must be there exactly once.
pub fn service_worker(template: &str, plan: &Plan) -> Result<String, String> {
    let json = |list: &[String]| {
        let quoted: Vec<String> = list.iter().map(|f| format!("{f:?}")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut sw = template.to_owned();
    for (placeholder, value) in [
        ("'__SIGHTLINE_VERSION__'", format!("{:?}", plan.version)),
        ("'__SIGHTLINE_SHELL__'", json(&plan.shell)),
        ("'__SIGHTLINE_AI__'", json(&plan.ai)),
        ("'__SIGHTLINE_CSP__'", format!("{:?}", csp::POLICY)),
    ] {
        if sw.matches(placeholder).count() != 1 {
            return Err(format!("{TEMPLATE} must hold {placeholder} exactly once"));
        }
        sw = sw.replace(placeholder, &value);
    }
    Ok(sw)
}

/// `index.html` with `<meta name="sightline-build" content="VERSION">` in its head.
fn stamp_index(index: &str, version: &str) -> Result<String, String> {
    let meta = format!("<meta name=\"sightline-build\" content=\"{version}\" />");
    let at = index
        .find("</head>")
        .ok_or("index.html has no </head> to stamp the build version into")?;
    Ok(format!("{}{meta}\n{}", &index[..at], &index[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_splits_shell_from_ai_and_the_version_follows_the_bytes() {
        let dir = std::env::temp_dir().join(format!("sightline-pwa-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("demo/models")).unwrap();
        for (name, body) in [
            (
                "index.html",
                "<html><head></head><body><script type=\"module\">go()</script></body></html>",
            ),
            ("app-1.js", "js"),
            ("worker.js", "w"),
            ("worker_bg.wasm", "wasm"),
            ("demo/a.jpg", "jpg"),
            ("demo/models/m.onnx", "onnx"),
            ("sw.js", "old"),
        ] {
            std::fs::write(dir.join(name), body).unwrap();
        }
        let first = plan(&dir).unwrap();
        assert_eq!(first.shell, ["index.html", "app-1.js", "demo/a.jpg"]);
        assert_eq!(first.ai, ["worker.js", "worker_bg.wasm"]);
        std::fs::write(dir.join("demo/models/m.onnx"), "other model").unwrap();
        assert_eq!(
            plan(&dir).unwrap().version,
            first.version,
            "models are not served by the SW"
        );
        std::fs::write(dir.join("worker_bg.wasm"), "new wasm").unwrap();
        assert_ne!(plan(&dir).unwrap().version, first.version);

        write_pwa(&dir, "const V = '__SIGHTLINE_VERSION__'; const S = '__SIGHTLINE_SHELL__'; const A = '__SIGHTLINE_AI__'; const C = '__SIGHTLINE_CSP__';", "./").unwrap();
        let sw = std::fs::read_to_string(dir.join("sw.js")).unwrap();
        let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
        // The inline loader became a file of the shell, and the page loads it.
        let loader = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(csp::LOADER_PREFIX))
            .expect("the loader file");
        assert_eq!(
            std::fs::read_to_string(dir.join(&loader)).unwrap(),
            "go()\n"
        );
        assert!(index.contains(&format!("src=\"./{loader}\"")), "{index}");
        assert!(
            sw.contains(&format!(
                r#"const S = ["index.html", "app-1.js", "demo/a.jpg", "{loader}"];"#
            )),
            "{sw}"
        );
        assert!(
            sw.contains(&format!("const C = {:?};", csp::POLICY)),
            "{sw}"
        );
        assert!(
            index.contains("<meta name=\"sightline-build\" content=\""),
            "{index}"
        );
        assert!(
            index.contains("http-equiv=\"Content-Security-Policy\""),
            "{index}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_template_without_its_placeholders_is_refused() {
        let plan = Plan {
            version: "v".into(),
            shell: vec![],
            ai: vec![],
        };
        assert!(service_worker("nothing here", &plan).is_err());
    }
}
