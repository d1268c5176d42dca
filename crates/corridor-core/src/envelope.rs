//! DSSE signed envelopes.
//!
//! A signature covers `PAE(payload_type, payload)`:
//! `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN being the ASCII decimal byte
//! length. The verifier checks the exact payload bytes it received and only then decodes
//! them, so no document is ever re-encoded to be verified.

use crate::digest::Digest;
use crate::error::{Error, ParseError};
use crate::keys::{KeyId, PublicKey, SigningKey};

/// The payload types corridor signs: one per document kind, all protobuf.
pub mod payload_type {
    /// An electronic bill of lading (`corridor.v1.BillOfLading`).
    pub const BILL_OF_LADING: &str = "application/vnd.corridor.ebl.v1+protobuf";
    /// One entry of a bill's transfer chain (`corridor.v1.TransferEntry`).
    pub const TRANSFER_ENTRY: &str = "application/vnd.corridor.ebl-transfer.v1+protobuf";
    /// A corridor declaration (`corridor.v1.Declaration`).
    pub const DECLARATION: &str = "application/vnd.corridor.declaration.v1+protobuf";
    /// Cancellation of a declaration by its declarant (`corridor.v1.DeclarationCancellation`).
    pub const DECLARATION_CANCELLATION: &str =
        "application/vnd.corridor.declaration-cancellation.v1+protobuf";
    /// Registration of an economic operator (`corridor.v1.OperatorRegistration`).
    pub const OPERATOR_REGISTRATION: &str = "application/vnd.corridor.aeo-operator.v1+protobuf";
    /// Rotation or revocation of an operator's keys (`corridor.v1.OperatorKeyUpdate`).
    pub const OPERATOR_KEY_UPDATE: &str = "application/vnd.corridor.aeo-operator-keys.v1+protobuf";
    /// An AEO certificate (`corridor.v1.AeoCertificate`).
    pub const AEO_CERTIFICATE: &str = "application/vnd.corridor.aeo-certificate.v1+protobuf";
    /// Suspension, reinstatement or revocation of a certificate
    /// (`corridor.v1.CertificateStatusChange`).
    pub const CERTIFICATE_STATUS_CHANGE: &str =
        "application/vnd.corridor.aeo-certificate-status.v1+protobuf";
    /// A mutual recognition arrangement (`corridor.v1.MutualRecognitionArrangement`).
    pub const MUTUAL_RECOGNITION: &str = "application/vnd.corridor.aeo-mra.v1+protobuf";
    /// Termination of an arrangement by one side (`corridor.v1.ArrangementTermination`).
    pub const ARRANGEMENT_TERMINATION: &str =
        "application/vnd.corridor.aeo-mra-termination.v1+protobuf";
    /// A customs node's risk assessment (`corridor.v1.Assessment`).
    pub const ASSESSMENT: &str = "application/vnd.corridor.customs-assessment.v1+protobuf";
    /// Arrival or exit at a border, signed by an officer (`corridor.v1.BorderEvent`).
    pub const BORDER_EVENT: &str = "application/vnd.corridor.customs-border-event.v1+protobuf";
    /// An officer's release, hold or refusal (`corridor.v1.OfficerDecision`).
    pub const OFFICER_DECISION: &str = "application/vnd.corridor.customs-decision.v1+protobuf";
    /// A node's automatic release of a green or blue consignment (`corridor.v1.Release`).
    pub const RELEASE: &str = "application/vnd.corridor.customs-release.v1+protobuf";
    /// Import clearance and discharge at the last country (`corridor.v1.Completion`).
    pub const COMPLETION: &str = "application/vnd.corridor.customs-completion.v1+protobuf";
    /// The advance record one node sends the next (`corridor.v1.AdvanceRecord`).
    pub const ADVANCE_RECORD: &str = "application/vnd.corridor.customs-advance-record.v1+protobuf";
    /// The declarant's record of the first node's answer (`corridor.v1.SubmissionOutcome`).
    pub const SUBMISSION_OUTCOME: &str =
        "application/vnd.corridor.declarant-submission-outcome.v1+protobuf";
    /// The bill's platform of record's statement of its current transfer chain
    /// (`corridor.v1.ChainHead`).
    pub const CHAIN_HEAD: &str = "application/vnd.corridor.ebl-chain-head.v1+protobuf";
    /// A node's acknowledgement of an advance record (`corridor.v1.AdvanceReceipt`).
    pub const ADVANCE_RECEIPT: &str =
        "application/vnd.corridor.customs-advance-receipt.v1+protobuf";
}

/// Pre-authentication encoding: the exact bytes an envelope signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let t = payload_type.as_bytes();
    let mut out = Vec::with_capacity(payload.len() + t.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(t.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(t);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signature {
    /// Key id of the signer.
    pub key_id: KeyId,
    /// ed25519 signature over the PAE bytes.
    pub sig: [u8; 64],
}

impl Signature {
    /// Parses the wire form (hex key id, 64 signature bytes); `field` names the field.
    pub fn parse(field: &str, keyid: &str, sig: &[u8]) -> Result<Self, ParseError> {
        let key_id = KeyId::parse(&format!("{field}.keyid"), keyid)?;
        let sig: [u8; 64] = sig.try_into().map_err(|_| {
            ParseError::new(
                format!("{field}.sig"),
                format!("an ed25519 signature is 64 bytes, got {}", sig.len()),
            )
        })?;
        Ok(Self { key_id, sig })
    }
}

/// A document with its signatures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<Signature>,
}

impl Envelope {
    /// An envelope from its parts as received; no signature is checked here.
    pub fn from_parts(
        payload_type: String,
        payload: Vec<u8>,
        signatures: Vec<Signature>,
    ) -> Result<Self, ParseError> {
        if payload_type.is_empty() {
            return Err(ParseError::new(
                "envelope.payload_type",
                "must not be empty",
            ));
        }
        if signatures.is_empty() {
            return Err(ParseError::new(
                "envelope.signatures",
                "an envelope needs at least one signature",
            ));
        }
        Ok(Self {
            payload_type,
            payload,
            signatures,
        })
    }

    /// Signs `payload` as a document of `payload_type` with `key`.
    pub fn sign(payload_type: &str, payload: Vec<u8>, key: &SigningKey) -> Self {
        let mut env = Self {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: Vec::with_capacity(1),
        };
        env.add_signature(key);
        env
    }

    /// Adds a signature by `key` (a second party to an arrangement, say). A key that has
    /// signed already is not added twice.
    pub fn add_signature(&mut self, key: &SigningKey) {
        if self.signatures.iter().any(|s| s.key_id == key.id()) {
            return;
        }
        let sig = key.sign(&pae(&self.payload_type, &self.payload));
        self.signatures.push(Signature {
            key_id: key.id(),
            sig,
        });
    }

    /// The payload type.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The exact payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Splits the envelope into its parts.
    pub fn into_parts(self) -> (String, Vec<u8>, Vec<Signature>) {
        (self.payload_type, self.payload, self.signatures)
    }

    /// The document id: sha256 of the payload.
    pub fn document_id(&self) -> Digest {
        Digest::of(&self.payload)
    }

    /// Checks every signature but the one at index `verified` (checked already, if any):
    /// each must be by a key `known` gives for its key id (or says why not), and verify under
    /// it. The message says which signature fails and why.
    pub fn verify_every(
        &self,
        verified: Option<usize>,
        known: impl Fn(&KeyId) -> Result<PublicKey, String>,
    ) -> Result<(), String> {
        let others = (0..self.signatures.len()).filter(|&i| Some(i) != verified);
        let mut others = others.peekable();
        if others.peek().is_none() {
            // The common case, one signature checked already: no PAE to build.
            return Ok(());
        }
        let signed = pae(&self.payload_type, &self.payload);
        for i in others {
            let s = &self.signatures[i];
            let key = known(&s.key_id)
                .map_err(|why| format!("signature {i} is not by a key of the corridor: {why}"))?;
            if !key.verify(&signed, &s.sig) {
                return Err(format!(
                    "signature {i}, by key {}, does not verify",
                    s.key_id
                ));
            }
        }
        Ok(())
    }

    /// Checks that `key` signed this envelope and that its signature verifies.
    pub fn verify_by(&self, key: &PublicKey) -> Result<(), Error> {
        let sig = self
            .signatures
            .iter()
            .find(|s| s.key_id == key.id())
            .ok_or_else(|| Error::MissingSignature(key.id().to_string()))?;
        if key.verify(&pae(&self.payload_type, &self.payload), &sig.sig) {
            Ok(())
        } else {
            Err(Error::BadSignature(key.id().to_string()))
        }
    }

    /// Checks that the payload has `expected` type and that `key` signed it: what a receiver
    /// does before it decodes the payload.
    pub fn open(&self, expected: &str, key: &PublicKey) -> Result<&[u8], Error> {
        if self.payload_type != expected {
            return Err(ParseError::new(
                "envelope.payload_type",
                format!("expected {expected:?}, got {:?}", self.payload_type),
            )
            .into());
        }
        self.verify_by(key)?;
        Ok(&self.payload)
    }
}
