//! Submissions: a declaration is checked against its bill, signed for its declarant (and
//! holder), recorded as pending and lodged at the first node of its route; the node's
//! answer is recorded as the submission's outcome (`outcome`, pure, decides what the answer
//! makes of it). A declarant's declaration reference names one consignment, and its
//! submissions run one at a time (`in_turn`): the same request again is the first
//! submission, answered as the first time. Unanswered submissions are retried once after a
//! restart; a submission can be cancelled at the first node.

use std::time::Duration;

use corridor_core::document::declarant::{
    PlatformStatus, SubmissionOutcome, SubmissionReceipt, SubmissionState,
};
use corridor_core::document::{Declaration, DeclarationCancellation, StepReceipt, Text};
use corridor_core::{CountryCode, Digest, Envelope, ParseError, payload_type};
use corridor_ledger::RowChange;
use corridor_service::Refusal;

use super::bills::PresentedBill;
use super::record::{Effect, Planned, pending_key};
use super::{Platform, Submission, lock};
use crate::error::Error;

/// Is this gRPC status the node's verdict on the submission (as opposed to the node not
/// being reached)? A submission over the node's message limit is refused for good
/// (RESOURCE_EXHAUSTED; OUT_OF_RANGE from nodes before that code was used).
fn is_verdict(s: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        s.code(),
        Code::InvalidArgument
            | Code::Unauthenticated
            | Code::PermissionDenied
            | Code::FailedPrecondition
            | Code::AlreadyExists
            | Code::NotFound
            | Code::ResourceExhausted
            | Code::OutOfRange
    )
}

/// What the first node's answer makes of submission `id`: accepted or refused, or, when the
/// node was not reached, the refusal to answer with (the submission stays pending).
fn outcome(
    id: &Digest,
    first: &CountryCode,
    answer: &Result<StepReceipt, tonic::Status>,
    now: i64,
) -> Result<SubmissionOutcome, Error> {
    let (state, detail, node_entry_hash) = match answer {
        Ok(r) => (
            SubmissionState::Accepted,
            format!("entry {} at {first}", r.seq),
            Some(r.entry_hash),
        ),
        Err(s) if is_verdict(s) => (
            SubmissionState::Refused,
            format!("{:?}: {}", s.code(), s.message()),
            None,
        ),
        Err(s) => {
            return Err(Error::Refusal(Refusal::Unavailable(format!(
                "consignment {id} is recorded, but the customs node of {first} could not be reached ({}); it is retried when the declarant restarts",
                s.message()
            ))));
        }
    };
    Ok(SubmissionOutcome {
        consignment_id: *id,
        country: first.clone(),
        state,
        detail,
        node_entry_hash,
        at_unix_micros: now,
    })
}

impl Platform {
    /// `SubmitConsignment`, once its bill is presented: checks the declaration against the
    /// bill, signs it, records it and lodges it at the first node. Everything is checked
    /// before anything is recorded.
    pub(crate) async fn submit(
        &self,
        bill: PresentedBill,
        declaration: Declaration,
    ) -> Result<SubmissionReceipt, Error> {
        if declaration.bill_of_lading_id != bill.id {
            return Err(Error::from(ParseError::new(
                "declaration.bill_of_lading_id",
                format!("is not the bill's id {}", bill.id),
            )));
        }
        declaration
            .check_against_bill(&bill.bill)
            .map_err(|e| e.within("declaration"))?;
        let declarant = self.operator_key(&declaration.declarant_operator_id, "declarant")?;
        let holder = if declaration.holder_operator_id == declaration.declarant_operator_id {
            None
        } else {
            Some(self.operator_key(&declaration.holder_operator_id, "holder")?)
        };
        let first = declaration.route[0].country.clone();
        let mut denv = Envelope::sign(
            payload_type::DECLARATION,
            corridor_proto::encode_declaration(&declaration),
            declarant,
        );
        if let Some(h) = holder {
            denv.add_signature(h);
        }
        let id = denv.document_id();
        let reference = (
            declaration.declarant_operator_id.to_string(),
            declaration.declaration_reference.as_str().to_string(),
        );
        // A declaration new here enters the corridor now (the same one again is the one
        // recorded, however long ago).
        if !lock(&self.inner.state).submissions.contains_key(&id) {
            self.inner.times.check_window(
                "declaration.created_at_unix_micros",
                declaration.created_at_unix_micros,
                self.now(),
            )?;
        }
        if let Some(other) = lock(&self.inner.state).references.get(&reference)
            && *other != id
        {
            return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                "declaration.declaration_reference: {} is the reference of consignment {other}, which {} submitted with other content",
                reference.1, reference.0
            ))));
        }
        self.lodge(bill, declaration, denv, first).await
    }

    /// Runs `submit` (a `SubmitConsignment` call) in the turn of the declarant `declarant`'s
    /// declaration reference `reference`, given the times of an earlier submission of that
    /// reference, if any: its bill's issue time and its declaration's creation time, for
    /// times the request leaves 0 (so that the same request again is the same submission).
    pub(crate) async fn in_turn<T>(
        &self,
        declarant: &str,
        reference: &str,
        submit: impl AsyncFnOnce(Option<(i64, i64)>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let key = (declarant.to_string(), reference.to_string());
        let turn = lock(&self.inner.submission_turns)
            .entry(key.clone())
            .or_default()
            .clone();
        let out = {
            let _one_at_a_time = turn.lock().await;
            let earlier = {
                let st = lock(&self.inner.state);
                st.references
                    .get(&key)
                    .and_then(|id| st.submissions.get(id))
                    .map(|s| {
                        let issued = st
                            .bills
                            .get(&s.declaration.bill_of_lading_id)
                            .map_or(0, |b| b.bill.issued_at_unix_micros);
                        (issued, s.declaration.created_at_unix_micros)
                    })
            };
            submit(earlier).await
        };
        // The last to leave takes the turn away (the map and this call hold it then).
        let mut turns = lock(&self.inner.submission_turns);
        if std::sync::Arc::strong_count(&turn) == 2 {
            turns.remove(&key);
        }
        out
    }

    /// Records submission `denv` of `declaration` (with its bill) and lodges it at the first
    /// node `first`, or answers as the first time if it was recorded and answered before;
    /// its consignment's turn is held.
    async fn lodge(
        &self,
        mut bill: PresentedBill,
        declaration: Declaration,
        denv: Envelope,
        first: CountryCode,
    ) -> Result<SubmissionReceipt, Error> {
        let id = denv.document_id();
        let mut planned = bill.planned();
        planned.push(Planned {
            kind: super::kind::SUBMITTED,
            subject: id,
            envelope: denv.clone(),
            rows: vec![RowChange::set(pending_key(&id), first.as_str().as_bytes())],
            effect: Effect::Submitted(Box::new((denv.clone(), declaration))),
        });
        let appended = self.record(planned).await?;
        bill.recorded();
        if appended.last().is_some_and(|a| !a.new)
            && self.submission(&id)?.state != SubmissionState::Pending
        {
            // The same declaration again: answer as the first time. (One the first node has
            // not answered yet is sent again: the node answers the same envelope once.)
            return self.answer_again(&id, &bill.id, &first);
        }
        let receipt = self.send(&id, &first, &denv, &bill).await?;
        Ok(SubmissionReceipt {
            consignment_id: id,
            bill_of_lading_id: bill.id,
            first_country: first,
            first_node: Some(receipt),
        })
    }

    fn answer_again(
        &self,
        id: &Digest,
        bill_id: &Digest,
        first: &CountryCode,
    ) -> Result<SubmissionReceipt, Error> {
        let st = lock(&self.inner.state);
        let s = st
            .submissions
            .get(id)
            .ok_or_else(|| Error::State("submission".into()))?;
        match s.state {
            SubmissionState::Refused => Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "consignment {id} was refused by the first node: {}",
                s.detail
            )))),
            _ => Ok(SubmissionReceipt {
                consignment_id: *id,
                bill_of_lading_id: *bill_id,
                first_country: first.clone(),
                // The first node's receipt, as a repeat: nothing new was recorded.
                first_node: s.receipt.clone().map(|r| StepReceipt { new: false, ..r }),
            }),
        }
    }

    /// Sends a recorded submission to the first node and records its answer.
    async fn send(
        &self,
        id: &Digest,
        first: &CountryCode,
        declaration: &Envelope,
        bill: &PresentedBill,
    ) -> Result<StepReceipt, Error> {
        let node = self.inner.nodes.node(first)?;
        let answer = node
            .submit_declaration(
                declaration,
                &bill.envelope,
                bill.chain.iter().map(|l| &l.envelope),
            )
            .await;
        let outcome = outcome(id, first, &answer, self.now())?;
        let env = Envelope::sign(
            payload_type::SUBMISSION_OUTCOME,
            corridor_proto::declarant::encode_submission_outcome(&outcome),
            &self.inner.key,
        );
        self.record(vec![Planned {
            kind: super::kind::OUTCOME,
            subject: *id,
            envelope: env,
            rows: vec![RowChange::remove(pending_key(id))],
            effect: Effect::Outcome(outcome),
        }])
        .await?;
        match answer {
            Ok(r) => {
                if let Some(s) = lock(&self.inner.state).submissions.get_mut(id) {
                    s.receipt = Some(r.clone());
                }
                Ok(r)
            }
            // The node's message, with the id the client needs to ask for the status.
            Err(s) => Err(Error::Refused(tonic::Status::new(
                s.code(),
                format!("{} (consignment {id})", s.message()),
            ))),
        }
    }

    /// Retries, once, every submission the first node has not answered (after a restart).
    pub(crate) fn retry_pending(&self) {
        let due: Vec<(Digest, Envelope, Declaration)> = lock(&self.inner.state)
            .submissions
            .iter()
            .filter(|(_, s)| s.state == SubmissionState::Pending)
            .map(|(id, s)| (*id, s.envelope.clone(), s.declaration.clone()))
            .collect();
        for (id, denv, declaration) in due {
            let p = self.clone();
            self.inner.tasks.spawn(async move {
                let bill_id = declaration.bill_of_lading_id;
                let Ok(bill) = p.on_platform(&bill_id) else {
                    return;
                };
                let first = declaration.route[0].country.clone();
                match p.send(&id, &first, &denv, &bill).await {
                    Ok(r) => {
                        tracing::info!(consignment = %id, seq = r.seq, "pending submission delivered")
                    }
                    Err(e) => {
                        tracing::warn!(consignment = %id, error = %e, "pending submission retried once: not delivered")
                    }
                }
            });
        }
    }

    /// A submission's declaration and state.
    pub(crate) fn submission(&self, id: &Digest) -> Result<Submission, Error> {
        lock(&self.inner.state)
            .submissions
            .get(id)
            .cloned()
            .ok_or_else(|| {
                Error::Refusal(Refusal::NotFound(format!(
                    "consignment {id} was not submitted here"
                )))
            })
    }

    /// `GetPlatformStatus`, once the registry copy has `min_registry_entries` (or 10 s).
    pub(crate) async fn status(&self, min_registry_entries: u64) -> PlatformStatus {
        let mut rx = self.inner.replica.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|n| *n >= min_registry_entries),
        )
        .await;
        let st = lock(&self.inner.state);
        PlatformStatus {
            ledger_size: self.inner.ledger.len(),
            registry_entries: self.inner.replica.len(),
            bills: st.bills.len() as u64,
            submissions: st.submissions.len() as u64,
            pending: st.pending() as u64,
            operators: self.inner.operators.keys().cloned().collect(),
            signatures_made: corridor_core::signature_counts().0,
            signatures_verified: corridor_core::signature_counts().1,
        }
    }

    /// `CancelConsignment`: signs the cancellation for the declarant, has the first node
    /// record it, then records it here.
    pub(crate) async fn cancel(&self, id: Digest, reason: &str) -> Result<StepReceipt, Error> {
        let s = self.submission(&id)?;
        if s.state == SubmissionState::Cancelled {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "consignment {id} is already cancelled"
            ))));
        }
        let declarant = self.operator_key(&s.declaration.declarant_operator_id, "declarant")?;
        let reason = Text::parse("reason", reason)?;
        let c = DeclarationCancellation::new(id, reason, self.now())?;
        let env = Envelope::sign(
            payload_type::DECLARATION_CANCELLATION,
            corridor_proto::encode_declaration_cancellation(&c),
            declarant,
        );
        let first = s.declaration.route[0].country.clone();
        let receipt = self
            .inner
            .nodes
            .node(&first)?
            .cancel_declaration(&env)
            .await
            .map_err(Error::Refused)?;
        self.record(vec![Planned {
            kind: super::kind::CANCELLED,
            subject: id,
            envelope: env,
            rows: Vec::new(),
            effect: Effect::Cancelled,
        }])
        .await?;
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::ConsignmentState;
    use tonic::{Code, Status};

    #[test]
    fn the_first_nodes_answer_decides_the_outcome() {
        let id = Digest::of(b"c");
        let cn = CountryCode::parse("c", "CN").unwrap();
        let receipt = StepReceipt {
            consignment_id: id,
            seq: 4,
            entry_hash: Digest::of(b"e"),
            new: true,
            state: ConsignmentState::AwaitingArrival,
            lane: None,
            recorded_at_unix_micros: 1,
        };
        let o = outcome(&id, &cn, &Ok(receipt), 9).unwrap();
        assert_eq!(
            (o.state, o.detail.as_str(), o.node_entry_hash),
            (
                SubmissionState::Accepted,
                "entry 4 at CN",
                Some(Digest::of(b"e"))
            )
        );
        let refused = Err(Status::failed_precondition("bill spent"));
        let o = outcome(&id, &cn, &refused, 9).unwrap();
        assert_eq!(
            (o.state, o.detail.as_str(), o.node_entry_hash),
            (
                SubmissionState::Refused,
                "FailedPrecondition: bill spent",
                None
            )
        );
        // A submission over the node's message limit is refused, not retried.
        let too_large = Err(Status::resource_exhausted(
            "decoded message length too large",
        ));
        let o = outcome(&id, &cn, &too_large, 9).unwrap();
        assert_eq!(o.state, SubmissionState::Refused, "{}", o.detail);
        for s in [Status::unavailable("down"), Status::internal("bad receipt")] {
            let e = Status::from(outcome(&id, &cn, &Err(s), 9).unwrap_err());
            assert_eq!(e.code(), Code::Unavailable);
            assert!(
                e.message().contains("could not be reached"),
                "{}",
                e.message()
            );
        }
    }
}
