//! What every corridor service shares beyond its transport (`corridor-net`): the refusals
//! and their one mapping to gRPC statuses ([`refusal`]), the `LedgerReader` service over
//! its ledger ([`ledger_reader`]) and the same ledger as C2SP tiles over HTTP ([`tiles`]),
//! the `CorridorClock` service ([`clock`]), witnessing: the witness every customs node runs
//! and the task that has every ledger's checkpoints cosigned ([`witnessing`]), and the serve
//! and shutdown skeleton ([`mod@serve`]).

pub mod clock;
pub mod ledger_reader;
pub mod refusal;
pub mod serve;
pub mod tiles;
pub mod witnessing;

pub use clock::CorridorClockService;
pub use ledger_reader::LedgerReaderService;
pub use refusal::{Refusal, internal, ledger_failed};
pub use serve::{Serving, serve};
