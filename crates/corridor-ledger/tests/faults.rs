//! The ledger on a read-only file system. The test mounts a small tmpfs of its own (which
//! needs root, as CI runs; elsewhere the test says so and returns). A full disk is tested
//! with a writer process (`tests/tests/faults.rs`): a ledger whose write failed is not
//! reopened in the process that held it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use corridor_core::{Digest, SigningKey};
use corridor_ledger::{Append, Ledger, verify_dir};

fn key() -> SigningKey {
    SigningKey::from_seed(&[11; 32])
}

fn append(i: u64, bytes: usize) -> Append {
    let mut envelope = format!("envelope {i} ").into_bytes();
    envelope.resize(bytes, b'.');
    Append {
        kind: "test.recorded".into(),
        subject: format!("c{}", i % 3),
        time_unix_micros: 1_700_000_000_000_000,
        envelope,
        extra: vec![(format!("row/{i}").into_bytes(), Some(vec![1; 16]))],
    }
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    _dir: tempfile::TempDir,
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it); `None` when this process may
    /// not mount.
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

fn check_all_there(dir: &Path, acked: &[(u64, Digest)]) {
    let v = verify_dir(dir, Some(&key().public())).unwrap().unwrap();
    assert!(v.entries >= acked.len() as u64, "{v:?}");
    let l = Ledger::open(dir, "corridor/faults", &key()).unwrap();
    for (seq, hash) in acked {
        assert_eq!(l.entry_hash(*seq), Some(*hash), "acknowledged entry {seq}");
        assert!(l.extra(format!("row/{seq}").as_bytes()).is_some());
    }
    assert!(l.verify(Some(&key().public())).unwrap().is_ok());
}

#[tokio::test]
async fn a_read_only_file_system_refuses_a_writer_but_is_audited_as_it_is() {
    let Some(fs) = Tmpfs::mount("64m") else {
        return;
    };
    let dir = fs.at.join("ledger");
    let l = Ledger::open(&dir, "corridor/faults", &key()).unwrap();
    let mut acked = Vec::new();
    for i in 0..200 {
        let a = l.append(append(i, 512)).await.unwrap();
        acked.push((a.seq, a.hash));
    }
    l.seal(&key()).await.unwrap();
    drop(l);
    fs.remount("ro");

    // An auditor reads it where it is.
    let v = verify_dir(&dir, Some(&key().public())).unwrap().unwrap();
    assert_eq!((v.entries, v.checkpoint_size), (200, Some(200)));
    let out = tempfile::tempdir().unwrap();
    let n = corridor_ledger::export::export_dir(&dir, &out.path().join("x.jsonl")).unwrap();
    assert_eq!(n, 200);

    // A service cannot take appends there: it says so, and nothing is lost.
    let e = match Ledger::open(&dir, "corridor/faults", &key()) {
        Ok(_) => panic!("a writer opened a ledger on a read-only file system"),
        Err(e) => e,
    };
    assert!(e.to_string().to_lowercase().contains("read-only"), "{e}");

    fs.remount("rw");
    check_all_there(&dir, &acked);
}
