//! corridor's auditor: reads every ledger of a corridor, verifies each from genesis against
//! its service's signed checkpoint, and traces a consignment across them.
//!
//! - [`layout`]: where each service's data lies under a corridor's data root.
//! - [`source`]: a ledger read from a running service (its `LedgerReader`) or from a stopped
//!   one's data directory (a private copy; nothing there changes), verified as it is read.
//! - [`signers`]: which role must sign which kind of entry.
//! - [`cosigned`]: a checkpoint checked as a ledger's witnessed one (its signature and its
//!   witness quorum).
//! - [`corpus`]: every ledger of a corridor at once, and [`Corpus::trace`], which returns
//!   what a trace found: the chain as people read it and every break in it.
//! - [`proof`]: one consignment's proof, made from the services and checked offline with
//!   the topology's public keys only.
//!
//! The auditor holds no private key and writes nothing: it is an ordinary client of the
//! services, or a reader of their files.

pub mod corpus;
pub mod cosigned;
pub mod layout;
pub mod proof;
pub mod signers;
pub mod source;

pub use corpus::{Corpus, Source, Traced};
pub use source::{LedgerRead, connect, connect_plain};
