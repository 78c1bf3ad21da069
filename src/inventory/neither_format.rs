//! The error for a file that no syntax reads: the report of the syntax it looks like, and a
//! note that the other was tried too.

use super::InventoryError;
use miette::Diagnostic;
use std::fmt;

/// Both Ansible plugins refused the file; `primary` is the error of the syntax it looks like.
#[derive(Debug)]
pub struct NeitherFormat {
    pub primary: InventoryError,
    pub primary_format: &'static str,
    pub other_format: &'static str,
    pub other_error: String,
}

impl fmt::Display for NeitherFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (not {} either)", self.primary, self.other_format)
    }
}

impl std::error::Error for NeitherFormat {}

impl Diagnostic for NeitherFormat {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.primary.code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let own = self
            .primary
            .help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        Some(Box::new(format!(
            "{own}\nread as {}, which it looks like; as {} (also tried, as Ansible tries both) it fails with: {}",
            self.primary_format, self.other_format, self.other_error
        )))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.primary.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.primary.labels()
    }
}
