//! The `LedgerReader` service every corridor server offers: a running service's ledger is
//! read through it (sled locks the database against other processes), with inclusion and
//! consistency proofs over its Merkle tree.

use std::sync::Arc;

use corridor_core::{PublicKey, SigningKey};
use corridor_ledger::{Checkpoint, Ledger};
use corridor_proto::ledger::{checkpoint_to_wire, entry_to_wire, hashes_to_wire};
use corridor_proto::v1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Serves a ledger for reading; signs checkpoints with the service's key.
#[derive(Clone)]
pub struct LedgerReaderService {
    ledger: Arc<Ledger>,
    key: Arc<SigningKey>,
    witnesses: Arc<Witnesses>,
    /// The cosigners of the last witnessed checkpoint answered, by its note: checked once.
    cosigners: Arc<std::sync::Mutex<(String, Vec<String>)>>,
}

/// The witnesses of a ledger (names and keys) and the quorum its checkpoints need.
#[derive(Debug, Default)]
pub struct Witnesses {
    /// Each witness's name and key.
    pub keys: Vec<(String, PublicKey)>,
    /// Cosignatures a checkpoint needs; 0 when witnessing is off.
    pub quorum: usize,
}

impl LedgerReaderService {
    /// A reader of `ledger` whose checkpoints `key` signs and `witnesses` cosign.
    pub fn new(ledger: Arc<Ledger>, key: SigningKey, witnesses: Witnesses) -> Self {
        Self {
            ledger,
            key: Arc::new(key),
            witnesses: Arc::new(witnesses),
            cosigners: Arc::default(),
        }
    }
}

fn ledger_status(e: corridor_ledger::Error) -> Status {
    tracing::error!(error = %e, "ledger read failed");
    Status::unavailable(format!("ledger: {e}"))
}

/// Runs the ledger reads `f` on a blocking thread (they read sled).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, corridor_ledger::Error> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("ledger read stopped: {e}")))?
        .map_err(ledger_status)
}

/// What a request's tree size 0 becomes, in messages.
fn now(requested: u64) -> &'static str {
    if requested == 0 {
        " (the ledger's size now)"
    } else {
        ""
    }
}

impl LedgerReaderService {
    /// The last signed checkpoint, or a new one when the ledger has grown since.
    async fn current_checkpoint(&self) -> Result<Checkpoint, Status> {
        crate::tiles::current_checkpoint(&self.ledger, &self.key)
            .await
            .map_err(ledger_status)
    }

    /// The tree a proof is asked in: its size (`requested`, or the ledger's size now when it
    /// is 0) and the signed checkpoint of that size, when there is one. A size beyond the
    /// ledger is refused, naming `field`.
    async fn tree(&self, field: &str, requested: u64) -> Result<(u64, Option<Checkpoint>), Status> {
        if requested == 0 {
            let cp = self.current_checkpoint().await?;
            return Ok((cp.size(), Some(cp)));
        }
        let len = self.ledger.len();
        if requested > len {
            return Err(Status::invalid_argument(format!(
                "{field}: {requested} is beyond the ledger's size {len}"
            )));
        }
        let last = self.ledger.last_checkpoint().map_err(ledger_status)?;
        Ok((requested, last.filter(|cp| cp.size() == requested)))
    }
}

/// Streams `entries` (already filtered) to the caller from a blocking task.
fn stream_entries(
    ledger: Arc<Ledger>,
    seqs: impl FnOnce(&Ledger) -> Vec<u64> + Send + 'static,
    from: u64,
    to: u64,
) -> ReceiverStream<Result<v1::LedgerEntry, Status>> {
    let (tx, rx) = mpsc::channel(256);
    tokio::task::spawn_blocking(move || {
        let send = |item| tx.blocking_send(item).is_ok();
        if to > from {
            for r in ledger.entries(from) {
                match r {
                    Ok((e, _)) if e.seq >= to => return,
                    Ok((e, h)) => {
                        if !send(Ok(entry_to_wire(&e, &h))) {
                            return;
                        }
                    }
                    Err(e) => {
                        send(Err(ledger_status(e)));
                        return;
                    }
                }
            }
            return;
        }
        for s in seqs(&ledger) {
            let item = match ledger.get(s) {
                Ok(Some((e, h))) => Ok(entry_to_wire(&e, &h)),
                Ok(None) => Err(Status::internal(format!("ledger entry {s} is missing"))),
                Err(e) => Err(ledger_status(e)),
            };
            let failed = item.is_err();
            if !send(item) || failed {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

#[tonic::async_trait]
impl v1::ledger_reader_server::LedgerReader for LedgerReaderService {
    async fn get_witnessed_checkpoint(
        &self,
        _: Request<v1::GetWitnessedCheckpointRequest>,
    ) -> Result<Response<v1::WitnessedCheckpoint>, Status> {
        let ledger = self.ledger.clone();
        let witnessed = blocking(move || ledger.witnessed()).await?;
        let cosigners = match &witnessed {
            None => Vec::new(),
            Some(cp) => {
                let mut last = self.cosigners.lock().unwrap_or_else(|p| p.into_inner());
                if last.0 != cp.note() {
                    let names =
                        corridor_ledger::cosignature::cosigners(cp.note(), &self.witnesses.keys)
                            .into_iter()
                            .map(str::to_owned)
                            .collect();
                    *last = (cp.note().to_owned(), names);
                }
                last.1.clone()
            }
        };
        Ok(Response::new(v1::WitnessedCheckpoint {
            checkpoint: witnessed.as_ref().map(checkpoint_to_wire),
            cosigners,
            quorum: u32::try_from(self.witnesses.quorum).unwrap_or(u32::MAX),
            ledger_size: self.ledger.len(),
        }))
    }

    async fn get_checkpoint(
        &self,
        _: Request<v1::GetCheckpointRequest>,
    ) -> Result<Response<v1::Checkpoint>, Status> {
        let cp = self.current_checkpoint().await?;
        Ok(Response::new(checkpoint_to_wire(&cp)))
    }

    async fn get_inclusion_proof(
        &self,
        r: Request<v1::GetInclusionProofRequest>,
    ) -> Result<Response<v1::InclusionProof>, Status> {
        let r = r.into_inner();
        let (size, checkpoint) = self.tree("tree_size", r.tree_size).await?;
        let seq = r.seq;
        if seq >= size {
            return Err(Status::invalid_argument(format!(
                "seq: {seq} is not below tree_size {size}{}",
                now(r.tree_size)
            )));
        }
        let ledger = self.ledger.clone();
        let (hashes, root, entry_hash) = blocking(move || {
            let hashes = ledger.inclusion_proof(seq, size)?;
            let entry_hash =
                ledger
                    .entry_hash(seq)
                    .ok_or(corridor_ledger::Error::BeyondLedger {
                        size,
                        len: ledger.len(),
                    })?;
            Ok((hashes, ledger.root_at(size)?, entry_hash))
        })
        .await?;
        Ok(Response::new(v1::InclusionProof {
            seq,
            tree_size: size,
            entry_hash: entry_hash.as_bytes().to_vec(),
            hashes: hashes_to_wire(&hashes),
            root_hash: root.as_bytes().to_vec(),
            checkpoint: checkpoint.as_ref().map(checkpoint_to_wire),
        }))
    }

    async fn get_consistency_proof(
        &self,
        r: Request<v1::GetConsistencyProofRequest>,
    ) -> Result<Response<v1::ConsistencyProof>, Status> {
        let r = r.into_inner();
        let (to, checkpoint) = self.tree("to_size", r.to_size).await?;
        let from = r.from_size;
        if from > to {
            return Err(Status::invalid_argument(format!(
                "from_size: {from} is above to_size {to}{}",
                now(r.to_size)
            )));
        }
        let ledger = self.ledger.clone();
        let (hashes, from_root, to_root) = blocking(move || {
            Ok((
                ledger.consistency_proof(from, to)?,
                ledger.root_at(from)?,
                ledger.root_at(to)?,
            ))
        })
        .await?;
        Ok(Response::new(v1::ConsistencyProof {
            from_size: from,
            to_size: to,
            hashes: hashes_to_wire(&hashes),
            from_root_hash: from_root.as_bytes().to_vec(),
            to_root_hash: to_root.as_bytes().to_vec(),
            checkpoint: checkpoint.as_ref().map(checkpoint_to_wire),
        }))
    }

    type ListEntriesStream = ReceiverStream<Result<v1::LedgerEntry, Status>>;

    async fn list_entries(
        &self,
        r: Request<v1::ListEntriesRequest>,
    ) -> Result<Response<Self::ListEntriesStream>, Status> {
        let r = r.into_inner();
        if r.to_sequence != 0 && r.to_sequence < r.from_sequence {
            return Err(Status::invalid_argument(format!(
                "to_sequence: {} is below from_sequence {} (0 means up to the ledger's size)",
                r.to_sequence, r.from_sequence
            )));
        }
        let to = if r.to_sequence == 0 {
            self.ledger.len()
        } else {
            r.to_sequence.min(self.ledger.len())
        };
        Ok(Response::new(stream_entries(
            self.ledger.clone(),
            |_| Vec::new(),
            r.from_sequence,
            to,
        )))
    }

    type ListSubjectEntriesStream = ReceiverStream<Result<v1::LedgerEntry, Status>>;

    async fn list_subject_entries(
        &self,
        r: Request<v1::ListSubjectEntriesRequest>,
    ) -> Result<Response<Self::ListSubjectEntriesStream>, Status> {
        let subject = r.into_inner().subject;
        if subject.len() > usize::from(u16::MAX) {
            return Err(Status::invalid_argument("subject: at most 65535 bytes"));
        }
        Ok(Response::new(stream_entries(
            self.ledger.clone(),
            move |l| l.subject_entries(&subject),
            0,
            0,
        )))
    }
}
