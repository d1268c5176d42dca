//! Conversions between the document messages of `ebl.proto` and `declaration.proto` and the
//! validated documents of `corridor_core::document`.
//!
//! Wire to core is `TryFrom`, which checks everything `corridor-core` checks plus what only
//! the wire can get wrong (an enum left UNSPECIFIED or of an unknown number, a required
//! message left out, a leg's `sequence` or an item's `item_number` that is not its position
//! plus one). Every error names the full field path, e.g. `consignment_items[2].hs_code`.
//! Core to wire is `From<&T>`, for services that build documents. The `decode_*` functions
//! take payload bytes (after the envelope's signature is verified) to a checked document;
//! the `encode_*` functions give the bytes to sign.

use std::num::{NonZeroU32, NonZeroU64};

use corridor_core::document::{
    Address, BillOfLading, BillOfLadingParts, BillOfLadingType, ConsignmentItem, Declaration,
    DeclarationCancellation, DeclarationParts, DeclarationRole, DeclaredItem, DeclaredItemParts,
    Equipment, FreightPaymentTerm, Guarantee, NotifyParty, Party, RouteStep, RouteStepParts, Seal,
    SealSource, Text, TransferAction, TransferEntry, TransferEntryParts, TransportLeg,
    TransportLegParts, TransportMeans, TransportMode,
};
use corridor_core::{
    CarrierCode, ContainerNumber, CountryCode, Digest, HsCode, IsoEquipmentCode, Money, OperatorId,
    PackageType, ParseError, UnLocode,
};
use prost::Message;

use crate::v1;

// ---- wire helpers -------------------------------------------------------------------------

/// A message field that must be present.
fn required<T>(field: &str, m: Option<T>) -> Result<T, ParseError> {
    m.ok_or_else(|| ParseError::new(field, "required"))
}

/// A required string field: "required" when empty, else parsed by `parse`.
fn required_str<T>(
    field: &str,
    s: &str,
    parse: fn(&str, &str) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    if s.is_empty() {
        return Err(ParseError::new(field, "required"));
    }
    parse(field, s)
}

/// An optional string field: the empty string (proto3's "not set") is `None`.
fn optional_str<T>(
    field: &str,
    s: &str,
    parse: fn(&str, &str) -> Result<T, ParseError>,
) -> Result<Option<T>, ParseError> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse(field, s).map(Some)
    }
}

fn opt_string<T: ToString>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

fn nonzero_u64(field: &str, v: u64) -> Result<NonZeroU64, ParseError> {
    NonZeroU64::new(v).ok_or_else(|| ParseError::new(field, "must be more than zero"))
}

fn nonzero_u32(field: &str, v: u32) -> Result<NonZeroU32, ParseError> {
    NonZeroU32::new(v).ok_or_else(|| ParseError::new(field, "must be more than zero"))
}

/// A required sha256 field: exactly 32 bytes.
fn digest(field: &str, bytes: &[u8]) -> Result<Digest, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::new(field, "required: a 32-byte sha256 digest"));
    }
    Digest::from_slice(field, bytes)
}

/// An optional sha256 field: empty is `None`, otherwise exactly 32 bytes.
fn optional_digest(field: &str, bytes: &[u8]) -> Result<Option<Digest>, ParseError> {
    if bytes.is_empty() {
        Ok(None)
    } else {
        Digest::from_slice(field, bytes).map(Some)
    }
}

fn money(field: &str, m: Option<v1::Money>) -> Result<Money, ParseError> {
    let m = required(field, m)?;
    Money::parse(field, &m.currency, m.amount_minor)
}

fn money_to_wire(m: &Money) -> v1::Money {
    v1::Money {
        currency: m.currency().to_string(),
        amount_minor: m.minor_units(),
    }
}

fn unknown_enum(field: &str, v: i32) -> ParseError {
    ParseError::new(field, format!("unknown value {v}"))
}

fn unspecified_enum(field: &str, name: &str) -> ParseError {
    ParseError::new(field, format!("required: {name} is not allowed here"))
}

/// Within `outer`.
fn within(outer: &str) -> impl Fn(ParseError) -> ParseError + '_ {
    move |e| e.within(outer)
}

/// Within `outer[i]`.
fn at(outer: &str, i: usize) -> impl Fn(ParseError) -> ParseError {
    let path = format!("{outer}[{i}]");
    move |e| e.within(&path)
}

/// The `sequence` or `item_number` of the element at index `i`: `i + 1`.
fn position(field: &str, i: usize, got: u32) -> Result<(), ParseError> {
    if usize::try_from(got).ok() != i.checked_add(1) {
        return Err(ParseError::new(
            field,
            format!(
                "must be {} (numbered from 1 in order, without gaps), got {got}",
                i + 1
            ),
        ));
    }
    Ok(())
}

/// The wire number of the element at index `i`.
fn number_of(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

// ---- enums --------------------------------------------------------------------------------

fn transport_mode(field: &str, v: i32) -> Result<TransportMode, ParseError> {
    use v1::TransportMode as W;
    match W::try_from(v) {
        Ok(W::Rail) => Ok(TransportMode::Rail),
        Ok(W::Road) => Ok(TransportMode::Road),
        Ok(W::Sea) => Ok(TransportMode::Sea),
        Ok(W::Ferry) => Ok(TransportMode::Ferry),
        Ok(W::InlandWater) => Ok(TransportMode::InlandWater),
        Ok(W::Air) => Ok(TransportMode::Air),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "TRANSPORT_MODE_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<TransportMode> for v1::TransportMode {
    fn from(m: TransportMode) -> Self {
        match m {
            TransportMode::Rail => Self::Rail,
            TransportMode::Road => Self::Road,
            TransportMode::Sea => Self::Sea,
            TransportMode::Ferry => Self::Ferry,
            TransportMode::InlandWater => Self::InlandWater,
            TransportMode::Air => Self::Air,
        }
    }
}

/// UNSPECIFIED means "not stated" for a seal's source.
fn seal_source(field: &str, v: i32) -> Result<Option<SealSource>, ParseError> {
    use v1::SealSource as W;
    match W::try_from(v) {
        Ok(W::Unspecified) => Ok(None),
        Ok(W::Carrier) => Ok(Some(SealSource::Carrier)),
        Ok(W::Shipper) => Ok(Some(SealSource::Shipper)),
        Ok(W::Customs) => Ok(Some(SealSource::Customs)),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

fn seal_source_to_wire(s: Option<SealSource>) -> v1::SealSource {
    match s {
        None => v1::SealSource::Unspecified,
        Some(SealSource::Carrier) => v1::SealSource::Carrier,
        Some(SealSource::Shipper) => v1::SealSource::Shipper,
        Some(SealSource::Customs) => v1::SealSource::Customs,
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

fn transfer_action(field: &str, v: i32) -> Result<TransferAction, ParseError> {
    use v1::TransferAction as W;
    match W::try_from(v) {
        Ok(W::Issue) => Ok(TransferAction::Issue),
        Ok(W::Transfer) => Ok(TransferAction::Transfer),
        Ok(W::Endorse) => Ok(TransferAction::Endorse),
        Ok(W::SurrenderForDelivery) => Ok(TransferAction::SurrenderForDelivery),
        Ok(W::SurrenderAccepted) => Ok(TransferAction::SurrenderAccepted),
        Ok(W::SurrenderRejected) => Ok(TransferAction::SurrenderRejected),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "TRANSFER_ACTION_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<TransferAction> for v1::TransferAction {
    fn from(a: TransferAction) -> Self {
        match a {
            TransferAction::Issue => Self::Issue,
            TransferAction::Transfer => Self::Transfer,
            TransferAction::Endorse => Self::Endorse,
            TransferAction::SurrenderForDelivery => Self::SurrenderForDelivery,
            TransferAction::SurrenderAccepted => Self::SurrenderAccepted,
            TransferAction::SurrenderRejected => Self::SurrenderRejected,
        }
    }
}

fn declaration_role(field: &str, v: i32) -> Result<DeclarationRole, ParseError> {
    use v1::DeclarationRole as W;
    match W::try_from(v) {
        Ok(W::Export) => Ok(DeclarationRole::Export),
        Ok(W::Transit) => Ok(DeclarationRole::Transit),
        Ok(W::Import) => Ok(DeclarationRole::Import),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "DECLARATION_ROLE_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<DeclarationRole> for v1::DeclarationRole {
    fn from(r: DeclarationRole) -> Self {
        match r {
            DeclarationRole::Export => Self::Export,
            DeclarationRole::Transit => Self::Transit,
            DeclarationRole::Import => Self::Import,
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

fn container_numbers(numbers: &[String]) -> Result<Vec<ContainerNumber>, ParseError> {
    numbers
        .iter()
        .enumerate()
        .map(|(j, c)| ContainerNumber::parse(&format!("container_numbers[{j}]"), c))
        .collect()
}

fn container_numbers_to_wire(numbers: &[ContainerNumber]) -> Vec<String> {
    numbers.iter().map(ToString::to_string).collect()
}

fn consignment_item(m: v1::ConsignmentItem) -> Result<ConsignmentItem, ParseError> {
    Ok(ConsignmentItem {
        hs_code: required_str("hs_code", &m.hs_code, HsCode::parse)?,
        description_of_goods: Text::parse("description_of_goods", &m.description_of_goods)?,
        number_of_packages: nonzero_u32("number_of_packages", m.number_of_packages)?,
        package_type: required_str("package_type", &m.package_type, PackageType::parse)?,
        gross_weight_grams: nonzero_u64("gross_weight_grams", m.gross_weight_grams)?,
        declared_value: money("declared_value", m.declared_value)?,
        origin_country: required_str("origin_country", &m.origin_country, CountryCode::parse)?,
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
            declared_value: Some(money_to_wire(&i.declared_value)),
            origin_country: i.origin_country.to_string(),
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
        }
    }
}

// ---- transfer chain -----------------------------------------------------------------------

impl TryFrom<v1::TransferEntry> for TransferEntry {
    type Error = ParseError;
    fn try_from(m: v1::TransferEntry) -> Result<Self, ParseError> {
        TransferEntry::new(TransferEntryParts {
            document_id: digest("document_id", &m.document_id)?,
            seq: m.seq,
            prev_entry_hash: optional_digest("prev_entry_hash", &m.prev_entry_hash)?,
            action: transfer_action("action", m.action)?,
            actor: required_str("actor", &m.actor, OperatorId::parse)?,
            from_holder: optional_str("from_holder", &m.from_holder, OperatorId::parse)?,
            to_holder: required_str("to_holder", &m.to_holder, OperatorId::parse)?,
            time_unix_micros: m.time_unix_micros,
            reason: Text::parse_optional("reason", &m.reason)?,
        })
    }
}

impl From<&TransferEntry> for v1::TransferEntry {
    fn from(t: &TransferEntry) -> Self {
        v1::TransferEntry {
            document_id: t.document_id.as_bytes().to_vec(),
            seq: t.seq,
            prev_entry_hash: t
                .prev_entry_hash
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            action: v1::TransferAction::from(t.action).into(),
            actor: t.actor.to_string(),
            from_holder: opt_string(t.from_holder.as_ref()),
            to_holder: t.to_holder.to_string(),
            time_unix_micros: t.time_unix_micros,
            reason: opt_string(t.reason.as_ref()),
        }
    }
}

// ---- declaration --------------------------------------------------------------------------

fn transport_means(
    field: &str,
    m: Option<v1::TransportMeans>,
) -> Result<TransportMeans, ParseError> {
    let m = required(field, m)?;
    transport_means_fields(m).map_err(within(field))
}

fn transport_means_fields(m: v1::TransportMeans) -> Result<TransportMeans, ParseError> {
    Ok(TransportMeans {
        mode: transport_mode("mode", m.mode)?,
        identification: Text::parse("identification", &m.identification)?,
        nationality: optional_str("nationality", &m.nationality, CountryCode::parse)?,
    })
}

impl From<&TransportMeans> for v1::TransportMeans {
    fn from(t: &TransportMeans) -> Self {
        v1::TransportMeans {
            mode: v1::TransportMode::from(t.mode).into(),
            identification: t.identification.to_string(),
            nationality: opt_string(t.nationality.as_ref()),
        }
    }
}

fn route_step(m: v1::RouteStep) -> Result<RouteStep, ParseError> {
    RouteStep::new(RouteStepParts {
        country: required_str("country", &m.country, CountryCode::parse)?,
        role: declaration_role("role", m.role)?,
        entry_border_post: optional_str(
            "entry_border_post",
            &m.entry_border_post,
            UnLocode::parse,
        )?,
        exit_border_post: optional_str("exit_border_post", &m.exit_border_post, UnLocode::parse)?,
        planned_arrival_unix_micros: m.planned_arrival_unix_micros,
        border_transport_means: transport_means(
            "border_transport_means",
            m.border_transport_means,
        )?,
    })
}

impl From<&RouteStep> for v1::RouteStep {
    fn from(s: &RouteStep) -> Self {
        v1::RouteStep {
            country: s.country.to_string(),
            role: v1::DeclarationRole::from(s.role).into(),
            entry_border_post: opt_string(s.entry_border_post.as_ref()),
            exit_border_post: opt_string(s.exit_border_post.as_ref()),
            planned_arrival_unix_micros: s.planned_arrival_unix_micros,
            border_transport_means: Some((&s.border_transport_means).into()),
        }
    }
}

/// The item at index `i`, whose `item_number` must be `i + 1`.
fn declared_item(i: usize, m: v1::DeclaredItem) -> Result<DeclaredItem, ParseError> {
    position("item_number", i, m.item_number)?;
    DeclaredItem::new(DeclaredItemParts {
        hs_code: required_str("hs_code", &m.hs_code, HsCode::parse)?,
        description_of_goods: Text::parse("description_of_goods", &m.description_of_goods)?,
        number_of_packages: nonzero_u32("number_of_packages", m.number_of_packages)?,
        package_type: required_str("package_type", &m.package_type, PackageType::parse)?,
        gross_weight_grams: nonzero_u64("gross_weight_grams", m.gross_weight_grams)?,
        net_weight_grams: nonzero_u64("net_weight_grams", m.net_weight_grams)?,
        customs_value: money("customs_value", m.customs_value)?,
        origin_country: required_str("origin_country", &m.origin_country, CountryCode::parse)?,
        container_numbers: container_numbers(&m.container_numbers)?,
    })
}

fn declared_item_to_wire(i: usize, d: &DeclaredItem) -> v1::DeclaredItem {
    v1::DeclaredItem {
        item_number: number_of(i),
        hs_code: d.hs_code.to_string(),
        description_of_goods: d.description_of_goods.to_string(),
        number_of_packages: d.number_of_packages.get(),
        package_type: d.package_type.to_string(),
        gross_weight_grams: d.gross_weight_grams.get(),
        net_weight_grams: d.net_weight_grams.get(),
        customs_value: Some(money_to_wire(&d.customs_value)),
        origin_country: d.origin_country.to_string(),
        container_numbers: container_numbers_to_wire(&d.container_numbers),
    }
}

fn guarantee(field: &str, m: Option<v1::Guarantee>) -> Result<Guarantee, ParseError> {
    let m = required(field, m)?;
    guarantee_fields(m).map_err(within(field))
}

fn guarantee_fields(m: v1::Guarantee) -> Result<Guarantee, ParseError> {
    Ok(Guarantee {
        reference: Text::parse("reference", &m.reference)?,
        amount: money("amount", m.amount)?,
        guarantor_name: Text::parse("guarantor_name", &m.guarantor_name)?,
    })
}

impl From<&Guarantee> for v1::Guarantee {
    fn from(g: &Guarantee) -> Self {
        v1::Guarantee {
            reference: g.reference.to_string(),
            amount: Some(money_to_wire(&g.amount)),
            guarantor_name: g.guarantor_name.to_string(),
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

impl TryFrom<v1::Declaration> for Declaration {
    type Error = ParseError;
    fn try_from(m: v1::Declaration) -> Result<Self, ParseError> {
        Declaration::new(DeclarationParts {
            declaration_reference: Text::parse("declaration_reference", &m.declaration_reference)?,
            bill_of_lading_id: digest("bill_of_lading_id", &m.bill_of_lading_id)?,
            declarant_operator_id: required_str(
                "declarant_operator_id",
                &m.declarant_operator_id,
                OperatorId::parse,
            )?,
            holder_operator_id: required_str(
                "holder_operator_id",
                &m.holder_operator_id,
                OperatorId::parse,
            )?,
            route: m
                .route
                .into_iter()
                .enumerate()
                .map(|(i, s)| route_step(s).map_err(at("route", i)))
                .collect::<Result<_, _>>()?,
            items: m
                .items
                .into_iter()
                .enumerate()
                .map(|(i, d)| declared_item(i, d).map_err(at("items", i)))
                .collect::<Result<_, _>>()?,
            guarantee: guarantee("guarantee", m.guarantee)?,
            created_at_unix_micros: m.created_at_unix_micros,
        })
    }
}

impl From<&Declaration> for v1::Declaration {
    fn from(d: &Declaration) -> Self {
        v1::Declaration {
            declaration_reference: d.declaration_reference.to_string(),
            bill_of_lading_id: d.bill_of_lading_id.as_bytes().to_vec(),
            declarant_operator_id: d.declarant_operator_id.to_string(),
            holder_operator_id: d.holder_operator_id.to_string(),
            route: d.route.iter().map(Into::into).collect(),
            items: d
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| declared_item_to_wire(i, item))
                .collect(),
            guarantee: Some((&d.guarantee).into()),
            created_at_unix_micros: d.created_at_unix_micros,
        }
    }
}

impl TryFrom<v1::DeclarationCancellation> for DeclarationCancellation {
    type Error = ParseError;
    fn try_from(m: v1::DeclarationCancellation) -> Result<Self, ParseError> {
        DeclarationCancellation::new(
            digest("declaration_id", &m.declaration_id)?,
            Text::parse("reason", &m.reason)?,
            m.cancelled_at_unix_micros,
        )
    }
}

impl From<&DeclarationCancellation> for v1::DeclarationCancellation {
    fn from(c: &DeclarationCancellation) -> Self {
        v1::DeclarationCancellation {
            declaration_id: c.declaration_id().as_bytes().to_vec(),
            reason: c.reason().to_string(),
            cancelled_at_unix_micros: c.cancelled_at_unix_micros(),
        }
    }
}

// ---- bytes --------------------------------------------------------------------------------

/// Decodes `bytes` as message `M`; a decode error names `field` (the message, in snake
/// case).
fn decode<M: Message + Default>(field: &str, name: &str, bytes: &[u8]) -> Result<M, ParseError> {
    M::decode(bytes).map_err(|e| ParseError::new(field, format!("not a protobuf {name}: {e}")))
}

/// Decodes and checks a bill of lading from payload bytes. A decode error names the field
/// `bill_of_lading`.
pub fn decode_bill_of_lading(bytes: &[u8]) -> Result<BillOfLading, ParseError> {
    decode::<v1::BillOfLading>("bill_of_lading", "BillOfLading", bytes)?.try_into()
}

/// The protobuf payload bytes of a bill of lading, to sign.
pub fn encode_bill_of_lading(bill: &BillOfLading) -> Vec<u8> {
    v1::BillOfLading::from(bill).encode_to_vec()
}

/// Decodes and checks a transfer entry from payload bytes. A decode error names the field
/// `transfer_entry`.
pub fn decode_transfer_entry(bytes: &[u8]) -> Result<TransferEntry, ParseError> {
    decode::<v1::TransferEntry>("transfer_entry", "TransferEntry", bytes)?.try_into()
}

/// The protobuf payload bytes of a transfer entry, to sign.
pub fn encode_transfer_entry(entry: &TransferEntry) -> Vec<u8> {
    v1::TransferEntry::from(entry).encode_to_vec()
}

/// Decodes and checks a declaration from payload bytes. A decode error names the field
/// `declaration`.
pub fn decode_declaration(bytes: &[u8]) -> Result<Declaration, ParseError> {
    decode::<v1::Declaration>("declaration", "Declaration", bytes)?.try_into()
}

/// The protobuf payload bytes of a declaration, to sign.
pub fn encode_declaration(declaration: &Declaration) -> Vec<u8> {
    v1::Declaration::from(declaration).encode_to_vec()
}

/// Decodes and checks a declaration cancellation from payload bytes. A decode error names
/// the field `declaration_cancellation`.
pub fn decode_declaration_cancellation(
    bytes: &[u8],
) -> Result<DeclarationCancellation, ParseError> {
    decode::<v1::DeclarationCancellation>(
        "declaration_cancellation",
        "DeclarationCancellation",
        bytes,
    )?
    .try_into()
}

/// The protobuf payload bytes of a declaration cancellation, to sign.
pub fn encode_declaration_cancellation(cancellation: &DeclarationCancellation) -> Vec<u8> {
    v1::DeclarationCancellation::from(cancellation).encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::examples::{self, sample_bill_of_lading, sample_declaration};

    /// A change to a valid wire message that should make it invalid.
    type Change<M> = Box<dyn FnOnce(&mut M)>;

    fn bill_id() -> Digest {
        Digest::of(&encode_bill_of_lading(&sample_bill_of_lading()))
    }

    fn wire_bill() -> v1::BillOfLading {
        (&sample_bill_of_lading()).into()
    }

    fn wire_declaration() -> v1::Declaration {
        (&sample_declaration(bill_id())).into()
    }

    fn wire_issue() -> v1::TransferEntry {
        (&examples::sample_issue(bill_id())).into()
    }

    /// A TRANSFER from the shipper to the forwarder, following the sample issue.
    fn wire_transfer() -> v1::TransferEntry {
        let issue = examples::sample_issue(bill_id());
        let issue_id = Digest::of(&encode_transfer_entry(&issue));
        let op = OperatorId::parse("o", examples::FORWARDER_ID).expect("valid id");
        let t = issue
            .next(
                issue_id,
                TransferAction::Transfer,
                op,
                examples::ISSUED_AT + 1,
                None,
            )
            .expect("a valid transfer");
        (&t).into()
    }

    fn bill_error(change: impl FnOnce(&mut v1::BillOfLading)) -> String {
        let mut m = wire_bill();
        change(&mut m);
        BillOfLading::try_from(m)
            .expect_err("the bill should be refused")
            .field
    }

    fn declaration_error(change: impl FnOnce(&mut v1::Declaration)) -> String {
        let mut m = wire_declaration();
        change(&mut m);
        Declaration::try_from(m)
            .expect_err("the declaration should be refused")
            .field
    }

    fn entry_error(
        mut m: v1::TransferEntry,
        change: impl FnOnce(&mut v1::TransferEntry),
    ) -> String {
        change(&mut m);
        TransferEntry::try_from(m)
            .expect_err("the entry should be refused")
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
    fn declaration_round_trips() {
        let d = sample_declaration(bill_id());
        let wire = v1::Declaration::from(&d);
        assert_eq!(Declaration::try_from(wire.clone()), Ok(d.clone()));
        assert_eq!(decode_declaration(&encode_declaration(&d)), Ok(d));
        let numbers: Vec<u32> = wire.items.iter().map(|i| i.item_number).collect();
        assert_eq!(numbers, [1, 2]);
    }

    #[test]
    fn transfer_entries_and_cancellations_round_trip() {
        for m in [wire_issue(), wire_transfer()] {
            let e = TransferEntry::try_from(m.clone()).expect("valid entry");
            assert_eq!(v1::TransferEntry::from(&e), m);
            assert_eq!(decode_transfer_entry(&encode_transfer_entry(&e)), Ok(e));
        }
        let c = DeclarationCancellation::new(
            Digest::of(b"declaration"),
            Text::parse("reason", "goods withdrawn from sale").expect("text"),
            examples::ISSUED_AT + 1,
        )
        .expect("valid cancellation");
        assert_eq!(
            decode_declaration_cancellation(&encode_declaration_cancellation(&c)),
            Ok(c)
        );
    }

    #[test]
    fn undecodable_bytes_name_the_message() {
        let garbage = b"\xff\xff\xff";
        assert_eq!(
            decode_bill_of_lading(garbage).map_err(|e| e.field),
            Err("bill_of_lading".into())
        );
        assert_eq!(
            decode_transfer_entry(garbage).map_err(|e| e.field),
            Err("transfer_entry".into())
        );
        assert_eq!(
            decode_declaration(garbage).map_err(|e| e.field),
            Err("declaration".into())
        );
        assert_eq!(
            decode_declaration_cancellation(garbage).map_err(|e| e.field),
            Err("declaration_cancellation".into())
        );
        // Valid protobuf, but an empty bill: the first missing field is named.
        assert_eq!(
            decode_bill_of_lading(&[]).map_err(|e| e.field),
            Err("transport_document_reference".into())
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
                "consignment_items[0].declared_value",
                Box::new(|m| m.consignment_items[0].declared_value = None),
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
                Box::new(|m| m.equipment[0].seals[1].source = 4),
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

    #[test]
    fn transfer_entry_rules() {
        let cases: Vec<(&str, v1::TransferEntry, Change<v1::TransferEntry>)> = vec![
            ("action", wire_issue(), Box::new(|m| m.action = 0)),
            ("action", wire_issue(), Box::new(|m| m.action = 42)),
            (
                "document_id",
                wire_issue(),
                Box::new(|m| m.document_id.clear()),
            ),
            (
                "document_id",
                wire_issue(),
                Box::new(|m| m.document_id.truncate(31)),
            ),
            ("seq", wire_issue(), Box::new(|m| m.seq = 1)),
            (
                "prev_entry_hash",
                wire_issue(),
                Box::new(|m| m.prev_entry_hash = vec![7; 32]),
            ),
            (
                "from_holder",
                wire_issue(),
                Box::new(|m| m.from_holder = examples::CARRIER_ID.into()),
            ),
            ("actor", wire_issue(), Box::new(|m| m.actor.clear())),
            (
                "to_holder",
                wire_issue(),
                Box::new(|m| m.to_holder = "XX123".into()),
            ),
            (
                "time_unix_micros",
                wire_issue(),
                Box::new(|m| m.time_unix_micros = 0),
            ),
            ("seq", wire_transfer(), Box::new(|m| m.seq = 0)),
            (
                "prev_entry_hash",
                wire_transfer(),
                Box::new(|m| m.prev_entry_hash.clear()),
            ),
            (
                "prev_entry_hash",
                wire_transfer(),
                Box::new(|m| m.prev_entry_hash.truncate(31)),
            ),
            (
                "from_holder",
                wire_transfer(),
                Box::new(|m| m.from_holder.clear()),
            ),
            (
                "actor",
                wire_transfer(),
                Box::new(|m| m.actor = examples::CARRIER_ID.into()),
            ),
            (
                "to_holder",
                wire_transfer(),
                Box::new(|m| m.to_holder = m.from_holder.clone()),
            ),
            (
                "reason",
                wire_transfer(),
                Box::new(|m| {
                    m.action = v1::TransferAction::SurrenderRejected.into();
                }),
            ),
            (
                "reason",
                wire_transfer(),
                Box::new(|m| m.reason = "\u{7}".into()),
            ),
        ];
        for (field, m, change) in cases {
            assert_eq!(entry_error(m, change), field);
        }
        let mut m = wire_transfer();
        m.action = v1::TransferAction::SurrenderRejected.into();
        m.reason = "the bill is not the one on file".into();
        TransferEntry::try_from(m).expect("a rejection with a reason");
    }

    #[test]
    fn declaration_rules() {
        let cases: Vec<(&str, Change<v1::Declaration>)> = vec![
            (
                "declaration_reference",
                Box::new(|m| m.declaration_reference.clear()),
            ),
            (
                "bill_of_lading_id",
                Box::new(|m| m.bill_of_lading_id.clear()),
            ),
            (
                "bill_of_lading_id",
                Box::new(|m| m.bill_of_lading_id.push(0)),
            ),
            (
                "declarant_operator_id",
                Box::new(|m| m.declarant_operator_id.clear()),
            ),
            (
                "holder_operator_id",
                Box::new(|m| m.holder_operator_id = "cn123".into()),
            ),
            (
                "created_at_unix_micros",
                Box::new(|m| m.created_at_unix_micros = 0),
            ),
            ("route", Box::new(|m| m.route.truncate(1))),
            ("route", Box::new(|m| m.route.clear())),
            (
                "route[0].role",
                Box::new(|m| {
                    m.route.remove(0);
                }),
            ),
            (
                // A TRANSIT step needs an exit, so the step itself is refused first.
                "route[3].exit_border_post",
                Box::new(|m| m.route[3].role = v1::DeclarationRole::Transit.into()),
            ),
            (
                "route[3].role",
                Box::new(|m| {
                    m.route[3].role = v1::DeclarationRole::Transit.into();
                    m.route[3].exit_border_post = "TRIST".into();
                }),
            ),
            (
                "route[2].role",
                Box::new(|m| {
                    m.route[2].role = v1::DeclarationRole::Import.into();
                    m.route[2].exit_border_post.clear();
                }),
            ),
            ("route[1].role", Box::new(|m| m.route[1].role = 0)),
            ("route[1].role", Box::new(|m| m.route[1].role = 12)),
            (
                "route[3].country",
                Box::new(|m| {
                    let mut kz = m.route[1].clone();
                    kz.planned_arrival_unix_micros = m.route[2].planned_arrival_unix_micros;
                    m.route.insert(3, kz);
                }),
            ),
            (
                "route[1].country",
                Box::new(|m| m.route[1].country = "Kazakhstan".into()),
            ),
            (
                "route[0].entry_border_post",
                Box::new(|m| m.route[0].entry_border_post = "CNXIY".into()),
            ),
            (
                "route[0].exit_border_post",
                Box::new(|m| m.route[0].exit_border_post.clear()),
            ),
            (
                "route[1].entry_border_post",
                Box::new(|m| m.route[1].entry_border_post = "CNKHG".into()),
            ),
            (
                "route[2].exit_border_post",
                Box::new(|m| m.route[2].exit_border_post = "GE 01".into()),
            ),
            (
                "route[3].exit_border_post",
                Box::new(|m| m.route[3].exit_border_post = "TRIST".into()),
            ),
            (
                "route[2].planned_arrival_unix_micros",
                Box::new(|m| m.route[2].planned_arrival_unix_micros = 0),
            ),
            (
                "route[2].planned_arrival_unix_micros",
                Box::new(|m| {
                    m.route[2].planned_arrival_unix_micros =
                        m.route[1].planned_arrival_unix_micros - 1
                }),
            ),
            (
                "route[1].border_transport_means",
                Box::new(|m| m.route[1].border_transport_means = None),
            ),
            (
                "route[1].border_transport_means.mode",
                Box::new(|m| {
                    if let Some(t) = m.route[1].border_transport_means.as_mut() {
                        t.mode = 0
                    }
                }),
            ),
            (
                "route[2].border_transport_means.identification",
                Box::new(|m| {
                    if let Some(t) = m.route[2].border_transport_means.as_mut() {
                        t.identification.clear()
                    }
                }),
            ),
            (
                "route[2].border_transport_means.nationality",
                Box::new(|m| {
                    if let Some(t) = m.route[2].border_transport_means.as_mut() {
                        t.nationality = "AZE".into()
                    }
                }),
            ),
            ("items", Box::new(|m| m.items.clear())),
            (
                "items[0].item_number",
                Box::new(|m| m.items[0].item_number = 0),
            ),
            (
                "items[1].item_number",
                Box::new(|m| m.items[1].item_number = 3),
            ),
            ("items[0].item_number", Box::new(|m| m.items.swap(0, 1))),
            (
                "items[1].hs_code",
                Box::new(|m| m.items[1].hs_code = "84.71.30".into()),
            ),
            (
                "items[0].number_of_packages",
                Box::new(|m| m.items[0].number_of_packages = 0),
            ),
            (
                "items[0].package_type",
                Box::new(|m| m.items[0].package_type.clear()),
            ),
            (
                "items[0].gross_weight_grams",
                Box::new(|m| m.items[0].gross_weight_grams = 0),
            ),
            (
                "items[1].net_weight_grams",
                Box::new(|m| m.items[1].net_weight_grams = 0),
            ),
            (
                "items[1].net_weight_grams",
                Box::new(|m| m.items[1].net_weight_grams = m.items[1].gross_weight_grams + 1),
            ),
            (
                "items[0].customs_value",
                Box::new(|m| m.items[0].customs_value = None),
            ),
            (
                "items[0].customs_value.currency",
                Box::new(|m| {
                    if let Some(v) = m.items[0].customs_value.as_mut() {
                        v.currency = "XYZ".into()
                    }
                }),
            ),
            (
                "items[0].origin_country",
                Box::new(|m| m.items[0].origin_country.clear()),
            ),
            (
                "items[1].container_numbers[0]",
                Box::new(|m| m.items[1].container_numbers[0] = "KTZU1000023".into()),
            ),
            (
                "items[1].container_numbers[1]",
                Box::new(|m| {
                    let c = m.items[1].container_numbers[0].clone();
                    m.items[1].container_numbers.push(c);
                }),
            ),
            ("guarantee", Box::new(|m| m.guarantee = None)),
            (
                "guarantee.amount",
                Box::new(|m| {
                    if let Some(g) = m.guarantee.as_mut() {
                        g.amount = None
                    }
                }),
            ),
            (
                "guarantee.amount.amount_minor",
                Box::new(|m| {
                    if let Some(a) = m.guarantee.as_mut().and_then(|g| g.amount.as_mut()) {
                        a.amount_minor = 0
                    }
                }),
            ),
            (
                "guarantee.reference",
                Box::new(|m| {
                    if let Some(g) = m.guarantee.as_mut() {
                        g.reference.clear()
                    }
                }),
            ),
            (
                "guarantee.guarantor_name",
                Box::new(|m| {
                    if let Some(g) = m.guarantee.as_mut() {
                        g.guarantor_name.clear()
                    }
                }),
            ),
        ];
        for (field, change) in cases {
            assert_eq!(declaration_error(change), field);
        }
    }

    #[test]
    fn cancellation_rules() {
        let good = v1::DeclarationCancellation {
            declaration_id: vec![9; 32],
            reason: "duplicate of SRM-2026-0001".into(),
            cancelled_at_unix_micros: examples::ISSUED_AT,
        };
        DeclarationCancellation::try_from(good.clone()).expect("valid");
        let cases: Vec<(&str, Change<v1::DeclarationCancellation>)> = vec![
            ("declaration_id", Box::new(|m| m.declaration_id.clear())),
            (
                "declaration_id",
                Box::new(|m| m.declaration_id.truncate(16)),
            ),
            ("reason", Box::new(|m| m.reason.clear())),
            (
                "cancelled_at_unix_micros",
                Box::new(|m| m.cancelled_at_unix_micros = -5),
            ),
        ];
        for (field, change) in cases {
            let mut m = good.clone();
            change(&mut m);
            assert_eq!(
                DeclarationCancellation::try_from(m).map_err(|e| e.field),
                Err(field.to_owned())
            );
        }
    }
}
