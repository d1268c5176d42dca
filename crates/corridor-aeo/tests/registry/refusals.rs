//! Refused requests: each kind of refusal has its gRPC code and names what is wrong, and
//! writes nothing.

use corridor_aeo::sign::{request, sign, submit};
use corridor_core::{Envelope, SigningKey, payload_type as pt};
use corridor_proto::v1;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn unknown_or_bad_signatures_are_unauthenticated_and_write_nothing() {
    let (_dir, keys, r, mut c) = fresh().await;
    let stranger = SigningKey::generate();
    let reg = registration("KZ180540012345", &SigningKey::generate());
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, &stranger))
            .await,
        Code::Unauthenticated,
        "is not known to the registry",
    );
    // A known key, a signature that does not verify (payload changed after signing).
    let env = sign(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ"));
    let (t, mut payload, sigs) = env.into_parts();
    payload.push(0);
    let forged = Envelope::from_parts(t, payload, sigs).unwrap();
    refused(
        c.register_operator(submit(&forged)).await,
        Code::Unauthenticated,
        "does not verify",
    );
    // No signature at all: malformed.
    let mut m = v1::Envelope::from(&sign(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ")));
    m.signatures.clear();
    refused(
        c.register_operator(v1::SubmitRequest { envelope: Some(m) })
            .await,
        Code::InvalidArgument,
        "envelope.signatures",
    );
    assert_eq!(ledger_size(&r).await, 0);
    r.stop().await;
}

#[tokio::test]
async fn keys_acting_beyond_their_role_are_permission_denied() {
    let (_dir, keys, r, mut c) = fresh().await;
    let op_key = register(&mut c, &keys, "KZ180540012345").await;
    // CN's authority certifying a KZ operator under a CN id.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOCN0000000001", "KZ180540012345", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await,
        Code::PermissionDenied,
        "registered in KZ",
    );
    // CN's authority signing a KZ certificate.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await,
        Code::PermissionDenied,
        "customs authority of KZ",
    );
    // The operator's own key signing its certificate.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
            &op_key,
        ))
        .await,
        Code::PermissionDenied,
        "operator KZ180540012345",
    );
    // An officer registering an operator.
    refused(
        c.register_operator(request(
            pt::OPERATOR_REGISTRATION,
            &registration("CN777", &SigningKey::generate()),
            &keys.officer,
        ))
        .await,
        Code::PermissionDenied,
        "officer 1 of CN",
    );
    assert_eq!(ledger_size(&r).await, 1);
    r.stop().await;
}

#[tokio::test]
async fn steps_out_of_order_are_failed_preconditions() {
    let (_dir, keys, r, mut c) = fresh().await;
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOAZ0000000001", "AZ1700112233", v1::AeoTier::Full),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "AZ1700112233 is not registered",
    );
    register(&mut c, &keys, "AZ1700112233").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOAZ0000000001", "AZ1700112233", v1::AeoTier::Full),
        keys.of("AZ"),
    ))
    .await
    .unwrap();
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Reinstate, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "not suspended",
    );
    let revoked = c
        .change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Revoke, 0),
            keys.of("AZ"),
        ))
        .await
        .unwrap()
        .into_inner();
    let size = ledger_size(&r).await;
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Suspend, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "revoked",
    );
    assert_eq!(ledger_size(&r).await, size);
    let a = check(&mut c, "AZ1700112233", "AZ", 0).await;
    assert_eq!(a.reason, v1::RecognitionReason::Revoked as i32);
    assert_eq!(a.since_unix_micros, revoked.effective_at_unix_micros);
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000009", v1::CertificateAction::Suspend, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::NotFound,
        "AEOAZ0000000009",
    );
    r.stop().await;
}

#[tokio::test]
async fn malformed_fields_are_invalid_arguments_naming_the_field() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "TR3456789012").await;
    let mut cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full);
    cert.valid_to_unix_micros = cert.valid_from_unix_micros - 1;
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "valid_to_unix_micros",
    );
    // Validity that ended before the certificate could be recorded: it would never count.
    let mut cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full);
    cert.valid_from_unix_micros = now() - 2 * DAY;
    cert.valid_to_unix_micros = now() - DAY;
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "valid_to_unix_micros",
    );
    let cert = certificate("AEOTR00000001", "TR3456789012", v1::AeoTier::Full);
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "aeo_id",
    );
    let cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Unspecified);
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "tier",
    );
    let mut reg = registration("TR1111", &SigningKey::generate());
    reg.country = "XX".into();
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "country",
    );
    let mut reg = registration("TR1111", &SigningKey::generate());
    reg.public_keys[0].truncate(31);
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "public_keys[0]",
    );
    // A document of the wrong kind for the RPC.
    refused(
        c.issue_certificate(request(
            pt::OPERATOR_REGISTRATION,
            &registration("TR2222", &SigningKey::generate()),
            keys.of("TR"),
        ))
        .await,
        Code::InvalidArgument,
        "envelope.payload_type",
    );
    let mut ended = arrangement("MRA-TR-AZ-OLD", "TR", "AZ", &[v1::AeoTier::Full]);
    ended.effective_from_unix_micros = now() - 3 * DAY;
    ended.effective_to_unix_micros = now() - 2 * DAY;
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &ended, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "effective_to_unix_micros",
    );
    let mut mra = arrangement("MRA-TR-TR", "TR", "TR", &[v1::AeoTier::Full]);
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "countries[1]",
    );
    mra.countries[1] = "AZ".into();
    mra.arrangement_id = "mra tr az".into();
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "arrangement_id",
    );
    refused(
        c.check_recognition(v1::CheckRecognitionRequest {
            operator_id: "TR3456789012".into(),
            country: "tr".into(),
            at_unix_micros: 0,
        })
        .await,
        Code::InvalidArgument,
        "country",
    );
    refused(
        c.check_recognition(v1::CheckRecognitionRequest {
            operator_id: "T".into(),
            country: "TR".into(),
            at_unix_micros: 0,
        })
        .await,
        Code::InvalidArgument,
        "operator_id",
    );
    assert_eq!(ledger_size(&r).await, 1);
    r.stop().await;
}

#[tokio::test]
async fn the_same_envelope_twice_is_one_entry_and_a_conflicting_id_already_exists() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN91310000MA1K").await;
    let req = request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
        keys.of("CN"),
    );
    let first = c.issue_certificate(req.clone()).await.unwrap().into_inner();
    let again = c.issue_certificate(req).await.unwrap().into_inner();
    assert!(first.new && !again.new);
    assert_eq!(
        (first.seq, &first.entry_hash, first.effective_at_unix_micros),
        (again.seq, &again.entry_hash, again.effective_at_unix_micros)
    );
    assert_eq!(ledger_size(&r).await, 2);
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate(
                "AEOCN0123456789",
                "CN91310000MA1K",
                v1::AeoTier::SecuritySafety,
            ),
            keys.of("CN"),
        ))
        .await,
        Code::AlreadyExists,
        "AEOCN0123456789",
    );
    let mut reg = registration("CN91310000MA1K", &SigningKey::generate());
    reg.legal_name = "Someone Else".into();
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("CN")))
            .await,
        Code::AlreadyExists,
        "already registered",
    );
    assert_eq!(ledger_size(&r).await, 2);
    r.stop().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_by_the_configured_limit() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let r = Running::start(dir.path(), &keys, 16 * 1024).await;
    let mut c = r.client().await;
    let mut reg = registration("KZ180540012345", &SigningKey::generate());
    reg.address = "x".repeat(20 * 1024);
    let s = c
        .register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ")))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
    assert!(s.message().contains("16384"), "{s:?}");
    assert_eq!(ledger_size(&r).await, 0);
    r.stop().await;
}
