//! The customs node's errors, and the one place they become gRPC statuses: refusals as
//! [`corridor_service::refusal`] maps them, internal failures logged with their cause.

use corridor_core::ParseError;
use corridor_service::{Refusal, internal, ledger_failed};
use tonic::Status;

/// What can go wrong at a customs node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is refused (bad field, signature, role or state); the client is told why.
    #[error(transparent)]
    Refusal(#[from] Refusal),
    /// The ledger failed: nothing was acknowledged.
    #[error(transparent)]
    Ledger(#[from] corridor_ledger::Error),
    /// The ledger holds an entry the node cannot apply: it refuses to start.
    #[error("customs node state: {0}")]
    State(String),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The topology lacks something the node needs.
    #[error(transparent)]
    Topology(#[from] corridor_topology::Error),
    /// The local copy of the AEO registry failed.
    #[error(transparent)]
    Registry(#[from] corridor_aeo::Error),
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
            Error::Ledger(e) => ledger_failed("customs node", &e),
            Error::State(m) => internal("customs node state is inconsistent", &m),
            Error::Transport(e) => internal("the customs node's server failed", &e),
            Error::Topology(e) => internal("the customs node's topology is incomplete", &e),
            Error::Registry(e) => e.into(),
        }
    }
}
