//! The ledger on disk: a sled database, one key per entry, indices in memory.
//!
//! An append is answered only when durable, and many are in flight at once:
//!
//! 1. The appending task hashes its envelope and hands the append to the ledger's one
//!    writer thread.
//! 2. The writer takes every append waiting (up to `MAX_GROUP`). For each it looks the exact
//!    envelope bytes up among the entries written so far: found, the answer is that first
//!    entry. The new entries (one insert each, in the tree [`ENTRIES_TREE`]), the rows of
//!    subtree hashes they fill or extend (`layout::subtrees`) and every caller row they
//!    change become one atomic sled batch. One writer means one order, so
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
//!    is reopened, when everything is read back and checked: by [`Ledger::recover`] in the
//!    same process (once [`Ledger::probe`] finds the disk writable again), or by opening it
//!    in the next. sled 0.34 refuses every write after an I/O error, so a recovery closes
//!    that database (off the caller's thread: after a failed write its close can wait
//!    forever, and then the recovery says so and is tried again) and opens it again from its
//!    path.
//! 5. Never a half-written record: an append that failed is, after a recovery, not in the
//!    ledger at all. What the failed write left in sled (a batch applied whose flush failed,
//!    which sled may still have written) is removed before the ledger is verified, so the
//!    reopened ledger holds exactly the entries and caller rows it acknowledged, which are
//!    what its callers' in-memory state was built from.
//!
//! The indices live in memory, rebuilt by `layout::scan` when the ledger is opened (which
//! also re-hashes every record and checks every link and the signed checkpoint before the
//! ledger serves anything): each entry's hash and the Merkle tree over them, entries by
//! subject, entries by the sha256 of their exact envelope bytes (the idempotence check), and
//! the caller rows. In memory rather than in sled because each sled insert costs the same
//! whatever its size, so an index row per entry would double the writer's work. They show an
//! append only once it is durable. The hashes of the Merkle tree's complete subtrees are kept
//! in sled instead, 256 to a row (a group of appends rewrites a few rows, not one per
//! entry), so that a proof ([`Ledger::inclusion_proof`], [`Ledger::consistency_proof`])
//! reads O(log n) rows and the tree's tiles can be read from them.
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
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use corridor_core::{Digest, PublicKey, SigningKey};

use self::index::Index;
use self::writer::{MAX_GROUP_BYTES, Request, Resume, Writer, flusher};
use crate::checkpoint::{Checkpoint, TreeHead};
use crate::entry::Entry;
use crate::error::Error;
use crate::layout::subtrees::{self, SUBTREE_PREFIX};
use crate::layout::{
    DB_DIR, ENTRIES_TREE, OPEN_LOCK_WAIT, ROW_PREFIX, Rebuilt, WITNESSED_FILE, claimed,
    entries_tree, entry_key, note_or_damage, read_note, refuse_log_layout, row_key, scan,
    sled_config, split_value, storage, while_locked, write_checkpoint, write_note,
};
use crate::proof;
use crate::tiles::Span;
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
    /// ledger takes no more appends until it is reopened (and read back, and verified).
    failed: AtomicBool,
    /// The same flag, for those who wait for it to change ([`Ledger::failures`]).
    failures: tokio::sync::watch::Sender<bool>,
    /// Tests only: the next flush reports a failure after sled has written the batch (the
    /// worst case for a recovery: the failed batch is on disk).
    #[cfg(test)]
    fail_next_flush: AtomicBool,
}

impl Shared {
    /// Stops the ledger taking appends, and tells whoever watches.
    fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
        self.failures.send_replace(true);
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sled database of an open ledger and the threads writing to it: what a recovery
/// closes and opens again.
struct Store {
    db: sled::Db,
    tree: sled::Tree,
    requests: std::sync::mpsc::Sender<Request>,
    writer: JoinHandle<()>,
    flusher: JoinHandle<()>,
}

impl Store {
    /// Ends the writer after the appends already queued, then the flusher after the groups
    /// already written, and returns the database.
    fn stop(self) -> (sled::Db, sled::Tree) {
        let Store {
            db,
            tree,
            requests,
            writer,
            flusher,
        } = self;
        drop(requests);
        let _ = writer.join();
        let _ = flusher.join();
        (db, tree)
    }
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
    /// `None` while a recovery has closed the database and not yet opened it again.
    store: RwLock<Option<Store>>,
    shared: Arc<Shared>,
    /// The key the ledger's checkpoints are signed with, which each one read back must verify
    /// under.
    public: PublicKey,
    /// Held by whoever signs the next checkpoint.
    signing: tokio::sync::Mutex<()>,
    /// The latest witnessed checkpoint, once read from `witnessed.note` or kept (`None`:
    /// not read yet); held by whoever keeps the next one.
    witnessed: Mutex<Option<Option<Checkpoint>>>,
    /// Held by a recovery. Inside: the signal of a database a recovery is still closing (its
    /// thread ends once the database is closed and its lock let go).
    recovering: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

/// How long a recovery waits for the failed database to close before it gives up until it
/// is tried again.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Bytes [`Ledger::probe`] writes: about what reopening a ledger and its next appends write
/// at once (sled writes its log in segments of 512 KiB), so that a probe that succeeds on an
/// almost full disk does not lead straight to another failed write.
const PROBE_BYTES: usize = 1 << 20;

/// The file [`Ledger::probe`] writes and removes, in the ledger directory.
const PROBE_FILE: &str = "probe.tmp";

/// What [`Ledger::recover`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// Entries the failed write had left in the database without acknowledging them, which
    /// the recovery removed (with the caller rows they had changed).
    pub discarded: u64,
    /// The ledger's size once reopened: the entries it had acknowledged.
    pub entries: u64,
}

/// A ledger read back from its database and verified: the indices it serves from, where
/// the writer continues, and the last signed checkpoint.
struct Loaded {
    index: Index,
    resume: Resume,
    checkpoint: Option<Checkpoint>,
}

/// Reads every entry of `tree` back and checks it against its hash, its link, the stored
/// subtree hashes and the last signed checkpoint in `dir` (of ledger `origin`, signed by
/// `public`), and rebuilds the indices and the caller rows. A database without its subtree
/// rows (written before they were kept, or new) has them made from the entry hashes.
fn load(
    dir: &Path,
    db: &sled::Db,
    tree: &sled::Tree,
    origin: &str,
    public: &PublicKey,
) -> Result<Loaded, Error> {
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
            Some(note.verify(public).map_err(|e| {
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
        tree,
        None,
        checkpoint.as_ref().map(Checkpoint::tree),
        None,
        Some(&mut rebuilt),
    )?
    .map_err(damaged)?;
    let mut rows = BTreeMap::new();
    for r in tree.scan_prefix([ROW_PREFIX]) {
        let (k, v) = r.map_err(storage(dir))?;
        rows.insert(k[1..].to_vec(), v.to_vec());
    }
    let subtrees = match rebuilt.subtrees.take() {
        Some(frontier) => frontier,
        None => subtrees::rebuild(dir, db, tree, &rebuilt.hashes)?,
    };
    let next = rebuilt.hashes.len() as u64;
    let head = rebuilt.hashes.last().copied().unwrap_or(Digest::ZERO);
    let envelopes = std::mem::take(&mut rebuilt.envelopes);
    let hashes = |seq: u64| rebuilt.hashes.get(seq as usize).copied();
    let recorded: HashMap<Digest, (u64, Digest)> = envelopes
        .into_iter()
        .filter_map(|(id, seq)| Some((id, (seq, hashes(seq)?))))
        .collect();
    Ok(Loaded {
        index: Index {
            entries: rebuilt,
            rows,
        },
        resume: Resume {
            next,
            head,
            recorded,
            subtrees,
        },
        checkpoint,
    })
}

/// Starts the writer and flusher threads of `db`, the writer continuing from `resume`.
fn start(
    dir: &Path,
    db: sled::Db,
    tree: sled::Tree,
    shared: &Arc<Shared>,
    resume: Resume,
) -> Result<Store, Error> {
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
        let Resume {
            next,
            head,
            recorded,
            subtrees,
        } = resume;
        let w = Writer {
            tree: tree.clone(),
            shared: shared.clone(),
            next,
            head,
            recorded,
            subtrees,
            to_flusher,
        };
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || w.run(&rx))
            .map_err(spawn_err)?
    };
    Ok(Store {
        db,
        tree,
        requests,
        writer,
        flusher,
    })
}

/// Removes from the database what a failed write left beyond what the ledger acknowledged:
/// the entries from `len` on, the subtree hashes they made, and every caller row that
/// differs from `rows`. Returns the number of entries removed.
fn discard_unacknowledged(
    dir: &Path,
    db: &sled::Db,
    tree: &sled::Tree,
    len: u64,
    rows: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<u64, Error> {
    let mut batch = sled::Batch::default();
    let mut removed = 0;
    for r in tree.range(entry_key(len).to_vec()..vec![SUBTREE_PREFIX]) {
        let (k, _) = r.map_err(storage(dir))?;
        batch.remove(k);
        removed += 1;
    }
    let mut changed = subtrees::truncate(dir, tree, len, &mut batch)?;
    let mut stored = BTreeMap::new();
    for r in tree.scan_prefix([ROW_PREFIX]) {
        let (k, v) = r.map_err(storage(dir))?;
        stored.insert(k[1..].to_vec(), v.to_vec());
    }
    for (k, v) in &stored {
        match rows.get(k) {
            Some(want) if want == v => {}
            Some(want) => {
                batch.insert(row_key(k), want.as_slice());
                changed = true;
            }
            None => {
                batch.remove(row_key(k));
                changed = true;
            }
        }
    }
    for (k, v) in rows {
        if !stored.contains_key(k) {
            batch.insert(row_key(k), v.as_slice());
            changed = true;
        }
    }
    if removed > 0 || changed {
        tree.apply_batch(batch).map_err(storage(dir))?;
        db.flush().map_err(storage(dir))?;
    }
    Ok(removed)
}

/// Runs `close` (which drops a database) on a thread of its own (after a failed write its close can wait forever);
/// the returned signal comes once it is closed.
fn close_apart(close: impl FnOnce() + Send + 'static) -> std::sync::mpsc::Receiver<()> {
    let (done, closed) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("ledger-closer".into())
        .spawn(move || {
            close();
            let _ = done.send(());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a thread to close a failed ledger database");
    }
    closed
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
        let Loaded {
            index,
            resume,
            checkpoint,
        } = load(dir, &db, &tree, origin, &key.public())?;
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            index: RwLock::new(index),
            failed: AtomicBool::new(false),
            failures: tokio::sync::watch::Sender::new(false),
            #[cfg(test)]
            fail_next_flush: AtomicBool::new(false),
        });
        let store = start(dir, db, tree, &shared, resume)?;
        if checkpoint.is_none() {
            // Only an empty ledger gets here (the scan refuses entries without a checkpoint).
            let cp = Checkpoint::sign(origin, read(&shared.index).tree_head(), key);
            write_checkpoint(dir, &cp)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            store: RwLock::new(Some(store)),
            shared,
            public: key.public(),
            signing: tokio::sync::Mutex::new(()),
            witnessed: Mutex::new(None),
            recovering: Mutex::new(None),
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

    /// Whether a write failed: the ledger then takes no appends until it is reopened
    /// ([`Ledger::recover`]; what sled holds after a failed batch or flush is not known until
    /// it is read back).
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::SeqCst)
    }

    /// [`Ledger::is_failed`] as it changes: true once a write fails, false again once
    /// [`Ledger::recover`] has reopened the ledger.
    pub fn failures(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.failures.subscribe()
    }

    /// Whether the ledger's file system takes writes again: writes a file of 1 MiB in the
    /// ledger directory, syncs it to disk and removes it. Blocks (call it from a blocking
    /// thread).
    pub fn probe(&self) -> Result<(), Error> {
        use std::io::Write;
        let path = self.dir.join(PROBE_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let written = std::fs::File::create(&path).and_then(|mut f| {
            f.write_all(&vec![0; PROBE_BYTES])?;
            f.sync_all()
        });
        // Removed whether or not it was written: what was written is space the ledger needs.
        let removed = std::fs::remove_file(&path);
        written.map_err(io)?;
        removed.map_err(io)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// Reopens a failed ledger in place: closes its database, opens it again from its path,
    /// removes what the failed write left beyond the entries and caller rows the ledger had
    /// acknowledged, reads every entry back and checks it (as [`Ledger::open`] does), and
    /// takes appends again. Nothing to do when the ledger has not failed.
    ///
    /// On an error the ledger stays failed and the recovery may be tried again (a database
    /// that has not closed within 5 s is waited for by the next try); a reopened ledger that
    /// differs from what it acknowledged is [`Error::Damaged`]. Reads of entries fail while
    /// the database is closed. Blocks (call it from a blocking thread).
    pub fn recover(&self) -> Result<Recovered, Error> {
        let mut closing = lock(&self.recovering);
        if !self.is_failed() {
            return Ok(Recovered {
                discarded: 0,
                entries: self.len(),
            });
        }
        if let Some(old) = write(&self.store).take() {
            *closing = Some(close_apart(move || drop(old.stop())));
        }
        if let Some(closed) = closing.as_ref() {
            match closed.recv_timeout(CLOSE_WAIT) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Error::Write(format!(
                        "{}: the database of the failed write has not closed yet",
                        self.dir.display()
                    )));
                }
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => *closing = None,
            }
        }
        let db = open_db(&self.dir)?;
        match self.reopen(&db) {
            Ok((store, recovered)) => {
                *write(&self.store) = Some(store);
                self.shared.failed.store(false, Ordering::SeqCst);
                self.shared.failures.send_replace(false);
                Ok(recovered)
            }
            Err(e) => {
                // This handle may have failed a write too: closed apart, like the first.
                *closing = Some(close_apart(move || drop(db)));
                Err(e)
            }
        }
    }

    /// The part of a recovery after the database is open again: the unacknowledged tail
    /// removed, everything read back and checked against what was acknowledged, the threads
    /// started.
    fn reopen(&self, db: &sled::Db) -> Result<(Store, Recovered), Error> {
        let dir = &self.dir;
        let tree = entries_tree(db, dir)?;
        let (size, head, rows) = {
            let index = read(&self.shared.index);
            (index.size(), index.head(), index.rows.clone())
        };
        let discarded = discard_unacknowledged(dir, db, &tree, size, &rows)?;
        let loaded = load(dir, db, &tree, &self.origin, &self.public)?;
        let differs = |what: String| Error::Damaged {
            dir: dir.to_owned(),
            damage: Damage { seq: size, what },
        };
        if loaded.index.size() != size || loaded.index.head() != head {
            return Err(differs(format!(
                "reopened after a failed write it holds {} entries (head {}), it had acknowledged {size} (head {head})",
                loaded.index.size(),
                loaded.index.head(),
            )));
        }
        if loaded.index.rows != rows {
            return Err(differs(
                "reopened after a failed write its caller rows differ from those it had acknowledged".into(),
            ));
        }
        let Loaded { index, resume, .. } = loaded;
        *write(&self.shared.index) = index;
        let store = start(dir, db.clone(), tree, &self.shared, resume)?;
        Ok((
            store,
            Recovered {
                discarded,
                entries: size,
            },
        ))
    }

    /// The database's entries tree, unless a recovery has it closed.
    fn tree(&self) -> Result<sled::Tree, Error> {
        read(&self.store)
            .as_ref()
            .map(|s| s.tree.clone())
            .ok_or_else(|| Error::Reopening(self.dir.clone()))
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
        let requests = read(&self.store)
            .as_ref()
            .map(|s| s.requests.clone())
            .ok_or_else(|| Error::Reopening(self.dir.clone()))?;
        requests
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

    /// The hashes a C2SP tile holds ([`crate::tiles`]): for `span.height` 0, the entry hashes
    /// of an entry bundle when `leaves` is false (from memory) and their RFC 6962 leaf hashes
    /// when true; above, the tree hashes of the complete subtrees of `2^height` leaves. Both
    /// of these are one read of the stored subtree row. `None` when the span reaches past
    /// the ledger's durable entries.
    pub fn tile_hashes(&self, span: Span, leaves: bool) -> Result<Option<Vec<Digest>>, Error> {
        let width = 1u64.checked_shl(u32::from(span.height)).unwrap_or(0);
        let end = span
            .first
            .checked_add(u64::from(span.count))
            .and_then(|e| e.checked_mul(width));
        if width == 0 || end.is_none_or(|e| e > self.len()) {
            return Ok(None);
        }
        if span.height == 0 && !leaves {
            let index = read(&self.shared.index);
            let first = usize::try_from(span.first).ok();
            let run = first.and_then(|f| index.entries.hashes.get(f..f + usize::from(span.count)));
            return Ok(run.map(<[Digest]>::to_vec));
        }
        let tree = self.tree()?;
        self.subtrees(&tree)
            .run(span.height, span.first, usize::from(span.count))
            .map(Some)
    }

    /// The inclusion proof (RFC 9162 2.1.3) of entry `seq` in the ledger's first `size`
    /// entries, read from the stored subtree hashes: O(log size) reads. Verify it with
    /// [`crate::proof::verify_inclusion`] against the root at `size`.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Digest>, Error> {
        self.within(size)?;
        let tree = self.tree()?;
        proof::inclusion_proof(&self.subtrees(&tree), seq, size)
    }

    /// The consistency proof (RFC 9162 2.1.4) from the ledger's first `old` entries to its
    /// first `new`, read as [`Ledger::inclusion_proof`] is; empty when `old` is 0 or `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Digest>, Error> {
        self.within(new)?;
        let tree = self.tree()?;
        proof::consistency_proof(&self.subtrees(&tree), old, new)
    }

    /// The RFC 6962 root of the ledger's first `size` entries, from the stored subtree
    /// hashes.
    pub fn root_at(&self, size: u64) -> Result<Digest, Error> {
        self.within(size)?;
        let tree = self.tree()?;
        proof::root(&self.subtrees(&tree), size)
    }

    /// Refuses a tree larger than the ledger's durable entries: the subtree hashes beyond
    /// them may be of appends not yet acknowledged.
    fn within(&self, size: u64) -> Result<(), Error> {
        let len = self.len();
        if size > len {
            return Err(Error::BeyondLedger { size, len });
        }
        Ok(())
    }

    fn subtrees<'a>(&'a self, tree: &'a sled::Tree) -> subtrees::Stored<'a> {
        subtrees::Stored {
            dir: &self.dir,
            tree,
        }
    }

    /// Entry `seq` and its stored hash.
    pub fn get(&self, seq: u64) -> Result<Option<(Entry, Digest)>, Error> {
        if seq >= self.len() {
            return Ok(None);
        }
        let value = self
            .tree()?
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
        let (range, closed) = match self.tree() {
            Ok(tree) => (
                Some(tree.range(entry_key(from)..entry_key(len.max(from)))),
                None,
            ),
            Err(e) => (None, Some(Err(e))),
        };
        closed
            .into_iter()
            .chain(range.into_iter().flatten().map(move |r| {
                let (k, v) = r.map_err(storage(&self.dir))?;
                let seq = expected;
                expected += 1;
                if k.as_ref() != entry_key(seq) {
                    return Err(self.damaged(seq, "the entry is missing from the database"));
                }
                self.decode(seq, &v)
            }))
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

    /// Keeps `note` as the latest witnessed checkpoint (`witnessed.note` beside the
    /// database): a checkpoint of this ledger signed by its key, with the cosignatures that
    /// reached its witness quorum. Refuses a note that is not of this ledger's tree, and one
    /// smaller than the one kept.
    pub fn keep_witnessed(&self, note: &str) -> Result<(), Error> {
        let mut kept = self.witnessed.lock().unwrap_or_else(|p| p.into_inner());
        let cp = self.own_checkpoint(note)?;
        if let Some(before) = self.witnessed_in(&mut kept)?
            && before.size() > cp.size()
        {
            return Err(Error::CheckpointRegression(format!(
                "the witnessed checkpoint kept covers {} entries, this one {}",
                before.size(),
                cp.size()
            )));
        }
        write_note(&self.dir, WITNESSED_FILE, note)?;
        *kept = Some(Some(cp));
        Ok(())
    }

    /// The latest witnessed checkpoint kept (see [`Ledger::keep_witnessed`]), checked as
    /// this ledger's when it is read from its file (signed by its key, of a size it has,
    /// with its root at that size), then held in memory. Its note carries the cosignatures.
    pub fn witnessed(&self) -> Result<Option<Checkpoint>, Error> {
        let mut kept = self.witnessed.lock().unwrap_or_else(|p| p.into_inner());
        self.witnessed_in(&mut kept)
    }

    fn witnessed_in(
        &self,
        kept: &mut Option<Option<Checkpoint>>,
    ) -> Result<Option<Checkpoint>, Error> {
        if let Some(cp) = kept {
            return Ok(cp.clone());
        }
        let path = self.dir.join(WITNESSED_FILE);
        let cp = match std::fs::read_to_string(&path) {
            Ok(text) => Some(self.own_checkpoint(&text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(Error::Io { path, source }),
        };
        *kept = Some(cp.clone());
        Ok(cp)
    }

    /// `note` read as a checkpoint of this ledger: its signature by the ledger's key, its
    /// size within the ledger and its root the ledger's root at that size.
    fn own_checkpoint(&self, note: &str) -> Result<Checkpoint, Error> {
        let cp = crate::checkpoint::Note::parse(note)?.verify(&self.public)?;
        if cp.origin() != self.origin {
            return Err(Error::CheckpointRegression(format!(
                "the checkpoint is of ledger {:?}, this ledger is {:?}",
                cp.origin(),
                self.origin
            )));
        }
        if cp.size() > self.len() || self.root_at(cp.size())? != cp.root() {
            return Err(Error::CheckpointRegression(format!(
                "the checkpoint of {} entries is not of this ledger's tree ({} entries)",
                cp.size(),
                self.len()
            )));
        }
        Ok(cp)
    }

    /// Verifies the whole ledger from genesis against its last checkpoint (whose signature is
    /// checked with `key` when given), reading every durable entry back from the database,
    /// and the stored subtree hashes against them.
    pub fn verify(&self, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
        let note = match note_or_damage(&self.dir)? {
            Ok(note) => note,
            Err(d) => return Ok(Err(d)),
        };
        let checkpoint = match claimed(note.as_ref(), key) {
            Ok(tree) => tree,
            Err(d) => return Ok(Err(d)),
        };
        scan(
            &self.dir,
            &self.tree()?,
            Some(self.len()),
            checkpoint,
            None,
            None,
        )
    }

    /// Waits until every append queued so far is durable.
    pub async fn flush(&self) -> Result<(), Error> {
        self.request(Vec::new()).await.map(|_| ())
    }

    /// Flushes and closes the ledger (what a service does on SIGTERM).
    pub fn close(self) {
        drop(self);
    }

    /// The sled database (for the raw-sled comparison and for tests of the layout), unless
    /// a recovery has it closed.
    pub fn db(&self) -> Result<sled::Db, Error> {
        read(&self.store)
            .as_ref()
            .map(|s| s.db.clone())
            .ok_or_else(|| Error::Reopening(self.dir.clone()))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        let Some(store) = write(&self.store).take() else {
            return;
        };
        let (db, tree) = store.stop();
        if self.shared.failed.load(Ordering::SeqCst) {
            // sled flushes when its last handle is dropped, and after a failed write that
            // flush can wait forever for a buffer that will never be written (seen on a full
            // disk). A ledger dropped failed is not used again, so its database is left to
            // the process's exit, which closes its files.
            std::mem::forget((db, tree));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ORIGIN: &str = "corridor/recover-test";

    fn append(i: u64, rows: Vec<RowChange>) -> Append {
        Append {
            kind: "test.recorded".into(),
            subject: format!("c{}", i % 2),
            time_unix_micros: 1_700_000_000_000_000,
            envelope: format!("envelope {i}").into_bytes(),
            rows,
        }
    }

    #[tokio::test]
    async fn a_recovery_reopens_verifies_and_keeps_nothing_of_the_failed_append() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed(&[7; 32]);
        let l = Ledger::open(dir.path(), ORIGIN, &key).unwrap();
        for i in 0..3 {
            let row = RowChange::set(format!("row/{i}"), vec![i as u8]);
            l.append(append(i, vec![row])).await.unwrap();
        }
        let before = l.tree_head();
        let mut failures = l.failures();
        assert!(!*failures.borrow_and_update());

        // sled writes the batch, then the flush reports a failure: the append fails, and its
        // entry and rows are in the database but were never acknowledged.
        l.shared.fail_next_flush.store(true, Ordering::SeqCst);
        let rows = vec![
            RowChange::set("row/0", b"changed".to_vec()),
            RowChange::remove("row/1"),
            RowChange::set("row/3", vec![3]),
        ];
        let e = l.append(append(3, rows.clone())).await.unwrap_err();
        assert!(matches!(e, Error::Write(_)), "{e}");
        assert!(l.is_failed());
        failures.changed().await.unwrap();
        assert!(*failures.borrow_and_update());
        let tree = l.tree().unwrap();
        assert!(tree.get(entry_key(3)).unwrap().is_some(), "sled holds it");
        drop(tree);
        let again = l.append(append(4, vec![])).await.unwrap_err();
        assert!(matches!(again, Error::Write(_)), "{again}");

        l.probe().unwrap();
        // As a service's watcher does: a database not closed within a try's 5 s is waited for
        // by the next.
        let started = std::time::Instant::now();
        let r = loop {
            match l.recover() {
                Err(e) if e.to_string().contains("has not closed yet") => {
                    assert!(started.elapsed().as_secs() < 120, "never closed: {e}");
                }
                r => break r.unwrap(),
            }
        };
        assert_eq!(
            r,
            Recovered {
                discarded: 1,
                entries: 3
            }
        );
        assert!(!l.is_failed());
        failures.changed().await.unwrap();
        assert!(!*failures.borrow_and_update());
        assert_eq!(l.tree_head(), before);
        assert_eq!(l.root_at(3).unwrap(), before.root);
        assert_eq!(l.get(3).unwrap(), None);
        assert_eq!(l.row(b"row/0"), Some(vec![0]));
        assert_eq!(l.row(b"row/1"), Some(vec![1]));
        assert_eq!(l.row(b"row/3"), None);
        assert!(l.verify(Some(&key.public())).unwrap().is_ok());
        assert!(!dir.path().join(PROBE_FILE).exists());

        // Appends resume, the failed one included: it is new, at the next sequence number.
        let a = l.append(append(3, rows)).await.unwrap();
        assert_eq!((a.seq, a.new), (3, true));
        l.seal(&key).await.unwrap();
        drop(l);
        let l = Ledger::open(dir.path(), ORIGIN, &key).unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!(l.row(b"row/0"), Some(b"changed".to_vec()));
        assert_eq!(l.row(b"row/1"), None);
        assert!(l.verify(Some(&key.public())).unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_ledger_that_has_not_failed_has_nothing_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed(&[8; 32]);
        let l = Ledger::open(dir.path(), ORIGIN, &key).unwrap();
        l.append(append(0, vec![])).await.unwrap();
        assert_eq!(
            l.recover().unwrap(),
            Recovered {
                discarded: 0,
                entries: 1
            }
        );
        assert_eq!(l.append(append(1, vec![])).await.unwrap().seq, 1);
    }
}
