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
//! | `/consignments/{id}` | the page, open at one consignment |
//! | `/api/state` | the picture as JSON ([`state::Services::snapshot`]) |
//! | `/api/events` | server-sent events: `state`, the picture, at once and on each change |
//! | `/api/consignments?state=&lane=&aeo=&country=` | the picture's consignments, filtered |
//! | `/api/consignments/{id}` | one consignment: every node's events and its trace |
//! | `/api/consignments/{id}/proof` | its proof (`corridor proof`), as a download |
//! | `/api/consignments/{id}/proof/verify` | that proof made and verified, as `proof verify` does |
//!
//! A malformed consignment id or query parameter is 400 (the page's path as a page, the
//! API's as JSON `{"error": ...}`), one no node knows 404, any other path 404, any method but
//! GET 405. At most [`HEAVY`] lookups of one consignment (each reads every ledger) run at
//! once; more are 503 with `Retry-After: 1`. Every call the dashboard makes is a read.

pub mod state;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, Query, State};
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

/// How many lookups of one consignment (its trace, its proof) may run at once.
pub const HEAVY: usize = 4;

const PAGE: &str = include_str!("page.html");

/// The picture as sent (its JSON text) and as the API filters it.
struct Picture {
    text: String,
    value: Value,
}

impl Picture {
    fn of(value: Value) -> Self {
        Self {
            text: value.to_string(),
            value,
        }
    }
}

struct Shared {
    services: Services,
    picture: watch::Receiver<Arc<Picture>>,
    heavy: tokio::sync::Semaphore,
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
    let first = Picture::of(services.snapshot().await);
    let (tx, rx) = watch::channel(Arc::new(first));
    let app: App = Arc::new(Shared {
        services,
        picture: rx,
        heavy: tokio::sync::Semaphore::new(HEAVY),
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
                let next = Picture::of(app.services.snapshot().await);
                tx.send_if_modified(|cur| {
                    if cur.text == next.text {
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
        .route("/consignments/{id}", get(page_of))
        .route("/api/state", get(picture))
        .route("/api/events", get(events))
        .route("/api/consignments", get(list))
        .route("/api/consignments/{id}", get(consignment))
        .route("/api/consignments/{id}/proof", get(proof))
        .route("/api/consignments/{id}/proof/verify", get(verify_proof))
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
    ([(header::CONTENT_TYPE, "application/json")], p.text.clone()).into_response()
}

async fn events(
    State(app): State<App>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(app.picture.clone())
        .map(|p| Ok(Event::default().event("state").data(p.text.as_str())));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The consignment id of a path, or why not.
fn parse_id(id: &str) -> Result<Digest, String> {
    Digest::parse_hex("id", id).map_err(|e| format!("{e} (a consignment id is 64 hex digits)"))
}

/// A heavy lookup's permit, or the 503 answer.
fn permit(app: &Shared) -> Result<tokio::sync::SemaphorePermit<'_>, Box<Response>> {
    app.heavy.try_acquire().map_err(|_| {
        Box::new(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                [(header::CONTENT_TYPE, "application/json")],
                json!({ "error": format!("busy: {HEAVY} consignment lookups are running; try again") })
                    .to_string(),
            )
                .into_response(),
        )
    })
}

/// Every node's view of consignment `id` (`GetConsignment`), in route order: its state and
/// events, or why the node did not answer; `None` when no node knows it.
async fn node_views(services: &Services, id: &Digest) -> Option<Vec<Value>> {
    let t = services.topology();
    let mut nodes = Vec::new();
    for cc in t.country_codes() {
        let Some(ch) = services.node(cc.as_str()) else {
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
    nodes
        .iter()
        .any(|n| n.get("events").is_some())
        .then_some(nodes)
}

/// A page saying why there is nothing to show (400 or 404), with a way back.
fn error_page(status: StatusCode, why: &str) -> Response {
    let why = why
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let title = status.canonical_reason().unwrap_or("error");
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <link rel=\"icon\" href=\"data:,\"><title>corridor: {title}</title></head>\
             <body style=\"font:16px system-ui,sans-serif;margin:3rem auto;max-width:40rem;padding:0 1rem\">\
             <h1>{title}</h1><p id=\"why\">{why}</p><p><a href=\"/\">the corridor dashboard</a></p>\
             </body></html>"
        )),
    )
        .into_response()
}

async fn page_of(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(why) => return error_page(StatusCode::BAD_REQUEST, &why),
    };
    match node_views(&app.services, &id).await {
        Some(_) => Html(PAGE).into_response(),
        None => error_page(
            StatusCode::NOT_FOUND,
            &format!("Consignment {id} is not known at any node of the corridor."),
        ),
    }
}

/// One query parameter's test of a consignment of the picture.
type Filter = Box<dyn Fn(&Value) -> bool>;

/// `/api/consignments`: the picture's consignments that match every filter given.
async fn list(State(app): State<App>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let picture = app.picture.borrow().clone();
    let t = app.services.topology();
    let mut keep: Vec<Filter> = Vec::new();
    for (k, v) in q {
        let v = v.trim().to_string();
        match k.as_str() {
            "state" => {
                if !state::STATES.contains(&v.as_str()) {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "state: {v:?} is not a state; one of {}",
                            state::STATES.join(", ")
                        ),
                    );
                }
                keep.push(Box::new(move |c| c["state"] == v.as_str()));
            }
            "lane" => {
                if !state::LANES.contains(&v.as_str()) {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "lane: {v:?} is not a lane; one of {}",
                            state::LANES.join(", ")
                        ),
                    );
                }
                keep.push(Box::new(move |c| {
                    c["lanes"]
                        .as_object()
                        .is_some_and(|l| l.values().any(|x| x == v.as_str()))
                }));
            }
            "aeo" => {
                let want = match v.as_str() {
                    "yes" | "true" => true,
                    "no" | "false" => false,
                    _ => {
                        return refused(
                            StatusCode::BAD_REQUEST,
                            format!("aeo: {v:?} is neither yes nor no"),
                        );
                    }
                };
                keep.push(Box::new(move |c| c["aeo"] == want));
            }
            "country" => {
                if !t.country_codes().iter().any(|cc| cc.as_str() == v) {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        format!("country: {v:?} is not a country of the corridor"),
                    );
                }
                keep.push(Box::new(move |c| c["at"] == v.as_str()));
            }
            _ => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    format!("{k}: unknown query parameter (known: state, lane, aeo, country)"),
                );
            }
        }
    }
    let found: Vec<&Value> = picture.value["consignments"]
        .as_array()
        .map(|a| a.iter().filter(|c| keep.iter().all(|k| k(c))).collect())
        .unwrap_or_default();
    json_answer(StatusCode::OK, &json!(found))
}

async fn consignment(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(why) => return refused(StatusCode::BAD_REQUEST, why),
    };
    let _permit = match permit(&app) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(nodes) = node_views(&app.services, &id).await else {
        return refused(
            StatusCode::NOT_FOUND,
            format!("consignment {id} is not known at any node"),
        );
    };
    let t = app.services.topology();
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

/// Consignment `id`'s proof as `corridor proof` makes it, or the answer saying why not
/// (404 when no node knows it, 503 when a service does not answer).
async fn made_proof(
    app: &Shared,
    id: &str,
) -> Result<(Digest, corridor_audit::proof::Made), Box<Response>> {
    let id = parse_id(id).map_err(|why| Box::new(refused(StatusCode::BAD_REQUEST, why)))?;
    let _permit = permit(app)?;
    let t = app.services.topology();
    match corridor_audit::proof::make_remote(t, &id, PROOF_WAIT).await {
        Ok(m) => Ok((id, m)),
        Err(e) => {
            let status = if e.to_string().contains("is not known") {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            Err(Box::new(refused(status, format!("{e:#}"))))
        }
    }
}

/// `/api/consignments/{id}/proof/verify`: the proof made and checked against the topology's
/// keys alone, as `corridor proof verify` checks a file.
async fn verify_proof(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (_, made) = match made_proof(&app, &id).await {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let checked = corridor_audit::proof::verify(app.services.topology(), &made.proof);
    let ledgers: Vec<String> = made.proof.nodes.iter().map(|l| l.origin.clone()).collect();
    json_answer(
        StatusCode::OK,
        &match checked {
            Ok(tr) => json!({
                "verified": tr.problems.is_empty(),
                "countries": tr.countries,
                "entries": tr.entries,
                "ledgers": ledgers,
                "problems": tr.problems,
                "notes": made.notes,
            }),
            Err(e) => json!({
                "verified": false,
                "ledgers": ledgers,
                "problems": [format!("{e:#}")],
                "notes": made.notes,
            }),
        },
    )
}

async fn proof(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (id, made) = match made_proof(&app, &id).await {
        Ok(m) => m,
        Err(r) => return *r,
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
