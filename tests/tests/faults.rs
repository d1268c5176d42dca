//! The ledger on file systems that fail. On a full disk (a writer process): the appends of
//! the failing group get a clear error, the ledger takes no more, the process ends by itself,
//! and once space returns a restart verifies and holds every acknowledged entry; or, in the
//! same process, `Ledger::recover` reopens it in place once space returns. On a read-only
//! file system: a writer is refused, an audit reads the ledger where it is. Each test mounts
//! a small tmpfs of its own (which needs root, as CI runs; elsewhere the test says so and
//! returns).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use corridor_core::{Digest, SigningKey};
use corridor_ledger::RowChange;
use corridor_ledger::{Ledger, verify_dir};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    _dir: tempfile::TempDir,
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size`; `None` when this process may not mount.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        Some(Self { _dir: dir, at })
    }

    /// Remounts with `options`; a read-only remount is retried for up to 2 s, while sled's
    /// threads still hold the files of a ledger closed a moment ago (the kernel refuses it
    /// while a file is open for writing).
    fn remount(&self, options: &str) {
        let started = std::time::Instant::now();
        loop {
            let s = Command::new("mount")
                .args(["-o", &format!("remount,{options}")])
                .arg(&self.at)
                .status()
                .unwrap();
            if s.success() {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "remount {options}"
            );
            std::thread::yield_now();
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

#[test]
fn a_full_disk_fails_the_appends_of_that_group_and_loses_nothing_acknowledged() {
    let Some(fs) = Tmpfs::mount("16m") else {
        return;
    };
    let dir = fs.at.join("ledger");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-writer"))
        .arg(&dir)
        .arg("--until-full")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked: Vec<(u64, Digest)> = Vec::new();
    let (mut failed, mut again) = (None, None);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ack ") {
            let (seq, hash) = rest.split_once(' ').unwrap();
            acked.push((seq.parse().unwrap(), hash.parse().unwrap()));
        } else if let Some(e) = line.strip_prefix("failed ") {
            failed = Some(e.to_owned());
        } else if let Some(e) = line.strip_prefix("again ") {
            again = Some(e.to_owned());
        }
    }
    // The writer ends by itself once its ledger has failed.
    assert!(child.wait().unwrap().success());
    let failed = failed.expect("an append failed");
    assert!(failed.contains("ledger write failed"), "{failed}");
    assert!(
        failed.contains(dir.to_str().unwrap()),
        "names the ledger: {failed}"
    );
    assert!(!acked.is_empty());
    // No append is taken after the failure, until the ledger is opened again.
    let again = again.unwrap();
    assert!(again.contains("ledger write failed"), "{again}");

    // Space returns: a restart verifies and holds every acknowledged entry and its row.
    fs.remount("size=256m");
    let key = SigningKey::from_seed(&[42; 32]);
    let v = verify_dir(&dir, Some(&key.public())).unwrap().unwrap();
    assert!(v.entries >= acked.len() as u64, "{v:?}");
    let l = Ledger::open(&dir, "corridor/crash-test", &key).unwrap();
    for (seq, hash) in &acked {
        assert_eq!(l.entry_hash(*seq), Some(*hash), "acknowledged entry {seq}");
        assert!(l.row(format!("row/{seq}").as_bytes()).is_some());
    }
    assert!(l.verify(Some(&key.public())).unwrap().is_ok());
}

#[tokio::test]
async fn a_read_only_file_system_refuses_a_writer_but_is_audited_as_it_is() {
    let Some(fs) = Tmpfs::mount("64m") else {
        return;
    };
    let key = SigningKey::from_seed(&[11; 32]);
    let dir = fs.at.join("ledger");
    let l = Ledger::open(&dir, "corridor/faults", &key).unwrap();
    let mut acked = Vec::new();
    for i in 0..200u64 {
        let a = l
            .append(corridor_ledger::Append {
                kind: "test.recorded".into(),
                subject: format!("c{}", i % 3),
                time_unix_micros: 1_700_000_000_000_000,
                envelope: format!("envelope {i}").into_bytes(),
                rows: vec![RowChange::set(format!("row/{i}").into_bytes(), vec![1; 16])],
            })
            .await
            .unwrap();
        acked.push((a.seq, a.hash));
    }
    l.seal(&key).await.unwrap();
    drop(l);
    fs.remount("ro");

    // An auditor reads it where it is.
    let v = verify_dir(&dir, Some(&key.public())).unwrap().unwrap();
    assert_eq!((v.entries, v.checkpoint_size), (200, Some(200)));
    let out = tempfile::tempdir().unwrap();
    let n = corridor_ledger::export::export_dir(&dir, &out.path().join("x.jsonl")).unwrap();
    assert_eq!(n, 200);

    // A service cannot take appends there: it says so, and nothing is lost.
    let e = match Ledger::open(&dir, "corridor/faults", &key) {
        Ok(_) => panic!("a writer opened a ledger on a read-only file system"),
        Err(e) => e,
    };
    assert!(e.to_string().to_lowercase().contains("read-only"), "{e}");

    fs.remount("rw");
    let l = Ledger::open(&dir, "corridor/faults", &key).unwrap();
    for (seq, hash) in &acked {
        assert_eq!(l.entry_hash(*seq), Some(*hash), "entry {seq}");
        assert!(l.row(format!("row/{seq}").as_bytes()).is_some());
    }
    assert!(l.verify(Some(&key.public())).unwrap().is_ok());
}

#[tokio::test]
async fn a_ledger_whose_disk_filled_recovers_in_place_once_space_returns() {
    let Some(fs) = Tmpfs::mount("16m") else {
        return;
    };
    let key = SigningKey::from_seed(&[12; 32]);
    let dir = fs.at.join("ledger");
    let l = Ledger::open(&dir, "corridor/faults", &key).unwrap();
    let big = |i: u64| corridor_ledger::Append {
        kind: "test.recorded".into(),
        subject: "full".into(),
        time_unix_micros: 1_700_000_000_000_000,
        envelope: format!("{i:032}").repeat(1024).into_bytes(),
        rows: vec![RowChange::set(format!("row/{i}").into_bytes(), vec![1; 16])],
    };
    let mut acked = Vec::new();
    let failed = loop {
        match l.append(big(acked.len() as u64)).await {
            Ok(a) => acked.push((a.seq, a.hash)),
            Err(e) => break e,
        }
    };
    assert!(
        failed.to_string().contains("ledger write failed"),
        "{failed}"
    );
    assert!(l.is_failed());
    assert!(l.probe().is_err(), "the disk is full");

    fs.remount("size=256m");
    let started = std::time::Instant::now();
    l.probe().unwrap();
    // As a service's watcher does: a database that has not closed within a try's 5 s is
    // waited for by the next. sled 0.34 sometimes never closes a database after a write
    // error: the ledger then stays failed, refusing every append, and nothing is half-written
    // (the service stays NOT_SERVING until it is restarted).
    let recovered = loop {
        match l.recover() {
            Err(e) if e.to_string().contains("has not closed yet") => {
                if started.elapsed() > std::time::Duration::from_secs(30) {
                    break None;
                }
            }
            r => break Some(r.unwrap()),
        }
    };
    let Some(r) = recovered else {
        eprintln!("sled did not close the failed database in 30 s: the ledger stays failed");
        assert!(l.is_failed());
        let refused = l.append(big(acked.len() as u64)).await.unwrap_err();
        assert!(refused.to_string().contains("ledger"), "{refused}");
        return;
    };
    eprintln!("recovered in {:?}: {r:?}", started.elapsed());
    assert_eq!(r.entries, acked.len() as u64);
    assert!(!l.is_failed());
    for (seq, hash) in &acked {
        assert_eq!(l.entry_hash(*seq), Some(*hash), "acknowledged entry {seq}");
    }
    let a = l.append(big(acked.len() as u64)).await.unwrap();
    assert_eq!(a.seq, acked.len() as u64);
    assert!(l.verify(Some(&key.public())).unwrap().is_ok());
    l.seal(&key).await.unwrap();
    drop(l);
    let v = verify_dir(&dir, Some(&key.public())).unwrap().unwrap();
    assert_eq!(v.entries, acked.len() as u64 + 1);
}
