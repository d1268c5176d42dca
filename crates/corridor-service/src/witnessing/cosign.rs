//! The log side of witnessing: a service's task that has its checkpoints cosigned.
//!
//! Every `interval`, when the ledger has grown, it signs a checkpoint of the ledger's size
//! and sends `add-checkpoint` to every witness that has not cosigned it yet, all at once,
//! each answer awaited at most `timeout`. The old size it sends is the size it believes the
//! witness last cosigned (from the witnessed checkpoint kept, else 0); a 409 tells it the
//! witness's size, and it asks again at once with the proof from there. Each cosignature
//! line returned is checked against the witness's key before it counts. Once a checkpoint
//! has `quorum` of them, it is kept with them as the ledger's witnessed checkpoint
//! ([`Ledger::keep_witnessed`]); cosignatures that arrive later are added to it. A witness
//! that is down or refuses is asked again on the next tick; it is logged when it starts and
//! stops failing. When the service stops, one last round offers its final size.

use std::collections::BTreeMap;
use std::sync::Arc;

use corridor_core::SigningKey;
use corridor_ledger::cosignature::{Cosignature, cosigners};
use corridor_ledger::witness::AddCheckpoint;
use corridor_ledger::{Checkpoint, Ledger};
use corridor_net::Transport;
use corridor_topology::WitnessOf;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tower::ServiceExt as _;

use super::Plan;

/// One witness, as the task sees it.
struct Peer {
    witness: WitnessOf,
    channel: Channel,
    /// The size of the checkpoint it last cosigned, as far as this service knows.
    size: u64,
    /// Whether its last answer was a failure (logged once, until it answers again).
    failing: bool,
}

/// Has `ledger`'s checkpoints (signed with `key`) cosigned by `plan`'s witnesses, reached
/// over `transport`, until `stop`; then runs one last round. Returns at once when the plan
/// has no witnesses.
pub async fn run(
    name: String,
    ledger: Arc<Ledger>,
    key: SigningKey,
    plan: Plan,
    transport: Transport,
    stop: CancellationToken,
) {
    if plan.witnesses.is_empty() {
        return;
    }
    let kept = ledger.witnessed().ok().flatten();
    let keys = plan.witness_keys();
    let mut peers = Vec::new();
    for w in &plan.witnesses {
        let endpoint = match transport.endpoint(&w.addr) {
            Ok(e) => e.connect_timeout(plan.timeout).timeout(plan.timeout),
            Err(e) => {
                tracing::error!(witness = %w.name, error = %e, "{name}: cannot reach this witness");
                continue;
            }
        };
        let size = kept
            .as_ref()
            .filter(|cp| cosigners(cp.note(), &keys).contains(&w.name.as_str()))
            .map_or(0, Checkpoint::size);
        peers.push(Peer {
            witness: w.clone(),
            channel: endpoint.connect_lazy(),
            size,
            failing: false,
        });
    }
    let mut round = Round {
        name,
        ledger,
        key,
        quorum: plan.quorum,
        timeout: plan.timeout,
        checkpoint: None,
        lines: BTreeMap::new(),
    };
    let mut ticks = tokio::time::interval(plan.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            _ = stop.cancelled() => true,
            _ = ticks.tick() => false,
        };
        round.run(&mut peers).await;
        if last {
            return;
        }
    }
}

/// The checkpoint being witnessed and the cosignatures it has.
struct Round {
    name: String,
    ledger: Arc<Ledger>,
    key: SigningKey,
    quorum: usize,
    timeout: std::time::Duration,
    checkpoint: Option<Checkpoint>,
    /// Cosignature lines of `checkpoint`, by witness name.
    lines: BTreeMap<String, String>,
}

impl Round {
    async fn run(&mut self, peers: &mut [Peer]) {
        if self.ledger.is_failed() {
            return;
        }
        let size = self.ledger.len();
        if self.checkpoint.as_ref().is_none_or(|cp| cp.size() != size) {
            match crate::tiles::current_checkpoint(&self.ledger, &self.key).await {
                Ok(cp) => {
                    self.checkpoint = Some(cp);
                    self.lines.clear();
                }
                Err(e) => {
                    tracing::error!(error = %e, "{}: cannot sign a checkpoint to witness", self.name);
                    return;
                }
            }
        }
        let Some(cp) = self.checkpoint.clone() else {
            return;
        };
        let mut asked = JoinSet::new();
        for (i, p) in peers.iter().enumerate() {
            if self.lines.contains_key(&p.witness.name) {
                continue;
            }
            let (ledger, cp, channel, old, timeout) = (
                self.ledger.clone(),
                cp.clone(),
                p.channel.clone(),
                p.size,
                self.timeout,
            );
            asked.spawn(async move {
                let answer = tokio::time::timeout(timeout, offer(&ledger, &cp, channel, old)).await;
                let answer = answer.unwrap_or_else(|_| {
                    (
                        old,
                        Err(format!("no answer within {} ms", timeout.as_millis())),
                    )
                });
                (i, answer)
            });
        }
        let before = self.lines.len();
        let body = cp
            .note()
            .split_once("\n\n")
            .map_or("", |(b, _)| b)
            .to_owned()
            + "\n";
        while let Some(done) = asked.join_next().await {
            let Ok((i, (learned, answer))) = done else {
                continue;
            };
            let p = &mut peers[i];
            p.size = learned;
            let checked = answer.and_then(|text| {
                text.lines()
                    .filter_map(Cosignature::parse_line)
                    .find(|c| c.verifies(&p.witness.name, &p.witness.key, &body))
                    .map(|c| c.line())
                    .ok_or_else(|| {
                        format!("its answer holds no valid cosignature of its key: {text:?}")
                    })
            });
            match checked {
                Ok(line) => {
                    if p.failing {
                        tracing::info!(witness = %p.witness.name, "{}: the witness answers again", self.name);
                    }
                    p.failing = false;
                    p.size = cp.size();
                    self.lines.insert(p.witness.name.clone(), line);
                }
                Err(why) => {
                    if !p.failing {
                        tracing::warn!(witness = %p.witness.name, size = cp.size(), "{}: the witness did not cosign: {why}", self.name);
                    }
                    p.failing = true;
                }
            }
        }
        if self.lines.len() >= self.quorum && self.lines.len() > before {
            let mut note = cp.note().to_owned();
            for line in self.lines.values() {
                note.push_str(line);
            }
            if let Err(e) = self.ledger.keep_witnessed(&note) {
                tracing::error!(error = %e, "{}: cannot keep the witnessed checkpoint", self.name);
            }
        } else if self.lines.len() < self.quorum && self.lines.len() > before {
            tracing::debug!(
                size = cp.size(),
                cosignatures = self.lines.len(),
                quorum = self.quorum,
                "{}: checkpoint not yet witnessed",
                self.name
            );
        }
    }
}

/// Offers `cp` to the witness on `channel`, believed to have cosigned `old` entries; after
/// a 409 asks again from the size the witness gives. Returns the size the witness is now
/// known to have cosigned and its answer's body, or why it did not cosign.
async fn offer(
    ledger: &Arc<Ledger>,
    cp: &Checkpoint,
    channel: Channel,
    mut old: u64,
) -> (u64, Result<String, String>) {
    for _ in 0..2 {
        if old > cp.size() {
            return (
                old,
                Err(format!(
                    "it has cosigned {old} entries of this ledger, which now has {}: was the \
                     ledger's history rolled back?",
                    cp.size()
                )),
            );
        }
        let l = ledger.clone();
        let new = cp.size();
        let proof = match tokio::task::spawn_blocking(move || l.consistency_proof(old, new)).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return (old, Err(format!("no consistency proof from {old}: {e}"))),
            Err(e) => return (old, Err(e.to_string())),
        };
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp.note().to_owned(),
        }
        .body();
        let (status, text) = match post(channel.clone(), body).await {
            Ok(r) => r,
            Err(e) => return (old, Err(e)),
        };
        match status {
            200 => return (old, Ok(text)),
            409 => match text.trim().parse::<u64>() {
                Ok(size) => old = size,
                Err(_) => {
                    return (
                        old,
                        Err(format!("409 with a body that is no size: {text:?}")),
                    );
                }
            },
            s => return (old, Err(format!("{s}: {}", text.trim()))),
        }
    }
    (old, Err("409 twice".into()))
}

/// The longest answer read from a witness.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `POST /add-checkpoint` with `body` on `channel` (HTTP/2, the corridor's transport):
/// the status and the answer's text.
async fn post(channel: Channel, body: String) -> Result<(u16, String), String> {
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri("/add-checkpoint")
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(tonic::body::Body::new(body))
        .map_err(|e| e.to_string())?;
    let response = channel
        .oneshot(request)
        .await
        .map_err(|e| format!("cannot reach it: {}", corridor_net::chain(&e)))?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(
        axum::body::Body::new(response.into_body()),
        MAX_ANSWER_BYTES,
    )
    .await
    .map_err(|e| format!("its answer could not be read: {e}"))?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
