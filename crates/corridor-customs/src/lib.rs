//! A customs node: one per country of the corridor, as the gRPC service
//! `corridor.v1.CustomsNode`.
//!
//! A consignment is declared at the first country of its route with its bill of lading and
//! transfer chain; every node assesses it into a lane before it arrives, records its arrival
//! (checking its seals), releases it (automatically in the green and blue lanes, by an
//! officer in the yellow and red ones), records its exit and hands it to the next node with a
//! signed advance record that links the exit entry of its own ledger. The last node clears it
//! for import and discharges the guarantee. Every step is one entry (or one atomic batch of
//! entries) in the node's hash-chained ledger; every signature is checked against keys valid
//! at the document's time, from the node's own copy of the AEO registry.
//!
//! [`serve`] runs a node on a listener the caller has bound.

pub mod consignment;
pub mod error;
pub mod node;
pub mod risk;
mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use corridor_aeo::follow::ReplicaStore;
use corridor_core::{CountryCode, SigningKey};
use corridor_ledger::Ledger;
use corridor_proto::v1::customs_node_server::CustomsNodeServer;
use corridor_topology::Topology;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;

pub use error::Error;
pub use node::Node;
pub use service::MAX_BATCH;

/// Largest gRPC message a node accepts by default (bytes).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Directory, under a node's data directory, of its copy of the AEO registry.
pub const REPLICA_DIR: &str = "aeo-replica";

/// Ledger origin (the name in checkpoints) of country `country`'s customs node.
pub fn origin(topology_name: &str, country: &CountryCode) -> String {
    corridor_topology::ledger_origin(
        topology_name,
        &corridor_topology::ServiceRole::Node(country.clone()),
    )
}

/// What a node runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The node's country.
    pub country: CountryCode,
    /// Directory of the node's ledger (its registry copy lives in [`REPLICA_DIR`] under it).
    pub data_dir: PathBuf,
    /// The node's key: signs assessments, releases, advance records and checkpoints.
    pub key: SigningKey,
    /// The corridor.
    pub topology: Topology,
    /// The registry to follow (`host:port`); `None` to use only the local copy.
    pub registry: Option<String>,
    /// Largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Plaintext, or TLS as the node (the topology's `[tls]`): its server requires client
    /// certificates signed by the corridor CA, and it calls its peers and the registry with
    /// its own certificate.
    pub transport: corridor_net::Transport,
    /// Who cosigns the ledger's checkpoints (and, on a customs node, what its witness
    /// witnesses): [`corridor_service::witnessing::Plan::from_topology`].
    pub witnessing: corridor_service::witnessing::Plan,
}

impl Config {
    /// The configuration a topology gives country `country`'s node, with its key
    /// ([`Topology::service_key`]: `key`, or the topology's private key path for
    /// development; the key the topology lists).
    pub fn from_topology(
        topology: &Topology,
        country: CountryCode,
        data_dir: PathBuf,
        key: Option<SigningKey>,
    ) -> Result<Self, Error> {
        Self::from_topology_with_witness(topology, country, data_dir, key, None)
    }

    /// [`Config::from_topology`], with the witness's signing key `witness_key`
    /// (`--witness-key`; `None`: the topology's development key).
    pub fn from_topology_with_witness(
        topology: &Topology,
        country: CountryCode,
        data_dir: PathBuf,
        key: Option<SigningKey>,
        witness_key: Option<SigningKey>,
    ) -> Result<Self, Error> {
        let role = corridor_topology::ServiceRole::Node(country.clone());
        let key = topology.service_key(&role, key)?;
        Ok(Self {
            registry: Some(topology.registry_addr()?.to_string()),
            transport: corridor_net::Transport::for_role(topology, &role)?,
            witnessing: corridor_service::witnessing::Plan::from_topology(
                topology,
                &role,
                witness_key,
                &data_dir,
            )?,
            country,
            data_dir,
            key,
            topology: topology.clone(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        })
    }
}

/// Runs the node on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    serve_ready(listener, config, shutdown, |_| {}).await
}

/// [`serve`], calling `ready` with the listening address once the ledger is open and the
/// consignments rebuilt.
pub async fn serve_ready(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
    ready: impl FnOnce(Option<SocketAddr>),
) -> Result<(), Error> {
    let t = &config.topology;
    let ledger = Arc::new(Ledger::open(
        &config.data_dir,
        &origin(&t.name, &config.country),
        &config.key,
    )?);
    let keys = corridor_aeo::TrustedKeys::from_topology(t)?;
    let replica = ReplicaStore::open(&config.data_dir.join(REPLICA_DIR), keys)?;
    let node = Node::open(&config, ledger.clone(), replica.clone(), shutdown.clone())?;
    if let Some(addr) = &config.registry {
        let endpoint = config.transport.endpoint(addr)?;
        node.inner
            .tasks
            .spawn(replica.follow(endpoint, shutdown.clone()));
    }
    node.start_deliveries();
    let tasks = node.inner.tasks.clone();
    let serving = corridor_service::Serving {
        name: format!("customs node {}", config.country),
        transport: &config.transport,
        ledger,
        key: &config.key,
        clock: node.inner.clock,
        max_message_bytes: config.max_message_bytes,
        witnessing: config.witnessing.clone(),
        // Deliveries and the follower stop on the same token.
        tasks: Some(&tasks),
    };
    corridor_service::serve(
        listener,
        serving,
        <CustomsNodeServer<Node> as NamedService>::NAME,
        |router| {
            router.add_service(
                CustomsNodeServer::new(node).max_decoding_message_size(config.max_message_bytes),
            )
        },
        shutdown,
        ready,
    )
    .await
}
