//! `cargo xtask serve`: Trunk rebuilds `dist/` on every change (`trunk watch`) and this
//! server serves it the way a production host should: gzip for text and wasm (the app wasm
//! is a third of its size compressed), the cross-origin isolation headers (COOP/COEP, so
//! `crossOriginIsolated` is true from the first load, before the service worker exists), the
//! Content-Security-Policy as a header (the AI worker takes its policy from its script's
//! response, not from the page's `<meta>`), and `no-cache` so a rebuild is seen at once.
//! `trunk serve` does neither compression nor, in 0.21, isolation by default; tiny_http keeps
//! this to one small module.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use flate2::Compression;
use flate2::write::GzEncoder;
use tiny_http::{Header, Request, Response, Server};

/// Headers every response carries (the same as the service worker adds).
pub const ISOLATION_HEADERS: [(&str, &str); 3] = [
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "credentialless"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
];

/// Compressed bodies by path, valid while the file's length and mtime are unchanged.
type GzipCache = Mutex<HashMap<PathBuf, (u64, SystemTime, Vec<u8>)>>;

/// Serves `dist` on `address` until the process ends.
pub fn serve_dir(dist: &Path, address: &str) -> Result<(), String> {
    let server = Server::http(address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let cache = GzipCache::default();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Ok(request) = server.recv() {
                    respond(dist, &cache, request);
                }
            });
        }
    });
    Ok(())
}

fn respond(dist: &Path, cache: &GzipCache, request: Request) {
    let Some(path) = file_for(dist, request.url()) else {
        let _ = request.respond(Response::from_string("not found").with_status_code(404));
        return;
    };
    let Ok(bytes) = std::fs::read(&path) else {
        let _ = request.respond(Response::from_string("not found").with_status_code(404));
        return;
    };
    let mime = mime_of(&path);
    let accepts_gzip = request
        .headers()
        .iter()
        .any(|h| h.field.equiv("Accept-Encoding") && h.value.as_str().contains("gzip"));
    let compress = accepts_gzip && compressible(mime) && bytes.len() > 1024;
    let body = if compress {
        gzip_cached(cache, &path, &bytes)
    } else {
        bytes
    };
    let mut response = Response::from_data(body).with_header(header("Content-Type", mime));
    for (name, value) in ISOLATION_HEADERS {
        response.add_header(header(name, value));
    }
    response.add_header(header("Content-Security-Policy", crate::csp::POLICY));
    response.add_header(header("Cache-Control", "no-cache"));
    if compress {
        response.add_header(header("Content-Encoding", "gzip"));
        response.add_header(header("Vary", "Accept-Encoding"));
    }
    let _ = request.respond(response);
}

/// The file a URL names inside `dist` (`/` → `index.html`); `None` when it would leave it.
fn file_for(dist: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut file = dist.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn gzip_cached(cache: &GzipCache, path: &Path, bytes: &[u8]) -> Vec<u8> {
    let stamp = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let length = bytes.len() as u64;
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((len, time, gz)) = cache.get(path)
        && *len == length
        && *time == stamp
    {
        return gz.clone();
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(6));
    let gz = match encoder.write_all(bytes).and_then(|()| encoder.finish()) {
        Ok(gz) => gz,
        Err(_) => return bytes.to_vec(),
    };
    cache.insert(path.to_path_buf(), (length, stamp, gz.clone()));
    gz
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

fn mime_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "md" => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.contains("json")
        || mime.contains("wasm")
        || mime.contains("svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_files_inside_dist_only() {
        let dist = std::env::temp_dir().join(format!("sightline-serve-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("demo")).unwrap();
        std::fs::write(dist.join("index.html"), "i").unwrap();
        std::fs::write(dist.join("demo/a b.jpg"), "j").unwrap();
        assert_eq!(file_for(&dist, "/"), Some(dist.join("index.html")));
        assert_eq!(file_for(&dist, "/?x=1"), Some(dist.join("index.html")));
        assert_eq!(
            file_for(&dist, "/demo/a%20b.jpg"),
            Some(dist.join("demo/a b.jpg"))
        );
        assert_eq!(file_for(&dist, "/../etc/passwd"), None);
        assert_eq!(file_for(&dist, "/demo/%2e%2e/%2e%2e/x"), None);
        assert_eq!(file_for(&dist, "/missing.js"), None);
        std::fs::remove_dir_all(&dist).unwrap();
    }
}
