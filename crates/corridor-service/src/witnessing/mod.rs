//! Witnessing: every customs node is a C2SP `tlog-witness` for the other services' ledgers,
//! and every service has its checkpoints cosigned by its witnesses.
//!
//! - [`witness`]: the witness side. `POST /add-checkpoint` on a node's port (the C2SP
//!   protocol, over HTTP/1.1 or HTTP/2 like the tiles), deciding with
//!   [`corridor_ledger::witness::decide`] and remembering durably in a
//!   [`WitnessState`](corridor_ledger::witness_state::WitnessState) before it answers; a
//!   checkpoint that cannot extend the one cosigned before is refused and, once the log's own
//!   consistency proof shows two histories, kept as [`Evidence`](corridor_ledger::witness::Evidence)
//!   and logged at error level; the `Witness` gRPC service reports both.
//! - [`cosign`]: the log side. While the ledger grows, every `interval` it signs a
//!   checkpoint, offers it to every witness at once (each given `timeout`), checks each
//!   cosignature it gets back, and keeps the checkpoint with them as the ledger's witnessed
//!   one once they reach the quorum; a witness that did not answer is asked again on the
//!   next tick, and the last round runs when the service stops.
//!
//! [`Plan::from_topology`] reads who witnesses whom from the topology
//! ([`corridor_topology::witnessing`]).

pub mod cosign;
pub mod witness;

use std::path::PathBuf;
use std::time::Duration;

use corridor_core::{CountryCode, PublicKey, SigningKey};
use corridor_topology::{ServiceRole, Topology, WitnessOf, WitnessedLog};

/// Directory, under a customs node's data directory, of its witness's state.
pub const WITNESS_DIR: &str = "witness";

/// How a service's ledger is witnessed, and what it witnesses.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The witnesses asked to cosign this service's checkpoints; none when witnessing is
    /// off.
    pub witnesses: Vec<WitnessOf>,
    /// Cosignatures a checkpoint needs to be witnessed.
    pub quorum: usize,
    /// How often a growing ledger signs a checkpoint for its witnesses.
    pub interval: Duration,
    /// How long one witness has to answer.
    pub timeout: Duration,
    /// On a customs node: its country's witness.
    pub witness: Option<WitnessConfig>,
}

/// A customs node's witness, as configured.
#[derive(Clone)]
pub struct WitnessConfig {
    /// Its name (`<topology name>/witness/<CC>`).
    pub name: String,
    /// Its signing key.
    pub key: SigningKey,
    /// Where its state lives.
    pub dir: PathBuf,
    /// The logs it witnesses.
    pub logs: Vec<WitnessedLog>,
}

impl std::fmt::Debug for WitnessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessConfig")
            .field("name", &self.name)
            .field("key", &self.key.public().id())
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

impl Default for Plan {
    /// No witnessing at all: nothing asked, nothing witnessed.
    fn default() -> Self {
        Self {
            witnesses: Vec::new(),
            quorum: 0,
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(2),
            witness: None,
        }
    }
}

impl Plan {
    /// What the topology says for service `role`: its witnesses and quorum (none when
    /// `[witnessing].enabled` is false); for a customs node also its witness, with
    /// `witness_key` (`--witness-key`, else the topology's private key file) and its state
    /// under `data_dir`.
    pub fn from_topology(
        t: &Topology,
        role: &ServiceRole,
        witness_key: Option<SigningKey>,
        data_dir: &std::path::Path,
    ) -> Result<Self, corridor_topology::Error> {
        let w = &t.witnessing;
        let witness = match role {
            ServiceRole::Node(code) => Some(node_witness(t, code, witness_key, data_dir)?),
            _ => None,
        };
        Ok(Self {
            witnesses: if w.enabled {
                t.witnesses_of(role)?
            } else {
                Vec::new()
            },
            quorum: t.quorum_of(role),
            interval: w.interval(),
            timeout: w.timeout(),
            witness,
        })
    }

    /// The witnesses' names and keys, as [`corridor_ledger::cosignature::cosigners`] takes
    /// them.
    pub fn witness_keys(&self) -> Vec<(String, PublicKey)> {
        self.witnesses
            .iter()
            .map(|w| (w.name.clone(), w.key))
            .collect()
    }
}

fn node_witness(
    t: &Topology,
    code: &CountryCode,
    key: Option<SigningKey>,
    data_dir: &std::path::Path,
) -> Result<WitnessConfig, corridor_topology::Error> {
    Ok(WitnessConfig {
        name: t.witness_name(code),
        key: t.witness_key(code, key)?,
        dir: data_dir.join(WITNESS_DIR),
        logs: t.logs_witnessed_by(code)?,
    })
}

/// Seconds since the Unix epoch, as cosignatures and evidence carry them.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
