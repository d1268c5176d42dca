//! A full disk under a running registry: appends are refused UNAVAILABLE and health reports
//! NOT_SERVING; once space returns the registry reopens its ledger by itself, reports
//! SERVING and records again, and the ledger verifies. Runs on a small tmpfs of its own,
//! which needs root (as CI runs); elsewhere the test says why it is skipped and returns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use corridor_aeo::sign::request;
use corridor_core::{SigningKey, payload_type as pt};
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    _dir: tempfile::TempDir,
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size`, or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("mounting a tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        let s = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !s.success() {
            return Err(format!("mount -t tmpfs failed ({s})"));
        }
        Ok(Self { _dir: dir, at })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

/// Writes `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xA5; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

async fn register_as(
    c: &mut AeoRegistryClient<Channel>,
    keys: &Keys,
    id: &str,
) -> Result<(), tonic::Status> {
    let doc = registration(id, &SigningKey::generate());
    c.register_operator(request(pt::OPERATOR_REGISTRATION, &doc, keys.of("KZ")))
        .await
        .map(|_| ())
}

/// Polls the registry's health (every 20 ms, for at most `within`) until it reports `want`.
async fn health_becomes(h: &mut HealthClient<Channel>, want: ServingStatus, within: Duration) {
    let started = Instant::now();
    loop {
        let now = h
            .check(HealthCheckRequest {
                service: "corridor.v1.AeoRegistry".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if now == want as i32 {
            return;
        }
        assert!(
            started.elapsed() < within,
            "health still {now} after {within:?}, waiting for {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_registry_until_space_returns_then_it_resumes_by_itself() {
    let fs = match Tmpfs::mount("8m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = fs.at.join("registry");
    let keys = Keys::new();
    let r = Running::start(&dir, &keys, 1 << 20).await;
    let mut c = r.client().await;
    let mut h = HealthClient::new(r.channel().await);
    health_becomes(&mut h, ServingStatus::Serving, Duration::ZERO).await;
    let mut recorded = 0u64;
    for i in 0..3 {
        register_as(&mut c, &keys, &format!("KZA{i}"))
            .await
            .unwrap();
        recorded += 1;
    }

    // The disk fills: appends fail UNAVAILABLE, naming the ledger, and health follows.
    let filler = fs.at.join("filler");
    fill(&filler);
    let failed = loop {
        match register_as(&mut c, &keys, &format!("KZB{recorded}")).await {
            Ok(()) => recorded += 1,
            Err(s) => break s,
        }
        assert!(recorded < 1000, "appends on a full disk kept succeeding");
    };
    assert_eq!(failed.code(), Code::Unavailable, "{failed:?}");
    assert!(failed.message().contains("ledger failed"), "{failed:?}");
    health_becomes(&mut h, ServingStatus::NotServing, Duration::from_secs(10)).await;
    let overall = h
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.status, ServingStatus::NotServing as i32);
    let refused = register_as(&mut c, &keys, "KZC1").await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("resumes once its ledger is reopened"),
        "{refused:?}"
    );

    // Space returns: the registry reopens its ledger by itself.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    health_becomes(&mut h, ServingStatus::Serving, Duration::from_secs(60)).await;
    eprintln!("SERVING again {:?} after space returned", freed.elapsed());
    register_as(&mut c, &keys, "KZD1").await.unwrap();
    recorded += 1;
    r.stop().await;

    let v = corridor_ledger::verify_dir(&dir, Some(&keys.registry.public()))
        .unwrap()
        .unwrap();
    assert_eq!(
        v.entries, recorded,
        "every acknowledged change, nothing else"
    );
    assert_eq!(v.checkpoint_size, Some(recorded));
}
