//! The dashboard: a read-only web page of the corridor, live, for the people who run it.
//!
//! `corridor serve dashboard` runs [`serve`]: an HTTP server (axum) that is an ordinary client
//! of the services (`GetNodeStatus`, `ListConsignments`, `GetConsignment`, `LedgerReader`,
//! the corridor clock; over TLS when the topology says so) and holds no private key. It asks
//! every service every [`EVERY`] and pushes the picture to the page by server-sent events
//! when it changes. The page and its script are compiled into the binary: nothing is fetched
//! from the internet.
//!
//! | path | answer |
//! |---|---|
//! | `/` | the page |
//! | `/api/state` | the picture as JSON ([`state::Services::snapshot`]) |
//! | `/api/events` | server-sent events: `state`, the picture, at once and on each change |
//! | `/api/consignments/{id}` | one consignment: every node's events and its trace |
//! | `/api/consignments/{id}/proof` | its proof (`corridor proof`), as a download |
//!
//! A malformed consignment id is 400, one no node knows 404, any other path 404. Every call
//! the dashboard makes is a read.

pub mod state;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use corridor_core::Digest;
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_topology::Topology;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::WatchStream;
use tokio_util::sync::CancellationToken;

use state::Services;

/// How often the dashboard asks the services.
pub const EVERY: Duration = Duration::from_secs(1);

/// How long the proof download waits for witnessed checkpoints.
const PROOF_WAIT: Duration = Duration::from_secs(3);

const PAGE: &str = include_str!("page.html");

struct Shared {
    services: Services,
    picture: watch::Receiver<Arc<String>>,
}

type App = Arc<Shared>;

/// A dashboard served by this process (as `corridor up` and `corridor demo` serve it).
pub struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Binds `listen` (port 0 picks a free one) and serves the dashboard of `t` there.
    pub async fn start(listen: &str, t: Topology) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("dashboard: cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(listener, t, stop.clone()));
        Ok(Self { addr, stop, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops it: open event streams end, and it returns once it has stopped.
    pub async fn stop(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::warn!("dashboard: {e:#}"),
            Err(e) => tracing::warn!("dashboard: {e}"),
            Ok(Ok(())) => {}
        }
    }
}

/// Serves the dashboard of corridor `t` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    t: Topology,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let services = Services::new(&t)?;
    let first = services.snapshot().await.to_string();
    let (tx, rx) = watch::channel(Arc::new(first));
    let app: App = Arc::new(Shared {
        services,
        picture: rx,
    });
    let poller = {
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(EVERY) => {}
                }
                let next = app.services.snapshot().await.to_string();
                tx.send_if_modified(|cur| {
                    if **cur == next {
                        false
                    } else {
                        *cur = Arc::new(next);
                        true
                    }
                });
            }
        })
    };
    let router = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/state", get(picture))
        .route("/api/events", get(events))
        .route("/api/consignments/{id}", get(consignment))
        .route("/api/consignments/{id}/proof", get(proof))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(app);
    let done = shutdown.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { done.cancelled().await })
        .await?;
    shutdown.cancel();
    let _ = poller.await;
    Ok(())
}

fn json_answer(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn refused(status: StatusCode, why: String) -> Response {
    json_answer(status, &json!({ "error": why }))
}

async fn picture(State(app): State<App>) -> Response {
    let p = app.picture.borrow().clone();
    (
        [(header::CONTENT_TYPE, "application/json")],
        p.as_str().to_owned(),
    )
        .into_response()
}

async fn events(
    State(app): State<App>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(app.picture.clone())
        .map(|p| Ok(Event::default().event("state").data(p.as_str())));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The consignment id of a path, or the 400 answer.
fn parse_id(id: &str) -> Result<Digest, Box<Response>> {
    Digest::parse_hex("id", id).map_err(|e| {
        Box::new(refused(
            StatusCode::BAD_REQUEST,
            format!("{e} (a consignment id is 64 hex digits)"),
        ))
    })
}

async fn consignment(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let t = app.services.topology();
    let mut nodes = Vec::new();
    for cc in t.country_codes() {
        let Some(ch) = app.services.node(cc.as_str()) else {
            continue;
        };
        let view = CustomsNodeClient::new(ch.clone())
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: id.to_hex(),
            })
            .await;
        match view {
            Ok(v) => {
                let v = v.into_inner();
                nodes.push(json!({
                    "country": cc.as_str(),
                    "state": state::state_words(v.state),
                    "events": v.events.iter().map(|e| json!({
                        "seq": e.seq,
                        "entry_hash": hex::encode(&e.entry_hash),
                        "kind": e.kind,
                        "recorded_at_unix_micros": e.recorded_at_unix_micros,
                        "state": state::state_words(e.state),
                        "detail": e.detail,
                    })).collect::<Vec<_>>(),
                }));
            }
            Err(s) if s.code() == tonic::Code::NotFound => {}
            Err(s) => nodes.push(json!({
                "country": cc.as_str(),
                "error": format!("{}: {}", s.code().description(), s.message()),
            })),
        }
    }
    if nodes.iter().all(|n| n.get("events").is_none()) {
        return refused(
            StatusCode::NOT_FOUND,
            format!("consignment {id} is not known at any node"),
        );
    }
    let trace = match corridor_audit::Corpus::load(
        t.clone(),
        corridor_audit::Source::Remote,
        Some(&id.to_hex()),
    )
    .await
    {
        Ok(c) => {
            let tr = c.trace(&id);
            json!({ "verified": tr.problems.is_empty(), "lines": tr.lines, "problems": tr.problems })
        }
        Err(e) => json!({ "verified": false, "problems": [format!("{e:#}")], "lines": [] }),
    };
    json_answer(
        StatusCode::OK,
        &json!({ "id": id.to_hex(), "nodes": nodes, "trace": trace }),
    )
}

async fn proof(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let t = app.services.topology();
    let made = match corridor_audit::proof::make_remote(t, &id, PROOF_WAIT).await {
        Ok(m) => m,
        Err(e) => {
            let status = if e.to_string().contains("is not known") {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            return refused(status, format!("{e:#}"));
        }
    };
    match corridor_audit::proof::to_json(&made.proof) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"proof-{}.json\"", &id.to_hex()[..16]),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => refused(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}
