//! Recognition as the registry answers it: own certificates, arrangements and their scope,
//! status changes in time, and operator keys.

use corridor_aeo::sign::{request, sign, submit};
use corridor_core::{Envelope, SigningKey, payload_type as pt};
use corridor_proto::v1;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn an_own_certificate_is_recognised_with_its_reason() {
    let (_dir, keys, r, mut c) = fresh().await;
    let op_key = register(&mut c, &keys, "CN91310000MA1K").await;
    let before = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert_eq!(before.reason, v1::RecognitionReason::NoCertificate as i32);
    let receipt = c
        .issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(receipt.new);
    assert_eq!(receipt.seq, 1);
    // Validity started a day ago; it counts from when it was recorded: not back-dated.
    assert!(receipt.effective_at_unix_micros >= receipt.recorded_at_unix_micros);

    let a = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert!(a.recognised, "{a:?}");
    assert_eq!(a.reason, v1::RecognitionReason::OwnCertificate as i32);
    assert_eq!(a.aeo_id, "AEOCN0123456789");
    assert_eq!(a.tier, v1::AeoTier::Full as i32);
    assert_eq!(a.ledger_size, 2);
    // Before it was recorded it did not count.
    let early = check(&mut c, "CN91310000MA1K", "CN", now() - DAY / 2).await;
    assert_eq!(early.reason, v1::RecognitionReason::OutsideValidity as i32);
    // Not recognised in KZ: no arrangement.
    let kz = check(&mut c, "CN91310000MA1K", "KZ", 0).await;
    assert!(!kz.recognised);
    assert_eq!(kz.reason, v1::RecognitionReason::NoArrangement as i32);
    let unknown = check(&mut c, "KZ999", "KZ", 0).await;
    assert_eq!(
        unknown.reason,
        v1::RecognitionReason::UnknownOperator as i32
    );

    let o = c
        .get_operator(v1::GetOperatorRequest {
            operator_id: "CN91310000MA1K".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o.keys[0].keyid, op_key.id().to_string());
    let list = c
        .list_certificates(v1::ListCertificatesRequest {
            operator_id: String::new(),
            country: "CN".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.certificates.len(), 1);
    assert_eq!(
        list.certificates[0].status,
        v1::CertificateStatus::Active as i32
    );
    r.stop().await;
}

#[tokio::test]
async fn arrangements_need_both_signatures_and_their_scope_decides() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ180540012345").await;
    register(&mut c, &keys, "AZ1700112233").await;
    for (aeo, op, tier) in [
        ("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
        (
            "AEOAZ0000000001",
            "AZ1700112233",
            v1::AeoTier::SecuritySafety,
        ),
    ] {
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate(aeo, op, tier),
            keys.of(&country_of(op)),
        ))
        .await
        .unwrap();
    }
    let mra = arrangement("MRA-KZ-AZ-2026", "KZ", "AZ", &[v1::AeoTier::Full]);
    // Neither party: refused.
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("CN")))
            .await,
        Code::PermissionDenied,
        "customs authority of CN",
    );
    // Countersigning before a proposal.
    let mut both = sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("KZ"));
    both.add_signature(keys.of("AZ"));
    refused(
        c.countersign_arrangement(submit(&both)).await,
        Code::NotFound,
        "has not been proposed",
    );
    let proposed = sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("KZ"));
    let p = c
        .propose_arrangement(submit(&proposed))
        .await
        .unwrap()
        .into_inner();
    assert!(!p.in_force);
    let pending = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert_eq!(pending.reason, v1::RecognitionReason::NoArrangement as i32);
    // The proposal again is the same entry; the other side's signature alone does not bring
    // it into force.
    let same = c
        .countersign_arrangement(submit(&proposed))
        .await
        .unwrap()
        .into_inner();
    assert!(!same.new && !same.in_force && same.seq == p.seq);
    refused(
        c.countersign_arrangement(submit(&sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("AZ"))))
            .await,
        Code::FailedPrecondition,
        "signatures of both",
    );
    // Different terms under the same id.
    let mut other = mra.clone();
    other.tiers.push(v1::AeoTier::SecuritySafety as i32);
    let mut other_env = sign(pt::MUTUAL_RECOGNITION, &other, keys.of("KZ"));
    other_env.add_signature(keys.of("AZ"));
    refused(
        c.countersign_arrangement(submit(&other_env)).await,
        Code::AlreadyExists,
        "different terms",
    );
    // The other side countersigns the record it reads from the registry.
    let listed = c
        .list_arrangements(v1::ListArrangementsRequest {
            country: "AZ".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.arrangements[0].state,
        v1::ArrangementState::Pending as i32
    );
    let mut countersigned: Envelope = listed.arrangements[0]
        .envelope
        .clone()
        .unwrap()
        .try_into()
        .unwrap();
    countersigned.add_signature(keys.of("AZ"));
    let cs = c
        .countersign_arrangement(submit(&countersigned))
        .await
        .unwrap()
        .into_inner();
    assert!(cs.in_force && cs.new && cs.seq == p.seq + 1);

    let a = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert!(a.recognised, "{a:?}");
    assert_eq!(a.reason, v1::RecognitionReason::MutualRecognition as i32);
    assert_eq!(a.arrangement_id, "MRA-KZ-AZ-2026");
    assert_eq!(a.benefits.unwrap().inspection_rate_percent, 25);
    // The AZ certificate is security-and-safety only: out of the arrangement's scope.
    let b = check(&mut c, "AZ1700112233", "KZ", 0).await;
    assert_eq!(b.reason, v1::RecognitionReason::TierOutOfScope as i32);
    // Before the countersignature was recorded it was not in force.
    let before = check(&mut c, "KZ180540012345", "AZ", p.recorded_at_unix_micros).await;
    assert!(!before.recognised);

    // Only a party terminates, signed by its own authority.
    let term = v1::ArrangementTermination {
        arrangement_id: "MRA-KZ-AZ-2026".into(),
        country: "AZ".into(),
        reason: "renegotiation".into(),
        effective_at_unix_micros: 0,
        issued_at_unix_micros: now(),
    };
    refused(
        c.terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &term, keys.of("KZ")))
            .await,
        Code::PermissionDenied,
        "customs authority of AZ",
    );
    let t = c
        .terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &term, keys.of("AZ")))
        .await
        .unwrap()
        .into_inner();
    let after = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert_eq!(after.reason, v1::RecognitionReason::NoArrangement as i32);
    let during = check(
        &mut c,
        "KZ180540012345",
        "AZ",
        t.effective_at_unix_micros - 1,
    )
    .await;
    assert!(during.recognised);
    let mut again = term.clone();
    again.issued_at_unix_micros += 1;
    refused(
        c.terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &again, keys.of("AZ")))
            .await,
        Code::FailedPrecondition,
        "already terminated",
    );
    r.stop().await;
}

#[tokio::test]
async fn suspension_and_reinstatement_take_effect_when_stated_never_earlier() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN91310000MA1K").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
        keys.of("CN"),
    ))
    .await
    .unwrap();
    // A back-dated suspension takes effect when recorded.
    let s = c
        .change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change(
                "AEOCN0123456789",
                v1::CertificateAction::Suspend,
                now() - DAY,
            ),
            keys.of("CN"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(s.effective_at_unix_micros >= s.recorded_at_unix_micros);
    let a = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert_eq!(a.reason, v1::RecognitionReason::Suspended as i32);
    assert_eq!(a.since_unix_micros, s.effective_at_unix_micros);
    assert!(a.detail.contains("audit finding"));
    let earlier = check(
        &mut c,
        "CN91310000MA1K",
        "CN",
        s.effective_at_unix_micros - 1,
    )
    .await;
    assert!(earlier.recognised);
    // Reinstated a day from now: suspended until then, recognised after.
    let later = now() + DAY;
    c.change_certificate_status(request(
        pt::CERTIFICATE_STATUS_CHANGE,
        &status_change("AEOCN0123456789", v1::CertificateAction::Reinstate, later),
        keys.of("CN"),
    ))
    .await
    .unwrap();
    assert!(!check(&mut c, "CN91310000MA1K", "CN", 0).await.recognised);
    assert!(
        check(&mut c, "CN91310000MA1K", "CN", later)
            .await
            .recognised
    );
    let list = c
        .list_certificates(v1::ListCertificatesRequest {
            operator_id: "CN91310000MA1K".into(),
            country: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.certificates[0].history.len(), 3);
    r.stop().await;
}

#[tokio::test]
async fn key_rotation_and_revocation_by_the_operators_authority() {
    let (_dir, keys, r, mut c) = fresh().await;
    let old = register(&mut c, &keys, "TR3456789012").await;
    let new = SigningKey::generate();
    let update = v1::OperatorKeyUpdate {
        operator_id: "TR3456789012".into(),
        add_public_keys: vec![new.public().as_bytes().to_vec()],
        revoke_keyids: vec![old.id().to_string()],
        reason: "annual rotation".into(),
        issued_at_unix_micros: now(),
    };
    refused(
        c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &update, keys.of("AZ")))
            .await,
        Code::PermissionDenied,
        "customs authority of TR",
    );
    c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &update, keys.of("TR")))
        .await
        .unwrap();
    let o = c
        .get_operator(v1::GetOperatorRequest {
            operator_id: "TR3456789012".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(o.keys[0].revoked_at_unix_micros > 0);
    assert_eq!(o.keys[1].keyid, new.id().to_string());
    assert_eq!(o.keys[1].revoked_at_unix_micros, 0);
    // Revoking the last active key is refused; a revoked key signs nothing.
    let last = v1::OperatorKeyUpdate {
        add_public_keys: vec![],
        revoke_keyids: vec![new.id().to_string()],
        issued_at_unix_micros: now() + 1,
        ..update.clone()
    };
    refused(
        c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &last, keys.of("TR")))
            .await,
        Code::FailedPrecondition,
        "without an active key",
    );
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full),
            &old,
        ))
        .await,
        Code::Unauthenticated,
        "revoked",
    );
    r.stop().await;
}
