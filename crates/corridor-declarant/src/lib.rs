//! The declarant: the trade side's gateway, as the gRPC service `corridor.v1.Declarant`.
//!
//! It holds the keys of the operators it acts for (a folder of `<OPERATOR_ID>.key` files).
//! The bill of lading of a submission is built from plain data and signed with the carrier's
//! key it holds (with its ISSUE entry), or is one already on the platform, or is signed by
//! its carrier elsewhere and presented with its transfer chain (checked as the first customs
//! node checks one, and then against the platform's record of the bill). From plain data it
//! builds the declaration and signs it as the declarant (and as the holder when the
//! declarant acts for another operator), records the submission in its own ledger and lodges
//! it at the first customs node of the route. It follows each consignment across every node,
//! and is the platform of record of each bill's transfer chain, however the bill came: a
//! second transfer from the same holder state is refused as a double spend.
//!
//! [`serve`] runs it on a listener the caller has bound.

pub mod error;
mod nodes;
pub mod platform;
mod service;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use corridor_aeo::follow::ReplicaStore;
use corridor_core::{OperatorId, SigningKey};
use corridor_ledger::Ledger;
use corridor_proto::v1::declarant_server::DeclarantServer;
use corridor_topology::Topology;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;

pub use error::Error;
pub use platform::Platform;

/// Largest gRPC message the declarant accepts by default (bytes).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Directory, under the declarant's data directory, of its copy of the AEO registry.
pub const REPLICA_DIR: &str = "aeo-replica";

/// Ledger origin (the name in checkpoints) of a corridor's declarant.
pub fn origin(topology_name: &str) -> String {
    corridor_topology::ledger_origin(topology_name, &corridor_topology::ServiceRole::Declarant)
}

/// What the declarant runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory of its ledger (its registry copy lives in [`REPLICA_DIR`] under it).
    pub data_dir: PathBuf,
    /// The service's key: signs its records and checkpoints.
    pub key: SigningKey,
    /// The keys of the operators it acts for.
    pub operators: BTreeMap<OperatorId, SigningKey>,
    /// The corridor.
    pub topology: Topology,
    /// The registry to follow (`host:port`); `None` to use only the local copy.
    pub registry: Option<String>,
    /// Largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Plaintext, or TLS as the declarant (the topology's `[tls]`): its server requires
    /// client certificates signed by the corridor CA, and it calls the nodes and the registry
    /// with its own certificate.
    pub transport: corridor_net::Transport,
    /// Who cosigns the ledger's checkpoints (and, on a customs node, what its witness
    /// witnesses): [`corridor_service::witnessing::Plan::from_topology`].
    pub witnessing: corridor_service::witnessing::Plan,
}

/// Loads every `<OPERATOR_ID>.key` of `dir` (other files are ignored).
pub fn load_operator_keys(dir: &Path) -> Result<BTreeMap<OperatorId, SigningKey>, Error> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Topology(corridor_topology::Error::Io {
            path: dir.to_owned(),
            source: e,
        })
    })?;
    for e in entries {
        let path = e
            .map_err(|e| {
                Error::Topology(corridor_topology::Error::Io {
                    path: dir.to_owned(),
                    source: e,
                })
            })?
            .path();
        if path.extension().is_none_or(|x| x != "key") {
            continue;
        }
        let Some(id) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| OperatorId::parse("key file", s).ok())
        else {
            continue;
        };
        out.insert(id, SigningKey::load(&path)?);
    }
    Ok(out)
}

impl Config {
    /// The configuration a topology gives: its key ([`Topology::service_key`]: `key`, or the
    /// topology's development key; the key the topology lists) and the operators' keys of
    /// the folder `declarant.operator_keys`.
    pub fn from_topology(
        topology: &Topology,
        data_dir: PathBuf,
        key: Option<SigningKey>,
    ) -> Result<Self, Error> {
        let key = topology.service_key(&corridor_topology::ServiceRole::Declarant, key)?;
        let operators = match &topology.declarant.operator_keys {
            Some(dir) => load_operator_keys(&topology.resolve(dir))?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            key,
            operators,
            registry: Some(topology.registry_addr()?.to_string()),
            transport: corridor_net::Transport::for_role(
                topology,
                &corridor_topology::ServiceRole::Declarant,
            )?,
            witnessing: corridor_service::witnessing::Plan::from_topology(
                topology,
                &corridor_topology::ServiceRole::Declarant,
                None,
                &data_dir,
            )?,
            data_dir,
            topology: topology.clone(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        })
    }
}

/// Runs the declarant on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    serve_ready(listener, config, shutdown, |_| {}).await
}

/// [`serve`], calling `ready` with the listening address once the ledger is open and the
/// state rebuilt.
pub async fn serve_ready(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
    ready: impl FnOnce(Option<SocketAddr>),
) -> Result<(), Error> {
    let t = &config.topology;
    let ledger = Arc::new(Ledger::open(
        &config.data_dir,
        &origin(&t.name),
        &config.key,
    )?);
    let keys = corridor_aeo::TrustedKeys::from_topology(t)?;
    let replica = ReplicaStore::open(&config.data_dir.join(REPLICA_DIR), keys)?;
    let platform = Platform::open(
        ledger.clone(),
        replica.clone(),
        config.key.clone(),
        config.operators.clone(),
        t,
        &config.transport,
        shutdown.clone(),
    )?;
    if let Some(addr) = &config.registry {
        let endpoint = config.transport.endpoint(addr)?;
        platform
            .inner
            .tasks
            .spawn(replica.follow(endpoint, shutdown.clone()));
    }
    platform.retry_pending();
    tracing::info!(
        operators = config.operators.len(),
        "declarant acts for its operators"
    );
    let tasks = platform.inner.tasks.clone();
    let serving = corridor_service::Serving {
        name: "declarant".into(),
        transport: &config.transport,
        ledger,
        key: &config.key,
        clock: platform.inner.clock,
        max_message_bytes: config.max_message_bytes,
        witnessing: config.witnessing.clone(),
        // The follower and the tracking streams stop on the same token, a pending retry
        // after its one call.
        tasks: Some(&tasks),
    };
    corridor_service::serve(
        listener,
        serving,
        <DeclarantServer<Platform> as NamedService>::NAME,
        |router| {
            router.add_service(
                DeclarantServer::new(platform).max_decoding_message_size(config.max_message_bytes),
            )
        },
        shutdown,
        ready,
    )
    .await
}
