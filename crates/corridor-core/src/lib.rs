//! corridor's domain core: validated identifiers and documents, ed25519 keys and DSSE signed
//! envelopes.
//!
//! Nothing here does I/O except reading and writing key files. A value of any type in this
//! crate is valid by construction: constructors check, and a field is either private or of a
//! type that is itself valid by construction. The wire format
//! (protobuf) lives in `corridor-proto`, which converts into these types.

pub mod aeo;
pub mod codes;
pub mod digest;
pub mod document;
pub mod envelope;
pub mod error;
pub mod keys;

pub use aeo::{AeoId, AeoTier};
pub use codes::{
    CarrierCode, ContainerNumber, CountryCode, Currency, HsCode, IsoEquipmentCode, Money,
    OperatorId, PackageType, UnLocode,
};
pub use digest::Digest;
pub use envelope::{Envelope, Signature, pae, payload_type};
pub use error::{Error, ParseError};
pub use keys::{KeyId, PublicKey, SigningKey, signature_counts};
