//! How a ledger lies on disk, and the one pass that reads it back.
//!
//! A ledger directory holds a sled database in `db/` and the last signed checkpoint in
//! `checkpoint.note`. Everything is in the database's tree `entries`:
//!
//! | key | value |
//! |---|---|
//! | `u64be(seq)`: 8 bytes, `seq` < 2^63 | the entry's record bytes, then its 32-byte hash |
//! | `0xFE` \|\| ... | the hashes of the Merkle tree's complete subtrees ([`subtrees`]) |
//! | `0xFF` \|\| caller key | a caller row's value |
//!
//! Entry keys are consecutive from 0, so they sort before the subtree rows and every caller
//! row. Nothing else is stored: the chain head, the Merkle tree's frontier and the indices
//! (entries by subject, entries by the sha256 of their envelope bytes) are rebuilt from the
//! records by `scan`, which re-hashes every record, checks each link, each stored subtree
//! hash, and compares the ledger with its signed checkpoint before anything is believed.
//! Any mismatch refuses to open, naming the first bad sequence number.
//!
//! sled recovers its own files after a crash and locks its database against a second
//! process (`flock` on `db/db`): a second opener is told the ledger is in use by a running
//! service (a service's open waits up to 5 s for the lock, an audit's 2 s). sled's recovery takes a log message that fails its checksum for the
//! end of its log, so bytes changed inside sled's files (rather than through sled) show as
//! missing entries when the signed checkpoint covers them, and after the last checkpoint cut
//! the ledger back unseen, as any change to the unsigned tail of a ledger can: what the last
//! checkpoint covers is what an auditor can hold a service to. A directory in the earlier
//! log-file layout (`entries.log`), one whose `db/` is not a sled database, and one whose
//! database has no `entries` tree are refused with one line saying so.

pub mod subtrees;

use std::collections::HashMap;
use std::path::Path;

use corridor_core::Digest;

use crate::checkpoint::{Checkpoint, Note, TreeHead};
use crate::entry::{RecordParts, hash_record};
use crate::error::Error;
use crate::merkle::CompactTree;
use crate::verify::{ChainVerifier, Damage, Verified};

use self::subtrees::{Check, Frontier, SUBTREE_PREFIX};

/// The sled database's directory, inside the ledger directory.
pub const DB_DIR: &str = "db";

/// The sled tree that holds the entries and the caller rows.
pub const ENTRIES_TREE: &str = "entries";

/// First byte of every caller row's key in [`ENTRIES_TREE`].
pub const ROW_PREFIX: u8 = 0xFF;

/// File name of the last signed checkpoint, in the ledger directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.note";

/// File name of the latest checkpoint that reached its witness quorum, with its
/// cosignatures, in the ledger directory.
pub const WITNESSED_FILE: &str = "witnessed.note";

/// The file of the earlier log-file layout, which this version refuses to open.
const LOG_FILE: &str = "entries.log";

/// Sequence numbers stay below this, so entry keys sort before caller rows.
pub(crate) const SEQ_LIMIT: u64 = 1 << 63;

/// The key of entry `seq`.
pub(crate) fn entry_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The key of caller row `key`.
pub(crate) fn row_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(ROW_PREFIX);
    k.extend_from_slice(key);
    k
}

/// Splits a stored entry value into record bytes and stored hash.
pub(crate) fn split_value(v: &[u8]) -> Option<(&[u8], Digest)> {
    let at = v.len().checked_sub(32)?;
    let (rec, h) = v.split_at(at);
    Some((rec, Digest::from_slice("hash", h).ok()?))
}

/// The sled configuration of every ledger, the registry copies and the raw sled benchmark:
/// favour write throughput over space, as append-mostly data wants, and no periodic flush of
/// sled's own (every writer of these databases flushes before it answers).
pub fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        .flush_every_ms(None)
}

/// Refuses a directory in the earlier log-file layout.
pub(crate) fn refuse_log_layout(dir: &Path) -> Result<(), Error> {
    if dir.join(LOG_FILE).exists() {
        return Err(Error::NotALedger {
            dir: dir.to_owned(),
            why: format!(
                "it holds a ledger in the earlier log-file layout ({LOG_FILE}), which this version does not read; export it with the version that wrote it"
            ),
        });
    }
    Ok(())
}

/// Reads the last signed checkpoint's note kept in `dir`, its signature not yet checked
/// (see [`Note::verify`]).
pub fn read_note(dir: &Path) -> Result<Option<Note>, Error> {
    let path = dir.join(CHECKPOINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Note::parse(&text)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// The last signed checkpoint's note in `dir`, or the damage a malformed one is.
pub(crate) fn note_or_damage(dir: &Path) -> Result<Result<Option<Note>, Damage>, Error> {
    match read_note(dir) {
        Ok(cp) => Ok(Ok(cp)),
        Err(Error::Checkpoint(why)) => Ok(Err(Damage {
            seq: 0,
            what: format!("{CHECKPOINT_FILE} is not a checkpoint: {why}"),
        })),
        Err(e) => Err(e),
    }
}

/// Writes the checkpoint durably: a temporary file, fsynced, renamed, the directory fsynced.
pub(crate) fn write_checkpoint(dir: &Path, cp: &Checkpoint) -> Result<(), Error> {
    write_note(dir, CHECKPOINT_FILE, cp.note())
}

/// Writes `text` as `dir/file` durably: a temporary file, fsynced, renamed, the directory
/// fsynced.
pub(crate) fn write_note(dir: &Path, file: &str, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

/// How long an audit waits for a database lock to be released: sled lets go of its files a
/// moment after a database is closed (its I/O threads finish first), so a ledger closed and
/// audited at once would otherwise find the lock still held.
pub(crate) const AUDIT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a service's open waits: longer, so that one starting while an audit copies the
/// database (under a shared lock) waits for the copy.
pub(crate) const OPEN_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Calls `attempt` until it returns `Some` (the lock was had) or `wait` has passed (then the
/// ledger is [`Error::Locked`]).
pub(crate) fn while_locked<T>(
    dir: &Path,
    wait: std::time::Duration,
    mut attempt: impl FnMut() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        if let Some(t) = attempt()? {
            return Ok(t);
        }
        if started.elapsed() >= wait {
            return Err(Error::Locked(dir.to_owned()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

/// A sled error as the ledger reports it.
pub(crate) fn storage(dir: &Path) -> impl Fn(sled::Error) -> Error + '_ {
    move |source| Error::Storage {
        dir: dir.to_owned(),
        source,
    }
}

/// Opens the entries tree of an existing database, refusing one without it.
pub(crate) fn entries_tree(db: &sled::Db, dir: &Path) -> Result<sled::Tree, Error> {
    if !db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == ENTRIES_TREE.as_bytes())
    {
        return Err(Error::NotALedger {
            dir: dir.to_owned(),
            why: format!("its sled database has no `{ENTRIES_TREE}` tree"),
        });
    }
    db.open_tree(ENTRIES_TREE).map_err(storage(dir))
}

/// What [`scan`] rebuilds besides the verification: the state an open ledger serves from.
#[derive(Default)]
pub(crate) struct Rebuilt {
    /// Every entry's hash, by sequence number.
    pub(crate) hashes: Vec<Digest>,
    /// The Merkle tree over them.
    pub(crate) tree: CompactTree,
    /// Subject -> its entries in order.
    pub(crate) subjects: HashMap<String, Vec<u64>>,
    /// sha256 of the exact envelope bytes -> the entry that recorded them.
    pub(crate) envelopes: HashMap<Digest, u64>,
    /// Where the writer goes on with the subtree rows, when the database has them (`None`
    /// when they are still to be made).
    pub(crate) subtrees: Option<Frontier>,
}

impl Rebuilt {
    /// Adds the next entry.
    pub(crate) fn push(&mut self, hash: Digest, subject: &str) {
        let seq = self.hashes.len() as u64;
        if !subject.is_empty() {
            match self.subjects.get_mut(subject) {
                Some(v) => v.push(seq),
                None => {
                    self.subjects.insert(subject.to_owned(), vec![seq]);
                }
            }
        }
        self.tree.push(&hash);
        self.hashes.push(hash);
    }
}

/// Entries read and hashed per round of a scan (hashed on every core).
const CHUNK: usize = 4096;

/// Reads the entries of `tree` below `upto` (all when `None`) in key order and checks each:
/// its key (consecutive sequence numbers), its record against its stored hash, its link,
/// every stored subtree hash ([`subtrees`]: exactly what the entries make when the whole
/// ledger is read, at least that below `upto`), and the ledger against `checkpoint` (a
/// signed checkpoint's claim, its signature checked by the caller or audited without a
/// key) and `witnessed` (a witnessed checkpoint's, checked by the caller). With `rebuild`,
/// also rebuilds the indices an open ledger serves from and the
/// writer's subtree frontier. Caller rows are not read here.
pub(crate) fn scan(
    dir: &Path,
    tree: &sled::Tree,
    upto: Option<u64>,
    checkpoint: Option<TreeHead>,
    witnessed: Option<TreeHead>,
    mut rebuild: Option<&mut Rebuilt>,
) -> Result<Result<Verified, Damage>, Error> {
    let mut v = ChainVerifier::new(checkpoint);
    if let Some(w) = witnessed {
        v = v.witnessed(w);
    }
    let mut subtrees = Check::new(dir, tree, upto.is_none())?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let want_envelopes = rebuild.is_some();
    let end = upto.map_or_else(|| vec![SUBTREE_PREFIX], |n| entry_key(n).to_vec());
    let mut rows = tree.range(..end);
    let mut chunk: Vec<(u64, sled::IVec)> = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        let mut stop: Option<Damage> = None;
        for r in rows.by_ref() {
            match r {
                Ok((k, val)) if k.len() == 8 && k[0] < 0x80 => {
                    let seq = u64::from_be_bytes(k.as_ref().try_into().unwrap_or_default());
                    chunk.push((seq, val));
                }
                Ok((k, _)) => {
                    stop = Some(Damage {
                        seq: v.position() + chunk.len() as u64,
                        what: format!(
                            "the {ENTRIES_TREE} tree holds a key ({}) that is neither an entry's sequence number, a subtree row's nor a caller row's",
                            hex::encode(&k[..k.len().min(16)])
                        ),
                    });
                    break;
                }
                Err(sled::Error::Corruption { .. }) => {
                    stop = Some(Damage {
                        seq: v.position() + chunk.len() as u64,
                        what: "changed bytes on disk: sled finds a failed checksum where this entry is stored".into(),
                    });
                    break;
                }
                Err(e) => return Err(storage(dir)(e)),
            }
            if chunk.len() == CHUNK {
                break;
            }
        }
        let hashes = hash_chunk(&chunk, threads, want_envelopes);
        for ((at, val), (hash, envelope)) in chunk.iter().zip(hashes) {
            let Some((rec, stored)) = split_value(val) else {
                return Ok(Err(Damage {
                    seq: *at,
                    what: "malformed entry value: shorter than a hash".into(),
                }));
            };
            if let Err(d) = v.push_hashed(*at, rec, &stored, hash) {
                return Ok(Err(d));
            }
            if let Err(d) = subtrees.push(&hash)? {
                return Ok(Err(d));
            }
            if let Some(r) = rebuild.as_deref_mut() {
                // The verifier has parsed the record already; it cannot fail here.
                let subject = RecordParts::parse(rec).map_or("", |p| p.subject);
                r.envelopes.insert(envelope, *at);
                r.push(hash, subject);
            }
        }
        if let Some(d) = stop {
            return Ok(Err(d));
        }
        if chunk.len() < CHUNK {
            break;
        }
    }
    let verified = match v.finish() {
        Ok(verified) => verified,
        Err(d) => return Ok(Err(d)),
    };
    let stored = subtrees.stored();
    match subtrees.finish()? {
        Ok(frontier) => {
            if let Some(r) = rebuild {
                r.subtrees = stored.then_some(frontier);
            }
            Ok(Ok(verified))
        }
        Err(d) => Ok(Err(d)),
    }
}

/// Each stored value's record hash (and with `envelopes`, the sha256 of its envelope
/// bytes), computed on `threads` threads. A value too short to hold a record gets zero
/// digests, which the chain check then reports.
fn hash_chunk(
    chunk: &[(u64, sled::IVec)],
    threads: usize,
    envelopes: bool,
) -> Vec<(Digest, Digest)> {
    let hash = |(_, v): &(u64, sled::IVec)| match split_value(v) {
        None => (Digest::ZERO, Digest::ZERO),
        Some((rec, _)) => {
            let envelope = match RecordParts::parse(rec) {
                Some(p) if envelopes => Digest::of(p.envelope),
                _ => Digest::ZERO,
            };
            (hash_record(rec), envelope)
        }
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
        let hashes: Vec<(Digest, Digest)> = parts
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

/// What a note claims, once its signature is checked with `key` when one is given (an
/// audit without a key compares the ledger with the claim alone): the damage when the
/// signature fails.
pub(crate) fn claimed(
    note: Option<&Note>,
    key: Option<&corridor_core::PublicKey>,
) -> Result<Option<TreeHead>, Damage> {
    let Some(note) = note else { return Ok(None) };
    if let Some(key) = key {
        note.clone().verify(key).map_err(|e| Damage {
            seq: note.tree().size,
            what: format!("checkpoint: {e}"),
        })?;
    }
    Ok(Some(note.tree()))
}
