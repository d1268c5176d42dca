#![allow(clippy::unwrap_used)]
//! The connection limits of `[connections]` as a client meets them (`proto/LIMITS.md`): a
//! connection that sends nothing is closed at the handshake timeout; a flood of them never
//! holds more than `max_connections` sockets of a server, and a bystander is served once
//! the timeout has reaped them; a follow stream outlives the request timeout.

use std::time::Duration;

use corridor_net::Transport;
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::corridor_clock_client::CorridorClockClient;
use corridor_tests::sandbox::{Sandbox, deploy_dir};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

const HANDSHAKE: Duration = Duration::from_millis(500);
const MAX_CONNECTIONS: usize = 64;

/// How much later than a deadline a loaded two-core machine may act on it.
const MARGIN: Duration = Duration::from_secs(5);

/// The Middle Corridor with `connections` as its `[connections]` section.
async fn corridor(connections: &str) -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(deploy_dir().join("corridor.toml")).unwrap();
    let file = dir.path().join("corridor.toml");
    std::fs::write(&file, format!("{text}\n[connections]\n{connections}\n")).unwrap();
    (Sandbox::start_with(&file).await, dir)
}

fn limits() -> String {
    format!(
        "max_connections = {MAX_CONNECTIONS}\nhandshake_timeout_ms = {}\n",
        HANDSHAKE.as_millis()
    )
}

fn cn(sb: &Sandbox) -> String {
    sb.topology.countries[0].node.listen.clone()
}

/// Reads until the server closes the connection (it sends its HTTP/2 SETTINGS first), or
/// fails the test after `within`.
async fn closed_by_server(mut s: TcpStream, within: Duration) {
    let mut sink = Vec::new();
    match timeout(within, s.read_to_end(&mut sink)).await {
        Ok(Ok(_)) => {}
        // A reset is a close too.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("reading the idle connection: {e}"),
        Err(_) => panic!("the server kept a silent connection open for {within:?}"),
    }
}

/// The sockets the server on `port` holds (accepted and not yet closed), from
/// `/proc/net/tcp`: entries on the local port that are not the listener and belong to a
/// file (a connection still in the listen queue has none), counted by peer address (the
/// table is read in pieces while it changes, so an entry may be read twice).
fn held(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = format!(":{port:04X}");
    let peers: std::collections::BTreeSet<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 9 && f[1].ends_with(&port) && f[3] != "0A" && f[9] != "0")
                .then(|| f[2].to_string())
        })
        .collect();
    peers.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_at_the_handshake_timeout() {
    let (sb, _dir) = corridor(&limits()).await;
    let start = Instant::now();
    let silent = TcpStream::connect(cn(&sb)).await.unwrap();
    closed_by_server(silent, HANDSHAKE + MARGIN).await;
    let took = start.elapsed();
    assert!(
        took >= HANDSHAKE,
        "closed after {took:?}, before the timeout"
    );
    println!("a silent connection was closed after {took:?}");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bystander_is_served_through_a_flood_of_silent_connections() {
    const EXTRA: usize = 16;
    let (sb, _dir) = corridor(&limits()).await;
    let addr = cn(&sb);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();

    // Sample how many sockets the node holds while the flood lasts.
    let done = tokio_util::sync::CancellationToken::new();
    let sampler = tokio::spawn({
        let done = done.clone();
        async move {
            let mut most = 0;
            while !done.is_cancelled() {
                most = most.max(held(port));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        }
    });

    // As many silent connections as the limit, and more: the limit's worth are accepted,
    // the rest wait in the listen queue, ahead of the bystander.
    let start = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..MAX_CONNECTIONS + EXTRA {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    let opened = start.elapsed();

    // A bystander on a fresh channel: served once the handshake timeout has reaped the
    // first silent ones (it is accepted with the extra ones, fewer than the limit).
    let asked = Instant::now();
    let endpoint = Transport::plaintext().endpoint(&addr).unwrap();
    let served = timeout(HANDSHAKE + MARGIN, async {
        let mut clock = CorridorClockClient::connect(endpoint).await.unwrap();
        clock
            .get_corridor_time(v1::GetCorridorTimeRequest {})
            .await
            .unwrap()
    })
    .await;
    let waited = asked.elapsed();
    assert!(served.is_ok(), "the bystander waited more than {waited:?}");

    // Every silent connection is closed by the server in its turn.
    let reaped = timeout(2 * HANDSHAKE + MARGIN, async {
        for s in flood {
            closed_by_server(s, 2 * HANDSHAKE + MARGIN).await;
        }
    })
    .await;
    assert!(reaped.is_ok(), "silent connections outlived two timeouts");
    done.cancel();
    let most = sampler.await.unwrap();
    println!(
        "{} silent connections opened in {opened:?}; the bystander was served after \
         {waited:?}; the node held at most {most} sockets",
        MAX_CONNECTIONS + EXTRA
    );
    assert!(
        most <= MAX_CONNECTIONS,
        "the node held {most} sockets, over its limit of {MAX_CONNECTIONS}"
    );
    assert!(most > 0, "the sampler saw none of the node's sockets");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_stream_outlives_the_request_timeout() {
    const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
    let (sb, _dir) = corridor(&format!(
        "request_timeout_secs = {}",
        REQUEST_TIMEOUT.as_secs()
    ))
    .await;
    let endpoint = Transport::plaintext()
        .endpoint(&sb.topology.registry.listen)
        .unwrap();
    let mut registry = AeoRegistryClient::connect(endpoint).await.unwrap();
    let mut changes = registry
        .watch_changes(v1::WatchChangesRequest { from_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    // Past the request timeout, on purpose: the stream is still open, nothing cut it.
    tokio::time::sleep(REQUEST_TIMEOUT * 2).await;
    loop {
        match timeout(Duration::from_millis(200), changes.message()).await {
            // Changes recorded before the call: the stream delivers them still.
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => panic!("the follow stream ended"),
            Ok(Err(status)) => panic!("the follow stream was cut: {status:?}"),
            // Caught up, and following.
            Err(_) => break,
        }
    }
    sb.stop().await;
}
