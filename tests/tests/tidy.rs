//! Repository invariants that no compiler checks.

#![allow(clippy::unwrap_used)]

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn core_and_ledger_know_no_wire_format() {
    for krate in ["corridor-core", "corridor-ledger"] {
        let manifest =
            std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
        for dep in ["prost", "tonic"] {
            assert!(
                !manifest.lines().any(|l| l.trim_start().starts_with(dep)),
                "{krate} must not depend on {dep}"
            );
        }
    }
}

#[test]
fn no_private_keys_are_committed() {
    let out = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success());
    let files = String::from_utf8_lossy(&out.stdout);
    assert!(
        files.lines().any(|f| f == "Cargo.toml"),
        "git lists the workspace"
    );
    for f in files
        .lines()
        .filter(|f| !f.ends_with(".rs") && !f.ends_with(".md"))
    {
        let text = std::fs::read(root().join(f)).unwrap_or_default();
        let needle = b"-----BEGIN PRIVATE KEY-----";
        assert!(
            !text.windows(needle.len()).any(|w| w == needle),
            "{f} holds a private key"
        );
    }
}
