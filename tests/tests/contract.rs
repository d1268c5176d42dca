#![allow(clippy::unwrap_used)]
//! The status-code table of `proto/ERRORS.md`, read and provoked row by row.
//!
//! Each row of its "By RPC" tables names an RPC, the gRPC code it answers, when, a part of
//! the message, and the case below that provokes it. The test reads the table, runs every
//! case against one corridor (the registry, every node and the declarant, over gRPC) and
//! checks the code, the message and that the service called recorded nothing. Another test
//! checks that every RPC of `proto/` appears in the table, so a new RPC or a new refusal
//! cannot go undocumented, and the document cannot say what the services do not.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use corridor_core::document::examples::{CARRIER_ID, FORWARDER_ID, SHIPPER_ID};
use corridor_core::document::{TransferAction, TransferEntry};
use corridor_core::{Digest, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_run::bootstrap;
use corridor_tests::dcsa::transport_document;
use corridor_tests::sandbox::{
    Consignment, DAY, Sandbox, TOPOLOGY_AZ_FORWARDER, TOPOLOGY_CARRIER, TOPOLOGY_FORWARDER,
    TOPOLOGY_SHIPPER, border_event, carrier_signed, now, plain_consignment, signed,
    topology_parties,
};
use prost::Message;
use tonic::{Code, Status};

/// An AEO certificate of the shipper, issued by CN.
const AEO_SHIPPER: &str = "AEOCN0000000001";
/// An AEO certificate of the forwarder, revoked.
const AEO_REVOKED: &str = "AEOCN0000000002";
/// An arrangement between CN and KZ, in force.
const ARRANGEMENT: &str = "MRA-CN-KZ-2026";

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// One row of a "By RPC" table.
#[derive(Debug)]
struct Row {
    service: String,
    rpc: String,
    code: Code,
    part: String,
    case: String,
}

/// The first `...` span of `cell`.
fn quoted(cell: &str) -> Option<String> {
    let start = cell.find('`')? + 1;
    let len = cell[start..].find('`')?;
    Some(cell[start..start + len].to_string())
}

fn code(name: &str) -> Code {
    match name {
        "INVALID_ARGUMENT" => Code::InvalidArgument,
        "UNAUTHENTICATED" => Code::Unauthenticated,
        "PERMISSION_DENIED" => Code::PermissionDenied,
        "NOT_FOUND" => Code::NotFound,
        "ALREADY_EXISTS" => Code::AlreadyExists,
        "FAILED_PRECONDITION" => Code::FailedPrecondition,
        "RESOURCE_EXHAUSTED" => Code::ResourceExhausted,
        "UNAVAILABLE" => Code::Unavailable,
        other => panic!("ERRORS.md names an unknown code {other:?}"),
    }
}

/// The rows of ERRORS.md's "By RPC" section, and the RPCs it says refuse nothing of their
/// own (`service.rpc`).
fn table() -> (Vec<Row>, BTreeSet<String>) {
    let text = std::fs::read_to_string(workspace().join("proto/ERRORS.md")).unwrap();
    let by_rpc = text
        .split_once("\n## By RPC\n")
        .expect("ERRORS.md has a section \"## By RPC\"")
        .1;
    let by_rpc = by_rpc.split("\n## ").next().unwrap();
    let (mut rows, mut quiet) = (Vec::new(), BTreeSet::new());
    let mut service = None;
    for line in by_rpc.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            service = Some(quoted(h).expect("a service heading names it in backticks"));
            continue;
        }
        let Some(service) = &service else { continue };
        if let Some(list) = line.strip_prefix("Refuse nothing of their own: ") {
            for rpc in list.split(", ") {
                quiet.insert(format!("{service}.{}", quoted(rpc).unwrap()));
            }
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        if cells.len() != 5 || !cells[0].starts_with("| `") {
            continue;
        }
        rows.push(Row {
            service: service.clone(),
            rpc: quoted(cells[0]).unwrap(),
            code: code(&quoted(cells[1]).unwrap()),
            part: quoted(cells[3]).unwrap_or_else(|| panic!("no message in {line}")),
            case: quoted(cells[4].trim_end_matches(" |")).unwrap(),
        });
    }
    (rows, quiet)
}

/// Every `service.rpc` that `proto/corridor/v1/*.proto` declares.
fn proto_rpcs() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let dir = workspace().join("proto/corridor/v1");
    for f in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let mut service = None;
        for line in text.lines() {
            if let Some(s) = line.strip_prefix("service ") {
                service = s.split_whitespace().next().map(str::to_string);
            } else if let (Some(s), Some(rpc)) = (&service, line.trim().strip_prefix("rpc ")) {
                out.insert(format!("{s}.{}", rpc.split('(').next().unwrap()));
            }
        }
    }
    out
}

#[test]
fn every_rpc_of_the_protos_is_in_the_table_of_status_codes() {
    let (rows, quiet) = table();
    let mut listed: BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{}.{}", r.service, r.rpc))
        .collect();
    let both: Vec<&String> = listed.intersection(&quiet).collect();
    assert!(both.is_empty(), "{both:?} both refuse and refuse nothing");
    listed.extend(quiet);
    assert_eq!(listed, proto_rpcs());
    let mut cases = BTreeSet::new();
    for r in &rows {
        assert!(cases.insert(&r.case), "case {} is named twice", r.case);
    }
}

/// Which service a case calls, to check that the call recorded nothing there.
#[derive(Clone, Copy, Debug)]
enum At {
    Registry,
    Node(&'static str),
    Declarant,
}

type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// A unary call, its answer dropped.
macro_rules! unary {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client;
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(|_| ()) }) as Call
    }};
}

/// An `ImportBill` call of `json`.
fn import_call(
    declarant: &v1::declarant_client::DeclarantClient<tonic::transport::Channel>,
    json: String,
) -> Call {
    let request = v1::ImportBillRequest {
        transport_document_json: json,
    };
    unary!(declarant.clone(), import_bill, request)
}

/// The straight bill of the DCSA test documents between the topology's operators, issued
/// now under a reference of its own.
fn dcsa_document(n: u32) -> serde_json::Value {
    transport_document("straight-bill", &format!("KTZE-C-{n:06}"), now())
}

/// A streaming call: its refusal comes with the call or as the stream's first item.
macro_rules! stream {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client;
        let request = $request;
        Box::pin(async move {
            let mut s = client.$method(request).await?.into_inner();
            s.message().await.map(|_| ())
        }) as Call
    }};
}

/// The corridor the cases run against, and what they refer to.
struct World {
    sb: Sandbox,
    /// Declared at CN, awaiting arrival there.
    declared: Consignment,
    /// Declared at CN and arrived there.
    arrived: Consignment,
    /// A bill on the declarant's platform, held by the topology's shipper, not declared.
    platform_bill: v1::BillRecord,
    /// A bill on the platform, free, for the cases of a superseded chain (plain data 5).
    moving_bill: v1::BillRecord,
    /// A consignment lodged through the declarant.
    lodged: Digest,
    /// Fresh consignment numbers.
    n: u32,
}

/// A bill issued on the platform for plain data `n`, its declaration withdrawn: free to
/// transfer and declare.
async fn free_bill(sb: &Sandbox, n: u32) -> v1::BillRecord {
    let plain = plain_consignment(n, &topology_parties());
    let submitted = sb
        .declarant()
        .await
        .submit_consignment(plain.request)
        .await
        .unwrap()
        .into_inner();
    sb.declarant()
        .await
        .cancel_consignment(v1::CancelConsignmentRequest {
            consignment_id: submitted.consignment_id.clone(),
            reason: "goods not ready".into(),
        })
        .await
        .unwrap();
    sb.declarant()
        .await
        .get_bill(v1::GetBillRequest {
            bill_of_lading_id: submitted.bill_of_lading_id,
        })
        .await
        .unwrap()
        .into_inner()
}

/// 2200-01-01T00:00:00Z in unix microseconds: a date no document of today may carry.
const YEAR_2200: i64 = 7_258_118_400_000_000;

fn submit_request(envelope: Envelope) -> v1::SubmitRequest {
    v1::SubmitRequest {
        envelope: Some(v1::Envelope::from(&envelope)),
    }
}

/// `doc` of `payload_type` signed by `keys`, in order.
fn sealed(payload_type: &str, doc: &impl Message, keys: &[&SigningKey]) -> Envelope {
    let mut env = Envelope::sign(payload_type, doc.encode_to_vec(), keys[0]);
    for k in &keys[1..] {
        env.add_signature(k);
    }
    env
}

/// `env` with one bit of its first signature flipped.
fn flipped(env: &Envelope) -> v1::Envelope {
    let mut v = v1::Envelope::from(env);
    v.signatures[0].sig[5] ^= 0x04;
    v
}

fn op(id: &str) -> OperatorId {
    OperatorId::parse("operator", id).unwrap()
}

fn registration(id: &str, key: &SigningKey) -> v1::OperatorRegistration {
    bootstrap::operator_registration(
        &op(id),
        "Operator",
        "1 Station Road",
        &[key.public()],
        now(),
    )
}

fn key_update(id: &str) -> v1::OperatorKeyUpdate {
    v1::OperatorKeyUpdate {
        operator_id: id.into(),
        add_public_keys: vec![SigningKey::generate().public().as_bytes().to_vec()],
        revoke_keyids: Vec::new(),
        reason: "rotation".into(),
        issued_at_unix_micros: now(),
    }
}

fn certificate(aeo_id: &str, operator: &str) -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: aeo_id.into(),
        operator_id: operator.into(),
        tier: v1::AeoTier::Full as i32,
        valid_from_unix_micros: now() - DAY,
        valid_to_unix_micros: now() + 365 * DAY,
        issued_at_unix_micros: now(),
    }
}

fn status_change(aeo_id: &str, action: v1::CertificateAction) -> v1::CertificateStatusChange {
    v1::CertificateStatusChange {
        aeo_id: aeo_id.into(),
        action: action as i32,
        reason: "audit finding".into(),
        effective_at_unix_micros: now(),
        issued_at_unix_micros: now(),
    }
}

fn arrangement(id: &str, countries: &[&str]) -> v1::MutualRecognitionArrangement {
    v1::MutualRecognitionArrangement {
        arrangement_id: id.into(),
        countries: countries.iter().map(|c| c.to_string()).collect(),
        tiers: vec![v1::AeoTier::Full as i32],
        benefits: Some(corridor_tests::sandbox::ARRANGEMENT_BENEFITS),
        effective_from_unix_micros: now() - DAY,
        effective_to_unix_micros: 0,
        issued_at_unix_micros: now(),
    }
}

fn termination(id: &str, country: &str) -> v1::ArrangementTermination {
    v1::ArrangementTermination {
        arrangement_id: id.into(),
        country: country.into(),
        reason: "renegotiation".into(),
        effective_at_unix_micros: now(),
        issued_at_unix_micros: now(),
    }
}

fn cancellation(id: &Digest) -> v1::DeclarationCancellation {
    v1::DeclarationCancellation {
        declaration_id: id.as_bytes().to_vec(),
        reason: "goods not ready".into(),
        cancelled_at_unix_micros: now(),
    }
}

/// An advance record of `c` from `from` to `to`, as a node would sign it.
fn advance_record(c: &Consignment, from: &str, to: &str) -> v1::AdvanceRecord {
    let bill = c.request.bill_of_lading.as_ref().unwrap();
    v1::AdvanceRecord {
        consignment_id: c.id.as_bytes().to_vec(),
        from_country: from.into(),
        to_country: to.into(),
        declaration: c.request.declaration.clone(),
        bill_of_lading_id: Digest::of(&bill.payload).as_bytes().to_vec(),
        lane: v1::Lane::Green as i32,
        reasons: vec!["selectivity (standard rates)".into()],
        clearance_micros: 0,
        clearances: vec![v1::CountryClearance {
            country: from.into(),
            lane: v1::Lane::Green as i32,
            dwell_micros: 0,
        }],
        prev_entry_seq: 3,
        prev_entry_hash: vec![0x5a; 32],
        exited_at_unix_micros: now(),
        aeo_at_origin: false,
        seals: c.seals.clone(),
    }
}

/// The next entry of bill record `r`'s chain: its holder moves it to `to` by `action`.
fn next_entry(r: &v1::BillRecord, action: TransferAction, to: &str) -> TransferEntry {
    let env: Envelope = r.chain.last().cloned().unwrap().try_into().unwrap();
    let tip = corridor_proto::decode_transfer_entry(env.payload()).unwrap();
    tip.next(env.document_id(), action, op(to), now(), None)
        .unwrap()
}

fn transfer_request(entry: &TransferEntry, key: &SigningKey) -> v1::TransferBillRequest {
    v1::TransferBillRequest {
        entry: Some(v1::Envelope::from(&Envelope::sign(
            pt::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(entry),
            key,
        ))),
    }
}

/// A call of RPC `path` at `addr` whose request is not a message of the RPC's type: field 1
/// as a varint, where each request this is sent to has a message in field 1.
fn not_protobuf(addr: std::net::SocketAddr, path: &'static str) -> Call {
    Box::pin(async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let codec =
            tonic_prost::ProstCodec::<v1::ListEntriesRequest, v1::GetCheckpointRequest>::default();
        let request = v1::ListEntriesRequest {
            from_sequence: 5,
            to_sequence: 0,
        };
        grpc.unary(
            tonic::Request::new(request),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            codec,
        )
        .await
        .map(|_| ())
    })
}

/// `chain` with one more entry after its last: `actor`, who does not hold the bill, transfers
/// it to `to`, signing with `key`.
fn by_non_holder(chain: &mut Vec<v1::Envelope>, actor: &str, to: &str, key: &SigningKey) {
    let last: Envelope = chain.last().cloned().unwrap().try_into().unwrap();
    let tip = corridor_proto::decode_transfer_entry(last.payload()).unwrap();
    let mut parts = tip
        .next(
            last.document_id(),
            TransferAction::Transfer,
            op(to),
            now(),
            None,
        )
        .unwrap()
        .into_parts();
    parts.actor = op(actor);
    parts.from_holder = Some(op(actor));
    let entry = TransferEntry::new(parts).unwrap();
    chain.push(v1::Envelope::from(&Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(&entry),
        key,
    )));
}

/// A request of `bytes` bytes or more.
fn padding(bytes: usize) -> Vec<u8> {
    vec![0x20; bytes]
}

impl World {
    async fn start() -> Self {
        let mut sb = Sandbox::start().await;
        sb.register_parties().await;
        sb.register_topology_operators().await;
        sb.certify(AEO_SHIPPER, SHIPPER_ID).await;
        sb.certify(AEO_REVOKED, TOPOLOGY_FORWARDER).await;
        sb.registrar()
            .await
            .change_certificate_status(
                &status_change(AEO_REVOKED, v1::CertificateAction::Revoke),
                &sb.authority("CN"),
            )
            .await
            .unwrap();
        sb.arrange(ARRANGEMENT, "CN", "KZ").await;
        sb.sync().await;

        let declared = sb.consignment(1, |_| {});
        let arrived = sb.consignment(2, |_| {});
        for c in [&declared, &arrived] {
            sb.node("CN")
                .await
                .submit_declaration(c.request.clone())
                .await
                .unwrap();
        }
        sb.arrive("CN", &arrived.id, arrived.seals.clone())
            .await
            .unwrap();

        let parties = topology_parties();
        let plain = plain_consignment(3, &parties);
        let lodged = sb
            .declarant()
            .await
            .submit_consignment(plain.request.clone())
            .await
            .unwrap()
            .into_inner();
        // A second bill, cancelled before arrival: on the platform, free to transfer; and a
        // third, for the cases of a chain the platform has moved on from.
        let platform_bill = free_bill(&sb, 4).await;
        let moving_bill = free_bill(&sb, 5).await;
        World {
            sb,
            declared,
            arrived,
            platform_bill,
            moving_bill,
            lodged: Digest::parse_hex("id", &lodged.consignment_id).unwrap(),
            n: 10,
        }
    }

    async fn ledger_size(&self, at: At) -> u64 {
        let mut reader = match at {
            At::Registry => LedgerReaderClient::connect(format!(
                "http://{}",
                self.sb.topology.registry_addr().unwrap()
            ))
            .await
            .unwrap(),
            At::Node(code) => self.sb.node_ledger(code).await,
            At::Declarant => self.sb.declarant_ledger().await,
        };
        reader
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner()
            .size
    }

    fn key(&self, id: &str) -> SigningKey {
        self.sb.operators[id].clone()
    }

    /// Sets up case `name` and returns the call that provokes it.
    async fn case(&mut self, name: &str) -> (At, Call) {
        self.n += 1;
        let fresh = self.sb.consignment(self.n, |_| {});
        let sb = &self.sb;
        let registry = sb.registry().await;
        let cn_authority = sb.authority("CN");
        let kz_authority = sb.authority("KZ");
        let az_authority = sb.authority("AZ");
        let cn = sb.node("CN").await;
        let kz = sb.node("KZ").await;
        let declarant = sb.declarant().await;
        let d = &self.declared;
        let officer_doc = |kind| {
            let post = if kind == v1::BorderEventKind::Arrival {
                "CNXIY"
            } else {
                "CNKHG"
            };
            border_event("CN", &d.id, kind, post, d.seals.clone())
        };
        let arrival = officer_doc(v1::BorderEventKind::Arrival);
        let decision = |outcome: v1::Outcome, findings: &str| v1::OfficerDecision {
            consignment_id: d.id.as_bytes().to_vec(),
            country: "CN".into(),
            outcome: outcome as i32,
            findings: findings.into(),
            at_unix_micros: now(),
        };
        let unknown = Digest::of(b"a consignment nobody declared");
        let r = At::Registry;
        match name {
            // The registry.
            "register/not-protobuf" => (
                r,
                not_protobuf(
                    sb.topology.registry_addr().unwrap(),
                    "/corridor.v1.AeoRegistry/RegisterOperator",
                ),
            ),
            "register/payload-type" => {
                let doc = registration("CN91440300RG01", &SigningKey::generate());
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/field" => {
                let mut doc = registration("CN91440300RG01", &SigningKey::generate());
                doc.public_keys[0].truncate(31);
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&cn_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/weak-key" => {
                let mut doc = registration("CN91440300RG01", &SigningKey::generate());
                let mut identity = vec![0; 32];
                identity[0] = 1;
                doc.public_keys[0] = identity;
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&cn_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/unknown-key" => {
                let doc = registration("CN91440300RG01", &SigningKey::generate());
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&SigningKey::generate()]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/flipped-bit" => {
                let doc = registration("CN91440300RG01", &SigningKey::generate());
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&cn_authority]);
                let request = v1::SubmitRequest {
                    envelope: Some(flipped(&env)),
                };
                (r, unary!(registry, register_operator, request))
            }
            "register/other-country" => {
                let doc = registration("CN91440300RG01", &SigningKey::generate());
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&kz_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/again" => {
                let doc = registration(SHIPPER_ID, &SigningKey::generate());
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&cn_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "register/oversize" => {
                let mut doc = registration("CN91440300RG01", &SigningKey::generate());
                doc.address = String::from_utf8(padding(300 * 1024)).unwrap();
                let env = sealed(pt::OPERATOR_REGISTRATION, &doc, &[&cn_authority]);
                (r, unary!(registry, register_operator, submit_request(env)))
            }
            "keys/payload-type" => {
                let env = sealed(
                    pt::OPERATOR_REGISTRATION,
                    &key_update(SHIPPER_ID),
                    &[&cn_authority],
                );
                (
                    r,
                    unary!(registry, update_operator_keys, submit_request(env)),
                )
            }
            "keys/unknown-key" => {
                let env = sealed(
                    pt::OPERATOR_KEY_UPDATE,
                    &key_update(SHIPPER_ID),
                    &[&SigningKey::generate()],
                );
                (
                    r,
                    unary!(registry, update_operator_keys, submit_request(env)),
                )
            }
            "keys/other-country" => {
                let env = sealed(
                    pt::OPERATOR_KEY_UPDATE,
                    &key_update(SHIPPER_ID),
                    &[&kz_authority],
                );
                (
                    r,
                    unary!(registry, update_operator_keys, submit_request(env)),
                )
            }
            "keys/unregistered" => {
                let env = sealed(
                    pt::OPERATOR_KEY_UPDATE,
                    &key_update("CN91440300RG09"),
                    &[&cn_authority],
                );
                (
                    r,
                    unary!(registry, update_operator_keys, submit_request(env)),
                )
            }
            "certificate/field" => {
                let mut doc = certificate("AEOCN0000000003", TOPOLOGY_FORWARDER);
                doc.valid_to_unix_micros = doc.valid_from_unix_micros - DAY;
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "certificate/unknown-key" => {
                let doc = certificate("AEOCN0000000003", TOPOLOGY_FORWARDER);
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&SigningKey::generate()]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "certificate/far-future" => {
                let mut doc = certificate("AEOCN0000000003", TOPOLOGY_FORWARDER);
                doc.issued_at_unix_micros = i64::MAX;
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "certificate/other-country" => {
                let doc = certificate("AEOCN0000000003", TOPOLOGY_FORWARDER);
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&kz_authority]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "certificate/unregistered" => {
                let doc = certificate("AEOCN0000000003", "CN91440300RG09");
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "certificate/taken" => {
                let doc = certificate(AEO_SHIPPER, TOPOLOGY_FORWARDER);
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority]);
                (r, unary!(registry, issue_certificate, submit_request(env)))
            }
            "status/field" => {
                let doc = status_change(AEO_SHIPPER, v1::CertificateAction::Unspecified);
                let env = sealed(pt::CERTIFICATE_STATUS_CHANGE, &doc, &[&cn_authority]);
                (
                    r,
                    unary!(registry, change_certificate_status, submit_request(env)),
                )
            }
            "status/unknown-key" => {
                let doc = status_change(AEO_SHIPPER, v1::CertificateAction::Suspend);
                let env = sealed(
                    pt::CERTIFICATE_STATUS_CHANGE,
                    &doc,
                    &[&SigningKey::generate()],
                );
                (
                    r,
                    unary!(registry, change_certificate_status, submit_request(env)),
                )
            }
            "status/other-authority" => {
                let doc = status_change(AEO_SHIPPER, v1::CertificateAction::Suspend);
                let env = sealed(pt::CERTIFICATE_STATUS_CHANGE, &doc, &[&kz_authority]);
                (
                    r,
                    unary!(registry, change_certificate_status, submit_request(env)),
                )
            }
            "status/unknown" => {
                let doc = status_change("AEOCN0000000099", v1::CertificateAction::Suspend);
                let env = sealed(pt::CERTIFICATE_STATUS_CHANGE, &doc, &[&cn_authority]);
                (
                    r,
                    unary!(registry, change_certificate_status, submit_request(env)),
                )
            }
            "status/revoked" => {
                let doc = status_change(AEO_REVOKED, v1::CertificateAction::Reinstate);
                let env = sealed(pt::CERTIFICATE_STATUS_CHANGE, &doc, &[&cn_authority]);
                (
                    r,
                    unary!(registry, change_certificate_status, submit_request(env)),
                )
            }
            "propose/field" => {
                let doc = arrangement("MRA-CN-2026", &["CN"]);
                let env = sealed(pt::MUTUAL_RECOGNITION, &doc, &[&cn_authority]);
                (
                    r,
                    unary!(registry, propose_arrangement, submit_request(env)),
                )
            }
            "propose/unknown-key" => {
                let doc = arrangement("MRA-CN-AZ-2026", &["CN", "AZ"]);
                let env = sealed(pt::MUTUAL_RECOGNITION, &doc, &[&SigningKey::generate()]);
                (
                    r,
                    unary!(registry, propose_arrangement, submit_request(env)),
                )
            }
            "propose/non-party" => {
                let doc = arrangement("MRA-CN-TR-2026", &["CN", "TR"]);
                let env = sealed(pt::MUTUAL_RECOGNITION, &doc, &[&az_authority]);
                (
                    r,
                    unary!(registry, propose_arrangement, submit_request(env)),
                )
            }
            "propose/again" => {
                let mut doc = arrangement(ARRANGEMENT, &["CN", "KZ"]);
                doc.tiers = vec![v1::AeoTier::SecuritySafety as i32];
                let env = sealed(pt::MUTUAL_RECOGNITION, &doc, &[&cn_authority]);
                (
                    r,
                    unary!(registry, propose_arrangement, submit_request(env)),
                )
            }
            "countersign/payload-type" => {
                let doc = arrangement("MRA-CN-AZ-2026", &["CN", "AZ"]);
                let env = sealed(pt::AEO_CERTIFICATE, &doc, &[&cn_authority, &az_authority]);
                (
                    r,
                    unary!(registry, countersign_arrangement, submit_request(env)),
                )
            }
            "countersign/unknown" => {
                let doc = arrangement("MRA-CN-AZ-2026", &["CN", "AZ"]);
                let env = sealed(
                    pt::MUTUAL_RECOGNITION,
                    &doc,
                    &[&cn_authority, &az_authority],
                );
                (
                    r,
                    unary!(registry, countersign_arrangement, submit_request(env)),
                )
            }
            "terminate/payload-type" => {
                let env = sealed(
                    pt::MUTUAL_RECOGNITION,
                    &termination(ARRANGEMENT, "CN"),
                    &[&cn_authority],
                );
                (
                    r,
                    unary!(registry, terminate_arrangement, submit_request(env)),
                )
            }
            "terminate/non-party" => {
                let env = sealed(
                    pt::ARRANGEMENT_TERMINATION,
                    &termination(ARRANGEMENT, "AZ"),
                    &[&az_authority],
                );
                (
                    r,
                    unary!(registry, terminate_arrangement, submit_request(env)),
                )
            }
            "terminate/other-authority" => {
                let env = sealed(
                    pt::ARRANGEMENT_TERMINATION,
                    &termination(ARRANGEMENT, "CN"),
                    &[&kz_authority],
                );
                (
                    r,
                    unary!(registry, terminate_arrangement, submit_request(env)),
                )
            }
            "terminate/unknown" => {
                let env = sealed(
                    pt::ARRANGEMENT_TERMINATION,
                    &termination("MRA-CN-AZ-2026", "CN"),
                    &[&cn_authority],
                );
                (
                    r,
                    unary!(registry, terminate_arrangement, submit_request(env)),
                )
            }
            "recognition/field" => {
                let request = v1::CheckRecognitionRequest {
                    operator_id: "CN-1".into(),
                    country: "KZ".into(),
                    at_unix_micros: 0,
                };
                (r, unary!(registry, check_recognition, request))
            }
            "operator/field" => {
                let request = v1::GetOperatorRequest {
                    operator_id: "cn1".into(),
                };
                (r, unary!(registry, get_operator, request))
            }
            "operator/unknown" => {
                let request = v1::GetOperatorRequest {
                    operator_id: "CN91440300RG09".into(),
                };
                (r, unary!(registry, get_operator, request))
            }
            "certificates/field" => {
                let request = v1::ListCertificatesRequest {
                    operator_id: String::new(),
                    country: "China".into(),
                };
                (r, unary!(registry, list_certificates, request))
            }
            "arrangements/field" => {
                let request = v1::ListArrangementsRequest {
                    country: "China".into(),
                };
                (r, unary!(registry, list_arrangements, request))
            }

            // A ledger reader (the CN node's).
            "entries/range" => {
                let request = v1::ListEntriesRequest {
                    from_sequence: 3,
                    to_sequence: 2,
                };
                (
                    At::Node("CN"),
                    stream!(sb.node_ledger("CN").await, list_entries, request),
                )
            }
            "subject-entries/too-long" => {
                let request = v1::ListSubjectEntriesRequest {
                    subject: "x".repeat(65_536),
                };
                (
                    At::Node("CN"),
                    stream!(sb.node_ledger("CN").await, list_subject_entries, request),
                )
            }
            "inclusion/beyond" => {
                let request = v1::GetInclusionProofRequest {
                    seq: 0,
                    tree_size: 1_000_000_000,
                };
                let reader = sb.node_ledger("CN").await;
                (At::Node("CN"), unary!(reader, get_inclusion_proof, request))
            }
            "inclusion/seq" => {
                let request = v1::GetInclusionProofRequest {
                    seq: 1,
                    tree_size: 1,
                };
                let reader = sb.node_ledger("CN").await;
                (At::Node("CN"), unary!(reader, get_inclusion_proof, request))
            }
            "consistency/beyond" => {
                let request = v1::GetConsistencyProofRequest {
                    from_size: 0,
                    to_size: 1_000_000_000,
                };
                let reader = sb.node_ledger("CN").await;
                (
                    At::Node("CN"),
                    unary!(reader, get_consistency_proof, request),
                )
            }
            "consistency/range" => {
                let request = v1::GetConsistencyProofRequest {
                    from_size: 2,
                    to_size: 1,
                };
                let reader = sb.node_ledger("CN").await;
                (
                    At::Node("CN"),
                    unary!(reader, get_consistency_proof, request),
                )
            }

            // The customs node.
            "submit/not-protobuf" => (
                At::Node("CN"),
                not_protobuf(
                    sb.node_addr("CN"),
                    "/corridor.v1.CustomsNode/SubmitDeclaration",
                ),
            ),
            "list/filter" => {
                let request = v1::ListConsignmentsRequest { filter: 99 };
                (At::Node("CN"), unary!(cn, list_consignments, request))
            }
            "submit/payload-type" => {
                let mut request = d.request.clone();
                request.declaration.as_mut().unwrap().payload_type = pt::BILL_OF_LADING.into();
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/field" => {
                let c = self.sb.consignment(self.n, |p| {
                    p.guarantee.amount = corridor_core::Money::new(
                        p.guarantee.amount.currency().clone(),
                        p.guarantee.amount.minor_units() / 100,
                    );
                });
                (At::Node("CN"), unary!(cn, submit_declaration, c.request))
            }
            "submit/route-post" => {
                let c = self.sb.consignment(self.n, |p| {
                    let mut step = p.route[1].clone().into_parts();
                    step.entry_border_post =
                        Some(corridor_core::UnLocode::parse("post", "KZAAU").unwrap());
                    p.route[1] = corridor_core::document::RouteStep::new(step).unwrap();
                });
                (At::Node("CN"), unary!(cn, submit_declaration, c.request))
            }
            "submit/far-future" => {
                let c = self.sb.consignment(self.n, |p| {
                    p.created_at_unix_micros = YEAR_2200;
                });
                (At::Node("CN"), unary!(cn, submit_declaration, c.request))
            }
            "submit/revoked-at-receipt" => {
                // The forwarder registers a second key, signs a declaration with it, and
                // the key is revoked before the declaration reaches the node: dated while
                // the key was valid, it is refused all the same.
                let second = SigningKey::generate();
                let mut add = key_update(FORWARDER_ID);
                add.add_public_keys = vec![second.public().as_bytes().to_vec()];
                let update = |doc: &v1::OperatorKeyUpdate| {
                    submit_request(sealed(pt::OPERATOR_KEY_UPDATE, doc, &[&kz_authority]))
                };
                registry
                    .clone()
                    .update_operator_keys(update(&add))
                    .await
                    .unwrap();
                let c = self.sb.consignment(self.n, |_| {});
                let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
                let mut signed_before =
                    Envelope::sign(pt::DECLARATION, env.payload().to_vec(), &second);
                signed_before.add_signature(&self.key(SHIPPER_ID));
                let mut revoke = key_update(FORWARDER_ID);
                revoke.add_public_keys.clear();
                revoke.revoke_keyids = vec![second.public().id().to_string()];
                revoke.reason = "compromised".into();
                registry
                    .clone()
                    .update_operator_keys(update(&revoke))
                    .await
                    .unwrap();
                self.sb.sync().await;
                let mut request = c.request;
                request.declaration = Some(v1::Envelope::from(&signed_before));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/superseded" | "submit/unrecorded-transfer" => {
                // The platform's bill moves on from the shipper (or has already, when a
                // transfer case came first).
                let b = &self.moving_bill;
                let entry = next_entry(b, TransferAction::Transfer, TOPOLOGY_FORWARDER);
                let _ = sb
                    .declarant()
                    .await
                    .transfer_bill(transfer_request(&entry, &sb.operator_key(TOPOLOGY_SHIPPER)))
                    .await;
                let now_on_platform = sb
                    .declarant()
                    .await
                    .get_bill(v1::GetBillRequest {
                        bill_of_lading_id: b.bill_of_lading_id.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                let (holder, chain) = if name == "submit/superseded" {
                    // The shipper declares with the chain from before the transfer.
                    (TOPOLOGY_SHIPPER, b.chain.clone())
                } else {
                    // The next holder declares with a transfer to it the platform never
                    // recorded.
                    let holder = now_on_platform.holder.clone();
                    let extra = next_entry(
                        &now_on_platform,
                        TransferAction::Transfer,
                        TOPOLOGY_AZ_FORWARDER,
                    );
                    let mut chain = now_on_platform.chain.clone();
                    chain.push(
                        transfer_request(&extra, &sb.operator_key(&holder))
                            .entry
                            .unwrap(),
                    );
                    (TOPOLOGY_AZ_FORWARDER, chain)
                };
                let mut d = plain_consignment(4, &topology_parties())
                    .request
                    .declaration
                    .unwrap();
                d.declaration_reference = format!("SUPERSEDED-{}", self.n);
                d.declarant_operator_id = holder.into();
                d.holder_operator_id = holder.into();
                d.bill_of_lading_id = Digest::parse_hex("id", &b.bill_of_lading_id)
                    .unwrap()
                    .as_bytes()
                    .to_vec();
                d.created_at_unix_micros = now();
                let declaration = corridor_core::document::Declaration::try_from(d).unwrap();
                let env = Envelope::sign(
                    pt::DECLARATION,
                    corridor_proto::encode_declaration(&declaration),
                    &sb.operator_key(holder),
                );
                let request = v1::SubmitDeclarationRequest {
                    declaration: Some(v1::Envelope::from(&env)),
                    bill_of_lading: b.bill_of_lading.clone(),
                    transfer_chain: chain,
                };
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/no-chain" => {
                let mut request = d.request.clone();
                request.transfer_chain.clear();
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/stranger" => {
                let c = fresh;
                let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
                let mut forged = Envelope::sign(
                    pt::DECLARATION,
                    env.payload().to_vec(),
                    &SigningKey::generate(),
                );
                forged.add_signature(&self.key(SHIPPER_ID));
                let mut request = c.request;
                request.declaration = Some(v1::Envelope::from(&forged));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/flipped-bit" => {
                let c = fresh;
                let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
                let mut request = c.request;
                request.declaration = Some(flipped(&env));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/extra-signature" => {
                let mut env: Envelope = fresh
                    .request
                    .declaration
                    .clone()
                    .unwrap()
                    .try_into()
                    .unwrap();
                env.add_signature(&SigningKey::generate());
                let mut request = fresh.request;
                request.declaration = Some(v1::Envelope::from(&env));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/unmandated" => {
                let c = fresh;
                let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
                let alone = Envelope::sign(
                    pt::DECLARATION,
                    env.payload().to_vec(),
                    &self.key(FORWARDER_ID),
                );
                let mut request = c.request;
                request.declaration = Some(v1::Envelope::from(&alone));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/chain-not-holder" => {
                let mut request = fresh.request;
                by_non_holder(
                    &mut request.transfer_chain,
                    FORWARDER_ID,
                    CARRIER_ID,
                    &self.key(FORWARDER_ID),
                );
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/not-first" => {
                let c = fresh;
                (At::Node("KZ"), unary!(kz, submit_declaration, c.request))
            }
            "submit/other-envelope" => {
                let mut env: Envelope = d.request.declaration.clone().unwrap().try_into().unwrap();
                env.add_signature(&self.key(CARRIER_ID));
                let mut request = d.request.clone();
                request.declaration = Some(v1::Envelope::from(&env));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/bill-declared" => {
                let again = self.sb.redeclared(d, |p| {
                    p.declaration_reference =
                        corridor_core::document::Text::parse("reference", "SRM-T-AGAIN").unwrap();
                });
                (
                    At::Node("CN"),
                    unary!(cn, submit_declaration, again.request),
                )
            }
            "submit/spent" => {
                let c = fresh;
                let (shipper, carrier) = (self.key(SHIPPER_ID), self.key(CARRIER_ID));
                let mut request = c.request;
                let issue: Envelope = request.transfer_chain[0].clone().try_into().unwrap();
                let first = corridor_proto::decode_transfer_entry(issue.payload()).unwrap();
                let surrender = first
                    .next(
                        issue.document_id(),
                        TransferAction::SurrenderForDelivery,
                        op(CARRIER_ID),
                        now(),
                        None,
                    )
                    .unwrap();
                let senv = Envelope::sign(
                    pt::TRANSFER_ENTRY,
                    corridor_proto::encode_transfer_entry(&surrender),
                    &shipper,
                );
                let accepted = surrender
                    .next(
                        senv.document_id(),
                        TransferAction::SurrenderAccepted,
                        op(CARRIER_ID),
                        now(),
                        None,
                    )
                    .unwrap();
                let aenv = Envelope::sign(
                    pt::TRANSFER_ENTRY,
                    corridor_proto::encode_transfer_entry(&accepted),
                    &carrier,
                );
                request.transfer_chain.push(v1::Envelope::from(&senv));
                request.transfer_chain.push(v1::Envelope::from(&aenv));
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "submit/oversize" => {
                let mut request = d.request.clone();
                request.declaration.as_mut().unwrap().payload = padding(1024 * 1024 + 1);
                (At::Node("CN"), unary!(cn, submit_declaration, request))
            }
            "deliver/payload-type" => {
                let record = advance_record(&fresh, "CN", "KZ");
                let request = signed(pt::BORDER_EVENT, &record, &sb.node_key("CN"));
                (At::Node("KZ"), unary!(kz, deliver_advance_record, request))
            }
            "deliver/stranger" => {
                let record = advance_record(&fresh, "CN", "KZ");
                let request = signed(pt::ADVANCE_RECORD, &record, &SigningKey::generate());
                (At::Node("KZ"), unary!(kz, deliver_advance_record, request))
            }
            "deliver/other-node" => {
                let record = advance_record(&fresh, "CN", "KZ");
                let request = signed(pt::ADVANCE_RECORD, &record, &sb.node_key("AZ"));
                (At::Node("KZ"), unary!(kz, deliver_advance_record, request))
            }
            "deliver/first-country" => {
                let record = advance_record(&fresh, "KZ", "CN");
                let request = signed(pt::ADVANCE_RECORD, &record, &sb.node_key("KZ"));
                (At::Node("CN"), unary!(cn, deliver_advance_record, request))
            }
            "event/payload-type" => {
                let request = signed(pt::OFFICER_DECISION, &arrival, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/stranger" => {
                let request = signed(pt::BORDER_EVENT, &arrival, &SigningKey::generate());
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/extra-signature" => {
                let mut env =
                    Envelope::sign(pt::BORDER_EVENT, arrival.encode_to_vec(), &sb.officer("CN"));
                env.add_signature(&SigningKey::generate());
                let request = v1::SignedRequest {
                    envelope: Some(v1::Envelope::from(&env)),
                };
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/foreign-officer" => {
                let request = signed(pt::BORDER_EVENT, &arrival, &sb.officer("KZ"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/country" => {
                let mut doc = arrival.clone();
                doc.country = "KZ".into();
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/unknown" => {
                let doc = border_event(
                    "CN",
                    &unknown,
                    v1::BorderEventKind::Arrival,
                    "CNXIY",
                    Vec::new(),
                );
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/no-post" => {
                let mut doc = arrival.clone();
                doc.border_post.clear();
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/wrong-post" => {
                let mut doc = officer_doc(v1::BorderEventKind::Exit);
                doc.border_post = "CNXIY".into();
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/far-future" => {
                let mut doc = arrival.clone();
                doc.at_unix_micros = i64::MAX;
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "event/out-of-order" => {
                let doc = officer_doc(v1::BorderEventKind::Exit);
                let request = signed(pt::BORDER_EVENT, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_border_event, request))
            }
            "events/too-many" => {
                let one = signed(pt::BORDER_EVENT, &arrival, &sb.officer("CN"));
                let request = v1::SignedRequests {
                    requests: vec![one; 1025],
                };
                (At::Node("CN"), unary!(cn, record_border_events, request))
            }
            "delivers/too-many" => {
                let request = v1::SignedRequests {
                    requests: vec![v1::SignedRequest { envelope: None }; 1025],
                };
                (At::Node("KZ"), unary!(kz, deliver_advance_records, request))
            }
            "decision/findings" => {
                let doc = decision(v1::Outcome::Hold, "");
                let request = signed(pt::OFFICER_DECISION, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "decision/back-dated" => {
                let mut doc = decision(v1::Outcome::Release, "");
                doc.at_unix_micros = now() - 31 * DAY;
                let request = signed(pt::OFFICER_DECISION, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "decision/stranger" => {
                let doc = decision(v1::Outcome::Release, "");
                let request = signed(pt::OFFICER_DECISION, &doc, &SigningKey::generate());
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "decision/foreign-officer" => {
                let doc = decision(v1::Outcome::Release, "");
                let request = signed(pt::OFFICER_DECISION, &doc, &sb.officer("KZ"));
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "decision/unknown" => {
                let mut doc = decision(v1::Outcome::Release, "");
                doc.consignment_id = unknown.as_bytes().to_vec();
                let request = signed(pt::OFFICER_DECISION, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "decision/out-of-order" => {
                let doc = decision(v1::Outcome::Release, "");
                let request = signed(pt::OFFICER_DECISION, &doc, &sb.officer("CN"));
                (At::Node("CN"), unary!(cn, record_decision, request))
            }
            "cancel/payload-type" => {
                let request = signed(
                    pt::DECLARATION,
                    &cancellation(&d.id),
                    &self.key(FORWARDER_ID),
                );
                (At::Node("CN"), unary!(cn, cancel_declaration, request))
            }
            "cancel/unknown" => {
                let request = signed(
                    pt::DECLARATION_CANCELLATION,
                    &cancellation(&unknown),
                    &self.key(FORWARDER_ID),
                );
                (At::Node("CN"), unary!(cn, cancel_declaration, request))
            }
            "cancel/stranger" => {
                let request = signed(
                    pt::DECLARATION_CANCELLATION,
                    &cancellation(&d.id),
                    &SigningKey::generate(),
                );
                (At::Node("CN"), unary!(cn, cancel_declaration, request))
            }
            "cancel/far-future" => {
                let mut doc = cancellation(&d.id);
                doc.cancelled_at_unix_micros = YEAR_2200;
                let request = signed(pt::DECLARATION_CANCELLATION, &doc, &self.key(FORWARDER_ID));
                (At::Node("CN"), unary!(cn, cancel_declaration, request))
            }
            "cancel/arrived" => {
                let request = signed(
                    pt::DECLARATION_CANCELLATION,
                    &cancellation(&self.arrived.id),
                    &self.key(FORWARDER_ID),
                );
                (At::Node("CN"), unary!(cn, cancel_declaration, request))
            }
            "view/field" => {
                let request = v1::ConsignmentRequest {
                    consignment_id: "abc".into(),
                };
                (At::Node("CN"), unary!(cn, get_consignment, request))
            }
            "view/unknown" => {
                let request = v1::ConsignmentRequest {
                    consignment_id: unknown.to_hex(),
                };
                (At::Node("CN"), unary!(cn, get_consignment, request))
            }
            "watch/field" => {
                let request = v1::WatchConsignmentRequest {
                    consignment_id: "abc".into(),
                    from_sequence: 0,
                    follow: false,
                };
                (At::Node("CN"), stream!(cn, watch_consignment, request))
            }
            "watch/unknown" => {
                let request = v1::WatchConsignmentRequest {
                    consignment_id: unknown.to_hex(),
                    from_sequence: 0,
                    follow: false,
                };
                (At::Node("CN"), stream!(cn, watch_consignment, request))
            }

            // The declarant.
            "consignment/not-protobuf" => (
                At::Declarant,
                not_protobuf(
                    sb.declarant_addr(),
                    "/corridor.v1.Declarant/SubmitConsignment",
                ),
            ),
            "consignment/field" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.declaration.as_mut().unwrap().items[0].hs_code = "7700000000".into();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/far-future" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.declaration.as_mut().unwrap().created_at_unix_micros = YEAR_2200;
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/no-bill" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.bill_of_lading = None;
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/two-ways" => {
                let plain = plain_consignment(self.n, &topology_parties());
                let mut request = carrier_signed(&plain, &sb.operator_key(TOPOLOGY_CARRIER), now());
                request.bill_of_lading = plain.request.bill_of_lading;
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/dcsa-and-bill" => {
                let plain = plain_consignment(self.n, &topology_parties());
                let mut request = plain.request.clone();
                request.bill_of_lading_dcsa = dcsa_document(self.n).to_string();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/dcsa-schema" => {
                let plain = plain_consignment(self.n, &topology_parties());
                let mut request = plain.request.clone();
                request.bill_of_lading = None;
                let mut doc = dcsa_document(self.n);
                doc["consignmentItems"][0]["HSCodes"][0] = "85414".into();
                request.bill_of_lading_dcsa = doc.to_string();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "import/too-deep" => {
                let json = format!("{}{}", "[".repeat(40), "]".repeat(40));
                (At::Declarant, import_call(&declarant, json))
            }
            "import/not-json" => (At::Declarant, import_call(&declarant, "{\"a\":".into())),
            "import/schema" => {
                let mut doc = dcsa_document(self.n);
                doc["consignmentItems"][0]["HSCodes"][0] = "85414".into();
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/unfit" => {
                let mut doc = dcsa_document(self.n);
                doc["consignmentItems"][0]["HSCodes"] = serde_json::json!(["847130", "847141"]);
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/unknown-party" => {
                let mut doc = dcsa_document(self.n);
                doc["documentParties"]["shipper"]["identifyingCodes"][0]["partyCode"] =
                    "CN91610131ZZ99".into();
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/old" => {
                let doc = transport_document(
                    "straight-bill",
                    &format!("KTZE-C-{:06}", self.n),
                    now() - 60 * DAY,
                );
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/reference-reused" => {
                // The document imported, then again with a customs reference added: another
                // document under the reference of a bill on the platform.
                let mut doc = dcsa_document(self.n);
                declarant
                    .clone()
                    .import_bill(v1::ImportBillRequest {
                        transport_document_json: doc.to_string(),
                    })
                    .await
                    .expect("the document imported");
                doc["customsReferences"] = serde_json::json!([
                    {"type": "CORRIDOR", "countryCode": "CN", "values": ["0123"]}
                ]);
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/no-key" => {
                let mut doc = dcsa_document(self.n);
                doc["documentParties"]["issuingParty"]["identifyingCodes"][0]["partyCode"] =
                    CARRIER_ID.into();
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/key-not-yet-valid" => {
                // Dated by its issueDate alone: 00:00 UTC, before the carrier's key was
                // registered in this run.
                let mut doc = dcsa_document(self.n);
                doc.as_object_mut().unwrap().remove("corridor");
                (At::Declarant, import_call(&declarant, doc.to_string()))
            }
            "import/oversize" => {
                let json = "x".repeat(1 << 20);
                (At::Declarant, import_call(&declarant, json))
            }
            "export/field" => {
                let request = v1::ExportBillRequest {
                    bill_of_lading_id: "abc".into(),
                    ..Default::default()
                };
                (At::Declarant, unary!(declarant, export_bill, request))
            }
            "export/unknown" => {
                let request = v1::ExportBillRequest {
                    bill_of_lading_id: Digest::of(b"a bill").to_hex(),
                    ..Default::default()
                };
                (At::Declarant, unary!(declarant, export_bill, request))
            }
            "export/no-contact" => {
                let request = v1::ExportBillRequest {
                    bill_of_lading_id: self.platform_bill.bill_of_lading_id.clone(),
                    ..Default::default()
                };
                (At::Declarant, unary!(declarant, export_bill, request))
            }
            "export/contact" => {
                let request = v1::ExportBillRequest {
                    bill_of_lading_id: self.platform_bill.bill_of_lading_id.clone(),
                    contact_name: "Documentation desk".into(),
                    ..Default::default()
                };
                (At::Declarant, unary!(declarant, export_bill, request))
            }
            "consignment/bill-flipped-bit" => {
                let plain = plain_consignment(self.n, &topology_parties());
                let mut request = carrier_signed(&plain, &sb.operator_key(TOPOLOGY_CARRIER), now());
                request.bill_of_lading_envelope.as_mut().unwrap().signatures[0].sig[9] ^= 0x10;
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/chain-not-holder" => {
                let plain = plain_consignment(self.n, &topology_parties());
                let mut request = carrier_signed(&plain, &sb.operator_key(TOPOLOGY_CARRIER), now());
                by_non_holder(
                    &mut request.transfer_chain,
                    TOPOLOGY_FORWARDER,
                    TOPOLOGY_AZ_FORWARDER,
                    &sb.operator_key(TOPOLOGY_FORWARDER),
                );
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/reference-taken" => {
                let mut request = plain_consignment(3, &topology_parties()).request;
                request.declaration.as_mut().unwrap().items[0].description_of_goods =
                    "Sodium-ion accumulators".into();
                request.bill_of_lading.as_mut().unwrap().consignment_items[0]
                    .description_of_goods = "Sodium-ion accumulators".into();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/no-key" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.declaration.as_mut().unwrap().declarant_operator_id = "AZ9999999999".into();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/unknown-bill" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.bill_of_lading = None;
                request.bill_of_lading_id = Digest::of(b"a bill").to_hex();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "consignment/oversize" => {
                let mut request = plain_consignment(self.n, &topology_parties()).request;
                request.declaration.as_mut().unwrap().declaration_reference =
                    String::from_utf8(padding(1024 * 1024 + 1)).unwrap();
                (
                    At::Declarant,
                    unary!(declarant, submit_consignment, request),
                )
            }
            "track/field" => {
                let request = v1::TrackConsignmentRequest {
                    consignment_id: "abc".into(),
                    ..Default::default()
                };
                (
                    At::Declarant,
                    stream!(declarant, track_consignment, request),
                )
            }
            "track/unknown" => {
                let request = v1::TrackConsignmentRequest {
                    consignment_id: unknown.to_hex(),
                    ..Default::default()
                };
                (
                    At::Declarant,
                    stream!(declarant, track_consignment, request),
                )
            }
            "status/field-declarant" => {
                let request = v1::GetStatusRequest {
                    consignment_id: "abc".into(),
                };
                (At::Declarant, unary!(declarant, get_status, request))
            }
            "status/unknown-declarant" => {
                let request = v1::GetStatusRequest {
                    consignment_id: unknown.to_hex(),
                };
                (At::Declarant, unary!(declarant, get_status, request))
            }
            "transfer/payload-type" => {
                let entry = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                );
                let mut request = transfer_request(&entry, &sb.operator_key(TOPOLOGY_SHIPPER));
                request.entry.as_mut().unwrap().payload_type = pt::BILL_OF_LADING.into();
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/extra-signature" => {
                let entry = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                );
                let mut env = Envelope::sign(
                    pt::TRANSFER_ENTRY,
                    corridor_proto::encode_transfer_entry(&entry),
                    &sb.operator_key(TOPOLOGY_SHIPPER),
                );
                env.add_signature(&SigningKey::generate());
                let request = v1::TransferBillRequest {
                    entry: Some(v1::Envelope::from(&env)),
                };
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/unknown-bill" => {
                let mut parts = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                )
                .into_parts();
                parts.document_id = Digest::of(b"a bill");
                let entry = TransferEntry::new(parts).unwrap();
                let request = transfer_request(&entry, &sb.operator_key(TOPOLOGY_SHIPPER));
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/not-the-actor" => {
                let entry = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                );
                let request = transfer_request(&entry, &sb.operator_key(TOPOLOGY_FORWARDER));
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/far-future" => {
                let mut parts = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                )
                .into_parts();
                parts.time_unix_micros = YEAR_2200;
                let entry = TransferEntry::new(parts).unwrap();
                let request = transfer_request(&entry, &sb.operator_key(TOPOLOGY_SHIPPER));
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/not-the-holder" => {
                let mut parts = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_AZ_FORWARDER,
                )
                .into_parts();
                parts.actor = op(TOPOLOGY_FORWARDER);
                parts.from_holder = Some(op(TOPOLOGY_FORWARDER));
                let entry = TransferEntry::new(parts).unwrap();
                let request = transfer_request(&entry, &sb.operator_key(TOPOLOGY_FORWARDER));
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "transfer/double-spend" => {
                let shipper = sb.operator_key(TOPOLOGY_SHIPPER);
                let first = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_FORWARDER,
                );
                let moved = sb
                    .declarant()
                    .await
                    .transfer_bill(transfer_request(&first, &shipper))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(moved.holder, TOPOLOGY_FORWARDER);
                let second = next_entry(
                    &self.platform_bill,
                    TransferAction::Transfer,
                    TOPOLOGY_AZ_FORWARDER,
                );
                let request = transfer_request(&second, &shipper);
                (At::Declarant, unary!(declarant, transfer_bill, request))
            }
            "bill/field" => {
                let request = v1::GetBillRequest {
                    bill_of_lading_id: "abc".into(),
                };
                (At::Declarant, unary!(declarant, get_bill, request))
            }
            "bill/unknown" => {
                let request = v1::GetBillRequest {
                    bill_of_lading_id: Digest::of(b"a bill").to_hex(),
                };
                (At::Declarant, unary!(declarant, get_bill, request))
            }
            "withdraw/field" => {
                let request = v1::CancelConsignmentRequest {
                    consignment_id: "abc".into(),
                    reason: "goods not ready".into(),
                };
                (
                    At::Declarant,
                    unary!(declarant, cancel_consignment, request),
                )
            }
            "withdraw/unknown" => {
                let request = v1::CancelConsignmentRequest {
                    consignment_id: unknown.to_hex(),
                    reason: "goods not ready".into(),
                };
                (
                    At::Declarant,
                    unary!(declarant, cancel_consignment, request),
                )
            }
            "withdraw/arrived" => {
                let c = self.sb.declarant_entries(&self.lodged).await;
                assert!(!c.is_empty());
                let lodged = self.lodged;
                self.sb
                    .arrive(
                        "CN",
                        &lodged,
                        plain_consignment(3, &topology_parties()).seals,
                    )
                    .await
                    .unwrap();
                let request = v1::CancelConsignmentRequest {
                    consignment_id: lodged.to_hex(),
                    reason: "goods not ready".into(),
                };
                (
                    At::Declarant,
                    unary!(declarant, cancel_consignment, request),
                )
            }
            other => panic!("ERRORS.md names case {other:?}, which this test does not know"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_the_table_of_status_codes_is_what_the_services_answer() {
    let (rows, _) = table();
    assert!(rows.len() > 50, "the table has its rows: {}", rows.len());
    let mut world = World::start().await;
    let mut wrong = Vec::new();
    for row in &rows {
        let (at, call) = world.case(&row.case).await;
        let before = world.ledger_size(at).await;
        let answer = call.await;
        let after = world.ledger_size(at).await;
        let said = match &answer {
            Ok(()) => "answered OK".to_string(),
            Err(s) => format!("{:?}: {}", s.code(), s.message()),
        };
        let right = answer
            .as_ref()
            .err()
            .is_some_and(|s| s.code() == row.code && s.message().contains(&row.part));
        if !right {
            wrong.push(format!(
                "{}.{} [{}]: the table says {:?} with {:?}; {said}",
                row.service, row.rpc, row.case, row.code, row.part
            ));
        }
        if before != after {
            wrong.push(format!(
                "{} [{}]: the refusal recorded {} entries at {at:?}",
                row.rpc,
                row.case,
                after - before
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    world.sb.stop().await;
}
