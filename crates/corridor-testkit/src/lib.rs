//! corridor's test kit: a whole corridor in one test process, for flow tests of clearance.
//! The AEO registry, every customs node of a topology and the declarant run, each a real gRPC
//! server on an ephemeral port of 127.0.0.1 with its own sled directory under one temporary
//! directory, with development keys made for every role (authorities, officers, nodes,
//! witnesses, operators).
//!
//! Listeners are bound before anything starts, so every address is known (and in the
//! topology every service reads) before a service runs, and a client can connect at once:
//! no test waits for readiness. Its helpers panic with what went wrong, as test helpers do;
//! the calls a test wants to see refused return the gRPC `Status`.
//!
//! Another Rust project depends on it by path or git (it is not on crates.io):
//!
//! ```toml
//! [dev-dependencies]
//! corridor-testkit = { git = "https://example.org/corridor.git" }   # or { path = "../corridor/crates/corridor-testkit" }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! A complete flow test: the Middle Corridor started, its parties registered and certified,
//! one consignment declared and taken through every border, its lanes and its end checked,
//! and its trace verified across the four nodes' ledgers (with `corridor-audit`):
//!
//! ```
//! use corridor_testkit::Sandbox;
//! use corridor_proto::v1::ConsignmentState;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! // #[tokio::test(flavor = "multi_thread")] async fn a_consignment_clears() {
//! let mut sb = Sandbox::start().await;
//! sb.register_parties().await; // the topology's operators, AEO certificates, arrangements
//! sb.sync().await; // every service has the registry
//!
//! let c = sb.consignment(0, |_| {}); // the sample declaration, signed by its parties
//! sb.submit(&c).await.expect("accepted at the first node");
//! let lanes = sb.clear(&c).await; // arrival, decisions and exit at every border
//! assert_eq!(lanes.len(), 4);
//!
//! let last = sb.view("TR", &c.id).await;
//! assert_eq!(last.state(), ConsignmentState::Completed);
//!
//! let trace = corridor_audit::Corpus::load(
//!     sb.topology.clone(),
//!     corridor_audit::Source::Remote,
//!     Some(&c.id.to_hex()),
//! )
//! .await
//! .expect("every ledger read")
//! .trace(&c.id);
//! assert!(trace.problems.is_empty(), "{:#?}", trace.lines);
//! sb.stop().await;
//! # }
//! ```
//!
//! - `services`: the registry, the nodes and the declarant started and stopped, each on its
//!   own listener, and a node started again from its data directory.
//! - `parties`: the keys of every role, operators registered and certified, certificates
//!   suspended, arrangements recorded, and every service caught up with the registry.
//! - `consignments`: consignments signed and ready to submit, and as plain data for the
//!   declarant (the bill as plain data, or signed by its carrier).
//! - `clients`: clients of the services, and the calls tests make through them (border
//!   events, officers' decisions, consignments and ledgers looked up).
//! - `flows`: a consignment submitted and taken through each country to completion.

mod clients;
mod consignments;
mod flows;
mod parties;
mod services;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_core::SigningKey;
use corridor_topology::Topology;

pub use clients::{border_event, signed, witnessed};
pub use consignments::{Consignment, PlainConsignment, carrier_signed, plain_consignment};
pub use corridor_proto::examples::Parties;
pub use parties::{
    ARRANGEMENT_BENEFITS, TOPOLOGY_AZ_FORWARDER, TOPOLOGY_CARRIER, TOPOLOGY_CONSIGNEE,
    TOPOLOGY_FORWARDER, TOPOLOGY_SHIPPER, topology_parties,
};

use services::Running;

/// A day in microseconds.
pub use corridor_run::bootstrap::DAY;

/// Now on the system clock, in unix microseconds (the sandbox's corridor clock).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A running corridor.
pub struct Sandbox {
    /// Holds every data directory and key.
    pub dir: tempfile::TempDir,
    /// The corridor as the services read it (ephemeral addresses, development keys).
    pub topology: Topology,
    registry: Option<Running>,
    nodes: BTreeMap<String, Running>,
    declarant: Option<Running>,
    /// Keys of the operators registered so far.
    pub operators: BTreeMap<String, SigningKey>,
}
