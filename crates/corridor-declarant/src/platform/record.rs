//! The one place the declarant's state changes: planned entries are appended in one atomic
//! batch, and applied in memory only once the append is durable; on start the ledger is
//! replayed through the same `apply`.

use corridor_core::document::declarant::{SubmissionOutcome, SubmissionState};
use corridor_core::document::{BillOfLading, Declaration, TransferEntry};
use corridor_core::{Digest, Envelope};
use corridor_ledger::{Append, Appended, RowChange};
use corridor_service::Refusal;

use super::{Bill, ChainLink, Platform, Submission, kind, lock};
use crate::error::Error;

/// Pending rows: `pending/` + consignment id: submissions the first node has not answered.
const PENDING: &[u8] = b"pending/";

pub(super) fn pending_key(id: &Digest) -> Vec<u8> {
    let mut k = PENDING.to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// What a recorded entry does.
pub(super) enum Effect {
    Bill(Box<(Envelope, BillOfLading)>),
    Transfer(Box<(Envelope, TransferEntry)>),
    Submitted(Box<(Envelope, Declaration)>),
    Outcome(SubmissionOutcome),
    Cancelled,
}

/// An entry to record, with the rows it changes and what it does once recorded.
pub(super) struct Planned {
    pub(super) kind: &'static str,
    pub(super) subject: Digest,
    pub(super) envelope: Envelope,
    pub(super) rows: Vec<RowChange>,
    pub(super) effect: Effect,
}

impl Platform {
    pub(super) fn replay(&self) -> Result<(), Error> {
        let mut n = 0;
        for r in self.inner.ledger.entries(0) {
            let (entry, _) = r?;
            let bad = |what: String| Error::State(format!("ledger entry {}: {what}", entry.seq));
            let env =
                corridor_proto::decode_envelope(&entry.envelope).map_err(|e| bad(e.to_string()))?;
            let effect = match entry.kind.as_str() {
                kind::BILL => {
                    let b = corridor_proto::decode_bill_of_lading(env.payload())
                        .map_err(|e| bad(e.to_string()))?;
                    Effect::Bill(Box::new((env, b)))
                }
                kind::TRANSFER => {
                    let t = corridor_proto::decode_transfer_entry(env.payload())
                        .map_err(|e| bad(e.to_string()))?;
                    Effect::Transfer(Box::new((env, t)))
                }
                kind::SUBMITTED => {
                    let d = corridor_proto::decode_declaration(env.payload())
                        .map_err(|e| bad(e.to_string()))?;
                    Effect::Submitted(Box::new((env, d)))
                }
                kind::OUTCOME => Effect::Outcome(
                    corridor_proto::declarant::decode_submission_outcome(env.payload())
                        .map_err(|e| bad(e.to_string()))?,
                ),
                kind::CANCELLED => Effect::Cancelled,
                other => return Err(bad(format!("unknown kind {other:?}"))),
            };
            let subject =
                Digest::parse_hex("subject", &entry.subject).map_err(|e| bad(e.to_string()))?;
            self.apply(&subject, effect)
                .map_err(|e| bad(e.to_string()))?;
            n += 1;
        }
        let state = lock(&self.inner.state);
        tracing::info!(
            entries = n,
            bills = state.bills.len(),
            submissions = state.submissions.len(),
            pending = state.pending(),
            "declarant state rebuilt from the ledger"
        );
        Ok(())
    }

    fn apply(&self, subject: &Digest, effect: Effect) -> Result<(), Error> {
        let mut st = lock(&self.inner.state);
        match effect {
            Effect::Bill(b) => {
                let (envelope, bill) = *b;
                st.bills.insert(
                    *subject,
                    Bill {
                        envelope,
                        bill,
                        chain: Vec::new(),
                    },
                );
            }
            Effect::Transfer(t) => {
                let (envelope, entry) = *t;
                let b = st
                    .bills
                    .get_mut(subject)
                    .ok_or_else(|| Error::State(format!("transfer of unknown bill {subject}")))?;
                let id = envelope.document_id();
                b.chain.push(ChainLink {
                    envelope,
                    entry,
                    id,
                });
            }
            Effect::Submitted(d) => {
                let (envelope, declaration) = *d;
                st.references
                    .entry((
                        declaration.declarant_operator_id.to_string(),
                        declaration.declaration_reference.as_str().to_string(),
                    ))
                    .or_insert(*subject);
                st.submissions.insert(
                    *subject,
                    Submission {
                        envelope,
                        declaration,
                        state: SubmissionState::Pending,
                        detail: String::new(),
                        receipt: None,
                    },
                );
            }
            Effect::Outcome(o) => {
                let s = st
                    .submissions
                    .get_mut(subject)
                    .ok_or_else(|| Error::State(format!("outcome of unknown {subject}")))?;
                s.state = o.state;
                s.detail = o.detail;
            }
            Effect::Cancelled => {
                let s = st
                    .submissions
                    .get_mut(subject)
                    .ok_or_else(|| Error::State(format!("cancellation of unknown {subject}")))?;
                s.state = SubmissionState::Cancelled;
            }
        }
        Ok(())
    }

    /// Appends `planned` in one atomic batch, then applies the entries this call recorded.
    pub(super) async fn record(&self, planned: Vec<Planned>) -> Result<Vec<Appended>, Error> {
        if self.inner.ledger.is_failed() {
            return Err(Error::Refusal(Refusal::Unavailable(
                "the declarant stopped recording after a ledger failure; it resumes once its ledger is reopened".into(),
            )));
        }
        let now = self.inner.clock.now_micros();
        let appends = planned
            .iter()
            .map(|p| Append {
                kind: p.kind.to_string(),
                subject: p.subject.to_hex(),
                time_unix_micros: now,
                envelope: corridor_proto::encode_envelope(&p.envelope),
                rows: p.rows.clone(),
            })
            .collect();
        let appended = self.inner.ledger.append_all(appends).await?;
        for (p, a) in planned.into_iter().zip(&appended) {
            if a.new {
                self.apply(&p.subject, p.effect)?;
            }
        }
        Ok(appended)
    }
}
