//! A customs node's witness: C2SP `tlog-witness` `add-checkpoint` over HTTP, and the
//! `Witness` gRPC service that reports what it holds.
//!
//! `POST /add-checkpoint` with a body of at most [`MAX_BODY_BYTES`]: 200 with the
//! cosignature line (`text/plain; charset=utf-8`), or the refusal `tlog-witness` gives, its
//! reason as one line: 400 (malformed, old size above the checkpoint's), 403 (no valid
//! signature of the log's key), 404 (an origin the topology does not list), 409 with
//! `Content-Type: text/x.tlog.size` and the size it last cosigned, 422 (inconsistent), and
//! 413 for a larger body. A cosigned checkpoint is written and flushed before the answer.
//!
//! A refusal as inconsistent may be the log's bug or the log's fork. The witness asks the
//! log itself (its `LedgerReader`) for the consistency proof from the size it cosigned to
//! the refused checkpoint's: when the log's own proof shows its tree at that size has
//! another root than the one cosigned (or the sizes are equal and the roots differ), the
//! two notes and the proof are [`Evidence`], checked again, kept durably and logged at
//! error level, once per log and cosigned checkpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, SigningKey};
use corridor_ledger::cosignature::Cosignature;
use corridor_ledger::witness::{AddCheckpoint, Evidence, MAX_BODY_BYTES, Refusal, Tree};
use corridor_ledger::witness_state::{Outcome, WitnessState};
use corridor_net::Transport;
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::WitnessedLog;
use tonic::{Request, Status};

use super::{WitnessConfig, unix_now};

/// A running witness: its key, its durable state, the logs it knows.
pub struct WitnessServer {
    name: String,
    key: SigningKey,
    state: WitnessState,
    logs: BTreeMap<String, WitnessedLog>,
    transport: Transport,
    timeout: std::time::Duration,
    /// Cosignatures made since the process started.
    cosigned: AtomicU64,
}

impl WitnessServer {
    /// Opens the witness's state (checking every record carries its cosignature); it asks
    /// logs for proofs over `transport`, each call given `timeout`.
    pub fn open(
        config: WitnessConfig,
        transport: Transport,
        timeout: std::time::Duration,
    ) -> Result<Arc<Self>, corridor_ledger::Error> {
        let state = WitnessState::open(&config.dir, &config.name, &config.key.public())?;
        Ok(Arc::new(Self {
            logs: config
                .logs
                .into_iter()
                .map(|l| (l.origin.clone(), l))
                .collect(),
            name: config.name,
            key: config.key,
            state,
            transport,
            timeout,
            cosigned: AtomicU64::new(0),
        }))
    }

    /// The witness's HTTP routes: `POST /add-checkpoint`.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .with_state(self.clone())
    }

    /// Decides on one request body, as `POST /add-checkpoint` does: the outcome, or the
    /// error of a state that could not be read or written (nothing cosigned then).
    fn decide(&self, body: &[u8]) -> Result<Outcome, corridor_ledger::Error> {
        let request = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(refusal) => return Ok(Outcome::Refused(refusal, None)),
        };
        self.state.add_checkpoint(
            &request,
            |origin| self.logs.get(origin).map(|l| &l.key),
            |tree| Cosignature::sign(&self.name, &self.key, unix_now(), tree.body()).line(),
        )
    }

    /// Looks for proof that the log equivocated, given the checkpoint cosigned before and
    /// the one refused as inconsistent with it; keeps it when found.
    async fn gather(self: Arc<Self>, before: Tree, offered: Tree) {
        let Some(log) = self.logs.get(&offered.origin) else {
            return;
        };
        let known = self.state.evidence().unwrap_or_default();
        if known
            .iter()
            .any(|e| e.origin == offered.origin && e.cosigned == before.note)
        {
            tracing::debug!(origin = %offered.origin, "refused again a log already proven to equivocate");
            return;
        }
        let mut evidence = Evidence {
            origin: offered.origin.clone(),
            witness: self.name.clone(),
            found_at: unix_now(),
            cosigned: before.note.clone(),
            conflicting: offered.note.clone(),
            old_root: None,
            proof: Vec::new(),
        };
        if offered.size > before.size {
            match self.log_proof(log, before.size, offered.size).await {
                Ok((from_root, to_root, proof)) if to_root == offered.root => {
                    evidence.old_root = Some(B64.encode(from_root.as_bytes()));
                    evidence.proof = proof.iter().map(|h| B64.encode(h.as_bytes())).collect();
                }
                Ok(_) => {
                    tracing::warn!(origin = %offered.origin, size = offered.size,
                        "the log's tree is no longer the one of the checkpoint it offered");
                    return;
                }
                Err(e) => {
                    tracing::warn!(origin = %offered.origin, error = %e,
                        "could not ask the log for its consistency proof");
                    return;
                }
            }
        } else if offered.size < before.size {
            return;
        }
        match evidence.verify(&log.key) {
            Ok(what) => match self.state.record_evidence(&evidence) {
                Ok(id) => tracing::error!(
                    origin = %evidence.origin,
                    cosigned = before.size,
                    conflicting = offered.size,
                    evidence = id,
                    "EQUIVOCATION: {what}"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "could not keep the evidence of an equivocation")
                }
            },
            Err(why) => {
                tracing::warn!(origin = %evidence.origin, "an inconsistent checkpoint, but no proof of a fork: {why}")
            }
        }
    }

    /// The log's consistency proof from `from` to `to`, with both roots.
    async fn log_proof(
        &self,
        log: &WitnessedLog,
        from: u64,
        to: u64,
    ) -> Result<(Digest, Digest, Vec<Digest>), String> {
        let endpoint = self
            .transport
            .endpoint(&log.addr)
            .map_err(|e| e.to_string())?
            .connect_timeout(self.timeout)
            .timeout(self.timeout);
        let mut client = LedgerReaderClient::new(endpoint.connect_lazy());
        let p = client
            .get_consistency_proof(v1::GetConsistencyProofRequest {
                from_size: from,
                to_size: to,
            })
            .await
            .map_err(|s| format!("{}: {}", s.code(), s.message()))?
            .into_inner();
        let digest = |b: &[u8]| {
            <[u8; 32]>::try_from(b)
                .map(Digest::from_bytes)
                .map_err(|_| "a hash is not 32 bytes".to_owned())
        };
        let hashes = p
            .hashes
            .iter()
            .map(|h| digest(h))
            .collect::<Result<_, _>>()?;
        Ok((digest(&p.from_root_hash)?, digest(&p.to_root_hash)?, hashes))
    }

    /// What the witness holds, as the `Witness` service reports it.
    pub fn status(&self) -> Result<v1::WitnessStatus, corridor_ledger::Error> {
        let logs = self
            .state
            .logs()?
            .into_iter()
            .map(|t| v1::WitnessedLog {
                origin: t.origin,
                size: t.size,
                root_hash: t.root.as_bytes().to_vec(),
                note: t.note,
            })
            .collect();
        let size = |note: &str| Tree::parse(note).map_or(0, |t| t.size);
        let equivocations = self
            .state
            .evidence()?
            .into_iter()
            .map(|e| v1::Equivocation {
                cosigned_size: size(&e.cosigned),
                conflicting_size: size(&e.conflicting),
                evidence_json: serde_json::to_string_pretty(&e).unwrap_or_default(),
                origin: e.origin,
                found_at: e.found_at,
            })
            .collect();
        Ok(v1::WitnessStatus {
            name: self.name.clone(),
            public_key: self.key.public().as_bytes().to_vec(),
            logs,
            equivocations,
            cosignatures: self.cosigned.load(Ordering::Relaxed),
        })
    }
}

async fn add_checkpoint(State(w): State<Arc<WitnessServer>>, body: Body) -> Response<Body> {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes\n"),
        );
    };
    let witness = w.clone();
    let decided = tokio::task::spawn_blocking(move || witness.decide(&bytes)).await;
    let outcome = match decided {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the witness state could not be read or written");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the witness cannot record now: {e}\n"),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint stopped");
            return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"));
        }
    };
    match outcome {
        Outcome::Cosigned(line) => {
            w.cosigned.fetch_add(1, Ordering::Relaxed);
            text(StatusCode::OK, line)
        }
        Outcome::Refused(refusal, pair) => {
            if let Some(pair) = pair {
                let (before, offered) = *pair;
                tracing::warn!(origin = %offered.origin, "add-checkpoint refused: {refusal}");
                tokio::spawn(w.gather(before, offered));
            } else {
                tracing::debug!("add-checkpoint refused: {refusal}");
            }
            refuse(&refusal)
        }
    }
}

fn refuse(refusal: &Refusal) -> Response<Body> {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Refusal::Conflict { size, .. } = refusal {
        let mut r = text(status, format!("{size}\n"));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/x.tlog.size"),
        );
        return r;
    }
    text(status, format!("{refusal}\n"))
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The `Witness` gRPC service over a running witness.
#[derive(Clone)]
pub struct WitnessService(pub Arc<WitnessServer>);

#[tonic::async_trait]
impl v1::witness_server::Witness for WitnessService {
    async fn get_witness_status(
        &self,
        _: Request<v1::GetWitnessStatusRequest>,
    ) -> Result<tonic::Response<v1::WitnessStatus>, Status> {
        let w = self.0.clone();
        tokio::task::spawn_blocking(move || w.status())
            .await
            .map_err(|e| Status::internal(format!("witness status stopped: {e}")))?
            .map(tonic::Response::new)
            .map_err(|e| Status::unavailable(format!("witness state: {e}")))
    }
}
