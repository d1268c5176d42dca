//! The AEO registry's signed documents (`proto/corridor/v1/aeo.proto`) as validated values:
//! an operator's registration and key update, an AEO certificate and its status change, a
//! mutual recognition arrangement and its termination.
//!
//! As with the trade documents of [`crate::document`], each is built from a `...Parts`
//! record by a checking `new`, reads its parts through `Deref` and gives them back by
//! `into_parts`. Field names are those of the proto messages. The rules across fields are
//! also public one by one (`check_*`), so that a wire conversion checking field after field
//! reports the first fault in field order, as the registry always has.
//!
//! Times are [`UnixMicros`]. Whether checks passed for the document's signer and the
//! registry's state is not decided here: that is the registry's.

use std::fmt;
use std::ops::Deref;

use crate::aeo::{AeoId, AeoTier};
use crate::codes::{CountryCode, OperatorId};
use crate::document::{Text, UnixMicros, first_duplicate, require_time};
use crate::error::ParseError;
use crate::keys::{KeyId, PublicKey};

/// Refuses a time that is not after the epoch (0 is "not set" on the wire).
pub fn check_time(field: &str, t: UnixMicros) -> Result<(), ParseError> {
    require_time(field, t)
}

/// Refuses a negative time; 0 is allowed and means "not set".
pub fn check_optional_time(field: &str, t: UnixMicros) -> Result<(), ParseError> {
    if t < 0 {
        return Err(ParseError::new(
            field,
            format!("a time in microseconds since the Unix epoch, or 0; got {t}"),
        ));
    }
    Ok(())
}

/// Refuses a key or id listed twice in `items`; `field` is the list's name.
fn check_distinct<T: PartialEq>(field: &str, items: &[T]) -> Result<(), ParseError> {
    match first_duplicate(items) {
        Some(i) => Err(ParseError::new(format!("{field}[{i}]"), "listed twice")),
        None => Ok(()),
    }
}

macro_rules! document {
    ($ty:ident, $parts:ident) => {
        impl $ty {
            /// The parts, to change and check again.
            pub fn into_parts(self) -> $parts {
                self.0
            }
        }

        impl Deref for $ty {
            type Target = $parts;
            fn deref(&self) -> &$parts {
                &self.0
            }
        }
    };
}

/// The parts of an [`OperatorRegistration`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorRegistrationParts {
    /// The operator's id, which starts with its country's code.
    pub operator_id: OperatorId,
    /// The operator's legal name.
    pub legal_name: Text,
    /// The operator's registered address.
    pub address: Text,
    /// The country whose customs authority registers it.
    pub country: CountryCode,
    /// Its signing keys: at least one, none twice.
    pub public_keys: Vec<PublicKey>,
    /// When the authority signed the registration.
    pub issued_at_unix_micros: UnixMicros,
}

/// An operator registered by its country's customs authority.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorRegistration(OperatorRegistrationParts);

impl OperatorRegistration {
    /// Checks the id against the country, the keys, and the time.
    pub fn new(parts: OperatorRegistrationParts) -> Result<Self, ParseError> {
        Self::check_country(&parts.operator_id, &parts.country)?;
        Self::check_keys(&parts.public_keys)?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }

    /// An operator registered in `country` has an id starting with `country`.
    pub fn check_country(id: &OperatorId, country: &CountryCode) -> Result<(), ParseError> {
        if id.country() != *country {
            return Err(ParseError::new(
                "operator_id",
                format!("an operator registered in {country} has an id starting with {country}"),
            ));
        }
        Ok(())
    }

    /// At least one key, none twice.
    pub fn check_keys(keys: &[PublicKey]) -> Result<(), ParseError> {
        check_distinct("public_keys", keys)?;
        if keys.is_empty() {
            return Err(ParseError::new("public_keys", "required: at least one key"));
        }
        Ok(())
    }
}

document!(OperatorRegistration, OperatorRegistrationParts);

/// The parts of an [`OperatorKeyUpdate`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorKeyUpdateParts {
    /// The operator whose keys change.
    pub operator_id: OperatorId,
    /// Keys to add, none twice.
    pub add_public_keys: Vec<PublicKey>,
    /// Keys to revoke, by id, none twice and none also added.
    pub revoke_keyids: Vec<KeyId>,
    /// Why, if said.
    pub reason: Option<Text>,
    /// When the authority signed the update.
    pub issued_at_unix_micros: UnixMicros,
}

/// A rotation or revocation of an operator's keys by its country's customs authority.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorKeyUpdate(OperatorKeyUpdateParts);

impl OperatorKeyUpdate {
    /// Checks the keys (at least one added or revoked, none twice) and the time.
    pub fn new(parts: OperatorKeyUpdateParts) -> Result<Self, ParseError> {
        check_distinct("add_public_keys", &parts.add_public_keys)?;
        for (i, id) in parts.revoke_keyids.iter().enumerate() {
            Self::check_revoked(i, id, &parts.revoke_keyids[..i], &parts.add_public_keys)?;
        }
        Self::check_not_empty(&parts.add_public_keys, &parts.revoke_keyids)?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }

    /// The `i`th key to revoke is not among those listed before it nor among those added.
    pub fn check_revoked(
        i: usize,
        id: &KeyId,
        before: &[KeyId],
        added: &[PublicKey],
    ) -> Result<(), ParseError> {
        if before.contains(id) || added.iter().any(|a| a.id() == *id) {
            return Err(ParseError::new(
                format!("revoke_keyids[{i}]"),
                "listed twice",
            ));
        }
        Ok(())
    }

    /// An update adds or revokes at least one key.
    pub fn check_not_empty(add: &[PublicKey], revoke: &[KeyId]) -> Result<(), ParseError> {
        if add.is_empty() && revoke.is_empty() {
            return Err(ParseError::new(
                "add_public_keys",
                "an update adds or revokes at least one key",
            ));
        }
        Ok(())
    }
}

document!(OperatorKeyUpdate, OperatorKeyUpdateParts);

/// The parts of an [`AeoCertificate`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AeoCertificateParts {
    /// The certificate's id, naming the issuing country.
    pub aeo_id: AeoId,
    /// The certified operator.
    pub operator_id: OperatorId,
    /// What it authorises.
    pub tier: AeoTier,
    /// Start of validity.
    pub valid_from_unix_micros: UnixMicros,
    /// End of validity (exclusive), after its start.
    pub valid_to_unix_micros: UnixMicros,
    /// When the authority signed it.
    pub issued_at_unix_micros: UnixMicros,
}

/// An AEO certificate issued by a customs authority.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AeoCertificate(AeoCertificateParts);

impl AeoCertificate {
    /// Checks the validity period and the times.
    pub fn new(parts: AeoCertificateParts) -> Result<Self, ParseError> {
        check_time("valid_from_unix_micros", parts.valid_from_unix_micros)?;
        check_time("valid_to_unix_micros", parts.valid_to_unix_micros)?;
        Self::check_validity(parts.valid_from_unix_micros, parts.valid_to_unix_micros)?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }

    /// Validity ends after it starts.
    pub fn check_validity(from: UnixMicros, to: UnixMicros) -> Result<(), ParseError> {
        if to <= from {
            return Err(ParseError::new(
                "valid_to_unix_micros",
                format!("validity ends ({to}) before it starts ({from})"),
            ));
        }
        Ok(())
    }
}

document!(AeoCertificate, AeoCertificateParts);

/// What a status change does to a certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CertificateAction {
    /// Suspends an active certificate.
    Suspend,
    /// Makes a suspended certificate active again.
    Reinstate,
    /// Revokes a certificate for good.
    Revoke,
}

/// The parts of a [`CertificateStatusChange`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CertificateStatusChangeParts {
    /// The certificate.
    pub aeo_id: AeoId,
    /// What happens to it.
    pub action: CertificateAction,
    /// Why: required for a suspension or revocation.
    pub reason: Option<Text>,
    /// When it takes effect; 0: when recorded.
    pub effective_at_unix_micros: UnixMicros,
    /// When the authority signed it.
    pub issued_at_unix_micros: UnixMicros,
}

/// A suspension, reinstatement or revocation of a certificate by its issuing authority.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CertificateStatusChange(CertificateStatusChangeParts);

impl CertificateStatusChange {
    /// Checks the reason against the action, and the times.
    pub fn new(parts: CertificateStatusChangeParts) -> Result<Self, ParseError> {
        if parts.action != CertificateAction::Reinstate && parts.reason.is_none() {
            // The message of a required text left empty.
            return Err(ParseError::new("reason", "required: must not be empty"));
        }
        check_optional_time("effective_at_unix_micros", parts.effective_at_unix_micros)?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }
}

document!(CertificateStatusChange, CertificateStatusChangeParts);

/// An arrangement id: 1 to 64 capital letters, digits and '-' (`MRA-CN-KZ`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrangementId(String);

impl ArrangementId {
    /// Parses an id; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
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
        Ok(Self(s.to_owned()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArrangementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ArrangementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArrangementId({})", self.0)
    }
}

/// The treatment a recognised AEO gets: its rates of document checks and inspections as a
/// percentage of the usual, and whether it goes first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ArrangementBenefits {
    document_check_rate_percent: u32,
    inspection_rate_percent: u32,
    priority_treatment: bool,
}

impl ArrangementBenefits {
    /// The usual treatment: every rate at 100 %, no priority (what an own certificate
    /// gives; the node's AEO rates apply).
    pub const FULL_RATES: Self = Self {
        document_check_rate_percent: 100,
        inspection_rate_percent: 100,
        priority_treatment: false,
    };

    /// Checks that both rates are percentages (0 to 100).
    pub fn new(
        document_check_rate_percent: u32,
        inspection_rate_percent: u32,
        priority_treatment: bool,
    ) -> Result<Self, ParseError> {
        for (f, v) in [
            ("document_check_rate_percent", document_check_rate_percent),
            ("inspection_rate_percent", inspection_rate_percent),
        ] {
            if v > 100 {
                return Err(ParseError::new(
                    f,
                    format!("a percentage 0 to 100, got {v}"),
                ));
            }
        }
        Ok(Self {
            document_check_rate_percent,
            inspection_rate_percent,
            priority_treatment,
        })
    }

    /// Document checks, as a percentage of the usual rate.
    pub fn document_check_rate_percent(&self) -> u32 {
        self.document_check_rate_percent
    }

    /// Inspections, as a percentage of the usual rate.
    pub fn inspection_rate_percent(&self) -> u32 {
        self.inspection_rate_percent
    }

    /// Whether the operator's consignments are dealt with first.
    pub fn priority_treatment(&self) -> bool {
        self.priority_treatment
    }
}

/// The parts of a [`MutualRecognitionArrangement`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MutualRecognitionArrangementParts {
    /// The arrangement's id.
    pub arrangement_id: ArrangementId,
    /// The two parties, different, in the order signed.
    pub countries: [CountryCode; 2],
    /// The tiers each party recognises of the other's certificates: at least one, none
    /// twice, in the order listed.
    pub tiers: Vec<AeoTier>,
    /// What a recognised operator gets.
    pub benefits: ArrangementBenefits,
    /// When it may come into force at the earliest.
    pub effective_from_unix_micros: UnixMicros,
    /// When it ends, after it starts; `None`: open-ended (0 on the wire).
    pub effective_to_unix_micros: Option<UnixMicros>,
    /// When the proposal was signed.
    pub issued_at_unix_micros: UnixMicros,
}

/// A mutual recognition arrangement between two customs authorities, in force once both
/// have signed it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MutualRecognitionArrangement(MutualRecognitionArrangementParts);

impl MutualRecognitionArrangement {
    /// Checks the parties, the tiers and the times.
    pub fn new(parts: MutualRecognitionArrangementParts) -> Result<Self, ParseError> {
        Self::check_parties(&parts.countries[0], &parts.countries[1])?;
        check_distinct("tiers", &parts.tiers)?;
        Self::check_tiers(&parts.tiers)?;
        check_time(
            "effective_from_unix_micros",
            parts.effective_from_unix_micros,
        )?;
        if let Some(to) = parts.effective_to_unix_micros {
            check_time("effective_to_unix_micros", to)?;
        }
        Self::check_period(
            parts.effective_from_unix_micros,
            parts.effective_to_unix_micros,
        )?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }

    /// The two countries are different.
    pub fn check_parties(a: &CountryCode, b: &CountryCode) -> Result<(), ParseError> {
        if a == b {
            return Err(ParseError::new(
                "countries[1]",
                "the two countries must be different",
            ));
        }
        Ok(())
    }

    /// At least one tier is in scope.
    pub fn check_tiers(tiers: &[AeoTier]) -> Result<(), ParseError> {
        if tiers.is_empty() {
            return Err(ParseError::new(
                "tiers",
                "required: at least one tier in scope",
            ));
        }
        Ok(())
    }

    /// The arrangement ends, if it does, after it starts.
    pub fn check_period(from: UnixMicros, to: Option<UnixMicros>) -> Result<(), ParseError> {
        match to {
            Some(to) if to <= from => Err(ParseError::new(
                "effective_to_unix_micros",
                format!("the arrangement ends ({to}) before it starts ({from})"),
            )),
            _ => Ok(()),
        }
    }

    /// Whether `c` is one of the two countries.
    pub fn party(&self, c: &CountryCode) -> bool {
        self.0.countries.contains(c)
    }

    /// Whether the arrangement's scope covers `tier`.
    pub fn covers(&self, tier: AeoTier) -> bool {
        self.0.tiers.contains(&tier)
    }
}

document!(
    MutualRecognitionArrangement,
    MutualRecognitionArrangementParts
);

/// The parts of an [`ArrangementTermination`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ArrangementTerminationParts {
    /// The arrangement.
    pub arrangement_id: ArrangementId,
    /// The party that terminates it.
    pub country: CountryCode,
    /// Why.
    pub reason: Text,
    /// When it takes effect; 0: when recorded.
    pub effective_at_unix_micros: UnixMicros,
    /// When the party signed it.
    pub issued_at_unix_micros: UnixMicros,
}

/// One party's termination of an arrangement in force.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ArrangementTermination(ArrangementTerminationParts);

impl ArrangementTermination {
    /// Checks the times.
    pub fn new(parts: ArrangementTerminationParts) -> Result<Self, ParseError> {
        check_optional_time("effective_at_unix_micros", parts.effective_at_unix_micros)?;
        check_time("issued_at_unix_micros", parts.issued_at_unix_micros)?;
        Ok(Self(parts))
    }
}

document!(ArrangementTermination, ArrangementTerminationParts);

#[cfg(test)]
mod tests;
