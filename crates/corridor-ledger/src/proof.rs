//! Inclusion and consistency proofs over the ledger's Merkle tree: RFC 9162 section 2.1.3
//! (inclusion) and 2.1.4 (consistency), generated and verified. Pure: no I/O.
//!
//! The tree is RFC 6962's over the entry hashes ([`crate::merkle`]); a proof is a list of
//! node hashes. Generation works over any [`SubtreeHashes`], a source of the hashes of
//! complete subtrees (2^level leaves from `index * 2^level`), so that one algorithm serves
//! the in-memory [`MemoryTree`] and the ledger's store, which keeps those hashes on disk.
//! Every hash a proof holds is the hash of a subtree the RFC's recursion names (a [`Span`]:
//! a complete subtree, or one on the tree's right edge), and a span is made of at most 64
//! complete subtrees, so a proof costs O(log n) reads of its source.
//!
//! Verification follows the RFC's algorithms step by step (2.1.3.2 and 2.1.4.2), after a
//! check of the proof's length (the length the RFC's loop accepts is fixed by the sizes, so
//! the check accepts and refuses the same proofs and names a wrong length plainly). The edge
//! sizes, which the RFC's verifiers do not take (they assume `0 < m < n` and `n > 0`), are
//! decided here:
//!
//! - **Consistency between equal sizes** (`old_size == new_size`): the proof is empty and the
//!   two roots are equal; anything else is refused. `SUBPROOF(m, D[m], true)` is empty.
//! - **Consistency from size 0**: the empty tree is a prefix of every tree, so there is
//!   nothing to prove. The proof is empty and the old root must be the empty tree's
//!   (`SHA-256("")`); the new root is not checked, because nothing links it to the old. This
//!   is what C2SP tlog-witness asks of a witness that has seen no checkpoint yet, and what a
//!   client holding a ledger's first checkpoint (corridor signs one of size 0 as a ledger is
//!   created) needs. The transparency-dev/merkle Go library refuses it instead.
//! - **Inclusion in a tree of size 0** does not exist: every index is beyond it, and
//!   [`ProofError::IndexBeyondSize`] says so.
//!
//! No input makes these functions panic: sizes and indices are any `u64`, proofs of any
//! length.

use corridor_core::Digest;

use crate::merkle::{leaf_hash, node_hash};

/// Why a proof could not be made or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexBeyondSize {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("the old tree size {old} is above the new tree size {new}")]
    OldBeyondNew {
        /// The old (first) tree size.
        old: u64,
        /// The new (second) tree size.
        new: u64,
    },
    /// The proof has more or fewer hashes than a proof for these sizes has.
    #[error("the proof has {got} hashes; a proof for these sizes has {want}")]
    WrongLength {
        /// Hashes in the proof given.
        got: usize,
        /// Hashes a proof for these sizes has.
        want: usize,
    },
    /// The inclusion proof leads to another root than the tree's.
    #[error("the inclusion proof does not lead to the tree's root")]
    RootMismatch,
    /// The consistency proof does not lead to the old tree's root.
    #[error("the consistency proof does not lead to the old tree's root")]
    OldRootMismatch,
    /// The consistency proof does not lead to the new tree's root.
    #[error("the consistency proof does not lead to the new tree's root")]
    NewRootMismatch,
    /// Trees of the same size are consistent only when they are the same tree.
    #[error("trees of the same size {size} with different roots are not consistent")]
    SameSizeRootsDiffer {
        /// The size of both trees.
        size: u64,
    },
    /// The root given for a tree of size 0 is not the empty tree's.
    #[error("the root of a tree of size 0 is SHA-256(\"\"), not the old root given")]
    EmptyTreeRoot,
    /// A source of subtree hashes does not hold a subtree a proof needs.
    #[error("no complete subtree at level {level}, index {index}")]
    NoSuchSubtree {
        /// The subtree's level (its height: 2^level leaves).
        level: u8,
        /// Its index among the subtrees of that level.
        index: u64,
    },
}

/// A complete subtree: the 2^`level` leaves from `index * 2^level` on. Level 0 is the leaves
/// themselves (their hash is the RFC 6962 leaf hash of the entry hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    /// Height of the subtree: it has 2^level leaves (below 64).
    pub level: u8,
    /// Its position among the subtrees of its level, from the left.
    pub index: u64,
}

/// A source of the hashes of complete subtrees of one tree: what proofs are made from.
///
/// The hash of a complete subtree never changes once the tree holds all its leaves, so a
/// source for a tree of size n serves proofs for every size up to n.
pub trait SubtreeHashes {
    /// What a failed read is; a request beyond the tree is one too.
    type Error: From<ProofError>;

    /// The hash of the complete subtree `node`.
    fn node(&self, node: Node) -> Result<Digest, Self::Error>;
}

/// The leaves `start..end` of a tree as the RFC's recursion splits it: a complete subtree,
/// or a subtree on the right edge of a tree of size `end` (its `start` a multiple of the
/// largest power of two up to `end - start`). Its hash is `MTH(D[start:end])`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

impl Span {
    /// The complete subtrees that make the span, from the left: each the largest one that
    /// starts where the previous ended and fits (at most 64).
    pub fn nodes(self) -> impl Iterator<Item = Node> {
        let mut at = self.start;
        std::iter::from_fn(move || {
            let left = self.end.checked_sub(at).filter(|n| *n > 0)?;
            let level = at.trailing_zeros().min(left.ilog2());
            let node = Node {
                level: level as u8,
                index: at >> level,
            };
            at += 1 << level;
            Some(node)
        })
    }
}

/// `MTH(D[span])` from `source`: the span's complete subtrees folded from the right
/// (`SHA-256("")` for an empty span).
pub fn span_hash<S: SubtreeHashes + ?Sized>(source: &S, span: Span) -> Result<Digest, S::Error> {
    let nodes = span
        .nodes()
        .map(|n| source.node(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut right = nodes.iter().rev();
    let Some(last) = right.next() else {
        return Ok(Digest::of(b""));
    };
    Ok(right.fold(*last, |acc, left| node_hash(left, &acc)))
}

/// The root of the tree's first `size` leaves, from `source`.
pub fn root<S: SubtreeHashes + ?Sized>(source: &S, size: u64) -> Result<Digest, S::Error> {
    span_hash(
        source,
        Span {
            start: 0,
            end: size,
        },
    )
}

/// The largest power of two below `n` (`n` at least 2): where RFC 6962 splits a tree of n
/// leaves.
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// Walks down the tree of `size` leaves as RFC 9162's recursions do, from the whole tree
/// until `stop(lo, hi)` holds of the subtree `D[lo:hi]` reached: into the left part of its
/// split `k` when `left(lo + k)`, else into the right, the other part's span kept each time.
/// Returns the subtree stopped at and the spans kept, from the bottom up (proof order).
fn descend(
    size: u64,
    stop: impl Fn(u64, u64) -> bool,
    left: impl Fn(u64) -> bool,
) -> (Span, Vec<Span>) {
    let (mut lo, mut hi) = (0, size);
    let mut spans = Vec::new();
    while !stop(lo, hi) {
        let mid = lo + split(hi - lo);
        if left(mid) {
            spans.push(Span {
                start: mid,
                end: hi,
            });
            hi = mid;
        } else {
            spans.push(Span {
                start: lo,
                end: mid,
            });
            lo = mid;
        }
    }
    spans.reverse();
    (Span { start: lo, end: hi }, spans)
}

/// The spans whose hashes make the inclusion proof of leaf `index` in a tree of `size`
/// leaves, in proof order (RFC 9162 `PATH(m, D[n])`: from the leaf's sibling up).
pub fn inclusion_spans(index: u64, size: u64) -> Result<Vec<Span>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    // PATH(m, D[lo:hi]) = PATH(m, D[lo:mid]) : MTH(D[mid:hi]) when m is in the left part,
    // PATH(m, D[mid:hi]) : MTH(D[lo:mid]) otherwise, down to the leaf.
    let (_, spans) = descend(size, |lo, hi| hi - lo == 1, |mid| index < mid);
    Ok(spans)
}

/// The spans whose hashes make the consistency proof from size `old` to size `new`, in proof
/// order (RFC 9162 `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`). Empty when `old` is 0 or
/// equal to `new` (see the module's doc).
pub fn consistency_spans(old: u64, new: u64) -> Result<Vec<Span>, ProofError> {
    if old > new {
        return Err(ProofError::OldBeyondNew { old, new });
    }
    if old == 0 {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b) goes left while the old tree ends in the left part
    // (m <= k), down to a subtree that ends where the old tree does.
    let (last, mut spans) = descend(new, |_, hi| hi == old, |mid| old <= mid);
    // That subtree's hash is in the proof unless it is the old tree itself (b is true
    // until the walk first goes right).
    if last.start != 0 {
        spans.insert(0, last);
    }
    Ok(spans)
}

/// The hashes of `spans` from `source`.
fn hashes<S: SubtreeHashes + ?Sized>(source: &S, spans: &[Span]) -> Result<Vec<Digest>, S::Error> {
    spans.iter().map(|s| span_hash(source, *s)).collect()
}

/// The inclusion proof of leaf `index` in the tree's first `size` leaves (RFC 9162 2.1.3.1).
pub fn inclusion_proof<S: SubtreeHashes + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Digest>, S::Error> {
    hashes(source, &inclusion_spans(index, size)?)
}

/// The consistency proof from the tree's first `old` leaves to its first `new` (RFC 9162
/// 2.1.4.1); empty when `old` is 0 or `old == new`.
pub fn consistency_proof<S: SubtreeHashes + ?Sized>(
    source: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Digest>, S::Error> {
    hashes(source, &consistency_spans(old, new)?)
}

/// `proof` is not of the `want` hashes a proof for its sizes has.
fn wrong_length(proof: &[Digest], want: usize) -> ProofError {
    ProofError::WrongLength {
        got: proof.len(),
        want,
    }
}

fn check_length(proof: &[Digest], want: usize) -> Result<(), ProofError> {
    if proof.len() != want {
        return Err(wrong_length(proof, want));
    }
    Ok(())
}

/// The walk both of RFC 9162's verifiers make over a path, `fn` and `sn` the two node
/// numbers they start from: `step` is given each hash of `path` and whether it is a left
/// sibling (`LSB(fn)` set, or `fn == sn`). False when the path is longer or shorter than
/// the walk (`sn` reaches 0 before its end, or has not at its end).
fn walk(
    mut fnode: u64,
    mut snode: u64,
    path: &[Digest],
    mut step: impl FnMut(&Digest, bool),
) -> bool {
    for p in path {
        if snode == 0 {
            return false;
        }
        let left = fnode & 1 == 1 || fnode == snode;
        step(p, left);
        if left {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0
}

/// Verifies that `leaf_hash` (the RFC 6962 leaf hash: for an entry,
/// [`crate::merkle::leaf_hash`] of its entry hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`, by the inclusion proof `proof` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    // Step 1: the index must be inside the tree.
    let want = inclusion_spans(index, size)?.len();
    check_length(proof, want)?;
    // Steps 2 to 4.
    let mut r = *leaf_hash;
    let whole = walk(index, size - 1, proof, |p, left| {
        r = if left {
            node_hash(p, &r)
        } else {
            node_hash(&r, p)
        };
    });
    // Step 5.
    if !whole {
        return Err(wrong_length(proof, want));
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree
/// of `new_size` leaves with root `new_root`, by the consistency proof `proof` (RFC 9162
/// 2.1.4.2; for `old_size` 0 or equal to `new_size`, see the module's doc).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Digest],
    old_root: &Digest,
    new_root: &Digest,
) -> Result<(), ProofError> {
    let want = consistency_spans(old_size, new_size)?.len();
    check_length(proof, want)?;
    if old_size == 0 {
        if *old_root != Digest::of(b"") {
            return Err(ProofError::EmptyTreeRoot);
        }
        return Ok(());
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(ProofError::SameSizeRootsDiffer { size: old_size });
        }
        return Ok(());
    }
    // Step 1 (an empty path fails) is the length check: `want` is at least 1 here.
    // Step 2: an old tree that is a complete subtree is the path's first node.
    let (first, path) = match proof.split_first() {
        _ if old_size.is_power_of_two() => (old_root, proof),
        Some((first, rest)) => (first, rest),
        None => return Err(wrong_length(proof, want)),
    };
    // Steps 3 and 4.
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Steps 5 and 6.
    let (mut fr, mut sr) = (*first, *first);
    let whole = walk(fnode, snode, path, |c, left| {
        if left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    });
    // Step 7.
    if !whole {
        return Err(wrong_length(proof, want));
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// A Merkle tree held whole in memory: the hash of every complete subtree, by level. For
/// tests, small trees and verifiers that rebuild a tree from entries.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]`: the hash of the complete subtree at level `l`, index `i`.
    levels: Vec<Vec<Digest>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree over `entry_hashes`, in order.
    pub fn from_entry_hashes<'a>(entry_hashes: impl IntoIterator<Item = &'a Digest>) -> Self {
        let mut t = Self::new();
        for h in entry_hashes {
            t.push(h);
        }
        t
    }

    /// Appends a leaf whose data is `entry_hash`.
    pub fn push(&mut self, entry_hash: &Digest) {
        self.push_leaf(leaf_hash(entry_hash.as_bytes()));
    }

    /// Appends a leaf by its RFC 6962 leaf hash (of data other than an entry hash, say).
    pub fn push_leaf(&mut self, leaf_hash: Digest) {
        let mut node = leaf_hash;
        let mut index = self.size();
        for level in 0.. {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(node);
            // A right child completes its parent, whose left child is just before it.
            if index & 1 == 0 {
                break;
            }
            node = node_hash(&row[row.len() - 2], &node);
            index >>= 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Digest {
        // Every subtree of the tree is here: the fold cannot fail.
        root(self, self.size()).unwrap_or_default()
    }
}

impl SubtreeHashes for MemoryTree {
    type Error = ProofError;

    fn node(&self, node: Node) -> Result<Digest, ProofError> {
        self.levels
            .get(usize::from(node.level))
            .and_then(|l| l.get(usize::try_from(node.index).ok()?))
            .copied()
            .ok_or(ProofError::NoSuchSubtree {
                level: node.level,
                index: node.index,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::root_of;

    fn hashes(n: u32) -> Vec<Digest> {
        (0..n).map(|i| Digest::of(&i.to_be_bytes())).collect()
    }

    #[test]
    fn span_hashes_are_the_recursive_tree_hash_of_their_leaves() {
        let hs = hashes(70);
        let t = MemoryTree::from_entry_hashes(&hs);
        for n in 0..=70u64 {
            let leaves: Vec<&[u8]> = hs[..n as usize]
                .iter()
                .map(|d| d.as_bytes().as_slice())
                .collect();
            assert_eq!(root(&t, n).unwrap(), root_of(&leaves), "size {n}");
        }
        assert_eq!(t.root(), root(&t, 70).unwrap());
    }

    #[test]
    fn a_span_is_made_of_its_largest_aligned_subtrees() {
        let nodes: Vec<Node> = Span { start: 8, end: 15 }.nodes().collect();
        assert_eq!(
            nodes,
            [
                Node { level: 2, index: 2 },
                Node { level: 1, index: 6 },
                Node {
                    level: 0,
                    index: 14
                }
            ]
        );
        assert_eq!(
            Span {
                start: 0,
                end: u64::MAX
            }
            .nodes()
            .count(),
            64
        );
        assert_eq!(Span { start: 3, end: 3 }.nodes().count(), 0);
    }

    #[test]
    fn a_source_without_the_subtree_says_which() {
        let t = MemoryTree::from_entry_hashes(&hashes(3));
        assert_eq!(
            inclusion_proof(&t, 0, 4),
            Err(ProofError::NoSuchSubtree { level: 1, index: 1 })
        );
    }

    #[test]
    fn no_size_or_index_panics() {
        let proof = vec![Digest::ZERO; 64];
        let z = Digest::ZERO;
        for (index, size) in [
            (0, 0),
            (u64::MAX, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (0, u64::MAX),
            (1 << 63, u64::MAX),
        ] {
            for len in [0, 1, 63, 64] {
                assert!(verify_inclusion(&z, index, size, &proof[..len], &z).is_err());
            }
        }
        for (old, new) in [
            (u64::MAX, u64::MAX - 1),
            (1, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (1 << 63, u64::MAX),
        ] {
            for len in [0, 1, 63, 64] {
                assert!(verify_consistency(old, new, &proof[..len], &z, &z).is_err());
            }
        }
        assert_eq!(inclusion_spans(u64::MAX - 1, u64::MAX).unwrap().len(), 63);
        assert_eq!(inclusion_spans(0, u64::MAX).unwrap().len(), 64);
        assert!(consistency_spans(1, u64::MAX).unwrap().len() <= 128);
    }

    #[test]
    fn the_edge_sizes_are_as_documented() {
        let t = MemoryTree::from_entry_hashes(&hashes(5));
        let empty = Digest::of(b"");
        let r5 = t.root();
        assert_eq!(verify_consistency(0, 5, &[], &empty, &r5), Ok(()));
        assert_eq!(verify_consistency(0, 0, &[], &empty, &empty), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &[], &r5, &r5),
            Err(ProofError::EmptyTreeRoot)
        );
        assert_eq!(
            verify_consistency(0, 5, &[r5], &empty, &r5),
            Err(ProofError::WrongLength { got: 1, want: 0 })
        );
        assert_eq!(verify_consistency(5, 5, &[], &r5, &r5), Ok(()));
        assert_eq!(
            verify_consistency(5, 5, &[], &r5, &empty),
            Err(ProofError::SameSizeRootsDiffer { size: 5 })
        );
        assert_eq!(
            verify_consistency(6, 5, &[], &r5, &r5),
            Err(ProofError::OldBeyondNew { old: 6, new: 5 })
        );
        assert_eq!(consistency_proof(&t, 0, 5), Ok(vec![]));
        assert_eq!(consistency_proof(&t, 5, 5), Ok(vec![]));
        assert_eq!(
            verify_inclusion(&empty, 0, 0, &[], &empty),
            Err(ProofError::IndexBeyondSize { index: 0, size: 0 })
        );
    }
}
