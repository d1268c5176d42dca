//! The customs node: checks every request, records each step in the ledger (with the
//! outbox row it implies, in the same atomic batch), applies it to the consignment, and
//! delivers advance records to the next node.
//!
//! Pure decisions are kept apart from their effects:
//! - `checks` decides, and does nothing else: a request becomes a checked value that only
//!   the checks build, and a checked value, with the consignment as it stands, becomes a
//!   `checks::Plan` (the entries of one step) or the error that refuses it.
//! - `steps` runs each call: check, take the consignment's lock, answer a repeated envelope
//!   with its first receipt, plan, record.
//! - `record` is the one place state changes: it appends a plan in one atomic batch and only
//!   once the append is durable applies it, in memory; on start it rebuilds the same state
//!   by replaying the ledger through the same `apply`.
//! - `courier` owns the outbox: a row exists exactly for a consignment that exited without
//!   the next node's receipt; it delivers their advance records and records the receipts.
//! - `views` answers: receipts, consignment views, the node's status.
//!
//! Each consignment has its own async lock: steps of one consignment are taken one at a
//! time, steps of different consignments run concurrently and share the ledger's group
//! commit. Every step that records something runs in a task of its own
//! (`corridor_net::to_completion`; tracked, so a stopping node waits for it) that finishes
//! even if its caller goes away: tonic drops a handler whose client disconnects, and a step
//! cut off between its append and its effect would leave the node's memory behind its
//! ledger until a restart.
//!
//! # The order of the checks
//!
//! A request is refused by the first check that fails ([`corridor_service::refusal`]):
//! envelopes and payload types (InvalidArgument naming the field), every signature against
//! a key valid at the document's time (Unauthenticated), fields against each other (the
//! declaration against its bill item by item, the transfer chain link by link, the route
//! against the topology, the guarantee against the duties at risk), roles
//! (PermissionDenied: an officer of another country, a node that is not the previous one, a
//! declarant that neither holds the bill nor has the holder's co-signature), then state
//! (FailedPrecondition for a step out of order, AlreadyExists for a consignment id or bill
//! re-used with other content). A border event or decision for a consignment the node does
//! not know is NotFound before its own kind or outcome is looked at. The same envelope
//! again is the same step: its first receipt is returned and nothing is written.
//!
//! # What a step records
//!
//! A step is one `Ledger::append_all` (all its entries in one atomic batch; subject = the
//! consignment id in hex). Entry kinds ([`crate::consignment::kind`]), in the order a
//! consignment meets them:
//!
//! | kind | envelope signed by | at |
//! |---|---|---|
//! | `declaration.accepted`, `bill.presented`, `bill.transfer`, `bill.chain-head` | declarant (+ holder), carrier, each transfer's actor, the declarant service (the bill's platform of record: its statement that the chain is current, when it has the bill) | first node |
//! | `advance.received` | the previous node | other nodes |
//! | `risk.assessed`, `risk.reassessed` | this node | every node |
//! | `border.arrival` (+ `risk.reassessed` if a seal is broken, + `release.automatic` for green and blue) | officer of this country (node) | every node |
//! | `officer.decision` | officer of this country | yellow and red |
//! | `border.exit`, with the outbox row | officer of this country | all but the last |
//! | `advance.acknowledged`, removing the outbox row | the next node (its receipt) | all but the last |
//! | `consignment.completed` | this node | the last node |
//! | `declaration.cancelled` | the declarant | first node, before arrival |
//!
//! The batch calls (`RecordBorderEvents`, a train's arrival or departure at a border post,
//! and `DeliverAdvanceRecords`) run each request through the same path as its single call,
//! concurrently, and answer in request order with that call's receipt or its refusal (the
//! gRPC code and message the single call would have returned): one refused request does not
//! stop the others, and nothing is written for it. The advance record carries the
//! declaration envelope as first accepted, the seals as last checked and each country's
//! dwell so far, so the next node can assess before the goods arrive, check the declarant's
//! signature again with its own registry copy, and carry the clearance clock on.

pub(crate) mod checks;
mod courier;
mod platform;
mod record;
mod steps;
mod views;

use corridor_service::Refusal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use corridor_aeo::follow::ReplicaStore;
use corridor_aeo::replica::Replica;
use corridor_core::document::{ConsignmentEvent, SealCheck};
use corridor_core::{CountryCode, Digest, SigningKey};
use corridor_ledger::Ledger;
use corridor_topology::Clock;
use tokio::sync::{OwnedMutexGuard, broadcast};
use tokio_util::sync::CancellationToken;

use crate::consignment::Consignment;
use crate::error::Error;
use checks::{Corridor, Rules};
use courier::Courier;
use steps::Turns;

type Slot = Arc<tokio::sync::Mutex<Option<Consignment>>>;

/// A bill presented at this node (the first of its route): the consignment last declared
/// with it, and the seals the bill lists.
#[derive(Clone, Debug)]
pub(crate) struct BillUse {
    pub(crate) consignment: Digest,
    pub(crate) seals: Vec<SealCheck>,
}

/// A step applied to a consignment, as announced to `WatchConsignment` streams.
#[derive(Clone, Debug)]
pub(crate) struct Update {
    pub(crate) consignment: Digest,
    pub(crate) event: ConsignmentEvent,
}

pub(crate) struct Inner {
    /// The node's country and what it checks requests against.
    pub(crate) rules: Rules,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) replica: Arc<ReplicaStore>,
    pub(crate) key: SigningKey,
    pub(crate) clock: Clock,
    slots: Mutex<HashMap<Digest, Slot>>,
    /// Bills presented here (first node), by document id; changed only by `apply`.
    bills: Mutex<HashMap<Digest, BillUse>>,
    /// One declaration of a bill at a time, from the check that the bill is free to the
    /// append that records it.
    bill_turns: Turns,
    pub(crate) events: broadcast::Sender<Update>,
    pub(crate) shutdown: CancellationToken,
    /// Deliveries and the registry follower: joined before the node's databases close.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// The next nodes' clients and the queue of advance records due.
    courier: Courier,
    /// The bills' platform of record, asked for a declared bill's chain.
    platform: platform::Platform,
}

/// One country's customs node; cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Node {
    /// Opens the node: rebuilds every consignment from the ledger (each entry applied again
    /// in order) and checks the outbox rows against it.
    pub(crate) fn open(
        config: &crate::Config,
        ledger: Arc<Ledger>,
        replica: Arc<ReplicaStore>,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
        let topology = &config.topology;
        let country = config.country.clone();
        let (_, c) = topology.country(&country)?;
        let inner = Arc::new(Inner {
            rules: Rules {
                risk: c.risk.clone(),
                target: topology.clearance,
                times: topology.document_times,
                corridor: Corridor::from_topology(topology)?,
                country,
            },
            courier: Courier::new(topology, &config.transport)?,
            platform: platform::Platform::new(topology, &config.transport)?,
            ledger,
            replica,
            key: config.key.clone(),
            clock: topology.clock.clock()?,
            slots: Mutex::new(HashMap::new()),
            bills: Mutex::new(HashMap::new()),
            bill_turns: Turns::default(),
            events: broadcast::channel(4096).0,
            shutdown,
            tasks: tokio_util::task::TaskTracker::new(),
        });
        let node = Self { inner };
        node.replay()?;
        Ok(node)
    }

    /// The node's country.
    fn country(&self) -> &CountryCode {
        &self.inner.rules.country
    }

    fn replica(&self) -> std::sync::RwLockReadGuard<'_, Replica> {
        self.inner.replica.read()
    }

    /// The slot of consignment `id`, created empty when `create`.
    async fn slot(
        &self,
        id: &Digest,
        create: bool,
    ) -> Result<OwnedMutexGuard<Option<Consignment>>, Error> {
        let slot = {
            let mut slots = lock(&self.inner.slots);
            match slots.get(id) {
                Some(s) => s.clone(),
                None if create => {
                    let s: Slot = Arc::new(tokio::sync::Mutex::new(None));
                    slots.insert(*id, s.clone());
                    s
                }
                None => {
                    return Err(Error::Refusal(Refusal::NotFound(format!(
                        "consignment {id} is not known at {}",
                        self.country()
                    ))));
                }
            }
        };
        Ok(slot.lock_owned().await)
    }

    fn forget_if_empty(&self, id: &Digest, guard: OwnedMutexGuard<Option<Consignment>>) {
        if guard.is_none() {
            drop(guard);
            let mut slots = lock(&self.inner.slots);
            if slots
                .get(id)
                .is_some_and(|s| s.try_lock().is_ok_and(|g| g.is_none()))
            {
                slots.remove(id);
            }
        }
    }
}
