//! The subcommands.

pub(crate) mod bench;
pub(crate) mod keys;
pub(crate) mod ledger;
