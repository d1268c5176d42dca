//! The registry's errors, and the one place they become gRPC statuses.

use corridor_core::ParseError;
use tonic::Status;

/// What can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request or document is malformed; names the field.
    #[error("{0}")]
    Invalid(#[from] ParseError),
    /// A signature is by an unknown key, or does not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// A known key acted beyond its role.
    #[error("{0}")]
    PermissionDenied(String),
    /// A step out of order (a certificate for an unregistered operator, suspending a revoked
    /// certificate, ...).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A conflicting re-use of an id.
    #[error("{0}")]
    AlreadyExists(String),
    /// Nothing has the id asked about.
    #[error("{0}")]
    NotFound(String),
    /// The registry cannot record changes now (stopping, or stopped recording after a ledger
    /// failure until it is restarted).
    #[error("{0}")]
    Unavailable(String),
    /// The ledger failed: nothing was acknowledged.
    #[error(transparent)]
    Ledger(#[from] corridor_ledger::Error),
    /// The ledger and the state rows recorded beside it disagree, or an entry no longer
    /// applies: the registry refuses to start.
    #[error("registry state: {0}")]
    State(String),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The topology lacks something the registry needs.
    #[error(transparent)]
    Topology(#[from] corridor_topology::Error),
    /// A replica refuses an entry of the registry's ledger: out of sequence, not linked to
    /// the entry before it, fields that do not hash to its hash, or a change that does not
    /// apply (a signature that fails, a step the registry itself would refuse).
    #[error("ledger entry {seq}: {reason}")]
    Refused {
        /// The entry's sequence number.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A replica's local store failed.
    #[error("replica store: {0}")]
    Store(#[from] sled::Error),
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(p) => Status::invalid_argument(p.to_string()),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::AlreadyExists(m) => Status::already_exists(m),
            Error::NotFound(m) => Status::not_found(m),
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Ledger(e) => {
                tracing::error!(error = %e, "ledger failure");
                Status::unavailable("the registry's ledger failed; nothing was recorded")
            }
            Error::State(m) => {
                tracing::error!(error = %m, "registry state");
                Status::internal("registry state is inconsistent")
            }
            Error::Transport(e) => Status::internal(e.to_string()),
            Error::Topology(e) => Status::internal(e.to_string()),
            Error::Refused { seq, reason } => {
                tracing::error!(seq, error = %reason, "replica refused a registry entry");
                Status::internal("the local AEO replica is inconsistent with the registry")
            }
            Error::Store(e) => {
                tracing::error!(error = %e, "replica store failure");
                Status::unavailable("the local AEO replica's store failed")
            }
        }
    }
}
