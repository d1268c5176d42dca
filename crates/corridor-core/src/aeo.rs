//! Authorized Economic Operator (AEO) identifiers and tiers.
//!
//! An AEO certificate id has the form China uses (`AEOCN0123456789`): the letters `AEO`, the
//! ISO 3166-1 alpha-2 code of the issuing country, then ten digits.

pub mod document;
pub mod record;

use std::fmt;
use std::str::FromStr;

use crate::codes::CountryCode;
use crate::error::ParseError;

/// An AEO certificate id: `AEO` + issuing country + 10 digits (`AEOCN0123456789`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AeoId(String);

impl AeoId {
    /// Parses an id; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        let ok = s.len() == 15
            && s.starts_with("AEO")
            && s.as_bytes()[5..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(ParseError::new(
                field,
                format!(
                    "an AEO id is \"AEO\", a country code and 10 digits (AEOCN0123456789), got {s:?}"
                ),
            ));
        }
        CountryCode::parse(field, &s[3..5])?;
        Ok(Self(s.to_owned()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country whose customs authority issued the certificate.
    pub fn country(&self) -> CountryCode {
        // Checked in `parse`.
        CountryCode::parse("aeo_id", &self.0[3..5]).unwrap_or_else(|_| unreachable!())
    }
}

impl fmt::Display for AeoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AeoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AeoId({})", self.0)
    }
}

impl FromStr for AeoId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("aeo_id", s)
    }
}

/// The kind of AEO authorisation, as the WCO SAFE Framework and the EU's AEOS / AEOC / AEOF
/// distinguish them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum AeoTier {
    /// Security and safety (AEOS): fewer security-related checks.
    SecuritySafety,
    /// Customs simplifications (AEOC): simplified procedures, fewer document checks.
    CustomsSimplifications,
    /// Both (AEOF): the full authorisation.
    Full,
}

impl AeoTier {
    /// The tier's name on the command line and in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SecuritySafety => "security-safety",
            Self::CustomsSimplifications => "customs-simplifications",
            Self::Full => "full",
        }
    }
}

impl fmt::Display for AeoTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AeoTier {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "security-safety" | "aeos" => Ok(Self::SecuritySafety),
            "customs-simplifications" | "aeoc" => Ok(Self::CustomsSimplifications),
            "full" | "aeof" => Ok(Self::Full),
            _ => Err(ParseError::new(
                "tier",
                format!("expected security-safety, customs-simplifications or full, got {s:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aeo_ids_follow_the_chinese_format() {
        let id = AeoId::parse("aeo_id", "AEOCN0123456789").unwrap();
        assert_eq!(id.country().as_str(), "CN");
        for bad in [
            "",
            "AEOCN012345678",
            "AEOCN01234567890",
            "AEOXX0123456789",
            "AEOcn0123456789",
            "AEDCN0123456789",
            "AEOCN012345678A",
        ] {
            let e = AeoId::parse("certificate.aeo_id", bad).unwrap_err();
            assert_eq!(e.field, "certificate.aeo_id", "{bad}");
        }
    }

    #[test]
    fn tiers_parse_by_name() {
        for t in [
            AeoTier::SecuritySafety,
            AeoTier::CustomsSimplifications,
            AeoTier::Full,
        ] {
            assert_eq!(t.as_str().parse::<AeoTier>().unwrap(), t);
        }
        assert!("gold".parse::<AeoTier>().is_err());
    }
}
