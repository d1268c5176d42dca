#![allow(clippy::unwrap_used)]
//! `corridor bench corridor` as a user runs it, small: the services as processes, every
//! consignment cleared through the four nodes, the figures' JSON on the last line, with the
//! border events sent one call each and in batches.

mod common;

use common::{deploy, ok};

fn bench(extra: &[&str]) -> serde_json::Value {
    let topology = deploy("corridor.toml");
    let mut args = vec![
        "bench",
        "corridor",
        "--consignments",
        "12",
        "--concurrency",
        "4",
        "--topology",
        topology.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = ok(&args);
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

fn check(v: &serde_json::Value, events: &str, witnessing: bool) {
    assert_eq!(v["consignments"], 12, "{v}");
    assert_eq!(v["witnessing"], witnessing, "{v}");
    assert_eq!(v["border_events"], events, "{v}");
    assert_eq!(v["ledgers_verified"], true, "{v}");
    // Made: the declarant's bill, ISSUE entry, declaration and the chain head the first
    // node asks it for, the officers' seven border events, and the nodes' assessments,
    // releases, advance records, receipts and completion; all counted by the processes that
    // made them.
    // With witnessing, the checkpoints and their cosignatures are signed besides.
    let signs = v["signs_per_consignment"].as_f64().unwrap();
    if witnessing {
        assert!(signs > 27.0, "{v}");
        // The entries appended during the run were seen witnessed; cosignatures were made.
        assert!(v["witness_lag_entries"].as_u64().unwrap() > 12 * 10, "{v}");
        let p99 = v["witness_lag_p99_ms"].as_f64().unwrap();
        assert!(
            p99 > 0.0 && v["witness_lag_p50_ms"].as_f64().unwrap() <= p99,
            "{v}"
        );
        assert!(v["cosignatures_per_s"].as_f64().unwrap() > 0.0, "{v}");
    } else {
        assert_eq!(v["witness_lag_entries"], 0, "{v}");
        assert_eq!(signs, 27.0, "{v}");
        let verified = v["verifies_per_consignment"].as_f64().unwrap();
        assert!((15.0..30.0).contains(&verified), "{v}");
    }
    // One consignment's proof through the four countries, made and verified.
    assert!(v["proof_entries"].as_u64().unwrap() >= 20, "{v}");
    assert!(v["proof_bytes"].as_u64().unwrap() > 10_000, "{v}");
    assert!(v["proof_verify_ms"].as_f64().unwrap() > 0.0, "{v}");
    let per_s = v["consignments_per_s"].as_f64().unwrap();
    let ceiling = v["ceiling_per_s"].as_f64().unwrap();
    assert!(per_s > 0.0 && ceiling > per_s, "{v}");
    assert!(
        (v["ratio"].as_f64().unwrap() - per_s / ceiling).abs() < 1e-9,
        "{v}"
    );
    let (p50, p99) = (
        v["hop_p50_us"].as_i64().unwrap(),
        v["hop_p99_us"].as_i64().unwrap(),
    );
    assert!(0 < p50 && p50 <= p99, "{v}");
}

#[test]
fn consignments_clear_with_border_events_one_call_each() {
    check(
        &bench(&["--events", "single", "--witnessing", "off"]),
        "single",
        false,
    );
}

#[test]
fn consignments_clear_with_border_events_in_batches() {
    check(&bench(&[]), "batch", true);
}
