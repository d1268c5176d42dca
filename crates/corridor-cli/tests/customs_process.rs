#![allow(clippy::unwrap_used)]
//! The corridor as processes: the registry and the four customs nodes each a `corridor serve`
//! child with its own data directory, driven through the `corridor` binary's officer verbs.
//! A node killed with SIGKILL mid-flow restarts from its sled state and the consignment
//! clears; `corridor trace` verifies it through the running services and from the stopped
//! services' data directories, and reports a broken ledger.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_core::document::TransferEntry;
use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};
use corridor_core::{Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Topology;

const ROUTE: [&str; 4] = ["CN", "KZ", "AZ", "TR"];

fn corridor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
}

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = corridor().args(args).output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "corridor {args:?}: {out}{err}");
    out
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// A free port on 127.0.0.1 (bound, then released for the child to bind).
fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A `corridor serve` child, once it said it listens.
struct Service {
    child: Child,
}

impl Service {
    fn start(args: &[&str]) -> Self {
        let mut child = corridor()
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on "), "{args:?}: {line:?}");
        Self { child }
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        assert!(self.child.wait().unwrap().success());
    }
}

struct Corridor {
    root: PathBuf,
    topology: PathBuf,
}

impl Corridor {
    fn path(&self, rel: &str) -> String {
        self.root.join(rel).to_str().unwrap().to_owned()
    }

    fn node(&self, cc: &str) -> Service {
        Service::start(&[
            "customs",
            "--country",
            cc,
            "--topology",
            self.topology.to_str().unwrap(),
            "--data",
            &self.path(&format!("customs/{cc}")),
        ])
    }

    fn registry(&self) -> Service {
        Service::start(&[
            "aeo",
            "--topology",
            self.topology.to_str().unwrap(),
            "--data",
            &self.path("registry"),
        ])
    }

    /// Runs an officer verb at `cc`; returns its output line.
    fn officer(&self, verb: &str, cc: &str, id: &str, rest: &[&str]) -> String {
        let key = self.path(&format!("keys/{cc}/officer-1.key"));
        let mut args = vec![
            verb,
            "--topology",
            self.topology.to_str().unwrap(),
            "--country",
            cc,
            "--key",
            &key,
            id,
        ];
        args.extend_from_slice(rest);
        ok(&args)
    }
}

/// Keys init into a fresh root, with free ports written into its topology.
fn corridor_root(dir: &Path) -> Corridor {
    let root = dir.join("corridor");
    ok(&[
        "keys",
        "init",
        "--topology",
        deploy("corridor.toml").to_str().unwrap(),
        "--out",
        root.to_str().unwrap(),
    ]);
    let file = root.join("topology.toml");
    let mut t = Topology::load(&file).unwrap();
    t.registry.listen = free_addr();
    t.declarant.listen = free_addr();
    for c in &mut t.countries {
        c.node.listen = free_addr();
    }
    std::fs::write(&file, t.to_toml()).unwrap();
    Corridor {
        root,
        topology: file,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consignment_clears_through_node_processes_one_killed_mid_flow() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let registry = c.registry();
    let mut nodes: Vec<Option<Service>> = ROUTE.iter().map(|cc| Some(c.node(cc))).collect();

    // The parties, registered by their authorities through the CLI.
    let mut keys = std::collections::BTreeMap::new();
    for id in [SHIPPER_ID, CARRIER_ID, FORWARDER_ID] {
        let path = c.path(&format!("parties/{id}.key"));
        ok(&["keys", "gen", "--out", &path]);
        ok(&[
            "aeo",
            "--topology",
            c.topology.to_str().unwrap(),
            "operator",
            "register",
            "--id",
            id,
            "--name",
            "Party",
            "--address",
            "1 Station Road",
            "--operator-key",
            &format!("{path}.pub"),
            "--key",
            &c.path(&format!("keys/{}/authority.key", &id[..2])),
        ]);
        keys.insert(id, SigningKey::load(Path::new(&path)).unwrap());
    }
    let size = LedgerReaderClient::connect(format!("http://{}", t.registry.listen))
        .await
        .unwrap()
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size;
    let cn = format!("http://{}", t.countries[0].node.listen);
    let mut client = CustomsNodeClient::connect(cn).await.unwrap();
    let status = client
        .get_node_status(v1::NodeStatusRequest {
            min_registry_entries: size,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.registry_entries, size);

    // A declaration, as a trader's own client builds and signs it.
    let t0 = now();
    let bill = bill_of_lading_at("KTZE-P-000001", t0);
    let benv = Envelope::sign(
        pt::BILL_OF_LADING,
        corridor_proto::encode_bill_of_lading(&bill),
        &keys[CARRIER_ID],
    );
    let issue = TransferEntry::issue(
        benv.document_id(),
        OperatorId::parse("c", CARRIER_ID).unwrap(),
        OperatorId::parse("s", SHIPPER_ID).unwrap(),
        t0,
    )
    .unwrap();
    let ienv = Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(&issue),
        &keys[CARRIER_ID],
    );
    let declaration = declaration_at(benv.document_id(), "SRM-P-000001", t0);
    let mut denv = Envelope::sign(
        pt::DECLARATION,
        corridor_proto::encode_declaration(&declaration),
        &keys[FORWARDER_ID],
    );
    denv.add_signature(&keys[SHIPPER_ID]);
    let r = client
        .submit_declaration(v1::SubmitDeclarationRequest {
            declaration: Some(v1::Envelope::from(&denv)),
            bill_of_lading: Some(v1::Envelope::from(&benv)),
            transfer_chain: vec![v1::Envelope::from(&ienv)],
        })
        .await
        .unwrap()
        .into_inner();
    let id = r.consignment_id.clone();
    assert_eq!(id, denv.document_id().to_hex());

    for (i, cc) in ROUTE.iter().enumerate() {
        // The next node has the advance record once the previous one says it was handed
        // over: wait through the queue of the previous node.
        if i > 0 {
            let prev = ROUTE[i - 1];
            let mut s =
                CustomsNodeClient::connect(format!("http://{}", t.countries[i - 1].node.listen))
                    .await
                    .unwrap()
                    .watch_consignment(v1::WatchConsignmentRequest {
                        consignment_id: id.clone(),
                        from_sequence: 0,
                        follow: true,
                    })
                    .await
                    .unwrap()
                    .into_inner();
            let mut handed = false;
            while let Some(e) = tokio_stream::StreamExt::next(&mut s).await {
                if e.unwrap().state() == v1::ConsignmentState::HandedOver {
                    handed = true;
                    break;
                }
            }
            assert!(handed, "{prev} handed the consignment over");
        }
        let out = c.officer("arrive", cc, &id, &[]);
        assert!(out.starts_with(&id), "{out}");
        if *cc == "AZ" {
            // Killed between arrival and release: the arrival is in AZ's ledger.
            nodes[i].take().unwrap().kill_9();
            nodes[i] = Some(c.node(cc));
            let q = ok(&[
                "queue",
                "--topology",
                c.topology.to_str().unwrap(),
                "--country",
                cc,
                "--show",
                "all",
            ]);
            assert!(q.contains(&id), "{q}");
            assert!(!q.contains("awaiting arrival"), "the arrival survived: {q}");
        }
        if out.contains("awaiting an officer") {
            let out = c.officer(
                "decide",
                cc,
                &id,
                &["release", "--findings", "documents in order"],
            );
            assert!(
                out.contains("released") || out.contains("completed"),
                "{out}"
            );
        } else {
            assert!(
                out.contains("released") || out.contains("completed"),
                "{out}"
            );
        }
        if i + 1 < ROUTE.len() {
            let out = c.officer("exit", cc, &id, &[]);
            assert!(out.contains("exited"), "{out}");
        }
    }
    let q = ok(&[
        "queue",
        "--topology",
        c.topology.to_str().unwrap(),
        "--country",
        "TR",
        "--show",
        "all",
    ]);
    assert!(q.contains("completed"), "{q}");

    // Traced through the running services...
    let out = ok(&["trace", "--topology", c.topology.to_str().unwrap(), &id]);
    assert!(out.contains("trace: 4 countries"), "{out}");
    assert!(out.contains("linked to AZ #"), "{out}");

    // ... and from the data directories of the stopped services.
    for n in nodes.into_iter().flatten() {
        n.terminate();
    }
    registry.terminate();
    let out = ok(&["trace", "--data", c.root.to_str().unwrap(), &id]);
    assert!(
        out.contains("every ledger, link and signature verified"),
        "{out}"
    );

    // A node key that is not the one KZ's ledger was signed with: the trace breaks (exit
    // 1) at KZ's checkpoint and at every document KZ's node signed.
    let impostor = c.path("impostor.key");
    ok(&["keys", "gen", "--out", &impostor]);
    std::fs::copy(format!("{impostor}.pub"), c.path("keys/KZ/node.key.pub")).unwrap();
    let (code, out, err) = run(&["trace", "--data", c.root.to_str().unwrap(), &id]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("BROKEN: KZ ledger"), "{out}");
    assert!(
        out.contains("BROKEN: KZ #1 risk.assessed: not signed by the node of KZ"),
        "{out}"
    );
    assert!(out.contains("BROKEN: CN #7 advance.acknowledged"), "{out}");

    // An unknown consignment is one line and exit 2.
    let (code, _, err) = run(&[
        "trace",
        "--data",
        c.root.to_str().unwrap(),
        &"ab".repeat(32),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not known at CN"), "{err}");
}
