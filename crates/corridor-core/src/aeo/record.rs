//! What the AEO registry keeps and answers: its records of operators, certificates and
//! arrangements (each as the changes recorded so far left it), the receipt of a recorded
//! change, and a recognition answer.
//!
//! The registry's rules decide how a record may change; these types only hold the result.
//! Field names are those of `proto/corridor/v1/aeo.proto`.

use crate::aeo::document::{
    AeoCertificate, ArrangementBenefits, ArrangementId, MutualRecognitionArrangement,
};
use crate::aeo::{AeoId, AeoTier};
use crate::codes::{CountryCode, OperatorId};
use crate::digest::Digest;
use crate::document::{Text, UnixMicros};
use crate::envelope::Envelope;
use crate::keys::{KeyId, PublicKey};

/// An operator key, and when it was added and revoked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorKey {
    /// The key.
    pub key: PublicKey,
    /// When it was registered (the recording time of its entry).
    pub added_at_unix_micros: UnixMicros,
    /// When it was revoked, if it was.
    pub revoked_at_unix_micros: Option<UnixMicros>,
}

/// A registered operator.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OperatorRecord {
    /// The operator's id; its country is the registering one.
    pub operator_id: OperatorId,
    /// Its legal name.
    pub legal_name: Text,
    /// Its registered address.
    pub address: Text,
    /// Every key ever registered for it, revoked ones included, in the order added.
    pub keys: Vec<OperatorKey>,
    /// When it was registered.
    pub registered_at_unix_micros: UnixMicros,
    /// The ledger entry that registered it.
    pub seq: u64,
}

impl OperatorRecord {
    /// The country that registered the operator.
    pub fn country(&self) -> CountryCode {
        self.operator_id.country()
    }

    /// The key with id `id`, if it was ever registered for this operator.
    pub fn key(&self, id: &KeyId) -> Option<&OperatorKey> {
        self.keys.iter().find(|k| k.key.id() == *id)
    }
}

/// A certificate's status.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CertificateStatus {
    /// In effect (within its validity).
    Active,
    /// Suspended until reinstated.
    Suspended,
    /// Revoked for good.
    Revoked,
}

/// A certificate's status from a time on, and the entry that set it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StatusEvent {
    /// The status.
    pub status: CertificateStatus,
    /// From when.
    pub effective_at_unix_micros: UnixMicros,
    /// Why, if said (never for the issuance).
    pub reason: Option<Text>,
    /// The ledger entry.
    pub seq: u64,
}

/// An issued certificate and its status history: its issuance first, then every status
/// change in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CertificateRecord {
    certificate: AeoCertificate,
    effective_from_unix_micros: UnixMicros,
    history: Vec<StatusEvent>,
    seq: u64,
}

impl CertificateRecord {
    /// A certificate issued by entry `seq`, active from `effective_from`.
    pub fn issued(certificate: AeoCertificate, effective_from: UnixMicros, seq: u64) -> Self {
        Self {
            certificate,
            effective_from_unix_micros: effective_from,
            history: vec![StatusEvent {
                status: CertificateStatus::Active,
                effective_at_unix_micros: effective_from,
                reason: None,
                seq,
            }],
            seq,
        }
    }

    /// The record after a status change.
    pub fn changed(mut self, event: StatusEvent) -> Self {
        self.history.push(event);
        self
    }

    /// The certificate as issued.
    pub fn certificate(&self) -> &AeoCertificate {
        &self.certificate
    }

    /// When it took effect: its validity's start, or its recording if that was later.
    pub fn effective_from_unix_micros(&self) -> UnixMicros {
        self.effective_from_unix_micros
    }

    /// Its issuance, then every status change in order.
    pub fn history(&self) -> &[StatusEvent] {
        &self.history
    }

    /// The entry that issued it.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The latest status event.
    pub fn latest(&self) -> &StatusEvent {
        // A record always has its issuance event.
        &self.history[self.history.len() - 1]
    }

    /// The event in effect at `t` (the issuance before anything else took effect).
    pub fn at(&self, t: UnixMicros) -> &StatusEvent {
        self.history
            .iter()
            .rev()
            .find(|e| e.effective_at_unix_micros <= t)
            .unwrap_or(&self.history[0])
    }
}

/// Where an arrangement stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ArrangementState {
    /// Proposed, waiting for the other party's signature.
    Pending,
    /// Signed by both.
    InForce,
    /// Terminated by a party.
    Terminated,
}

/// How an arrangement was terminated.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Termination {
    /// When the termination took effect.
    pub at_unix_micros: UnixMicros,
    /// The party that terminated it.
    pub by: CountryCode,
    /// Why.
    pub reason: Text,
}

/// A proposed arrangement, in force once both parties signed, until it ends.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ArrangementRecord {
    /// The arrangement as proposed.
    pub arrangement: MutualRecognitionArrangement,
    /// The envelope of the arrangement as last recorded (with both signatures once
    /// countersigned); its payload is the arrangement's.
    pub envelope: Envelope,
    /// When it came into force, if it did.
    pub in_force_from_unix_micros: Option<UnixMicros>,
    /// How it was terminated, if it was.
    pub terminated: Option<Termination>,
    /// The entry that proposed it.
    pub seq: u64,
}

impl ArrangementRecord {
    /// The arrangement's id.
    pub fn id(&self) -> &ArrangementId {
        &self.arrangement.arrangement_id
    }

    /// The proposal's document id (sha256 of its payload): what a countersignature covers.
    pub fn document_id(&self) -> Digest {
        self.envelope.document_id()
    }

    /// Pending, in force, or terminated.
    pub fn state(&self) -> ArrangementState {
        match (&self.in_force_from_unix_micros, &self.terminated) {
            (_, Some(_)) => ArrangementState::Terminated,
            (Some(_), None) => ArrangementState::InForce,
            (None, None) => ArrangementState::Pending,
        }
    }

    /// Whether the arrangement is in force at `t`: after it came into force, before it
    /// ends, and before a termination took effect.
    pub fn in_force_at(&self, t: UnixMicros) -> bool {
        self.in_force_from_unix_micros.is_some_and(|f| f <= t)
            && self
                .arrangement
                .effective_to_unix_micros
                .is_none_or(|to| t < to)
            && self
                .terminated
                .as_ref()
                .is_none_or(|e| t < e.at_unix_micros)
    }
}

/// The outcome of a recorded change, as the registry answers it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChangeReceipt {
    /// The ledger entry's sequence number.
    pub seq: u64,
    /// The ledger entry's hash.
    pub entry_hash: Digest,
    /// The document's id (sha256 of its payload).
    pub document_id: Digest,
    /// Whether this answer recorded it (false: the same envelope was recorded before).
    pub new: bool,
    /// When it was recorded.
    pub recorded_at_unix_micros: UnixMicros,
    /// When it takes effect.
    pub effective_at_unix_micros: UnixMicros,
    /// Whether it brought an arrangement into force.
    pub in_force: bool,
}

impl ChangeReceipt {
    /// The same receipt, answered again for the same envelope.
    pub fn again(self) -> Self {
        Self { new: false, ..self }
    }
}

/// Why an operator is or is not recognised as an AEO.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RecognitionReason {
    /// Recognised: it holds a valid certificate of the country itself.
    OwnCertificate,
    /// Recognised: its certificate's country and this one have an arrangement in force
    /// covering the certificate's tier.
    MutualRecognition,
    /// The operator is not registered.
    UnknownOperator,
    /// It holds no certificate.
    NoCertificate,
    /// Its certificate is suspended.
    Suspended,
    /// Its certificate is revoked.
    Revoked,
    /// Its certificate is not valid at the time asked about.
    OutsideValidity,
    /// No arrangement between the two countries is in force.
    NoArrangement,
    /// The arrangements in force do not cover the certificate's tier.
    TierOutOfScope,
}

impl RecognitionReason {
    /// Whether the reason is one of recognition.
    pub fn recognises(self) -> bool {
        matches!(self, Self::OwnCertificate | Self::MutualRecognition)
    }
}

/// Whether an operator is recognised as an AEO in a country at a time, and why: the answer
/// to `CheckRecognition`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecognitionAnswer {
    /// Why (or why not); [`RecognitionReason::recognises`] says which.
    pub reason: RecognitionReason,
    /// The certificate the answer is about, if any.
    pub aeo_id: Option<AeoId>,
    /// The arrangement the answer is about, if any.
    pub arrangement_id: Option<ArrangementId>,
    /// The certificate's tier, if there is a certificate.
    pub tier: Option<AeoTier>,
    /// When a suspension or revocation took effect; 0 otherwise.
    pub since_unix_micros: UnixMicros,
    /// The treatment the operator gets when recognised.
    pub benefits: Option<ArrangementBenefits>,
    /// The time asked about.
    pub at_unix_micros: UnixMicros,
    /// The answer in words.
    pub detail: String,
    /// The number of registry ledger entries the answer reflects.
    pub ledger_size: u64,
}
