//! Witnessing, from outside: every ledger's checkpoints reach a quorum of the other
//! countries' witnesses, and a witness answers `add-checkpoint` as C2SP tlog-witness says,
//! as an attacker would try it: malformed bodies, forged signatures, stale sizes, proofs
//! that do not verify (nothing stored), and a log that signs two histories (refused, kept as
//! evidence that proves it offline).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey};
use corridor_ledger::checkpoint::TreeHead;
use corridor_ledger::cosignature::cosigners;
use corridor_ledger::witness::{AddCheckpoint, Evidence};
use corridor_ledger::{Checkpoint, Note};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::witness_client::WitnessClient;
use corridor_tests::http::{Answer, request};
use corridor_tests::sandbox::{Sandbox, plain_consignment, topology_parties, witnessed};
use corridor_topology::ServiceRole;

async fn add_checkpoint(addr: SocketAddr, body: &[u8]) -> Answer {
    request(addr, "POST", "/add-checkpoint", body).await
}

/// The size of the ledger of the service at `addr` now.
async fn size_of(addr: SocketAddr) -> u64 {
    LedgerReaderClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size
}

async fn witness_status(addr: SocketAddr) -> v1::WitnessStatus {
    WitnessClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .get_witness_status(v1::GetWitnessStatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The witnesses' names and keys, as the topology lists them.
fn witness_keys(sb: &Sandbox) -> Vec<(String, PublicKey)> {
    sb.topology
        .witnesses_of(&ServiceRole::Registry)
        .unwrap()
        .into_iter()
        .map(|w| (w.name, w.key))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ledger_is_cosigned_by_a_quorum_of_the_other_countries_witnesses() {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    let c = plain_consignment(1, &topology_parties());
    sb.declarant()
        .await
        .submit_consignment(c.request)
        .await
        .unwrap();
    let keys = witness_keys(&sb);
    let t = sb.topology.clone();
    let mut services = vec![
        (
            ServiceRole::Registry,
            t.registry_addr().unwrap(),
            size_of(t.registry_addr().unwrap()).await,
        ),
        (
            ServiceRole::Declarant,
            sb.declarant_addr(),
            sb.declarant_ledger_size().await,
        ),
    ];
    for code in ["CN", "KZ", "AZ", "TR"] {
        services.push((
            ServiceRole::Node(code.parse().unwrap()),
            sb.node_addr(code),
            sb.ledger_size(code).await,
        ));
    }
    for (role, addr, size) in services {
        let w = witnessed(addr, size).await;
        let cp = w.checkpoint.unwrap();
        // The log's own signature, and cosignatures by the topology's witness keys only.
        let log_key = t.service_public_key(&role).unwrap();
        Note::parse(&cp.note).unwrap().verify(&log_key).unwrap();
        let by = cosigners(&cp.note, &keys);
        assert_eq!(by, w.cosigners, "{role}");
        let quorum = t.quorum_of(&role);
        assert_eq!(w.quorum as usize, quorum, "{role}");
        assert!(by.len() >= quorum, "{role}: {by:?}");
        if let ServiceRole::Node(cc) = &role {
            assert_eq!(quorum, 2);
            assert!(
                !by.contains(&t.witness_name(cc).as_str()),
                "{role} witnessed itself"
            );
        } else {
            assert_eq!(quorum, 3);
        }
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_refuses_what_tlog_witness_refuses_and_stores_nothing() {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    let t = sb.topology.clone();
    let cn = sb.node_addr("CN");
    // The registry's ledger, as CN's witness has cosigned it.
    let registry = t.registry_addr().unwrap();
    let kept = witnessed(registry, size_of(registry).await)
        .await
        .checkpoint
        .unwrap();
    let origin = t.ledger_origin(&ServiceRole::Registry);
    let registry_key = t.service_key(&ServiceRole::Registry, None).unwrap();
    let cosigned = loop {
        // CN may be the witness the quorum did without: it is asked again on each tick.
        let s = witness_status(cn).await;
        match s.logs.iter().find(|l| l.origin == origin) {
            Some(l) if l.size == kept.size => break l.size,
            _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    assert!(cosigned > 0);
    let note = kept.note.clone();
    let body = |old: u64, proof: &[Digest], note: &str| {
        AddCheckpoint {
            old_size: old,
            proof: proof.to_vec(),
            checkpoint: note.to_owned(),
        }
        .body()
    };
    // Malformed: 400, naming what is wrong.
    for (raw, why) in [
        (b"".to_vec(), "no empty line"),
        (format!("old x\n\n{note}").into_bytes(), "not `old <size>`"),
        (format!("old 01\n\n{note}").into_bytes(), "not `old <size>`"),
        (
            format!("old 1\nnot base64!\n\n{note}").into_bytes(),
            "not a base64 SHA-256 hash",
        ),
        (
            format!("old 1\n{}\n\n{note}", "AAAA".repeat(11)).into_bytes(),
            "not a base64 SHA-256 hash",
        ),
        (
            format!(
                "old 1\n{}\n{note}",
                format!("{}\n", B64.encode([0u8; 32])).repeat(64)
            )
            .into_bytes(),
            "more than 63",
        ),
        (vec![0xff, 0xfe, b'\n', b'\n'], "not UTF-8"),
        (b"old 0\n\nnot a checkpoint\n".to_vec(), "malformed request"),
    ] {
        let a = add_checkpoint(cn, &raw).await;
        assert_eq!(a.status, 400, "{why}: {}", a.text());
        assert!(a.text().contains(why), "{why}: {}", a.text());
    }
    // A body past 64 KiB: 413.
    let a = add_checkpoint(cn, &vec![b'a'; 65 * 1024]).await;
    assert_eq!(a.status, 413, "{}", a.text());
    // An origin the topology does not list: 404.
    let stranger = corridor_core::SigningKey::generate();
    let other = Checkpoint::sign(
        "elsewhere/log",
        TreeHead {
            size: 0,
            root: Digest::of(b""),
            head: Digest::ZERO,
        },
        &stranger,
    );
    let a = add_checkpoint(cn, body(0, &[], other.note()).as_bytes()).await;
    assert_eq!(a.status, 404, "{}", a.text());
    // The registry's origin signed by another key: 403.
    let forged = Checkpoint::sign(&origin, Note::parse(&note).unwrap().tree(), &stranger);
    let a = add_checkpoint(cn, body(cosigned, &[], forged.note()).as_bytes()).await;
    assert_eq!(a.status, 403, "{}", a.text());
    // A signature line of the registry's key over other bytes: 403.
    let tampered = note.replacen(
        &format!("\n{}\n", kept.size),
        &format!("\n{}\n", kept.size + 1),
        1,
    );
    let a = add_checkpoint(cn, body(cosigned, &[], &tampered).as_bytes()).await;
    assert_eq!(a.status, 403, "{}", a.text());
    // An old size above the checkpoint's: 400.
    let a = add_checkpoint(cn, body(cosigned + 1, &[], &note).as_bytes()).await;
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(
        a.text().contains("above the checkpoint's size"),
        "{}",
        a.text()
    );
    // A stale old size: 409 with the size cosigned, as text/x.tlog.size.
    let a = add_checkpoint(cn, body(0, &[], &note).as_bytes()).await;
    assert_eq!(a.status, 409, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(a.text(), format!("{cosigned}\n"));
    // The same checkpoint again: cosigned again (a cosignature of its key, 200).
    let a = add_checkpoint(cn, body(cosigned, &[], &note).as_bytes()).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.text().lines().count(), 1, "{}", a.text());
    let body_lines = note.split_once("\n\n").unwrap().0;
    let again = format!("{body_lines}\n\n{}", a.text());
    assert_eq!(
        cosigners(&again, &witness_keys(&sb)),
        ["middle-corridor/witness/CN"]
    );
    // A larger checkpoint of the registry's key whose proof does not verify: 422, nothing
    // stored.
    let bigger = Checkpoint::sign(
        &origin,
        TreeHead {
            size: cosigned + 5,
            root: Digest::of(b"another tree"),
            head: Digest::of(b"another head"),
        },
        &registry_key,
    );
    let a = add_checkpoint(
        cn,
        body(cosigned, &[Digest::of(b"no proof")], bigger.note()).as_bytes(),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(a.text().contains("does not verify"), "{}", a.text());
    let after = witness_status(cn).await;
    assert_eq!(
        after.logs.iter().find(|l| l.origin == origin).unwrap().size,
        cosigned,
        "the refused checkpoint was not stored"
    );
    // The registry's own ledger has no tree of that size: no proof of a fork, no evidence.
    assert!(after.equivocations.is_empty(), "{:?}", after.equivocations);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_signs_two_histories_is_refused_and_proven_to_equivocate() {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    let t = sb.topology.clone();
    let cn = sb.node_addr("CN");
    let registry = t.registry_addr().unwrap();
    let size = size_of(registry).await;
    witnessed(registry, size).await;
    let origin = t.ledger_origin(&ServiceRole::Registry);
    let cosigned = loop {
        let s = witness_status(cn).await;
        match s.logs.into_iter().find(|l| l.origin == origin) {
            Some(l) if l.size == size => break l,
            _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    // The registry's key signs another tree of the size CN's witness cosigned.
    let fork = Checkpoint::sign(
        &origin,
        TreeHead {
            size: cosigned.size,
            root: Digest::of(b"a rewritten history"),
            head: Digest::of(b"a rewritten head"),
        },
        &t.service_key(&ServiceRole::Registry, None).unwrap(),
    );
    let request = AddCheckpoint {
        old_size: cosigned.size,
        proof: Vec::new(),
        checkpoint: fork.note().to_owned(),
    };
    let a = add_checkpoint(cn, request.body().as_bytes()).await;
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(a.text().contains("another root"), "{}", a.text());
    // The witness keeps both notes as evidence (gathered after its answer).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        let s = witness_status(cn).await;
        if !s.equivocations.is_empty() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "no evidence kept");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status.equivocations.len(), 1);
    let e = &status.equivocations[0];
    assert_eq!(e.origin, origin);
    let evidence: Evidence = serde_json::from_str(&e.evidence_json).unwrap();
    assert_eq!(evidence.cosigned, cosigned.note);
    assert_eq!(evidence.conflicting, fork.note());
    let registry_key = t.service_public_key(&ServiceRole::Registry).unwrap();
    let proven = evidence.verify(&registry_key).unwrap();
    assert!(proven.contains("two"), "{proven}");
    // Proof of nothing under another log's key.
    let cn_key = t
        .service_public_key(&ServiceRole::Node("CN".parse().unwrap()))
        .unwrap();
    assert!(evidence.verify(&cn_key).is_err());
    // The same fork offered again is refused again and kept once.
    let a = add_checkpoint(cn, request.body().as_bytes()).await;
    assert_eq!(a.status, 422);
    // Nothing was cosigned: the record of the registry is what it was.
    let s = witness_status(cn).await;
    let kept = s.logs.iter().find(|l| l.origin == origin).unwrap();
    assert!(kept.size >= cosigned.size);
    assert_eq!(s.equivocations.len(), 1, "{:?}", s.equivocations);
    sb.stop().await;
}
