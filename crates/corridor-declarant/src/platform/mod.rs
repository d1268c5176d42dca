//! The declarant's state and its rules: bills of lading and their transfer chains, and the
//! submissions made for the operators it acts for. It works in `corridor-core` values: the
//! gRPC layer (`service`) reads requests into them and converts its answers once.
//!
//! - `record` is the one place state changes: it appends planned entries in one atomic
//!   batch and only once the append is durable applies them, in memory; on start it rebuilds
//!   the same state by replaying the ledger through the same `apply`.
//! - `bills` keeps the bills and their transfer chains: it issues a new bill, finds one, or
//!   takes one its carrier signed elsewhere with its chain, and checks each transfer (the
//!   checks are pure functions of the bill as it stands; a presented chain is taken entry by
//!   entry as a transfer is).
//! - `submissions` lodges declarations at the first node of their route (through
//!   `crate::nodes`), records the node's answer, retries the unanswered ones after a restart,
//!   and cancels; what an answer makes of a submission is decided apart from recording it.

mod bills;
mod dcsa;
mod record;
mod submissions;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use corridor_aeo::follow::ReplicaStore;
use corridor_core::document::declarant::SubmissionState;
use corridor_core::document::{BillOfLading, Declaration, StepReceipt, TransferEntry};
use corridor_core::{Digest, Envelope, OperatorId, SigningKey};
use corridor_ledger::Ledger;
use corridor_service::Refusal;
use corridor_topology::{Clock, DocumentTimes, Topology};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::nodes::Nodes;

/// Ledger entry kinds the declarant records.
pub mod kind {
    /// A bill of lading put on the platform (signed by its carrier): issued here, or
    /// presented with its transfer chain.
    pub const BILL: &str = "bill.issued";
    /// An entry of a bill's transfer chain (signed by its actor).
    pub const TRANSFER: &str = "bill.transfer";
    /// A declaration submitted; writes the pending row.
    pub const SUBMITTED: &str = "consignment.submitted";
    /// The first node's answer; removes the pending row.
    pub const OUTCOME: &str = "consignment.outcome";
    /// A declaration cancelled at the first node.
    pub const CANCELLED: &str = "consignment.cancelled";
}

/// One entry of a bill's transfer chain.
#[derive(Clone, Debug)]
pub(crate) struct ChainLink {
    /// The entry, signed by its actor.
    pub(crate) envelope: Envelope,
    /// What it says.
    pub(crate) entry: TransferEntry,
    /// The envelope's document id (the next entry names it).
    pub(crate) id: Digest,
}

/// A bill on the platform.
#[derive(Clone, Debug)]
pub(crate) struct Bill {
    pub(crate) envelope: Envelope,
    pub(crate) bill: BillOfLading,
    pub(crate) chain: Vec<ChainLink>,
}

/// A submission made here.
#[derive(Clone, Debug)]
pub(crate) struct Submission {
    pub(crate) envelope: Envelope,
    pub(crate) declaration: Declaration,
    pub(crate) state: SubmissionState,
    pub(crate) detail: String,
    /// The first node's answer, when it accepted.
    pub(crate) receipt: Option<StepReceipt>,
}

#[derive(Default)]
struct State {
    bills: HashMap<Digest, Bill>,
    submissions: HashMap<Digest, Submission>,
    /// The consignment of each declarant's declaration reference (declarant id, reference).
    references: HashMap<Reference, Digest>,
}

impl State {
    fn pending(&self) -> usize {
        self.submissions
            .values()
            .filter(|s| s.state == SubmissionState::Pending)
            .count()
    }
}

/// The declarant.
#[derive(Clone)]
pub struct Platform {
    pub(crate) inner: Arc<Inner>,
}

/// One turn at a time per key: an async lock each.
type Turns<K> = Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>;

/// A declarant's declaration reference: (declarant id, reference).
type Reference = (String, String);

pub(crate) struct Inner {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) replica: Arc<ReplicaStore>,
    pub(crate) key: SigningKey,
    pub(crate) operators: BTreeMap<OperatorId, SigningKey>,
    pub(crate) clock: Clock,
    /// The window a document entering the corridor here must be dated in.
    pub(crate) times: DocumentTimes,
    state: Mutex<State>,
    /// One step at a time per bill (transfers), so a double spend is seen.
    bill_locks: Turns<Digest>,
    /// One submission at a time per declarant and declaration reference, from its request to
    /// its outcome: the same submission sent again while the first is being lodged waits for
    /// it and is answered with its receipt (one consignment, one outcome), and another with
    /// the same reference is refused.
    submission_turns: Turns<Reference>,
    /// The customs nodes of the corridor.
    pub(crate) nodes: Nodes,
    pub(crate) shutdown: CancellationToken,
    /// The registry follower, pending retries and tracking streams: joined before the
    /// databases close.
    pub(crate) tasks: tokio_util::task::TaskTracker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Platform {
    /// Opens the platform: replays the ledger into bills and submissions.
    pub(crate) fn open(
        ledger: Arc<Ledger>,
        replica: Arc<ReplicaStore>,
        key: SigningKey,
        operators: BTreeMap<OperatorId, SigningKey>,
        topology: &Topology,
        transport: &corridor_net::Transport,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
        let inner = Arc::new(Inner {
            ledger,
            replica,
            key,
            operators,
            clock: topology.clock.clock()?,
            times: topology.document_times,
            state: Mutex::new(State::default()),
            bill_locks: Mutex::new(HashMap::new()),
            submission_turns: Mutex::new(HashMap::new()),
            nodes: Nodes::open(topology, transport)?,
            shutdown,
            tasks: tokio_util::task::TaskTracker::new(),
        });
        let p = Self { inner };
        p.replay()?;
        Ok(p)
    }

    /// Now on the corridor clock.
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_micros()
    }

    fn operator_key(&self, id: &OperatorId, role: &str) -> Result<&SigningKey, Error> {
        self.inner.operators.get(id).ok_or_else(|| {
            Error::Refusal(Refusal::PermissionDenied(format!(
                "the declarant does not act for {id} ({role}): it holds no key of it"
            )))
        })
    }
}
