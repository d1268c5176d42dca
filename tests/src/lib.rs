//! corridor's cross-crate tests live in `tests/tests/`; this crate also builds the fixtures
//! they drive as processes (`src/bin/`) and the [`sandbox`] that runs a whole corridor in a
//! test process. Tests of the `corridor` binary itself sit in
//! `crates/corridor-cli/tests/`, where Cargo provides the binary's path.

pub mod dcsa;
pub mod http;
pub mod sandbox;
