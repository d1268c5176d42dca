//! Running a corridor: what `corridor up`, `corridor demo` and `corridor bench` do, as a
//! library the binary and the tests call.
//!
//! - [`launch`]: the services as child processes of the `corridor` binary, each with its own
//!   port and data directory, started in order and stopped cleanly.
//! - [`bootstrap`]: a fresh registry brought to a usable state (operators, certificates,
//!   arrangements) through its gRPC API, and every replica caught up; the test sandbox
//!   bootstraps through it too.
//! - [`demo`]: the demonstration scenario and its clearance report.
//! - [`bench`](mod@bench): the benchmarks of the ledger, the registry and the whole corridor.
//! - [`dashboard`]: the read-only web page of a running corridor, live.
//! - [`scenario`]: integration tests of clearance flows written as data, run on the demo's
//!   engine.

pub mod bench;
pub mod bootstrap;
pub mod dashboard;
pub mod demo;
pub mod launch;
pub mod scenario;

pub use launch::Corridor;
