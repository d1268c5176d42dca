//! corridor's cross-crate tests live in `tests/tests/`; this crate also builds the fixtures
//! they drive as processes (`src/bin/`), and gives them the [`sandbox`] that runs a whole
//! corridor in a test process (the `corridor-testkit` crate). Tests of the `corridor` binary itself sit in
//! `crates/corridor-cli/tests/`, where Cargo provides the binary's path.

pub mod dcsa;
pub mod http;
/// The sandbox: [`corridor_testkit`], with the repository's `deploy/` directory.
pub mod sandbox {
    pub use corridor_testkit::*;

    /// The repository's `deploy/` directory.
    pub fn deploy_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
    }
}
