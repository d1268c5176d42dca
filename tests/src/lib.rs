//! Support for corridor's end-to-end tests (in `tests/tests/`): finding and running the
//! `corridor` binary as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The path of the `corridor` binary of this workspace's build, building it first if this
/// test run did not (e.g. `cargo nextest run -p corridor-tests`).
pub fn corridor_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Test executables live in target/<profile>/deps; binaries one level up.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile> directory")
            .to_owned();
        let bin = profile_dir.join("corridor");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-p", "corridor-cli", "--bin", "corridor"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(
                status.success(),
                "cargo build of the corridor binary failed"
            );
        }
        bin
    })
    .clone()
}

/// Runs `corridor ARGS...` to completion.
pub fn corridor(args: &[&str]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .output()
        .expect("run the corridor binary")
}

/// A finished command's stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A finished command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
