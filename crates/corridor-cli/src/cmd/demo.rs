//! `corridor demo`: the corridor brought up as `up` does, on an accelerated scenario clock,
//! with consignments of AEO and other traders sent through the declarant, transport legs
//! taking their corridor time from the topology, and simulated officers at every border. At
//! the end every ledger is verified, every consignment traced, and a clearance report
//! printed (and written as JSON with `--report`). A service that stops during the run is
//! named at once; the demo then stops driving, prints a partial report and exits 3.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Args;
use corridor_run::demo::{CountryCounts, DemoConfig, Progress};
use corridor_run::launch::{Corridor, prepare, signal};
use corridor_topology::ClockConfig;
use corridor_topology::clock::format_micros;

use crate::Outcome;
use crate::cmd::up::{DashboardArgs, serve_dashboard};
use crate::cmd::{block_on_all_cores, this_program};

/// `corridor demo`.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How many consignments to send.
    #[arg(long, default_value_t = 40)]
    consignments: u32,
    /// Seed of the scenario: the same seed gives the same traders, goods, lanes and
    /// officers' decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Corridor seconds per real second (the default runs the 200-hour route in about a
    /// minute).
    #[arg(long, default_value_t = 15_000.0)]
    speed: f64,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Keep everything in DIR (default: a temporary directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The corridor to run (default: the Middle Corridor built into the binary, as
    /// `corridor topology show` prints it).
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Keep the corridor and its dashboard running after the report, until Ctrl-C or
    /// SIGTERM, so that the page can be explored.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    dashboard: DashboardArgs,
}

pub(crate) fn run(a: DemoArgs) -> anyhow::Result<Outcome> {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        bail!("--speed must be more than zero");
    }
    if a.consignments == 0 {
        bail!("--consignments must be at least 1");
    }
    let tmp;
    let root = match &a.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let start = format_micros(now);
    let speed = a.speed;
    let t = prepare(a.topology.as_deref(), &root, true, |t| {
        t.clock = ClockConfig::Scenario {
            start: start.clone(),
            speed,
            anchor: Some(start.clone()),
        };
    })?;
    let program = this_program()?;
    block_on_all_cores(async move {
        let mut corridor = Corridor::start(&program, t, &root).await?;
        serve_dashboard(&mut corridor, a.dashboard.listen(false)).await?;
        for line in corridor.table() {
            println!("{line}");
        }
        let stop = signal();
        tokio::pin!(stop);
        let r = tokio::select! {
            r = scenario(&corridor, &a) => r,
            _ = &mut stop => Err(anyhow::anyhow!("interrupted")),
        };
        if a.keep && r.is_ok() {
            match &corridor.dashboard {
                Some(d) => println!(
                    "kept running: the dashboard is at {}; Ctrl-C stops",
                    d.url()
                ),
                None => println!("kept running; Ctrl-C stops"),
            }
            tokio::select! {
                _ = &mut stop => {}
                e = corridor.next_exit() => if let Some(e) = e { eprintln!("{e}; stopping the others") },
            }
        }
        corridor.stop().await;
        r
    })?
}

/// Draws the demo's progress: a table redrawn in place on a terminal, a line every five
/// seconds otherwise.
struct Display {
    tty: bool,
    drawn: usize,
    last_line: Option<std::time::Instant>,
}

impl Display {
    fn show(&mut self, a: &DemoArgs, p: &Progress, counts: &[CountryCounts]) {
        if let Some(e) = &p.stopped {
            println!("{e}; stopping the demo");
            return;
        }
        if p.finished == 0 && counts.is_empty() {
            println!(
                "demo: {} consignments, seed {}, corridor clock x{} from {}",
                a.consignments,
                a.seed,
                a.speed,
                format_micros(p.corridor_time)
            );
            return;
        }
        if self.tty {
            if self.drawn > 0 {
                print!("\x1b[{}A", self.drawn);
            }
            println!(
                "\x1b[2K{} corridor time; {}/{} consignments done",
                format_micros(p.corridor_time),
                p.finished,
                p.total
            );
            println!(
                "\x1b[2K{:<8}{:>8}{:>10}{:>9}{:>9}",
                "country", "queue", "officer", "cleared", "refused"
            );
            for c in counts {
                println!(
                    "\x1b[2K{:<8}{:>8}{:>10}{:>9}{:>9}",
                    c.country.as_str(),
                    c.queue,
                    c.officer,
                    c.cleared,
                    c.refused
                );
            }
            self.drawn = 2 + counts.len();
        } else if p.done
            || self
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            self.last_line = Some(std::time::Instant::now());
            let per: Vec<String> = counts
                .iter()
                .map(|c| {
                    format!(
                        "{} queue {} officer {} cleared {}",
                        c.country, c.queue, c.officer, c.cleared
                    )
                })
                .collect();
            println!(
                "[{:>5.1}s] {} | {}/{} done | {}",
                p.elapsed.as_secs_f64(),
                format_micros(p.corridor_time),
                p.finished,
                p.total,
                per.join(" | ")
            );
        }
    }
}

async fn scenario(corridor: &Corridor, a: &DemoArgs) -> anyhow::Result<Outcome> {
    let config = DemoConfig {
        consignments: a.consignments,
        seed: a.seed,
        speed: a.speed,
    };
    let tty = std::io::stdout().is_terminal();
    let mut display = Display {
        tty,
        drawn: 0,
        last_line: None,
    };
    let tick = Duration::from_millis(if tty { 500 } else { 1000 });
    let report = corridor_run::demo::run(corridor, config, tick, |p, c| {
        display.show(a, p, c);
        if p.done && p.stopped.is_none() {
            println!("verifying every ledger and tracing every consignment...");
        }
    })
    .await?;
    for line in &report.lines {
        println!("{line}");
    }
    if let Some(path) = &a.report {
        std::fs::write(path, serde_json::to_string_pretty(&report.json)? + "\n")
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    if report.stopped.is_some() {
        return Ok(Outcome::Stopped);
    }
    if !report.verified() {
        for p in &report.problems {
            eprintln!("problem: {p}");
        }
        return Ok(Outcome::Damaged);
    }
    Ok(Outcome::Ok)
}
