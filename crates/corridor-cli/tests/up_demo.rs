#![allow(clippy::unwrap_used)]
//! `corridor up` and `corridor demo` as a user runs them: every service a child process
//! reporting SERVING, stopped by SIGTERM (or by the death of `up` itself); bad ports and
//! directories refused in one line; a demo's report checked field by field, and the same
//! seed giving the same lanes.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{corridor, deploy, run};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Starts `corridor up` and reads its tables until it says it is ready: (service, address,
/// pid) of each service, and the border posts' lines.
fn start_up(data: &Path) -> (Child, Vec<(String, String, u32)>, Vec<String>) {
    let mut child = corridor()
        .args(["up", "--ports", "auto", "--topology"])
        .arg(deploy("corridor.toml"))
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (mut services, mut posts) = (Vec::new(), Vec::new());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut in_table, mut in_posts) = (false, false);
    loop {
        let l = lines.next().unwrap().unwrap();
        if l == "corridor up: ready" {
            break;
        }
        if l.starts_with("SERVICE") {
            in_table = true;
            continue;
        }
        if l.starts_with("COUNTRY") {
            in_posts = true;
            continue;
        }
        if in_posts {
            posts.push(l);
            continue;
        }
        if !in_table {
            continue;
        }
        // The services' table ends with an empty line; the border posts' table follows.
        if l.is_empty() {
            in_table = false;
            continue;
        }
        // "customs KZ   127.0.0.1:44173   http://127.0.0.1:44173/   12029   /tmp/.../customs/KZ"
        let parts: Vec<&str> = l.split_whitespace().collect();
        let (name, rest) = if parts[0] == "customs" {
            (format!("customs {}", parts[1]), &parts[2..])
        } else {
            (parts[0].to_string(), &parts[1..])
        };
        assert_eq!(rest[1], format!("http://{}/", rest[0]), "tiles URL: {l}");
        services.push((name, rest[0].to_string(), rest[2].parse().unwrap()));
    }
    // Keep draining stdout so `up` never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, services, posts)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Waits (bounded) for processes that were told to stop to be gone.
fn gone(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The body of `GET path` from the HTTP server at `addr`, which must answer 200.
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

async fn serving(addr: &str, service: &str) -> ServingStatus {
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_every_service_and_sigterm_stops_every_child() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corridor-data");
    let (mut up, mut services, posts) = start_up(&data);
    // Each country's border posts, with their UN/LOCODEs and crossings.
    let posts: Vec<Vec<&str>> = posts
        .iter()
        .map(|l| l.split_whitespace().take(4).collect())
        .collect();
    assert!(
        posts.contains(&vec!["CN", "CNXIY", "inland", "Xi'an"]),
        "{posts:?}"
    );
    assert!(
        posts.contains(&vec!["KZ", "KZKGS", "entry", "Altynkol"]),
        "{posts:?}"
    );
    assert!(
        posts.contains(&vec!["KZ", "KZKUR", "exit", "Kuryk"]),
        "{posts:?}"
    );
    assert_eq!(posts.len(), 8, "{posts:?}");
    let names: Vec<&str> = services.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "registry",
            "customs CN",
            "customs KZ",
            "customs AZ",
            "customs TR",
            "declarant",
            "dashboard"
        ]
    );
    // The dashboard is served by `up` itself, and reads every service of the corridor.
    let (_, dashboard, pid) = services.pop().unwrap();
    assert_eq!(pid, up.id());
    let state = get(&dashboard, "/api/state");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["corridor"], "middle-corridor");
    assert_eq!(state["countries"].as_array().unwrap().len(), 4, "{state}");
    assert!(
        state["countries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["up"] == true),
        "{state}"
    );
    for (name, addr, _) in &services {
        let svc = match name.as_str() {
            "registry" => "corridor.v1.AeoRegistry",
            "declarant" => "corridor.v1.Declarant",
            _ => "corridor.v1.CustomsNode",
        };
        assert_eq!(serving(addr, svc).await, ServingStatus::Serving, "{name}");
        assert_eq!(
            serving(addr, "corridor.v1.LedgerReader").await,
            ServingStatus::Serving,
            "{name}"
        );
    }
    // The ports written into DATA/topology.toml are the ones serving, and client verbs find
    // the corridor through it.
    let topo = data.join("topology.toml");
    let (code, out, err) = run(&[
        "queue",
        "--topology",
        topo.to_str().unwrap(),
        "--country",
        "KZ",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "KZ: none\n");
    // `up` registered the topology's operators: the sample consignment declares at once.
    let (code, out, err) = run(&[
        "declare",
        "--topology",
        topo.to_str().unwrap(),
        "--file",
        deploy("examples/consignment.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("declared at CN"), "{out}");

    let pids: Vec<u32> = services.iter().map(|s| s.2).collect();
    assert!(pids.iter().all(|p| alive(*p)));
    assert!(
        Command::new("kill")
            .args(["-TERM", &up.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(up.wait().unwrap().success());
    assert!(gone(&pids), "every child stopped with up");
    // Each stopped cleanly: its ledger signed a final checkpoint (an empty ledger has none,
    // so look at the logs instead).
    for (name, _, _) in &services {
        let log = std::fs::read_to_string(
            data.join("logs")
                .join(format!("{}.log", name.replace(' ', "-"))),
        )
        .unwrap();
        assert!(log.contains("stopped"), "{name}: {log}");
    }

    // Started again on the same directory: the same keys, and a SIGKILL of `up` itself
    // still stops every child (their stdin closes).
    let (mut up, services, _) = start_up(&data);
    let pids: Vec<u32> = services.iter().map(|s| s.2).collect();
    up.kill().unwrap();
    up.wait().unwrap();
    assert!(gone(&pids), "no child outlives up");
}

#[test]
fn up_refuses_a_taken_port_and_an_unwritable_directory_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().to_string();
    let text = std::fs::read_to_string(deploy("corridor.toml"))
        .unwrap()
        .replace("127.0.0.1:7413", &port);
    let topo = dir.path().join("taken.toml");
    std::fs::write(&topo, text).unwrap();
    let data = dir.path().join("data");
    let (code, out, err) = run(&[
        "up",
        "--topology",
        topo.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("customs AZ: cannot listen on {port}")),
        "{err}"
    );

    // The dashboard's address taken: refused in one line, and no service left running.
    let (code, out, err) = run(&[
        "up",
        "--ports",
        "auto",
        "--dashboard",
        &port,
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("dashboard: cannot listen on {port}"))
            && err.contains("--dashboard ADDR serves it elsewhere, --no-dashboard not at all"),
        "{err}"
    );

    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let (code, _, err) = run(&["up", "--data", blocker.join("sub").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot create the data directory"), "{err}");
}

/// Runs a small demo in `dir` on `topology` (the binary's built-in one if `None`, run from
/// `dir`, outside the repository, and with `--no-dashboard`); returns its JSON report.
fn demo(dir: &Path, name: &str, seed: &str, topology: Option<&Path>) -> serde_json::Value {
    let report = dir.join(format!("{name}.json"));
    let mut c = corridor();
    c.args(["demo", "--consignments", "6", "--seed", seed])
        .args(["--speed", "150000", "--data"])
        .arg(dir.join(name))
        .arg("--report")
        .arg(&report)
        .current_dir(dir);
    match topology {
        Some(t) => c.arg("--topology").arg(t),
        None => c.arg("--no-dashboard"),
    };
    let o = c.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("traces: 6/6 verified across every ledger"),
        "{out}"
    );
    let dashboard = out.lines().find(|l| l.starts_with("dashboard "));
    assert_eq!(
        dashboard.is_some_and(|l| l.contains(" http://127.0.0.1:")),
        topology.is_some(),
        "{out}"
    );
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

#[test]
fn a_demo_reports_every_consignment_and_the_same_seed_gives_the_same_lanes() {
    let dir = tempfile::tempdir().unwrap();
    let r = demo(dir.path(), "first", "7", Some(&deploy("corridor.toml")));
    let consignments = r["consignments"].as_array().unwrap();
    assert_eq!(consignments.len(), 6);
    let route = ["CN", "KZ", "AZ", "TR"];
    let lanes = ["green", "blue", "yellow", "red"];
    let mut completed = 0;
    let mut within = 0;
    for c in consignments {
        let id = c["id"].as_str().unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(c["aeo"].is_boolean());
        let status = c["status"].as_str().unwrap();
        assert!(
            ["completed", "refused", "held", "cancelled"].contains(&status),
            "{c}"
        );
        let hours = c["clearance_hours"].as_f64().unwrap();
        assert!(hours >= 0.0);
        let countries = c["countries"].as_array().unwrap();
        assert!(!countries.is_empty());
        for (i, k) in countries.iter().enumerate() {
            assert_eq!(k["country"].as_str().unwrap(), route[i], "{c}");
            assert!(lanes.contains(&k["lane"].as_str().unwrap()), "{c}");
        }
        if status == "completed" {
            assert_eq!(countries.len(), 4, "{c}");
            completed += 1;
            if hours <= 72.0 {
                within += 1;
            }
        }
        assert_eq!(c["trace_verified"], true);
    }
    let share = r["summary"]["within_target_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));
    assert!((share - f64::from(within) / f64::from(completed.max(1))).abs() < 1e-9);
    let ledgers = r["ledgers"].as_array().unwrap();
    let services: Vec<&str> = ledgers
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
    for l in ledgers {
        assert_eq!(l["verified"], true, "{l}");
        if let Some(cc) = l["country"].as_str() {
            assert_eq!(l["service"].as_str().unwrap(), format!("customs {cc}"));
        }
    }

    // The same seed: the same lanes for the same consignments (by reference), on the topology
    // built into the binary, from a directory outside the repository.
    let again = demo(dir.path(), "second", "7", None);
    let by_ref = |r: &serde_json::Value| -> BTreeMap<String, Vec<String>> {
        r["consignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["reference"].as_str().unwrap().to_string(),
                    c["countries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k["lane"].as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect()
    };
    assert_eq!(by_ref(&r), by_ref(&again));
}

/// `topology show` prints the topology built into the binary: `deploy/corridor.toml`.
#[test]
fn topology_show_prints_the_built_in_middle_corridor() {
    let dir = tempfile::tempdir().unwrap();
    let o = corridor()
        .args(["topology", "show"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        std::fs::read_to_string(deploy("corridor.toml")).unwrap()
    );
}

#[test]
fn a_demo_whose_node_dies_names_it_at_once_and_ends_with_a_partial_report_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = corridor()
        .args(["demo", "--consignments", "40", "--seed", "3", "--data"])
        .arg(dir.path().join("data"))
        .arg("--report")
        .arg(dir.path().join("report.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Every line of the demo's output, as it comes, on a channel (so that waiting for one is
    // bounded).
    let (tx, rx) = std::sync::mpsc::channel();
    let out = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let mut next = || {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e} after:\n{}", seen.join("\n")));
        seen.push(l.clone());
        l
    };
    // "customs KZ   127.0.0.1:44173   http://127.0.0.1:44173/   12029   /tmp/.../customs/KZ"
    let kz = loop {
        let l = next();
        let parts: Vec<&str> = l.split_whitespace().collect();
        if parts.len() >= 5 && parts[..2] == ["customs", "KZ"] {
            break parts[4].parse::<u32>().unwrap();
        }
    };
    // The scenario has begun: consignments are on their way.
    while !next().starts_with("demo: 40 consignments") {}
    let killed = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-KILL", &kz.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let stopped = format!("service customs KZ (pid {kz}) stopped: signal: 9 (SIGKILL)");
    while !next().starts_with(&stopped) {}
    let named_after = killed.elapsed();
    assert!(
        named_after < Duration::from_secs(5),
        "named {named_after:?} after the kill"
    );
    while !next().starts_with("PARTIAL report: ") {}
    let status = demo.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{}", seen.join("\n"));
    let partial = seen.iter().find(|l| l.starts_with("PARTIAL")).unwrap();
    assert!(partial.contains(&stopped), "{partial}");
    assert!(
        !seen.iter().any(|l| l.contains("cannot reach")),
        "{}",
        seen.join("\n")
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["partial"]["stopped"], "customs KZ");
    assert_eq!(report["partial"]["pid"], kz);
    assert_eq!(report["ledgers"], serde_json::json!([]));
}
