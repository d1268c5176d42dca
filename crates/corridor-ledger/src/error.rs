//! Errors of the ledger crate.

use std::path::PathBuf;

/// What can go wrong opening, appending to or reading a ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another opener (a running service) holds the ledger's database.
    #[error(
        "ledger at {0} is in use by a running service (another process holds its database); read it through that service's ledger API or stop it first"
    )]
    Locked(PathBuf),
    /// No ledger exists at the directory.
    #[error("no ledger at {0} (expected a sled database in {0}/db)")]
    NotFound(PathBuf),
    /// The directory holds something other than a corridor ledger.
    #[error("{dir} is not a corridor ledger: {why}")]
    NotALedger {
        /// The ledger directory.
        dir: PathBuf,
        /// What it holds instead.
        why: String,
    },
    /// A file (the checkpoint, an export, a copy for auditing) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The storage engine failed.
    #[error("ledger database at {dir}: {source}")]
    Storage {
        /// The ledger directory.
        dir: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
    /// The stored entries contradict their hashes, each other or the last signed checkpoint.
    #[error("ledger at {dir} is damaged: {damage}")]
    Damaged {
        /// The ledger directory.
        dir: PathBuf,
        /// The first damage found.
        damage: crate::verify::Damage,
    },
    /// An append was refused before anything was written.
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    /// A new checkpoint would not extend the last one signed.
    #[error("refusing to sign a checkpoint that does not extend the last one: {0}")]
    CheckpointRegression(String),
    /// A checkpoint note could not be parsed or verified.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// A group of appends could not be written or made durable; none of it was acknowledged,
    /// and the ledger takes no more appends until it is reopened.
    #[error("ledger write failed: {0}")]
    Write(String),
    /// A recovery has the ledger's database closed, to open it again
    /// ([`crate::Ledger::recover`]).
    #[error("ledger at {0} is being reopened after a failed write")]
    Reopening(PathBuf),
    /// A proof was asked of a tree larger than the ledger.
    #[error("the ledger has {len} entries; a tree of {size} was asked for")]
    BeyondLedger {
        /// The tree size asked for.
        size: u64,
        /// The ledger's size.
        len: u64,
    },
    /// A proof's index and sizes do not fit together.
    #[error("proof: {0}")]
    Proof(#[from] crate::proof::ProofError),
    /// An export file is malformed.
    #[error("export line {line}: {reason}")]
    Export {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
