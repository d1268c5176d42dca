#![allow(clippy::unwrap_used)]
//! A client in another language, written from the wire format alone: the Python client of
//! `tests/clients/python` (stubs generated from `proto/`, its own ed25519 keys, documents
//! signed as `proto/SIGNING.md` says) takes a consignment through `corridor up` from its
//! declaration at the first node to its completion at the last, and `corridor trace`
//! verifies every document it signed; then it puts a bill its own carrier signed on the
//! declarant's platform, which declares it, and finds it there as it signed it. On the way
//! it runs its negative cases (`tests/clients/python/negative.py`): requests the written
//! contract says are refused (a flipped signature bit, a wrong payload type, a message over
//! the node's limit, another envelope of a declared document, a second declaration on a bill,
//! an officer of another country, an unknown signer, a double spend of a bill at the
//! declarant) or answered with their first receipt (the same envelope again), each with the
//! status code and message of `proto/ERRORS.md`, `proto/SIGNING.md` and `proto/LIMITS.md` and
//! nothing recorded; the test checks that every one of them ran and passed. The
//! consignment's proof (`corridor proof`) is then checked by a second verifier in Python,
//! `tests/clients/python/verify_proof.py`, written from `proto/LEDGER.md` alone.
//!
//! The Python comes from `$CORRIDOR_PYTHON` if set; otherwise from the virtual environment
//! `target/py-client-venv`, made here (`python3 -m venv`, then `pip install -r
//! requirements.txt`) when it is missing or lacks a pinned requirement. `.ci/run` makes it
//! before the tests.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Up, ok};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Exits 0 when every `name==version` line of the requirements file (argv[1]) is installed
/// at that version.
const HAS_REQUIREMENTS: &str = r##"
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, wanted = line.partition("==")
    try:
        installed = version(name.strip())
    except PackageNotFoundError:
        sys.exit(1)
    if wanted and installed != wanted.strip():
        sys.exit(1)
"##;

fn has_requirements(python: &Path, requirements: &Path) -> bool {
    python.exists()
        && Command::new(python)
            .args(["-c", HAS_REQUIREMENTS])
            .arg(requirements)
            .status()
            .is_ok_and(|s| s.success())
}

fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python to run the client with: `$CORRIDOR_PYTHON`, or the workspace's virtual
/// environment, provisioned if needed.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CORRIDOR_PYTHON") {
        return p.into();
    }
    let ws = workspace();
    let requirements = ws.join("tests/clients/python/requirements.txt");
    let venv = ws.join("target/py-client-venv");
    let python = venv.join("bin/python");
    if has_requirements(&python, &requirements) {
        return python;
    }
    // Tests of this file run as separate processes: one makes the environment at a time,
    // and the others find it made.
    std::fs::create_dir_all(ws.join("target")).unwrap();
    let lock = std::fs::File::create(ws.join("target/py-client-venv.lock")).unwrap();
    lock.lock().unwrap();
    if has_requirements(&python, &requirements) {
        return python;
    }
    if !python.exists() {
        check(
            "python3 -m venv target/py-client-venv",
            Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .output(),
        );
    }
    check(
        "pip install -r tests/clients/python/requirements.txt",
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(&requirements)
            .output(),
    );
    assert!(
        has_requirements(&python, &requirements),
        "{} still lacks a requirement of {}",
        venv.display(),
        requirements.display()
    );
    python
}

#[test]
fn a_python_client_built_from_the_protos_clears_a_consignment_through_corridor_up() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(&dir.path().join("corridor-data"));

    let out = Command::new(&python)
        .arg(workspace().join("tests/clients/python/client.py"))
        .arg(&up.topology)
        .arg("--corridor")
        .arg(env!("CARGO_BIN_EXE_corridor"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{}\n{stdout}{stderr}", out.status);
    let id = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("completed "))
        .unwrap_or_else(|| panic!("no `completed <id>` line last:\n{stdout}"));
    assert!(
        id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{id:?}"
    );
    assert!(stdout.contains(&format!("consignment {id}\n")), "{stdout}");
    assert!(
        stdout.contains("on the platform as signed, held by CN"),
        "the declarant took the client's carrier-signed bill:\n{stdout}"
    );

    // Every negative case ran and passed (the client exits 1 on the first that fails).
    let negative = stdout
        .lines()
        .find_map(|l| l.strip_prefix("negative cases: "))
        .unwrap_or_else(|| panic!("no `negative cases: ...` line:\n{stdout}"));
    for case in [
        "flipped-signature-bit",
        "declaration-with-the-bill-payload-type",
        "oversize-message",
        "same-envelope-twice",
        "same-id-other-envelope",
        "bill-already-declared",
        "border-event-with-the-decision-payload-type",
        "officer-of-another-country",
        "unknown-signer",
        "double-spend-of-a-bill",
    ] {
        assert!(negative.contains(case), "{case} did not run: {negative}");
    }

    // Every document the client signed checks out against the keys it registered.
    let trace = ok(&["trace", "--topology", up.topology.to_str().unwrap(), id]);
    assert!(trace.contains("trace: 4 countries"), "{trace}");

    // Its proof, made by `corridor proof`, checked by a second verifier written from
    // proto/LEDGER.md alone (tests/clients/python/verify_proof.py), and changed: both
    // verifiers refuse the change.
    let topology = up.topology.to_str().unwrap();
    let file = dir.path().join("proof.json");
    ok(&[
        "proof",
        id,
        "--topology",
        topology,
        "--out",
        file.to_str().unwrap(),
    ]);
    let verify_py = |file: &Path| {
        let out = Command::new(&python)
            .arg(workspace().join("tests/clients/python/verify_proof.py"))
            .arg(file)
            .arg(&up.topology)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out) = verify_py(&file);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("valid: 5 excerpts"), "{out}");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let entry = &mut json["nodes"][1]["entries"][0]["entry"];
    let seq = entry["seq"].as_str().unwrap_or("0").to_string();
    let time: i64 = entry["timeUnixMicros"].as_str().unwrap().parse().unwrap();
    entry["timeUnixMicros"] = serde_json::Value::String((time - 1).to_string());
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, json.to_string()).unwrap();
    let (code, out) = verify_py(&changed);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("KZ #{seq}")), "{out}");
    let (code, out, _) = common::run(&[
        "proof",
        "verify",
        changed.to_str().unwrap(),
        "--topology",
        topology,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("BROKEN: KZ #{seq}")), "{out}");

    up.terminate();
}

/// The key `keys gen` writes loads with Python's `cryptography` (which cannot load the RFC
/// 5958 v2 form), and is the key of its `.pub` file.
#[test]
fn python_cryptography_loads_the_keys_corridor_writes() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("operator.key");
    ok(&["keys", "gen", "--out", key.to_str().unwrap()]);
    let script = r#"
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

with open(sys.argv[1], "rb") as f:
    private = serialization.load_pem_private_key(f.read(), password=None)
with open(sys.argv[1] + ".pub", "rb") as f:
    public = serialization.load_pem_public_key(f.read())
assert isinstance(private, Ed25519PrivateKey), type(private)
raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
assert private.public_key().public_bytes(*raw) == public.public_bytes(*raw)
print(private.public_key().public_bytes(*raw).hex())
"#;
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(&key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let public = corridor_core::PublicKey::load(&dir.path().join("operator.key.pub")).unwrap();
    assert_eq!(stdout.trim(), hex::encode(public.as_bytes()));
}
