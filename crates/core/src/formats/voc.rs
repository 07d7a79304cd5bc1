//! stub
use super::*;
pub(crate) fn import_file(_file: &InputFile, _index: &ImageIndex, _dataset: &mut Dataset, _report: &mut ImportReport) {}
pub(crate) fn export(_dataset: &Dataset) -> Result<Export, ExportError> { Ok(Export::default()) }
