//! `corridor serve`: run one service, for deployment.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use corridor_core::SigningKey;
use corridor_topology::Topology;
use tokio_util::sync::CancellationToken;

use crate::Outcome;

/// `corridor serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Also stop (as on SIGTERM) when standard input reaches end of file: `corridor up` holds
    /// its children's stdin, so they stop when it exits, however it exits.
    #[arg(long, global = true, hide = true)]
    stop_on_stdin_eof: bool,
    #[command(subcommand)]
    command: ServeCommand,
}

#[derive(Subcommand)]
pub(crate) enum ServeCommand {
    /// The AEO registry: operators, AEO certificates, mutual recognition arrangements. Prints
    /// `listening on ADDR` once it accepts connections; stops on SIGTERM or ctrl-c, after
    /// finishing the calls in flight and flushing its ledger.
    Aeo {
        /// The topology (authority keys, clock, default listen address and key).
        #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
        topology: PathBuf,
        /// The registry's data directory (its ledger).
        #[arg(long, value_name = "DIR", env = "CORRIDOR_DATA")]
        data: PathBuf,
        /// Address to listen on (host:port; port 0 picks a free one); default: the
        /// topology's `registry.listen`.
        #[arg(long, value_name = "ADDR", env = "CORRIDOR_LISTEN")]
        listen: Option<String>,
        /// The registry's private key (how a deployment mounts its secret); default: the
        /// topology's development key.
        #[arg(long, value_name = "PATH", env = "CORRIDOR_KEY")]
        key: Option<PathBuf>,
        /// Largest request accepted, in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = corridor_aeo::DEFAULT_MAX_MESSAGE_BYTES)]
        max_message_bytes: usize,
    },
    /// A customs node: assessment, border events, officer decisions and handoffs for one
    /// country. Prints `listening on ADDR` once it accepts connections; stops on SIGTERM or
    /// ctrl-c, after finishing the calls in flight and flushing its ledger.
    Customs {
        /// The node's country (ISO 3166-1 alpha-2), one of the topology's.
        #[arg(long, value_name = "CC", env = "CORRIDOR_COUNTRY")]
        country: String,
        /// The topology (route, peers, officers, risk profile, clock).
        #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
        topology: PathBuf,
        /// The node's data directory (its ledger, and its copy of the AEO registry).
        #[arg(long, value_name = "DIR", env = "CORRIDOR_DATA")]
        data: PathBuf,
        /// Address to listen on (host:port; port 0 picks a free one); default: the
        /// topology's `node.listen` of the country.
        #[arg(long, value_name = "ADDR", env = "CORRIDOR_LISTEN")]
        listen: Option<String>,
        /// The node's private key; default: the topology's development key.
        #[arg(long, value_name = "PATH", env = "CORRIDOR_KEY")]
        key: Option<PathBuf>,
        /// The private key of the country's witness (it cosigns the other services'
        /// checkpoints); default: the topology's development key (`witness_key`).
        #[arg(long, value_name = "PATH", env = "CORRIDOR_WITNESS_KEY")]
        witness_key: Option<PathBuf>,
        /// Largest request accepted, in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = corridor_customs::DEFAULT_MAX_MESSAGE_BYTES)]
        max_message_bytes: usize,
    },
    /// The dashboard: a read-only web page of the running corridor, live (an ordinary
    /// client of the services; it holds no key). Prints `listening on ADDR` once it accepts
    /// connections; open `http://ADDR/`.
    Dashboard {
        /// The topology (the services' addresses, TLS client certificate, clearance target).
        #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
        topology: PathBuf,
        /// Address to listen on (host:port; port 0 picks a free one).
        #[arg(
            long,
            value_name = "ADDR",
            env = "CORRIDOR_LISTEN",
            default_value = "127.0.0.1:7480"
        )]
        listen: String,
    },
    /// The declarant: the trade side's gateway and the bill of lading's platform of record.
    /// Prints `listening on ADDR` once it accepts connections; stops on SIGTERM or ctrl-c.
    Declarant {
        /// The topology (route, nodes, the operators' keys folder, clock).
        #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
        topology: PathBuf,
        /// The declarant's data directory (its ledger, and its copy of the AEO registry).
        #[arg(long, value_name = "DIR", env = "CORRIDOR_DATA")]
        data: PathBuf,
        /// Address to listen on; default: the topology's `declarant.listen`.
        #[arg(long, value_name = "ADDR", env = "CORRIDOR_LISTEN")]
        listen: Option<String>,
        /// The declarant's private key; default: the topology's development key.
        #[arg(long, value_name = "PATH", env = "CORRIDOR_KEY")]
        key: Option<PathBuf>,
        /// The folder of the private keys of the operators it acts for
        /// (`<OPERATOR_ID>.key`); default: the topology's `declarant.operator_keys`.
        #[arg(long, value_name = "DIR", env = "CORRIDOR_OPERATOR_KEYS")]
        operator_keys: Option<PathBuf>,
    },
}

/// Binds `listen` and runs `serve` on a multi-threaded runtime until SIGTERM or ctrl-c,
/// printing `listening on ADDR` once the service is ready.
fn serve_until_signal<F, Fut, E>(
    listen: &str,
    stop_on_stdin_eof: bool,
    serve: F,
) -> anyhow::Result<Outcome>
where
    F: FnOnce(
        tokio::net::TcpListener,
        CancellationToken,
        Box<dyn FnOnce(Option<std::net::SocketAddr>) + Send>,
    ) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    crate::cmd::runtime_all_cores()?.block_on(async move {
        let shutdown = CancellationToken::new();
        on_signal(shutdown.clone())?;
        if stop_on_stdin_eof {
            let token = shutdown.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 64];
                let mut stdin = std::io::stdin();
                while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
                tracing::info!("standard input closed: shutting down");
                token.cancel();
            });
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        serve(
            listener,
            shutdown,
            Box::new(move |_| println!("listening on {local}")),
        )
        .await
        .map_err(Into::into)?;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Ok)
}

/// Cancels `token` on SIGTERM or ctrl-c. The handlers are installed before this returns,
/// so a signal sent once the process says it is listening is never fatal.
fn on_signal(token: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
        )
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    Ok(())
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let eof = args.stop_on_stdin_eof;
    match args.command {
        ServeCommand::Aeo {
            topology,
            data,
            listen,
            key,
            max_message_bytes,
        } => {
            let t = Topology::load(&topology)?;
            let key = key
                .map(|p| SigningKey::load(&p))
                .transpose()
                .context("cannot load the registry's key")?;
            let mut config = corridor_aeo::Config::from_topology(&t, data, key)?;
            config.max_message_bytes = max_message_bytes;
            let listen = listen.unwrap_or_else(|| t.registry.listen.clone());
            serve_until_signal(&listen, eof, |l, stop, ready| {
                corridor_aeo::serve_ready(l, config, stop, ready)
            })
        }
        ServeCommand::Customs {
            country,
            topology,
            data,
            listen,
            key,
            witness_key,
            max_message_bytes,
        } => {
            let t = Topology::load(&topology)?;
            let cc = corridor_core::CountryCode::parse("--country", &country)?;
            let (i, _) = t.country(&cc)?;
            let key = key
                .map(|p| SigningKey::load(&p))
                .transpose()
                .context("cannot load the node's key")?;
            let witness_key = witness_key
                .map(|p| SigningKey::load(&p))
                .transpose()
                .context("cannot load the witness's key")?;
            let mut config = corridor_customs::Config::from_topology_with_witness(
                &t,
                cc,
                data,
                key,
                witness_key,
            )?;
            config.max_message_bytes = max_message_bytes;
            let listen = listen.unwrap_or_else(|| t.countries[i].node.listen.clone());
            serve_until_signal(&listen, eof, |l, stop, ready| {
                corridor_customs::serve_ready(l, config, stop, ready)
            })
        }
        ServeCommand::Dashboard { topology, listen } => {
            let t = Topology::load(&topology)?;
            serve_until_signal(&listen, eof, |l, stop, ready| async move {
                ready(None);
                corridor_run::dashboard::serve(l, t, stop).await
            })
        }
        ServeCommand::Declarant {
            topology,
            data,
            listen,
            key,
            operator_keys,
        } => {
            let t = Topology::load(&topology)?;
            let key = key
                .map(|p| SigningKey::load(&p))
                .transpose()
                .context("cannot load the declarant's key")?;
            let mut config = corridor_declarant::Config::from_topology(&t, data, key)?;
            if let Some(dir) = operator_keys {
                config.operators = corridor_declarant::load_operator_keys(&dir)?;
            }
            let listen = listen.unwrap_or_else(|| t.declarant.listen.clone());
            serve_until_signal(&listen, eof, |l, stop, ready| {
                corridor_declarant::serve_ready(l, config, stop, ready)
            })
        }
    }
}
