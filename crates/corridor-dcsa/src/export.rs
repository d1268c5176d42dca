//! A corridor bill of lading written as a DCSA transport document.
//!
//! An imported bill gives back the document it was made from; a bill made from corridor
//! data gets a generated one, valid against the DCSA schema, with the [`crate::extension`]
//! property holding what DCSA has no field for. Either way each consignment declared with the
//! bill is added to the document's `customsReferences`.

use corridor_core::document::{
    BillOfLading, BillOfLadingType, CarrierCodeListProvider, FreightPaymentTerm, Party, SealSource,
    TransportMode, UnixMicros,
};
use corridor_core::{CountryCode, Digest, Money};
use serde_json::{Map, Value, json};

use crate::extension::{self, Extension, Leg};
use crate::import::{CODE_LIST_PROVIDER, OPERATOR_CODE_LIST};
use crate::{Violation, schema};

/// `customsReferences[].type` of the reference corridor adds for each consignment declared
/// with the bill; its `values` are the consignment id's 64 hex digits in two halves of 32
/// (DCSA takes at most 35 characters per value).
pub const CUSTOMS_REFERENCE_TYPE: &str = "CORRIDOR";

/// Who to contact about a generated document (DCSA `partyContactDetails`, which a bill made
/// from corridor data does not hold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Name, at most 35 characters.
    pub name: String,
    /// Email address; this or `phone`.
    pub email: Option<String>,
    /// Phone number; this or `email`.
    pub phone: Option<String>,
}

/// A consignment declared with the bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// The consignment id (the declaration's document id).
    pub consignment_id: Digest,
    /// The country it was declared in for export (the first of its route).
    pub export_country: CountryCode,
}

/// Why a bill cannot be written as a DCSA transport document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A generated document needs a contact.
    #[error(
        "a DCSA transport document names a contact (partyContactDetails), which this bill does not hold: give a contact name and an email or phone"
    )]
    NeedsContact,
    /// What the bill lacks for DCSA, by the field of the document.
    #[error("{pointer}: {reason}")]
    Lacks {
        /// JSON pointer of the document field.
        pointer: String,
        /// What is missing.
        reason: String,
    },
    /// The generated document fails the DCSA schema (a value past one of DCSA's limits).
    #[error("the bill does not fit a DCSA transport document:\n{}", crate::lines(.0))]
    Invalid(Vec<Violation>),
    /// A kept document that cannot be read back (never for a bill that passed its checks).
    #[error("the bill's kept transport document cannot be read: {0}")]
    Kept(String),
}

/// The DCSA transport document of `bill`, with a customs reference for each of `declared`.
/// `contact` is used only for a bill made from corridor data, and required then.
pub fn export(
    bill: &BillOfLading,
    declared: &[Declared],
    contact: Option<&Contact>,
) -> Result<Value, ExportError> {
    let mut doc = match &bill.transport_document {
        Some(kept) => serde_json::from_str(kept.canonical_json())
            .map_err(|e| ExportError::Kept(e.to_string()))?,
        None => generate(bill, contact.ok_or(ExportError::NeedsContact)?)?,
    };
    add_references(&mut doc, declared);
    schema::validate(&doc).map_err(ExportError::Invalid)?;
    Ok(doc)
}

/// The RFC 8785 canonical form of a document.
pub fn canonical(doc: &Value) -> String {
    crate::read::canonical_json(doc).unwrap_or_else(|_| doc.to_string())
}

fn add_references(doc: &mut Value, declared: &[Declared]) {
    if declared.is_empty() {
        return;
    }
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    let refs = obj
        .entry("customsReferences")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(refs) = refs.as_array_mut() else {
        return;
    };
    for d in declared {
        let hex = d.consignment_id.to_hex();
        let entry = json!({
            "type": CUSTOMS_REFERENCE_TYPE,
            "countryCode": d.export_country.as_str(),
            "values": [&hex[..32], &hex[32..]],
        });
        if !refs.contains(&entry) {
            refs.push(entry);
        }
    }
}

/// The first instant RFC 3339 cannot write (year 10000), in microseconds.
const YEAR_10000_MICROS: UnixMicros = 253_402_300_800_000_000;

fn generate(bill: &BillOfLading, contact: &Contact) -> Result<Value, ExportError> {
    let times = std::iter::once(("/issueDate".to_owned(), bill.issued_at_unix_micros)).chain(
        bill.transport_legs.iter().enumerate().flat_map(|(i, l)| {
            let at = format!("/{}/transportLegs/{i}", extension::PROPERTY);
            [
                (
                    format!("{at}/plannedDeparture"),
                    l.planned_departure_unix_micros,
                ),
                (
                    format!("{at}/plannedArrival"),
                    l.planned_arrival_unix_micros,
                ),
            ]
        }),
    );
    for (pointer, t) in times {
        if !(0..YEAR_10000_MICROS).contains(&t) {
            return Err(ExportError::Lacks {
                pointer,
                reason: format!(
                    "{t} µs since 1970 is not a time RFC 3339 can write (years 1970 to 9999)"
                ),
            });
        }
    }
    let Some(carrier_code) = &bill.carrier_code else {
        return Err(ExportError::Lacks {
            pointer: "/carrierCode".into(),
            reason: "DCSA requires the carrier's code, which this bill does not state".into(),
        });
    };
    let issue_date = date(bill.issued_at_unix_micros);
    let mut td = Map::new();
    let mut put = |k: &str, v: Value| {
        td.insert(k.to_owned(), v);
    };
    put(
        "transportDocumentReference",
        json!(bill.transport_document_reference.as_str()),
    );
    put("transportDocumentStatus", json!("ISSUED"));
    put(
        "transportDocumentTypeCode",
        json!(if bill.sea_waybill { "SWB" } else { "BOL" }),
    );
    let on_board = bill.bill_of_lading_type == BillOfLadingType::ShippedOnBoard;
    put("isShippedOnBoardType", json!(on_board));
    if let Some(term) = bill.freight_payment_term {
        let code = match term {
            FreightPaymentTerm::Prepaid => "PRE",
            FreightPaymentTerm::Collect => "COL",
        };
        put("freightPaymentTermCode", json!(code));
    }
    put("isElectronic", json!(true));
    put("isToOrder", json!(bill.to_order));
    put("issueDate", json!(issue_date));
    let dated = if on_board {
        "shippedOnBoardDate"
    } else {
        "receivedForShipmentDate"
    };
    put(dated, json!(issue_date));
    put(
        "termsAndConditions",
        json!(format!(
            "Carried under the conditions of carriage of {}. Generated by corridor from its \
             electronic bill of lading {}.",
            bill.carrier.legal_name.as_str(),
            bill.transport_document_reference.as_str()
        )),
    );
    put("receiptTypeAtOrigin", json!("CY"));
    put("deliveryTypeAtDestination", json!("CY"));
    put("cargoMovementTypeAtOrigin", json!("FCL"));
    put("cargoMovementTypeAtDestination", json!("FCL"));
    put("carrierCode", json!(carrier_code.as_str()));
    put(
        "carrierCodeListProvider",
        json!(
            bill.carrier_code_list_provider
                .unwrap_or(CarrierCodeListProvider::Nmfta)
                .name()
        ),
    );
    if let Some(v) = &bill.declared_value {
        put("declaredValue", json!(major_units(v)));
        put("declaredValueCurrency", json!(v.currency().as_str()));
    }
    put("transports", transports(bill));
    let payable_at = match bill.freight_payment_term {
        Some(FreightPaymentTerm::Collect) => bill.delivery_location(),
        _ => &bill.place_of_loading,
    };
    put(
        "invoicePayableAt",
        json!({"UNLocationCode": payable_at.as_str()}),
    );
    let mut person = Map::new();
    person.insert("name".into(), json!(contact.name));
    if let Some(e) = &contact.email {
        person.insert("email".into(), json!(e));
    }
    if let Some(p) = &contact.phone {
        person.insert("phone".into(), json!(p));
    }
    put("partyContactDetails", json!([person]));
    let mut parties = Map::new();
    parties.insert("shipper".into(), party(&bill.shipper));
    if let Some(c) = &bill.consignee {
        parties.insert("consignee".into(), party(c));
    }
    parties.insert("issuingParty".into(), party(&bill.carrier));
    if let Some(n) = &bill.notify_party {
        let mut p = party_fields(n.legal_name.as_str(), &n.address);
        if let Some(id) = &n.operator_id {
            p.insert("identifyingCodes".into(), identifying_codes(id.as_str()));
        }
        parties.insert("notifyParties".into(), json!([p]));
    }
    put("documentParties", Value::Object(parties));
    let items = bill
        .consignment_items
        .iter()
        .enumerate()
        .map(|(i, item)| consignment_item(bill, i, item))
        .collect::<Result<Vec<_>, _>>()?;
    put("consignmentItems", Value::Array(items));
    let equipment = bill
        .equipment
        .iter()
        .map(|e| {
            let mut eq = Map::new();
            eq.insert(
                "equipmentReference".into(),
                json!(e.container_number.as_str()),
            );
            eq.insert(
                "ISOEquipmentCode".into(),
                json!(e.iso_equipment_code.as_str()),
            );
            if let Some(t) = e.tare_weight_grams {
                eq.insert("tareWeight".into(), kilograms(t.get()));
            }
            let seals: Vec<Value> = e
                .seals
                .iter()
                .map(|s| {
                    let mut seal = Map::new();
                    seal.insert("number".into(), json!(s.number.as_str()));
                    if let Some(source) = s.source {
                        seal.insert("source".into(), json!(seal_source(source)));
                    }
                    Value::Object(seal)
                })
                .collect();
            json!({"equipment": eq, "isShipperOwned": false, "seals": seals})
        })
        .collect();
    put("utilizedTransportEquipments", Value::Array(equipment));
    put(extension::PROPERTY, extension_of(bill));
    Ok(Value::Object(td))
}

fn transports(bill: &BillOfLading) -> Value {
    let legs = &bill.transport_legs;
    let departure = legs.first().map_or(bill.issued_at_unix_micros, |l| {
        l.planned_departure_unix_micros
    });
    let arrival = legs
        .last()
        .map_or(departure, |l| l.planned_arrival_unix_micros);
    let voyages: Vec<Value> = legs
        .iter()
        .map(|l| {
            json!({
                "vesselName": l.transport_name.as_ref().map_or_else(
                    || format!("unnamed {}", l.mode.name()),
                    |n| n.as_str().to_owned(),
                ),
                "carrierExportVoyageNumber": l.transport_number.as_ref().map_or("none", |n| n.as_str()),
            })
        })
        .collect();
    let mut t = Map::new();
    t.insert("plannedDepartureDate".into(), json!(date(departure)));
    t.insert("plannedArrivalDate".into(), json!(date(arrival)));
    if let Some(p) = &bill.place_of_receipt {
        t.insert(
            "placeOfReceipt".into(),
            json!({"UNLocationCode": p.as_str()}),
        );
    }
    t.insert(
        "portOfLoading".into(),
        json!({"UNLocationCode": bill.place_of_loading.as_str()}),
    );
    t.insert(
        "portOfDischarge".into(),
        json!({"UNLocationCode": bill.place_of_discharge.as_str()}),
    );
    if let Some(p) = &bill.place_of_delivery {
        t.insert(
            "placeOfDelivery".into(),
            json!({"UNLocationCode": p.as_str()}),
        );
    }
    t.insert("vesselVoyages".into(), Value::Array(voyages));
    Value::Object(t)
}

fn consignment_item(
    bill: &BillOfLading,
    i: usize,
    item: &corridor_core::document::ConsignmentItem,
) -> Result<Value, ExportError> {
    let containers = &item.container_numbers;
    if containers.is_empty() {
        return Err(ExportError::Lacks {
            pointer: format!("/consignmentItems/{i}/cargoItems"),
            reason: "DCSA carries goods in equipment: this item names no container".into(),
        });
    }
    // One cargo item per container; the packages and the weight are shared out, the first
    // container taking what does not divide, so that they add up to the item's again.
    let k = containers.len() as u64;
    let (packages, grams) = (
        u64::from(item.number_of_packages.get()),
        item.gross_weight_grams.get(),
    );
    if packages < k || grams < k {
        return Err(ExportError::Lacks {
            pointer: format!("/consignmentItems/{i}/cargoItems"),
            reason: format!(
                "DCSA puts at least one package and some weight in each cargo item: this item's \
                 {packages} packages and {grams} g cannot be shared among its {k} containers"
            ),
        });
    }
    let cargo: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let first = j == 0;
            let share = |total: u64| total / k + if first { total % k } else { 0 };
            json!({
                "equipmentReference": c.as_str(),
                "cargoGrossWeight": kilograms(share(grams)),
                "outerPackaging": {
                    "packageCode": item.package_type.as_str(),
                    "numberOfPackages": share(packages),
                    "description": item.package_type.as_str(),
                },
            })
        })
        .collect();
    Ok(json!({
        "carrierBookingReference": bill.transport_document_reference.as_str(),
        "descriptionOfGoods": wrap(item.description_of_goods.as_str(), 35),
        "HSCodes": [item.hs_code.as_str()],
        "cargoItems": cargo,
    }))
}

fn extension_of(bill: &BillOfLading) -> Value {
    let ext = Extension {
        issued_at: Some(time(bill.issued_at_unix_micros)),
        transport_legs: Some(
            bill.transport_legs
                .iter()
                .map(|l| Leg {
                    mode: mode(l.mode).into(),
                    carrier_operator_id: l.carrier_operator_id.as_ref().map(ToString::to_string),
                    transport_name: l.transport_name.as_ref().map(ToString::to_string),
                    transport_number: l.transport_number.as_ref().map(ToString::to_string),
                    from: l.from_location.to_string(),
                    to: l.to_location.to_string(),
                    planned_departure: time(l.planned_departure_unix_micros),
                    planned_arrival: time(l.planned_arrival_unix_micros),
                })
                .collect(),
        ),
        consignment_items: Some(
            bill.consignment_items
                .iter()
                .map(|i| extension::Item {
                    declared_value: i.declared_value.as_ref().map(|m| extension::Money {
                        currency: m.currency().to_string(),
                        amount_minor: m.minor_units(),
                    }),
                    origin_country: i.origin_country.as_ref().map(ToString::to_string),
                })
                .collect(),
        ),
    };
    serde_json::to_value(ext).unwrap_or_default()
}

fn party(p: &Party) -> Value {
    let mut m = party_fields(p.legal_name.as_str(), &p.address);
    m.insert(
        "identifyingCodes".into(),
        identifying_codes(p.operator_id.as_str()),
    );
    Value::Object(m)
}

fn party_fields(name: &str, a: &corridor_core::document::Address) -> Map<String, Value> {
    let mut address = Map::new();
    address.insert("street".into(), json!(a.street.as_str()));
    if let Some(p) = &a.postal_code {
        address.insert("postCode".into(), json!(p.as_str()));
    }
    address.insert("city".into(), json!(a.city.as_str()));
    address.insert("countryCode".into(), json!(a.country_code.as_str()));
    let mut m = Map::new();
    m.insert("partyName".into(), json!(name));
    m.insert("address".into(), Value::Object(address));
    m
}

fn identifying_codes(operator_id: &str) -> Value {
    json!([{
        "codeListProvider": CODE_LIST_PROVIDER,
        "partyCode": operator_id,
        "codeListName": OPERATOR_CODE_LIST,
    }])
}

fn seal_source(s: SealSource) -> &'static str {
    match s {
        SealSource::Carrier => "CAR",
        SealSource::Shipper => "SHI",
        SealSource::Customs => "CUS",
        SealSource::Veterinary => "VET",
    }
}

/// The mode's name in the extension: as in the proto enum, `INLAND_WATER`.
fn mode(m: TransportMode) -> &'static str {
    match m {
        TransportMode::Rail => "RAIL",
        TransportMode::Road => "ROAD",
        TransportMode::Sea => "SEA",
        TransportMode::Ferry => "FERRY",
        TransportMode::InlandWater => "INLAND_WATER",
        TransportMode::Air => "AIR",
    }
}

fn kilograms(grams: u64) -> Value {
    json!({"value": grams as f64 / 1000.0, "unit": "KGM"})
}

fn major_units(m: &Money) -> f64 {
    m.minor_units() as f64 / 10f64.powi(i32::from(m.currency().exponent()))
}

/// Words of `text` in lines of at most `width` characters (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn time(t: UnixMicros) -> String {
    let t = t.clamp(0, YEAR_10000_MICROS - 1);
    let st = std::time::UNIX_EPOCH + std::time::Duration::from_micros(t as u64);
    humantime::format_rfc3339_micros(st).to_string()
}

fn date(t: UnixMicros) -> String {
    time(t)[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_wrap_at_spaces_into_dcsa_lines() {
        assert_eq!(
            wrap("Portable laptop computers", 35),
            ["Portable laptop computers"]
        );
        assert_eq!(
            wrap("Lithium-ion accumulators for energy storage", 35),
            ["Lithium-ion accumulators for energy", "storage"]
        );
        assert_eq!(wrap(&"x".repeat(40), 35), ["x".repeat(35), "x".repeat(5)]);
        assert_eq!(wrap("a  b", 35), ["a b"]);
    }

    #[test]
    fn dates_and_times_are_utc() {
        assert_eq!(time(1_764_316_800_000_000), "2025-11-28T08:00:00.000000Z");
        assert_eq!(date(1_764_316_800_000_000), "2025-11-28");
    }
}
