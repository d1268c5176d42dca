//! Verification of a ledger from genesis: pure logic over entries in stored order.
//!
//! [`ChainVerifier`] takes each stored entry (where it was found, its record bytes, the hash
//! stored with it) and finds the first of: a gap, a reordered entry, changed content (the
//! record no longer hashes to its stored hash), a broken link (prev_hash is not the hash of
//! the entry before), or a Merkle root that differs from the signed checkpoint's at its size.
//! It hashes each record once and keeps O(log n) state.

use std::fmt;

use corridor_core::Digest;

use crate::checkpoint::TreeHead;
use crate::entry::{hash_record, record_header};
use crate::merkle::CompactTree;

/// The first damage found, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Damage {
    /// The first bad sequence number.
    pub seq: u64,
    /// What is wrong there.
    pub what: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad {}: {}", self.seq, self.what)
    }
}

/// What an intact ledger verified to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Number of entries.
    pub entries: u64,
    /// Hash of the last entry ([`Digest::ZERO`] when empty).
    pub head: Digest,
    /// RFC 6962 root over all entry hashes.
    pub root: Digest,
    /// Size of the checkpoint checked against, if one was given.
    pub checkpoint_size: Option<u64>,
    /// Size of the witnessed checkpoint checked against, if one was given.
    pub witnessed_size: Option<u64>,
}

/// Streaming verifier of a ledger's entries in stored order.
pub struct ChainVerifier {
    next: u64,
    prev: Digest,
    tree: CompactTree,
    checkpoint: Option<TreeHead>,
    witnessed: Option<TreeHead>,
}

impl ChainVerifier {
    /// A verifier from genesis; `checkpoint` (what a signed checkpoint claims: the caller
    /// has checked its signature, or is auditing without a key) is compared with the ledger
    /// at its size.
    pub fn new(checkpoint: Option<TreeHead>) -> Self {
        Self {
            next: 0,
            prev: Digest::ZERO,
            tree: CompactTree::new(),
            checkpoint,
            witnessed: None,
        }
    }

    /// Also compares the ledger with `witnessed` at its size: what a checkpoint its
    /// witnesses cosigned claims (the caller has checked the signature and the cosignatures).
    /// A ledger that differs from it, or is shorter, was rewritten after it was witnessed.
    pub fn witnessed(mut self, witnessed: TreeHead) -> Self {
        self.witnessed = Some(witnessed);
        self
    }

    /// Compares the tree so far with `cp`, the checkpoint called `what`, at its size.
    fn compare(&self, at: u64, hash: &Digest, cp: &TreeHead, what: &str) -> Result<(), Damage> {
        if cp.size != self.next {
            return Ok(());
        }
        if cp.head != *hash {
            return Err(Self::damage(
                at,
                format!(
                    "entry differs from the head of the {what} at size {}",
                    cp.size
                ),
            ));
        }
        if cp.root != self.tree.root() {
            return Err(Self::damage(
                at,
                format!("Merkle root at size {} differs from the {what}", cp.size),
            ));
        }
        Ok(())
    }

    fn damage(seq: u64, what: impl Into<String>) -> Damage {
        Damage {
            seq,
            what: what.into(),
        }
    }

    /// The sequence number the next entry must have (entries verified so far).
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Takes the entry stored at position `at`, as record bytes and the stored hash.
    pub fn push(&mut self, at: u64, record: &[u8], stored_hash: &Digest) -> Result<(), Damage> {
        self.push_hashed(at, record, stored_hash, hash_record(record))
    }

    /// As [`ChainVerifier::push`], with the record's hash already computed (so that callers
    /// can hash many records in parallel).
    pub fn push_hashed(
        &mut self,
        at: u64,
        record: &[u8],
        stored_hash: &Digest,
        hash: Digest,
    ) -> Result<(), Damage> {
        let expected = self.next;
        if at > expected {
            return Err(Self::damage(
                expected,
                format!("gap: entry {expected} is missing (the next stored entry is {at})"),
            ));
        }
        if at < expected {
            return Err(Self::damage(
                at,
                format!("reordered: entry {at} appears after entry {}", expected - 1),
            ));
        }
        if hash != *stored_hash {
            return Err(Self::damage(
                at,
                "changed content: the entry does not hash to its recorded hash",
            ));
        }
        let Some((seq, prev_hash)) = record_header(record) else {
            return Err(Self::damage(at, "malformed entry record"));
        };
        if seq != at {
            return Err(Self::damage(
                at,
                format!("reordered: the entry stored at {at} is entry {seq}"),
            ));
        }
        if prev_hash != self.prev {
            return Err(Self::damage(
                at,
                format!(
                    "broken link: prev_hash does not match the hash of entry {}",
                    at.wrapping_sub(1)
                ),
            ));
        }
        self.prev = hash;
        self.tree.push(&hash);
        self.next += 1;
        if let Some(cp) = &self.checkpoint {
            self.compare(at, &hash, cp, "signed checkpoint")?;
        }
        if let Some(cp) = &self.witnessed {
            self.compare(
                at,
                &hash,
                cp,
                "witnessed checkpoint (the ledger was rewritten after its witnesses cosigned it)",
            )?;
        }
        Ok(())
    }

    /// Ends the pass: checks the ledger is not shorter than the checkpoint, and that a
    /// ledger with entries has a checkpoint at all (every ledger signs one of size 0 when it
    /// is created, so a missing one was removed).
    pub fn finish(self) -> Result<Verified, Damage> {
        if self.checkpoint.is_none() && self.next > 0 {
            return Err(Self::damage(
                0,
                format!(
                    "no signed checkpoint: the ledger has {} entries but its checkpoint is missing (removed, or the ledger was replaced)",
                    self.next
                ),
            ));
        }
        if let Some(cp) = &self.checkpoint {
            if cp.size > self.next {
                return Err(Self::damage(
                    self.next,
                    format!(
                        "missing entries: the signed checkpoint covers {} entries, the ledger has {} (rolled back or truncated)",
                        cp.size, self.next
                    ),
                ));
            }
            if cp.size == 0 && cp.root != Digest::of(b"") {
                return Err(Self::damage(0, "checkpoint of size 0 has a non-empty root"));
            }
        }
        if let Some(w) = &self.witnessed
            && w.size > self.next
        {
            return Err(Self::damage(
                self.next,
                format!(
                    "missing entries: the witnessed checkpoint covers {} entries, the ledger has {} (rolled back after its witnesses cosigned it)",
                    w.size, self.next
                ),
            ));
        }
        Ok(Verified {
            entries: self.next,
            head: self.prev,
            root: self.tree.root(),
            checkpoint_size: self.checkpoint.map(|c| c.size),
            witnessed_size: self.witnessed.map(|c| c.size),
        })
    }
}
