//! Conversions between the bill of lading of `ebl.proto` (its parties, items, equipment and
//! legs) and `corridor_core::document::BillOfLading`, and the bill's payload bytes.

use std::num::NonZeroU64;

use corridor_core::document::{
    Address, BillOfLading, BillOfLadingParts, BillOfLadingType, CarrierCodeListProvider,
    ConsignmentItem, Equipment, FreightPaymentTerm, NotifyParty, Party, Seal, SealSource, Text,
    TransportDocumentJson, TransportLeg, TransportLegParts,
};
use corridor_core::{
    CarrierCode, ContainerNumber, CountryCode, Digest, HsCode, IsoEquipmentCode, OperatorId,
    PackageType, ParseError, UnLocode,
};
use prost::Message;

use super::{
    at, container_numbers, container_numbers_to_wire, decode, money, money_to_wire, nonzero_u32,
    nonzero_u64, number_of, opt_string, optional_str, position, required, required_str,
    transport_mode, unknown_enum, unspecified_enum, within,
};
use crate::v1;

// ---- enums --------------------------------------------------------------------------------

/// UNSPECIFIED means "not stated" for a seal's source.
fn seal_source(field: &str, v: i32) -> Result<Option<SealSource>, ParseError> {
    use v1::SealSource as W;
    match W::try_from(v) {
        Ok(W::Unspecified) => Ok(None),
        Ok(W::Carrier) => Ok(Some(SealSource::Carrier)),
        Ok(W::Shipper) => Ok(Some(SealSource::Shipper)),
        Ok(W::Customs) => Ok(Some(SealSource::Customs)),
        Ok(W::Veterinary) => Ok(Some(SealSource::Veterinary)),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

fn seal_source_to_wire(s: Option<SealSource>) -> v1::SealSource {
    match s {
        None => v1::SealSource::Unspecified,
        Some(SealSource::Carrier) => v1::SealSource::Carrier,
        Some(SealSource::Shipper) => v1::SealSource::Shipper,
        Some(SealSource::Customs) => v1::SealSource::Customs,
        Some(SealSource::Veterinary) => v1::SealSource::Veterinary,
    }
}

/// UNSPECIFIED means "not stated on the bill" for the freight payment term.
fn freight_payment_term(field: &str, v: i32) -> Result<Option<FreightPaymentTerm>, ParseError> {
    use v1::FreightPaymentTerm as W;
    match W::try_from(v) {
        Ok(W::Unspecified) => Ok(None),
        Ok(W::Prepaid) => Ok(Some(FreightPaymentTerm::Prepaid)),
        Ok(W::Collect) => Ok(Some(FreightPaymentTerm::Collect)),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

fn freight_payment_term_to_wire(t: Option<FreightPaymentTerm>) -> v1::FreightPaymentTerm {
    match t {
        None => v1::FreightPaymentTerm::Unspecified,
        Some(FreightPaymentTerm::Prepaid) => v1::FreightPaymentTerm::Prepaid,
        Some(FreightPaymentTerm::Collect) => v1::FreightPaymentTerm::Collect,
    }
}

/// UNSPECIFIED means "not stated" for a carrier code's list provider.
fn carrier_code_list_provider(
    field: &str,
    v: i32,
) -> Result<Option<CarrierCodeListProvider>, ParseError> {
    use v1::CarrierCodeListProvider as W;
    match W::try_from(v) {
        Ok(W::Unspecified) => Ok(None),
        Ok(W::Smdg) => Ok(Some(CarrierCodeListProvider::Smdg)),
        Ok(W::Nmfta) => Ok(Some(CarrierCodeListProvider::Nmfta)),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

fn carrier_code_list_provider_to_wire(
    p: Option<CarrierCodeListProvider>,
) -> v1::CarrierCodeListProvider {
    match p {
        None => v1::CarrierCodeListProvider::Unspecified,
        Some(CarrierCodeListProvider::Smdg) => v1::CarrierCodeListProvider::Smdg,
        Some(CarrierCodeListProvider::Nmfta) => v1::CarrierCodeListProvider::Nmfta,
    }
}

fn transport_document(m: v1::DcsaTransportDocument) -> Result<TransportDocumentJson, ParseError> {
    let checksum = Digest::from_slice("checksum", &m.checksum)?;
    TransportDocumentJson::with_checksum(m.canonical_json, checksum)
}

fn bill_of_lading_type(field: &str, v: i32) -> Result<BillOfLadingType, ParseError> {
    use v1::BillOfLadingType as W;
    match W::try_from(v) {
        Ok(W::ShippedOnBoard) => Ok(BillOfLadingType::ShippedOnBoard),
        Ok(W::ReceivedForShipment) => Ok(BillOfLadingType::ReceivedForShipment),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "BILL_OF_LADING_TYPE_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<BillOfLadingType> for v1::BillOfLadingType {
    fn from(t: BillOfLadingType) -> Self {
        match t {
            BillOfLadingType::ShippedOnBoard => Self::ShippedOnBoard,
            BillOfLadingType::ReceivedForShipment => Self::ReceivedForShipment,
        }
    }
}

// ---- bill of lading -----------------------------------------------------------------------

fn address(field: &str, m: Option<v1::Address>) -> Result<Address, ParseError> {
    let m = required(field, m)?;
    address_fields(m).map_err(within(field))
}

fn address_fields(m: v1::Address) -> Result<Address, ParseError> {
    Ok(Address {
        street: Text::parse("street", &m.street)?,
        city: Text::parse("city", &m.city)?,
        postal_code: Text::parse_optional("postal_code", &m.postal_code)?,
        country_code: required_str("country_code", &m.country_code, CountryCode::parse)?,
    })
}

impl From<&Address> for v1::Address {
    fn from(a: &Address) -> Self {
        v1::Address {
            street: a.street.to_string(),
            city: a.city.to_string(),
            postal_code: opt_string(a.postal_code.as_ref()),
            country_code: a.country_code.to_string(),
        }
    }
}

/// A registered party (shipper, consignee, carrier): its operator id is required.
fn party(field: &str, m: Option<v1::Party>) -> Result<Party, ParseError> {
    let m = required(field, m)?;
    party_fields(m).map_err(within(field))
}

fn party_fields(m: v1::Party) -> Result<Party, ParseError> {
    Ok(Party {
        operator_id: required_str("operator_id", &m.operator_id, OperatorId::parse)?,
        legal_name: Text::parse("legal_name", &m.legal_name)?,
        address: address("address", m.address)?,
    })
}

impl From<&Party> for v1::Party {
    fn from(p: &Party) -> Self {
        v1::Party {
            operator_id: p.operator_id.to_string(),
            legal_name: p.legal_name.to_string(),
            address: Some((&p.address).into()),
        }
    }
}

/// The notify party: its operator id is optional.
fn notify_party(m: v1::Party) -> Result<NotifyParty, ParseError> {
    Ok(NotifyParty {
        operator_id: optional_str("operator_id", &m.operator_id, OperatorId::parse)?,
        legal_name: Text::parse("legal_name", &m.legal_name)?,
        address: address("address", m.address)?,
    })
}

impl From<&NotifyParty> for v1::Party {
    fn from(p: &NotifyParty) -> Self {
        v1::Party {
            operator_id: opt_string(p.operator_id.as_ref()),
            legal_name: p.legal_name.to_string(),
            address: Some((&p.address).into()),
        }
    }
}

fn seal(m: &v1::Seal) -> Result<Seal, ParseError> {
    Ok(Seal {
        number: Text::parse("number", &m.number)?,
        source: seal_source("source", m.source)?,
    })
}

fn equipment(m: v1::Equipment) -> Result<Equipment, ParseError> {
    Ok(Equipment {
        container_number: required_str(
            "container_number",
            &m.container_number,
            ContainerNumber::parse,
        )?,
        iso_equipment_code: required_str(
            "iso_equipment_code",
            &m.iso_equipment_code,
            IsoEquipmentCode::parse,
        )?,
        tare_weight_grams: NonZeroU64::new(m.tare_weight_grams),
        seals: m
            .seals
            .iter()
            .enumerate()
            .map(|(i, s)| seal(s).map_err(at("seals", i)))
            .collect::<Result<_, _>>()?,
    })
}

impl From<&Equipment> for v1::Equipment {
    fn from(e: &Equipment) -> Self {
        v1::Equipment {
            container_number: e.container_number.to_string(),
            iso_equipment_code: e.iso_equipment_code.to_string(),
            tare_weight_grams: e.tare_weight_grams.map_or(0, NonZeroU64::get),
            seals: e
                .seals
                .iter()
                .map(|s| v1::Seal {
                    number: s.number.to_string(),
                    source: seal_source_to_wire(s.source).into(),
                })
                .collect(),
        }
    }
}

fn consignment_item(m: v1::ConsignmentItem) -> Result<ConsignmentItem, ParseError> {
    Ok(ConsignmentItem {
        hs_code: required_str("hs_code", &m.hs_code, HsCode::parse)?,
        description_of_goods: Text::parse("description_of_goods", &m.description_of_goods)?,
        number_of_packages: nonzero_u32("number_of_packages", m.number_of_packages)?,
        package_type: required_str("package_type", &m.package_type, PackageType::parse)?,
        gross_weight_grams: nonzero_u64("gross_weight_grams", m.gross_weight_grams)?,
        declared_value: m
            .declared_value
            .map(|v| money("declared_value", Some(v)))
            .transpose()?,
        origin_country: optional_str("origin_country", &m.origin_country, CountryCode::parse)?,
        container_numbers: container_numbers(&m.container_numbers)?,
    })
}

impl From<&ConsignmentItem> for v1::ConsignmentItem {
    fn from(i: &ConsignmentItem) -> Self {
        v1::ConsignmentItem {
            hs_code: i.hs_code.to_string(),
            description_of_goods: i.description_of_goods.to_string(),
            number_of_packages: i.number_of_packages.get(),
            package_type: i.package_type.to_string(),
            gross_weight_grams: i.gross_weight_grams.get(),
            declared_value: i.declared_value.as_ref().map(money_to_wire),
            origin_country: opt_string(i.origin_country.as_ref()),
            container_numbers: container_numbers_to_wire(&i.container_numbers),
        }
    }
}

/// The leg at index `i`, whose `sequence` must be `i + 1`.
fn transport_leg(i: usize, m: v1::TransportLeg) -> Result<TransportLeg, ParseError> {
    position("sequence", i, m.sequence)?;
    TransportLeg::new(TransportLegParts {
        mode: transport_mode("mode", m.mode)?,
        carrier_operator_id: optional_str(
            "carrier_operator_id",
            &m.carrier_operator_id,
            OperatorId::parse,
        )?,
        transport_name: Text::parse_optional("transport_name", &m.transport_name)?,
        transport_number: Text::parse_optional("transport_number", &m.transport_number)?,
        from_location: required_str("from_location", &m.from_location, UnLocode::parse)?,
        to_location: required_str("to_location", &m.to_location, UnLocode::parse)?,
        planned_departure_unix_micros: m.planned_departure_unix_micros,
        planned_arrival_unix_micros: m.planned_arrival_unix_micros,
    })
}

fn transport_leg_to_wire(i: usize, l: &TransportLeg) -> v1::TransportLeg {
    v1::TransportLeg {
        sequence: number_of(i),
        mode: v1::TransportMode::from(l.mode).into(),
        carrier_operator_id: opt_string(l.carrier_operator_id.as_ref()),
        transport_name: opt_string(l.transport_name.as_ref()),
        transport_number: opt_string(l.transport_number.as_ref()),
        from_location: l.from_location.to_string(),
        to_location: l.to_location.to_string(),
        planned_departure_unix_micros: l.planned_departure_unix_micros,
        planned_arrival_unix_micros: l.planned_arrival_unix_micros,
    }
}

impl TryFrom<v1::BillOfLading> for BillOfLading {
    type Error = ParseError;
    fn try_from(m: v1::BillOfLading) -> Result<Self, ParseError> {
        BillOfLading::new(BillOfLadingParts {
            transport_document_reference: Text::parse(
                "transport_document_reference",
                &m.transport_document_reference,
            )?,
            sea_waybill: m.sea_waybill,
            issued_at_unix_micros: m.issued_at_unix_micros,
            bill_of_lading_type: bill_of_lading_type("bill_of_lading_type", m.bill_of_lading_type)?,
            freight_payment_term: freight_payment_term(
                "freight_payment_term",
                m.freight_payment_term,
            )?,
            shipper: party("shipper", m.shipper)?,
            consignee: m
                .consignee
                .map(|c| party("consignee", Some(c)))
                .transpose()?,
            to_order: m.to_order,
            notify_party: m
                .notify_party
                .map(|n| notify_party(n).map_err(within("notify_party")))
                .transpose()?,
            carrier: party("carrier", m.carrier)?,
            carrier_code: optional_str("carrier_code", &m.carrier_code, CarrierCode::parse)?,
            carrier_code_list_provider: carrier_code_list_provider(
                "carrier_code_list_provider",
                m.carrier_code_list_provider,
            )?,
            place_of_receipt: optional_str(
                "place_of_receipt",
                &m.place_of_receipt,
                UnLocode::parse,
            )?,
            place_of_loading: required_str(
                "place_of_loading",
                &m.place_of_loading,
                UnLocode::parse,
            )?,
            place_of_discharge: required_str(
                "place_of_discharge",
                &m.place_of_discharge,
                UnLocode::parse,
            )?,
            place_of_delivery: optional_str(
                "place_of_delivery",
                &m.place_of_delivery,
                UnLocode::parse,
            )?,
            consignment_items: m
                .consignment_items
                .into_iter()
                .enumerate()
                .map(|(i, c)| consignment_item(c).map_err(at("consignment_items", i)))
                .collect::<Result<_, _>>()?,
            equipment: m
                .equipment
                .into_iter()
                .enumerate()
                .map(|(i, e)| equipment(e).map_err(at("equipment", i)))
                .collect::<Result<_, _>>()?,
            transport_legs: m
                .transport_legs
                .into_iter()
                .enumerate()
                .map(|(i, l)| transport_leg(i, l).map_err(at("transport_legs", i)))
                .collect::<Result<_, _>>()?,
            declared_value: m
                .declared_value
                .map(|v| money("declared_value", Some(v)))
                .transpose()?,
            transport_document: m
                .dcsa_transport_document
                .map(|d| transport_document(d).map_err(within("dcsa_transport_document")))
                .transpose()?,
        })
    }
}

impl From<&BillOfLading> for v1::BillOfLading {
    fn from(b: &BillOfLading) -> Self {
        v1::BillOfLading {
            transport_document_reference: b.transport_document_reference.to_string(),
            issued_at_unix_micros: b.issued_at_unix_micros,
            bill_of_lading_type: v1::BillOfLadingType::from(b.bill_of_lading_type).into(),
            freight_payment_term: freight_payment_term_to_wire(b.freight_payment_term).into(),
            shipper: Some((&b.shipper).into()),
            consignee: b.consignee.as_ref().map(Into::into),
            to_order: b.to_order,
            notify_party: b.notify_party.as_ref().map(Into::into),
            carrier: Some((&b.carrier).into()),
            carrier_code: opt_string(b.carrier_code.as_ref()),
            place_of_receipt: opt_string(b.place_of_receipt.as_ref()),
            place_of_loading: b.place_of_loading.to_string(),
            place_of_discharge: b.place_of_discharge.to_string(),
            place_of_delivery: opt_string(b.place_of_delivery.as_ref()),
            consignment_items: b.consignment_items.iter().map(Into::into).collect(),
            equipment: b.equipment.iter().map(Into::into).collect(),
            transport_legs: b
                .transport_legs
                .iter()
                .enumerate()
                .map(|(i, l)| transport_leg_to_wire(i, l))
                .collect(),
            sea_waybill: b.sea_waybill,
            carrier_code_list_provider: carrier_code_list_provider_to_wire(
                b.carrier_code_list_provider,
            )
            .into(),
            declared_value: b.declared_value.as_ref().map(money_to_wire),
            dcsa_transport_document: b.transport_document.as_ref().map(|d| {
                v1::DcsaTransportDocument {
                    canonical_json: d.canonical_json().to_owned(),
                    checksum: d.checksum().as_bytes().to_vec(),
                }
            }),
        }
    }
}

/// Every seal on the bill's containers, as an officer reports it found intact: what a node
/// expects at the first border, and what a client reports when nothing is amiss.
pub fn seal_checks(bill: &BillOfLading) -> Vec<v1::SealCheck> {
    bill.equipment
        .iter()
        .flat_map(|e| {
            e.seals.iter().map(|s| v1::SealCheck {
                container_number: e.container_number.as_str().to_string(),
                seal_number: s.number.as_str().to_string(),
                intact: true,
            })
        })
        .collect()
}

// ---- bytes --------------------------------------------------------------------------------

/// Decodes and checks a bill of lading from payload bytes. A decode error names the field
/// `bill_of_lading`.
pub fn decode_bill_of_lading(bytes: &[u8]) -> Result<BillOfLading, ParseError> {
    decode::<v1::BillOfLading>("bill_of_lading", "BillOfLading", bytes)?.try_into()
}

/// The protobuf payload bytes of a bill of lading, to sign.
pub fn encode_bill_of_lading(bill: &BillOfLading) -> Vec<u8> {
    v1::BillOfLading::from(bill).encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::tests::Change;
    use corridor_core::document::examples::sample_bill_of_lading;

    fn wire_bill() -> v1::BillOfLading {
        (&sample_bill_of_lading()).into()
    }

    fn bill_error(change: impl FnOnce(&mut v1::BillOfLading)) -> String {
        let mut m = wire_bill();
        change(&mut m);
        BillOfLading::try_from(m)
            .expect_err("the bill should be refused")
            .field
    }

    #[test]
    fn bill_of_lading_round_trips() {
        let bill = sample_bill_of_lading();
        let wire = v1::BillOfLading::from(&bill);
        assert_eq!(BillOfLading::try_from(wire.clone()), Ok(bill.clone()));
        assert_eq!(v1::BillOfLading::from(&bill), wire);
        let bytes = encode_bill_of_lading(&bill);
        assert_eq!(decode_bill_of_lading(&bytes), Ok(bill.clone()));
        // Positions go on the wire as sequence numbers from 1.
        let seqs: Vec<u32> = wire.transport_legs.iter().map(|l| l.sequence).collect();
        assert_eq!(seqs, [1, 2, 3]);

        // A to-order bill, with a notify party that is not a registered operator.
        let mut parts = bill.into_parts();
        parts.to_order = true;
        parts.consignee = None;
        let to_order = BillOfLading::new(parts).expect("a valid to-order bill");
        assert_eq!(
            decode_bill_of_lading(&encode_bill_of_lading(&to_order)),
            Ok(to_order)
        );
    }

    #[test]
    fn bill_header_and_parties() {
        let cases: Vec<(&str, Change<v1::BillOfLading>)> = vec![
            (
                "transport_document_reference",
                Box::new(|m| m.transport_document_reference.clear()),
            ),
            (
                "issued_at_unix_micros",
                Box::new(|m| m.issued_at_unix_micros = 0),
            ),
            (
                "bill_of_lading_type",
                Box::new(|m| m.bill_of_lading_type = 0),
            ),
            (
                "bill_of_lading_type",
                Box::new(|m| m.bill_of_lading_type = 7),
            ),
            (
                "freight_payment_term",
                Box::new(|m| m.freight_payment_term = 9),
            ),
            ("shipper", Box::new(|m| m.shipper = None)),
            ("carrier", Box::new(|m| m.carrier = None)),
            (
                "shipper.operator_id",
                Box::new(|m| {
                    if let Some(p) = m.shipper.as_mut() {
                        p.operator_id.clear()
                    }
                }),
            ),
            (
                "carrier.legal_name",
                Box::new(|m| {
                    if let Some(p) = m.carrier.as_mut() {
                        p.legal_name = " ".into()
                    }
                }),
            ),
            (
                "consignee.address",
                Box::new(|m| {
                    if let Some(p) = m.consignee.as_mut() {
                        p.address = None
                    }
                }),
            ),
            (
                "consignee.address.country_code",
                Box::new(|m| {
                    if let Some(a) = m.consignee.as_mut().and_then(|p| p.address.as_mut()) {
                        a.country_code = "XX".into()
                    }
                }),
            ),
            (
                "shipper.address.city",
                Box::new(|m| {
                    if let Some(a) = m.shipper.as_mut().and_then(|p| p.address.as_mut()) {
                        a.city.clear()
                    }
                }),
            ),
            (
                "notify_party.operator_id",
                Box::new(|m| {
                    if let Some(p) = m.notify_party.as_mut() {
                        p.operator_id = "bad id".into()
                    }
                }),
            ),
            ("consignee", Box::new(|m| m.consignee = None)),
            ("consignee", Box::new(|m| m.to_order = true)),
            (
                "notify_party",
                Box::new(|m| {
                    m.to_order = true;
                    m.consignee = None;
                    m.notify_party = None;
                }),
            ),
            (
                "carrier_code",
                Box::new(|m| m.carrier_code = "KTZEXPRESS".into()),
            ),
            (
                "carrier_code_list_provider",
                Box::new(|m| m.carrier_code_list_provider = 5),
            ),
            (
                "carrier_code_list_provider",
                Box::new(|m| {
                    m.carrier_code_list_provider = v1::CarrierCodeListProvider::Smdg.into();
                    m.carrier_code.clear();
                }),
            ),
            (
                "to_order",
                Box::new(|m| {
                    m.sea_waybill = true;
                    m.to_order = true;
                    m.consignee = None;
                }),
            ),
            (
                "declared_value.currency",
                Box::new(|m| {
                    m.declared_value = Some(v1::Money {
                        currency: "XXX1".into(),
                        amount_minor: 1,
                    })
                }),
            ),
            (
                "dcsa_transport_document.checksum",
                Box::new(|m| {
                    m.dcsa_transport_document = Some(v1::DcsaTransportDocument {
                        canonical_json: "{}".into(),
                        checksum: vec![0; 32],
                    })
                }),
            ),
            (
                "dcsa_transport_document.checksum",
                Box::new(|m| {
                    m.dcsa_transport_document = Some(v1::DcsaTransportDocument {
                        canonical_json: "{}".into(),
                        checksum: vec![1; 31],
                    })
                }),
            ),
            (
                "dcsa_transport_document.canonical_json",
                Box::new(|m| {
                    m.dcsa_transport_document = Some(v1::DcsaTransportDocument {
                        canonical_json: String::new(),
                        checksum: Digest::of(b"").as_bytes().to_vec(),
                    })
                }),
            ),
            ("place_of_loading", Box::new(|m| m.place_of_loading.clear())),
            (
                "place_of_discharge",
                Box::new(|m| m.place_of_discharge = "TR IS".into()),
            ),
            (
                "place_of_receipt",
                Box::new(|m| m.place_of_receipt = "ZZXIY".into()),
            ),
            (
                "place_of_delivery",
                Box::new(|m| m.place_of_delivery = "trist".into()),
            ),
        ];
        for (field, change) in cases {
            assert_eq!(bill_error(change), field);
        }
        // UNSPECIFIED means "not stated" for the freight payment term.
        let mut m = wire_bill();
        m.freight_payment_term = 0;
        let bill = BillOfLading::try_from(m).expect("freight term may be unstated");
        assert_eq!(bill.freight_payment_term, None);
        // A bill may state no value or origin per item.
        let mut m = wire_bill();
        m.consignment_items[0].declared_value = None;
        m.consignment_items[0].origin_country.clear();
        let bill = BillOfLading::try_from(m).expect("value and origin may be unstated");
        assert_eq!(bill.consignment_items[0].declared_value, None);
        assert_eq!(bill.consignment_items[0].origin_country, None);
    }

    #[test]
    fn a_bill_with_its_dcsa_document_round_trips() {
        let mut parts = sample_bill_of_lading().into_parts();
        parts.sea_waybill = true;
        parts.carrier_code_list_provider = Some(CarrierCodeListProvider::Nmfta);
        parts.declared_value = Some(corridor_core::Money::parse("v", "USD", 12_345).unwrap());
        parts.transport_document = Some(
            TransportDocumentJson::new(r#"{"transportDocumentReference":"X"}"#.into()).unwrap(),
        );
        let bill = BillOfLading::new(parts).expect("a valid bill");
        let wire = v1::BillOfLading::from(&bill);
        let doc = wire.dcsa_transport_document.as_ref().expect("kept");
        assert_eq!(
            doc.checksum,
            Digest::of(doc.canonical_json.as_bytes()).as_bytes()
        );
        assert_eq!(
            decode_bill_of_lading(&encode_bill_of_lading(&bill)),
            Ok(bill)
        );
    }

    #[test]
    fn bill_items_and_equipment() {
        let cases: Vec<(&str, Change<v1::BillOfLading>)> = vec![
            (
                "consignment_items",
                Box::new(|m| m.consignment_items.clear()),
            ),
            (
                "consignment_items[1].hs_code",
                Box::new(|m| m.consignment_items[1].hs_code = "7700".into()),
            ),
            (
                "consignment_items[0].hs_code",
                Box::new(|m| m.consignment_items[0].hs_code.clear()),
            ),
            (
                "consignment_items[0].description_of_goods",
                Box::new(|m| m.consignment_items[0].description_of_goods.clear()),
            ),
            (
                "consignment_items[0].number_of_packages",
                Box::new(|m| m.consignment_items[0].number_of_packages = 0),
            ),
            (
                "consignment_items[1].package_type",
                Box::new(|m| m.consignment_items[1].package_type = "carton".into()),
            ),
            (
                "consignment_items[1].gross_weight_grams",
                Box::new(|m| m.consignment_items[1].gross_weight_grams = 0),
            ),
            (
                "consignment_items[0].declared_value.currency",
                Box::new(|m| {
                    if let Some(v) = m.consignment_items[0].declared_value.as_mut() {
                        v.currency = "usd".into()
                    }
                }),
            ),
            (
                "consignment_items[1].origin_country",
                Box::new(|m| m.consignment_items[1].origin_country = "CHN".into()),
            ),
            (
                "consignment_items[0].container_numbers[0]",
                Box::new(|m| m.consignment_items[0].container_numbers[0] = "KTZU1000018".into()),
            ),
            (
                "consignment_items[1].container_numbers[1]",
                Box::new(|m| {
                    m.consignment_items[1]
                        .container_numbers
                        .push("CSQU3054383".into())
                }),
            ),
            (
                "consignment_items[0].container_numbers[1]",
                Box::new(|m| {
                    let c = m.consignment_items[0].container_numbers[0].clone();
                    m.consignment_items[0].container_numbers.push(c);
                }),
            ),
            (
                "equipment[1].container_number",
                Box::new(|m| m.equipment[1].container_number = "KTZU100002".into()),
            ),
            (
                "equipment[1].container_number",
                Box::new(|m| {
                    m.equipment[1].container_number = m.equipment[0].container_number.clone()
                }),
            ),
            (
                "equipment[0].iso_equipment_code",
                Box::new(|m| m.equipment[0].iso_equipment_code = "40ft".into()),
            ),
            (
                "equipment[0].seals[1].source",
                Box::new(|m| m.equipment[0].seals[1].source = 9),
            ),
            (
                "equipment[1].seals[0].number",
                Box::new(|m| m.equipment[1].seals[0].number.clear()),
            ),
        ];
        for (field, change) in cases {
            assert_eq!(bill_error(change), field);
        }
        // An item's containers must be listed in the bill's equipment.
        assert_eq!(
            bill_error(|m| {
                m.equipment.remove(1);
            }),
            "consignment_items[1].container_numbers[0]"
        );
        // A tare weight of 0 and a seal source of 0 mean "not stated".
        let mut m = wire_bill();
        m.equipment[0].tare_weight_grams = 0;
        m.equipment[0].seals[0].source = 0;
        let bill = BillOfLading::try_from(m).expect("valid");
        assert_eq!(bill.equipment[0].tare_weight_grams, None);
        assert_eq!(bill.equipment[0].seals[0].source, None);
    }

    #[test]
    fn bill_legs() {
        let cases: Vec<(&str, Change<v1::BillOfLading>)> = vec![
            ("transport_legs", Box::new(|m| m.transport_legs.clear())),
            (
                "transport_legs[0].sequence",
                Box::new(|m| m.transport_legs[0].sequence = 0),
            ),
            (
                "transport_legs[1].sequence",
                Box::new(|m| m.transport_legs[1].sequence = 3),
            ),
            (
                "transport_legs[1].sequence",
                Box::new(|m| m.transport_legs.swap(1, 2)),
            ),
            (
                "transport_legs[2].sequence",
                Box::new(|m| {
                    m.transport_legs.push(m.transport_legs[2].clone());
                    m.transport_legs.remove(2);
                    m.transport_legs[2].sequence = 4;
                }),
            ),
            (
                "transport_legs[0].mode",
                Box::new(|m| m.transport_legs[0].mode = 0),
            ),
            (
                "transport_legs[1].mode",
                Box::new(|m| m.transport_legs[1].mode = 17),
            ),
            (
                "transport_legs[1].carrier_operator_id",
                Box::new(|m| m.transport_legs[1].carrier_operator_id = "asco".into()),
            ),
            (
                "transport_legs[2].from_location",
                Box::new(|m| m.transport_legs[2].from_location = "GETBS".into()),
            ),
            (
                "transport_legs[0].from_location",
                Box::new(|m| m.transport_legs[0].from_location = "CNSHA".into()),
            ),
            (
                "transport_legs[2].to_location",
                Box::new(|m| m.transport_legs[2].to_location = "TRMER".into()),
            ),
            (
                "transport_legs[1].to_location",
                Box::new(|m| m.transport_legs[1].to_location.clear()),
            ),
            (
                "transport_legs[1].planned_departure_unix_micros",
                Box::new(|m| m.transport_legs[1].planned_departure_unix_micros = 0),
            ),
            (
                "transport_legs[1].planned_arrival_unix_micros",
                Box::new(|m| {
                    m.transport_legs[1].planned_arrival_unix_micros =
                        m.transport_legs[1].planned_departure_unix_micros
                }),
            ),
            (
                "transport_legs[2].planned_departure_unix_micros",
                Box::new(|m| {
                    m.transport_legs[2].planned_departure_unix_micros =
                        m.transport_legs[1].planned_arrival_unix_micros - 1
                }),
            ),
        ];
        for (field, change) in cases {
            assert_eq!(bill_error(change), field);
        }
    }
}
