//! Why a service refuses a request, and the one mapping of refusals and internal failures
//! to gRPC statuses.
//!
//! Every service checks a request in the same order, and nothing is written before all the
//! checks pass; the first that fails is the refusal:
//!
//! 1. envelopes, payload types and fields ([`Refusal::Invalid`], naming the field);
//! 2. every signature, against a key valid for its signer ([`Refusal::Unauthenticated`]);
//! 3. the signer's role ([`Refusal::PermissionDenied`]);
//! 4. the state: a step out of order ([`Refusal::FailedPrecondition`]), an id re-used with
//!    other content ([`Refusal::AlreadyExists`]), an id nothing has ([`Refusal::NotFound`]);
//! 5. whether the service can record now ([`Refusal::Unavailable`]: stopping, or stopped
//!    recording after a ledger failure until its ledger is reopened).
//!
//! A refusal's message goes to the client as it is. An internal failure is logged with its
//! cause and answered with a terse message ([`internal`], [`ledger_failed`]).

use std::fmt::Display;

use corridor_core::ParseError;
use corridor_core::document::ChainError;
use tonic::Status;

/// Why a request was refused, as the client is told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A field of the request or document is malformed; names the field (InvalidArgument).
    #[error("{0}")]
    Invalid(#[from] ParseError),
    /// A signature is by an unknown key, by a key not valid for its signer, or does not
    /// verify (Unauthenticated).
    #[error("{0}")]
    Unauthenticated(String),
    /// A known key acted beyond its role (PermissionDenied).
    #[error("{0}")]
    PermissionDenied(String),
    /// A step out of order (FailedPrecondition).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A conflicting re-use of an id (AlreadyExists).
    #[error("{0}")]
    AlreadyExists(String),
    /// Nothing has the id asked about (NotFound).
    #[error("{0}")]
    NotFound(String),
    /// The service cannot do it now (Unavailable).
    #[error("{0}")]
    Unavailable(String),
}

impl From<Refusal> for Status {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(p) => Status::invalid_argument(p.to_string()),
            Refusal::Unauthenticated(m) => Status::unauthenticated(m),
            Refusal::PermissionDenied(m) => Status::permission_denied(m),
            Refusal::FailedPrecondition(m) => Status::failed_precondition(m),
            Refusal::AlreadyExists(m) => Status::already_exists(m),
            Refusal::NotFound(m) => Status::not_found(m),
            Refusal::Unavailable(m) => Status::unavailable(m),
        }
    }
}

/// A bill's transfer chain refused ([`corridor_core::document::check_chain`]): a field
/// (InvalidArgument), an entry by someone who does not hold the bill (PermissionDenied, as
/// SIGNING.md section 3 has it), or a spent bill (FailedPrecondition).
impl From<ChainError> for Refusal {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Invalid(p) => Refusal::Invalid(p),
            e @ ChainError::NotHolder { .. } => Refusal::PermissionDenied(e.to_string()),
            e @ ChainError::Spent { .. } => Refusal::FailedPrecondition(e.to_string()),
        }
    }
}

/// An internal failure: logged with its cause; the client is told only `what` failed.
pub fn internal(what: &str, cause: &dyn Display) -> Status {
    tracing::error!(error = %cause, "{what}");
    Status::internal(what.to_owned())
}

/// A failed ledger write or read at `service` (e.g. "customs node"): logged with its cause;
/// nothing was recorded, and the client may try again once the service's health reports
/// SERVING (its ledger reopened).
pub fn ledger_failed(service: &str, cause: &corridor_ledger::Error) -> Status {
    tracing::error!(error = %cause, "ledger failure");
    Status::unavailable(format!(
        "the {service}'s ledger failed; nothing was recorded"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn each_refusal_has_its_code_and_keeps_its_message() {
        let cases = [
            (
                Refusal::Invalid(ParseError::new("hs_code", "not 6 to 10 digits")),
                Code::InvalidArgument,
                "hs_code: not 6 to 10 digits",
            ),
            (
                Refusal::Unauthenticated("u".into()),
                Code::Unauthenticated,
                "u",
            ),
            (
                Refusal::PermissionDenied("p".into()),
                Code::PermissionDenied,
                "p",
            ),
            (
                Refusal::FailedPrecondition("f".into()),
                Code::FailedPrecondition,
                "f",
            ),
            (Refusal::AlreadyExists("a".into()), Code::AlreadyExists, "a"),
            (Refusal::NotFound("n".into()), Code::NotFound, "n"),
            (Refusal::Unavailable("s".into()), Code::Unavailable, "s"),
        ];
        for (refusal, code, message) in cases {
            let s = Status::from(refusal);
            assert_eq!((s.code(), s.message()), (code, message));
        }
    }

    #[test]
    fn internal_failures_tell_the_client_what_failed_not_why() {
        let s = internal("server", &"tls handshake: secret detail");
        assert_eq!((s.code(), s.message()), (Code::Internal, "server"));
        let e = corridor_ledger::Error::Write("disk full at /secret/path".into());
        let s = ledger_failed("customs node", &e);
        assert_eq!(
            (s.code(), s.message()),
            (
                Code::Unavailable,
                "the customs node's ledger failed; nothing was recorded"
            )
        );
    }
}
