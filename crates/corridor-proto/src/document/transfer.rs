//! Conversions between the transfer entries of `ebl.proto` and
//! `corridor_core::document::TransferEntry`, and an entry's payload bytes.

use corridor_core::document::{Text, TransferAction, TransferEntry, TransferEntryParts};
use corridor_core::{OperatorId, ParseError};
use prost::Message;

use super::{
    decode, digest, opt_string, optional_digest, optional_str, required_str, unknown_enum,
    unspecified_enum,
};
use crate::v1;

// ---- enums --------------------------------------------------------------------------------

fn transfer_action(field: &str, v: i32) -> Result<TransferAction, ParseError> {
    use v1::TransferAction as W;
    match W::try_from(v) {
        Ok(W::Issue) => Ok(TransferAction::Issue),
        Ok(W::Transfer) => Ok(TransferAction::Transfer),
        Ok(W::Endorse) => Ok(TransferAction::Endorse),
        Ok(W::SurrenderForDelivery) => Ok(TransferAction::SurrenderForDelivery),
        Ok(W::SurrenderAccepted) => Ok(TransferAction::SurrenderAccepted),
        Ok(W::SurrenderRejected) => Ok(TransferAction::SurrenderRejected),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "TRANSFER_ACTION_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<TransferAction> for v1::TransferAction {
    fn from(a: TransferAction) -> Self {
        match a {
            TransferAction::Issue => Self::Issue,
            TransferAction::Transfer => Self::Transfer,
            TransferAction::Endorse => Self::Endorse,
            TransferAction::SurrenderForDelivery => Self::SurrenderForDelivery,
            TransferAction::SurrenderAccepted => Self::SurrenderAccepted,
            TransferAction::SurrenderRejected => Self::SurrenderRejected,
        }
    }
}

// ---- transfer chain -----------------------------------------------------------------------

impl TryFrom<v1::TransferEntry> for TransferEntry {
    type Error = ParseError;
    fn try_from(m: v1::TransferEntry) -> Result<Self, ParseError> {
        TransferEntry::new(TransferEntryParts {
            document_id: digest("document_id", &m.document_id)?,
            seq: m.seq,
            prev_entry_hash: optional_digest("prev_entry_hash", &m.prev_entry_hash)?,
            action: transfer_action("action", m.action)?,
            actor: required_str("actor", &m.actor, OperatorId::parse)?,
            from_holder: optional_str("from_holder", &m.from_holder, OperatorId::parse)?,
            to_holder: required_str("to_holder", &m.to_holder, OperatorId::parse)?,
            time_unix_micros: m.time_unix_micros,
            reason: Text::parse_optional("reason", &m.reason)?,
        })
    }
}

impl From<&TransferEntry> for v1::TransferEntry {
    fn from(t: &TransferEntry) -> Self {
        v1::TransferEntry {
            document_id: t.document_id.as_bytes().to_vec(),
            seq: t.seq,
            prev_entry_hash: t
                .prev_entry_hash
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            action: v1::TransferAction::from(t.action).into(),
            actor: t.actor.to_string(),
            from_holder: opt_string(t.from_holder.as_ref()),
            to_holder: t.to_holder.to_string(),
            time_unix_micros: t.time_unix_micros,
            reason: opt_string(t.reason.as_ref()),
        }
    }
}

// ---- bytes --------------------------------------------------------------------------------

/// Decodes and checks a transfer entry from payload bytes. A decode error names the field
/// `transfer_entry`.
pub fn decode_transfer_entry(bytes: &[u8]) -> Result<TransferEntry, ParseError> {
    decode::<v1::TransferEntry>("transfer_entry", "TransferEntry", bytes)?.try_into()
}

/// The protobuf payload bytes of a transfer entry, to sign.
pub fn encode_transfer_entry(entry: &TransferEntry) -> Vec<u8> {
    v1::TransferEntry::from(entry).encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::tests::{Change, bill_id};
    use crate::document::{decode_declaration_cancellation, encode_declaration_cancellation};
    use corridor_core::Digest;
    use corridor_core::document::{DeclarationCancellation, examples};

    fn wire_issue() -> v1::TransferEntry {
        (&examples::sample_issue(bill_id())).into()
    }

    /// A TRANSFER from the shipper to the forwarder, following the sample issue.
    fn wire_transfer() -> v1::TransferEntry {
        let issue = examples::sample_issue(bill_id());
        let issue_id = Digest::of(&encode_transfer_entry(&issue));
        let op = OperatorId::parse("o", examples::FORWARDER_ID).expect("valid id");
        let t = issue
            .next(
                issue_id,
                TransferAction::Transfer,
                op,
                examples::ISSUED_AT + 1,
                None,
            )
            .expect("a valid transfer");
        (&t).into()
    }

    fn entry_error(
        mut m: v1::TransferEntry,
        change: impl FnOnce(&mut v1::TransferEntry),
    ) -> String {
        change(&mut m);
        TransferEntry::try_from(m)
            .expect_err("the entry should be refused")
            .field
    }

    #[test]
    fn transfer_entries_and_cancellations_round_trip() {
        for m in [wire_issue(), wire_transfer()] {
            let e = TransferEntry::try_from(m.clone()).expect("valid entry");
            assert_eq!(v1::TransferEntry::from(&e), m);
            assert_eq!(decode_transfer_entry(&encode_transfer_entry(&e)), Ok(e));
        }
        let c = DeclarationCancellation::new(
            Digest::of(b"declaration"),
            Text::parse("reason", "goods withdrawn from sale").expect("text"),
            examples::ISSUED_AT + 1,
        )
        .expect("valid cancellation");
        assert_eq!(
            decode_declaration_cancellation(&encode_declaration_cancellation(&c)),
            Ok(c)
        );
    }

    #[test]
    fn transfer_entry_rules() {
        let cases: Vec<(&str, v1::TransferEntry, Change<v1::TransferEntry>)> = vec![
            ("action", wire_issue(), Box::new(|m| m.action = 0)),
            ("action", wire_issue(), Box::new(|m| m.action = 42)),
            (
                "document_id",
                wire_issue(),
                Box::new(|m| m.document_id.clear()),
            ),
            (
                "document_id",
                wire_issue(),
                Box::new(|m| m.document_id.truncate(31)),
            ),
            ("seq", wire_issue(), Box::new(|m| m.seq = 1)),
            (
                "prev_entry_hash",
                wire_issue(),
                Box::new(|m| m.prev_entry_hash = vec![7; 32]),
            ),
            (
                "from_holder",
                wire_issue(),
                Box::new(|m| m.from_holder = examples::CARRIER_ID.into()),
            ),
            ("actor", wire_issue(), Box::new(|m| m.actor.clear())),
            (
                "to_holder",
                wire_issue(),
                Box::new(|m| m.to_holder = "XX123".into()),
            ),
            (
                "time_unix_micros",
                wire_issue(),
                Box::new(|m| m.time_unix_micros = 0),
            ),
            ("seq", wire_transfer(), Box::new(|m| m.seq = 0)),
            (
                "prev_entry_hash",
                wire_transfer(),
                Box::new(|m| m.prev_entry_hash.clear()),
            ),
            (
                "prev_entry_hash",
                wire_transfer(),
                Box::new(|m| m.prev_entry_hash.truncate(31)),
            ),
            (
                "from_holder",
                wire_transfer(),
                Box::new(|m| m.from_holder.clear()),
            ),
            (
                "actor",
                wire_transfer(),
                Box::new(|m| m.actor = examples::CARRIER_ID.into()),
            ),
            (
                "to_holder",
                wire_transfer(),
                Box::new(|m| m.to_holder = m.from_holder.clone()),
            ),
            (
                "reason",
                wire_transfer(),
                Box::new(|m| {
                    m.action = v1::TransferAction::SurrenderRejected.into();
                }),
            ),
            (
                "reason",
                wire_transfer(),
                Box::new(|m| m.reason = "\u{7}".into()),
            ),
        ];
        for (field, m, change) in cases {
            assert_eq!(entry_error(m, change), field);
        }
        let mut m = wire_transfer();
        m.action = v1::TransferAction::SurrenderRejected.into();
        m.reason = "the bill is not the one on file".into();
        TransferEntry::try_from(m).expect("a rejection with a reason");
    }
}
