//! What every corridor service shares beyond its transport (`corridor-net`): the refusals
//! and their one mapping to gRPC statuses ([`refusal`]), and the `LedgerReader` service
//! over its ledger ([`ledger_reader`]).

pub mod ledger_reader;
pub mod refusal;

pub use ledger_reader::LedgerReaderService;
pub use refusal::{Refusal, internal, ledger_failed};
