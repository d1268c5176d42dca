//! The declarant's documents and answers: where a submission stands, the declarant's signed
//! record of the first node's answer, a bill on the platform with its transfer chain, what a
//! submission answers, and the platform's counters. These are the core forms of the
//! messages of `proto/corridor/v1/declarant.proto`; `corridor-proto` converts them. Field
//! names are those of the proto messages.

use crate::codes::{CountryCode, OperatorId};
use crate::digest::Digest;
use crate::document::customs::StepReceipt;
use crate::document::{BillOfLading, TransferAction, UnixMicros};
use crate::envelope::Envelope;

/// Where a submission stands at the declarant.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SubmissionState {
    /// Recorded at the declarant; the first node has not answered yet.
    Pending,
    /// The first node accepted the declaration.
    Accepted,
    /// The first node refused it.
    Refused,
    /// Cancelled by the declarant.
    Cancelled,
}

/// The declarant's record of the first node's answer to a submission (signed by the
/// declarant service).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SubmissionOutcome {
    /// The consignment.
    pub consignment_id: Digest,
    /// The first country.
    pub country: CountryCode,
    /// Accepted or refused.
    pub state: SubmissionState,
    /// The node's answer: its entry, or the status and message of its refusal.
    pub detail: String,
    /// The first node's entry hash, when it accepted.
    pub node_entry_hash: Option<Digest>,
    /// When the answer came.
    pub at_unix_micros: UnixMicros,
}

/// Where the bill of a submitted consignment comes from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BillSource {
    /// A new bill, to be signed by its carrier and issued to its shipper.
    Issue(Box<BillOfLading>),
    /// A bill already on the platform, by document id.
    OnPlatform(Digest),
    /// A bill its carrier signed, with its transfer chain, each signed by its own party.
    Signed(SignedBill),
}

/// A bill of lading signed by its carrier elsewhere (on the carrier's own platform), with
/// its transfer chain, as a submission presents it: each envelope opened with its payload
/// type, nothing else checked yet.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedBill {
    /// The `BillOfLading` envelope, to be signed by its carrier.
    pub bill_of_lading: Envelope,
    /// The bill's transfer chain from its ISSUE entry on (at least that entry), each
    /// `TransferEntry` envelope to be signed by its actor.
    pub transfer_chain: Vec<Envelope>,
}

/// A bill of lading on the platform, with its transfer chain.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BillRecord {
    /// The bill's document id.
    pub bill_of_lading_id: Digest,
    /// The bill, signed by its carrier.
    pub bill_of_lading: Envelope,
    /// The transfer chain from ISSUE, each entry signed by its actor.
    pub chain: Vec<Envelope>,
    /// The current holder (none before the chain has an entry).
    pub holder: Option<OperatorId>,
    /// Whether the bill is spent (surrender accepted).
    pub spent: bool,
    /// The last entry's action.
    pub last_action: Option<TransferAction>,
    /// The platform's signed [`ChainHead`] of the chain as it stands (none in a record made
    /// for the platform's own use).
    pub head: Option<Envelope>,
}

/// The bill's platform of record's statement of its transfer chain as it stands at a time
/// (signed by the declarant service): which chain is current.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChainHead {
    /// The bill.
    pub bill_of_lading_id: Digest,
    /// How many entries the chain has, ISSUE included.
    pub entries: u64,
    /// The document id of its last entry.
    pub head_entry_id: Digest,
    /// The holder that entry leaves the bill with.
    pub holder: OperatorId,
    /// Whether the bill is spent.
    pub spent: bool,
    /// When the platform made the statement.
    pub at_unix_micros: UnixMicros,
}

/// What a submission answers: the ids, the first country, and the first node's receipt
/// (none when the same declaration is answered again after a restart: receipts are not
/// recorded).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SubmissionReceipt {
    /// The consignment: the declaration's document id.
    pub consignment_id: Digest,
    /// The bill's document id.
    pub bill_of_lading_id: Digest,
    /// The first country of the route, where the declaration was lodged.
    pub first_country: CountryCode,
    /// The first node's answer.
    pub first_node: Option<StepReceipt>,
}

/// The declarant's counters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PlatformStatus {
    /// Entries in its ledger.
    pub ledger_size: u64,
    /// Entries of the AEO registry's ledger copied to it.
    pub registry_entries: u64,
    /// Bills on the platform.
    pub bills: u64,
    /// Submissions made.
    pub submissions: u64,
    /// Submissions the first node has not answered yet.
    pub pending: u64,
    /// The operators it acts for.
    pub operators: Vec<OperatorId>,
    /// Signatures made by this process.
    pub signatures_made: u64,
    /// Signatures verified by this process.
    pub signatures_verified: u64,
}
