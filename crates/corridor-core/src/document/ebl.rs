//! The electronic bill of lading, in the shape of the DCSA transport document: parties,
//! places, consignment items, containers and the legs of the carriage.

use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Deref;

use crate::codes::{
    CarrierCode, ContainerNumber, CountryCode, HsCode, IsoEquipmentCode, Money, OperatorId,
    PackageType, UnLocode,
};
use crate::digest::Digest;
use crate::document::{Text, TransportMode, UnixMicros, first_duplicate, require_time};
use crate::error::ParseError;

/// A postal address.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Address {
    /// Street, number and any further lines, as printed.
    pub street: Text,
    /// City or locality.
    pub city: Text,
    /// Postal code; `None` where the country has none.
    pub postal_code: Option<Text>,
    /// Country.
    pub country_code: CountryCode,
}

/// A registered party to the bill: shipper, consignee or carrier. Title and possession
/// move between operator ids, so these parties must have one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Party {
    /// Corridor operator id.
    pub operator_id: OperatorId,
    /// Registered legal name.
    pub legal_name: Text,
    /// Registered address.
    pub address: Address,
}

/// The party to notify on arrival. Unlike the other parties it need not be a registered
/// operator (a customs broker or a bank, say).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NotifyParty {
    /// Corridor operator id, if the party is a registered operator.
    pub operator_id: Option<OperatorId>,
    /// Legal name.
    pub legal_name: Text,
    /// Address.
    pub address: Address,
}

/// Who affixed a seal (DCSA seal source).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SealSource {
    /// Affixed by the carrier.
    Carrier,
    /// Affixed by the shipper.
    Shipper,
    /// Affixed by a customs authority.
    Customs,
    /// Affixed by a veterinary authority.
    Veterinary,
}

/// A seal on a container.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Seal {
    /// Seal number as marked on the seal.
    pub number: Text,
    /// Who affixed it; `None` when the bill does not say.
    pub source: Option<SealSource>,
}

/// Who pays the freight (DCSA freight payment term).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FreightPaymentTerm {
    /// Paid by the shipper before delivery.
    Prepaid,
    /// Payable by the consignee at destination.
    Collect,
}

/// Whether the goods were on board when the bill was issued (DCSA shipped-on-board type).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BillOfLadingType {
    /// The goods were loaded on the first means of transport.
    ShippedOnBoard,
    /// The carrier has taken charge of the goods, not yet loaded.
    ReceivedForShipment,
}

/// One container used for the consignment (DCSA utilized transport equipment).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Equipment {
    /// ISO 6346 container number; unique within the bill.
    pub container_number: ContainerNumber,
    /// ISO 6346 size and type code.
    pub iso_equipment_code: IsoEquipmentCode,
    /// Tare (empty) weight of the container in grams; `None` when not stated (0 on the
    /// wire).
    pub tare_weight_grams: Option<NonZeroU64>,
    /// Seals on the container; may be empty.
    pub seals: Vec<Seal>,
}

/// One line of goods on the bill (DCSA consignment item).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConsignmentItem {
    /// HS code of the goods.
    pub hs_code: HsCode,
    /// Plain-language description of the goods.
    pub description_of_goods: Text,
    /// Number of outer packages: at least one.
    pub number_of_packages: NonZeroU32,
    /// UN/ECE Rec. 21 package type.
    pub package_type: PackageType,
    /// Gross weight, packaging included, in grams: more than zero.
    pub gross_weight_grams: NonZeroU64,
    /// Declared value of the goods; `None` when the bill does not state one (a DCSA
    /// transport document states no value per item).
    pub declared_value: Option<Money>,
    /// Country of origin of the goods; `None` when the bill does not state it (the
    /// declaration always does).
    pub origin_country: Option<CountryCode>,
    /// Containers carrying this item; each is listed in the bill's `equipment`, none twice.
    pub container_numbers: Vec<ContainerNumber>,
}

/// Who allocated a carrier's code (DCSA carrier code list provider).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CarrierCodeListProvider {
    /// The Ship Message Design Group's liner codes.
    Smdg,
    /// The National Motor Freight Traffic Association's SCAC codes.
    Nmfta,
}

impl CarrierCodeListProvider {
    /// The DCSA name: `SMDG`, `NMFTA`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Smdg => "SMDG",
            Self::Nmfta => "NMFTA",
        }
    }
}

/// A DCSA eBL 3.0 transport document the bill was made from, kept whole: its JSON in the
/// RFC 8785 canonical form, and the SHA-256 of those bytes (the checksum DCSA computes of a
/// transport document).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransportDocumentJson {
    canonical_json: String,
    checksum: Digest,
}

impl TransportDocumentJson {
    /// Longest transport document kept, in bytes of its canonical JSON.
    pub const MAX_BYTES: usize = 262_144;

    /// Keeps `canonical_json`, which the caller has put in the RFC 8785 canonical form (this
    /// crate parses no JSON). Refuses an empty or overlong text.
    pub fn new(canonical_json: String) -> Result<Self, ParseError> {
        if canonical_json.is_empty() {
            return Err(ParseError::new(
                "canonical_json",
                "required: must not be empty",
            ));
        }
        if canonical_json.len() > Self::MAX_BYTES {
            return Err(ParseError::new(
                "canonical_json",
                format!(
                    "at most {} bytes, got {}",
                    Self::MAX_BYTES,
                    canonical_json.len()
                ),
            ));
        }
        let checksum = Digest::of(canonical_json.as_bytes());
        Ok(Self {
            canonical_json,
            checksum,
        })
    }

    /// Keeps a document read back with its recorded checksum, which must be the SHA-256 of
    /// the JSON.
    pub fn with_checksum(canonical_json: String, checksum: Digest) -> Result<Self, ParseError> {
        let doc = Self::new(canonical_json)?;
        if doc.checksum != checksum {
            return Err(ParseError::new(
                "checksum",
                format!(
                    "{checksum} is not the SHA-256 of the document, {}",
                    doc.checksum
                ),
            ));
        }
        Ok(doc)
    }

    /// The document's canonical JSON.
    pub fn canonical_json(&self) -> &str {
        &self.canonical_json
    }

    /// SHA-256 of the canonical JSON.
    pub fn checksum(&self) -> Digest {
        self.checksum
    }
}

/// The parts of a [`TransportLeg`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransportLegParts {
    /// Means of transport.
    pub mode: TransportMode,
    /// Carrier running this leg; `None` when it is the bill's carrier.
    pub carrier_operator_id: Option<OperatorId>,
    /// Vessel name, train name or road vehicle registration.
    pub transport_name: Option<Text>,
    /// Voyage, train or flight number.
    pub transport_number: Option<Text>,
    /// Where the leg starts.
    pub from_location: UnLocode,
    /// Where the leg ends; not where it starts.
    pub to_location: UnLocode,
    /// Planned departure from `from_location`.
    pub planned_departure_unix_micros: UnixMicros,
    /// Planned arrival at `to_location`; after the departure.
    pub planned_arrival_unix_micros: UnixMicros,
}

/// One leg of the carriage, e.g. rail from Xi'an to Aktau. Its sequence number is its
/// position in [`BillOfLadingParts::transport_legs`] plus one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransportLeg(TransportLegParts);

impl TransportLeg {
    /// Checks a leg: it goes somewhere, at planned times that are set and in order.
    pub fn new(parts: TransportLegParts) -> Result<Self, ParseError> {
        if parts.to_location == parts.from_location {
            return Err(ParseError::new(
                "to_location",
                format!(
                    "a leg must end elsewhere than it starts ({})",
                    parts.from_location
                ),
            ));
        }
        require_time(
            "planned_departure_unix_micros",
            parts.planned_departure_unix_micros,
        )?;
        if parts.planned_arrival_unix_micros <= parts.planned_departure_unix_micros {
            return Err(ParseError::new(
                "planned_arrival_unix_micros",
                "planned arrival must be after planned departure",
            ));
        }
        Ok(Self(parts))
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> TransportLegParts {
        self.0
    }
}

impl Deref for TransportLeg {
    type Target = TransportLegParts;
    fn deref(&self) -> &TransportLegParts {
        &self.0
    }
}

/// The parts of a [`BillOfLading`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BillOfLadingParts {
    /// Carrier's reference for the document, unique per carrier (`KTZE-2026-000123`).
    pub transport_document_reference: Text,
    /// A sea waybill (DCSA `SWB`) rather than a bill of lading (`BOL`): not a document of
    /// title, so never to order.
    pub sea_waybill: bool,
    /// Time of issue.
    pub issued_at_unix_micros: UnixMicros,
    /// Shipped on board or received for shipment.
    pub bill_of_lading_type: BillOfLadingType,
    /// Who pays the freight; `None` when the bill does not say.
    pub freight_payment_term: Option<FreightPaymentTerm>,
    /// The shipper: contracts the carriage and is the first holder of the bill.
    pub shipper: Party,
    /// The named consignee of a straight bill; `None` exactly when `to_order`.
    pub consignee: Option<Party>,
    /// A "to order" bill: no named consignee, title passes by endorsement.
    pub to_order: bool,
    /// Party to notify on arrival; required when `to_order`.
    pub notify_party: Option<NotifyParty>,
    /// The carrier that issues and signs the bill.
    pub carrier: Party,
    /// Carrier's SCAC-style short code.
    pub carrier_code: Option<CarrierCode>,
    /// Who allocated `carrier_code`; only with a carrier code.
    pub carrier_code_list_provider: Option<CarrierCodeListProvider>,
    /// Where the carrier takes charge of the goods; `None` when it is the place of loading.
    pub place_of_receipt: Option<UnLocode>,
    /// Where the goods are loaded on the first means of transport: where the first leg
    /// starts.
    pub place_of_loading: UnLocode,
    /// Where the goods are unloaded from the last means of transport: where the last leg
    /// ends.
    pub place_of_discharge: UnLocode,
    /// Where the carrier delivers the goods; `None` when it is the place of discharge.
    pub place_of_delivery: Option<UnLocode>,
    /// The goods: at least one item.
    pub consignment_items: Vec<ConsignmentItem>,
    /// Containers carrying the goods; no container number twice.
    pub equipment: Vec<Equipment>,
    /// Legs of the carriage in order: at least one, each starting where the previous one
    /// ended and not before it arrived.
    pub transport_legs: Vec<TransportLeg>,
    /// Declared value of the whole shipment (DCSA `declaredValue`); `None` when not stated.
    pub declared_value: Option<Money>,
    /// The DCSA transport document the bill was made from, whole; `None` for a bill made
    /// from corridor data.
    pub transport_document: Option<TransportDocumentJson>,
}

/// An electronic bill of lading (DCSA transport document), checked as a customs system
/// accepts one. Read its parts through `Deref`: `bill.shipper.operator_id`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BillOfLading(BillOfLadingParts);

impl BillOfLading {
    /// Checks a bill: it was issued; consignee and notify party fit `to_order`, which a sea
    /// waybill is not; a code list provider only with a carrier code; there are
    /// goods and legs; every container an item names is on the bill, once; the legs join up
    /// from the place of loading to the place of discharge, in time order.
    pub fn new(parts: BillOfLadingParts) -> Result<Self, ParseError> {
        require_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        match (parts.to_order, &parts.consignee) {
            (true, Some(_)) => {
                return Err(ParseError::new(
                    "consignee",
                    "must be absent on a to-order bill (title passes by endorsement)",
                ));
            }
            (false, None) => {
                return Err(ParseError::new(
                    "consignee",
                    "required on a straight bill (to_order is false)",
                ));
            }
            _ => {}
        }
        if parts.sea_waybill && parts.to_order {
            return Err(ParseError::new(
                "to_order",
                "a sea waybill is not a document of title: it cannot be to order",
            ));
        }
        if parts.carrier_code_list_provider.is_some() && parts.carrier_code.is_none() {
            return Err(ParseError::new(
                "carrier_code_list_provider",
                "only with a carrier_code",
            ));
        }
        if parts.to_order && parts.notify_party.is_none() {
            return Err(ParseError::new(
                "notify_party",
                "required on a to-order bill",
            ));
        }
        if parts.consignment_items.is_empty() {
            return Err(ParseError::new(
                "consignment_items",
                "a bill carries at least one consignment item",
            ));
        }
        let containers: Vec<&ContainerNumber> = parts
            .equipment
            .iter()
            .map(|e| &e.container_number)
            .collect();
        if let Some(i) = first_duplicate(&containers) {
            return Err(ParseError::new(
                format!("equipment[{i}].container_number"),
                format!("container {} is listed twice", containers[i]),
            ));
        }
        for (i, item) in parts.consignment_items.iter().enumerate() {
            check_item_containers(&item.container_numbers, &containers)
                .map_err(|e| e.within(&format!("consignment_items[{i}]")))?;
        }
        check_legs(&parts)?;
        Ok(Self(parts))
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> BillOfLadingParts {
        self.0
    }

    /// The container with this number, if it is on the bill.
    pub fn container(&self, number: &ContainerNumber) -> Option<&Equipment> {
        self.0
            .equipment
            .iter()
            .find(|e| &e.container_number == number)
    }

    /// Where the carrier delivers the goods: the place of delivery, or else the place of
    /// discharge.
    pub fn delivery_location(&self) -> &UnLocode {
        self.0
            .place_of_delivery
            .as_ref()
            .unwrap_or(&self.0.place_of_discharge)
    }

    /// Total gross weight of all items, in grams.
    pub fn total_gross_weight_grams(&self) -> u64 {
        self.0
            .consignment_items
            .iter()
            .map(|i| i.gross_weight_grams.get())
            .fold(0, u64::saturating_add)
    }
}

impl Deref for BillOfLading {
    type Target = BillOfLadingParts;
    fn deref(&self) -> &BillOfLadingParts {
        &self.0
    }
}

/// Each container an item names is one of `known`, and none is named twice. Errors name
/// `container_numbers[j]`.
pub(crate) fn check_item_containers(
    numbers: &[ContainerNumber],
    known: &[&ContainerNumber],
) -> Result<(), ParseError> {
    if let Some(j) = first_duplicate(numbers) {
        return Err(ParseError::new(
            format!("container_numbers[{j}]"),
            format!("container {} is listed twice", numbers[j]),
        ));
    }
    if let Some((j, c)) = numbers.iter().enumerate().find(|(_, c)| !known.contains(c)) {
        return Err(ParseError::new(
            format!("container_numbers[{j}]"),
            format!("container {c} is not in the bill's equipment"),
        ));
    }
    Ok(())
}

/// The legs run from the place of loading to the place of discharge, each starting where
/// the previous one ended, not before it arrived.
fn check_legs(parts: &BillOfLadingParts) -> Result<(), ParseError> {
    let legs = &parts.transport_legs;
    let (Some(first), Some(last)) = (legs.first(), legs.last()) else {
        return Err(ParseError::new(
            "transport_legs",
            "a bill has at least one transport leg",
        ));
    };
    if first.from_location != parts.place_of_loading {
        return Err(ParseError::new(
            "transport_legs[0].from_location",
            format!(
                "the first leg starts at the place of loading {}, not {}",
                parts.place_of_loading, first.from_location
            ),
        ));
    }
    for (i, pair) in legs.windows(2).enumerate() {
        let (prev, leg) = (&pair[0], &pair[1]);
        if leg.from_location != prev.to_location {
            return Err(ParseError::new(
                format!("transport_legs[{}].from_location", i + 1),
                format!(
                    "a leg starts where the previous one ended ({}), not at {}",
                    prev.to_location, leg.from_location
                ),
            ));
        }
        if leg.planned_departure_unix_micros < prev.planned_arrival_unix_micros {
            return Err(ParseError::new(
                format!("transport_legs[{}].planned_departure_unix_micros", i + 1),
                "a leg departs after the previous one arrives",
            ));
        }
    }
    if last.to_location != parts.place_of_discharge {
        return Err(ParseError::new(
            format!("transport_legs[{}].to_location", legs.len() - 1),
            format!(
                "the last leg ends at the place of discharge {}, not {}",
                parts.place_of_discharge, last.to_location
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::examples::sample_bill_of_lading;

    fn field_of(parts: BillOfLadingParts) -> String {
        BillOfLading::new(parts)
            .expect_err("the bill should be refused")
            .field
    }

    fn parts() -> BillOfLadingParts {
        sample_bill_of_lading().into_parts()
    }

    fn code<T>(r: Result<T, ParseError>) -> T {
        r.expect("a valid code")
    }

    #[test]
    fn the_sample_bill_is_valid() {
        let bill = sample_bill_of_lading();
        assert_eq!(
            BillOfLading::new(bill.clone().into_parts()),
            Ok(bill.clone())
        );
        assert_eq!(bill.transport_legs.len(), 3);
        assert_eq!(bill.delivery_location().as_str(), "TRIST");
        assert!(
            bill.container(&bill.equipment[0].container_number)
                .is_some()
        );
        assert!(bill.total_gross_weight_grams() > 0);
    }

    #[test]
    fn issue_time_is_required() {
        let mut p = parts();
        p.issued_at_unix_micros = 0;
        assert_eq!(field_of(p), "issued_at_unix_micros");
    }

    #[test]
    fn consignee_present_iff_not_to_order() {
        let mut p = parts();
        p.consignee = None;
        assert_eq!(field_of(p), "consignee");

        let mut p = parts();
        p.to_order = true;
        assert!(p.notify_party.is_some());
        assert_eq!(field_of(p), "consignee");

        let mut p = parts();
        p.to_order = true;
        p.consignee = None;
        assert!(BillOfLading::new(p.clone()).is_ok());
        p.notify_party = None;
        assert_eq!(field_of(p), "notify_party");
    }

    #[test]
    fn a_sea_waybill_is_never_to_order() {
        let mut p = parts();
        p.sea_waybill = true;
        assert!(BillOfLading::new(p.clone()).is_ok());
        p.to_order = true;
        p.consignee = None;
        assert_eq!(field_of(p), "to_order");
    }

    #[test]
    fn a_code_list_provider_needs_a_carrier_code() {
        let mut p = parts();
        p.carrier_code_list_provider = Some(CarrierCodeListProvider::Nmfta);
        assert!(BillOfLading::new(p.clone()).is_ok());
        p.carrier_code = None;
        assert_eq!(field_of(p), "carrier_code_list_provider");
    }

    #[test]
    fn a_transport_document_is_kept_with_its_checksum() {
        let doc = TransportDocumentJson::new("{}".into()).expect("kept");
        assert_eq!(doc.checksum(), Digest::of(b"{}"));
        assert!(TransportDocumentJson::with_checksum("{}".into(), doc.checksum()).is_ok());
        let e = TransportDocumentJson::with_checksum("{}".into(), Digest::of(b"[]"))
            .expect_err("a wrong checksum");
        assert_eq!(e.field, "checksum");
        let e = TransportDocumentJson::new(" ".repeat(TransportDocumentJson::MAX_BYTES + 1))
            .expect_err("too long");
        assert_eq!(e.field, "canonical_json");
        assert!(TransportDocumentJson::new(String::new()).is_err());
    }

    #[test]
    fn goods_and_legs_are_required() {
        let mut p = parts();
        p.consignment_items.clear();
        assert_eq!(field_of(p), "consignment_items");
        let mut p = parts();
        p.transport_legs.clear();
        assert_eq!(field_of(p), "transport_legs");
    }

    #[test]
    fn items_name_only_containers_on_the_bill() {
        let mut p = parts();
        p.consignment_items[1]
            .container_numbers
            .push(code(ContainerNumber::parse("c", "CSQU3054383")));
        assert_eq!(field_of(p), "consignment_items[1].container_numbers[1]");

        let mut p = parts();
        let c = p.consignment_items[0].container_numbers[0].clone();
        p.consignment_items[0].container_numbers.push(c);
        assert_eq!(field_of(p), "consignment_items[0].container_numbers[1]");

        let mut p = parts();
        let e = p.equipment[0].clone();
        p.equipment.push(e);
        assert_eq!(field_of(p), "equipment[2].container_number");
    }

    #[test]
    fn legs_join_up_from_loading_to_discharge() {
        let mut p = parts();
        p.place_of_loading = code(UnLocode::parse("l", "CNSHA"));
        assert_eq!(field_of(p), "transport_legs[0].from_location");

        let mut p = parts();
        p.place_of_discharge = code(UnLocode::parse("l", "TRMER"));
        assert_eq!(field_of(p), "transport_legs[2].to_location");

        let mut p = parts();
        p.transport_legs.swap(1, 2);
        assert_eq!(field_of(p), "transport_legs[1].from_location");

        let mut p = parts();
        let mut leg = p.transport_legs[2].clone().into_parts();
        leg.planned_departure_unix_micros = p.transport_legs[1].planned_arrival_unix_micros - 1;
        p.transport_legs[2] = TransportLeg::new(leg).expect("leg is valid alone");
        assert_eq!(
            field_of(p),
            "transport_legs[2].planned_departure_unix_micros"
        );
    }

    #[test]
    fn a_leg_goes_somewhere_in_time_order() {
        let leg = sample_bill_of_lading().transport_legs[0]
            .clone()
            .into_parts();

        let mut p = leg.clone();
        p.to_location = p.from_location.clone();
        assert_eq!(
            TransportLeg::new(p).map_err(|e| e.field),
            Err("to_location".into())
        );

        let mut p = leg.clone();
        p.planned_departure_unix_micros = 0;
        assert_eq!(
            TransportLeg::new(p).map_err(|e| e.field),
            Err("planned_departure_unix_micros".into())
        );

        let mut p = leg;
        p.planned_arrival_unix_micros = p.planned_departure_unix_micros;
        assert_eq!(
            TransportLeg::new(p).map_err(|e| e.field),
            Err("planned_arrival_unix_micros".into())
        );
    }
}
