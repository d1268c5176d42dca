//! The checks, row by row: each row is a request (or a consignment's state) and the outcome
//! the node must answer, as the gRPC code and a fragment of its message.

use std::collections::{BTreeMap, HashMap};

use corridor_core::document::ConsignmentState as S;
use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, sample_bill_of_lading, sample_declaration, sample_issue,
};
use corridor_core::document::{
    BillOfLading, BorderEvent, Declaration, DeclarationParts, DeclarationSubmission, Lane,
    OfficerDecision, RouteStep, SealCheck, TransferAction, TransferEntry, TransferEntryParts,
};
use corridor_core::{
    CountryCode, Digest, Envelope, KeyId, OperatorId, PublicKey, SigningKey, UnLocode, payload_type,
};
use corridor_proto::v1;
use corridor_topology::{ClearanceTarget, Crossing, DocumentTimes, Post, RiskProfile, Topology};
use prost::Message;
use tonic::Code;

use super::{
    Announced, Corridor, Declared, Officer, OfficerSigned, OperatorKeys, Plan, Receipt, Rules,
    Signer, plan_handover,
};
use crate::consignment::{At, Consignment, Effect, Opened, kind};
use crate::error::Error;
use crate::risk::AeoStatus;

const T0: i64 = 1_772_438_400_000_000;

/// Each request read as the gRPC layer reads it (`crate::service`), then checked.
impl Rules {
    fn declaration_request(
        &self,
        keys: &impl OperatorKeys,
        req: v1::SubmitDeclarationRequest,
    ) -> Result<Declared, Error> {
        self.declaration(keys, DeclarationSubmission::try_from(req)?, T0)
    }

    fn advance_record_request(
        &self,
        keys: &impl OperatorKeys,
        req: v1::SignedRequest,
    ) -> Result<Announced, Error> {
        let env =
            corridor_proto::open_envelope("envelope", req.envelope, payload_type::ADVANCE_RECORD)?;
        self.advance_record(keys, env)
    }

    fn border_event_request(
        &self,
        req: v1::SignedRequest,
    ) -> Result<OfficerSigned<BorderEvent>, Error> {
        let env =
            corridor_proto::open_envelope("envelope", req.envelope, payload_type::BORDER_EVENT)?;
        self.officer_request(env, T0)
    }

    fn decision_request(
        &self,
        req: v1::SignedRequest,
    ) -> Result<OfficerSigned<OfficerDecision>, Error> {
        let env = corridor_proto::open_envelope(
            "envelope",
            req.envelope,
            payload_type::OFFICER_DECISION,
        )?;
        self.officer_request(env, T0)
    }

    fn receipt_response(
        &self,
        id: &Digest,
        record: &Envelope,
        next: &CountryCode,
        resp: v1::DeliverAdvanceRecordResponse,
    ) -> Result<Receipt, Error> {
        let env =
            corridor_proto::open_envelope("receipt", resp.receipt, payload_type::ADVANCE_RECEIPT)?;
        self.receipt(id, record, next, env)
    }
}

fn country(c: &str) -> CountryCode {
    CountryCode::parse("c", c).unwrap()
}

fn key(name: &str) -> SigningKey {
    SigningKey::from_seed(&Digest::of(name.as_bytes()).as_bytes().clone())
}

fn node_key(c: &str) -> SigningKey {
    key(&format!("node {c}"))
}

fn officer_key(c: &str) -> SigningKey {
    key(&format!("officer {c}"))
}

/// Operators' keys as a registry copy would hold them: every key valid at any time.
struct Keys(HashMap<(String, KeyId), PublicKey>);

impl Keys {
    fn corridor() -> Self {
        let ops = [CARRIER_ID, SHIPPER_ID, FORWARDER_ID];
        Self(
            ops.iter()
                .map(|o| ((o.to_string(), key(o).id()), key(o).public()))
                .collect(),
        )
    }
}

impl OperatorKeys for Keys {
    fn operator_key(&self, op: &OperatorId, k: &KeyId, _at: i64) -> Result<PublicKey, String> {
        self.0
            .get(&(op.to_string(), *k))
            .cloned()
            .ok_or_else(|| format!("key {k} is not a key of operator {op}"))
    }

    fn known_key(&self, k: &KeyId, _at: i64) -> Result<PublicKey, String> {
        self.0
            .iter()
            .find_map(|((_, id), key)| (id == k).then_some(*key))
            .ok_or_else(|| format!("key {k} is not a key of the corridor"))
    }
}

/// The rules of country `at` in the CN -> KZ -> AZ -> TR corridor, with the border posts of
/// `deploy/corridor.toml` and officers at CN and KZ.
fn rules(at: &str) -> Rules {
    let route: Vec<CountryCode> = ["CN", "KZ", "AZ", "TR"].map(country).to_vec();
    let topology = Topology::middle_corridor().unwrap();
    let posts = route
        .iter()
        .map(|c| (c.clone(), topology.posts(c).unwrap()))
        .collect();
    let nodes: BTreeMap<CountryCode, PublicKey> = route
        .iter()
        .map(|c| (c.clone(), node_key(c.as_str()).public()))
        .collect();
    let officers = ["CN", "KZ"]
        .map(|c| Officer {
            country: country(c),
            name: format!("officer-{c}"),
            key: officer_key(c).public(),
        })
        .to_vec();
    Rules {
        country: country(at),
        corridor: Corridor::new(route, posts, nodes, officers),
        risk: RiskProfile::all_green(),
        target: ClearanceTarget::default(),
        times: ANY_TIME,
    }
}

/// A window no test document's time falls outside: these tests are of other checks, and
/// those of the window set their own.
const ANY_TIME: DocumentTimes = DocumentTimes {
    max_ahead_secs: u32::MAX,
    max_age_secs: u32::MAX,
};

/// gRPC code and message of a check's outcome.
fn outcome<T>(r: Result<T, Error>) -> Result<T, (Code, String)> {
    r.map_err(|e| {
        let s = tonic::Status::from(e);
        (s.code(), s.message().to_string())
    })
}

/// Asserts a row's outcome: `None` for success, or the code and a message fragment.
fn expect<T: std::fmt::Debug>(row: &str, got: Result<T, Error>, want: Option<(Code, &str)>) {
    match (outcome(got), want) {
        (Ok(_), None) => {}
        (Err((code, msg)), Some((c, fragment))) => {
            assert_eq!(code, c, "{row}: {msg}");
            assert!(msg.contains(fragment), "{row}: {msg:?} lacks {fragment:?}");
        }
        (got, want) => panic!("{row}: got {got:?}, want {want:?}"),
    }
}

fn sign(payload_type: &str, bytes: Vec<u8>, keys: &[&SigningKey]) -> Envelope {
    let mut env = Envelope::sign(payload_type, bytes, keys[0]);
    for k in &keys[1..] {
        env.add_signature(k);
    }
    env
}

/// The documents of a declaration, and who signs them.
struct Submission {
    bill: BillOfLading,
    bill_signer: SigningKey,
    chain: Vec<TransferEntry>,
    declaration: Declaration,
    declaration_signers: Vec<SigningKey>,
}

impl Submission {
    /// The sample consignment, each document signed as it must be.
    fn valid() -> Self {
        let bill = sample_bill_of_lading();
        let bill_id = Self::bill_id(&bill);
        Self {
            chain: vec![sample_issue(bill_id)],
            declaration: sample_declaration(bill_id),
            bill,
            bill_signer: key(CARRIER_ID),
            declaration_signers: vec![key(FORWARDER_ID), key(SHIPPER_ID)],
        }
    }

    fn bill_id(bill: &BillOfLading) -> Digest {
        Digest::of(&corridor_proto::encode_bill_of_lading(bill))
    }

    fn declaration_envelope(&self) -> Envelope {
        let signers: Vec<&SigningKey> = self.declaration_signers.iter().collect();
        sign(
            payload_type::DECLARATION,
            corridor_proto::encode_declaration(&self.declaration),
            &signers,
        )
    }

    fn request(&self) -> v1::SubmitDeclarationRequest {
        let bill = sign(
            payload_type::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&self.bill),
            &[&self.bill_signer],
        );
        let chain = self.chain.iter().map(|t| {
            let env = sign(
                payload_type::TRANSFER_ENTRY,
                corridor_proto::encode_transfer_entry(t),
                &[&key(t.actor.as_str())],
            );
            v1::Envelope::from(&env)
        });
        v1::SubmitDeclarationRequest {
            declaration: Some(v1::Envelope::from(&self.declaration_envelope())),
            bill_of_lading: Some(v1::Envelope::from(&bill)),
            transfer_chain: chain.collect(),
        }
    }
}

fn with_holder(d: &Declaration, holder: &str) -> Declaration {
    let mut p = d.clone().into_parts();
    p.holder_operator_id = OperatorId::parse("holder", holder).unwrap();
    Declaration::new(p).unwrap()
}

fn for_bill(d: &Declaration, bill: Digest) -> Declaration {
    let mut p = d.clone().into_parts();
    p.bill_of_lading_id = bill;
    Declaration::new(p).unwrap()
}

type Change<T> = fn(&mut T);

#[test]
fn declarations_are_checked_in_order_and_each_refusal_names_its_cause() {
    type Row = (
        &'static str,
        &'static str,
        Change<Submission>,
        Change<v1::SubmitDeclarationRequest>,
        Option<(Code, &'static str)>,
    );
    let rows: &[Row] = &[
        ("valid", "CN", |_| {}, |_| {}, None),
        (
            "no declaration",
            "CN",
            |_| {},
            |r| r.declaration = None,
            Some((Code::InvalidArgument, "declaration: required")),
        ),
        (
            "a declaration where the bill belongs",
            "CN",
            |_| {},
            |r| r.bill_of_lading = r.declaration.clone(),
            Some((Code::InvalidArgument, "bill_of_lading.payload_type")),
        ),
        (
            "no transfer chain",
            "CN",
            |_| {},
            |r| r.transfer_chain.clear(),
            Some((
                Code::InvalidArgument,
                "transfer_chain: the bill's transfer chain",
            )),
        ),
        (
            "a bill that does not decode",
            "CN",
            |_| {},
            |r| r.bill_of_lading.as_mut().unwrap().payload = b"\xff\xff".to_vec(),
            Some((Code::InvalidArgument, "bill_of_lading.payload")),
        ),
        (
            "a bill not signed by its carrier",
            "CN",
            |s| s.bill_signer = key(SHIPPER_ID),
            |_| {},
            Some((Code::Unauthenticated, "bill_of_lading is not signed by")),
        ),
        (
            "a declaration signed by nobody registered",
            "CN",
            |s| s.declaration_signers = vec![key("a stranger")],
            |_| {},
            Some((Code::Unauthenticated, "declaration is not signed by")),
        ),
        (
            "one more signature, by a registered operator",
            "CN",
            |s| s.declaration_signers.push(key(CARRIER_ID)),
            |_| {},
            None,
        ),
        (
            "one more signature, by a key of nobody",
            "CN",
            |s| s.declaration_signers.push(key("a stranger")),
            |_| {},
            Some((
                Code::Unauthenticated,
                "declaration: signature 2 is not by a key of the corridor",
            )),
        ),
        (
            "a declarant without the holder's signature",
            "CN",
            |s| s.declaration_signers = vec![key(FORWARDER_ID)],
            |_| {},
            Some((Code::PermissionDenied, "without the holder's signature")),
        ),
        (
            "a declaration of another bill",
            "CN",
            |s| s.declaration = for_bill(&s.declaration, Digest::of(b"another bill")),
            |_| {},
            Some((
                Code::InvalidArgument,
                "declaration.payload.bill_of_lading_id",
            )),
        ),
        (
            "a transfer entry of another bill",
            "CN",
            |s| s.chain = vec![sample_issue(Digest::of(b"another bill"))],
            |_| {},
            Some((Code::InvalidArgument, "transfer_chain[0].document_id")),
        ),
        (
            "a transfer by someone who does not hold the bill",
            "CN",
            |s| {
                let issue = &s.chain[0];
                let id = Digest::of(&corridor_proto::encode_transfer_entry(issue));
                let stranger = OperatorId::parse("actor", FORWARDER_ID).unwrap();
                let by_stranger = TransferEntry::new(TransferEntryParts {
                    document_id: issue.document_id,
                    seq: 1,
                    prev_entry_hash: Some(id),
                    action: TransferAction::Transfer,
                    actor: stranger.clone(),
                    from_holder: Some(stranger),
                    to_holder: OperatorId::parse("to", CARRIER_ID).unwrap(),
                    time_unix_micros: issue.time_unix_micros + 1,
                    reason: None,
                })
                .unwrap();
                s.chain.push(by_stranger);
            },
            |_| {},
            Some((
                Code::PermissionDenied,
                "transfer_chain[1]: KZ180340009876 does not hold bill",
            )),
        ),
        (
            "a declarant that holds nothing, declaring for itself",
            "CN",
            |s| {
                s.declaration = with_holder(&s.declaration, FORWARDER_ID);
                s.declaration_signers = vec![key(FORWARDER_ID)];
            },
            |_| {},
            Some((Code::PermissionDenied, "the bill is held by")),
        ),
        (
            "declared at the second country",
            "KZ",
            |_| {},
            |_| {},
            Some((Code::FailedPrecondition, "submitted at the first country")),
        ),
    ];
    for (row, at, change, change_request, want) in rows {
        let mut s = Submission::valid();
        change(&mut s);
        let mut req = s.request();
        change_request(&mut req);
        let got = rules(at).declaration_request(&Keys::corridor(), req);
        expect(row, got, *want);
    }
}

#[test]
fn a_declaration_checked_is_planned_with_its_bill_chain_and_assessment() {
    let s = Submission::valid();
    let d = rules("CN")
        .declaration_request(&Keys::corridor(), s.request())
        .unwrap();
    assert_eq!(d.id(), s.declaration_envelope().document_id());
    assert_eq!(d.bill_id(), Submission::bill_id(&s.bill));
    let plan = rules("CN").plan_declaration(d, &AeoStatus::default(), signer(T0));
    assert_eq!(
        kinds(plan),
        [
            kind::DECLARATION_ACCEPTED,
            kind::BILL_PRESENTED,
            kind::BILL_TRANSFER,
            kind::RISK_ASSESSED
        ]
    );
}

#[test]
fn the_route_and_the_guarantee_are_checked_against_the_corridor() {
    type Row = (&'static str, Change<Rules>, Option<(Code, &'static str)>);
    let rows: &[Row] = &[
        ("as declared", |_| {}, None),
        (
            "a corridor without AZ",
            |r| r.corridor.route.retain(|c| c.as_str() != "AZ"),
            Some((
                Code::InvalidArgument,
                "declaration.route[2].country: AZ is not a country of this corridor",
            )),
        ),
        (
            "a corridor that goes from CN to AZ",
            |r| r.corridor.route.swap(1, 2),
            Some((
                Code::InvalidArgument,
                "the corridor does not go from CN to KZ",
            )),
        ),
        (
            "duties at risk above the guarantee",
            |r| r.risk.guarantee_share = 1.0,
            Some((
                Code::InvalidArgument,
                "declaration.guarantee.amount.amount_minor",
            )),
        ),
    ];
    for (row, change, want) in rows {
        let mut r = rules("CN");
        change(&mut r);
        let got = r.declaration_request(&Keys::corridor(), Submission::valid().request());
        expect(row, got, *want);
    }
}

/// Step `i` of the route with its entry (or exit) post `post`.
fn route_post(d: &mut DeclarationParts, i: usize, way: Crossing, post: &str) {
    let mut step = d.route[i].clone().into_parts();
    let post = Some(UnLocode::parse("post", post).unwrap());
    match way {
        Crossing::Entry => step.entry_border_post = post,
        Crossing::Exit => step.exit_border_post = post,
    }
    d.route[i] = RouteStep::new(step).unwrap();
}

#[test]
fn declared_border_posts_are_the_corridors_crossed_their_way() {
    type Row = (
        &'static str,
        Change<DeclarationParts>,
        Option<(Code, &'static str)>,
    );
    let rows: &[Row] = &[
        ("as declared", |_| {}, None),
        (
            "the other Caspian port",
            |d| route_post(d, 1, Crossing::Exit, "KZKUR"),
            None,
        ),
        (
            "KZ entered at its exit port",
            |d| route_post(d, 1, Crossing::Entry, "KZAAU"),
            Some((
                Code::InvalidArgument,
                "declaration.route[1].entry_border_post: KZAAU is not an entry border post of KZ; its entry posts are KZKGS (Altynkol)",
            )),
        ),
        (
            "a post the topology does not list",
            |d| route_post(d, 2, Crossing::Exit, "AZXXX"),
            Some((
                Code::InvalidArgument,
                "declaration.route[2].exit_border_post: AZXXX is not an exit border post of AZ; its exit posts are AZBKS (Beyuk-Kesik)",
            )),
        ),
        (
            "CN left from its inland office",
            |d| route_post(d, 0, Crossing::Exit, "CNXIY"),
            Some((
                Code::InvalidArgument,
                "declaration.route[0].exit_border_post: CNXIY is not an exit border post of CN; its exit posts are CNKHG (Khorgos)",
            )),
        ),
    ];
    for (row, change, want) in rows {
        let mut s = Submission::valid();
        let mut parts = s.declaration.clone().into_parts();
        change(&mut parts);
        s.declaration = Declaration::new(parts).unwrap();
        let got = rules("CN").declaration_request(&Keys::corridor(), s.request());
        expect(row, got, *want);
    }
}

/// The advance record CN's node hands to KZ for the sample consignment, unsigned.
fn advance_record() -> v1::AdvanceRecord {
    let denv = Submission::valid().declaration_envelope();
    v1::AdvanceRecord {
        consignment_id: denv.document_id().as_bytes().to_vec(),
        from_country: "CN".into(),
        to_country: "KZ".into(),
        declaration: Some(v1::Envelope::from(&denv)),
        bill_of_lading_id: Submission::bill_id(&sample_bill_of_lading())
            .as_bytes()
            .to_vec(),
        lane: v1::Lane::Green as i32,
        prev_entry_seq: 3,
        prev_entry_hash: Digest::of(b"exit entry").as_bytes().to_vec(),
        ..Default::default()
    }
}

fn signed_request(payload_type: &str, m: &impl Message, by: &SigningKey) -> v1::SignedRequest {
    v1::SignedRequest {
        envelope: Some(v1::Envelope::from(&Envelope::sign(
            payload_type,
            m.encode_to_vec(),
            by,
        ))),
    }
}

#[test]
fn advance_records_are_taken_only_from_the_previous_node() {
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Change<v1::AdvanceRecord>,
        Option<(Code, &'static str)>,
    );
    let rows: &[Row] = &[
        ("from CN to KZ", "KZ", "node CN", |_| {}, None),
        (
            "signed by no node",
            "KZ",
            "a stranger",
            |_| {},
            Some((Code::Unauthenticated, "not signed by a customs node")),
        ),
        (
            "signed by AZ's node",
            "KZ",
            "node AZ",
            |_| {},
            Some((Code::PermissionDenied, "only the node of CN hands")),
        ),
        (
            "claiming to come from AZ",
            "KZ",
            "node CN",
            |r| r.from_country = "AZ".into(),
            Some((Code::PermissionDenied, "only the node of CN hands")),
        ),
        (
            "for AZ",
            "KZ",
            "node CN",
            |r| r.to_country = "AZ".into(),
            Some((
                Code::InvalidArgument,
                "envelope.payload.to_country: this is the node of KZ",
            )),
        ),
        (
            "for another consignment",
            "KZ",
            "node CN",
            |r| r.consignment_id = Digest::of(b"other").as_bytes().to_vec(),
            Some((
                Code::InvalidArgument,
                "is not the declaration's document id",
            )),
        ),
        (
            "without its declaration",
            "KZ",
            "node CN",
            |r| r.declaration = None,
            Some((
                Code::InvalidArgument,
                "envelope.payload.declaration: required",
            )),
        ),
        (
            "with a declaration its declarant did not sign",
            "KZ",
            "node CN",
            |r| {
                let d = r.declaration.as_mut().unwrap();
                d.signatures.truncate(0);
                let env: Envelope = Envelope::sign(
                    payload_type::DECLARATION,
                    d.payload.clone(),
                    &key(SHIPPER_ID),
                );
                *d = v1::Envelope::from(&env);
            },
            Some((Code::Unauthenticated, "declaration is not signed by")),
        ),
        (
            "without the exit entry's hash",
            "KZ",
            "node CN",
            |r| r.prev_entry_hash.clear(),
            Some((Code::InvalidArgument, "envelope.payload.prev_entry_hash")),
        ),
        (
            "at the first country",
            "CN",
            "node KZ",
            |r| r.to_country = "CN".into(),
            Some((
                Code::FailedPrecondition,
                "CN is the first country of the route",
            )),
        ),
    ];
    for (row, at, by, change, want) in rows {
        let mut r = advance_record();
        change(&mut r);
        let req = signed_request(payload_type::ADVANCE_RECORD, &r, &key(by));
        let got = rules(at).advance_record_request(&Keys::corridor(), req);
        expect(row, got, *want);
    }
}

/// A border event at CN for the sample consignment, at the post the sample declaration
/// implies: its first post (an inland office) for an arrival, its exit post for an exit.
fn border_event(kind: v1::BorderEventKind) -> v1::BorderEvent {
    v1::BorderEvent {
        consignment_id: Digest::of(b"c").as_bytes().to_vec(),
        country: "CN".into(),
        kind: kind as i32,
        border_post: match kind {
            v1::BorderEventKind::Exit => "CNKHG",
            _ => "CNXIY",
        }
        .into(),
        at_unix_micros: T0,
        ..Default::default()
    }
}

#[test]
fn officer_steps_are_signed_by_an_officer_of_this_country_for_it() {
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Change<v1::BorderEvent>,
        Option<(Code, &'static str)>,
    );
    let rows: &[Row] = &[
        (
            "CN's officer at CN",
            payload_type::BORDER_EVENT,
            "officer CN",
            |_| {},
            None,
        ),
        (
            "KZ's officer at CN",
            payload_type::BORDER_EVENT,
            "officer KZ",
            |_| {},
            Some((
                Code::PermissionDenied,
                "officer officer-KZ of KZ may not act at the customs node of CN",
            )),
        ),
        (
            "a node's key",
            payload_type::BORDER_EVENT,
            "node CN",
            |_| {},
            Some((Code::Unauthenticated, "not signed by an officer key")),
        ),
        (
            "a decision's payload type",
            payload_type::OFFICER_DECISION,
            "officer CN",
            |_| {},
            Some((Code::InvalidArgument, "envelope.payload_type")),
        ),
        (
            "for KZ",
            payload_type::BORDER_EVENT,
            "officer CN",
            |e| e.country = "KZ".into(),
            Some((
                Code::InvalidArgument,
                "envelope.payload.country: this is the node of CN, not \"KZ\"",
            )),
        ),
        (
            "without a time",
            payload_type::BORDER_EVENT,
            "officer CN",
            |e| e.at_unix_micros = 0,
            Some((
                Code::InvalidArgument,
                "envelope.payload.at_unix_micros: required",
            )),
        ),
        (
            "a short consignment id",
            payload_type::BORDER_EVENT,
            "officer CN",
            |e| e.consignment_id.truncate(3),
            Some((Code::InvalidArgument, "envelope.payload.consignment_id")),
        ),
    ];
    for (row, pt, by, change, want) in rows {
        let mut e = border_event(v1::BorderEventKind::Arrival);
        change(&mut e);
        let got = rules("CN").border_event_request(signed_request(pt, &e, &key(by)));
        expect(row, got.map(|s| s.id()), *want);
    }
}

#[test]
fn documents_entering_here_are_dated_within_the_window_around_the_node_s_clock() {
    const S: i64 = 1_000_000;
    let mut cn = rules("CN");
    cn.times = DocumentTimes::default();
    let keys = Keys::corridor();
    let dated = |created_at: i64| {
        let mut sub = Submission::valid();
        let mut p = sub.declaration.clone().into_parts();
        p.created_at_unix_micros = created_at;
        sub.declaration = Declaration::new(p).unwrap();
        sub
    };
    let made = Submission::valid().declaration.created_at_unix_micros;
    let issued = Submission::valid().bill.issued_at_unix_micros;
    let declare = |sub: Submission, now: i64| {
        let req = DeclarationSubmission::try_from(sub.request()).unwrap();
        cn.declaration(&keys, req, now).map(|d| d.id())
    };
    let outside = "is outside the accepted window";
    type Case = (&'static str, Submission, i64, Option<(Code, &'static str)>);
    let cases: Vec<Case> = vec![
        ("made now", dated(made), made, None),
        ("made 300 s ahead", dated(made), made - 300 * S, None),
        (
            "made 30 days ago",
            dated(made),
            made + 30 * 86_400 * S,
            None,
        ),
        (
            "made 301 s ahead",
            dated(made),
            made - 301 * S,
            Some((
                Code::InvalidArgument,
                "declaration.payload.created_at_unix_micros: 2026",
            )),
        ),
        (
            "made 30 days and a second ago",
            dated(made),
            made + (30 * 86_400 + 1) * S,
            Some((Code::InvalidArgument, outside)),
        ),
        (
            "made at the end of time",
            dated(i64::MAX),
            made,
            Some((
                Code::InvalidArgument,
                "created_at_unix_micros: 9223372036854775807 is outside the accepted window, from",
            )),
        ),
        (
            "a bill issued after the clock",
            dated(issued - 20 * 60 * S),
            issued - 20 * 60 * S,
            Some((
                Code::InvalidArgument,
                "bill_of_lading.payload.issued_at_unix_micros",
            )),
        ),
    ];
    for (row, sub, now, want) in cases {
        expect(row, declare(sub, now), want);
    }
    // A bill is as old as its voyage: only a date ahead of the clock is refused.
    let old_bill = dated(issued + 60 * 86_400 * S);
    expect(
        "a bill issued 60 days before its declaration",
        declare(old_bill, issued + 60 * 86_400 * S),
        None,
    );

    let event = |at: i64| {
        let mut e = border_event(v1::BorderEventKind::Arrival);
        e.at_unix_micros = at;
        let env = corridor_proto::open_envelope(
            "envelope",
            signed_request(payload_type::BORDER_EVENT, &e, &key("officer CN")).envelope,
            payload_type::BORDER_EVENT,
        )
        .unwrap();
        cn.officer_request::<BorderEvent>(env, T0).map(|s| s.id())
    };
    let field = "envelope.payload.at_unix_micros";
    expect("an arrival now", event(T0), None);
    for (row, at) in [
        ("an arrival at the end of time", i64::MAX),
        ("an arrival in 2200", 7_258_118_400_000_000),
        ("an arrival 301 s ahead", T0 + 301 * S),
        ("an arrival 31 days ago", T0 - 31 * 86_400 * S),
    ] {
        expect(row, event(at), Some((Code::InvalidArgument, field)));
        let message = outcome(event(at)).unwrap_err().1;
        assert!(
            message.contains("from 2026-01-31T08:00:00.000000Z to 2026-03-02T08:05:00.000000Z")
                && message.contains("now 2026-03-02T08:00:00.000000Z"),
            "{row}: the window and the clock named: {message}"
        );
    }
}

#[test]
fn a_chain_is_taken_only_as_its_platform_states_it_now() {
    use corridor_core::document::declarant::ChainHead;
    let platform = key("declarant");
    let mut cn = rules("CN");
    cn.times = DocumentTimes::default();
    cn.corridor.declarant = Some(platform.public());
    let sub = Submission::valid();
    let now = sub.declaration.created_at_unix_micros;
    let request = sub.request();
    let issue: Envelope = request.transfer_chain[0].clone().try_into().unwrap();
    let declared = || {
        cn.declaration(
            &Keys::corridor(),
            DeclarationSubmission::try_from(sub.request()).unwrap(),
            now,
        )
        .unwrap()
    };
    let head = |entries: u64, last: Digest, at: i64, by: &SigningKey| {
        let h = ChainHead {
            bill_of_lading_id: declared().bill_id(),
            entries,
            head_entry_id: last,
            holder: OperatorId::parse("holder", SHIPPER_ID).unwrap(),
            spent: false,
            at_unix_micros: at,
        };
        Envelope::sign(
            payload_type::CHAIN_HEAD,
            corridor_proto::declarant::encode_chain_head(&h),
            by,
        )
    };
    let current = issue.document_id();
    let check = |h: Option<Envelope>| {
        cn.current_chain(declared(), h, (now, now + 1_000))
            .map(|d| d.chain_head.is_some())
    };
    type Case = (
        &'static str,
        Option<Envelope>,
        Result<bool, (Code, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        ("a bill the platform does not have", None, Ok(false)),
        (
            "the chain as the platform states it",
            Some(head(1, current, now, &platform)),
            Ok(true),
        ),
        (
            "a chain the platform has moved on from",
            Some(head(2, Digest::of(b"the next entry"), now, &platform)),
            Err((
                Code::FailedPrecondition,
                "superseded transfer chain: the chain presented of bill",
            )),
        ),
        (
            "another entry where the platform has one",
            Some(head(1, Digest::of(b"another entry"), now, &platform)),
            Err((Code::FailedPrecondition, "superseded transfer chain")),
        ),
        (
            "transfers the platform never recorded",
            Some(head(0, Digest::ZERO, now, &platform)),
            Err((
                Code::FailedPrecondition,
                "beyond what the bill's platform of record has recorded",
            )),
        ),
        (
            "a statement of an hour ago, replayed",
            Some(head(1, current, now - 3_600_000_000, &platform)),
            Err((Code::Unavailable, "not now")),
        ),
        (
            "a statement signed by another key",
            Some(head(1, current, now, &key("stranger"))),
            Err((Code::Unavailable, "is not the declarant's")),
        ),
    ];
    for (row, h, want) in cases {
        match (outcome(check(h)), want) {
            (Ok(got), Ok(w)) => assert_eq!(got, w, "{row}"),
            (Err((code, m)), Err((c, part))) => {
                assert_eq!(code, c, "{row}: {m}");
                assert!(m.contains(part), "{row}: {m:?} lacks {part:?}");
            }
            (got, w) => panic!("{row}: got {got:?}, want {w:?}"),
        }
    }
}

#[test]
fn every_signature_of_an_officer_s_document_is_by_a_corridor_key_and_verifies() {
    let e = border_event(v1::BorderEventKind::Arrival);
    let with = |second: &SigningKey| {
        let mut env = Envelope::sign(
            payload_type::BORDER_EVENT,
            e.encode_to_vec(),
            &key("officer CN"),
        );
        env.add_signature(second);
        v1::SignedRequest {
            envelope: Some(v1::Envelope::from(&env)),
        }
    };
    let got = rules("CN").border_event_request(with(&key("officer KZ")));
    expect("co-signed by KZ's officer", got.map(|s| s.id()), None);
    let got = rules("CN").border_event_request(with(&key("a stranger")));
    expect(
        "co-signed by a key of nobody",
        got.map(|s| s.id()),
        Some((
            Code::Unauthenticated,
            "officer's document: signature 1 is not by a key of the corridor",
        )),
    );
    let mut bad = with(&key("officer KZ"));
    bad.envelope.as_mut().unwrap().signatures[1].sig[0] ^= 0x01;
    let got = rules("CN").border_event_request(bad);
    expect(
        "co-signed with a signature that does not verify",
        got.map(|s| s.id()),
        Some((Code::Unauthenticated, "signature 1, by key")),
    );
}

fn signer(now: i64) -> Signer<'static> {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    Signer {
        key: KEY.get_or_init(|| node_key("CN")),
        now,
    }
}

fn kinds(plan: Plan) -> Vec<&'static str> {
    plan.into_entries().iter().map(|p| p.kind).collect()
}

fn seal(number: &str, intact: bool) -> SealCheck {
    SealCheck {
        container_number: "MSKU1234565".into(),
        seal_number: number.into(),
        intact,
    }
}

/// The sample consignment at `at`, in `state` and `lane`, under seal `S1`.
fn consignment(at: &str, state: S, lane: Lane) -> Consignment {
    let d = Submission::valid().declaration;
    let entry = At {
        seq: 0,
        hash: Digest::ZERO,
        time: T0,
        kind: kind::DECLARATION_ACCEPTED.into(),
        envelope_id: Digest::of(b"declaration"),
    };
    let opened = Opened {
        declaration_envelope: Envelope::sign(payload_type::DECLARATION, Vec::new(), &key("d")),
        declaration: d,
        seals: vec![seal("S1", true)],
        carried: Vec::new(),
        aeo_at_origin: None,
    };
    let mut c = Consignment::open(Digest::of(b"c"), country(at), opened, &entry);
    (c.state, c.lane) = (state, Some(lane));
    c
}

type Planned = Result<Vec<&'static str>, (Code, &'static str)>;

fn check_plan(row: &str, got: Result<Plan, Error>, want: &Planned) {
    match (outcome(got.map(kinds)), want) {
        (Ok(k), Ok(w)) => assert_eq!(&k, w, "{row}"),
        (Err((code, msg)), Err((c, fragment))) => {
            assert_eq!(code, *c, "{row}: {msg}");
            assert!(msg.contains(fragment), "{row}: {msg:?} lacks {fragment:?}");
        }
        (got, want) => panic!("{row}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn border_events_follow_the_consignments_state_and_its_seals() {
    use v1::BorderEventKind::{Arrival, Exit, Unspecified};
    let out_of_order = Code::FailedPrecondition;
    type Row = (
        &'static str,
        &'static str,
        S,
        Lane,
        v1::BorderEventKind,
        Vec<SealCheck>,
        Planned,
    );
    let rows: Vec<Row> = vec![
        (
            "green arrival, seal intact: released at once",
            "CN",
            S::AwaitingArrival,
            Lane::Green,
            Arrival,
            vec![seal("S1", true)],
            Ok(vec![kind::BORDER_ARRIVAL, kind::RELEASE_AUTOMATIC]),
        ),
        (
            "green arrival at the last country: released and completed",
            "TR",
            S::AwaitingArrival,
            Lane::Green,
            Arrival,
            vec![seal("S1", true)],
            Ok(vec![
                kind::BORDER_ARRIVAL,
                kind::RELEASE_AUTOMATIC,
                kind::CONSIGNMENT_COMPLETED,
            ]),
        ),
        (
            "green arrival, seal broken: re-assessed red, not released",
            "CN",
            S::AwaitingArrival,
            Lane::Green,
            Arrival,
            vec![seal("S1", false)],
            Ok(vec![kind::BORDER_ARRIVAL, kind::RISK_REASSESSED]),
        ),
        (
            "green arrival, seal not checked: re-assessed",
            "CN",
            S::AwaitingArrival,
            Lane::Green,
            Arrival,
            vec![],
            Ok(vec![kind::BORDER_ARRIVAL, kind::RISK_REASSESSED]),
        ),
        (
            "yellow arrival: waits for an officer",
            "CN",
            S::AwaitingArrival,
            Lane::Yellow,
            Arrival,
            vec![seal("S1", true)],
            Ok(vec![kind::BORDER_ARRIVAL]),
        ),
        (
            "arrival of a released consignment",
            "CN",
            S::Released,
            Lane::Green,
            Arrival,
            vec![seal("S1", true)],
            Err((out_of_order, "arrival is out of order for consignment")),
        ),
        (
            "exit of a released consignment",
            "CN",
            S::Released,
            Lane::Green,
            Exit,
            vec![],
            Ok(vec![kind::BORDER_EXIT]),
        ),
        (
            "exit before release",
            "CN",
            S::AwaitingOfficer,
            Lane::Red,
            Exit,
            vec![],
            Err((
                out_of_order,
                "it is awaiting an officer (only a released consignment exits)",
            )),
        ),
        (
            "exit at the last country, where no post is an exit",
            "TR",
            S::Released,
            Lane::Green,
            Exit,
            vec![],
            Err((
                Code::InvalidArgument,
                "envelope.payload.border_post: TRKSY is not an exit border post of TR; TR has no exit border posts",
            )),
        ),
        (
            "neither arrival nor exit",
            "CN",
            S::Released,
            Lane::Green,
            Unspecified,
            vec![],
            Err((
                Code::InvalidArgument,
                "envelope.payload.kind: ARRIVAL or EXIT",
            )),
        ),
    ];
    for (row, at, state, lane, k, seals, want) in &rows {
        let c = consignment(at, *state, *lane);
        let mut e = border_event(*k);
        e.country = at.to_string();
        if *at == "TR" {
            e.border_post = "TRKSY".into();
        }
        e.seals = seals.iter().map(v1::SealCheck::from).collect();
        let mut r = rules(at);
        // An officer of the country acting (the corridor's officers sit at CN and KZ).
        r.corridor.officers.values_mut().for_each(|o| {
            if o.country.as_str() == "CN" {
                o.country = country(at);
            }
        });
        let step = r
            .border_event_request(signed_request(
                payload_type::BORDER_EVENT,
                &e,
                &officer_key("CN"),
            ))
            .unwrap();
        check_plan(row, r.plan_border_event(&c, step, signer(T0)), want);
    }
}

#[test]
fn a_border_event_names_a_post_of_this_country_crossed_its_way() {
    use v1::BorderEventKind::{Arrival, Exit};
    let field = Code::InvalidArgument;
    let released = Ok(vec![kind::BORDER_ARRIVAL, kind::RELEASE_AUTOMATIC]);
    type Row = (
        &'static str,
        &'static str,
        S,
        v1::BorderEventKind,
        &'static str,
        Change<Rules>,
        Planned,
    );
    let rows: Vec<Row> = vec![
        (
            "arrival at the first country's inland office",
            "CN",
            S::AwaitingArrival,
            Arrival,
            "CNXIY",
            |_| {},
            released.clone(),
        ),
        (
            "arrival at the first country's frontier post",
            "CN",
            S::AwaitingArrival,
            Arrival,
            "CNKHG",
            |_| {},
            released.clone(),
        ),
        (
            "arrival at an entry post",
            "KZ",
            S::AwaitingArrival,
            Arrival,
            "KZKGS",
            |_| {},
            released,
        ),
        (
            "arrival at an exit post",
            "KZ",
            S::AwaitingArrival,
            Arrival,
            "KZAAU",
            |_| {},
            Err((
                field,
                "envelope.payload.border_post: KZAAU is not an entry border post of KZ; its entry posts are KZKGS (Altynkol)",
            )),
        ),
        (
            "arrival at a post the topology does not list",
            "KZ",
            S::AwaitingArrival,
            Arrival,
            "KZXXX",
            |_| {},
            Err((
                field,
                "envelope.payload.border_post: KZXXX is not an entry border post of KZ; its entry posts are KZKGS (Altynkol)",
            )),
        ),
        (
            "arrival at the first country, at another country's post",
            "CN",
            S::AwaitingArrival,
            Arrival,
            "KZKGS",
            |_| {},
            Err((
                field,
                "envelope.payload.border_post: KZKGS is not a border post of CN; its posts are CNXIY (Xi'an International Port), CNKHG (Khorgos)",
            )),
        ),
        (
            "exit at an entry post",
            "KZ",
            S::Released,
            Exit,
            "KZKGS",
            |_| {},
            Err((
                field,
                "envelope.payload.border_post: KZKGS is not an exit border post of KZ; its exit posts are KZAAU (Aktau port), KZKUR (Kuryk port)",
            )),
        ),
        (
            "exit at the inland office",
            "CN",
            S::Released,
            Exit,
            "CNXIY",
            |_| {},
            Err((
                field,
                "envelope.payload.border_post: CNXIY is not an exit border post of CN; its exit posts are CNKHG (Khorgos)",
            )),
        ),
        (
            "exit at another country's post",
            "KZ",
            S::Released,
            Exit,
            "AZBKS",
            |_| {},
            Err((field, "AZBKS is not an exit border post of KZ")),
        ),
        (
            "exit by the Caspian port not declared: a diversion",
            "KZ",
            S::Released,
            Exit,
            "KZKUR",
            |_| {},
            Ok(vec![kind::BORDER_EXIT]),
        ),
        (
            "a wrong post is refused before the step's order is looked at",
            "KZ",
            S::Released,
            Arrival,
            "KZAAU",
            |_| {},
            Err((field, "KZAAU is not an entry border post of KZ")),
        ),
        (
            "no post",
            "KZ",
            S::AwaitingArrival,
            Arrival,
            "",
            |_| {},
            Err((field, "envelope.payload.border_post: required")),
        ),
        (
            "a post by its name",
            "KZ",
            S::AwaitingArrival,
            Arrival,
            "Altynkol",
            |_| {},
            Err((field, "envelope.payload.border_post: a UN/LOCODE is")),
        ),
        (
            "exit at the last country of the route, in a corridor that goes on",
            "TR",
            S::Released,
            Exit,
            "TRKPK",
            |r| {
                let kapikule = Post {
                    locode: UnLocode::parse("post", "TRKPK").unwrap(),
                    name: "Kapikule".into(),
                    crossings: vec![Crossing::Exit],
                };
                r.corridor
                    .posts
                    .entry(country("TR"))
                    .or_default()
                    .push(kapikule);
            },
            Err((
                Code::FailedPrecondition,
                "TR is the last country of the route",
            )),
        ),
    ];
    for (row, at, state, k, post, change, want) in &rows {
        let c = consignment(at, *state, Lane::Green);
        let mut e = border_event(*k);
        e.country = at.to_string();
        e.border_post = post.to_string();
        e.seals = vec![v1::SealCheck::from(&seal("S1", true))];
        let mut r = rules(at);
        change(&mut r);
        r.corridor.officers.values_mut().for_each(|o| {
            if o.country.as_str() == "CN" {
                o.country = country(at);
            }
        });
        let step = r
            .border_event_request(signed_request(
                payload_type::BORDER_EVENT,
                &e,
                &officer_key("CN"),
            ))
            .unwrap();
        let plan = r.plan_border_event(&c, step, signer(T0));
        if *post == "KZKUR" {
            // The diversion is recorded as sent: the exit at the post the officer names.
            let plan = plan.unwrap();
            let entries = plan.into_entries();
            let Effect::Exited(at_post) = &entries[0].effect else {
                panic!("{row}: {:?}", entries[0].effect)
            };
            assert_eq!(at_post.as_str(), "KZKUR", "{row}");
            let env = corridor_proto::decode_envelope(&entries[0].envelope).unwrap();
            assert_eq!(env.payload(), e.encode_to_vec(), "{row}");
            continue;
        }
        check_plan(row, plan, want);
    }
}

#[test]
fn officer_decisions_follow_the_consignments_state_and_state_their_findings() {
    use v1::Outcome::{Hold, Refuse, Release, Unspecified};
    let out_of_order = Code::FailedPrecondition;
    let rows: Vec<(&str, &str, S, v1::Outcome, &str, Planned)> = vec![
        (
            "release",
            "KZ",
            S::AwaitingOfficer,
            Release,
            "",
            Ok(vec![kind::OFFICER_DECISION]),
        ),
        (
            "hold with findings",
            "KZ",
            S::AwaitingOfficer,
            Hold,
            "papers",
            Ok(vec![kind::OFFICER_DECISION]),
        ),
        (
            "refuse a held one",
            "KZ",
            S::Held,
            Refuse,
            "contraband",
            Ok(vec![kind::OFFICER_DECISION]),
        ),
        (
            "release a held one",
            "KZ",
            S::Held,
            Release,
            "",
            Ok(vec![kind::OFFICER_DECISION]),
        ),
        (
            "release at the last country: completed",
            "TR",
            S::AwaitingOfficer,
            Release,
            "",
            Ok(vec![kind::OFFICER_DECISION, kind::CONSIGNMENT_COMPLETED]),
        ),
        (
            "no outcome",
            "KZ",
            S::AwaitingOfficer,
            Unspecified,
            "",
            Err((
                Code::InvalidArgument,
                "envelope.payload.outcome: RELEASE, HOLD or REFUSE",
            )),
        ),
        (
            "hold without findings",
            "KZ",
            S::AwaitingOfficer,
            Hold,
            "  ",
            Err((Code::InvalidArgument, "envelope.payload.findings")),
        ),
        (
            "refusal without findings",
            "KZ",
            S::Held,
            Refuse,
            "",
            Err((Code::InvalidArgument, "envelope.payload.findings")),
        ),
        (
            "hold a held one",
            "KZ",
            S::Held,
            Hold,
            "again",
            Err((out_of_order, "is already held")),
        ),
        (
            "decide before arrival",
            "KZ",
            S::AwaitingArrival,
            Release,
            "",
            Err((out_of_order, "an officer decision is out of order")),
        ),
        (
            "decide a released one",
            "KZ",
            S::Released,
            Refuse,
            "late",
            Err((out_of_order, "it is released")),
        ),
    ];
    for (row, at, state, o, findings, want) in &rows {
        let c = consignment(at, *state, Lane::Red);
        let d = v1::OfficerDecision {
            consignment_id: Digest::of(b"c").as_bytes().to_vec(),
            country: at.to_string(),
            outcome: *o as i32,
            findings: findings.to_string(),
            at_unix_micros: T0,
        };
        let mut r = rules(at);
        r.corridor.officers.values_mut().for_each(|x| {
            if x.country.as_str() == "KZ" {
                x.country = country(at);
            }
        });
        let step = r
            .decision_request(signed_request(
                payload_type::OFFICER_DECISION,
                &d,
                &key("officer KZ"),
            ))
            .unwrap();
        check_plan(row, r.plan_decision(&c, step, signer(T0)), want);
    }
}

#[test]
fn receipts_are_taken_from_the_next_node_for_the_record_sent() {
    let id = Digest::of(b"c");
    let record = Envelope::sign(
        payload_type::ADVANCE_RECORD,
        b"record".to_vec(),
        &node_key("CN"),
    );
    let receipt = || v1::AdvanceReceipt {
        consignment_id: id.as_bytes().to_vec(),
        country: "KZ".into(),
        advance_record_id: record.document_id().as_bytes().to_vec(),
        entry_seq: 7,
        entry_hash: Digest::of(b"entry").as_bytes().to_vec(),
        received_at_unix_micros: T0,
    };
    type Row = (
        &'static str,
        &'static str,
        Change<v1::AdvanceReceipt>,
        Option<(Code, &'static str)>,
    );
    let rows: &[Row] = &[
        ("KZ's receipt", "node KZ", |_| {}, None),
        (
            "signed by AZ's node",
            "node AZ",
            |_| {},
            Some((Code::Unauthenticated, "receipt from KZ")),
        ),
        (
            "for another consignment",
            "node KZ",
            |r| r.consignment_id = Digest::of(b"d").as_bytes().to_vec(),
            Some((
                Code::Unauthenticated,
                "the receipt from KZ is for another record",
            )),
        ),
        (
            "for another record",
            "node KZ",
            |r| r.advance_record_id = Digest::of(b"other").as_bytes().to_vec(),
            Some((Code::Unauthenticated, "is for another record")),
        ),
        (
            "from another country",
            "node KZ",
            |r| r.country = "AZ".into(),
            Some((Code::Unauthenticated, "is for another record")),
        ),
    ];
    for (row, by, change, want) in rows {
        let mut r = receipt();
        change(&mut r);
        let env = Envelope::sign(payload_type::ADVANCE_RECEIPT, r.encode_to_vec(), &key(by));
        let resp = v1::DeliverAdvanceRecordResponse {
            receipt: Some(v1::Envelope::from(&env)),
            new: true,
        };
        let got = rules("CN").receipt_response(&id, &record, &country("KZ"), resp);
        expect(row, got, *want);
    }
    let missing = v1::DeliverAdvanceRecordResponse::default();
    let got = rules("CN").receipt_response(&id, &record, &country("KZ"), missing);
    expect(
        "no receipt",
        got,
        Some((Code::InvalidArgument, "receipt: required")),
    );

    // A receipt checked is recorded only for a consignment that still waits for it.
    for (state, recorded) in [
        (S::Exited, true),
        (S::HandedOver, false),
        (S::Released, false),
    ] {
        let env = Envelope::sign(
            payload_type::ADVANCE_RECEIPT,
            receipt().encode_to_vec(),
            &node_key("KZ"),
        );
        let resp = v1::DeliverAdvanceRecordResponse {
            receipt: Some(v1::Envelope::from(&env)),
            new: true,
        };
        let checked = rules("CN")
            .receipt_response(&id, &record, &country("KZ"), resp)
            .unwrap();
        let plan = plan_handover(&consignment("CN", state, Lane::Green), checked);
        assert_eq!(
            plan.map(kinds),
            recorded.then(|| vec![kind::ADVANCE_ACKNOWLEDGED]),
            "{state:?}"
        );
    }
}

#[test]
fn cancellations_are_the_declarants_at_the_first_country_before_arrival() {
    let cancel = |by: &str| {
        let c = corridor_core::document::DeclarationCancellation::new(
            Digest::of(b"c"),
            corridor_core::document::Text::parse("reason", "goods sold elsewhere").unwrap(),
            T0,
        )
        .unwrap();
        let env = Envelope::sign(
            payload_type::DECLARATION_CANCELLATION,
            corridor_proto::encode_declaration_cancellation(&c),
            &key(by),
        );
        super::CancellationRequest::read(env).unwrap()
    };
    let rows: Vec<(&str, &str, &str, S, Planned)> = vec![
        (
            "by the declarant",
            FORWARDER_ID,
            "CN",
            S::AwaitingArrival,
            Ok(vec![kind::DECLARATION_CANCELLED]),
        ),
        (
            "by the holder",
            SHIPPER_ID,
            "CN",
            S::AwaitingArrival,
            Err((Code::Unauthenticated, "cancellation is not signed by")),
        ),
        (
            "after arrival",
            FORWARDER_ID,
            "CN",
            S::AwaitingOfficer,
            Err((
                Code::FailedPrecondition,
                "cancelled only before the goods arrive",
            )),
        ),
        (
            "at the second country",
            FORWARDER_ID,
            "KZ",
            S::AwaitingArrival,
            Err((
                Code::FailedPrecondition,
                "cancelled at the first country of its route (CN), not at KZ",
            )),
        ),
    ];
    for (row, by, at, state, want) in &rows {
        let c = consignment(at, *state, Lane::Green);
        let request = cancel(by);
        assert_eq!(request.id(), Digest::of(b"c"));
        let got = request
            .check(&rules(at), &Keys::corridor(), &c, T0)
            .and_then(|x| rules(at).plan_cancellation(&c, x));
        check_plan(row, got, want);
    }
}

#[test]
fn seal_problems_name_each_seal_broken_unknown_or_unchecked() {
    let rows: Vec<(&str, Vec<SealCheck>, Vec<&str>)> = vec![
        (
            "all intact",
            vec![seal("S1", true), seal("S2", true)],
            vec![],
        ),
        (
            "one broken",
            vec![seal("S1", false), seal("S2", true)],
            vec!["seal S1 on MSKU1234565 is broken"],
        ),
        (
            "one unknown",
            vec![seal("S1", true), seal("S2", true), seal("S9", true)],
            vec!["seal S9 on MSKU1234565 is not on the record"],
        ),
        (
            "one unchecked",
            vec![seal("S2", true)],
            vec!["seal S1 on MSKU1234565 was not checked"],
        ),
    ];
    for (row, found, want) in rows {
        let got = super::plans::seal_problems(&[seal("S1", true), seal("S2", true)], &found);
        assert_eq!(got, want, "{row}");
    }
}

#[test]
fn an_assessment_planned_is_signed_by_the_node_and_applied_as_recorded() {
    let c = consignment("CN", S::AwaitingArrival, Lane::Green);
    let e = border_event(v1::BorderEventKind::Arrival);
    let step = rules("CN")
        .border_event_request(signed_request(
            payload_type::BORDER_EVENT,
            &e,
            &officer_key("CN"),
        ))
        .unwrap();
    let plan = rules("CN").plan_border_event(&c, step, signer(T0)).unwrap();
    let entries = plan.into_entries();
    let reassessed = &entries[1];
    assert_eq!(reassessed.kind, kind::RISK_REASSESSED);
    let env = corridor_proto::decode_envelope(&reassessed.envelope).unwrap();
    env.verify_by(&node_key("CN").public()).unwrap();
    let Effect::Assessed(a) = &reassessed.effect else {
        panic!("{:?}", reassessed.effect)
    };
    assert_eq!(a.lane, Lane::Red);
    assert_eq!(a.reasons, ["seal: seal S1 on MSKU1234565 was not checked"]);
    assert_eq!(
        corridor_proto::customs::decode_assessment(env.payload()).unwrap(),
        *a
    );
}
