//! Conversions between the document messages of `ebl.proto` and `declaration.proto` and the
//! validated documents of `corridor_core::document`.
//!
//! Wire to core is `TryFrom`, which checks everything `corridor-core` checks plus what only
//! the wire can get wrong (an enum left UNSPECIFIED or of an unknown number, a required
//! message left out, a leg's `sequence` or an item's `item_number` that is not its position
//! plus one). Every error names the full field path, e.g. `consignment_items[2].hs_code`.
//! Core to wire is `From<&T>`, for services that build documents. The `decode_*` functions
//! take payload bytes (after the envelope's signature is verified) to a checked document;
//! the `encode_*` functions give the bytes to sign.

mod declaration;
mod ebl;
mod transfer;

pub use declaration::{
    decode_declaration, decode_declaration_cancellation, encode_declaration,
    encode_declaration_cancellation,
};
pub use ebl::{decode_bill_of_lading, encode_bill_of_lading, seal_checks};
pub use transfer::{decode_transfer_entry, encode_transfer_entry};

use std::num::{NonZeroU32, NonZeroU64};

use corridor_core::document::TransportMode;
use corridor_core::{ContainerNumber, Digest, Money, ParseError};
use prost::Message;

use crate::v1;

// ---- wire helpers -------------------------------------------------------------------------

/// A message field that must be present.
fn required<T>(field: &str, m: Option<T>) -> Result<T, ParseError> {
    m.ok_or_else(|| ParseError::new(field, "required"))
}

/// A required string field: "required" when empty, else parsed by `parse`.
fn required_str<T>(
    field: &str,
    s: &str,
    parse: fn(&str, &str) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    if s.is_empty() {
        return Err(ParseError::new(field, "required"));
    }
    parse(field, s)
}

/// An optional string field: the empty string (proto3's "not set") is `None`.
fn optional_str<T>(
    field: &str,
    s: &str,
    parse: fn(&str, &str) -> Result<T, ParseError>,
) -> Result<Option<T>, ParseError> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse(field, s).map(Some)
    }
}

fn opt_string<T: ToString>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

fn nonzero_u64(field: &str, v: u64) -> Result<NonZeroU64, ParseError> {
    NonZeroU64::new(v).ok_or_else(|| ParseError::new(field, "must be more than zero"))
}

fn nonzero_u32(field: &str, v: u32) -> Result<NonZeroU32, ParseError> {
    NonZeroU32::new(v).ok_or_else(|| ParseError::new(field, "must be more than zero"))
}

/// A required sha256 field: exactly 32 bytes.
fn digest(field: &str, bytes: &[u8]) -> Result<Digest, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::new(field, "required: a 32-byte sha256 digest"));
    }
    Digest::from_slice(field, bytes)
}

/// An optional sha256 field: empty is `None`, otherwise exactly 32 bytes.
fn optional_digest(field: &str, bytes: &[u8]) -> Result<Option<Digest>, ParseError> {
    if bytes.is_empty() {
        Ok(None)
    } else {
        Digest::from_slice(field, bytes).map(Some)
    }
}

fn money(field: &str, m: Option<v1::Money>) -> Result<Money, ParseError> {
    let m = required(field, m)?;
    Money::parse(field, &m.currency, m.amount_minor)
}

fn money_to_wire(m: &Money) -> v1::Money {
    v1::Money {
        currency: m.currency().to_string(),
        amount_minor: m.minor_units(),
    }
}

fn unknown_enum(field: &str, v: i32) -> ParseError {
    ParseError::new(field, format!("unknown value {v}"))
}

fn unspecified_enum(field: &str, name: &str) -> ParseError {
    ParseError::new(field, format!("required: {name} is not allowed here"))
}

/// Within `outer`.
fn within(outer: &str) -> impl Fn(ParseError) -> ParseError + '_ {
    move |e| e.within(outer)
}

/// Within `outer[i]`.
fn at(outer: &str, i: usize) -> impl Fn(ParseError) -> ParseError {
    let path = format!("{outer}[{i}]");
    move |e| e.within(&path)
}

/// The `sequence` or `item_number` of the element at index `i`: `i + 1`.
fn position(field: &str, i: usize, got: u32) -> Result<(), ParseError> {
    if usize::try_from(got).ok() != i.checked_add(1) {
        return Err(ParseError::new(
            field,
            format!(
                "must be {} (numbered from 1 in order, without gaps), got {got}",
                i + 1
            ),
        ));
    }
    Ok(())
}

/// The wire number of the element at index `i`.
fn number_of(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

fn container_numbers(numbers: &[String]) -> Result<Vec<ContainerNumber>, ParseError> {
    numbers
        .iter()
        .enumerate()
        .map(|(j, c)| ContainerNumber::parse(&format!("container_numbers[{j}]"), c))
        .collect()
}

fn container_numbers_to_wire(numbers: &[ContainerNumber]) -> Vec<String> {
    numbers.iter().map(ToString::to_string).collect()
}

// ---- enums --------------------------------------------------------------------------------

fn transport_mode(field: &str, v: i32) -> Result<TransportMode, ParseError> {
    use v1::TransportMode as W;
    match W::try_from(v) {
        Ok(W::Rail) => Ok(TransportMode::Rail),
        Ok(W::Road) => Ok(TransportMode::Road),
        Ok(W::Sea) => Ok(TransportMode::Sea),
        Ok(W::Ferry) => Ok(TransportMode::Ferry),
        Ok(W::InlandWater) => Ok(TransportMode::InlandWater),
        Ok(W::Air) => Ok(TransportMode::Air),
        Ok(W::Unspecified) => Err(unspecified_enum(field, "TRANSPORT_MODE_UNSPECIFIED")),
        Err(_) => Err(unknown_enum(field, v)),
    }
}

impl From<TransportMode> for v1::TransportMode {
    fn from(m: TransportMode) -> Self {
        match m {
            TransportMode::Rail => Self::Rail,
            TransportMode::Road => Self::Road,
            TransportMode::Sea => Self::Sea,
            TransportMode::Ferry => Self::Ferry,
            TransportMode::InlandWater => Self::InlandWater,
            TransportMode::Air => Self::Air,
        }
    }
}

// ---- bytes --------------------------------------------------------------------------------

/// Decodes `bytes` as message `M`; a decode error names `field` (the message, in snake
/// case).
fn decode<M: Message + Default>(field: &str, name: &str, bytes: &[u8]) -> Result<M, ParseError> {
    M::decode(bytes).map_err(|e| ParseError::new(field, format!("not a protobuf {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::examples::sample_bill_of_lading;

    /// A change to a valid wire message that should make it invalid.
    pub(super) type Change<M> = Box<dyn FnOnce(&mut M)>;

    pub(super) fn bill_id() -> Digest {
        Digest::of(&encode_bill_of_lading(&sample_bill_of_lading()))
    }

    #[test]
    fn undecodable_bytes_name_the_message() {
        let garbage = b"\xff\xff\xff";
        assert_eq!(
            decode_bill_of_lading(garbage).map_err(|e| e.field),
            Err("bill_of_lading".into())
        );
        assert_eq!(
            decode_transfer_entry(garbage).map_err(|e| e.field),
            Err("transfer_entry".into())
        );
        assert_eq!(
            decode_declaration(garbage).map_err(|e| e.field),
            Err("declaration".into())
        );
        assert_eq!(
            decode_declaration_cancellation(garbage).map_err(|e| e.field),
            Err("declaration_cancellation".into())
        );
        // Valid protobuf, but an empty bill: the first missing field is named.
        assert_eq!(
            decode_bill_of_lading(&[]).map_err(|e| e.field),
            Err("transport_document_reference".into())
        );
    }
}
