//! The `LedgerReader` service every corridor server offers: a running service's ledger is
//! read through it (sled locks the database against other processes).

use std::sync::Arc;

use corridor_core::SigningKey;
use corridor_ledger::Ledger;
use corridor_proto::ledger::{checkpoint_to_wire, entry_to_wire};
use corridor_proto::v1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Serves a ledger for reading; signs checkpoints with the service's key.
#[derive(Clone)]
pub struct LedgerReaderService {
    ledger: Arc<Ledger>,
    key: Arc<SigningKey>,
}

impl LedgerReaderService {
    /// A reader of `ledger` whose checkpoints `key` signs.
    pub fn new(ledger: Arc<Ledger>, key: SigningKey) -> Self {
        Self {
            ledger,
            key: Arc::new(key),
        }
    }
}

fn ledger_status(e: corridor_ledger::Error) -> Status {
    tracing::error!(error = %e, "ledger read failed");
    Status::unavailable(format!("ledger: {e}"))
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
    async fn get_checkpoint(
        &self,
        _: Request<v1::GetCheckpointRequest>,
    ) -> Result<Response<v1::Checkpoint>, Status> {
        let cp = crate::tiles::current_checkpoint(&self.ledger, &self.key)
            .await
            .map_err(ledger_status)?;
        Ok(Response::new(checkpoint_to_wire(&cp)))
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
