//! Consignments for the tests: the sample goods signed by their parties and ready to submit
//! (and declared again with the same bill), and as plain data for the declarant (with the
//! bill as plain data too, or signed by its carrier and presented with its ISSUE entry).

use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};
use corridor_core::document::{BillOfLading, BillOfLadingParts, DeclarationParts, TransferEntry};
use corridor_core::{Digest, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::examples::Parties;
use corridor_proto::v1;

use super::{Sandbox, now};

impl Sandbox {
    /// A fresh consignment `n` of the sample goods (Xi'an to Istanbul), declared by the
    /// forwarder for the shipper (who co-signs), its bill issued by the carrier to the
    /// shipper; `tweak` may change the declaration first. The parties must be registered.
    pub fn consignment(&self, n: u32, tweak: impl FnOnce(&mut DeclarationParts)) -> Consignment {
        self.consignment_with(n, |_| {}, tweak)
    }

    /// [`Sandbox::consignment`], with `bill_tweak` changing the bill of lading before the
    /// carrier signs it (the declaration then names the changed bill, and its items must
    /// still match the bill's item by item: change both alike).
    pub fn consignment_with(
        &self,
        n: u32,
        bill_tweak: impl FnOnce(&mut BillOfLadingParts),
        tweak: impl FnOnce(&mut DeclarationParts),
    ) -> Consignment {
        let key = |id: &str| self.operators.get(id).expect("registered party").clone();
        let (shipper, carrier, forwarder) = (key(SHIPPER_ID), key(CARRIER_ID), key(FORWARDER_ID));
        let t0 = now();
        let mut bill_parts = bill_of_lading_at(&format!("KTZE-T-{n:06}"), t0).into_parts();
        bill_tweak(&mut bill_parts);
        let bill = BillOfLading::new(bill_parts).expect("valid bill of lading");
        let benv = Envelope::sign(
            pt::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&bill),
            &carrier,
        );
        let bill_id = benv.document_id();
        let issue = TransferEntry::issue(
            bill_id,
            OperatorId::parse("carrier", CARRIER_ID).expect("id"),
            OperatorId::parse("shipper", SHIPPER_ID).expect("id"),
            t0,
        )
        .expect("issue entry");
        let ienv = Envelope::sign(
            pt::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(&issue),
            &carrier,
        );
        let mut parts = declaration_at(bill_id, &format!("SRM-T-{n:06}"), t0).into_parts();
        tweak(&mut parts);
        let declaration =
            corridor_core::document::Declaration::new(parts).expect("valid declaration");
        let mut denv = Envelope::sign(
            pt::DECLARATION,
            corridor_proto::encode_declaration(&declaration),
            &forwarder,
        );
        denv.add_signature(&shipper);
        let seals = corridor_proto::seal_checks(&bill);
        Consignment {
            id: denv.document_id(),
            request: v1::SubmitDeclarationRequest {
                declaration: Some(v1::Envelope::from(&denv)),
                bill_of_lading: Some(v1::Envelope::from(&benv)),
                transfer_chain: vec![v1::Envelope::from(&ienv)],
            },
            route: declaration
                .route
                .iter()
                .map(|s| s.country.to_string())
                .collect(),
            seals,
        }
    }

    /// Another declaration of consignment `c`'s bill, with the same bill and transfer chain:
    /// `c`'s declaration changed by `tweak`, signed as [`Sandbox::consignment`] signs one.
    pub fn redeclared(
        &self,
        c: &Consignment,
        tweak: impl FnOnce(&mut DeclarationParts),
    ) -> Consignment {
        let key = |id: &str| self.operators.get(id).expect("registered party").clone();
        let env: Envelope = c
            .request
            .declaration
            .clone()
            .expect("a declaration")
            .try_into()
            .expect("a valid envelope");
        let mut parts = corridor_proto::decode_declaration(env.payload())
            .expect("a valid declaration")
            .into_parts();
        tweak(&mut parts);
        let declaration =
            corridor_core::document::Declaration::new(parts).expect("valid declaration");
        let mut denv = Envelope::sign(
            pt::DECLARATION,
            corridor_proto::encode_declaration(&declaration),
            &key(FORWARDER_ID),
        );
        denv.add_signature(&key(SHIPPER_ID));
        let mut request = c.request.clone();
        request.declaration = Some(v1::Envelope::from(&denv));
        Consignment {
            id: denv.document_id(),
            request,
            route: declaration
                .route
                .iter()
                .map(|s| s.country.to_string())
                .collect(),
            seals: c.seals.clone(),
        }
    }
}

/// A consignment ready to submit.
pub struct Consignment {
    /// Its id: the declaration's document id.
    pub id: Digest,
    /// The submission.
    pub request: v1::SubmitDeclarationRequest,
    /// The countries of its route, in order.
    pub route: Vec<String>,
    /// Every seal of its bill, intact.
    pub seals: Vec<v1::SealCheck>,
}

/// A consignment as plain data for the declarant.
#[derive(Clone, Debug)]
pub struct PlainConsignment {
    /// The request, bill and declaration unsigned.
    pub request: v1::SubmitConsignmentRequest,
    /// The countries of its route, in order.
    pub route: Vec<String>,
    /// Every seal of its bill, intact.
    pub seals: Vec<v1::SealCheck>,
}

/// Consignment `c` with its bill given the third way: signed with `carrier` (its carrier's
/// key, which the declarant need not hold) and issued to its shipper at `at`, presented with
/// that ISSUE entry (signed by the carrier too) instead of as plain data. The declaration is
/// dated `at` too, so that the same request can be sent again.
pub fn carrier_signed(
    c: &PlainConsignment,
    carrier: &SigningKey,
    at: i64,
) -> v1::SubmitConsignmentRequest {
    let mut wire = c.request.bill_of_lading.clone().expect("a plain bill");
    wire.issued_at_unix_micros = at;
    let bill = BillOfLading::try_from(wire).expect("valid bill of lading");
    let benv = Envelope::sign(
        pt::BILL_OF_LADING,
        corridor_proto::encode_bill_of_lading(&bill),
        carrier,
    );
    let issue = TransferEntry::issue(
        benv.document_id(),
        bill.carrier.operator_id.clone(),
        bill.shipper.operator_id.clone(),
        at,
    )
    .expect("issue entry");
    let ienv = Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(&issue),
        carrier,
    );
    let mut request = c.request.clone();
    request.bill_of_lading = None;
    request.bill_of_lading_envelope = Some(v1::Envelope::from(&benv));
    request.transfer_chain = vec![v1::Envelope::from(&ienv)];
    if let Some(d) = request.declaration.as_mut() {
        d.created_at_unix_micros = at;
    }
    request
}

/// Consignment `n` of the sample goods as plain data for the declarant, between `parties`,
/// planned from now (`corridor_proto::examples::plain_consignment`).
pub fn plain_consignment(n: u32, parties: &Parties<'_>) -> PlainConsignment {
    let plain = corridor_proto::examples::plain_consignment(
        &format!("KTZE-D-{n:06}"),
        &format!("XSRE-D-{n:06}"),
        now(),
        parties,
    );
    let route = plain
        .request
        .declaration
        .iter()
        .flat_map(|d| &d.route)
        .map(|s| s.country.clone())
        .collect();
    PlainConsignment {
        request: plain.request,
        route,
        seals: plain.seals,
    }
}
