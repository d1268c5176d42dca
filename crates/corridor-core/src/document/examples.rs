//! Sample documents of one Middle Corridor consignment, for tests and the demo: two
//! containers of batteries and laptops from Xi'an to Istanbul, by rail to Aktau, by ferry
//! across the Caspian Sea to Baku (Alat), and by rail over the Baku-Tbilisi-Kars line on to
//! Istanbul.
//!
//! Every value here is valid and the documents fit each other: the declaration's items are
//! in the bill's containers, its route starts where the bill loads and ends where it
//! delivers. Operator ids, names and references are made up. The place codes have the
//! UN/LOCODE form; `CNXIY` (Xi'an), `AZBAK` (Baku) and `TRIST` (Istanbul) are the listed
//! codes of those places, the others (Aktau `KZAAU`, the border posts) stand in for
//! theirs. The route's border posts are those `deploy/corridor.toml` lists, crossed as it
//! says (Khorgos `CNKHG` exit; Altynkol `KZKGS` entry, Aktau `KZAAU` exit; Alat `AZBAK`
//! entry, Beyuk-Kesik `AZBKS` exit; Kars `TRKSY` entry), as a customs node requires.
//! Georgia, which the railway crosses between Azerbaijan and Turkey, is not on the declared
//! route, as in the four-country demo topology.

use std::num::{NonZeroU32, NonZeroU64};

use crate::codes::{
    CarrierCode, ContainerNumber, CountryCode, Currency, HsCode, IsoEquipmentCode, Money,
    OperatorId, PackageType, UnLocode,
};
use crate::digest::Digest;
use crate::document::{
    Address, BillOfLading, BillOfLadingParts, BillOfLadingType, ConsignmentItem, Declaration,
    DeclarationParts, DeclarationRole, DeclaredItem, DeclaredItemParts, Equipment,
    FreightPaymentTerm, Guarantee, NotifyParty, Party, RouteStep, RouteStepParts, Seal, SealSource,
    Text, TransferEntry, TransportLeg, TransportLegParts, TransportMeans, TransportMode,
    UnixMicros,
};

/// Operator id of the shipper, a manufacturer in Xi'an: first holder of the bill.
pub const SHIPPER_ID: &str = "CN91610131XSRM01";
/// Operator id of the carrier, a Kazakh rail operator: issues and signs the bill.
pub const CARRIER_ID: &str = "KZ050940001234";
/// Operator id of the consignee, an importer in Istanbul.
pub const CONSIGNEE_ID: &str = "TR3810234567";
/// Operator id of the forwarder: lodges the declaration for the shipper.
pub const FORWARDER_ID: &str = "KZ180340009876";
/// Operator id of the Caspian ferry line running the second leg.
pub const FERRY_CARRIER_ID: &str = "AZ9900003611";
/// Operator id of the railway running the last leg into Turkey.
pub const TR_RAIL_CARRIER_ID: &str = "TR8590422939";
/// When the sample bill is issued: 2026-03-02 08:00 UTC.
pub const ISSUED_AT: UnixMicros = 1_772_438_400_000_000;

const HOUR: UnixMicros = 3_600_000_000;
const DAY: UnixMicros = 24 * HOUR;

fn text(s: &str) -> Text {
    Text::parse("example", s).expect("example text is valid")
}

fn op(s: &str) -> OperatorId {
    OperatorId::parse("example", s).expect("example operator id is valid")
}

fn country(s: &str) -> CountryCode {
    CountryCode::parse("example", s).expect("example country is valid")
}

fn locode(s: &str) -> UnLocode {
    UnLocode::parse("example", s).expect("example UN/LOCODE is valid")
}

fn container(s: &str) -> ContainerNumber {
    ContainerNumber::parse("example", s).expect("example container number is valid")
}

fn usd(cents: u64) -> Money {
    Money::new(
        Currency::parse("example", "USD").expect("USD is a currency"),
        cents,
    )
}

fn grams(g: u64) -> NonZeroU64 {
    NonZeroU64::new(g).expect("example weight is not zero")
}

fn packages(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("example package count is not zero")
}

fn address(street: &str, city: &str, postal: &str, cc: &str) -> Address {
    Address {
        street: text(street),
        city: text(city),
        postal_code: Some(text(postal)),
        country_code: country(cc),
    }
}

/// Container of the batteries (a 40 ft high cube).
const BATTERY_CONTAINER: &str = "KTZU1000017";
/// Container of the laptops (a 40 ft general purpose).
const LAPTOP_CONTAINER: &str = "KTZU1000022";

fn leg(parts: TransportLegParts) -> TransportLeg {
    TransportLeg::new(parts).expect("example leg is valid")
}

/// A valid straight bill of lading, reference `KTZE-2026-000123`, issued by [`CARRIER_ID`]
/// at [`ISSUED_AT`] to [`SHIPPER_ID`] for [`CONSIGNEE_ID`]: two items in two containers,
/// three legs Xi'an (`CNXIY`) -> Aktau (`KZAAU`) by rail, -> Baku (`AZBAK`) by ferry,
/// -> Istanbul (`TRIST`) by rail.
pub fn sample_bill_of_lading() -> BillOfLading {
    bill_of_lading_at("KTZE-2026-000123", ISSUED_AT)
}

/// [`sample_bill_of_lading`] with another reference, issued at `issued_at` (every planned
/// time moves with it): a fresh bill for each consignment of a test or the demo.
pub fn bill_of_lading_at(reference: &str, issued_at: UnixMicros) -> BillOfLading {
    let parts = BillOfLadingParts {
        transport_document_reference: text(reference),
        sea_waybill: false,
        issued_at_unix_micros: issued_at,
        bill_of_lading_type: BillOfLadingType::ShippedOnBoard,
        freight_payment_term: Some(FreightPaymentTerm::Prepaid),
        shipper: Party {
            operator_id: op(SHIPPER_ID),
            legal_name: text("Xi'an Silk Road Machinery Co., Ltd."),
            address: address("88 Gangwu Avenue, Chanba District", "Xi'an", "710026", "CN"),
        },
        consignee: Some(Party {
            operator_id: op(CONSIGNEE_ID),
            legal_name: text("Anadolu Teknoloji Ithalat A.S."),
            address: address("Buyukdere Caddesi 185, Levent", "Istanbul", "34394", "TR"),
        }),
        to_order: false,
        notify_party: Some(NotifyParty {
            operator_id: None,
            legal_name: text("Bosphorus Customs Brokerage Ltd."),
            address: address("Halkali Gumruk Mudurlugu Yani 3", "Istanbul", "34303", "TR"),
        }),
        carrier: Party {
            operator_id: op(CARRIER_ID),
            legal_name: text("KTZ Express JSC"),
            address: address("Kunayev Street 10", "Astana", "010000", "KZ"),
        },
        carrier_code: Some(CarrierCode::parse("example", "KTZE").expect("valid code")),
        carrier_code_list_provider: None,
        place_of_receipt: None,
        place_of_loading: locode("CNXIY"),
        place_of_discharge: locode("TRIST"),
        place_of_delivery: None,
        consignment_items: vec![
            ConsignmentItem {
                hs_code: HsCode::parse("example", "8507600000").expect("valid HS code"),
                description_of_goods: text("Lithium-ion accumulators for energy storage"),
                number_of_packages: packages(40),
                package_type: PackageType::parse("example", "PX").expect("valid type"),
                gross_weight_grams: grams(18_400_000),
                declared_value: Some(usd(26_400_000)),
                origin_country: Some(country("CN")),
                container_numbers: vec![container(BATTERY_CONTAINER)],
            },
            ConsignmentItem {
                hs_code: HsCode::parse("example", "8471300000").expect("valid HS code"),
                description_of_goods: text("Portable laptop computers"),
                number_of_packages: packages(1_200),
                package_type: PackageType::parse("example", "CT").expect("valid type"),
                gross_weight_grams: grams(9_600_000),
                declared_value: Some(usd(48_000_000)),
                origin_country: Some(country("CN")),
                container_numbers: vec![container(LAPTOP_CONTAINER)],
            },
        ],
        equipment: vec![
            Equipment {
                container_number: container(BATTERY_CONTAINER),
                iso_equipment_code: IsoEquipmentCode::parse("example", "45G1").expect("valid code"),
                tare_weight_grams: Some(grams(3_900_000)),
                seals: vec![
                    Seal {
                        number: text("KTZ0457812"),
                        source: Some(SealSource::Carrier),
                    },
                    Seal {
                        number: text("CN61-2026-77120"),
                        source: Some(SealSource::Customs),
                    },
                ],
            },
            Equipment {
                container_number: container(LAPTOP_CONTAINER),
                iso_equipment_code: IsoEquipmentCode::parse("example", "42G1").expect("valid code"),
                tare_weight_grams: Some(grams(3_750_000)),
                seals: vec![Seal {
                    number: text("KTZ0457813"),
                    source: None,
                }],
            },
        ],
        transport_legs: vec![
            leg(TransportLegParts {
                mode: TransportMode::Rail,
                carrier_operator_id: None,
                transport_name: Some(text("Chang'an container train")),
                transport_number: Some(text("X8024")),
                from_location: locode("CNXIY"),
                to_location: locode("KZAAU"),
                planned_departure_unix_micros: issued_at + 2 * HOUR,
                planned_arrival_unix_micros: issued_at + 6 * DAY,
            }),
            leg(TransportLegParts {
                mode: TransportMode::Ferry,
                carrier_operator_id: Some(op(FERRY_CARRIER_ID)),
                transport_name: Some(text("Barda")),
                transport_number: Some(text("BRD-0326")),
                from_location: locode("KZAAU"),
                to_location: locode("AZBAK"),
                planned_departure_unix_micros: issued_at + 6 * DAY + 12 * HOUR,
                planned_arrival_unix_micros: issued_at + 7 * DAY + 12 * HOUR,
            }),
            leg(TransportLegParts {
                mode: TransportMode::Rail,
                carrier_operator_id: Some(op(TR_RAIL_CARRIER_ID)),
                transport_name: Some(text("Baku-Tbilisi-Kars block train")),
                transport_number: None,
                from_location: locode("AZBAK"),
                to_location: locode("TRIST"),
                planned_departure_unix_micros: issued_at + 8 * DAY,
                planned_arrival_unix_micros: issued_at + 12 * DAY,
            }),
        ],
        declared_value: None,
        transport_document: None,
    };
    BillOfLading::new(parts).expect("the sample bill of lading is valid")
}

fn step(
    cc: &str,
    role: DeclarationRole,
    entry: Option<&str>,
    exit: Option<&str>,
    arrival: UnixMicros,
    means: TransportMeans,
) -> RouteStep {
    RouteStep::new(RouteStepParts {
        country: country(cc),
        role,
        entry_border_post: entry.map(locode),
        exit_border_post: exit.map(locode),
        planned_arrival_unix_micros: arrival,
        border_transport_means: means,
    })
    .expect("example route step is valid")
}

fn means(mode: TransportMode, id: &str, nationality: Option<&str>) -> TransportMeans {
    TransportMeans {
        mode,
        identification: text(id),
        nationality: nationality.map(country),
    }
}

/// A valid declaration `SRM-2026-0001` of the goods of [`sample_bill_of_lading`], whose
/// document id is `bill_id`, lodged by [`FORWARDER_ID`] for [`SHIPPER_ID`]: export from CN,
/// transit through KZ and AZ, import into TR, under a USD 150,000 TIR guarantee.
pub fn sample_declaration(bill_id: Digest) -> Declaration {
    declaration_at(bill_id, "SRM-2026-0001", ISSUED_AT)
}

/// [`sample_declaration`] of bill `bill_id` (from [`bill_of_lading_at`] with the same
/// `issued_at`), with another reference: made when the bill was issued (a declaration is
/// dated when it is made, and a node takes it only within minutes of its own clock).
pub fn declaration_at(bill_id: Digest, reference: &str, issued_at: UnixMicros) -> Declaration {
    let train = || means(TransportMode::Rail, "X8024", None);
    let item = |parts: DeclaredItemParts| {
        DeclaredItem::new(parts).expect("example declared item is valid")
    };
    let parts = DeclarationParts {
        declaration_reference: text(reference),
        bill_of_lading_id: bill_id,
        declarant_operator_id: op(FORWARDER_ID),
        holder_operator_id: op(SHIPPER_ID),
        route: vec![
            step(
                "CN",
                DeclarationRole::Export,
                None,
                Some("CNKHG"),
                issued_at + HOUR,
                train(),
            ),
            step(
                "KZ",
                DeclarationRole::Transit,
                Some("KZKGS"),
                Some("KZAAU"),
                issued_at + 3 * DAY,
                train(),
            ),
            step(
                "AZ",
                DeclarationRole::Transit,
                Some("AZBAK"),
                Some("AZBKS"),
                issued_at + 7 * DAY + 12 * HOUR,
                means(TransportMode::Ferry, "Barda", Some("AZ")),
            ),
            step(
                "TR",
                DeclarationRole::Import,
                Some("TRKSY"),
                None,
                issued_at + 10 * DAY,
                means(TransportMode::Rail, "Baku-Tbilisi-Kars block train", None),
            ),
        ],
        items: vec![
            item(DeclaredItemParts {
                hs_code: HsCode::parse("example", "8507600000").expect("valid HS code"),
                description_of_goods: text("Lithium-ion accumulators for energy storage"),
                number_of_packages: packages(40),
                package_type: PackageType::parse("example", "PX").expect("valid type"),
                gross_weight_grams: grams(18_400_000),
                net_weight_grams: grams(17_200_000),
                customs_value: usd(26_400_000),
                origin_country: country("CN"),
                container_numbers: vec![container(BATTERY_CONTAINER)],
            }),
            item(DeclaredItemParts {
                hs_code: HsCode::parse("example", "8471300000").expect("valid HS code"),
                description_of_goods: text("Portable laptop computers"),
                number_of_packages: packages(1_200),
                package_type: PackageType::parse("example", "CT").expect("valid type"),
                gross_weight_grams: grams(9_600_000),
                net_weight_grams: grams(8_400_000),
                customs_value: usd(48_000_000),
                origin_country: country("CN"),
                container_numbers: vec![container(LAPTOP_CONTAINER)],
            }),
        ],
        guarantee: Guarantee {
            reference: text("TIR XC73912345"),
            amount: usd(15_000_000),
            guarantor_name: text("KazATO, Kazakhstan's TIR guaranteeing association"),
        },
        created_at_unix_micros: issued_at,
    };
    Declaration::new(parts).expect("the sample declaration is valid")
}

/// The ISSUE entry of the sample bill (document id `bill_id`): [`CARRIER_ID`] issues it to
/// [`SHIPPER_ID`] at [`ISSUED_AT`].
pub fn sample_issue(bill_id: Digest) -> TransferEntry {
    TransferEntry::issue(bill_id, op(CARRIER_ID), op(SHIPPER_ID), ISSUED_AT)
        .expect("the sample issue entry is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_valid_and_fit_each_other() {
        let bill = sample_bill_of_lading();
        let id = Digest::of(b"payload of the bill");
        let declaration = sample_declaration(id);
        assert_eq!(declaration.bill_of_lading_id, id);
        declaration
            .check_against_bill(&bill)
            .expect("the declaration fits the bill");
        sample_issue(id)
            .check_against_bill(&bill)
            .expect("the issue fits the bill");
        let modes: Vec<&str> = bill.transport_legs.iter().map(|l| l.mode.name()).collect();
        assert_eq!(modes, ["rail", "ferry", "rail"]);
    }
}
