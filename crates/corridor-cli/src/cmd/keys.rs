//! `corridor keys`: development and deployment keys.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use corridor_core::SigningKey;
use corridor_topology::Topology;

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate an ed25519 key: the private key (PKCS#8 PEM, mode 0600) at PATH and the
    /// public key at PATH.pub. Refuses to overwrite an existing key.
    Gen {
        /// Where to write the private key.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Create development keys for every role a topology names (each country's customs
    /// authority, node and officers, the registry, the declarant, the demonstration
    /// operators) under DIR/keys/, and write DIR/topology.toml pointing at them. Keys already
    /// there are kept, so running it again changes nothing.
    Init {
        /// The topology file (e.g. deploy/corridor.toml).
        #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY")]
        topology: PathBuf,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also a development CA and a TLS certificate per service and for the corridor
        /// client under DIR/keys/tls/, and a `[tls]` section in DIR/topology.toml: the services
        /// then speak mutual TLS only.
        #[arg(long)]
        tls: bool,
    },
}

pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<Outcome> {
    match cmd {
        KeysCommand::Gen { out } => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let key = SigningKey::generate();
            let public = key.save(&out)?;
            println!(
                "key {} -> {} (public: {})",
                key.id(),
                out.display(),
                public.display()
            );
            Ok(Outcome::Ok)
        }
        KeysCommand::Init { topology, out, tls } => {
            let (written, kept) = init(&topology, &out, tls)?;
            println!(
                "{written} keys created, {kept} kept under {}; topology: {}",
                out.join("keys").display(),
                out.join("topology.toml").display()
            );
            Ok(Outcome::Ok)
        }
    }
}

/// Creates the keys of every role of `topology` under `out/keys/` (and with `tls` the TLS
/// CA and certificates under `out/keys/tls/`) and writes `out/topology.toml`. Returns (keys
/// created, keys kept).
fn init(topology: &Path, out: &Path, tls: bool) -> anyhow::Result<(usize, usize)> {
    let t = Topology::load(topology)?;
    let header = format!(
        "Written by `corridor keys init` from {}: development keys, never to be committed.",
        topology.display()
    );
    let options = corridor_topology::InitOptions { tls };
    let (_, written, kept) = corridor_topology::init_keys_with(t, out, &header, options)?;
    Ok((written, kept))
}
