//! The outbox and the courier. The courier owns "an outbox row exists exactly for a
//! consignment that exited without the next node's receipt": the exit entry writes the row
//! in its batch and the receipt's entry removes it in its own ([`Node::outbox_change`], used
//! by `record` and by `replay` alike), the courier delivers the record each row holds, and
//! each receipt is checked and recorded.
//!
//! The outbox row (`outbox/<consignment id>`) holds the advance record without its link. The
//! courier (one task) takes every consignment that has exited since its last call (up to
//! [`crate::MAX_BATCH`], within [`BATCH_BYTES`]), fills in each record's exit entry
//! sequence number and hash, signs it (ed25519 is deterministic, so every retry sends the same bytes and the
//! receiver's idempotence holds) and sends them all in one `DeliverAdvanceRecords` call;
//! while the call is out, the next exits queue up, so under load one call carries many
//! records and alone it carries one. Each receipt in the answer is checked and recorded with
//! the row's removal in its own task (their appends share ledger batches). The records of a
//! call that fails, and those refused, are queued again after the courier's backoff (100 ms,
//! doubling to 5 s while calls keep failing, back to 100 ms once one is answered), so they go
//! out together again; a refused record keeps its outbox row (visible in `NodeStatus`) and is
//! sent until the next node's signed receipt comes back. On start the rows must be exactly
//! the consignments that exited without a receipt, each holding the advance record its exit
//! entry wrote (a row is covered by no hash, and the courier signs what it holds), or the
//! node refuses to start; their records are queued again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corridor_core::document::ConsignmentState as S;
use corridor_core::{CountryCode, Digest, Envelope, payload_type};
use corridor_ledger::RowChange;
use corridor_proto::customs;
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_topology::Topology;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tonic::transport::Channel;

use super::checks::plan_handover;
use super::{Node, lock};
use crate::consignment::{Consignment, Effect, ExitEntry};
use crate::error::Error;
use corridor_core::document::{AdvanceRecord, ExitLink};

/// Outbox rows: `outbox/` + consignment id (32 bytes) -> the advance record without its
/// link (the link is the exit entry written in the same batch).
pub(super) const OUTBOX: &[u8] = b"outbox/";

pub(super) fn outbox_key(id: &Digest) -> Vec<u8> {
    let mut k = OUTBOX.to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// The consignment of outbox row key `key`.
pub(super) fn outbox_id(key: &[u8]) -> Option<Digest> {
    Digest::from_slice("outbox", key.get(OUTBOX.len()..)?).ok()
}

/// Most `DeliverAdvanceRecords` calls the courier has out at once: enough to keep the next
/// node busy while one call waits for its ledger's sync, few enough that records queue up
/// into batches under load.
const COURIER_CALLS: usize = 4;

/// The courier's first wait before sending again records the next node did not take.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Most bytes of advance records the courier puts into one call (the receiving node takes
/// messages of up to 1 MiB by default).
const BATCH_BYTES: usize = 512 * 1024;

/// The courier's state: the peers' clients and the queue of consignments due.
pub(super) struct Courier {
    clients: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
    /// Consignments whose advance record is due, for the courier to deliver together.
    queue: UnboundedSender<Digest>,
    /// The courier's end of that queue, until `start_deliveries` takes it.
    receiver: Mutex<Option<UnboundedReceiver<Digest>>>,
    /// How long records the next node did not take wait before they are sent again.
    backoff: Mutex<Duration>,
}

impl Courier {
    /// A client for every node of the topology (connected when first used).
    pub(super) fn new(t: &Topology, transport: &corridor_net::Transport) -> Result<Self, Error> {
        let mut clients = BTreeMap::new();
        for c in t.country_codes() {
            let addr = t.node_addr(&c)?;
            let endpoint = transport
                .endpoint(&addr.to_string())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(10));
            clients.insert(c, CustomsNodeClient::new(endpoint.connect_lazy()));
        }
        let (queue, receiver) = tokio::sync::mpsc::unbounded_channel();
        Ok(Self {
            clients,
            queue,
            receiver: Mutex::new(Some(receiver)),
            backoff: Mutex::new(FIRST_BACKOFF),
        })
    }
}

/// An advance record due, signed, and the node it goes to.
struct Delivery {
    id: Digest,
    record: Envelope,
    next: CountryCode,
}

impl Node {
    /// The outbox row a step of consignment `c` (as it stands before the step) writes:
    /// the exit writes the advance record as it stands then (`Some`), the next node's
    /// receipt removes it (`None`); other steps leave the outbox alone.
    pub(super) fn outbox_change(
        &self,
        c: Option<&Consignment>,
        id: &Digest,
        effect: &Effect,
    ) -> Result<Option<RowChange>, Error> {
        Ok(match (effect, c) {
            (Effect::Exited(_), Some(c)) => Some(RowChange::set(
                outbox_key(id),
                customs::encode_advance_record(&self.advance_record(c, None)?),
            )),
            (Effect::HandedOver { .. }, _) => Some(RowChange::remove(outbox_key(id))),
            _ => None,
        })
    }

    /// How many advance records wait in the outbox.
    pub(super) fn outbox_len(&self) -> u64 {
        self.inner.ledger.rows_with_prefix(OUTBOX).len() as u64
    }

    /// The advance record for a consignment that exits (`exit`: the exit entry, once
    /// recorded).
    fn advance_record(
        &self,
        c: &Consignment,
        exit: Option<ExitEntry>,
    ) -> Result<AdvanceRecord, Error> {
        let (Some(lane), Some(next)) = (c.lane, c.next.clone()) else {
            return Err(Error::State(format!(
                "consignment {} exits unassessed or from the last country",
                c.id
            )));
        };
        let clearances = c.clearances();
        Ok(AdvanceRecord {
            consignment_id: c.id,
            from_country: self.country().clone(),
            to_country: next,
            declaration: c.declaration_envelope.clone(),
            bill_of_lading_id: c.declaration.bill_of_lading_id,
            lane,
            reasons: c.reasons.clone(),
            clearance_micros: clearances.iter().map(|x| x.dwell_micros).sum(),
            clearances,
            exit: exit.map(|e| ExitLink {
                entry_seq: e.entry.seq,
                entry_hash: e.entry.hash,
                exited_at_unix_micros: e.at,
            }),
            aeo_at_origin: c.aeo_at_origin,
            seals: c.seals.clone(),
        })
    }

    /// Queues consignment `id`'s advance record for the courier.
    pub(crate) fn queue_delivery(&self, id: Digest) {
        // The courier stops only with the node; a record queued then is in the outbox and
        // goes out after the restart.
        let _ = self.inner.courier.queue.send(id);
    }

    /// Starts the courier and queues every advance record in the outbox (after a restart).
    pub(crate) fn start_deliveries(&self) {
        if let Some(queue) = lock(&self.inner.courier.receiver).take() {
            let node = self.clone();
            self.inner
                .tasks
                .spawn(async move { node.courier(queue).await });
        }
        let due: Vec<Digest> = self
            .inner
            .ledger
            .rows_with_prefix(OUTBOX)
            .into_iter()
            .filter_map(|r| outbox_id(&r.key))
            .collect();
        for id in due {
            self.queue_delivery(id);
        }
    }

    /// The courier: takes every advance record due (up to `MAX_BATCH`) and delivers them to
    /// the next node in one `DeliverAdvanceRecords` call; while `COURIER_CALLS` calls are
    /// out, the next ones queue up. Each receipt is recorded in its own task (their appends
    /// share ledger batches); a record refused or not delivered is queued again after a
    /// backoff (`requeue`).
    async fn courier(&self, mut queue: UnboundedReceiver<Digest>) {
        let calls = Arc::new(tokio::sync::Semaphore::new(COURIER_CALLS));
        let mut ids = Vec::new();
        loop {
            let Ok(permit) = calls.clone().acquire_owned().await else {
                return;
            };
            let n = tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                n = queue.recv_many(&mut ids, crate::MAX_BATCH) => n,
            };
            if n == 0 {
                return;
            }
            let mut due = Vec::with_capacity(n);
            for id in ids.drain(..) {
                match self.prepare_delivery(&id).await {
                    Ok(Some(d)) => due.push(d),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(consignment = %id, error = %e, "advance record not prepared; trying again");
                        self.requeue(vec![id]);
                    }
                }
            }
            let node = self.clone();
            self.inner.tasks.spawn(async move {
                node.deliver_due(due).await;
                drop(permit);
            });
        }
    }

    /// Delivers the records `due`: one call per next node, within its message size.
    async fn deliver_due(&self, mut due: Vec<Delivery>) {
        while let Some(next) = due.first().map(|d| d.next.clone()) {
            let mut bytes = 0;
            let (mut batch, mut rest) = (Vec::new(), Vec::new());
            for d in due {
                let size = d.record.payload().len() + 256;
                if d.next == next && (batch.is_empty() || bytes + size <= BATCH_BYTES) {
                    bytes += size;
                    batch.push(d);
                } else {
                    rest.push(d);
                }
            }
            due = rest;
            self.deliver_batch(next, batch).await;
        }
    }

    /// One `DeliverAdvanceRecords` call; each record acknowledged is recorded in its own task,
    /// the others are queued again (`requeue`). A call cut short by the node stopping leaves
    /// its records in the outbox, sent again after the restart.
    async fn deliver_batch(&self, next: CountryCode, batch: Vec<Delivery>) {
        let Some(mut client) = self.inner.courier.clients.get(&next).cloned() else {
            tracing::error!(country = %next, "no client for the next node");
            self.requeue(batch.into_iter().map(|d| d.id).collect());
            return;
        };
        let requests = batch
            .iter()
            .map(|d| v1::SignedRequest {
                envelope: Some(v1::Envelope::from(&d.record)),
            })
            .collect();
        let answer = tokio::select! {
            _ = self.inner.shutdown.cancelled() => return,
            r = client.deliver_advance_records(v1::SignedRequests { requests }) => r,
        };
        let outcomes = match answer {
            Ok(r) => {
                *lock(&self.inner.courier.backoff) = FIRST_BACKOFF;
                r.into_inner().outcomes
            }
            Err(s) => {
                tracing::warn!(country = %next, code = ?s.code(), error = s.message(), records = batch.len(), "advance records not delivered; sending them again");
                self.requeue(batch.into_iter().map(|d| d.id).collect());
                return;
            }
        };
        let mut outcomes = outcomes.into_iter();
        let mut again = Vec::new();
        for d in batch {
            match outcomes.next().and_then(|o| o.outcome) {
                Some(v1::deliver_outcome::Outcome::Response(resp)) => {
                    let node = self.clone();
                    self.inner.tasks.spawn(async move {
                        if let Err(e) = node.acknowledged(&d, resp).await {
                            tracing::warn!(consignment = %d.id, error = %e, "advance receipt not recorded; sending the record again");
                            node.requeue(vec![d.id]);
                        }
                    });
                }
                Some(v1::deliver_outcome::Outcome::Refusal(r)) => {
                    tracing::warn!(consignment = %d.id, code = r.code, error = r.message, "advance record refused; sending it again");
                    again.push(d.id);
                }
                None => again.push(d.id),
            }
        }
        if !again.is_empty() {
            self.requeue(again);
        }
    }

    /// Queues records for the courier again after the courier's backoff (100 ms, doubling to
    /// 5 s while calls keep failing; back to 100 ms once a call is answered): one timer per
    /// failed call, and the records go out together again.
    fn requeue(&self, ids: Vec<Digest>) {
        let delay = {
            let mut b = lock(&self.inner.courier.backoff);
            let d = *b;
            *b = (*b * 2).min(Duration::from_secs(5));
            d
        };
        let node = self.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                _ = node.inner.shutdown.cancelled() => {}
                _ = tokio::time::sleep(delay) => {
                    for id in ids {
                        node.queue_delivery(id);
                    }
                }
            }
        });
    }

    /// The signed advance record of consignment `id` and the node it goes to; `None` when
    /// nothing is due (not exited, or already handed over).
    async fn prepare_delivery(&self, id: &Digest) -> Result<Option<Delivery>, Error> {
        let slot = self.slot(id, false).await?;
        let Some(c) = slot.as_ref() else {
            return Ok(None);
        };
        if c.state != S::Exited {
            return Ok(None);
        }
        let Some(next) = c.next.clone() else {
            return Ok(None);
        };
        let record = Envelope::sign(
            payload_type::ADVANCE_RECORD,
            customs::encode_advance_record(&self.advance_record(c, c.exit)?),
            &self.inner.key,
        );
        Ok(Some(Delivery {
            id: *id,
            record,
            next,
        }))
    }

    /// Checks the next node's receipt for the advance record of delivery `d` and records
    /// it, removing the outbox row.
    async fn acknowledged(
        &self,
        d: &Delivery,
        resp: v1::DeliverAdvanceRecordResponse,
    ) -> Result<(), Error> {
        let renv =
            corridor_proto::open_envelope("receipt", resp.receipt, payload_type::ADVANCE_RECEIPT)?;
        let receipt = self.inner.rules.receipt(&d.id, &d.record, &d.next, renv)?;
        let now = self.inner.clock.now_micros();
        let mut slot = self.slot(&d.id, false).await?;
        let Some(plan) = slot.as_ref().and_then(|c| plan_handover(c, receipt)) else {
            return Ok(());
        };
        self.record(&mut slot, d.id, plan, now).await?;
        Ok(())
    }
}
