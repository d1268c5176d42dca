#![allow(clippy::unwrap_used)]
//! Clearance flows through the customs nodes of a whole corridor run in-process (see
//! `corridor_tests::sandbox`).

use corridor_core::document::examples::SHIPPER_ID;
use corridor_core::{CountryCode, Envelope, SigningKey};
use corridor_customs::risk::{AeoStatus, assess};
use corridor_proto::v1::{self, ConsignmentState as S, Lane};
use corridor_tests::sandbox::{ARRANGEMENT_BENEFITS, Consignment, Sandbox, now};

/// Whether consignment `c` draws green at every country after the first, for a holder
/// recognised there under an arrangement of [`Sandbox::arrange`]: the draw is deterministic,
/// so those lanes are known before the consignment is declared.
fn green_after_the_first(sb: &Sandbox, c: &Consignment) -> bool {
    let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
    let declaration = corridor_proto::decode_declaration(env.payload()).unwrap();
    let aeo = AeoStatus {
        recognised: true,
        basis: String::new(),
        benefits: Some(ARRANGEMENT_BENEFITS.try_into().unwrap()),
    };
    c.route[1..].iter().all(|code| {
        let country = CountryCode::parse("country", code).unwrap();
        let profile = &sb.topology.country(&country).unwrap().1.risk;
        assess(profile, &country, &declaration, &aeo).lane == corridor_core::document::Lane::Green
    })
}

/// Clears a consignment released green everywhere: arrival and exit at each country, each
/// next node waited for through the previous one's handover.
async fn clear_green(sb: &Sandbox, c: &Consignment) {
    let last = c.route.len() - 1;
    for (i, code) in c.route.iter().enumerate() {
        let r = sb.arrive(code, &c.id, c.seals.clone()).await.unwrap();
        assert_eq!(r.lane(), Lane::Green, "at {code}");
        if i == last {
            assert_eq!(r.state(), S::Completed, "at {code}");
        } else {
            assert_eq!(r.state(), S::Released, "at {code}");
            sb.exit(code, &c.id).await.unwrap();
            sb.wait_for(code, &c.id, S::HandedOver).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recognised_aeo_clears_green_through_every_country() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.certify("AEOCN0000000001", SHIPPER_ID).await;
    for c in ["KZ", "AZ", "TR"] {
        sb.arrange(&format!("MRA-CN-{c}"), "CN", c).await;
    }
    sb.sync().await;
    // The default profile gives recognised AEOs a few controls: take consignments until one
    // is green everywhere (the draw is deterministic per consignment: CN answers its lane,
    // the others' are predicted).
    let mut cleared = None;
    for n in 0..40 {
        let c = sb.consignment(n, |_| {});
        let r = sb
            .node("CN")
            .await
            .submit_declaration(c.request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.consignment_id, c.id.to_hex());
        assert_eq!(r.state(), S::AwaitingArrival);
        let v = sb.view("CN", &c.id).await;
        assert!(v.aeo_recognised, "{:?}", v.aeo_basis);
        assert!(v.aeo_basis.contains("AEOCN0000000001"), "{}", v.aeo_basis);
        if r.lane() == Lane::Green && green_after_the_first(&sb, &c) {
            cleared = Some(c);
            break;
        }
    }
    let c = cleared.expect("a green consignment among 40");
    clear_green(&sb, &c).await;
    let v = sb.view("TR", &c.id).await;
    assert_eq!(v.state(), S::Completed);
    assert!(v.guarantee_discharged);
    assert_eq!(v.clearances.len(), 4, "{:?}", v.clearances);
    for code in ["KZ", "AZ", "TR"] {
        let v = sb.view(code, &c.id).await;
        assert!(v.aeo_recognised, "{code}: {}", v.aeo_basis);
        assert!(v.aeo_basis.contains("MRA-CN-"), "{code}: {}", v.aeo_basis);
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_train_of_border_events_is_one_call_each_event_answered_in_order() {
    use corridor_core::{Digest, payload_type as pt};
    use corridor_proto::v1::{self, BorderEventKind, step_outcome::Outcome};
    use corridor_tests::sandbox::{border_event, signed};

    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let cs: Vec<Consignment> = (0..3).map(|n| sb.consignment(n, |_| {})).collect();
    for c in &cs {
        sb.node("CN")
            .await
            .submit_declaration(c.request.clone())
            .await
            .unwrap();
    }
    let officer = sb.officer("CN");
    let arrival = |id: &Digest, seals: Vec<v1::SealCheck>, key| {
        signed(
            pt::BORDER_EVENT,
            &border_event("CN", id, BorderEventKind::Arrival, "CNXIY", seals),
            key,
        )
    };
    let mut requests: Vec<v1::SignedRequest> = cs
        .iter()
        .map(|c| arrival(&c.id, c.seals.clone(), &officer))
        .collect();
    // A consignment CN does not know, and an arrival signed by another country's officer.
    requests.insert(1, arrival(&Digest::of(b"unknown"), Vec::new(), &officer));
    requests.push(arrival(&cs[0].id, cs[0].seals.clone(), &sb.officer("KZ")));
    let batch = |requests: Vec<v1::SignedRequest>| v1::SignedRequests { requests };

    let mut node = sb.node("CN").await;
    let out = node
        .record_border_events(batch(requests.clone()))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(out.len(), 5);
    let receipt = |i: usize| match out[i].outcome.clone() {
        Some(Outcome::Receipt(r)) => r,
        other => panic!("event {i}: {other:?}"),
    };
    for (i, c) in [(0, &cs[0]), (2, &cs[1]), (3, &cs[2])] {
        let r = receipt(i);
        assert_eq!(r.consignment_id, c.id.to_hex(), "event {i}");
        assert!(r.new, "event {i}");
        assert_ne!(r.state(), S::AwaitingArrival, "event {i}");
        assert_eq!(sb.view("CN", &c.id).await.state, r.state, "event {i}");
    }
    // Each refusal is what the single-event call answers for the same request.
    for i in [1, 4] {
        let Some(Outcome::Refusal(f)) = out[i].outcome.clone() else {
            panic!("event {i}: {:?}", out[i]);
        };
        let single = node
            .record_border_event(requests[i].clone())
            .await
            .unwrap_err();
        assert_eq!(f.code, single.code() as i32, "event {i}");
        assert_eq!(f.message, single.message(), "event {i}");
        assert!(!f.message.is_empty());
    }
    assert!(
        matches!(&out[1].outcome, Some(Outcome::Refusal(f)) if f.code == tonic::Code::NotFound as i32),
        "{:?}",
        out[1]
    );

    // The same train again: every event is the step already recorded, nothing new.
    let again = node
        .record_border_events(batch(requests.clone()))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    for i in [0, 2, 3] {
        let Some(Outcome::Receipt(r)) = again[i].outcome.clone() else {
            panic!("event {i} again: {:?}", again[i]);
        };
        assert!(!r.new, "event {i} again");
        assert_eq!(
            (r.seq, &r.entry_hash),
            (receipt(i).seq, &receipt(i).entry_hash)
        );
    }

    // An empty train is answered with nothing; one past the limit is refused whole.
    let empty = node.record_border_events(batch(Vec::new())).await.unwrap();
    assert!(empty.into_inner().outcomes.is_empty());
    let status = v1::NodeStatusRequest {
        min_registry_entries: 0,
    };
    let size = node
        .get_node_status(status)
        .await
        .unwrap()
        .into_inner()
        .ledger_size;
    let too_many = vec![requests[0].clone(); corridor_customs::MAX_BATCH + 1];
    let e = node
        .record_border_events(batch(too_many))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().starts_with("requests: at most 1024"),
        "{}",
        e.message()
    );
    let after = node.get_node_status(status).await.unwrap().into_inner();
    assert_eq!(
        after.ledger_size, size,
        "nothing of a refused batch is written"
    );

    // Advance records in a batch are refused as the single call refuses them: here a border
    // event, and an advance record KZ never sent (CN is the first country).
    let kz = v1::AdvanceRecord {
        consignment_id: cs[0].id.as_bytes().to_vec(),
        from_country: "KZ".into(),
        to_country: "CN".into(),
        ..Default::default()
    };
    let records = vec![
        requests[0].clone(),
        signed(pt::ADVANCE_RECORD, &kz, &sb.node_key("KZ")),
    ];
    let out = node
        .deliver_advance_records(batch(records.clone()))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(out.len(), 2);
    for (i, o) in out.into_iter().enumerate() {
        let Some(v1::deliver_outcome::Outcome::Refusal(f)) = o.outcome else {
            panic!("record {i}: {o:?}");
        };
        let single = node
            .deliver_advance_record(records[i].clone())
            .await
            .unwrap_err();
        assert_eq!(
            (f.code, f.message.as_str()),
            (single.code() as i32, single.message())
        );
    }
    let after = node.get_node_status(status).await.unwrap().into_inner();
    assert_eq!(after.ledger_size, size);
    sb.stop().await;
}

/// A follow stream whose client goes away ends at once, not at its consignment's next event:
/// the node's status counts the streams open, and falls back to none when two hundred
/// clients leave a consignment that does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_end_as_soon_as_their_clients_leave() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.node("CN")
        .await
        .submit_declaration(c.request.clone())
        .await
        .unwrap();
    let client = sb.node("CN").await;
    let mut streams = Vec::new();
    for _ in 0..200 {
        let mut s = client
            .clone()
            .watch_consignment(corridor_proto::v1::WatchConsignmentRequest {
                consignment_id: c.id.to_hex(),
                from_sequence: 0,
                follow: true,
            })
            .await
            .unwrap()
            .into_inner();
        // The recorded events come first; then the stream waits for the next.
        s.message().await.unwrap().unwrap();
        streams.push(s);
    }
    assert_eq!(sb.node_status("CN").await.follow_streams, 200);
    drop(streams);
    // Each server task notices its client's departure on its own; wait for the last.
    let left = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let open = sb.node_status("CN").await.follow_streams;
            if open == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        left.is_ok(),
        "{} streams still open",
        sb.node_status("CN").await.follow_streams
    );
    sb.stop().await;
}

/// The forwarder's key update signed by KZ's authority: `add` a key, or revoke one by id.
async fn forwarder_keys(sb: &Sandbox, add: Option<&SigningKey>, revoke: Option<&SigningKey>) {
    use corridor_core::document::examples::FORWARDER_ID;
    use prost::Message;
    let doc = v1::OperatorKeyUpdate {
        operator_id: FORWARDER_ID.into(),
        add_public_keys: add
            .map(|k| k.public().as_bytes().to_vec())
            .into_iter()
            .collect(),
        revoke_keyids: revoke
            .map(|k| k.public().id().to_string())
            .into_iter()
            .collect(),
        reason: "rotation".into(),
        issued_at_unix_micros: now(),
    };
    let env = Envelope::sign(
        corridor_core::payload_type::OPERATOR_KEY_UPDATE,
        doc.encode_to_vec(),
        &sb.authority("KZ"),
    );
    sb.registry()
        .await
        .update_operator_keys(v1::SubmitRequest {
            envelope: Some(v1::Envelope::from(&env)),
        })
        .await
        .unwrap();
    sb.sync().await;
}

/// Consignment `c`'s request with its declaration signed by `declarant` (and the shipper,
/// its holder).
fn signed_by(
    sb: &Sandbox,
    c: &Consignment,
    declarant: &SigningKey,
) -> v1::SubmitDeclarationRequest {
    let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
    let mut resigned = Envelope::sign(
        corridor_core::payload_type::DECLARATION,
        env.payload().to_vec(),
        declarant,
    );
    resigned.add_signature(&sb.operators[SHIPPER_ID]);
    v1::SubmitDeclarationRequest {
        declaration: Some(v1::Envelope::from(&resigned)),
        ..c.request.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_introduces_nothing_new_and_what_it_signed_before_stands() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    let second = SigningKey::generate();
    forwarder_keys(&sb, Some(&second), None).await;

    // Declared with the forwarder's second key while it is valid.
    let declared = sb.consignment(1, |_| {});
    let request = signed_by(&sb, &declared, &second);
    let first = sb
        .node("CN")
        .await
        .submit_declaration(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(first.new);
    // Signed while the key is valid, sent after it is revoked.
    let signed_before = signed_by(&sb, &sb.consignment(2, |_| {}), &second);
    forwarder_keys(&sb, None, Some(&second)).await;
    let size = sb.ledger_size("CN").await;

    let refused = sb
        .node("CN")
        .await
        .submit_declaration(signed_before)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    assert!(
        refused.message().contains("at receipt (")
            && refused.message().contains("is revoked since"),
        "{}",
        refused.message()
    );
    // The declaration recorded before the revocation, sent again, is answered as recorded.
    let again = sb
        .node("CN")
        .await
        .submit_declaration(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!again.new);
    assert_eq!((again.seq, again.entry_hash), (first.seq, first.entry_hash));
    assert_eq!(
        sb.ledger_size("CN").await,
        size,
        "nothing recorded for either"
    );
    // And it clears on, its key checked at its own time by the next nodes.
    sb.arrive("CN", &declared.id, declared.seals.clone())
        .await
        .unwrap();
    sb.stop().await;
}
