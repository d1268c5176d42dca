//! Conversions between the messages of `declarant.proto` and the declarant's records and
//! answers of `corridor_core::document::declarant`, the reading of the declarant's requests,
//! and the reading of the step receipts a customs node answers the declarant with.
//!
//! Wire to core refuses what is malformed, naming the field; core to wire is `From<&T>`, and
//! gives back exactly the message the declarant signs or answers, so a submission outcome
//! decoded and encoded again has the same bytes.

use corridor_core::document::declarant::{
    BillRecord, BillSource, ChainHead, PlatformStatus, SignedBill, SubmissionOutcome,
    SubmissionReceipt, SubmissionState,
};
use corridor_core::document::{BillOfLading, Declaration, StepReceipt};
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, ParseError, payload_type};
use prost::Message;

use crate::customs::{lane_from_wire, state_from_wire};
use crate::v1;

impl From<SubmissionState> for v1::SubmissionState {
    fn from(s: SubmissionState) -> Self {
        match s {
            SubmissionState::Pending => Self::Pending,
            SubmissionState::Accepted => Self::Accepted,
            SubmissionState::Refused => Self::Refused,
            SubmissionState::Cancelled => Self::Cancelled,
        }
    }
}

fn submission_state(field: &str, v: i32) -> Result<SubmissionState, ParseError> {
    match v1::SubmissionState::try_from(v) {
        Ok(v1::SubmissionState::Pending) => Ok(SubmissionState::Pending),
        Ok(v1::SubmissionState::Accepted) => Ok(SubmissionState::Accepted),
        Ok(v1::SubmissionState::Refused) => Ok(SubmissionState::Refused),
        Ok(v1::SubmissionState::Cancelled) => Ok(SubmissionState::Cancelled),
        Ok(v1::SubmissionState::Unspecified) => Err(ParseError::new(
            field,
            "required: SUBMISSION_STATE_UNSPECIFIED is not allowed here",
        )),
        Err(_) => Err(ParseError::new(field, format!("unknown value {v}"))),
    }
}

impl TryFrom<v1::SubmissionOutcome> for SubmissionOutcome {
    type Error = ParseError;
    fn try_from(m: v1::SubmissionOutcome) -> Result<Self, ParseError> {
        Ok(Self {
            consignment_id: Digest::from_slice("consignment_id", &m.consignment_id)?,
            country: CountryCode::parse("country", &m.country)?,
            state: submission_state("state", m.state)?,
            detail: m.detail,
            node_entry_hash: if m.node_entry_hash.is_empty() {
                None
            } else {
                Some(Digest::from_slice("node_entry_hash", &m.node_entry_hash)?)
            },
            at_unix_micros: m.at_unix_micros,
        })
    }
}

impl From<&SubmissionOutcome> for v1::SubmissionOutcome {
    fn from(o: &SubmissionOutcome) -> Self {
        Self {
            consignment_id: o.consignment_id.as_bytes().to_vec(),
            country: o.country.to_string(),
            state: v1::SubmissionState::from(o.state) as i32,
            detail: o.detail.clone(),
            node_entry_hash: o
                .node_entry_hash
                .map_or(Vec::new(), |h| h.as_bytes().to_vec()),
            at_unix_micros: o.at_unix_micros,
        }
    }
}

/// Decodes submission outcome payload bytes into a checked outcome.
pub fn decode_submission_outcome(bytes: &[u8]) -> Result<SubmissionOutcome, ParseError> {
    let m = v1::SubmissionOutcome::decode(bytes).map_err(|e| {
        ParseError::new("payload", format!("not a protobuf SubmissionOutcome: {e}"))
    })?;
    SubmissionOutcome::try_from(m).map_err(|e| e.within("payload"))
}

/// The payload bytes of a submission outcome, to sign.
pub fn encode_submission_outcome(o: &SubmissionOutcome) -> Vec<u8> {
    v1::SubmissionOutcome::from(o).encode_to_vec()
}

impl From<&BillRecord> for v1::BillRecord {
    fn from(b: &BillRecord) -> Self {
        Self {
            bill_of_lading_id: b.bill_of_lading_id.to_hex(),
            bill_of_lading: Some(v1::Envelope::from(&b.bill_of_lading)),
            chain: b.chain.iter().map(v1::Envelope::from).collect(),
            holder: b.holder.as_ref().map(|h| h.to_string()).unwrap_or_default(),
            spent: b.spent,
            last_action: b
                .last_action
                .map(|a| a.name().to_string())
                .unwrap_or_default(),
            head: b.head.as_ref().map(v1::Envelope::from),
        }
    }
}

impl From<&ChainHead> for v1::ChainHead {
    fn from(h: &ChainHead) -> Self {
        Self {
            bill_of_lading_id: h.bill_of_lading_id.as_bytes().to_vec(),
            entries: h.entries,
            head_entry_id: h.head_entry_id.as_bytes().to_vec(),
            holder: h.holder.to_string(),
            spent: h.spent,
            at_unix_micros: h.at_unix_micros,
        }
    }
}

impl TryFrom<v1::ChainHead> for ChainHead {
    type Error = ParseError;
    fn try_from(m: v1::ChainHead) -> Result<Self, ParseError> {
        Ok(Self {
            bill_of_lading_id: Digest::from_slice("bill_of_lading_id", &m.bill_of_lading_id)?,
            entries: m.entries,
            head_entry_id: Digest::from_slice("head_entry_id", &m.head_entry_id)?,
            holder: OperatorId::parse("holder", &m.holder)?,
            spent: m.spent,
            at_unix_micros: m.at_unix_micros,
        })
    }
}

/// Decodes chain head payload bytes.
pub fn decode_chain_head(bytes: &[u8]) -> Result<ChainHead, ParseError> {
    let m = v1::ChainHead::decode(bytes)
        .map_err(|e| ParseError::new("payload", format!("not a protobuf ChainHead: {e}")))?;
    ChainHead::try_from(m).map_err(|e| e.within("payload"))
}

/// The payload bytes of a chain head, to sign.
pub fn encode_chain_head(h: &ChainHead) -> Vec<u8> {
    v1::ChainHead::from(h).encode_to_vec()
}

impl From<&SubmissionReceipt> for v1::SubmitConsignmentResponse {
    fn from(r: &SubmissionReceipt) -> Self {
        Self {
            consignment_id: r.consignment_id.to_hex(),
            bill_of_lading_id: r.bill_of_lading_id.to_hex(),
            first_country: r.first_country.to_string(),
            first_node: r.first_node.as_ref().map(v1::StepReceipt::from),
        }
    }
}

impl From<&PlatformStatus> for v1::PlatformStatus {
    fn from(s: &PlatformStatus) -> Self {
        Self {
            ledger_size: s.ledger_size,
            registry_entries: s.registry_entries,
            bills: s.bills,
            submissions: s.submissions,
            pending: s.pending,
            operators: s.operators.iter().map(|o| o.to_string()).collect(),
            signatures_made: s.signatures_made,
            signatures_verified: s.signatures_verified,
        }
    }
}

/// A node's step receipt, as the declarant reads it: a state left UNSPECIFIED is refused
/// (every step leaves a consignment in a state), a lane left UNSPECIFIED is "not assessed".
impl TryFrom<v1::StepReceipt> for StepReceipt {
    type Error = ParseError;
    fn try_from(m: v1::StepReceipt) -> Result<Self, ParseError> {
        let state = v1::ConsignmentState::try_from(m.state)
            .ok()
            .and_then(state_from_wire)
            .ok_or_else(|| ParseError::new("state", format!("not a state: {}", m.state)))?;
        let lane = match v1::Lane::try_from(m.lane) {
            Ok(l) => lane_from_wire(l),
            Err(_) => return Err(ParseError::new("lane", format!("unknown value {}", m.lane))),
        };
        Ok(Self {
            consignment_id: Digest::parse_hex("consignment_id", &m.consignment_id)?,
            seq: m.seq,
            entry_hash: Digest::from_slice("entry_hash", &m.entry_hash)?,
            new: m.new,
            state,
            lane,
            recorded_at_unix_micros: m.recorded_at_unix_micros,
        })
    }
}

/// What a `SubmitConsignmentRequest` gives its bill by: exactly one of a new bill (its
/// `issued_at_unix_micros` 0 meaning `now`), the id of one on the platform, or a
/// carrier-signed bill envelope with its transfer chain (each envelope opened with its
/// payload type, in field order: the bill, then the chain, which may not be empty).
pub fn bill_source(
    bill: Option<v1::BillOfLading>,
    bill_of_lading_id: &str,
    bill_of_lading_envelope: Option<v1::Envelope>,
    transfer_chain: Vec<v1::Envelope>,
    now: i64,
) -> Result<BillSource, ParseError> {
    let ways: Vec<&str> = [
        (bill.is_some(), "bill_of_lading"),
        (!bill_of_lading_id.is_empty(), "bill_of_lading_id"),
        (
            bill_of_lading_envelope.is_some() || !transfer_chain.is_empty(),
            if bill_of_lading_envelope.is_some() {
                "bill_of_lading_envelope"
            } else {
                "transfer_chain"
            },
        ),
    ]
    .into_iter()
    .filter_map(|(given, field)| given.then_some(field))
    .collect();
    match ways[..] {
        [] => {
            return Err(ParseError::new(
                "bill_of_lading",
                format!("required: {BILL_WAYS}"),
            ));
        }
        [_] => {}
        [first, second, ..] => {
            return Err(ParseError::new(
                second,
                format!(
                    "give the bill one way only ({BILL_WAYS}); the request gives {first} and {second}"
                ),
            ));
        }
    }
    if let Some(mut b) = bill {
        if b.issued_at_unix_micros == 0 {
            b.issued_at_unix_micros = now;
        }
        return BillOfLading::try_from(b)
            .map(|b| BillSource::Issue(Box::new(b)))
            .map_err(|e| e.within("bill_of_lading"));
    }
    if !bill_of_lading_id.is_empty() {
        return Digest::parse_hex("bill_of_lading_id", bill_of_lading_id)
            .map(BillSource::OnPlatform);
    }
    let Some(envelope) = bill_of_lading_envelope else {
        return Err(ParseError::new(
            "bill_of_lading_envelope",
            "required with a transfer_chain: the carrier-signed bill the chain is of",
        ));
    };
    let bill_of_lading = crate::open_envelope(
        "bill_of_lading_envelope",
        Some(envelope),
        payload_type::BILL_OF_LADING,
    )?;
    if transfer_chain.is_empty() {
        return Err(ParseError::new(
            "transfer_chain",
            "the bill's transfer chain is required, from its ISSUE entry on",
        ));
    }
    let transfer_chain = transfer_chain
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            crate::open_envelope(
                &format!("transfer_chain[{i}]"),
                Some(t),
                payload_type::TRANSFER_ENTRY,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(BillSource::Signed(SignedBill {
        bill_of_lading,
        transfer_chain,
    }))
}

/// The ways a `SubmitConsignmentRequest` gives its bill, as its refusals name them.
/// The ways a `SubmitConsignmentRequest` can give its bill, as its refusals list them.
pub const BILL_WAYS: &str = "a new bill_of_lading, the bill_of_lading_id of a bill on the platform, a carrier-signed bill_of_lading_envelope with its transfer_chain, or a DCSA transport document in bill_of_lading_dcsa";

/// The declaration of a `SubmitConsignmentRequest`: its `bill_of_lading_id` left empty is
/// the bill's id, its `created_at_unix_micros` 0 is `now`.
pub fn request_declaration(
    declaration: Option<v1::Declaration>,
    bill_of_lading_id: &Digest,
    now: i64,
) -> Result<Declaration, ParseError> {
    let mut wire = declaration.ok_or_else(|| ParseError::new("declaration", "required"))?;
    if wire.bill_of_lading_id.is_empty() {
        wire.bill_of_lading_id = bill_of_lading_id.as_bytes().to_vec();
    }
    if wire.created_at_unix_micros == 0 {
        wire.created_at_unix_micros = now;
    }
    Declaration::try_from(wire).map_err(|e| e.within("declaration"))
}

/// The entry envelope of a `TransferBillRequest` (its signatures not yet checked).
pub fn transfer_request_entry(req: v1::TransferBillRequest) -> Result<Envelope, ParseError> {
    req.entry
        .ok_or_else(|| ParseError::new("entry", "required"))?
        .try_into()
        .map_err(|e: ParseError| e.within("entry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_outcomes_round_trip_to_the_same_bytes() {
        let accepted = v1::SubmissionOutcome {
            consignment_id: Digest::of(b"c").as_bytes().to_vec(),
            country: "CN".into(),
            state: v1::SubmissionState::Accepted as i32,
            detail: "entry 4 at CN".into(),
            node_entry_hash: Digest::of(b"e").as_bytes().to_vec(),
            at_unix_micros: 7,
        };
        let refused = v1::SubmissionOutcome {
            state: v1::SubmissionState::Refused as i32,
            detail: "FailedPrecondition: no".into(),
            node_entry_hash: Vec::new(),
            ..accepted.clone()
        };
        for m in [accepted, refused] {
            let bytes = m.encode_to_vec();
            let o = decode_submission_outcome(&bytes).unwrap();
            assert_eq!(encode_submission_outcome(&o), bytes);
        }
        let unspecified = v1::SubmissionOutcome {
            consignment_id: vec![0; 32],
            country: "CN".into(),
            ..Default::default()
        };
        assert_eq!(
            decode_submission_outcome(&unspecified.encode_to_vec())
                .unwrap_err()
                .field,
            "payload.state"
        );
    }

    #[test]
    fn step_receipts_read_back_as_the_node_wrote_them() {
        let r = StepReceipt {
            consignment_id: Digest::of(b"c"),
            seq: 3,
            entry_hash: Digest::of(b"e"),
            new: true,
            state: corridor_core::document::ConsignmentState::AwaitingArrival,
            lane: None,
            recorded_at_unix_micros: 9,
        };
        let wire = v1::StepReceipt::from(&r);
        assert_eq!(StepReceipt::try_from(wire.clone()), Ok(r));
        let bad = v1::StepReceipt { state: 0, ..wire };
        assert_eq!(StepReceipt::try_from(bad).unwrap_err().field, "state");
    }

    #[test]
    fn a_submission_gives_its_bill_one_way() {
        let env = |t: &str| {
            Some(v1::Envelope {
                payload_type: t.into(),
                payload: b"p".to_vec(),
                signatures: vec![v1::Signature {
                    keyid: "ab".repeat(32),
                    sig: vec![1; 64],
                }],
            })
        };
        let bill = || env(payload_type::BILL_OF_LADING);
        let entry = || env(payload_type::TRANSFER_ENTRY).unwrap();
        let id = Digest::of(b"b");
        let field = |r: Result<BillSource, ParseError>| r.unwrap_err().to_string();
        let rows: [(Result<BillSource, ParseError>, &str); 10] = [
            (
                bill_source(Some(Default::default()), "ab", None, vec![], 1),
                "bill_of_lading_id: give the bill one way only",
            ),
            (
                bill_source(Some(Default::default()), "", bill(), vec![entry()], 1),
                "the request gives bill_of_lading and bill_of_lading_envelope",
            ),
            (
                bill_source(None, &id.to_hex(), None, vec![entry()], 1),
                "transfer_chain: give the bill one way only",
            ),
            (
                bill_source(None, "", None, vec![], 1),
                "bill_of_lading: required",
            ),
            (
                bill_source(None, "xyz", None, vec![], 1),
                "bill_of_lading_id: ",
            ),
            (
                bill_source(None, "", None, vec![entry()], 1),
                "bill_of_lading_envelope: required with a transfer_chain",
            ),
            (
                bill_source(None, "", bill(), vec![], 1),
                "transfer_chain: the bill's transfer chain is required",
            ),
            (
                bill_source(
                    None,
                    "",
                    env(payload_type::TRANSFER_ENTRY),
                    vec![entry()],
                    1,
                ),
                "bill_of_lading_envelope.payload_type: expected",
            ),
            (
                bill_source(None, "", bill(), vec![entry(), bill().unwrap()], 1),
                "transfer_chain[1].payload_type: expected",
            ),
            (
                bill_source(None, "", bill(), vec![v1::Envelope::default()], 1),
                "transfer_chain[0].",
            ),
        ];
        for (got, want) in rows {
            let got = field(got);
            assert!(got.contains(want), "{got:?} does not say {want:?}");
        }
        assert_eq!(
            bill_source(None, &id.to_hex(), None, vec![], 1),
            Ok(BillSource::OnPlatform(id))
        );
        let signed = bill_source(None, "", bill(), vec![entry()], 1).unwrap();
        assert!(
            matches!(&signed, BillSource::Signed(s) if s.transfer_chain.len() == 1),
            "{signed:?}"
        );
        assert_eq!(
            request_declaration(None, &id, 1).unwrap_err().field,
            "declaration"
        );
    }
}
