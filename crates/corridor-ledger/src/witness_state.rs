//! A witness's durable state, in a sled database of its own: for each log origin, the latest
//! checkpoint the witness cosigned (the log's note with the witness's cosignature line), and
//! the equivocation evidence it found.
//!
//! [`WitnessState::add_checkpoint`] decides on a request ([`crate::witness::decide`]) and
//! stores the new record under one lock, and flushes it before it returns: two requests
//! racing cannot roll the record back, and a cosignature is never returned for a record a
//! crash could lose. On open, every stored record must carry this witness's own valid
//! cosignature, so a record changed on disk stops the witness rather than making it
//! forget what it cosigned.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use corridor_core::PublicKey;

use crate::cosignature::cosigners;
use crate::error::Error;
use crate::witness::{AddCheckpoint, Evidence, Refusal, Tree, decide};

/// The sled tree of the latest cosigned checkpoint per origin.
const LOGS_TREE: &str = "logs";
/// The sled tree of evidence, by number.
const EVIDENCE_TREE: &str = "evidence";

/// What became of an `add-checkpoint` request.
#[derive(Debug)]
pub enum Outcome {
    /// Cosigned and stored: the cosignature line to answer with.
    Cosigned(String),
    /// Refused; nothing stored. For [`Refusal::Inconsistent`], the checkpoint cosigned
    /// before and the one refused, from which the caller may make [`Evidence`].
    Refused(Refusal, Option<Box<(Tree, Tree)>>),
}

/// A witness's records, open.
pub struct WitnessState {
    dir: PathBuf,
    db: sled::Db,
    logs: sled::Tree,
    evidence: sled::Tree,
    lock: Mutex<()>,
}

impl WitnessState {
    /// Opens (creating if needed) the state in `dir` of witness `name` whose public key is
    /// `key`, checking that every record carries its cosignature.
    pub fn open(dir: &Path, name: &str, key: &PublicKey) -> Result<Self, Error> {
        let storage = |source| Error::Storage {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let db = sled::open(dir).map_err(storage)?;
        let logs = db.open_tree(LOGS_TREE).map_err(storage)?;
        let evidence = db.open_tree(EVIDENCE_TREE).map_err(storage)?;
        let state = Self {
            dir: dir.to_owned(),
            db,
            logs,
            evidence,
            lock: Mutex::new(()),
        };
        let me = [(name.to_owned(), *key)];
        for item in state.logs.iter() {
            let (k, v) = item.map_err(storage)?;
            let origin = String::from_utf8_lossy(&k).into_owned();
            let tree = state.read(&k, &v)?;
            if tree.origin != origin || cosigners(&tree.note, &me).is_empty() {
                return Err(state.damaged(format!(
                    "the record of log {origin:?} does not carry this witness's cosignature of it"
                )));
            }
        }
        for item in state.evidence.iter() {
            let (_, v) = item.map_err(storage)?;
            serde_json::from_slice::<Evidence>(&v)
                .map_err(|e| state.damaged(format!("an evidence record is not evidence: {e}")))?;
        }
        Ok(state)
    }

    fn storage(&self, source: sled::Error) -> Error {
        Error::Storage {
            dir: self.dir.clone(),
            source,
        }
    }

    fn damaged(&self, why: String) -> Error {
        Error::NotALedger {
            dir: self.dir.clone(),
            why: format!("witness state damaged: {why}"),
        }
    }

    fn read(&self, key: &[u8], value: &[u8]) -> Result<Tree, Error> {
        let note = std::str::from_utf8(value).map_err(|_| {
            self.damaged(format!(
                "the record of {:?} is not UTF-8",
                String::from_utf8_lossy(key)
            ))
        })?;
        Tree::parse(note).map_err(|e| {
            self.damaged(format!(
                "the record of {:?}: {e}",
                String::from_utf8_lossy(key)
            ))
        })
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Tree>, Error> {
        match self.logs.get(origin).map_err(|e| self.storage(e))? {
            Some(v) => Ok(Some(self.read(origin.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Every log's latest cosigned checkpoint, by origin.
    pub fn logs(&self) -> Result<Vec<Tree>, Error> {
        self.logs
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| self.storage(e))?;
                self.read(&k, &v)
            })
            .collect()
    }

    /// Decides on `request` (the log's key from `log_key`) against the stored record and,
    /// when it is to be cosigned, stores the note with the line `cosign` makes for it, durably,
    /// before returning that line.
    pub fn add_checkpoint<'k>(
        &self,
        request: &AddCheckpoint,
        log_key: impl FnOnce(&str) -> Option<&'k PublicKey>,
        cosign: impl FnOnce(&Tree) -> String,
    ) -> Result<Outcome, Error> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut stored = Ok(None);
        let decided = decide(request, log_key, |origin| {
            stored = self.latest(origin);
            stored.as_ref().ok().cloned().flatten()
        });
        let stored = stored?;
        let tree = match decided {
            Ok(tree) => tree,
            Err(refusal) => {
                let pair = match (&refusal, stored) {
                    (Refusal::Inconsistent { .. }, Some(before)) => {
                        Tree::parse(&request.checkpoint)
                            .ok()
                            .map(|offered| Box::new((before, offered)))
                    }
                    _ => None,
                };
                return Ok(Outcome::Refused(refusal, pair));
            }
        };
        let line = cosign(&tree);
        let mut note = tree.note.clone();
        if !note.ends_with('\n') {
            note.push('\n');
        }
        note.push_str(&line);
        self.logs
            .insert(tree.origin.as_bytes(), note.as_bytes())
            .map_err(|e| self.storage(e))?;
        self.db.flush().map_err(|e| self.storage(e))?;
        Ok(Outcome::Cosigned(line))
    }

    /// Keeps `evidence` durably; returns its number.
    pub fn record_evidence(&self, evidence: &Evidence) -> Result<u64, Error> {
        let id = self.db.generate_id().map_err(|e| self.storage(e))?;
        let json = serde_json::to_vec(evidence).map_err(|e| Error::InvalidAppend(e.to_string()))?;
        self.evidence
            .insert(id.to_be_bytes(), json)
            .map_err(|e| self.storage(e))?;
        self.db.flush().map_err(|e| self.storage(e))?;
        Ok(id)
    }

    /// Every piece of evidence kept, in the order found.
    pub fn evidence(&self) -> Result<Vec<Evidence>, Error> {
        self.evidence
            .iter()
            .map(|item| {
                let (_, v) = item.map_err(|e| self.storage(e))?;
                serde_json::from_slice(&v)
                    .map_err(|e| self.damaged(format!("an evidence record is not evidence: {e}")))
            })
            .collect()
    }
}
