//! The registry's objects (operators, certificates, arrangements) as the rules leave them,
//! and their records: what queries answer and what the state rows beside the ledger hold.

use corridor_core::{CountryCode, Digest, Envelope, KeyId, OperatorId, PublicKey};
use corridor_proto::v1;
use prost::Message;

use crate::doc::{Arrangement, Certificate};

/// An operator key and when it was added and revoked.
#[derive(Clone, Debug)]
pub(crate) struct KeyState {
    pub(crate) key: PublicKey,
    /// When the key was registered (the recording time of its entry).
    pub(crate) added_at: i64,
    /// When it was revoked, if it was.
    pub(crate) revoked_at: Option<i64>,
}

/// A registered operator.
#[derive(Clone, Debug)]
pub(crate) struct OperatorState {
    pub(crate) id: OperatorId,
    pub(crate) legal_name: String,
    pub(crate) address: String,
    pub(crate) country: CountryCode,
    /// Every key ever registered for the operator, revoked ones included.
    pub(crate) keys: Vec<KeyState>,
    pub(crate) registered_at: i64,
    /// The entry that registered it.
    pub(crate) seq: u64,
}

impl OperatorState {
    /// The key with id `id`, if it was ever registered for this operator.
    pub(crate) fn key(&self, id: &KeyId) -> Option<&KeyState> {
        self.keys.iter().find(|k| k.key.id() == *id)
    }

    pub(crate) fn record(&self) -> v1::OperatorRecord {
        v1::OperatorRecord {
            operator_id: self.id.to_string(),
            legal_name: self.legal_name.clone(),
            address: self.address.clone(),
            country: self.country.to_string(),
            keys: self
                .keys
                .iter()
                .map(|k| v1::OperatorKey {
                    keyid: k.key.id().to_string(),
                    public_key: k.key.as_bytes().to_vec(),
                    added_at_unix_micros: k.added_at,
                    revoked_at_unix_micros: k.revoked_at.unwrap_or(0),
                })
                .collect(),
            registered_at_unix_micros: self.registered_at,
            seq: self.seq,
        }
    }
}

/// A certificate's status from a time on, and the entry that set it.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) status: v1::CertificateStatus,
    pub(crate) at: i64,
    pub(crate) reason: String,
    pub(crate) seq: u64,
}

/// An issued certificate and its status history.
#[derive(Clone, Debug)]
pub(crate) struct CertState {
    pub(crate) cert: Certificate,
    /// When it took effect: its validity's start, or its recording if that was later.
    pub(crate) effective_from: i64,
    /// Its issuance first, then every status change in order.
    pub(crate) history: Vec<Event>,
    /// The entry that issued it.
    pub(crate) seq: u64,
}

impl CertState {
    /// The latest status event.
    pub(crate) fn latest(&self) -> &Event {
        // A certificate always has its issuance event.
        &self.history[self.history.len() - 1]
    }

    /// The event in effect at `t` (the issuance before anything else took effect).
    pub(crate) fn at(&self, t: i64) -> &Event {
        self.history
            .iter()
            .rev()
            .find(|e| e.at <= t)
            .unwrap_or(&self.history[0])
    }

    pub(crate) fn record(&self) -> v1::CertificateRecord {
        v1::CertificateRecord {
            certificate: Some(self.cert.wire.clone()),
            status: self.latest().status as i32,
            history: self
                .history
                .iter()
                .map(|e| v1::StatusEvent {
                    status: e.status as i32,
                    effective_at_unix_micros: e.at,
                    reason: e.reason.clone(),
                    seq: e.seq,
                })
                .collect(),
            effective_from_unix_micros: self.effective_from,
            seq: self.seq,
        }
    }
}

/// How an arrangement was terminated.
#[derive(Clone, Debug)]
pub(crate) struct Terminated {
    /// When the termination took effect.
    pub(crate) at: i64,
    /// The party that terminated it.
    pub(crate) by: CountryCode,
    pub(crate) reason: String,
}

/// A proposed arrangement, in force once both parties signed, until it ends.
#[derive(Clone, Debug)]
pub(crate) struct MraState {
    pub(crate) mra: Arrangement,
    /// The proposal's document id: a countersignature covers exactly this payload.
    pub(crate) document: Digest,
    /// The envelope as last recorded (with both signatures once countersigned).
    pub(crate) envelope: Envelope,
    pub(crate) in_force_from: Option<i64>,
    pub(crate) terminated: Option<Terminated>,
    /// The entry that proposed it.
    pub(crate) seq: u64,
}

impl MraState {
    pub(crate) fn in_force_at(&self, t: i64) -> bool {
        self.in_force_from.is_some_and(|f| f <= t)
            && (self.mra.effective_to == 0 || t < self.mra.effective_to)
            && self.terminated.as_ref().is_none_or(|e| t < e.at)
    }

    fn state(&self) -> v1::ArrangementState {
        match (&self.in_force_from, &self.terminated) {
            (_, Some(_)) => v1::ArrangementState::Terminated,
            (Some(_), None) => v1::ArrangementState::InForce,
            (None, None) => v1::ArrangementState::Pending,
        }
    }

    pub(crate) fn record(&self) -> v1::ArrangementRecord {
        let (at, by, why) = match &self.terminated {
            Some(e) => (e.at, e.by.to_string(), e.reason.clone()),
            None => (0, String::new(), String::new()),
        };
        v1::ArrangementRecord {
            arrangement: Some(self.mra.wire.clone()),
            state: self.state() as i32,
            envelope: Some(v1::Envelope::from(&self.envelope)),
            in_force_from_unix_micros: self.in_force_from.unwrap_or(0),
            terminated_at_unix_micros: at,
            terminated_by: by,
            termination_reason: why,
            seq: self.seq,
        }
    }
}

/// Prefixes of the state rows, one per kind of object.
pub(crate) const ROW_PREFIXES: [&str; 3] = ["op/", "cert/", "mra/"];

/// One state row: its key (a prefix of [`ROW_PREFIXES`] and the object's id) and value (the
/// object's record, protobuf-encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

fn row_key(prefix: &str, id: &str) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

impl OperatorState {
    pub(crate) fn row(&self) -> Row {
        Row {
            key: row_key("op/", self.id.as_str()),
            value: self.record().encode_to_vec(),
        }
    }
}

impl CertState {
    pub(crate) fn row(&self) -> Row {
        Row {
            key: row_key("cert/", self.cert.aeo_id.as_str()),
            value: self.record().encode_to_vec(),
        }
    }
}

impl MraState {
    pub(crate) fn row(&self) -> Row {
        Row {
            key: row_key("mra/", &self.mra.id),
            value: self.record().encode_to_vec(),
        }
    }
}
