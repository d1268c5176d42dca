//! A process killed (SIGKILL) in the middle of appending leaves a ledger that reopens,
//! verifies, and holds every entry it acknowledged.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use corridor_core::Digest;
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

    let ledger = Ledger::open(dir.path(), "corridor/crash-test").unwrap();
    let verified = ledger.verify(None).unwrap().unwrap();
    assert!(verified.entries >= acked.len() as u64);
    for (seq, hash) in acked {
        assert_eq!(
            ledger.entry_hash(seq).unwrap(),
            Some(hash),
            "acknowledged entry {seq}"
        );
    }
}
