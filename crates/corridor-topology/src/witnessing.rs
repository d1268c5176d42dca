//! The `[witnessing]` section, and who witnesses whom: every customs node is a witness of
//! every other service's ledger (the other nodes, the registry, the declarant), with a
//! witness key of its own country's (`countries[i].witness_key`, which `corridor keys init`
//! makes), kept apart from the node's key.
//!
//! ```toml
//! [witnessing]
//! enabled = true        # default; false: no service seeks cosignatures (nodes still witness)
//! quorum = 2            # cosignatures a checkpoint needs; default a majority of its witnesses
//! interval_ms = 500     # how often a growing ledger signs a checkpoint for its witnesses
//! timeout_ms = 2000     # how long a witness has to answer one add-checkpoint request
//! ```
//!
//! A customs node's ledger has the other countries' witnesses (three on the Middle
//! Corridor, quorum 2 by default); the registry's and the declarant's have every country's
//! (four, quorum 3). A quorum given here applies to every ledger, so it may be at most the
//! number of countries less one.
//!
//! Names, as C2SP signed notes spell them: a ledger's origin (and its key's name) is
//! [`Topology::ledger_origin`]; a witness's name is `<topology name>/witness/<CC>`
//! ([`Topology::witness_name`]).

use std::time::Duration;

use corridor_core::{CountryCode, PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

use crate::{Error, KeyPaths, ServiceRole, Topology, invalid};

/// The `[witnessing]` section (see [the module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Witnessing {
    /// Whether services seek cosignatures of their checkpoints (default true).
    pub enabled: bool,
    /// Cosignatures a checkpoint needs to be witnessed; `None`: a majority of its witnesses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<usize>,
    /// How often a ledger that grew signs a checkpoint and offers it, in milliseconds
    /// (default 500).
    pub interval_ms: u64,
    /// How long one witness has to answer, in milliseconds (default 2000).
    pub timeout_ms: u64,
}

impl Default for Witnessing {
    fn default() -> Self {
        Self {
            enabled: true,
            quorum: None,
            interval_ms: 500,
            timeout_ms: 2000,
        }
    }
}

impl Witnessing {
    /// Is this every default (the section may be left out)?
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// `interval_ms` as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// `timeout_ms` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub(crate) fn check(&self, countries: usize) -> Result<(), Error> {
        for (name, value) in [
            ("interval_ms", self.interval_ms),
            ("timeout_ms", self.timeout_ms),
        ] {
            if value == 0 {
                return Err(invalid(
                    format!("witnessing.{name}"),
                    "must be more than zero",
                ));
            }
        }
        if let Some(q) = self.quorum {
            let most = countries.saturating_sub(1);
            if q == 0 || q > most {
                return Err(invalid(
                    "witnessing.quorum",
                    format!(
                        "must be between 1 and {most}: a customs node's ledger has the other \
                         {most} countries' witnesses"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One witness of a ledger, as the topology gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessOf {
    /// The witness's country.
    pub country: CountryCode,
    /// Its name (`<topology name>/witness/<CC>`), what its cosignatures carry.
    pub name: String,
    /// Its public key.
    pub key: PublicKey,
    /// Where it answers `add-checkpoint`: its country's customs node (`host:port`).
    pub addr: String,
}

/// A ledger a witness witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedLog {
    /// The service whose ledger it is.
    pub role: ServiceRole,
    /// The ledger's origin.
    pub origin: String,
    /// The key its checkpoints are signed with.
    pub key: PublicKey,
    /// Where the service listens (`host:port`).
    pub addr: String,
}

impl Topology {
    /// The origin of `role`'s ledger: `<name>/customs/<CC>`, `<name>/aeo-registry`,
    /// `<name>/declarant`; also the name its checkpoint key signs with.
    pub fn ledger_origin(&self, role: &ServiceRole) -> String {
        ledger_origin(&self.name, role)
    }

    /// The name of country `code`'s witness: `<name>/witness/<CC>`.
    pub fn witness_name(&self, code: &CountryCode) -> String {
        format!("{}/witness/{code}", self.name)
    }

    /// The witnesses of `log`'s ledger, in route order: every country's but its own.
    pub fn witnesses_of(&self, log: &ServiceRole) -> Result<Vec<WitnessOf>, Error> {
        let mut out = Vec::new();
        for (i, c) in self.countries.iter().enumerate() {
            let code =
                CountryCode::parse("code", &c.code).map_err(|e| invalid(e.field, e.reason))?;
            if *log == ServiceRole::Node(code.clone()) {
                continue;
            }
            let paths = c.witness_key.as_ref().ok_or_else(|| {
                Error::MissingKey(format!(
                    "the witness of {code} (countries[{i}].witness_key)"
                ))
            })?;
            out.push(WitnessOf {
                name: self.witness_name(&code),
                key: PublicKey::load(&self.resolve(&paths.public))?,
                addr: c.node.listen.clone(),
                country: code,
            });
        }
        Ok(out)
    }

    /// How many cosignatures `log`'s checkpoints need: `[witnessing].quorum`, or a majority
    /// of its witnesses.
    pub fn quorum_of(&self, log: &ServiceRole) -> usize {
        let witnesses = match log {
            ServiceRole::Node(_) => self.countries.len().saturating_sub(1),
            _ => self.countries.len(),
        };
        self.witnessing.quorum.unwrap_or(witnesses / 2 + 1)
    }

    /// Every ledger country `code`'s witness witnesses: the registry's, the declarant's and
    /// the other countries' nodes'.
    pub fn logs_witnessed_by(&self, code: &CountryCode) -> Result<Vec<WitnessedLog>, Error> {
        let log = |role: ServiceRole, key: PublicKey, addr: std::net::SocketAddr| WitnessedLog {
            origin: self.ledger_origin(&role),
            role,
            key,
            addr: addr.to_string(),
        };
        let mut out = vec![
            log(
                ServiceRole::Registry,
                self.public_key_of("registry.key", &self.registry.key)?,
                self.registry_addr()?,
            ),
            log(
                ServiceRole::Declarant,
                self.declarant_key()?,
                self.declarant_addr()?,
            ),
        ];
        for c in self.country_codes().into_iter().filter(|c| c != code) {
            let (i, country) = self.country(&c)?;
            let key = self.public_key_of(&format!("countries[{i}].node.key"), &country.node.key)?;
            let addr = self.node_addr(&c)?;
            out.push(log(ServiceRole::Node(c), key, addr));
        }
        Ok(out)
    }

    /// Country `code`'s witness signing key: `given` (`--witness-key`), or the private key
    /// the topology names (development); it must be the public key the topology lists.
    pub fn witness_key(
        &self,
        code: &CountryCode,
        given: Option<SigningKey>,
    ) -> Result<SigningKey, Error> {
        let (i, c) = self.country(code)?;
        let field = format!("countries[{i}].witness_key");
        if c.witness_key.is_none() {
            return Err(Error::MissingKey(format!(
                "the witness of {code} ({field})"
            )));
        }
        self.signing_key_in(
            &field,
            &format!("the witness of {code}"),
            &c.witness_key,
            given,
        )
    }

    /// The public key `role`'s ledger is signed with, as the topology lists it.
    pub fn service_public_key(&self, role: &ServiceRole) -> Result<PublicKey, Error> {
        match role {
            ServiceRole::Registry => self.public_key_of("registry.key", &self.registry.key),
            ServiceRole::Declarant => self.declarant_key(),
            ServiceRole::Node(c) => {
                let (i, country) = self.country(c)?;
                self.public_key_of(&format!("countries[{i}].node.key"), &country.node.key)
            }
            ServiceRole::Client => Err(Error::MissingKey(format!("{role}: it signs nothing"))),
        }
    }

    fn public_key_of(&self, field: &str, slot: &Option<KeyPaths>) -> Result<PublicKey, Error> {
        let paths = slot
            .as_ref()
            .ok_or_else(|| Error::MissingKey(field.to_owned()))?;
        Ok(PublicKey::load(&self.resolve(&paths.public))?)
    }
}

/// The origin of `role`'s ledger in the corridor named `topology_name` (see
/// [`Topology::ledger_origin`]).
pub fn ledger_origin(topology_name: &str, role: &ServiceRole) -> String {
    match role {
        ServiceRole::Registry => format!("{topology_name}/aeo-registry"),
        ServiceRole::Declarant => format!("{topology_name}/declarant"),
        ServiceRole::Node(c) => format!("{topology_name}/customs/{c}"),
        ServiceRole::Client => format!("{topology_name}/client"),
    }
}
