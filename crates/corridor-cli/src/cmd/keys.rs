//! `corridor keys`: development and deployment keys.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use corridor_core::{PublicKey, SigningKey};
use corridor_topology::{KeyPaths, Topology};

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
    },
}

pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<Outcome> {
    match cmd {
        KeysCommand::Gen { out } => {
            let key = SigningKey::generate();
            let public = key
                .save(&out)
                .with_context(|| format!("cannot write key {}", out.display()))?;
            println!(
                "key {} -> {} (public: {})",
                key.id(),
                out.display(),
                public.display()
            );
            Ok(Outcome::Ok)
        }
        KeysCommand::Init { topology, out } => {
            let (written, kept) = init(&topology, &out)?;
            println!(
                "{written} keys created, {kept} kept under {}; topology: {}",
                out.join("keys").display(),
                out.join("topology.toml").display()
            );
            Ok(Outcome::Ok)
        }
    }
}

/// Creates the keys of every role of `topology` under `out/keys/` and writes
/// `out/topology.toml`. Returns (keys created, keys kept).
fn init(topology: &Path, out: &Path) -> anyhow::Result<(usize, usize)> {
    let mut t = Topology::load(topology)?;
    let (mut written, mut kept) = (0, 0);
    for (stem, slot) in t.key_slots() {
        let rel = PathBuf::from("keys").join(format!("{stem}.key"));
        let path = out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        if path.exists() {
            // Loading checks it is a private key readable by its owner only; its public key
            // file must match it (it is what every other role trusts).
            let key = SigningKey::load(&path)?;
            let mut public = path.clone().into_os_string();
            public.push(".pub");
            let public = PathBuf::from(public);
            if public.exists() {
                if PublicKey::load(&public)? != key.public() {
                    anyhow::bail!(
                        "{} is not the public key of {}; remove one of them",
                        public.display(),
                        path.display()
                    );
                }
            } else {
                key.public()
                    .save(&public)
                    .with_context(|| format!("cannot write key {}", public.display()))?;
            }
            kept += 1;
        } else {
            SigningKey::generate()
                .save(&path)
                .with_context(|| format!("cannot write key {}", path.display()))?;
            written += 1;
        }
        let mut public = rel.clone().into_os_string();
        public.push(".pub");
        *slot = Some(KeyPaths {
            public: public.into(),
            private: Some(rel),
        });
    }
    let text = format!(
        "# Written by `corridor keys init` from {}: development keys, never to be committed.\n\n{}",
        topology.display(),
        t.to_toml()
    );
    let dest = out.join("topology.toml");
    std::fs::write(&dest, text).with_context(|| format!("cannot write {}", dest.display()))?;
    // What was written must load as a topology, keys and all.
    let check = Topology::load(&dest)?;
    check.authority_keys()?;
    check.other_keys()?;
    check.operator_keys()?;
    Ok((written, kept))
}
