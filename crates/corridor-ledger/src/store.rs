//! The sled-backed ledger.
//!
//! One sled tree, with key prefixes:
//!
//! | key | value |
//! |---|---|
//! | `e` u64be(seq) | entry record bytes, then its 32-byte hash |
//! | `d` document id u64be(seq) | the envelope id (sha256 of the exact envelope bytes) the entry recorded: the document's entries, and the idempotence check |
//! | `s` u16be(len) subject u64be(seq) | empty: the subject's entries |
//! | `m` | u64be(size), head hash, Merkle frontier peaks (32 bytes each) |
//! | `x` caller key | caller value: rows a service changes together with an entry |
//!
//! The last signed checkpoint is kept outside the database, in `checkpoint.note` beside
//! the `db` directory, written to a temporary file, fsynced and renamed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use corridor_core::{Digest, PublicKey, SigningKey};

use crate::checkpoint::Checkpoint;
use crate::commit::GroupCommit;
use crate::entry::Entry;
use crate::error::Error;
use crate::merkle::CompactTree;
use crate::verify::{ChainVerifier, Damage, Verified};

const ENTRY: u8 = b'e';
const DOCUMENT: u8 = b'd';
const SUBJECT: u8 = b's';
const META: &[u8] = b"m";
const EXTRA: u8 = b'x';

/// File name of the last signed checkpoint, beside the database.
pub const CHECKPOINT_FILE: &str = "checkpoint.note";

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
    /// The envelope's document id (sha256 of its payload), for the document index.
    pub document: Digest,
    /// Caller rows (key, `Some(value)` to set or `None` to remove), written in the same
    /// batch as the entry. Keys live in their own namespace, apart from the ledger's.
    pub extra: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The outcome of an append, returned once it is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash.
    pub hash: Digest,
    /// False when these exact envelope bytes were already recorded: `seq` and `hash` are
    /// the first entry's, and `extra` was not applied again.
    pub new: bool,
}

#[derive(Clone)]
struct State {
    size: u64,
    head: Digest,
    tree: CompactTree,
}

/// The appends of one call, waiting for the writer, and where their outcomes go. The writer
/// never splits a request between batches.
struct Request {
    /// The appends in order, each with the sha256 of its envelope bytes (computed by the
    /// appending task).
    appends: Vec<(Append, Digest)>,
    /// One outcome per append, in order, with the group-commit ticket whose flush makes
    /// them durable.
    reply: tokio::sync::oneshot::Sender<Result<(Vec<Appended>, u64), Error>>,
}

/// Most appends the writer puts into one sled batch (a single larger request is written
/// whole, alone).
const MAX_GROUP: usize = 512;

/// An open ledger. Shared between tasks by reference (or `Arc`).
///
/// Appends go to one writer thread, which takes every append waiting (up to `MAX_GROUP`,
/// never splitting one call's appends), writes them (entries, indices, caller rows, new head)
/// as one atomic sled batch, and hands the batch to the group-commit flusher: under load one
/// batch and one flush serve many appends.
pub struct Ledger {
    dir: PathBuf,
    origin: String,
    db: sled::Db,
    state: Arc<Mutex<State>>,
    requests: std::sync::mpsc::Sender<Request>,
    writer: Option<JoinHandle<()>>,
    commit: Arc<GroupCommit>,
    signing: tokio::sync::Mutex<()>,
}

/// The sled configuration every ledger uses (and the raw sled benchmark, to compare like
/// with like): favour write throughput over space, as an append-only log wants.
pub fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
}

/// How long opening waits for a database lock to be released: sled lets go of its files a
/// moment after a database is closed (its I/O threads finish first), so a ledger closed and
/// reopened in one process would otherwise find its own lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens sled at `dir/db`, naming a lock held by another process plainly.
pub(crate) fn open_db(dir: &Path, create: bool) -> Result<sled::Db, Error> {
    let path = dir.join("db");
    if !create && !path.join("conf").exists() {
        return Err(Error::NotFound(dir.to_owned()));
    }
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match sled_config(&path).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io)) if io.to_string().contains("lock") => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(Error::Locked(dir.to_owned()));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(Error::Storage(e)),
        }
    }
}

fn seq_key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut k = [prefix; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn document_prefix(id: &Digest) -> Vec<u8> {
    let mut k = Vec::with_capacity(41);
    k.push(DOCUMENT);
    k.extend_from_slice(id.as_bytes());
    k
}

fn subject_prefix(subject: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + subject.len() + 8);
    k.push(SUBJECT);
    k.extend_from_slice(&(subject.len() as u16).to_be_bytes());
    k.extend_from_slice(subject.as_bytes());
    k
}

fn extra_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(EXTRA);
    k.extend_from_slice(key);
    k
}

fn seq_suffix(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Splits a stored entry value into record bytes and stored hash.
fn split_value(v: &[u8]) -> Option<(&[u8], Digest)> {
    let at = v.len().checked_sub(32)?;
    let (rec, h) = v.split_at(at);
    Some((rec, Digest::from_slice("hash", h).ok()?))
}

fn encode_meta(s: &State) -> Vec<u8> {
    let mut m = Vec::with_capacity(40 + 32 * s.tree.peaks().len());
    m.extend_from_slice(&s.size.to_be_bytes());
    m.extend_from_slice(s.head.as_bytes());
    for p in s.tree.peaks() {
        m.extend_from_slice(p.as_bytes());
    }
    m
}

fn decode_meta(m: &[u8]) -> Option<State> {
    if m.len() < 40 || !(m.len() - 40).is_multiple_of(32) {
        return None;
    }
    let size = u64::from_be_bytes(m[..8].try_into().ok()?);
    let head = Digest::from_slice("head", &m[8..40]).ok()?;
    let peaks = m[40..]
        .chunks(32)
        .map(|c| Digest::from_slice("peak", c).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(State {
        size,
        head,
        tree: CompactTree::from_parts(size, peaks)?,
    })
}

/// Reads the last signed checkpoint kept beside the database in `dir`.
pub fn read_checkpoint(dir: &Path) -> Result<Option<Checkpoint>, Error> {
    let path = dir.join(CHECKPOINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Checkpoint::parse(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path, source }),
    }
}

fn write_checkpoint(dir: &Path, cp: &Checkpoint) -> Result<(), Error> {
    use std::io::Write;
    let path = dir.join(CHECKPOINT_FILE);
    let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(cp.note.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ledger {
    /// Opens (creating if needed) the ledger in `dir`; `origin` names it in checkpoints.
    ///
    /// Refuses a database whose stored head does not match its last entry, or that does not
    /// extend the last signed checkpoint (rolled back): run verification to locate damage.
    pub fn open(dir: &Path, origin: &str) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let db = open_db(dir, true)?;
        let state = match db.get(META)? {
            None => State {
                size: 0,
                head: Digest::ZERO,
                tree: CompactTree::new(),
            },
            Some(m) => decode_meta(&m).ok_or_else(|| Damage {
                seq: 0,
                what: "ledger metadata is malformed".into(),
            })?,
        };
        let last = db.scan_prefix([ENTRY]).next_back().transpose()?;
        let last_seq = last.as_ref().and_then(|(k, _)| seq_suffix(k));
        let last_hash = last
            .as_ref()
            .and_then(|(_, v)| split_value(v).map(|(_, h)| h));
        let consistent = match (state.size, last_seq) {
            (0, None) => true,
            (n, Some(s)) => s + 1 == n && last_hash == Some(state.head),
            _ => false,
        };
        if !consistent {
            return Err(Damage {
                seq: state.size.min(last_seq.map_or(0, |s| s + 1)),
                what: "the stored head does not match the last entry".into(),
            }
            .into());
        }
        let state = Arc::new(Mutex::new(state));
        let (requests, rx) = std::sync::mpsc::channel();
        let commit = Arc::new(GroupCommit::start(db.clone()));
        let writer = {
            let (db, state, commit) = (db.clone(), state.clone(), commit.clone());
            std::thread::Builder::new()
                .name("ledger-writer".into())
                .spawn(move || writer(&db, &state, &commit, &rx))
                .map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?
        };
        let ledger = Self {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            commit,
            db,
            state,
            requests,
            writer: Some(writer),
            signing: tokio::sync::Mutex::new(()),
        };
        if let Some(cp) = read_checkpoint(dir)? {
            ledger.check_extends(&cp).map_err(|what| Damage {
                seq: cp.size.min(ledger.len()),
                what,
            })?;
        }
        Ok(ledger)
    }

    /// Whether this ledger's entries extend `cp` (same entries up to its size).
    fn check_extends(&self, cp: &Checkpoint) -> Result<(), String> {
        let size = self.len();
        if cp.size > size {
            return Err(format!(
                "rolled back: the last signed checkpoint covers {} entries, the database has {size}",
                cp.size
            ));
        }
        if cp.size > 0 {
            let at = self.entry_hash(cp.size - 1).map_err(|e| e.to_string())?;
            if at != Some(cp.head) {
                return Err(format!(
                    "entry {} differs from the head of the last signed checkpoint",
                    cp.size - 1
                ));
            }
        }
        Ok(())
    }

    /// The ledger's origin (its name in checkpoints).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The directory holding the database and checkpoint.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        lock(&self.state).size
    }

    /// Whether the ledger has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hash of the last entry ([`Digest::ZERO`] when empty).
    pub fn head(&self) -> Digest {
        lock(&self.state).head
    }

    /// Current size, RFC 6962 root and head, taken together.
    pub fn tree_head(&self) -> (u64, Digest, Digest) {
        let s = lock(&self.state);
        (s.size, s.tree.root(), s.head)
    }

    /// Appends an entry and returns once it (and its batch) is durable on disk.
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

    /// Appends several entries in this order, all in the same atomic sled batch (never split
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
        let appends = appends
            .into_iter()
            .map(|a| {
                let id = Digest::of(&a.envelope);
                (a, id)
            })
            .collect();
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.requests
            .send(Request { appends, reply })
            .map_err(|_| Error::Flush("the ledger writer has stopped".into()))?;
        let (appended, ticket) = outcome
            .await
            .map_err(|_| Error::Flush("the ledger writer has stopped".into()))??;
        self.commit.durable(ticket).await?;
        if appended.len() != n {
            return Err(Error::Write(format!(
                "the ledger writer returned {} outcomes for {n} appends",
                appended.len()
            )));
        }
        Ok(appended)
    }

    /// The stored hash of entry `seq`.
    pub fn entry_hash(&self, seq: u64) -> Result<Option<Digest>, Error> {
        Ok(self
            .db
            .get(seq_key(ENTRY, seq))?
            .and_then(|v| split_value(&v).map(|(_, h)| h)))
    }

    /// Entry `seq` and its stored hash.
    pub fn get(&self, seq: u64) -> Result<Option<(Entry, Digest)>, Error> {
        self.db
            .get(seq_key(ENTRY, seq))?
            .map(|v| decode_value(seq, &v))
            .transpose()
    }

    /// Entries from `from` onwards, in order, with their stored hashes.
    pub fn entries(&self, from: u64) -> impl Iterator<Item = Result<(Entry, Digest), Error>> + '_ {
        entries_in(
            self.db
                .range(seq_key(ENTRY, from)..=seq_key(ENTRY, u64::MAX)),
        )
    }

    /// The sled database (for export).
    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Sequence numbers of the entries that recorded document `id`.
    pub fn document_entries(&self, id: &Digest) -> Result<Vec<u64>, Error> {
        self.index(&document_prefix(id))
    }

    /// Sequence numbers of the entries about `subject`.
    pub fn subject_entries(&self, subject: &str) -> Result<Vec<u64>, Error> {
        self.index(&subject_prefix(subject))
    }

    fn index(&self, prefix: &[u8]) -> Result<Vec<u64>, Error> {
        self.db
            .scan_prefix(prefix)
            .keys()
            .filter(|k| k.as_ref().map_or(true, |k| k.len() == prefix.len() + 8))
            .map(|k| Ok(seq_suffix(&k?).unwrap_or(0)))
            .collect()
    }

    /// A caller row written by an earlier append's `extra`.
    pub fn extra(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.db.get(extra_key(key))?.map(|v| v.to_vec()))
    }

    /// Caller rows whose keys start with `prefix`, in key order (keys without the prefix
    /// namespace byte).
    pub fn extra_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>> + '_ {
        self.db.scan_prefix(extra_key(prefix)).map(|r| {
            let (k, v) = r?;
            Ok((k[1..].to_vec(), v.to_vec()))
        })
    }

    /// Makes every append durable and, when the ledger has grown since its last signed
    /// checkpoint, signs a new one with `key`: what a service does as it stops.
    pub async fn seal(&self, key: &SigningKey) -> Result<(), Error> {
        self.flush().await?;
        let last = self.last_checkpoint()?.map_or(0, |c| c.size);
        if self.len() > last {
            self.sign_checkpoint(key).await?;
        }
        Ok(())
    }

    /// The last signed checkpoint, if any.
    pub fn last_checkpoint(&self) -> Result<Option<Checkpoint>, Error> {
        read_checkpoint(&self.dir)
    }

    /// Signs a checkpoint of the current (durable) ledger with `key` and keeps it beside the
    /// database. Refuses one that would not extend the last checkpoint signed.
    pub async fn sign_checkpoint(&self, key: &SigningKey) -> Result<Checkpoint, Error> {
        let _one_signer = self.signing.lock().await;
        let (size, root, head) = self.tree_head();
        self.commit.sync().await?;
        if let Some(last) = self.last_checkpoint()? {
            self.check_extends(&last)
                .map_err(Error::CheckpointRegression)?;
            if last.size > size {
                return Err(Error::CheckpointRegression(format!(
                    "size {size} is below the last checkpoint's {}",
                    last.size
                )));
            }
        }
        let cp = Checkpoint::sign(&self.origin, size, root, head, key);
        write_checkpoint(&self.dir, &cp)?;
        Ok(cp)
    }

    /// Verifies the whole ledger from genesis against its last checkpoint (whose signature is
    /// checked with `key` when given).
    pub fn verify(&self, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
        verify_db(&self.db, &self.dir, key)
    }

    /// Makes everything appended so far durable.
    pub async fn flush(&self) -> Result<(), Error> {
        self.commit.sync().await
    }

    /// Flushes and closes the ledger (what a service does on SIGTERM).
    pub fn close(self) {
        drop(self);
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Dropping the only sender ends the writer after the appends already queued.
        self.requests = std::sync::mpsc::channel().0;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        self.commit.stop();
    }
}

/// The writer thread: takes every request waiting, up to `MAX_GROUP` appends in all, writes
/// them as one batch, answers each.
///
/// A request is never split: one that would take the group past `MAX_GROUP` waits for the
/// next group, which it starts (alone, when it is larger than `MAX_GROUP` by itself).
fn writer(
    db: &sled::Db,
    shared: &Mutex<State>,
    commit: &GroupCommit,
    rx: &std::sync::mpsc::Receiver<Request>,
) {
    let mut group: Vec<Request> = Vec::new();
    let mut held: Option<Request> = None;
    loop {
        let first = match held.take() {
            Some(r) => r,
            None => match rx.recv() {
                Ok(r) => r,
                Err(_) => break,
            },
        };
        let mut total = first.appends.len();
        group.push(first);
        while total < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) if total + r.appends.len() <= MAX_GROUP => {
                    total += r.appends.len();
                    group.push(r);
                }
                Ok(r) => {
                    held = Some(r);
                    break;
                }
                Err(_) => break,
            }
        }
        let state = lock(shared).clone();
        match write_group(db, state, &mut group) {
            Ok((next, outcomes)) => {
                *lock(shared) = next;
                // The flush starts now, while the appenders are being woken.
                let ticket = commit.request();
                for (r, o) in group.drain(..).zip(outcomes) {
                    let _ = r.reply.send(Ok((o, ticket)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger batch failed; nothing of it was written");
                let msg = e.to_string();
                for r in group.drain(..) {
                    let _ = r.reply.send(Err(Error::Write(msg.clone())));
                }
            }
        }
    }
}

/// The entry that recorded envelope `envelope_id` of the document whose index prefix is
/// `doc_prefix`, if any: a document has few envelopes, so this reads a handful of rows.
fn recorded(db: &sled::Db, doc_prefix: &[u8], envelope_id: &Digest) -> Result<Option<u64>, Error> {
    for row in db.scan_prefix(doc_prefix) {
        let (k, v) = row?;
        if k.len() == doc_prefix.len() + 8 && v.as_ref() == envelope_id.as_bytes() {
            return Ok(seq_suffix(&k));
        }
    }
    Ok(None)
}

/// Writes the appends of a group of requests, in order, as one atomic batch on top of
/// `state`; the outcomes are returned per request.
fn write_group(
    db: &sled::Db,
    mut state: State,
    group: &mut [Request],
) -> Result<(State, Vec<Vec<Appended>>), Error> {
    let mut batch = sled::Batch::default();
    let mut outcomes: Vec<Vec<Appended>> = group
        .iter()
        .map(|r| Vec::with_capacity(r.appends.len()))
        .collect();
    let mut in_group: std::collections::HashMap<Digest, Appended> = Default::default();
    for (r, out) in group.iter_mut().zip(outcomes.iter_mut()) {
        for (a, envelope_id) in r.appends.iter_mut() {
            let envelope_id = *envelope_id;
            if let Some(first) = in_group.get(&envelope_id) {
                out.push(Appended {
                    new: false,
                    ..*first
                });
                continue;
            }
            let mut doc_key = document_prefix(&a.document);
            if let Some(seq) = recorded(db, &doc_key, &envelope_id)? {
                let (_, hash) = db
                    .get(seq_key(ENTRY, seq))?
                    .as_deref()
                    .and_then(split_value)
                    .ok_or_else(|| Damage {
                        seq,
                        what: "the document index names a missing entry".into(),
                    })?;
                out.push(Appended {
                    seq,
                    hash,
                    new: false,
                });
                continue;
            }
            let entry = Entry {
                seq: state.size,
                prev_hash: state.head,
                time_unix_micros: a.time_unix_micros,
                kind: std::mem::take(&mut a.kind),
                subject: std::mem::take(&mut a.subject),
                envelope: std::mem::take(&mut a.envelope),
            };
            let mut value = entry.record();
            let hash = crate::entry::hash_record(&value);
            value.extend_from_slice(hash.as_bytes());
            let seq_bytes = entry.seq.to_be_bytes();
            batch.insert(&seq_key(ENTRY, entry.seq)[..], value);
            doc_key.extend_from_slice(&seq_bytes);
            batch.insert(doc_key, &envelope_id.as_bytes()[..]);
            if !entry.subject.is_empty() {
                let mut k = subject_prefix(&entry.subject);
                k.extend_from_slice(&seq_bytes);
                batch.insert(k, &[][..]);
            }
            for (k, v) in std::mem::take(&mut a.extra) {
                match v {
                    Some(v) => batch.insert(extra_key(&k), v),
                    None => batch.remove(extra_key(&k)),
                }
            }
            state.size += 1;
            state.head = hash;
            state.tree.push(&hash);
            let appended = Appended {
                seq: entry.seq,
                hash,
                new: true,
            };
            in_group.insert(envelope_id, appended);
            out.push(appended);
        }
    }
    if !in_group.is_empty() {
        batch.insert(META, encode_meta(&state));
        db.apply_batch(batch)?;
    }
    Ok((state, outcomes))
}

/// Every stored entry of `db`, in key order, decoded.
pub(crate) fn stored_entries(
    db: &sled::Db,
) -> impl Iterator<Item = Result<(Entry, Digest), Error>> {
    entries_in(db.scan_prefix([ENTRY]))
}

fn entries_in(iter: sled::Iter) -> impl Iterator<Item = Result<(Entry, Digest), Error>> {
    iter.map(|r| {
        let (k, v) = r?;
        decode_value(seq_suffix(&k).unwrap_or(0), &v)
    })
}

/// Decodes a stored entry value found at `seq`.
fn decode_value(seq: u64, v: &[u8]) -> Result<(Entry, Digest), Error> {
    split_value(v)
        .and_then(|(rec, h)| Some((Entry::decode(rec)?, h)))
        .ok_or_else(|| {
            Error::from(Damage {
                seq,
                what: "malformed entry record".into(),
            })
        })
}

/// Verifies the ledger stored in `dir` without opening it for writing (the database must not
/// be held by a running service).
pub fn verify_dir(dir: &Path, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
    let db = match open_db(dir, false) {
        Err(Error::Storage(sled::Error::Corruption { .. })) => {
            return Ok(Err(Damage {
                seq: 0,
                what: "changed bytes on disk: the database fails its checksums when opened, so no entry can be read".into(),
            }));
        }
        other => other?,
    };
    verify_db(&db, dir, key)
}

fn verify_db(
    db: &sled::Db,
    dir: &Path,
    key: Option<&PublicKey>,
) -> Result<Result<Verified, Damage>, Error> {
    let checkpoint = read_checkpoint(dir)?;
    if let Some(d) = check_checkpoint_signature(checkpoint.as_ref(), key) {
        return Ok(Err(d));
    }
    let mut v = ChainVerifier::new(checkpoint);
    // Entries are read in chunks whose hashes are computed on every core; the chain checks
    // then run in order.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut rows = db.scan_prefix([ENTRY]);
    let mut chunk: Vec<(u64, sled::IVec)> = Vec::with_capacity(VERIFY_CHUNK);
    loop {
        chunk.clear();
        let mut corruption = false;
        for r in rows.by_ref() {
            match r {
                Ok((k, val)) => {
                    if let (Some(s), 9) = (seq_suffix(&k), k.len()) {
                        chunk.push((s, val));
                    }
                }
                Err(sled::Error::Corruption { .. }) => {
                    corruption = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
            if chunk.len() == VERIFY_CHUNK {
                break;
            }
        }
        let hashes = hash_chunk(&chunk, threads);
        for ((at, val), hash) in chunk.iter().zip(hashes) {
            let Some((rec, stored)) = split_value(val) else {
                return Ok(Err(Damage {
                    seq: *at,
                    what: "malformed entry record".into(),
                }));
            };
            if let Err(d) = v.push_hashed(*at, rec, &stored, hash) {
                return Ok(Err(d));
            }
        }
        if corruption {
            return Ok(Err(corrupted(v.position())));
        }
        if chunk.len() < VERIFY_CHUNK {
            break;
        }
    }
    let verified = match v.finish() {
        Ok(v) => v,
        Err(d) => return Ok(Err(d)),
    };
    let meta = db.get(META)?.and_then(|m| decode_meta(&m));
    let meta_ok = match meta {
        None => verified.entries == 0,
        Some(m) => {
            m.size == verified.entries && m.head == verified.head && m.tree.root() == verified.root
        }
    };
    if !meta_ok {
        return Ok(Err(Damage {
            seq: verified.entries,
            what: "the stored head and Merkle state do not match the entries".into(),
        }));
    }
    Ok(Ok(verified))
}

/// Entries read per parallel hashing round during verification.
const VERIFY_CHUNK: usize = 4096;

/// The record hash of each stored value, computed on `threads` threads (an all-zero digest
/// for a value too short to hold a hash, which verification then reports).
fn hash_chunk(chunk: &[(u64, sled::IVec)], threads: usize) -> Vec<Digest> {
    let hash = |(_, v): &(u64, sled::IVec)| {
        split_value(v).map_or(Digest::ZERO, |(rec, _)| crate::entry::hash_record(rec))
    };
    if threads < 2 || chunk.len() < 256 {
        return chunk.iter().map(hash).collect();
    }
    let per = chunk.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = chunk
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(hash).collect::<Vec<_>>()))
            .collect();
        let hashes: Vec<Digest> = parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_default())
            .collect();
        if hashes.len() == chunk.len() {
            hashes
        } else {
            chunk.iter().map(hash).collect()
        }
    })
}

/// The damage sled reports as a failed checksum: bytes changed in the database files.
fn corrupted(seq: u64) -> Damage {
    Damage {
        seq,
        what: "changed bytes on disk: the database page holding this entry fails its checksum"
            .into(),
    }
}

/// Checks a checkpoint's signature when a key is given: `Some(damage)` when it fails, or
/// when a key was given for a non-empty ledger that has no checkpoint to check.
pub(crate) fn check_checkpoint_signature(
    cp: Option<&Checkpoint>,
    key: Option<&PublicKey>,
) -> Option<Damage> {
    let key = key?;
    let cp = cp?;
    cp.verify(key).err().map(|e| Damage {
        seq: cp.size,
        what: e.to_string(),
    })
}
