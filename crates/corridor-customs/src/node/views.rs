//! What a node answers: step receipts, advance receipts, consignment views and its status.

use corridor_core::document::AdvanceReceipt;
use corridor_core::document::ConsignmentState as S;
use corridor_core::{Digest, Envelope, payload_type};
use corridor_ledger::Appended;
use corridor_proto::customs;
use corridor_proto::v1;

use super::{Node, Slot, lock};
use crate::consignment::{Consignment, EntryRef, kind};
use crate::error::Error;

impl Node {
    /// The receipt of a step of `c` that appended `a` (or, without it, the receipt of its
    /// last event).
    pub(super) fn receipt(
        &self,
        c: &Consignment,
        a: Option<&Appended>,
        now: i64,
    ) -> v1::StepReceipt {
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
        v1::StepReceipt {
            consignment_id: c.id.to_hex(),
            seq,
            entry_hash: hash.as_bytes().to_vec(),
            new,
            state: v1::ConsignmentState::from(c.state) as i32,
            lane: customs::lane_to_wire(c.lane) as i32,
            recorded_at_unix_micros: now,
        }
    }

    /// The receipt of a step recorded before, answered again: the step's last entry (the
    /// entries the node wrote in the same batch after the one that recorded `seq`: bill,
    /// transfers, assessment, release, completion) and the state and lane after it, as the
    /// first answer gave them.
    pub(super) fn receipt_again(&self, c: &Consignment, seq: u64) -> v1::StepReceipt {
        let first = c.events.iter().position(|e| e.seq == seq);
        let last = first.map(|i| {
            let follow = c.events[i + 1..]
                .iter()
                .take_while(|e| {
                    matches!(
                        e.kind.as_str(),
                        kind::BILL_PRESENTED
                            | kind::BILL_TRANSFER
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
            Some(e) => v1::StepReceipt {
                consignment_id: c.id.to_hex(),
                seq: e.seq,
                entry_hash: e.entry_hash.as_bytes().to_vec(),
                new: false,
                state: v1::ConsignmentState::from(e.state) as i32,
                lane: customs::lane_to_wire(e.lane) as i32,
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
    ) -> v1::DeliverAdvanceRecordResponse {
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
        v1::DeliverAdvanceRecordResponse {
            receipt: Some(v1::Envelope::from(&receipt)),
            new,
        }
    }

    /// A consignment's view, with its events when `events`.
    pub(crate) async fn view(
        &self,
        id: &Digest,
        events: bool,
    ) -> Result<v1::ConsignmentView, Error> {
        let slot = self.slot(id, false).await?;
        let c = slot.as_ref().ok_or_else(|| {
            Error::NotFound(format!(
                "consignment {id} is not known at {}",
                self.country()
            ))
        })?;
        Ok(self.view_of(c, events))
    }

    pub(crate) fn view_of(&self, c: &Consignment, events: bool) -> v1::ConsignmentView {
        let now = self.inner.clock.now_micros();
        let clearance = c.clearance_micros(now);
        let status = crate::consignment::clearance_status(clearance, &self.inner.rules.target);
        v1::ConsignmentView {
            consignment_id: c.id.to_hex(),
            country: c.country.to_string(),
            state: v1::ConsignmentState::from(c.state) as i32,
            lane: customs::lane_to_wire(c.lane) as i32,
            reasons: c.reasons.clone(),
            aeo_recognised: c.aeo,
            aeo_basis: c.aeo_basis.clone(),
            declarant_operator_id: c.declaration.declarant_operator_id.to_string(),
            holder_operator_id: c.declaration.holder_operator_id.to_string(),
            arrived_at_unix_micros: c.arrived_at,
            released_at_unix_micros: c.released_at,
            clearance_micros: clearance,
            clearance_status: v1::ClearanceStatus::from(status) as i32,
            next_country: c.next.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            events: if events {
                c.events.iter().map(v1::ConsignmentEvent::from).collect()
            } else {
                Vec::new()
            },
            guarantee_reference: c.declaration.guarantee.reference.as_str().to_string(),
            guarantee_discharged: c.state == S::Completed,
            declaration_reference: c.declaration.declaration_reference.as_str().to_string(),
            clearances: customs::clearances_to_wire(&c.clearances()),
            seals: customs::seals_to_wire(&c.seals),
        }
    }

    /// Every consignment's view (without events), AEO priority first, then by arrival.
    pub(crate) async fn list(&self, filter: v1::QueueFilter) -> Vec<v1::ConsignmentView> {
        let slots: Vec<Slot> = lock(&self.inner.slots).values().cloned().collect();
        let mut out = Vec::new();
        for s in slots {
            let g = s.lock().await;
            let Some(c) = g.as_ref() else { continue };
            let keep = match filter {
                v1::QueueFilter::Unspecified => !c.is_done_here(),
                v1::QueueFilter::AwaitingOfficer => matches!(c.state, S::AwaitingOfficer | S::Held),
                v1::QueueFilter::Flagged => true,
                v1::QueueFilter::All => true,
            };
            if keep {
                let v = self.view_of(c, false);
                if filter != v1::QueueFilter::Flagged
                    || v.clearance_status() != v1::ClearanceStatus::OnTrack
                {
                    out.push(v);
                }
            }
        }
        out.sort_by_key(|v| {
            (
                !v.aeo_recognised,
                v.arrived_at_unix_micros,
                v.consignment_id.clone(),
            )
        });
        out
    }

    /// The node's status.
    pub(crate) fn status(&self) -> v1::NodeStatus {
        v1::NodeStatus {
            country: self.country().to_string(),
            ledger_size: self.inner.ledger.len(),
            registry_entries: self.inner.replica.len(),
            consignments: lock(&self.inner.slots).len() as u64,
            outbox: self.outbox_len(),
            signatures_made: corridor_core::signature_counts().0,
            signatures_verified: corridor_core::signature_counts().1,
        }
    }
}
