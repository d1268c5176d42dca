//! The one place a node's state changes: a checked plan is appended to the ledger in one
//! atomic batch (with the outbox row it implies) and applied only once durable; on start
//! the ledger is replayed through the same `apply`.

use corridor_service::Refusal;
use std::collections::{BTreeSet, HashMap};

use corridor_core::document::ConsignmentState as S;
use corridor_core::document::bill_seals;
use corridor_core::{Digest, Envelope};
use corridor_ledger::{Append, Appended, RowChange};
use corridor_proto::customs;

use super::checks::{Plan, opened_from_record};
use super::courier::{self, OUTBOX};
use super::{BillUse, Node, Update, lock};
use crate::consignment::{At, Consignment, Effect, Opened, kind};
use crate::error::Error;

impl Node {
    /// Rebuilds every consignment from the ledger and checks the outbox rows against it.
    pub(super) fn replay(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let mut map: HashMap<Digest, Consignment> = HashMap::new();
        // Outbox key -> the row each exit entry wrote, rebuilt from the entries.
        let mut outbox: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut n = 0;
        for r in inner.ledger.entries(0) {
            let (entry, hash) = r?;
            let bad = |what: String| Error::State(format!("ledger entry {}: {what}", entry.seq));
            let env =
                corridor_proto::decode_envelope(&entry.envelope).map_err(|e| bad(e.to_string()))?;
            let id =
                Digest::parse_hex("subject", &entry.subject).map_err(|e| bad(e.to_string()))?;
            let effect = self
                .effect_of(&entry.kind, &env)
                .map_err(|e| bad(e.to_string()))?;
            let at = At {
                seq: entry.seq,
                hash,
                time: entry.time_unix_micros,
                kind: entry.kind.clone(),
                envelope_id: Digest::of(&entry.envelope),
            };
            // The outbox row the step wrote, as `record` writes it.
            let change = self
                .outbox_change(map.get(&id), &id, &effect)
                .map_err(|e| bad(e.to_string()))?;
            match change {
                Some(RowChange {
                    key,
                    value: Some(v),
                }) => {
                    outbox.insert(key, v);
                }
                Some(RowChange { key, value: None }) => {
                    outbox.remove(&key);
                }
                None => {}
            }
            self.apply_to(&mut map, id, effect, &at)
                .map_err(|e| bad(e.to_string()))?;
            n = entry.seq + 1;
        }
        if n != inner.ledger.len() {
            return Err(Error::State(format!(
                "read {n} entries of a ledger of {}",
                inner.ledger.len()
            )));
        }
        // The outbox rows are exactly the consignments that exited and were not yet
        // acknowledged, each holding the record its exit entry wrote: a row is not covered by
        // any hash, so what the courier will sign is checked against the hashed entries.
        let rows = inner.ledger.rows_with_prefix(OUTBOX);
        let due: BTreeSet<Vec<u8>> = map
            .values()
            .filter(|c| c.state == S::Exited)
            .map(|c| courier::outbox_key(&c.id))
            .collect();
        if rows.len() != due.len() || rows.iter().any(|r| !due.contains(&r.key)) {
            return Err(Error::State(format!(
                "{} outbox rows, but {} consignments exited without acknowledgement",
                rows.len(),
                due.len()
            )));
        }
        if let Some(r) = rows.iter().find(|r| outbox.get(&r.key) != Some(&r.value)) {
            return Err(Error::State(format!(
                "the outbox row of consignment {} differs from the advance record its exit entry wrote",
                courier::outbox_id(&r.key)
                    .map(|d| d.to_hex())
                    .unwrap_or_default()
            )));
        }
        let mut slots = lock(&inner.slots);
        for (id, c) in map {
            slots.insert(id, std::sync::Arc::new(tokio::sync::Mutex::new(Some(c))));
        }
        tracing::info!(
            country = %self.country(),
            entries = n,
            consignments = slots.len(),
            outbox = due.len(),
            "customs node state rebuilt from the ledger"
        );
        Ok(())
    }

    /// Applies a replayed step to the map being rebuilt.
    fn apply_to(
        &self,
        map: &mut HashMap<Digest, Consignment>,
        id: Digest,
        effect: Effect,
        at: &At,
    ) -> Result<(), Error> {
        let mut slot = map.remove(&id);
        self.apply(&mut slot, id, effect, at)?;
        if let Some(c) = slot {
            map.insert(id, c);
        }
        Ok(())
    }

    /// What a recorded entry does (the envelope was checked when it was recorded).
    fn effect_of(&self, kind: &str, env: &Envelope) -> Result<Effect, Error> {
        Ok(match kind {
            kind::BILL_PRESENTED => {
                let bill = corridor_proto::decode_bill_of_lading(env.payload())?;
                Effect::Bill {
                    bill: env.document_id(),
                    seals: bill_seals(&bill),
                }
            }
            kind::BILL_TRANSFER | kind::BILL_CHAIN_HEAD => Effect::Nothing,
            kind::DECLARATION_ACCEPTED => {
                let declaration = corridor_proto::decode_declaration(env.payload())?;
                // A bill declared again (after its consignment was refused or cancelled) was
                // recorded once, under the first consignment: its seals are those.
                let seals = lock(&self.inner.bills)
                    .get(&declaration.bill_of_lading_id)
                    .map(|b| b.seals.clone())
                    .unwrap_or_default();
                Effect::Opened(Box::new(Opened {
                    declaration_envelope: env.clone(),
                    declaration,
                    seals,
                    carried: Vec::new(),
                    aeo_at_origin: None,
                }))
            }
            kind::ADVANCE_RECEIVED => {
                let r = customs::decode_advance_record(env.payload())?;
                Effect::Opened(Box::new(opened_from_record(r)?))
            }
            kind::RISK_ASSESSED | kind::RISK_REASSESSED => {
                Effect::Assessed(customs::decode_assessment(env.payload())?)
            }
            kind::BORDER_ARRIVAL => Effect::Arrived(customs::decode_border_event(env.payload())?),
            kind::RELEASE_AUTOMATIC => Effect::Released,
            kind::OFFICER_DECISION => {
                Effect::Decided(customs::decode_officer_decision(env.payload())?)
            }
            kind::BORDER_EXIT => {
                Effect::Exited(customs::decode_border_event(env.payload())?.border_post)
            }
            kind::ADVANCE_ACKNOWLEDGED => Effect::HandedOver {
                by: customs::decode_advance_receipt(env.payload())?.country,
            },
            kind::CONSIGNMENT_COMPLETED => Effect::Completed,
            kind::DECLARATION_CANCELLED => {
                let c = corridor_proto::decode_declaration_cancellation(env.payload())?;
                Effect::Cancelled(c.reason().as_str().to_string())
            }
            other => return Err(Error::State(format!("unknown entry kind {other:?}"))),
        })
    }

    /// Applies one recorded step to a consignment slot (and to the bills presented here),
    /// and announces the event.
    fn apply(
        &self,
        slot: &mut Option<Consignment>,
        id: Digest,
        effect: Effect,
        at: &At,
    ) -> Result<(), Error> {
        let effect = match effect {
            Effect::Opened(o) => {
                if slot.is_some() {
                    return Err(Error::State(format!("consignment {id} opened twice")));
                }
                *slot = Some(Consignment::open(id, self.country().clone(), *o, at));
                Effect::Started
            }
            e => e,
        };
        let Some(c) = slot.as_mut() else {
            return Err(Error::State(format!(
                "step {} before the consignment",
                at.kind
            )));
        };
        // A bill declared here belongs to the consignment last declared with it.
        let bill = match &effect {
            Effect::Started if c.is_first() => Some((c.declaration.bill_of_lading_id, &c.seals)),
            Effect::Bill { bill, seals } => Some((*bill, seals)),
            _ => None,
        };
        if let Some((bill, seals)) = bill {
            let used = BillUse {
                consignment: id,
                seals: seals.clone(),
            };
            lock(&self.inner.bills).insert(bill, used);
        }
        let event = c.apply(&effect, at);
        let _ = self.inner.events.send(Update {
            consignment: id,
            event,
        });
        Ok(())
    }

    /// Records the checked `plan` of consignment `id` in one atomic batch, with the outbox
    /// row each step implies, and applies it once the batch is durable.
    pub(super) async fn record(
        &self,
        slot: &mut Option<Consignment>,
        id: Digest,
        plan: Plan,
        now: i64,
    ) -> Result<Vec<Appended>, Error> {
        if self.inner.ledger.is_failed() {
            return Err(Error::Refusal(Refusal::Unavailable(
                "the node stopped recording after a ledger failure; it resumes once its ledger is reopened".into(),
            )));
        }
        let subject = id.to_hex();
        let entries = plan.into_entries();
        let mut effects = Vec::with_capacity(entries.len());
        let mut appends = Vec::with_capacity(entries.len());
        for p in entries {
            let rows = self
                .outbox_change(slot.as_ref(), &id, &p.effect)?
                .into_iter()
                .collect();
            effects.push((p.kind, Digest::of(&p.envelope), p.effect));
            appends.push(Append {
                kind: p.kind.to_string(),
                subject: subject.clone(),
                time_unix_micros: now,
                envelope: p.envelope,
                rows,
            });
        }
        let appended = self.inner.ledger.append_all(appends).await?;
        for ((kind, envelope_id, effect), a) in effects.into_iter().zip(&appended) {
            let at = At {
                seq: a.seq,
                hash: a.hash,
                time: now,
                kind: kind.to_string(),
                envelope_id,
            };
            if a.new {
                self.apply(slot, id, effect, &at)?;
            } else if let Some(c) = slot.as_mut() {
                // The same bytes were recorded for another consignment (a bill presented
                // twice): remember the entry for this one too.
                c.recorded.insert(envelope_id, at.entry());
            } else if let Effect::Opened(_) = effect {
                self.apply(slot, id, effect, &at)?;
            }
        }
        Ok(appended)
    }
}
