//! RFC 6962 Merkle tree hashes over entry hashes, kept incrementally.
//!
//! `leaf = SHA-256(0x00 || entry_hash)`, `node = SHA-256(0x01 || left || right)`; the tree
//! over n leaves splits at the largest power of two below n (RFC 6962 section 2.1). The
//! [`CompactTree`] keeps one root per perfect subtree of the current size: O(log n) state.

use corridor_core::Digest;

/// RFC 6962 leaf hash.
pub fn leaf_hash(data: &[u8]) -> Digest {
    Digest::of_parts(&[&[0x00], data])
}

/// RFC 6962 interior node hash.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Digest::of_parts(&[&[0x01], left.as_bytes(), right.as_bytes()])
}

/// The RFC 6962 tree hash of a perfect subtree over `entries` (entry hashes; a power of two
/// of them, at least one: the tree hash of any other count is not this).
pub fn perfect_root(entries: &[Digest]) -> Digest {
    let mut level: Vec<Digest> = entries.iter().map(|e| leaf_hash(e.as_bytes())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [l, r] => node_hash(l, r),
                [l, ..] => *l,
                [] => Digest::ZERO,
            })
            .collect();
    }
    level.first().copied().unwrap_or_else(|| Digest::of(b""))
}

/// The RFC 6962 tree hash of a whole list of leaves (recursive definition; for tests and
/// small inputs).
pub fn root_of(leaves: &[&[u8]]) -> Digest {
    match leaves.len() {
        0 => Digest::of(b""),
        1 => leaf_hash(leaves[0]),
        n => {
            let k = (n - 1).checked_ilog2().map_or(1, |b| 1usize << b);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// An append-only Merkle tree's frontier: the roots of its perfect subtrees, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// Subtree roots for the one-bits of `size`, from the highest bit down.
    peaks: Vec<Digest>,
}

impl CompactTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds from stored parts; `None` if the peak count does not match the size.
    pub fn from_parts(size: u64, peaks: Vec<Digest>) -> Option<Self> {
        (peaks.len() == size.count_ones() as usize).then_some(Self { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored peaks.
    pub fn peaks(&self) -> &[Digest] {
        &self.peaks
    }

    /// Appends a leaf (its data is an entry hash).
    pub fn push(&mut self, data: &Digest) {
        self.push_with(data, |_, _| {});
    }

    /// Appends a leaf, and tells `formed` of every complete subtree the leaf completes, from
    /// the leaf itself (level 0) up: its level and hash. The subtree formed at level `l` is
    /// the one of index `((size + 1) >> l) - 1`, `size` being the size before the push.
    pub fn push_with(&mut self, data: &Digest, mut formed: impl FnMut(u8, &Digest)) {
        let mut node = leaf_hash(data.as_bytes());
        formed(0, &node);
        // Each trailing one-bit of the old size is a peak of equal height to merge with.
        let merges = self.size.trailing_ones() as u8;
        for level in 1..=merges {
            let left = self.peaks.pop().unwrap_or_default();
            node = node_hash(&left, &node);
            formed(level, &node);
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The RFC 6962 root of the current tree (`SHA-256("")` when empty).
    pub fn root(&self) -> Digest {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return Digest::of(b"");
        };
        it.fold(*last, |acc, peak| node_hash(peak, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_tree_matches_the_recursive_definition() {
        let hashes: Vec<Digest> = (0u32..70).map(|i| Digest::of(&i.to_be_bytes())).collect();
        let mut t = CompactTree::new();
        assert_eq!(t.root(), root_of(&[]));
        for n in 1..=hashes.len() {
            t.push(&hashes[n - 1]);
            let leaves: Vec<&[u8]> = hashes[..n]
                .iter()
                .map(|d| d.as_bytes().as_slice())
                .collect();
            assert_eq!(t.root(), root_of(&leaves), "size {n}");
            assert_eq!(t.peaks().len(), n.count_ones() as usize);
        }
    }
}
