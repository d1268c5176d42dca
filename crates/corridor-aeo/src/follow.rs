//! A [`Replica`] kept on disk and following the registry: a customs node decides from it
//! without a round trip, while the registry is down, and after the node restarts.
//!
//! The store is a sled database of the registry's ledger entries as received (key
//! `u64be(seq)`, value the protobuf `LedgerEntry`). Opening replays them through
//! [`Replica::apply`], so what is on disk is checked again exactly as when it arrived.
//! [`ReplicaStore::follow`] streams the registry's `WatchChanges` from the replica's length,
//! applies each change, and stores every received batch in one sled batch and one flush.

use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use prost::Message;
use tokio::sync::watch;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

use crate::authority::TrustedKeys;
use crate::error::Error;
use crate::replica::Replica;

/// First pause before reconnecting; doubled after every failed attempt.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest pause before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most changes applied and stored together (one flush).
const MAX_BATCH: usize = 256;
/// How long opening waits for a database lock to be released: sled lets go of its files a
/// moment after a database is closed, so a store reopened in one process may find its own.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// A replica of the AEO registry persisted in a local database, and followed.
pub struct ReplicaStore {
    db: sled::Db,
    replica: RwLock<Replica>,
    /// Entries durable in `db` (and applied).
    len: watch::Sender<u64>,
    /// Set while a [`ReplicaStore::follow`] runs: one follower per store.
    following: AtomicBool,
    /// Why following stopped for good, if it did.
    refusal: Mutex<Option<String>>,
}

/// How one connection to the registry ended.
enum Session {
    /// Shutdown was requested.
    Shutdown,
    /// The connection failed or was lost; `connected`: the registry had accepted the watch.
    Lost { connected: bool, error: String },
    /// Following must stop: a change did not apply, or the store failed.
    Stop(String),
}

impl ReplicaStore {
    /// Opens (creates) the database in `dir` and replays every stored entry through
    /// [`Replica::apply`] with `keys`; a stored entry that no longer applies is an
    /// [`Error::Refused`] naming its sequence number.
    pub fn open(dir: &Path, keys: TrustedKeys) -> Result<Arc<Self>, Error> {
        let db = open_db(dir)?;
        let mut replica = Replica::new(keys);
        for r in db.iter() {
            let (k, v) = r?;
            let expected = replica.len();
            let stored = |seq: u64, reason: String| Error::Refused {
                seq,
                reason: format!("stored in {}: {reason}", dir.display()),
            };
            let seq = <[u8; 8]>::try_from(k.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| {
                    stored(
                        expected,
                        format!("a key {k:?} that is not a sequence number"),
                    )
                })?;
            let entry = v1::LedgerEntry::decode(v.as_ref())
                .map_err(|e| stored(seq, format!("not a protobuf LedgerEntry: {e}")))?;
            if entry.seq != seq {
                return Err(stored(
                    seq,
                    format!("stored under {seq}, it is entry {}", entry.seq),
                ));
            }
            replica.apply(&entry).map_err(|e| match e {
                Error::Refused { seq, reason } => {
                    stored(seq, format!("no longer applies: {reason}"))
                }
                e => e,
            })?;
        }
        let n = replica.len();
        tracing::info!(dir = %dir.display(), entries = n, "AEO replica opened");
        let (len, _) = watch::channel(n);
        Ok(Arc::new(Self {
            db,
            replica: RwLock::new(replica),
            len,
            following: AtomicBool::new(false),
            refusal: Mutex::new(None),
        }))
    }

    /// The number of entries stored durably (and applied).
    pub fn len(&self) -> u64 {
        *self.len.borrow()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read access to the replica, for decisions. It may be ahead of [`ReplicaStore::len`]
    /// by the batch being flushed: entries the registry holds durably, and which the
    /// follower fetches again after a crash.
    pub fn read(&self) -> RwLockReadGuard<'_, Replica> {
        self.replica.read().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver of [`ReplicaStore::len`], to wait until the replica has caught up to
    /// some size.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.len.subscribe()
    }

    /// Why following stopped until restart, if it did: a change from the registry that did
    /// not apply (the registry is not trusted), or a failure of the local store.
    pub fn refusal(&self) -> Option<String> {
        self.refusal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Follows the registry at `registry` (an endpoint from `corridor_net`: plaintext or
    /// TLS as the topology says) until `shutdown`:
    /// connects, watches its changes from [`ReplicaStore::len`], applies and stores each
    /// batch received (one flush per batch) and then announces the new length. On a failed
    /// or lost connection it retries, waiting 100 ms doubling to 5 s. A change that does
    /// not apply, or a store failure, stops following until the store is opened again
    /// ([`ReplicaStore::refusal`] says why); the replica keeps answering from what it has.
    pub async fn follow(self: Arc<Self>, registry: Endpoint, shutdown: CancellationToken) {
        let endpoint = registry.uri().to_string();
        if let Some(why) = self.refusal() {
            tracing::error!(%endpoint, error = %why, "not following the AEO registry: it was refused");
            return;
        }
        if self.following.swap(true, Ordering::SeqCst) {
            tracing::error!(%endpoint, "the AEO replica is followed already; one follower per store");
            return;
        }
        let _following = Following(&self.following);
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.session(&registry, &endpoint, &shutdown).await {
                Session::Shutdown => return,
                Session::Stop(why) => {
                    tracing::error!(%endpoint, error = %why, "stopped following the AEO registry until restart");
                    *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                    return;
                }
                Session::Lost { connected, error } => {
                    if connected {
                        backoff = BACKOFF_MIN;
                    }
                    tracing::warn!(
                        %endpoint,
                        %error,
                        entries = self.len(),
                        retry_in_ms = backoff.as_millis() as u64,
                        "lost the AEO registry; retrying"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: connect, watch, take batches until the stream ends or fails.
    async fn session(
        &self,
        registry: &Endpoint,
        endpoint: &str,
        shutdown: &CancellationToken,
    ) -> Session {
        let lost = |connected: bool, error: String| Session::Lost { connected, error };
        let ep = registry
            .clone()
            .connect_timeout(CONNECT_TIMEOUT)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10));
        let channel = tokio::select! {
            () = shutdown.cancelled() => return Session::Shutdown,
            r = ep.connect() => match r {
                Ok(c) => c,
                Err(e) => return lost(false, format!("connect: {e}")),
            },
        };
        let from = self.read().len();
        let mut client = AeoRegistryClient::new(channel);
        let mut stream = tokio::select! {
            () = shutdown.cancelled() => return Session::Shutdown,
            r = client.watch_changes(v1::WatchChangesRequest { from_sequence: from }) => match r {
                Ok(s) => s.into_inner(),
                Err(s) => return lost(false, format!("WatchChanges: {s}")),
            },
        };
        tracing::info!(%endpoint, from, "following the AEO registry");
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return Session::Shutdown,
                m = stream.message() => m,
            };
            let first = match first {
                Ok(Some(c)) => c,
                Ok(None) => return lost(true, "the registry ended the stream".into()),
                Err(s) => return lost(true, format!("WatchChanges: {s}")),
            };
            let mut batch = vec![first];
            let mut ended = None;
            while batch.len() < MAX_BATCH {
                match ready_now(&mut stream).await {
                    Some(Some(Ok(c))) => batch.push(c),
                    Some(Some(Err(s))) => {
                        ended = Some(format!("WatchChanges: {s}"));
                        break;
                    }
                    Some(None) => {
                        ended = Some("the registry ended the stream".into());
                        break;
                    }
                    None => break,
                }
            }
            if let Err(why) = self.take(batch).await {
                return Session::Stop(why);
            }
            if let Some(error) = ended {
                return lost(true, error);
            }
        }
    }

    /// Applies `batch` in order, stores what applied (one sled batch, one flush) and
    /// announces the new length; `Err` when a change did not apply or storing failed.
    async fn take(&self, batch: Vec<v1::Change>) -> Result<(), String> {
        let mut rows = sled::Batch::default();
        let mut applied = None;
        let mut refused = None;
        for change in batch {
            // The lock is taken per entry: decisions are not held up by a long catch-up.
            let mut replica = self.replica.write().unwrap_or_else(|p| p.into_inner());
            let Some(entry) = change.entry else {
                refused = Some(format!(
                    "a change without its entry where entry {} was due",
                    replica.len()
                ));
                break;
            };
            match replica.apply(&entry) {
                Ok(()) => {
                    rows.insert(&entry.seq.to_be_bytes(), entry.encode_to_vec());
                    applied = Some(entry.seq + 1);
                }
                Err(e) => {
                    refused = Some(format!("a change from the registry does not apply: {e}"));
                    break;
                }
            }
        }
        if let Some(len) = applied {
            let db = self.db.clone();
            let stored = tokio::task::spawn_blocking(move || {
                db.apply_batch(rows)?;
                db.flush()
            })
            .await;
            match stored {
                Ok(Ok(_)) => {
                    self.len.send_replace(len);
                    tracing::debug!(entries = len, "AEO replica stored");
                }
                Ok(Err(e)) => return Err(format!("storing entries below {len}: {e}")),
                Err(e) => return Err(format!("storing entries below {len}: {e}")),
            }
        }
        refused.map_or(Ok(()), Err)
    }
}

/// Clears the follower flag when a follower ends (or is dropped).
struct Following<'a>(&'a AtomicBool);

impl Drop for Following<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The stream's next item if it is ready now (`Some`), without waiting (`None`).
async fn ready_now<S: Stream + Unpin>(s: &mut S) -> Option<Option<S::Item>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *s).poll_next(cx) {
            Poll::Ready(item) => Some(item),
            Poll::Pending => None,
        })
    })
    .await
}

/// Opens sled in `dir`, waiting a moment for a lock this process has just released.
fn open_db(dir: &Path) -> Result<sled::Db, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match corridor_ledger::layout::sled_config(dir).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io))
                if io.to_string().contains("lock") && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
