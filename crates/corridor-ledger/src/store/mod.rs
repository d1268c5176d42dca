//! The ledger on disk: a sled database, one key per entry, indices in memory.
//!
//! An append is answered only when durable, and many are in flight at once:
//!
//! 1. The appending task hashes its envelope and hands the append to the ledger's one
//!    writer thread.
//! 2. The writer takes every append waiting (up to `MAX_GROUP`). For each it looks the exact
//!    envelope bytes up among the entries written so far: found, the answer is that first
//!    entry. The new entries (one insert each, in the tree [`ENTRIES_TREE`]) and every
//!    caller row they change become one atomic sled batch. One writer means one order, so
//!    the chain needs no other lock. [`Ledger::append_all`] hands the writer several appends
//!    as one request, checked whole before it is queued and never split between batches, so
//!    its new entries get consecutive sequence numbers in call order and are durable
//!    together; [`Ledger::append`] is the one-element case of the same path.
//! 3. The writer hands its batch to the flusher thread only when the flusher starts its next
//!    flush (a rendezvous), and gathers every append that arrives meanwhile into the next
//!    batch: one batch per flush, because each sled batch costs a synced write of its own (it
//!    seals sled's I/O buffer around its manifest). The flusher calls sled's `flush` once;
//!    only then are the indices updated and the appenders answered. Only this thread
//!    flushes: sled 0.34's `flush_async` deadlocks when several tasks call it at once (sled
//!    issue 1308), and sled's own periodic flush is off ([`crate::layout::sled_config`]).
//! 4. A failed batch or flush answers every append it covered with the error and stops the
//!    ledger taking appends ([`Ledger::is_failed`]: what sled holds is then in doubt) until it
//!    is opened again, when everything is read back and checked. Nothing is flushed on that
//!    handle again: sled flushes when its last handle is dropped, and after a failed write
//!    that flush can wait forever, so a failed ledger's database is left to the process's
//!    exit.
//!
//! The indices live in memory, rebuilt by `layout::scan` when the ledger is opened (which
//! also re-hashes every record and checks every link and the signed checkpoint before the
//! ledger serves anything): each entry's hash and the Merkle tree over them, entries by
//! subject, entries by the sha256 of their exact envelope bytes (the idempotence check), and
//! the caller rows. In memory rather than in sled because each sled insert costs the same
//! whatever its size, so an index row per entry would double the writer's work. They show an
//! append only once it is durable.
//!
//! The last signed checkpoint is kept beside the database in `checkpoint.note`; a new ledger
//! signs one of size 0 when it is created, so a ledger with entries and no checkpoint, or one
//! shorter than its checkpoint, was rolled back and is refused.
//!
//! This module is the handle and its reads; the writer and flusher threads are in `writer`,
//! the indices in `index`.

mod index;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use corridor_core::{Digest, PublicKey, SigningKey};

use self::index::Index;
use self::writer::{MAX_GROUP_BYTES, Request, Writer, flusher};
use crate::checkpoint::{Checkpoint, TreeHead};
use crate::entry::Entry;
use crate::error::Error;
use crate::layout::{
    DB_DIR, ENTRIES_TREE, OPEN_LOCK_WAIT, ROW_PREFIX, Rebuilt, claimed, entries_tree, entry_key,
    note_or_damage, read_note, refuse_log_layout, scan, sled_config, split_value, storage,
    while_locked, write_checkpoint,
};
use crate::verify::{Damage, Verified};

/// One append: what to record, and the rows to change in the same atomic batch.
#[derive(Clone, Debug)]
pub struct Append {
    /// What the entry records (1 to 255 bytes), e.g. `declaration.accepted`.
    pub kind: String,
    /// What it is about (may be empty), e.g. a consignment id.
    pub subject: String,
    /// Microseconds since the Unix epoch on the caller's corridor clock.
    pub time_unix_micros: i64,
    /// The exact signed envelope bytes (already verified by the caller).
    pub envelope: Vec<u8>,
    /// The caller rows to set or remove in the same batch as the entry. Their keys live in
    /// their own namespace, apart from the ledger's.
    pub rows: Vec<RowChange>,
}

/// A change to a caller row: a value the calling service keeps beside its ledger (an outbox
/// row, a state row), written atomically with the entry that implies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowChange {
    /// The row's key, in the caller's namespace.
    pub key: Vec<u8>,
    /// The new value, or `None` to remove the row.
    pub value: Option<Vec<u8>>,
}

impl RowChange {
    /// Sets row `key` to `value`.
    pub fn set(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// Removes row `key`.
    pub fn remove(key: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            value: None,
        }
    }
}

/// A caller row as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The row's key, in the caller's namespace.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Vec<u8>,
}

/// The outcome of an append, returned once it is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash.
    pub hash: Digest,
    /// False when these exact envelope bytes were already recorded: `seq` and `hash` are
    /// the first entry's, and its rows were not applied again.
    pub new: bool,
}

impl Append {
    /// What this append takes in the database: its entry's key and value, and its rows.
    fn stored_bytes(&self) -> u64 {
        let record = 8 + 32 + 8 + 1 + 2 + 4 + self.kind.len() + self.subject.len();
        let rows: usize = self
            .rows
            .iter()
            .map(|r| 1 + r.key.len() + r.value.as_ref().map_or(0, Vec::len))
            .sum();
        (8 + record + self.envelope.len() + 32 + rows) as u64
    }
}

/// What the handle, the writer and the flusher share.
struct Shared {
    /// The ledger directory, for messages.
    dir: PathBuf,
    index: RwLock<Index>,
    /// Set when a batch or a flush failed: what sled holds after that is not known, so the
    /// ledger takes no more appends until it is opened again (and read back, and verified).
    failed: AtomicBool,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// An open ledger. Shared between tasks by reference (or `Arc`).
///
/// Appends go to one writer thread, which takes every append waiting (up to `MAX_GROUP`,
/// never splitting one call's appends), applies them and their caller rows as one atomic
/// sled batch and passes the group to the flusher thread; the flusher takes every group
/// applied so far, flushes sled once, then updates the indices and answers the appenders.
/// Readers only ever see durable entries.
pub struct Ledger {
    dir: PathBuf,
    origin: String,
    db: sled::Db,
    tree: sled::Tree,
    shared: Arc<Shared>,
    requests: std::sync::mpsc::Sender<Request>,
    writer: Option<JoinHandle<()>>,
    flusher: Option<JoinHandle<()>>,
    /// The key the ledger's checkpoints are signed with, which each one read back must verify
    /// under.
    public: PublicKey,
    /// Held by whoever signs the next checkpoint.
    signing: tokio::sync::Mutex<()>,
}

/// Opens (creating when missing) the sled database of the ledger in `dir`, naming a lock held
/// by another process plainly.
fn open_db(dir: &Path) -> Result<sled::Db, Error> {
    let path = dir.join(DB_DIR);
    while_locked(dir, OPEN_LOCK_WAIT, || match sled_config(&path).open() {
        Ok(db) => Ok(Some(db)),
        Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => Ok(None),
        Err(e) => Err(open_error(dir, e)),
    })
}

/// Why sled would not open a ledger's database: the file system (read-only, full, not
/// permitted) or files that are not a sled database's.
pub(crate) fn open_error(dir: &Path, e: sled::Error) -> Error {
    use std::io::ErrorKind as K;
    match e {
        sled::Error::Io(io) if !matches!(io.kind(), K::UnexpectedEof | K::InvalidData) => {
            storage(dir)(sled::Error::Io(io))
        }
        e => Error::NotALedger {
            dir: dir.to_owned(),
            why: format!("its sled database in {DB_DIR}/ does not open: {e}"),
        },
    }
}

impl Ledger {
    /// Opens (creating if needed) the ledger in `dir`; `origin` names it in checkpoints, and
    /// `key` is the service's key, which signs them.
    ///
    /// Before the ledger serves anything, every stored record is hashed again and checked
    /// against its stored hash, its link and the last signed checkpoint (whose signature and
    /// origin must be `key`'s and `origin`): a ledger changed at rest, rolled back, or with
    /// entries but no checkpoint is refused, naming the first bad entry. A new ledger signs
    /// a checkpoint of size 0. Also refuses a directory held by another opener, one in the
    /// earlier log-file layout, and one whose database is not a ledger's.
    pub fn open(dir: &Path, origin: &str, key: &SigningKey) -> Result<Self, Error> {
        refuse_log_layout(dir)?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let existed = dir.join(DB_DIR).exists();
        if existed && !dir.join(DB_DIR).join("conf").exists() {
            return Err(Error::NotALedger {
                dir: dir.to_owned(),
                why: format!("{DB_DIR}/ holds no sled database (it has no conf file)"),
            });
        }
        let db = open_db(dir)?;
        let tree = if existed {
            entries_tree(&db, dir)?
        } else {
            let tree = db.open_tree(ENTRIES_TREE).map_err(storage(dir))?;
            // The new tree must be durable before the checkpoint that says the ledger exists.
            db.flush().map_err(storage(dir))?;
            tree
        };
        let damaged = |damage| Error::Damaged {
            dir: dir.to_owned(),
            damage,
        };
        let note = note_or_damage(dir)?.map_err(damaged)?;
        let checkpoint = match note {
            Some(note) if note.origin() != origin => {
                return Err(damaged(Damage {
                    seq: 0,
                    what: format!(
                        "the signed checkpoint is of ledger {:?}, this ledger is {origin:?}",
                        note.origin()
                    ),
                }));
            }
            Some(note) => {
                let seq = note.tree().size;
                Some(note.verify(&key.public()).map_err(|e| {
                    damaged(Damage {
                        seq,
                        what: format!("checkpoint: {e}"),
                    })
                })?)
            }
            None => None,
        };
        let mut rebuilt = Rebuilt::default();
        scan(
            dir,
            &tree,
            None,
            checkpoint.as_ref().map(Checkpoint::tree),
            Some(&mut rebuilt),
        )?
        .map_err(damaged)?;
        let mut rows = BTreeMap::new();
        for r in tree.scan_prefix([ROW_PREFIX]) {
            let (k, v) = r.map_err(storage(dir))?;
            rows.insert(k[1..].to_vec(), v.to_vec());
        }
        let next = rebuilt.hashes.len() as u64;
        let head = rebuilt.hashes.last().copied().unwrap_or(Digest::ZERO);
        let envelopes = std::mem::take(&mut rebuilt.envelopes);
        let hashes = |seq: u64| rebuilt.hashes.get(seq as usize).copied();
        let recorded: HashMap<Digest, (u64, Digest)> = envelopes
            .into_iter()
            .filter_map(|(id, seq)| Some((id, (seq, hashes(seq)?))))
            .collect();
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            index: RwLock::new(Index {
                entries: rebuilt,
                rows,
            }),
            failed: AtomicBool::new(false),
        });
        let (requests, rx) = std::sync::mpsc::channel();
        // A rendezvous: the writer hands a group over only when the flusher starts its next
        // flush, and gathers every append that arrives meanwhile into one batch, applied
        // while that flush runs. So one batch per flush: each sled batch costs a synced
        // write of its own (it seals sled's I/O buffer around its manifest).
        let (to_flusher, written) = std::sync::mpsc::sync_channel(0);
        let spawn_err = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        let flusher = {
            let (db, shared) = (db.clone(), shared.clone());
            std::thread::Builder::new()
                .name("ledger-flusher".into())
                .spawn(move || flusher(&db, &shared, &written))
                .map_err(spawn_err)?
        };
        let writer = {
            let w = Writer {
                tree: tree.clone(),
                shared: shared.clone(),
                next,
                head,
                recorded,
                to_flusher,
            };
            std::thread::Builder::new()
                .name("ledger-writer".into())
                .spawn(move || w.run(&rx))
                .map_err(spawn_err)?
        };
        if checkpoint.is_none() {
            // Only an empty ledger gets here (the scan refuses entries without a checkpoint).
            let cp = Checkpoint::sign(origin, read(&shared.index).tree_head(), key);
            write_checkpoint(dir, &cp)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            db,
            tree,
            shared,
            requests,
            writer: Some(writer),
            flusher: Some(flusher),
            public: key.public(),
            signing: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether this ledger's entries extend `cp` (same entries up to its size).
    fn check_extends(&self, cp: &Checkpoint) -> Result<(), String> {
        let size = self.len();
        if cp.size() > size {
            return Err(format!(
                "rolled back: the last signed checkpoint covers {} entries, the ledger has {size}",
                cp.size()
            ));
        }
        if cp.size() > 0 && self.entry_hash(cp.size() - 1) != Some(cp.head()) {
            return Err(format!(
                "entry {} differs from the head of the last signed checkpoint",
                cp.size() - 1
            ));
        }
        Ok(())
    }

    /// Whether a write failed: the ledger then takes no appends until it is opened again
    /// (what sled holds after a failed batch or flush is not known until it is read back).
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::SeqCst)
    }

    /// The ledger's origin (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The directory holding the database and checkpoint.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of (durable) entries.
    pub fn len(&self) -> u64 {
        read(&self.shared.index).size()
    }

    /// Whether the ledger has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hash of the last entry ([`Digest::ZERO`] when empty).
    pub fn head(&self) -> Digest {
        read(&self.shared.index).head()
    }

    /// Current size, RFC 6962 root and head, taken together.
    pub fn tree_head(&self) -> TreeHead {
        read(&self.shared.index).tree_head()
    }

    /// Appends an entry and returns once it is durable on disk.
    ///
    /// Byte-identical envelope bytes already recorded yield the first entry. The append is
    /// queued for the writer when the future is first polled, before it first waits:
    /// appends first polled one after another are recorded in that order.
    pub async fn append(&self, append: Append) -> Result<Appended, Error> {
        self.append_all(vec![append])
            .await?
            .pop()
            .ok_or_else(|| Error::Write("the ledger writer returned no outcome".into()))
    }

    /// Appends several entries in this order, all in the same sled batch (never split
    /// between batches), and returns once they are durable; one outcome per append, in order.
    /// Byte-identical envelopes already recorded (or earlier in the same call) yield the first
    /// entry, as `append` does.
    ///
    /// The new entries of one call get consecutive sequence numbers. Every append is checked
    /// before any is queued: one invalid append fails the call and nothing is written. The
    /// appends are queued for the writer when the future is first polled, as with
    /// [`Ledger::append`]; an empty `appends` returns at once.
    pub async fn append_all(&self, appends: Vec<Append>) -> Result<Vec<Appended>, Error> {
        if appends.is_empty() {
            return Ok(Vec::new());
        }
        let n = appends.len();
        for (i, a) in appends.iter().enumerate() {
            Entry::check_limits(&a.kind, &a.subject, &a.envelope).map_err(|e| {
                Error::InvalidAppend(if n == 1 {
                    e
                } else {
                    format!("append {i} of {n}: {e}")
                })
            })?;
        }
        let bytes: u64 = appends.iter().map(Append::stored_bytes).sum();
        if bytes > MAX_GROUP_BYTES {
            return Err(Error::InvalidAppend(format!(
                "the appends of one call (with their rows) must take at most {MAX_GROUP_BYTES} bytes, got {bytes}"
            )));
        }
        let appends = appends
            .into_iter()
            .map(|a| {
                let id = Digest::of(&a.envelope);
                (a, id)
            })
            .collect();
        let appended = self.request(appends).await?;
        if appended.len() != n {
            return Err(Error::Write(format!(
                "the ledger writer returned {} outcomes for {n} appends",
                appended.len()
            )));
        }
        Ok(appended)
    }

    async fn request(&self, appends: Vec<(Append, Digest)>) -> Result<Vec<Appended>, Error> {
        let stopped = || {
            Error::Write(format!(
                "{}: the ledger writer has stopped",
                self.dir.display()
            ))
        };
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.requests
            .send(Request { appends, reply })
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }

    /// The hash of entry `seq`, if the ledger has it.
    pub fn entry_hash(&self, seq: u64) -> Option<Digest> {
        read(&self.shared.index)
            .entries
            .hashes
            .get(usize::try_from(seq).ok()?)
            .copied()
    }

    /// Entry `seq` and its stored hash.
    pub fn get(&self, seq: u64) -> Result<Option<(Entry, Digest)>, Error> {
        if seq >= self.len() {
            return Ok(None);
        }
        let value = self
            .tree
            .get(entry_key(seq))
            .map_err(storage(&self.dir))?
            .ok_or_else(|| self.damaged(seq, "the entry is missing from the database"))?;
        self.decode(seq, &value).map(Some)
    }

    /// Entries from `from` onwards (as many as are durable now), in order, with their
    /// stored hashes.
    pub fn entries(&self, from: u64) -> impl Iterator<Item = Result<(Entry, Digest), Error>> + '_ {
        let len = self.len();
        let mut expected = from;
        self.tree
            .range(entry_key(from)..entry_key(len.max(from)))
            .map(move |r| {
                let (k, v) = r.map_err(storage(&self.dir))?;
                let seq = expected;
                expected += 1;
                if k.as_ref() != entry_key(seq) {
                    return Err(self.damaged(seq, "the entry is missing from the database"));
                }
                self.decode(seq, &v)
            })
    }

    fn decode(&self, seq: u64, value: &[u8]) -> Result<(Entry, Digest), Error> {
        split_value(value)
            .and_then(|(rec, hash)| Some((Entry::decode(rec)?, hash)))
            .ok_or_else(|| self.damaged(seq, "malformed entry record"))
    }

    fn damaged(&self, seq: u64, what: &str) -> Error {
        Error::Damaged {
            dir: self.dir.clone(),
            damage: Damage {
                seq,
                what: what.to_owned(),
            },
        }
    }

    /// Sequence numbers of the entries about `subject`.
    pub fn subject_entries(&self, subject: &str) -> Vec<u64> {
        read(&self.shared.index)
            .entries
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// The value of caller row `key`, as durable appends left it.
    pub fn row(&self, key: &[u8]) -> Option<Vec<u8>> {
        read(&self.shared.index).rows.get(key).cloned()
    }

    /// The caller rows whose keys start with `prefix`, in key order (as they are now).
    pub fn rows_with_prefix(&self, prefix: &[u8]) -> Vec<Row> {
        read(&self.shared.index)
            .rows
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Row {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    }

    /// Makes every append durable and, when the ledger has grown since its last signed
    /// checkpoint, signs a new one with `key`: what a service does as it stops.
    pub async fn seal(&self, key: &SigningKey) -> Result<(), Error> {
        self.flush().await?;
        let last = self.last_checkpoint()?.map_or(0, |c| c.size());
        if self.len() > last {
            self.sign_checkpoint(key).await?;
        }
        Ok(())
    }

    /// The last signed checkpoint kept beside the database (a new ledger signs one of size 0
    /// as it is created), read back and verified under the ledger's key: a note someone
    /// changed or put there is an error, not a checkpoint.
    pub fn last_checkpoint(&self) -> Result<Option<Checkpoint>, Error> {
        match read_note(&self.dir)? {
            Some(note) => Ok(Some(note.verify(&self.public)?)),
            None => Ok(None),
        }
    }

    /// Signs a checkpoint of the current (durable) ledger with `key` and keeps it beside the
    /// database. Refuses one that would not extend the last checkpoint signed.
    pub async fn sign_checkpoint(&self, key: &SigningKey) -> Result<Checkpoint, Error> {
        let _one_signer = self.signing.lock().await;
        // Every entry in the tree head is durable: the indices move only after the flush.
        let tree = self.tree_head();
        if let Some(last) = self.last_checkpoint()? {
            self.check_extends(&last)
                .map_err(Error::CheckpointRegression)?;
        }
        let cp = Checkpoint::sign(&self.origin, tree, key);
        write_checkpoint(&self.dir, &cp)?;
        Ok(cp)
    }

    /// Verifies the whole ledger from genesis against its last checkpoint (whose signature is
    /// checked with `key` when given), reading every durable entry back from the database.
    pub fn verify(&self, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
        let note = match note_or_damage(&self.dir)? {
            Ok(note) => note,
            Err(d) => return Ok(Err(d)),
        };
        let checkpoint = match claimed(note.as_ref(), key) {
            Ok(tree) => tree,
            Err(d) => return Ok(Err(d)),
        };
        scan(&self.dir, &self.tree, Some(self.len()), checkpoint, None)
    }

    /// Waits until every append queued so far is durable.
    pub async fn flush(&self) -> Result<(), Error> {
        self.request(Vec::new()).await.map(|_| ())
    }

    /// Flushes and closes the ledger (what a service does on SIGTERM).
    pub fn close(self) {
        drop(self);
    }

    /// The sled database (for the raw-sled comparison and for tests of the layout).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Dropping the only sender ends the writer after the appends already queued, which
        // ends the flusher after the groups already written.
        self.requests = std::sync::mpsc::channel().0;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(f) = self.flusher.take() {
            let _ = f.join();
        }
        if self.shared.failed.load(Ordering::SeqCst) {
            // sled flushes when its last handle is dropped, and after a failed write that
            // flush can wait forever for a buffer that will never be written (seen on a full
            // disk). A failed ledger is not used again in this process, so its database is
            // left to the process's exit, which closes its files.
            std::mem::forget(self.db.clone());
        }
    }
}
