//! DCSA transport documents for flow tests: the documents of `crates/corridor-dcsa/testdata/`
//! between the topology's operators and dated from a given day, and a consignment
//! declaring the goods of one.

use corridor_core::document::BillOfLading;
use corridor_core::document::examples::{CARRIER_ID, CONSIGNEE_ID, FORWARDER_ID, SHIPPER_ID};
use corridor_proto::v1;
use serde_json::Value;

use crate::sandbox::{
    PlainConsignment, TOPOLOGY_CARRIER, TOPOLOGY_CONSIGNEE, TOPOLOGY_FORWARDER, TOPOLOGY_SHIPPER,
    plain_consignment, topology_parties,
};

/// The day the test documents are dated from (2026-11-20, 00:00 UTC).
const DATED: i64 = 1_795_132_800_000_000;
const DAY: i64 = 86_400_000_000;

/// Test document `name` (`straight-bill`, `several-items-and-containers`, ...) with the
/// topology's operators for the sample ones, reference `reference`, every date and time
/// moved by whole days so that it is issued on the UTC day of `at`, and issued at `at`
/// exactly (the `corridor` property's `issuedAt`: a key registered today cannot sign a bill
/// issued at 00:00).
pub fn transport_document(name: &str, reference: &str, at: i64) -> Value {
    let path = format!(
        "{}/../crates/corridor-dcsa/testdata/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (sample, topology) in [
        (SHIPPER_ID, TOPOLOGY_SHIPPER),
        (CARRIER_ID, TOPOLOGY_CARRIER),
        (CONSIGNEE_ID, TOPOLOGY_CONSIGNEE),
        (FORWARDER_ID, TOPOLOGY_FORWARDER),
    ] {
        text = text.replace(&format!("\"{sample}\""), &format!("\"{topology}\""));
    }
    let mut doc: Value = serde_json::from_str(&text).expect("a test document is JSON");
    doc["transportDocumentReference"] = Value::String(reference.into());
    shift(&mut doc, (at.div_euclid(DAY) * DAY - DATED) / DAY);
    let exact = std::time::UNIX_EPOCH + std::time::Duration::from_micros(at as u64);
    let exact = humantime::format_rfc3339_micros(exact).to_string();
    match doc.get_mut("corridor") {
        Some(ext) => ext["issuedAt"] = Value::String(exact),
        None => doc["corridor"] = serde_json::json!({ "issuedAt": exact }),
    }
    doc
}

/// Moves every date (`2026-11-20`) and RFC 3339 time in `v` by `days`.
fn shift(v: &mut Value, days: i64) {
    match v {
        Value::String(s) => {
            let (time, is_date) = if s.len() == 10 {
                (format!("{s}T00:00:00Z"), true)
            } else {
                (s.clone(), false)
            };
            if s.as_bytes().get(4) != Some(&b'-') {
                return;
            }
            let Ok(t) = humantime::parse_rfc3339(&time) else {
                return;
            };
            let moved = if days >= 0 {
                t + std::time::Duration::from_secs(days as u64 * 86_400)
            } else {
                t - std::time::Duration::from_secs(days.unsigned_abs() * 86_400)
            };
            let out = humantime::format_rfc3339_micros(moved).to_string();
            *s = if is_date { out[..10].to_owned() } else { out };
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shift(i, days)),
        Value::Object(map) => map.values_mut().for_each(|i| shift(i, days)),
        _ => {}
    }
}

/// Consignment `n` between the topology's operators declaring the goods of `bill` (one
/// declared item per bill item, its weight, packages and containers), with the bill given
/// as DCSA document `document` and the sample route; the seals are the bill's.
pub fn declaring(n: u32, bill: &BillOfLading, document: &Value) -> PlainConsignment {
    let mut c = plain_consignment(n, &topology_parties());
    let r = &mut c.request;
    r.bill_of_lading = None;
    r.bill_of_lading_dcsa = document.to_string();
    let d = r.declaration.as_mut().expect("a declaration");
    let template = d.items[0].clone();
    d.items = bill
        .consignment_items
        .iter()
        .enumerate()
        .map(|(i, item)| v1::DeclaredItem {
            item_number: i as u32 + 1,
            hs_code: item.hs_code.to_string(),
            description_of_goods: item.description_of_goods.to_string(),
            number_of_packages: item.number_of_packages.get(),
            package_type: item.package_type.to_string(),
            gross_weight_grams: item.gross_weight_grams.get(),
            net_weight_grams: item.gross_weight_grams.get() * 9 / 10,
            container_numbers: item
                .container_numbers
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..template.clone()
        })
        .collect();
    if let Some(amount) = d.guarantee.as_mut().and_then(|g| g.amount.as_mut()) {
        // The duties at risk grow with the goods: cover several items' worth.
        amount.amount_minor = amount.amount_minor.max(100_000_000);
    }
    c.seals = corridor_proto::seal_checks(bill);
    c
}
