//! JSON Lines export of a ledger, and its offline verification.
//!
//! One entry per line:
//! `{"seq":0,"prev_hash":"<hex>","time_unix_micros":..,"kind":"..","subject":"..",
//! "envelope":"<base64>","hash":"<hex>"}`, then, when the ledger has one, a last line
//! `{"checkpoint":"<signed note text>"}`. Offline verification re-encodes each entry's
//! record from these fields (the record encoding is canonical), so it needs only the file
//! and the node's public key.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, Note};
use crate::entry::Entry;
use crate::error::Error;
use crate::layout::claimed;
use crate::snapshot::Snapshot;
use crate::store::Ledger;
use crate::verify::{ChainVerifier, Damage, Verified};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    seq: u64,
    prev_hash: String,
    time_unix_micros: i64,
    kind: String,
    subject: String,
    envelope: String,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    checkpoint: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Entry(EntryLine),
    Checkpoint(CheckpointLine),
}

/// Writes every entry of `ledger`, then its last checkpoint, to `out` as JSON Lines.
/// Returns the number of entries written.
pub fn export(ledger: &Ledger, out: &Path) -> Result<u64, Error> {
    // The checkpoint first: the entries read after it cover it, whatever is appended meanwhile.
    let checkpoint = ledger.last_checkpoint()?;
    let mut w = ExportWriter::create(out)?;
    for r in ledger.entries(0) {
        let (e, hash) = r?;
        w.entry(&e, &hash)?;
    }
    w.finish(checkpoint.as_ref().map(Checkpoint::note))
}

/// Exports the stopped ledger in `dir` as its database holds it, damaged or not: every entry
/// in key order, each with its stored hash (so `ledger verify --file` then locates the
/// damage). Reads a private copy (see [`Snapshot`]): changes nothing in `dir`, and refuses a
/// ledger a running service holds.
pub fn export_dir(dir: &Path, out: &Path) -> Result<u64, Error> {
    let snapshot = Snapshot::open(dir)?;
    let mut w = ExportWriter::create(out)?;
    for r in snapshot.entries() {
        let (e, hash) = r?;
        w.entry(&e, &hash)?;
    }
    w.finish(snapshot.checkpoint_note().map(Note::text))
}

/// Writes an export file line by line: for exports from a source other than a local database
/// (a running service's ledger read service, say).
pub struct ExportWriter {
    out: std::path::PathBuf,
    w: BufWriter<std::fs::File>,
    entries: u64,
}

impl ExportWriter {
    /// Creates (or truncates) the export file.
    pub fn create(out: &Path) -> Result<Self, Error> {
        let file = std::fs::File::create(out).map_err(|source| Error::Io {
            path: out.to_owned(),
            source,
        })?;
        Ok(Self {
            out: out.to_owned(),
            w: BufWriter::new(file),
            entries: 0,
        })
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.out.clone(),
            source,
        }
    }

    fn line(&mut self, value: &impl Serialize) -> Result<(), Error> {
        let written = serde_json::to_writer(&mut self.w, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.w.write_all(b"\n"));
        written.map_err(|e| self.io(e))
    }

    /// Writes one entry with its hash as stored.
    pub fn entry(&mut self, e: &Entry, hash: &Digest) -> Result<(), Error> {
        self.line(&EntryLine {
            seq: e.seq,
            prev_hash: e.prev_hash.to_hex(),
            time_unix_micros: e.time_unix_micros,
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            envelope: B64.encode(&e.envelope),
            hash: hash.to_hex(),
        })?;
        self.entries += 1;
        Ok(())
    }

    /// Writes the checkpoint line (the signed note's text, if any), flushes and fsyncs the
    /// file; returns the number of entries written.
    pub fn finish(mut self, checkpoint: Option<&str>) -> Result<u64, Error> {
        if let Some(note) = checkpoint {
            self.line(&CheckpointLine {
                checkpoint: note.to_owned(),
            })?;
        }
        let entries = self.entries;
        let out = self.out.clone();
        let io = |source| Error::Io {
            path: out.clone(),
            source,
        };
        let file = self.w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(entries)
    }
}

/// Verifies an exported ledger offline: every entry's hash and link, the Merkle root at the
/// checkpoint's size and, when `key` is given, the checkpoint's signature. A file that is not
/// an export at all is an [`Error::Export`]; damage to one is a [`Damage`].
pub fn verify_export(
    path: &Path,
    key: Option<&PublicKey>,
) -> Result<Result<Verified, Damage>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut entries = Vec::new();
    let mut checkpoint = None;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Export {
            line: i + 1,
            reason,
        };
        match serde_json::from_str::<Line>(&line).map_err(|e| bad(e.to_string()))? {
            Line::Checkpoint(c) => {
                checkpoint =
                    Some(Note::parse(&c.checkpoint).map_err(|e| bad(format!("checkpoint: {e}")))?)
            }
            Line::Entry(l) => {
                let hex =
                    |f: &str, s: &str| Digest::parse_hex(f, s).map_err(|e| bad(e.to_string()));
                let e = Entry {
                    seq: l.seq,
                    prev_hash: hex("prev_hash", &l.prev_hash)?,
                    time_unix_micros: l.time_unix_micros,
                    kind: l.kind,
                    subject: l.subject,
                    envelope: B64
                        .decode(&l.envelope)
                        .map_err(|e| bad(format!("envelope: {e}")))?,
                };
                Entry::check_limits(&e.kind, &e.subject, &e.envelope).map_err(bad)?;
                entries.push((e, hex("hash", &l.hash)?));
            }
        }
    }
    let checkpoint = match claimed(checkpoint.as_ref(), key) {
        Ok(tree) => tree,
        Err(d) => return Ok(Err(d)),
    };
    let present: std::collections::HashSet<u64> = entries.iter().map(|(e, _)| e.seq).collect();
    let mut v = ChainVerifier::new(checkpoint);
    for (expected, (e, hash)) in (0u64..).zip(&entries) {
        // An entry missing from the file is a gap; one present elsewhere is a reordering,
        // which the verifier names from the entry's own seq.
        let at = if e.seq > expected && !present.contains(&expected) {
            e.seq
        } else {
            expected
        };
        if let Err(d) = v.push(at, &e.record(), hash) {
            return Ok(Err(d));
        }
    }
    Ok(v.finish())
}
