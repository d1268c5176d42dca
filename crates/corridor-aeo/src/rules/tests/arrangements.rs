//! Mutual recognition arrangements proposed, countersigned and terminated.

use corridor_core::{SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_service::Refusal;
use tonic::Code;

use super::{NOW, Refused, base, case, ok, run};
use crate::error::Error;
use crate::rules::Op;
use crate::sign::sign;
use crate::testing::{DAY, Fixture, T0, arrangement, authority, signed, termination};
use v1::AeoTier::{Full, SecuritySafety};

#[test]
fn arrangements_are_proposed_countersigned_and_terminated_by_their_parties() {
    let w = base();
    let (cn, kz, az) = (authority("CN"), authority("KZ"), authority("AZ"));
    let mra = |doc: &v1::MutualRecognitionArrangement, by: &[&SigningKey]| {
        signed(pt::MUTUAL_RECOGNITION, doc, by)
    };
    let new = arrangement("MRA-CN-KZ-2", "CN", "KZ", &[Full], 0);
    let mut other_terms = w.pending.clone();
    other_terms.tiers.push(SecuritySafety as i32);
    let ended = arrangement("MRA-CN-KZ-2", "CN", "KZ", &[Full], NOW);
    let outside = arrangement("MRA-CN-TR", "CN", "TR", &[Full], 0);
    let end = |id: &str, country: &str, by: &SigningKey| {
        sign(
            pt::ARRANGEMENT_TERMINATION,
            &termination(id, country, 0),
            by,
        )
    };
    run(
        &w,
        vec![
            case(
                "proposed by both parties: in force when recorded",
                Op::Propose,
                mra(&new, &[&cn, &kz]),
                ok("MRA-CN-KZ-2", NOW, true),
            ),
            case(
                "proposed by one party: pending",
                Op::Propose,
                mra(&new, &[&kz]),
                ok("MRA-CN-KZ-2", NOW, false),
            ),
            case(
                "proposed with a signer who is not a party",
                Op::Propose,
                mra(&new, &[&cn, &az]),
                Refused(
                    Code::PermissionDenied,
                    "is signed by their customs authorities only; signed by the customs authority of AZ",
                ),
            ),
            case(
                "proposed by an operator",
                Op::Propose,
                mra(&new, &[&w.cn1]),
                Refused(Code::PermissionDenied, "signed by operator CN1"),
            ),
            case(
                "proposed with an id in use",
                Op::Propose,
                mra(
                    &arrangement("MRA-CN-KZ", "CN", "KZ", &[SecuritySafety], 0),
                    &[&cn],
                ),
                Refused(Code::AlreadyExists, "MRA-CN-KZ was proposed already"),
            ),
            case(
                "proposed to end before it could come into force",
                Op::Propose,
                mra(&ended, &[&cn]),
                Refused(Code::InvalidArgument, "effective_to_unix_micros"),
            ),
            case(
                "proposed with a country outside the corridor",
                Op::Propose,
                mra(&outside, &[&cn]),
                Refused(
                    Code::InvalidArgument,
                    "countries[1]: TR is not a country of the corridor",
                ),
            ),
            case(
                "countersigned: in force when recorded",
                Op::Countersign,
                mra(&w.pending, &[&cn, &az]),
                ok("MRA-CN-AZ", NOW, true),
            ),
            case(
                "countersigned without being proposed",
                Op::Countersign,
                mra(&new, &[&cn, &kz]),
                Refused(Code::NotFound, "has not been proposed"),
            ),
            case(
                "countersigned with other terms",
                Op::Countersign,
                mra(&other_terms, &[&cn, &az]),
                Refused(Code::AlreadyExists, "was proposed with different terms"),
            ),
            case(
                "countersigned with one signature",
                Op::Countersign,
                mra(&w.pending, &[&az]),
                Refused(
                    Code::FailedPrecondition,
                    "comes into force with the signatures of both CN and AZ; this envelope has AZ",
                ),
            ),
            case(
                "countersigned when in force",
                Op::Countersign,
                mra(
                    &arrangement("MRA-CN-KZ", "CN", "KZ", &[Full], 0),
                    &[&cn, &kz],
                ),
                Refused(Code::FailedPrecondition, "is in force already, not pending"),
            ),
            case(
                "terminated by a party",
                Op::Terminate,
                end("MRA-CN-KZ", "KZ", &kz),
                ok("MRA-CN-KZ", NOW, false),
            ),
            case(
                "terminated when it does not exist",
                Op::Terminate,
                end("MRA-CN-TR", "CN", &cn),
                Refused(Code::NotFound, "arrangement_id: no arrangement MRA-CN-TR"),
            ),
            case(
                "terminated in the name of a country not a party",
                Op::Terminate,
                end("MRA-CN-KZ", "AZ", &az),
                Refused(
                    Code::PermissionDenied,
                    "country: AZ is not a party to arrangement MRA-CN-KZ",
                ),
            ),
            case(
                "terminated in a party's name by the other",
                Op::Terminate,
                end("MRA-CN-KZ", "KZ", &cn),
                Refused(
                    Code::PermissionDenied,
                    "termination of MRA-CN-KZ must be signed by the customs authority of KZ",
                ),
            ),
            case(
                "terminated while pending",
                Op::Terminate,
                end("MRA-CN-AZ", "CN", &cn),
                Refused(Code::FailedPrecondition, "is pending, not in force"),
            ),
            case(
                "terminated twice",
                Op::Terminate,
                end("MRA-KZ-AZ", "AZ", &az),
                Refused(Code::FailedPrecondition, "is already terminated"),
            ),
        ],
    );
}

#[test]
fn an_arrangement_that_ended_while_pending_cannot_come_into_force() {
    let mut f = Fixture::new();
    let doc = arrangement("MRA-CN-KZ", "CN", "KZ", &[Full], T0 + DAY);
    let proposal = sign(pt::MUTUAL_RECOGNITION, &doc, &authority("CN"));
    f.apply(Op::Propose, proposal.clone(), T0);
    let mut both = proposal;
    both.add_signature(&authority("KZ"));
    assert!(
        f.state
            .prepare(Op::Countersign, &both, T0 + DAY / 2, 1)
            .is_ok()
    );
    let late = f.state.prepare(Op::Countersign, &both, T0 + 2 * DAY, 1);
    assert!(
        matches!(late, Err(Error::Refusal(Refusal::FailedPrecondition(ref m))) if m.contains("ended")),
        "{:?}",
        late.err()
    );
}
