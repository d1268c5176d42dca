//! corridor's wire format: the messages and gRPC services of `proto/corridor/v1/`, and their
//! conversions into the validated types of `corridor-core`.
//!
//! This is the only crate that knows protobuf: services hand `corridor-core` values to
//! everything else. [`convert`] converts envelopes; [`document`] converts bills of lading,
//! transfer entries, declarations and cancellations, checking them on the way in, and has
//! the `decode_*` / `encode_*` functions for their payload bytes; [`customs`] converts the
//! customs nodes' and officers' documents, [`declarant`] the declarant's records, answers and
//! requests, [`aeo`] the registry's documents and records, and [`ledger`] ledger entries and
//! checkpoints; [`json`] writes and reads any message in the proto3 JSON mapping.

pub mod aeo;
pub mod convert;
pub mod customs;
pub mod declarant;
pub mod document;
pub mod examples;
pub mod json;
pub mod ledger;

/// Generated messages and services of package `corridor.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("corridor.v1");
}

/// The encoded `FileDescriptorSet` of every corridor proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/corridor_descriptor.bin"));

pub use convert::{decode_envelope, encode_envelope, open_envelope};
pub use document::{
    decode_bill_of_lading, decode_declaration, decode_declaration_cancellation,
    decode_transfer_entry, encode_bill_of_lading, encode_declaration,
    encode_declaration_cancellation, encode_transfer_entry, seal_checks,
};
