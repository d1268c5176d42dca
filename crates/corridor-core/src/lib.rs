//! corridor's domain core: validated identifiers, ed25519 keys and DSSE signed envelopes.
//!
//! Nothing here does I/O except reading and writing key files. A value of any type in this
//! crate is valid by construction: constructors check, fields are private. The wire format
//! (protobuf) lives in `corridor-proto`, which converts into these types.

pub mod codes;
pub mod digest;
pub mod envelope;
pub mod error;
pub mod keys;

pub use codes::{CountryCode, Currency, HsCode, Money, OperatorId, UnLocode};
pub use digest::Digest;
pub use envelope::{Envelope, Signature, pae, payload_type};
pub use error::{Error, ParseError};
pub use keys::{KeyId, PublicKey, SigningKey};
