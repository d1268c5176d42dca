//! The customs documents as a node keeps them once checked: the lane a consignment is
//! assessed into, seals as found at a border, a node's assessment, an officer's border event
//! and decision, and each country's dwell. These are the validated forms of the messages of
//! `proto/corridor/v1/customs.proto`; `corridor-proto` converts the wire messages into them.
//! Field names are those of the proto messages.

use crate::codes::{CountryCode, UnLocode};
use crate::digest::Digest;
use crate::document::UnixMicros;

/// The control lane of a consignment at one country (ASYCUDA selectivity), in rising order
/// of control.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Lane {
    /// Released without control.
    Green,
    /// Released at once, documents checked after release.
    Blue,
    /// Documents checked by an officer before release.
    Yellow,
    /// Physical inspection.
    Red,
}

impl Lane {
    /// Lower-case name, as reports use it: `green`, `red`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Blue => "blue",
            Self::Yellow => "yellow",
            Self::Red => "red",
        }
    }
}

/// One seal as an officer found it. The numbers are kept as read at the border: a seal that
/// is on no record is a finding (the consignment is re-assessed red), not a malformed report.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SealCheck {
    /// The container the seal is on.
    pub container_number: String,
    /// The seal's number.
    pub seal_number: String,
    /// Whether it was found intact.
    pub intact: bool,
}

/// One country's part of the corridor clearance time.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CountryClearance {
    /// The country.
    pub country: CountryCode,
    /// The lane it cleared the consignment in.
    pub lane: Lane,
    /// From arrival to release, in microseconds.
    pub dwell_micros: i64,
}

/// A node's assessment of a consignment into a lane, before arrival or after it (a
/// re-assessment when the arrival found something).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Assessment {
    /// The consignment.
    pub consignment_id: Digest,
    /// The assessing country.
    pub country: CountryCode,
    /// The lane.
    pub lane: Lane,
    /// Every reason that contributed, in the order they were found.
    pub reasons: Vec<String>,
    /// Whether the holder was recognised as an AEO.
    pub aeo_recognised: bool,
    /// Why or why not.
    pub aeo_basis: String,
    /// A re-assessment after arrival.
    pub reassessment: bool,
    /// The draw the rates were applied to, in millionths.
    pub draw_ppm: u32,
    /// When.
    pub assessed_at_unix_micros: UnixMicros,
}

/// What a border event records.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BorderEventKind {
    /// The goods arrived at the border post.
    Arrival,
    /// The goods left the country.
    Exit,
}

/// An officer's record of the goods at a border post.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BorderEvent {
    /// The consignment.
    pub consignment_id: Digest,
    /// The country of the border post.
    pub country: CountryCode,
    /// Arrival or exit.
    pub kind: BorderEventKind,
    /// The border post's UN/LOCODE. A node takes only a post its topology lists for its
    /// country, crossed this way: at an arrival at the route's first country any of its
    /// posts, at any other arrival an entry post, at an exit an exit post. It need not be the
    /// post the declaration named: a diversion is recorded as the officer states it.
    pub border_post: UnLocode,
    /// The seals as found (at arrival).
    pub seals: Vec<SealCheck>,
    /// When the officer saw the goods.
    pub at_unix_micros: UnixMicros,
}

/// An officer's decision on a consignment in the yellow or red lane.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Outcome {
    /// Released.
    Release,
    /// Held for further control.
    Hold,
    /// Refused.
    Refuse,
}

/// An officer's decision.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OfficerDecision {
    /// The consignment.
    pub consignment_id: Digest,
    /// The officer's country.
    pub country: CountryCode,
    /// Release, hold or refuse.
    pub outcome: Outcome,
    /// What the officer found (stated for a hold or refusal).
    pub findings: String,
    /// When.
    pub at_unix_micros: UnixMicros,
}

/// Every seal on the bill's containers, as an officer finds it when nothing is amiss: what a
/// node expects at the first border.
pub fn bill_seals(bill: &crate::document::BillOfLading) -> Vec<SealCheck> {
    bill.equipment
        .iter()
        .flat_map(|e| {
            e.seals.iter().map(|s| SealCheck {
                container_number: e.container_number.as_str().to_string(),
                seal_number: s.number.as_str().to_string(),
                intact: true,
            })
        })
        .collect()
}

/// Where a consignment stands at one node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ConsignmentState {
    /// Declared or announced; the goods have not arrived at the border.
    AwaitingArrival,
    /// Arrived in the yellow or red lane (or re-assessed): an officer decides.
    AwaitingOfficer,
    /// Held by an officer.
    Held,
    /// Released; it may exit.
    Released,
    /// Refused by an officer.
    Refused,
    /// Exited towards the next country; its advance record is due there.
    Exited,
    /// The next node acknowledged the advance record.
    HandedOver,
    /// Import clearance done at the last country.
    Completed,
    /// Withdrawn by the declarant before arrival.
    Cancelled,
}

impl ConsignmentState {
    /// The state's name in lower case: `awaiting arrival`, `handed over`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AwaitingArrival => "awaiting arrival",
            Self::AwaitingOfficer => "awaiting an officer",
            Self::Held => "held",
            Self::Released => "released",
            Self::Refused => "refused",
            Self::Exited => "exited",
            Self::HandedOver => "handed over",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Where a consignment's corridor clearance time stands against the target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ClearanceStatus {
    /// Within the warning share of the target.
    OnTrack,
    /// Past the warning share.
    Flagged,
    /// Past the target.
    Breached,
}

/// One step of a consignment at a node, as recorded: the entry, and the state and lane after
/// it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConsignmentEvent {
    /// The node's country.
    pub country: CountryCode,
    /// The entry's sequence number in the node's ledger.
    pub seq: u64,
    /// The entry's hash.
    pub entry_hash: Digest,
    /// The entry's kind.
    pub kind: String,
    /// When the entry was recorded.
    pub recorded_at_unix_micros: UnixMicros,
    /// The state after the step.
    pub state: ConsignmentState,
    /// The lane after the step (none before the assessment).
    pub lane: Option<Lane>,
    /// What happened, for people.
    pub detail: String,
}

/// A node's release of a consignment in the green or blue lane, on arrival.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Release {
    /// The consignment.
    pub consignment_id: Digest,
    /// The releasing country.
    pub country: CountryCode,
    /// The lane it was released in.
    pub lane: Lane,
    /// When.
    pub released_at_unix_micros: UnixMicros,
    /// Time at this border (0: released on arrival).
    pub dwell_micros: i64,
    /// Corridor clearance time so far.
    pub clearance_micros: i64,
}

/// The last node's completion: import clearance done, the guarantee discharged.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Completion {
    /// The consignment.
    pub consignment_id: Digest,
    /// The last country of the route.
    pub country: CountryCode,
    /// When.
    pub completed_at_unix_micros: UnixMicros,
    /// Corridor clearance time, every country's dwell summed.
    pub clearance_micros: i64,
    /// Whether that is within the corridor's target.
    pub within_target: bool,
    /// The guarantee discharged.
    pub guarantee_reference: String,
}

/// A node's receipt for the previous node's advance record: the entry that recorded it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AdvanceReceipt {
    /// The consignment.
    pub consignment_id: Digest,
    /// The receiving country.
    pub country: CountryCode,
    /// The advance record's document id.
    pub advance_record_id: Digest,
    /// The entry that recorded the advance record at the receiving node.
    pub entry_seq: u64,
    /// That entry's hash.
    pub entry_hash: Digest,
    /// When it was recorded.
    pub received_at_unix_micros: UnixMicros,
}

/// The exit entry an advance record links: where the sending node recorded the exit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExitLink {
    /// The exit entry's sequence number in the sending node's ledger.
    pub entry_seq: u64,
    /// Its hash.
    pub entry_hash: Digest,
    /// When the exit was recorded.
    pub exited_at_unix_micros: UnixMicros,
}

/// What a node hands the next one when a consignment exits: the declaration as first
/// accepted, the lane and reasons here, each country's dwell so far, the seals as last
/// checked, and the exit entry it links (none in the node's outbox row, which is written in
/// the same batch as that entry).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AdvanceRecord {
    /// The consignment.
    pub consignment_id: Digest,
    /// The sending country.
    pub from_country: CountryCode,
    /// The next country of the route.
    pub to_country: CountryCode,
    /// The declaration envelope, as the first node accepted it.
    pub declaration: crate::envelope::Envelope,
    /// The bill of lading's document id.
    pub bill_of_lading_id: Digest,
    /// The lane at the sending country.
    pub lane: Lane,
    /// Every reason recorded there.
    pub reasons: Vec<String>,
    /// Corridor clearance time so far.
    pub clearance_micros: i64,
    /// Each country's dwell so far.
    pub clearances: Vec<CountryClearance>,
    /// The exit entry, once recorded.
    pub exit: Option<ExitLink>,
    /// Whether the holder was recognised as an AEO at the first country.
    pub aeo_at_origin: bool,
    /// The seals as last checked.
    pub seals: Vec<SealCheck>,
}

/// A declaration lodged at the first node of its route, as sent: the declaration, its bill
/// of lading and the bill's transfer chain from its ISSUE entry on, each envelope opened with
/// its payload type and nothing else checked yet.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeclarationSubmission {
    /// The declaration, signed by its declarant (and by the holder when another operator
    /// declares).
    pub declaration: crate::envelope::Envelope,
    /// The bill of lading, signed by its carrier.
    pub bill_of_lading: crate::envelope::Envelope,
    /// The bill's transfer chain (at least its ISSUE entry), each entry signed by its actor.
    pub transfer_chain: Vec<crate::envelope::Envelope>,
}

/// A node's answer to a step: the last entry the step recorded (or recorded before, for the
/// same envelope again) and the consignment's state and lane after it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StepReceipt {
    /// The consignment.
    pub consignment_id: Digest,
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash.
    pub entry_hash: Digest,
    /// Whether this call recorded it.
    pub new: bool,
    /// The state after the step.
    pub state: ConsignmentState,
    /// The lane after the step (none before the assessment).
    pub lane: Option<Lane>,
    /// When it was recorded.
    pub recorded_at_unix_micros: UnixMicros,
}

/// A node's answer to a delivered advance record: its signed receipt, and whether this
/// delivery recorded the record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeliveryAnswer {
    /// The receipt envelope (an [`AdvanceReceipt`] signed by the receiving node).
    pub receipt: crate::envelope::Envelope,
    /// Whether this delivery recorded the record.
    pub new: bool,
}

/// A consignment as one node shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConsignmentView {
    /// The consignment.
    pub consignment_id: Digest,
    /// The node's country.
    pub country: CountryCode,
    /// Where it stands.
    pub state: ConsignmentState,
    /// Its lane, once assessed.
    pub lane: Option<Lane>,
    /// Every reason recorded.
    pub reasons: Vec<String>,
    /// Whether the holder is recognised as an AEO here.
    pub aeo_recognised: bool,
    /// Why or why not.
    pub aeo_basis: String,
    /// Who declared it.
    pub declarant_operator_id: crate::codes::OperatorId,
    /// Who holds the bill and the goods.
    pub holder_operator_id: crate::codes::OperatorId,
    /// Arrival at this border (0: not yet).
    pub arrived_at_unix_micros: UnixMicros,
    /// Release here (0: not yet).
    pub released_at_unix_micros: UnixMicros,
    /// Corridor clearance time so far.
    pub clearance_micros: i64,
    /// That time against the target.
    pub clearance_status: ClearanceStatus,
    /// The next country of the route (none at the last).
    pub next_country: Option<CountryCode>,
    /// Its events here, when asked for.
    pub events: Vec<ConsignmentEvent>,
    /// The guarantee.
    pub guarantee_reference: String,
    /// Whether the guarantee is discharged (import clearance done).
    pub guarantee_discharged: bool,
    /// The declarant's reference.
    pub declaration_reference: String,
    /// Each country's dwell so far, this one once released.
    pub clearances: Vec<CountryClearance>,
    /// The seals as last checked.
    pub seals: Vec<SealCheck>,
}

/// Which consignments a node lists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum QueueFilter {
    /// Those still here (not handed over, completed, refused or cancelled).
    Open,
    /// Those awaiting an officer, or held.
    AwaitingOfficer,
    /// Those whose clearance time is flagged or breached.
    Flagged,
    /// Every one.
    All,
}

/// A node's counters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NodeStatus {
    /// The node's country.
    pub country: CountryCode,
    /// Entries in its ledger.
    pub ledger_size: u64,
    /// Entries in its copy of the registry.
    pub registry_entries: u64,
    /// Consignments it knows.
    pub consignments: u64,
    /// Advance records in its outbox.
    pub outbox: u64,
    /// Signatures made by this process.
    pub signatures_made: u64,
    /// Signatures verified by this process.
    pub signatures_verified: u64,
    /// `WatchConsignment` streams open now.
    pub follow_streams: u64,
}
