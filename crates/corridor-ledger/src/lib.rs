//! corridor's ledger: append-only, hash-chained, durable, with signed checkpoints.
//!
//! Every step a corridor service takes is an entry here: sequence number, previous entry's
//! hash, time, kind, subject and the exact bytes of the signed envelope it records. An entry
//! (with whatever rows the calling service must change with it) is written to the ledger's
//! log file in one frame with the other appends in flight, and [`Ledger::append`] returns
//! only once that frame is synced to disk; the indices are kept in memory and rebuilt from
//! the log on open. Checkpoints in the C2SP signed-note form commit to the RFC 6962 Merkle
//! root over the entry hashes and are kept outside the log, so a rolled-back log is caught.
//!
//! The pure parts ([`entry`], [`merkle`], [`checkpoint`], [`verify`]) do no I/O; [`store`]
//! holds the one concrete store (on [`log`]); [`export`] reads and writes JSON Lines. No gRPC here.

pub mod checkpoint;
pub mod commit;
pub mod entry;
pub mod error;
pub mod export;
pub mod log;
pub mod merkle;
pub mod store;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use commit::GroupCommit;
pub use entry::Entry;
pub use error::Error;
pub use store::{Append, Appended, Ledger};
pub use verify::{Damage, Verified};
