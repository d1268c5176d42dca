//! The subcommands.

pub(crate) mod aeo;
pub(crate) mod bench;
pub(crate) mod bench_aeo;
pub(crate) mod bench_corridor;
pub(crate) mod customs;
pub(crate) mod declarant;
pub(crate) mod demo;
pub(crate) mod keys;
pub(crate) mod ledger;
pub(crate) mod serve;
pub(crate) mod trace;
pub(crate) mod up;
