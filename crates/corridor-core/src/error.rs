//! Errors of the core crate.

use std::path::PathBuf;

/// A value that failed validation: names the field and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    /// The field (or type) being parsed, e.g. `hs_code`.
    pub field: String,
    /// Why the value was refused.
    pub reason: String,
}

impl ParseError {
    /// A parse error for `field` with `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, re-rooted under an outer field name (`items[2].hs_code`).
    pub fn within(self, outer: &str) -> Self {
        Self {
            field: format!("{outer}.{}", self.field),
            reason: self.reason,
        }
    }
}

/// Errors from keys and envelopes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value failed validation.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyIo {
        /// The key file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A private key file is readable by others than its owner.
    #[error(
        "key file {path} has mode {mode:04o}; a private key must be readable by its owner only (chmod 600)"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file does not hold a key of the expected kind.
    #[error("key file {path}: {reason}")]
    KeyFormat {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its bytes.
        reason: String,
    },
    /// Refused to overwrite an existing key file.
    #[error("key file {0} already exists; refusing to overwrite a key")]
    KeyExists(PathBuf),
    /// An envelope carries no signature by any key the verifier accepts.
    #[error("envelope has no signature by key {0}")]
    MissingSignature(String),
    /// A signature did not verify.
    #[error("signature by key {0} does not verify")]
    BadSignature(String),
}
