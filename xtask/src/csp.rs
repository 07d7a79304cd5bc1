//! The Content-Security-Policy: only the app's own scripts and wasm run, nothing inline, no
//! `eval`. The post-build hook (`cargo xtask pwa`, [`crate::pwa`]) writes it into
//! `index.html` as a `<meta http-equiv>` (what any static host serves) and moves Trunk's
//! inline loader into a file; the service worker, `cargo xtask serve` and the e2e harness also
//! send it as a header, which is what puts the AI worker under it (a worker takes the policy
//! of its own script's response, not the page's `<meta>`).

use sha2::{Digest, Sha256};

/// Each source, and why the app needs it:
/// - `script-src 'self' 'wasm-unsafe-eval'`: the app's modules, the worker's scripts and the
///   service worker are its own files; compiling their wasm needs `'wasm-unsafe-eval'` (not
///   `'unsafe-eval'`: nothing calls `eval` or `new Function`). Nothing inline: the hook moves
///   Trunk's loader into a file.
/// - `worker-src 'self'`: the AI worker (`worker_loader.js`) and `sw.js`; no `blob:` workers.
/// - `connect-src 'self' https: http:`: images, manifests, project files and models that
///   shared links and "open by URL" name live on other origins (CORS), over http too
///   (`core::share` accepts http addresses; a host on a LAN); the worker fetches images by URL.
/// - `img-src 'self' blob:`: thumbnails are `blob:` URLs; every other image is fetched and
///   drawn on a canvas, never put in an `<img>` by its URL.
/// - `style-src 'self'`: the stylesheet only. Views set styles through `style:` (CSSOM,
///   which CSP leaves alone), never a `style` attribute (that would need `'unsafe-inline'`).
/// - `object-src 'none'`, `base-uri 'none'` (no `<base>`; every URL is relative to the
///   page), `form-action 'none'` (forms are handled in the page, never submitted).
///
/// `frame-ancestors` is left out: a `<meta>` policy cannot carry it, and the same string is
/// used everywhere.
pub const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    worker-src 'self'; connect-src 'self' https: http:; img-src 'self' blob:; \
    style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

/// The file the hook writes Trunk's inline loader to is `{LOADER_PREFIX}{hash}.js`.
pub const LOADER_PREFIX: &str = "start-";

/// What [`rewrite_index`] made of `index.html`.
#[derive(Debug, PartialEq)]
pub struct Rewritten {
    pub html: String,
    /// The inline module moved out: (file name, its text).
    pub loader: Option<(String, String)>,
}

/// `index.html` under the policy: the `<meta http-equiv="Content-Security-Policy">` first in
/// `<head>` (right after the charset), and Trunk's inline `<script type="module">` replaced by
/// `<script type="module" src="{base}start-HASH.js">`. Any other inline script, or a second
/// inline module, is an error: the policy would block it.
pub fn rewrite_index(index: &str, base: &str) -> Result<Rewritten, String> {
    if index.contains("http-equiv=\"Content-Security-Policy\"") {
        return Err("index.html already has a Content-Security-Policy <meta>".to_owned());
    }
    let mut html = String::with_capacity(index.len() + POLICY.len() + 100);
    let mut loader = None;
    let mut rest = index;
    while let Some(at) = find_tag(rest, "script") {
        let open_end = tag_end(rest, at).ok_or("index.html: a <script> tag is not closed")?;
        let open = &rest[at..open_end];
        let close = find_ci(&rest[open_end..], "</script")
            .map(|i| open_end + i)
            .ok_or("index.html: a <script> has no </script>")?;
        let after = tag_end(rest, close).ok_or("index.html: </script is not closed")?;
        let body = &rest[open_end..close];
        html.push_str(&rest[..at]);
        if attribute(open, "src").is_some() {
            html.push_str(&rest[at..after]);
        } else if body.trim().is_empty() {
            return Err(format!("index.html: an empty inline script ({open})"));
        } else if attribute(open, "type").is_some_and(|t| t.eq_ignore_ascii_case("module")) {
            if loader.is_some() {
                return Err("index.html: more than one inline module script".to_owned());
            }
            let text = format!("{}\n", body.trim());
            let digest = Sha256::digest(text.as_bytes());
            let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let name = format!("{LOADER_PREFIX}{hash}.js");
            html.push_str(&format!(
                "<script type=\"module\" src=\"{base}{name}\"></script>"
            ));
            loader = Some((name, text));
        } else {
            return Err(format!(
                "index.html: an inline script the Content-Security-Policy would block: {open}"
            ));
        }
        rest = &rest[after..];
    }
    html.push_str(rest);
    Ok(Rewritten {
        html: insert_meta(&html)?,
        loader,
    })
}

fn insert_meta(html: &str) -> Result<String, String> {
    let meta = format!("\n<meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\" />");
    let head = find_tag(html, "head").ok_or("index.html has no <head>")?;
    let mut at = tag_end(html, head).ok_or("index.html: <head> is not closed")?;
    // After `<meta charset>`: it must come within the first 1024 bytes.
    if let Some(charset) = find_tag(&html[at..], "meta").map(|i| at + i)
        && let Some(end) = tag_end(html, charset)
        && attribute(&html[charset..end], "charset").is_some()
    {
        at = end;
    }
    Ok(format!("{}{meta}{}", &html[..at], &html[at..]))
}

/// Byte offset of the first `<name` tag (followed by whitespace, `>` or `/`), ASCII case
/// insensitive.
fn find_tag(html: &str, name: &str) -> Option<usize> {
    let needle = format!("<{name}");
    let mut from = 0;
    while let Some(i) = find_ci(&html[from..], &needle) {
        let at = from + i;
        let next = html.as_bytes().get(at + needle.len()).copied();
        if matches!(next, Some(b'>' | b'/') | Some(b' ' | b'\t' | b'\n' | b'\r')) {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The offset just past the `>` that ends the tag starting at `at` (quotes respected).
fn tag_end(html: &str, at: usize) -> Option<usize> {
    let mut quote = None;
    for (i, b) in html.as_bytes()[at..].iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(*b),
            (Some(q), _) if q == *b => quote = None,
            (None, b'>') => return Some(at + i + 1),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a start tag (`""` when it has none); `None` if absent.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let inner = inner.trim_end_matches('/');
    // Skip the tag name.
    let mut rest = inner.trim_start_matches(|c: char| !c.is_ascii_whitespace());
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let key_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let end = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..end], after.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remaining;
            value
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Trunk 0.21 writes for `index.html` (release, `public_url = "./"`).
    const TRUNK_INDEX: &str = r#"<!DOCTYPE html><html lang="en"><head>
    <meta charset="utf-8">
    <title>Sightline</title>
<link rel="modulepreload" href="./app-1a2b.js" crossorigin="anonymous" integrity="sha384-x">
<link rel="preload" href="./app-1a2b_bg.wasm" crossorigin="anonymous" integrity="sha384-y" as="fetch" type="application/wasm"></head>
  <body>
<script type="module">
import init, * as bindings from './app-1a2b.js';
const wasm = await init({ module_or_path: './app-1a2b_bg.wasm' });


window.wasmBindings = bindings;


dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));

</script></body></html>"#;

    #[test]
    fn trunks_inline_loader_moves_to_a_file_and_the_policy_comes_first() {
        let out = rewrite_index(TRUNK_INDEX, "./").unwrap();
        let (name, text) = out.loader.clone().unwrap();
        assert!(
            name.starts_with(LOADER_PREFIX) && name.ends_with(".js"),
            "{name}"
        );
        assert!(text.starts_with("import init, * as bindings from './app-1a2b.js';"));
        assert!(text.contains("TrunkApplicationStarted"));
        assert!(
            out.html.contains(&format!(
                "<script type=\"module\" src=\"./{name}\"></script>"
            )),
            "{}",
            out.html
        );
        assert!(!out.html.contains("import init"), "nothing inline is left");
        // Right after the charset, before anything that loads.
        let meta = out
            .html
            .find("http-equiv=\"Content-Security-Policy\"")
            .unwrap();
        assert!(meta > out.html.find("charset").unwrap());
        assert!(meta < out.html.find("modulepreload").unwrap());
        assert!(out.html.contains(POLICY));
        // The name follows the text: a new build (new hashes in the imports) gets a new name.
        let other = rewrite_index(&TRUNK_INDEX.replace("1a2b", "3c4d"), "./").unwrap();
        assert_ne!(other.loader.unwrap().0, name);
        assert_eq!(
            rewrite_index(TRUNK_INDEX, "./").unwrap(),
            out,
            "deterministic"
        );
    }

    #[test]
    fn scripts_with_a_src_stay_and_the_base_is_used() {
        let index = "<html><head><script src=\"x.js\" defer></script></head><body>\
                     <SCRIPT type=module>go()</SCRIPT></body></html>";
        let out = rewrite_index(index, "/app/").unwrap();
        assert!(out.html.contains("<script src=\"x.js\" defer></script>"));
        let name = out.loader.unwrap().0;
        assert!(out.html.contains(&format!("src=\"/app/{name}\"")));
        // No charset: the policy goes right after <head>.
        assert!(
            out.html
                .starts_with("<html><head>\n<meta http-equiv=\"Content-Security-Policy\"")
        );
    }

    #[test]
    fn what_the_policy_would_block_is_refused() {
        for index in [
            "<html><head></head><body><script>alert(1)</script></body></html>",
            "<html><head></head><body><script type=\"module\">a()</script>\
             <script type=\"module\">b()</script></body></html>",
            "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"x\"></head></html>",
            "<html><body><script type=\"module\">a()</script></body></html>",
            "<html><head></head><body><script type=\"module\">a()</body></html>",
        ] {
            assert!(rewrite_index(index, "./").is_err(), "{index}");
        }
    }

    #[test]
    fn attributes_are_read_like_html() {
        let tag = "<script type = 'module' data-x src=\"a b.js\" nonce=n>";
        assert_eq!(attribute(tag, "type"), Some("module"));
        assert_eq!(attribute(tag, "data-x"), Some(""));
        assert_eq!(attribute(tag, "SRC"), Some("a b.js"));
        assert_eq!(attribute(tag, "nonce"), Some("n"));
        assert_eq!(attribute(tag, "async"), None);
        assert_eq!(find_tag("<scripts><script>", "script"), Some(9));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_eval() {
        let script = POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .unwrap();
        assert_eq!(script, "script-src 'self' 'wasm-unsafe-eval'");
        assert!(!POLICY.contains("'unsafe-inline'") && !POLICY.contains("'unsafe-eval'"));
        assert!(!POLICY.contains("frame-ancestors"), "ignored in a <meta>");
        assert!(!POLICY.contains('"') && !POLICY.contains('\n'));
    }
}
