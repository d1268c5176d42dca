#![allow(clippy::unwrap_used)]
//! The AEO registry as a process, driven through the `corridor` binary: killed with SIGKILL
//! after acknowledged changes and started again, nothing acknowledged is lost.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use tokio_stream::StreamExt;

fn corridor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
}

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = corridor().args(args).output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Runs the binary and requires success; returns stdout.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "corridor {args:?}: {out}{err}");
    out
}

/// A `corridor serve aeo` process and the address it printed once listening.
struct Registry {
    child: Child,
    addr: String,
}

impl Registry {
    fn start(topology: &Path, data: &Path) -> Self {
        let mut child = corridor()
            .args(["serve", "aeo", "--listen", "127.0.0.1:0", "--topology"])
            .arg(topology)
            .arg("--data")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, addr }
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        assert!(self.child.wait().unwrap().success());
    }
}

/// Reads `n` changes from `from` on.
async fn watch(addr: &str, from: u64, n: usize) -> Vec<v1::LedgerEntry> {
    let mut c = AeoRegistryClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut s = c
        .watch_changes(v1::WatchChangesRequest {
            from_sequence: from,
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while out.len() < n {
        out.push(s.next().await.unwrap().unwrap().entry.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_registry_restarts_with_every_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("dev");
    let topo = dev.join("topology.toml");
    let data = dir.path().join("registry");
    ok(&[
        "keys",
        "init",
        "--topology",
        deploy("corridor.toml").to_str().unwrap(),
        "--out",
        dev.to_str().unwrap(),
    ]);
    let key = |p: &str| dev.join("keys").join(p).to_str().unwrap().to_owned();

    let reg = Registry::start(&topo, &data);
    let a = reg.addr.clone();
    let out = ok(&[
        "aeo",
        "--registry",
        &a,
        "operator",
        "register",
        "--id",
        "KZ180540012345",
        "--name",
        "KTZ Express JSC",
        "--address",
        "10 Kunayev Street, Astana",
        "--operator-key",
        &key("operators/KZ180540012345.key.pub"),
        "--key",
        &key("KZ/authority.key"),
    ]);
    assert!(
        out.starts_with("registered KZ180540012345: entry 0"),
        "{out}"
    );
    ok(&[
        "aeo",
        "--registry",
        &a,
        "cert",
        "issue",
        "--aeo-id",
        "AEOKZ0000000001",
        "--operator",
        "KZ180540012345",
        "--tier",
        "full",
        "--valid-to",
        "2040-01-01T00:00:00Z",
        "--key",
        &key("KZ/authority.key"),
    ]);
    ok(&[
        "aeo",
        "--registry",
        &a,
        "mra",
        "propose",
        "--id",
        "MRA-KZ-AZ",
        "--countries",
        "KZ,AZ",
        "--tiers",
        "full,customs-simplifications",
        "--key",
        &key("KZ/authority.key"),
    ]);
    let out = ok(&[
        "aeo",
        "--registry",
        &a,
        "mra",
        "countersign",
        "--id",
        "MRA-KZ-AZ",
        "--key",
        &key("AZ/authority.key"),
    ]);
    assert!(
        out.contains("entry 3") && out.ends_with("in force\n"),
        "{out}"
    );

    // Refused through the CLI: exit 2, the status named, nothing written.
    let (code, _, err) = run(&[
        "aeo",
        "--registry",
        &a,
        "cert",
        "issue",
        "--aeo-id",
        "AEOCN0000000001",
        "--operator",
        "KZ180540012345",
        "--tier",
        "full",
        "--valid-to",
        "2040-01-01T00:00:00Z",
        "--key",
        &key("CN/authority.key"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("PermissionDenied"), "{err}");

    let at = "2030-06-01T00:00:00Z";
    let check = || recognition(&a, at);
    let before = check();
    assert!(
        before.starts_with("recognised mutual_recognition"),
        "{before}"
    );
    let seen = watch(&a, 0, 4).await;
    assert_eq!(seen.last().unwrap().seq, 3);

    // SIGKILL: no chance to flush or sign anything on the way out.
    reg.kill_9();
    let reg = Registry::start(&topo, &data);
    let a = reg.addr.clone();
    let check = || recognition(&a, at);
    assert_eq!(check(), before);
    // The same entries, hash for hash, and a watcher resuming after its last sequence gets
    // the next change and nothing else.
    assert_eq!(watch(&a, 0, 4).await, seen);
    ok(&[
        "aeo",
        "--registry",
        &a,
        "cert",
        "suspend",
        "--aeo-id",
        "AEOKZ0000000001",
        "--reason",
        "audit finding",
        "--key",
        &key("KZ/authority.key"),
    ]);
    let next = watch(&a, 4, 1).await;
    assert_eq!(next[0].seq, 4);
    assert_eq!(next[0].prev_hash, seen[3].hash);
    assert_eq!(next[0].kind, "aeo.certificate.status");

    // The running registry's ledger, exported through its read service, verifies offline.
    let export = dir.path().join("registry.jsonl");
    let out = ok(&[
        "ledger",
        "export",
        "--addr",
        &a,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(out, format!("exported 5 entries to {}\n", export.display()));
    let pubkey = key("registry.key.pub");
    let out = ok(&[
        "ledger",
        "verify",
        "--file",
        export.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert!(out.starts_with("ok 5 "), "{out}");
    // The data directory is locked while the service runs.
    let (code, _, err) = run(&["ledger", "verify", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("in use by a running service"), "{err}");

    reg.kill_9();
    let reg = Registry::start(&topo, &data);
    let out = ok(&[
        "aeo",
        "--registry",
        &reg.addr,
        "check",
        "--operator",
        "KZ180540012345",
        "--country",
        "KZ",
    ]);
    assert!(out.starts_with("not recognised suspended"), "{out}");
    reg.terminate();
    let out = ok(&[
        "ledger",
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert!(out.starts_with("ok 5 "), "{out}");
}

/// `corridor aeo check` of KZ180540012345 in AZ at `at`, against the registry at `addr`.
fn recognition(addr: &str, at: &str) -> String {
    ok(&[
        "aeo",
        "--registry",
        addr,
        "check",
        "--operator",
        "KZ180540012345",
        "--country",
        "AZ",
        "--at",
        at,
    ])
}

#[test]
fn keys_init_names_every_role_of_the_topology_and_keeps_existing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ge");
    let topo = deploy("corridor-ge.toml");
    let first = ok(&[
        "keys",
        "init",
        "--topology",
        topo.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // Registry, declarant; per country authority, node, witness, officer; eight operators.
    assert!(first.starts_with("31 keys created, 0 kept"), "{first}");
    let again = ok(&[
        "keys",
        "init",
        "--topology",
        topo.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(again.starts_with("0 keys created, 31 kept"), "{again}");
    let written = std::fs::read_to_string(out.join("topology.toml")).unwrap();
    assert!(written.contains("keys/GE/authority.key.pub"));
    assert!(written.contains("keys/GE/witness.key.pub"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("keys/GE/authority.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A topology without keys cannot serve: it says what to run.
    let (code, _, err) = run(&[
        "serve",
        "aeo",
        "--topology",
        topo.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("corridor keys init"), "{err}");
    // A key passed with --key must be the one the topology lists for the registry, or its
    // checkpoints would not verify with the topology's public key.
    let (code, out_text, err) = run(&[
        "serve",
        "aeo",
        "--topology",
        out.join("topology.toml").to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--key",
        out.join("keys/declarant.key").to_str().unwrap(),
    ]);
    assert_eq!((code, out_text.as_str()), (2, ""), "{err}");
    assert!(err.contains("registry.key.public"), "{err}");
}

#[test]
fn sigterm_as_soon_as_it_listens_stops_the_registry_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("dev");
    ok(&[
        "keys",
        "init",
        "--topology",
        deploy("corridor.toml").to_str().unwrap(),
        "--out",
        dev.to_str().unwrap(),
    ]);
    let topo = dev.join("topology.toml");
    let data = dir.path().join("registry");
    // "listening on" promises the SIGTERM handler is in place: a signal right after it is a
    // clean stop (exit 0), never the default fatal one (exit 143). The shell's built-in
    // `kill` sends it within microseconds of the line, which spawning `kill` would not.
    #[cfg(unix)]
    for _ in 0..5 {
        let status = Command::new("bash")
            .arg("-c")
            .arg(
                r#"coproc S { exec "$0" serve aeo --listen 127.0.0.1:0 --topology "$1" --data "$2"; }
                read -r line <&"${S[0]}"; kill -TERM "$S_PID"; wait "$S_PID""#,
            )
            .arg(env!("CARGO_BIN_EXE_corridor"))
            .arg(&topo)
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
    let out = ok(&["ledger", "verify", "--data", data.to_str().unwrap()]);
    assert!(out.starts_with("ok 0 "), "{out}");
    // A data directory that cannot be opened fails before "listening on" is printed.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let (code, out, err) = run(&[
        "serve",
        "aeo",
        "--listen",
        "127.0.0.1:0",
        "--topology",
        topo.to_str().unwrap(),
        "--data",
        file.join("registry").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "", "{err}");
}
