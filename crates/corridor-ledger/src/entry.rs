//! Ledger entries and the exact bytes their hash covers.
//!
//! ```text
//! record = u64be(seq) || prev_hash[32] || i64be(time_unix_micros)
//!       || u8(len kind) || kind || u16be(len subject) || subject
//!       || u32be(len envelope) || envelope
//! hash   = SHA-256("corridor/ledger/entry/v1\n" || record)
//! ```

use corridor_core::Digest;

/// Domain-separation tag prefixed to every entry's bytes before hashing.
pub const ENTRY_HASH_TAG: &[u8] = b"corridor/ledger/entry/v1\n";

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position from 0, without gaps.
    pub seq: u64,
    /// Hash of entry `seq - 1`; [`Digest::ZERO`] for the genesis entry.
    pub prev_hash: Digest,
    /// Microseconds since the Unix epoch (UTC) on the appending node's corridor clock.
    pub time_unix_micros: i64,
    /// What the entry records, e.g. `declaration.accepted` (1 to 255 bytes).
    pub kind: String,
    /// What it is about, e.g. a consignment id (0 to 65535 bytes).
    pub subject: String,
    /// The exact signed envelope bytes.
    pub envelope: Vec<u8>,
}

impl Entry {
    /// The canonical record bytes (see the module docs).
    pub fn record(&self) -> Vec<u8> {
        self.record_with_room(0)
    }

    /// The record bytes in a vector with room for `spare` more bytes (a stored value appends
    /// the hash to them).
    pub(crate) fn record_with_room(&self, spare: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            8 + 32
                + 8
                + 1
                + self.kind.len()
                + 2
                + self.subject.len()
                + 4
                + self.envelope.len()
                + spare,
        );
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.prev_hash.as_bytes());
        out.extend_from_slice(&self.time_unix_micros.to_be_bytes());
        out.push(self.kind.len() as u8);
        out.extend_from_slice(self.kind.as_bytes());
        out.extend_from_slice(&(self.subject.len() as u16).to_be_bytes());
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(&(self.envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.envelope);
        out
    }

    /// Checks the field limits the record encoding imposes.
    pub fn check_limits(kind: &str, subject: &str, envelope: &[u8]) -> Result<(), String> {
        if kind.is_empty() || kind.len() > usize::from(u8::MAX) {
            return Err(format!("kind must be 1 to 255 bytes, got {}", kind.len()));
        }
        if subject.len() > usize::from(u16::MAX) {
            return Err(format!(
                "subject must be at most 65535 bytes, got {}",
                subject.len()
            ));
        }
        if u32::try_from(envelope.len()).is_err() {
            return Err("envelope must be smaller than 4 GiB".into());
        }
        Ok(())
    }

    /// The entry's hash.
    pub fn hash(&self) -> Digest {
        hash_record(&self.record())
    }

    /// Decodes record bytes; `None` when they are malformed.
    pub fn decode(record: &[u8]) -> Option<Entry> {
        let p = RecordParts::parse(record)?;
        Some(Entry {
            seq: p.seq,
            prev_hash: p.prev_hash,
            time_unix_micros: p.time_unix_micros,
            kind: p.kind.to_owned(),
            subject: p.subject.to_owned(),
            envelope: p.envelope.to_vec(),
        })
    }
}

/// An entry's fields as they lie in its record bytes, read without copying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordParts<'a> {
    /// The entry's sequence number.
    pub seq: u64,
    /// Hash of the entry before.
    pub prev_hash: Digest,
    /// Microseconds since the Unix epoch.
    pub time_unix_micros: i64,
    /// What the entry records.
    pub kind: &'a str,
    /// What it is about.
    pub subject: &'a str,
    /// The exact signed envelope bytes.
    pub envelope: &'a [u8],
}

impl<'a> RecordParts<'a> {
    /// Reads record bytes; `None` when they are malformed (short, trailing bytes, or a kind
    /// or subject that is not UTF-8).
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let mut r = Reader(record);
        let seq = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let prev_hash = Digest::from_slice("prev_hash", r.take(32)?).ok()?;
        let time_unix_micros = i64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let kind_len = usize::from(r.take(1)?[0]);
        let kind = std::str::from_utf8(r.take(kind_len)?).ok()?;
        let subject_len = usize::from(u16::from_be_bytes(r.take(2)?.try_into().ok()?));
        let subject = std::str::from_utf8(r.take(subject_len)?).ok()?;
        let env_len = u32::from_be_bytes(r.take(4)?.try_into().ok()?) as usize;
        let envelope = r.take(env_len)?;
        r.0.is_empty().then_some(Self {
            seq,
            prev_hash,
            time_unix_micros,
            kind,
            subject,
            envelope,
        })
    }
}

/// The fields a chain check needs, read from record bytes without copying the rest:
/// `(seq, prev_hash)`, or `None` when the record is malformed.
pub fn record_header(record: &[u8]) -> Option<(u64, Digest)> {
    RecordParts::parse(record).map(|p| (p.seq, p.prev_hash))
}

/// Hash of record bytes.
pub fn hash_record(record: &[u8]) -> Digest {
    Digest::of_parts(&[ENTRY_HASH_TAG, record])
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_trailing_bytes() {
        let e = Entry {
            seq: 7,
            prev_hash: Digest::of(b"x"),
            time_unix_micros: -3,
            kind: "k".into(),
            subject: "s".into(),
            envelope: vec![1, 2, 3],
        };
        let rec = e.record();
        assert_eq!(Entry::decode(&rec), Some(e));
        let mut longer = rec.clone();
        longer.push(0);
        assert_eq!(Entry::decode(&longer), None);
        assert_eq!(Entry::decode(&rec[..rec.len() - 1]), None);
    }
}
