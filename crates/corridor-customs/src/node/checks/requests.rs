//! Requests checked into the values only these checks build: everything about a request that
//! does not depend on a consignment's state.

use corridor_core::document::{
    AdvanceRecord, Declaration, DeclarationCancellation, SealCheck, TransferAction, bill_seals,
};
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, ParseError, payload_type};
use corridor_proto::v1;
use corridor_service::Refusal;
use prost::Message;

use super::signed::operator_signed;
use super::{OperatorKeys, Rules, decode, digest, envelope_id, invalid, open_envelope};
use crate::consignment::{Consignment, Opened};
use crate::error::Error;

/// A declaration checked at the first node of its route, with its bill of lading and the
/// bill's transfer chain: signed by the carrier, each transfer's actor, the declarant (and
/// the holder when another operator declares), fitting the bill, on a corridor route from
/// here, guaranteed, and held by its holder.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(super) declaration_envelope: Envelope,
    pub(super) bill_envelope: Envelope,
    pub(super) transfers: Vec<Envelope>,
    pub(super) declaration: Declaration,
    pub(super) seals: Vec<SealCheck>,
}

impl Declared {
    /// The consignment's id: the declaration's document id.
    pub(crate) fn id(&self) -> Digest {
        self.declaration_envelope.document_id()
    }

    /// The bill's document id.
    pub(crate) fn bill_id(&self) -> Digest {
        self.bill_envelope.document_id()
    }

    /// The declaration envelope's id (a repeat of the declaration has the same).
    pub(crate) fn envelope_id(&self) -> Digest {
        envelope_id(&self.declaration_envelope)
    }

    /// Who holds the bill and the goods (whose AEO status counts).
    pub(crate) fn holder(&self) -> &OperatorId {
        &self.declaration.holder_operator_id
    }
}

/// An advance record checked at the node it is for: signed by the previous node of its
/// route, whose declaration the declarant signed.
#[derive(Debug)]
pub(crate) struct Announced {
    pub(super) envelope: Envelope,
    pub(super) id: Digest,
    pub(super) opened: Opened,
}

impl Announced {
    /// The consignment's id.
    pub(crate) fn id(&self) -> Digest {
        self.id
    }

    /// The advance record envelope.
    pub(crate) fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The advance record envelope's id.
    pub(crate) fn envelope_id(&self) -> Digest {
        envelope_id(&self.envelope)
    }

    /// Who holds the bill and the goods.
    pub(crate) fn holder(&self) -> &OperatorId {
        &self.opened.declaration.holder_operator_id
    }
}

/// A payload an officer signs for one consignment at one country.
pub(crate) trait OfficerPayload: Message + Default {
    /// Its envelope's payload type.
    const PAYLOAD_TYPE: &'static str;
    /// The consignment's id bytes.
    fn consignment_id(&self) -> &[u8];
    /// The country it is for.
    fn country(&self) -> &str;
    /// When the officer saw it.
    fn at_unix_micros(&self) -> i64;
}

impl OfficerPayload for v1::BorderEvent {
    const PAYLOAD_TYPE: &'static str = payload_type::BORDER_EVENT;
    fn consignment_id(&self) -> &[u8] {
        &self.consignment_id
    }
    fn country(&self) -> &str {
        &self.country
    }
    fn at_unix_micros(&self) -> i64 {
        self.at_unix_micros
    }
}

impl OfficerPayload for v1::OfficerDecision {
    const PAYLOAD_TYPE: &'static str = payload_type::OFFICER_DECISION;
    fn consignment_id(&self) -> &[u8] {
        &self.consignment_id
    }
    fn country(&self) -> &str {
        &self.country
    }
    fn at_unix_micros(&self) -> i64 {
        self.at_unix_micros
    }
}

/// A border event or decision signed by an officer of this country, for this country, at a
/// time.
#[derive(Debug)]
pub(crate) struct OfficerSigned<M> {
    pub(super) envelope: Envelope,
    pub(super) message: M,
    pub(super) id: Digest,
}

impl<M> OfficerSigned<M> {
    /// The consignment's id.
    pub(crate) fn id(&self) -> Digest {
        self.id
    }

    /// The envelope's id.
    pub(crate) fn envelope_id(&self) -> Digest {
        envelope_id(&self.envelope)
    }
}

/// A cancellation read from its envelope; its signature is checked against the declarant of
/// the consignment it names ([`CancellationRequest::check`]).
#[derive(Debug)]
pub(crate) struct CancellationRequest {
    envelope: Envelope,
    cancellation: DeclarationCancellation,
}

impl CancellationRequest {
    /// Reads the cancellation in `req`.
    pub(crate) fn read(req: v1::SignedRequest) -> Result<Self, Error> {
        let envelope = open_envelope(
            "envelope",
            req.envelope,
            payload_type::DECLARATION_CANCELLATION,
        )?;
        let cancellation = corridor_proto::decode_declaration_cancellation(envelope.payload())
            .map_err(|e| e.within("envelope.payload"))?;
        Ok(Self {
            envelope,
            cancellation,
        })
    }

    /// The consignment it withdraws.
    pub(crate) fn id(&self) -> Digest {
        *self.cancellation.declaration_id()
    }

    /// Checks that the declarant of consignment `c` signed it.
    pub(crate) fn check(
        self,
        keys: &impl OperatorKeys,
        c: &Consignment,
    ) -> Result<Cancellation, Error> {
        operator_signed(
            keys,
            &self.envelope,
            &c.declaration.declarant_operator_id,
            self.cancellation.cancelled_at_unix_micros(),
            "cancellation",
        )?;
        Ok(Cancellation {
            envelope: self.envelope,
            reason: self.cancellation.reason().as_str().to_string(),
        })
    }
}

/// A cancellation signed by the declarant of the consignment it withdraws.
#[derive(Debug)]
pub(crate) struct Cancellation {
    pub(super) envelope: Envelope,
    pub(super) reason: String,
}

impl Cancellation {
    /// The envelope's id.
    pub(crate) fn envelope_id(&self) -> Digest {
        envelope_id(&self.envelope)
    }
}

/// The next node's receipt for an advance record: signed by that node, for that record.
#[derive(Debug)]
pub(crate) struct Receipt {
    pub(super) envelope: Envelope,
    /// The node that signed it.
    pub(super) by: CountryCode,
}

impl Rules {
    /// Checks a `SubmitDeclaration` request.
    pub(crate) fn declaration(
        &self,
        keys: &impl OperatorKeys,
        req: v1::SubmitDeclarationRequest,
    ) -> Result<Declared, Error> {
        let denv = open_envelope("declaration", req.declaration, payload_type::DECLARATION)?;
        let benv = open_envelope(
            "bill_of_lading",
            req.bill_of_lading,
            payload_type::BILL_OF_LADING,
        )?;
        if req.transfer_chain.is_empty() {
            return Err(invalid(
                "transfer_chain",
                "the bill's transfer chain is required, from its ISSUE entry on",
            ));
        }
        let mut tenvs = Vec::with_capacity(req.transfer_chain.len());
        for (i, t) in req.transfer_chain.into_iter().enumerate() {
            tenvs.push(open_envelope(
                &format!("transfer_chain[{i}]"),
                Some(t),
                payload_type::TRANSFER_ENTRY,
            )?);
        }
        // Decode (field errors) before the signatures, which need the signers' ids.
        let declaration = corridor_proto::decode_declaration(denv.payload())
            .map_err(|e| e.within("declaration.payload"))?;
        let bill = corridor_proto::decode_bill_of_lading(benv.payload())
            .map_err(|e| e.within("bill_of_lading.payload"))?;
        let mut chain = Vec::with_capacity(tenvs.len());
        for (i, t) in tenvs.iter().enumerate() {
            chain.push(
                corridor_proto::decode_transfer_entry(t.payload())
                    .map_err(|e| e.within(&format!("transfer_chain[{i}].payload")))?,
            );
        }
        let bill_id = benv.document_id();

        // Signatures: carrier on the bill, actors on the chain, declarant (and holder).
        operator_signed(
            keys,
            &benv,
            &bill.carrier.operator_id,
            bill.issued_at_unix_micros,
            "bill_of_lading",
        )?;
        for (i, (t, e)) in tenvs.iter().zip(&chain).enumerate() {
            operator_signed(
                keys,
                t,
                &e.actor,
                e.time_unix_micros,
                &format!("transfer_chain[{i}]"),
            )?;
        }
        let at = declaration.created_at_unix_micros;
        operator_signed(
            keys,
            &denv,
            &declaration.declarant_operator_id,
            at,
            "declaration",
        )?;
        if declaration.holder_operator_id != declaration.declarant_operator_id {
            operator_signed(
                keys,
                &denv,
                &declaration.holder_operator_id,
                at,
                "declaration (the holder's mandate)",
            )
            .map_err(|e| match e {
                Error::Refusal(Refusal::Unauthenticated(m)) => {
                    Error::Refusal(Refusal::PermissionDenied(format!(
                        "{} declares for {} without the holder's signature: {m}",
                        declaration.declarant_operator_id, declaration.holder_operator_id
                    )))
                }
                e => e,
            })?;
        }

        // Fields against each other.
        if declaration.bill_of_lading_id != bill_id {
            return Err(invalid(
                "declaration.payload.bill_of_lading_id",
                format!(
                    "names bill {}, but the bill presented is {bill_id}",
                    declaration.bill_of_lading_id
                ),
            ));
        }
        declaration
            .check_against_bill(&bill)
            .map_err(|e| e.within("declaration"))?;
        for (i, e) in chain.iter().enumerate() {
            let field = format!("transfer_chain[{i}]");
            if e.document_id != bill_id {
                return Err(invalid(
                    &format!("{field}.document_id"),
                    "not the bill presented",
                ));
            }
            e.check_against_bill(&bill).map_err(|x| x.within(&field))?;
            if i == 0 {
                if e.action != TransferAction::Issue {
                    return Err(invalid(
                        &format!("{field}.action"),
                        "the chain starts with ISSUE",
                    ));
                }
            } else {
                e.check_follows(&tenvs[i - 1].document_id(), &chain[i - 1])
                    .map_err(|x| x.within(&field))?;
            }
        }
        self.check_route(&declaration)?;
        self.check_guarantee(&declaration)?;

        // Roles.
        let last = &chain[chain.len() - 1];
        if last.is_final() {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "bill {bill_id} has been surrendered and accepted: it is spent"
            ))));
        }
        if last.to_holder != declaration.holder_operator_id {
            return Err(Error::Refusal(Refusal::PermissionDenied(format!(
                "the bill is held by {}, not by {}: the declarant neither holds it nor acts for its holder",
                last.to_holder, declaration.holder_operator_id
            ))));
        }
        if declaration.route[0].country != self.country {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "a declaration is submitted at the first country of its route ({}), not at {}",
                declaration.route[0].country, self.country
            ))));
        }
        Ok(Declared {
            declaration_envelope: denv,
            bill_envelope: benv,
            transfers: tenvs,
            seals: bill_seals(&bill),
            declaration,
        })
    }

    /// Checks a `DeliverAdvanceRecord` request.
    pub(crate) fn advance_record(
        &self,
        keys: &impl OperatorKeys,
        req: v1::SignedRequest,
    ) -> Result<Announced, Error> {
        let env = open_envelope("envelope", req.envelope, payload_type::ADVANCE_RECORD)?;
        // The signer must be a corridor node, and the previous node on the route.
        let signer = self.node_signed(&env)?;
        let mut record: v1::AdvanceRecord = decode("envelope", &env)?;
        // What is checked below besides the consignment; the rest opens it.
        let consignment_id = std::mem::take(&mut record.consignment_id);
        let from_country = std::mem::take(&mut record.from_country);
        let to_country = std::mem::take(&mut record.to_country);
        let prev_entry_hash = std::mem::take(&mut record.prev_entry_hash);
        let wire_declaration = record
            .declaration
            .take()
            .ok_or_else(|| ParseError::new("envelope.payload.declaration", "required"))?;
        let declaration = corridor_proto::decode_declaration(&wire_declaration.payload)
            .map_err(|e| e.within("envelope.payload.declaration.payload"))?;
        let id = digest("envelope.payload.consignment_id", &consignment_id)?;
        let denv: Envelope = wire_declaration
            .try_into()
            .map_err(|e: ParseError| e.within("envelope.payload.declaration"))?;
        if denv.document_id() != id {
            return Err(invalid(
                "envelope.payload.consignment_id",
                "is not the declaration's document id",
            ));
        }
        let opened = Opened {
            declaration_envelope: denv,
            declaration,
            seals: record.seals.into_iter().map(SealCheck::from).collect(),
            carried: corridor_proto::customs::clearances(
                "envelope.payload.clearances",
                record.clearances,
            )?,
            aeo_at_origin: Some(record.aeo_at_origin),
        };
        let (denv, declaration) = (&opened.declaration_envelope, &opened.declaration);
        operator_signed(
            keys,
            denv,
            &declaration.declarant_operator_id,
            declaration.created_at_unix_micros,
            "declaration",
        )?;
        if to_country != self.country.as_str() {
            return Err(invalid(
                "envelope.payload.to_country",
                format!("this is the node of {}", self.country),
            ));
        }
        self.check_route(declaration)?;
        let prev = previous_country(declaration, &self.country).ok_or_else(|| {
            Error::Refusal(Refusal::FailedPrecondition(format!(
                "{} is the first country of the route: declare there",
                self.country
            )))
        })?;
        if signer != prev || from_country != prev.as_str() {
            return Err(Error::Refusal(Refusal::PermissionDenied(format!(
                "the advance record is signed by the node of {signer} for {}; only the node of {prev} hands this consignment to {}",
                from_country, self.country
            ))));
        }
        digest("envelope.payload.prev_entry_hash", &prev_entry_hash)?;
        Ok(Announced {
            envelope: env,
            id,
            opened,
        })
    }

    /// Checks a `RecordBorderEvent` or `RecordDecision` request: an officer of this country
    /// signed it, for this country, at a time.
    pub(crate) fn officer_signed_request<M: OfficerPayload>(
        &self,
        req: v1::SignedRequest,
    ) -> Result<OfficerSigned<M>, Error> {
        let env = open_envelope("envelope", req.envelope, M::PAYLOAD_TYPE)?;
        self.officer_signed(&env)?;
        let m: M = decode("envelope", &env)?;
        let id = digest("envelope.payload.consignment_id", m.consignment_id())?;
        if m.country() != self.country.as_str() {
            return Err(invalid(
                "envelope.payload.country",
                format!(
                    "this is the node of {}, not {:?}",
                    self.country,
                    m.country()
                ),
            ));
        }
        if m.at_unix_micros() <= 0 {
            return Err(invalid("envelope.payload.at_unix_micros", "required"));
        }
        Ok(OfficerSigned {
            envelope: env,
            message: m,
            id,
        })
    }

    /// Checks the next node's answer to the advance record `record` of consignment `id`.
    pub(crate) fn receipt(
        &self,
        id: &Digest,
        record: &Envelope,
        next: &CountryCode,
        resp: v1::DeliverAdvanceRecordResponse,
    ) -> Result<Receipt, Error> {
        let renv = open_envelope("receipt", resp.receipt, payload_type::ADVANCE_RECEIPT)?;
        renv.verify_by(self.corridor.node_key(next)?).map_err(|e| {
            Error::Refusal(Refusal::Unauthenticated(format!(
                "receipt from {next}: {e}"
            )))
        })?;
        let r = corridor_proto::customs::decode_advance_receipt(renv.payload())
            .map_err(|e| e.within("receipt"))?;
        if r.consignment_id != *id
            || r.country != *next
            || r.advance_record_id != record.document_id()
        {
            return Err(Error::Refusal(Refusal::Unauthenticated(format!(
                "the receipt from {next} is for another record"
            ))));
        }
        Ok(Receipt {
            envelope: renv,
            by: next.clone(),
        })
    }
}

/// The country before `country` on the declaration's route.
fn previous_country(d: &Declaration, country: &CountryCode) -> Option<CountryCode> {
    d.route
        .iter()
        .position(|s| s.country == *country)
        .and_then(|i| i.checked_sub(1))
        .map(|i| d.route[i].country.clone())
}

/// What a recorded advance record opened a consignment with (checked when it was
/// recorded: [`Rules::advance_record`]).
pub(crate) fn opened_from_record(r: AdvanceRecord) -> Result<Opened, Error> {
    Ok(Opened {
        declaration: corridor_proto::decode_declaration(r.declaration.payload())
            .map_err(|e| e.within("declaration.payload"))?,
        declaration_envelope: r.declaration,
        seals: r.seals,
        carried: r.clearances,
        aeo_at_origin: Some(r.aeo_at_origin),
    })
}
