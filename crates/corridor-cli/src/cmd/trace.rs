//! `corridor trace ID`: follows one consignment through every node's ledger, in route
//! order, as [`corridor_audit::corpus`] checks it. Reads the running services through their
//! ledger read service, or the data directories of stopped ones (`--data ROOT`).

use std::path::PathBuf;

use clap::Args;
use corridor_audit::{Corpus, Source, Traced};

use crate::Outcome;
use crate::cmd::block_on;
use crate::cmd::customs::{TopologyArg, consignment_id};

/// `corridor trace`.
#[derive(Args)]
pub(crate) struct TraceArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Read stopped services' data directories under ROOT (ROOT/registry,
    /// ROOT/customs/CC, as `corridor up` lays them out) instead of the running services;
    /// the topology defaults to ROOT/topology.toml.
    #[arg(long, value_name = "ROOT")]
    data: Option<PathBuf>,
    /// The consignment id (64 hex digits).
    #[arg(value_name = "ID")]
    id: String,
}

pub(crate) fn run(a: TraceArgs) -> anyhow::Result<Outcome> {
    let id = consignment_id(&a.id)?;
    let t = a.topology.load_beside(a.data.as_deref())?;
    let first = t
        .country_codes()
        .first()
        .map_or("?".into(), |c| c.to_string());
    let subject = id.to_hex();
    let source = match &a.data {
        Some(root) => Source::Local(root),
        None => Source::Remote,
    };
    let corpus = block_on(Corpus::load(t, source, Some(&subject)))??;
    if !corpus.knows(&id) {
        anyhow::bail!("consignment {id} is not known at {first} (the first node)");
    }
    Ok(print(
        &corpus.trace(&id),
        "trace",
        "problems",
        "every ledger, link and signature verified",
    ))
}

/// Prints what a trace found, then `{what}: N {broken}` (exit 1) or `{what}: C countries,
/// E entries; {held}`.
pub(crate) fn print(traced: &Traced, what: &str, broken: &str, held: &str) -> Outcome {
    for l in &traced.lines {
        println!("{l}");
    }
    if !traced.problems.is_empty() {
        println!("{what}: {} {broken}", traced.problems.len());
        return Outcome::Damaged;
    }
    println!(
        "{what}: {} countries, {} entries; {held}",
        traced.countries, traced.entries
    );
    Outcome::Ok
}
