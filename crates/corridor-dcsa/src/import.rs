//! A DCSA transport document mapped to a corridor bill of lading.
//!
//! The document has passed the DCSA schema ([`TransportDocument::read`]); what is checked
//! here is what the corridor needs beyond it, each refusal a [`DcsaError::Unfit`] naming the
//! field by its JSON pointer. The bill keeps the whole document.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::UNIX_EPOCH;

use corridor_core::document::{
    Address, BillOfLading, BillOfLadingParts, BillOfLadingType, CarrierCodeListProvider,
    ConsignmentItem, Equipment, FreightPaymentTerm, NotifyParty, Party, Seal, SealSource, Text,
    TransportLeg, TransportLegParts, TransportMode, UnixMicros,
};
use corridor_core::{
    AeoId, CarrierCode, ContainerNumber, CountryCode, Currency, HsCode, IsoEquipmentCode, Money,
    OperatorId, PackageType, ParseError, UnLocode,
};
use serde::Deserialize;
use serde_json::Value;

use crate::extension::{self, Extension};
use crate::{DcsaError, TransportDocument};

/// Who the corridor's parties are: the AEO registry as the importing service knows it.
pub trait Parties {
    /// Whether `id` is a registered operator.
    fn is_operator(&self, id: &OperatorId) -> bool;
    /// The operator holding AEO certificate `id`, if the registry lists it.
    fn aeo_holder(&self, id: &AeoId) -> Option<OperatorId>;
}

/// `codeListProvider` of the identifying codes corridor reads: DCSA's "mutually defined".
pub const CODE_LIST_PROVIDER: &str = "ZZZ";
/// `codeListName` of an identifying code whose `partyCode` is a corridor operator id.
pub const OPERATOR_CODE_LIST: &str = "CORRIDOR";
/// `codeListName` of an identifying code whose `partyCode` is an AEO certificate id.
pub const AEO_CODE_LIST: &str = "AEO";

/// Grams in a pound (`LBR`), exactly.
const GRAMS_PER_POUND: f64 = 453.592_37;
const DAY_MICROS: i64 = 86_400_000_000;

/// The corridor bill of lading `doc` describes, keeping `doc` whole. Its parties must carry
/// an identifying code the registry knows ([`CODE_LIST_PROVIDER`] with
/// [`OPERATOR_CODE_LIST`] or [`AEO_CODE_LIST`]).
pub fn import(doc: &TransportDocument, parties: &impl Parties) -> Result<BillOfLading, DcsaError> {
    let td: Td = serde_json::from_value(doc.value().clone())
        .map_err(|e| DcsaError::unfit("", format!("cannot be read: {e}")))?;
    let ext = extension_of(doc.value())?;
    let parts = Mapping { parties }.bill(td, &ext)?;
    let mut parts = parts;
    parts.transport_document = Some(doc.kept().clone());
    BillOfLading::new(parts).map_err(|e| DcsaError::unfit(pointer_of(&e.field), e.reason))
}

fn extension_of(value: &Value) -> Result<Extension, DcsaError> {
    let Some(v) = value.get(extension::PROPERTY) else {
        return Ok(Extension::default());
    };
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(v, &mut track);
    Extension::deserialize(de).map_err(|e| {
        let path = track.path().to_string();
        let pointer = if path == "." {
            format!("/{}", extension::PROPERTY)
        } else {
            format!("/{}/{}", extension::PROPERTY, path.replace('.', "/"))
        };
        DcsaError::unfit(pointer, e.to_string())
    })
}

/// The JSON pointer of the document field a corridor bill field comes from, for a rule of
/// the bill as a whole.
fn pointer_of(field: &str) -> String {
    let head = field.split(['.', '[']).next().unwrap_or_default();
    let index = field
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(i, _)| i);
    match (head, index) {
        ("consignee", _) => "/documentParties/consignee".into(),
        ("notify_party", _) => "/documentParties/notifyParties".into(),
        ("to_order", _) => "/isToOrder".into(),
        ("consignment_items", Some(i)) => format!("/consignmentItems/{i}/cargoItems"),
        ("equipment", Some(i)) => format!("/utilizedTransportEquipments/{i}/equipment"),
        ("transport_legs", _) => format!("/{}/transportLegs", extension::PROPERTY),
        ("issued_at_unix_micros", _) => "/issueDate".into(),
        ("carrier_code_list_provider", _) => "/carrierCodeListProvider".into(),
        _ => format!("(bill of lading {field})"),
    }
}

struct Mapping<'a, P> {
    parties: &'a P,
}

impl<P: Parties> Mapping<'_, P> {
    fn bill(&self, td: Td, ext: &Extension) -> Result<BillOfLadingParts, DcsaError> {
        if td.transport_document_status != "ISSUED" {
            return Err(DcsaError::unfit(
                "/transportDocumentStatus",
                format!(
                    "the corridor takes an issued transport document, not {:?}",
                    td.transport_document_status
                ),
            ));
        }
        if !td.is_electronic && td.transport_document_type_code != "SWB" {
            return Err(DcsaError::unfit(
                "/isElectronic",
                "the corridor passes title with its electronic transfer chain: a paper bill of \
                 lading's title passes with its originals, so it cannot be carried here",
            ));
        }
        let issued_at = issued_at(td.issue_date.as_deref(), ext.issued_at.as_deref())?;
        let parties = td.document_parties;
        let shipper = self.party("/documentParties/shipper", &parties.shipper)?;
        let consignee = match (td.is_to_order, &parties.consignee) {
            // On a to-order bill title passes by endorsement: a consignee named in the
            // document is kept in it, and the bill names none.
            (true, _) => None,
            (false, Some(c)) => Some(self.party("/documentParties/consignee", c)?),
            (false, None) => {
                return Err(DcsaError::unfit(
                    "/documentParties/consignee",
                    "a straight bill (isToOrder false) names its consignee",
                ));
            }
        };
        let notify_party = parties
            .notify_parties
            .as_deref()
            .and_then(<[_]>::first)
            .map(|n| self.notify_party("/documentParties/notifyParties/0", n))
            .transpose()?;
        let carrier = self.party("/documentParties/issuingParty", &parties.issuing_party)?;
        let transports = &td.transports;
        let place_of_loading = place(
            "/transports/portOfLoading",
            Some(&transports.port_of_loading),
        )?
        .ok_or_else(|| missing_locode("/transports/portOfLoading"))?;
        let place_of_discharge = place(
            "/transports/portOfDischarge",
            Some(&transports.port_of_discharge),
        )?
        .ok_or_else(|| missing_locode("/transports/portOfDischarge"))?;
        let place_of_receipt = place(
            "/transports/placeOfReceipt",
            transports.place_of_receipt.as_ref(),
        )?;
        let place_of_delivery = place(
            "/transports/placeOfDelivery",
            transports.place_of_delivery.as_ref(),
        )?;
        let transport_legs = match &ext.transport_legs {
            Some(legs) => legs
                .iter()
                .enumerate()
                .map(|(i, l)| ext_leg(i, l))
                .collect::<Result<_, _>>()?,
            None => vec![main_leg(
                transports,
                &place_of_loading,
                &place_of_discharge,
            )?],
        };
        let consignment_items = self.items(&td.consignment_items, ext)?;
        let equipment = td
            .utilized_transport_equipments
            .iter()
            .enumerate()
            .map(|(i, u)| equipment(&format!("/utilizedTransportEquipments/{i}"), u))
            .collect::<Result<_, _>>()?;
        Ok(BillOfLadingParts {
            transport_document_reference: text(
                "/transportDocumentReference",
                &td.transport_document_reference,
            )?,
            sea_waybill: td.transport_document_type_code == "SWB",
            issued_at_unix_micros: issued_at,
            bill_of_lading_type: if td.is_shipped_on_board_type {
                BillOfLadingType::ShippedOnBoard
            } else {
                BillOfLadingType::ReceivedForShipment
            },
            freight_payment_term: match td.freight_payment_term_code.as_deref() {
                Some("PRE") => Some(FreightPaymentTerm::Prepaid),
                Some("COL") => Some(FreightPaymentTerm::Collect),
                _ => None,
            },
            shipper,
            consignee,
            to_order: td.is_to_order,
            notify_party,
            carrier,
            carrier_code: Some(code(
                "/carrierCode",
                CarrierCode::parse("c", &td.carrier_code),
            )?),
            carrier_code_list_provider: match td.carrier_code_list_provider.as_str() {
                "SMDG" => Some(CarrierCodeListProvider::Smdg),
                _ => Some(CarrierCodeListProvider::Nmfta),
            },
            place_of_receipt,
            place_of_loading,
            place_of_discharge,
            place_of_delivery,
            consignment_items,
            equipment,
            transport_legs,
            declared_value: declared_value(
                td.declared_value,
                td.declared_value_currency.as_deref(),
            )?,
            transport_document: None,
        })
    }

    /// The corridor operator a document party names among its identifying codes.
    fn operator(
        &self,
        at: &str,
        codes: Option<&[IdentifyingCode]>,
    ) -> Result<Option<OperatorId>, DcsaError> {
        for (i, c) in codes.unwrap_or_default().iter().enumerate() {
            if c.code_list_provider != CODE_LIST_PROVIDER {
                continue;
            }
            let here = format!("{at}/identifyingCodes/{i}/partyCode");
            match c.code_list_name.as_deref() {
                Some(OPERATOR_CODE_LIST) => {
                    let id = code(&here, OperatorId::parse("p", &c.party_code))?;
                    if !self.parties.is_operator(&id) {
                        return Err(DcsaError::unfit(
                            here,
                            format!("operator {id} is not in the AEO registry"),
                        ));
                    }
                    return Ok(Some(id));
                }
                Some(AEO_CODE_LIST) => {
                    let aeo = code(&here, AeoId::parse("p", &c.party_code))?;
                    return match self.parties.aeo_holder(&aeo) {
                        Some(id) => Ok(Some(id)),
                        None => Err(DcsaError::unfit(
                            here,
                            format!("AEO certificate {aeo} is not in the AEO registry"),
                        )),
                    };
                }
                _ => {}
            }
        }
        Ok(None)
    }

    fn party(&self, at: &str, p: &DocumentParty) -> Result<Party, DcsaError> {
        let operator_id = self
            .operator(at, p.identifying_codes.as_deref())?
            .ok_or_else(|| {
                DcsaError::unfit(
                    format!("{at}/identifyingCodes"),
                    format!(
                        "the corridor needs the party's operator: an identifying code with \
                     codeListProvider {CODE_LIST_PROVIDER:?} and codeListName \
                     {OPERATOR_CODE_LIST:?} (an operator id) or {AEO_CODE_LIST:?} (an AEO \
                     certificate id)"
                    ),
                )
            })?;
        Ok(Party {
            operator_id,
            legal_name: text(&format!("{at}/partyName"), &p.party_name)?,
            address: address(at, p.address.as_ref())?,
        })
    }

    fn notify_party(&self, at: &str, p: &DocumentParty) -> Result<NotifyParty, DcsaError> {
        Ok(NotifyParty {
            operator_id: self.operator(at, p.identifying_codes.as_deref())?,
            legal_name: text(&format!("{at}/partyName"), &p.party_name)?,
            address: address(at, p.address.as_ref())?,
        })
    }

    fn items(&self, items: &[TdItem], ext: &Extension) -> Result<Vec<ConsignmentItem>, DcsaError> {
        let extra = ext.consignment_items.as_deref().unwrap_or_default();
        if ext.consignment_items.is_some() && extra.len() != items.len() {
            return Err(DcsaError::unfit(
                format!("/{}/consignmentItems", extension::PROPERTY),
                format!(
                    "{} entries for the document's {} consignment items",
                    extra.len(),
                    items.len()
                ),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| consignment_item(i, item, extra.get(i)))
            .collect()
    }
}

fn consignment_item(
    i: usize,
    item: &TdItem,
    extra: Option<&extension::Item>,
) -> Result<ConsignmentItem, DcsaError> {
    let at = format!("/consignmentItems/{i}");
    let [hs] = item.hs_codes.as_slice() else {
        return Err(DcsaError::unfit(
            format!("{at}/HSCodes"),
            format!(
                "the corridor declares one HS code per item, this one has {}: split it into \
                 one consignment item per HS code",
                item.hs_codes.len()
            ),
        ));
    };
    let hs_code = code(&format!("{at}/HSCodes/0"), HsCode::parse("h", hs))?;
    let description = item.description_of_goods.join(" ");
    let mut containers: Vec<ContainerNumber> = Vec::new();
    let (mut packages, mut grams) = (0u64, 0u64);
    let mut package_type: Option<PackageType> = None;
    for (j, cargo) in item.cargo_items.iter().enumerate() {
        let here = format!("{at}/cargoItems/{j}");
        let c = code(
            &format!("{here}/equipmentReference"),
            ContainerNumber::parse("c", &cargo.equipment_reference),
        )?;
        if !containers.contains(&c) {
            containers.push(c);
        }
        packages += u64::from(cargo.outer_packaging.number_of_packages);
        grams = grams.saturating_add(weight_grams(
            &format!("{here}/cargoGrossWeight"),
            &cargo.cargo_gross_weight,
        )?);
        let code_at = format!("{here}/outerPackaging/packageCode");
        let Some(pc) = cargo.outer_packaging.package_code.as_deref() else {
            return Err(DcsaError::unfit(
                code_at,
                "the corridor needs the UN/ECE Rec. 21 package code of every cargo item",
            ));
        };
        let pt = code(&code_at, PackageType::parse("p", pc))?;
        match &package_type {
            Some(first) if *first != pt => {
                return Err(DcsaError::unfit(
                    code_at,
                    format!(
                        "the corridor declares one package type per item: {} here, {} on \
                         cargo item 0; split the consignment item",
                        pt.as_str(),
                        first.as_str()
                    ),
                ));
            }
            _ => package_type = Some(pt),
        }
    }
    let (Some(package_type), Some(number_of_packages), Some(gross_weight_grams)) = (
        package_type,
        u32::try_from(packages).ok().and_then(NonZeroU32::new),
        NonZeroU64::new(grams),
    ) else {
        return Err(DcsaError::unfit(
            format!("{at}/cargoItems"),
            "the packages and their weight must add up to more than zero and at most 4294967295 packages",
        ));
    };
    let declared_value = extra
        .and_then(|e| e.declared_value.as_ref())
        .map(|m| {
            code(
                &format!(
                    "/{}/consignmentItems/{i}/declaredValue",
                    extension::PROPERTY
                ),
                Money::parse("v", &m.currency, m.amount_minor),
            )
        })
        .transpose()?;
    let origin_country = extra
        .and_then(|e| e.origin_country.as_deref())
        .map(|c| {
            code(
                &format!(
                    "/{}/consignmentItems/{i}/originCountry",
                    extension::PROPERTY
                ),
                CountryCode::parse("c", c),
            )
        })
        .transpose()?;
    Ok(ConsignmentItem {
        hs_code,
        description_of_goods: text(&format!("{at}/descriptionOfGoods"), &description)?,
        number_of_packages,
        package_type,
        gross_weight_grams,
        declared_value,
        origin_country,
        container_numbers: containers,
    })
}

fn equipment(at: &str, u: &Ute) -> Result<Equipment, DcsaError> {
    let e = &u.equipment;
    let iso_at = format!("{at}/equipment/ISOEquipmentCode");
    let Some(iso) = e.iso_equipment_code.as_deref() else {
        return Err(DcsaError::unfit(
            iso_at,
            "the corridor needs the ISO 6346 size and type code of every container",
        ));
    };
    Ok(Equipment {
        container_number: code(
            &format!("{at}/equipment/equipmentReference"),
            ContainerNumber::parse("c", &e.equipment_reference),
        )?,
        iso_equipment_code: code(&iso_at, IsoEquipmentCode::parse("i", iso))?,
        tare_weight_grams: e
            .tare_weight
            .as_ref()
            .map(|w| weight_grams(&format!("{at}/equipment/tareWeight"), w))
            .transpose()?
            .and_then(NonZeroU64::new),
        seals: u
            .seals
            .iter()
            .enumerate()
            .map(|(k, s)| {
                Ok(Seal {
                    number: text(&format!("{at}/seals/{k}/number"), &s.number)?,
                    source: match s.source.as_deref() {
                        Some("CAR") => Some(SealSource::Carrier),
                        Some("SHI") => Some(SealSource::Shipper),
                        Some("CUS") => Some(SealSource::Customs),
                        Some("VET") => Some(SealSource::Veterinary),
                        _ => None,
                    },
                })
            })
            .collect::<Result<_, DcsaError>>()?,
    })
}

/// The one leg a document without corridor legs describes: its main carriage, by sea (the
/// carriage a DCSA transport document is for), named after its first vessel voyage, from
/// the start of the planned departure date to the start of the planned arrival date (UTC).
fn main_leg(t: &Transports, from: &UnLocode, to: &UnLocode) -> Result<TransportLeg, DcsaError> {
    let voyage = t.vessel_voyages.first();
    let departure = date_micros(
        "/transports/plannedDepartureDate",
        &t.planned_departure_date,
    )?;
    let arrival = date_micros("/transports/plannedArrivalDate", &t.planned_arrival_date)?;
    if arrival <= departure {
        return Err(DcsaError::unfit(
            "/transports/plannedArrivalDate",
            format!(
                "the corridor needs the planned arrival ({}) after the planned departure ({})",
                t.planned_arrival_date, t.planned_departure_date
            ),
        ));
    }
    TransportLeg::new(TransportLegParts {
        mode: TransportMode::Sea,
        carrier_operator_id: None,
        transport_name: voyage
            .map(|v| text("/transports/vesselVoyages/0/vesselName", &v.vessel_name))
            .transpose()?,
        transport_number: voyage
            .map(|v| {
                text(
                    "/transports/vesselVoyages/0/carrierExportVoyageNumber",
                    &v.carrier_export_voyage_number,
                )
            })
            .transpose()?,
        from_location: from.clone(),
        to_location: to.clone(),
        planned_departure_unix_micros: departure,
        planned_arrival_unix_micros: arrival,
    })
    .map_err(|e| DcsaError::unfit("/transports", e.to_string()))
}

fn ext_leg(i: usize, l: &extension::Leg) -> Result<TransportLeg, DcsaError> {
    let at = format!("/{}/transportLegs/{i}", extension::PROPERTY);
    let mode = match l.mode.as_str() {
        "RAIL" => TransportMode::Rail,
        "ROAD" => TransportMode::Road,
        "SEA" => TransportMode::Sea,
        "FERRY" => TransportMode::Ferry,
        "INLAND_WATER" => TransportMode::InlandWater,
        "AIR" => TransportMode::Air,
        other => {
            return Err(DcsaError::unfit(
                format!("{at}/mode"),
                format!("{other:?} is not RAIL, ROAD, SEA, FERRY, INLAND_WATER or AIR"),
            ));
        }
    };
    TransportLeg::new(TransportLegParts {
        mode,
        carrier_operator_id: l
            .carrier_operator_id
            .as_deref()
            .map(|c| {
                code(
                    &format!("{at}/carrierOperatorId"),
                    OperatorId::parse("c", c),
                )
            })
            .transpose()?,
        transport_name: l
            .transport_name
            .as_deref()
            .map(|n| text(&format!("{at}/transportName"), n))
            .transpose()?,
        transport_number: l
            .transport_number
            .as_deref()
            .map(|n| text(&format!("{at}/transportNumber"), n))
            .transpose()?,
        from_location: code(&format!("{at}/from"), UnLocode::parse("l", &l.from))?,
        to_location: code(&format!("{at}/to"), UnLocode::parse("l", &l.to))?,
        planned_departure_unix_micros: time_micros(
            &format!("{at}/plannedDeparture"),
            &l.planned_departure,
        )?,
        planned_arrival_unix_micros: time_micros(
            &format!("{at}/plannedArrival"),
            &l.planned_arrival,
        )?,
    })
    .map_err(|e| DcsaError::unfit(at, e.to_string()))
}

fn issued_at(date: Option<&str>, exact: Option<&str>) -> Result<UnixMicros, DcsaError> {
    let Some(date) = date else {
        return Err(DcsaError::unfit(
            "/issueDate",
            "the corridor needs the date the transport document was issued",
        ));
    };
    let day = date_micros("/issueDate", date)?;
    let Some(exact) = exact else {
        return Ok(day);
    };
    let at = format!("/{}/issuedAt", extension::PROPERTY);
    let t = time_micros(&at, exact)?;
    if !(day..day + DAY_MICROS).contains(&t) {
        return Err(DcsaError::unfit(
            at,
            format!("{exact} is not on the document's issueDate {date}"),
        ));
    }
    Ok(t)
}

fn declared_value(value: Option<f64>, currency: Option<&str>) -> Result<Option<Money>, DcsaError> {
    let (value, currency) = match (value, currency) {
        (None, None) => return Ok(None),
        (Some(v), Some(c)) => (v, c),
        (Some(_), None) => {
            return Err(DcsaError::unfit(
                "/declaredValueCurrency",
                "required with declaredValue",
            ));
        }
        (None, Some(_)) => {
            return Err(DcsaError::unfit(
                "/declaredValue",
                "required with declaredValueCurrency",
            ));
        }
    };
    let currency = code("/declaredValueCurrency", Currency::parse("c", currency))?;
    let minor = value * 10f64.powi(i32::from(currency.exponent()));
    let rounded = minor.round();
    if (minor - rounded).abs() > 1e-6 || !(0.0..=u64::MAX as f64).contains(&rounded) {
        return Err(DcsaError::unfit(
            "/declaredValue",
            format!(
                "{value} {currency} is not a whole number of the currency's minor unit ({} decimals)",
                currency.exponent()
            ),
        ));
    }
    Ok(Some(Money::new(currency, rounded as u64)))
}

fn weight_grams(at: &str, w: &Weight) -> Result<u64, DcsaError> {
    let grams = match w.unit.as_str() {
        "KGM" => w.value * 1000.0,
        _ => w.value * GRAMS_PER_POUND,
    }
    .round();
    if !(1.0..=u64::MAX as f64).contains(&grams) {
        return Err(DcsaError::unfit(
            format!("{at}/value"),
            format!("{} {} is less than a gram", w.value, w.unit),
        ));
    }
    Ok(grams as u64)
}

fn address(at: &str, a: Option<&TdAddress>) -> Result<Address, DcsaError> {
    let at = format!("{at}/address");
    let Some(a) = a else {
        return Err(DcsaError::unfit(
            at,
            "the corridor needs the party's address: street, city and country",
        ));
    };
    let street = match &a.street_number {
        Some(n) => format!("{} {n}", a.street),
        None => a.street.clone(),
    };
    Ok(Address {
        street: text(&format!("{at}/street"), &street)?,
        city: text(&format!("{at}/city"), &a.city)?,
        postal_code: a
            .post_code
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| text(&format!("{at}/postCode"), p))
            .transpose()?,
        country_code: code(
            &format!("{at}/countryCode"),
            CountryCode::parse("c", &a.country_code),
        )?,
    })
}

fn place(at: &str, p: Option<&Location>) -> Result<Option<UnLocode>, DcsaError> {
    let Some(p) = p else { return Ok(None) };
    match &p.un_location_code {
        Some(c) => Ok(Some(code(
            &format!("{at}/UNLocationCode"),
            UnLocode::parse("l", c),
        )?)),
        None => Err(missing_locode(at)),
    }
}

fn missing_locode(at: &str) -> DcsaError {
    DcsaError::unfit(
        format!("{at}/UNLocationCode"),
        "the corridor names every place by its UN/LOCODE",
    )
}

fn date_micros(at: &str, date: &str) -> Result<UnixMicros, DcsaError> {
    time_micros(at, &format!("{date}T00:00:00Z"))
}

fn time_micros(at: &str, s: &str) -> Result<UnixMicros, DcsaError> {
    let t = humantime::parse_rfc3339(s)
        .map_err(|e| DcsaError::unfit(at, format!("{s:?} is not an RFC 3339 UTC time: {e}")))?;
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .filter(|&t| t > 0)
        .ok_or_else(|| DcsaError::unfit(at, format!("{s} is before 1970")))
}

fn text(at: &str, s: &str) -> Result<Text, DcsaError> {
    code(at, Text::parse("t", s))
}

fn code<T>(at: &str, r: Result<T, ParseError>) -> Result<T, DcsaError> {
    r.map_err(|e| DcsaError::unfit(at, e.reason))
}

// ---- the parts of a transport document corridor reads -------------------------------------
// The schema has checked types and required fields; serde reads them here. Everything else
// stays in the kept document.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Td {
    transport_document_reference: String,
    transport_document_status: String,
    transport_document_type_code: String,
    is_shipped_on_board_type: bool,
    is_electronic: bool,
    freight_payment_term_code: Option<String>,
    is_to_order: bool,
    issue_date: Option<String>,
    declared_value: Option<f64>,
    declared_value_currency: Option<String>,
    carrier_code: String,
    carrier_code_list_provider: String,
    transports: Transports,
    document_parties: DocumentParties,
    consignment_items: Vec<TdItem>,
    utilized_transport_equipments: Vec<Ute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transports {
    planned_arrival_date: String,
    planned_departure_date: String,
    place_of_receipt: Option<Location>,
    port_of_loading: Location,
    port_of_discharge: Location,
    place_of_delivery: Option<Location>,
    vessel_voyages: Vec<VesselVoyage>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(rename = "UNLocationCode")]
    un_location_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VesselVoyage {
    vessel_name: String,
    carrier_export_voyage_number: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentParties {
    shipper: DocumentParty,
    consignee: Option<DocumentParty>,
    issuing_party: DocumentParty,
    notify_parties: Option<Vec<DocumentParty>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentParty {
    party_name: String,
    address: Option<TdAddress>,
    identifying_codes: Option<Vec<IdentifyingCode>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TdAddress {
    street: String,
    street_number: Option<String>,
    post_code: Option<String>,
    city: String,
    country_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentifyingCode {
    code_list_provider: String,
    party_code: String,
    code_list_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TdItem {
    description_of_goods: Vec<String>,
    #[serde(rename = "HSCodes")]
    hs_codes: Vec<String>,
    cargo_items: Vec<CargoItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CargoItem {
    equipment_reference: String,
    cargo_gross_weight: Weight,
    outer_packaging: OuterPackaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OuterPackaging {
    package_code: Option<String>,
    number_of_packages: u32,
}

#[derive(Deserialize)]
struct Weight {
    value: f64,
    unit: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ute {
    equipment: TdEquipment,
    seals: Vec<TdSeal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TdEquipment {
    equipment_reference: String,
    #[serde(rename = "ISOEquipmentCode")]
    iso_equipment_code: Option<String>,
    tare_weight: Option<Weight>,
}

#[derive(Deserialize)]
struct TdSeal {
    number: String,
    source: Option<String>,
}
