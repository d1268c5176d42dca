//! The registry's errors, and the one place they become gRPC statuses: refusals as
//! [`corridor_service::refusal`] maps them, internal failures logged with their cause.

use corridor_core::ParseError;
use corridor_service::{Refusal, internal, ledger_failed};
use tonic::Status;

/// What can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is refused (bad field, signature, role or state); the client is told why.
    #[error(transparent)]
    Refusal(#[from] Refusal),
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

impl From<ParseError> for Error {
    fn from(p: ParseError) -> Self {
        Self::Refusal(Refusal::Invalid(p))
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Refusal(r) => r.into(),
            Error::Ledger(e) => ledger_failed("registry", &e),
            Error::State(m) => internal("registry state is inconsistent", &m),
            Error::Transport(e) => internal("the registry's server failed", &e),
            Error::Topology(e) => internal("the registry's topology is incomplete", &e),
            Error::Refused { seq, reason } => internal(
                "the local AEO replica is inconsistent with the registry",
                &format!("registry entry {seq}: {reason}"),
            ),
            Error::Store(e) => {
                tracing::error!(error = %e, "replica store failure");
                Status::unavailable("the local AEO replica's store failed")
            }
        }
    }
}
