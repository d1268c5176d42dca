//! Inclusion and consistency proofs (`corridor_ledger::proof`): the transparency-dev/merkle
//! probes of `testdata/merkle-proofs.json`, and every proof of every tree up to 300 leaves,
//! each verified and each altered one refused.

#![allow(clippy::unwrap_used)]

use corridor_core::Digest;
use corridor_ledger::merkle::{CompactTree, leaf_hash, node_hash};
use corridor_ledger::proof::{
    MemoryTree, Node, ProofError, SubtreeHashes, consistency_proof, inclusion_proof, root,
    verify_consistency, verify_inclusion,
};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/merkle-proofs.json")).unwrap()
}

/// A hex field of a probe as a digest; `None` when it is not 32 bytes (some probes carry
/// empty or "don't care" values, which no corridor hash can be).
fn digest(v: &Value) -> Option<Digest> {
    Digest::from_slice("probe", &hex::decode(v.as_str().unwrap()).unwrap()).ok()
}

fn proof_of(v: &Value) -> Option<Vec<Digest>> {
    v["proof"].as_array().unwrap().iter().map(digest).collect()
}

/// Whether corridor refuses the probe: as the source says, unless the probe names why
/// corridor differs.
fn wants_error(v: &Value) -> bool {
    v.get("corridor_wants_error")
        .unwrap_or(&v["source_wants_error"])
        .as_bool()
        .unwrap()
}

/// The tree of the probes' leaves.
fn probe_tree(v: &Value) -> MemoryTree {
    let mut t = MemoryTree::new();
    for leaf in v["leaves"].as_array().unwrap() {
        t.push_leaf(leaf_hash(&hex::decode(leaf.as_str().unwrap()).unwrap()));
    }
    t
}

#[test]
fn the_transparency_dev_inclusion_probes_verify_or_are_refused_as_they_say() {
    let v = vectors();
    let tree = probe_tree(&v);
    let (mut checked, mut generated) = (0, 0);
    for p in v["inclusion"].as_array().unwrap() {
        let (index, size) = (
            p["leaf_index"].as_u64().unwrap(),
            p["tree_size"].as_u64().unwrap(),
        );
        let verdict = match (digest(&p["leaf_hash"]), digest(&p["root"]), proof_of(p)) {
            (Some(leaf), Some(root_hash), Some(proof)) => {
                let r = verify_inclusion(&leaf, index, size, &proof, &root_hash);
                if r.is_ok() && size <= tree.size() && root(&tree, size).unwrap() == root_hash {
                    // A probe of the probes' tree: made here, it is the same proof.
                    assert_eq!(inclusion_proof(&tree, index, size).unwrap(), proof, "{p}");
                    assert_eq!(tree.node(Node { level: 0, index }).unwrap(), leaf, "{p}");
                    generated += 1;
                }
                r.is_err()
            }
            _ => true,
        };
        assert_eq!(verdict, wants_error(p), "{p}");
        checked += 1;
    }
    assert_eq!(checked, 98);
    assert!(generated >= 5, "{generated} proofs generated again");
}

#[test]
fn the_transparency_dev_consistency_probes_verify_or_are_refused_as_they_say() {
    let v = vectors();
    let tree = probe_tree(&v);
    let (mut checked, mut generated, mut differ) = (0, 0, 0);
    for p in v["consistency"].as_array().unwrap() {
        let (old, new) = (
            p["old_size"].as_u64().unwrap(),
            p["new_size"].as_u64().unwrap(),
        );
        let verdict = match (digest(&p["old_root"]), digest(&p["new_root"]), proof_of(p)) {
            (Some(old_root), Some(new_root), Some(proof)) => {
                let r = verify_consistency(old, new, &proof, &old_root, &new_root);
                if r.is_ok() && new <= tree.size() && root(&tree, new).unwrap() == new_root {
                    assert_eq!(consistency_proof(&tree, old, new).unwrap(), proof, "{p}");
                    generated += 1;
                }
                r.is_err()
            }
            _ => true,
        };
        assert_eq!(verdict, wants_error(p), "{p}");
        if p.get("why_corridor_differs").is_some() {
            differ += 1;
        }
        checked += 1;
    }
    assert_eq!((checked, differ), (98, 1));
    assert!(generated >= 5, "{generated} proofs generated again");
}

#[test]
fn a_modified_probe_is_refused() {
    let v = vectors();
    let mut refused = 0;
    for p in v["inclusion"].as_array().unwrap() {
        if wants_error(p) {
            continue;
        }
        let (leaf, root_hash, proof) = (
            digest(&p["leaf_hash"]).unwrap(),
            digest(&p["root"]).unwrap(),
            proof_of(p).unwrap(),
        );
        let (index, size) = (
            p["leaf_index"].as_u64().unwrap(),
            p["tree_size"].as_u64().unwrap(),
        );
        for (i, bad) in flipped(&proof).iter().enumerate() {
            assert!(
                verify_inclusion(&leaf, index, size, bad, &root_hash).is_err(),
                "{p} hash {i}"
            );
            refused += 1;
        }
        assert!(verify_inclusion(&flip(&leaf, 3), index, size, &proof, &root_hash).is_err());
        assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root_hash, 9)).is_err());
    }
    for p in v["consistency"].as_array().unwrap() {
        if wants_error(p) {
            continue;
        }
        let (Some(old_root), Some(new_root)) = (digest(&p["old_root"]), digest(&p["new_root"]))
        else {
            continue;
        };
        let proof = proof_of(p).unwrap();
        let (old, new) = (
            p["old_size"].as_u64().unwrap(),
            p["new_size"].as_u64().unwrap(),
        );
        for bad in flipped(&proof) {
            assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
            refused += 1;
        }
        let roots = [flip(&old_root, 1), flip(&new_root, 1)];
        if old > 0 {
            assert!(verify_consistency(old, new, &proof, &roots[0], &new_root).is_err());
            assert!(verify_consistency(old, new, &proof, &old_root, &roots[1]).is_err());
        }
    }
    assert!(refused > 20, "{refused}");
}

/// `d` with bit `bit` (mod 256) flipped.
fn flip(d: &Digest, bit: usize) -> Digest {
    let mut b = *d.as_bytes();
    b[(bit / 8) % 32] ^= 1 << (bit % 8);
    Digest::from_bytes(b)
}

/// `proof` once for each of its hashes, with one bit of that hash flipped (a different bit
/// for each position).
fn flipped(proof: &[Digest]) -> Vec<Vec<Digest>> {
    (0..proof.len())
        .map(|i| {
            let mut bad = proof.to_vec();
            bad[i] = flip(&bad[i], i * 37 + 5);
            bad
        })
        .collect()
}

/// The largest tree the exhaustive tests prove every leaf and every pair of sizes of.
const MAX: u64 = 300;

/// The tree of `MAX + 1` leaves, and its root at every size (made by the compact tree, apart
/// from the proofs' code).
fn exhaustive_tree() -> (MemoryTree, Vec<Digest>) {
    let hashes: Vec<Digest> = (0..=MAX).map(|i| Digest::of(&i.to_be_bytes())).collect();
    let mut compact = CompactTree::new();
    let mut roots = vec![compact.root()];
    for h in &hashes {
        compact.push(h);
        roots.push(compact.root());
    }
    let tree = MemoryTree::from_entry_hashes(&hashes);
    for (n, r) in roots.iter().enumerate() {
        assert_eq!(root(&tree, n as u64).unwrap(), *r, "size {n}");
    }
    (tree, roots)
}

#[test]
fn every_inclusion_proof_up_to_300_leaves_verifies_and_no_altered_one_does() {
    let (tree, roots) = exhaustive_tree();
    let mut proofs = 0;
    for n in 1..=MAX {
        let root_n = &roots[n as usize];
        for i in 0..n {
            let leaf = tree.node(Node { level: 0, index: i }).unwrap();
            let proof = inclusion_proof(&tree, i, n).unwrap();
            assert_eq!(
                verify_inclusion(&leaf, i, n, &proof, root_n),
                Ok(()),
                "{i} in {n}"
            );
            for bad in flipped(&proof) {
                assert!(verify_inclusion(&leaf, i, n, &bad, root_n).is_err());
            }
            let refused = |index: u64, size: u64, proof: &[Digest]| {
                verify_inclusion(&leaf, index, size, proof, &roots[size as usize]).is_err()
            };
            // Another leaf, another tree (with its own root), a proof cut short or made longer.
            assert!(refused((i + 1) % n, n, &proof) || n == 1, "{i} in {n}");
            assert!(refused(i, n + 1, &proof), "{i} in {n} as in {}", n + 1);
            assert!(i + 1 == n || refused(i, n - 1, &proof), "{i} in {n}");
            assert!(refused(i, n, &[proof.as_slice(), &[leaf]].concat()));
            if let Some((_, short)) = proof.split_last() {
                assert!(refused(i, n, short));
            }
            assert!(verify_inclusion(&leaf, n, n, &proof, root_n).is_err());
            proofs += 1;
        }
    }
    assert_eq!(proofs, MAX * (MAX + 1) / 2);
}

#[test]
fn every_consistency_proof_up_to_300_leaves_verifies_and_no_altered_one_does() {
    let (tree, roots) = exhaustive_tree();
    let empty = &roots[0];
    let mut proofs = 0;
    for n in 1..=MAX {
        let root_n = &roots[n as usize];
        assert_eq!(consistency_proof(&tree, 0, n).unwrap(), []);
        assert_eq!(verify_consistency(0, n, &[], empty, root_n), Ok(()));
        assert!(verify_consistency(0, n, &[], root_n, root_n).is_err());
        for m in 1..=n {
            let root_m = &roots[m as usize];
            let proof = consistency_proof(&tree, m, n).unwrap();
            assert_eq!(m == n, proof.is_empty(), "{m} to {n}");
            assert_eq!(
                verify_consistency(m, n, &proof, root_m, root_n),
                Ok(()),
                "{m} to {n}"
            );
            for bad in flipped(&proof) {
                assert!(verify_consistency(m, n, &bad, root_m, root_n).is_err());
            }
            let refused = |old: u64, new: u64, proof: &[Digest]| {
                verify_consistency(old, new, proof, &roots[old as usize], &roots[new as usize])
                    .is_err()
            };
            // Other sizes, each with its own root (from size 0 every tree is consistent).
            assert!(m == 1 || refused(m - 1, n, &proof), "{m} to {n}");
            assert!(m == n || refused(m + 1, n, &proof), "{m} to {n}");
            assert!(refused(m, n + 1, &proof), "{m} to {n}");
            assert!(m == n || refused(m, n - 1, &proof), "{m} to {n}");
            assert!(refused(m, n, &[proof.as_slice(), &[*root_m]].concat()));
            if let Some((_, short)) = proof.split_last() {
                assert!(refused(m, n, short));
            }
            if m < n {
                // The roots swapped, or one of them another tree's.
                assert!(verify_consistency(m, n, &proof, root_n, root_m).is_err());
                assert!(verify_consistency(m, n, &proof, root_m, root_m).is_err());
            }
            proofs += 1;
        }
    }
    assert_eq!(proofs, MAX * (MAX + 1) / 2);
}

#[test]
fn a_proof_errors_name_what_is_wrong() {
    let (tree, roots) = exhaustive_tree();
    let leaf = tree.node(Node { level: 0, index: 5 }).unwrap();
    let proof = inclusion_proof(&tree, 5, 13).unwrap();
    assert_eq!(
        verify_inclusion(&leaf, 5, 13, &proof[1..], &roots[13]),
        Err(ProofError::WrongLength {
            got: proof.len() - 1,
            want: proof.len()
        })
    );
    assert_eq!(
        verify_inclusion(&leaf, 5, 13, &proof, &roots[12]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(&leaf, 13, 13, &proof, &roots[13]),
        Err(ProofError::IndexBeyondSize {
            index: 13,
            size: 13
        })
    );
    let c = consistency_proof(&tree, 6, 13).unwrap();
    assert_eq!(
        verify_consistency(6, 13, &c, &roots[5], &roots[13]),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(6, 13, &c, &roots[6], &roots[12]),
        Err(ProofError::NewRootMismatch)
    );
    let e = ProofError::WrongLength { got: 3, want: 4 }.to_string();
    assert_eq!(e, "the proof has 3 hashes; a proof for these sizes has 4");
    // Four leaves: the path of leaf 0 is its sibling, then the hash of the right half.
    let l: Vec<Digest> = (0..4)
        .map(|i| tree.node(Node { level: 0, index: i }).unwrap())
        .collect();
    assert_eq!(
        inclusion_proof(&tree, 0, 4).unwrap(),
        [l[1], node_hash(&l[2], &l[3])]
    );
}
