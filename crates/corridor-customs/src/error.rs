//! The customs node's errors, and the one place they become gRPC statuses.

use corridor_core::ParseError;
use tonic::Status;

/// What can go wrong at a customs node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request or document is malformed; names the field.
    #[error("{0}")]
    Invalid(#[from] ParseError),
    /// A signature is by an unknown key, by a key not valid at the document's time, or does
    /// not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// A known key acted beyond its role (an officer of another country, a node that is not
    /// the previous one, a declarant that does not hold the bill nor act for its holder).
    #[error("{0}")]
    PermissionDenied(String),
    /// A step out of order.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A conflicting re-use of an id.
    #[error("{0}")]
    AlreadyExists(String),
    /// Nothing has the id asked about.
    #[error("{0}")]
    NotFound(String),
    /// The node cannot record steps now (stopping, or stopped recording after a ledger
    /// failure until it is restarted).
    #[error("{0}")]
    Unavailable(String),
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
                Status::unavailable("the customs node's ledger failed; nothing was recorded")
            }
            Error::State(m) => {
                tracing::error!(error = %m, "customs node state");
                Status::internal("customs node state is inconsistent")
            }
            Error::Transport(e) => Status::internal(e.to_string()),
            Error::Topology(e) => Status::internal(e.to_string()),
            Error::Registry(e) => Status::internal(e.to_string()),
        }
    }
}
