//! The ledger on disk: one append-only log file, indices in memory.
//!
//! A group of appends is one frame of `entries.log` (see [`crate::log`]): the entries'
//! record bytes and the caller rows changed with them, written at the end of the file and
//! synced once. That sync is what makes the group durable; the appenders are answered after
//! it. The indices live in memory, rebuilt by reading the frames when the ledger is opened:
//!
//! - by sequence number: where the entry's record lies in the log, its length and its hash;
//! - by document id: the entries that recorded it, with each one's envelope id (sha256 of the
//!   exact envelope bytes), which is also the idempotence check;
//! - by subject: its entries, in order;
//! - caller rows by key: where the current value lies in the log.
//!
//! The last signed checkpoint is kept beside the log in `checkpoint.note`, written to a
//! temporary file, fsynced and renamed, so a log restored from an older copy contradicts it
//! and is refused on open and reported by verification.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use corridor_core::{Digest, PublicKey, SigningKey};

use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::error::Error;
use crate::log::{FrameEntry, Log, Read, Row, RowAt};
use crate::merkle::CompactTree;
use crate::verify::{ChainVerifier, Damage, Verified};

/// File name of the last signed checkpoint, beside the entry log.
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

/// Where an entry's record lies in the log, its length and its hash.
#[derive(Clone, Copy)]
struct Located {
    offset: u64,
    len: u32,
    hash: Digest,
}

/// A ledger's state and indices, all derived from its log.
#[derive(Default)]
pub(crate) struct Index {
    /// Hash of the last entry.
    head: Digest,
    tree: CompactTree,
    /// End of the last frame: where the next one goes.
    log_end: u64,
    entries: Vec<Located>,
    /// Document id -> (seq, envelope id) of the entries that recorded it.
    documents: HashMap<Digest, Vec<(u64, Digest)>>,
    subjects: HashMap<String, Vec<u64>>,
    /// Caller key -> where its value lies in the log (offset, length).
    rows: BTreeMap<Vec<u8>, (u64, u32)>,
}

/// A new entry as the indices record it.
struct Indexed {
    at: Located,
    document: Digest,
    envelope_id: Digest,
    subject: String,
}

impl Index {
    /// Number of entries.
    fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The entry that recorded these exact envelope bytes of document `document`, if any.
    fn recorded(&self, document: &Digest, envelope_id: &Digest) -> Option<Appended> {
        let (seq, _) = self
            .documents
            .get(document)?
            .iter()
            .find(|(_, e)| e == envelope_id)?;
        Some(Appended {
            seq: *seq,
            hash: self.entries.get(*seq as usize)?.hash,
            new: false,
        })
    }

    /// Adds one frame's entries (which continue the chain) and row changes.
    fn apply(&mut self, entries: Vec<Indexed>, rows: Vec<RowAt>, log_end: u64) {
        for e in entries {
            let seq = self.size();
            self.documents
                .entry(e.document)
                .or_default()
                .push((seq, e.envelope_id));
            if !e.subject.is_empty() {
                self.subjects.entry(e.subject).or_default().push(seq);
            }
            self.head = e.at.hash;
            self.tree.push(&e.at.hash);
            self.entries.push(e.at);
        }
        for (k, v) in rows {
            match v {
                Some(at) => {
                    self.rows.insert(k, at);
                }
                None => {
                    self.rows.remove(&k);
                }
            }
        }
        self.log_end = log_end;
    }
}

/// The appends of one call, waiting for the writer, and where their outcomes go. The writer
/// never splits a request between frames. A request without appends is answered once
/// everything queued before it is written.
struct Request {
    /// The appends in order, each with the sha256 of its envelope bytes (computed by the
    /// appending task).
    appends: Vec<(Append, Digest)>,
    /// One outcome per append, in order, sent once they are durable.
    reply: tokio::sync::oneshot::Sender<Result<Vec<Appended>, Error>>,
}

impl Request {
    fn bytes(&self) -> u64 {
        self.appends.iter().map(|(a, _)| a.frame_bytes()).sum()
    }
}

/// Most appends the writer puts into one frame (a single larger request is written whole,
/// alone).
const MAX_GROUP: usize = 512;

/// Most bytes one call's appends may take in the log, and most the writer puts into one
/// frame (a frame's length is a u32).
const MAX_FRAME_BYTES: u64 = 1 << 30;

impl Append {
    /// What this append takes in a frame: its record, hash and document id, and its rows.
    fn frame_bytes(&self) -> u64 {
        let record = 8 + 32 + 8 + 1 + 2 + 4 + self.kind.len() + self.subject.len();
        let rows: usize = self
            .extra
            .iter()
            .map(|(k, v)| 5 + k.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
            .sum();
        (4 + record + self.envelope.len() + 64 + rows) as u64
    }
}

/// The log and its indices, shared by the ledger's handle and its writer thread.
pub(crate) struct Files {
    log: Log,
    index: RwLock<Index>,
    /// Set when a write or sync failed: what the file holds after that is not known (a
    /// failed sync may have dropped pages), so the ledger takes no more appends until it is
    /// opened again and the log read back.
    failed: std::sync::atomic::AtomicBool,
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
/// never splitting one call's appends), writes them and their caller rows as one frame of the
/// log with one sync, then updates the indices: under load one frame and one sync serve many
/// appends, and readers only ever see durable entries.
pub struct Ledger {
    dir: PathBuf,
    origin: String,
    files: Arc<Files>,
    requests: std::sync::mpsc::Sender<Request>,
    writer: Option<JoinHandle<()>>,
    signing: tokio::sync::Mutex<()>,
}

/// The sled configuration of the registry copies and the raw sled benchmark: favour write
/// throughput over space.
pub fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
}

/// Reads the last signed checkpoint kept beside the entry log in `dir`.
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

/// Opens and locks the log in `dir` (creating it when `create` is set) and rebuilds the
/// indices from its frames, checking that each frame continues the chain. A torn last frame
/// (a group whose sync never finished, so never acknowledged) is cut off when `create` is
/// set (a writer's open; its bytes are kept in `entries.log.torn-<offset>`) and left alone
/// otherwise; one the last signed checkpoint counts on is damage.
pub(crate) fn open_files(dir: &Path, create: bool) -> Result<Files, Error> {
    let log = Log::open(dir, create)?;
    let file_len = log.len()?;
    let mut index = Index::default();
    loop {
        let (frame, end, checksum_ok) = match log.read_frame(index.log_end, file_len)? {
            Read::End => break,
            Read::Torn => {
                let covered = read_checkpoint(dir)?.map_or(0, |cp| cp.size);
                if covered > index.size() {
                    return Err(Damage {
                        seq: index.size(),
                        what: format!(
                            "the {} frame at byte {} is cut short or fails its checksum, and the last signed checkpoint covers {covered} entries: not cutting it off",
                            crate::log::LOG_FILE,
                            index.log_end
                        ),
                    }
                    .into());
                }
                if create {
                    tracing::warn!(
                        at = index.log_end,
                        "cutting off a torn last frame of the entry log (never acknowledged); its bytes are kept beside the log"
                    );
                    log.cut_torn(index.log_end)?;
                }
                break;
            }
            Read::Damaged(what) => {
                return Err(Damage {
                    seq: index.size(),
                    what,
                }
                .into());
            }
            Read::Frame {
                frame,
                end,
                checksum_ok,
            } => (frame, end, checksum_ok),
        };
        if !checksum_ok {
            return Err(Damage {
                seq: index.size(),
                what: format!(
                    "changed bytes: the {} frame at byte {} fails its checksum",
                    crate::log::LOG_FILE,
                    index.log_end
                ),
            }
            .into());
        }
        let mut indexed = Vec::with_capacity(frame.entries.len());
        let (mut seq, mut head) = (index.size(), index.head);
        for (offset, e) in frame.entries {
            let entry = Entry::decode(&e.record).ok_or_else(|| Damage {
                seq,
                what: "malformed entry record".into(),
            })?;
            if entry.seq != seq || entry.prev_hash != head {
                return Err(Damage {
                    seq,
                    what: format!(
                        "the {} frame at byte {} does not continue the chain",
                        crate::log::LOG_FILE,
                        index.log_end
                    ),
                }
                .into());
            }
            indexed.push(Indexed {
                at: Located {
                    offset,
                    len: e.record.len() as u32,
                    hash: e.hash,
                },
                document: e.document,
                envelope_id: Digest::of(&entry.envelope),
                subject: entry.subject,
            });
            seq += 1;
            head = e.hash;
        }
        index.apply(indexed, frame.rows, end);
    }
    Ok(Files {
        log,
        index: RwLock::new(index),
        failed: std::sync::atomic::AtomicBool::new(false),
    })
}

impl Ledger {
    /// Opens (creating if needed) the ledger in `dir`; `origin` names it in checkpoints.
    ///
    /// Rebuilds the indices from the log and cuts off a torn last frame (a group never
    /// acknowledged). Refuses a log that does not parse or does not chain (run verification
    /// to locate the damage), one held by another opener, and one that does not extend the
    /// last signed checkpoint (rolled back).
    pub fn open(dir: &Path, origin: &str) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let files = Arc::new(open_files(dir, true)?);
        let (requests, rx) = std::sync::mpsc::channel();
        let writer = {
            let files = files.clone();
            std::thread::Builder::new()
                .name("ledger-writer".into())
                .spawn(move || writer(&files, &rx))
                .map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?
        };
        let ledger = Self {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            files,
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
                "rolled back: the last signed checkpoint covers {} entries, the log has {size}",
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

    /// The directory holding the log and checkpoint.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        read(&self.files.index).size()
    }

    /// Whether the ledger has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hash of the last entry ([`Digest::ZERO`] when empty).
    pub fn head(&self) -> Digest {
        read(&self.files.index).head
    }

    /// Current size, RFC 6962 root and head, taken together.
    pub fn tree_head(&self) -> (u64, Digest, Digest) {
        let s = read(&self.files.index);
        (s.size(), s.tree.root(), s.head)
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

    /// Appends several entries in this order, all in the same frame of the log (never split
    /// between frames), and returns once they are durable; one outcome per append, in order.
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
        let bytes: u64 = appends.iter().map(Append::frame_bytes).sum();
        if bytes > MAX_FRAME_BYTES {
            return Err(Error::InvalidAppend(format!(
                "the appends of one call (with their rows) must take at most {MAX_FRAME_BYTES} bytes in the log, got {bytes}"
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
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.requests
            .send(Request { appends, reply })
            .map_err(|_| Error::Flush("the ledger writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| Error::Flush("the ledger writer has stopped".into()))?
    }

    /// The stored hash of entry `seq`.
    pub fn entry_hash(&self, seq: u64) -> Result<Option<Digest>, Error> {
        Ok(self.located(seq).map(|l| l.hash))
    }

    fn located(&self, seq: u64) -> Option<Located> {
        read(&self.files.index)
            .entries
            .get(usize::try_from(seq).ok()?)
            .copied()
    }

    /// Entry `seq` and its stored hash.
    pub fn get(&self, seq: u64) -> Result<Option<(Entry, Digest)>, Error> {
        self.located(seq)
            .map(|at| read_entry(&self.files.log, seq, at))
            .transpose()
    }

    /// Entries from `from` onwards (as many as the ledger holds now), in order, with their
    /// stored hashes.
    pub fn entries(&self, from: u64) -> impl Iterator<Item = Result<(Entry, Digest), Error>> + '_ {
        (from..self.len()).filter_map(|seq| self.get(seq).transpose())
    }

    /// Sequence numbers of the entries that recorded document `id`.
    pub fn document_entries(&self, id: &Digest) -> Result<Vec<u64>, Error> {
        Ok(read(&self.files.index)
            .documents
            .get(id)
            .map(|v| v.iter().map(|(seq, _)| *seq).collect())
            .unwrap_or_default())
    }

    /// Sequence numbers of the entries about `subject`.
    pub fn subject_entries(&self, subject: &str) -> Result<Vec<u64>, Error> {
        Ok(read(&self.files.index)
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default())
    }

    /// A caller row written by an earlier append's `extra`.
    pub fn extra(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let at = read(&self.files.index).rows.get(key).copied();
        at.map(|at| self.row_value(key, at)).transpose()
    }

    /// A caller row's value, read from the log where the index says it lies.
    fn row_value(&self, key: &[u8], (offset, len): (u64, u32)) -> Result<Vec<u8>, Error> {
        self.files.log.read(offset, len as usize)?.ok_or_else(|| {
            Error::from(Damage {
                seq: self.len(),
                what: format!(
                    "the row {} lies past the end of {}",
                    String::from_utf8_lossy(key),
                    crate::log::LOG_FILE
                ),
            })
        })
    }

    /// Caller rows whose keys start with `prefix`, in key order (as they are now).
    pub fn extra_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), Error>> + '_ {
        let rows: Vec<(Vec<u8>, (u64, u32))> = read(&self.files.index)
            .rows
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, at)| (k.clone(), *at))
            .collect();
        rows.into_iter()
            .map(|(k, at)| Ok((k.clone(), self.row_value(&k, at)?)))
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
    /// log. Refuses one that would not extend the last checkpoint signed.
    pub async fn sign_checkpoint(&self, key: &SigningKey) -> Result<Checkpoint, Error> {
        let _one_signer = self.signing.lock().await;
        // Every entry in the tree head is durable: the state moves only after the sync.
        let (size, root, head) = self.tree_head();
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
    /// checked with `key` when given), reading the log as it is now.
    pub fn verify(&self, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
        let end = read(&self.files.index).log_end;
        verify_log(&self.files.log, end, true, &self.dir, key)
    }

    /// Waits until every append queued so far is durable.
    pub async fn flush(&self) -> Result<(), Error> {
        self.request(Vec::new()).await.map(|_| ())
    }

    /// Flushes and closes the ledger (what a service does on SIGTERM).
    pub fn close(self) {
        drop(self);
    }

    /// The log and indices (for export).
    pub(crate) fn files(&self) -> &Files {
        &self.files
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Dropping the only sender ends the writer after the appends already queued.
        self.requests = std::sync::mpsc::channel().0;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The writer thread: takes every request waiting, up to `MAX_GROUP` appends in all, writes
/// them as one frame with one sync, answers each.
///
/// A request is never split: one that would take the group past `MAX_GROUP` waits for the
/// next group, which it starts (alone, when it is larger than `MAX_GROUP` by itself).
fn writer(files: &Files, rx: &std::sync::mpsc::Receiver<Request>) {
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
        let mut bytes = first.bytes();
        group.push(first);
        while total < MAX_GROUP {
            match rx.try_recv() {
                Ok(r)
                    if total + r.appends.len() <= MAX_GROUP
                        && bytes + r.bytes() <= MAX_FRAME_BYTES =>
                {
                    total += r.appends.len();
                    bytes += r.bytes();
                    group.push(r);
                }
                Ok(r) => {
                    held = Some(r);
                    break;
                }
                Err(_) => break,
            }
        }
        match write_group(files, &mut group) {
            Ok(outcomes) => {
                for (r, o) in group.drain(..).zip(outcomes) {
                    let _ = r.reply.send(Ok(o));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger write failed; nothing of it was acknowledged");
                let msg = e.to_string();
                for r in group.drain(..) {
                    let _ = r.reply.send(Err(Error::Write(msg.clone())));
                }
            }
        }
    }
}

/// Writes the appends of a group of requests, in order, as one frame at the end of the log,
/// syncs it, then adds them to the indices. The outcomes are returned per request.
///
/// A failed write or sync changes no index, cuts the file back where the frame began (best
/// effort) and stops the ledger taking appends: after a failed sync the file's pages cannot
/// be trusted until it is read back on the next open, which may find the unacknowledged
/// frame whole (then its entries stand, as any unacknowledged append may) or torn (cut off).
fn write_group(files: &Files, group: &mut [Request]) -> Result<Vec<Vec<Appended>>, Error> {
    if files.failed.load(Ordering::SeqCst) {
        return Err(Error::Write(
            "an earlier write to the log failed; the ledger takes no appends until it is opened again".into(),
        ));
    }
    let mut outcomes: Vec<Vec<Appended>> = group
        .iter()
        .map(|r| Vec::with_capacity(r.appends.len()))
        .collect();
    let mut in_group: HashMap<(Digest, Digest), Appended> = HashMap::new();
    let mut new: Vec<FrameEntry> = Vec::new();
    let mut indexed: Vec<Indexed> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let (mut seq, mut head, start) = {
        let i = read(&files.index);
        (i.size(), i.head, i.log_end)
    };
    for (r, out) in group.iter_mut().zip(outcomes.iter_mut()) {
        for (a, envelope_id) in r.appends.iter_mut() {
            let envelope_id = *envelope_id;
            if let Some(first) = in_group.get(&(a.document, envelope_id)) {
                out.push(Appended {
                    new: false,
                    ..*first
                });
                continue;
            }
            // Only this thread adds to the indices, so what it reads here stays true.
            if let Some(first) = read(&files.index).recorded(&a.document, &envelope_id) {
                out.push(first);
                continue;
            }
            let entry = Entry {
                seq,
                prev_hash: head,
                time_unix_micros: a.time_unix_micros,
                kind: std::mem::take(&mut a.kind),
                subject: std::mem::take(&mut a.subject),
                envelope: std::mem::take(&mut a.envelope),
            };
            let record = entry.record();
            let hash = crate::entry::hash_record(&record);
            indexed.push(Indexed {
                at: Located {
                    offset: 0,
                    len: record.len() as u32,
                    hash,
                },
                document: a.document,
                envelope_id,
                subject: entry.subject,
            });
            new.push(FrameEntry {
                record,
                hash,
                document: a.document,
            });
            rows.append(&mut a.extra);
            let appended = Appended {
                seq,
                hash,
                new: true,
            };
            seq += 1;
            head = hash;
            in_group.insert((a.document, envelope_id), appended);
            out.push(appended);
        }
    }
    if !new.is_empty() {
        let mut frame = crate::log::encode(&new, rows);
        drop(new);
        for (e, off) in indexed.iter_mut().zip(&frame.records) {
            e.at.offset = start + off;
        }
        for (off, _) in frame.rows.iter_mut().filter_map(|(_, v)| v.as_mut()) {
            *off += start;
        }
        if let Err(e) = files.log.write_durable(start, &frame.bytes) {
            files.failed.store(true, Ordering::SeqCst);
            // Best effort: leave no partial frame for the next open to find.
            let _ = files.log.truncate(start);
            return Err(e);
        }
        let end = start + frame.bytes.len() as u64;
        write(&files.index).apply(indexed, frame.rows, end);
    }
    Ok(outcomes)
}

/// Every entry of an open log, in order, with its stored hash.
pub(crate) fn stored_entries(
    files: &Files,
) -> impl Iterator<Item = Result<(Entry, Digest), Error>> + '_ {
    let located = read(&files.index).entries.clone();
    located
        .into_iter()
        .enumerate()
        .map(|(seq, at)| read_entry(&files.log, seq as u64, at))
}

/// Calls `f` with every entry the log in `dir` holds, frame by frame and as stored, whether
/// it checks or not, up to the first bytes that are not a frame or a record.
pub(crate) fn for_each_stored(
    dir: &Path,
    mut f: impl FnMut(Entry, Digest) -> Result<(), Error>,
) -> Result<(), Error> {
    let log = Log::open(dir, false)?;
    let end = log.len()?;
    let mut at = 0;
    while let Read::Frame {
        frame, end: next, ..
    } = log.read_frame(at, end)?
    {
        for (_, e) in frame.entries {
            let Some(entry) = Entry::decode(&e.record) else {
                return Ok(());
            };
            f(entry, e.hash)?;
        }
        at = next;
    }
    Ok(())
}

/// Reads and decodes entry `seq`, found at `at`.
fn read_entry(log: &Log, seq: u64, at: Located) -> Result<(Entry, Digest), Error> {
    let record = log
        .read(at.offset, at.len as usize)?
        .ok_or_else(|| Damage {
            seq,
            what: format!("{} ends before this entry", crate::log::LOG_FILE),
        })?;
    let entry = Entry::decode(&record).ok_or_else(|| Damage {
        seq,
        what: "malformed entry record".into(),
    })?;
    Ok((entry, at.hash))
}

/// Verifies the ledger stored in `dir` (which must not be held by a running service), reading
/// its log from the first byte; a torn last frame (never acknowledged) is not counted and is
/// left as it is, and the signed checkpoint still says how many entries there must be.
pub fn verify_dir(dir: &Path, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
    let log = Log::open(dir, false)?;
    let end = log.len()?;
    verify_log(&log, end, false, dir, key)
}

/// Entries hashed per parallel round during verification.
const VERIFY_CHUNK: usize = 4096;

/// Every entry of `log` up to byte `end`, checked record by record against its stored hash,
/// the chain, and the last checkpoint: the first damage is named at its entry. A frame whose
/// records all check but whose checksum fails has changed bytes elsewhere (a stored hash,
/// a document id, a caller row) and is named at its first entry.
fn verify_log(
    log: &Log,
    end: u64,
    acknowledged: bool,
    dir: &Path,
    key: Option<&PublicKey>,
) -> Result<Result<Verified, Damage>, Error> {
    let checkpoint = read_checkpoint(dir)?;
    if let Some(d) = check_checkpoint_signature(checkpoint.as_ref(), key) {
        return Ok(Err(d));
    }
    let mut v = ChainVerifier::new(checkpoint);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    // Records are hashed in chunks on every core; the chain checks then run in order.
    let mut chunk: Vec<FrameEntry> = Vec::with_capacity(VERIFY_CHUNK);
    let push = |v: &mut ChainVerifier, chunk: &mut Vec<FrameEntry>| -> Result<(), Damage> {
        let hashes = hash_chunk(chunk, threads);
        for (e, hash) in chunk.drain(..).zip(hashes) {
            v.push_hashed(v.position(), &e.record, &e.hash, hash)?;
        }
        Ok(())
    };
    let mut at = 0;
    loop {
        match log.read_frame(at, end)? {
            Read::End => break,
            // Below the end of what was acknowledged, nothing is torn.
            Read::Torn if acknowledged => {
                if let Err(d) = push(&mut v, &mut chunk) {
                    return Ok(Err(d));
                }
                return Ok(Err(Damage {
                    seq: v.position(),
                    what: format!(
                        "changed bytes: the {} frame at byte {at} is cut short or fails its checksum",
                        crate::log::LOG_FILE
                    ),
                }));
            }
            Read::Torn => break,
            Read::Damaged(what) => {
                if let Err(d) = push(&mut v, &mut chunk) {
                    return Ok(Err(d));
                }
                return Ok(Err(Damage {
                    seq: v.position(),
                    what,
                }));
            }
            Read::Frame {
                frame,
                end: next,
                checksum_ok,
            } => {
                chunk.extend(frame.entries.into_iter().map(|(_, e)| e));
                if !checksum_ok || chunk.len() >= VERIFY_CHUNK {
                    let first = v.position();
                    if let Err(d) = push(&mut v, &mut chunk) {
                        return Ok(Err(d));
                    }
                    if !checksum_ok {
                        return Ok(Err(Damage {
                            seq: first,
                            what: format!(
                                "changed bytes: the {} frame at byte {at} fails its checksum",
                                crate::log::LOG_FILE
                            ),
                        }));
                    }
                }
                at = next;
            }
        }
    }
    if let Err(d) = push(&mut v, &mut chunk) {
        return Ok(Err(d));
    }
    Ok(v.finish())
}

/// The record hash of each entry, computed on `threads` threads.
fn hash_chunk(chunk: &[FrameEntry], threads: usize) -> Vec<Digest> {
    let hash = |e: &FrameEntry| crate::entry::hash_record(&e.record);
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
