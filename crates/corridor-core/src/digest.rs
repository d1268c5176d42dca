//! sha256 digests: document ids, envelope ids, entry hashes.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::ParseError;

/// A sha256 digest. Displayed and parsed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The all-zero digest: the "previous hash" of a genesis entry.
    pub const ZERO: Digest = Digest([0; 32]);

    /// sha256 of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// sha256 over several byte strings, concatenated.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Self(h.finalize().into())
    }

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Takes a digest from a byte slice that must be exactly 32 bytes long.
    pub fn from_slice(field: &str, bytes: &[u8]) -> Result<Self, ParseError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            ParseError::new(
                field,
                format!("a sha256 digest is 32 bytes, got {}", bytes.len()),
            )
        })?;
        Ok(Self(arr))
    }

    /// Parses 64 hex digits.
    pub fn parse_hex(field: &str, s: &str) -> Result<Self, ParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| {
            ParseError::new(field, format!("expected 64 hex digits (sha256), got {s:?}"))
        })?;
        Ok(Self(out))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl FromStr for Digest {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_hex("digest", s)
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
