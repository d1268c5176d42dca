//! What every corridor service shares beyond its transport (`corridor-net`): the
//! `LedgerReader` service over its ledger.

pub mod ledger_reader;

pub use ledger_reader::LedgerReaderService;
