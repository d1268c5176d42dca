//! A whole corridor in one test process: the AEO registry, every customs node of a topology
//! and the declarant, each a real gRPC server on an ephemeral port of 127.0.0.1 with its own
//! sled directory under one temporary directory, and development keys made for every role.
//!
//! Listeners are bound before anything starts, so every address is known (and in the
//! topology every service reads) before a service runs, and a client can connect at once:
//! no test waits for readiness.
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
use std::path::{Path, PathBuf};
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

/// The repository's `deploy/` directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
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
