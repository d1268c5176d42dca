//! A stopped ledger, read for an audit without changing a byte of it.
//!
//! sled has no read-only mode: opening a database may recover its log and write. An audit
//! must not change what it audits, and must work on a read-only directory, so
//! [`Snapshot::open`] copies the database files into a private temporary directory (holding a
//! shared lock on the database file meanwhile, so no service starts on it mid-copy, and so a
//! running service's lock is found and named) and opens the copy. The checkpoint is read from
//! the audited directory itself. The copy is removed when the snapshot is dropped.

use std::path::{Path, PathBuf};

use corridor_core::{Digest, PublicKey};

use crate::checkpoint::{Note, TreeHead};
use crate::entry::Entry;
use crate::error::Error;
use crate::layout::subtrees::SUBTREE_PREFIX;
use crate::layout::{
    AUDIT_LOCK_WAIT, DB_DIR, WITNESSED_FILE, claimed, entries_tree, note_or_damage,
    refuse_log_layout, scan, sled_config, split_value, storage, while_locked,
};
use crate::verify::{Damage, Verified};

/// A private copy of a stopped ledger's database, and the ledger's checkpoint.
pub struct Snapshot {
    dir: PathBuf,
    tree: sled::Tree,
    _db: sled::Db,
    checkpoint: Result<Option<Note>, Damage>,
    /// The text of `witnessed.note`, the latest checkpoint that reached a witness quorum.
    witnessed: Option<String>,
    /// Dropped last: the copy's directory.
    _copy: tempfile::TempDir,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Copies the directory `from` into `to` (files and subdirectories).
fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for e in std::fs::read_dir(from).map_err(io(from))? {
        let e = e.map_err(io(from))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().map_err(io(&src))?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| Error::Io {
                path: dst.clone(),
                source: std::io::Error::new(
                    e.kind(),
                    format!("copying {} for the audit: {e}", src.display()),
                ),
            })?;
        }
    }
    Ok(())
}

impl Snapshot {
    /// Copies the stopped ledger in `dir` and opens the copy. Refuses a ledger held by a
    /// running service, a directory without a ledger, one in the earlier log-file layout,
    /// and a database that is not a ledger's; changes nothing in `dir`.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(Error::NotFound(dir.to_owned()));
        }
        refuse_log_layout(dir)?;
        let db_dir = dir.join(DB_DIR);
        if !db_dir.is_dir() {
            return Err(Error::NotFound(dir.to_owned()));
        }
        let not_a_ledger = |why: String| Error::NotALedger {
            dir: dir.to_owned(),
            why,
        };
        let db_file = db_dir.join("db");
        if !db_dir.join("conf").is_file() || !db_file.is_file() {
            return Err(not_a_ledger(format!(
                "{DB_DIR}/ holds no sled database (no conf and db files)"
            )));
        }
        let lock = std::fs::File::open(&db_file).map_err(io(&db_file))?;
        while_locked(dir, AUDIT_LOCK_WAIT, || match lock.try_lock_shared() {
            Ok(()) => Ok(Some(())),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(&db_file)(e)),
        })?;
        let copy = tempfile::Builder::new()
            .prefix("corridor-audit-")
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        let copied = copy.path().join(DB_DIR);
        copy_dir(&db_dir, &copied)?;
        // Read under the lock too, so that the checkpoint and the copy are of one moment.
        let checkpoint = note_or_damage(dir)?;
        let witnessed_path = dir.join(WITNESSED_FILE);
        let witnessed = match std::fs::read_to_string(&witnessed_path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&witnessed_path)(e)),
        };
        drop(lock);
        let db = sled_config(&copied)
            .open()
            .map_err(|e| crate::store::open_error(dir, e))?;
        let tree = entries_tree(&db, dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            tree,
            _db: db,
            checkpoint,
            witnessed,
            _copy: copy,
        })
    }

    /// The audited directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The note of the ledger's last signed checkpoint (its signature unchecked: see
    /// [`Snapshot::verify`]), if it has a readable one.
    pub fn checkpoint_note(&self) -> Option<&Note> {
        self.checkpoint.as_ref().ok().and_then(Option::as_ref)
    }

    /// The text of the ledger's latest witnessed checkpoint (`witnessed.note`: its signature
    /// and cosignatures unchecked), if it has one.
    pub fn witnessed_note(&self) -> Option<&str> {
        self.witnessed.as_deref()
    }

    /// Verifies the ledger from genesis: every record against its stored hash, every link,
    /// consecutive keys, the stored subtree hashes against the entries, the Merkle root and head against the last signed checkpoint (whose
    /// signature is checked with `key` when given), and that a ledger with entries has one.
    pub fn verify(&self, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
        self.verify_witnessed(key, None)
    }

    /// [`Snapshot::verify`], also comparing the ledger with `witnessed` at its size: the
    /// tree a witnessed checkpoint claims, its signature and cosignatures checked by the
    /// caller (a ledger that differs was rewritten after its witnesses cosigned it).
    pub fn verify_witnessed(
        &self,
        key: Option<&PublicKey>,
        witnessed: Option<TreeHead>,
    ) -> Result<Result<Verified, Damage>, Error> {
        let note = match &self.checkpoint {
            Ok(note) => note.as_ref(),
            Err(d) => return Ok(Err(d.clone())),
        };
        let checkpoint = match claimed(note, key) {
            Ok(tree) => tree,
            Err(d) => return Ok(Err(d)),
        };
        scan(&self.dir, &self.tree, None, checkpoint, witnessed, None)
    }

    /// Every entry as stored, in key order, damaged or not, each with its stored hash; a
    /// value that is not an entry at all is left out (an export then shows the gap).
    pub fn entries(&self) -> impl Iterator<Item = Result<(Entry, Digest), Error>> + '_ {
        self.tree.range(..[SUBTREE_PREFIX]).filter_map(|r| match r {
            Err(e) => Some(Err(storage(&self.dir)(e))),
            Ok((_, v)) => split_value(&v)
                .and_then(|(rec, hash)| Some((Entry::decode(rec)?, hash)))
                .map(Ok),
        })
    }
}

/// Verifies the stopped ledger in `dir` (see [`Snapshot::verify`]), changing nothing there.
pub fn verify_dir(dir: &Path, key: Option<&PublicKey>) -> Result<Result<Verified, Damage>, Error> {
    Snapshot::open(dir)?.verify(key)
}
