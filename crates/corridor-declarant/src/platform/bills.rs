//! Bills of lading on the platform and their transfer chains: a new bill is issued (signed
//! by its carrier, with its ISSUE entry), a bill on the platform is found, and each transfer
//! is checked against the bill as it stands (`check_transfer`, pure) before it is recorded.

use corridor_aeo::replica::operator_signed;
use corridor_core::document::declarant::{BillRecord, BillSource};
use corridor_core::document::{BillOfLading, TransferEntry};
use corridor_core::{Digest, Envelope, ParseError, payload_type};
use corridor_service::Refusal;

use super::record::{Effect, Planned};
use super::{Bill, ChainLink, Platform, kind, lock};
use crate::error::Error;

/// The bill a submission names, ready to be lodged with it.
pub(crate) struct PresentedBill {
    /// Its document id.
    pub(crate) id: Digest,
    /// The bill, signed by its carrier.
    pub(crate) envelope: Envelope,
    pub(crate) bill: BillOfLading,
    /// Its transfer chain as it stands.
    pub(crate) chain: Vec<ChainLink>,
    /// Whether it is issued with this submission (and recorded with it).
    pub(crate) new: bool,
}

impl PresentedBill {
    /// The entries that record a new bill and its chain (none for a bill on the platform).
    pub(super) fn planned(&self) -> Vec<Planned> {
        if !self.new {
            return Vec::new();
        }
        let mut planned = vec![Planned {
            kind: kind::BILL,
            subject: self.id,
            envelope: self.envelope.clone(),
            rows: Vec::new(),
            effect: Effect::Bill(Box::new((self.envelope.clone(), self.bill.clone()))),
        }];
        for l in &self.chain {
            planned.push(Planned {
                kind: kind::TRANSFER,
                subject: self.id,
                envelope: l.envelope.clone(),
                rows: Vec::new(),
                effect: Effect::Transfer(Box::new((l.envelope.clone(), l.entry.clone()))),
            });
        }
        planned
    }
}

impl Bill {
    fn tip(&self) -> Option<&ChainLink> {
        self.chain.last()
    }

    /// The bill as `GetBill` shows it.
    pub(crate) fn record(&self, id: &Digest) -> BillRecord {
        let tip = self.tip();
        BillRecord {
            bill_of_lading_id: *id,
            bill_of_lading: self.envelope.clone(),
            chain: self.chain.iter().map(|l| l.envelope.clone()).collect(),
            holder: tip.map(|l| l.entry.to_holder.clone()),
            spent: tip.is_some_and(|l| l.entry.is_final()),
            last_action: tip.map(|l| l.entry.action),
        }
    }
}

fn not_on_platform(id: &Digest) -> Error {
    Error::Refusal(Refusal::NotFound(format!(
        "bill {id} is not on this platform"
    )))
}

/// What a signed transfer entry is to its bill as it stands.
#[derive(Debug, PartialEq, Eq)]
enum Transfer {
    /// The same envelope is in the chain already.
    Recorded,
    /// It is the chain's next entry.
    Next,
}

/// Checks the transfer entry `entry` (document id `env_id`) against the bill `bill_id` as it
/// stands: a second entry from the same holder state is a double spend; the next entry is
/// signed by the holder (or the carrier answering a surrender), follows the tip and agrees
/// with the bill.
fn check_transfer(
    bill_id: &Digest,
    b: &Bill,
    env_id: &Digest,
    entry: &TransferEntry,
) -> Result<Transfer, Error> {
    if b.chain.iter().any(|l| l.id == *env_id) {
        return Ok(Transfer::Recorded);
    }
    if let Some(earlier) = b.chain.get(entry.seq as usize) {
        let earlier = &earlier.entry;
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "double spend: entry {} of bill {bill_id} was already recorded from this holder state ({} by {} to {})",
            entry.seq,
            earlier.action.name(),
            earlier.actor,
            earlier.to_holder
        ))));
    }
    let tip = b
        .tip()
        .ok_or_else(|| Error::State(format!("bill {bill_id} has no chain")))?;
    if entry.seq == tip.entry.seq + 1 {
        entry
            .check_holder(&tip.entry)
            .map_err(|e| Error::Refusal(Refusal::PermissionDenied(e.to_string())))?;
    }
    entry
        .check_follows(&tip.id, &tip.entry)
        .map_err(|e| Error::Refusal(Refusal::FailedPrecondition(e.to_string())))?;
    entry
        .check_against_bill(&b.bill)
        .map_err(|e| e.within("entry.payload"))?;
    Ok(Transfer::Next)
}

impl Platform {
    /// The bill of a submission: a new one signed by its carrier's key with its ISSUE entry,
    /// or one on the platform.
    pub(crate) fn present(&self, source: BillSource) -> Result<PresentedBill, Error> {
        match source {
            BillSource::Issue(bill) => {
                let bill = *bill;
                let carrier = self.operator_key(&bill.carrier.operator_id, "carrier")?;
                let envelope = Envelope::sign(
                    payload_type::BILL_OF_LADING,
                    corridor_proto::encode_bill_of_lading(&bill),
                    carrier,
                );
                let issue = TransferEntry::issue(
                    envelope.document_id(),
                    bill.carrier.operator_id.clone(),
                    bill.shipper.operator_id.clone(),
                    bill.issued_at_unix_micros,
                )
                .map_err(|e| e.within("bill_of_lading"))?;
                let ienv = Envelope::sign(
                    payload_type::TRANSFER_ENTRY,
                    corridor_proto::encode_transfer_entry(&issue),
                    carrier,
                );
                let id = ienv.document_id();
                Ok(PresentedBill {
                    id: envelope.document_id(),
                    envelope,
                    bill,
                    chain: vec![ChainLink {
                        envelope: ienv,
                        entry: issue,
                        id,
                    }],
                    new: true,
                })
            }
            BillSource::OnPlatform(id) => {
                let st = lock(&self.inner.state);
                let b = st.bills.get(&id).ok_or_else(|| not_on_platform(&id))?;
                Ok(PresentedBill {
                    id,
                    envelope: b.envelope.clone(),
                    bill: b.bill.clone(),
                    chain: b.chain.clone(),
                    new: false,
                })
            }
        }
    }

    /// `TransferBill`: a transfer entry signed by its actor.
    pub(crate) async fn transfer(&self, env: Envelope) -> Result<BillRecord, Error> {
        if env.payload_type() != payload_type::TRANSFER_ENTRY {
            return Err(Error::from(ParseError::new(
                "entry.payload_type",
                format!("expected {:?}", payload_type::TRANSFER_ENTRY),
            )));
        }
        let entry = corridor_proto::decode_transfer_entry(env.payload())
            .map_err(|e| e.within("entry.payload"))?;
        let bill_id = entry.document_id;
        operator_signed(
            &*self.inner.replica.read(),
            &env,
            &entry.actor,
            entry.time_unix_micros,
            "entry",
        )?;
        let bill_lock = lock(&self.inner.bill_locks)
            .entry(bill_id)
            .or_default()
            .clone();
        let _one_at_a_time = bill_lock.lock().await;
        {
            let st = lock(&self.inner.state);
            let b = st
                .bills
                .get(&bill_id)
                .ok_or_else(|| not_on_platform(&bill_id))?;
            if check_transfer(&bill_id, b, &env.document_id(), &entry)? == Transfer::Recorded {
                return Ok(b.record(&bill_id));
            }
        }
        self.record(vec![Planned {
            kind: kind::TRANSFER,
            subject: bill_id,
            envelope: env.clone(),
            rows: Vec::new(),
            effect: Effect::Transfer(Box::new((env, entry))),
        }])
        .await?;
        let st = lock(&self.inner.state);
        st.bills
            .get(&bill_id)
            .map(|b| b.record(&bill_id))
            .ok_or_else(|| Error::State("bill".into()))
    }

    /// `GetBill`.
    pub(crate) fn bill(&self, id: &Digest) -> Result<BillRecord, Error> {
        let st = lock(&self.inner.state);
        st.bills
            .get(id)
            .map(|b| b.record(id))
            .ok_or_else(|| not_on_platform(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::examples::{
        CONSIGNEE_ID, FORWARDER_ID, ISSUED_AT, SHIPPER_ID, sample_bill_of_lading, sample_issue,
    };
    use corridor_core::document::{TransferAction, TransferEntryParts};
    use corridor_core::{OperatorId, SigningKey};
    use tonic::Code;

    fn op(s: &str) -> OperatorId {
        OperatorId::parse("op", s).unwrap()
    }

    fn signed(entry: &TransferEntry) -> Envelope {
        Envelope::sign(
            payload_type::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(entry),
            &SigningKey::from_seed(&[3; 32]),
        )
    }

    /// A bill with its ISSUE entry to the shipper.
    fn issued() -> (Digest, Bill) {
        let bill = sample_bill_of_lading();
        let envelope = Envelope::sign(
            payload_type::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&bill),
            &SigningKey::from_seed(&[2; 32]),
        );
        let id = envelope.document_id();
        let issue = sample_issue(id);
        let ienv = signed(&issue);
        let link = ChainLink {
            id: ienv.document_id(),
            envelope: ienv,
            entry: issue,
        };
        (
            id,
            Bill {
                envelope,
                bill,
                chain: vec![link],
            },
        )
    }

    fn transfer(b: &Bill, actor: &str, seq: u64, prev: Digest) -> TransferEntry {
        TransferEntry::new(TransferEntryParts {
            document_id: b.chain[0].entry.document_id,
            seq,
            prev_entry_hash: Some(prev),
            action: TransferAction::Transfer,
            actor: op(actor),
            from_holder: Some(op(actor)),
            to_holder: op(CONSIGNEE_ID),
            time_unix_micros: ISSUED_AT + 1,
            reason: None,
        })
        .unwrap()
    }

    fn code(r: Result<Transfer, Error>) -> Result<Transfer, Code> {
        r.map_err(|e| tonic::Status::from(e).code())
    }

    #[test]
    fn transfers_are_checked_against_the_bill_as_it_stands() {
        let (id, b) = issued();
        let tip = b.chain[0].id;
        let next = transfer(&b, SHIPPER_ID, 1, tip);
        let rows: [(&str, TransferEntry, Digest, Result<Transfer, Code>); 5] = [
            (
                "the ISSUE envelope again",
                b.chain[0].entry.clone(),
                tip,
                Ok(Transfer::Recorded),
            ),
            (
                "the holder's next entry",
                next.clone(),
                signed(&next).document_id(),
                Ok(Transfer::Next),
            ),
            (
                "another entry at seq 0",
                sample_issue(b.chain[0].entry.document_id),
                Digest::of(b"another"),
                Err(Code::FailedPrecondition),
            ),
            (
                "by someone who does not hold it",
                transfer(&b, FORWARDER_ID, 1, tip),
                Digest::of(b"x"),
                Err(Code::PermissionDenied),
            ),
            (
                "not after the tip",
                transfer(&b, SHIPPER_ID, 1, Digest::of(b"elsewhere")),
                Digest::of(b"y"),
                Err(Code::FailedPrecondition),
            ),
        ];
        for (row, entry, env_id, want) in rows {
            assert_eq!(
                code(check_transfer(&id, &b, &env_id, &entry)),
                want,
                "{row}"
            );
        }
    }

    #[test]
    fn a_bill_record_names_its_holder_and_last_action() {
        let (id, b) = issued();
        let r = b.record(&id);
        assert_eq!(r.holder, Some(op(SHIPPER_ID)));
        assert_eq!(r.last_action, Some(TransferAction::Issue));
        assert!(!r.spent);
        assert_eq!(r.chain.len(), 1);
    }
}
