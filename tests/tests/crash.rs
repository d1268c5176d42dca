//! A process killed (SIGKILL) in the middle of appending leaves a ledger that reopens,
//! verifies, and holds every entry it acknowledged.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use corridor_core::{Digest, SigningKey};
use corridor_ledger::Ledger;

#[test]
fn killed_mid_append_every_acknowledged_entry_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-writer"))
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked: Vec<(u64, Digest)> = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 3000 {
        let line = lines.next().expect("writer output").unwrap();
        let mut p = line.split_whitespace().skip(1);
        let seq = p.next().unwrap().parse().unwrap();
        let hash = p.next().unwrap().parse().unwrap();
        acked.push((seq, hash));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let key = SigningKey::from_seed(&[42; 32]);
    // An auditor's look at the stopped ledger first (on a private copy), then the service's
    // own open, which checks every entry again.
    let audited = corridor_ledger::verify_dir(dir.path(), Some(&key.public()))
        .unwrap()
        .unwrap();
    assert!(audited.entries >= acked.len() as u64);
    let ledger = Ledger::open(dir.path(), "corridor/crash-test", &key).unwrap();
    let verified = ledger.verify(Some(&key.public())).unwrap().unwrap();
    assert_eq!(verified.entries, audited.entries);
    assert!(verified.entries >= acked.len() as u64);
    for (seq, hash) in acked {
        assert_eq!(
            ledger.entry_hash(seq),
            Some(hash),
            "acknowledged entry {seq}"
        );
    }
}
