//! Signed checkpoints in the C2SP `tlog-checkpoint` signed-note form.
//!
//! ```text
//! <origin>\n
//! <size>\n
//! <base64 RFC 6962 root>\n
//! corridor-head <hex hash of entry size-1>\n
//! \n
//! — <origin> <base64(key hash[4] || ed25519 signature[64])>\n
//! ```
//! The signature covers the body (the four lines, newline-terminated). The key hash is
//! `SHA-256(name || "\n" || 0x01 || public key)[..4]` (C2SP signed-note, ed25519).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey, SigningKey};

use crate::error::Error;

/// Prefix of the extension line that carries the chain head.
const HEAD_EXTENSION: &str = "corridor-head ";

/// A signed checkpoint of a ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The ledger's name, also the signing key's name.
    pub origin: String,
    /// Entries covered.
    pub size: u64,
    /// RFC 6962 Merkle root over entry hashes `0..size`.
    pub root: Digest,
    /// Hash of entry `size - 1`; [`Digest::ZERO`] when size is 0.
    pub head: Digest,
    /// The full signed note text.
    pub note: String,
}

/// The C2SP signed-note key hash of an ed25519 key named `name`.
pub fn key_hash(name: &str, key: &PublicKey) -> [u8; 4] {
    let d = Digest::of_parts(&[name.as_bytes(), b"\n\x01", key.as_bytes()]);
    let mut out = [0; 4];
    out.copy_from_slice(&d.as_bytes()[..4]);
    out
}

fn body(origin: &str, size: u64, root: &Digest, head: &Digest) -> String {
    format!(
        "{origin}\n{size}\n{}\n{HEAD_EXTENSION}{}\n",
        B64.encode(root.as_bytes()),
        head.to_hex()
    )
}

impl Checkpoint {
    /// Signs a checkpoint with `key` under the name `origin`.
    pub fn sign(origin: &str, size: u64, root: Digest, head: Digest, key: &SigningKey) -> Self {
        let text = body(origin, size, &root, &head);
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&key_hash(origin, &key.public()));
        sig.extend_from_slice(&key.sign(text.as_bytes()));
        let note = format!("{text}\n\u{2014} {origin} {}\n", B64.encode(&sig));
        Self {
            origin: origin.to_owned(),
            size,
            root,
            head,
            note,
        }
    }

    /// Parses a note's body (signatures are checked by [`Checkpoint::verify`]).
    pub fn parse(note: &str) -> Result<Self, Error> {
        let bad = |r: &str| Error::Checkpoint(r.to_owned());
        let (text, _sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line between body and signatures"))?;
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size: u64 = lines
            .next()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("size line is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|b| Digest::from_slice("root", &b).ok())
            .ok_or_else(|| bad("root line is not a base64 sha256 hash"))?;
        let head = lines
            .find_map(|l| l.strip_prefix(HEAD_EXTENSION))
            .and_then(|h| Digest::parse_hex("head", h).ok())
            .ok_or_else(|| bad("no corridor-head extension line"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            head,
            note: note.to_owned(),
        })
    }

    /// Checks that the note carries a valid signature by `key` under the name `origin`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), Error> {
        let (text, sigs) = self
            .note
            .split_once("\n\n")
            .ok_or_else(|| Error::Checkpoint("malformed note".into()))?;
        let signed = format!("{text}\n");
        let want = key_hash(&self.origin, key);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                continue;
            };
            let Some((name, b64)) = rest.rsplit_once(' ') else {
                continue;
            };
            let Ok(raw) = B64.decode(b64) else { continue };
            if name != self.origin || raw.len() != 68 || raw[..4] != want {
                continue;
            }
            let mut sig = [0u8; 64];
            sig.copy_from_slice(&raw[4..]);
            return if key.verify(signed.as_bytes(), &sig) {
                Ok(())
            } else {
                Err(Error::Checkpoint(format!(
                    "signature of {} by key {} does not verify",
                    self.origin,
                    key.id()
                )))
            };
        }
        Err(Error::Checkpoint(format!(
            "no signature by key {} named {:?}",
            key.id(),
            self.origin
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_parse_verify() {
        let key = SigningKey::from_seed(&[3; 32]);
        let cp = Checkpoint::sign("corridor/test", 5, Digest::of(b"r"), Digest::of(b"h"), &key);
        assert!(cp.note.starts_with("corridor/test\n5\n"));
        let parsed = Checkpoint::parse(&cp.note).unwrap();
        assert_eq!(parsed, cp);
        parsed.verify(&key.public()).unwrap();
        assert!(
            parsed
                .verify(&SigningKey::from_seed(&[4; 32]).public())
                .is_err()
        );
        let tampered = Checkpoint::parse(&cp.note.replacen("\n5\n", "\n6\n", 1)).unwrap();
        assert!(tampered.verify(&key.public()).is_err());
    }
}
