//! The attack witnessing exists for, with every service a process: a dishonest country
//! stops its node, restores its data directory from a copy taken earlier, restarts it and
//! records a different history. Every other country's witness refuses its next checkpoints
//! and keeps the two signed notes; `corridor witness status` shows the equivocation and the
//! unwitnessed head; `corridor witness verify-evidence` proves it offline; a proof of a
//! consignment taken from the rewritten ledger fails `corridor proof verify` for want of a
//! quorum, while one taken before still holds. Before that, a
//! witness down (the quorum is met by the others, and it catches up when it returns), and
//! two of three down (the head stays unwitnessed until they return).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{corridor_root, deploy, run, sync};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::witness_client::WitnessClient;
use corridor_topology::Topology;

/// Declares the example consignment under reference number `n`; returns its id.
fn declare(c: &common::Corridor, dir: &Path, n: u32) -> String {
    let text = std::fs::read_to_string(deploy("examples/consignment.json"))
        .unwrap()
        .replace("KTZE-2027-000001", &format!("KTZE-2027-{n:06}"))
        .replace("XSRE-2027-0001", &format!("XSRE-2027-{n:04}"));
    let file = dir.join(format!("consignment-{n}.json"));
    std::fs::write(&file, text).unwrap();
    c.declare(&file)
}

/// Consignment `id` through CN's border: arrived, released, exited, so that CN hands it to
/// KZ, whose ledger records the handover.
fn pass_cn(c: &common::Corridor, id: &str) {
    let out = c.officer("arrive", "CN", id, &["--post", "CNXIY"]);
    if out.contains("awaiting an officer") {
        c.officer("decide", "CN", id, &["release", "--findings", "checked"]);
    }
    c.officer("exit", "CN", id, &["--post", "CNKHG"]);
}

async fn witnessed(addr: &str) -> v1::WitnessedCheckpoint {
    LedgerReaderClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Waits (asking every 50 ms, at most 30 s) until `done` holds of the service's witnessed
/// checkpoint.
async fn until_witnessed(addr: &str, done: impl Fn(&v1::WitnessedCheckpoint) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let w = witnessed(addr).await;
        if done(&w) {
            return;
        }
        assert!(Instant::now() < deadline, "{addr}: {w:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn witness_status(addr: &str) -> v1::WitnessStatus {
    WitnessClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .get_witness_status(v1::GetWitnessStatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_country_that_rewrites_its_history_is_refused_by_every_witness_and_proven() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let topo = c.topology.to_str().unwrap().to_owned();
    let _registry = c.registry();
    let _declarant = c.declarant();
    let mut nodes: std::collections::BTreeMap<&str, _> = ["CN", "KZ", "AZ", "TR"]
        .into_iter()
        .map(|cc| (cc, c.node(cc)))
        .collect();
    c.register_operators();
    sync(&t).await;
    let addr = |cc: &str| {
        t.countries
            .iter()
            .find(|x| x.code == cc)
            .unwrap()
            .node
            .listen
            .clone()
    };

    // KZ's ledger as it is before any consignment: the copy it will restore.
    nodes.remove("KZ").unwrap().terminate();
    let kz_data = Path::new(&c.path("customs/KZ")).to_owned();
    let copy = dir.path().join("kz-copy");
    copy_dir(&kz_data, &copy);

    // TR's witness down: KZ's checkpoints still reach the quorum (2 of CN, AZ, TR).
    nodes.remove("TR").unwrap().terminate();
    nodes.insert("KZ", c.node("KZ"));
    // Consignment 1 through CN into KZ (declared, arrived, exited: KZ records the handover).
    let first = declare(&c, dir.path(), 1);
    let out = c.officer("arrive", "CN", &first, &["--post", "CNXIY"]);
    if out.contains("awaiting an officer") {
        c.officer(
            "decide",
            "CN",
            &first,
            &["release", "--findings", "checked"],
        );
    }
    c.officer("exit", "CN", &first, &["--post", "CNKHG"]);
    let kz = addr("KZ");
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::ledger_size(&kz).await == 0 {
        assert!(Instant::now() < deadline, "KZ never received consignment 1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let size = common::ledger_size(&kz).await;
    until_witnessed(&kz, |w| {
        w.checkpoint.as_ref().is_some_and(|cp| cp.size == size) && w.cosigners.len() == 2
    })
    .await;
    let w = witnessed(&kz).await;
    assert!(
        !w.cosigners.iter().any(|n| n.ends_with("/TR")),
        "TR is down: {w:?}"
    );
    // TR back: it is asked again and catches up with what the others cosigned.
    nodes.insert("TR", c.node("TR"));
    until_witnessed(&kz, |w| w.cosigners.len() == 3).await;
    // Consignment 1's proof, made now, verifies offline.
    let honest = dir.path().join("proof-1.json");
    let (code, out, err) = run(&[
        "proof",
        &first,
        "--topology",
        &topo,
        "--out",
        honest.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("2 nodes"), "{err}");
    let verify = |file: &Path| {
        run(&[
            "proof",
            "verify",
            file.to_str().unwrap(),
            "--topology",
            &topo,
        ])
    };
    let (code, out, err) = verify(&honest);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("proof: 2 countries") && out.contains("; valid: every signature"),
        "{out}"
    );

    // Two of three witnesses down: below the quorum KZ's head stays unwitnessed (asked
    // again on every tick) and is witnessed once they return.
    nodes.remove("AZ").unwrap().terminate();
    nodes.remove("TR").unwrap().terminate();
    let before = witnessed(&kz).await.checkpoint.unwrap().size;
    pass_cn(&c, &declare(&c, dir.path(), 4));
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::ledger_size(&kz).await == before {
        assert!(Instant::now() < deadline, "KZ never received consignment 4");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let w = witnessed(&kz).await;
    assert_eq!(w.checkpoint.as_ref().unwrap().size, before, "{w:?}");
    assert!(w.ledger_size > before);
    let (code, out, _) = run(&["witness", "status", "--topology", &topo]);
    assert_eq!(code, 2, "AZ and TR cannot be reached: {out}");
    nodes.insert("AZ", c.node("AZ"));
    nodes.insert("TR", c.node("TR"));
    let size = common::ledger_size(&kz).await;
    until_witnessed(&kz, |w| {
        w.checkpoint.as_ref().is_some_and(|cp| cp.size == size) && w.cosigners.len() == 3
    })
    .await;
    let cosigned = witnessed(&kz).await.checkpoint.unwrap();

    // The rewrite: KZ stopped, its directory restored from the copy, restarted, and a
    // different history recorded (three new consignments).
    nodes.remove("KZ").unwrap().terminate();
    std::fs::remove_dir_all(&kz_data).unwrap();
    copy_dir(&copy, &kz_data);
    nodes.insert("KZ", c.node("KZ"));
    let mut forked = String::new();
    for n in [2, 3, 5] {
        forked = declare(&c, dir.path(), n);
        pass_cn(&c, &forked);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::ledger_size(&kz).await < cosigned.size {
        assert!(Instant::now() < deadline, "KZ's new history stays short");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every other witness holds the proof.
    let origin = t.ledger_origin(&corridor_topology::ServiceRole::Node("KZ".parse().unwrap()));
    for cc in ["CN", "AZ", "TR"] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let s = loop {
            let s = witness_status(&addr(cc)).await;
            if s.equivocations.iter().any(|e| e.origin == origin) {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "{cc} found no equivocation: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let e = s.equivocations.iter().find(|e| e.origin == origin).unwrap();
        assert_eq!(e.cosigned_size, cosigned.size, "{cc}");
        // The record of KZ is still the checkpoint cosigned before the rewrite.
        let kept = s.logs.iter().find(|l| l.origin == origin).unwrap();
        assert_eq!(kept.size, cosigned.size, "{cc}");
        assert_eq!(kept.root_hash, cosigned.root_hash, "{cc}");
    }
    // KZ's head stays unwitnessed: what it keeps as witnessed is the restored size 0.
    let w = witnessed(&kz).await;
    assert!(
        w.checkpoint.as_ref().map_or(0, |cp| cp.size) < w.ledger_size,
        "{w:?}"
    );

    // The operator's view, and the offline proof.
    let evidence = dir.path().join("evidence");
    let (code, out, err) = run(&[
        "witness",
        "status",
        "--topology",
        &topo,
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("EQUIVOCATION by customs KZ (middle-corridor/customs/KZ)"),
        "{out}"
    );
    assert!(out.contains("UNWITNESSED HEAD"), "{out}");
    let file = evidence.join("CN-0.json");
    let (code, out, err) = run(&[
        "witness",
        "verify-evidence",
        file.to_str().unwrap(),
        "--topology",
        &topo,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("proven: customs KZ"), "{out}");

    // A proof taken from the rewritten ledger: no quorum cosigned its checkpoint, so it
    // fails; the proof made before the rewrite still holds.
    let rewritten = dir.path().join("proof-5.json");
    let (code, out, err) = run(&[
        "proof",
        &forked,
        "--topology",
        &topo,
        "--wait",
        "1",
        "--out",
        rewritten.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("note: middle-corridor/customs/KZ") && err.contains("no witness quorum"),
        "{err}"
    );
    let (code, out, _) = verify(&rewritten);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN: KZ ledger: checkpoint of") && out.contains("not witnessed by quorum"),
        "{out}"
    );
    let (code, out, err) = verify(&honest);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = verify(&c.topology);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a proof"), "{err}");

    // Evidence tampered with proves nothing; a file that is not evidence is bad input.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["conflicting"] = json["cosigned"].clone();
    let same = dir.path().join("same.json");
    std::fs::write(&same, json.to_string()).unwrap();
    let (code, out, _) = run(&[
        "witness",
        "verify-evidence",
        same.to_str().unwrap(),
        "--topology",
        &topo,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("not proven"), "{out}");
    let (code, _, err) = run(&[
        "witness",
        "verify-evidence",
        c.topology.to_str().unwrap(),
        "--topology",
        &topo,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not evidence"), "{err}");
    for (_, n) in nodes {
        n.terminate();
    }
}
