//! The serve and shutdown skeleton every service runs: its own gRPC service beside
//! `LedgerReader` over its ledger, `CorridorClock`, health and reflection, on a listener the caller has bound;
//! the HTTP routes of its tiles and, on a customs node, its witness ([`crate::witnessing`]);
//! the task that has its checkpoints cosigned; on shutdown, the calls in flight finish, the
//! service's background tasks are waited for, a last checkpoint is offered to the
//! witnesses, and the ledger is made durable with a final signed checkpoint.
//!
//! A ledger write that fails (a full disk) stops the service recording until its ledger is
//! reopened, and nothing else restarts it, so `serve` watches the ledger: once a write
//! fails, health reports the service (and the server as a whole) NOT_SERVING, and a task
//! probes the ledger's file system, after 1 s and then at doubling pauses of up to 30 s,
//! until a probe write succeeds and [`Ledger::recover`] has reopened and verified the ledger;
//! then health reports SERVING again. The recovery keeps nothing of the failed write, so the
//! service's state, built only from acknowledged appends, is the reopened ledger's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use corridor_core::SigningKey;
use corridor_ledger::Ledger;
use corridor_net::{CorridorRouter, Health, Transport};
use corridor_proto::v1::corridor_clock_server::CorridorClockServer;
use corridor_proto::v1::ledger_reader_server::LedgerReaderServer;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::server::NamedService;

use corridor_proto::v1::witness_server::WitnessServer as WitnessGrpcServer;

use crate::ledger_reader::Witnesses;
use crate::witnessing::witness::{WitnessServer, WitnessService};
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
    /// Who cosigns the ledger's checkpoints and, on a customs node, what it witnesses.
    pub witnessing: crate::witnessing::Plan,
    /// The service's background tasks (steps run to completion, deliveries, followers),
    /// which stop on the same token: closed and waited for once the server has stopped, so
    /// that the service's databases are closed when [`serve`] returns.
    pub tasks: Option<&'a TaskTracker>,
}

/// Serves on `listener` until `shutdown` is cancelled: the service `NAME` that `add` adds
/// to the router (applying `max_message_bytes` to it), `LedgerReader`, `CorridorClock`, health (every
/// service reported SERVING; the service and the server NOT_SERVING while a failed ledger is
/// reopened, see the module doc) and reflection. `ready` is called with the listening address
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
        witnessing,
        tasks,
    } = serving;
    let witnessed = !witnessing.witnesses.is_empty();
    let reader = LedgerReaderService::new(
        ledger.clone(),
        key.clone(),
        Witnesses {
            keys: witnessing.witness_keys(),
            quorum: if witnessed { witnessing.quorum } else { 0 },
        },
    );
    let witness = match witnessing.witness.clone() {
        Some(config) => Some(WitnessServer::open(
            config,
            transport.clone(),
            witnessing.timeout,
        )?),
        None => None,
    };
    let mut names = vec![
        service_name,
        <LedgerReaderServer<LedgerReaderService> as NamedService>::NAME,
        <CorridorClockServer<CorridorClockService> as NamedService>::NAME,
    ];
    let mut http = crate::tiles::routes(ledger.clone(), key.clone(), witnessed);
    if let Some(w) = &witness {
        names.push(<WitnessGrpcServer<WitnessService> as NamedService>::NAME);
        http = http.merge(w.routes());
    }
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, entries = ledger.len(), "{name} serving");
    ready(addr);
    let (router, health) = transport.router(&names, http).await?;
    let cosigning = CancellationToken::new();
    let cosigner = tokio::spawn(crate::witnessing::cosign::run(
        name.clone(),
        ledger.clone(),
        key.clone(),
        witnessing,
        transport.clone(),
        cosigning.clone(),
    ));
    let watcher = TaskTracker::new();
    watcher.spawn(recovery(
        name.clone(),
        ledger.clone(),
        Recovering {
            health,
            services: [service_name, ""],
        },
        shutdown.clone(),
    ));
    watcher.close();
    let router = router
        .add_service(LedgerReaderServer::new(reader).max_decoding_message_size(max_message_bytes))
        .add_service(
            CorridorClockServer::new(CorridorClockService::new(clock))
                .max_decoding_message_size(max_message_bytes),
        )
        .add_optional_service(witness.map(|w| WitnessGrpcServer::new(WitnessService(w))));
    let served = add(router)
        .serve_with_incoming_shutdown(transport.incoming(listener), shutdown.cancelled())
        .await;
    if let Some(tasks) = tasks {
        tasks.close();
        tasks.wait().await;
    }
    // The last round of cosignatures, of the ledger as it stops.
    cosigning.cancel();
    if let Err(e) = cosigner.await {
        tracing::error!(error = %e, "{name}: the witnessing task failed");
    }
    served?;
    watcher.wait().await;
    ledger.seal(key).await?;
    tracing::info!(entries = ledger.len(), "{name} stopped");
    Ok(())
}

/// The first pause before a failed ledger's recovery is tried, doubled after each failed try.
const RECOVERY_FIRST: Duration = Duration::from_secs(1);

/// The longest pause between tries: a disk that stays full costs one probe write and one
/// log line per 30 s, and space freed is noticed within 30 s.
const RECOVERY_LONGEST: Duration = Duration::from_secs(30);

/// What health reports while a ledger is reopened: the service's own name and the server as
/// a whole (`""`). `LedgerReader` and `CorridorClock` go on answering.
struct Recovering {
    health: Health,
    services: [&'static str; 2],
}

/// Watches `ledger` until `shutdown`: once a write fails, reports NOT_SERVING and tries a
/// probe write and a recovery at growing pauses until one succeeds, then reports SERVING.
async fn recovery(
    name: String,
    ledger: Arc<Ledger>,
    health: Recovering,
    shutdown: CancellationToken,
) {
    let mut failures = ledger.failures();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            failed = failures.wait_for(|failed| *failed) => if failed.is_err() { return },
        }
        tracing::error!(
            dir = %ledger.dir().display(),
            "{name}: a ledger write failed; NOT_SERVING and refusing appends until the ledger is reopened"
        );
        health.health.set(&health.services, false).await;
        let mut pause = RECOVERY_FIRST;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            let l = ledger.clone();
            let tried = tokio::task::spawn_blocking(move || {
                l.probe().map_err(|e| ("probe write", e))?;
                l.recover().map_err(|e| ("reopening the ledger", e))
            })
            .await;
            pause = (pause * 2).min(RECOVERY_LONGEST);
            match tried {
                Ok(Ok(r)) => {
                    tracing::info!(
                        entries = r.entries,
                        discarded = r.discarded,
                        "{name}: ledger reopened and verified; SERVING"
                    );
                    health.health.set(&health.services, true).await;
                    break;
                }
                Ok(Err((step, e))) => tracing::warn!(
                    error = %e,
                    next_try_in = ?pause,
                    "{name}: {step} failed; still NOT_SERVING"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    next_try_in = ?pause,
                    "{name}: the ledger recovery task failed; still NOT_SERVING"
                ),
            }
        }
    }
}
