//! The dashboard over HTTP, as the page and a curious user use it: the picture of a running
//! corridor (every country, its node up or down, ledgers and their witnesses, consignments
//! with their lanes), pushed by server-sent events; one consignment with every node's events
//! and its verified trace; its proof, which `proof verify` accepts; and the answers to bad
//! requests (a malformed id 400, an unknown one 404, any other path 404).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use corridor_tests::http::request;
use corridor_tests::sandbox::Sandbox;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

async fn json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let a = request(addr, "GET", path, b"").await;
    let v = serde_json::from_slice(&a.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", a.text()));
    (a.status, v)
}

/// Asks `/api/state` every 50 ms (at most 20 s: the dashboard asks the services every
/// second) until `done` holds of it.
async fn until(addr: SocketAddr, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, v) = json(addr, "/api/state").await;
        assert_eq!(status, 200);
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {v:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn country<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_corridor_live_and_one_consignment_with_its_proof() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.sync().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let dashboard = tokio::spawn(corridor_run::dashboard::serve(
        listener,
        sb.topology.clone(),
        stop.clone(),
    ));

    // The page, and the picture of an idle corridor: every country up, every ledger there.
    let page = request(addr, "GET", "/", b"").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("EventSource(\"/api/events\")"));
    let (_, v) = json(addr, "/api/state").await;
    assert_eq!(v["corridor"], "middle-corridor");
    let codes: Vec<&str> = v["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CN", "KZ", "AZ", "TR"]);
    assert!(
        v["countries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["up"] == true),
        "{v:#}"
    );
    let services: Vec<&str> = v["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "registry",
            "declarant",
            "customs CN",
            "customs KZ",
            "customs AZ",
            "customs TR"
        ]
    );

    // A consignment cleared through the corridor appears, completed, with a lane at each
    // country; every node's ledger is witnessed.
    let c = sb.consignment(0, |_| {});
    sb.submit(&c).await.unwrap();
    let lanes = sb.clear(&c).await;
    let id = c.id.to_hex();
    let v = until(addr, |v| {
        v["consignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id.as_str() && k["state"] == "completed")
            && v["countries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["witnessed"]["size"] == c["ledger_size"])
            && v["ledgers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["witnessed"].is_object())
    })
    .await;
    let k = v["consignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap();
    assert_eq!(k["at"], "TR");
    // Each ledger's witnessed checkpoint: its root and head entry hashes.
    for l in v["ledgers"].as_array().unwrap() {
        let w = &l["witnessed"];
        assert_eq!(w["root"].as_str().unwrap().len(), 64, "{l}");
        assert_eq!(w["head"].as_str().unwrap().len(), 64, "{l}");
    }
    assert_eq!(k["lanes"].as_object().unwrap().len(), 4, "{k}");
    let first = format!("{:?}", lanes[0]).to_lowercase();
    assert_eq!(k["lanes"]["CN"], first.as_str(), "{k}");

    // The consignment's page: every node's events, and its trace verified.
    let (status, d) = json(addr, &format!("/api/consignments/{id}")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["trace"]["verified"], true, "{d:#}");
    let with_events = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["events"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(with_events, 4, "{d:#}");

    // Its proof, downloaded, verifies offline.
    let p = request(addr, "GET", &format!("/api/consignments/{id}/proof"), b"").await;
    assert_eq!(p.status, 200, "{}", p.text());
    assert!(
        p.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let proof = corridor_audit::proof::parse(&p.body).unwrap();
    let traced = corridor_audit::proof::verify(&sb.topology, &proof).unwrap();
    assert_eq!(traced.problems, Vec::<String>::new());
    assert_eq!(traced.countries, 4);

    // The same, made and verified by the dashboard itself.
    let (status, v) = json(addr, &format!("/api/consignments/{id}/proof/verify")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["countries"], 4, "{v}");
    assert_eq!(v["ledgers"].as_array().unwrap().len(), 4, "{v}");

    // Filtered: by state, lane, trader and country, each filter narrowing.
    let (status, all) = json(addr, "/api/consignments").await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    let one = |v: &Value| v.as_array().unwrap().len() == 1 && v[0]["id"] == id.as_str();
    let aeo = if k["aeo"] == true { "yes" } else { "no" };
    for q in [
        "state=completed".to_string(),
        format!("lane={first}"),
        format!("aeo={aeo}&country=TR"),
        "state=completed&country=TR".to_string(),
    ] {
        let (status, v) = json(addr, &format!("/api/consignments?{q}")).await;
        assert_eq!(status, 200, "{q}: {v}");
        assert!(one(&v), "{q}: {v}");
    }
    let (_, none) = json(addr, "/api/consignments?state=held").await;
    assert_eq!(none, serde_json::json!([]));
    let (_, none) = json(addr, "/api/consignments?country=CN").await;
    assert_eq!(none, serde_json::json!([]));
    for (q, says) in [
        ("state=lost", "state: \"lost\" is not a state"),
        ("lane=purple", "lane: \"purple\" is not a lane"),
        ("aeo=maybe", "aeo: \"maybe\" is neither yes nor no"),
        (
            "country=GE",
            "country: \"GE\" is not a country of the corridor",
        ),
        ("sort=id", "sort: unknown query parameter"),
    ] {
        let (status, e) = json(addr, &format!("/api/consignments?{q}")).await;
        assert_eq!(status, 400, "{q}: {e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{q}: {e}");
    }

    // The page of one consignment: the page for a known id; a page saying why for others.
    let page = request(addr, "GET", &format!("/consignments/{id}"), b"").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("EventSource(\"/api/events\")"));
    let unknown = "0".repeat(64);
    let page = request(addr, "GET", &format!("/consignments/{unknown}"), b"").await;
    assert_eq!(page.status, 404);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text().contains("is not known at any node"),
        "{}",
        page.text()
    );
    let page = request(addr, "GET", "/consignments/%3Cscript%3E", b"").await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("64 hex digits"), "{}", page.text());
    assert!(!page.text().contains("<script>"), "{}", page.text());

    // Bad requests.
    let (status, e) = json(addr, "/api/consignments/not-an-id").await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("64 hex digits"),
        "{e}"
    );
    let (status, e) = json(addr, &format!("/api/consignments/{unknown}")).await;
    assert_eq!(status, 404);
    assert!(e["error"].as_str().unwrap().contains("not known"), "{e}");
    assert_eq!(
        request(
            addr,
            "GET",
            &format!("/api/consignments/{unknown}/proof"),
            b""
        )
        .await
        .status,
        404
    );
    assert_eq!(request(addr, "GET", "/api/nothing", b"").await.status, 404);
    assert_eq!(request(addr, "POST", "/api/state", b"{}").await.status, 405);

    // The live stream sends the picture at once.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\n\n")
        || !String::from_utf8_lossy(&got).contains("data:")
    {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("text/event-stream"), "{text}");
    assert!(text.contains("event: state"), "{text}");
    assert!(text.contains(&id), "{text}");

    // A node stopped shows as down; back, as up. The dashboard keeps answering.
    sb.stop_node("KZ").await;
    until(addr, |v| country(v, "KZ")["up"] == false).await;
    sb.restart_node("KZ").await;
    until(addr, |v| country(v, "KZ")["up"] == true).await;

    stop.cancel();
    dashboard.await.unwrap().unwrap();
    sb.stop().await;
}
