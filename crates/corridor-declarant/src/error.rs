//! The declarant's errors, and the one place they become gRPC statuses.

use corridor_core::ParseError;
use tonic::Status;

/// What can go wrong at the declarant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the request is malformed; names the field.
    #[error("{0}")]
    Invalid(#[from] ParseError),
    /// A signature is by an unknown key, a key not valid at the document's time, or does not
    /// verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// The declarant does not act for an operator, or an operator acted beyond its role (a
    /// transfer by someone who does not hold the bill).
    #[error("{0}")]
    PermissionDenied(String),
    /// A step out of order (a double spend, a cancellation after arrival).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Nothing has the id asked about.
    #[error("{0}")]
    NotFound(String),
    /// The declarant cannot do it now (a node unreachable, or recording stopped after a
    /// ledger failure).
    #[error("{0}")]
    Unavailable(String),
    /// A customs node refused: its status is passed on.
    #[error("customs node: {}", .0.message())]
    Refused(tonic::Status),
    /// The ledger failed: nothing was acknowledged.
    #[error(transparent)]
    Ledger(#[from] corridor_ledger::Error),
    /// The ledger holds an entry the declarant cannot apply: it refuses to start.
    #[error("declarant state: {0}")]
    State(String),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The topology lacks something the declarant needs.
    #[error(transparent)]
    Topology(#[from] corridor_topology::Error),
    /// The local copy of the AEO registry failed.
    #[error(transparent)]
    Registry(#[from] corridor_aeo::Error),
    /// A key file could not be loaded.
    #[error(transparent)]
    Key(#[from] corridor_core::Error),
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(p) => Status::invalid_argument(p.to_string()),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::FailedPrecondition(m) => Status::failed_precondition(m),
            Error::NotFound(m) => Status::not_found(m),
            Error::Unavailable(m) => Status::unavailable(m),
            Error::Refused(s) => Status::new(s.code(), format!("customs node: {}", s.message())),
            Error::Ledger(e) => {
                tracing::error!(error = %e, "ledger failure");
                Status::unavailable("the declarant's ledger failed; nothing was recorded")
            }
            Error::State(m) => {
                tracing::error!(error = %m, "declarant state");
                Status::internal("declarant state is inconsistent")
            }
            Error::Transport(e) => Status::internal(e.to_string()),
            Error::Topology(e) => Status::internal(e.to_string()),
            Error::Registry(e) => Status::internal(e.to_string()),
            Error::Key(e) => Status::internal(e.to_string()),
        }
    }
}
