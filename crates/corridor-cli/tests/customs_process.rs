#![allow(clippy::unwrap_used)]
//! The corridor as processes: the registry, the declarant and the four customs nodes each a
//! `corridor serve` child with its own data directory, driven through the `corridor` binary's officer verbs.
//! A node killed with SIGKILL mid-flow restarts from its sled state and the consignment
//! clears; `corridor trace` verifies it through the running services and from the stopped
//! services' data directories, and reports a broken ledger.

mod common;

use std::path::Path;

use common::{ARRIVAL_POSTS, EXIT_POSTS, ROUTE, Service, corridor_root, country_of, now, ok, run};

use corridor_core::document::TransferEntry;
use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};
use corridor_core::{Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_topology::Topology;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consignment_clears_through_node_processes_one_killed_mid_flow() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let registry = c.registry();
    // The bills' platform of record, which the first node asks for a declared bill's chain.
    let declarant = c.declarant();
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
            &c.path(&format!("keys/{}/authority.key", country_of(id))),
        ]);
        keys.insert(id, SigningKey::load(Path::new(&path)).unwrap());
    }
    let size = common::ledger_size(&t.registry.listen).await;
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
        let out = c.officer("arrive", cc, &id, &["--post", ARRIVAL_POSTS[i]]);
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
            let out = c.officer("exit", cc, &id, &["--post", EXIT_POSTS[i]]);
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
    declarant.terminate();
    registry.terminate();
    let before = ledger_files(&c.root);
    let out = ok(&["trace", "--data", c.root.to_str().unwrap(), &id]);
    assert!(
        out.contains("every ledger, link and signature verified"),
        "{out}"
    );
    assert!(
        out.contains("under the checkpoint signed by the node"),
        "{out}"
    );
    assert_eq!(
        ledger_files(&c.root),
        before,
        "an audit changes nothing it audits"
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

/// Every file of the ledgers under a corridor's data root (`registry/`, `customs/`,
/// `declarant/`), with its bytes.
fn ledger_files(root: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack: Vec<std::path::PathBuf> = ["registry", "customs", "declarant"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(!out.is_empty(), "ledgers under {}", root.display());
    out
}
