//! Shareable labeling links: a [`LabelingSetup`] (the classes and their colours, a model and
//! its thresholds, where the images come from, the image to open, and annotations when they
//! fit) carried in the fragment of the app's URL, `<app>#share=<payload>`. A fragment is never
//! sent to a server, so the setup goes from one browser to the next without being uploaded.
//!
//! The payload is `1.` (the [`LINK_VERSION`] and a dot) followed by the unpadded base64url of
//! the raw DEFLATE of the setup's compact JSON, whose keys are one letter to keep links short.
//! [`encode`] is deterministic: the same setup always gives the same payload.
//!
//! A link is input from anyone, so [`decode`] trusts nothing: the length is checked before the
//! base64, the unpacked size is capped while inflating (a crafted DEFLATE stream reaches about
//! 1000:1), the JSON is parsed into typed fields, and then every rule of [`encode`] is checked
//! again — each failure is its own [`LinkError`] with a message for the person who clicked.
//! Image, manifest, project-file and model addresses must pass [`check_source_url`]: only
//! `http:`, `https:` and relative addresses, never `javascript:`, `data:`, `blob:` or `file:`.
//! Labels are plain text: markup such as `<script>` is kept as written, because the app shows
//! labels as text and never parses them as HTML.
//!
//! The limits:
//! - [`MAX_LINK_CHARS`] (8,000 characters for the whole link): RFC 9110 (section 4.1) asks
//!   that URIs of at least 8,000 octets be supported, and it is about where chat apps, mail
//!   clients and URL shorteners start to cut or refuse links (browsers allow far more, Chrome
//!   2 MB). A setup over it is shared as a project file instead ([`LinkError::TooLong`]).
//! - [`MAX_DECODED_BYTES`] (1 MiB of JSON): a link holds at most about 6 KB of DEFLATE and
//!   real setups compress 3 to 10 times, so a genuine link unpacks to well under 100 KB; the
//!   cap keeps a crafted link (a zip bomb, up to about 6 MB from 6 KB) from making the page
//!   allocate more than about twice the cap (the output buffer's last growth step).
//! - [`MAX_CLASSES`], [`MAX_IMAGES`], [`MAX_LABEL_CHARS`], [`MAX_URL_CHARS`]: far above what
//!   fits in a link of real names, they bound what the app is asked to show.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use miniz_oxide::inflate::TINFLStatus;
use serde::{Deserialize, Serialize};

use crate::annotation::{Shape, ShapeKind};

/// The payload format [`encode`] writes and [`decode`] reads (the number before the first `.`).
pub const LINK_VERSION: u32 = 1;

/// The longest link [`link`] makes, base URL included, and the longest payload [`decode`]
/// reads. See the module doc for why 8,000.
pub const MAX_LINK_CHARS: usize = 8_000;

/// The most JSON a payload may unpack to (the zip-bomb guard).
pub const MAX_DECODED_BYTES: usize = 1 << 20;

/// The most classes a setup may list.
pub const MAX_CLASSES: usize = 1_000;

/// The most image URLs a setup may list, and the most images it may carry annotations for.
pub const MAX_IMAGES: usize = 10_000;

/// The longest class name, shape label or setup name, in characters.
pub const MAX_LABEL_CHARS: usize = 256;

/// The longest image, manifest, project-file or model address, in characters.
pub const MAX_URL_CHARS: usize = 2_048;

/// What introduces the payload in the fragment.
const FRAGMENT_KEY: &str = "share=";

/// miniz_oxide's best ordinary level: links are made once and opened many times.
const COMPRESSION_LEVEL: u8 = 9;

/// How much of a refused text an error message repeats.
const SHOWN_CHARS: usize = 80;

/// Everything a shared link sets up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelingSetup {
    /// The project's name (may be empty: the app names it).
    #[serde(rename = "n", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The classes in order (the order gives YOLO class ids).
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<SharedClass>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<SharedModel>,
    #[serde(rename = "i")]
    pub images: ImageSourceSpec,
    /// The image shown first: one of the URLs for [`ImageSourceSpec::Urls`], else the image's
    /// path in the manifest or project file.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Shapes per image, keyed like [`LabelingSetup::open`]; only when they fit in a link.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, Vec<Shape>>>,
}

/// A class and the colour its shapes are drawn with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedClass {
    #[serde(rename = "n")]
    pub name: String,
    /// `#rrggbb`; `None`: the palette's.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
}

/// The model to load and the thresholds to run it with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedModel {
    /// The ONNX file (must pass [`check_source_url`]).
    #[serde(rename = "u")]
    pub url: String,
    /// Minimum detection confidence, in [0, 1].
    #[serde(rename = "c")]
    pub confidence: f32,
    /// IoU above which non-maximum suppression drops the weaker box, in [0, 1].
    #[serde(rename = "i")]
    pub iou: f32,
}

/// Where the images come from. Every address must pass [`check_source_url`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageSourceSpec {
    /// The images themselves, in order.
    #[serde(rename = "u")]
    Urls(Vec<String>),
    /// A project manifest (`manifest.json`) listing the images.
    #[serde(rename = "m")]
    Manifest(String),
    /// A Sightline project file.
    #[serde(rename = "p")]
    ProjectFile(String),
}

/// Why a link cannot be made or opened; the messages are written for the person sharing or
/// clicking it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "the share link would be {chars} characters long, over the {limit} that chat apps and \
         mail clients pass on whole: share a project file instead"
    )]
    TooLong { chars: usize, limit: usize },
    #[error("the share link is empty: copy the whole link, including everything after \"#share=\"")]
    Empty,
    #[error("{}", version_message(.found, *.supported))]
    UnsupportedVersion { found: String, supported: u32 },
    #[error(
        "the share link contains {character:?} at character {position}, which a share link \
         never does: it was changed on the way, copy it again"
    )]
    NotBase64 { position: usize, character: char },
    #[error("the share link is cut short or damaged: copy the whole link again")]
    Corrupt,
    #[error(
        "the share link unpacks to more than {limit} bytes, more than a Sightline link holds: \
         it was not made by Sightline"
    )]
    TooLarge { limit: usize },
    #[error("the share link does not hold a labeling setup this app understands: {0}")]
    InvalidJson(String),
    #[error("the {field} address \"{url}\" is refused: {problem}")]
    UnsafeUrl {
        field: String,
        url: String,
        problem: UrlProblem,
    },
    #[error("{what} \"{label}\" is refused: {problem}")]
    InvalidLabel {
        what: String,
        label: String,
        problem: LabelProblem,
    },
    #[error("the colour \"{colour}\" of class \"{class}\" is not written #rrggbb")]
    InvalidColour { class: String, colour: String },
    #[error("the model's {threshold} threshold {value} is not between 0 and 1")]
    InvalidThreshold { threshold: &'static str, value: f32 },
    #[error("the share link lists {count} {what}, more than the {limit} a link may carry")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("the share link lists no images")]
    NoImages,
    #[error("the share link lists image \"{url}\" twice")]
    DuplicateImage { url: String },
    #[error("the image to open, \"{image}\", is not one of the link's images")]
    OpenNotInImages { image: String },
    #[error("the share link has annotations for \"{image}\", which is not one of its images")]
    UnknownAnnotatedImage { image: String },
    #[error("shape {shape} of image \"{image}\" is refused: {problem}")]
    InvalidShape {
        image: String,
        /// 1-based, as the user counts.
        shape: usize,
        problem: ShapeProblem,
    },
}

/// Why [`check_source_url`] refuses an address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("it is empty")]
    Empty,
    #[error("it is {chars} characters long, over the {limit} allowed")]
    TooLong { chars: usize, limit: usize },
    #[error(
        "\"{scheme}:\" addresses are not allowed, only http:, https: and addresses relative to \
         this page"
    )]
    Scheme { scheme: String },
    #[error("it contains control characters")]
    ControlCharacter,
}

/// Why a class name, shape label or setup name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelProblem {
    #[error("it is empty")]
    Empty,
    #[error("it is {chars} characters long, over the {limit} allowed")]
    TooLong { chars: usize, limit: usize },
    #[error("it contains control characters")]
    ControlCharacter,
    #[error("it is listed twice")]
    Duplicate,
}

/// Why a shared shape is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeProblem {
    #[error(
        "a {} takes {} points, not {count}",
        .kind.labelme_name(),
        .kind.expected_point_count()
    )]
    PointCount { kind: ShapeKind, count: usize },
    #[error("a coordinate or its score is not a finite number")]
    NotFinite,
}

/// The payload of a link to `setup` (`1.…`, without the `#share=`).
///
/// Checks the setup as [`decode`] will, so that every payload made here opens; a payload over
/// [`MAX_LINK_CHARS`] is refused with [`LinkError::TooLong`].
pub fn encode(setup: &LabelingSetup) -> Result<String, LinkError> {
    validate(setup)?;
    let json = serde_json::to_vec(setup)
        .map_err(|error| LinkError::InvalidJson(shown(&error.to_string())))?;
    if json.len() > MAX_DECODED_BYTES {
        return Err(LinkError::TooLarge {
            limit: MAX_DECODED_BYTES,
        });
    }
    let compressed = miniz_oxide::deflate::compress_to_vec(&json, COMPRESSION_LEVEL);
    let payload = format!("{LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(compressed));
    if payload.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong {
            chars: payload.len(),
            limit: MAX_LINK_CHARS,
        });
    }
    Ok(payload)
}

/// The link that opens the app at `base_url` (its fragment dropped) with `setup`.
///
/// [`LinkError::TooLong`] when the whole link passes [`MAX_LINK_CHARS`]: the app then offers a
/// project file instead.
pub fn link(base_url: &str, setup: &LabelingSetup) -> Result<String, LinkError> {
    let payload = encode(setup)?;
    let base = base_url.split_once('#').map_or(base_url, |(base, _)| base);
    let link = format!("{base}#{FRAGMENT_KEY}{payload}");
    let chars = link.chars().count();
    if chars > MAX_LINK_CHARS {
        return Err(LinkError::TooLong {
            chars,
            limit: MAX_LINK_CHARS,
        });
    }
    Ok(link)
}

/// The payload in a link, a fragment (`#share=…`, `#a=b&share=…`) or a fragment without its
/// `#` (`share=…`); `None` when there is no `share=` in the fragment. A `share=` in the query
/// (`?share=…`) is not read: that part of a URL goes to the server.
pub fn payload_of(url_or_fragment: &str) -> Option<&str> {
    let text = url_or_fragment.trim();
    let fragment = match text.split_once('#') {
        Some((_, fragment)) => fragment,
        // Without a `#`, only a bare fragment: a URL's path or query is not one.
        None if text.contains(['/', '?']) => return None,
        None => text,
    };
    fragment
        .split('&')
        .find_map(|parameter| parameter.strip_prefix(FRAGMENT_KEY))
}

/// The setup in a payload (as [`payload_of`] finds it), checked as [`encode`] checks it.
pub fn decode(payload: &str) -> Result<LabelingSetup, LinkError> {
    let payload = payload.trim();
    if payload.is_empty() {
        return Err(LinkError::Empty);
    }
    let chars = payload.chars().count();
    if chars > MAX_LINK_CHARS {
        return Err(LinkError::TooLong {
            chars,
            limit: MAX_LINK_CHARS,
        });
    }
    let Some((version, body)) = payload.split_once('.') else {
        return Err(LinkError::UnsupportedVersion {
            found: String::new(),
            supported: LINK_VERSION,
        });
    };
    if version != LINK_VERSION.to_string() {
        return Err(LinkError::UnsupportedVersion {
            found: shown(version),
            supported: LINK_VERSION,
        });
    }
    if body.is_empty() {
        return Err(LinkError::Corrupt);
    }
    let compressed = URL_SAFE_NO_PAD.decode(body).map_err(|error| match error {
        base64::DecodeError::InvalidByte(offset, _) => LinkError::NotBase64 {
            // 1-based, counted in characters of the whole payload.
            position: version.chars().count()
                + 1
                + body
                    .get(..offset)
                    .map_or(0, |before| before.chars().count())
                + 1,
            character: body
                .get(offset..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER),
        },
        // A wrong length or stray bits in the last symbol: the end of the link is missing.
        _ => LinkError::Corrupt,
    })?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_DECODED_BYTES)
        .map_err(|error| match error.status {
        TINFLStatus::HasMoreOutput => LinkError::TooLarge {
            limit: MAX_DECODED_BYTES,
        },
        _ => LinkError::Corrupt,
    })?;
    let setup: LabelingSetup = serde_json::from_slice(&json)
        .map_err(|error| LinkError::InvalidJson(shown(&error.to_string())))?;
    validate(&setup)?;
    Ok(setup)
}

/// Whether `url` may be fetched as an image, manifest, project file or model: an absolute
/// `http:` or `https:` URL, or a reference relative to the page (`images/a.jpg`, `/demo/a.jpg`,
/// `./a.png`, and `//host/a.jpg`, which takes the page's scheme, so it is as safe as an
/// `https:` URL). Every other scheme is refused (`javascript:`, `data:`, `blob:`, `file:`,
/// `vbscript:`, `ftp:`...), found as a browser finds it: case-insensitively, after dropping
/// leading and trailing controls and spaces and every tab and newline, so that
/// `" JavaScript:"` and `"java\tscript:"` are refused too. Any control character is refused.
pub fn check_source_url(url: &str) -> Result<(), UrlProblem> {
    let chars = url.chars().count();
    if chars > MAX_URL_CHARS {
        return Err(UrlProblem::TooLong {
            chars,
            limit: MAX_URL_CHARS,
        });
    }
    // The WHATWG URL parser's first steps.
    let stripped: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if stripped.is_empty() {
        return Err(UrlProblem::Empty);
    }
    if let Some(scheme) = scheme_of(&stripped) {
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(UrlProblem::Scheme {
                scheme: shown(&scheme),
            });
        }
    }
    if url.chars().any(char::is_control) {
        return Err(UrlProblem::ControlCharacter);
    }
    Ok(())
}

/// The scheme of `url` as the WHATWG scheme state reads it (an ASCII letter, then letters,
/// digits, `+`, `-` or `.`, then `:`); `None` for a relative reference.
fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_is_scheme = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (starts_with_letter && rest_is_scheme).then_some(scheme)
}

/// Every rule a setup must meet, for [`encode`] and [`decode`] alike.
fn validate(setup: &LabelingSetup) -> Result<(), LinkError> {
    check_text("the project name", &setup.name, Required::No)?;
    check_classes(&setup.classes)?;
    if let Some(model) = &setup.model {
        check_url("model", &model.url)?;
        check_threshold("confidence", model.confidence)?;
        check_threshold("IoU", model.iou)?;
    }
    // The listed images when the link names them; else the images are paths in a manifest or
    // project file, which only have to be safe addresses.
    let listed: Option<HashSet<&str>> = match &setup.images {
        ImageSourceSpec::Urls(urls) => Some(check_image_urls(urls)?),
        ImageSourceSpec::Manifest(url) => {
            check_url("manifest", url)?;
            None
        }
        ImageSourceSpec::ProjectFile(url) => {
            check_url("project file", url)?;
            None
        }
    };
    if let Some(open) = &setup.open {
        match &listed {
            Some(listed) if !listed.contains(open.as_str()) => {
                return Err(LinkError::OpenNotInImages { image: shown(open) });
            }
            Some(_) => {}
            None => check_url("image to open", open)?,
        }
    }
    if let Some(annotations) = &setup.annotations {
        check_count("annotated images", annotations.len(), MAX_IMAGES)?;
        for (image, shapes) in annotations {
            match &listed {
                Some(listed) if !listed.contains(image.as_str()) => {
                    return Err(LinkError::UnknownAnnotatedImage {
                        image: shown(image),
                    });
                }
                Some(_) => {}
                None => check_url("annotated image", image)?,
            }
            check_shapes(image, shapes)?;
        }
    }
    Ok(())
}

fn check_classes(classes: &[SharedClass]) -> Result<(), LinkError> {
    check_count("classes", classes.len(), MAX_CLASSES)?;
    let mut seen = HashSet::with_capacity(classes.len());
    for (index, class) in classes.iter().enumerate() {
        let what = format!("class {}", index + 1);
        check_text(&what, &class.name, Required::Yes)?;
        if !seen.insert(class.name.as_str()) {
            return Err(LinkError::InvalidLabel {
                what,
                label: shown(&class.name),
                problem: LabelProblem::Duplicate,
            });
        }
        if let Some(colour) = &class.colour
            && !is_hex_colour(colour)
        {
            return Err(LinkError::InvalidColour {
                class: shown(&class.name),
                colour: shown(colour),
            });
        }
    }
    Ok(())
}

/// The image URLs, checked, as a set to look `open` and annotated images up in.
fn check_image_urls(urls: &[String]) -> Result<HashSet<&str>, LinkError> {
    if urls.is_empty() {
        return Err(LinkError::NoImages);
    }
    check_count("images", urls.len(), MAX_IMAGES)?;
    let mut listed = HashSet::with_capacity(urls.len());
    for (index, url) in urls.iter().enumerate() {
        check_url(&format!("image {}", index + 1), url)?;
        if !listed.insert(url.as_str()) {
            return Err(LinkError::DuplicateImage { url: shown(url) });
        }
    }
    Ok(listed)
}

fn check_shapes(image: &str, shapes: &[Shape]) -> Result<(), LinkError> {
    for (index, shape) in shapes.iter().enumerate() {
        let invalid = |problem| LinkError::InvalidShape {
            image: shown(image),
            shape: index + 1,
            problem,
        };
        // Imported datasets may have shapes without a label; sharing them is not refused.
        check_text(
            &format!(
                "the label of shape {} of image \"{}\"",
                index + 1,
                shown(image)
            ),
            &shape.label,
            Required::No,
        )?;
        if !shape.has_valid_point_count() {
            return Err(invalid(ShapeProblem::PointCount {
                kind: shape.kind,
                count: shape.points_in_image.len(),
            }));
        }
        // JSON has no NaN or infinity: such a shape would not read back as written.
        let finite_points = shape
            .points_in_image
            .iter()
            .all(|point| point.x.is_finite() && point.y.is_finite());
        if !finite_points || shape.score.is_some_and(|score| !score.is_finite()) {
            return Err(invalid(ShapeProblem::NotFinite));
        }
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<(), LinkError> {
    check_source_url(url).map_err(|problem| LinkError::UnsafeUrl {
        field: field.to_owned(),
        url: shown(url),
        problem,
    })
}

fn check_threshold(threshold: &'static str, value: f32) -> Result<(), LinkError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(LinkError::InvalidThreshold { threshold, value })
    }
}

fn check_count(what: &'static str, count: usize, limit: usize) -> Result<(), LinkError> {
    if count > limit {
        return Err(LinkError::TooMany { what, count, limit });
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Required {
    Yes,
    No,
}

/// A name or label: plain text of at most [`MAX_LABEL_CHARS`], without control characters.
fn check_text(what: &str, text: &str, required: Required) -> Result<(), LinkError> {
    let chars = text.chars().count();
    let problem = if required == Required::Yes && text.trim().is_empty() {
        LabelProblem::Empty
    } else if chars > MAX_LABEL_CHARS {
        LabelProblem::TooLong {
            chars,
            limit: MAX_LABEL_CHARS,
        }
    } else if text.chars().any(char::is_control) {
        LabelProblem::ControlCharacter
    } else {
        return Ok(());
    };
    Err(LinkError::InvalidLabel {
        what: what.to_owned(),
        label: shown(text),
        problem,
    })
}

/// `#rrggbb`, either case.
fn is_hex_colour(colour: &str) -> bool {
    colour
        .strip_prefix('#')
        .is_some_and(|hex| hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `text` as an error message repeats it: at most [`SHOWN_CHARS`] characters, control
/// characters escaped so that a message stays on one line.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn version_message(found: &str, supported: u32) -> String {
    if found.is_empty() {
        "the share link has no version number: it is not a Sightline share link, or its start \
         was cut off"
            .to_owned()
    } else if found.bytes().all(|b| b.is_ascii_digit()) {
        format!(
            "the share link is in format version {found}, but this Sightline reads version \
             {supported}: open it with the Sightline that made it"
        )
    } else {
        format!(
            "the share link starts with \"{found}\" where its version number should be: it is \
             not a Sightline share link"
        )
    }
}
