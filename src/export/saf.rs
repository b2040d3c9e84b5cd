//! (being written)

use super::{Batch, ExportError, Outcome};

pub fn export(_batch: &Batch, _args: &crate::cli::SafArgs) -> Result<Outcome, ExportError> {
    Err(ExportError::Usage("not yet".into()))
}
