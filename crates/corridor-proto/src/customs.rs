//! Conversions between the messages of `customs.proto` and the customs documents of
//! `corridor_core::document::customs`.
//!
//! Wire to core is `TryFrom`: an enum left UNSPECIFIED or of an unknown number, a
//! consignment id that is not 32 bytes or a country that is not a country code is refused,
//! naming the field. Core to wire is `From<&T>`, and gives back exactly the message a node
//! signs, so a document decoded and encoded again has the same bytes.

use corridor_core::document::{
    AdvanceReceipt, AdvanceRecord, Assessment, BorderEvent, BorderEventKind, ClearanceStatus,
    Completion, ConsignmentEvent, ConsignmentState, ConsignmentView, CountryClearance,
    DeclarationSubmission, DeliveryAnswer, ExitLink, Lane, NodeStatus, OfficerDecision, Outcome,
    QueueFilter, Release, SealCheck, StepReceipt,
};
use corridor_core::{CountryCode, Digest, Envelope, ParseError, UnLocode, payload_type};
use prost::Message;

use crate::v1;

fn lane(field: &str, v: i32) -> Result<Lane, ParseError> {
    match v1::Lane::try_from(v) {
        Ok(v1::Lane::Green) => Ok(Lane::Green),
        Ok(v1::Lane::Blue) => Ok(Lane::Blue),
        Ok(v1::Lane::Yellow) => Ok(Lane::Yellow),
        Ok(v1::Lane::Red) => Ok(Lane::Red),
        Ok(v1::Lane::Unspecified) => Err(ParseError::new(
            field,
            "required: LANE_UNSPECIFIED is not allowed here",
        )),
        Err(_) => Err(ParseError::new(field, format!("unknown value {v}"))),
    }
}

impl From<Lane> for v1::Lane {
    fn from(l: Lane) -> Self {
        match l {
            Lane::Green => Self::Green,
            Lane::Blue => Self::Blue,
            Lane::Yellow => Self::Yellow,
            Lane::Red => Self::Red,
        }
    }
}

/// The lane of a wire lane; `None` for LANE_UNSPECIFIED (not assessed).
pub fn lane_from_wire(l: v1::Lane) -> Option<Lane> {
    lane("lane", l as i32).ok()
}

/// The wire lane of a lane that may not be assessed yet.
pub fn lane_to_wire(l: Option<Lane>) -> v1::Lane {
    l.map_or(v1::Lane::Unspecified, v1::Lane::from)
}

fn consignment_id(field: &str, b: &[u8]) -> Result<Digest, ParseError> {
    Digest::from_slice(field, b)
}

fn country(field: &str, s: &str) -> Result<CountryCode, ParseError> {
    CountryCode::parse(field, s)
}

/// A required UN/LOCODE field.
fn locode(field: &str, s: &str) -> Result<UnLocode, ParseError> {
    if s.is_empty() {
        return Err(ParseError::new(
            field,
            "required: the UN/LOCODE of the border post (the topology lists each country's posts; `corridor topology show`)",
        ));
    }
    UnLocode::parse(field, s)
}

impl From<v1::SealCheck> for SealCheck {
    fn from(m: v1::SealCheck) -> Self {
        Self {
            container_number: m.container_number,
            seal_number: m.seal_number,
            intact: m.intact,
        }
    }
}

impl From<&SealCheck> for v1::SealCheck {
    fn from(s: &SealCheck) -> Self {
        Self {
            container_number: s.container_number.clone(),
            seal_number: s.seal_number.clone(),
            intact: s.intact,
        }
    }
}

/// Seals on the wire.
pub fn seals_to_wire(seals: &[SealCheck]) -> Vec<v1::SealCheck> {
    seals.iter().map(v1::SealCheck::from).collect()
}

impl TryFrom<v1::CountryClearance> for CountryClearance {
    type Error = ParseError;
    fn try_from(m: v1::CountryClearance) -> Result<Self, ParseError> {
        Ok(Self {
            country: country("country", &m.country)?,
            lane: lane("lane", m.lane)?,
            dwell_micros: m.dwell_micros,
        })
    }
}

impl From<&CountryClearance> for v1::CountryClearance {
    fn from(c: &CountryClearance) -> Self {
        Self {
            country: c.country.to_string(),
            lane: v1::Lane::from(c.lane) as i32,
            dwell_micros: c.dwell_micros,
        }
    }
}

/// Clearances from the wire; `field` names the list.
pub fn clearances(
    field: &str,
    m: Vec<v1::CountryClearance>,
) -> Result<Vec<CountryClearance>, ParseError> {
    m.into_iter()
        .enumerate()
        .map(|(i, c)| CountryClearance::try_from(c).map_err(|e| e.within(&format!("{field}[{i}]"))))
        .collect()
}

/// Clearances on the wire.
pub fn clearances_to_wire(c: &[CountryClearance]) -> Vec<v1::CountryClearance> {
    c.iter().map(v1::CountryClearance::from).collect()
}

impl TryFrom<v1::Assessment> for Assessment {
    type Error = ParseError;
    fn try_from(m: v1::Assessment) -> Result<Self, ParseError> {
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            lane: lane("lane", m.lane)?,
            reasons: m.reasons,
            aeo_recognised: m.aeo_recognised,
            aeo_basis: m.aeo_basis,
            reassessment: m.reassessment,
            draw_ppm: m.draw_ppm,
            assessed_at_unix_micros: m.assessed_at_unix_micros,
        })
    }
}

impl From<&Assessment> for v1::Assessment {
    fn from(a: &Assessment) -> Self {
        Self {
            consignment_id: a.consignment_id.as_bytes().to_vec(),
            country: a.country.to_string(),
            lane: v1::Lane::from(a.lane) as i32,
            reasons: a.reasons.clone(),
            aeo_recognised: a.aeo_recognised,
            aeo_basis: a.aeo_basis.clone(),
            reassessment: a.reassessment,
            draw_ppm: a.draw_ppm,
            assessed_at_unix_micros: a.assessed_at_unix_micros,
        }
    }
}

impl TryFrom<v1::BorderEvent> for BorderEvent {
    type Error = ParseError;
    fn try_from(m: v1::BorderEvent) -> Result<Self, ParseError> {
        let kind = match v1::BorderEventKind::try_from(m.kind) {
            Ok(v1::BorderEventKind::Arrival) => BorderEventKind::Arrival,
            Ok(v1::BorderEventKind::Exit) => BorderEventKind::Exit,
            Ok(v1::BorderEventKind::Unspecified) | Err(_) => {
                return Err(ParseError::new("kind", "ARRIVAL or EXIT"));
            }
        };
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            kind,
            border_post: locode("border_post", &m.border_post)?,
            seals: m.seals.into_iter().map(SealCheck::from).collect(),
            at_unix_micros: m.at_unix_micros,
        })
    }
}

impl From<&BorderEvent> for v1::BorderEvent {
    fn from(e: &BorderEvent) -> Self {
        Self {
            consignment_id: e.consignment_id.as_bytes().to_vec(),
            country: e.country.to_string(),
            kind: match e.kind {
                BorderEventKind::Arrival => v1::BorderEventKind::Arrival,
                BorderEventKind::Exit => v1::BorderEventKind::Exit,
            } as i32,
            border_post: e.border_post.to_string(),
            seals: seals_to_wire(&e.seals),
            at_unix_micros: e.at_unix_micros,
        }
    }
}

impl TryFrom<v1::OfficerDecision> for OfficerDecision {
    type Error = ParseError;
    fn try_from(m: v1::OfficerDecision) -> Result<Self, ParseError> {
        let outcome = match v1::Outcome::try_from(m.outcome) {
            Ok(v1::Outcome::Release) => Outcome::Release,
            Ok(v1::Outcome::Hold) => Outcome::Hold,
            Ok(v1::Outcome::Refuse) => Outcome::Refuse,
            Ok(v1::Outcome::Unspecified) | Err(_) => {
                return Err(ParseError::new("outcome", "RELEASE, HOLD or REFUSE"));
            }
        };
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            outcome,
            findings: m.findings,
            at_unix_micros: m.at_unix_micros,
        })
    }
}

impl From<&OfficerDecision> for v1::OfficerDecision {
    fn from(d: &OfficerDecision) -> Self {
        Self {
            consignment_id: d.consignment_id.as_bytes().to_vec(),
            country: d.country.to_string(),
            outcome: match d.outcome {
                Outcome::Release => v1::Outcome::Release,
                Outcome::Hold => v1::Outcome::Hold,
                Outcome::Refuse => v1::Outcome::Refuse,
            } as i32,
            findings: d.findings.clone(),
            at_unix_micros: d.at_unix_micros,
        }
    }
}

impl TryFrom<v1::Release> for Release {
    type Error = ParseError;
    fn try_from(m: v1::Release) -> Result<Self, ParseError> {
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            lane: lane("lane", m.lane)?,
            released_at_unix_micros: m.released_at_unix_micros,
            dwell_micros: m.dwell_micros,
            clearance_micros: m.clearance_micros,
        })
    }
}

impl From<&Release> for v1::Release {
    fn from(r: &Release) -> Self {
        Self {
            consignment_id: r.consignment_id.as_bytes().to_vec(),
            country: r.country.to_string(),
            lane: v1::Lane::from(r.lane) as i32,
            released_at_unix_micros: r.released_at_unix_micros,
            dwell_micros: r.dwell_micros,
            clearance_micros: r.clearance_micros,
        }
    }
}

impl TryFrom<v1::Completion> for Completion {
    type Error = ParseError;
    fn try_from(m: v1::Completion) -> Result<Self, ParseError> {
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            completed_at_unix_micros: m.completed_at_unix_micros,
            clearance_micros: m.clearance_micros,
            within_target: m.within_target,
            guarantee_reference: m.guarantee_reference,
        })
    }
}

impl From<&Completion> for v1::Completion {
    fn from(c: &Completion) -> Self {
        Self {
            consignment_id: c.consignment_id.as_bytes().to_vec(),
            country: c.country.to_string(),
            completed_at_unix_micros: c.completed_at_unix_micros,
            clearance_micros: c.clearance_micros,
            within_target: c.within_target,
            guarantee_reference: c.guarantee_reference.clone(),
        }
    }
}

impl TryFrom<v1::AdvanceReceipt> for AdvanceReceipt {
    type Error = ParseError;
    fn try_from(m: v1::AdvanceReceipt) -> Result<Self, ParseError> {
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            country: country("country", &m.country)?,
            advance_record_id: Digest::from_slice("advance_record_id", &m.advance_record_id)?,
            entry_seq: m.entry_seq,
            entry_hash: Digest::from_slice("entry_hash", &m.entry_hash)?,
            received_at_unix_micros: m.received_at_unix_micros,
        })
    }
}

impl From<&AdvanceReceipt> for v1::AdvanceReceipt {
    fn from(r: &AdvanceReceipt) -> Self {
        Self {
            consignment_id: r.consignment_id.as_bytes().to_vec(),
            country: r.country.to_string(),
            advance_record_id: r.advance_record_id.as_bytes().to_vec(),
            entry_seq: r.entry_seq,
            entry_hash: r.entry_hash.as_bytes().to_vec(),
            received_at_unix_micros: r.received_at_unix_micros,
        }
    }
}

impl TryFrom<v1::AdvanceRecord> for AdvanceRecord {
    type Error = ParseError;
    fn try_from(m: v1::AdvanceRecord) -> Result<Self, ParseError> {
        let declaration: Envelope = m
            .declaration
            .ok_or_else(|| ParseError::new("declaration", "required"))?
            .try_into()
            .map_err(|e: ParseError| e.within("declaration"))?;
        let exit = if m.prev_entry_hash.is_empty() {
            None
        } else {
            Some(ExitLink {
                entry_seq: m.prev_entry_seq,
                entry_hash: Digest::from_slice("prev_entry_hash", &m.prev_entry_hash)?,
                exited_at_unix_micros: m.exited_at_unix_micros,
            })
        };
        Ok(Self {
            consignment_id: consignment_id("consignment_id", &m.consignment_id)?,
            from_country: country("from_country", &m.from_country)?,
            to_country: country("to_country", &m.to_country)?,
            declaration,
            bill_of_lading_id: Digest::from_slice("bill_of_lading_id", &m.bill_of_lading_id)?,
            lane: lane("lane", m.lane)?,
            reasons: m.reasons,
            clearance_micros: m.clearance_micros,
            clearances: clearances("clearances", m.clearances)?,
            exit,
            aeo_at_origin: m.aeo_at_origin,
            seals: m.seals.into_iter().map(SealCheck::from).collect(),
        })
    }
}

impl From<&AdvanceRecord> for v1::AdvanceRecord {
    fn from(r: &AdvanceRecord) -> Self {
        Self {
            consignment_id: r.consignment_id.as_bytes().to_vec(),
            from_country: r.from_country.to_string(),
            to_country: r.to_country.to_string(),
            declaration: Some(v1::Envelope::from(&r.declaration)),
            bill_of_lading_id: r.bill_of_lading_id.as_bytes().to_vec(),
            lane: v1::Lane::from(r.lane) as i32,
            reasons: r.reasons.clone(),
            clearance_micros: r.clearance_micros,
            clearances: clearances_to_wire(&r.clearances),
            prev_entry_seq: r.exit.map_or(0, |e| e.entry_seq),
            prev_entry_hash: r
                .exit
                .map_or(Vec::new(), |e| e.entry_hash.as_bytes().to_vec()),
            exited_at_unix_micros: r.exit.map_or(0, |e| e.exited_at_unix_micros),
            aeo_at_origin: r.aeo_at_origin,
            seals: seals_to_wire(&r.seals),
        }
    }
}

impl From<ConsignmentState> for v1::ConsignmentState {
    fn from(s: ConsignmentState) -> Self {
        match s {
            ConsignmentState::AwaitingArrival => Self::AwaitingArrival,
            ConsignmentState::AwaitingOfficer => Self::AwaitingOfficer,
            ConsignmentState::Held => Self::Held,
            ConsignmentState::Released => Self::Released,
            ConsignmentState::Refused => Self::Refused,
            ConsignmentState::Exited => Self::Exited,
            ConsignmentState::HandedOver => Self::HandedOver,
            ConsignmentState::Completed => Self::Completed,
            ConsignmentState::Cancelled => Self::Cancelled,
        }
    }
}

/// The state of a wire state; `None` for CONSIGNMENT_STATE_UNSPECIFIED.
pub fn state_from_wire(s: v1::ConsignmentState) -> Option<ConsignmentState> {
    Some(match s {
        v1::ConsignmentState::Unspecified => return None,
        v1::ConsignmentState::AwaitingArrival => ConsignmentState::AwaitingArrival,
        v1::ConsignmentState::AwaitingOfficer => ConsignmentState::AwaitingOfficer,
        v1::ConsignmentState::Held => ConsignmentState::Held,
        v1::ConsignmentState::Released => ConsignmentState::Released,
        v1::ConsignmentState::Refused => ConsignmentState::Refused,
        v1::ConsignmentState::Exited => ConsignmentState::Exited,
        v1::ConsignmentState::HandedOver => ConsignmentState::HandedOver,
        v1::ConsignmentState::Completed => ConsignmentState::Completed,
        v1::ConsignmentState::Cancelled => ConsignmentState::Cancelled,
    })
}

impl From<ClearanceStatus> for v1::ClearanceStatus {
    fn from(s: ClearanceStatus) -> Self {
        match s {
            ClearanceStatus::OnTrack => Self::OnTrack,
            ClearanceStatus::Flagged => Self::Flagged,
            ClearanceStatus::Breached => Self::Breached,
        }
    }
}

impl From<&ConsignmentEvent> for v1::ConsignmentEvent {
    fn from(e: &ConsignmentEvent) -> Self {
        Self {
            country: e.country.to_string(),
            seq: e.seq,
            entry_hash: e.entry_hash.as_bytes().to_vec(),
            kind: e.kind.clone(),
            recorded_at_unix_micros: e.recorded_at_unix_micros,
            state: v1::ConsignmentState::from(e.state) as i32,
            lane: lane_to_wire(e.lane) as i32,
            detail: e.detail.clone(),
        }
    }
}

impl From<&StepReceipt> for v1::StepReceipt {
    fn from(r: &StepReceipt) -> Self {
        Self {
            consignment_id: r.consignment_id.to_hex(),
            seq: r.seq,
            entry_hash: r.entry_hash.as_bytes().to_vec(),
            new: r.new,
            state: v1::ConsignmentState::from(r.state) as i32,
            lane: lane_to_wire(r.lane) as i32,
            recorded_at_unix_micros: r.recorded_at_unix_micros,
        }
    }
}

impl From<&DeliveryAnswer> for v1::DeliverAdvanceRecordResponse {
    fn from(a: &DeliveryAnswer) -> Self {
        Self {
            receipt: Some(v1::Envelope::from(&a.receipt)),
            new: a.new,
        }
    }
}

impl From<&ConsignmentView> for v1::ConsignmentView {
    fn from(v: &ConsignmentView) -> Self {
        Self {
            consignment_id: v.consignment_id.to_hex(),
            country: v.country.to_string(),
            state: v1::ConsignmentState::from(v.state) as i32,
            lane: lane_to_wire(v.lane) as i32,
            reasons: v.reasons.clone(),
            aeo_recognised: v.aeo_recognised,
            aeo_basis: v.aeo_basis.clone(),
            declarant_operator_id: v.declarant_operator_id.to_string(),
            holder_operator_id: v.holder_operator_id.to_string(),
            arrived_at_unix_micros: v.arrived_at_unix_micros,
            released_at_unix_micros: v.released_at_unix_micros,
            clearance_micros: v.clearance_micros,
            clearance_status: v1::ClearanceStatus::from(v.clearance_status) as i32,
            next_country: v
                .next_country
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            events: v.events.iter().map(v1::ConsignmentEvent::from).collect(),
            guarantee_reference: v.guarantee_reference.clone(),
            guarantee_discharged: v.guarantee_discharged,
            declaration_reference: v.declaration_reference.clone(),
            clearances: clearances_to_wire(&v.clearances),
            seals: seals_to_wire(&v.seals),
        }
    }
}

impl From<v1::QueueFilter> for QueueFilter {
    fn from(f: v1::QueueFilter) -> Self {
        match f {
            v1::QueueFilter::Unspecified => Self::Open,
            v1::QueueFilter::AwaitingOfficer => Self::AwaitingOfficer,
            v1::QueueFilter::Flagged => Self::Flagged,
            v1::QueueFilter::All => Self::All,
        }
    }
}

impl From<&NodeStatus> for v1::NodeStatus {
    fn from(s: &NodeStatus) -> Self {
        Self {
            country: s.country.to_string(),
            ledger_size: s.ledger_size,
            registry_entries: s.registry_entries,
            consignments: s.consignments,
            outbox: s.outbox,
            signatures_made: s.signatures_made,
            signatures_verified: s.signatures_verified,
            follow_streams: s.follow_streams,
        }
    }
}

fn decode<M: Message + Default, T: TryFrom<M, Error = ParseError>>(
    name: &str,
    bytes: &[u8],
) -> Result<T, ParseError> {
    let m = M::decode(bytes)
        .map_err(|e| ParseError::new("payload", format!("not a protobuf {name}: {e}")))?;
    T::try_from(m).map_err(|e| e.within("payload"))
}

/// Decodes assessment payload bytes into a checked assessment.
pub fn decode_assessment(bytes: &[u8]) -> Result<Assessment, ParseError> {
    decode::<v1::Assessment, _>("Assessment", bytes)
}

/// The payload bytes of an assessment, to sign.
pub fn encode_assessment(a: &Assessment) -> Vec<u8> {
    v1::Assessment::from(a).encode_to_vec()
}

/// The payload bytes of a release, to sign.
pub fn encode_release(r: &Release) -> Vec<u8> {
    v1::Release::from(r).encode_to_vec()
}

/// The payload bytes of a completion, to sign.
pub fn encode_completion(c: &Completion) -> Vec<u8> {
    v1::Completion::from(c).encode_to_vec()
}

/// Decodes advance receipt payload bytes into a checked receipt.
pub fn decode_advance_receipt(bytes: &[u8]) -> Result<AdvanceReceipt, ParseError> {
    decode::<v1::AdvanceReceipt, _>("AdvanceReceipt", bytes)
}

/// The payload bytes of an advance receipt, to sign.
pub fn encode_advance_receipt(r: &AdvanceReceipt) -> Vec<u8> {
    v1::AdvanceReceipt::from(r).encode_to_vec()
}

/// Decodes advance record payload bytes (or an outbox row) into a checked record.
pub fn decode_advance_record(bytes: &[u8]) -> Result<AdvanceRecord, ParseError> {
    decode::<v1::AdvanceRecord, _>("AdvanceRecord", bytes)
}

/// The payload bytes of an advance record, to sign (or to keep as an outbox row).
pub fn encode_advance_record(r: &AdvanceRecord) -> Vec<u8> {
    v1::AdvanceRecord::from(r).encode_to_vec()
}

/// Decodes border event payload bytes into a checked border event.
pub fn decode_border_event(bytes: &[u8]) -> Result<BorderEvent, ParseError> {
    decode::<v1::BorderEvent, _>("BorderEvent", bytes)
}

/// Decodes officer decision payload bytes into a checked decision.
pub fn decode_officer_decision(bytes: &[u8]) -> Result<OfficerDecision, ParseError> {
    decode::<v1::OfficerDecision, _>("OfficerDecision", bytes)
}

/// The name in lower case of a consignment state number on the wire (`unknown` for an
/// unspecified or unknown one).
pub fn state_name(s: i32) -> &'static str {
    v1::ConsignmentState::try_from(s)
        .ok()
        .and_then(state_from_wire)
        .map_or("unknown", ConsignmentState::name)
}

/// The name in lower case of a lane number on the wire (`unassessed` for an unspecified or
/// unknown one).
pub fn lane_name(l: i32) -> &'static str {
    v1::Lane::try_from(l)
        .ok()
        .and_then(lane_from_wire)
        .map_or("unassessed", Lane::name)
}

impl TryFrom<v1::SubmitDeclarationRequest> for DeclarationSubmission {
    type Error = ParseError;
    /// Opens the envelopes in field order: the declaration, the bill, then the chain, which
    /// may not be empty.
    fn try_from(r: v1::SubmitDeclarationRequest) -> Result<Self, ParseError> {
        let declaration =
            crate::open_envelope("declaration", r.declaration, payload_type::DECLARATION)?;
        let bill_of_lading = crate::open_envelope(
            "bill_of_lading",
            r.bill_of_lading,
            payload_type::BILL_OF_LADING,
        )?;
        if r.transfer_chain.is_empty() {
            return Err(ParseError::new(
                "transfer_chain",
                "the bill's transfer chain is required, from its ISSUE entry on",
            ));
        }
        let transfer_chain = r
            .transfer_chain
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
        Ok(Self {
            declaration,
            bill_of_lading,
            transfer_chain,
        })
    }
}

impl From<&DeclarationSubmission> for v1::SubmitDeclarationRequest {
    fn from(s: &DeclarationSubmission) -> Self {
        Self {
            declaration: Some(v1::Envelope::from(&s.declaration)),
            bill_of_lading: Some(v1::Envelope::from(&s.bill_of_lading)),
            transfer_chain: s.transfer_chain.iter().map(v1::Envelope::from).collect(),
        }
    }
}

/// What an officer's border event or decision says about where it belongs, read before the
/// rest of it: a node finds the consignment (or answers NotFound) before it looks at the
/// event's kind or the decision's outcome. The fields are as sent, not yet checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OfficerHeader {
    /// The consignment id bytes.
    pub consignment_id: Vec<u8>,
    /// The country it is for.
    pub country: String,
    /// When the officer saw it.
    pub at_unix_micros: i64,
}

/// The header of border event payload bytes.
pub fn decode_border_event_header(bytes: &[u8]) -> Result<OfficerHeader, ParseError> {
    let m = v1::BorderEvent::decode(bytes)
        .map_err(|e| ParseError::new("payload", format!("not a protobuf BorderEvent: {e}")))?;
    Ok(OfficerHeader {
        consignment_id: m.consignment_id,
        country: m.country,
        at_unix_micros: m.at_unix_micros,
    })
}

/// The header of officer decision payload bytes.
pub fn decode_officer_decision_header(bytes: &[u8]) -> Result<OfficerHeader, ParseError> {
    let m = v1::OfficerDecision::decode(bytes)
        .map_err(|e| ParseError::new("payload", format!("not a protobuf OfficerDecision: {e}")))?;
    Ok(OfficerHeader {
        consignment_id: m.consignment_id,
        country: m.country,
        at_unix_micros: m.at_unix_micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customs_documents_round_trip_to_the_same_bytes() {
        let id = Digest::of(b"c").as_bytes().to_vec();
        let a = v1::Assessment {
            consignment_id: id.clone(),
            country: "KZ".into(),
            lane: v1::Lane::Yellow as i32,
            reasons: vec!["value: below the floor".into()],
            aeo_recognised: true,
            aeo_basis: "own certificate".into(),
            reassessment: false,
            draw_ppm: 12,
            assessed_at_unix_micros: 5,
        };
        let bytes = a.encode_to_vec();
        assert_eq!(
            encode_assessment(&decode_assessment(&bytes).unwrap()),
            bytes
        );
        let e = v1::BorderEvent {
            consignment_id: id.clone(),
            country: "KZ".into(),
            kind: v1::BorderEventKind::Arrival as i32,
            border_post: "KZKGS".into(),
            seals: vec![v1::SealCheck {
                container_number: "MSKU1234565".into(),
                seal_number: "S1".into(),
                intact: false,
            }],
            at_unix_micros: 7,
        };
        let back = v1::BorderEvent::from(&decode_border_event(&e.encode_to_vec()).unwrap());
        assert_eq!(back, e);
        let d = v1::OfficerDecision {
            consignment_id: id,
            country: "KZ".into(),
            outcome: v1::Outcome::Hold as i32,
            findings: "papers".into(),
            at_unix_micros: 9,
        };
        let back = v1::OfficerDecision::from(&decode_officer_decision(&d.encode_to_vec()).unwrap());
        assert_eq!(back, d);
    }

    #[test]
    fn advance_records_round_trip_with_and_without_their_exit_link() {
        let key = corridor_core::SigningKey::from_seed(&[7; 32]);
        let declaration =
            Envelope::sign("application/vnd.corridor.declaration", b"d".to_vec(), &key);
        let row = v1::AdvanceRecord {
            consignment_id: Digest::of(b"c").as_bytes().to_vec(),
            from_country: "CN".into(),
            to_country: "KZ".into(),
            declaration: Some(v1::Envelope::from(&declaration)),
            bill_of_lading_id: Digest::of(b"b").as_bytes().to_vec(),
            lane: v1::Lane::Blue as i32,
            reasons: vec!["under the blue rate 0.100".into()],
            clearance_micros: 3,
            clearances: vec![v1::CountryClearance {
                country: "CN".into(),
                lane: v1::Lane::Blue as i32,
                dwell_micros: 3,
            }],
            aeo_at_origin: true,
            seals: vec![v1::SealCheck {
                container_number: "MSKU1234565".into(),
                seal_number: "S1".into(),
                intact: true,
            }],
            ..Default::default()
        };
        let linked = v1::AdvanceRecord {
            prev_entry_seq: 9,
            prev_entry_hash: Digest::of(b"exit").as_bytes().to_vec(),
            exited_at_unix_micros: 11,
            ..row.clone()
        };
        for (m, exit) in [(row, None), (linked, Some(9))] {
            let bytes = m.encode_to_vec();
            let r = decode_advance_record(&bytes).unwrap();
            assert_eq!(r.exit.map(|e| e.entry_seq), exit);
            assert_eq!(encode_advance_record(&r), bytes);
        }
    }

    #[test]
    fn malformed_customs_documents_name_the_field() {
        let rows: [(&str, Vec<u8>, &str); 4] = [
            (
                "no lane",
                v1::Assessment {
                    consignment_id: vec![0; 32],
                    country: "KZ".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
                "payload.lane",
            ),
            (
                "a short id",
                v1::Assessment {
                    consignment_id: vec![0; 3],
                    country: "KZ".into(),
                    lane: 1,
                    ..Default::default()
                }
                .encode_to_vec(),
                "payload.consignment_id",
            ),
            (
                "no country",
                v1::Assessment {
                    consignment_id: vec![0; 32],
                    lane: 1,
                    ..Default::default()
                }
                .encode_to_vec(),
                "payload.country",
            ),
            ("not protobuf", b"\xff\xff".to_vec(), "payload"),
        ];
        for (row, bytes, field) in rows {
            assert_eq!(decode_assessment(&bytes).unwrap_err().field, field, "{row}");
        }
        let arrival = v1::BorderEvent {
            consignment_id: vec![0; 32],
            country: "KZ".into(),
            kind: v1::BorderEventKind::Arrival as i32,
            border_post: "KZKGS".into(),
            ..Default::default()
        };
        type Change = fn(&mut v1::BorderEvent);
        let rows: [(&str, Change, &str); 3] = [
            ("no kind", |e| e.kind = 0, "payload.kind"),
            (
                "no border post",
                |e| e.border_post.clear(),
                "payload.border_post",
            ),
            (
                "a border post by name",
                |e| e.border_post = "Altynkol".into(),
                "payload.border_post",
            ),
        ];
        for (row, change, field) in rows {
            let mut e = arrival.clone();
            change(&mut e);
            assert_eq!(
                decode_border_event(&e.encode_to_vec()).unwrap_err().field,
                field,
                "{row}"
            );
        }
        assert!(decode_border_event(&arrival.encode_to_vec()).is_ok());
    }
}
