//! `corridor ledger`: verify and export a node's ledger while its service is stopped, or an
//! exported ledger offline.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use corridor_core::PublicKey;
use corridor_ledger::export::{export_dir, verify_export};
use corridor_ledger::store::verify_dir;
use corridor_ledger::{Damage, Verified};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum LedgerCommand {
    /// Verify a ledger from genesis: prints `ok <entries> <head-hex>` (exit 0) or
    /// `bad <seq>: <what>` for the first damage found (exit 1).
    #[command(group(ArgGroup::new("source").required(true).args(["data", "file"])))]
    Verify {
        /// The service's data directory (the service must be stopped).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// An export written by `corridor ledger export`.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// The node's public key: also check the signature of the last checkpoint.
        #[arg(long, value_name = "PATH.pub")]
        pubkey: Option<PathBuf>,
    },
    /// Export a ledger as JSON Lines (one entry per line, then its last checkpoint).
    Export {
        /// The service's data directory (the service must be stopped).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Prints a verification's result the way every corridor verifier does.
pub(crate) fn report(result: Result<Verified, Damage>) -> Outcome {
    match result {
        Ok(v) => {
            println!("ok {} {}", v.entries, v.head);
            Outcome::Ok
        }
        Err(d) => {
            println!("{d}");
            Outcome::Damaged
        }
    }
}

pub(crate) fn run(cmd: LedgerCommand) -> anyhow::Result<Outcome> {
    match cmd {
        LedgerCommand::Verify { data, file, pubkey } => {
            let key = pubkey
                .map(|p| PublicKey::load(&p))
                .transpose()
                .context("cannot load the node's public key")?;
            let result = match (data, file) {
                (Some(dir), _) => verify_dir(&dir, key.as_ref())?,
                (None, Some(file)) => verify_export(&file, key.as_ref())?,
                (None, None) => unreachable!("clap requires --data or --file"),
            };
            Ok(report(result))
        }
        LedgerCommand::Export { data, out } => {
            let n = export_dir(&data, &out)?;
            println!("exported {n} entries to {}", out.display());
            Ok(Outcome::Ok)
        }
    }
}
