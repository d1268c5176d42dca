//! DCSA eBL 3.0 transport documents in and out of corridor.
//!
//! A DCSA transport document (TD: `components.schemas.TransportDocument` of the DCSA eBL
//! 3.0.4 OpenAPI document) is what carriers and eBL platforms produce. This crate:
//! - reads one ([`TransportDocument::read`]): at most [`MAX_BYTES`] bytes and [`MAX_DEPTH`]
//!   levels of nesting, both checked before the text is parsed; then JSON; then valid against
//!   the DCSA schema ([`schema`], generated from the DCSA document and checked in), with one
//!   [`Violation`] per failure, each with its JSON pointer;
//! - maps it to a corridor bill of lading ([`import()`]) that keeps the whole document in its
//!   RFC 8785 canonical form with the SHA-256 of that form, DCSA's checksum of a TD, so
//!   nothing is lost and the document can be given back as it was;
//! - writes one for any corridor bill ([`export()`]): the kept original for an imported bill,
//!   a generated document, valid against the schema, for a bill made from corridor data.
//!
//! What a TD must hold for the corridor beyond what DCSA requires, and where each field goes,
//! is the mapping table of proto/DCSA.md; [`extension`] is the one property
//! corridor adds to the documents it generates.

pub mod export;
pub mod extension;
pub mod import;
pub mod schema;

mod read;

use std::fmt;

pub use export::{Contact, ExportError, export};
pub use import::{Parties, import};
pub use read::TransportDocument;

/// Longest transport document taken, in bytes of its JSON text (and of its canonical form,
/// which the bill keeps).
pub const MAX_BYTES: usize = corridor_core::document::TransportDocumentJson::MAX_BYTES;

/// Deepest nesting of objects and arrays taken in a transport document's JSON. The DCSA
/// schema's deepest path is 9 levels.
pub const MAX_DEPTH: usize = 32;

/// One way a document fails the DCSA schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the failing value, `""` for the whole document.
    pub pointer: String,
    /// What is wrong, e.g. `"85414" is shorter than 6 characters`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Why a transport document cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcsaError {
    /// Longer than [`MAX_BYTES`]; not parsed.
    #[error(
        "transport document: {bytes} bytes, more than the {limit} bytes a transport document may have"
    )]
    TooLarge {
        /// Its length.
        bytes: usize,
        /// [`MAX_BYTES`].
        limit: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`]; not parsed.
    #[error("transport document: nested deeper than {limit} levels of objects and arrays")]
    TooDeep {
        /// [`MAX_DEPTH`].
        limit: usize,
    },
    /// Not JSON, or not a JSON object.
    #[error("transport document: {0}")]
    NotJson(String),
    /// Fails the DCSA schema: one violation per line.
    #[error("transport document fails the DCSA eBL 3.0.4 schema:\n{}", lines(.0))]
    Schema(Vec<Violation>),
    /// Valid for DCSA, but not a document the corridor can clear: the field and why.
    #[error("{pointer}: {reason}")]
    Unfit {
        /// JSON pointer of the field.
        pointer: String,
        /// Why the corridor cannot take it.
        reason: String,
    },
}

impl DcsaError {
    /// A field of a valid document that the corridor cannot take.
    pub fn unfit(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unfit {
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }
}

fn lines(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
