//! corridor's wire format: the messages and gRPC services of `proto/corridor/v1/`, and their
//! conversions into the validated types of `corridor-core`.
//!
//! This is the only crate that knows protobuf: services hand `corridor-core` values to
//! everything else.

pub mod convert;

/// Generated messages and services of package `corridor.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("corridor.v1");
}

/// The encoded `FileDescriptorSet` of every corridor proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/corridor_descriptor.bin"));

pub use convert::{decode_envelope, encode_envelope};
