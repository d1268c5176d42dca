//! The AEO registry: economic operators and their keys, Authorized Economic Operator
//! certificates, and mutual recognition arrangements between the corridor's customs
//! authorities, as the gRPC service `corridor.v1.AeoRegistry`.
//!
//! Every change is a signed document (DSSE envelope) checked against the topology's
//! authority keys and the current state, then recorded as one ledger entry with the changed
//! state rows in the same atomic batch; only then is it applied and acknowledged. On start
//! the state is rebuilt from the ledger and checked against those rows. The server also
//! offers the ledger read service, gRPC health and reflection (v1 and v1alpha).
//!
//! [`serve`] runs it on a listener the caller has bound.

mod authority;
pub mod doc;
pub mod error;
pub mod follow;
mod recognition;
pub mod registry;
pub mod replica;
mod rows;
mod rules;
pub mod sign;
mod state;
#[cfg(test)]
mod testing;

use std::path::PathBuf;
use std::sync::Arc;

use corridor_core::SigningKey;
use corridor_ledger::Ledger;
use corridor_proto::v1::aeo_registry_server::AeoRegistryServer;
use corridor_topology::{Clock, DocumentTimes, Topology};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;

pub use authority::{ReservedKey, TrustedKeys};
pub use error::Error;
pub use follow::ReplicaStore;
pub use registry::Registry;
pub use replica::{Recognition, Replica};

/// Largest gRPC message the registry accepts by default (bytes).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Ledger origin (the name in checkpoints) of a corridor's registry.
pub fn origin(topology_name: &str) -> String {
    corridor_topology::ledger_origin(topology_name, &corridor_topology::ServiceRole::Registry)
}

/// What the registry runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory of the registry's ledger.
    pub data_dir: PathBuf,
    /// The ledger's origin (its name in checkpoints).
    pub origin: String,
    /// The registry's own key: signs checkpoints.
    pub key: SigningKey,
    /// Authority keys and other known keys, from the topology.
    pub keys: TrustedKeys,
    /// The corridor clock.
    pub clock: Clock,
    /// The window a submitted document's time must lie in (the topology's
    /// `[document_times]`).
    pub document_times: DocumentTimes,
    /// Largest request message accepted, in bytes; larger ones are refused unread.
    pub max_message_bytes: usize,
    /// Plaintext, or TLS with the registry's certificate, requiring client certificates
    /// signed by the corridor CA (the topology's `[tls]`).
    pub transport: corridor_net::Transport,
    /// Who cosigns the ledger's checkpoints (and, on a customs node, what its witness
    /// witnesses): [`corridor_service::witnessing::Plan::from_topology`].
    pub witnessing: corridor_service::witnessing::Plan,
}

impl Config {
    /// The configuration a topology gives: its authority keys, known keys and clock, and the
    /// registry's key ([`Topology::service_key`]: `key`, or the topology's private key path
    /// for development; the key the topology lists).
    pub fn from_topology(
        topology: &Topology,
        data_dir: PathBuf,
        key: Option<SigningKey>,
    ) -> Result<Self, Error> {
        let key = topology.service_key(&corridor_topology::ServiceRole::Registry, key)?;
        Ok(Self {
            origin: origin(&topology.name),
            key,
            keys: TrustedKeys::from_topology(topology)?,
            clock: topology.clock.clock()?,
            document_times: topology.document_times,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            transport: corridor_net::Transport::for_role(
                topology,
                &corridor_topology::ServiceRole::Registry,
            )?,
            witnessing: corridor_service::witnessing::Plan::from_topology(
                topology,
                &corridor_topology::ServiceRole::Registry,
                None,
                &data_dir,
            )?,
            data_dir,
        })
    }
}

/// Runs the registry on `listener` until `shutdown` is cancelled: stops accepting, lets the
/// calls in flight finish, makes the ledger durable and signs a final checkpoint.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    serve_ready(listener, config, shutdown, |_| {}).await
}

/// [`serve`], calling `ready` with the listening address once the ledger is open and the
/// state rebuilt (a process announces readiness there, not before: a locked or unwritable
/// data directory fails first).
pub async fn serve_ready(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
    ready: impl FnOnce(Option<std::net::SocketAddr>),
) -> Result<(), Error> {
    let ledger = Arc::new(Ledger::open(&config.data_dir, &config.origin, &config.key)?);
    let registry = Registry::open(
        ledger.clone(),
        config.keys,
        config.clock,
        config.document_times,
        shutdown.clone(),
    )?;
    let serving = corridor_service::Serving {
        name: "AEO registry".into(),
        transport: &config.transport,
        ledger,
        key: &config.key,
        clock: config.clock,
        max_message_bytes: config.max_message_bytes,
        witnessing: config.witnessing.clone(),
        // The registry's writer answers every call in flight before the server stops.
        tasks: None,
    };
    corridor_service::serve(
        listener,
        serving,
        <AeoRegistryServer<Registry> as NamedService>::NAME,
        |router| {
            router.add_service(
                AeoRegistryServer::new(registry)
                    .max_decoding_message_size(config.max_message_bytes),
            )
        },
        shutdown,
        ready,
    )
    .await
}
