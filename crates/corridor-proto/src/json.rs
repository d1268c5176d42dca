//! Any corridor message in the proto3 JSON mapping (the one every protobuf implementation
//! reads and writes), through the descriptor set: `bytes` as base64, 64-bit integers as
//! strings, fields by their lowerCamelCase JSON names.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

/// Why a JSON text is not the message it should be, or a message could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The message is not in corridor's descriptor set.
    #[error("{0} is not a corridor message")]
    UnknownMessage(String),
    /// The text is not the message: where (a JSON path, when known) and why.
    #[error("{0}")]
    Invalid(String),
}

fn descriptor(name: &str) -> Result<MessageDescriptor, JsonError> {
    DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET)
        .ok()
        .and_then(|pool| pool.get_message_by_name(name))
        .ok_or_else(|| JsonError::UnknownMessage(name.to_owned()))
}

/// `message`, whose full name is `name` (e.g. `corridor.v1.ConsignmentProof`), as pretty
/// proto3 JSON ending in a newline.
pub fn to_json<M: Message>(message: &M, name: &str) -> Result<String, JsonError> {
    let invalid = |e: &dyn std::fmt::Display| JsonError::Invalid(e.to_string());
    let m = DynamicMessage::decode(descriptor(name)?, message.encode_to_vec().as_slice())
        .map_err(|e| invalid(&e))?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    m.serialize_with_options(&mut ser, &SerializeOptions::new())
        .map_err(|e| invalid(&e))?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| invalid(&e))
}

/// Reads proto3 JSON of message `name` (e.g. `corridor.v1.SubmitConsignmentRequest`). An
/// error names the JSON path of the field at fault and the reason.
pub fn from_json<M: Message + Default>(text: &str, name: &str) -> Result<M, JsonError> {
    let desc = descriptor(name)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let message = DynamicMessage::deserialize(
        desc,
        serde_path_to_error::Deserializer::new(&mut de, &mut track),
    )
    .map_err(|e| {
        let path = track.path().to_string();
        JsonError::Invalid(if path == "." || path.is_empty() {
            e.to_string()
        } else {
            format!("{path}: {e}")
        })
    })?;
    de.end().map_err(|e| JsonError::Invalid(e.to_string()))?;
    message
        .transcode_to()
        .map_err(|e| JsonError::Invalid(e.to_string()))
}
