//! Requests checked into the values only these checks build: everything about a request that
//! does not depend on a consignment's state.

use std::marker::PhantomData;

use corridor_aeo::replica::{AtReceipt, also_signed_by, operator_signed};
use corridor_core::document::{
    AdvanceRecord, BorderEvent, ChainEntry, ChainError, Declaration, DeclarationCancellation,
    DeclarationSubmission, OfficerDecision, SealCheck, bill_seals, check_chain,
};
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, ParseError};
use corridor_proto::customs::{self, OfficerHeader};
use corridor_service::Refusal;

use super::{OperatorKeys, Rules, digest, envelope_id, invalid};
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
    /// The platform of record's statement that the chain is current, when the platform
    /// has the bill ([`Rules::current_chain`]).
    pub(super) chain_head: Option<Envelope>,
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

/// A document an officer signs for one consignment at one country.
pub(crate) trait OfficerPayload: Sized {
    /// Where it belongs, read before the rest.
    fn header(payload: &[u8]) -> Result<OfficerHeader, ParseError>;
    /// The whole document.
    fn decode(payload: &[u8]) -> Result<Self, ParseError>;
}

impl OfficerPayload for BorderEvent {
    fn header(payload: &[u8]) -> Result<OfficerHeader, ParseError> {
        customs::decode_border_event_header(payload)
    }
    fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        customs::decode_border_event(payload)
    }
}

impl OfficerPayload for OfficerDecision {
    fn header(payload: &[u8]) -> Result<OfficerHeader, ParseError> {
        customs::decode_officer_decision_header(payload)
    }
    fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        customs::decode_officer_decision(payload)
    }
}

/// A border event or decision signed by an officer of this country, for this country, at a
/// time. The rest of it (the event's kind and border post, the decision's outcome) is read
/// once the consignment is found ([`OfficerSigned::document`]), and checked with it: which
/// posts a border event may name depends on where the consignment's route starts.
#[derive(Debug)]
pub(crate) struct OfficerSigned<M> {
    pub(super) envelope: Envelope,
    pub(super) id: Digest,
    document: PhantomData<M>,
}

impl<M: OfficerPayload> OfficerSigned<M> {
    /// The consignment's id.
    pub(crate) fn id(&self) -> Digest {
        self.id
    }

    /// The envelope's id.
    pub(crate) fn envelope_id(&self) -> Digest {
        envelope_id(&self.envelope)
    }

    /// The whole document.
    pub(super) fn document(&self) -> Result<M, Error> {
        Ok(M::decode(self.envelope.payload()).map_err(|e| e.within("envelope"))?)
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
    /// Reads the cancellation in `envelope` (of payload type
    /// [`corridor_core::payload_type::DECLARATION_CANCELLATION`]).
    pub(crate) fn read(envelope: Envelope) -> Result<Self, Error> {
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

    /// Checks that it is dated within `rules`' window around `now` and that the declarant
    /// of consignment `c` signed it, with a key valid then and now.
    pub(crate) fn check(
        self,
        rules: &Rules,
        keys: &impl OperatorKeys,
        c: &Consignment,
        now: i64,
    ) -> Result<Cancellation, Error> {
        let at = self.cancellation.cancelled_at_unix_micros();
        rules
            .times
            .check_window("envelope.payload.cancelled_at_unix_micros", at, now)?;
        operator_signed(
            &AtReceipt::new(keys, now),
            &self.envelope,
            &c.declaration.declarant_operator_id,
            at,
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
    /// Checks a `SubmitDeclaration` request received at `now`.
    pub(crate) fn declaration(
        &self,
        keys: &impl OperatorKeys,
        submission: DeclarationSubmission,
        now: i64,
    ) -> Result<Declared, Error> {
        let DeclarationSubmission {
            declaration: denv,
            bill_of_lading: benv,
            transfer_chain: tenvs,
        } = submission;
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
        // Times (SIGNING.md section 3): the declaration enters the corridor here, so it is
        // dated within the window around now; the bill and its chain were recorded by their
        // platform before, and are only not dated ahead of now.
        let at = declaration.created_at_unix_micros;
        self.times
            .check_window("declaration.payload.created_at_unix_micros", at, now)?;
        self.times.check_ahead(
            "bill_of_lading.payload.issued_at_unix_micros",
            bill.issued_at_unix_micros,
            now,
        )?;
        for (i, e) in chain.iter().enumerate() {
            self.times.check_ahead(
                &format!("transfer_chain[{i}].payload.time_unix_micros"),
                e.time_unix_micros,
                now,
            )?;
        }

        // Signatures: carrier on the bill, actors on the chain, declarant (and holder), whose
        // keys must be valid at the declaration's time and now.
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
        let received = AtReceipt::new(keys, now);
        operator_signed(
            &received,
            &denv,
            &declaration.declarant_operator_id,
            at,
            "declaration",
        )?;
        if declaration.holder_operator_id != declaration.declarant_operator_id {
            also_signed_by(
                &received,
                &denv,
                &declaration.holder_operator_id,
                at,
                "declaration (the holder's mandate)",
            )
            .map_err(|e| match e {
                Refusal::Unauthenticated(m) => Refusal::PermissionDenied(format!(
                    "{} declares for {} without the holder's signature: {m}",
                    declaration.declarant_operator_id, declaration.holder_operator_id
                )),
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
        let ids: Vec<Digest> = tenvs.iter().map(Envelope::document_id).collect();
        let links: Vec<ChainEntry<'_>> = ids
            .iter()
            .zip(&chain)
            .map(|(id, entry)| ChainEntry { id, entry })
            .collect();
        // The chain's fields now; who acted in it, and whether it is spent, with the roles.
        let chain_roles = match check_chain("transfer_chain", &bill_id, &bill, &links) {
            Err(ChainError::Invalid(p)) => return Err(p.into()),
            other => other,
        };
        self.check_route(&declaration)?;
        self.check_guarantee(&declaration)?;

        // Roles.
        chain_roles.map_err(Refusal::from)?;
        let last = &chain[chain.len() - 1];
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
            chain_head: None,
            seals: bill_seals(&bill),
            declaration,
        })
    }

    /// Checks declaration `d`'s transfer chain against `head`, the bill's platform of
    /// record's signed statement of its chain as it stands (`None`: the platform does not have
    /// the bill, which is then taken on its chain's signatures alone). The chain presented
    /// must be that one: a shorter or another chain is one the platform has superseded, a
    /// longer one has transfers the platform never recorded (FailedPrecondition either way).
    /// The statement must be fresh: made while the node asked for it, between `asked` and
    /// `answered` on its clock, give or take `max_ahead_secs` of clock skew (an older one is
    /// a replay).
    pub(crate) fn current_chain(
        &self,
        mut d: Declared,
        head: Option<Envelope>,
        (asked, answered): (i64, i64),
    ) -> Result<Declared, Error> {
        let Some(head) = head else { return Ok(d) };
        let bill = d.bill_id();
        let platform = |why: String| {
            Error::Refusal(Refusal::Unavailable(format!(
                "the bill's platform of record gave a chain head of bill {bill} that {why}"
            )))
        };
        let key =
            self.corridor.declarant.as_ref().ok_or_else(|| {
                Error::State("the declarant's key, which signs chain heads".into())
            })?;
        head.verify_by(key)
            .map_err(|e| platform(format!("is not the declarant's: {e}")))?;
        let h = corridor_proto::declarant::decode_chain_head(head.payload())
            .map_err(|e| platform(format!("does not decode: {e}")))?;
        if h.bill_of_lading_id != bill {
            return Err(platform(format!("is of bill {}", h.bill_of_lading_id)));
        }
        let skew = i64::from(self.times.max_ahead_secs) * 1_000_000;
        if h.at_unix_micros < asked.saturating_sub(skew)
            || h.at_unix_micros > answered.saturating_add(skew)
        {
            return Err(platform(format!(
                "was made at {}, not now (asked at {})",
                corridor_topology::clock::format_micros(h.at_unix_micros),
                corridor_topology::clock::format_micros(asked)
            )));
        }
        let presented = d.transfers.len() as u64;
        let last = d.transfers.last().map(Envelope::document_id);
        if presented == h.entries && last == Some(h.head_entry_id) {
            d.chain_head = Some(head);
            return Ok(d);
        }
        let stated = format!(
            "its platform of record has {} entries, the last {} (to {}) as of {}",
            h.entries,
            h.head_entry_id,
            h.holder,
            corridor_topology::clock::format_micros(h.at_unix_micros)
        );
        Err(Error::Refusal(Refusal::FailedPrecondition(
            if presented > h.entries {
                format!(
                    "transfer_chain: {presented} entries, beyond what the bill's platform of record has recorded ({stated}): record the transfers there first"
                )
            } else {
                format!(
                    "superseded transfer chain: the chain presented of bill {bill} has {presented} entries, the last {}; {stated}",
                    last.map_or(String::new(), |l| l.to_string())
                )
            },
        )))
    }

    /// Checks a `DeliverAdvanceRecord` request: the advance record in `env` (of payload
    /// type [`corridor_core::payload_type::ADVANCE_RECORD`]).
    pub(crate) fn advance_record(
        &self,
        keys: &impl OperatorKeys,
        env: Envelope,
    ) -> Result<Announced, Error> {
        // The signer must be a corridor node, and the previous node on the route.
        let signer = self.node_signed(&env)?;
        let record =
            customs::decode_advance_record(env.payload()).map_err(|e| e.within("envelope"))?;
        let id = record.consignment_id;
        if record.declaration.document_id() != id {
            return Err(invalid(
                "envelope.payload.consignment_id",
                "is not the declaration's document id",
            ));
        }
        let (from_country, to_country) = (record.from_country.clone(), record.to_country.clone());
        let exit = record.exit;
        let opened = opened_from_record(record).map_err(|e| e.within("envelope.payload"))?;
        let (denv, declaration) = (&opened.declaration_envelope, &opened.declaration);
        operator_signed(
            keys,
            denv,
            &declaration.declarant_operator_id,
            declaration.created_at_unix_micros,
            "declaration",
        )?;
        if to_country != self.country {
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
        if signer != prev || from_country != prev {
            return Err(Error::Refusal(Refusal::PermissionDenied(format!(
                "the advance record is signed by the node of {signer} for {}; only the node of {prev} hands this consignment to {}",
                from_country, self.country
            ))));
        }
        if exit.is_none() {
            return Err(invalid(
                "envelope.payload.prev_entry_hash",
                "required: the hash of the exit entry the record links",
            ));
        }
        Ok(Announced {
            envelope: env,
            id,
            opened,
        })
    }

    /// Checks a `RecordBorderEvent` or `RecordDecision` request received at `now`, the
    /// document in `env` (its payload type checked as the envelope was opened): an officer of
    /// this country signed it, for this country, at a time within the window around `now`.
    pub(crate) fn officer_request<M: OfficerPayload>(
        &self,
        env: Envelope,
        now: i64,
    ) -> Result<OfficerSigned<M>, Error> {
        self.officer_signed(&env)?;
        let m = M::header(env.payload()).map_err(|e| e.within("envelope"))?;
        let id = digest("envelope.payload.consignment_id", &m.consignment_id)?;
        if m.country != self.country.as_str() {
            return Err(invalid(
                "envelope.payload.country",
                format!("this is the node of {}, not {:?}", self.country, m.country),
            ));
        }
        self.times
            .check_window("envelope.payload.at_unix_micros", m.at_unix_micros, now)?;
        Ok(OfficerSigned {
            envelope: env,
            id,
            document: PhantomData,
        })
    }

    /// Checks the next node's answer to the advance record `record` of consignment `id`:
    /// its receipt `renv` (of payload type [`corridor_core::payload_type::ADVANCE_RECEIPT`]).
    pub(crate) fn receipt(
        &self,
        id: &Digest,
        record: &Envelope,
        next: &CountryCode,
        renv: Envelope,
    ) -> Result<Receipt, Error> {
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

/// What an advance record opens a consignment with (checked when it was recorded:
/// [`Rules::advance_record`]).
pub(crate) fn opened_from_record(r: AdvanceRecord) -> Result<Opened, ParseError> {
    Ok(Opened {
        declaration: corridor_proto::decode_declaration(r.declaration.payload())
            .map_err(|e| e.within("declaration.payload"))?,
        declaration_envelope: r.declaration,
        seals: r.seals,
        carried: r.clearances,
        aeo_at_origin: Some(r.aeo_at_origin),
    })
}
