//! Operator registrations and key updates.

use corridor_core::{Envelope, SigningKey, payload_type as pt};
use tonic::Code;

use super::{NOW, Refused, base, case, ok, run};
use crate::rules::Op;
use crate::sign::sign;
use crate::testing::{authority, key_update, officer, registration, reserved};

use super::registered;

#[test]
fn registrations_need_the_countrys_authority_and_keys_of_their_own() {
    let w = base();
    let cn = authority("CN");
    let fresh = SigningKey::generate();
    let mut tampered = registered("CN4", &fresh, &cn);
    tampered = Envelope::from_parts(
        tampered.payload_type().to_owned(),
        prost::Message::encode_to_vec(&registration("CN5", &[&fresh])),
        tampered.signatures().to_vec(),
    )
    .unwrap();
    run(
        &w,
        vec![
            case(
                "by the operator's authority",
                Op::Register,
                registered("CN4", &fresh, &cn),
                ok("CN4", NOW, false),
            ),
            case(
                "a key the topology reserves for this operator",
                Op::Register,
                registered("CN9", &reserved(), &cn),
                ok("CN9", NOW, false),
            ),
            case(
                "the payload type of a certificate",
                Op::Register,
                sign(pt::AEO_CERTIFICATE, &registration("CN4", &[&fresh]), &cn),
                Refused(Code::InvalidArgument, "envelope.payload_type"),
            ),
            case(
                "by another country's authority",
                Op::Register,
                registered("CN4", &fresh, &authority("KZ")),
                Refused(
                    Code::PermissionDenied,
                    "an operator registration must be signed by the customs authority of CN; signed by the customs authority of KZ",
                ),
            ),
            case(
                "by an officer",
                Op::Register,
                registered("CN4", &fresh, &officer()),
                Refused(Code::PermissionDenied, "signed by officer 1 of CN"),
            ),
            case(
                "by a key the registry does not know",
                Op::Register,
                registered("CN4", &fresh, &SigningKey::generate()),
                Refused(Code::Unauthenticated, "is not known to the registry"),
            ),
            case(
                "a signature over other bytes",
                Op::Register,
                tampered,
                Refused(Code::Unauthenticated, "does not verify"),
            ),
            case(
                "by an operator's revoked key",
                Op::Register,
                registered("CN4", &fresh, &w.cn3_revoked),
                Refused(Code::Unauthenticated, "of operator CN3 is revoked"),
            ),
            case(
                "a country outside the corridor",
                Op::Register,
                registered("TR1", &fresh, &cn),
                Refused(Code::InvalidArgument, "TR is not a country of the corridor"),
            ),
            case(
                "an operator registered already",
                Op::Register,
                registered("CN1", &fresh, &cn),
                Refused(Code::AlreadyExists, "CN1 is already registered (entry 0)"),
            ),
            case(
                "another operator's key",
                Op::Register,
                registered("CN4", &w.cn1, &cn),
                Refused(Code::AlreadyExists, "is already registered to operator CN1"),
            ),
            case(
                "an officer's key",
                Op::Register,
                registered("CN4", &officer(), &cn),
                Refused(Code::AlreadyExists, "belongs to officer 1 of CN"),
            ),
            case(
                "a key the topology reserves for another operator",
                Op::Register,
                registered("CN4", &reserved(), &cn),
                Refused(Code::AlreadyExists, "belongs to operator CN9 (topology)"),
            ),
        ],
    );
}

#[test]
fn key_updates_keep_an_active_key_and_take_no_one_elses() {
    let w = base();
    let update = |id: &str, add: &[&SigningKey], revoke: &[&SigningKey], by: &str| {
        sign(
            pt::OPERATOR_KEY_UPDATE,
            &key_update(id, add, revoke),
            &authority(by),
        )
    };
    let fresh = SigningKey::generate();
    run(
        &w,
        vec![
            case(
                "a new key",
                Op::Keys,
                update("KZ1", &[&fresh], &[], "KZ"),
                ok("KZ1", NOW, false),
            ),
            case(
                "a rotation",
                Op::Keys,
                update("KZ1", &[&fresh], &[&w.kz1], "KZ"),
                ok("KZ1", NOW, false),
            ),
            case(
                "an operator not registered",
                Op::Keys,
                update("KZ2", &[&fresh], &[], "KZ"),
                Refused(Code::NotFound, "operator_id: KZ2 is not registered"),
            ),
            case(
                "by another country's authority",
                Op::Keys,
                update("KZ1", &[&fresh], &[], "CN"),
                Refused(
                    Code::PermissionDenied,
                    "a key update must be signed by the customs authority of KZ",
                ),
            ),
            case(
                "a key of another operator",
                Op::Keys,
                update("KZ1", &[&w.cn1], &[], "KZ"),
                Refused(Code::AlreadyExists, "add_public_keys[0]: key"),
            ),
            case(
                "a key the topology reserves for another operator",
                Op::Keys,
                update("KZ1", &[&reserved()], &[], "KZ"),
                Refused(Code::AlreadyExists, "is already registered"),
            ),
            case(
                "revoking a key of another operator",
                Op::Keys,
                update("KZ1", &[], &[&w.cn1], "KZ"),
                Refused(Code::FailedPrecondition, "is not a key of operator KZ1"),
            ),
            case(
                "revoking a revoked key",
                Op::Keys,
                update("CN3", &[], &[&w.cn3_revoked], "CN"),
                Refused(Code::FailedPrecondition, "revoke_keyids[0]: key"),
            ),
            case(
                "revoking the last active key",
                Op::Keys,
                update("CN3", &[], &[&w.cn3], "CN"),
                Refused(
                    Code::FailedPrecondition,
                    "would leave operator CN3 without an active key",
                ),
            ),
        ],
    );
}
