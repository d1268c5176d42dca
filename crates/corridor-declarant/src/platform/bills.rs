//! Bills of lading on the platform and their transfer chains: a new bill is issued (signed
//! by its carrier's key, with its ISSUE entry), a bill on the platform is found, a bill its
//! carrier signed elsewhere is taken with its chain, and each transfer is checked against the
//! bill as it stands (`check_transfer`, pure) before it is recorded.
//!
//! A bill presented with its chain is checked as the first customs node checks one (the
//! same rules: `corridor_aeo::replica::operator_signed` for each signature, then
//! `corridor_core::document::check_chain`), then against the platform's record of it
//! (`merge`, pure): a bill new here is recorded with its whole chain; for a bill on the
//! platform each presented entry is what `TransferBill` would make of it, so the same
//! entries are that bill, entries beyond the record are recorded as transfers, and another
//! entry where the record has one is a double spend.

use corridor_aeo::replica::{AtReceipt, OperatorKeys, operator_signed};
use corridor_core::document::declarant::{BillRecord, BillSource, ChainHead, SignedBill};
use corridor_core::document::{BillOfLading, ChainEntry, ChainError, TransferEntry, check_chain};
use corridor_core::{Digest, Envelope, ParseError, SigningKey, payload_type};
use corridor_service::Refusal;
use tokio::sync::OwnedMutexGuard;

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
    /// Its transfer chain as it stands (with the entries this submission records).
    pub(crate) chain: Vec<ChainLink>,
    /// Whether the bill is new here (recorded with this submission, its chain with it).
    new_bill: bool,
    /// How many entries at the end of `chain` this submission records.
    new_entries: usize,
    /// For a presented chain: the bill's lock, held from the comparison with the record
    /// until the submission is recorded, so that no transfer comes between.
    held: Option<OwnedMutexGuard<()>>,
}

impl PresentedBill {
    /// The entries that record what of the bill and its chain is new here.
    pub(super) fn planned(&self) -> Vec<Planned> {
        let mut planned = Vec::new();
        if self.new_bill {
            planned.push(Planned {
                kind: kind::BILL,
                subject: self.id,
                envelope: self.envelope.clone(),
                rows: Vec::new(),
                effect: Effect::Bill(Box::new((self.envelope.clone(), self.bill.clone()))),
            });
        }
        for l in &self.chain[self.chain.len() - self.new_entries..] {
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

    /// Lets transfers of the bill go on, once the submission is recorded.
    pub(super) fn recorded(&mut self) {
        self.held = None;
    }
}

impl Bill {
    fn tip(&self) -> Option<&ChainLink> {
        self.chain.last()
    }

    /// The bill as `GetBill` shows it, with the platform's statement of its chain: `head`,
    /// a [`ChainHead`] signed by `key` at `now`.
    pub(crate) fn record(&self, id: &Digest, key: &SigningKey, now: i64) -> BillRecord {
        let tip = self.tip();
        let head = tip.map(|t| {
            let statement = ChainHead {
                bill_of_lading_id: *id,
                entries: self.chain.len() as u64,
                head_entry_id: t.id,
                holder: t.entry.to_holder.clone(),
                spent: t.entry.is_final(),
                at_unix_micros: now,
            };
            Envelope::sign(
                payload_type::CHAIN_HEAD,
                corridor_proto::declarant::encode_chain_head(&statement),
                key,
            )
        });
        BillRecord {
            bill_of_lading_id: *id,
            bill_of_lading: self.envelope.clone(),
            chain: self.chain.iter().map(|l| l.envelope.clone()).collect(),
            holder: tip.map(|l| l.entry.to_holder.clone()),
            spent: tip.is_some_and(|l| l.entry.is_final()),
            last_action: tip.map(|l| l.entry.action),
            head,
        }
    }
}

pub(super) fn not_on_platform(id: &Digest) -> Error {
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

/// The bill `recorded` (document id `bill_id`) with the presented chain `chain` (checked
/// whole with [`check_chain`]) taken entry by entry as `TransferBill` takes one: the same
/// entries (by document id) are the recorded ones, whose envelopes stand; entries beyond the
/// record are appended; another entry where the record has one is a double spend. Returns
/// the bill as it would then stand, and how many entries were appended.
fn merge(bill_id: &Digest, recorded: &Bill, chain: Vec<ChainLink>) -> Result<(Bill, usize), Error> {
    let mut merged = recorded.clone();
    for (i, l) in chain.into_iter().enumerate() {
        match check_transfer(bill_id, &merged, &l.id, &l.entry) {
            Ok(Transfer::Recorded) => {}
            Ok(Transfer::Next) => merged.chain.push(l),
            Err(Error::Refusal(Refusal::FailedPrecondition(m))) => {
                return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                    "transfer_chain[{i}]: {m}"
                ))));
            }
            Err(e) => return Err(e),
        }
    }
    let appended = merged.chain.len() - recorded.chain.len();
    if merged.tip().is_some_and(|t| t.entry.is_final()) {
        return Err(Refusal::from(ChainError::Spent { bill: *bill_id }).into());
    }
    Ok((merged, appended))
}

impl Platform {
    /// The bill of a submission: a new one signed by its carrier's key with its ISSUE entry,
    /// one on the platform, or one signed by its carrier elsewhere, presented with its chain.
    pub(crate) async fn present(&self, source: BillSource) -> Result<PresentedBill, Error> {
        match source {
            BillSource::Issue(bill) => self.issue(*bill),
            BillSource::OnPlatform(id) => self.on_platform(&id),
            BillSource::Signed(signed) => self.present_signed(signed).await,
        }
    }

    /// A new bill, signed with its carrier's key (which the declarant must hold) and issued
    /// to its shipper.
    pub(super) fn issue(&self, bill: BillOfLading) -> Result<PresentedBill, Error> {
        let carrier = self.operator_key(&bill.carrier.operator_id, "carrier")?;
        let envelope = Envelope::sign(
            payload_type::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&bill),
            carrier,
        );
        // A bill new here enters the corridor now (the same bill again is the one recorded).
        if !lock(&self.inner.state)
            .bills
            .contains_key(&envelope.document_id())
        {
            self.inner.times.check_window(
                "bill_of_lading.issued_at_unix_micros",
                bill.issued_at_unix_micros,
                self.now(),
            )?;
        }
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
            new_bill: true,
            new_entries: 1,
            held: None,
        })
    }

    /// A bill on the platform, as it stands.
    pub(super) fn on_platform(&self, id: &Digest) -> Result<PresentedBill, Error> {
        let st = lock(&self.inner.state);
        let b = st.bills.get(id).ok_or_else(|| not_on_platform(id))?;
        Ok(PresentedBill {
            id: *id,
            envelope: b.envelope.clone(),
            bill: b.bill.clone(),
            chain: b.chain.clone(),
            new_bill: false,
            new_entries: 0,
            held: None,
        })
    }

    /// A bill its carrier signed, with its transfer chain: decoded, every signature checked
    /// against the registry copy, the chain checked whole against the bill, then against the
    /// platform's record of the bill (under the bill's lock, kept until it is recorded).
    async fn present_signed(&self, signed: SignedBill) -> Result<PresentedBill, Error> {
        let SignedBill {
            bill_of_lading: envelope,
            transfer_chain,
        } = signed;
        let bill = corridor_proto::decode_bill_of_lading(envelope.payload())
            .map_err(|e| e.within("bill_of_lading_envelope.payload"))?;
        let mut chain = Vec::with_capacity(transfer_chain.len());
        for (i, env) in transfer_chain.into_iter().enumerate() {
            let entry = corridor_proto::decode_transfer_entry(env.payload())
                .map_err(|e| e.within(&format!("transfer_chain[{i}].payload")))?;
            chain.push(ChainLink {
                id: env.document_id(),
                envelope: env,
                entry,
            });
        }
        let id = envelope.document_id();
        if !lock(&self.inner.state).bills.contains_key(&id) {
            self.check_kept_document(
                "bill_of_lading_envelope.payload.dcsa_transport_document",
                &bill,
            )?;
        }
        {
            // What is new here enters the corridor now: dated within the window, signed with
            // keys valid then and now. What the platform has recorded stands as recorded.
            let now = self.now();
            let times = &self.inner.times;
            let recorded: Option<Vec<Digest>> = lock(&self.inner.state)
                .bills
                .get(&id)
                .map(|b| b.chain.iter().map(|l| l.id).collect());
            let replica = self.inner.replica.read();
            let received = AtReceipt::new(&*replica, now);
            let keys = |new: bool| -> &dyn OperatorKeys { if new { &received } else { &*replica } };
            let new_bill = recorded.is_none();
            if new_bill {
                times.check_window(
                    "bill_of_lading_envelope.payload.issued_at_unix_micros",
                    bill.issued_at_unix_micros,
                    now,
                )?;
            }
            operator_signed(
                keys(new_bill),
                &envelope,
                &bill.carrier.operator_id,
                bill.issued_at_unix_micros,
                "bill_of_lading_envelope",
            )?;
            for (i, l) in chain.iter().enumerate() {
                let new = recorded.as_ref().is_none_or(|r| !r.contains(&l.id));
                if new {
                    times.check_window(
                        &format!("transfer_chain[{i}].payload.time_unix_micros"),
                        l.entry.time_unix_micros,
                        now,
                    )?;
                }
                operator_signed(
                    keys(new),
                    &l.envelope,
                    &l.entry.actor,
                    l.entry.time_unix_micros,
                    &format!("transfer_chain[{i}]"),
                )?;
            }
        }
        let links: Vec<ChainEntry<'_>> = chain
            .iter()
            .map(|l| ChainEntry {
                id: &l.id,
                entry: &l.entry,
            })
            .collect();
        check_chain("transfer_chain", &id, &bill, &links).map_err(Refusal::from)?;

        let held = self.bill_lock(&id).lock_owned().await;
        let st = lock(&self.inner.state);
        let Some(recorded) = st.bills.get(&id) else {
            return Ok(PresentedBill {
                id,
                envelope,
                bill,
                new_bill: true,
                new_entries: chain.len(),
                chain,
                held: Some(held),
            });
        };
        let (merged, new_entries) = merge(&id, recorded, chain)?;
        Ok(PresentedBill {
            id,
            envelope: merged.envelope,
            bill: merged.bill,
            chain: merged.chain,
            new_bill: false,
            new_entries,
            held: Some(held),
        })
    }

    /// The lock that puts the steps on bill `id` one after another.
    fn bill_lock(&self, id: &Digest) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        lock(&self.inner.bill_locks).entry(*id).or_default().clone()
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
        // A new entry enters the corridor now; the same entry again is the one recorded.
        let recorded = lock(&self.inner.state)
            .bills
            .get(&bill_id)
            .is_some_and(|b| b.chain.iter().any(|l| l.id == env.document_id()));
        let now = self.now();
        {
            let replica = self.inner.replica.read();
            if recorded {
                operator_signed(
                    &*replica,
                    &env,
                    &entry.actor,
                    entry.time_unix_micros,
                    "entry",
                )?;
            } else {
                self.inner.times.check_window(
                    "entry.payload.time_unix_micros",
                    entry.time_unix_micros,
                    now,
                )?;
                operator_signed(
                    &AtReceipt::new(&*replica, now),
                    &env,
                    &entry.actor,
                    entry.time_unix_micros,
                    "entry",
                )?;
            }
        }
        let bill_lock = self.bill_lock(&bill_id);
        let _one_at_a_time = bill_lock.lock().await;
        {
            let st = lock(&self.inner.state);
            let b = st
                .bills
                .get(&bill_id)
                .ok_or_else(|| not_on_platform(&bill_id))?;
            if check_transfer(&bill_id, b, &env.document_id(), &entry)? == Transfer::Recorded {
                return Ok(b.record(&bill_id, &self.inner.key, self.now()));
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
            .map(|b| b.record(&bill_id, &self.inner.key, self.now()))
            .ok_or_else(|| Error::State("bill".into()))
    }

    /// `GetBill`.
    pub(crate) fn bill(&self, id: &Digest) -> Result<BillRecord, Error> {
        let st = lock(&self.inner.state);
        st.bills
            .get(id)
            .map(|b| b.record(id, &self.inner.key, self.now()))
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

    /// `entry` as a link of a chain, signed with `seed`'s key.
    fn link(entry: TransferEntry, seed: u8) -> ChainLink {
        let envelope = Envelope::sign(
            payload_type::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(&entry),
            &SigningKey::from_seed(&[seed; 32]),
        );
        ChainLink {
            id: envelope.document_id(),
            envelope,
            entry,
        }
    }

    fn merged(r: Result<(Bill, usize), Error>) -> Result<(Vec<Digest>, usize), (Code, String)> {
        r.map(|(b, n)| (b.chain.iter().map(|l| l.id).collect(), n))
            .map_err(|e| {
                let s = tonic::Status::from(e);
                (s.code(), s.message().to_string())
            })
    }

    #[test]
    fn a_presented_chain_is_taken_against_the_record_entry_by_entry() {
        let (id, b) = issued();
        let issue = b.chain[0].clone();
        let moved = link(transfer(&b, SHIPPER_ID, 1, issue.id), 3);
        let mut two = b.clone();
        two.chain.push(moved.clone());
        let ids = |b: &Bill| b.chain.iter().map(|l| l.id).collect::<Vec<_>>();

        // The same chain, and a prefix of the record: the bill as recorded.
        assert_eq!(merged(merge(&id, &b, b.chain.clone())), Ok((ids(&b), 0)));
        assert_eq!(
            merged(merge(&id, &two, b.chain.clone())),
            Ok((ids(&two), 0))
        );
        // The same entry in another envelope (signed again): the recorded envelope stands.
        let again = link(issue.entry.clone(), 4);
        assert_eq!(again.id, issue.id);
        assert_ne!(again.envelope, issue.envelope);
        let (m, _) = merge(&id, &b, vec![again]).unwrap();
        assert_eq!(m.chain[0].envelope, issue.envelope);
        // A chain that extends the record: the entries beyond it are appended.
        assert_eq!(
            merged(merge(&id, &b, two.chain.clone())),
            Ok((ids(&two), 1))
        );
        // Another entry where the record has one: a double spend, named by its place.
        let mut parts = moved.entry.clone().into_parts();
        parts.to_holder = op(FORWARDER_ID);
        let other = link(TransferEntry::new(parts).unwrap(), 3);
        let got = merged(merge(&id, &two, vec![issue.clone(), other])).unwrap_err();
        assert_eq!(got.0, Code::FailedPrecondition, "{}", got.1);
        assert!(
            got.1.starts_with(&format!(
                "transfer_chain[1]: double spend: entry 1 of bill {id} was already recorded"
            )),
            "{}",
            got.1
        );
        // A bill the record has spent, presented before it was: spent.
        let carrier = b.bill.carrier.operator_id.clone();
        let surrender = issue
            .entry
            .next(
                issue.id,
                TransferAction::SurrenderForDelivery,
                carrier.clone(),
                ISSUED_AT + 1,
                None,
            )
            .unwrap();
        let surrender = link(surrender, 3);
        let accepted = surrender
            .entry
            .next(
                surrender.id,
                TransferAction::SurrenderAccepted,
                carrier,
                ISSUED_AT + 2,
                None,
            )
            .unwrap();
        let mut spent = b.clone();
        spent.chain.extend([surrender, link(accepted, 2)]);
        let got = merged(merge(&id, &spent, b.chain.clone())).unwrap_err();
        assert_eq!(
            got,
            (
                Code::FailedPrecondition,
                format!("bill {id} has been surrendered and accepted: it is spent")
            )
        );
    }

    #[test]
    fn a_bill_record_names_its_holder_and_last_action() {
        let (id, b) = issued();
        let r = b.record(&id, &SigningKey::from_seed(&[9; 32]), ISSUED_AT);
        assert_eq!(r.holder, Some(op(SHIPPER_ID)));
        assert_eq!(r.last_action, Some(TransferAction::Issue));
        assert!(!r.spent);
        assert_eq!(r.chain.len(), 1);
    }
}
