//! Witness cosignatures in the C2SP `tlog-cosignature` `cosignature/v1` form (Ed25519).
//!
//! A cosignature is a signed-note signature line on a checkpoint:
//!
//! ```text
//! — <witness name> base64(key id[4] || timestamp[8, big-endian] || ed25519 signature[64])
//! ```
//! The key id is `SHA-256(name || "\n" || 0x04 || public key)[..4]`; the signature covers
//! `"cosignature/v1\ntime <timestamp>\n"` followed by the checkpoint's body (its lines up to
//! and including the newline before the blank line). The timestamp is POSIX seconds, never 0.
//! A cosignature states that, at that time, the checkpoint was the largest tree of its log
//! the witness had seen, consistent with every earlier one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey, SigningKey};

/// The signature algorithm byte of an Ed25519 `cosignature/v1` key id.
const COSIGNATURE_V1: u8 = 0x04;

/// Length of a cosignature line's decoded value: key id, timestamp and signature.
const VALUE_LEN: usize = 4 + 8 + 64;

/// The `cosignature/v1` key id of witness `name` with key `key`.
pub fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let d = Digest::of_parts(&[name.as_bytes(), b"\n", &[COSIGNATURE_V1], key.as_bytes()]);
    let mut out = [0; 4];
    out.copy_from_slice(&d.as_bytes()[..4]);
    out
}

/// The message a `cosignature/v1` signature covers: the header and time lines, then `body`.
pub fn message(timestamp: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// The body of a signed note (what its signatures cover): its text up to and including the
/// newline before the blank line. `None` when the note has no blank line.
pub fn note_body(note: &str) -> Option<&str> {
    note.find("\n\n").map(|at| &note[..=at])
}

/// One witness's cosignature of a checkpoint, as a note signature line carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name (its key's name).
    pub name: String,
    /// The key id in the line.
    pub key_id: [u8; 4],
    /// When the witness signed, POSIX seconds.
    pub timestamp: u64,
    /// The Ed25519 signature over [`message`].
    pub signature: [u8; 64],
}

impl Cosignature {
    /// Witness `name` cosigns the checkpoint whose body is `body` at `timestamp`.
    pub fn sign(name: &str, key: &SigningKey, timestamp: u64, body: &str) -> Self {
        Self {
            name: name.to_owned(),
            key_id: key_id(name, &key.public()),
            timestamp,
            signature: key.sign(message(timestamp, body).as_bytes()),
        }
    }

    /// Reads a note signature line (with or without its newline) as a cosignature; `None`
    /// for a line of another form (a log's own signature, another algorithm's line).
    pub fn parse_line(line: &str) -> Option<Self> {
        let rest = line.trim_end_matches('\n').strip_prefix("\u{2014} ")?;
        let (name, b64) = rest.rsplit_once(' ')?;
        let raw = B64.decode(b64).ok()?;
        if name.is_empty() || name.contains(char::is_whitespace) || raw.len() != VALUE_LEN {
            return None;
        }
        let mut key_id = [0; 4];
        key_id.copy_from_slice(&raw[..4]);
        let mut ts = [0; 8];
        ts.copy_from_slice(&raw[4..12]);
        let mut signature = [0; 64];
        signature.copy_from_slice(&raw[12..]);
        Some(Self {
            name: name.to_owned(),
            key_id,
            timestamp: u64::from_be_bytes(ts),
            signature,
        })
    }

    /// The note signature line, newline-terminated.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(VALUE_LEN);
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.timestamp.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }

    /// Whether this is a valid cosignature of the checkpoint with body `body` by witness
    /// `name` with key `key`: the name and key id match, the timestamp is not 0 and the
    /// signature verifies.
    pub fn verifies(&self, name: &str, key: &PublicKey, body: &str) -> bool {
        self.name == name
            && self.key_id == key_id(name, key)
            && self.timestamp != 0
            && self.timestamp < 1 << 63
            && key.verify(message(self.timestamp, body).as_bytes(), &self.signature)
    }
}

/// Every cosignature line of a signed note (lines of other forms are skipped).
pub fn cosignatures(note: &str) -> Vec<Cosignature> {
    match note.split_once("\n\n") {
        Some((_, sigs)) => sigs.lines().filter_map(Cosignature::parse_line).collect(),
        None => Vec::new(),
    }
}

/// The names of the witnesses in `witnesses` (name and key) that validly cosigned `note`,
/// each once, in the order of `witnesses`.
pub fn cosigners<'a>(note: &str, witnesses: &'a [(String, PublicKey)]) -> Vec<&'a str> {
    let Some(body) = note_body(note) else {
        return Vec::new();
    };
    let found = cosignatures(note);
    witnesses
        .iter()
        .filter(|(name, key)| found.iter().any(|c| c.verifies(name, key, body)))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn sign_line_parse_verify() {
        let key = SigningKey::from_seed(&[7; 32]);
        let c = Cosignature::sign("w.example/1", &key, 1_700_000_000, BODY);
        let line = c.line();
        assert!(line.starts_with("\u{2014} w.example/1 "));
        let back = Cosignature::parse_line(&line).unwrap();
        assert_eq!(back, c);
        assert!(back.verifies("w.example/1", &key.public(), BODY));
        assert!(!back.verifies("w.example/2", &key.public(), BODY));
        assert!(!back.verifies("w.example/1", &key.public(), "other\n"));
        let other = SigningKey::from_seed(&[8; 32]);
        assert!(!back.verifies("w.example/1", &other.public(), BODY));
        let zero = Cosignature::sign("w.example/1", &key, 0, BODY);
        assert!(!zero.verifies("w.example/1", &key.public(), BODY));
    }

    #[test]
    fn a_log_signature_line_is_not_a_cosignature() {
        let line = format!("\u{2014} example.com/log {}\n", B64.encode([1u8; 68]));
        assert_eq!(Cosignature::parse_line(&line), None);
    }

    #[test]
    fn body_of_a_note() {
        let note = format!("{BODY}\n\u{2014} a b\n");
        assert_eq!(note_body(&note), Some(BODY));
        assert_eq!(note_body("no blank line\n"), None);
    }
}
