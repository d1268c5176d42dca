//! `corridor proof ID --out FILE`: one consignment's proof, from the running corridor or
//! (`--data ROOT`) from stopped services' data directories; `corridor proof verify FILE`:
//! its offline check with the topology's public keys only ([`corridor_audit::proof`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use corridor_audit::proof;

use crate::Outcome;
use crate::cmd::block_on;
use crate::cmd::customs::{TopologyArg, consignment_id};

/// `corridor proof`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ProofArgs {
    #[command(subcommand)]
    command: Option<ProofCommand>,
    #[command(flatten)]
    make: MakeArgs,
}

#[derive(Subcommand)]
enum ProofCommand {
    /// Check a proof file offline: every envelope signature, the role each kind needs, the
    /// links between nodes, every inclusion proof, every checkpoint signature and the
    /// witness quorum. Exit 0 valid, 1 a finding (a line each), 2 bad input.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct MakeArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Read stopped services' data directories under ROOT (as `corridor up` lays them
    /// out) instead of the running services; the topology defaults to ROOT/topology.toml.
    #[arg(long, value_name = "ROOT")]
    data: Option<PathBuf>,
    /// How long to wait for each ledger's witnessed checkpoint to cover the consignment's
    /// entries (seconds, at most 3600); past it a ledger is proven under its latest signed
    /// checkpoint, and the proof fails verification for want of a quorum.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = proof::DEFAULT_WAIT.as_secs(),
        value_parser = clap::value_parser!(u64).range(0..=3600)
    )]
    wait: u64,
    /// Where to write the proof (proto3 JSON of corridor.v1.ConsignmentProof); `-` for
    /// standard output.
    #[arg(long, value_name = "FILE", required = true)]
    out: Option<PathBuf>,
    /// The consignment id (64 hex digits).
    #[arg(value_name = "ID", required = true)]
    id: Option<String>,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The proof file (proto3 JSON or binary protobuf of corridor.v1.ConsignmentProof); `-`
    /// for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn run(a: ProofArgs) -> anyhow::Result<Outcome> {
    match a.command {
        Some(ProofCommand::Verify(v)) => verify(v),
        None => make(a.make),
    }
}

fn make(a: MakeArgs) -> anyhow::Result<Outcome> {
    let id = consignment_id(a.id.as_deref().unwrap_or_default())?;
    let out = a.out.context("--out FILE is required")?;
    let t = a.topology.load_beside(a.data.as_deref())?;
    let made = match &a.data {
        Some(root) => proof::make_local(&t, root, &id)?,
        None => block_on(proof::make_remote(&t, &id, Duration::from_secs(a.wait)))??,
    };
    let json = proof::to_json(&made.proof)?;
    if out == Path::new("-") {
        print!("{json}");
    } else {
        std::fs::write(&out, &json).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let entries: usize = made.proof.nodes.iter().map(|n| n.entries.len()).sum();
    eprintln!(
        "proof of consignment {id}: {} nodes, {entries} entries, {} registry entries, {} bytes{}",
        made.proof.nodes.len(),
        made.proof.registry.as_ref().map_or(0, |r| r.entries.len()),
        json.len(),
        if out == Path::new("-") {
            String::new()
        } else {
            format!(", written to {}", out.display())
        }
    );
    for n in &made.notes {
        eprintln!("note: {n}");
    }
    Ok(Outcome::Ok)
}

fn verify(a: VerifyArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    let bytes = read_limited(&a.file)?;
    let p = proof::parse(&bytes).with_context(|| format!("{} is not a proof", a.file.display()))?;
    Ok(crate::cmd::trace::print(
        &proof::verify(&t, &p)?,
        "proof",
        "findings",
        "valid: every signature, link, inclusion proof and witness quorum verified",
    ))
}

/// The file's bytes, refused above [`proof::MAX_FILE_BYTES`].
fn read_limited(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = proof::MAX_FILE_BYTES + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    if bytes.len() as u64 > proof::MAX_FILE_BYTES {
        anyhow::bail!(
            "{}: larger than {} bytes, the most a proof file may be",
            path.display(),
            proof::MAX_FILE_BYTES
        );
    }
    Ok(bytes)
}
