//! The test documents of `testdata/`: each is read, mapped to a corridor bill and given
//! back unchanged; a bill made from corridor data goes out as a valid DCSA document and
//! comes back as the same bill; and the documents corridor cannot take are refused with the
//! field and the reason.

use std::path::PathBuf;

use corridor_core::document::examples::{
    CARRIER_ID, CONSIGNEE_ID, FERRY_CARRIER_ID, FORWARDER_ID, SHIPPER_ID, TR_RAIL_CARRIER_ID,
    sample_bill_of_lading,
};
use corridor_core::document::{BillOfLading, CarrierCodeListProvider, SealSource, TransportMode};
use corridor_core::{AeoId, CountryCode, Digest, OperatorId};
use corridor_dcsa::export::{Declared, canonical};
use corridor_dcsa::{Contact, DcsaError, ExportError, Parties, TransportDocument, export, import};
use serde_json::{Value, json};

const FILES: [&str; 5] = [
    "straight-bill",
    "to-order-bill",
    "sea-waybill",
    "dangerous-goods",
    "several-items-and-containers",
];

/// The registry of the tests: the sample operators, and one AEO certificate of the shipper.
struct Registry;

const SHIPPER_AEO: &str = "AEOCN0000000001";

impl Parties for Registry {
    fn is_operator(&self, id: &OperatorId) -> bool {
        [
            SHIPPER_ID,
            CARRIER_ID,
            CONSIGNEE_ID,
            FORWARDER_ID,
            FERRY_CARRIER_ID,
            TR_RAIL_CARRIER_ID,
        ]
        .contains(&id.as_str())
    }
    fn aeo_holder(&self, id: &AeoId) -> Option<OperatorId> {
        (id.as_str() == SHIPPER_AEO).then(|| OperatorId::parse("o", SHIPPER_ID).expect("id"))
    }
}

fn text(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn value(name: &str) -> Value {
    serde_json::from_str(&text(name)).expect("JSON")
}

fn read(v: &Value) -> Result<BillOfLading, DcsaError> {
    import(&TransportDocument::read(&v.to_string())?, &Registry)
}

fn unfit(v: &Value) -> (String, String) {
    match read(v) {
        Err(DcsaError::Unfit { pointer, reason }) => (pointer, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn contact() -> Contact {
    Contact {
        name: "KTZE documentation".into(),
        email: Some("documentation@ktze.example.kz".into()),
        phone: None,
    }
}

#[test]
fn every_test_document_is_imported_and_given_back_unchanged() {
    for name in FILES {
        let original = value(name);
        let bill = read(&original).unwrap_or_else(|e| panic!("{name}: {e}"));
        let kept = bill
            .transport_document
            .as_ref()
            .expect("the document is kept");
        assert_eq!(kept.canonical_json(), canonical(&original), "{name}");
        assert_eq!(kept.checksum(), Digest::of(canonical(&original).as_bytes()));
        let back = export(&bill, &[], None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(canonical(&back), canonical(&original), "{name}");
    }
}

#[test]
fn each_document_maps_to_the_bill_it_describes() {
    let straight = read(&value("straight-bill")).expect("straight");
    assert!(!straight.to_order && !straight.sea_waybill);
    assert_eq!(straight.shipper.operator_id.as_str(), SHIPPER_ID);
    assert_eq!(straight.carrier.operator_id.as_str(), CARRIER_ID);
    assert_eq!(
        straight.consignee.as_ref().map(|c| c.operator_id.as_str()),
        Some(CONSIGNEE_ID)
    );
    assert_eq!(straight.shipper.address.street.as_str(), "Gangwu Avenue 88");
    assert_eq!(
        straight.carrier_code_list_provider,
        Some(CarrierCodeListProvider::Nmfta)
    );
    // Without the corridor property: one leg, by sea, from the start of the planned dates.
    let [leg] = straight.transport_legs.as_slice() else {
        panic!("one leg")
    };
    assert_eq!(leg.mode, TransportMode::Sea);
    assert_eq!(
        leg.transport_number.as_ref().map(|t| t.as_str()),
        Some("X8024")
    );
    assert_eq!(leg.planned_departure_unix_micros, 1_795_132_800_000_000); // 2026-11-20
    assert_eq!(straight.issued_at_unix_micros, 1_795_132_800_000_000);
    assert_eq!(
        straight.consignment_items[0].gross_weight_grams.get(),
        9_600_000
    );
    assert_eq!(straight.consignment_items[0].declared_value, None);

    let to_order = read(&value("to-order-bill")).expect("to order");
    assert!(to_order.to_order && to_order.consignee.is_none());
    assert!(
        to_order
            .notify_party
            .as_ref()
            .is_some_and(|n| n.operator_id.is_none())
    );

    let swb = read(&value("sea-waybill")).expect("sea waybill");
    assert!(swb.sea_waybill);

    let dg = read(&value("dangerous-goods")).expect("dangerous goods");
    let seals: Vec<_> = dg.equipment[0].seals.iter().map(|s| s.source).collect();
    assert_eq!(
        seals,
        [Some(SealSource::Carrier), Some(SealSource::Customs)]
    );
    assert_eq!(dg.consignment_items[0].package_type.as_str(), "JC");

    let many = read(&value("several-items-and-containers")).expect("several");
    assert_eq!(many.consignment_items.len(), 3);
    assert_eq!(many.equipment.len(), 3);
    let first = &many.consignment_items[0];
    assert_eq!(first.container_numbers.len(), 2);
    assert_eq!(first.number_of_packages.get(), 40);
    assert_eq!(first.gross_weight_grams.get(), 18_400_000);
    assert_eq!(
        many.consignment_items[2].gross_weight_grams.get(),
        4_100_500
    );
    assert_eq!(
        many.declared_value.as_ref().map(|m| m.minor_units()),
        Some(74_400_000)
    );
    let modes: Vec<_> = many.transport_legs.iter().map(|l| l.mode).collect();
    assert_eq!(
        modes,
        [
            TransportMode::Rail,
            TransportMode::Ferry,
            TransportMode::Rail
        ]
    );
    assert_eq!(
        many.issued_at_unix_micros,
        1_795_132_800_000_000 + 6 * 3_600_000_000 + 1_800_000_000
    );
    assert_eq!(
        many.consignment_items[0].origin_country,
        Some(CountryCode::parse("c", "CN").expect("CN"))
    );
}

#[test]
fn a_party_named_by_its_aeo_certificate_is_that_operator() {
    let mut v = value("straight-bill");
    v["documentParties"]["shipper"]["identifyingCodes"] =
        json!([{"codeListProvider": "ZZZ", "codeListName": "AEO", "partyCode": SHIPPER_AEO}]);
    let bill = read(&v).expect("an AEO id the registry lists");
    assert_eq!(bill.shipper.operator_id.as_str(), SHIPPER_ID);
}

#[test]
fn a_bill_dcsa_cannot_hold_is_refused_by_its_field_not_written_invalid() {
    use std::num::NonZeroU32;
    // One package in two containers: DCSA needs a package in each cargo item.
    let mut parts = sample_bill_of_lading().into_parts();
    let two = parts.equipment[..2]
        .iter()
        .map(|e| e.container_number.clone())
        .collect();
    parts.consignment_items[0].container_numbers = two;
    parts.consignment_items[0].number_of_packages = NonZeroU32::new(1).unwrap();
    let bill = BillOfLading::new(parts).expect("a valid corridor bill");
    let e = export(&bill, &[], Some(&contact()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/consignmentItems/0/cargoItems: DCSA puts at least one package"),
        "{e}"
    );
    // A leg planned past the year 9999 has no RFC 3339 form.
    let mut parts = sample_bill_of_lading().into_parts();
    let mut leg = parts.transport_legs.pop().unwrap().into_parts();
    leg.planned_arrival_unix_micros = 260_000_000_000_000_000;
    parts
        .transport_legs
        .push(corridor_core::document::TransportLeg::new(leg).unwrap());
    let last = parts.transport_legs.len() - 1;
    let bill = BillOfLading::new(parts).expect("a valid corridor bill");
    let e = export(&bill, &[], Some(&contact()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("/corridor/transportLegs/{last}/plannedArrival: ")),
        "{e}"
    );
}

#[test]
fn a_bill_made_from_corridor_data_goes_out_valid_and_comes_back_the_same() {
    let bill = sample_bill_of_lading();
    let doc = export(&bill, &[], Some(&contact())).expect("a DCSA document");
    corridor_dcsa::schema::validate(&doc).expect("valid against the DCSA schema");
    let back = read(&doc).expect("imported again");
    let mut expected = bill.into_parts();
    // DCSA requires a code list provider: a bill stating none goes out as NMFTA's (SCAC).
    expected.carrier_code_list_provider = Some(CarrierCodeListProvider::Nmfta);
    let mut got = back.into_parts();
    assert!(got.transport_document.take().is_some());
    assert_eq!(got, expected);
}

#[test]
fn export_adds_each_declared_consignment_to_the_customs_references() {
    let bill = read(&value("straight-bill")).expect("straight");
    let id = Digest::of(b"a declaration");
    let declared = Declared {
        consignment_id: id,
        export_country: CountryCode::parse("c", "CN").expect("CN"),
    };
    let doc = export(&bill, &[declared.clone(), declared], None).expect("exported");
    let hex = id.to_hex();
    assert_eq!(
        doc["customsReferences"],
        json!([{"type": "CORRIDOR", "countryCode": "CN", "values": [&hex[..32], &hex[32..]]}])
    );
    // The rest is the original.
    let mut rest = doc.clone();
    rest.as_object_mut().map(|o| o.remove("customsReferences"));
    assert_eq!(canonical(&rest), canonical(&value("straight-bill")));
}

#[test]
fn a_generated_document_needs_a_contact_and_fits_dcsa_limits() {
    let bill = sample_bill_of_lading();
    assert_eq!(export(&bill, &[], None), Err(ExportError::NeedsContact));
    let mut parts = bill.into_parts();
    parts.equipment[1].seals.clear();
    let unsealed = BillOfLading::new(parts).expect("a corridor bill may list no seal");
    match export(&unsealed, &[], Some(&contact())) {
        Err(ExportError::Invalid(v)) => {
            assert!(
                v.iter()
                    .any(|v| v.pointer == "/utilizedTransportEquipments/1/seals"),
                "{v:?}"
            )
        }
        other => panic!("DCSA requires a seal on each container: {other:?}"),
    }
}

#[test]
fn a_document_failing_the_schema_gets_one_line_per_violation() {
    let mut v = value("straight-bill");
    v["consignmentItems"][0]["HSCodes"][0] = json!("85414");
    v.as_object_mut().map(|o| o.remove("carrierCode"));
    let Err(DcsaError::Schema(found)) = read(&v) else {
        panic!("the schema refuses it")
    };
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(
            &r#"/consignmentItems/0/HSCodes/0: "85414" is shorter than 6 characters"#.into()
        ),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&r#"/: "carrierCode" is a required property"#.into()),
        "{lines:#?}"
    );
}

type Case = (&'static str, fn(&mut Value), &'static str, &'static str);

#[test]
fn what_the_corridor_cannot_clear_is_named_by_its_field() {
    let cases: Vec<Case> = vec![
        (
            "a draft",
            |v| v["transportDocumentStatus"] = json!("DRAFT"),
            "/transportDocumentStatus",
            "issued transport document",
        ),
        (
            "a paper bill of lading",
            |v| v["isElectronic"] = json!(false),
            "/isElectronic",
            "title passes with its originals",
        ),
        (
            "two HS codes on one item",
            |v| v["consignmentItems"][0]["HSCodes"] = json!(["847130", "847141"]),
            "/consignmentItems/0/HSCodes",
            "one HS code per item",
        ),
        (
            "a place without a UN/LOCODE",
            |v| v["transports"]["portOfLoading"] = json!({"locationName": "Xi'an"}),
            "/transports/portOfLoading/UNLocationCode",
            "UN/LOCODE",
        ),
        (
            "a UN/LOCODE of no country",
            |v| v["transports"]["portOfDischarge"] = json!({"UNLocationCode": "ZZIST"}),
            "/transports/portOfDischarge/UNLocationCode",
            "ZZ",
        ),
        (
            "a shipper the registry does not know",
            |v| {
                v["documentParties"]["shipper"]["identifyingCodes"][0]["partyCode"] =
                    json!("CN91610131XXXX99")
            },
            "/documentParties/shipper/identifyingCodes/0/partyCode",
            "not in the AEO registry",
        ),
        (
            "an AEO certificate the registry does not list",
            |v| {
                v["documentParties"]["shipper"]["identifyingCodes"] = json!([
                    {"codeListProvider": "ZZZ", "codeListName": "AEO", "partyCode": "AEOCN0000000099"}
                ])
            },
            "/documentParties/shipper/identifyingCodes/0/partyCode",
            "AEOCN0000000099 is not in the AEO registry",
        ),
        (
            "a carrier without a corridor identifier",
            |v| {
                v["documentParties"]["issuingParty"]["identifyingCodes"] = json!([
                    {"codeListProvider": "GLEIF", "codeListName": "LEI", "partyCode": "2549000KTZEXPRESS001"}
                ])
            },
            "/documentParties/issuingParty/identifyingCodes",
            "the party's operator",
        ),
        (
            "a straight bill without a consignee",
            |v| {
                v["documentParties"]
                    .as_object_mut()
                    .map(|o| o.remove("consignee"));
            },
            "/documentParties/consignee",
            "names its consignee",
        ),
        (
            "a to-order bill without a notify party",
            |v| {
                v["isToOrder"] = json!(true);
                v["documentParties"]
                    .as_object_mut()
                    .map(|o| o.remove("notifyParties"));
            },
            "/documentParties/notifyParties",
            "required on a to-order bill",
        ),
        (
            "a to-order sea waybill",
            |v| {
                v["transportDocumentTypeCode"] = json!("SWB");
                v["isToOrder"] = json!(true);
            },
            "/isToOrder",
            "sea waybill",
        ),
        (
            "a container number with a wrong check digit",
            |v| {
                v["consignmentItems"][0]["cargoItems"][0]["equipmentReference"] =
                    json!("KTZU2000012")
            },
            "/consignmentItems/0/cargoItems/0/equipmentReference",
            "check digit",
        ),
        (
            "goods in a container not on the document",
            |v| {
                v["consignmentItems"][0]["cargoItems"][0]["equipmentReference"] =
                    json!("KTZU2000027")
            },
            "/consignmentItems/0/cargoItems",
            "not in the bill's equipment",
        ),
        (
            "a container without its ISO code",
            |v| {
                v["utilizedTransportEquipments"][0]["equipment"]
                    .as_object_mut()
                    .map(|o| o.remove("ISOEquipmentCode"));
            },
            "/utilizedTransportEquipments/0/equipment/ISOEquipmentCode",
            "ISO 6346",
        ),
        (
            "a cargo item without a package code",
            |v| {
                v["consignmentItems"][0]["cargoItems"][0]["outerPackaging"]
                    .as_object_mut()
                    .map(|o| o.remove("packageCode"));
            },
            "/consignmentItems/0/cargoItems/0/outerPackaging/packageCode",
            "package code",
        ),
        (
            "no issue date",
            |v| {
                v.as_object_mut().map(|o| o.remove("issueDate"));
            },
            "/issueDate",
            "date the transport document was issued",
        ),
        (
            "arrival before departure",
            |v| v["transports"]["plannedArrivalDate"] = json!("2026-11-19"),
            "/transports/plannedArrivalDate",
            "after the planned departure",
        ),
        (
            "a declared value finer than the currency's minor unit",
            |v| {
                v["declaredValue"] = json!(10.005);
                v["declaredValueCurrency"] = json!("USD");
            },
            "/declaredValue",
            "minor unit",
        ),
        (
            "a declared value without its currency",
            |v| v["declaredValue"] = json!(10),
            "/declaredValueCurrency",
            "required with declaredValue",
        ),
        (
            "a corridor property with an unknown member",
            |v| v["corridor"] = json!({"legs": []}),
            "/corridor/legs",
            "unknown field",
        ),
        (
            "a corridor leg of an unknown mode",
            |v| {
                v["corridor"] = json!({"transportLegs": [{"mode": "CAMEL", "from": "CNXIY", "to": "TRIST",
                    "plannedDeparture": "2026-11-20T08:00:00Z", "plannedArrival": "2026-12-01T08:00:00Z"}]})
            },
            "/corridor/transportLegs/0/mode",
            "CAMEL",
        ),
        (
            "corridor legs that do not reach the place of discharge",
            |v| {
                v["corridor"] = json!({"transportLegs": [{"mode": "RAIL", "from": "CNXIY", "to": "KZAAU",
                    "plannedDeparture": "2026-11-20T08:00:00Z", "plannedArrival": "2026-12-01T08:00:00Z"}]})
            },
            "/corridor/transportLegs",
            "place of discharge",
        ),
        (
            "an exact issue time on another day",
            |v| v["corridor"] = json!({"issuedAt": "2026-11-21T00:00:00Z"}),
            "/corridor/issuedAt",
            "not on the document's issueDate",
        ),
    ];
    for (what, change, pointer, phrase) in cases {
        let mut v = value("straight-bill");
        change(&mut v);
        let (got, reason) = unfit(&v);
        assert_eq!(got, pointer, "{what}: {reason}");
        assert!(
            reason.contains(phrase),
            "{what}: {reason:?} lacks {phrase:?}"
        );
    }
}

#[test]
fn a_large_or_deep_document_is_refused_before_it_is_parsed() {
    let ten_mb = format!("{{\"termsAndConditions\":\"{}\"}}", "x".repeat(10 << 20));
    assert!(matches!(
        TransportDocument::read(&ten_mb),
        Err(DcsaError::TooLarge { bytes, .. }) if bytes > 10 << 20
    ));
    let deep = format!("{}{}", "{\"a\":".repeat(10_000), "1");
    assert_eq!(
        TransportDocument::read(&deep).map(|_| ()),
        Err(DcsaError::TooDeep {
            limit: corridor_dcsa::MAX_DEPTH
        })
    );
}
