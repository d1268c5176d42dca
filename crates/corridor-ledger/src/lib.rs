//! corridor's ledger: append-only, hash-chained, durable, with signed checkpoints.
//!
//! Every step a corridor service takes is an entry here: sequence number, previous entry's
//! hash, time, kind, subject and the exact bytes of the signed envelope it records. An entry
//! (with whatever rows the calling service must change with it) is one key of a sled tree,
//! written in one atomic batch with the other appends in flight, and [`Ledger::append`]
//! returns only once that batch is flushed; the indices are kept in memory and rebuilt on
//! open, when every record is hashed again and checked. Checkpoints in the C2SP signed-note
//! form commit to the RFC 6962 Merkle root over the entry hashes and are kept outside the
//! database, so a rolled-back database is caught.
//!
//! Inclusion and consistency proofs over that tree (RFC 9162 sections 2.1.3 and 2.1.4) are
//! made and verified by [`proof`], from any source of the hashes of complete subtrees.
//!
//! Checkpoints are cosigned by witnesses: [`cosignature`] is the C2SP `cosignature/v1` line,
//! [`witness`] the `tlog-witness` request, decision and equivocation evidence, and
//! [`witness_state`] a witness's durable records.
//!
//! The pure parts ([`entry`], [`merkle`], [`proof`], [`tiles`], [`checkpoint`], [`verify`],
//! [`cosignature`], [`witness`]) do no I/O;
//! [`layout`] says how a ledger lies in sled and reads it back; [`store`] is the open ledger;
//! [`snapshot`] reads a stopped one for an audit without changing it; [`export`] reads and
//! writes JSON Lines. No gRPC here.

pub mod checkpoint;
pub mod commit;
pub mod cosignature;
pub mod entry;
pub mod error;
pub mod export;
pub mod layout;
pub mod merkle;
pub mod proof;
pub mod snapshot;
pub mod store;
pub mod tiles;
pub mod verify;
pub mod witness;
pub mod witness_state;

pub use checkpoint::{Checkpoint, CheckpointError, Note, TreeHead};
pub use commit::GroupCommit;
pub use entry::Entry;
pub use error::Error;
pub use snapshot::{Snapshot, verify_dir};
pub use store::{Append, Appended, Ledger, Recovered, Row, RowChange};
pub use verify::{Damage, Verified};
