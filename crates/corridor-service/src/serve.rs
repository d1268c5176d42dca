//! The serve and shutdown skeleton every service runs: its own gRPC service beside
//! `LedgerReader` over its ledger, `CorridorClock`, health and reflection, on a listener the caller has bound;
//! on shutdown, the calls in flight finish, the service's background tasks are waited for,
//! and the ledger is made durable with a final signed checkpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use corridor_core::SigningKey;
use corridor_ledger::Ledger;
use corridor_net::{CorridorRouter, Transport};
use corridor_proto::v1::corridor_clock_server::CorridorClockServer;
use corridor_proto::v1::ledger_reader_server::LedgerReaderServer;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::server::NamedService;

use crate::{CorridorClockService, LedgerReaderService};

/// What a service runs its gRPC server with, besides its own service.
pub struct Serving<'a> {
    /// Who serves, for the log (`customs node KZ`).
    pub name: String,
    /// Plaintext or TLS, as the service's role in the topology.
    pub transport: &'a Transport,
    /// The service's ledger: served read-only as `LedgerReader`, sealed at shutdown.
    pub ledger: Arc<Ledger>,
    /// The key that signs the ledger's checkpoints.
    pub key: &'a SigningKey,
    /// The clock the service checks documents by, served as `CorridorClock`.
    pub clock: Clock,
    /// Largest request message accepted, in bytes (for every service of the server).
    pub max_message_bytes: usize,
    /// The service's background tasks (steps run to completion, deliveries, followers),
    /// which stop on the same token: closed and waited for once the server has stopped, so
    /// that the service's databases are closed when [`serve`] returns.
    pub tasks: Option<&'a TaskTracker>,
}

/// Serves on `listener` until `shutdown` is cancelled: the service `NAME` that `add` adds
/// to the router (applying `max_message_bytes` to it), `LedgerReader`, `CorridorClock`, health (every
/// service reported SERVING) and reflection. `ready` is called with the listening address
/// just before the server starts.
pub async fn serve<E>(
    listener: TcpListener,
    serving: Serving<'_>,
    service_name: &'static str,
    add: impl FnOnce(CorridorRouter) -> CorridorRouter,
    shutdown: CancellationToken,
    ready: impl FnOnce(Option<SocketAddr>),
) -> Result<(), E>
where
    E: From<corridor_topology::Error>
        + From<tonic::transport::Error>
        + From<corridor_ledger::Error>,
{
    let Serving {
        name,
        transport,
        ledger,
        key,
        clock,
        max_message_bytes,
        tasks,
    } = serving;
    let reader = LedgerReaderService::new(ledger.clone(), key.clone());
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, entries = ledger.len(), "{name} serving");
    ready(addr);
    let router = transport
        .router(&[
            service_name,
            <LedgerReaderServer<LedgerReaderService> as NamedService>::NAME,
            <CorridorClockServer<CorridorClockService> as NamedService>::NAME,
        ])
        .await?
        .add_service(LedgerReaderServer::new(reader).max_decoding_message_size(max_message_bytes))
        .add_service(
            CorridorClockServer::new(CorridorClockService::new(clock))
                .max_decoding_message_size(max_message_bytes),
        );
    add(router)
        .serve_with_incoming_shutdown(transport.incoming(listener), shutdown.cancelled())
        .await?;
    if let Some(tasks) = tasks {
        tasks.close();
        tasks.wait().await;
    }
    ledger.seal(key).await?;
    tracing::info!(entries = ledger.len(), "{name} stopped");
    Ok(())
}
