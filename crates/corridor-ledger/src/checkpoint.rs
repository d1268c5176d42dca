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

/// Prefix of the extension line that carries the chain head.
const HEAD_EXTENSION: &str = "corridor-head ";

/// Why a checkpoint note was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is not a checkpoint note.
    #[error("{0}")]
    Malformed(&'static str),
    /// The note carries no signature by the key under its origin's name.
    #[error("no signature by key {key} named {origin:?}")]
    Unsigned {
        /// The key looked for.
        key: String,
        /// The note's origin.
        origin: String,
    },
    /// The note's signature by the key does not verify.
    #[error("signature of {origin} by key {key} does not verify")]
    BadSignature {
        /// The key.
        key: String,
        /// The note's origin.
        origin: String,
    },
}

/// What a checkpoint claims of a ledger: its size, Merkle root and head. A claim only:
/// [`Checkpoint`] is one that a key has been seen to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries covered.
    pub size: u64,
    /// RFC 6962 Merkle root over entry hashes `0..size`.
    pub root: Digest,
    /// Hash of entry `size - 1`; [`Digest::ZERO`] when size is 0.
    pub head: Digest,
}

/// A checkpoint note as read, its signature not yet checked: what an audit without a key
/// compares a ledger with, and what [`Note::verify`] turns into a [`Checkpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    origin: String,
    tree: TreeHead,
    text: String,
}

/// A signed checkpoint of a ledger, its signature checked: made by [`Checkpoint::sign`], or
/// by [`Checkpoint::open`] / [`Note::verify`] against the signer's key. Its fields are those
/// of its own signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint(Note);

/// The C2SP signed-note key hash of an ed25519 key named `name`.
pub fn key_hash(name: &str, key: &PublicKey) -> [u8; 4] {
    let d = Digest::of_parts(&[name.as_bytes(), b"\n\x01", key.as_bytes()]);
    let mut out = [0; 4];
    out.copy_from_slice(&d.as_bytes()[..4]);
    out
}

fn body(origin: &str, t: &TreeHead) -> String {
    format!(
        "{origin}\n{}\n{}\n{HEAD_EXTENSION}{}\n",
        t.size,
        B64.encode(t.root.as_bytes()),
        t.head.to_hex()
    )
}

impl Note {
    /// Parses a note's body (signatures are checked by [`Note::verify`]).
    pub fn parse(note: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::Malformed;
        let (text, _sigs) = note
            .split_once("\n\n")
            .ok_or(bad("no blank line between body and signatures"))?;
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(bad("no origin line"))?;
        let size: u64 = lines
            .next()
            .and_then(|l| l.parse().ok())
            .ok_or(bad("size line is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|b| Digest::from_slice("root", &b).ok())
            .ok_or(bad("root line is not a base64 sha256 hash"))?;
        let head = lines
            .find_map(|l| l.strip_prefix(HEAD_EXTENSION))
            .and_then(|h| Digest::parse_hex("head", h).ok())
            .ok_or(bad("no corridor-head extension line"))?;
        Ok(Self {
            origin: origin.to_owned(),
            tree: TreeHead { size, root, head },
            text: note.to_owned(),
        })
    }

    /// The ledger's name, also the signing key's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What the note claims of the ledger.
    pub fn tree(&self) -> TreeHead {
        self.tree
    }

    /// The full note text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Checks that the note carries a valid signature by `key` under the name of its origin.
    pub fn verify(self, key: &PublicKey) -> Result<Checkpoint, CheckpointError> {
        signed_by(&self.text, &self.origin, key)?;
        Ok(Checkpoint(self))
    }
}

/// Checks that the signed note `note` carries a valid C2SP signed-note Ed25519 signature by
/// `key` under the name `name` over its body: lines of other names, key hashes or forms
/// are ignored, as the signed-note spec says.
pub fn signed_by(note: &str, name: &str, key: &PublicKey) -> Result<(), CheckpointError> {
    let (text, sigs) = note.split_once("\n\n").ok_or(CheckpointError::Malformed(
        "no blank line between body and signatures",
    ))?;
    let signed = format!("{text}\n");
    let want = key_hash(name, key);
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((line_name, b64)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(raw) = B64.decode(b64) else { continue };
        if line_name != name || raw.len() != 68 || raw[..4] != want {
            continue;
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&raw[4..]);
        return if key.verify(signed.as_bytes(), &sig) {
            Ok(())
        } else {
            Err(CheckpointError::BadSignature {
                key: key.id().to_string(),
                origin: name.to_owned(),
            })
        };
    }
    Err(CheckpointError::Unsigned {
        key: key.id().to_string(),
        origin: name.to_owned(),
    })
}

impl Checkpoint {
    /// Signs a checkpoint of `tree` with `key` under the name `origin`.
    pub fn sign(origin: &str, tree: TreeHead, key: &SigningKey) -> Self {
        let text = body(origin, &tree);
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&key_hash(origin, &key.public()));
        sig.extend_from_slice(&key.sign(text.as_bytes()));
        let note = format!("{text}\n\u{2014} {origin} {}\n", B64.encode(&sig));
        Self(Note {
            origin: origin.to_owned(),
            tree,
            text: note,
        })
    }

    /// Parses `note` and checks its signature by `key`.
    pub fn open(note: &str, key: &PublicKey) -> Result<Self, CheckpointError> {
        Note::parse(note)?.verify(key)
    }

    /// The ledger's name, also the signing key's name.
    pub fn origin(&self) -> &str {
        &self.0.origin
    }

    /// Entries covered.
    pub fn size(&self) -> u64 {
        self.0.tree.size
    }

    /// RFC 6962 Merkle root over entry hashes `0..size`.
    pub fn root(&self) -> Digest {
        self.0.tree.root
    }

    /// Hash of entry `size - 1`; [`Digest::ZERO`] when size is 0.
    pub fn head(&self) -> Digest {
        self.0.tree.head
    }

    /// What the checkpoint says of the ledger.
    pub fn tree(&self) -> TreeHead {
        self.0.tree
    }

    /// The full signed note text.
    pub fn note(&self) -> &str {
        &self.0.text
    }

    /// Whether the note is also signed by `key` under its origin's name.
    pub fn verify(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        self.0.clone().verify(key).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_parse_verify() {
        let key = SigningKey::from_seed(&[3; 32]);
        let tree = TreeHead {
            size: 5,
            root: Digest::of(b"r"),
            head: Digest::of(b"h"),
        };
        let cp = Checkpoint::sign("corridor/test", tree, &key);
        assert!(cp.note().starts_with("corridor/test\n5\n"));
        let parsed = Note::parse(cp.note()).unwrap();
        assert_eq!((parsed.origin(), parsed.tree()), ("corridor/test", tree));
        assert_eq!(parsed.clone().verify(&key.public()).unwrap(), cp);
        assert!(
            parsed
                .verify(&SigningKey::from_seed(&[4; 32]).public())
                .is_err()
        );
        let tampered = Note::parse(&cp.note().replacen("\n5\n", "\n6\n", 1)).unwrap();
        assert!(tampered.verify(&key.public()).is_err());
    }
}
