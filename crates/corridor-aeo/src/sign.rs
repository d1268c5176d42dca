//! Building and signing the registry's documents: what a customs authority's client does.

use corridor_core::{Envelope, SigningKey};
use corridor_proto::v1;
use prost::Message;

/// Signs `doc` as a document of `payload_type` with `key`.
pub fn sign(payload_type: &str, doc: &impl Message, key: &SigningKey) -> Envelope {
    Envelope::sign(payload_type, doc.encode_to_vec(), key)
}

/// Signs `doc` and wraps it in a submit request.
pub fn request(payload_type: &str, doc: &impl Message, key: &SigningKey) -> v1::SubmitRequest {
    submit(&sign(payload_type, doc, key))
}

/// A submit request carrying `env`.
pub fn submit(env: &Envelope) -> v1::SubmitRequest {
    v1::SubmitRequest {
        envelope: Some(v1::Envelope::from(env)),
    }
}
