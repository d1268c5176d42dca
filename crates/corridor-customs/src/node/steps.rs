//! The node's steps, one per call: check the request, take the consignment's lock, answer
//! a repeated envelope with its first receipt, plan the step and record the plan. Nothing is
//! written, in memory or in the ledger, before every check has passed; `record` then
//! applies the plan only once its append is durable.

use corridor_service::Refusal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use corridor_aeo::replica::Replica;
use corridor_core::document::ConsignmentState as S;
use corridor_core::document::{
    BorderEvent, DeclarationSubmission, DeliveryAnswer, OfficerDecision, StepReceipt,
};
use corridor_core::{Digest, Envelope, OperatorId};
use tokio::sync::OwnedMutexGuard;

use super::checks::{
    CancellationRequest, OfficerPayload, OfficerSigned, Plan, Rules, Signer, envelope_id,
};
use super::{Node, lock};
use crate::consignment::Consignment;
use crate::error::Error;
use crate::risk::AeoStatus;

/// One holder of a turn per key at a time; a key's lock is dropped once nobody holds or
/// waits for it.
#[derive(Default)]
pub(super) struct Turns(Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>);

/// A turn taken by [`Turns::take`], given back when dropped.
pub(super) struct Turn<'a> {
    turns: &'a Turns,
    key: Digest,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    /// Waits for the turn of `key`.
    pub(super) async fn take(&self, key: Digest) -> Turn<'_> {
        let m = lock(&self.0).entry(key).or_default().clone();
        Turn {
            turns: self,
            key,
            guard: Some(m.lock_owned().await),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = lock(&self.turns.0);
        if map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.key);
        }
    }
}

impl Node {
    fn signer(&self, now: i64) -> Signer<'_> {
        Signer {
            key: &self.inner.key,
            now,
        }
    }

    fn aeo_status(&self, replica: &Replica, holder: &OperatorId, now: i64) -> AeoStatus {
        let r = replica.recognition_answer(holder, self.country(), now);
        let recognised = r.reason.recognises();
        let basis = match (&r.aeo_id, &r.arrangement_id) {
            (Some(a), Some(m)) if recognised => format!("{a} recognised under {m}"),
            (Some(a), None) if recognised => format!("own certificate {a}"),
            _ => format!("not recognised: {}", r.detail),
        };
        AeoStatus {
            recognised,
            basis,
            benefits: r.benefits,
        }
    }

    /// `SubmitDeclaration`.
    pub(crate) async fn submit(
        &self,
        submission: DeclarationSubmission,
    ) -> Result<StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        if let Some(r) = self.declared_again(&submission.declaration).await {
            return Ok(r);
        }
        let declared = self
            .inner
            .rules
            .declaration(&*self.replica(), submission, now)?;
        let (id, bill_id) = (declared.id(), declared.bill_id());
        let mut slot = self.slot(&id, true).await?;
        if let Some(c) = slot.as_ref() {
            let env_id = declared.envelope_id();
            return match c.recorded.get(&env_id) {
                Some(e) if c.opened_by == env_id => Ok(self.receipt_again(c, e.seq)),
                _ => Err(Error::Refusal(Refusal::AlreadyExists(format!(
                    "consignment {id} was declared with another envelope"
                )))),
            };
        }
        // The bill's turn is held until the declaration is recorded (and the bill is then
        // this consignment's), so that two declarations of one bill cannot both pass.
        let turn = self.inner.bill_turns.take(bill_id).await;
        // The bill must be free, and the chain the one its platform of record has now.
        let declared = async {
            self.check_bill_free(&bill_id, &id).await?;
            let asked = self.inner.clock.now_micros();
            let head = self.inner.platform.chain_head(&bill_id).await?;
            let answered = self.inner.clock.now_micros();
            self.inner
                .rules
                .current_chain(declared, head, (asked, answered))
        }
        .await;
        let declared = match declared {
            Ok(d) => d,
            Err(e) => {
                drop(turn);
                self.forget_if_empty(&id, slot);
                return Err(e);
            }
        };
        let aeo = self.aeo_status(&self.replica(), declared.holder(), now);
        let plan = self
            .inner
            .rules
            .plan_declaration(declared, &aeo, self.signer(now));
        let out = match self.record(&mut slot, id, plan, now).await {
            Ok(a) => slot
                .as_ref()
                .map(|c| self.receipt(c, a.last(), now))
                .ok_or_else(|| Error::State("declared consignment missing".into())),
            Err(e) => Err(e),
        };
        drop(turn);
        self.forget_if_empty(&id, slot);
        out
    }

    /// The receipt of the consignment the declaration `denv` opened here, if it did: the
    /// same envelope again is answered as recorded, however long ago that was and whatever
    /// keys were revoked since (SIGNING.md section 3).
    async fn declared_again(&self, denv: &Envelope) -> Option<StepReceipt> {
        let slot = lock(&self.inner.slots).get(&denv.document_id()).cloned()?;
        let c = slot.lock_owned().await;
        let c = c.as_ref()?;
        let env_id = envelope_id(denv);
        let e = c.recorded.get(&env_id).filter(|_| c.opened_by == env_id)?;
        Some(self.receipt_again(c, e.seq))
    }

    /// A bill is declared once: another consignment of the same bill that has not been
    /// refused or cancelled makes a second declaration a conflict.
    async fn check_bill_free(&self, bill_id: &Digest, id: &Digest) -> Result<(), Error> {
        let other = lock(&self.inner.bills).get(bill_id).map(|b| b.consignment);
        let Some(other) = other.filter(|o| o != id) else {
            return Ok(());
        };
        let slot = lock(&self.inner.slots).get(&other).cloned();
        let Some(s) = slot else { return Ok(()) };
        let open = s
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| !matches!(c.state, S::Refused | S::Cancelled));
        if open {
            return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                "bill {bill_id} is already declared in consignment {other}"
            ))));
        }
        Ok(())
    }

    /// `DeliverAdvanceRecord`: the advance record in `record`.
    pub(crate) async fn deliver(&self, record: Envelope) -> Result<DeliveryAnswer, Error> {
        let now = self.inner.clock.now_micros();
        let announced = self.inner.rules.advance_record(&*self.replica(), record)?;
        let id = announced.id();
        let env = announced.envelope().clone();
        let env_id = announced.envelope_id();
        let mut slot = self.slot(&id, true).await?;
        if let Some(c) = slot.as_ref() {
            return match c.recorded.get(&env_id) {
                Some(e) if c.opened_by == env_id => {
                    let at = c.events.first().map_or(now, |e| e.recorded_at_unix_micros);
                    Ok(self.advance_receipt(&id, &env, *e, at, false))
                }
                _ => Err(Error::Refusal(Refusal::AlreadyExists(format!(
                    "consignment {id} was announced here with another advance record"
                )))),
            };
        }
        let aeo = self.aeo_status(&self.replica(), announced.holder(), now);
        let plan = self
            .inner
            .rules
            .plan_announcement(announced, &aeo, self.signer(now));
        let result = self.record(&mut slot, id, plan, now).await;
        let out = result.and_then(|a| {
            let first = a
                .first()
                .ok_or_else(|| Error::State("nothing appended".into()))?;
            let entry = crate::consignment::EntryRef {
                seq: first.seq,
                hash: first.hash,
            };
            Ok(self.advance_receipt(&id, &env, entry, now, first.new))
        });
        self.forget_if_empty(&id, slot);
        out
    }

    /// The locked slot of a consignment an officer acts on, which must be known here.
    async fn known(
        &self,
        id: &Digest,
    ) -> Result<OwnedMutexGuard<Option<crate::consignment::Consignment>>, Error> {
        let slot = self.slot(id, false).await?;
        if slot.is_none() {
            return Err(Error::Refusal(Refusal::NotFound(format!(
                "consignment {id} is not known at {}",
                self.country()
            ))));
        }
        Ok(slot)
    }

    /// `RecordBorderEvent`: the border event in `event`. An exit queues the advance record
    /// for the next node.
    pub(crate) async fn border_event(&self, event: Envelope) -> Result<StepReceipt, Error> {
        let (id, receipt) = self
            .officer_step::<BorderEvent>(event, Rules::plan_border_event)
            .await?;
        if receipt.new && receipt.state == S::Exited {
            self.queue_delivery(id);
        }
        Ok(receipt)
    }

    /// `RecordDecision`: the decision in `decision`.
    pub(crate) async fn decide(&self, decision: Envelope) -> Result<StepReceipt, Error> {
        let (_, receipt) = self
            .officer_step::<OfficerDecision>(decision, Rules::plan_decision)
            .await?;
        Ok(receipt)
    }

    /// A step an officer signs for a consignment known here: checked, answered with its first
    /// receipt when the same envelope comes again, else planned by `plan` and recorded.
    async fn officer_step<M: OfficerPayload>(
        &self,
        env: Envelope,
        plan: impl FnOnce(&Rules, &Consignment, OfficerSigned<M>, Signer<'_>) -> Result<Plan, Error>,
    ) -> Result<(Digest, StepReceipt), Error> {
        let now = self.inner.clock.now_micros();
        let signed = self.inner.rules.officer_request::<M>(env, now)?;
        let (id, env_id) = (signed.id(), signed.envelope_id());
        let mut slot = self.known(&id).await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        if let Some(e) = c.recorded.get(&env_id) {
            return Ok((id, self.receipt_again(c, e.seq)));
        }
        let plan = plan(&self.inner.rules, c, signed, self.signer(now))?;
        let appended = self.record(&mut slot, id, plan, now).await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        Ok((id, self.receipt(c, appended.last(), now)))
    }

    /// `CancelDeclaration`: the declarant withdraws a declaration before the goods arrive at
    /// the first border: the cancellation in `cancellation`.
    pub(crate) async fn cancel(&self, cancellation: Envelope) -> Result<StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        let request = CancellationRequest::read(cancellation)?;
        let id = request.id();
        let mut slot = self.slot(&id, false).await?;
        let c = slot.as_ref().ok_or_else(|| {
            Error::Refusal(Refusal::NotFound(format!(
                "consignment {id} is not known here"
            )))
        })?;
        let cancellation = request.check(&self.inner.rules, &*self.replica(), c, now)?;
        if let Some(e) = c.recorded.get(&cancellation.envelope_id()) {
            let mut r = self.receipt(c, None, now);
            (r.seq, r.entry_hash) = (e.seq, e.hash);
            return Ok(r);
        }
        let plan = self.inner.rules.plan_cancellation(c, cancellation)?;
        let appended = self.record(&mut slot, id, plan, now).await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        Ok(self.receipt(c, appended.last(), now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bills_turn_is_held_by_one_declaration_at_a_time_and_forgotten_after() {
        let turns = Turns::default();
        let (a, b) = (Digest::of(b"bill a"), Digest::of(b"bill b"));
        let first = turns.take(a).await;
        // Another bill's turn is free; the same bill's waits.
        let other = turns.take(b).await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), turns.take(a));
        assert!(
            waiting.await.is_err(),
            "a second turn of bill a while the first is held"
        );
        drop(other);
        drop(first);
        let again = tokio::time::timeout(std::time::Duration::from_secs(5), turns.take(a))
            .await
            .expect("the turn of bill a once given back");
        drop(again);
        assert!(
            lock(&turns.0).is_empty(),
            "no lock kept for a bill nobody waits for"
        );
    }
}
