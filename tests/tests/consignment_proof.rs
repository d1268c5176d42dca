//! One consignment's proof (`corridor.v1.ConsignmentProof`), made from a running corridor
//! and from its stopped services' data directories, checked offline with public keys only;
//! then changed as an attacker would change it (an entry edited, an entry edited with its
//! hash recomputed, an inclusion proof altered, cosignatures dropped or forged, a checkpoint
//! re-signed by another key or by the node over another tree, a node's excerpt dropped or
//! moved, the registry's entries withheld), each found and named.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use corridor_audit::proof::{self, Made};
use corridor_audit::{Corpus, Source};
use corridor_core::SigningKey;
use corridor_customs::consignment::kind;
use corridor_ledger::checkpoint::TreeHead;
use corridor_ledger::cosignature::Cosignature;
use corridor_ledger::proof::MemoryTree;
use corridor_ledger::{Checkpoint, Entry, Note};
use corridor_proto::ledger::{entry_from_wire, entry_to_wire};
use corridor_proto::v1;
use corridor_tests::sandbox::{Consignment, Sandbox};

/// A sandbox corridor with one consignment cleared through all four countries.
async fn cleared() -> (Sandbox, Consignment) {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.clear(&c).await;
    (sb, c)
}

/// The problems `proof verify` finds in `p`.
fn findings(sb: &Sandbox, p: &v1::ConsignmentProof) -> Vec<String> {
    proof::verify(&sb.topology, p).unwrap().problems
}

/// Asserts that `p` fails verification with a finding containing every one of `parts`.
#[track_caller]
fn found(sb: &Sandbox, p: &v1::ConsignmentProof, parts: &[&str]) {
    let f = findings(sb, p);
    assert!(
        f.iter().any(|x| parts.iter().all(|part| x.contains(part))),
        "no finding says {parts:?}: {f:#?}"
    );
}

/// The note's body and its log signature line, with only the first `keep` cosignature lines.
fn keep_cosignatures(note: &str, keep: usize) -> String {
    let (body, sigs) = note.split_once("\n\n").unwrap();
    let mut out = format!("{body}\n\n");
    let mut kept = 0;
    for line in sigs.lines() {
        if Cosignature::parse_line(line).is_some() {
            if kept == keep {
                continue;
            }
            kept += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The node excerpt of country index `i`, its entry of `k`.
fn entry_of<'a>(p: &'a mut v1::ConsignmentProof, i: usize, k: &str) -> &'a mut v1::ProvenEntry {
    p.nodes[i]
        .entries
        .iter_mut()
        .find(|e| e.entry.as_ref().unwrap().kind == k)
        .unwrap()
}

fn assert_valid(sb: &Sandbox, made: &Made, countries: usize) {
    let traced = proof::verify(&sb.topology, &made.proof).unwrap();
    assert_eq!(
        traced.problems,
        Vec::<String>::new(),
        "{}",
        traced.lines.join("\n")
    );
    assert_eq!(traced.countries, countries);
    assert!(
        traced.lines.iter().any(|l| l.contains("quorum 2 of 3")),
        "{}",
        traced.lines.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_consignment_s_proof_verifies_offline_and_every_change_to_it_is_found() {
    let (mut sb, c) = cleared().await;
    let made = proof::make_remote(&sb.topology, &c.id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(made.notes, Vec::<String>::new());
    assert_valid(&sb, &made, 4);
    let p = made.proof.clone();
    assert_eq!(p.nodes.len(), 4);
    // Every entry of the consignment at every node is in it, as the trace reads them.
    let corpus = Corpus::load(sb.topology.clone(), Source::Remote, Some(&c.id.to_hex()))
        .await
        .unwrap();
    let traced = corpus.trace(&c.id);
    let proof_entries: usize = p.nodes.iter().map(|n| n.entries.len()).sum();
    assert_eq!(proof_entries, traced.entries);
    // The registry entries of the three operators who signed: shipper, forwarder, carrier.
    let registry = p.registry.as_ref().unwrap();
    let mut subjects: Vec<&str> = registry
        .entries
        .iter()
        .map(|e| e.entry.as_ref().unwrap().subject.as_str())
        .collect();
    subjects.dedup();
    assert_eq!(subjects.len(), 3, "{subjects:?}");

    // Its JSON form reads back to the same message; so does its binary form.
    let json = proof::to_json(&p).unwrap();
    assert!(json.contains("\"consignmentId\""), "{json}");
    assert_eq!(proof::parse(json.as_bytes()).unwrap(), p);
    assert_eq!(proof::parse(&prost::Message::encode_to_vec(&p)).unwrap(), p);

    // An entry's envelope changed: its hash no longer matches.
    let mut x = p.clone();
    let e = entry_of(&mut x, 1, kind::BORDER_ARRIVAL);
    let seq = e.entry.as_ref().unwrap().seq;
    let env = &mut e.entry.as_mut().unwrap().envelope;
    let last = env.len() - 1;
    env[last] ^= 1;
    found(
        &sb,
        &x,
        &[&format!("KZ #{seq}"), "changed after it was recorded"],
    );

    // The same change with the entry's hash recomputed: its inclusion proof fails.
    let mut x = p.clone();
    let e = entry_of(&mut x, 1, kind::BORDER_ARRIVAL);
    let (mut entry, _) = entry_from_wire(e.entry.clone().unwrap()).unwrap();
    entry.time_unix_micros -= 3_600_000_000;
    let hash = entry.hash();
    e.entry = Some(entry_to_wire(&entry, &hash));
    found(&sb, &x, &[&format!("KZ #{seq}"), "inclusion proof"]);

    // A hash of an inclusion proof changed.
    let mut x = p.clone();
    x.nodes[2].entries[0].inclusion_proof[0][0] ^= 1;
    found(&sb, &x, &["AZ #", "inclusion proof", "does not verify"]);

    // A proof shorter than the tree needs.
    let mut x = p.clone();
    x.nodes[2].entries[0].inclusion_proof.pop();
    found(&sb, &x, &["AZ #", "hashes"]);

    // One cosignature left where the quorum is two.
    let mut x = p.clone();
    x.nodes[1].checkpoint = keep_cosignatures(&x.nodes[1].checkpoint, 1);
    found(
        &sb,
        &x,
        &["KZ ledger", "not witnessed by quorum", "1 of the 2"],
    );

    // The cosignatures replaced by forged ones: the witnesses' names, another key.
    let mut x = p.clone();
    let note = keep_cosignatures(&x.nodes[1].checkpoint, 0);
    let body = corridor_ledger::cosignature::note_body(&note)
        .unwrap()
        .to_string();
    let forger = SigningKey::generate();
    let mut forged = note.clone();
    for w in sb
        .topology
        .witnesses_of(&corridor_topology::ServiceRole::Node(
            corridor_core::CountryCode::parse("c", "KZ").unwrap(),
        ))
        .unwrap()
    {
        forged.push_str(&Cosignature::sign(&w.name, &forger, 1_800_000_000, &body).line());
    }
    x.nodes[1].checkpoint = forged;
    found(
        &sb,
        &x,
        &["KZ ledger", "not witnessed by quorum", "0 of the 2"],
    );

    // A note padded with signature lines, to make a verifier check them all.
    let mut x = p.clone();
    let line = x.nodes[1].checkpoint.lines().last().unwrap().to_string();
    for _ in 0..100 {
        x.nodes[1].checkpoint.push_str(&line);
        x.nodes[1].checkpoint.push('\n');
    }
    found(&sb, &x, &["KZ ledger", "more than the 64 a note may carry"]);

    // A checkpoint signed by a key that is not the node's.
    let mut x = p.clone();
    let cp = Note::parse(&x.nodes[3].checkpoint).unwrap();
    let origin = cp.origin().to_string();
    x.nodes[3].checkpoint = Checkpoint::sign(&origin, cp.tree(), &SigningKey::generate())
        .note()
        .to_string();
    found(
        &sb,
        &x,
        &["TR ledger", "not a checkpoint signed by the key of"],
    );

    // The node's own key signs another history: the arrival re-dated, the tree rebuilt
    // over it, every proof made anew. Its signature holds; no witness cosigned it.
    let mut x = p.clone();
    let kz = sb.node_key("KZ");
    let excerpt = &mut x.nodes[1];
    let size = Note::parse(&excerpt.checkpoint).unwrap().tree().size;
    let mut hashes: Vec<corridor_core::Digest> = Vec::new();
    let mut ledger = sb.node_ledger("KZ").await;
    let mut stream = ledger
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: size,
        })
        .await
        .unwrap()
        .into_inner();
    let mut entries: Vec<Entry> = Vec::new();
    while let Some(e) = tokio_stream::StreamExt::next(&mut stream).await {
        let (e, h) = entry_from_wire(e.unwrap()).unwrap();
        entries.push(e);
        hashes.push(h);
    }
    let target = excerpt
        .entries
        .iter()
        .position(|e| e.entry.as_ref().unwrap().kind == kind::BORDER_ARRIVAL)
        .unwrap();
    let seq = excerpt.entries[target].entry.as_ref().unwrap().seq;
    let mut changed = entries[seq as usize].clone();
    changed.time_unix_micros -= 3_600_000_000;
    // A rewrite relinks what follows; the entries after it keep their place in this tree.
    hashes[seq as usize] = changed.hash();
    let tree = MemoryTree::from_entry_hashes(&hashes);
    let head = TreeHead {
        size,
        root: tree.root(),
        head: hashes[size as usize - 1],
    };
    excerpt.checkpoint = Checkpoint::sign(&excerpt.origin.clone(), head, &kz)
        .note()
        .to_string();
    excerpt.entries[target].entry = Some(entry_to_wire(&changed, &hashes[seq as usize]));
    for pe in &mut excerpt.entries {
        let s = pe.entry.as_ref().unwrap().seq;
        pe.inclusion_proof = corridor_ledger::proof::inclusion_proof(&tree, s, size)
            .unwrap()
            .iter()
            .map(|d| d.as_bytes().to_vec())
            .collect();
    }
    let f = findings(&sb, &x);
    assert!(
        f.iter()
            .any(|l| l.contains("KZ ledger") && l.contains("not witnessed by quorum")),
        "{f:#?}"
    );
    assert!(
        !f.iter().any(|l| l.contains("inclusion proof")),
        "the rebuilt proofs verify under the re-signed checkpoint: {f:#?}"
    );

    // The last country's excerpt left out: AZ's receipt says TR took the consignment.
    let mut x = p.clone();
    x.nodes.pop();
    found(&sb, &x, &["TR acknowledged the consignment"]);

    // No node at all, or the first node's entries withheld.
    let mut x = p.clone();
    x.nodes.clear();
    found(&sb, &x, &["no entry of the consignment at CN"]);
    let mut x = p.clone();
    x.nodes[0].entries.clear();
    found(&sb, &x, &["no entry of the consignment at CN"]);

    // KZ's excerpt in AZ's place.
    let mut x = p.clone();
    x.nodes.swap(1, 2);
    found(&sb, &x, &["KZ ledger", "is of ledger"]);

    // A registry entry passed off as one of the consignment's.
    let mut x = p.clone();
    let reg = x.registry.as_ref().unwrap().entries[0].clone();
    x.nodes[0].entries.insert(0, reg);
    found(&sb, &x, &["CN #", "not the consignment"]);

    // The registry's entries withheld: no operator's key is known valid.
    let mut x = p.clone();
    x.registry.as_mut().unwrap().entries.clear();
    found(&sb, &x, &["CN #", "declaration.accepted", "not registered"]);

    // Another corridor's proof, or no format: refused as input.
    let mut x = p.clone();
    x.corridor = "another-corridor".into();
    found(&sb, &x, &["another-corridor"]);
    let mut x = p.clone();
    x.format = "corridor-consignment-proof/v0".into();
    let e = proof::parse(&prost::Message::encode_to_vec(&x)).unwrap_err();
    assert!(e.to_string().contains("format"), "{e}");
    let e =
        proof::parse(br#"{"format": "corridor-consignment-proof/v1", "nodes": 7}"#).unwrap_err();
    assert!(e.to_string().contains("nodes"), "{e}");

    // From the stopped services' files: the same entries, the same checkpoints' sizes.
    for code in ["CN", "KZ", "AZ", "TR"] {
        sb.stop_node(code).await;
    }
    sb.stop_registry().await;
    let local = proof::make_local(&sb.topology, sb.dir.path(), &c.id).unwrap();
    assert_eq!(local.notes, Vec::<String>::new());
    assert_valid(&sb, &local, 4);
    for (a, b) in local.proof.nodes.iter().zip(&p.nodes) {
        assert_eq!(a.entries, b.entries);
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consignment_on_its_way_is_proven_as_far_as_it_has_gone() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.pass(&c, "CN").await;
    let made = proof::make_remote(&sb.topology, &c.id, Duration::from_secs(10))
        .await
        .unwrap();
    // CN and KZ (which holds the advance record) are in it; AZ has nothing yet.
    assert_eq!(made.proof.nodes.len(), 2);
    assert_eq!(
        made.notes,
        vec!["AZ: no entry of the consignment yet".to_string()]
    );
    assert_valid(&sb, &made, 2);
    // An unknown consignment has no proof.
    let other = corridor_core::Digest::of(b"no such consignment");
    let e = proof::make_remote(&sb.topology, &other, Duration::from_secs(1))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("not known"), "{e}");
    sb.stop().await;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_rolled_back_below_its_witnessed_checkpoint_fails_the_trace_and_the_proof() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    // KZ's files before the consignment: what a dishonest country restores.
    sb.stop_node("KZ").await;
    let early = sb.dir.path().join("kz-early");
    copy_dir(&sb.node_dir("KZ"), &early);
    sb.restart_node("KZ").await;
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    sb.clear(&c).await;
    let size = sb.ledger_size("KZ").await;
    corridor_tests::sandbox::witnessed(sb.node_addr("KZ"), size).await;
    // Taken while the ledger is whole, the proof holds.
    let made = proof::make_remote(&sb.topology, &c.id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_valid(&sb, &made, 4);
    for code in ["CN", "KZ", "AZ", "TR"] {
        sb.stop_node(code).await;
    }
    sb.stop_registry().await;

    // The database and its own checkpoint restored; the witnessed checkpoint kept.
    let kz = sb.node_dir("KZ");
    let witnessed = std::fs::read_to_string(kz.join("witnessed.note")).unwrap();
    std::fs::remove_dir_all(&kz).unwrap();
    copy_dir(&early, &kz);
    std::fs::write(kz.join("witnessed.note"), &witnessed).unwrap();
    let corpus = Corpus::load(
        sb.topology.clone(),
        Source::Local(sb.dir.path()),
        Some(&c.id.to_hex()),
    )
    .await
    .unwrap();
    let traced = corpus.trace(&c.id);
    assert!(
        traced.problems.iter().any(|p| p.starts_with("KZ ledger")
            && p.contains("the witnessed checkpoint covers")
            && p.contains("rolled back after its witnesses cosigned it")),
        "{}",
        traced.lines.join("\n")
    );
    // The proof taken before still holds offline; none can be made from the rolled-back
    // files.
    assert_valid(&sb, &made, 4);
    let e = proof::make_local(&sb.topology, sb.dir.path(), &c.id)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains(&format!(
            "customs/KZ: its checkpoint covers {size} entries, its database holds 0"
        )),
        "{e}"
    );
    sb.stop().await;
}
