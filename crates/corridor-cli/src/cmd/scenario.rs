//! `corridor scenario`: integration tests of clearance flows written as data
//! ([`corridor_run::scenario`]): `run FILE...` and `schema`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::Outcome;
use crate::cmd::{block_on_all_cores, this_program};

/// `corridor scenario`.
#[derive(Subcommand)]
pub(crate) enum ScenarioCommand {
    /// Run scenario files, each on a fresh corridor (its services child processes on free
    /// ports, on a scenario clock), one after another: a line per expectation, then a
    /// summary.
    ///
    /// Exit codes: 0 every expectation held; 1 one did not (a service that stopped during a
    /// run is a failed expectation too); 2 a bad file (one line naming the file, the line
    /// and column, the field and what is wrong: nothing runs), or a corridor that could not
    /// start.
    Run {
        /// The scenario files (TOML; `corridor scenario schema` prints their JSON Schema).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// Keep each scenario's corridor in DIR/NAME (NAME: the file's name without
        /// `.toml`); default: a temporary directory, removed after the run.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Also write the results as JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Run every file on one corridor, one after another (in DIR/shared with `--data`):
        /// faster, and what one scenario changes (a suspended certificate, a terminated
        /// arrangement) holds for the next. The files must name the same topology, speed and
        /// random_selectivity.
        #[arg(long)]
        shared: bool,
    },
    /// Print the JSON Schema of scenario files (as `deploy/scenarios/scenario.schema.json`).
    Schema,
}

pub(crate) fn run(c: ScenarioCommand) -> anyhow::Result<Outcome> {
    match c {
        ScenarioCommand::Schema => {
            print!("{}", corridor_run::scenario::file::schema());
            Ok(Outcome::Ok)
        }
        ScenarioCommand::Run {
            files,
            data,
            junit,
            shared,
        } => run_files(&files, data, junit, shared),
    }
}

fn run_files(
    files: &[PathBuf],
    data: Option<PathBuf>,
    junit: Option<PathBuf>,
    shared: bool,
) -> anyhow::Result<Outcome> {
    // Every file checked before anything runs.
    let mut checked = Vec::new();
    for f in files {
        checked.push(corridor_run::scenario::check(f).map_err(anyhow::Error::msg)?);
    }
    let program = this_program()?;
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut outcomes = Vec::new();
    if shared {
        for c in &checked[1..] {
            corridor_run::scenario::compatible(&checked[0], c).map_err(anyhow::Error::msg)?;
        }
        let root = data
            .as_ref()
            .map_or_else(|| tmp.path().join("shared"), |d| d.join("shared"));
        if data.is_some() && root.join("topology.toml").exists() {
            bail!(
                "{} holds an earlier run; scenarios run on a fresh corridor",
                root.display()
            );
        }
        println!(
            "one corridor for {} scenarios: {}",
            checked.len(),
            root.display()
        );
        let outcomes = block_on_all_cores(async {
            let mut corridor = corridor_run::scenario::start(&program, &checked[0], &root).await?;
            let mut outcomes = Vec::new();
            let mut before = 0;
            for c in &checked {
                println!("scenario {}: {}", c.scenario.name, c.path.display());
                let o = corridor_run::scenario::run_on(&corridor, c, before).await;
                before += c.scenario.consignments.len() as u32;
                match o {
                    Ok(o) => {
                        for line in o.lines() {
                            println!("{line}");
                        }
                        outcomes.push(o);
                    }
                    Err(e) => {
                        corridor.stop().await;
                        return Err(e);
                    }
                }
            }
            corridor.stop().await;
            anyhow::Ok(outcomes)
        })??;
        return finish(&outcomes, junit);
    }
    for c in &checked {
        let stem = c
            .path
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        let root = data
            .as_ref()
            .map_or_else(|| tmp.path().join(&stem), |d| d.join(&stem));
        if data.is_some() && root.join("topology.toml").exists() {
            bail!(
                "{}: {} holds an earlier run; a scenario runs on a fresh corridor",
                c.path.display(),
                root.display()
            );
        }
        println!("scenario {}: {}", c.scenario.name, c.path.display());
        let program = program.clone();
        let o =
            block_on_all_cores(
                async move { corridor_run::scenario::run(&program, c, &root).await },
            )??;
        for line in o.lines() {
            println!("{line}");
        }
        outcomes.push(o);
    }
    finish(&outcomes, junit)
}

/// Prints the summary, writes the JUnit report, and says how the run ended.
fn finish(
    outcomes: &[corridor_run::scenario::Outcome],
    junit: Option<PathBuf>,
) -> anyhow::Result<Outcome> {
    let checks: usize = outcomes.iter().map(|o| o.checks.len()).sum();
    let failed: usize = outcomes
        .iter()
        .map(|o| o.checks.iter().filter(|c| c.failure.is_some()).count())
        .sum();
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    println!(
        "{passed}/{} scenarios passed; {}/{checks} expectations held",
        outcomes.len(),
        checks - failed
    );
    if let Some(path) = junit {
        std::fs::write(&path, corridor_run::scenario::junit(outcomes)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("JUnit report written to {}", path.display());
    }
    Ok(if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Damaged
    })
}
