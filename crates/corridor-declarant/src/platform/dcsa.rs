//! DCSA transport documents at the platform: a document imported as a new bill of its
//! carrier, a bill given out as a document, and the check that a bill carrying a document
//! says what the document says.

use corridor_aeo::replica::Replica;
use corridor_core::document::BillOfLading;
use corridor_core::document::declarant::{BillRecord, SubmissionState};
use corridor_core::{AeoId, Digest, Envelope, OperatorId, ParseError, payload_type};
use corridor_dcsa::export::{Declared, canonical};
use corridor_dcsa::{Contact, DcsaError, ExportError, Parties, TransportDocument};

use corridor_service::Refusal;

use super::{Platform, lock};
use crate::error::Error;

/// The registry as the platform's replica knows it.
struct Registry<'a>(&'a Replica);

impl Parties for Registry<'_> {
    fn is_operator(&self, id: &OperatorId) -> bool {
        self.0.is_operator(id)
    }
    fn aeo_holder(&self, id: &AeoId) -> Option<OperatorId> {
        self.0.certificate_holder(id)
    }
}

/// A refusal of a document given in request field `field`.
fn refused(field: &str, e: &DcsaError) -> Error {
    Error::from(ParseError::new(field, e.to_string()))
}

impl Platform {
    /// The bill the DCSA transport document `json` (request field `field`) describes, its
    /// parties found in the registry replica; the document is kept in it.
    ///
    /// The carrier's key, which the declarant signs the bill with, must be valid at the
    /// bill's time of issue: a document dated only by its `issueDate` is issued at 00:00 UTC
    /// that day, which may be before the key was registered.
    pub(crate) fn dcsa_bill(&self, field: &str, json: &str) -> Result<BillOfLading, Error> {
        let doc = TransportDocument::read(json).map_err(|e| refused(field, &e))?;
        let replica = self.inner.replica.read();
        let bill =
            corridor_dcsa::import(&doc, &Registry(&replica)).map_err(|e| refused(field, &e))?;
        let carrier = &bill.carrier.operator_id;
        let key = self.operator_key(carrier, "carrier")?;
        // The same document again is the bill recorded, however long ago.
        let id = Envelope::sign(
            payload_type::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&bill),
            key,
        )
        .document_id();
        {
            let st = lock(&self.inner.state);
            if st.bills.contains_key(&id) {
                return Ok(bill);
            }
            // A carrier issues one bill per transport document reference: another document
            // under a reference already on the platform (an exported copy with customs
            // references added, an edited one) would be a second title to the same goods.
            let reference = bill.transport_document_reference.as_str();
            if let Some((other, _)) = st.bills.iter().find(|(_, b)| {
                b.bill.carrier.operator_id == *carrier
                    && b.bill.transport_document_reference.as_str() == reference
            }) {
                return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                    "{field}: /transportDocumentReference: {reference} of carrier {carrier} is \
                     bill {} on this platform, issued from another document; a carrier \
                     issues one bill per reference",
                    other.to_hex()
                ))));
            }
        }
        self.inner.times.check_window(
            &format!("{field}: /issueDate"),
            bill.issued_at_unix_micros,
            self.now(),
        )?;
        if let Err(why) = replica.operator_key(carrier, &key.id(), bill.issued_at_unix_micros) {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "{field}: the bill is issued at {} and the carrier's key cannot sign it then: \
                 {why}; a document dated by its issueDate alone is issued at 00:00 UTC, so \
                 give the exact time in the corridor property's issuedAt",
                corridor_topology::clock::format_micros(bill.issued_at_unix_micros)
            ))));
        }
        Ok(bill)
    }

    /// `ImportBill`: the document as a new bill, signed by its carrier (whose key the
    /// declarant must hold) and issued to its shipper, recorded on the platform. The same
    /// document again is the same bill, and records nothing.
    pub(crate) async fn import_bill(&self, json: &str) -> Result<BillRecord, Error> {
        let bill = self.dcsa_bill("transport_document_json", json)?;
        let mut presented = self.issue(bill)?;
        self.record(presented.planned()).await?;
        presented.recorded();
        self.bill(&presented.id)
    }

    /// `ExportBill`: bill `id` as a DCSA transport document in its canonical form, with a
    /// customs reference for each consignment declared with it that the first node did not
    /// refuse; `contact` is for a bill made from corridor data. Also whether the document
    /// was generated (the bill keeps none).
    pub(crate) fn export_bill(
        &self,
        id: &Digest,
        contact: Option<&Contact>,
    ) -> Result<(String, bool), Error> {
        let (bill, declared) = {
            let st = lock(&self.inner.state);
            let bill = st
                .bills
                .get(id)
                .map(|b| b.bill.clone())
                .ok_or_else(|| super::bills::not_on_platform(id))?;
            let mut declared: Vec<(i64, Declared)> = st
                .submissions
                .iter()
                .filter(|(_, s)| {
                    s.declaration.bill_of_lading_id == *id && s.state != SubmissionState::Refused
                })
                .map(|(cid, s)| {
                    (
                        s.declaration.created_at_unix_micros,
                        Declared {
                            consignment_id: *cid,
                            export_country: s.declaration.route[0].country.clone(),
                        },
                    )
                })
                .collect();
            declared.sort_by_key(|(at, d)| (*at, d.consignment_id.to_hex()));
            (
                bill,
                declared.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
            )
        };
        let doc = corridor_dcsa::export(&bill, &declared, contact).map_err(|e| {
            let field = match e {
                ExportError::NeedsContact => "contact_name",
                _ => "bill_of_lading_id",
            };
            Error::from(ParseError::new(field, e.to_string()))
        })?;
        Ok((canonical(&doc), bill.transport_document.is_none()))
    }

    /// A bill presented with a kept DCSA document must be the bill that document maps to:
    /// the carrier signed both, and the corridor acts on the bill's fields.
    pub(crate) fn check_kept_document(
        &self,
        field: &str,
        bill: &BillOfLading,
    ) -> Result<(), Error> {
        let Some(kept) = &bill.transport_document else {
            return Ok(());
        };
        let doc = TransportDocument::from_kept(kept).map_err(|e| refused(field, &e))?;
        let mapped = {
            let replica = self.inner.replica.read();
            corridor_dcsa::import(&doc, &Registry(&replica)).map_err(|e| refused(field, &e))?
        };
        if mapped != *bill {
            return Err(Error::from(ParseError::new(
                field,
                "the bill's fields are not those its DCSA transport document maps to",
            )));
        }
        Ok(())
    }
}
