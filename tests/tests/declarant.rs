#![allow(clippy::unwrap_used)]
//! The declarant service through a whole corridor run in-process (see
//! `corridor_tests::sandbox`): plain data cleared through every country and tracked in
//! corridor order, the bill of lading as a transferable record, a bill its carrier signed
//! elsewhere put on the platform with its chain, refusals passed on from the first node,
//! cancellation, restarts, and refusals that record nothing.

use std::time::Duration;

use corridor_core::document::examples::CARRIER_ID;
use corridor_core::document::{Declaration, TransferAction, TransferEntry, TransferEntryParts};
use corridor_core::{Digest, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_customs::consignment::kind as node_kind;
use corridor_declarant::platform::kind;
use corridor_proto::v1::{self, ConsignmentState as S, Lane, Outcome, SubmissionState};
use corridor_tests::sandbox::{
    DAY, Parties, PlainConsignment, Sandbox, TOPOLOGY_AZ_FORWARDER, TOPOLOGY_CARRIER,
    TOPOLOGY_CONSIGNEE, TOPOLOGY_FORWARDER, TOPOLOGY_SHIPPER, carrier_signed, now,
    plain_consignment, topology_parties,
};
use tokio_stream::StreamExt;
use tonic::{Code, Status};

/// A sandbox whose topology operators are registered and known to every service.
async fn started() -> Sandbox {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    sb.sync().await;
    sb
}

/// Asserts that `r` failed with `code` and a message containing every one of `parts`;
/// returns the status.
fn refused<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, parts: &[&str]) -> Status {
    let s = r.expect_err("the request is refused");
    assert_eq!(s.code(), code, "{}", s.message());
    for part in parts {
        assert!(
            s.message().contains(part),
            "{:?} does not say {part:?}",
            s.message()
        );
    }
    s
}

fn hex(s: &str) -> Digest {
    Digest::parse_hex("id", s).unwrap()
}

fn op(s: &str) -> OperatorId {
    OperatorId::parse("operator", s).unwrap()
}

/// The consignment id a declarant message names (`consignment <64 hex digits>`).
fn consignment_in(message: &str) -> Digest {
    let at = message
        .find("consignment ")
        .unwrap_or_else(|| panic!("{message:?} names no consignment"))
        + "consignment ".len();
    hex(message.get(at..at + 64).unwrap())
}

async fn submit(
    sb: &Sandbox,
    request: v1::SubmitConsignmentRequest,
) -> Result<v1::SubmitConsignmentResponse, Status> {
    sb.declarant()
        .await
        .submit_consignment(request)
        .await
        .map(|r| r.into_inner())
}

async fn status(sb: &Sandbox, id: &Digest) -> v1::ConsignmentStatus {
    sb.declarant()
        .await
        .get_status(v1::GetStatusRequest {
            consignment_id: id.to_hex(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Bill `id` as `GetBill` answers, without its `head` (the platform's statement of the
/// chain, signed anew at each call): what records are compared by. The head is checked to
/// be the declarant's statement of exactly this chain.
async fn bill(sb: &Sandbox, id: &str) -> v1::BillRecord {
    let mut record = sb
        .declarant()
        .await
        .get_bill(v1::GetBillRequest {
            bill_of_lading_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let head: Envelope = record.head.take().unwrap().try_into().unwrap();
    head.verify_by(&sb.topology.declarant_key().unwrap())
        .unwrap();
    let h = corridor_proto::declarant::decode_chain_head(head.payload()).unwrap();
    let last: Envelope = record.chain.last().cloned().unwrap().try_into().unwrap();
    assert_eq!(h.bill_of_lading_id.to_hex(), record.bill_of_lading_id);
    assert_eq!(h.entries, record.chain.len() as u64);
    assert_eq!(h.head_entry_id, last.document_id());
    assert_eq!(h.holder.as_str(), record.holder);
    assert_eq!(h.spent, record.spent);
    record
}

async fn cancel(sb: &Sandbox, id: &Digest, reason: &str) -> Result<v1::StepReceipt, Status> {
    sb.declarant()
        .await
        .cancel_consignment(v1::CancelConsignmentRequest {
            consignment_id: id.to_hex(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// A transfer chain's entry envelope, read: its document id and the entry.
fn entry_of(env: &v1::Envelope) -> (Digest, TransferEntry) {
    let env: Envelope = env.clone().try_into().unwrap();
    (
        env.document_id(),
        corridor_proto::decode_transfer_entry(env.payload()).unwrap(),
    )
}

/// The last entry of a bill's transfer chain, with its document id.
fn tip(r: &v1::BillRecord) -> (Digest, TransferEntry) {
    entry_of(r.chain.last().unwrap())
}

/// Transfer entry `entry` in an envelope signed by `key`.
fn signed_entry(entry: &TransferEntry, key: &SigningKey) -> v1::Envelope {
    v1::Envelope::from(&Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(entry),
        key,
    ))
}

/// The entry after the tip of `r`: its holder moves the bill to `to` by `action`.
fn next(r: &v1::BillRecord, action: TransferAction, to: &str) -> TransferEntry {
    let (id, t) = tip(r);
    t.next(id, action, op(to), now(), None).unwrap()
}

/// Records transfer entry `entry`, signed by `key`.
async fn transfer(
    sb: &Sandbox,
    entry: &TransferEntry,
    key: &SigningKey,
) -> Result<v1::BillRecord, Status> {
    let env = Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(entry),
        key,
    );
    sb.declarant()
        .await
        .transfer_bill(v1::TransferBillRequest {
            entry: Some(v1::Envelope::from(&env)),
        })
        .await
        .map(|r| v1::BillRecord {
            head: None,
            ..r.into_inner()
        })
}

/// Every event of a tracking stream, until it ends (a minute at most).
async fn collect(mut stream: tonic::Streaming<v1::ConsignmentEvent>) -> Vec<v1::ConsignmentEvent> {
    let mut out = Vec::new();
    let read = async {
        while let Some(e) = stream.next().await {
            out.push(e.unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the tracking stream ends once the consignment completes");
    out
}

/// Tracks consignment `id` at the declarant, after event `after` (country, seq) if given.
async fn track(sb: &Sandbox, id: &Digest, after: Option<(&str, u64)>) -> Vec<v1::ConsignmentEvent> {
    let (country, seq) = after.map_or((String::new(), 0), |(c, s)| (c.to_string(), s));
    let stream = sb
        .declarant()
        .await
        .track_consignment(v1::TrackConsignmentRequest {
            consignment_id: id.to_hex(),
            resume_after_country: country,
            resume_after_seq: seq,
        })
        .await
        .unwrap()
        .into_inner();
    collect(stream).await
}

/// Takes consignment `id` through country `code`: arrival with every seal intact, an
/// officer's release when its lane calls for one, then exit (waited for until the next node
/// has acknowledged the advance record) unless `code` is the last country of `c`'s route.
async fn pass(sb: &Sandbox, c: &PlainConsignment, id: &Digest, code: &str) -> Lane {
    let last = c.route.last().map(String::as_str) == Some(code);
    let done = if last { S::Completed } else { S::Released };
    let r = sb.arrive(code, id, c.seals.clone()).await.unwrap();
    let lane = r.lane();
    match lane {
        Lane::Green | Lane::Blue => assert_eq!(r.state(), done, "at {code}"),
        Lane::Yellow | Lane::Red => {
            assert_eq!(r.state(), S::AwaitingOfficer, "at {code}");
            let d = sb
                .decide(code, id, Outcome::Release, "documents in order")
                .await
                .unwrap();
            assert_eq!((d.state(), d.lane()), (done, lane), "at {code}");
        }
        Lane::Unspecified => panic!("consignment {id} arrived unassessed at {code}"),
    }
    if !last {
        let r = sb.exit(code, id).await.unwrap();
        assert_eq!(r.state(), S::Exited, "at {code}");
        sb.wait_for(code, id, S::HandedOver).await;
    }
    lane
}

fn kinds(entries: &[v1::LedgerEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_data_clears_through_every_country_and_is_tracked_in_corridor_order() {
    let sb = started().await;
    let c = plain_consignment(1, &topology_parties());
    let r = submit(&sb, c.request.clone()).await.unwrap();
    let id = hex(&r.consignment_id);
    assert_eq!(r.first_country, "CN");
    let first = r.first_node.clone().unwrap();
    assert_eq!(first.consignment_id, r.consignment_id);
    assert_eq!(first.state(), S::AwaitingArrival);
    assert!(first.new);

    // The bill, signed by the carrier's key, issued to the shipper; the declaration signed
    // by the forwarder and, for the shipper it lodges for, by the shipper.
    let b = bill(&sb, &r.bill_of_lading_id).await;
    assert_eq!(
        (
            b.holder.as_str(),
            b.last_action.as_str(),
            b.chain.len(),
            b.spent
        ),
        (TOPOLOGY_SHIPPER, "ISSUE", 1, false)
    );
    let benv: Envelope = b.bill_of_lading.clone().unwrap().try_into().unwrap();
    benv.verify_by(&sb.operator_key(TOPOLOGY_CARRIER).public())
        .unwrap();
    assert_eq!(benv.document_id(), hex(&r.bill_of_lading_id));
    let accepted = sb.subject_entries("CN", &id).await;
    let denv = corridor_proto::decode_envelope(&accepted[0].envelope).unwrap();
    assert_eq!(accepted[0].kind, node_kind::DECLARATION_ACCEPTED);
    assert_eq!(denv.document_id(), id);
    for signer in [TOPOLOGY_FORWARDER, TOPOLOGY_SHIPPER] {
        denv.verify_by(&sb.operator_key(signer).public()).unwrap();
    }
    // The declarant recorded the bill, its issue, the submission and the node's answer.
    assert_eq!(
        kinds(&sb.declarant_entries(&hex(&r.bill_of_lading_id)).await),
        [kind::BILL, kind::TRANSFER]
    );
    assert_eq!(
        kinds(&sb.declarant_entries(&id).await),
        [kind::SUBMITTED, kind::OUTCOME]
    );
    let s = status(&sb, &id).await;
    assert_eq!(s.submission(), SubmissionState::Accepted);
    assert_eq!(s.detail, format!("entry {} at CN", first.seq));
    assert_eq!(s.route, ["CN", "KZ", "AZ", "TR"]);
    assert_eq!(s.route, c.route);
    assert_eq!(s.declaration_reference, "XSRE-D-000001");
    assert_eq!(s.bill_of_lading_id, r.bill_of_lading_id);
    let states: Vec<(&str, S)> = s
        .nodes
        .iter()
        .map(|v| (v.country.as_str(), v.state()))
        .collect();
    assert_eq!(states, [("CN", S::AwaitingArrival)]);

    // Followed live from the start, across every handover.
    let live = {
        let stream = sb
            .declarant()
            .await
            .track_consignment(v1::TrackConsignmentRequest {
                consignment_id: id.to_hex(),
                resume_after_country: String::new(),
                resume_after_seq: 0,
            })
            .await
            .unwrap()
            .into_inner();
        tokio::spawn(collect(stream))
    };
    for code in &c.route {
        pass(&sb, &c, &id, code).await;
    }
    let live = live.await.unwrap();

    let events = track(&sb, &id, None).await;
    assert_eq!(live, events, "live and recorded events are the same");
    let pos = |code: &str| c.route.iter().position(|r| r == code).unwrap();
    for w in events.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(
            pos(&a.country) <= pos(&b.country),
            "{} #{} before {} #{}",
            a.country,
            a.seq,
            b.country,
            b.seq
        );
        if a.country == b.country {
            assert!(a.seq < b.seq, "{} #{} before #{}", a.country, a.seq, b.seq);
        }
    }
    for (i, code) in c.route.iter().enumerate() {
        let here: Vec<&v1::ConsignmentEvent> =
            events.iter().filter(|e| &e.country == code).collect();
        let all = sb.view(code, &id).await.events;
        assert_eq!(
            here.iter().map(|e| e.seq).collect::<Vec<_>>(),
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            "every event of {code}"
        );
        let opened = if i == 0 {
            node_kind::DECLARATION_ACCEPTED
        } else {
            node_kind::ADVANCE_RECEIVED
        };
        assert_eq!(here[0].kind, opened, "at {code}");
        let last = here[here.len() - 1];
        if i + 1 < c.route.len() {
            assert_eq!(
                (last.kind.as_str(), last.state()),
                (node_kind::ADVANCE_ACKNOWLEDGED, S::HandedOver),
                "at {code}"
            );
        }
    }
    let end = events.last().unwrap();
    assert_eq!(
        (end.country.as_str(), end.kind.as_str(), end.state()),
        ("TR", node_kind::CONSIGNMENT_COMPLETED, S::Completed)
    );

    // Resumable after any event: exactly the events after it.
    for i in [0, events.len() / 2, events.len() - 2, events.len() - 1] {
        let e = &events[i];
        let rest = track(&sb, &id, Some((&e.country, e.seq))).await;
        assert_eq!(
            rest,
            events[i + 1..],
            "resumed after event {i} ({} #{})",
            e.country,
            e.seq
        );
    }
    // After each country's last event, too: the next country's events follow.
    for code in &c.route[..c.route.len() - 1] {
        let i = events.iter().rposition(|e| &e.country == code).unwrap();
        let rest = track(&sb, &id, Some((code, events[i].seq))).await;
        assert_eq!(rest, events[i + 1..], "resumed after {code}'s last event");
    }
    // A node's own watch from past the end of a consignment that is over there ends at once.
    let past = sb
        .node("TR")
        .await
        .watch_consignment(v1::WatchConsignmentRequest {
            consignment_id: id.to_hex(),
            from_sequence: end.seq + 1,
            follow: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(collect(past).await, []);
    refused(
        sb.declarant()
            .await
            .track_consignment(v1::TrackConsignmentRequest {
                consignment_id: id.to_hex(),
                resume_after_country: "GE".into(),
                resume_after_seq: 1,
            })
            .await,
        Code::InvalidArgument,
        &[
            "resume_after_country",
            "GE is not on the consignment's route",
        ],
    );

    let s = status(&sb, &id).await;
    let states: Vec<(&str, S)> = s
        .nodes
        .iter()
        .map(|v| (v.country.as_str(), v.state()))
        .collect();
    assert_eq!(
        states,
        [
            ("CN", S::HandedOver),
            ("KZ", S::HandedOver),
            ("AZ", S::HandedOver),
            ("TR", S::Completed)
        ]
    );
    assert!(s.unreachable.is_empty(), "{:?}", s.unreachable);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_to_order_bill_is_transferred_endorsed_surrendered_and_spent_once() {
    let sb = started().await;
    let mut c = plain_consignment(1, &topology_parties());
    {
        let b = c.request.bill_of_lading.as_mut().unwrap();
        b.to_order = true;
        b.consignee = None;
        assert!(
            b.notify_party.is_some(),
            "a to-order bill names a notify party"
        );
    }
    // The rule of the bill itself: a to-order bill names no consignee.
    let mut with_consignee = c.request.clone();
    with_consignee.bill_of_lading.as_mut().unwrap().consignee =
        plain_consignment(2, &topology_parties())
            .request
            .bill_of_lading
            .unwrap()
            .consignee;
    refused(
        submit(&sb, with_consignee).await,
        Code::InvalidArgument,
        &[
            "bill_of_lading.consignee",
            "must be absent on a to-order bill",
        ],
    );
    let r = submit(&sb, c.request.clone()).await.unwrap();
    let bill_id = hex(&r.bill_of_lading_id);
    let issued = bill(&sb, &r.bill_of_lading_id).await;
    assert_eq!(
        (issued.holder.as_str(), issued.last_action.as_str()),
        (TOPOLOGY_SHIPPER, "ISSUE")
    );
    let shipper = sb.operator_key(TOPOLOGY_SHIPPER);
    let forwarder = sb.operator_key(TOPOLOGY_FORWARDER);
    let consignee = sb.operator_key(TOPOLOGY_CONSIGNEE);
    let carrier = sb.operator_key(TOPOLOGY_CARRIER);

    // TRANSFER: the shipper passes possession to the forwarder.
    let first = next(&issued, TransferAction::Transfer, TOPOLOGY_FORWARDER);
    let moved = transfer(&sb, &first, &shipper).await.unwrap();
    assert_eq!(
        (
            moved.holder.as_str(),
            moved.last_action.as_str(),
            moved.chain.len(),
            moved.spent
        ),
        (TOPOLOGY_FORWARDER, "TRANSFER", 2, false)
    );
    let size = sb.declarant_ledger_size().await;

    // The same entry again: the same record, nothing written.
    assert_eq!(transfer(&sb, &first, &shipper).await.unwrap(), moved);
    assert_eq!(sb.declarant_ledger_size().await, size);

    // A second, different entry from the same holder state: a double spend.
    let second = next(&issued, TransferAction::Transfer, TOPOLOGY_AZ_FORWARDER);
    assert_eq!(second.seq, first.seq);
    refused(
        transfer(&sb, &second, &shipper).await,
        Code::FailedPrecondition,
        &[
            "double spend",
            &format!("entry 1 of bill {bill_id}"),
            &format!("TRANSFER by {TOPOLOGY_SHIPPER} to {TOPOLOGY_FORWARDER}"),
        ],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);

    // Not the holder. An entry in the holder's name signed with another operator's key is
    // not the holder's act: its signature is not by the actor it names (Unauthenticated,
    // checked first, before anything about the bill).
    let forged = next(&moved, TransferAction::Endorse, TOPOLOGY_CONSIGNEE);
    refused(
        transfer(&sb, &forged, &shipper).await,
        Code::Unauthenticated,
        &[&format!(
            "entry is not signed by {TOPOLOGY_FORWARDER} with a key valid at"
        )],
    );
    // An entry the former holder signs in its own name, correctly: the signature is good,
    // but it does not hold the bill any more (PermissionDenied).
    let mut parts: TransferEntryParts =
        next(&moved, TransferAction::Endorse, TOPOLOGY_CONSIGNEE).into_parts();
    parts.actor = op(TOPOLOGY_SHIPPER);
    parts.from_holder = Some(op(TOPOLOGY_SHIPPER));
    let not_holder = TransferEntry::new(parts).unwrap();
    refused(
        transfer(&sb, &not_holder, &shipper).await,
        Code::PermissionDenied,
        &[&format!(
            "{TOPOLOGY_SHIPPER} does not hold bill {bill_id}: {TOPOLOGY_FORWARDER} does"
        )],
    );
    // The carrier's answer before any surrender.
    let early = {
        let (id, t) = tip(&moved);
        TransferEntry::new(TransferEntryParts {
            document_id: bill_id,
            seq: t.seq + 1,
            prev_entry_hash: Some(id),
            action: TransferAction::SurrenderAccepted,
            actor: op(TOPOLOGY_FORWARDER),
            from_holder: Some(op(TOPOLOGY_FORWARDER)),
            to_holder: op(TOPOLOGY_FORWARDER),
            time_unix_micros: now(),
            reason: None,
        })
        .unwrap()
    };
    refused(
        transfer(&sb, &early, &forwarder).await,
        Code::FailedPrecondition,
        &["SURRENDER_ACCEPTED answers a SURRENDER_FOR_DELIVERY"],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(bill(&sb, &r.bill_of_lading_id).await, moved);

    // ENDORSE: the forwarder endorses the to-order bill to the consignee, who gains title.
    let endorsed = transfer(
        &sb,
        &next(&moved, TransferAction::Endorse, TOPOLOGY_CONSIGNEE),
        &forwarder,
    )
    .await
    .unwrap();
    assert_eq!(
        (endorsed.holder.as_str(), endorsed.last_action.as_str()),
        (TOPOLOGY_CONSIGNEE, "ENDORSE")
    );
    // SURRENDER_FOR_DELIVERY: the consignee surrenders it to the carrier.
    let surrendered = transfer(
        &sb,
        &next(
            &endorsed,
            TransferAction::SurrenderForDelivery,
            TOPOLOGY_CARRIER,
        ),
        &consignee,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            surrendered.holder.as_str(),
            surrendered.last_action.as_str(),
            surrendered.spent
        ),
        (TOPOLOGY_CARRIER, "SURRENDER_FOR_DELIVERY", false)
    );
    // SURRENDER_ACCEPTED, signed by the carrier as actor: the bill is spent.
    let accept = next(
        &surrendered,
        TransferAction::SurrenderAccepted,
        TOPOLOGY_CARRIER,
    );
    assert_eq!(accept.actor, op(TOPOLOGY_CARRIER));
    refused(
        transfer(&sb, &accept, &consignee).await,
        Code::Unauthenticated,
        &[&format!(
            "entry is not signed by {TOPOLOGY_CARRIER} with a key valid at"
        )],
    );
    let spent = transfer(&sb, &accept, &carrier).await.unwrap();
    assert_eq!(
        (
            spent.holder.as_str(),
            spent.last_action.as_str(),
            spent.chain.len(),
            spent.spent
        ),
        (TOPOLOGY_CARRIER, "SURRENDER_ACCEPTED", 5, true)
    );
    assert_eq!(bill(&sb, &r.bill_of_lading_id).await, spent);
    let size = sb.declarant_ledger_size().await;

    // Nothing follows a spent bill.
    let after = {
        let (id, t) = tip(&spent);
        TransferEntry::new(TransferEntryParts {
            document_id: bill_id,
            seq: t.seq + 1,
            prev_entry_hash: Some(id),
            action: TransferAction::Transfer,
            actor: op(TOPOLOGY_CARRIER),
            from_holder: Some(op(TOPOLOGY_CARRIER)),
            to_holder: op(TOPOLOGY_SHIPPER),
            time_unix_micros: now(),
            reason: None,
        })
        .unwrap()
    };
    refused(
        transfer(&sb, &after, &carrier).await,
        Code::FailedPrecondition,
        &["surrender accepted: no entry may follow"],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);

    // The platform's record of the bill: issue and four entries, each signed by its actor.
    assert_eq!(
        kinds(&sb.declarant_entries(&bill_id).await),
        [
            kind::BILL,
            kind::TRANSFER,
            kind::TRANSFER,
            kind::TRANSFER,
            kind::TRANSFER,
            kind::TRANSFER
        ]
    );
    let signers = [
        TOPOLOGY_CARRIER,
        TOPOLOGY_SHIPPER,
        TOPOLOGY_FORWARDER,
        TOPOLOGY_CONSIGNEE,
        TOPOLOGY_CARRIER,
    ];
    for (e, signer) in spent.chain.iter().zip(signers) {
        let env: Envelope = e.clone().try_into().unwrap();
        env.verify_by(&sb.operator_key(signer).public()).unwrap();
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_for_a_party_that_no_longer_holds_the_bill_is_refused_at_the_first_node() {
    let sb = started().await;
    let c = plain_consignment(1, &topology_parties());
    let r = submit(&sb, c.request.clone()).await.unwrap();
    let id = hex(&r.consignment_id);
    // The first declaration is withdrawn, so that the bill is free to declare again.
    assert_eq!(
        cancel(&sb, &id, "re-declared by the bill's next holder")
            .await
            .unwrap()
            .state(),
        S::Cancelled
    );
    let issued = bill(&sb, &r.bill_of_lading_id).await;
    let moved = transfer(
        &sb,
        &next(&issued, TransferAction::Transfer, TOPOLOGY_FORWARDER),
        &sb.operator_key(TOPOLOGY_SHIPPER),
    )
    .await
    .unwrap();
    assert_eq!(moved.holder, TOPOLOGY_FORWARDER);

    // Declared again, by the forwarder for the shipper (who co-signs): the shipper no longer
    // holds the bill. Times and the bill's id are given, so the id is known beforehand.
    let mut d = c.request.declaration.clone().unwrap();
    d.declaration_reference = "XSRE-D-000002".into();
    d.bill_of_lading_id = hex(&r.bill_of_lading_id).as_bytes().to_vec();
    d.created_at_unix_micros = now();
    let expected = Digest::of(&corridor_proto::encode_declaration(
        &Declaration::try_from(d.clone()).unwrap(),
    ));
    let request = v1::SubmitConsignmentRequest {
        bill_of_lading: None,
        bill_of_lading_id: r.bill_of_lading_id.clone(),
        declaration: Some(d.clone()),
        ..Default::default()
    };
    let cn = sb.ledger_size("CN").await;
    let s = refused(
        submit(&sb, request.clone()).await,
        Code::PermissionDenied,
        &[
            "customs node: ",
            &format!(
                "the bill is held by {TOPOLOGY_FORWARDER}, not by {TOPOLOGY_SHIPPER}: the declarant neither holds it nor acts for its holder"
            ),
        ],
    );
    assert!(s.message().starts_with("customs node: "), "{}", s.message());
    assert_eq!(consignment_in(s.message()), expected);
    assert_eq!(sb.ledger_size("CN").await, cn, "the node wrote nothing");

    let st = status(&sb, &expected).await;
    assert_eq!(st.submission(), SubmissionState::Refused);
    assert!(
        st.detail
            .starts_with("PermissionDenied: the bill is held by"),
        "{}",
        st.detail
    );
    assert!(st.detail.contains(TOPOLOGY_FORWARDER), "{}", st.detail);
    assert!(st.nodes.is_empty(), "{:?}", st.nodes);
    assert!(st.unreachable.is_empty(), "{:?}", st.unreachable);
    assert_eq!(
        kinds(&sb.declarant_entries(&expected).await),
        [kind::SUBMITTED, kind::OUTCOME]
    );

    // The same request again: the recorded refusal, nothing sent or written.
    let size = sb.declarant_ledger_size().await;
    refused(
        submit(&sb, request).await,
        Code::FailedPrecondition,
        &[&format!(
            "consignment {expected} was refused by the first node"
        )],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(sb.ledger_size("CN").await, cn);

    // The holder declares it itself: accepted.
    d.declaration_reference = "XSRE-D-000003".into();
    d.declarant_operator_id = TOPOLOGY_FORWARDER.into();
    d.holder_operator_id = TOPOLOGY_FORWARDER.into();
    let ok = submit(
        &sb,
        v1::SubmitConsignmentRequest {
            bill_of_lading: None,
            bill_of_lading_id: r.bill_of_lading_id.clone(),
            declaration: Some(d),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ok.bill_of_lading_id, r.bill_of_lading_id);
    assert_eq!(ok.first_node.unwrap().state(), S::AwaitingArrival);
    let st = status(&sb, &hex(&ok.consignment_id)).await;
    assert_eq!(st.submission(), SubmissionState::Accepted);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_is_cancelled_before_arrival_at_the_first_border_and_not_after() {
    let sb = started().await;
    let c = plain_consignment(1, &topology_parties());
    let id = hex(&submit(&sb, c.request.clone()).await.unwrap().consignment_id);
    let size = sb.declarant_ledger_size().await;

    refused(
        cancel(&sb, &id, "  ").await,
        Code::InvalidArgument,
        &["reason"],
    );
    refused(
        cancel(&sb, &Digest::of(b"never submitted"), "withdrawn").await,
        Code::NotFound,
        &["was not submitted here"],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);

    let r = cancel(&sb, &id, "order withdrawn by the buyer")
        .await
        .unwrap();
    assert_eq!(r.consignment_id, id.to_hex());
    assert_eq!(r.state(), S::Cancelled);
    assert_eq!(sb.view("CN", &id).await.state(), S::Cancelled);
    let s = status(&sb, &id).await;
    assert_eq!(s.submission(), SubmissionState::Cancelled);
    assert_eq!(s.nodes[0].state(), S::Cancelled);
    assert_eq!(
        kinds(&sb.declarant_entries(&id).await),
        [kind::SUBMITTED, kind::OUTCOME, kind::CANCELLED]
    );
    // The cancelled consignment's trace verifies: the cancellation entry is signed by its
    // declarant.
    let traced = corridor_audit::Corpus::load(
        sb.topology.clone(),
        corridor_audit::Source::Remote,
        Some(&id.to_hex()),
    )
    .await
    .unwrap()
    .trace(&id);
    assert_eq!(traced.problems, Vec::<String>::new(), "{:#?}", traced.lines);
    assert!(
        traced
            .lines
            .iter()
            .any(|l| l.contains("declaration.cancelled") && l.contains("signed by CN")),
        "{:#?}",
        traced.lines
    );
    let cn = sb.ledger_size("CN").await;
    refused(
        sb.arrive("CN", &id, c.seals.clone()).await,
        Code::FailedPrecondition,
        &["it is cancelled"],
    );
    refused(
        cancel(&sb, &id, "again").await,
        Code::FailedPrecondition,
        &["already cancelled"],
    );
    assert_eq!(sb.ledger_size("CN").await, cn);
    assert_eq!(sb.declarant_ledger_size().await, size + 1);

    // After arrival: refused by the node, nothing written anywhere.
    let c2 = plain_consignment(2, &topology_parties());
    let id2 = hex(&submit(&sb, c2.request.clone())
        .await
        .unwrap()
        .consignment_id);
    let arrived = sb.arrive("CN", &id2, c2.seals.clone()).await.unwrap();
    let (size, cn) = (sb.declarant_ledger_size().await, sb.ledger_size("CN").await);
    refused(
        cancel(&sb, &id2, "too late").await,
        Code::FailedPrecondition,
        &[
            "customs node: ",
            "only before the goods arrive at the first border",
        ],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(sb.ledger_size("CN").await, cn);
    let s = status(&sb, &id2).await;
    assert_eq!(s.submission(), SubmissionState::Accepted);
    assert_eq!(s.nodes[0].state(), arrived.state());
    sb.stop().await;
}

/// The parts of a status the declarant answers from its own records, and each node's state.
fn own(s: &v1::ConsignmentStatus) -> v1::ConsignmentStatus {
    let mut s = s.clone();
    s.nodes = s
        .nodes
        .iter()
        .map(|v| v1::ConsignmentView {
            consignment_id: v.consignment_id.clone(),
            country: v.country.clone(),
            state: v.state,
            lane: v.lane,
            ..Default::default()
        })
        .collect();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_declarant_answers_the_same_after_a_restart_and_retries_a_pending_submission_once() {
    let mut sb = started().await;
    let c = plain_consignment(1, &topology_parties());
    let r = submit(&sb, c.request.clone()).await.unwrap();
    let id = hex(&r.consignment_id);
    let issued = bill(&sb, &r.bill_of_lading_id).await;
    transfer(
        &sb,
        &next(&issued, TransferAction::Transfer, TOPOLOGY_FORWARDER),
        &sb.operator_key(TOPOLOGY_SHIPPER),
    )
    .await
    .unwrap();
    let (before, record, platform) = (
        status(&sb, &id).await,
        bill(&sb, &r.bill_of_lading_id).await,
        sb.platform_status().await,
    );
    assert_eq!(
        (platform.bills, platform.submissions, platform.pending),
        (1, 1, 0)
    );

    // A client following the consignment when the declarant stops is told so, and resumes
    // after the last event it received once the declarant is back.
    let mut following = sb
        .declarant()
        .await
        .track_consignment(v1::TrackConsignmentRequest {
            consignment_id: id.to_hex(),
            resume_after_country: String::new(),
            resume_after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let recorded = sb.view("CN", &id).await.events;
    let mut received = Vec::new();
    while received.len() < recorded.len() {
        received.push(following.next().await.unwrap().unwrap());
    }
    assert_eq!(received, recorded);
    sb.stop_declarant().await;
    let stopped = following.next().await.unwrap().unwrap_err();
    assert_eq!(stopped.code(), Code::Unavailable, "{}", stopped.message());
    assert!(
        stopped.message().contains("the declarant is stopping"),
        "{}",
        stopped.message()
    );
    sb.restart_declarant().await;
    assert_eq!(own(&status(&sb, &id).await), own(&before));
    assert_eq!(bill(&sb, &r.bill_of_lading_id).await, record);
    let again = sb.platform_status().await;
    assert_eq!(
        (
            again.ledger_size,
            again.bills,
            again.submissions,
            again.pending,
            &again.operators
        ),
        (
            platform.ledger_size,
            platform.bills,
            platform.submissions,
            platform.pending,
            &platform.operators
        )
    );

    let last = &received[received.len() - 1];
    let resumed = sb
        .declarant()
        .await
        .track_consignment(v1::TrackConsignmentRequest {
            consignment_id: id.to_hex(),
            resume_after_country: last.country.clone(),
            resume_after_seq: last.seq,
        })
        .await
        .unwrap()
        .into_inner();
    sb.arrive("CN", &id, c.seals.clone()).await.unwrap();
    let mut resumed = resumed;
    let arrival = resumed.next().await.unwrap().unwrap();
    assert_eq!(
        (arrival.country.as_str(), arrival.kind.as_str()),
        ("CN", node_kind::BORDER_ARRIVAL)
    );
    assert_eq!(
        arrival.seq,
        sb.view("CN", &id).await.events[recorded.len()].seq
    );
    drop(resumed);

    // The first node is down: the submission is recorded, pending, and its id given. (Its
    // times are given, so that the same request can be sent again.)
    sb.stop_node("CN").await;
    let mut c2 = plain_consignment(2, &topology_parties());
    c2.request
        .bill_of_lading
        .as_mut()
        .unwrap()
        .issued_at_unix_micros = now();
    c2.request
        .declaration
        .as_mut()
        .unwrap()
        .created_at_unix_micros = now();
    let unreached = [
        "is recorded, but the customs node of CN could not be reached",
        "it is retried when the declarant restarts",
    ];
    let s = refused(
        submit(&sb, c2.request.clone()).await,
        Code::Unavailable,
        &unreached,
    );
    let id2 = consignment_in(s.message());
    // The same request again, the node still down: sent again, and still not answered.
    let s = refused(
        submit(&sb, c2.request.clone()).await,
        Code::Unavailable,
        &unreached,
    );
    assert_eq!(consignment_in(s.message()), id2);
    let p = sb.platform_status().await;
    assert_eq!((p.submissions, p.pending), (2, 1));
    let st = status(&sb, &id2).await;
    assert_eq!(st.submission(), SubmissionState::Pending);
    assert_eq!(st.declaration_reference, "XSRE-D-000002");
    assert!(st.nodes.is_empty(), "{:?}", st.nodes);
    assert!(
        st.unreachable.len() == 1 && st.unreachable[0].starts_with("CN: "),
        "{:?}",
        st.unreachable
    );
    assert_eq!(kinds(&sb.declarant_entries(&id2).await), [kind::SUBMITTED]);

    // The node back, the declarant restarted: the pending submission is sent once.
    sb.restart_node("CN").await;
    sb.stop_declarant().await;
    sb.restart_declarant().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sb.platform_status().await.pending > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pending submission was not retried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = sb.wait_for("CN", &id2, S::AwaitingArrival).await;
    assert_eq!(seen[0].kind, node_kind::DECLARATION_ACCEPTED);
    let st = status(&sb, &id2).await;
    assert_eq!(st.submission(), SubmissionState::Accepted);
    let assessed = sb.view("CN", &id2).await.events;
    assert_eq!(
        st.detail,
        format!("entry {} at CN", assessed[assessed.len() - 1].seq)
    );
    assert_eq!(st.nodes[0].state(), S::AwaitingArrival);
    assert_eq!(
        kinds(&sb.declarant_entries(&id2).await),
        [kind::SUBMITTED, kind::OUTCOME]
    );

    // The same request again: the first node's answer.
    let again = submit(&sb, c2.request.clone()).await.unwrap();
    assert_eq!(again.consignment_id, id2.to_hex());
    assert_eq!(
        again.first_node.map(|r| (r.state(), r.seq)),
        Some((S::AwaitingArrival, assessed[assessed.len() - 1].seq))
    );

    // Answered: another restart sends nothing again.
    let cn = sb.ledger_size("CN").await;
    let size = sb.declarant_ledger_size().await;
    sb.stop_declarant().await;
    sb.restart_declarant().await;
    assert_eq!(sb.platform_status().await.pending, 0);
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(sb.ledger_size("CN").await, cn);
    let declared = sb
        .subject_entries("CN", &id2)
        .await
        .iter()
        .filter(|e| e.kind == node_kind::DECLARATION_ACCEPTED)
        .count();
    assert_eq!(declared, 1);
    // And it clears like any other.
    for code in &c2.route {
        pass(&sb, &c2, &id2, code).await;
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_plain_data_is_refused_before_anything_is_recorded() {
    let sb = started().await;
    let c = plain_consignment(1, &topology_parties());
    let size = sb.declarant_ledger_size().await;
    let cn = sb.ledger_size("CN").await;
    let with = |f: &dyn Fn(&mut v1::SubmitConsignmentRequest)| {
        let mut r = c.request.clone();
        f(&mut r);
        r
    };

    let cases: Vec<(v1::SubmitConsignmentRequest, Code, Vec<String>)> = vec![
        (
            with(&|r| r.declaration.as_mut().unwrap().items[0].hs_code = "7700000000".into()),
            Code::InvalidArgument,
            vec![
                "declaration.items[0].hs_code".into(),
                "HS chapter 77 does not exist".into(),
            ],
        ),
        (
            with(&|r| {
                r.bill_of_lading.as_mut().unwrap().consignment_items[1].hs_code = "85".into()
            }),
            Code::InvalidArgument,
            vec![
                "bill_of_lading.consignment_items[1].hs_code".into(),
                "an HS code is 6 to 10 digits".into(),
            ],
        ),
        (
            with(&|r| r.declaration.as_mut().unwrap().items[0].gross_weight_grams += 1),
            Code::InvalidArgument,
            vec!["declaration.items[0].gross_weight_grams".into()],
        ),
        (
            with(&|r| {
                r.bill_of_lading
                    .as_mut()
                    .unwrap()
                    .carrier
                    .as_mut()
                    .unwrap()
                    .operator_id = "KZ999999999999".into()
            }),
            Code::PermissionDenied,
            vec![
                "the declarant does not act for KZ999999999999 (carrier): it holds no key of it"
                    .into(),
            ],
        ),
        (
            with(&|r| {
                r.declaration.as_mut().unwrap().declarant_operator_id = "AZ9999999999".into()
            }),
            Code::PermissionDenied,
            vec!["the declarant does not act for AZ9999999999 (declarant)".into()],
        ),
        (
            with(&|r| r.bill_of_lading = None),
            Code::InvalidArgument,
            vec!["bill_of_lading: required".into()],
        ),
        (
            with(&|r| r.bill_of_lading_id = Digest::of(b"a bill").to_hex()),
            Code::InvalidArgument,
            vec![
                "bill_of_lading_id: give the bill one way only".into(),
                "the request gives bill_of_lading and bill_of_lading_id".into(),
            ],
        ),
        (
            with(&|r| {
                r.bill_of_lading = None;
                r.bill_of_lading_id = Digest::of(b"a bill").to_hex();
            }),
            Code::NotFound,
            vec!["is not on this platform".into()],
        ),
    ];
    for (request, code, parts) in cases {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        refused(submit(&sb, request).await, code, &parts);
        assert_eq!(sb.declarant_ledger_size().await, size, "{parts:?}");
    }
    let p = sb.platform_status().await;
    assert_eq!((p.bills, p.submissions, p.pending), (0, 0, 0));
    assert_eq!(sb.ledger_size("CN").await, cn);
    sb.stop().await;
}

/// The parties of the topology, but a carrier that is not one of them: registered in the
/// registry with its own key, which the declarant does not hold.
fn with_own_carrier() -> Parties<'static> {
    Parties {
        carrier: CARRIER_ID,
        ..topology_parties()
    }
}

/// A sandbox with the topology's operators and [`CARRIER_ID`] registered (every service
/// knowing them), and the carrier's key.
async fn started_with_own_carrier() -> (Sandbox, SigningKey) {
    let mut sb = started().await;
    let carrier = sb.register(CARRIER_ID).await;
    sb.sync().await;
    let operators = sb.platform_status().await.operators;
    assert!(
        !operators.iter().any(|o| o == CARRIER_ID),
        "the declarant holds no key of the carrier: {operators:?}"
    );
    (sb, carrier)
}

/// The bill id a request presents, and its chain's last entry with its document id.
fn presented(r: &v1::SubmitConsignmentRequest) -> (Digest, (Digest, TransferEntry)) {
    let env: Envelope = r
        .bill_of_lading_envelope
        .clone()
        .unwrap()
        .try_into()
        .unwrap();
    (
        env.document_id(),
        entry_of(r.transfer_chain.last().unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bill_its_carrier_signed_elsewhere_is_declared_kept_across_a_restart_and_clears_the_corridor()
 {
    let (mut sb, carrier) = started_with_own_carrier().await;
    let c = plain_consignment(1, &with_own_carrier());
    let request = carrier_signed(&c, &carrier, now());
    let (bill_id, _) = presented(&request);
    let r = submit(&sb, request.clone()).await.unwrap();
    let id = hex(&r.consignment_id);
    assert_eq!(r.bill_of_lading_id, bill_id.to_hex());
    assert_eq!(r.first_node.clone().unwrap().state(), S::AwaitingArrival);

    // On the platform exactly as presented, as one it issued itself.
    let b = bill(&sb, &r.bill_of_lading_id).await;
    assert_eq!(b.bill_of_lading, request.bill_of_lading_envelope);
    assert_eq!(b.chain, request.transfer_chain);
    assert_eq!(
        (b.holder.as_str(), b.last_action.as_str(), b.spent),
        (TOPOLOGY_SHIPPER, "ISSUE", false)
    );
    assert_eq!(
        kinds(&sb.declarant_entries(&bill_id).await),
        [kind::BILL, kind::TRANSFER]
    );
    assert_eq!(
        kinds(&sb.declarant_entries(&id).await),
        [kind::SUBMITTED, kind::OUTCOME]
    );
    // The first node has the carrier's own signature, and the declaration the declarant
    // signed for the shipper.
    let at_cn = sb.subject_entries("CN", &id).await;
    let bill_at_cn = at_cn
        .iter()
        .find(|e| e.kind == node_kind::BILL_PRESENTED)
        .unwrap();
    let benv = corridor_proto::decode_envelope(&bill_at_cn.envelope).unwrap();
    assert_eq!(benv.document_id(), bill_id);
    benv.verify_by(&carrier.public()).unwrap();
    let denv = corridor_proto::decode_envelope(&at_cn[0].envelope).unwrap();
    for signer in [TOPOLOGY_FORWARDER, TOPOLOGY_SHIPPER] {
        denv.verify_by(&sb.operator_key(signer).public()).unwrap();
    }

    // The same request again: that bill and that declaration, nothing written.
    let size = sb.declarant_ledger_size().await;
    let again = submit(&sb, request.clone()).await.unwrap();
    assert_eq!(again.consignment_id, r.consignment_id);
    assert_eq!(sb.declarant_ledger_size().await, size);

    // Another declaration of it: the bill as recorded, refused by the first node as any
    // second declaration of a bill is (the submission and its outcome recorded).
    let mut second = request.clone();
    second.declaration.as_mut().unwrap().declaration_reference = "XSRE-D-000002".into();
    refused(
        submit(&sb, second).await,
        Code::AlreadyExists,
        &[
            "customs node: ",
            &format!("bill {bill_id} is already declared in consignment {id}"),
        ],
    );
    assert_eq!(
        kinds(&sb.declarant_entries(&bill_id).await),
        [kind::BILL, kind::TRANSFER]
    );

    for code in &c.route {
        pass(&sb, &c, &id, code).await;
    }
    assert_eq!(sb.view("TR", &id).await.state(), S::Completed);

    // A restart keeps the bill, and TransferBill extends it.
    let before = (
        bill(&sb, &r.bill_of_lading_id).await,
        status(&sb, &id).await,
    );
    sb.stop_declarant().await;
    sb.restart_declarant().await;
    assert_eq!(bill(&sb, &r.bill_of_lading_id).await, before.0);
    assert_eq!(own(&status(&sb, &id).await), own(&before.1));
    let moved = transfer(
        &sb,
        &next(&before.0, TransferAction::Transfer, TOPOLOGY_FORWARDER),
        &sb.operator_key(TOPOLOGY_SHIPPER),
    )
    .await
    .unwrap();
    assert_eq!(
        (moved.holder.as_str(), moved.chain.len()),
        (TOPOLOGY_FORWARDER, 2)
    );
    assert_eq!(moved.chain[0], request.transfer_chain[0]);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presented_chain_that_extends_the_record_is_recorded_and_one_that_conflicts_is_a_double_spend()
 {
    let (sb, carrier) = started_with_own_carrier().await;
    let c = plain_consignment(1, &with_own_carrier());
    let first = carrier_signed(&c, &carrier, now());
    let (bill_id, (issue_id, issue)) = presented(&first);
    let r = submit(&sb, first.clone()).await.unwrap();
    // Withdrawn, so that the bill is free to declare again.
    cancel(&sb, &hex(&r.consignment_id), "sold on to the forwarder")
        .await
        .unwrap();

    // The shipper transfers it to the forwarder on the carrier's platform; the forwarder
    // declares it for itself with the chain as it now stands.
    let shipper = sb.operator_key(TOPOLOGY_SHIPPER);
    let moved = issue
        .next(
            issue_id,
            TransferAction::Transfer,
            op(TOPOLOGY_FORWARDER),
            now(),
            None,
        )
        .unwrap();
    let mut extended = first.clone();
    extended.transfer_chain.push(signed_entry(&moved, &shipper));
    {
        let d = extended.declaration.as_mut().unwrap();
        d.declaration_reference = "XSRE-D-000002".into();
        d.declarant_operator_id = TOPOLOGY_FORWARDER.into();
        d.holder_operator_id = TOPOLOGY_FORWARDER.into();
    }
    let r2 = submit(&sb, extended.clone()).await.unwrap();
    assert_eq!(r2.bill_of_lading_id, r.bill_of_lading_id);
    assert_eq!(r2.first_node.unwrap().state(), S::AwaitingArrival);
    let b = bill(&sb, &r.bill_of_lading_id).await;
    assert_eq!(b.chain, extended.transfer_chain);
    assert_eq!(b.holder, TOPOLOGY_FORWARDER);
    assert_eq!(
        kinds(&sb.declarant_entries(&bill_id).await),
        [kind::BILL, kind::TRANSFER, kind::TRANSFER]
    );

    // Another transfer from the shipper's holder state: a double spend, nothing recorded.
    let size = sb.declarant_ledger_size().await;
    let elsewhere = issue
        .next(
            issue_id,
            TransferAction::Transfer,
            op(TOPOLOGY_AZ_FORWARDER),
            now(),
            None,
        )
        .unwrap();
    let mut conflicting = extended.clone();
    conflicting.transfer_chain[1] = signed_entry(&elsewhere, &shipper);
    {
        let d = conflicting.declaration.as_mut().unwrap();
        d.declaration_reference = "XSRE-D-000003".into();
        d.declarant_operator_id = TOPOLOGY_AZ_FORWARDER.into();
        d.holder_operator_id = TOPOLOGY_AZ_FORWARDER.into();
    }
    refused(
        submit(&sb, conflicting).await,
        Code::FailedPrecondition,
        &[
            &format!("transfer_chain[1]: double spend: entry 1 of bill {bill_id}"),
            &format!("TRANSFER by {TOPOLOGY_SHIPPER} to {TOPOLOGY_FORWARDER}"),
        ],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(bill(&sb, &r.bill_of_lading_id).await, b);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presented_bill_and_chain_are_refused_as_the_first_node_refuses_them_and_nothing_is_recorded()
 {
    let (sb, carrier) = started_with_own_carrier().await;
    let c = plain_consignment(1, &with_own_carrier());
    let base = carrier_signed(&c, &carrier, now());
    let (bill_id, (issue_id, issue)) = presented(&base);
    let shipper = sb.operator_key(TOPOLOGY_SHIPPER);
    let forwarder = sb.operator_key(TOPOLOGY_FORWARDER);
    // The shipper's transfer to the forwarder, right and wrong.
    let moved = issue
        .next(
            issue_id,
            TransferAction::Transfer,
            op(TOPOLOGY_FORWARDER),
            now(),
            None,
        )
        .unwrap();
    let with_parts = |change: &dyn Fn(&mut TransferEntryParts)| {
        let mut p = moved.clone().into_parts();
        change(&mut p);
        TransferEntry::new(p).unwrap()
    };
    let unlinked = with_parts(&|p| p.prev_entry_hash = Some(Digest::of(b"elsewhere")));
    let by_forwarder = with_parts(&|p| {
        p.actor = op(TOPOLOGY_FORWARDER);
        p.from_holder = Some(op(TOPOLOGY_FORWARDER));
        p.to_holder = op(TOPOLOGY_AZ_FORWARDER);
    });
    let surrendered = issue
        .next(
            issue_id,
            TransferAction::SurrenderForDelivery,
            op(CARRIER_ID),
            now(),
            None,
        )
        .unwrap();
    let surrender = signed_entry(&surrendered, &shipper);
    let accepted = surrendered
        .next(
            entry_of(&surrender).0,
            TransferAction::SurrenderAccepted,
            op(CARRIER_ID),
            now(),
            None,
        )
        .unwrap();
    let with = |f: &dyn Fn(&mut v1::SubmitConsignmentRequest)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    let chain = |entries: Vec<v1::Envelope>| {
        let mut r = base.clone();
        r.transfer_chain = entries;
        r
    };
    let issue_env = base.transfer_chain[0].clone();
    let mut mistyped = signed_entry(&moved, &shipper);
    mistyped.payload_type = pt::DECLARATION.into();
    let key_id = carrier.public().id();

    let cases: Vec<(v1::SubmitConsignmentRequest, Code, Vec<String>)> = vec![
        (
            with(&|r| r.bill_of_lading = c.request.bill_of_lading.clone()),
            Code::InvalidArgument,
            vec![
                "bill_of_lading_envelope: give the bill one way only".into(),
                "the request gives bill_of_lading and bill_of_lading_envelope".into(),
            ],
        ),
        (
            with(&|r| r.transfer_chain.clear()),
            Code::InvalidArgument,
            vec![
                "transfer_chain: the bill's transfer chain is required, from its ISSUE entry on"
                    .into(),
            ],
        ),
        (
            with(&|r| {
                r.bill_of_lading_envelope.as_mut().unwrap().payload_type = pt::TRANSFER_ENTRY.into()
            }),
            Code::InvalidArgument,
            vec![format!(
                "bill_of_lading_envelope.payload_type: expected {:?}, got {:?}",
                pt::BILL_OF_LADING,
                pt::TRANSFER_ENTRY
            )],
        ),
        (
            chain(vec![issue_env.clone(), mistyped]),
            Code::InvalidArgument,
            vec![format!(
                "transfer_chain[1].payload_type: expected {:?}, got {:?}",
                pt::TRANSFER_ENTRY,
                pt::DECLARATION
            )],
        ),
        (
            with(&|r| r.bill_of_lading_envelope.as_mut().unwrap().signatures[0].sig[0] ^= 1),
            Code::Unauthenticated,
            vec![format!(
                "bill_of_lading_envelope: signature of {CARRIER_ID}: "
            )],
        ),
        (
            carrier_signed(&c, &carrier, now() - DAY),
            Code::Unauthenticated,
            vec![
                format!(
                    "bill_of_lading_envelope is not signed by {CARRIER_ID} with a key valid at"
                ),
                format!("key {key_id} of operator {CARRIER_ID} is not yet valid"),
            ],
        ),
        (
            chain(vec![issue_env.clone(), signed_entry(&moved, &forwarder)]),
            Code::Unauthenticated,
            vec![
                format!(
                    "transfer_chain[1] is not signed by {TOPOLOGY_SHIPPER} with a key valid at"
                ),
                format!("is not a key of operator {TOPOLOGY_SHIPPER}"),
            ],
        ),
        (
            chain(vec![signed_entry(&moved, &shipper)]),
            Code::InvalidArgument,
            vec!["transfer_chain[0].action: the chain starts with ISSUE".into()],
        ),
        (
            chain(vec![issue_env.clone(), signed_entry(&unlinked, &shipper)]),
            Code::InvalidArgument,
            vec![format!(
                "transfer_chain[1].prev_entry_hash: must be the previous entry's document id {issue_id}"
            )],
        ),
        (
            chain(vec![
                issue_env.clone(),
                signed_entry(&by_forwarder, &forwarder),
            ]),
            Code::PermissionDenied,
            vec![format!(
                "transfer_chain[1]: {TOPOLOGY_FORWARDER} does not hold bill {bill_id}: {TOPOLOGY_SHIPPER} does"
            )],
        ),
        (
            chain(vec![
                issue_env.clone(),
                surrender.clone(),
                signed_entry(&accepted, &carrier),
            ]),
            Code::FailedPrecondition,
            vec![format!(
                "bill {bill_id} has been surrendered and accepted: it is spent"
            )],
        ),
        // The declaration is the declarant's to sign, whoever signed the bill.
        (
            with(&|r| {
                r.declaration.as_mut().unwrap().declarant_operator_id = "AZ9999999999".into()
            }),
            Code::PermissionDenied,
            vec!["the declarant does not act for AZ9999999999 (declarant)".into()],
        ),
    ];
    let size = sb.declarant_ledger_size().await;
    let cn = sb.ledger_size("CN").await;
    for (request, code, parts) in cases {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        refused(submit(&sb, request).await, code, &parts);
        assert_eq!(sb.declarant_ledger_size().await, size, "{parts:?}");
    }
    let p = sb.platform_status().await;
    assert_eq!((p.bills, p.submissions, p.pending), (0, 0, 0));
    assert_eq!(sb.ledger_size("CN").await, cn);
    sb.stop().await;
}

/// The same submission sent many times at once is one consignment with one outcome: the
/// duplicates wait for the first and are answered with its receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_submission_sent_fifty_times_at_once_is_one_consignment_with_one_outcome() {
    let sb = started().await;
    let mut request = plain_consignment(1, &topology_parties()).request;
    let t = now();
    request
        .bill_of_lading
        .as_mut()
        .unwrap()
        .issued_at_unix_micros = t;
    request.declaration.as_mut().unwrap().created_at_unix_micros = t;
    let size = sb.declarant_ledger_size().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let mut client = sb.declarant().await;
        let request = request.clone();
        calls.spawn(async move { client.submit_consignment(request).await });
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut new = 0;
    while let Some(r) = calls.join_next().await {
        let r = r.unwrap().unwrap().into_inner();
        ids.insert(r.consignment_id.clone());
        new += usize::from(r.first_node.unwrap().new);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(new, 1, "one answer is the first node's new step");
    let id = hex(ids.first().unwrap());
    let entries = sb.declarant_entries(&id).await;
    assert_eq!(
        kinds(&entries),
        [kind::SUBMITTED, kind::OUTCOME],
        "{entries:#?}"
    );
    // The bill, its ISSUE entry, the submission and its outcome.
    assert_eq!(sb.declarant_ledger_size().await, size + 4);
    let p = sb.platform_status().await;
    assert_eq!((p.bills, p.submissions, p.pending), (1, 1, 0));
    sb.stop().await;
}

/// A declarant's declaration reference is unique: the same request again, its times left 0
/// (as `corridor declare --file` sends it), is the first consignment; the same reference
/// with other content is refused, and nothing is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_reference_names_one_consignment() {
    let sb = started().await;
    let request = plain_consignment(1, &topology_parties()).request;
    assert_eq!(
        request.declaration.as_ref().unwrap().created_at_unix_micros,
        0
    );
    let first = submit(&sb, request.clone()).await.unwrap();
    assert!(first.first_node.as_ref().unwrap().new);
    let size = sb.declarant_ledger_size().await;
    let cn = sb.ledger_size("CN").await;

    let again = submit(&sb, request.clone()).await.unwrap();
    assert_eq!(again.consignment_id, first.consignment_id);
    assert_eq!(again.bill_of_lading_id, first.bill_of_lading_id);
    let receipt = again.first_node.unwrap();
    assert!(!receipt.new);
    assert_eq!(
        receipt.entry_hash,
        first.first_node.as_ref().unwrap().entry_hash
    );
    assert_eq!(sb.declarant_ledger_size().await, size);

    let mut other = request;
    other.declaration.as_mut().unwrap().items[0].description_of_goods =
        "Sodium-ion accumulators".into();
    other.bill_of_lading.as_mut().unwrap().consignment_items[0].description_of_goods =
        "Sodium-ion accumulators".into();
    refused(
        submit(&sb, other).await,
        Code::AlreadyExists,
        &[
            "declaration.declaration_reference: XSRE-D-000001 is the reference of consignment",
            &first.consignment_id,
        ],
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    assert_eq!(sb.ledger_size("CN").await, cn);
    let p = sb.platform_status().await;
    assert_eq!((p.bills, p.submissions), (1, 1));
    sb.stop().await;
}

/// A bill issued on the platform to the shipper and free to declare: declared through the
/// platform from plain data `n`, then that declaration withdrawn.
async fn free_bill(sb: &Sandbox, n: u32) -> (PlainConsignment, v1::BillRecord) {
    let c = plain_consignment(n, &topology_parties());
    let r = submit(sb, c.request.clone()).await.unwrap();
    cancel(sb, &hex(&r.consignment_id), "declared again below")
        .await
        .unwrap();
    let record = bill(sb, &r.bill_of_lading_id).await;
    (c, record)
}

/// A declaration of consignment `c`'s goods on bill `b` with transfer chain `chain`, made
/// and signed by `holder` for itself, as a trader's own client sends it to the first node.
fn own_declaration(
    sb: &Sandbox,
    c: &PlainConsignment,
    b: &v1::BillRecord,
    chain: &[v1::Envelope],
    holder: &str,
    reference: &str,
) -> v1::SubmitDeclarationRequest {
    let mut d = c.request.declaration.clone().unwrap();
    d.declaration_reference = reference.into();
    d.declarant_operator_id = holder.into();
    d.holder_operator_id = holder.into();
    d.bill_of_lading_id = hex(&b.bill_of_lading_id).as_bytes().to_vec();
    d.created_at_unix_micros = now();
    let declaration = Declaration::try_from(d).unwrap();
    let env = Envelope::sign(
        pt::DECLARATION,
        corridor_proto::encode_declaration(&declaration),
        &sb.operator_key(holder),
    );
    v1::SubmitDeclarationRequest {
        declaration: Some(v1::Envelope::from(&env)),
        bill_of_lading: b.bill_of_lading.clone(),
        transfer_chain: chain.to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_its_platform_has_superseded_is_refused_whichever_comes_first() {
    let sb = started().await;
    let cn = || async { sb.node("CN").await };

    // The transfer first: the former holder's declaration with the chain from before it is
    // refused, and nothing is written; the holder's own, with the chain as it stands, is taken.
    let (c, issued) = free_bill(&sb, 1).await;
    let moved = transfer(
        &sb,
        &next(&issued, TransferAction::Transfer, TOPOLOGY_FORWARDER),
        &sb.operator_key(TOPOLOGY_SHIPPER),
    )
    .await
    .unwrap();
    let size = sb.ledger_size("CN").await;
    let stale = own_declaration(&sb, &c, &issued, &issued.chain, TOPOLOGY_SHIPPER, "OWN-1");
    refused(
        cn().await.submit_declaration(stale).await,
        Code::FailedPrecondition,
        &[
            "superseded transfer chain",
            "has 1 entries",
            "its platform of record has 2 entries, the last",
            &format!("(to {TOPOLOGY_FORWARDER})"),
        ],
    );
    assert_eq!(sb.ledger_size("CN").await, size, "nothing written");
    // A chain with a transfer the platform never recorded is refused too.
    let unrecorded = next(&moved, TransferAction::Transfer, TOPOLOGY_AZ_FORWARDER);
    let mut longer = moved.chain.clone();
    longer.push(v1::Envelope::from(&Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(&unrecorded),
        &sb.operator_key(TOPOLOGY_FORWARDER),
    )));
    let ahead = own_declaration(&sb, &c, &moved, &longer, TOPOLOGY_AZ_FORWARDER, "OWN-2");
    refused(
        cn().await.submit_declaration(ahead).await,
        Code::FailedPrecondition,
        &["beyond what the bill's platform of record has recorded"],
    );
    assert_eq!(sb.ledger_size("CN").await, size, "nothing written");
    let current = own_declaration(&sb, &c, &moved, &moved.chain, TOPOLOGY_FORWARDER, "OWN-3");
    let id: Envelope = current.declaration.clone().unwrap().try_into().unwrap();
    let accepted = cn()
        .await
        .submit_declaration(current)
        .await
        .unwrap()
        .into_inner();
    assert!(accepted.new);
    let recorded = kinds(&sb.subject_entries("CN", &id.document_id()).await)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert!(
        recorded.contains(&node_kind::BILL_CHAIN_HEAD.to_string()),
        "the platform's statement is recorded with the declaration: {recorded:?}"
    );

    // The declaration first: the bill may still change hands on the platform (goods sold in
    // transit), but the next holder cannot declare it again while it is declared.
    let sold = transfer(
        &sb,
        &next(&moved, TransferAction::Transfer, TOPOLOGY_AZ_FORWARDER),
        &sb.operator_key(TOPOLOGY_FORWARDER),
    )
    .await
    .unwrap();
    let again = own_declaration(&sb, &c, &sold, &sold.chain, TOPOLOGY_AZ_FORWARDER, "OWN-4");
    refused(
        cn().await.submit_declaration(again).await,
        Code::AlreadyExists,
        &["is already declared in consignment"],
    );

    // At once: the transfer and the former holder's declaration race. Either the declaration
    // came first (taken, and the new holder's refused as declared) or the transfer did (the
    // declaration superseded, and the new holder's taken); never both, never neither.
    let mut outcomes = std::collections::BTreeMap::new();
    for n in 0..6 {
        let (c, issued) = free_bill(&sb, 10 + n).await;
        let stale = own_declaration(
            &sb,
            &c,
            &issued,
            &issued.chain,
            TOPOLOGY_SHIPPER,
            &format!("RACE-{n}"),
        );
        let entry = next(&issued, TransferAction::Transfer, TOPOLOGY_FORWARDER);
        let shipper = sb.operator_key(TOPOLOGY_SHIPPER);
        let mut node = cn().await;
        let (declared, moved) = tokio::join!(
            node.submit_declaration(stale),
            transfer(&sb, &entry, &shipper),
        );
        let moved = moved.unwrap();
        let holders = own_declaration(
            &sb,
            &c,
            &moved,
            &moved.chain,
            TOPOLOGY_FORWARDER,
            &format!("RACE-H-{n}"),
        );
        let second = cn().await.submit_declaration(holders).await;
        match (&declared, &second) {
            (Ok(_), Err(s)) => {
                assert_eq!(s.code(), Code::AlreadyExists, "{}", s.message());
                *outcomes.entry("declaration first").or_insert(0) += 1;
            }
            (Err(s), Ok(_)) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{}", s.message());
                assert!(
                    s.message().contains("superseded transfer chain"),
                    "{}",
                    s.message()
                );
                *outcomes.entry("transfer first").or_insert(0) += 1;
            }
            other => panic!("race {n}: one declaration must win, got {other:?}"),
        }
    }
    eprintln!("race outcomes: {outcomes:?}");
    sb.stop().await;
}
