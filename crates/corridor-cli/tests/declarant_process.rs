#![allow(clippy::unwrap_used)]
//! The declarant as a process, driven through the `corridor` binary as a trader drives it:
//! `declare` with the sample file, `watch` following the consignment through four node
//! processes, `status` after the declarant was killed with SIGKILL and started again, the
//! bill transferred, surrendered and accepted, and broken files refused in one line.

mod common;

use common::{Corridor, ROUTE, Service, corridor_root, deploy, ok, run, sync};
use corridor_topology::Topology;

fn topo(c: &Corridor) -> &str {
    c.topology.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_declares_watches_and_moves_the_bill_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let c = corridor_root(dir.path());
    let t = Topology::load(&c.topology).unwrap();
    let registry = c.registry();
    let nodes: Vec<Service> = ROUTE.iter().map(|cc| c.node(cc)).collect();
    let mut declarant = c.declarant();
    c.register_operators();
    sync(&t).await;

    let sample = deploy("examples/consignment.json");
    let out = ok(&[
        "declare",
        "--topology",
        topo(&c),
        "--file",
        sample.to_str().unwrap(),
    ]);
    let id = out.split_whitespace().next().unwrap().to_owned();
    assert_eq!(id.len(), 64, "{out}");
    assert!(out.contains("declared at CN (awaiting arrival"), "{out}");
    let bill = out.trim().rsplit(' ').next().unwrap().to_owned();

    // Killed after acknowledging: the submission is intact after a restart.
    declarant.child.kill().unwrap();
    declarant.child.wait().unwrap();
    declarant = c.declarant();
    let status = ok(&["status", "--topology", topo(&c), &id]);
    assert!(status.contains("XSRE-2027-0001 (accepted)"), "{status}");
    assert!(status.contains("CN: awaiting arrival"), "{status}");

    // `watch` follows the consignment while the officers move it through four countries.
    let rest = c.carry(&id, "checked");
    let last = rest.last().unwrap();
    assert!(
        last.contains(" TR ") && last.contains("consignment.completed"),
        "{rest:#?}"
    );

    // The bill: the shipper transfers it to the forwarder, who surrenders it to the carrier,
    // who accepts; a transfer signed by someone who does not hold it is refused.
    let key = |id: &str| c.path(&format!("keys/operators/{id}.key"));
    let out = ok(&[
        "bill",
        "--topology",
        topo(&c),
        "transfer",
        &bill,
        "--to",
        "CN91650000HG02",
        "--key",
        &key("CN91610131XA01"),
    ]);
    assert!(
        out.contains("held by CN91650000HG02; 2 entries, last TRANSFER"),
        "{out}"
    );
    let (code, _, err) = run(&[
        "bill",
        "--topology",
        topo(&c),
        "transfer",
        &bill,
        "--to",
        "AZ1700112233",
        "--key",
        &key("CN91610131XA01"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("valid authentication credentials")
            && err.contains("entry is not signed by CN91650000HG02 with a key valid at"),
        "{err}"
    );
    let out = ok(&[
        "bill",
        "--topology",
        topo(&c),
        "surrender",
        &bill,
        "--key",
        &key("CN91650000HG02"),
    ]);
    assert!(
        out.contains("held by KZ180540012345; 3 entries, last SURRENDER_FOR_DELIVERY"),
        "{out}"
    );
    let out = ok(&[
        "bill",
        "--topology",
        topo(&c),
        "accept",
        &bill,
        "--key",
        &key("KZ180540012345"),
    ]);
    assert!(
        out.contains("(spent); 4 entries, last SURRENDER_ACCEPTED"),
        "{out}"
    );

    // Broken files: one line naming the file, the field and the reason; exit 2.
    let cases = [
        (
            r#"{"declaration": {"items": [{"numberOfPackages": "many"}]}}"#,
            "declaration.items[0].numberOfPackages",
        ),
        (r#"{"declaration": {"colour": "red"}}"#, "declaration"),
        (r#"{"billOfLading": {"#, "EOF"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("broken-{i}.json"));
        std::fs::write(&f, text).unwrap();
        let (code, out, err) = run(&[
            "declare",
            "--topology",
            topo(&c),
            "--file",
            f.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(f.to_str().unwrap()) && err.contains(needle),
            "{err}"
        );
    }
    // A file that parses but declares something impossible: the declarant names the field.
    let text = std::fs::read_to_string(&sample)
        .unwrap()
        .replace("\"hsCode\": \"8507600000\"", "\"hsCode\": \"85X7\"");
    let f = dir.path().join("bad-hs.json");
    std::fs::write(&f, text).unwrap();
    let (code, _, err) = run(&[
        "declare",
        "--topology",
        topo(&c),
        "--file",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("Client specified an invalid argument"),
        "{err}"
    );
    assert!(err.contains("hs_code"), "{err}");

    declarant.terminate();
    for n in nodes {
        n.terminate();
    }
    registry.terminate();
}
