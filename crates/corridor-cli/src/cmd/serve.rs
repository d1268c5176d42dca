//! `corridor serve`: run one service, for deployment.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use corridor_core::SigningKey;
use corridor_topology::Topology;
use tokio_util::sync::CancellationToken;

use crate::Outcome;

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

pub(crate) fn run(cmd: ServeCommand) -> anyhow::Result<Outcome> {
    match cmd {
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
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(async move {
                    let shutdown = CancellationToken::new();
                    on_signal(shutdown.clone())?;
                    let listener = tokio::net::TcpListener::bind(&listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    let local = listener.local_addr()?;
                    corridor_aeo::serve_ready(listener, config, shutdown, |_| {
                        println!("listening on {local}");
                    })
                    .await?;
                    anyhow::Ok(())
                })?;
            Ok(Outcome::Ok)
        }
    }
}
