//! `corridor ledger`: verify and export a node's ledger while its service is stopped, or an
//! exported ledger offline.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Subcommand};
use corridor_core::PublicKey;
use corridor_ledger::export::{export_dir, verify_export};
use corridor_ledger::verify_dir;
use corridor_ledger::{Damage, Verified};

use crate::Outcome;

/// Exports a running service's ledger through its `LedgerReader`: asks for a signed
/// checkpoint, then streams the entries it covers, in the format of a local export. With a
/// topology, connects as its client (over TLS when it has `[tls]`); plaintext otherwise.
fn export_remote(
    addr: &str,
    topology: Option<&std::path::Path>,
    out: &std::path::Path,
) -> anyhow::Result<u64> {
    use corridor_ledger::Note;
    use corridor_ledger::export::ExportWriter;
    use corridor_proto::v1;
    use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
    use tokio_stream::StreamExt;

    let endpoint = match topology {
        Some(t) => corridor_net::endpoint(
            &corridor_topology::Topology::load(t)?,
            &corridor_topology::ServiceRole::Client,
            addr,
        )?,
        None => corridor_net::Transport::plaintext().endpoint(addr)?,
    };
    crate::cmd::runtime()?.block_on(async {
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach {addr}"))?;
        let mut c = LedgerReaderClient::new(channel);
        let cp = c
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .map_err(crate::cmd::aeo::status)?
            .into_inner();
        // Checked by whoever verifies the export, with the service's key.
        let note = Note::parse(&cp.note).map_err(corridor_ledger::Error::from)?;
        let mut w = ExportWriter::create(out)?;
        let mut n = 0;
        if cp.size > 0 {
            let mut entries = c
                .list_entries(v1::ListEntriesRequest {
                    from_sequence: 0,
                    to_sequence: cp.size,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{:?}: {}", e.code(), e.message()))?
                .into_inner();
            while let Some(e) = entries.next().await {
                let e = e.map_err(|e| anyhow::anyhow!("{:?}: {}", e.code(), e.message()))?;
                let (entry, hash) = corridor_proto::ledger::entry_from_wire(e)?;
                w.entry(&entry, &hash)?;
                n += 1;
            }
        }
        if n != cp.size {
            anyhow::bail!(
                "the service sent {n} entries for a checkpoint of {}",
                cp.size
            );
        }
        w.finish(Some(note.text()))?;
        Ok(n)
    })
}

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
    /// Export a ledger as JSON Lines (one entry per line, then its last checkpoint): from a
    /// stopped service's data directory, or from a running service through its ledger read
    /// service (a fresh signed checkpoint, then the entries it covers).
    #[command(group(ArgGroup::new("source").required(true).args(["data", "addr"])))]
    Export {
        /// The service's data directory (the service must be stopped).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// A running service's address (host:port).
        #[arg(long, value_name = "ADDR")]
        addr: Option<String>,
        /// With --addr: the corridor's topology, to connect over TLS (as its `[tls].client`)
        /// when it has a `[tls]` section; plaintext without it.
        #[arg(long, value_name = "FILE", requires = "addr")]
        topology: Option<PathBuf>,
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
        LedgerCommand::Export {
            data,
            addr,
            topology,
            out,
        } => {
            let n = match (data, addr) {
                (Some(dir), _) => export_dir(&dir, &out)?,
                (None, Some(addr)) => export_remote(&addr, topology.as_deref(), &out)?,
                (None, None) => unreachable!("clap requires --data or --addr"),
            };
            println!("exported {n} entries to {}", out.display());
            Ok(Outcome::Ok)
        }
    }
}
