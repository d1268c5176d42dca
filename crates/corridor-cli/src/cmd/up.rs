//! `corridor up`: the whole corridor on this machine, each service a separate `corridor
//! serve` process ([`corridor_run::launch`]), its operators registered, until Ctrl-C or
//! SIGTERM.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use corridor_run::bootstrap::{register_topology_operators, sync};
use corridor_run::launch::{Corridor, prepare, signal};

use crate::Outcome;
use crate::cmd::{block_on_all_cores, this_program};

/// The line `up` prints, last, once the corridor is ready for clients.
pub(crate) const READY: &str = "corridor up: ready";

/// `corridor up`.
#[derive(Args, Clone)]
pub(crate) struct UpArgs {
    /// The corridor to run, its keys made on the first run (default: the Middle Corridor
    /// built into the binary, as `corridor topology show` prints it).
    #[arg(long, value_name = "FILE")]
    pub(crate) topology: Option<PathBuf>,
    /// Where the keys, DATA/topology.toml, each service's data and the logs live.
    #[arg(long, value_name = "DIR", default_value = "corridor-data")]
    pub(crate) data: PathBuf,
    /// `auto`: pick free ports and write them into DATA/topology.toml (so that several
    /// corridors can run at once); default: the topology's ports.
    #[arg(long, value_name = "auto")]
    pub(crate) ports: Option<Ports>,
    #[command(flatten)]
    pub(crate) dashboard: DashboardArgs,
}

/// The dashboard `up` and `demo` serve beside the corridor.
#[derive(Args, Clone)]
pub(crate) struct DashboardArgs {
    /// Where the dashboard listens (host:port; port 0 picks a free one); default
    /// 127.0.0.1:7480, or a free port with `--ports auto` and in `demo`.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_dashboard")]
    pub(crate) dashboard: Option<String>,
    /// Do not serve the dashboard.
    #[arg(long)]
    pub(crate) no_dashboard: bool,
}

/// Serves the dashboard of `corridor` on `listen`, if given; when it cannot, stops the
/// corridor and says how to choose another address or none.
pub(crate) async fn serve_dashboard(
    corridor: &mut Corridor,
    listen: Option<String>,
) -> anyhow::Result<()> {
    let Some(listen) = listen else {
        return Ok(());
    };
    if let Err(e) = corridor.start_dashboard(&listen).await {
        corridor.stop().await;
        anyhow::bail!("{e:#} (--dashboard ADDR serves it elsewhere, --no-dashboard not at all)");
    }
    Ok(())
}

impl DashboardArgs {
    /// The address to serve the dashboard on, if it is to be served: `fixed` when the
    /// corridor keeps the topology's ports, a free one otherwise.
    pub(crate) fn listen(&self, fixed: bool) -> Option<String> {
        if self.no_dashboard {
            return None;
        }
        Some(self.dashboard.clone().unwrap_or_else(|| {
            if fixed {
                "127.0.0.1:7480"
            } else {
                "127.0.0.1:0"
            }
            .to_string()
        }))
    }
}

/// How ports are chosen.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Ports {
    /// Free ports, picked now.
    Auto,
}

/// `corridor up`.
pub(crate) fn run(a: UpArgs) -> anyhow::Result<Outcome> {
    let auto = a.ports == Some(Ports::Auto);
    let t = prepare(a.topology.as_deref(), &a.data, auto, |_| {})?;
    let root = a.data.clone();
    let program = this_program()?;
    block_on_all_cores(async move {
        // Signals are handled from the start, so a ctrl-c during start-up stops cleanly.
        let stop = tokio::spawn(signal());
        let mut corridor = Corridor::start(&program, t, &root).await?;
        serve_dashboard(&mut corridor, a.dashboard.listen(!auto)).await?;
        let clock = corridor.topology.clock.clock()?;
        let registered =
            register_topology_operators(&corridor.topology, clock.now_micros()).await?;
        sync(&corridor.topology).await?;
        if registered > 0 {
            println!(
                "registered {registered} operators of the topology with their development keys"
            );
        }
        println!(
            "{} services; topology {}; Ctrl-C stops them",
            corridor.services.len(),
            corridor.topology_file().display()
        );
        for line in corridor.table() {
            println!("{line}");
        }
        // The one line tools wait for: every service SERVING, the operators registered and
        // every service caught up with the registry.
        println!("{READY}");
        if !std::io::stdout().is_terminal() {
            use std::io::Write;
            let _ = std::io::stdout().flush();
        }
        tokio::pin!(stop);
        let outcome = tokio::select! {
            _ = &mut stop => Outcome::Ok,
            e = corridor.next_exit() => {
                if let Some(e) = e {
                    eprintln!(
                        "{e}; stopping the others (logs in {})",
                        corridor_audit::layout::logs_dir(&root).display()
                    );
                }
                Outcome::Stopped
            }
        };
        println!("stopping");
        corridor.stop().await;
        println!("stopped");
        anyhow::Ok(outcome)
    })?
}
