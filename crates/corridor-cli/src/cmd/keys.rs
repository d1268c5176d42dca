//! `corridor keys`: development and deployment keys.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use corridor_core::SigningKey;

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
    }
}
