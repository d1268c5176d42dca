//! The sample consignment of `corridor_core::document::examples` as plain data for the
//! declarant (`corridor.v1.SubmitConsignmentRequest`), between any parties: what `corridor
//! declare --example`, the demo, the corridor benchmark and the test sandbox send.

use corridor_core::Digest;
use corridor_core::document::examples::{
    CARRIER_ID, CONSIGNEE_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};

use crate::document::seal_checks;
use crate::v1;

/// Who a plain consignment is between (operator ids).
#[derive(Clone, Copy, Debug)]
pub struct Parties<'a> {
    /// The shipper: the bill's first holder and the holder of the operation.
    pub shipper: &'a str,
    /// Who lodges the declaration (may be the shipper).
    pub declarant: &'a str,
    /// The carrier that issues the bill.
    pub carrier: &'a str,
    /// The consignee of the (straight) bill.
    pub consignee: &'a str,
}

/// A consignment as plain data, and what an officer finds at its first border.
#[derive(Clone, Debug)]
pub struct PlainConsignment {
    /// The request: bill and declaration unsigned.
    pub request: v1::SubmitConsignmentRequest,
    /// Every seal of the bill, intact.
    pub seals: Vec<v1::SealCheck>,
}

/// The sample goods as plain data for the declarant, between `parties`, with the carriage
/// planned from `planned_from`; the bill's issue and the declaration's times are left to the
/// declarant (0: now) and so is the declaration's bill id.
pub fn plain_consignment(
    bill_reference: &str,
    declaration_reference: &str,
    planned_from: i64,
    parties: &Parties<'_>,
) -> PlainConsignment {
    let map = |id: &mut String| {
        let to = match id.as_str() {
            SHIPPER_ID => parties.shipper,
            CARRIER_ID => parties.carrier,
            CONSIGNEE_ID => parties.consignee,
            FORWARDER_ID => parties.declarant,
            _ => return,
        };
        *id = to.to_string();
    };
    let bill = bill_of_lading_at(bill_reference, planned_from);
    let mut b = v1::BillOfLading::from(&bill);
    b.issued_at_unix_micros = 0;
    for p in [
        &mut b.shipper,
        &mut b.consignee,
        &mut b.carrier,
        &mut b.notify_party,
    ]
    .into_iter()
    .flatten()
    {
        map(&mut p.operator_id);
    }
    for l in &mut b.transport_legs {
        map(&mut l.carrier_operator_id);
    }
    let declaration = declaration_at(Digest::ZERO, declaration_reference, planned_from);
    let mut d = v1::Declaration::from(&declaration);
    d.bill_of_lading_id = Vec::new();
    d.created_at_unix_micros = 0;
    map(&mut d.declarant_operator_id);
    map(&mut d.holder_operator_id);
    PlainConsignment {
        request: v1::SubmitConsignmentRequest {
            bill_of_lading: Some(b),
            bill_of_lading_id: String::new(),
            declaration: Some(d),
            bill_of_lading_envelope: None,
            transfer_chain: Vec::new(),
            bill_of_lading_dcsa: String::new(),
        },
        seals: seal_checks(&bill),
    }
}
