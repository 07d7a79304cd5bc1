//! stub
#[derive(Debug, thiserror::Error)]
pub enum ZipError { #[error("x")] X }
pub fn zip_archive() {}
