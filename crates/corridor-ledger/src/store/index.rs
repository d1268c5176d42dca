//! The in-memory indices an open ledger's reads are served from: the durable entries'
//! hashes and the Merkle tree over them, entries by subject, and the caller rows. Built when
//! the ledger is opened; after that only the flusher adds to them, once a group is durable.

use std::collections::BTreeMap;

use corridor_core::Digest;

use super::RowChange;
use crate::checkpoint::TreeHead;
use crate::layout::Rebuilt;

/// What readers see: the durable entries' hashes and indices, and the caller rows.
#[derive(Default)]
pub(super) struct Index {
    pub(super) entries: Rebuilt,
    pub(super) rows: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Index {
    pub(super) fn size(&self) -> u64 {
        self.entries.hashes.len() as u64
    }

    pub(super) fn head(&self) -> Digest {
        self.entries.hashes.last().copied().unwrap_or(Digest::ZERO)
    }

    pub(super) fn tree_head(&self) -> TreeHead {
        TreeHead {
            size: self.size(),
            root: self.entries.tree.root(),
            head: self.head(),
        }
    }

    /// Adds a durable group: its new entries (which continue the chain) and row changes.
    pub(super) fn apply(&mut self, entries: Vec<(Digest, String)>, rows: Vec<RowChange>) {
        for (hash, subject) in entries {
            self.entries.push(hash, &subject);
        }
        for r in rows {
            match r.value {
                Some(v) => {
                    self.rows.insert(r.key, v);
                }
                None => {
                    self.rows.remove(&r.key);
                }
            }
        }
    }
}
