//! corridor's cross-crate tests live in `tests/tests/`; this crate also builds the fixtures
//! they drive as processes (`src/bin/`). Tests of the `corridor` binary itself sit in
//! `crates/corridor-cli/tests/`, where Cargo provides the binary's path.
