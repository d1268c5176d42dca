#![allow(clippy::unwrap_used)]
//! DCSA transport documents through a whole corridor run in-process: imported onto the
//! platform as bills their carrier issues, given back unchanged, declared and cleared
//! through every country, and written back with the consignment among their customs
//! references; and refusals that record nothing.

use corridor_core::Digest;
use corridor_core::document::BillOfLading;
use corridor_core::document::examples::CARRIER_ID;
use corridor_dcsa::export::canonical;
use corridor_proto::v1::{self, ConsignmentState as S, Lane, Outcome};
use corridor_tests::dcsa::{declaring, transport_document};
use corridor_tests::sandbox::{PlainConsignment, Sandbox, TOPOLOGY_SHIPPER, now};
use serde_json::Value;
use tonic::Code;

async fn started() -> Sandbox {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    sb.sync().await;
    sb
}

fn bill_of(r: &v1::BillRecord) -> BillOfLading {
    let env = corridor_proto::decode_envelope(&prost::Message::encode_to_vec(
        r.bill_of_lading.as_ref().unwrap(),
    ))
    .unwrap();
    corridor_proto::decode_bill_of_lading(env.payload()).unwrap()
}

async fn import(sb: &Sandbox, doc: &Value) -> Result<v1::BillRecord, tonic::Status> {
    sb.declarant()
        .await
        .import_bill(v1::ImportBillRequest {
            transport_document_json: doc.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn export(sb: &Sandbox, id: &str) -> v1::ExportBillResponse {
    sb.declarant()
        .await
        .export_bill(v1::ExportBillRequest {
            bill_of_lading_id: id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Through country `code`: arrival with the seals intact, release where an officer must
/// decide, exit unless it is the last country.
async fn pass(sb: &Sandbox, c: &PlainConsignment, id: &Digest, code: &str) {
    let last = c.route.last().map(String::as_str) == Some(code);
    let done = if last { S::Completed } else { S::Released };
    let r = sb.arrive(code, id, c.seals.clone()).await.unwrap();
    if matches!(r.lane(), Lane::Yellow | Lane::Red) {
        let d = sb
            .decide(code, id, Outcome::Release, "checked")
            .await
            .unwrap();
        assert_eq!(d.state(), done, "at {code}");
    } else {
        assert_eq!(r.state(), done, "at {code}");
    }
    if !last {
        sb.exit(code, id).await.unwrap();
        sb.wait_for(code, id, S::HandedOver).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dcsa_document_is_imported_declared_cleared_through_every_country_and_given_back() {
    let sb = started().await;
    let doc = transport_document("several-items-and-containers", "KTZE-D-DCSA01", now());
    let size = sb.declarant_ledger_size().await;
    let record = import(&sb, &doc).await.unwrap();
    assert_eq!(
        (record.holder.as_str(), record.last_action.as_str()),
        (TOPOLOGY_SHIPPER, "ISSUE")
    );
    // The bill and its ISSUE entry.
    assert_eq!(sb.declarant_ledger_size().await, size + 2);
    let bill = bill_of(&record);
    let kept = bill.transport_document.clone().unwrap();
    assert_eq!(kept.canonical_json(), canonical(&doc));
    assert_eq!(kept.checksum(), Digest::of(canonical(&doc).as_bytes()));
    assert_eq!(bill.transport_legs.len(), 3);

    // The same document again is the same bill, and records nothing.
    let again = import(&sb, &doc).await.unwrap();
    assert_eq!(again.bill_of_lading_id, record.bill_of_lading_id);
    assert_eq!(sb.declarant_ledger_size().await, size + 2);

    // Given back exactly.
    let out = export(&sb, &record.bill_of_lading_id).await;
    assert!(!out.generated);
    assert_eq!(out.transport_document_json, canonical(&doc));
    assert_eq!(
        out.checksum,
        Digest::of(out.transport_document_json.as_bytes()).as_bytes()
    );

    // Declared with the document itself: the bill on the platform.
    let c = declaring(1, &bill, &doc);
    let r = sb
        .declarant()
        .await
        .submit_consignment(c.request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.bill_of_lading_id, record.bill_of_lading_id);
    let id = Digest::parse_hex("id", &r.consignment_id).unwrap();
    for code in &c.route {
        pass(&sb, &c, &id, code).await;
    }
    assert_eq!(sb.view("TR", &id).await.state(), S::Completed);

    // The first node recorded the bill with the document in it.
    let at_cn = sb.subject_entries("CN", &id).await;
    let presented = at_cn
        .iter()
        .find(|e| e.kind == corridor_customs::consignment::kind::BILL_PRESENTED)
        .unwrap();
    let benv = corridor_proto::decode_envelope(&presented.envelope).unwrap();
    let at_node = corridor_proto::decode_bill_of_lading(benv.payload()).unwrap();
    assert_eq!(at_node.transport_document, Some(kept));

    // Written back with the consignment among its customs references.
    let out = export(&sb, &record.bill_of_lading_id).await;
    let written: Value = serde_json::from_str(&out.transport_document_json).unwrap();
    let hex = id.to_hex();
    assert_eq!(
        written["customsReferences"],
        serde_json::json!([{"type": "CORRIDOR", "countryCode": "CN", "values": [&hex[..32], &hex[32..]]}])
    );
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_the_corridor_cannot_take_is_refused_and_nothing_is_recorded() {
    let mut sb = started().await;
    // A carrier the registry knows, whose key the declarant does not hold.
    sb.register(CARRIER_ID).await;
    sb.sync().await;
    let size = sb.declarant_ledger_size().await;
    let good = transport_document("straight-bill", "KTZE-D-DCSA02", now());
    let mut cases: Vec<(Value, Code, &str)> = Vec::new();
    let mut v = good.clone();
    v["consignmentItems"][0]["HSCodes"][0] = "85414".into();
    cases.push((
        v,
        Code::InvalidArgument,
        r#"/consignmentItems/0/HSCodes/0: "85414" is shorter than 6 characters"#,
    ));
    let mut v = good.clone();
    v["documentParties"]["consignee"]["identifyingCodes"][0]["partyCode"] = "TR9999999999".into();
    cases.push((
        v,
        Code::InvalidArgument,
        "/documentParties/consignee/identifyingCodes/0/partyCode: operator TR9999999999 is not in the AEO registry",
    ));
    // Dated 60 days ago: outside the window of documents new to the corridor.
    let old = transport_document(
        "straight-bill",
        "KTZE-D-DCSA03",
        now() - 60 * 86_400_000_000,
    );
    cases.push((old, Code::InvalidArgument, "is outside the accepted window"));
    // A carrier whose key the declarant does not hold.
    let mut v = good.clone();
    v["documentParties"]["issuingParty"]["identifyingCodes"][0]["partyCode"] = CARRIER_ID.into();
    cases.push((v, Code::PermissionDenied, "the declarant does not act for"));
    for (doc, code, phrase) in cases {
        let s = import(&sb, &doc).await.unwrap_err();
        assert_eq!(s.code(), code, "{}", s.message());
        assert!(
            s.message().contains(phrase),
            "{:?} lacks {phrase:?}",
            s.message()
        );
        assert!(
            s.message().starts_with("transport_document_json: ") || code == Code::PermissionDenied,
            "{}",
            s.message()
        );
    }
    // A document far past the size limit is refused by the message limit, one within it but
    // past the document limit by its size.
    let mut big = good.clone();
    big["termsAndConditions"] = "x".repeat(300_000).into();
    let s = import(&sb, &big).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(
        s.message().contains("more than the 262144 bytes"),
        "{}",
        s.message()
    );
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let s = sb
        .declarant()
        .await
        .import_bill(v1::ImportBillRequest {
            transport_document_json: deep,
        })
        .await
        .unwrap_err();
    assert!(
        s.message().contains("nested deeper than 32 levels"),
        "{}",
        s.message()
    );
    assert_eq!(sb.declarant_ledger_size().await, size);
    sb.stop().await;
}
