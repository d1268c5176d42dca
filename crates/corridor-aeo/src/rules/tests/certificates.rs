//! Certificates issued, and their status changes.

use corridor_core::payload_type as pt;
use corridor_proto::v1;
use tonic::Code;

use super::{NOW, Refused, base, case, ok, run};
use crate::rules::Op;
use crate::sign::sign;
use crate::testing::{DAY, T0, authority, certificate, status_change};
use v1::AeoTier::SecuritySafety;
use v1::CertificateAction::{Reinstate, Revoke, Suspend};

#[test]
fn certificates_are_issued_by_the_operators_authority_once() {
    let w = base();
    let issued = |aeo: &str, op: &str, from: i64, to: i64, by: &str| {
        sign(
            pt::AEO_CERTIFICATE,
            &certificate(aeo, op, SecuritySafety, from, to),
            &authority(by),
        )
    };
    let year = T0 + 365 * DAY;
    run(
        &w,
        vec![
            case(
                "valid since before it is recorded: in effect when recorded",
                Op::Issue,
                issued("AEOCN0000000009", "CN1", T0, year, "CN"),
                ok("CN1", NOW, false),
            ),
            case(
                "valid from later: in effect then",
                Op::Issue,
                issued("AEOCN0000000009", "CN1", NOW + DAY, year, "CN"),
                ok("CN1", NOW + DAY, false),
            ),
            case(
                "by another country's authority",
                Op::Issue,
                issued("AEOCN0000000009", "CN1", T0, year, "KZ"),
                Refused(
                    Code::PermissionDenied,
                    "certificate AEOCN0000000009 must be signed by the customs authority of CN",
                ),
            ),
            case(
                "an operator of another country",
                Op::Issue,
                issued("AEOCN0000000009", "KZ1", T0, year, "CN"),
                Refused(
                    Code::PermissionDenied,
                    "certifies operators registered in CN; KZ1 is registered in KZ",
                ),
            ),
            case(
                "an issuer outside the corridor",
                Op::Issue,
                issued("AEOTR0000000001", "TR1", T0, year, "CN"),
                Refused(
                    Code::InvalidArgument,
                    "aeo_id: TR is not a country of the corridor",
                ),
            ),
            case(
                "an operator not registered",
                Op::Issue,
                issued("AEOCN0000000009", "CN7", T0, year, "CN"),
                Refused(
                    Code::FailedPrecondition,
                    "register the operator before certifying it",
                ),
            ),
            case(
                "an id in use",
                Op::Issue,
                issued("AEOCN0000000001", "CN1", T0, year, "CN"),
                Refused(
                    Code::AlreadyExists,
                    "AEOCN0000000001 is already the id of another certificate",
                ),
            ),
            case(
                "a validity over when recorded",
                Op::Issue,
                issued("AEOCN0000000009", "CN1", T0, NOW, "CN"),
                Refused(Code::InvalidArgument, "valid_to_unix_micros: validity ends"),
            ),
        ],
    );
}

#[test]
fn status_changes_follow_suspend_reinstate_revoke() {
    let w = base();
    let change = |aeo: &str, action: v1::CertificateAction, at: i64, by: &str| {
        sign(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change(aeo, action, at),
            &authority(by),
        )
    };
    run(
        &w,
        vec![
            case(
                "suspending an active certificate",
                Op::Status,
                change("AEOCN0000000001", Suspend, 0, "CN"),
                ok("CN1", NOW, false),
            ),
            case(
                "a suspension stated for later",
                Op::Status,
                change("AEOCN0000000001", Suspend, NOW + DAY, "CN"),
                ok("CN1", NOW + DAY, false),
            ),
            case(
                "a suspension stated for earlier takes effect when recorded",
                Op::Status,
                change("AEOCN0000000001", Suspend, T0, "CN"),
                ok("CN1", NOW, false),
            ),
            case(
                "reinstating a suspended certificate",
                Op::Status,
                change("AEOCN0000000002", Reinstate, 0, "CN"),
                ok("CN2", NOW, false),
            ),
            case(
                "revoking a suspended certificate",
                Op::Status,
                change("AEOCN0000000002", Revoke, 0, "CN"),
                ok("CN2", NOW, false),
            ),
            case(
                "a certificate that does not exist",
                Op::Status,
                change("AEOCN0000000009", Suspend, 0, "CN"),
                Refused(Code::NotFound, "aeo_id: no certificate AEOCN0000000009"),
            ),
            case(
                "by another country's authority",
                Op::Status,
                change("AEOCN0000000001", Suspend, 0, "KZ"),
                Refused(
                    Code::PermissionDenied,
                    "a status change of certificate AEOCN0000000001 must be signed by the customs authority of CN",
                ),
            ),
            case(
                "suspending a suspended certificate",
                Op::Status,
                change("AEOCN0000000002", Suspend, 0, "CN"),
                Refused(Code::FailedPrecondition, "is already suspended (entry"),
            ),
            case(
                "reinstating an active certificate",
                Op::Status,
                change("AEOCN0000000001", Reinstate, 0, "CN"),
                Refused(Code::FailedPrecondition, "AEOCN0000000001 is not suspended"),
            ),
            case(
                "reinstating a revoked certificate",
                Op::Status,
                change("AEOCN0000000003", Reinstate, 0, "CN"),
                Refused(
                    Code::FailedPrecondition,
                    "a revoked certificate cannot be changed",
                ),
            ),
        ],
    );
}
