//! Conversions between the messages of `declarant.proto` and the declarant's records and
//! answers of `corridor_core::document::declarant`, the reading of the declarant's requests,
//! and the reading of the step receipts a customs node answers the declarant with.
//!
//! Wire to core refuses what is malformed, naming the field; core to wire is `From<&T>`, and
//! gives back exactly the message the declarant signs or answers, so a submission outcome
//! decoded and encoded again has the same bytes.

use corridor_core::document::declarant::{
    BillRecord, BillSource, PlatformStatus, SubmissionOutcome, SubmissionReceipt, SubmissionState,
};
use corridor_core::document::{BillOfLading, Declaration, StepReceipt};
use corridor_core::{CountryCode, Digest, Envelope, ParseError};
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
        }
    }
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

/// The bill of a `SubmitConsignmentRequest`: a new bill (its `issued_at_unix_micros` 0
/// meaning `now`) or the id of one on the platform, never both.
pub fn bill_source(
    bill: Option<v1::BillOfLading>,
    bill_of_lading_id: &str,
    now: i64,
) -> Result<BillSource, ParseError> {
    match (bill, bill_of_lading_id) {
        (Some(_), id) if !id.is_empty() => Err(ParseError::new(
            "bill_of_lading_id",
            "give either a new bill_of_lading or the id of a bill on the platform",
        )),
        (Some(mut b), _) => {
            if b.issued_at_unix_micros == 0 {
                b.issued_at_unix_micros = now;
            }
            BillOfLading::try_from(b)
                .map(|b| BillSource::Issue(Box::new(b)))
                .map_err(|e| e.within("bill_of_lading"))
        }
        (None, "") => Err(ParseError::new(
            "bill_of_lading",
            "required (or the bill_of_lading_id of a bill on the platform)",
        )),
        (None, id) => Digest::parse_hex("bill_of_lading_id", id).map(BillSource::OnPlatform),
    }
}

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
    fn a_submission_names_one_bill() {
        let field = |r: Result<BillSource, ParseError>| r.unwrap_err().field;
        assert_eq!(
            field(bill_source(Some(Default::default()), "ab", 1)),
            "bill_of_lading_id"
        );
        assert_eq!(field(bill_source(None, "", 1)), "bill_of_lading");
        assert_eq!(field(bill_source(None, "xyz", 1)), "bill_of_lading_id");
        let id = Digest::of(b"b");
        assert_eq!(
            bill_source(None, &id.to_hex(), 1),
            Ok(BillSource::OnPlatform(id))
        );
        assert_eq!(
            request_declaration(None, &id, 1).unwrap_err().field,
            "declaration"
        );
    }
}
