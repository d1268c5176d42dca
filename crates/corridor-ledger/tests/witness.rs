//! Witness cosignatures and the `tlog-witness` decision: the known answers of
//! `testdata/cosignature-v1.json` (computed by an independent implementation, see its
//! script), every refusal of `add-checkpoint` with its status, equivocation evidence, and
//! the witness's durable records.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey, SigningKey};
use corridor_ledger::checkpoint::{Checkpoint, TreeHead, key_hash, signed_by};
use corridor_ledger::cosignature::{Cosignature, cosigners, key_id, note_body};
use corridor_ledger::proof::{MemoryTree, consistency_proof};
use corridor_ledger::witness::{AddCheckpoint, Evidence, Refusal, Tree, decide};
use corridor_ledger::witness_state::{Outcome, WitnessState};
use serde_json::Value;

fn seed(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn cosignatures_match_the_known_answers() {
    let v: Value = serde_json::from_str(include_str!("../testdata/cosignature-v1.json")).unwrap();
    for case in v["cases"].as_array().unwrap() {
        let log = SigningKey::from_seed(&seed(&case["log_seed"]));
        let witness = SigningKey::from_seed(&seed(&case["witness_seed"]));
        assert_eq!(hex::encode(log.public().as_bytes()), case["log_public"]);
        assert_eq!(
            hex::encode(witness.public().as_bytes()),
            case["witness_public"]
        );
        let name = case["witness_name"].as_str().unwrap();
        assert_eq!(
            hex::encode(key_id(name, &witness.public())),
            case["witness_key_id"]
        );
        let body = case["body"].as_str().unwrap();
        let ts = case["timestamp"].as_u64().unwrap();
        let line = Cosignature::sign(name, &witness, ts, body).line();
        assert_eq!(line, case["cosignature_line"].as_str().unwrap());
        let note = case["note"].as_str().unwrap();
        assert_eq!(note_body(note), Some(body));
        let origin = body.lines().next().unwrap();
        signed_by(note, origin, &log.public()).unwrap();
        let prefix = format!("\u{2014} {origin} ");
        let sig_line = note.lines().find(|l| l.starts_with(&prefix)).unwrap();
        let raw = B64.decode(sig_line.rsplit_once(' ').unwrap().1).unwrap();
        assert_eq!(raw[..4], key_hash(origin, &log.public()));
        let ws = [(name.to_owned(), witness.public())];
        assert_eq!(cosigners(note, &ws), vec![name]);
        let flipped = note.replacen(&body[body.len() - 3..], "AA=\n", 1);
        assert!(
            cosigners(&flipped, &ws).is_empty(),
            "a changed body is not cosigned"
        );
    }
}

const ORIGIN: &str = "test/customs/KZ";

fn log_key() -> SigningKey {
    SigningKey::from_seed(&[11; 32])
}

fn tree_of(n: u64, tag: &[u8]) -> MemoryTree {
    let hashes: Vec<Digest> = (0..n)
        .map(|i| Digest::of_parts(&[tag, &i.to_be_bytes()]))
        .collect();
    MemoryTree::from_entry_hashes(&hashes)
}

fn note(t: &MemoryTree, key: &SigningKey) -> String {
    let tree = TreeHead {
        size: t.size(),
        root: t.root(),
        head: Digest::ZERO,
    };
    Checkpoint::sign(ORIGIN, tree, key).note().to_owned()
}

fn request(old: u64, t: &MemoryTree, proof_tree: &MemoryTree) -> AddCheckpoint {
    AddCheckpoint {
        old_size: old,
        proof: if old == 0 {
            Vec::new()
        } else {
            consistency_proof(proof_tree, old, t.size()).unwrap()
        },
        checkpoint: note(t, &log_key()),
    }
}

fn run(r: &AddCheckpoint, latest: Option<Tree>) -> Result<Tree, Refusal> {
    let key = log_key().public();
    decide(r, |o| (o == ORIGIN).then_some(&key), |_| latest)
}

#[test]
fn every_refusal_has_the_status_the_spec_gives() {
    let t10 = tree_of(10, b"a");
    let t17 = tree_of(17, b"a");
    let cosigned = Tree::parse(&note(&t10, &log_key())).unwrap();
    // The honest case.
    assert_eq!(
        run(&request(10, &t17, &t17), Some(cosigned.clone()))
            .unwrap()
            .size,
        17
    );
    assert_eq!(run(&request(0, &t10, &t10), None).unwrap().size, 10);
    // 409 with the witness's size.
    let e = run(&request(0, &t17, &t17), Some(cosigned.clone())).unwrap_err();
    assert_eq!(
        (e.status(), e.clone()),
        (409, Refusal::Conflict { old: 0, size: 10 })
    );
    // 400: old beyond the size.
    let mut r = request(0, &t10, &t10);
    r.old_size = 11;
    assert_eq!(run(&r, None).unwrap_err().status(), 400);
    // 404: unknown origin.
    let other = Checkpoint::sign(
        "test/other",
        TreeHead {
            size: 1,
            root: t10.root(),
            head: Digest::ZERO,
        },
        &log_key(),
    );
    let r = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: other.note().into(),
    };
    assert_eq!(run(&r, None).unwrap_err().status(), 404);
    // 403: signed by another key, or a signature that does not verify.
    let mut r = request(0, &t10, &t10);
    r.checkpoint = note(&t10, &SigningKey::from_seed(&[12; 32]));
    assert_eq!(run(&r, None).unwrap_err().status(), 403);
    let mut r = request(0, &t10, &t10);
    r.checkpoint = r.checkpoint.replacen("\n10\n", "\n11\n", 1);
    assert_eq!(run(&r, None).unwrap_err().status(), 403);
    // 422: a proof that does not verify (each hash flipped), a proof from 0, another root
    // at the same size, a fork.
    for i in 0..request(10, &t17, &t17).proof.len() {
        let mut r = request(10, &t17, &t17);
        let mut b = *r.proof[i].as_bytes();
        b[0] ^= 1;
        r.proof[i] = Digest::from_slice("p", &b).unwrap();
        let e = run(&r, Some(cosigned.clone())).unwrap_err();
        assert!(
            matches!(e, Refusal::Inconsistent { cosigned: 10, .. }),
            "{e}"
        );
        assert_eq!(e.status(), 422);
    }
    let mut r = request(0, &t10, &t10);
    r.proof.push(Digest::of(b"x"));
    assert_eq!(run(&r, None).unwrap_err().status(), 422);
    let fork10 = tree_of(10, b"b");
    let e = run(&request(10, &fork10, &fork10), Some(cosigned.clone())).unwrap_err();
    assert!(matches!(e, Refusal::Inconsistent { .. }));
    let fork17 = tree_of(17, b"b");
    let e = run(&request(10, &fork17, &fork17), Some(cosigned)).unwrap_err();
    assert!(matches!(e, Refusal::Inconsistent { .. }));
    // 400: bodies that are not requests.
    for body in [
        "".as_bytes().to_vec(),
        b"old 1\n".to_vec(),
        b"old 01\n\nx".to_vec(),
        b"new 1\n\nx".to_vec(),
        b"old 1\nnot base64!\n\nx".to_vec(),
        format!("old 1\n{}\n\nx", "AAAA\n".repeat(64)).into_bytes(),
        vec![0xff, 0xfe],
    ] {
        assert_eq!(AddCheckpoint::parse(&body).unwrap_err().status(), 400);
    }
    let r = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: "x\n1\nroot\n\n".into(),
    };
    assert_eq!(run(&r, None).unwrap_err().status(), 400);
}

fn b64(d: &Digest) -> String {
    B64.encode(d.as_bytes())
}

#[test]
fn evidence_proves_a_fork_and_nothing_else() {
    let key = log_key();
    let honest = tree_of(10, b"a");
    let fork = tree_of(17, b"b");
    let proven = Evidence {
        origin: ORIGIN.into(),
        witness: "w".into(),
        found_at: 1,
        cosigned: note(&honest, &key),
        conflicting: note(&fork, &key),
        old_root: Some(b64(&corridor_ledger::proof::root(&fork, 10).unwrap())),
        proof: consistency_proof(&fork, 10, 17)
            .unwrap()
            .iter()
            .map(b64)
            .collect(),
    };
    assert!(proven.verify(&key.public()).is_ok());
    // With another key, a root that is the honest one, a bad proof: not proven.
    assert!(
        proven
            .verify(&SigningKey::from_seed(&[1; 32]).public())
            .is_err()
    );
    let mut agrees = proven.clone();
    agrees.old_root = Some(b64(&honest.root()));
    assert!(agrees.verify(&key.public()).is_err());
    let mut bad = proven.clone();
    bad.proof[0] = b64(&Digest::of(b"x"));
    assert!(bad.verify(&key.public()).is_err());
    // The honest extension is no evidence.
    let ext = tree_of(17, b"a");
    let mut honest_ext = proven.clone();
    honest_ext.conflicting = note(&ext, &key);
    honest_ext.old_root = Some(b64(&honest.root()));
    honest_ext.proof = consistency_proof(&ext, 10, 17)
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    assert!(honest_ext.verify(&key.public()).is_err());
    // Same size, two roots: proven without a proof.
    let same = Evidence {
        conflicting: note(&tree_of(10, b"b"), &key),
        old_root: None,
        proof: vec![],
        ..proven.clone()
    };
    assert!(same.verify(&key.public()).is_ok());
    let json = serde_json::to_string(&proven).unwrap();
    assert_eq!(serde_json::from_str::<Evidence>(&json).unwrap(), proven);
}

#[test]
fn the_witness_keeps_what_it_cosigned_and_refuses_a_changed_record() {
    let dir = tempfile::tempdir().unwrap();
    let w = SigningKey::from_seed(&[21; 32]);
    let name = "test/witness/AZ";
    let log: PublicKey = log_key().public();
    let t10 = tree_of(10, b"a");
    let t17 = tree_of(17, b"a");
    let cosign = |t: &Tree| Cosignature::sign(name, &w, 1_800_000_000, t.body()).line();
    {
        let s = WitnessState::open(dir.path(), name, &w.public()).unwrap();
        let out = s
            .add_checkpoint(&request(0, &t10, &t10), |_| Some(&log), cosign)
            .unwrap();
        assert!(matches!(out, Outcome::Cosigned(_)));
        // A replay of the same request is now a conflict; nothing changes.
        match s
            .add_checkpoint(&request(0, &t10, &t10), |_| Some(&log), cosign)
            .unwrap()
        {
            Outcome::Refused(Refusal::Conflict { size: 10, .. }, None) => {}
            o => panic!("{o:?}"),
        }
        let fork = tree_of(17, b"b");
        match s
            .add_checkpoint(&request(10, &fork, &fork), |_| Some(&log), cosign)
            .unwrap()
        {
            Outcome::Refused(Refusal::Inconsistent { .. }, Some(pair)) => {
                assert_eq!((pair.0.size, pair.1.size), (10, 17));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(s.latest(ORIGIN).unwrap().unwrap().size, 10);
    }
    // Reopened: the record survived, and the next checkpoint extends it.
    let s = WitnessState::open(dir.path(), name, &w.public()).unwrap();
    let latest = s.latest(ORIGIN).unwrap().unwrap();
    assert_eq!(latest.size, 10);
    assert_eq!(
        cosigners(&latest.note, &[(name.to_owned(), w.public())]),
        vec![name]
    );
    let out = s
        .add_checkpoint(&request(10, &t17, &t17), |_| Some(&log), cosign)
        .unwrap();
    assert!(matches!(out, Outcome::Cosigned(_)));
    drop(s);
    // Another witness's key (a record it did not cosign) is refused on open.
    let other = SigningKey::from_seed(&[22; 32]);
    let mut tries = 0;
    let refused = loop {
        match WitnessState::open(dir.path(), name, &other.public()) {
            Err(corridor_ledger::Error::Storage { .. }) if tries < 50 => {
                tries += 1;
                std::thread::yield_now();
            }
            r => break r,
        }
    };
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_ledger_keeps_only_its_own_witnessed_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let key = log_key();
    let l = corridor_ledger::Ledger::open(dir.path(), ORIGIN, &key).unwrap();
    for i in 0..5u8 {
        l.append(corridor_ledger::Append {
            kind: "test.recorded".into(),
            subject: String::new(),
            time_unix_micros: 1_700_000_000_000_000,
            envelope: vec![i],
            rows: vec![],
        })
        .await
        .unwrap();
    }
    assert!(l.witnessed().unwrap().is_none());
    let cp = l.sign_checkpoint(&key).await.unwrap();
    let w = SigningKey::from_seed(&[21; 32]);
    let line = Cosignature::sign("w", &w, 5, note_body(cp.note()).unwrap()).line();
    let cosigned = format!("{}{line}", cp.note());
    l.keep_witnessed(&cosigned).unwrap();
    let kept = l.witnessed().unwrap().unwrap();
    assert_eq!((kept.size(), kept.note()), (5, cosigned.as_str()));
    // Not this ledger's tree, not its key, older than the one kept: refused, nothing kept.
    let other = tree_of(5, b"z");
    assert!(l.keep_witnessed(&note(&other, &key)).is_err());
    let foreign = TreeHead {
        size: 5,
        root: cp.root(),
        head: cp.head(),
    };
    let by_other = Checkpoint::sign(ORIGIN, foreign, &SigningKey::from_seed(&[1; 32]));
    assert!(l.keep_witnessed(by_other.note()).is_err());
    let small = TreeHead {
        size: 2,
        root: l.root_at(2).unwrap(),
        head: l.entry_hash(1).unwrap(),
    };
    assert!(
        l.keep_witnessed(Checkpoint::sign(ORIGIN, small, &key).note())
            .is_err()
    );
    assert_eq!(l.witnessed().unwrap().unwrap().note(), cosigned);
}

#[test]
fn racing_requests_from_one_size_cosign_one_and_never_roll_the_record_back() {
    // The race tlog-witness warns of: requests checked against the same old size, then
    // stored in the other order, would roll the record back. Eight threads offer eight
    // extensions of the size-10 record at once, largest last to start.
    let dir = tempfile::tempdir().unwrap();
    let w = SigningKey::from_seed(&[23; 32]);
    let name = "test/witness/TR";
    let log: PublicKey = log_key().public();
    let s = WitnessState::open(dir.path(), name, &w.public()).unwrap();
    let cosign = |t: &Tree| Cosignature::sign(name, &w, 1_800_000_000, t.body()).line();
    let t10 = tree_of(10, b"a");
    assert!(matches!(
        s.add_checkpoint(&request(0, &t10, &t10), |_| Some(&log), cosign)
            .unwrap(),
        Outcome::Cosigned(_)
    ));
    let outcomes: Vec<(u64, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (11..19u64)
            .rev()
            .map(|n| {
                let (s, log, cosign) = (&s, &log, &cosign);
                scope.spawn(move || {
                    let t = tree_of(n, b"a");
                    let out = s
                        .add_checkpoint(&request(10, &t, &t), |_| Some(log), cosign)
                        .unwrap();
                    match out {
                        Outcome::Cosigned(_) => (n, true),
                        Outcome::Refused(Refusal::Conflict { size, .. }, None) => {
                            assert!(size > 10, "a conflict names the size stored: {size}");
                            (n, false)
                        }
                        o => panic!("{o:?}"),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<u64> = outcomes.iter().filter(|o| o.1).map(|o| o.0).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    // The record is the one cosigned checkpoint, and stays so once reopened.
    assert_eq!(s.latest(ORIGIN).unwrap().unwrap().size, won[0]);
    drop(s);
    let s = WitnessState::open(dir.path(), name, &w.public()).unwrap();
    assert_eq!(s.latest(ORIGIN).unwrap().unwrap().size, won[0]);
}
