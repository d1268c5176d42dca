//! The registry's signed documents, checked on the way in from their payload bytes.
//!
//! Each `decode` takes the payload of an envelope whose signatures were already verified and
//! returns a document whose every field is valid, or a [`ParseError`] naming the field.

use std::collections::BTreeSet;

use corridor_core::document::Text;
use corridor_core::{AeoId, AeoTier, CountryCode, KeyId, OperatorId, ParseError, PublicKey};
use corridor_proto::v1;
use prost::Message;

fn decode_msg<M: Message + Default>(what: &str, payload: &[u8]) -> Result<M, ParseError> {
    M::decode(payload)
        .map_err(|e| ParseError::new("envelope.payload", format!("not a protobuf {what}: {e}")))
}

fn required_time(field: &str, t: i64) -> Result<i64, ParseError> {
    if t <= 0 {
        return Err(ParseError::new(
            field,
            format!("required: a time in microseconds since the Unix epoch, got {t}"),
        ));
    }
    Ok(t)
}

fn optional_time(field: &str, t: i64) -> Result<i64, ParseError> {
    if t < 0 {
        return Err(ParseError::new(
            field,
            format!("a time in microseconds since the Unix epoch, or 0; got {t}"),
        ));
    }
    Ok(t)
}

fn optional_text(field: &str, s: &str) -> Result<String, ParseError> {
    if s.is_empty() {
        return Ok(String::new());
    }
    Text::parse(field, s).map(|t| t.as_str().to_owned())
}

fn required_text(field: &str, s: &str) -> Result<String, ParseError> {
    Text::parse(field, s).map(|t| t.as_str().to_owned())
}

/// A tier from its wire number.
pub fn tier(field: &str, t: i32) -> Result<AeoTier, ParseError> {
    match v1::AeoTier::try_from(t) {
        Ok(v1::AeoTier::SecuritySafety) => Ok(AeoTier::SecuritySafety),
        Ok(v1::AeoTier::CustomsSimplifications) => Ok(AeoTier::CustomsSimplifications),
        Ok(v1::AeoTier::Full) => Ok(AeoTier::Full),
        Ok(v1::AeoTier::Unspecified) => Err(ParseError::new(field, "required: a tier")),
        Err(_) => Err(ParseError::new(field, format!("unknown tier number {t}"))),
    }
}

/// A tier's wire number.
pub fn tier_wire(t: AeoTier) -> v1::AeoTier {
    match t {
        AeoTier::SecuritySafety => v1::AeoTier::SecuritySafety,
        AeoTier::CustomsSimplifications => v1::AeoTier::CustomsSimplifications,
        AeoTier::Full => v1::AeoTier::Full,
    }
}

fn public_keys(field: &str, keys: &[Vec<u8>]) -> Result<Vec<PublicKey>, ParseError> {
    let mut out: Vec<PublicKey> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let key = PublicKey::from_bytes(&f, k)?;
        if out.contains(&key) {
            return Err(ParseError::new(f, "listed twice"));
        }
        out.push(key);
    }
    Ok(out)
}

/// A checked operator registration.
#[derive(Clone, Debug)]
pub(crate) struct Registration {
    pub(crate) operator_id: OperatorId,
    pub(crate) legal_name: String,
    pub(crate) address: String,
    pub(crate) country: CountryCode,
    pub(crate) keys: Vec<PublicKey>,
}

impl Registration {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::OperatorRegistration = decode_msg("OperatorRegistration", payload)?;
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let country = CountryCode::parse("country", &m.country)?;
        if operator_id.country() != country {
            return Err(ParseError::new(
                "operator_id",
                format!("an operator registered in {country} has an id starting with {country}"),
            ));
        }
        let keys = public_keys("public_keys", &m.public_keys)?;
        if keys.is_empty() {
            return Err(ParseError::new("public_keys", "required: at least one key"));
        }
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            operator_id,
            legal_name: required_text("legal_name", &m.legal_name)?,
            address: required_text("address", &m.address)?,
            country,
            keys,
        })
    }
}

/// A checked key rotation or revocation.
#[derive(Clone, Debug)]
pub(crate) struct KeyUpdate {
    pub(crate) operator_id: OperatorId,
    pub(crate) add: Vec<PublicKey>,
    pub(crate) revoke: Vec<KeyId>,
}

impl KeyUpdate {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::OperatorKeyUpdate = decode_msg("OperatorKeyUpdate", payload)?;
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let add = public_keys("add_public_keys", &m.add_public_keys)?;
        let mut revoke = Vec::with_capacity(m.revoke_keyids.len());
        for (i, k) in m.revoke_keyids.iter().enumerate() {
            let f = format!("revoke_keyids[{i}]");
            let id = KeyId::parse(&f, k)?;
            if revoke.contains(&id) || add.iter().any(|a| a.id() == id) {
                return Err(ParseError::new(f, "listed twice"));
            }
            revoke.push(id);
        }
        if add.is_empty() && revoke.is_empty() {
            return Err(ParseError::new(
                "add_public_keys",
                "an update adds or revokes at least one key",
            ));
        }
        optional_text("reason", &m.reason)?;
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            operator_id,
            add,
            revoke,
        })
    }
}

/// A checked AEO certificate.
#[derive(Clone, Debug)]
pub(crate) struct Certificate {
    pub(crate) aeo_id: AeoId,
    pub(crate) operator_id: OperatorId,
    pub(crate) tier: AeoTier,
    pub(crate) valid_from: i64,
    pub(crate) valid_to: i64,
    pub(crate) wire: v1::AeoCertificate,
}

impl Certificate {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::AeoCertificate = decode_msg("AeoCertificate", payload)?;
        let aeo_id = AeoId::parse("aeo_id", &m.aeo_id)?;
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let tier = tier("tier", m.tier)?;
        let valid_from = required_time("valid_from_unix_micros", m.valid_from_unix_micros)?;
        let valid_to = required_time("valid_to_unix_micros", m.valid_to_unix_micros)?;
        if valid_to <= valid_from {
            return Err(ParseError::new(
                "valid_to_unix_micros",
                format!("validity ends ({valid_to}) before it starts ({valid_from})"),
            ));
        }
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            aeo_id,
            operator_id,
            tier,
            valid_from,
            valid_to,
            wire: m,
        })
    }
}

/// What a status change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Suspend,
    Reinstate,
    Revoke,
}

/// A checked certificate status change.
#[derive(Clone, Debug)]
pub(crate) struct StatusChange {
    pub(crate) aeo_id: AeoId,
    pub(crate) action: Action,
    pub(crate) reason: String,
    pub(crate) effective_at: i64,
}

impl StatusChange {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::CertificateStatusChange = decode_msg("CertificateStatusChange", payload)?;
        let aeo_id = AeoId::parse("aeo_id", &m.aeo_id)?;
        let action = match v1::CertificateAction::try_from(m.action) {
            Ok(v1::CertificateAction::Suspend) => Action::Suspend,
            Ok(v1::CertificateAction::Reinstate) => Action::Reinstate,
            Ok(v1::CertificateAction::Revoke) => Action::Revoke,
            Ok(v1::CertificateAction::Unspecified) => {
                return Err(ParseError::new(
                    "action",
                    "required: suspend, reinstate or revoke",
                ));
            }
            Err(_) => {
                return Err(ParseError::new(
                    "action",
                    format!("unknown action number {}", m.action),
                ));
            }
        };
        let reason = if action == Action::Reinstate {
            optional_text("reason", &m.reason)?
        } else {
            required_text("reason", &m.reason)?
        };
        let effective_at = optional_time("effective_at_unix_micros", m.effective_at_unix_micros)?;
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            aeo_id,
            action,
            reason,
            effective_at,
        })
    }
}

/// An arrangement id: 1 to 64 capital letters, digits and '-'.
pub(crate) fn arrangement_id(field: &str, s: &str) -> Result<String, ParseError> {
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ParseError::new(
            field,
            format!("an arrangement id is 1 to 64 capital letters, digits or '-', got {s:?}"),
        ));
    }
    Ok(s.to_owned())
}

/// A checked mutual recognition arrangement.
#[derive(Clone, Debug)]
pub(crate) struct Arrangement {
    pub(crate) id: String,
    pub(crate) countries: [CountryCode; 2],
    pub(crate) tiers: BTreeSet<AeoTier>,
    pub(crate) effective_from: i64,
    /// 0: open-ended.
    pub(crate) effective_to: i64,
    pub(crate) wire: v1::MutualRecognitionArrangement,
}

impl Arrangement {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::MutualRecognitionArrangement =
            decode_msg("MutualRecognitionArrangement", payload)?;
        let id = arrangement_id("arrangement_id", &m.arrangement_id)?;
        if m.countries.len() != 2 {
            return Err(ParseError::new(
                "countries",
                format!(
                    "an arrangement has exactly two countries, got {}",
                    m.countries.len()
                ),
            ));
        }
        let a = CountryCode::parse("countries[0]", &m.countries[0])?;
        let b = CountryCode::parse("countries[1]", &m.countries[1])?;
        if a == b {
            return Err(ParseError::new(
                "countries[1]",
                "the two countries must be different",
            ));
        }
        let mut tiers = BTreeSet::new();
        for (i, t) in m.tiers.iter().enumerate() {
            let f = format!("tiers[{i}]");
            if !tiers.insert(tier(&f, *t)?) {
                return Err(ParseError::new(f, "listed twice"));
            }
        }
        if tiers.is_empty() {
            return Err(ParseError::new(
                "tiers",
                "required: at least one tier in scope",
            ));
        }
        if let Some(b) = &m.benefits {
            for (f, v) in [
                (
                    "benefits.document_check_rate_percent",
                    b.document_check_rate_percent,
                ),
                (
                    "benefits.inspection_rate_percent",
                    b.inspection_rate_percent,
                ),
            ] {
                if v > 100 {
                    return Err(ParseError::new(
                        f,
                        format!("a percentage 0 to 100, got {v}"),
                    ));
                }
            }
        } else {
            return Err(ParseError::new("benefits", "required"));
        }
        let effective_from =
            required_time("effective_from_unix_micros", m.effective_from_unix_micros)?;
        let effective_to = optional_time("effective_to_unix_micros", m.effective_to_unix_micros)?;
        if effective_to != 0 && effective_to <= effective_from {
            return Err(ParseError::new(
                "effective_to_unix_micros",
                format!(
                    "the arrangement ends ({effective_to}) before it starts ({effective_from})"
                ),
            ));
        }
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            id,
            countries: [a, b],
            tiers,
            effective_from,
            effective_to,
            wire: m,
        })
    }

    /// Whether `c` is one of the two countries.
    pub(crate) fn party(&self, c: &CountryCode) -> bool {
        self.countries.contains(c)
    }
}

/// A checked termination.
#[derive(Clone, Debug)]
pub(crate) struct Termination {
    pub(crate) id: String,
    pub(crate) country: CountryCode,
    pub(crate) reason: String,
    pub(crate) effective_at: i64,
}

impl Termination {
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        let m: v1::ArrangementTermination = decode_msg("ArrangementTermination", payload)?;
        let id = arrangement_id("arrangement_id", &m.arrangement_id)?;
        let country = CountryCode::parse("country", &m.country)?;
        let reason = required_text("reason", &m.reason)?;
        let effective_at = optional_time("effective_at_unix_micros", m.effective_at_unix_micros)?;
        required_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        Ok(Self {
            id,
            country,
            reason,
            effective_at,
        })
    }
}
