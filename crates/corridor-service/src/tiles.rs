//! The service's ledger served read-only over HTTP in the C2SP `tlog-tiles` form, on the
//! service's own port beside gRPC, so that standard transparency-log tools can read it:
//!
//! - `GET /checkpoint`: the latest witnessed checkpoint, a C2SP `tlog-checkpoint` note with
//!   the log's signature and its witnesses' cosignatures (`LedgerReader/GetWitnessedCheckpoint`);
//!   the current signed one (`LedgerReader/GetCheckpoint`) while none is witnessed or when
//!   witnessing is off. `text/plain; charset=utf-8`, not cached.
//! - `GET /tile/<L>/<N>[.p/<W>]`: Merkle tree hashes ([`corridor_ledger::tiles`]);
//!   `GET /tile/entries/<N>[.p/<W>]`: entry bundles, whose entries are the 32-byte entry
//!   hashes. `application/octet-stream`, cached for a year as immutable.
//!
//! A path the spec does not spell, or a tile the tree does not hold yet, is 404 with a line
//! saying why; a method other than GET or HEAD on these paths 405. A gRPC request for a
//! service this server does not offer still gets gRPC's UNIMPLEMENTED.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::routing::get;
use corridor_core::SigningKey;
use corridor_ledger::tiles::{Tile, TileKind, entry_bundle};
use corridor_ledger::{Checkpoint, Ledger};

/// How long a client may cache an immutable tile: a year, as static assets are.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint changes as the ledger grows: revalidated on every use.
const MUTABLE: &str = "no-cache";

#[derive(Clone)]
struct Tiles {
    ledger: Arc<Ledger>,
    key: Arc<SigningKey>,
    witnessed: bool,
}

/// The HTTP routes of `ledger`'s tiles, whose checkpoints `key` signs; with `witnessed`,
/// `/checkpoint` is the latest witnessed checkpoint once there is one.
pub fn routes(ledger: Arc<Ledger>, key: SigningKey, witnessed: bool) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .fallback(not_found)
        .with_state(Tiles {
            ledger,
            key: Arc::new(key),
            witnessed,
        })
}

/// The ledger's checkpoint at its current size: the last one signed when it covers every
/// entry, a new one signed by `key` otherwise.
pub(crate) async fn current_checkpoint(
    ledger: &Ledger,
    key: &SigningKey,
) -> Result<Checkpoint, corridor_ledger::Error> {
    match ledger.last_checkpoint()? {
        Some(cp) if cp.size() == ledger.len() => Ok(cp),
        _ => ledger.sign_checkpoint(key).await,
    }
}

/// The checkpoint `/checkpoint` serves: the latest witnessed one (with its cosignatures)
/// when the ledger is witnessed and has one, else the current signed one.
async fn served_checkpoint(t: &Tiles) -> Result<Checkpoint, corridor_ledger::Error> {
    if t.witnessed
        && let Some(cp) = t.ledger.witnessed()?
    {
        return Ok(cp);
    }
    current_checkpoint(&t.ledger, &t.key).await
}

async fn checkpoint(State(t): State<Tiles>) -> Response<Body> {
    match served_checkpoint(&t).await {
        Ok(cp) => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            MUTABLE,
            cp.note().to_owned().into(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "checkpoint for /checkpoint failed");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the ledger cannot be read: {e}\n"),
            )
        }
    }
}

async fn tile(State(t): State<Tiles>, Path(path): Path<String>) -> Response<Body> {
    let Some(tile) = Tile::parse(&path) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("/tile/{path} is not a tile path of C2SP tlog-tiles\n"),
        );
    };
    let size = t.ledger.len();
    let hashes = match tile.span(size) {
        None => None,
        Some(span) => match t
            .ledger
            .tile_hashes(span, matches!(tile.kind, TileKind::Hashes { .. }))
        {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, tile = %path, "tile read failed");
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the ledger cannot be read: {e}\n"),
                );
            }
        },
    };
    let Some(hashes) = hashes else {
        return text(
            StatusCode::NOT_FOUND,
            format!("tile {path} is not in the tree of {size} entries\n"),
        );
    };
    let body = match tile.kind {
        TileKind::Hashes { .. } => hashes.iter().flat_map(|h| *h.as_bytes()).collect(),
        TileKind::Entries => entry_bundle(hashes.iter().map(|h| h.as_bytes())),
    };
    respond(
        StatusCode::OK,
        "application/octet-stream",
        IMMUTABLE,
        body.into(),
    )
}

async fn not_found(r: Request<Body>) -> Response<Body> {
    let grpc = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        let (parts, ()) = tonic::Status::unimplemented("")
            .into_http::<()>()
            .into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    text(
        StatusCode::NOT_FOUND,
        format!(
            "{} is not served here: /checkpoint and /tile/... (C2SP tlog-tiles) are\n",
            r.uri().path()
        ),
    )
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", MUTABLE, body.into())
}

fn respond(
    status: StatusCode,
    kind: &'static str,
    cache: &'static str,
    body: Body,
) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
