//! The transfer chain of an electronic bill of lading (after DCSA PINT): issue, transfer,
//! endorsement, surrender for delivery and the carrier's answer, each entry linking the
//! document id (sha256 of the payload) of the one before.
//!
//! An entry is checked on its own ([`TransferEntry::new`]), against the entry it follows
//! ([`TransferEntry::check_follows`], [`TransferEntry::check_holder`]) and against its bill
//! ([`TransferEntry::check_against_bill`]); a whole chain presented with its bill, as a
//! customs node and the declarant receive one, is [`check_chain`].

use std::ops::Deref;

use crate::codes::OperatorId;
use crate::digest::Digest;
use crate::document::ebl::BillOfLading;
use crate::document::{Text, UnixMicros, require_time};
use crate::error::ParseError;

/// What a transfer entry does to the bill (DCSA PINT action).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TransferAction {
    /// The carrier issues the bill to its first holder, the shipper. Always seq 0.
    Issue,
    /// The holder passes possession to another holder; title is unchanged.
    Transfer,
    /// The holder of a to-order bill endorses it to the next holder, who gains title.
    Endorse,
    /// The holder surrenders the bill to the carrier to take delivery of the goods.
    SurrenderForDelivery,
    /// The carrier accepts the surrender: the bill is spent, no entry may follow.
    SurrenderAccepted,
    /// The carrier rejects the surrender: possession returns to the surrendering holder.
    SurrenderRejected,
}

impl TransferAction {
    /// Upper-case name, as in the proto enum without its prefix: `ISSUE`, `ENDORSE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Issue => "ISSUE",
            Self::Transfer => "TRANSFER",
            Self::Endorse => "ENDORSE",
            Self::SurrenderForDelivery => "SURRENDER_FOR_DELIVERY",
            Self::SurrenderAccepted => "SURRENDER_ACCEPTED",
            Self::SurrenderRejected => "SURRENDER_REJECTED",
        }
    }

    /// True for the actions the carrier signs: issue and its answer to a surrender.
    pub fn by_carrier(self) -> bool {
        matches!(
            self,
            Self::Issue | Self::SurrenderAccepted | Self::SurrenderRejected
        )
    }
}

/// The parts of a [`TransferEntry`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransferEntryParts {
    /// Document id of the bill: sha256 of its payload bytes.
    pub document_id: Digest,
    /// Position in the chain: 0 for ISSUE, then the previous seq + 1.
    pub seq: u64,
    /// Document id of the previous entry; `None` exactly for ISSUE.
    pub prev_entry_hash: Option<Digest>,
    /// What the entry does.
    pub action: TransferAction,
    /// The signer: the carrier for ISSUE, otherwise the holder before this entry.
    pub actor: OperatorId,
    /// Holder before this entry; `None` exactly for ISSUE.
    pub from_holder: Option<OperatorId>,
    /// Holder after this entry.
    pub to_holder: OperatorId,
    /// Time of the action.
    pub time_unix_micros: UnixMicros,
    /// Why the action was taken; required for SURRENDER_REJECTED.
    pub reason: Option<Text>,
}

/// One entry of a bill's transfer chain, checked on its own. Whether it may follow a given
/// entry is [`TransferEntry::check_follows`]; whether it fits the bill is
/// [`TransferEntry::check_against_bill`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransferEntry(TransferEntryParts);

impl TransferEntry {
    /// Checks an entry: ISSUE starts a chain (seq 0, no previous hash, no previous holder);
    /// any other entry continues one (seq > 0, the previous entry's hash, signed by the
    /// holder it moves the bill from); a transfer or endorsement goes to someone else; an
    /// accepted surrender leaves the bill with the carrier; a rejection gives a reason and
    /// returns the bill to the surrendering holder.
    pub fn new(parts: TransferEntryParts) -> Result<Self, ParseError> {
        require_time("time_unix_micros", parts.time_unix_micros)?;
        let action = parts.action;
        if action == TransferAction::Issue {
            if parts.seq != 0 {
                return Err(ParseError::new(
                    "seq",
                    format!("ISSUE starts the chain at seq 0, got {}", parts.seq),
                ));
            }
            if parts.prev_entry_hash.is_some() {
                return Err(ParseError::new(
                    "prev_entry_hash",
                    "must be empty for ISSUE: nothing comes before it",
                ));
            }
            if parts.from_holder.is_some() {
                return Err(ParseError::new(
                    "from_holder",
                    "must be empty for ISSUE: the bill had no holder before",
                ));
            }
            return Ok(Self(parts));
        }
        let name = action.name();
        if parts.seq == 0 {
            return Err(ParseError::new(
                "seq",
                format!("seq 0 is the ISSUE entry; {name} comes later"),
            ));
        }
        if parts.prev_entry_hash.is_none() {
            return Err(ParseError::new(
                "prev_entry_hash",
                format!("required for {name}: the document id of the previous entry"),
            ));
        }
        let Some(from) = &parts.from_holder else {
            return Err(ParseError::new(
                "from_holder",
                format!("required for {name}: the holder before this entry"),
            ));
        };
        if &parts.actor != from {
            return Err(ParseError::new(
                "actor",
                format!(
                    "{name} is signed by the holder it moves the bill from ({from}), not {}",
                    parts.actor
                ),
            ));
        }
        let to = &parts.to_holder;
        match action {
            TransferAction::Transfer
            | TransferAction::Endorse
            | TransferAction::SurrenderForDelivery
                if to == from =>
            {
                return Err(ParseError::new(
                    "to_holder",
                    format!("{name} moves the bill to another holder than {from}"),
                ));
            }
            TransferAction::SurrenderAccepted if to != &parts.actor => {
                return Err(ParseError::new(
                    "to_holder",
                    format!("an accepted surrender leaves the bill with the carrier {from}"),
                ));
            }
            TransferAction::SurrenderRejected if to == &parts.actor => {
                return Err(ParseError::new(
                    "to_holder",
                    "a rejected surrender returns the bill to the surrendering holder",
                ));
            }
            _ => {}
        }
        if action == TransferAction::SurrenderRejected && parts.reason.is_none() {
            return Err(ParseError::new(
                "reason",
                "required for SURRENDER_REJECTED: say why the surrender is refused",
            ));
        }
        Ok(Self(parts))
    }

    /// The ISSUE entry of bill `document_id`: `carrier` issues it to `shipper`.
    pub fn issue(
        document_id: Digest,
        carrier: OperatorId,
        shipper: OperatorId,
        time_unix_micros: UnixMicros,
    ) -> Result<Self, ParseError> {
        Self::new(TransferEntryParts {
            document_id,
            seq: 0,
            prev_entry_hash: None,
            action: TransferAction::Issue,
            actor: carrier,
            from_holder: None,
            to_holder: shipper,
            time_unix_micros,
            reason: None,
        })
    }

    /// The entry that follows this one (whose document id is `this_id`): the current holder
    /// (this entry's `to_holder`) acts, moving the bill to `to_holder`. Checks the result
    /// with [`TransferEntry::new`] and [`TransferEntry::check_follows`].
    pub fn next(
        &self,
        this_id: Digest,
        action: TransferAction,
        to_holder: OperatorId,
        time_unix_micros: UnixMicros,
        reason: Option<Text>,
    ) -> Result<Self, ParseError> {
        let holder = self.0.to_holder.clone();
        let next = Self::new(TransferEntryParts {
            document_id: self.0.document_id,
            seq: self.0.seq.saturating_add(1),
            prev_entry_hash: Some(this_id),
            action,
            actor: holder.clone(),
            from_holder: Some(holder),
            to_holder,
            time_unix_micros,
            reason,
        })?;
        next.check_follows(&this_id, self)?;
        Ok(next)
    }

    /// Checks that this entry may follow `prev`, whose document id is `prev_id`: same bill,
    /// next seq, linked by hash, moving the bill from the holder `prev` left it with; nothing
    /// after an accepted surrender; the carrier's answer right after a surrender and only
    /// then.
    pub fn check_follows(&self, prev_id: &Digest, prev: &TransferEntry) -> Result<(), ParseError> {
        self.check_linked(prev_id, prev)?;
        if self.0.from_holder.as_ref() != Some(&prev.to_holder) {
            return Err(ParseError::new(
                "from_holder",
                format!("the bill is held by {}", prev.to_holder),
            ));
        }
        Ok(())
    }

    /// Checks that this entry's actor holds the bill as `prev` left it: the role a transfer
    /// needs, once its actor's signature is established. The carrier's answer to a surrender
    /// passes here: the surrender left the bill with the carrier, and whether one came
    /// before is [`TransferEntry::check_follows`]'s to say.
    pub fn check_holder(&self, prev: &TransferEntry) -> Result<(), NotHolder> {
        let p = &self.0;
        if p.actor == prev.to_holder
            || matches!(
                p.action,
                TransferAction::SurrenderAccepted | TransferAction::SurrenderRejected
            )
        {
            return Ok(());
        }
        Err(NotHolder {
            bill: p.document_id,
            actor: p.actor.clone(),
            holder: prev.to_holder.clone(),
        })
    }

    /// [`TransferEntry::check_follows`] but for the holder: same bill, next seq, linked by
    /// hash, an action that may come after `prev`'s.
    fn check_linked(&self, prev_id: &Digest, prev: &TransferEntry) -> Result<(), ParseError> {
        let p = &self.0;
        if p.document_id != prev.document_id {
            return Err(ParseError::new(
                "document_id",
                format!(
                    "the chain is of bill {}, not {}",
                    prev.document_id, p.document_id
                ),
            ));
        }
        if Some(p.seq) != prev.seq.checked_add(1) {
            return Err(ParseError::new(
                "seq",
                format!(
                    "the entry after seq {} has seq {}, not {}",
                    prev.seq,
                    prev.seq.saturating_add(1),
                    p.seq
                ),
            ));
        }
        if p.prev_entry_hash.as_ref() != Some(prev_id) {
            return Err(ParseError::new(
                "prev_entry_hash",
                format!("must be the previous entry's document id {prev_id}"),
            ));
        }
        let name = p.action.name();
        match (prev.action, p.action) {
            (TransferAction::SurrenderAccepted, _) => Err(ParseError::new(
                "action",
                "the bill was surrendered and the surrender accepted: no entry may follow",
            )),
            (
                TransferAction::SurrenderForDelivery,
                TransferAction::SurrenderAccepted | TransferAction::SurrenderRejected,
            ) => Ok(()),
            (TransferAction::SurrenderForDelivery, _) => Err(ParseError::new(
                "action",
                format!("after a surrender the carrier accepts or rejects it, not {name}"),
            )),
            (_, TransferAction::SurrenderAccepted | TransferAction::SurrenderRejected) => {
                Err(ParseError::new(
                    "action",
                    format!("{name} answers a SURRENDER_FOR_DELIVERY, which did not come before"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Checks the entry against its bill: the carrier signs ISSUE (to the shipper) and the
    /// answers to a surrender, a surrender goes to the carrier, and only a to-order bill is
    /// endorsed. (That `document_id` is the bill's id is for the caller, who has its bytes.)
    pub fn check_against_bill(&self, bill: &BillOfLading) -> Result<(), ParseError> {
        let p = &self.0;
        let carrier = &bill.carrier.operator_id;
        let name = p.action.name();
        if p.action.by_carrier() && &p.actor != carrier {
            return Err(ParseError::new(
                "actor",
                format!(
                    "{name} is signed by the bill's carrier {carrier}, not {}",
                    p.actor
                ),
            ));
        }
        match p.action {
            TransferAction::Issue if p.to_holder != bill.shipper.operator_id => {
                Err(ParseError::new(
                    "to_holder",
                    format!(
                        "the bill is issued to its shipper {}",
                        bill.shipper.operator_id
                    ),
                ))
            }
            TransferAction::SurrenderForDelivery if &p.to_holder != carrier => {
                Err(ParseError::new(
                    "to_holder",
                    format!("the bill is surrendered to its carrier {carrier}"),
                ))
            }
            TransferAction::Endorse if !bill.to_order => Err(ParseError::new(
                "action",
                "only a to-order bill is endorsed; a straight bill is transferred",
            )),
            _ => Ok(()),
        }
    }

    /// True when the bill is spent (an accepted surrender): nothing may follow.
    pub fn is_final(&self) -> bool {
        self.0.action == TransferAction::SurrenderAccepted
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> TransferEntryParts {
        self.0
    }
}

impl Deref for TransferEntry {
    type Target = TransferEntryParts;
    fn deref(&self) -> &TransferEntryParts {
        &self.0
    }
}

/// An entry by an operator who does not hold the bill: its actor signed it, but the entry
/// before left the bill with someone else (a matter of permission, not of signature).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{actor} does not hold bill {bill}: {holder} does")]
pub struct NotHolder {
    /// The bill.
    pub bill: Digest,
    /// Who signed the entry.
    pub actor: OperatorId,
    /// Who held the bill before it.
    pub holder: OperatorId,
}

/// An entry of a transfer chain as received: its document id (SHA-256 of its payload, which
/// the next entry links) and what it says.
#[derive(Clone, Copy, Debug)]
pub struct ChainEntry<'a> {
    /// The entry's document id.
    pub id: &'a Digest,
    /// The entry.
    pub entry: &'a TransferEntry,
}

/// Why a transfer chain presented with its bill is refused ([`check_chain`]); the variants
/// come in the order they are checked.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain is empty, or an entry does not fit the bill or the entry before it; the path
    /// names the entry (`transfer_chain[2].prev_entry_hash`).
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// An entry (`field`, e.g. `transfer_chain[1]`) is by an operator who did not hold the
    /// bill then.
    #[error("{field}: {not_holder}")]
    NotHolder {
        /// The entry's path.
        field: String,
        /// Who acted, and who held the bill.
        not_holder: NotHolder,
    },
    /// The chain ends with an accepted surrender: the bill is spent.
    #[error("bill {bill} has been surrendered and accepted: it is spent")]
    Spent {
        /// The bill.
        bill: Digest,
    },
}

/// Checks a bill's transfer chain presented whole with the bill (each entry's signature by
/// its actor already verified); `field` names the chain in errors (`transfer_chain`). In
/// order: every entry is of bill `bill_id` and fits the bill, the first is ISSUE and each
/// other follows the one before (seq, link, action) ([`ChainError::Invalid`]); then each
/// entry after ISSUE is by the holder the one before left the bill with
/// ([`ChainError::NotHolder`]); then the last does not leave the bill spent
/// ([`ChainError::Spent`]).
pub fn check_chain(
    field: &str,
    bill_id: &Digest,
    bill: &BillOfLading,
    chain: &[ChainEntry<'_>],
) -> Result<(), ChainError> {
    let Some(last) = chain.last() else {
        return Err(ParseError::new(
            field,
            "the bill's transfer chain is required, from its ISSUE entry on",
        )
        .into());
    };
    let at = |i: usize| format!("{field}[{i}]");
    for (i, e) in chain.iter().enumerate() {
        if e.entry.document_id != *bill_id {
            return Err(ParseError::new(
                format!("{}.document_id", at(i)),
                "not the bill presented",
            )
            .into());
        }
        e.entry
            .check_against_bill(bill)
            .map_err(|x| x.within(&at(i)))?;
        match i.checked_sub(1).map(|p| &chain[p]) {
            None if e.entry.action != TransferAction::Issue => {
                return Err(ParseError::new(
                    format!("{}.action", at(i)),
                    "the chain starts with ISSUE",
                )
                .into());
            }
            None => {}
            Some(prev) => e
                .entry
                .check_linked(prev.id, prev.entry)
                .map_err(|x| x.within(&at(i)))?,
        }
    }
    for (i, pair) in chain.windows(2).enumerate() {
        pair[1]
            .entry
            .check_holder(pair[0].entry)
            .map_err(|not_holder| ChainError::NotHolder {
                field: at(i + 1),
                not_holder,
            })?;
    }
    if last.entry.is_final() {
        return Err(ChainError::Spent { bill: *bill_id });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::examples::{self, sample_bill_of_lading};

    fn op(s: &str) -> OperatorId {
        OperatorId::parse("o", s).expect("valid operator id")
    }

    fn bill_id() -> Digest {
        Digest::of(b"bill payload")
    }

    fn issue() -> TransferEntry {
        examples::sample_issue(bill_id())
    }

    /// A stand-in for the id of an entry: the real one is the sha256 of its payload.
    fn id_of(e: &TransferEntry) -> Digest {
        Digest::of(format!("{e:?}").as_bytes())
    }

    fn field_of(parts: TransferEntryParts) -> String {
        TransferEntry::new(parts)
            .expect_err("the entry should be refused")
            .field
    }

    fn transfer() -> TransferEntry {
        let i = issue();
        i.next(
            id_of(&i),
            TransferAction::Transfer,
            op(examples::FORWARDER_ID),
            i.time_unix_micros + 1,
            None,
        )
        .expect("a valid transfer")
    }

    #[test]
    fn a_chain_from_issue_to_accepted_surrender() {
        let bill = sample_bill_of_lading();
        let carrier = bill.carrier.operator_id.clone();
        let shipper = bill.shipper.operator_id.clone();
        let i = issue();
        let t0 = i.time_unix_micros;
        i.check_against_bill(&bill).expect("issued by the carrier");
        let t = transfer();
        t.check_against_bill(&bill).expect("a transfer");
        let back = t
            .next(
                id_of(&t),
                TransferAction::Transfer,
                shipper.clone(),
                t0 + 2,
                None,
            )
            .expect("transfer back");
        let s = back
            .next(
                id_of(&back),
                TransferAction::SurrenderForDelivery,
                carrier.clone(),
                t0 + 3,
                None,
            )
            .expect("surrender");
        s.check_against_bill(&bill)
            .expect("surrendered to the carrier");
        let reason = Text::parse("r", "freight unpaid").expect("text");
        let r = s
            .next(
                id_of(&s),
                TransferAction::SurrenderRejected,
                shipper.clone(),
                t0 + 4,
                Some(reason),
            )
            .expect("rejected");
        r.check_against_bill(&bill)
            .expect("rejected by the carrier");
        assert_eq!(r.to_holder, shipper);
        let s2 = r
            .next(
                id_of(&r),
                TransferAction::SurrenderForDelivery,
                carrier.clone(),
                t0 + 5,
                None,
            )
            .expect("surrender again");
        let a = s2
            .next(
                id_of(&s2),
                TransferAction::SurrenderAccepted,
                carrier.clone(),
                t0 + 6,
                None,
            )
            .expect("accepted");
        a.check_against_bill(&bill)
            .expect("accepted by the carrier");
        assert!(a.is_final());
        assert_eq!(a.seq, 6);
        let e = a
            .next(
                id_of(&a),
                TransferAction::Transfer,
                op(examples::FORWARDER_ID),
                t0 + 7,
                None,
            )
            .expect_err("nothing after an accepted surrender");
        assert_eq!(e.field, "action");
    }

    #[test]
    fn issue_starts_the_chain() {
        let mut p = issue().into_parts();
        p.seq = 1;
        assert_eq!(field_of(p), "seq");
        let mut p = issue().into_parts();
        p.prev_entry_hash = Some(Digest::ZERO);
        assert_eq!(field_of(p), "prev_entry_hash");
        let mut p = issue().into_parts();
        p.from_holder = Some(op(examples::CARRIER_ID));
        assert_eq!(field_of(p), "from_holder");
        let mut p = issue().into_parts();
        p.time_unix_micros = 0;
        assert_eq!(field_of(p), "time_unix_micros");
    }

    #[test]
    fn later_entries_continue_it() {
        let mut p = transfer().into_parts();
        p.seq = 0;
        assert_eq!(field_of(p), "seq");
        let mut p = transfer().into_parts();
        p.prev_entry_hash = None;
        assert_eq!(field_of(p), "prev_entry_hash");
        let mut p = transfer().into_parts();
        p.from_holder = None;
        assert_eq!(field_of(p), "from_holder");
        let mut p = transfer().into_parts();
        p.actor = op(examples::CARRIER_ID);
        assert_eq!(field_of(p), "actor");
        let mut p = transfer().into_parts();
        p.to_holder = p.actor.clone();
        assert_eq!(field_of(p), "to_holder");
    }

    #[test]
    fn surrender_answers() {
        // From a transfer by the shipper to the forwarder: a rejection by the shipper must
        // give a reason and go back to someone else.
        let mut p = transfer().into_parts();
        p.action = TransferAction::SurrenderRejected;
        assert_eq!(field_of(p.clone()), "reason");
        p.reason = Some(Text::parse("r", "no").expect("text"));
        assert!(TransferEntry::new(p.clone()).is_ok());
        p.to_holder = p.actor.clone();
        assert_eq!(field_of(p), "to_holder");

        let mut p = transfer().into_parts();
        p.action = TransferAction::SurrenderAccepted;
        assert_eq!(field_of(p), "to_holder");
    }

    #[test]
    fn an_entry_follows_its_predecessor() {
        let i = issue();
        let t = transfer();
        t.check_follows(&id_of(&i), &i).expect("follows");
        assert_eq!(
            t.check_follows(&Digest::ZERO, &i).map_err(|e| e.field),
            Err("prev_entry_hash".into())
        );
        let mut other = i.clone().into_parts();
        other.document_id = Digest::ZERO;
        let other = TransferEntry::new(other).expect("valid");
        assert_eq!(
            t.check_follows(&id_of(&i), &other).map_err(|e| e.field),
            Err("document_id".into())
        );
        // A second move from the same holder state has the wrong seq for the chain's head.
        assert_eq!(
            t.check_follows(&id_of(&t), &t).map_err(|e| e.field),
            Err("seq".into())
        );
        let mut p = t.clone().into_parts();
        p.from_holder = Some(op(examples::CONSIGNEE_ID));
        p.actor = op(examples::CONSIGNEE_ID);
        let wrong_holder = TransferEntry::new(p).expect("valid alone");
        assert_eq!(
            wrong_holder
                .check_follows(&id_of(&i), &i)
                .map_err(|e| e.field),
            Err("from_holder".into())
        );
        let e = i
            .next(
                id_of(&i),
                TransferAction::SurrenderAccepted,
                op(examples::SHIPPER_ID),
                2,
                None,
            )
            .expect_err("no surrender to answer");
        assert_eq!(e.field, "action");
    }

    /// `chain` checked as presented with the sample bill (whose id is [`bill_id`]).
    fn check(chain: &[TransferEntry]) -> Result<(), ChainError> {
        let ids: Vec<Digest> = chain.iter().map(id_of).collect();
        let entries: Vec<ChainEntry<'_>> = ids
            .iter()
            .zip(chain)
            .map(|(id, entry)| ChainEntry { id, entry })
            .collect();
        check_chain(
            "transfer_chain",
            &bill_id(),
            &sample_bill_of_lading(),
            &entries,
        )
    }

    /// The entry after `prev` by `actor` (holder or not), moving the bill to `to`.
    fn by(prev: &TransferEntry, action: TransferAction, actor: &str, to: &str) -> TransferEntry {
        TransferEntry::new(TransferEntryParts {
            document_id: prev.document_id,
            seq: prev.seq + 1,
            prev_entry_hash: Some(id_of(prev)),
            action,
            actor: op(actor),
            from_holder: Some(op(actor)),
            to_holder: op(to),
            time_unix_micros: prev.time_unix_micros + 1,
            reason: None,
        })
        .expect("valid alone")
    }

    #[test]
    fn a_presented_chain_is_checked_fields_first_then_holders_then_whether_it_is_spent() {
        use TransferAction::{SurrenderAccepted, SurrenderForDelivery, Transfer};
        let (i, t) = (issue(), transfer());
        let surrendered = by(
            &t,
            SurrenderForDelivery,
            examples::FORWARDER_ID,
            examples::CARRIER_ID,
        );
        let accepted = by(
            &surrendered,
            SurrenderAccepted,
            examples::CARRIER_ID,
            examples::CARRIER_ID,
        );
        let stranger = by(&i, Transfer, examples::CONSIGNEE_ID, examples::FORWARDER_ID);
        let unlinked = {
            let mut p = by(
                &stranger,
                Transfer,
                examples::FORWARDER_ID,
                examples::SHIPPER_ID,
            )
            .into_parts();
            p.prev_entry_hash = Some(Digest::ZERO);
            TransferEntry::new(p).expect("valid alone")
        };
        let of_another_bill = examples::sample_issue(Digest::ZERO);
        let to_someone_else = {
            let mut p = issue().into_parts();
            p.to_holder = op(examples::FORWARDER_ID);
            TransferEntry::new(p).expect("valid alone")
        };
        let invalid = |f: &str| Err(f.to_string());
        let rows: Vec<(&str, Vec<TransferEntry>, Result<(), String>)> = vec![
            ("ISSUE alone", vec![i.clone()], Ok(())),
            ("ISSUE and a transfer", vec![i.clone(), t.clone()], Ok(())),
            ("empty", vec![], invalid("transfer_chain")),
            (
                "no ISSUE first",
                vec![t.clone()],
                invalid("transfer_chain[0].action"),
            ),
            (
                "another bill",
                vec![of_another_bill],
                invalid("transfer_chain[0].document_id"),
            ),
            (
                "issued to someone else",
                vec![to_someone_else],
                invalid("transfer_chain[0].to_holder"),
            ),
            (
                "ISSUE twice",
                vec![i.clone(), i.clone()],
                invalid("transfer_chain[1].seq"),
            ),
            // A link that does not follow is a field error even after an entry by a
            // stranger: fields are checked before roles.
            (
                "not linked",
                vec![i.clone(), stranger.clone(), unlinked],
                invalid("transfer_chain[2].prev_entry_hash"),
            ),
            (
                "by a stranger",
                vec![i.clone(), stranger],
                Err("not holder transfer_chain[1]".into()),
            ),
            (
                "spent",
                vec![i, t, surrendered, accepted],
                Err("spent".into()),
            ),
        ];
        for (row, chain, want) in rows {
            let got = check(&chain).map_err(|e| match e {
                ChainError::Invalid(p) => p.field,
                ChainError::NotHolder { field, not_holder } => {
                    assert_eq!(
                        (not_holder.actor.as_str(), not_holder.holder.as_str()),
                        (examples::CONSIGNEE_ID, examples::SHIPPER_ID),
                        "{row}"
                    );
                    format!("not holder {field}")
                }
                ChainError::Spent { bill } => {
                    assert_eq!(bill, bill_id(), "{row}");
                    "spent".into()
                }
            });
            assert_eq!(got, want, "{row}");
        }
    }

    #[test]
    fn only_the_holder_acts_on_the_bill_but_the_carrier_answers_a_surrender() {
        let (i, t) = (issue(), transfer());
        assert_eq!(t.check_holder(&i), Ok(()));
        let stranger = by(
            &i,
            TransferAction::Transfer,
            examples::CONSIGNEE_ID,
            examples::FORWARDER_ID,
        );
        let e = stranger.check_holder(&i).expect_err("not the holder");
        assert_eq!(
            e.to_string(),
            format!(
                "{} does not hold bill {}: {} does",
                examples::CONSIGNEE_ID,
                bill_id(),
                examples::SHIPPER_ID
            )
        );
        let answer = by(
            &t,
            TransferAction::SurrenderAccepted,
            examples::CARRIER_ID,
            examples::CARRIER_ID,
        );
        assert_eq!(answer.check_holder(&t), Ok(()));
    }

    #[test]
    fn entries_fit_the_bill() {
        let bill = sample_bill_of_lading();
        let mut p = issue().into_parts();
        p.actor = op(examples::FORWARDER_ID);
        let e = TransferEntry::new(p).expect("valid alone");
        assert_eq!(
            e.check_against_bill(&bill).map_err(|e| e.field),
            Err("actor".into())
        );

        let mut p = issue().into_parts();
        p.to_holder = op(examples::FORWARDER_ID);
        let e = TransferEntry::new(p).expect("valid alone");
        assert_eq!(
            e.check_against_bill(&bill).map_err(|e| e.field),
            Err("to_holder".into())
        );

        let i = issue();
        let endorse = i
            .next(
                id_of(&i),
                TransferAction::Endorse,
                op(examples::FORWARDER_ID),
                2,
                None,
            )
            .expect("valid alone");
        assert!(!bill.to_order);
        assert_eq!(
            endorse.check_against_bill(&bill).map_err(|e| e.field),
            Err("action".into())
        );

        let surrender = i
            .next(
                id_of(&i),
                TransferAction::SurrenderForDelivery,
                op(examples::FORWARDER_ID),
                2,
                None,
            )
            .expect("valid alone");
        assert_eq!(
            surrender.check_against_bill(&bill).map_err(|e| e.field),
            Err("to_holder".into())
        );
    }
}
