//! The images of a project and which one is open.

use serde::{Deserialize, Serialize};

/// One image of a project, as listed in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// File name shown to the user, unique within the project.
    pub name: String,
    /// Where the bytes are fetched from, relative to the manifest.
    pub path: String,
}

/// The list of images a project was opened with (the demo's `manifest.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub images: Vec<ImageEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the project manifest is not valid JSON of the expected shape: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the project manifest lists image {0:?} twice")]
    DuplicateName(String),
}

impl Manifest {
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        for image in &manifest.images {
            if !seen.insert(image.name.as_str()) {
                return Err(ManifestError::DuplicateName(image.name.clone()));
            }
        }
        Ok(manifest)
    }
}

/// Which image of a list of `len` is open. Moving past either end stays at the end, as
/// AnyLabeling does with A/D.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageCursor {
    index: usize,
    len: usize,
}

impl ImageCursor {
    pub fn new(len: usize) -> Self {
        Self { index: 0, len }
    }

    /// The open image, `None` for an empty project.
    pub fn index(&self) -> Option<usize> {
        (self.len > 0).then_some(self.index)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn has_next(&self) -> bool {
        self.index + 1 < self.len
    }

    pub fn has_previous(&self) -> bool {
        self.index > 0
    }

    pub fn next(self) -> Self {
        Self {
            index: if self.has_next() {
                self.index + 1
            } else {
                self.index
            },
            ..self
        }
    }

    pub fn previous(self) -> Self {
        Self {
            index: self.index.saturating_sub(1),
            ..self
        }
    }

    /// Opens image `index`; an index past the end opens the last image.
    pub fn go_to(self, index: usize) -> Self {
        Self {
            index: index.min(self.len.saturating_sub(1)),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_moves_and_stops_at_both_ends() {
        let c = ImageCursor::new(3);
        assert_eq!(c.index(), Some(0));
        assert!(!c.has_previous());
        assert_eq!(c.previous().index(), Some(0));
        let c = c.next().next();
        assert_eq!(c.index(), Some(2));
        assert!(!c.has_next());
        assert_eq!(c.next().index(), Some(2));
        assert_eq!(c.go_to(99).index(), Some(2));
        assert_eq!(c.go_to(1).index(), Some(1));
    }

    #[test]
    fn empty_cursor_has_no_index() {
        let c = ImageCursor::new(0);
        assert_eq!(c.index(), None);
        assert_eq!(c.next().index(), None);
        assert_eq!(c.go_to(4).index(), None);
    }

    #[test]
    fn manifest_parses_and_rejects_duplicates() {
        let m = Manifest::from_json(
            r#"{"name":"demo","images":[{"name":"a.jpg","path":"a.jpg"},{"name":"b.png","path":"b.png"}]}"#,
        )
        .expect("valid manifest");
        assert_eq!(m.images.len(), 2);
        let err = Manifest::from_json(
            r#"{"name":"demo","images":[{"name":"a.jpg","path":"a.jpg"},{"name":"a.jpg","path":"x/a.jpg"}]}"#,
        )
        .expect_err("duplicate names");
        assert!(matches!(err, ManifestError::DuplicateName(n) if n == "a.jpg"));
        assert!(matches!(
            Manifest::from_json("{"),
            Err(ManifestError::Malformed(_))
        ));
    }
}
