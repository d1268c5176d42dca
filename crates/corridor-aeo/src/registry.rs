//! The registry: records each change in the ledger (state rows in the same batch), then
//! applies it to the in-memory state that answers queries; rebuilt and checked on start.

use corridor_service::Refusal;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::Poll;

use corridor_core::aeo::record::ChangeReceipt;
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, ParseError};
use corridor_ledger::{Append, Ledger, RowChange};
use corridor_proto::v1;
use corridor_topology::{Clock, DocumentTimes};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::authority::TrustedKeys;
use crate::error::Error;
use crate::recognition;
use crate::rows::ROW_PREFIXES;
use crate::rules::{Change, Op};
use crate::state::{Recorded, State};
use corridor_proto::ledger::entry_to_wire;

/// Most changes checked and sent to the ledger together (one group commit).
const MAX_GROUP: usize = 256;

/// The AEO registry service (the `AeoRegistry` gRPC implementation).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
    submissions: mpsc::Sender<Submission>,
}

struct Inner {
    ledger: Arc<Ledger>,
    state: RwLock<State>,
    clock: Clock,
    /// The window a submitted document's time must lie in.
    times: DocumentTimes,
    /// The number of ledger entries applied to the state: what watchers may read up to.
    applied: watch::Sender<u64>,
    /// Set when the ledger recorded an entry other than the one staged (not new, or at
    /// another sequence number): the state then disagrees with the ledger, so the registry
    /// records nothing more until it is restarted (and rebuilt from the ledger). A failed
    /// write stops the ledger itself ([`Ledger::is_failed`]) until it is reopened, which keeps
    /// nothing unacknowledged: the state, built from acknowledged entries only, stays right.
    diverged: std::sync::atomic::AtomicBool,
    shutdown: CancellationToken,
}

/// A change of a group checked and staged, on its way to the ledger.
struct Accepted {
    submission: Submission,
    change: Change,
}

/// A submission of an envelope accepted earlier in the same group: answered with that
/// change's receipt.
struct Repeat {
    submission: Submission,
    /// The index of the earlier change among the group's accepted ones.
    of: usize,
}

/// A change waiting for the writer.
struct Submission {
    op: Op,
    env: Envelope,
    /// The envelope's canonical bytes, as recorded.
    bytes: Vec<u8>,
    /// sha256 of `bytes`.
    envelope_id: Digest,
    reply: oneshot::Sender<Result<ChangeReceipt, Error>>,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Awaits every future, polling them in order: the first poll of each happens in list order.
///
/// The writer relies on this to hand a group's appends to the ledger in the order it checked
/// them: `Ledger::append` queues its entry for the ledger's writer before its first await,
/// so first polls in order mean entries in order. Should that ever change, the sequence
/// check in `write_group` catches it: the registry stops recording, acknowledges nothing
/// out of order, and a restart that replays entries out of order refuses to start rather
/// than guess. `Ledger::append_all` gives that order by construction (consecutive
/// sequence numbers in call order) and would remove the reliance; it also makes a call's
/// entries durable all or none, where separate appends may be split between batches.
async fn join_in_order<F: Future + Unpin>(mut futs: Vec<F>) -> Vec<F::Output> {
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match Pin::new(f).poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    out.into_iter().flatten().collect()
}

impl Registry {
    /// Rebuilds the state from the ledger (every entry checked again, in order) and checks
    /// it against the state rows stored beside the entries; starts the writer task.
    pub fn open(
        ledger: Arc<Ledger>,
        keys: TrustedKeys,
        clock: Clock,
        times: DocumentTimes,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
        let mut state = State::new(keys);
        let mut n = 0;
        for r in ledger.entries(0) {
            let (entry, hash) = r?;
            state
                .replay(&entry, hash)
                .map_err(|what| Error::State(format!("ledger entry {}: {what}", entry.seq)))?;
            n = entry.seq + 1;
        }
        if n != ledger.len() {
            return Err(Error::State(format!(
                "read {n} entries of a ledger of {}",
                ledger.len()
            )));
        }
        let expected = state.rows();
        let mut stored = BTreeMap::new();
        for prefix in ROW_PREFIXES {
            stored.extend(
                ledger
                    .rows_with_prefix(prefix.as_bytes())
                    .into_iter()
                    .map(|r| (r.key, r.value)),
            );
        }
        if let Some((k, _)) = expected
            .iter()
            .find(|(k, v)| stored.get(*k) != Some(*v))
            .or_else(|| stored.iter().find(|(k, _)| !expected.contains_key(*k)))
        {
            return Err(Error::State(format!(
                "state row {:?} disagrees with the ledger",
                String::from_utf8_lossy(k)
            )));
        }
        tracing::info!(
            entries = n,
            rows = expected.len(),
            "registry state rebuilt from the ledger"
        );
        let (applied, _) = watch::channel(n);
        let inner = Arc::new(Inner {
            ledger,
            state: RwLock::new(state),
            clock,
            times,
            applied,
            diverged: std::sync::atomic::AtomicBool::new(false),
            shutdown,
        });
        let (submissions, rx) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(writer(inner.clone(), rx));
        Ok(Self { inner, submissions })
    }

    /// Checks and records one signed change; returns once it is durable.
    #[tracing::instrument(skip_all, fields(op = ?op))]
    pub(crate) async fn submit(
        &self,
        op: Op,
        env: Option<v1::Envelope>,
    ) -> Result<ChangeReceipt, Error> {
        let env: Envelope = env
            .ok_or_else(|| ParseError::new("envelope", "required"))?
            .try_into()?;
        let bytes = corridor_proto::encode_envelope(&env);
        let envelope_id = Digest::of(&bytes);
        let (reply, outcome) = oneshot::channel();
        let stopping = || Error::Refusal(Refusal::Unavailable("the registry is stopping".into()));
        self.submissions
            .send(Submission {
                op,
                env,
                bytes,
                envelope_id,
                reply,
            })
            .await
            .map_err(|_| stopping())?;
        outcome.await.map_err(|_| stopping())?
    }

    /// [`Registry::submit`] for a gRPC request: its receipt on the wire.
    async fn receipt(
        &self,
        op: Op,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        let receipt = self.submit(op, r.into_inner().envelope).await?;
        Ok(Response::new((&receipt).into()))
    }

    /// The ledger behind the registry.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.inner.ledger
    }
}

/// The writer: takes every change waiting (up to [`MAX_GROUP`]), checks each against the
/// state and the changes before it, sends them to the ledger in that order and, once they
/// are durable, applies them and answers. Ends when every [`Registry`] handle is dropped.
async fn writer(inner: Arc<Inner>, mut rx: mpsc::Receiver<Submission>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = rx.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(s) => group.push(s),
                Err(_) => break,
            }
        }
        write_group(&inner, std::mem::take(&mut group)).await;
    }
}

impl Inner {
    /// Whether the registry stopped recording: its ledger failed a write, or recorded
    /// something other than what the state staged.
    fn stopped(&self) -> bool {
        self.ledger.is_failed() || self.diverged.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn write_group(inner: &Inner, group: Vec<Submission>) {
    use std::sync::atomic::Ordering;
    if inner.stopped() {
        for s in group {
            let _ = s.reply.send(Err(Error::Refusal(Refusal::Unavailable(
                "the registry stopped recording after a ledger failure; it resumes once its ledger is reopened".into(),
            ))));
        }
        return;
    }
    let now = inner.clock.now_micros();
    let base = inner.ledger.len();
    let mut accepted: Vec<Accepted> = Vec::with_capacity(group.len());
    let mut repeats: Vec<Repeat> = Vec::new();
    {
        let mut state = write(&inner.state);
        let mut in_group: HashMap<Digest, usize> = HashMap::new();
        for s in group {
            if let Some(r) = state.receipt(&s.envelope_id) {
                let _ = s.reply.send(Ok(r.again()));
                continue;
            }
            if let Some(&i) = in_group.get(&s.envelope_id) {
                repeats.push(Repeat {
                    submission: s,
                    of: i,
                });
                continue;
            }
            let seq = base + accepted.len() as u64;
            match state.admit(s.op, &s.env, now, seq, &inner.times) {
                Ok(p) => {
                    state.stage(&p);
                    in_group.insert(s.envelope_id, accepted.len());
                    accepted.push(Accepted {
                        submission: s,
                        change: p,
                    });
                }
                Err(e) => {
                    let _ = s.reply.send(Err(e));
                }
            }
        }
    }
    if accepted.is_empty() {
        return;
    }
    let appends: Vec<_> = accepted
        .iter()
        .map(|a| {
            let row = a.change.row();
            Box::pin(inner.ledger.append(Append {
                kind: a.submission.op.kind().into(),
                subject: a.change.subject().to_owned(),
                time_unix_micros: now,
                envelope: a.submission.bytes.clone(),
                rows: vec![RowChange::set(row.key, row.value)],
            }))
        })
        .collect();
    let results = join_in_order(appends).await;

    let mut receipts: Vec<Option<ChangeReceipt>> = Vec::with_capacity(accepted.len());
    let mut applied = base;
    {
        let mut state = write(&inner.state);
        for (
            k,
            (
                Accepted {
                    submission: s,
                    change,
                },
                r,
            ),
        ) in accepted.into_iter().zip(results).enumerate()
        {
            let seq = base + k as u64;
            // An acknowledged entry is durable and stays in the ledger (a later failure and
            // recovery included), so it is applied, provided every change staged before it
            // was: each was prepared on the state the ones before it left.
            let in_order = applied == seq && !inner.diverged.load(Ordering::SeqCst);
            match r {
                Ok(a) if in_order && a.seq == seq && a.new => {
                    let receipt = state.apply(
                        change,
                        Recorded {
                            seq,
                            hash: a.hash,
                            at: now,
                            envelope_id: s.envelope_id,
                        },
                    );
                    applied = seq + 1;
                    receipts.push(Some(receipt));
                    tracing::info!(seq, kind = s.op.kind(), "recorded");
                    let _ = s.reply.send(Ok(receipt));
                }
                r => {
                    let e = match r {
                        Err(e) => Error::Ledger(e),
                        Ok(a) => {
                            inner.diverged.store(true, Ordering::SeqCst);
                            Error::State(format!(
                                "expected entry {seq} to be new, the ledger recorded {a:?}"
                            ))
                        }
                    };
                    tracing::error!(error = %e, seq, "ledger write failed; the registry stops recording");
                    receipts.push(None);
                    let _ = s.reply.send(Err(e));
                }
            }
        }
        state.unstage();
    }
    inner.applied.send_replace(applied);
    for Repeat { submission: s, of } in repeats {
        let r = match receipts.get(of).copied().flatten() {
            Some(r) => Ok(r.again()),
            None => Err(Error::Refusal(Refusal::Unavailable(
                "the registry stopped recording after a ledger failure; it resumes once its ledger is reopened".into(),
            ))),
        };
        let _ = s.reply.send(r);
    }
}

fn operator_id(s: &str) -> Result<OperatorId, Error> {
    Ok(OperatorId::parse("operator_id", s)?)
}

fn country(s: &str) -> Result<CountryCode, Error> {
    Ok(CountryCode::parse("country", s)?)
}

#[tonic::async_trait]
impl v1::aeo_registry_server::AeoRegistry for Registry {
    async fn register_operator(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Register, r).await
    }

    async fn update_operator_keys(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Keys, r).await
    }

    async fn issue_certificate(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Issue, r).await
    }

    async fn change_certificate_status(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Status, r).await
    }

    async fn propose_arrangement(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Propose, r).await
    }

    async fn countersign_arrangement(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Countersign, r).await
    }

    async fn terminate_arrangement(
        &self,
        r: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::ChangeReceipt>, Status> {
        self.receipt(Op::Terminate, r).await
    }

    async fn check_recognition(
        &self,
        r: Request<v1::CheckRecognitionRequest>,
    ) -> Result<Response<v1::CheckRecognitionResponse>, Status> {
        let r = r.into_inner();
        let op = operator_id(&r.operator_id)?;
        let c = country(&r.country)?;
        if r.at_unix_micros < 0 {
            return Err(Error::from(ParseError::new(
                "at_unix_micros",
                "a time in microseconds since the Unix epoch, or 0 for now",
            ))
            .into());
        }
        let at = if r.at_unix_micros == 0 {
            self.inner.clock.now_micros()
        } else {
            r.at_unix_micros
        };
        let size = *self.inner.applied.borrow();
        let finding = recognition::check(&read(&self.inner.state), &op, &c, at);
        Ok(Response::new((&finding.answer(at, size)).into()))
    }

    async fn get_operator(
        &self,
        r: Request<v1::GetOperatorRequest>,
    ) -> Result<Response<v1::OperatorRecord>, Status> {
        let id = operator_id(&r.into_inner().operator_id)?;
        let state = read(&self.inner.state);
        let o = state.operator(&id).ok_or_else(|| {
            Error::Refusal(Refusal::NotFound(format!(
                "operator_id: {id} is not registered"
            )))
        })?;
        Ok(Response::new(o.into()))
    }

    async fn list_certificates(
        &self,
        r: Request<v1::ListCertificatesRequest>,
    ) -> Result<Response<v1::ListCertificatesResponse>, Status> {
        let r = r.into_inner();
        let state = read(&self.inner.state);
        let certs = match (r.operator_id.is_empty(), r.country.is_empty()) {
            (false, true) => state.certificates_of(&operator_id(&r.operator_id)?),
            (true, false) => state.certificates_by(&country(&r.country)?),
            _ => {
                return Err(Error::from(ParseError::new(
                    "operator_id",
                    "set exactly one of operator_id and country",
                ))
                .into());
            }
        };
        Ok(Response::new(v1::ListCertificatesResponse {
            certificates: certs.into_iter().map(Into::into).collect(),
        }))
    }

    async fn list_arrangements(
        &self,
        r: Request<v1::ListArrangementsRequest>,
    ) -> Result<Response<v1::ListArrangementsResponse>, Status> {
        let r = r.into_inner();
        let c = if r.country.is_empty() {
            None
        } else {
            Some(country(&r.country)?)
        };
        let state = read(&self.inner.state);
        Ok(Response::new(v1::ListArrangementsResponse {
            arrangements: state
                .arrangements(c.as_ref())
                .into_iter()
                .map(Into::into)
                .collect(),
        }))
    }

    type WatchChangesStream = ReceiverStream<Result<v1::Change, Status>>;

    async fn watch_changes(
        &self,
        r: Request<v1::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let mut next = r.into_inner().from_sequence;
        let (tx, rx) = mpsc::channel(256);
        let inner = self.inner.clone();
        let mut applied = inner.applied.subscribe();
        tokio::spawn(async move {
            loop {
                let size = *applied.borrow_and_update();
                while next < size {
                    let item = match inner.ledger.get(next) {
                        Ok(Some((e, hash))) => Ok(v1::Change {
                            entry: Some(entry_to_wire(&e, &hash)),
                        }),
                        Ok(None) => {
                            Err(Status::internal(format!("ledger entry {next} is missing")))
                        }
                        Err(e) => Err(Status::from(Error::from(e))),
                    };
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                    next += 1;
                }
                tokio::select! {
                    changed = applied.changed() => if changed.is_err() { return },
                    () = inner.shutdown.cancelled() => return,
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
