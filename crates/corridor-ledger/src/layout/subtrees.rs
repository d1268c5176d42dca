//! The hashes of the Merkle tree's complete subtrees, kept in the entries tree beside the
//! entries: what inclusion and consistency proofs are read from, and later C2SP tlog-tiles.
//!
//! | key | value |
//! |---|---|
//! | `0xFE` | the marker: the rows below are complete for the entries stored |
//! | `0xFE` \|\| `u8(level)` \|\| `u64be(row)` | the hashes of the complete subtrees `row * 256 ..` at `level`, 32 bytes each, at most 256 |
//!
//! Level 0 holds the RFC 6962 leaf hashes, level `l` the subtrees of 2^l leaves. A row holds
//! exactly the complete subtrees of its level that the entries stored make, so a row not full
//! is the right edge of its level; C2SP tlog-tiles' tile `N` at tile level `L` is row `N` of
//! level `8L` (a full one, or a partial tile). A run of 256 hashes at a level is one read; a
//! proof reads one row per subtree it needs, O(log n) in all.
//!
//! The rows a group of appends fills or extends go into the same atomic sled batch as its
//! entries (the writer keeps each level's open row in memory, a `Frontier`), so a crash
//! never leaves them out of step. On open every row is checked against the entries as they
//! are hashed again (a full row when the scan completes it, the open rows at the end, and no
//! row beyond them): a changed, missing or extra hash is damage, named by the first entry
//! below the subtree. A database without the marker (written before the rows existed, or a
//! new ledger) has its rows made from the entry hashes on open, in batches, the marker
//! written last: a crash meanwhile leaves no marker, and the next open makes them again.

use std::path::Path;

use corridor_core::Digest;

use super::storage;
use crate::error::Error;
use crate::merkle::CompactTree;
use crate::proof::{Node, SubtreeHashes};
use crate::verify::Damage;

/// First byte of the marker's key and of every subtree row's, in the entries tree: after the
/// entries (below `0x80`), before the caller rows (`0xFF`).
pub const SUBTREE_PREFIX: u8 = 0xFE;

/// Subtree hashes per row: the width of a C2SP tlog-tiles tile, so that a tile is one row
/// and a proof's read of one hash fetches at most 8 KiB.
pub const ROW_WIDTH: u64 = 256;

/// The marker's key.
const MARKER_KEY: [u8; 1] = [SUBTREE_PREFIX];

/// The marker's value: what the rows are.
const MARKER_VALUE: &[u8] = b"rfc6962 complete subtrees, 256 hashes a row";

/// Rows written per batch while a ledger's rows are made on open.
const REBUILD_BATCH: usize = 256;

/// One row of subtree hashes: the subtrees `row * 256 ..` at `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowKey {
    level: u8,
    row: u64,
}

impl RowKey {
    fn of(node: Node) -> Self {
        Self {
            level: node.level,
            row: node.index / ROW_WIDTH,
        }
    }

    fn bytes(self) -> [u8; 10] {
        let mut k = [0; 10];
        k[0] = SUBTREE_PREFIX;
        k[1] = self.level;
        k[2..].copy_from_slice(&self.row.to_be_bytes());
        k
    }

    fn parse(key: &[u8]) -> Option<Self> {
        let (&[SUBTREE_PREFIX, level], row) = key.split_first_chunk::<2>()? else {
            return None;
        };
        Some(Self {
            level,
            row: u64::from_be_bytes(row.try_into().ok()?),
        })
    }

    /// The subtree `i` of the row (saturating: a key read from disk may name any row).
    fn node(self, i: usize) -> Node {
        Node {
            level: self.level,
            index: self.row.saturating_mul(ROW_WIDTH).saturating_add(i as u64),
        }
    }

    /// How many subtree hashes the row holds in a tree of `size` leaves.
    fn len_at(self, size: u64) -> usize {
        let complete = size.checked_shr(u32::from(self.level)).unwrap_or(0);
        complete
            .saturating_sub(self.row.saturating_mul(ROW_WIDTH))
            .min(ROW_WIDTH) as usize
    }
}

fn encode(hashes: &[Digest]) -> Vec<u8> {
    hashes.iter().flat_map(|h| *h.as_bytes()).collect()
}

/// The first leaf below `node`, and a description of the subtree, for damage.
fn damage(node: Node, what: &str) -> Damage {
    // Saturating: a key read from disk may name any level and index.
    let leaves = 1u64.checked_shl(u32::from(node.level)).unwrap_or(0);
    let first = node
        .index
        .checked_mul(leaves)
        .filter(|_| leaves > 0)
        .unwrap_or(u64::MAX);
    let last = first.saturating_add(leaves.saturating_sub(1));
    Damage {
        seq: first,
        what: format!(
            "the stored hash of the subtree at level {}, index {} (entries {first} to {last}) {what}",
            node.level, node.index
        ),
    }
}

/// The tree as the writer extends it: its compact form, and at each level the hashes of the
/// row not yet full.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frontier {
    tree: CompactTree,
    open: Vec<Vec<Digest>>,
}

impl Frontier {
    pub(crate) fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Appends the leaf of `entry_hash`; `full` is given each row the leaf fills, before
    /// the frontier starts that level's next row.
    fn push(&mut self, entry_hash: &Digest, mut full: impl FnMut(RowKey, &[Digest])) {
        let size = self.tree.size();
        let open = &mut self.open;
        self.tree.push_with(entry_hash, |level, hash| {
            let l = usize::from(level);
            if open.len() == l {
                open.push(Vec::with_capacity(ROW_WIDTH as usize));
            }
            open[l].push(*hash);
            if open[l].len() as u64 == ROW_WIDTH {
                let index = ((size + 1) >> level) - 1;
                full(RowKey::of(Node { level, index }), &open[l]);
                open[l].clear();
            }
        });
    }

    /// The rows not full and not empty.
    fn open_rows(&self) -> impl Iterator<Item = (RowKey, &[Digest])> {
        let size = self.size();
        self.open
            .iter()
            .enumerate()
            .filter(|(_, hashes)| !hashes.is_empty())
            .map(move |(l, hashes)| {
                let level = l as u8;
                let index = size >> level;
                (RowKey::of(Node { level, index }), hashes.as_slice())
            })
    }

    /// Appends the leaves of `entry_hashes` and puts every row they fill or extend into
    /// `batch`: what a group of appends writes with its entries.
    pub(crate) fn extend<'a>(
        &mut self,
        entry_hashes: impl IntoIterator<Item = &'a Digest>,
        batch: &mut sled::Batch,
    ) {
        let before = self.size();
        for h in entry_hashes {
            self.push(h, |key, hashes| {
                batch.insert(&key.bytes()[..], encode(hashes));
            });
        }
        let after = self.size();
        for (key, hashes) in self.open_rows() {
            // Extended exactly when a subtree of its level was completed.
            if before >> key.level != after >> key.level {
                batch.insert(&key.bytes()[..], encode(hashes));
            }
        }
    }
}

/// The check of the stored rows against the entries, as a scan hashes them again, and the
/// frontier it builds meanwhile.
pub(crate) struct Check<'a> {
    dir: &'a Path,
    tree: &'a sled::Tree,
    frontier: Frontier,
    /// Whether the database has the marker: without it there is nothing to check (the rows
    /// are made on open).
    stored: bool,
    /// Whether the scan reads the whole ledger, so that rows must hold exactly what its
    /// entries make; an open ledger's rows may also hold appends not yet durable.
    exact: bool,
    /// Full rows the last push filled, to compare.
    filled: Vec<(RowKey, Vec<Digest>)>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(dir: &'a Path, tree: &'a sled::Tree, exact: bool) -> Result<Self, Error> {
        let stored = tree
            .get(MARKER_KEY)
            .map_err(storage(dir))?
            .is_some_and(|v| v == MARKER_VALUE);
        Ok(Self {
            dir,
            tree,
            frontier: Frontier::default(),
            stored,
            exact,
            filled: Vec::new(),
        })
    }

    /// Whether the database has its rows (the marker).
    pub(crate) fn stored(&self) -> bool {
        self.stored
    }

    /// Compares row `key` as stored with `want`: all of it, or (an open row, not exact) its
    /// start.
    fn compare(
        &self,
        key: RowKey,
        want: &[Digest],
        whole: bool,
    ) -> Result<Result<(), Damage>, Error> {
        let stored = self.tree.get(key.bytes()).map_err(storage(self.dir))?;
        let stored = stored.as_deref().unwrap_or_default();
        if stored.len() % 32 != 0 {
            return Ok(Err(damage(
                key.node(0),
                "is in a row whose length is not a multiple of 32 bytes",
            )));
        }
        for (i, w) in want.iter().enumerate() {
            match stored.get(i * 32..(i + 1) * 32) {
                None => return Ok(Err(damage(key.node(i), "is missing"))),
                Some(s) if s != w.as_bytes() => {
                    return Ok(Err(damage(
                        key.node(i),
                        "differs from the hash of those entries",
                    )));
                }
                Some(_) => {}
            }
        }
        if whole && stored.len() > want.len() * 32 {
            return Ok(Err(damage(
                key.node(want.len()),
                "is stored, but the ledger's entries do not make that subtree",
            )));
        }
        Ok(Ok(()))
    }

    /// Takes the next entry's hash.
    pub(crate) fn push(&mut self, entry_hash: &Digest) -> Result<Result<(), Damage>, Error> {
        let (stored, filled) = (self.stored, &mut self.filled);
        self.frontier.push(entry_hash, |key, hashes| {
            if stored {
                filled.push((key, hashes.to_vec()));
            }
        });
        for (key, want) in std::mem::take(&mut self.filled) {
            if let Err(d) = self.compare(key, &want, true)? {
                return Ok(Err(d));
            }
        }
        Ok(Ok(()))
    }

    /// Ends the check: the open rows, and (exact) no row beyond them. Returns the frontier.
    pub(crate) fn finish(self) -> Result<Result<Frontier, Damage>, Error> {
        if !self.stored {
            return Ok(Ok(self.frontier));
        }
        for (key, want) in self.frontier.open_rows() {
            if let Err(d) = self.compare(key, want, self.exact)? {
                return Ok(Err(d));
            }
        }
        if self.exact {
            // Every row the entries make was compared; any other is one too many.
            let size = self.frontier.size();
            for r in self.tree.scan_prefix(MARKER_KEY) {
                let (k, _) = r.map_err(storage(self.dir))?;
                match RowKey::parse(&k) {
                    _ if k.as_ref() == MARKER_KEY => {}
                    Some(key) if key.len_at(size) > 0 => {}
                    Some(key) => {
                        return Ok(Err(damage(
                            key.node(0),
                            "is stored, but the ledger's entries do not make that subtree",
                        )));
                    }
                    None => {
                        return Ok(Err(Damage {
                            seq: size,
                            what: format!(
                                "the entries tree holds a key ({}) that is neither an entry's, a subtree row's nor a caller row's",
                                hex::encode(&k[..k.len().min(16)])
                            ),
                        }));
                    }
                }
            }
        }
        Ok(Ok(self.frontier))
    }
}

/// Makes every row of subtree hashes of the entries `entry_hashes` (those of the whole
/// ledger, in order), replacing any stored, and then the marker; flushed. What opening a
/// ledger without the marker does.
pub(crate) fn rebuild(
    dir: &Path,
    db: &sled::Db,
    tree: &sled::Tree,
    entry_hashes: &[Digest],
) -> Result<Frontier, Error> {
    let mut stale = sled::Batch::default();
    for r in tree.scan_prefix(MARKER_KEY) {
        stale.remove(r.map_err(storage(dir))?.0);
    }
    tree.apply_batch(stale).map_err(storage(dir))?;
    let mut frontier = Frontier::default();
    let mut full: Vec<(RowKey, Vec<u8>)> = Vec::new();
    let write = |rows: &mut Vec<(RowKey, Vec<u8>)>| {
        let mut batch = sled::Batch::default();
        for (key, value) in rows.drain(..) {
            batch.insert(&key.bytes()[..], value);
        }
        tree.apply_batch(batch).map_err(storage(dir))
    };
    for h in entry_hashes {
        frontier.push(h, |key, hashes| full.push((key, encode(hashes))));
        if full.len() >= REBUILD_BATCH {
            write(&mut full)?;
        }
    }
    full.extend(
        frontier
            .open_rows()
            .map(|(key, hashes)| (key, encode(hashes))),
    );
    write(&mut full)?;
    tree.insert(MARKER_KEY, MARKER_VALUE)
        .map_err(storage(dir))?;
    db.flush().map_err(storage(dir))?;
    if !entry_hashes.is_empty() {
        tracing::info!(dir = %dir.display(), entries = entry_hashes.len(), "made the ledger's subtree hashes from its entries");
    }
    Ok(frontier)
}

/// Cuts every row back to what a tree of `size` leaves makes, in `batch`: what a failed
/// write may have added beyond the entries acknowledged.
pub(crate) fn truncate(
    dir: &Path,
    tree: &sled::Tree,
    size: u64,
    batch: &mut sled::Batch,
) -> Result<bool, Error> {
    let mut changed = false;
    for r in tree.scan_prefix(MARKER_KEY) {
        let (k, v) = r.map_err(storage(dir))?;
        let Some(key) = RowKey::parse(&k) else {
            continue;
        };
        let keep = key.len_at(size) * 32;
        if v.len() > keep {
            changed = true;
            if keep == 0 {
                batch.remove(k);
            } else {
                batch.insert(k, &v[..keep]);
            }
        }
    }
    Ok(changed)
}

/// The subtree hashes stored in a ledger's entries tree, read for proofs.
pub(crate) struct Stored<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) tree: &'a sled::Tree,
}

impl Stored<'_> {
    /// The hashes of `count` complete subtrees at `level` from `first` (a multiple of
    /// [`ROW_WIDTH`]; `count` at most that): one row's read, as a tile is served.
    pub(crate) fn run(&self, level: u8, first: u64, count: usize) -> Result<Vec<Digest>, Error> {
        let node = Node {
            level,
            index: first,
        };
        let row = self
            .tree
            .get(RowKey::of(node).bytes())
            .map_err(storage(self.dir))?;
        let missing = || Error::Damaged {
            dir: self.dir.to_owned(),
            damage: damage(node, "is missing from the database"),
        };
        let bytes = row.as_deref().ok_or_else(missing)?;
        bytes
            .get(..count * 32)
            .ok_or_else(missing)?
            .chunks(32)
            .map(|h| Digest::from_slice("subtree", h).map_err(|_| missing()))
            .collect()
    }
}

impl SubtreeHashes for Stored<'_> {
    type Error = Error;

    fn node(&self, node: Node) -> Result<Digest, Error> {
        let key = RowKey::of(node);
        let at = (node.index % ROW_WIDTH) as usize * 32;
        let row = self.tree.get(key.bytes()).map_err(storage(self.dir))?;
        row.as_deref()
            .and_then(|r| r.get(at..at + 32))
            .and_then(|h| Digest::from_slice("subtree", h).ok())
            .ok_or_else(|| Error::Damaged {
                dir: self.dir.to_owned(),
                damage: damage(node, "is missing from the database"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::MemoryTree;

    #[test]
    fn the_rows_written_with_each_group_are_those_of_the_memory_tree() {
        let hashes: Vec<Digest> = (0u32..1100).map(|i| Digest::of(&i.to_be_bytes())).collect();
        let memory = MemoryTree::from_entry_hashes(&hashes);
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("entries").unwrap();
        let mut frontier = Frontier::default();
        // Groups of every size from 1 on, as the writer gets them.
        let (mut at, mut group) = (0, 1);
        while at < hashes.len() {
            let end = (at + group).min(hashes.len());
            let mut batch = sled::Batch::default();
            frontier.extend(&hashes[at..end], &mut batch);
            tree.apply_batch(batch).unwrap();
            (at, group) = (end, group + 1);
        }
        let size = hashes.len() as u64;
        let mut total = 0;
        for r in tree.scan_prefix(MARKER_KEY) {
            let (k, v) = r.unwrap();
            let key = RowKey::parse(&k).unwrap();
            assert_eq!(v.len(), key.len_at(size) * 32, "{key:?}");
            for (i, h) in v.chunks(32).enumerate() {
                assert_eq!(
                    Ok(Digest::from_slice("h", h).unwrap()),
                    memory.node(key.node(i))
                );
                total += 1;
            }
        }
        let nodes: u64 = (0..64).map(|l| size >> l).sum();
        assert_eq!(total, nodes);
        let stored = Stored {
            dir: Path::new("."),
            tree: &tree,
        };
        assert_eq!(
            crate::proof::inclusion_proof(&stored, 700, 1100).unwrap(),
            crate::proof::inclusion_proof(&memory, 700, 1100).unwrap()
        );
    }

    #[test]
    fn a_row_of_any_level_and_index_read_from_disk_is_damage_not_a_panic() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("entries").unwrap();
        let mut batch = sled::Batch::default();
        let mut frontier = Frontier::default();
        frontier.extend(&[Digest::of(b"0")], &mut batch);
        batch.insert(&MARKER_KEY[..], MARKER_VALUE);
        tree.apply_batch(batch).unwrap();
        for key in [
            RowKey {
                level: 255,
                row: u64::MAX,
            },
            RowKey {
                level: 63,
                row: u64::MAX,
            },
        ] {
            tree.insert(key.bytes(), vec![0; 32]).unwrap();
            let mut check = Check::new(Path::new("."), &tree, true).unwrap();
            check.push(&Digest::of(b"0")).unwrap().unwrap();
            let d = check.finish().unwrap().unwrap_err();
            assert!(d.what.contains("do not make that subtree"), "{d}");
            tree.remove(key.bytes()).unwrap();
        }
    }

    #[test]
    fn a_row_key_reads_back_and_sorts_by_level_then_row() {
        let k = RowKey { level: 8, row: 3 };
        assert_eq!(RowKey::parse(&k.bytes()), Some(k));
        assert!(k.bytes() < RowKey { level: 8, row: 4 }.bytes());
        assert!(k.bytes() < RowKey { level: 9, row: 0 }.bytes());
        assert_eq!(RowKey::parse(&MARKER_KEY), None);
        assert_eq!(RowKey { level: 1, row: 1 }.len_at(1000), 244);
        assert_eq!(RowKey { level: 1, row: 2 }.len_at(1000), 0);
        assert_eq!(RowKey { level: 63, row: 0 }.len_at(u64::MAX), 1);
    }
}
