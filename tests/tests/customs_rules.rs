#![allow(clippy::unwrap_used)]
//! The clearance rules of the customs nodes, through a whole corridor run in-process (see
//! `corridor_tests::sandbox`): officers' decisions, AEO recognition, HS and seal rules,
//! border posts, refusals that write nothing, handovers across restarts, a fifth country, and the hash
//! links between the ledgers.

use corridor_audit::{Corpus, Source};
use corridor_core::document::examples::{CARRIER_ID, FORWARDER_ID, SHIPPER_ID};
use corridor_core::document::{DeclarationRole, DeclaredItem, RouteStep, RouteStepParts, Text};
use corridor_core::payload_type as pt;
use corridor_core::{CountryCode, Digest, Envelope, HsCode, OperatorId, SigningKey, UnLocode};
use corridor_customs::risk::{AeoStatus, assess};
use corridor_ledger::entry::Entry;
use corridor_proto::v1::{self, ConsignmentState as S, Lane, Outcome};
use corridor_tests::sandbox::{Consignment, Sandbox, border_event, deploy_dir, now, signed};
use prost::Message;
use tonic::Code;

/// The shipper's AEO certificate, issued by CN.
const AEO: &str = "AEOCN0000000001";

/// Country `code`.
fn cc(code: &str) -> CountryCode {
    CountryCode::parse("country", code).unwrap()
}

/// `c`'s submission with another declaration envelope.
fn with_declaration(c: &Consignment, env: v1::Envelope) -> Consignment {
    let mut request = c.request.clone();
    request.declaration = Some(env);
    Consignment {
        id: c.id,
        request,
        route: c.route.clone(),
        seals: c.seals.clone(),
    }
}

/// `c`'s declaration envelope, as a core envelope.
fn declaration_envelope(c: &Consignment) -> Envelope {
    c.request.declaration.clone().unwrap().try_into().unwrap()
}

/// `c`'s declaration payload signed by `keys`, in order.
fn resigned(c: &Consignment, keys: &[&SigningKey]) -> v1::Envelope {
    let payload = declaration_envelope(c).payload().to_vec();
    let mut env = Envelope::sign(pt::DECLARATION, payload, keys[0]);
    for k in &keys[1..] {
        env.add_signature(k);
    }
    v1::Envelope::from(&env)
}

/// Asserts that `r` failed with `code` and a message containing `part`.
fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, part: &str) {
    let s = r.expect_err("the request is refused");
    assert_eq!(s.code(), code, "{}", s.message());
    assert!(
        s.message().contains(part),
        "{:?} does not say {part:?}",
        s.message()
    );
}

/// The ids of the consignments country `code` lists under `filter`.
async fn queue(sb: &Sandbox, code: &str, filter: v1::QueueFilter) -> Vec<String> {
    sb.node(code)
        .await
        .list_consignments(v1::ListConsignmentsRequest {
            filter: filter as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .consignments
        .into_iter()
        .map(|v| v.consignment_id)
        .collect()
}

/// The one entry of `kind` among `entries`.
fn only<'a>(entries: &'a [v1::LedgerEntry], kind: &str) -> &'a v1::LedgerEntry {
    let found: Vec<&v1::LedgerEntry> = entries.iter().filter(|e| e.kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} entry in {entries:#?}");
    found[0]
}

/// Delivers an advance record to KZ's node.
async fn deliver(
    sb: &Sandbox,
    req: v1::SignedRequest,
) -> Result<v1::DeliverAdvanceRecordResponse, tonic::Status> {
    sb.node("KZ")
        .await
        .deliver_advance_record(req)
        .await
        .map(|r| r.into_inner())
}

/// The kinds of `events`, in order.
fn kinds(events: &[v1::ConsignmentEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// The first consignment from `*n` on that the first node sends to a document check or an
/// inspection, submitted; `*n` moves past every consignment tried.
async fn controlled(sb: &Sandbox, n: &mut u32) -> (Consignment, v1::StepReceipt) {
    for _ in 0..60 {
        let c = sb.consignment(*n, |_| {});
        *n += 1;
        let r = sb.submit(&c).await.unwrap();
        assert_eq!(r.state(), S::AwaitingArrival);
        assert!(r.new);
        if matches!(r.lane(), Lane::Yellow | Lane::Red) {
            return (c, r);
        }
    }
    panic!("no yellow or red consignment among 60");
}

/// Checks every handoff of `c` as the auditor does (each advance record links the previous
/// node's exit entry and is acknowledged by a receipt naming the entry it made), and that
/// each node opens the consignment with the advance record carrying the declaration as
/// submitted.
async fn check_links(sb: &Sandbox, c: &Consignment) {
    let corpus = Corpus::load(sb.topology.clone(), Source::Remote, Some(&c.id.to_hex()))
        .await
        .expect("every ledger read");
    let traced = corpus.trace(&c.id);
    assert_eq!(
        traced.problems,
        Vec::<String>::new(),
        "{}",
        traced.lines.join("\n")
    );
    assert_eq!(traced.countries, c.route.len());
    for pair in c.route.windows(2) {
        let (from, to) = (pair[0].as_str(), pair[1].as_str());
        let got = sb.subject_entries(to, &c.id).await;
        assert_eq!(
            got[0].kind, "advance.received",
            "{to} opens the consignment with it"
        );
        let received = only(&got, "advance.received");
        let env = corridor_proto::decode_envelope(&received.envelope).unwrap();
        assert_eq!(env.payload_type(), pt::ADVANCE_RECORD);
        let record = v1::AdvanceRecord::decode(env.payload()).unwrap();
        assert_eq!(record.declaration, c.request.declaration, "{from} -> {to}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_holds_then_releases_or_refuses_a_controlled_consignment() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let mut n = 0;

    let (c, r) = controlled(&sb, &mut n).await;
    let lane = r.lane();
    let v = sb.view("CN", &c.id).await;
    assert_eq!((v.state(), v.lane()), (S::AwaitingArrival, lane));
    assert!(!v.aeo_recognised);
    assert!(
        v.aeo_basis
            .contains(&format!("operator {SHIPPER_ID} holds no AEO certificate")),
        "{}",
        v.aeo_basis
    );
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("selectivity (standard rates)")),
        "{:?}",
        v.reasons
    );
    assert!(
        queue(&sb, "CN", v1::QueueFilter::AwaitingOfficer)
            .await
            .is_empty()
    );

    let r = sb.arrive("CN", &c.id, c.seals.clone()).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::AwaitingOfficer, lane));
    assert_eq!(
        queue(&sb, "CN", v1::QueueFilter::AwaitingOfficer).await,
        [c.id.to_hex()]
    );

    let hold = "seal numbers to be compared with the manifest";
    let r = sb.decide("CN", &c.id, Outcome::Hold, hold).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::Held, lane));
    let v = sb.view("CN", &c.id).await;
    assert_eq!(v.state(), S::Held);
    assert!(
        v.reasons.contains(&format!("held: {hold}")),
        "{:?}",
        v.reasons
    );
    // Held consignments stay in the officers' queue.
    assert_eq!(
        queue(&sb, "CN", v1::QueueFilter::AwaitingOfficer).await,
        [c.id.to_hex()]
    );
    let size = sb.ledger_size("CN").await;
    refused(
        sb.decide("CN", &c.id, Outcome::Hold, " ").await,
        Code::InvalidArgument,
        "envelope.payload.findings",
    );
    refused(
        sb.decide("CN", &c.id, Outcome::Hold, "another look").await,
        Code::FailedPrecondition,
        "is already held",
    );
    refused(
        sb.exit("CN", &c.id).await,
        Code::FailedPrecondition,
        "it is held (only a released consignment exits)",
    );
    assert_eq!(sb.ledger_size("CN").await, size);

    let r = sb
        .decide("CN", &c.id, Outcome::Release, "manifest matches")
        .await
        .unwrap();
    assert_eq!((r.state(), r.lane()), (S::Released, lane));
    assert!(
        queue(&sb, "CN", v1::QueueFilter::AwaitingOfficer)
            .await
            .is_empty()
    );
    let r = sb.exit("CN", &c.id).await.unwrap();
    assert_eq!(r.state(), S::Exited);
    let events = sb.wait_for("CN", &c.id, S::HandedOver).await;
    assert_eq!(
        kinds(&events),
        [
            "declaration.accepted",
            "bill.presented",
            "bill.transfer",
            "risk.assessed",
            "border.arrival",
            "officer.decision",
            "officer.decision",
            "border.exit",
            "advance.acknowledged",
        ]
    );
    let k = sb.view("KZ", &c.id).await;
    assert_eq!(k.state(), S::AwaitingArrival);
    assert_ne!(k.lane(), Lane::Unspecified);
    assert_eq!(k.next_country, "AZ");
    assert_eq!(k.clearances.len(), 1);
    assert_eq!(
        (k.clearances[0].country.as_str(), k.clearances[0].lane()),
        ("CN", lane)
    );

    // Another one, refused after inspection: it stops at CN.
    let (d, _) = controlled(&sb, &mut n).await;
    let r = sb.arrive("CN", &d.id, d.seals.clone()).await.unwrap();
    assert_eq!(r.state(), S::AwaitingOfficer);
    let findings = "undeclared goods in container KTZU1000017";
    let r = sb
        .decide("CN", &d.id, Outcome::Refuse, findings)
        .await
        .unwrap();
    assert_eq!(r.state(), S::Refused);
    let v = sb.view("CN", &d.id).await;
    assert_eq!(v.state(), S::Refused);
    assert!(
        v.reasons.contains(&format!("refused: {findings}")),
        "{:?}",
        v.reasons
    );
    let size = sb.ledger_size("CN").await;
    refused(
        sb.exit("CN", &d.id).await,
        Code::FailedPrecondition,
        "it is refused (only a released consignment exits)",
    );
    refused(
        sb.decide("CN", &d.id, Outcome::Release, "").await,
        Code::FailedPrecondition,
        "an officer decision is out of order",
    );
    assert_eq!(sb.ledger_size("CN").await, size);
    assert_eq!(sb.node_status("CN").await.outbox, 0);
    refused(
        sb.node("KZ")
            .await
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: d.id.to_hex(),
            })
            .await,
        Code::NotFound,
        &format!("consignment {} is not known at KZ", d.id),
    );
    assert!(
        !queue(&sb, "CN", v1::QueueFilter::Unspecified)
            .await
            .contains(&d.id.to_hex())
    );
    assert!(
        queue(&sb, "CN", v1::QueueFilter::All)
            .await
            .contains(&d.id.to_hex())
    );
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recognition_hs_rules_and_seals_decide_the_lane() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.certify(AEO, SHIPPER_ID).await;
    for c in ["KZ", "AZ", "TR"] {
        sb.arrange(&format!("MRA-CN-{c}"), "CN", c).await;
    }
    sb.sync().await;

    // Own certificate at CN, recognised at KZ under the arrangement.
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    let v = sb.view("CN", &c.id).await;
    assert!(v.aeo_recognised);
    assert_eq!(v.aeo_basis, format!("own certificate {AEO}"));
    sb.pass(&c, "CN").await;
    let v = sb.view("KZ", &c.id).await;
    assert!(v.aeo_recognised, "{}", v.aeo_basis);
    assert_eq!(v.aeo_basis, format!("{AEO} recognised under MRA-CN-KZ"));
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("selectivity (AEO rates)")),
        "{:?}",
        v.reasons
    );

    // Arms go red, recognition or not.
    let arms = HsCode::parse("hs_code", "930190").unwrap();
    let bill_hs = arms.clone();
    let a = sb.consignment_with(
        1,
        |b| b.consignment_items[0].hs_code = bill_hs,
        |d| {
            let mut item = d.items[0].clone().into_parts();
            item.hs_code = arms;
            d.items[0] = DeclaredItem::new(item).unwrap();
        },
    );
    let r = sb.submit(&a).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::AwaitingArrival, Lane::Red));
    let v = sb.view("CN", &a.id).await;
    assert!(v.aeo_recognised, "{}", v.aeo_basis);
    assert_eq!(
        v.reasons[0],
        "hs-rule: item 1 HS 930190 is under 93, always inspected"
    );
    let r = sb.arrive("CN", &a.id, a.seals.clone()).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::AwaitingOfficer, Lane::Red));

    // A broken seal sends a green consignment to red at arrival.
    let mut g = None;
    for n in 2..40 {
        let c = sb.consignment(n, |_| {});
        if sb.submit(&c).await.unwrap().lane() == Lane::Green {
            g = Some(c);
            break;
        }
    }
    let g = g.expect("a green consignment among 38");
    let mut seals = g.seals.clone();
    seals[0].intact = false;
    let r = sb.arrive("CN", &g.id, seals).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::AwaitingOfficer, Lane::Red));
    let v = sb.view("CN", &g.id).await;
    assert_eq!((v.state(), v.lane()), (S::AwaitingOfficer, Lane::Red));
    let seal_reasons: Vec<&String> = v
        .reasons
        .iter()
        .filter(|r| r.starts_with("seal: "))
        .collect();
    assert_eq!(
        seal_reasons,
        [&format!(
            "seal: seal {} on {} is broken",
            g.seals[0].seal_number, g.seals[0].container_number
        )]
    );
    let k = kinds(&v.events);
    assert_eq!(k[k.len() - 2..], ["border.arrival", "risk.reassessed"]);
    assert!(!k.contains(&"release.automatic"));
    let queued = queue(&sb, "CN", v1::QueueFilter::AwaitingOfficer).await;
    assert!(queued.contains(&g.id.to_hex()) && queued.contains(&a.id.to_hex()));

    // Suspended: a new consignment is assessed without recognition.
    sb.suspend(AEO).await;
    sb.sync().await;
    let s = sb.consignment(40, |_| {});
    sb.submit(&s).await.unwrap();
    let v = sb.view("CN", &s.id).await;
    assert!(!v.aeo_recognised);
    assert!(
        v.aeo_basis
            .contains(&format!("certificate {AEO} is suspended: audit finding")),
        "{}",
        v.aeo_basis
    );
    let entries = sb.subject_entries("CN", &s.id).await;
    let env = corridor_proto::decode_envelope(&only(&entries, "risk.assessed").envelope).unwrap();
    env.verify_by(&sb.node_key("CN").public()).unwrap();
    let assessment = v1::Assessment::decode(env.payload()).unwrap();
    assert!(!assessment.aeo_recognised);
    assert!(!assessment.reassessment);
    assert_eq!(assessment.aeo_basis, v.aeo_basis);
    assert!(
        assessment
            .reasons
            .iter()
            .any(|r| r.starts_with("selectivity (standard rates)")),
        "{:?}",
        assessment.reasons
    );
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unmandated_or_conflicting_declarations_write_nothing() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let forwarder = sb.operators[FORWARDER_ID].clone();
    let shipper = sb.operators[SHIPPER_ID].clone();
    let c = sb.consignment(0, |_| {});
    let size = sb.ledger_size("CN").await;

    // A stranger signs in the forwarder's place (the shipper co-signs).
    let stranger = SigningKey::generate();
    let forged = with_declaration(&c, resigned(&c, &[&stranger, &shipper]));
    refused(
        sb.submit(&forged).await,
        Code::Unauthenticated,
        &format!("declaration is not signed by {FORWARDER_ID} with a key valid at"),
    );
    // The forwarder's signature with one byte changed.
    let mut env = c.request.declaration.clone().unwrap();
    env.signatures[0].sig[7] ^= 0x01;
    let broken = with_declaration(&c, env);
    refused(
        sb.submit(&broken).await,
        Code::Unauthenticated,
        &format!(
            "declaration: signature of {FORWARDER_ID}: signature by key {} does not verify",
            forwarder.id()
        ),
    );
    // The forwarder declares for the shipper without the shipper's signature.
    let unmandated = with_declaration(&c, resigned(&c, &[&forwarder]));
    refused(
        sb.submit(&unmandated).await,
        Code::PermissionDenied,
        &format!("{FORWARDER_ID} declares for {SHIPPER_ID} without the holder's signature"),
    );
    // The forwarder declares for itself a bill the shipper holds.
    let h = sb.consignment(1, |d| {
        d.holder_operator_id = OperatorId::parse("holder", FORWARDER_ID).unwrap();
    });
    refused(
        sb.submit(&h).await,
        Code::PermissionDenied,
        &format!("the bill is held by {SHIPPER_ID}, not by {FORWARDER_ID}"),
    );
    // Declared at the second country of its route.
    refused(
        sb.node("KZ")
            .await
            .submit_declaration(c.request.clone())
            .await,
        Code::FailedPrecondition,
        "a declaration is submitted at the first country of its route (CN), not at KZ",
    );
    assert_eq!(sb.ledger_size("KZ").await, 0);
    assert_eq!(sb.ledger_size("CN").await, size);
    refused(
        sb.node("CN")
            .await
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: c.id.to_hex(),
            })
            .await,
        Code::NotFound,
        "is not known at CN",
    );

    // Accepted once: declaration, bill, its one transfer entry, assessment.
    let first = sb.submit(&c).await.unwrap();
    assert!(first.new);
    let size = sb.ledger_size("CN").await;
    assert_eq!(size, 4);
    // The same envelope again is the same step.
    let again = sb.submit(&c).await.unwrap();
    assert!(!again.new);
    assert_eq!(
        (again.seq, &again.entry_hash, again.state(), again.lane()),
        (first.seq, &first.entry_hash, first.state(), first.lane())
    );
    assert_eq!(sb.ledger_size("CN").await, size);
    // Still after the consignment has moved on: the answer is the declaration step's.
    sb.arrive("CN", &c.id, c.seals.clone()).await.unwrap();
    let size = sb.ledger_size("CN").await;
    let later = sb.submit(&c).await.unwrap();
    assert!(!later.new);
    assert_eq!(
        (later.seq, &later.entry_hash, later.state(), later.lane()),
        (first.seq, &first.entry_hash, first.state(), first.lane())
    );
    assert_eq!(sb.ledger_size("CN").await, size);
    // One more signature by a key of nobody: refused, whatever else the envelope says.
    let mut env = declaration_envelope(&c);
    env.add_signature(&SigningKey::generate());
    refused(
        sb.submit(&with_declaration(&c, v1::Envelope::from(&env)))
            .await,
        Code::Unauthenticated,
        "declaration: signature 2 is not by a key of the corridor",
    );
    // The same declaration in another envelope (one more signature, by a registered
    // operator) conflicts.
    let mut env = declaration_envelope(&c);
    env.add_signature(&sb.operators[CARRIER_ID]);
    assert_eq!(env.document_id(), c.id);
    let other = with_declaration(&c, v1::Envelope::from(&env));
    refused(
        sb.submit(&other).await,
        Code::AlreadyExists,
        &format!("consignment {} was declared with another envelope", c.id),
    );
    assert_eq!(sb.ledger_size("CN").await, size);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_officers_foreign_nodes_and_steps_out_of_order_write_nothing() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    let size = sb.ledger_size("CN").await;

    // An officer of KZ at CN's node; a key no officer has.
    let arrival = border_event(
        "CN",
        &c.id,
        v1::BorderEventKind::Arrival,
        "CNXIY",
        c.seals.clone(),
    );
    refused(
        sb.node("CN")
            .await
            .record_border_event(signed(pt::BORDER_EVENT, &arrival, &sb.officer("KZ")))
            .await,
        Code::PermissionDenied,
        "officer 1 of KZ may not act at the customs node of CN",
    );
    refused(
        sb.node("CN")
            .await
            .record_border_event(signed(pt::BORDER_EVENT, &arrival, &SigningKey::generate()))
            .await,
        Code::Unauthenticated,
        "not signed by an officer key of any corridor country",
    );
    // Exit before arrival.
    refused(
        sb.exit("CN", &c.id).await,
        Code::FailedPrecondition,
        &format!(
            "exit is out of order for consignment {} at CN: it is awaiting arrival",
            c.id
        ),
    );
    assert_eq!(sb.ledger_size("CN").await, size);

    // The same arrival envelope twice is one step; another arrival is out of order.
    let arrived = signed(pt::BORDER_EVENT, &arrival, &sb.officer("CN"));
    let r = sb
        .node("CN")
        .await
        .record_border_event(arrived.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(r.new);
    let size = sb.ledger_size("CN").await;
    let again = sb
        .node("CN")
        .await
        .record_border_event(arrived)
        .await
        .unwrap()
        .into_inner();
    assert!(!again.new);
    assert_eq!(
        (again.seq, &again.entry_hash, again.state(), again.lane()),
        (r.seq, &r.entry_hash, r.state(), r.lane())
    );
    assert_eq!(sb.ledger_size("CN").await, size);
    refused(
        sb.arrive("CN", &c.id, c.seals.clone()).await,
        Code::FailedPrecondition,
        &format!("arrival is out of order for consignment {} at CN", c.id),
    );
    assert_eq!(sb.ledger_size("CN").await, size);

    // Advance records at KZ for a consignment CN never handed over.
    let d = sb.consignment(1, |_| {});
    let bill = d.request.bill_of_lading.as_ref().unwrap();
    let record = v1::AdvanceRecord {
        consignment_id: d.id.as_bytes().to_vec(),
        from_country: "CN".into(),
        to_country: "KZ".into(),
        declaration: d.request.declaration.clone(),
        bill_of_lading_id: Digest::of(&bill.payload).as_bytes().to_vec(),
        lane: Lane::Green as i32,
        reasons: vec!["selectivity (standard rates): made up".into()],
        clearance_micros: 0,
        clearances: vec![v1::CountryClearance {
            country: "CN".into(),
            lane: Lane::Green as i32,
            dwell_micros: 0,
        }],
        prev_entry_seq: 7,
        prev_entry_hash: vec![0x5a; 32],
        exited_at_unix_micros: now(),
        aeo_at_origin: false,
        seals: d.seals.clone(),
    };
    let kz = sb.ledger_size("KZ").await;
    refused(
        deliver(&sb, signed(pt::ADVANCE_RECORD, &record, &sb.node_key("AZ"))).await,
        Code::PermissionDenied,
        "the advance record is signed by the node of AZ for CN; only the node of CN hands this consignment to KZ",
    );
    refused(
        deliver(
            &sb,
            signed(pt::ADVANCE_RECORD, &record, &SigningKey::generate()),
        )
        .await,
        Code::Unauthenticated,
        "the advance record is not signed by a customs node of this corridor",
    );
    let mut forged = signed(pt::ADVANCE_RECORD, &record, &sb.node_key("CN"));
    forged.envelope.as_mut().unwrap().signatures[0].sig[0] ^= 0x80;
    refused(
        deliver(&sb, forged).await,
        Code::Unauthenticated,
        &format!(
            "advance record: signature by key {} does not verify",
            sb.node_key("CN").id()
        ),
    );
    assert_eq!(sb.ledger_size("KZ").await, kz);
    refused(
        sb.node("KZ")
            .await
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: d.id.to_hex(),
            })
            .await,
        Code::NotFound,
        "is not known at KZ",
    );
    // The same record signed by CN's node is accepted, once: the refusals were the signers'.
    let genuine = signed(pt::ADVANCE_RECORD, &record, &sb.node_key("CN"));
    let first = deliver(&sb, genuine.clone()).await.unwrap();
    assert!(first.new);
    assert_eq!(sb.ledger_size("KZ").await, kz + 2);
    let again = deliver(&sb, genuine).await.unwrap();
    assert!(!again.new);
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(sb.ledger_size("KZ").await, kz + 2);
    sb.stop().await;
}

/// Step `i` of a route with its entry post (`entry`) or exit post changed to `post`.
fn with_post(d: &mut corridor_core::document::DeclarationParts, i: usize, entry: bool, post: &str) {
    let mut step = d.route[i].clone().into_parts();
    let post = Some(UnLocode::parse("post", post).unwrap());
    if entry {
        step.entry_border_post = post;
    } else {
        step.exit_border_post = post;
    }
    d.route[i] = RouteStep::new(step).unwrap();
}

/// An officer's release at `code` when receipt `r` says the consignment waits for one.
async fn release_if_held(sb: &Sandbox, code: &str, id: &Digest, r: v1::StepReceipt) {
    if r.state() == S::AwaitingOfficer {
        let d = sb
            .decide(code, id, Outcome::Release, "documents in order")
            .await
            .unwrap();
        assert!(matches!(d.state(), S::Released | S::Completed), "at {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn border_posts_the_topology_does_not_allow_are_refused_and_write_nothing() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;

    // Declared routes: an entry post must be an entry post of its country, an exit post an
    // exit post, as deploy/corridor.toml lists them.
    let entered_at_an_exit = sb.consignment(0, |d| with_post(d, 1, true, "KZAAU"));
    refused(
        sb.submit(&entered_at_an_exit).await,
        Code::InvalidArgument,
        "declaration.route[1].entry_border_post: KZAAU is not an entry border post of KZ; its entry posts are KZKGS (Altynkol)",
    );
    let unknown = sb.consignment(1, |d| with_post(d, 2, false, "AZXXX"));
    refused(
        sb.submit(&unknown).await,
        Code::InvalidArgument,
        "declaration.route[2].exit_border_post: AZXXX is not an exit border post of AZ; its exit posts are AZBKS (Beyuk-Kesik)",
    );
    assert_eq!(sb.ledger_size("CN").await, 0);

    let c = sb.consignment(2, |_| {});
    sb.submit(&c).await.unwrap();
    let cn = sb.ledger_size("CN").await;
    let seals = || c.seals.clone();
    // Border events: the post is required, and must be one of the country's, crossed the
    // event's way; the consignment is looked up first.
    refused(
        sb.arrive_at("CN", "", &c.id, seals()).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: required",
    );
    refused(
        sb.arrive_at("CN", "KZKGS", &c.id, seals()).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: KZKGS is not a border post of CN; its posts are CNXIY (Xi'an International Port), CNKHG (Khorgos)",
    );
    refused(
        sb.arrive_at("CN", "CNXXX", &c.id, seals()).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: CNXXX is not a border post of CN",
    );
    // A wrong post is refused before the step's order is looked at (exit before arrival).
    refused(
        sb.exit_at("CN", "CNXIY", &c.id).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: CNXIY is not an exit border post of CN; its exit posts are CNKHG (Khorgos)",
    );
    refused(
        sb.arrive_at("CN", "", &Digest::of(b"unknown"), seals())
            .await,
        Code::NotFound,
        "is not known at CN",
    );
    assert_eq!(sb.ledger_size("CN").await, cn);

    // At the first country the goods may be presented at any of its posts: here at the
    // frontier rather than at the inland office.
    let r = sb.arrive_at("CN", "CNKHG", &c.id, seals()).await.unwrap();
    release_if_held(&sb, "CN", &c.id, r).await;
    sb.exit("CN", &c.id).await.unwrap();
    sb.wait_for("CN", &c.id, S::HandedOver).await;

    let kz = sb.ledger_size("KZ").await;
    refused(
        sb.arrive_at("KZ", "KZAAU", &c.id, seals()).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: KZAAU is not an entry border post of KZ; its entry posts are KZKGS (Altynkol)",
    );
    assert_eq!(sb.ledger_size("KZ").await, kz);
    let r = sb.arrive("KZ", &c.id, seals()).await.unwrap();
    release_if_held(&sb, "KZ", &c.id, r).await;
    let kz = sb.ledger_size("KZ").await;
    refused(
        sb.exit_at("KZ", "KZKGS", &c.id).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: KZKGS is not an exit border post of KZ; its exit posts are KZAAU (Aktau port), KZKUR (Kuryk port)",
    );
    assert_eq!(sb.ledger_size("KZ").await, kz);
    // Declared by Aktau, the train leaves by Kuryk: a diversion, recorded as the officer
    // sent it.
    let r = sb.exit_at("KZ", "KZKUR", &c.id).await.unwrap();
    assert_eq!(r.state(), S::Exited);
    let exit = only(&sb.subject_entries("KZ", &c.id).await, "border.exit").clone();
    let env = corridor_proto::decode_envelope(&exit.envelope).unwrap();
    assert_eq!(
        v1::BorderEvent::decode(env.payload()).unwrap().border_post,
        "KZKUR"
    );
    let v = sb.view("KZ", &c.id).await;
    assert!(
        v.events
            .iter()
            .any(|e| e.detail == "exited at KZKUR (declared KZAAU) towards AZ"),
        "{:#?}",
        v.events
    );
    sb.wait_for("KZ", &c.id, S::HandedOver).await;
    sb.pass(&c, "AZ").await;
    sb.pass(&c, "TR").await;
    // The last country has no exit post: an exit there is refused by its post.
    let tr = sb.ledger_size("TR").await;
    refused(
        sb.exit_at("TR", "TRKSY", &c.id).await,
        Code::InvalidArgument,
        "envelope.payload.border_post: TRKSY is not an exit border post of TR; TR has no exit border posts",
    );
    assert_eq!(sb.ledger_size("TR").await, tr);
    check_links(&sb, &c).await;
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bill_is_declared_once_while_its_consignment_is_open_even_after_a_restart() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let reference = |r: &str| Text::parse("declaration_reference", r).unwrap();
    let mut n = 0;
    let (a, _) = controlled(&sb, &mut n).await;
    let bill = Digest::of(&a.request.bill_of_lading.as_ref().unwrap().payload);
    let b = sb.redeclared(&a, |d| d.declaration_reference = reference("SRM-T-AGAIN-1"));
    assert_ne!(b.id, a.id);
    let size = sb.ledger_size("CN").await;
    refused(
        sb.submit(&b).await,
        Code::AlreadyExists,
        &format!("bill {bill} is already declared in consignment {}", a.id),
    );
    assert_eq!(sb.ledger_size("CN").await, size);

    // Refused, the consignment frees its bill: the new declaration reuses the bill's and the
    // transfer's entries.
    sb.arrive("CN", &a.id, a.seals.clone()).await.unwrap();
    let r = sb
        .decide("CN", &a.id, Outcome::Refuse, "goods do not match the bill")
        .await
        .unwrap();
    assert_eq!(r.state(), S::Refused);
    let size = sb.ledger_size("CN").await;
    let r = sb.submit(&b).await.unwrap();
    assert!(r.new);
    let lane = r.lane();
    assert_eq!(sb.ledger_size("CN").await, size + 2);
    let entries = sb.subject_entries("CN", &b.id).await;
    let k: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(k, ["declaration.accepted", "risk.assessed"]);
    let c = sb.redeclared(&a, |d| d.declaration_reference = reference("SRM-T-AGAIN-2"));
    let taken = format!("bill {bill} is already declared in consignment {}", b.id);
    refused(sb.submit(&c).await, Code::AlreadyExists, &taken);

    // Restarted, the node still knows which consignment holds the bill, and its seals.
    sb.stop_node("CN").await;
    sb.restart_node("CN").await;
    let size = sb.ledger_size("CN").await;
    refused(sb.submit(&c).await, Code::AlreadyExists, &taken);
    assert_eq!(sb.ledger_size("CN").await, size);
    let r = sb.arrive("CN", &b.id, b.seals.clone()).await.unwrap();
    assert_eq!(r.lane(), lane);
    let v = sb.view("CN", &b.id).await;
    assert!(
        !v.reasons.iter().any(|r| r.starts_with("seal: ")),
        "{:?}",
        v.reasons
    );
    sb.stop().await;
}

/// A corridor whose first consignment has exited CN while KZ's node is down, so that its
/// advance record waits in CN's outbox.
async fn exited_at_cn_while_kz_is_down() -> (Sandbox, Consignment) {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.stop_node("KZ").await;
    let r = sb.arrive("CN", &c.id, c.seals.clone()).await.unwrap();
    if r.state() == S::AwaitingOfficer {
        sb.decide("CN", &c.id, Outcome::Release, "").await.unwrap();
    }
    let r = sb.exit("CN", &c.id).await.unwrap();
    assert_eq!(r.state(), S::Exited);
    (sb, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resumes_delivering_its_outbox() {
    let (mut sb, c) = exited_at_cn_while_kz_is_down().await;

    sb.stop_node("CN").await;
    sb.restart_node("CN").await;
    assert_eq!(sb.view("CN", &c.id).await.state(), S::Exited);
    assert_eq!(sb.node_status("CN").await.outbox, 1);
    sb.restart_node("KZ").await;
    sb.wait_for("CN", &c.id, S::HandedOver).await;
    assert_eq!(sb.node_status("CN").await.outbox, 0);
    let entries = sb.subject_entries("KZ", &c.id).await;
    let k: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(k, ["advance.received", "risk.assessed"]);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advance_record_waits_in_the_outbox_until_the_next_node_is_back() {
    let (mut sb, c) = exited_at_cn_while_kz_is_down().await;
    let v = sb.view("CN", &c.id).await;
    assert_eq!(v.state(), S::Exited);
    let status = sb.node_status("CN").await;
    assert_eq!(status.outbox, 1);

    sb.restart_node("KZ").await;
    let events = sb.wait_for("CN", &c.id, S::HandedOver).await;
    assert_eq!(
        kinds(&events[events.len() - 2..]),
        ["border.exit", "advance.acknowledged"]
    );
    assert_eq!(sb.view("CN", &c.id).await.state(), S::HandedOver);
    assert_eq!(sb.node_status("CN").await.outbox, 0);
    let v = sb.view("KZ", &c.id).await;
    assert_eq!(v.state(), S::AwaitingArrival);
    let entries = sb.subject_entries("KZ", &c.id).await;
    let k: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(k, ["advance.received", "risk.assessed"]);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_mid_flow_resumes_from_its_ledger() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    // A consignment AZ will control: the draw is deterministic, so AZ's lane is known now.
    let az = cc("AZ");
    let profile = sb.topology.country(&az).unwrap().1.risk.clone();
    /// AZ's assessment, its lane as the wire says it.
    struct Predicted {
        lane: Lane,
        reasons: Vec<String>,
    }
    let mut found = None;
    for n in 0..60 {
        let c = sb.consignment(n, |_| {});
        let env = declaration_envelope(&c);
        let declaration = corridor_proto::decode_declaration(env.payload()).unwrap();
        let a = assess(&profile, &az, &declaration, &AeoStatus::default());
        let lane = Lane::from(a.lane);
        if matches!(lane, Lane::Yellow | Lane::Red) {
            found = Some((
                c,
                Predicted {
                    lane,
                    reasons: a.reasons,
                },
            ));
            break;
        }
    }
    let (c, predicted) = found.expect("a consignment AZ controls among 60");
    sb.submit(&c).await.unwrap();
    sb.pass(&c, "CN").await;
    sb.pass(&c, "KZ").await;
    let r = sb.arrive("AZ", &c.id, c.seals.clone()).await.unwrap();
    assert_eq!((r.state(), r.lane()), (S::AwaitingOfficer, predicted.lane));

    let before = sb.view("AZ", &c.id).await;
    assert!(
        before.reasons.starts_with(&predicted.reasons),
        "{:?}",
        before.reasons
    );
    let status = sb.node_status("AZ").await;
    sb.stop_node("AZ").await;
    sb.restart_node("AZ").await;
    let after = sb.view("AZ", &c.id).await;
    assert_eq!(
        (after.state(), after.lane()),
        (S::AwaitingOfficer, predicted.lane)
    );
    assert_eq!(after.reasons, before.reasons);
    assert_eq!(after.events, before.events);
    assert_eq!(
        (
            after.aeo_recognised,
            &after.aeo_basis,
            after.arrived_at_unix_micros
        ),
        (
            before.aeo_recognised,
            &before.aeo_basis,
            before.arrived_at_unix_micros
        )
    );
    assert_eq!(after.clearances, before.clearances);
    assert_eq!(after.next_country, "TR");
    let again = sb.node_status("AZ").await;
    assert_eq!(
        (again.ledger_size, again.consignments, again.outbox),
        (status.ledger_size, status.consignments, status.outbox)
    );
    assert_eq!(
        queue(&sb, "AZ", v1::QueueFilter::AwaitingOfficer).await,
        [c.id.to_hex()]
    );

    let r = sb
        .decide("AZ", &c.id, Outcome::Release, "documents in order")
        .await
        .unwrap();
    assert_eq!(r.state(), S::Released);
    sb.exit("AZ", &c.id).await.unwrap();
    sb.wait_for("AZ", &c.id, S::HandedOver).await;
    sb.pass(&c, "TR").await;
    let v = sb.view("TR", &c.id).await;
    assert_eq!(v.state(), S::Completed);
    assert_eq!(v.clearances.len(), 4);
    assert_eq!(
        (v.clearances[2].country.as_str(), v.clearances[2].lane()),
        ("AZ", predicted.lane)
    );
    check_links(&sb, &c).await;
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_through_georgia_clears_through_five_nodes() {
    let mut sb = Sandbox::start_with(&deploy_dir().join("corridor-ge.toml")).await;
    sb.register_parties().await;
    sb.sync().await;
    let post = |s: &str| Some(UnLocode::parse("border_post", s).unwrap());
    let c = sb.consignment(0, |d| {
        let (az, tr) = (&d.route[2], &d.route[3]);
        assert_eq!((az.country.as_str(), tr.country.as_str()), ("AZ", "TR"));
        let ge = RouteStep::new(RouteStepParts {
            country: cc("GE"),
            role: DeclarationRole::Transit,
            entry_border_post: post("GEGRD"),
            exit_border_post: post("GEKRT"),
            planned_arrival_unix_micros: (az.planned_arrival_unix_micros
                + tr.planned_arrival_unix_micros)
                / 2,
            border_transport_means: tr.border_transport_means.clone(),
        })
        .unwrap();
        d.route.insert(3, ge);
    });
    assert_eq!(c.route, ["CN", "KZ", "AZ", "GE", "TR"]);
    // The same goods declared without Georgia do not follow this corridor.
    let four = sb.consignment(1, |_| {});
    refused(
        sb.submit(&four).await,
        Code::InvalidArgument,
        "declaration.route[3].country: the corridor does not go from AZ to TR",
    );
    assert_eq!(sb.ledger_size("CN").await, 0);

    sb.submit(&c).await.unwrap();
    sb.clear(&c).await;
    let v = sb.view("GE", &c.id).await;
    assert_eq!(v.state(), S::HandedOver);
    assert_eq!(v.next_country, "TR");
    assert_eq!(sb.view("AZ", &c.id).await.next_country, "GE");
    check_links(&sb, &c).await;
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_advance_record_links_the_previous_nodes_exit_entry() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.clear(&c).await;
    check_links(&sb, &c).await;
    sb.stop().await;
}

/// Opens country `code`'s stopped ledger through sled itself, as someone with the files might
/// (ARCHITECTURE.md, storage layout), and hands `f` its entries tree.
fn tamper_node_ledger(sb: &Sandbox, code: &str, f: impl FnOnce(&sled::Tree)) {
    // sled's threads let go of a stopped node's lock a moment after it stops.
    let started = std::time::Instant::now();
    let db = loop {
        match sled::open(sb.node_dir(code).join("db")) {
            Ok(db) => break db,
            Err(e) if started.elapsed() < std::time::Duration::from_secs(2) => {
                assert!(e.to_string().contains("could not acquire lock"), "{e}");
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    };
    f(&db.open_tree("entries").unwrap());
    db.flush().unwrap();
}

/// The sequence number and stored value of the first entry of `kind` in `tree`.
fn first_of_kind(tree: &sled::Tree, kind: &str) -> (u64, Vec<u8>) {
    tree.range(..[0xFFu8])
        .map(Result::unwrap)
        .find_map(|(k, v)| {
            let e = Entry::decode(&v[..v.len() - 32])?;
            (e.kind == kind).then(|| {
                (
                    u64::from_be_bytes(k.as_ref().try_into().unwrap()),
                    v.to_vec(),
                )
            })
        })
        .unwrap_or_else(|| panic!("an entry of kind {kind}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_to_start_on_a_ledger_changed_at_rest() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.stop_node("CN").await;

    // One byte of the risk assessment's envelope changed, its stored hash left as it was.
    let mut changed = 0;
    tamper_node_ledger(&sb, "CN", |t| {
        let (seq, mut v) = first_of_kind(t, "risk.assessed");
        let at = v.len() - 32 - 20;
        v[at] ^= 0x01;
        t.insert(seq.to_be_bytes(), v).unwrap();
        changed = seq;
    });
    let err = sb.try_start_node("CN").await.unwrap_err();
    assert!(
        err.contains(&format!("bad {changed}: changed content")),
        "{err}"
    );

    // The same change with the stored hash recomputed breaks the next entry's link instead.
    tamper_node_ledger(&sb, "CN", |t| {
        let mut v = t.get(changed.to_be_bytes()).unwrap().unwrap().to_vec();
        let record = v[..v.len() - 32].to_vec();
        let hash = corridor_ledger::entry::hash_record(&record);
        let n = v.len();
        v[n - 32..].copy_from_slice(hash.as_bytes());
        t.insert(changed.to_be_bytes(), v).unwrap();
    });
    let err = sb.try_start_node("CN").await.unwrap_err();
    assert!(err.contains("bad "), "{err}");
    assert!(
        err.contains("broken link") || err.contains("signed checkpoint"),
        "{err}"
    );
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_to_start_on_an_outbox_row_its_ledger_did_not_write() {
    let (mut sb, c) = exited_at_cn_while_kz_is_down().await;
    assert_eq!(sb.node_status("CN").await.outbox, 1);
    sb.stop_node("CN").await;

    // The advance record waiting in the outbox, its lane changed to green: a row no hash
    // covers, which the courier would sign and send.
    let mut key = vec![0xFF];
    key.extend_from_slice(b"outbox/");
    key.extend_from_slice(c.id.as_bytes());
    tamper_node_ledger(&sb, "CN", |t| {
        let v = t.get(&key).unwrap().expect("the outbox row");
        let mut record = v1::AdvanceRecord::decode(v.as_ref()).unwrap();
        record.lane = if record.lane == Lane::Green as i32 {
            Lane::Red as i32
        } else {
            Lane::Green as i32
        };
        t.insert(&key, record.encode_to_vec()).unwrap();
    });
    let err = sb.try_start_node("CN").await.unwrap_err();
    assert!(err.contains("outbox row"), "{err}");
    assert!(err.contains(&c.id.to_hex()), "{err}");
    sb.stop().await;
}

/// A declaration's receipt names its last entry, the assessment: the declaration's own entry
/// is seq - 2 - (transfer-chain entries), then the bill and each transfer entry, as
/// `customs.proto` says of `StepReceipt.seq`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_s_receipt_names_the_assessment_after_the_declaration_bill_and_chain() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    let r = sb.submit(&c).await.unwrap();
    let chain = c.request.transfer_chain.len() as u64;
    let entries = sb.subject_entries("CN", &c.id).await;
    let got: Vec<(u64, &str)> = entries.iter().map(|e| (e.seq, e.kind.as_str())).collect();
    let first = r.seq - 2 - chain;
    let mut want = vec![
        (first, "declaration.accepted"),
        (first + 1, "bill.presented"),
    ];
    want.extend((0..chain).map(|i| (first + 2 + i, "bill.transfer")));
    want.push((r.seq, "risk.assessed"));
    assert_eq!(got, want);
    sb.stop().await;
}

/// A field the declaration's message does not define is skipped on decoding and kept in the
/// signed payload: the consignment id covers it and the ledger records it byte for byte, as
/// SIGNING.md section 2 says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_field_unknown_to_the_schema_is_kept_in_the_signed_bytes() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    let mut payload = declaration_envelope(&c).payload().to_vec();
    // Field 2047, varint 1: no field of corridor.v1.Declaration.
    let unknown = [0xf8, 0x7f, 0x01];
    payload.extend_from_slice(&unknown);
    let mut env = Envelope::sign(
        pt::DECLARATION,
        payload.clone(),
        &sb.operators[FORWARDER_ID],
    );
    env.add_signature(&sb.operators[SHIPPER_ID]);
    let id = env.document_id();
    assert_ne!(id, c.id);
    let extended = Consignment {
        id,
        ..with_declaration(&c, v1::Envelope::from(&env))
    };
    let r = sb.submit(&extended).await.unwrap();
    assert!(r.new);
    let entries = sb.subject_entries("CN", &id).await;
    let recorded = &only(&entries, "declaration.accepted").envelope;
    let recorded: Envelope = v1::Envelope::decode(recorded.as_slice())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(recorded.payload(), payload.as_slice());
    assert!(recorded.payload().ends_with(&unknown));
    sb.stop().await;
}
