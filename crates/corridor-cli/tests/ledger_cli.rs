//! The ledger's command line as a user and an auditor use it: keys, the ledger benchmark,
//! verification of intact and damaged ledgers (logically and on disk), export and offline
//! verification, and the one-line errors with exit code 2.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `corridor` binary built with this package.
fn corridor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(args)
        .output()
        .expect("run the corridor binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn gen_key(dir: &Path) -> (String, String) {
    let key = dir.join("node.key");
    let o = corridor(&["keys", "gen", "--out", key.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    (key.display().to_string(), format!("{}.pub", key.display()))
}

/// Runs the benchmark on a small ledger; returns the key paths and the JSON figures.
fn bench(dir: &Path, entries: &str) -> (String, String, serde_json::Value) {
    let (key, pubkey) = gen_key(dir);
    let data = dir.join("ledger");
    let o = corridor(&[
        "bench",
        "ledger",
        "--data",
        data.to_str().unwrap(),
        "--key",
        &key,
        "--entries",
        entries,
        "--concurrency",
        "16",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    (key, pubkey, json)
}

#[test]
fn keys_gen_writes_an_owner_only_key_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (key, pubkey) = gen_key(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        std::fs::read_to_string(&pubkey)
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    let o = corridor(&["keys", "gen", "--out", &key]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

/// The key `keys gen` writes is one OpenSSL reads (`openssl pkey`, which refuses the RFC 5958
/// v2 form in OpenSSL 3.0), and the public key OpenSSL derives from it is the `.pub` file.
#[test]
fn keys_gen_writes_a_key_openssl_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (key, pubkey) = gen_key(dir.path());
    let o = Command::new("openssl")
        .args(["pkey", "-in", &key, "-pubout"])
        .output()
        .expect("openssl (`.ci/run` installs it)");
    assert!(
        o.status.success(),
        "openssl pkey: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        std::fs::read_to_string(&pubkey).unwrap()
    );
    let text = Command::new("openssl")
        .args(["pkey", "-in", &key, "-noout", "-text"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("ED25519 Private-Key"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn bench_leaves_a_ledger_that_verifies_online_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (_key, pubkey, json) = bench(dir.path(), "500");
    for field in [
        "appends_per_s",
        "raw_sled_per_s",
        "ratio",
        "p50_us",
        "p99_us",
        "verify_per_s",
        "inclusion_proofs_per_s",
        "consistency_proofs_per_s",
    ] {
        assert!(json[field].as_f64().unwrap() > 0.0, "{field} in {json}");
    }
    // A proof of a tree of 500 entries holds at most ceil(log2 500) + 1 hashes.
    let longest = json["proof_hashes_read_max"].as_u64().unwrap();
    assert!((8..=10).contains(&longest), "{json}");
    assert_eq!(json["verified"], true);
    let data = dir.path().join("ledger");
    let o = corridor(&[
        "ledger",
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((parts[0], parts[1]), ("ok", "500"));
    assert_eq!(parts[2].len(), 64);

    let export = dir.path().join("ledger.jsonl");
    let o = corridor(&[
        "ledger",
        "export",
        "--data",
        data.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = corridor(&[
        "ledger",
        "verify",
        "--file",
        export.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert_eq!(
        stdout(&o),
        line,
        "offline verification agrees with the database's"
    );

    // The export with one envelope byte changed.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut e: serde_json::Value = serde_json::from_str(&lines[123]).unwrap();
    let env = e["envelope"].as_str().unwrap().to_owned();
    let flipped = if env.starts_with('A') {
        env.replacen('A', "B", 1)
    } else {
        format!("A{}", &env[1..])
    };
    e["envelope"] = flipped.into();
    lines[123] = e.to_string();
    std::fs::write(&export, lines.join("\n")).unwrap();
    let o = corridor(&[
        "ledger",
        "verify",
        "--file",
        export.to_str().unwrap(),
        "--pubkey",
        &pubkey,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("bad 123: changed content"),
        "{}",
        stdout(&o)
    );

    // A different node's key does not verify the checkpoint.
    let other = tempfile::tempdir().unwrap();
    let (_, other_pub) = gen_key(other.path());
    let o = corridor(&[
        "ledger",
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--pubkey",
        &other_pub,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).starts_with("bad 500: checkpoint"),
        "{}",
        stdout(&o)
    );
}

/// Rewrites the stored ledger through sled itself, as someone with the files might, in the
/// layout ARCHITECTURE.md gives: the tree `entries` of the database in `db/`, one key per
/// entry (its sequence number, big-endian), the value its record bytes and then its hash.
fn tamper(data: &Path, f: impl FnOnce(&sled::Tree)) {
    let db = sled::open(data.join("db")).unwrap();
    f(&db.open_tree("entries").unwrap());
    db.flush().unwrap();
}

/// `ledger verify` of the ledger at `data` with the node's key.
fn verify(data: &Path, pubkey: &str) -> Output {
    corridor(&[
        "ledger",
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--pubkey",
        pubkey,
    ])
}

#[test]
fn verify_names_the_first_damaged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (_key, pubkey, _) = bench(dir.path(), "300");
    let data = dir.path().join("ledger");
    // One byte in the middle of entry 77's stored value changed (its stored hash kept).
    tamper(&data, |t| {
        let mut v = t.get(77u64.to_be_bytes()).unwrap().unwrap().to_vec();
        let mid = v.len() / 2;
        v[mid] ^= 0x01;
        t.insert(77u64.to_be_bytes(), v).unwrap();
    });
    let o = verify(&data, &pubkey);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("bad 77: changed content"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn verify_reports_a_deleted_entry_as_a_gap_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (_key, pubkey, _) = bench(dir.path(), "120");
    let data = dir.path().join("ledger");
    tamper(&data, |t| {
        t.remove(42u64.to_be_bytes()).unwrap();
    });
    let o = verify(&data, &pubkey);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("bad 42: gap"), "{}", stdout(&o));
}

#[test]
fn verify_finds_reordered_entries() {
    let dir = tempfile::tempdir().unwrap();
    let (_key, pubkey, _) = bench(dir.path(), "100");
    let data = dir.path().join("ledger");
    // Entries 10 and 11 swapped, each with its own hash.
    tamper(&data, |t| {
        let a = t.get(10u64.to_be_bytes()).unwrap().unwrap();
        let b = t.get(11u64.to_be_bytes()).unwrap().unwrap();
        t.insert(10u64.to_be_bytes(), b).unwrap();
        t.insert(11u64.to_be_bytes(), a).unwrap();
    });
    let o = verify(&data, &pubkey);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("bad 10: reordered"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_ledger_cut_short_is_caught_against_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (_key, pubkey, _) = bench(dir.path(), "200");
    let data = dir.path().join("ledger");
    // Entries 150 onwards removed: what remains still checks, and the signed checkpoint
    // says 200 entries were there.
    tamper(&data, |t| {
        for seq in 150..200u64 {
            t.remove(seq.to_be_bytes()).unwrap();
        }
    });
    let o = verify(&data, &pubkey);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("bad 150: "), "{out}");
    assert!(out.contains("missing entries"), "{out}");

    // Without its checkpoint as well, the shorter ledger is still refused.
    std::fs::remove_file(data.join("checkpoint.note")).unwrap();
    let o = verify(&data, &pubkey);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("no signed checkpoint"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_directory_that_is_not_a_ledger_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("entries.log"), b"clf1").unwrap();
    let o = corridor(&["ledger", "verify", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("log-file layout"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        db.insert(b"k", b"v").unwrap();
        db.flush().unwrap();
    }
    let o = corridor(&[
        "ledger",
        "export",
        "--data",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("no `entries` tree"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(dir.path().to_str().unwrap()),
        "names the directory: {}",
        stderr(&o)
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let o = corridor(&["ledger", "verify", "--data", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("no ledger at"), "{}", stderr(&o));

    let (key, _) = gen_key(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = corridor(&[
            "bench",
            "ledger",
            "--data",
            dir.path().join("l").to_str().unwrap(),
            "--key",
            &key,
            "--entries",
            "1",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("readable by its owner only"),
            "{}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).lines().count(), 1);
    }
    let garbage = dir.path().join("garbage.pub");
    std::fs::write(&garbage, "not a key").unwrap();
    let o = corridor(&[
        "ledger",
        "verify",
        "--data",
        dir.path().to_str().unwrap(),
        "--pubkey",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ed25519 public key"), "{}", stderr(&o));

    let o = corridor(&["ledger", "verify"]);
    assert_eq!(o.status.code(), Some(2), "usage errors are clap's exit 2");
}

#[test]
fn a_database_held_by_a_running_process_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let key = corridor_core::SigningKey::from_seed(&[7; 32]);
    let held = corridor_ledger::Ledger::open(&data, "corridor/test", &key).unwrap();
    let o = corridor(&["ledger", "verify", "--data", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("in use by a running service"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
    held.close();
}

#[test]
fn bench_without_a_key_makes_one_beside_the_ledger_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let run = || {
        let o = corridor(&[
            "bench",
            "ledger",
            "--data",
            data.to_str().unwrap(),
            "--entries",
            "50",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run();
    run();
    let pubkey = data.join("node.key.pub");
    let o = corridor(&[
        "ledger",
        "verify",
        "--data",
        data.to_str().unwrap(),
        "--pubkey",
        pubkey.to_str().unwrap(),
    ]);
    assert!(stdout(&o).starts_with("ok 100 "), "{}", stdout(&o));
}

#[test]
fn output_into_a_pipe_closed_early_ends_quietly_as_unix_tools_do() {
    use std::os::unix::process::ExitStatusExt;
    // A reader that has gone (`corridor topology show | head -0`): the first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["topology", "show"])
        .stdout(writer)
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(
        o.status.signal(),
        Some(13),
        "ended by SIGPIPE: {:?}",
        o.status
    );
}
