//! The trade documents corridor signs and checks: the electronic bill of lading and its
//! transfer chain ([`ebl`], [`transfer`]), the corridor declaration ([`declaration`]) and
//! the customs nodes' and officers' documents ([`customs`]), and the declarant's records and
//! answers ([`declarant`]).
//!
//! These are the validated forms of the messages of `proto/corridor/v1/ebl.proto` and
//! `declaration.proto`; `corridor-proto` converts the wire messages into them. Field names
//! are those of the proto messages, so an error's [`ParseError::field`] path
//! (`consignment_items[2].hs_code`) names the same field on the wire and here.
//!
//! Two kinds of type:
//! - plain records ([`Party`], [`Equipment`], [`ConsignmentItem`], ...) with public fields of
//!   types that are valid by construction, and no rule across their fields;
//! - documents and parts with rules across fields ([`BillOfLading`], [`TransportLeg`],
//!   [`TransferEntry`], [`Declaration`], [`RouteStep`], [`DeclaredItem`]). Each is built
//!   from a `...Parts` record by a checking `new`, reads its parts through `Deref` (there is
//!   no `DerefMut`), and gives them back by `into_parts` to be changed and checked again.
//!
//! Ordered lists carry their position: a leg's `sequence` and an item's `item_number` on the
//! wire are its index in the list plus one, checked on the way in and written on the way
//! out, so they are not stored twice.
//!
//! Times are [`UnixMicros`]; weights are grams.

pub mod customs;
pub mod declarant;
pub mod declaration;
pub mod ebl;
pub mod examples;
pub mod transfer;

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

pub use customs::{
    AdvanceReceipt, AdvanceRecord, Assessment, BorderEvent, BorderEventKind, ClearanceStatus,
    Completion, ConsignmentEvent, ConsignmentState, ConsignmentView, CountryClearance,
    DeclarationSubmission, DeliveryAnswer, ExitLink, Lane, NodeStatus, OfficerDecision, Outcome,
    QueueFilter, Release, SealCheck, StepReceipt, bill_seals,
};
pub use declaration::{
    Declaration, DeclarationCancellation, DeclarationParts, DeclarationRole, DeclaredItem,
    DeclaredItemParts, Guarantee, RouteStep, RouteStepParts, TransportMeans,
};
pub use ebl::{
    Address, BillOfLading, BillOfLadingParts, BillOfLadingType, CarrierCodeListProvider,
    ConsignmentItem, Equipment, FreightPaymentTerm, NotifyParty, Party, Seal, SealSource,
    TransportDocumentJson, TransportLeg, TransportLegParts,
};
pub use transfer::{
    ChainEntry, ChainError, NotHolder, TransferAction, TransferEntry, TransferEntryParts,
    check_chain,
};

/// A point in time: microseconds since the Unix epoch (UTC), as on the wire.
pub type UnixMicros = i64;

/// Refuses a time that is not after the epoch: on the wire 0 means "not set".
pub(crate) fn require_time(field: &str, t: UnixMicros) -> Result<(), ParseError> {
    if t <= 0 {
        return Err(ParseError::new(
            field,
            format!("required: a time in microseconds since the Unix epoch, got {t}"),
        ));
    }
    Ok(())
}

/// Finds the first value listed twice; returns its index.
pub(crate) fn first_duplicate<T: PartialEq>(items: &[T]) -> Option<usize> {
    (1..items.len()).find(|&i| items[..i].contains(&items[i]))
}

/// A required line of free text (a name, a street, a description of goods): not blank, at
/// most [`Text::MAX_CHARS`] characters, no control characters. Kept exactly as given.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(String);

impl Text {
    /// Longest text accepted, in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Parses a required text; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if s.trim().is_empty() {
            return Err(ParseError::new(field, "required: must not be empty"));
        }
        let chars = s.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(ParseError::new(
                field,
                format!("at most {} characters, got {chars}", Self::MAX_CHARS),
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return Err(ParseError::new(
                field,
                format!("must not contain control character {c:?}"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Parses an optional text: the empty string (proto3's "not set") is `None`.
    pub fn parse_optional(field: &str, s: &str) -> Result<Option<Self>, ParseError> {
        if s.is_empty() {
            Ok(None)
        } else {
            Self::parse(field, s).map(Some)
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for Text {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("text", s)
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Means of transport (after UN/ECE Recommendation 19): of a leg of the bill, or of the
/// means crossing a border in a declaration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TransportMode {
    /// Rail.
    Rail,
    /// Road.
    Road,
    /// Sea, by a scheduled vessel.
    Sea,
    /// Ro-ro or rail ferry crossing, e.g. across the Caspian Sea.
    Ferry,
    /// Inland waterway.
    InlandWater,
    /// Air.
    Air,
}

impl TransportMode {
    /// Lower-case name, as in reports: `rail`, `ferry`, `inland_water`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rail => "rail",
            Self::Road => "road",
            Self::Sea => "sea",
            Self::Ferry => "ferry",
            Self::InlandWater => "inland_water",
            Self::Air => "air",
        }
    }
}

impl fmt::Display for TransportMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_blank_long_and_control_characters() {
        assert_eq!(
            Text::parse("t", "Lithium-ion batteries").map(|t| t.to_string()),
            Ok("Lithium-ion batteries".to_owned())
        );
        assert_eq!(Text::parse_optional("t", ""), Ok(None));
        let long = "x".repeat(Text::MAX_CHARS + 1);
        for bad in ["", "   ", "a\nb", "tab\there", long.as_str()] {
            let e = Text::parse("shipper.legal_name", bad).expect_err(bad);
            assert_eq!(e.field, "shipper.legal_name");
        }
        assert!(Text::parse("t", &"ü".repeat(Text::MAX_CHARS)).is_ok());
    }

    #[test]
    fn duplicates_and_times() {
        assert_eq!(first_duplicate(&[1, 2, 3]), None);
        assert_eq!(first_duplicate(&[1, 2, 1, 2]), Some(2));
        assert!(require_time("t", 1).is_ok());
        assert_eq!(
            require_time("issued_at_unix_micros", 0).map_err(|e| e.field),
            Err("issued_at_unix_micros".to_owned())
        );
    }
}
