#![allow(clippy::unwrap_used)]
//! DCSA transport documents through the `corridor` binary, as a carrier's documentation desk
//! and a forwarder use them against real service processes: a sample document written by
//! `bill example`, refused when it fails the DCSA schema (a line per violation) or names a
//! party the registry does not know, with nothing recorded; imported; declared with `declare
//! --bill-dcsa`; moved through four countries by their officers; given back by `bill show
//! --dcsa` with the consignment among its customs references; traced.

mod common;

use std::path::Path;

use common::{Corridor, ROUTE, corridor_root, ledger_size, ok, run, sync};
use corridor_dcsa::export::canonical;
use corridor_topology::Topology;
use serde_json::Value;

fn topo(c: &Corridor) -> &str {
    c.topology.to_str().unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(path: &Path, doc: &Value) -> String {
    std::fs::write(path, doc.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_document_is_imported_declared_carried_exported_and_traced() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let registry = c.registry();
    let nodes: Vec<_> = ROUTE.iter().map(|cc| c.node(cc)).collect();
    let declarant = c.declarant();
    c.register_operators();
    sync(&t).await;

    let td = dir.path().join("td.json");
    let td_path = td.to_str().unwrap();
    let (code, _, err) = run(&[
        "bill",
        "--topology",
        topo(&c),
        "example",
        "--reference",
        "KTZE-DCSA-000001",
        "--out",
        td_path,
    ]);
    assert_eq!(code, 0, "{err}");
    let doc = read(&td);
    assert_eq!(doc["transportDocumentReference"], "KTZE-DCSA-000001");
    assert_eq!(doc["transportDocumentStatus"], "ISSUED");
    let rest = dir.path().join("rest.json");
    std::fs::write(
        &rest,
        ok(&["declare", "--example", "--without-bill"]).as_bytes(),
    )
    .unwrap();
    let rest = rest.to_str().unwrap();

    // Refused before anything is recorded: a line for each violation (the short HS code breaks
    // two rules of the schema), by pointer.
    let before = ledger_size(&t.declarant.listen).await;
    let mut bad = doc.clone();
    bad["consignmentItems"][0]["HSCodes"][0] = Value::from("85414");
    bad["isToOrder"] = Value::from("no");
    let bad = write(&dir.path().join("schema.json"), &bad);
    for args in [
        vec!["bill", "--topology", topo(&c), "import", "--dcsa", &bad],
        vec![
            "declare",
            "--topology",
            topo(&c),
            "--bill-dcsa",
            &bad,
            "--file",
            rest,
        ],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{out}{err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(
            lines[0].contains("fails the DCSA eBL 3.0.4 schema"),
            "{err}"
        );
        assert!(
            lines
                .contains(&"/consignmentItems/0/HSCodes/0: \"85414\" is shorter than 6 characters"),
            "{err}"
        );
        assert!(lines.iter().any(|l| l.starts_with("/isToOrder: ")), "{err}");
    }
    // Schema-valid, but a party the registry does not know and a place that is no UN/LOCODE.
    let mut unknown = doc.clone();
    unknown["documentParties"]["shipper"]["identifyingCodes"][0]["partyCode"] =
        Value::from("CN99999999ZZ99");
    let unknown = write(&dir.path().join("unknown.json"), &unknown);
    let (code, _, err) = run(&["bill", "--topology", topo(&c), "import", "--dcsa", &unknown]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "/documentParties/shipper/identifyingCodes/0/partyCode: operator CN99999999ZZ99 is not in the AEO registry"
        ),
        "{err}"
    );
    let mut place = doc.clone();
    place["transports"]["portOfLoading"] = serde_json::json!({"locationName": "Xi'an"});
    let place = write(&dir.path().join("place.json"), &place);
    let (code, _, err) = run(&["bill", "--topology", topo(&c), "import", "--dcsa", &place]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("/transports/portOfLoading/UNLocationCode: the corridor names every place by its UN/LOCODE"),
        "{err}"
    );
    // A file that gives a bill of its own as well.
    let sample = common::deploy("examples/consignment.json");
    let (code, _, err) = run(&[
        "declare",
        "--topology",
        topo(&c),
        "--bill-dcsa",
        td_path,
        "--file",
        sample.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gives billOfLading, and --bill-dcsa gives the bill"),
        "{err}"
    );
    assert_eq!(
        ledger_size(&t.declarant.listen).await,
        before,
        "a refused document recorded something"
    );

    // Imported, then declared with the same document: the same bill.
    let out = ok(&["bill", "--topology", topo(&c), "import", "--dcsa", td_path]);
    assert!(
        out.contains("held by CN91610131XA01; 1 entries, last ISSUE"),
        "{out}"
    );
    let bill = out
        .split(':')
        .next()
        .unwrap()
        .trim_start_matches("bill ")
        .to_owned();
    assert_eq!(bill.len(), 64, "{out}");
    let out = ok(&[
        "declare",
        "--topology",
        topo(&c),
        "--bill-dcsa",
        td_path,
        "--file",
        rest,
    ]);
    let id = out.split_whitespace().next().unwrap().to_owned();
    assert!(out.contains("declared at CN"), "{out}");
    assert!(out.trim().ends_with(&format!("bill {bill}")), "{out}");

    let watched = c.carry(&id, "documents match the bill");
    assert!(
        watched.last().unwrap().contains("consignment.completed"),
        "{watched:#?}"
    );
    let status = ok(&["status", "--topology", topo(&c), &id]);
    assert!(status.contains("TR: completed"), "{status}");

    // Given back: the document as imported, with the consignment as a customs reference.
    let back = dir.path().join("back.json");
    let (code, _, err) = run(&[
        "bill",
        "--topology",
        topo(&c),
        "show",
        &bill,
        "--dcsa",
        "--out",
        back.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the imported DCSA transport document"),
        "{err}"
    );
    // The file is the canonical form its checksum is of.
    let bytes = std::fs::read(&back).unwrap();
    let checksum = corridor_core::Digest::of(&bytes).to_hex();
    assert!(err.contains(&format!("checksum {checksum}")), "{err}");
    let mut back = read(&back);
    let refs = back
        .as_object_mut()
        .unwrap()
        .remove("customsReferences")
        .unwrap();
    assert_eq!(
        refs,
        serde_json::json!([{"type": "CORRIDOR", "countryCode": "CN", "values": [&id[..32], &id[32..]]}])
    );
    assert_eq!(
        canonical(&back),
        canonical(&doc),
        "the document given back is not the one imported"
    );

    let trace = ok(&["trace", "--topology", topo(&c), &id]);
    assert!(
        trace.contains("every ledger, link and signature verified"),
        "{trace}"
    );
    assert!(trace.contains("consignment.completed"), "{trace}");

    declarant.terminate();
    for n in nodes {
        n.terminate();
    }
    registry.terminate();
}
