//! Conversions between the declarations and cancellations of `declaration.proto` (route
//! steps, transport means, declared items, guarantee) and `corridor_core::document`'s
//! `Declaration` and `DeclarationCancellation`, and their payload bytes.

use corridor_core::document::{
    Declaration, DeclarationCancellation, DeclarationParts, DeclarationRole, DeclaredItem,
    DeclaredItemParts, Guarantee, RouteStep, RouteStepParts, Text, TransportMeans,
};
use corridor_core::{CountryCode, HsCode, OperatorId, PackageType, ParseError, UnLocode};
use prost::Message;

use super::{
    at, container_numbers, container_numbers_to_wire, decode, digest, money, money_to_wire,
    nonzero_u32, nonzero_u64, number_of, opt_string, optional_str, position, required,
    required_str, transport_mode, unknown_enum, unspecified_enum, within,
};
use crate::v1;

// ---- enums --------------------------------------------------------------------------------

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
    use crate::document::tests::{Change, bill_id};
    use corridor_core::document::examples::{self, sample_declaration};

    fn wire_declaration() -> v1::Declaration {
        (&sample_declaration(bill_id())).into()
    }

    fn declaration_error(change: impl FnOnce(&mut v1::Declaration)) -> String {
        let mut m = wire_declaration();
        change(&mut m);
        Declaration::try_from(m)
            .expect_err("the declaration should be refused")
            .field
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
