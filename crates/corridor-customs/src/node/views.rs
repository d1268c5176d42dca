//! What a node answers: step receipts, advance receipts, consignment views and its status,
//! as core values (the gRPC layer converts them to the wire).

use corridor_core::document::{
    AdvanceReceipt, ClearanceStatus, ConsignmentState as S, ConsignmentView, DeliveryAnswer,
    NodeStatus, QueueFilter, StepReceipt,
};
use corridor_core::{Digest, Envelope, payload_type};
use corridor_ledger::Appended;
use corridor_proto::customs;
use corridor_service::Refusal;

use super::{Node, Slot, lock};
use crate::consignment::{Consignment, EntryRef, kind};
use crate::error::Error;

impl Node {
    /// The receipt of a step of `c` that appended `a` (or, without it, the receipt of its
    /// last event).
    pub(super) fn receipt(&self, c: &Consignment, a: Option<&Appended>, now: i64) -> StepReceipt {
        let (seq, hash, new) = match a {
            Some(a) => (a.seq, a.hash, a.new),
            None => {
                let e = c.events.last();
                (
                    e.map_or(0, |e| e.seq),
                    e.map_or(Digest::ZERO, |e| e.entry_hash),
                    false,
                )
            }
        };
        StepReceipt {
            consignment_id: c.id,
            seq,
            entry_hash: hash,
            new,
            state: c.state,
            lane: c.lane,
            recorded_at_unix_micros: now,
        }
    }

    /// The receipt of a step recorded before, answered again: the step's last entry (the
    /// entries the node wrote in the same batch after the one that recorded `seq`: bill,
    /// transfers, assessment, release, completion) and the state and lane after it, as the
    /// first answer gave them.
    pub(super) fn receipt_again(&self, c: &Consignment, seq: u64) -> StepReceipt {
        let first = c.events.iter().position(|e| e.seq == seq);
        let last = first.map(|i| {
            let follow = c.events[i + 1..]
                .iter()
                .take_while(|e| {
                    matches!(
                        e.kind.as_str(),
                        kind::BILL_PRESENTED
                            | kind::BILL_TRANSFER
                            | kind::BILL_CHAIN_HEAD
                            | kind::RISK_ASSESSED
                            | kind::RISK_REASSESSED
                            | kind::RELEASE_AUTOMATIC
                            | kind::CONSIGNMENT_COMPLETED
                    )
                })
                .count();
            &c.events[i + follow]
        });
        match last {
            Some(e) => StepReceipt {
                consignment_id: c.id,
                seq: e.seq,
                entry_hash: e.entry_hash,
                new: false,
                state: e.state,
                lane: e.lane,
                recorded_at_unix_micros: e.recorded_at_unix_micros,
            },
            None => self.receipt(c, None, self.inner.clock.now_micros()),
        }
    }

    /// This node's signed receipt for the advance record `env` of consignment `id`,
    /// recorded at `entry`.
    pub(super) fn advance_receipt(
        &self,
        id: &Digest,
        env: &Envelope,
        entry: EntryRef,
        at: i64,
        new: bool,
    ) -> DeliveryAnswer {
        let r = AdvanceReceipt {
            consignment_id: *id,
            country: self.country().clone(),
            advance_record_id: env.document_id(),
            entry_seq: entry.seq,
            entry_hash: entry.hash,
            received_at_unix_micros: at,
        };
        let receipt = Envelope::sign(
            payload_type::ADVANCE_RECEIPT,
            customs::encode_advance_receipt(&r),
            &self.inner.key,
        );
        DeliveryAnswer { receipt, new }
    }

    /// A consignment's view, with its events when `events`.
    pub(crate) async fn view(&self, id: &Digest, events: bool) -> Result<ConsignmentView, Error> {
        let slot = self.slot(id, false).await?;
        let c = slot.as_ref().ok_or_else(|| {
            Error::Refusal(Refusal::NotFound(format!(
                "consignment {id} is not known at {}",
                self.country()
            )))
        })?;
        Ok(self.view_of(c, events))
    }

    pub(crate) fn view_of(&self, c: &Consignment, events: bool) -> ConsignmentView {
        let now = self.inner.clock.now_micros();
        let clearance = c.clearance_micros(now);
        let status = crate::consignment::clearance_status(clearance, &self.inner.rules.target);
        ConsignmentView {
            consignment_id: c.id,
            country: c.country.clone(),
            state: c.state,
            lane: c.lane,
            reasons: c.reasons.clone(),
            aeo_recognised: c.aeo,
            aeo_basis: c.aeo_basis.clone(),
            declarant_operator_id: c.declaration.declarant_operator_id.clone(),
            holder_operator_id: c.declaration.holder_operator_id.clone(),
            arrived_at_unix_micros: c.arrived_at,
            released_at_unix_micros: c.released_at,
            clearance_micros: clearance,
            clearance_status: status,
            next_country: c.next.clone(),
            events: if events { c.events.clone() } else { Vec::new() },
            guarantee_reference: c.declaration.guarantee.reference.as_str().to_string(),
            guarantee_discharged: c.state == S::Completed,
            declaration_reference: c.declaration.declaration_reference.as_str().to_string(),
            clearances: c.clearances(),
            seals: c.seals.clone(),
        }
    }

    /// Every consignment's view (without events), AEO priority first, then by arrival.
    pub(crate) async fn list(&self, filter: QueueFilter) -> Vec<ConsignmentView> {
        let slots: Vec<Slot> = lock(&self.inner.slots).values().cloned().collect();
        let mut out = Vec::new();
        for s in slots {
            let g = s.lock().await;
            let Some(c) = g.as_ref() else { continue };
            let keep = match filter {
                QueueFilter::Open => !c.is_done_here(),
                QueueFilter::AwaitingOfficer => matches!(c.state, S::AwaitingOfficer | S::Held),
                QueueFilter::Flagged => true,
                QueueFilter::All => true,
            };
            if keep {
                let v = self.view_of(c, false);
                if filter != QueueFilter::Flagged || v.clearance_status != ClearanceStatus::OnTrack
                {
                    out.push(v);
                }
            }
        }
        out.sort_by_key(|v| {
            (
                !v.aeo_recognised,
                v.arrived_at_unix_micros,
                v.consignment_id.to_hex(),
            )
        });
        out
    }

    /// The node's status.
    pub(crate) fn status(&self) -> NodeStatus {
        NodeStatus {
            country: self.country().clone(),
            ledger_size: self.inner.ledger.len(),
            registry_entries: self.inner.replica.len(),
            consignments: lock(&self.inner.slots).len() as u64,
            outbox: self.outbox_len(),
            signatures_made: corridor_core::signature_counts().0,
            signatures_verified: corridor_core::signature_counts().1,
            // Each stream holds one receiver of the node's events while it runs.
            follow_streams: self.inner.events.receiver_count() as u64,
        }
    }
}
