//! `corridor topology`: the corridor the binary runs by default.

use clap::Subcommand;

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum TopologyCommand {
    /// Print the Middle Corridor topology built into the binary (what `up`, `demo` and `bench`
    /// run without `--topology`), to edit and pass back with `--topology FILE`.
    Show,
}

pub(crate) fn run(cmd: TopologyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        TopologyCommand::Show => print!("{}", corridor_topology::MIDDLE_CORRIDOR),
    }
    Ok(Outcome::Ok)
}
