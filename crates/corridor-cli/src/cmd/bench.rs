//! `corridor bench`: throughput benchmarks that anyone can run on their machine.

use std::path::PathBuf;

use clap::Subcommand;
use corridor_core::SigningKey;
use corridor_run::bench;

use crate::Outcome;
use crate::cmd::{block_on_all_cores, this_program};

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Durable ledger appends by concurrent appenders, against the raw sled group-commit
    /// limit measured in the same run, then a verification pass. Leaves a valid ledger (with a
    /// signed checkpoint) at DIR. Last line: a JSON object of the figures.
    Ledger {
        /// Ledger directory (created if missing; existing entries are kept and verified).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Private key that signs the envelopes and the checkpoint [default: DIR/node.key,
        /// created on first use].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Envelopes to append (1 KiB payload each).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        entries: u64,
        /// Concurrent appenders.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
        concurrency: u64,
    },
    /// `CheckRecognition` over gRPC on loopback against a registry (in this process, on
    /// 127.0.0.1:0) holding OPERATORS operators with one certificate each across four
    /// countries and arrangements among them, next to a trivial unary call (gRPC health
    /// `Check`) on the same server. Last line: a JSON object of the figures.
    Aeo(BenchAeo),
    /// Whole consignments cleared through the registry, the declarant and the customs nodes
    /// run as separate processes (as `up` runs them), every lane green and every trader an
    /// AEO, against the ceiling ed25519 sets on this machine. Last line: a JSON object of the
    /// figures.
    Corridor(BenchCorridor),
}

pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    let print = |line: String| println!("{line}");
    let verified = match cmd {
        BenchCommand::Aeo(a) => {
            let config = bench::aeo::AeoConfig {
                topology: a.topology,
                operators: a.operators,
                requests: a.requests,
                concurrency: a.concurrency,
                connections: a.connections,
                data: a.data,
            };
            block_on_all_cores(bench::aeo::run(&config, print))??
        }
        BenchCommand::Corridor(a) => {
            let config = bench::corridor::CorridorConfig {
                consignments: a.consignments,
                concurrency: a.concurrency,
                data: a.data,
                events: match a.events {
                    Events::Batch => bench::corridor::Events::Batch,
                    Events::Single => bench::corridor::Events::Single,
                },
                topology: a.topology,
                witnessing: a.witnessing == Witnessing::On,
            };
            let program = this_program()?;
            if a.witnessing == Witnessing::Ab {
                block_on_all_cores(bench::corridor::run_ab(&program, &config, print))??
            } else {
                block_on_all_cores(bench::corridor::run(&program, &config, print))??
            }
        }
        BenchCommand::Ledger {
            data,
            key,
            entries,
            concurrency,
        } => {
            let key = match key {
                Some(path) => SigningKey::load(&path)?,
                None => bench::ledger::node_key(&data, &mut { print })?,
            };
            block_on_all_cores(bench::ledger::run(
                &data,
                &key,
                entries as usize,
                concurrency as usize,
                print,
            ))??
        }
    };
    Ok(if verified {
        Outcome::Ok
    } else {
        Outcome::Damaged
    })
}

/// Options of `corridor bench aeo`.
#[derive(clap::Args)]
pub(crate) struct BenchAeo {
    /// The topology whose countries the operators are spread over (its keys are not used);
    /// default: the Middle Corridor of `deploy/corridor.toml`, built in.
    #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
    topology: Option<PathBuf>,
    /// Operators, each with one certificate, spread over the topology's countries.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(4..))]
    operators: u64,
    /// Calls measured, for the checks and for the trivial call each.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// Concurrent callers.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// HTTP/2 connections the callers share.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    connections: u64,
    /// The registry's ledger directory (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// `corridor bench corridor`.
#[derive(clap::Args)]
pub(crate) struct BenchCorridor {
    /// Consignments to clear.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    consignments: u32,
    /// Consignments in flight at once (a corridor has hundreds of trains under way).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,
    /// Keep everything in DIR (default: a temporary directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// How the border posts send their events: `batch` (`RecordBorderEvents`, every event
    /// queued while up to four calls are out goes in the next call, as a train's events go
    /// together) or `single` (`RecordBorderEvent`, one call each).
    #[arg(long, value_enum, default_value_t = Events::Batch)]
    events: Events,
    /// The corridor to run (default: the Middle Corridor built into the binary, as
    /// `corridor topology show` prints it).
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Whether the services have their checkpoints cosigned (`[witnessing].enabled`):
    /// `on`, `off`, or `ab`: two runs in one, off then on, each on a corridor of its own,
    /// and the throughput of one over the other.
    #[arg(long, value_enum, default_value_t = Witnessing::On)]
    witnessing: Witnessing,
}

/// `--witnessing`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Witnessing {
    On,
    Off,
    Ab,
}

/// How the benchmark's border posts send border events.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Events {
    Batch,
    Single,
}
