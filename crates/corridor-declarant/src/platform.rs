//! The declarant's state and its rules: bills of lading and their transfer chains, and the
//! submissions made for the operators it acts for. Rebuilt on start from the ledger, through
//! the same `apply` that records each step.

use corridor_service::Refusal;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use corridor_aeo::follow::ReplicaStore;
use corridor_core::document::{
    BillOfLading, Declaration, DeclarationCancellation, TransferAction, TransferEntry,
};
use corridor_core::{
    CountryCode, Digest, Envelope, OperatorId, ParseError, SigningKey, payload_type,
};
use corridor_ledger::{Append, Appended, Ledger, RowChange};
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::{self, SubmissionState};
use corridor_topology::{Clock, Topology};
use prost::Message;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::error::Error;

/// Ledger entry kinds the declarant records.
pub mod kind {
    /// A bill of lading issued on the platform (signed by its carrier).
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

/// Pending rows: `pending/` + consignment id: submissions the first node has not answered.
const PENDING: &[u8] = b"pending/";

fn pending_key(id: &Digest) -> Vec<u8> {
    let mut k = PENDING.to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// A bill on the platform.
#[derive(Clone, Debug)]
pub(crate) struct Bill {
    pub(crate) envelope: Envelope,
    pub(crate) bill: BillOfLading,
    /// (envelope, entry, its document id)
    pub(crate) chain: Vec<(Envelope, TransferEntry, Digest)>,
}

impl Bill {
    fn tip(&self) -> Option<&(Envelope, TransferEntry, Digest)> {
        self.chain.last()
    }

    pub(crate) fn record(&self, id: &Digest) -> v1::BillRecord {
        let tip = self.tip();
        v1::BillRecord {
            bill_of_lading_id: id.to_hex(),
            bill_of_lading: Some(v1::Envelope::from(&self.envelope)),
            chain: self
                .chain
                .iter()
                .map(|(e, _, _)| v1::Envelope::from(e))
                .collect(),
            holder: tip
                .map(|(_, t, _)| t.to_holder.to_string())
                .unwrap_or_default(),
            spent: tip.is_some_and(|(_, t, _)| t.is_final()),
            last_action: tip
                .map(|(_, t, _)| t.action.name().to_string())
                .unwrap_or_default(),
        }
    }
}

/// A submission made here.
#[derive(Clone, Debug)]
pub(crate) struct Submission {
    pub(crate) envelope: Envelope,
    pub(crate) declaration: Declaration,
    pub(crate) state: SubmissionState,
    pub(crate) detail: String,
    /// The first node's answer, when it accepted.
    pub(crate) receipt: Option<v1::StepReceipt>,
}

/// What a recorded entry does.
enum Effect {
    Bill(Box<(Envelope, BillOfLading)>),
    Transfer(Box<(Envelope, TransferEntry)>),
    Submitted(Box<(Envelope, Declaration)>),
    Outcome(v1::SubmissionOutcome),
    Cancelled,
}

struct Planned {
    kind: &'static str,
    subject: String,
    envelope: Envelope,
    rows: Vec<RowChange>,
    effect: Effect,
}

#[derive(Default)]
struct State {
    bills: HashMap<Digest, Bill>,
    submissions: HashMap<Digest, Submission>,
}

/// The declarant.
#[derive(Clone)]
pub struct Platform {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) replica: Arc<ReplicaStore>,
    pub(crate) key: SigningKey,
    pub(crate) operators: BTreeMap<OperatorId, SigningKey>,
    pub(crate) clock: Clock,
    state: Mutex<State>,
    /// One step at a time per bill (transfers), so a double spend is seen.
    bill_locks: Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) nodes: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
    pub(crate) shutdown: CancellationToken,
    /// The registry follower, pending retries and tracking streams: joined before the
    /// databases close.
    pub(crate) tasks: tokio_util::task::TaskTracker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::Refusal(Refusal::Invalid(ParseError::new(field, reason)))
}

fn hex_id(field: &str, s: &str) -> Result<Digest, Error> {
    Ok(Digest::parse_hex(field, s)?)
}

/// Is this gRPC status the node's verdict on the submission (as opposed to the node not
/// being reached)?
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
            | Code::OutOfRange
    )
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
        let mut nodes = BTreeMap::new();
        for cc in topology.country_codes() {
            let addr = topology.node_addr(&cc)?;
            let endpoint = transport
                .endpoint(&addr.to_string())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(30));
            nodes.insert(cc, CustomsNodeClient::new(endpoint.connect_lazy()));
        }
        let inner = Arc::new(Inner {
            ledger,
            replica,
            key,
            operators,
            clock: topology.clock.clock()?,
            state: Mutex::new(State::default()),
            bill_locks: Mutex::new(HashMap::new()),
            nodes,
            shutdown,
            tasks: tokio_util::task::TaskTracker::new(),
        });
        let p = Self { inner };
        p.replay()?;
        Ok(p)
    }

    fn replay(&self) -> Result<(), Error> {
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
                    v1::SubmissionOutcome::decode(env.payload()).map_err(|e| bad(e.to_string()))?,
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
        let pending = state
            .submissions
            .values()
            .filter(|s| s.state == SubmissionState::Pending)
            .count();
        tracing::info!(
            entries = n,
            bills = state.bills.len(),
            submissions = state.submissions.len(),
            pending,
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
                b.chain.push((envelope, entry, id));
            }
            Effect::Submitted(d) => {
                let (envelope, declaration) = *d;
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
                s.state = o.state();
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

    async fn record(&self, planned: Vec<Planned>) -> Result<Vec<Appended>, Error> {
        if self.inner.ledger.is_failed() {
            return Err(Error::Refusal(Refusal::Unavailable(
                "the declarant stopped recording after a ledger failure; restart it".into(),
            )));
        }
        let now = self.inner.clock.now_micros();
        let appends = planned
            .iter()
            .map(|p| Append {
                kind: p.kind.to_string(),
                subject: p.subject.clone(),
                time_unix_micros: now,
                envelope: corridor_proto::encode_envelope(&p.envelope),
                rows: p.rows.clone(),
            })
            .collect();
        let appended = self.inner.ledger.append_all(appends).await?;
        for (p, a) in planned.into_iter().zip(&appended) {
            if a.new {
                let subject = Digest::parse_hex("subject", &p.subject)?;
                self.apply(&subject, p.effect)?;
            }
        }
        Ok(appended)
    }

    fn operator_key(&self, id: &OperatorId, role: &str) -> Result<&SigningKey, Error> {
        self.inner.operators.get(id).ok_or_else(|| {
            Error::Refusal(Refusal::PermissionDenied(format!(
                "the declarant does not act for {id} ({role}): it holds no key of it"
            )))
        })
    }

    /// `SubmitConsignment`.
    pub(crate) async fn submit(
        &self,
        req: v1::SubmitConsignmentRequest,
    ) -> Result<v1::SubmitConsignmentResponse, Error> {
        let now = self.inner.clock.now_micros();
        // Everything is checked before anything is signed.
        let (bill_env, chain, new_bill) = match (req.bill_of_lading, req.bill_of_lading_id.as_str())
        {
            (Some(_), id) if !id.is_empty() => {
                return Err(invalid(
                    "bill_of_lading_id",
                    "give either a new bill_of_lading or the id of a bill on the platform",
                ));
            }
            (Some(mut b), _) => {
                if b.issued_at_unix_micros == 0 {
                    b.issued_at_unix_micros = now;
                }
                let bill = BillOfLading::try_from(b).map_err(|e| e.within("bill_of_lading"))?;
                let carrier = self.operator_key(&bill.carrier.operator_id, "carrier")?;
                let env = Envelope::sign(
                    payload_type::BILL_OF_LADING,
                    corridor_proto::encode_bill_of_lading(&bill),
                    carrier,
                );
                let issue = TransferEntry::issue(
                    env.document_id(),
                    bill.carrier.operator_id.clone(),
                    bill.shipper.operator_id.clone(),
                    bill.issued_at_unix_micros,
                )
                .map_err(|e| e.within("bill_of_lading"))?;
                let ienv = Envelope::sign(
                    payload_type::TRANSFER_ENTRY,
                    corridor_proto::encode_transfer_entry(&issue),
                    carrier,
                );
                let id = ienv.document_id();
                (env, vec![(ienv, issue, id)], Some(bill))
            }
            (None, "") => {
                return Err(invalid(
                    "bill_of_lading",
                    "required (or the bill_of_lading_id of a bill on the platform)",
                ));
            }
            (None, id) => {
                let id = hex_id("bill_of_lading_id", id)?;
                let st = lock(&self.inner.state);
                let b = st.bills.get(&id).ok_or_else(|| {
                    Error::Refusal(Refusal::NotFound(format!(
                        "bill {id} is not on this platform"
                    )))
                })?;
                (b.envelope.clone(), b.chain.clone(), None)
            }
        };
        let bill_id = bill_env.document_id();
        let bill = match &new_bill {
            Some(b) => b.clone(),
            None => corridor_proto::decode_bill_of_lading(bill_env.payload())?,
        };
        let mut wire = req
            .declaration
            .ok_or_else(|| ParseError::new("declaration", "required"))?;
        if wire.bill_of_lading_id.is_empty() {
            wire.bill_of_lading_id = bill_id.as_bytes().to_vec();
        }
        if wire.created_at_unix_micros == 0 {
            wire.created_at_unix_micros = now;
        }
        let declaration = Declaration::try_from(wire).map_err(|e| e.within("declaration"))?;
        if declaration.bill_of_lading_id != bill_id {
            return Err(invalid(
                "declaration.bill_of_lading_id",
                format!("is not the bill's id {bill_id}"),
            ));
        }
        declaration
            .check_against_bill(&bill)
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
        let subject = id.to_hex();
        let bill_subject = bill_id.to_hex();

        let mut planned = Vec::new();
        if let Some(b) = new_bill {
            planned.push(Planned {
                kind: kind::BILL,
                subject: bill_subject.clone(),
                envelope: bill_env.clone(),
                rows: Vec::new(),
                effect: Effect::Bill(Box::new((bill_env.clone(), b))),
            });
            for (e, t, _) in &chain {
                planned.push(Planned {
                    kind: kind::TRANSFER,
                    subject: bill_subject.clone(),
                    envelope: e.clone(),
                    rows: Vec::new(),
                    effect: Effect::Transfer(Box::new((e.clone(), t.clone()))),
                });
            }
        }
        planned.push(Planned {
            kind: kind::SUBMITTED,
            subject: subject.clone(),
            envelope: denv.clone(),
            rows: vec![RowChange::set(pending_key(&id), first.as_str().as_bytes())],
            effect: Effect::Submitted(Box::new((denv.clone(), declaration))),
        });
        let appended = self.record(planned).await?;
        if appended.last().is_some_and(|a| !a.new)
            && self.submission(&id)?.state != SubmissionState::Pending
        {
            // The same declaration again: answer as the first time. (One the first node has
            // not answered yet is sent again: the node answers the same envelope once.)
            return self.answer_again(&id, &bill_id, &first);
        }
        let request = v1::SubmitDeclarationRequest {
            declaration: Some(v1::Envelope::from(&denv)),
            bill_of_lading: Some(v1::Envelope::from(&bill_env)),
            transfer_chain: chain
                .iter()
                .map(|(e, _, _)| v1::Envelope::from(e))
                .collect(),
        };
        let receipt = self.send(&id, &first, request).await?;
        Ok(v1::SubmitConsignmentResponse {
            consignment_id: subject,
            bill_of_lading_id: bill_id.to_hex(),
            first_country: first.to_string(),
            first_node: Some(receipt),
        })
    }

    fn answer_again(
        &self,
        id: &Digest,
        bill_id: &Digest,
        first: &CountryCode,
    ) -> Result<v1::SubmitConsignmentResponse, Error> {
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
            _ => Ok(v1::SubmitConsignmentResponse {
                consignment_id: id.to_hex(),
                bill_of_lading_id: bill_id.to_hex(),
                first_country: first.to_string(),
                first_node: s.receipt.clone(),
            }),
        }
    }

    /// Sends a recorded submission to the first node and records its answer.
    async fn send(
        &self,
        id: &Digest,
        first: &CountryCode,
        request: v1::SubmitDeclarationRequest,
    ) -> Result<v1::StepReceipt, Error> {
        let mut client = self
            .inner
            .nodes
            .get(first)
            .cloned()
            .ok_or_else(|| Error::State(format!("no node for {first}")))?;
        let answer = client.submit_declaration(request).await;
        let now = self.inner.clock.now_micros();
        let (state, detail, hash) = match &answer {
            Ok(r) => {
                let r = r.get_ref();
                (
                    SubmissionState::Accepted,
                    format!("entry {} at {first}", r.seq),
                    r.entry_hash.clone(),
                )
            }
            Err(s) if is_verdict(s) => (
                SubmissionState::Refused,
                format!("{:?}: {}", s.code(), s.message()),
                Vec::new(),
            ),
            Err(s) => {
                return Err(Error::Refusal(Refusal::Unavailable(format!(
                    "consignment {id} is recorded, but the customs node of {first} could not be reached ({}); it is retried when the declarant restarts",
                    s.message()
                ))));
            }
        };
        let outcome = v1::SubmissionOutcome {
            consignment_id: id.as_bytes().to_vec(),
            country: first.to_string(),
            state: state as i32,
            detail: detail.clone(),
            node_entry_hash: hash,
            at_unix_micros: now,
        };
        let env = Envelope::sign(
            payload_type::SUBMISSION_OUTCOME,
            outcome.encode_to_vec(),
            &self.inner.key,
        );
        self.record(vec![Planned {
            kind: kind::OUTCOME,
            subject: id.to_hex(),
            envelope: env,
            rows: vec![RowChange::remove(pending_key(id))],
            effect: Effect::Outcome(outcome),
        }])
        .await?;
        match answer {
            Ok(r) => {
                let r = r.into_inner();
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
                let (bill_env, chain) = {
                    let st = lock(&p.inner.state);
                    match st.bills.get(&declaration.bill_of_lading_id) {
                        Some(b) => (b.envelope.clone(), b.chain.clone()),
                        None => return,
                    }
                };
                let first = declaration.route[0].country.clone();
                let request = v1::SubmitDeclarationRequest {
                    declaration: Some(v1::Envelope::from(&denv)),
                    bill_of_lading: Some(v1::Envelope::from(&bill_env)),
                    transfer_chain: chain
                        .iter()
                        .map(|(e, _, _)| v1::Envelope::from(e))
                        .collect(),
                };
                match p.send(&id, &first, request).await {
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

    /// `TransferBill`.
    pub(crate) async fn transfer(
        &self,
        req: v1::TransferBillRequest,
    ) -> Result<v1::BillRecord, Error> {
        let env: Envelope = req
            .entry
            .ok_or_else(|| ParseError::new("entry", "required"))?
            .try_into()
            .map_err(|e: ParseError| e.within("entry"))?;
        if env.payload_type() != payload_type::TRANSFER_ENTRY {
            return Err(invalid(
                "entry.payload_type",
                format!("expected {:?}", payload_type::TRANSFER_ENTRY),
            ));
        }
        let entry = corridor_proto::decode_transfer_entry(env.payload())
            .map_err(|e| e.within("entry.payload"))?;
        let bill_id = entry.document_id;
        // The actor's signature, with a key valid at the entry's time.
        {
            let replica = self.inner.replica.read();
            let mut why = String::from("no signature");
            let mut ok = false;
            for s in env.signatures() {
                match replica.operator_key(&entry.actor, &s.key_id, entry.time_unix_micros) {
                    Ok(k) => {
                        env.verify_by(&k).map_err(|e| {
                            Error::Refusal(Refusal::Unauthenticated(format!("transfer entry: {e}")))
                        })?;
                        ok = true;
                        break;
                    }
                    Err(e) => why = e,
                }
            }
            if !ok {
                return Err(Error::Refusal(Refusal::Unauthenticated(format!(
                    "the transfer entry is not signed by its actor {}: {why}",
                    entry.actor
                ))));
            }
        }
        let bill_lock = lock(&self.inner.bill_locks)
            .entry(bill_id)
            .or_default()
            .clone();
        let _one_at_a_time = bill_lock.lock().await;
        let (bill, tip) = {
            let st = lock(&self.inner.state);
            let b = st.bills.get(&bill_id).ok_or_else(|| {
                Error::Refusal(Refusal::NotFound(format!(
                    "bill {bill_id} is not on this platform"
                )))
            })?;
            let env_id = env.document_id();
            if b.chain.iter().any(|(_, _, id)| *id == env_id) {
                return Ok(b.record(&bill_id));
            }
            if let Some((_, earlier, _)) = b.chain.get(entry.seq as usize) {
                return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                    "double spend: entry {} of bill {bill_id} was already recorded from this holder state ({} by {} to {})",
                    entry.seq,
                    earlier.action.name(),
                    earlier.actor,
                    earlier.to_holder
                ))));
            }
            (b.bill.clone(), b.tip().cloned())
        };
        let (_, tip_entry, tip_id) =
            tip.ok_or_else(|| Error::State(format!("bill {bill_id} has no chain")))?;
        if entry.seq == tip_entry.seq + 1
            && entry.actor != tip_entry.to_holder
            && !matches!(
                entry.action,
                TransferAction::SurrenderAccepted | TransferAction::SurrenderRejected
            )
        {
            return Err(Error::Refusal(Refusal::PermissionDenied(format!(
                "{} does not hold bill {bill_id}: {} does",
                entry.actor, tip_entry.to_holder
            ))));
        }
        entry
            .check_follows(&tip_id, &tip_entry)
            .map_err(|e| Error::Refusal(Refusal::FailedPrecondition(e.to_string())))?;
        entry
            .check_against_bill(&bill)
            .map_err(|e| e.within("entry.payload"))?;
        self.record(vec![Planned {
            kind: kind::TRANSFER,
            subject: bill_id.to_hex(),
            envelope: env.clone(),
            rows: Vec::new(),
            effect: Effect::Transfer(Box::new((env, entry))),
        }])
        .await?;
        let st = lock(&self.inner.state);
        st.bills
            .get(&bill_id)
            .map(|b| b.record(&bill_id))
            .ok_or_else(|| Error::State("bill".into()))
    }

    /// `GetBill`.
    pub(crate) fn bill(&self, id: &str) -> Result<v1::BillRecord, Error> {
        let id = hex_id("bill_of_lading_id", id)?;
        let st = lock(&self.inner.state);
        st.bills.get(&id).map(|b| b.record(&id)).ok_or_else(|| {
            Error::Refusal(Refusal::NotFound(format!(
                "bill {id} is not on this platform"
            )))
        })
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
    pub(crate) async fn status(&self, min_registry_entries: u64) -> v1::PlatformStatus {
        let mut rx = self.inner.replica.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|n| *n >= min_registry_entries),
        )
        .await;
        let st = lock(&self.inner.state);
        v1::PlatformStatus {
            ledger_size: self.inner.ledger.len(),
            registry_entries: self.inner.replica.len(),
            bills: st.bills.len() as u64,
            submissions: st.submissions.len() as u64,
            pending: st
                .submissions
                .values()
                .filter(|s| s.state == SubmissionState::Pending)
                .count() as u64,
            operators: self.inner.operators.keys().map(|o| o.to_string()).collect(),
            signatures_made: corridor_core::signature_counts().0,
            signatures_verified: corridor_core::signature_counts().1,
        }
    }

    /// `CancelConsignment`.
    pub(crate) async fn cancel(
        &self,
        req: v1::CancelConsignmentRequest,
    ) -> Result<v1::StepReceipt, Error> {
        let id = hex_id("consignment_id", &req.consignment_id)?;
        let s = self.submission(&id)?;
        if s.state == SubmissionState::Cancelled {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "consignment {id} is already cancelled"
            ))));
        }
        let declarant = self.operator_key(&s.declaration.declarant_operator_id, "declarant")?;
        let reason = corridor_core::document::Text::parse("reason", &req.reason)?;
        let c = DeclarationCancellation::new(id, reason, self.inner.clock.now_micros())?;
        let env = Envelope::sign(
            payload_type::DECLARATION_CANCELLATION,
            corridor_proto::encode_declaration_cancellation(&c),
            declarant,
        );
        let first = s.declaration.route[0].country.clone();
        let mut client = self
            .inner
            .nodes
            .get(&first)
            .cloned()
            .ok_or_else(|| Error::State(format!("no node for {first}")))?;
        let r = client
            .cancel_declaration(v1::SignedRequest {
                envelope: Some(v1::Envelope::from(&env)),
            })
            .await
            .map_err(Error::Refused)?
            .into_inner();
        self.record(vec![Planned {
            kind: kind::CANCELLED,
            subject: id.to_hex(),
            envelope: env,
            rows: Vec::new(),
            effect: Effect::Cancelled,
        }])
        .await?;
        Ok(r)
    }
}
