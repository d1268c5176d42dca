//! Errors of the ledger crate.

use std::path::PathBuf;

/// What can go wrong opening, appending to or reading a ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another opener (a running service) holds the log's lock.
    #[error(
        "ledger at {0} is in use by another process; read it through that service's ledger API or stop it first"
    )]
    Locked(PathBuf),
    /// No ledger exists at the directory.
    #[error("no ledger at {0} (expected {0}/entries.log)")]
    NotFound(PathBuf),
    /// A file (the log, the checkpoint, an export) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The stored state contradicts itself or the last signed checkpoint.
    #[error("ledger damaged: {0}")]
    Damaged(#[from] crate::verify::Damage),
    /// An append was refused before anything was written.
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    /// A new checkpoint would not extend the last one signed.
    #[error("refusing to sign a checkpoint that does not extend the last one: {0}")]
    CheckpointRegression(String),
    /// A checkpoint note could not be parsed or verified.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A batch of appends could not be written; none of it was.
    #[error("ledger write failed: {0}")]
    Write(String),
    /// Durable flush failed; nothing appended since the last successful flush is acknowledged.
    #[error("flush to disk failed: {0}")]
    Flush(String),
    /// An export file is malformed.
    #[error("export line {line}: {reason}")]
    Export {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
