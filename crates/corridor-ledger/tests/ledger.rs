//! Ledger behaviour on a real sled database in a temporary directory: appends, indices,
//! idempotence, caller rows written atomically with their entries, rebuilding on open, checkpoints, verification of damaged
//! ledgers and exports, and the RFC 6962 known-answer vectors.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use corridor_core::{Digest, SigningKey};
use corridor_ledger::RowChange;
use corridor_ledger::export::{export, verify_export};
use corridor_ledger::merkle::root_of;
use corridor_ledger::{Append, Error, Ledger, verify_dir};

/// The key every test ledger signs its checkpoints with.
fn key() -> SigningKey {
    SigningKey::from_seed(&[5; 32])
}

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::open(dir, "corridor/test", &key()).unwrap()
}

fn open_err(dir: &std::path::Path) -> Error {
    match Ledger::open(dir, "corridor/test", &key()) {
        Ok(l) => panic!("opened a ledger of {} entries", l.len()),
        Err(e) => e,
    }
}

fn append(env: &[u8], subject: &str) -> Append {
    Append {
        kind: "test.recorded".into(),
        subject: subject.into(),
        time_unix_micros: 1_700_000_000_000_000,
        envelope: env.to_vec(),
        rows: vec![],
    }
}

async fn filled(dir: &std::path::Path, n: u64) -> Ledger {
    let l = open(dir);
    for i in 0..n {
        let env = format!("envelope {i}");
        l.append(append(
            env.as_bytes(),
            if i % 2 == 0 { "even" } else { "odd" },
        ))
        .await
        .unwrap();
    }
    l
}

#[test]
fn rfc6962_known_answers() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/rfc6962-tree-hashes.json")).unwrap();
    let leaves: Vec<Vec<u8>> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex::decode(l.as_str().unwrap()).unwrap())
        .collect();
    for (n, root) in v["roots"].as_array().unwrap().iter().enumerate() {
        let refs: Vec<&[u8]> = leaves[..n].iter().map(Vec::as_slice).collect();
        assert_eq!(root_of(&refs).to_hex(), root.as_str().unwrap(), "size {n}");
    }
}

#[tokio::test]
async fn appends_chain_index_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 5).await;
    assert_eq!(l.len(), 5);
    let (e0, h0) = l.get(0).unwrap().unwrap();
    assert_eq!(e0.prev_hash, Digest::ZERO);
    let (e1, _) = l.get(1).unwrap().unwrap();
    assert_eq!(e1.prev_hash, h0);
    assert_eq!(l.subject_entries("even"), vec![0, 2, 4]);
    assert_eq!(l.subject_entries("odd"), vec![1, 3]);
    assert!(l.subject_entries("ev").is_empty());
    assert_eq!(l.get(3).unwrap().unwrap().0.envelope, b"envelope 3");
    assert!(l.get(5).unwrap().is_none());
    let head = l.head();
    l.close();
    let l = open(dir.path());
    assert_eq!((l.len(), l.head()), (5, head));
    let v = l.verify(None).unwrap().unwrap();
    assert_eq!((v.entries, v.head), (5, head));
}

#[tokio::test]
async fn identical_envelope_is_one_entry_but_a_new_signature_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let a = l.append(append(b"same", "c")).await.unwrap();
    let mut again = append(b"same", "c");
    again.rows = vec![RowChange::set(b"row".to_vec(), b"second".to_vec())];
    let b = l.append(again).await.unwrap();
    assert!(a.new && !b.new);
    assert_eq!((a.seq, a.hash), (b.seq, b.hash));
    assert_eq!(l.row(b"row"), None, "a duplicate applies no extra rows");
    // Different envelope bytes (the same document co-signed, say): a new entry.
    let co_signed = l
        .append(append(b"same+second signature", "c"))
        .await
        .unwrap();
    assert!(co_signed.new);
    assert_eq!(co_signed.seq, 1);
    assert_eq!(l.subject_entries("c"), vec![0, 1]);
}

#[tokio::test]
async fn the_same_envelope_appended_concurrently_is_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(open(dir.path()));
    let mut tasks = Vec::new();
    for t in 0..32 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            // Interleave with other appends so the copies land in different groups.
            l.append(append(format!("other {t}").as_bytes(), "c"))
                .await
                .unwrap();
            l.append(append(b"the same bytes", "c")).await.unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(l.len(), 33);
    assert_eq!(outcomes.iter().filter(|a| a.new).count(), 1);
    assert!(
        outcomes
            .iter()
            .all(|a| (a.seq, a.hash) == (outcomes[0].seq, outcomes[0].hash))
    );
    let copies = l
        .entries(0)
        .map(Result::unwrap)
        .filter(|(e, _)| e.envelope == b"the same bytes")
        .count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn extra_rows_are_written_with_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let mut a = append(b"x", "c");
    a.rows = vec![RowChange::set(b"outbox/1".to_vec(), b"to KZ".to_vec())];
    l.append(a).await.unwrap();
    let mut b = append(b"y", "c");
    b.rows = vec![
        RowChange::remove(b"outbox/1".to_vec()),
        RowChange::set(b"state/c".to_vec(), b"released".to_vec()),
    ];
    l.append(b).await.unwrap();
    assert_eq!(l.row(b"outbox/1"), None);
    let rows: Vec<_> = l
        .rows_with_prefix(b"state/")
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect();
    assert_eq!(rows, vec![(b"state/c".to_vec(), b"released".to_vec())]);
}

#[tokio::test]
async fn oversize_fields_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let mut a = append(b"x", "c");
    a.kind = "k".repeat(256);
    assert!(matches!(l.append(a).await, Err(Error::InvalidAppend(_))));
    assert_eq!(l.len(), 0);
}

#[tokio::test]
async fn append_all_records_in_order_with_consecutive_seqs_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 2).await;
    let mut first = append(b"all 0", "c");
    first.rows = vec![RowChange::set(b"state/c".to_vec(), b"first".to_vec())];
    let mut last = append(b"all 2", "d");
    last.rows = vec![RowChange::set(b"state/c".to_vec(), b"last".to_vec())];
    let out = l
        .append_all(vec![first, append(b"all 1", ""), last])
        .await
        .unwrap();
    assert_eq!(out.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert!(out.iter().all(|a| a.new));
    assert_eq!(l.len(), 5);
    assert_eq!(l.head(), out[2].hash);
    assert_eq!(
        l.row(b"state/c"),
        Some(b"last".to_vec()),
        "caller rows are applied in append order"
    );
    let head = l.head();
    l.close();

    let l = open(dir.path());
    assert_eq!((l.len(), l.head()), (5, head));
    let mut prev = l.get(1).unwrap().unwrap().1;
    for (i, a) in out.iter().enumerate() {
        let (e, hash) = l.get(a.seq).unwrap().unwrap();
        assert_eq!(e.envelope, format!("all {i}").into_bytes());
        assert_eq!((e.prev_hash, hash), (prev, a.hash));
        prev = hash;
    }
    assert_eq!(l.subject_entries("d"), vec![4]);
    assert_eq!(l.get(3).unwrap().unwrap().0.envelope, b"all 1");
    assert_eq!(l.verify(None).unwrap().unwrap().entries, 5);
}

#[tokio::test]
async fn append_all_of_nothing_returns_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 1).await;
    assert_eq!(l.append_all(vec![]).await.unwrap(), vec![]);
    assert_eq!(l.len(), 1);
}

#[tokio::test]
async fn a_duplicate_within_one_append_all_yields_the_first_entry() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let before = l.append(append(b"recorded before", "c")).await.unwrap();
    let mut again = append(b"twice", "c");
    again.rows = vec![RowChange::set(b"row".to_vec(), b"from the copy".to_vec())];
    let out = l
        .append_all(vec![
            append(b"twice", "c"),
            append(b"recorded before", "c"),
            append(b"once", "c"),
            again,
        ])
        .await
        .unwrap();
    assert_eq!(
        out.iter().map(|a| (a.seq, a.new)).collect::<Vec<_>>(),
        vec![(1, true), (0, false), (2, true), (1, false)]
    );
    assert_eq!(out[1].hash, before.hash);
    assert_eq!(out[3].hash, out[0].hash);
    assert_eq!(l.len(), 3);
    assert_eq!(l.get(1).unwrap().unwrap().0.envelope, b"twice");
    assert_eq!(l.row(b"row"), None, "a duplicate applies no extra rows");
    assert_eq!(l.verify(None).unwrap().unwrap().entries, 3);
}

#[tokio::test]
async fn one_invalid_append_fails_the_whole_append_all_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 2).await;
    let head = l.head();
    for bad_kind in [String::new(), "k".repeat(256)] {
        let mut valid = append(b"valid", "c");
        valid.rows = vec![RowChange::set(b"row".to_vec(), b"set".to_vec())];
        let mut bad = append(b"bad", "c");
        bad.kind = bad_kind;
        let got = l.append_all(vec![valid, bad, append(b"after", "c")]).await;
        assert!(matches!(got, Err(Error::InvalidAppend(_))), "{got:?}");
        assert_eq!((l.len(), l.head()), (2, head));
        assert!(l.subject_entries("c").is_empty());
        assert_eq!(l.row(b"row"), None);
    }
    // The ledger goes on from where it was.
    let next = l.append(append(b"valid", "c")).await.unwrap();
    assert_eq!((next.seq, next.new), (2, true));
    assert_eq!(l.verify(None).unwrap().unwrap().entries, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_append_all_calls_keep_each_calls_entries_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(open(dir.path()));
    let mut tasks = Vec::new();
    for t in 0..12usize {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            for c in 0..12usize {
                // Sizes from 1 to 120, so groups often fill up and a call waits for the
                // next group; one call is larger than a whole group.
                let n = if (t, c) == (5, 6) {
                    700
                } else {
                    (t * 37 + c * 11) % 120 + 1
                };
                let envelopes: Vec<String> = (0..n)
                    .map(|i| format!("task {t} call {c} entry {i}"))
                    .collect();
                let out = l
                    .append_all(
                        envelopes
                            .iter()
                            .map(|e| append(e.as_bytes(), "c"))
                            .collect(),
                    )
                    .await
                    .unwrap();
                calls.push((envelopes, out));
            }
            calls
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        for (envelopes, out) in t.await.unwrap() {
            assert_eq!(out.len(), envelopes.len());
            assert!(out.iter().all(|a| a.new));
            let first = out[0].seq;
            for (i, a) in out.iter().enumerate() {
                assert_eq!(a.seq, first + i as u64, "one call's entries are contiguous");
                let (e, hash) = l.get(a.seq).unwrap().unwrap();
                assert_eq!(
                    (e.envelope, hash),
                    (envelopes[i].clone().into_bytes(), a.hash)
                );
            }
            seqs.extend(out.iter().map(|a| a.seq));
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..l.len()).collect::<Vec<_>>());
    assert_eq!(l.verify(None).unwrap().unwrap().entries, l.len());
}

#[tokio::test]
async fn concurrent_appenders_share_flushes_and_keep_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(open(dir.path()));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let env = format!("task {t} envelope {i}");
                l.append(append(env.as_bytes(), "c")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(l.len(), 800);
    assert_eq!(l.verify(None).unwrap().unwrap().entries, 800);
}

#[tokio::test]
async fn checkpoints_sign_extend_and_catch_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_seed(&[5; 32]);
    let l = filled(dir.path(), 3).await;
    let cp = l.sign_checkpoint(&key).await.unwrap();
    assert_eq!(cp.size(), 3);
    cp.verify(&key.public()).unwrap();
    l.append(append(b"four", "c")).await.unwrap();
    let cp2 = l.sign_checkpoint(&key).await.unwrap();
    assert_eq!(cp2.size(), 4);
    assert_eq!(
        l.verify(Some(&key.public()))
            .unwrap()
            .unwrap()
            .checkpoint_size,
        Some(4)
    );
    let other = SigningKey::from_seed(&[6; 32]);
    assert!(l.verify(Some(&other.public())).unwrap().is_err());
    l.close();

    // Roll the database back to a copy taken at 3 entries: open refuses, verify names it.
    let dir2 = tempfile::tempdir().unwrap();
    let l2 = filled(dir2.path(), 3).await;
    l2.close();
    std::fs::copy(
        dir.path().join("checkpoint.note"),
        dir2.path().join("checkpoint.note"),
    )
    .unwrap();
    match open_err(dir2.path()) {
        Error::Damaged { damage: d, .. } => assert!(d.what.contains("missing entries"), "{d}"),
        other => panic!("expected rollback damage, got {other}"),
    }
    let d = verify_dir(dir2.path(), Some(&key.public()))
        .unwrap()
        .unwrap_err();
    assert_eq!(d.seq, 3, "{d}");
}

#[tokio::test]
async fn export_verifies_offline_and_damage_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_seed(&[5; 32]);
    let l = filled(dir.path(), 6).await;
    l.sign_checkpoint(&key).await.unwrap();
    let file = dir.path().join("export.jsonl");
    assert_eq!(export(&l, &file).unwrap(), 6);
    let ok = verify_export(&file, Some(&key.public())).unwrap().unwrap();
    assert_eq!((ok.entries, ok.head), (6, l.head()));

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write = |ls: Vec<String>| {
        let p = dir.path().join("damaged.jsonl");
        std::fs::write(&p, ls.join("\n")).unwrap();
        verify_export(&p, Some(&key.public())).unwrap().unwrap_err()
    };
    let owned = || lines.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let mut changed = owned();
    changed[2] = changed[2].replace("\"kind\":\"test.recorded\"", "\"kind\":\"test.forged\"");
    let d = write(changed);
    assert_eq!(d.seq, 2);
    assert!(d.what.contains("changed content"), "{d}");

    let mut gap = owned();
    gap.remove(3);
    let d = write(gap);
    assert_eq!(d.seq, 3);
    assert!(d.what.contains("gap"), "{d}");

    let mut swapped = owned();
    swapped.swap(1, 2);
    let d = write(swapped);
    assert_eq!(d.seq, 1);
    assert!(d.what.contains("reordered"), "{d}");

    let mut truncated = owned();
    truncated.drain(4..6);
    let d = write(truncated);
    assert_eq!(d.seq, 4);
    assert!(d.what.contains("missing entries"), "{d}");
}

#[test]
fn entry_hash_and_root_known_answers() {
    use corridor_ledger::Entry;
    use corridor_ledger::merkle::CompactTree;
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/ledger-entries.json")).unwrap();
    let mut tree = CompactTree::new();
    for e in v["entries"].as_array().unwrap() {
        let entry = Entry {
            seq: e["seq"].as_u64().unwrap(),
            prev_hash: e["prev_hash"].as_str().unwrap().parse().unwrap(),
            time_unix_micros: e["time_unix_micros"].as_i64().unwrap(),
            kind: e["kind"].as_str().unwrap().into(),
            subject: e["subject"].as_str().unwrap().into(),
            envelope: hex::decode(e["envelope"].as_str().unwrap()).unwrap(),
        };
        assert_eq!(hex::encode(entry.record()), e["record"].as_str().unwrap());
        assert_eq!(entry.hash().to_hex(), e["hash"].as_str().unwrap());
        tree.push(&entry.hash());
    }
    assert_eq!(tree.root().to_hex(), v["merkle_root"].as_str().unwrap());
}

#[tokio::test]
async fn a_checkpoint_that_would_not_extend_the_last_is_refused() {
    let key = SigningKey::from_seed(&[5; 32]);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let la = filled(a.path(), 2).await;
    let lb = filled(b.path(), 4).await;
    lb.sign_checkpoint(&key).await.unwrap();
    // Someone puts ledger B's (longer) checkpoint beside ledger A while A is running.
    std::fs::copy(
        b.path().join("checkpoint.note"),
        a.path().join("checkpoint.note"),
    )
    .unwrap();
    match la.sign_checkpoint(&key).await {
        Err(Error::CheckpointRegression(why)) => assert!(why.contains("rolled back"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The same size but a different history is refused too.
    let c = tempfile::tempdir().unwrap();
    let lc = open(c.path());
    for i in 0..5 {
        lc.append(append(format!("another history {i}").as_bytes(), "c"))
            .await
            .unwrap();
    }
    std::fs::copy(
        b.path().join("checkpoint.note"),
        c.path().join("checkpoint.note"),
    )
    .unwrap();
    match lc.sign_checkpoint(&key).await {
        Err(Error::CheckpointRegression(why)) => assert!(why.contains("differs"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn indices_and_rows_are_rebuilt_from_the_database_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 3).await;
    for i in 3..6u64 {
        let env = format!("envelope {i}");
        let mut a = append(env.as_bytes(), "later");
        a.rows = vec![
            RowChange::set(format!("row/{i}").into_bytes(), vec![i as u8]),
            RowChange {
                key: b"row/3".to_vec(),
                value: (i != 5).then(|| vec![3]),
            },
        ];
        l.append(a).await.unwrap();
    }
    let head = l.head();
    l.close();

    let l = open(dir.path());
    assert_eq!((l.len(), l.head()), (6, head));
    assert_eq!(l.subject_entries("later"), vec![3, 4, 5]);
    assert_eq!(l.subject_entries("even"), vec![0, 2]);
    assert_eq!(l.get(4).unwrap().unwrap().0.envelope, b"envelope 4");
    assert_eq!(l.row(b"row/4"), Some(vec![4]));
    assert_eq!(l.row(b"row/3"), None, "removed by the last append");
    assert_eq!(
        l.rows_with_prefix(b"row/")
            .into_iter()
            .map(|r| (r.key, r.value))
            .collect::<Vec<_>>(),
        vec![(b"row/4".to_vec(), vec![4]), (b"row/5".to_vec(), vec![5])]
    );
    assert_eq!(l.get(5).unwrap().unwrap().0.envelope, b"envelope 5");
    // Appending the same envelope again finds the entry read back from the database.
    let again = l.append(append(b"envelope 4", "later")).await.unwrap();
    assert_eq!((again.seq, again.new), (4, false));
    assert_eq!(l.verify(None).unwrap().unwrap().entries, 6);
}

#[tokio::test]
async fn a_second_opener_is_refused_while_the_ledger_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 1).await;
    let e = open_err(dir.path());
    assert!(matches!(e, Error::Locked(_)), "{e}");
    assert!(e.to_string().contains("in use by a running service"), "{e}");
    let e = verify_dir(dir.path(), None).unwrap_err();
    assert!(matches!(e, Error::Locked(_)), "{e}");
    l.close();
    assert_eq!(open(dir.path()).len(), 1);
}

/// Opens a sled database directly, waiting (up to 2 s) for sled's threads to let go of the
/// lock of a ledger closed a moment ago in this process.
fn open_sled(path: &std::path::Path) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if started.elapsed() < std::time::Duration::from_secs(2) => {
                assert!(e.to_string().contains("could not acquire lock"), "{e}");
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Changes the stored ledger through sled itself, as someone with the files might: the tree
/// and keys of ARCHITECTURE.md's storage layout.
fn tamper(dir: &std::path::Path, f: impl FnOnce(&sled::Tree)) {
    let db = open_sled(&dir.join("db"));
    let tree = db.open_tree("entries").unwrap();
    f(&tree);
    db.flush().unwrap();
}

/// Flips one byte in the middle of the value stored for entry `seq`.
fn flip_byte_of_entry(dir: &std::path::Path, seq: u64) {
    tamper(dir, |t| {
        let mut v = t.get(seq.to_be_bytes()).unwrap().unwrap().to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x01;
        t.insert(seq.to_be_bytes(), v).unwrap();
    });
}

fn damage(e: Error) -> corridor_ledger::Damage {
    match e {
        Error::Damaged { damage, .. } => damage,
        other => panic!("expected damage, got {other}"),
    }
}

#[tokio::test]
async fn a_changed_entry_is_refused_on_open_and_named_by_verification() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 6).await;
    l.seal(&key()).await.unwrap();
    l.close();
    flip_byte_of_entry(dir.path(), 4);
    let d = verify_dir(dir.path(), Some(&key().public()))
        .unwrap()
        .unwrap_err();
    assert_eq!(d.seq, 4);
    assert!(d.what.contains("changed content"), "{}", d.what);
    let d = damage(open_err(dir.path()));
    assert_eq!(d.seq, 4, "{d}");
    assert!(d.what.contains("changed content"), "{d}");
}

#[tokio::test]
async fn a_changed_entry_beyond_the_last_checkpoint_is_refused_too() {
    // The checkpoint covers nothing (size 0): the record's own hash still catches it.
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 5).await.close();
    flip_byte_of_entry(dir.path(), 2);
    let d = damage(open_err(dir.path()));
    assert_eq!(d.seq, 2, "{d}");
    let e = open_err(dir.path()).to_string();
    assert!(
        e.starts_with(&format!(
            "ledger at {} is damaged: bad 2: ",
            dir.path().display()
        )),
        "{e}"
    );
}

#[tokio::test]
async fn a_deleted_entry_is_a_gap_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 6).await;
    l.seal(&key()).await.unwrap();
    l.close();
    tamper(dir.path(), |t| {
        t.remove(3u64.to_be_bytes()).unwrap();
    });
    let d = verify_dir(dir.path(), None).unwrap().unwrap_err();
    assert_eq!(d.seq, 3, "{d}");
    assert!(d.what.contains("gap"), "{d}");
    let d = damage(open_err(dir.path()));
    assert_eq!((d.seq, d.what.contains("gap")), (3, true), "{d}");
}

#[tokio::test]
async fn a_removed_checkpoint_is_refused_on_open_and_reported_by_verification() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 4).await;
    l.seal(&key()).await.unwrap();
    l.close();
    // Cut the ledger back to two entries and remove the checkpoint that would show it.
    tamper(dir.path(), |t| {
        t.remove(3u64.to_be_bytes()).unwrap();
        t.remove(2u64.to_be_bytes()).unwrap();
    });
    std::fs::remove_file(dir.path().join("checkpoint.note")).unwrap();
    let d = verify_dir(dir.path(), None).unwrap().unwrap_err();
    assert!(d.what.contains("no signed checkpoint"), "{d}");
    let d = damage(open_err(dir.path()));
    assert!(d.what.contains("no signed checkpoint"), "{d}");
}

#[tokio::test]
async fn a_new_ledger_signs_a_checkpoint_of_size_zero() {
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let cp = l.last_checkpoint().unwrap().unwrap();
    assert_eq!((cp.size(), cp.origin()), (0, "corridor/test"));
    cp.verify(&key().public()).unwrap();
}

#[tokio::test]
async fn a_checkpoint_of_another_key_or_ledger_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 2).await.close();
    let other = SigningKey::from_seed(&[9; 32]);
    let e = match Ledger::open(dir.path(), "corridor/test", &other) {
        Ok(_) => panic!("opened with another key"),
        Err(e) => e,
    };
    assert!(damage(e).what.contains("signature"));
    let e = match Ledger::open(dir.path(), "corridor/elsewhere", &key()) {
        Ok(_) => panic!("opened as another ledger"),
        Err(e) => e,
    };
    assert!(damage(e).what.contains("corridor/test"));
}

#[tokio::test]
async fn a_directory_that_is_not_a_ledger_is_refused_with_what_it_holds() {
    // The earlier log-file layout.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("entries.log"), b"clf1").unwrap();
    let e = open_err(dir.path());
    assert!(matches!(e, Error::NotALedger { .. }), "{e}");
    assert!(e.to_string().contains("log-file layout"), "{e}");
    assert!(matches!(
        verify_dir(dir.path(), None),
        Err(Error::NotALedger { .. })
    ));
    assert_eq!(
        std::fs::read(dir.path().join("entries.log")).unwrap(),
        b"clf1",
        "nothing changed"
    );

    // A db directory that is not a sled database.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("db")).unwrap();
    std::fs::write(dir.path().join("db").join("notes.txt"), b"hello").unwrap();
    let e = open_err(dir.path());
    assert!(e.to_string().contains("no sled database"), "{e}");
    let e = verify_dir(dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("no sled database"), "{e}");

    // A sled database without the entries tree.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        db.insert(b"something", b"else").unwrap();
        db.flush().unwrap();
    }
    let e = open_err(dir.path());
    assert!(e.to_string().contains("no `entries` tree"), "{e}");
    let e = verify_dir(dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("no `entries` tree"), "{e}");

    // A key in the entries tree that is neither an entry nor a row.
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 2).await.close();
    tamper(dir.path(), |t| {
        t.insert(b"odd key", b"x").unwrap();
    });
    let d = damage(open_err(dir.path()));
    assert!(d.what.contains("neither an entry"), "{d}");

    // Garbage where sled's files should be.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("db")).unwrap();
    std::fs::write(dir.path().join("db").join("conf"), [0xAB; 64]).unwrap();
    std::fs::write(dir.path().join("db").join("db"), [0xCD; 4096]).unwrap();
    let e = open_err(dir.path());
    assert!(matches!(e, Error::NotALedger { .. }), "{e}");
    let e = verify_dir(dir.path(), None).unwrap_err();
    assert!(matches!(e, Error::NotALedger { .. }), "{e}");
}

/// Every file under `dir` with its bytes.
fn contents(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn auditing_a_stopped_ledger_changes_nothing_in_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 40).await;
    l.seal(&key()).await.unwrap();
    for i in 0..10 {
        l.append(append(format!("after the checkpoint {i}").as_bytes(), "c"))
            .await
            .unwrap();
    }
    // Stopped without a flush or a checkpoint at the end, as a killed service leaves it.
    l.close();
    let before = contents(dir.path());
    let v = verify_dir(dir.path(), Some(&key().public()))
        .unwrap()
        .unwrap();
    assert_eq!((v.entries, v.checkpoint_size), (50, Some(40)));
    let out = tempfile::tempdir().unwrap();
    let n = corridor_ledger::export::export_dir(dir.path(), &out.path().join("x.jsonl")).unwrap();
    assert_eq!(n, 50);
    let s = corridor_ledger::Snapshot::open(dir.path()).unwrap();
    assert_eq!(s.entries().count(), 50);
    drop(s);
    assert_eq!(contents(dir.path()), before, "the audit wrote nothing");
}

#[tokio::test]
async fn an_open_ledger_verifies_what_is_stored_now() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 3).await;
    assert!(l.verify(None).unwrap().is_ok());
    // A second handle on the same tree (in this process) changes entry 2 under the ledger.
    let mut v = l
        .db()
        .unwrap()
        .open_tree("entries")
        .unwrap()
        .get(2u64.to_be_bytes())
        .unwrap()
        .unwrap()
        .to_vec();
    v[20] ^= 0x01;
    l.db()
        .unwrap()
        .open_tree("entries")
        .unwrap()
        .insert(2u64.to_be_bytes(), v)
        .unwrap();
    let d = l.verify(None).unwrap().unwrap_err();
    assert_eq!(d.seq, 2, "{}", d.what);
}

#[tokio::test]
async fn an_export_of_a_damaged_ledger_holds_every_entry_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 6).await.close();
    flip_byte_of_entry(dir.path(), 2);
    tamper(dir.path(), |t| {
        t.remove(4u64.to_be_bytes()).unwrap();
    });
    let out = dir.path().join("export.jsonl");
    assert_eq!(
        corridor_ledger::export::export_dir(dir.path(), &out).unwrap(),
        5
    );
    let d = verify_export(&out, None).unwrap().unwrap_err();
    assert_eq!(d.seq, 2);
    assert!(d.what.contains("changed content"), "{}", d.what);
}

/// The entries' hashes of the ledger in `dir`, as a tree held in memory.
fn memory_tree(l: &Ledger) -> corridor_ledger::proof::MemoryTree {
    let hashes: Vec<Digest> = (0..l.len()).map(|s| l.entry_hash(s).unwrap()).collect();
    corridor_ledger::proof::MemoryTree::from_entry_hashes(&hashes)
}

#[tokio::test]
async fn proofs_are_read_from_the_store_and_verify_against_signed_checkpoints() {
    use corridor_ledger::merkle::leaf_hash;
    use corridor_ledger::proof::{self, verify_consistency, verify_inclusion};
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 300).await;
    let first = l.sign_checkpoint(&key()).await.unwrap();
    for i in 300..600 {
        l.append(append(format!("envelope {i}").as_bytes(), "later"))
            .await
            .unwrap();
    }
    let second = l.sign_checkpoint(&key()).await.unwrap();
    let memory = memory_tree(&l);
    for size in [1, 2, 255, 256, 257, 300, 513, 600] {
        assert_eq!(
            l.root_at(size).unwrap(),
            proof::root(&memory, size).unwrap()
        );
        for seq in [0, size / 3, size - 1] {
            let p = l.inclusion_proof(seq, size).unwrap();
            assert_eq!(p, proof::inclusion_proof(&memory, seq, size).unwrap());
        }
    }
    for seq in [0, 17, 299] {
        let leaf = leaf_hash(l.entry_hash(seq).unwrap().as_bytes());
        let p = l.inclusion_proof(seq, first.size()).unwrap();
        verify_inclusion(&leaf, seq, first.size(), &p, &first.root()).unwrap();
    }
    let p = l.consistency_proof(first.size(), second.size()).unwrap();
    verify_consistency(
        first.size(),
        second.size(),
        &p,
        &first.root(),
        &second.root(),
    )
    .unwrap();
    assert!(matches!(
        l.inclusion_proof(0, 601),
        Err(Error::BeyondLedger {
            size: 601,
            len: 600
        })
    ));
    assert!(matches!(
        l.consistency_proof(601, 600),
        Err(Error::Proof(_))
    ));
    assert!(matches!(l.inclusion_proof(600, 600), Err(Error::Proof(_))));
    // Read again from the database after a reopen: the same proofs.
    l.close();
    let l = open(dir.path());
    assert_eq!(l.consistency_proof(first.size(), second.size()).unwrap(), p);
    assert_eq!(l.root_at(600).unwrap(), second.root());
}

/// The subtree rows of the ledger in `dir`: key and value.
fn subtree_rows(t: &sled::Tree) -> Vec<(sled::IVec, sled::IVec)> {
    t.scan_prefix([0xFE]).map(Result::unwrap).collect()
}

#[tokio::test]
async fn a_ledger_written_before_subtree_hashes_were_kept_has_them_made_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 700).await;
    l.seal(&key()).await.unwrap();
    let root = l.tree_head().root;
    l.close();
    let mut before = Vec::new();
    tamper(dir.path(), |t| {
        before = subtree_rows(t);
        for (k, _) in &before {
            t.remove(k).unwrap();
        }
    });
    assert!(before.len() > 4, "{} rows", before.len());
    // An audit reads such a ledger as it is, without the rows.
    let v = verify_dir(dir.path(), Some(&key().public()))
        .unwrap()
        .unwrap();
    assert_eq!(v.entries, 700);
    let l = open(dir.path());
    assert_eq!(l.root_at(700).unwrap(), root);
    l.close();
    tamper(dir.path(), |t| assert_eq!(subtree_rows(t), before));

    // A making of them cut short (rows, no marker) is made again whole.
    tamper(dir.path(), |t| {
        t.remove([0xFE]).unwrap();
        let (k, _) = &before[1];
        t.insert(k, vec![7; 64]).unwrap();
    });
    open(dir.path()).close();
    tamper(dir.path(), |t| assert_eq!(subtree_rows(t), before));
}

#[tokio::test]
async fn a_changed_missing_or_extra_subtree_hash_is_refused_on_open_and_named_by_verification() {
    let dir = tempfile::tempdir().unwrap();
    let l = filled(dir.path(), 600).await;
    l.seal(&key()).await.unwrap();
    l.close();
    let mut rows = Vec::new();
    tamper(dir.path(), |t| rows = subtree_rows(t));
    let restore = |dir: &std::path::Path| {
        tamper(dir, |t| {
            for (k, _) in subtree_rows(t) {
                t.remove(k).unwrap();
            }
            for (k, v) in &rows {
                t.insert(k, v).unwrap();
            }
        })
    };
    // Level 1, row 0: the hash of entries 6 and 7 changed.
    let key_l1: Vec<u8> = [&[0xFE, 1][..], &0u64.to_be_bytes()].concat();
    tamper(dir.path(), |t| {
        let mut v = t.get(&key_l1).unwrap().unwrap().to_vec();
        v[3 * 32 + 5] ^= 0x10;
        t.insert(&key_l1, v).unwrap();
    });
    let d = verify_dir(dir.path(), None).unwrap().unwrap_err();
    assert_eq!(d.seq, 6, "{d}");
    assert!(d.what.contains("level 1, index 3 (entries 6 to 7)"), "{d}");
    let d = damage(open_err(dir.path()));
    assert_eq!(d.seq, 6, "{d}");
    assert!(
        d.what.contains("differs from the hash of those entries"),
        "{d}"
    );
    restore(dir.path());

    // The open row of level 0 cut short: the last entries' leaf hashes are missing.
    let key_l0: Vec<u8> = [&[0xFE, 0][..], &2u64.to_be_bytes()].concat();
    tamper(dir.path(), |t| {
        let v = t.get(&key_l0).unwrap().unwrap().to_vec();
        t.insert(&key_l0, &v[..v.len() - 32]).unwrap();
    });
    let d = damage(open_err(dir.path()));
    assert_eq!(d.seq, 599, "{d}");
    assert!(d.what.contains("is missing"), "{d}");
    restore(dir.path());

    // A row of a subtree the entries do not make.
    let beyond: Vec<u8> = [&[0xFE, 10][..], &0u64.to_be_bytes()].concat();
    tamper(dir.path(), |t| {
        t.insert(&beyond, vec![1; 32]).unwrap();
    });
    let d = verify_dir(dir.path(), None).unwrap().unwrap_err();
    assert!(d.what.contains("level 10, index 0"), "{d}");
    assert!(d.what.contains("do not make that subtree"), "{d}");
    restore(dir.path());
    assert_eq!(open(dir.path()).len(), 600);
}

/// The RFC 6962 tree hash over leaf hashes (already hashed), split as the RFC says.
fn root_of_leaf_hashes(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => Digest::of(b""),
        1 => leaves[0],
        n => {
            let k = 1usize << (n - 1).ilog2();
            corridor_ledger::merkle::node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

#[tokio::test]
async fn tiles_are_the_tree_the_checkpoint_commits_to() {
    use corridor_ledger::tiles::{Tile, TileKind};
    let dir = tempfile::tempdir().unwrap();
    let l = open(dir.path());
    let batch: Vec<Append> = (0..600)
        .map(|i| append(format!("tiled {i}").as_bytes(), ""))
        .collect();
    l.append_all(batch).await.unwrap();
    let cp = l.sign_checkpoint(&key()).await.unwrap();
    assert_eq!(cp.size(), 600);
    let read = |path: &str| {
        let tile = Tile::parse(path).unwrap_or_else(|| panic!("{path} is a tile path"));
        let span = tile.span(l.len())?;
        l.tile_hashes(span, matches!(tile.kind, TileKind::Hashes { .. }))
            .unwrap()
    };
    let entries: Vec<Digest> = (0..600).map(|s| l.entry_hash(s).unwrap()).collect();

    // Level 0: two full tiles and a partial one of 88 leaf hashes; entries alike.
    let mut leaves = read("0/000").unwrap();
    leaves.extend(read("0/001").unwrap());
    leaves.extend(read("0/002.p/88").unwrap());
    assert_eq!(leaves.len(), 600);
    for (s, e) in entries.iter().enumerate() {
        assert_eq!(
            leaves[s],
            corridor_ledger::merkle::leaf_hash(e.as_bytes()),
            "leaf {s}"
        );
    }
    assert_eq!(read("entries/001").unwrap(), entries[256..512]);
    assert_eq!(read("entries/002.p/88").unwrap(), entries[512..600]);

    // Level 1: the roots of the two full level-0 tiles; with the partial tile they give the
    // checkpoint's root.
    let level1 = read("1/000.p/2").unwrap();
    assert_eq!(level1[0], root_of_leaf_hashes(&leaves[..256]));
    assert_eq!(level1[1], root_of_leaf_hashes(&leaves[256..512]));
    let root = corridor_ledger::merkle::node_hash(
        &corridor_ledger::merkle::node_hash(&level1[0], &level1[1]),
        &root_of_leaf_hashes(&leaves[512..]),
    );
    assert_eq!(root, cp.root());
    assert_eq!(root, root_of_leaf_hashes(&leaves));

    // What the tree does not hold yet is no tile.
    for path in [
        "0/002",
        "0/002.p/89",
        "entries/003.p/1",
        "1/000",
        "1/000.p/3",
        "2/000.p/1",
    ] {
        assert_eq!(read(path), None, "{path}");
    }
}

#[tokio::test]
async fn a_ledger_that_differs_from_its_witnessed_checkpoint_is_named_rewritten() {
    use corridor_ledger::Snapshot;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Ledger a's checkpoint at 4 entries stands for one its witnesses cosigned.
    let la = filled(a.path(), 4).await;
    let witnessed = la.sign_checkpoint(&key()).await.unwrap().tree();
    la.close();
    // Ledger b: the same origin and key, another history of 6 entries.
    let lb = open(b.path());
    for i in 0..6 {
        lb.append(append(format!("other {i}").as_bytes(), "x"))
            .await
            .unwrap();
    }
    lb.sign_checkpoint(&key()).await.unwrap();
    lb.close();
    let snap = Snapshot::open(b.path()).unwrap();
    let d = snap
        .verify_witnessed(Some(&key().public()), Some(witnessed))
        .unwrap()
        .unwrap_err();
    assert_eq!(d.seq, 3, "{d:?}");
    assert!(
        d.what.contains(
            "witnessed checkpoint (the ledger was rewritten after its witnesses cosigned it)"
        ),
        "{d:?}"
    );
    // Against a's own files it holds, and a witnessed checkpoint beyond a ledger is a
    // rollback.
    let snap = Snapshot::open(a.path()).unwrap();
    let v = snap
        .verify_witnessed(Some(&key().public()), Some(witnessed))
        .unwrap()
        .unwrap();
    assert_eq!(v.witnessed_size, Some(4));
    let short = tempfile::tempdir().unwrap();
    filled(short.path(), 2).await.close();
    let d = Snapshot::open(short.path())
        .unwrap()
        .verify_witnessed(Some(&key().public()), Some(witnessed))
        .unwrap()
        .unwrap_err();
    assert!(
        d.what
            .contains("rolled back after its witnesses cosigned it"),
        "{d:?}"
    );
}
