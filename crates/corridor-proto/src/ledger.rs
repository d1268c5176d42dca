//! Conversions between ledger entries and checkpoints and their wire messages.

use corridor_core::{Digest, ParseError};
use corridor_ledger::{Checkpoint, Entry};

use crate::v1;

/// An entry and its stored hash on the wire.
pub fn entry_to_wire(e: &Entry, hash: &Digest) -> v1::LedgerEntry {
    v1::LedgerEntry {
        seq: e.seq,
        prev_hash: e.prev_hash.as_bytes().to_vec(),
        time_unix_micros: e.time_unix_micros,
        kind: e.kind.clone(),
        subject: e.subject.clone(),
        envelope: e.envelope.clone(),
        hash: hash.as_bytes().to_vec(),
    }
}

/// An entry and the hash it states, from the wire. Only the hash lengths are checked here:
/// whether the entry hashes to it, and links its predecessor, is the reader's
/// [`corridor_ledger::verify::ChainVerifier`]'s to say.
pub fn entry_from_wire(e: v1::LedgerEntry) -> Result<(Entry, Digest), ParseError> {
    Ok((
        Entry {
            seq: e.seq,
            prev_hash: Digest::from_slice("prev_hash", &e.prev_hash)?,
            time_unix_micros: e.time_unix_micros,
            kind: e.kind,
            subject: e.subject,
            envelope: e.envelope,
        },
        Digest::from_slice("hash", &e.hash)?,
    ))
}

/// Proof hashes on the wire.
pub fn hashes_to_wire(hashes: &[Digest]) -> Vec<Vec<u8>> {
    hashes.iter().map(|h| h.as_bytes().to_vec()).collect()
}

/// Proof hashes from the wire field `field`, each 32 bytes (`field[i]` named when one is
/// not).
pub fn hashes_from_wire(field: &str, hashes: &[Vec<u8>]) -> Result<Vec<Digest>, ParseError> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| Digest::from_slice(&format!("{field}[{i}]"), h))
        .collect()
}

/// A signed checkpoint on the wire.
pub fn checkpoint_to_wire(cp: &Checkpoint) -> v1::Checkpoint {
    v1::Checkpoint {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        root_hash: cp.root().as_bytes().to_vec(),
        head_hash: cp.head().as_bytes().to_vec(),
        note: cp.note().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_round_trips_through_the_wire() {
        let e = Entry {
            seq: 7,
            prev_hash: Digest::of(b"prev"),
            time_unix_micros: 1_700_000_000_000_000,
            kind: "border.exit".into(),
            subject: "ab".into(),
            envelope: vec![1, 2, 3],
        };
        let h = e.hash();
        let (back, hash) = entry_from_wire(entry_to_wire(&e, &h)).unwrap();
        assert_eq!((back, hash), (e, h));
    }

    #[test]
    fn proof_hashes_round_trip_and_a_short_one_is_named() {
        let hashes = vec![Digest::of(b"a"), Digest::of(b"b")];
        let mut wire = hashes_to_wire(&hashes);
        assert_eq!(hashes_from_wire("hashes", &wire).unwrap(), hashes);
        wire[1].pop();
        let e = hashes_from_wire("hashes", &wire).unwrap_err();
        assert!(e.to_string().contains("hashes[1]"), "{e}");
    }

    #[test]
    fn a_short_hash_is_refused_with_its_field() {
        let mut w = entry_to_wire(
            &Entry {
                seq: 0,
                prev_hash: Digest::ZERO,
                time_unix_micros: 0,
                kind: "k".into(),
                subject: String::new(),
                envelope: Vec::new(),
            },
            &Digest::ZERO,
        );
        w.hash.pop();
        let e = entry_from_wire(w).unwrap_err();
        assert!(e.to_string().contains("hash"), "{e}");
    }
}
