#![allow(clippy::unwrap_used)]
//! Inclusion and consistency proofs asked of a running customs node over gRPC
//! (`LedgerReader`), verified as a client does: with the pure verifier of
//! `corridor_ledger::proof`, against checkpoints whose signatures it has checked with the
//! node's public key.

use corridor_core::Digest;
use corridor_ledger::Checkpoint;
use corridor_ledger::entry::Entry;
use corridor_ledger::merkle::leaf_hash;
use corridor_ledger::proof::{verify_consistency, verify_inclusion};
use corridor_proto::ledger::{entry_from_wire, hashes_from_wire};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_tests::sandbox::Sandbox;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// A checkpoint from the wire, its signature checked with the CN node's key.
fn verified(sb: &Sandbox, cp: Option<v1::Checkpoint>) -> Checkpoint {
    Checkpoint::open(
        &cp.expect("a signed checkpoint").note,
        &sb.node_key("CN").public(),
    )
    .unwrap()
}

fn digest(bytes: &[u8]) -> Digest {
    Digest::from_slice("hash", bytes).unwrap()
}

/// Every entry of the ledger behind `reader`, with the hash each states.
async fn entries(reader: &mut LedgerReaderClient<Channel>) -> Vec<(Entry, Digest)> {
    let mut s = reader
        .list_entries(v1::ListEntriesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(e) = s.next().await {
        out.push(entry_from_wire(e.unwrap()).unwrap());
    }
    out
}

/// Declares consignments `ns` at CN.
async fn declare(sb: &Sandbox, ns: std::ops::Range<u32>) {
    for n in ns {
        let c = sb.consignment(n, |_| {});
        sb.node("CN")
            .await
            .submit_declaration(c.request)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_from_a_running_node_verify_against_its_signed_checkpoints() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    declare(&sb, 0..3).await;
    let mut reader = sb.node_ledger("CN").await;

    // Size 0 asks for the ledger as it is now, with a checkpoint signed at that size.
    let now = reader
        .get_inclusion_proof(v1::GetInclusionProofRequest {
            seq: 0,
            tree_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let first = verified(&sb, now.checkpoint);
    assert_eq!(first.size(), now.tree_size);
    assert!(first.size() >= 3, "{} entries", first.size());

    // Every entry of the first checkpoint's tree is in it.
    let held = entries(&mut reader).await;
    for (entry, hash) in held.iter().take(first.size() as usize) {
        assert_eq!(entry.hash(), *hash, "entry {}", entry.seq);
        let p = reader
            .get_inclusion_proof(v1::GetInclusionProofRequest {
                seq: entry.seq,
                tree_size: first.size(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(digest(&p.entry_hash), *hash);
        assert_eq!(digest(&p.root_hash), first.root());
        // The last checkpoint signed is of this size: it comes with the proof.
        assert_eq!(verified(&sb, p.checkpoint), first);
        let hashes = hashes_from_wire("hashes", &p.hashes).unwrap();
        verify_inclusion(
            &leaf_hash(hash.as_bytes()),
            entry.seq,
            first.size(),
            &hashes,
            &first.root(),
        )
        .unwrap();
        // Not as another entry, nor in a tree it is not the checkpoint's.
        let other = (entry.seq + 1) % first.size();
        assert!(
            verify_inclusion(
                &leaf_hash(hash.as_bytes()),
                other,
                first.size(),
                &hashes,
                &first.root()
            )
            .is_err()
                || first.size() == 1
        );
    }

    // The ledger grows; the second checkpoint extends the first.
    declare(&sb, 3..6).await;
    let c = reader
        .get_consistency_proof(v1::GetConsistencyProofRequest {
            from_size: first.size(),
            to_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let second = verified(&sb, c.checkpoint);
    assert_eq!((c.from_size, c.to_size), (first.size(), second.size()));
    assert!(second.size() > first.size());
    let hashes = hashes_from_wire("hashes", &c.hashes).unwrap();
    verify_consistency(
        first.size(),
        second.size(),
        &hashes,
        &first.root(),
        &second.root(),
    )
    .unwrap();
    assert!(
        verify_consistency(
            first.size(),
            second.size(),
            &hashes,
            &second.root(),
            &second.root()
        )
        .is_err()
    );

    // Every earlier size is consistent with the second checkpoint, and an entry recorded
    // after the first is in the second's tree; a past size comes without a checkpoint.
    for m in 0..=second.size() {
        let c = reader
            .get_consistency_proof(v1::GetConsistencyProofRequest {
                from_size: m,
                to_size: second.size(),
            })
            .await
            .unwrap()
            .into_inner();
        let hashes = hashes_from_wire("hashes", &c.hashes).unwrap();
        let old_root = digest(&c.from_root_hash);
        verify_consistency(m, second.size(), &hashes, &old_root, &second.root()).unwrap();
        assert_eq!(verified(&sb, c.checkpoint), second);
    }
    let late = second.size() - 1;
    let p = reader
        .get_inclusion_proof(v1::GetInclusionProofRequest {
            seq: late,
            tree_size: second.size(),
        })
        .await
        .unwrap()
        .into_inner();
    verify_inclusion(
        &leaf_hash(&p.entry_hash),
        late,
        second.size(),
        &hashes_from_wire("hashes", &p.hashes).unwrap(),
        &second.root(),
    )
    .unwrap();
    let past = reader
        .get_inclusion_proof(v1::GetInclusionProofRequest {
            seq: 0,
            tree_size: first.size(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(past.checkpoint.is_none());
    assert_eq!(digest(&past.root_hash), first.root());
    sb.stop().await;
}
