//! The corridor's topology: which countries in which order, their border posts, the legs
//! between them, where each service listens, each role's key files, and the corridor clock.
//!
//! The route is data: no code names a country. `deploy/corridor.toml` is the Middle Corridor
//! (CN, KZ, AZ, TR, with the Baku-Tbilisi-Kars railway marked as transit through Georgia);
//! `deploy/corridor-ge.toml` is the same route with Georgia as a fifth country.
//! `corridor keys init` fills in the key paths ([`Topology::key_slots`]) and writes the result.
//!
//! Relative paths in a topology file are relative to the file's directory.

pub mod clock;
mod init;
pub mod risk;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corridor_core::{CountryCode, OperatorId, PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

pub use clock::{Clock, ClockConfig};
pub use init::init_keys;
pub use risk::{ClearanceTarget, LaneRates, RiskProfile, ValueFloor};

/// What can be wrong with a topology.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("topology {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("topology {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The file parses but says something impossible; names the field.
    #[error("topology: {field}: {reason}")]
    Invalid {
        /// The field path, e.g. `legs[2].to`.
        field: String,
        /// Why.
        reason: String,
    },
    /// A key the caller needs is not configured (run `corridor keys init`).
    #[error("topology: no key configured for {0} (run `corridor keys init` or pass --key)")]
    MissingKey(String),
    /// A key file could not be loaded.
    #[error(transparent)]
    Key(#[from] corridor_core::Error),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Paths of one role's key files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPaths {
    /// The public key file (PEM or 64 hex digits).
    pub public: PathBuf,
    /// The private key file (PKCS#8 PEM, mode 0600): for development only; a deployment mounts
    /// the secret and passes `--key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<PathBuf>,
}

/// A service's network address and key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Address the service listens on (`host:port`).
    pub listen: String,
    /// The service's own key (it signs checkpoints and what it records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPaths>,
}

/// The declarant service: where it listens, its key, and the keys of the operators it acts
/// for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarant {
    /// Address the service listens on (`host:port`).
    pub listen: String,
    /// The service's own key (it signs checkpoints and its records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPaths>,
    /// Directory of the private keys of the operators it acts for, one `<OPERATOR_ID>.key`
    /// each (`corridor keys init` points it at the demonstration operators' keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_keys: Option<PathBuf>,
}

/// A place where goods cross into or out of a country.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorderPost {
    /// Name of the post (e.g. "Khorgos").
    pub name: String,
    /// What crosses there: `rail`, `road`, `ferry` or `air`.
    pub mode: String,
    /// Free text: the post's role on the route.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A customs officer of a country.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// The officer's name or badge (used in key file names).
    pub name: String,
    /// The officer's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPaths>,
}

/// One country of the corridor, in route order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// English short name.
    pub name: String,
    /// The country's customs authority key: signs AEO certificates, operator registrations
    /// and arrangements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_key: Option<KeyPaths>,
    /// The country's customs node.
    pub node: Service,
    /// The country's border posts on the route.
    #[serde(default)]
    pub border_posts: Vec<BorderPost>,
    /// Officers who decide on consignments at this country's node.
    #[serde(default)]
    pub officers: Vec<Officer>,
    /// How the node assesses consignments into lanes.
    #[serde(default)]
    pub risk: RiskProfile,
}

/// A leg of the route between two corridor countries (or within one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    /// Country where the leg starts.
    pub from: String,
    /// Country where the leg ends (may equal `from` for a domestic leg).
    pub to: String,
    /// `rail`, `road`, `ferry` or `air`.
    pub mode: String,
    /// Where the leg starts (a station, port or border post).
    pub from_place: String,
    /// Where the leg ends.
    pub to_place: String,
    /// Nominal duration in hours.
    pub hours: f64,
    /// Countries outside the corridor the leg crosses in transit (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transit: Vec<String>,
}

/// A demonstration trade party (shipper, consignee, forwarder, carrier).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Operator id (country code + up to 15 capital letters or digits).
    pub id: String,
    /// Legal name.
    pub name: String,
    /// Registered address.
    pub address: String,
    /// `shipper`, `consignee`, `forwarder` or `carrier`.
    pub role: String,
    /// The operator's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPaths>,
}

/// A topology file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Name of the corridor (used in ledger origins).
    pub name: String,
    /// The corridor clock every service uses.
    pub clock: ClockConfig,
    /// The corridor clearance target (72 h by default) and its warning share.
    #[serde(default)]
    pub clearance: ClearanceTarget,
    /// The AEO registry service.
    pub registry: Service,
    /// The declarant (trade-side gateway) service.
    pub declarant: Declarant,
    /// Countries in route order.
    pub countries: Vec<Country>,
    /// Legs in route order.
    pub legs: Vec<Leg>,
    /// Demonstration operators.
    #[serde(default)]
    pub operators: Vec<Operator>,
    /// Directory the relative paths are resolved against (the file's directory).
    #[serde(skip)]
    pub base: PathBuf,
}

const MODES: [&str; 4] = ["rail", "road", "ferry", "air"];

impl Topology {
    /// Reads and checks a topology file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::parse(&text, &base).map_err(|e| match e {
            Error::Syntax { message, .. } => Error::Syntax {
                path: path.to_owned(),
                message,
            },
            e => e,
        })
    }

    /// Parses and checks topology text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, Error> {
        let mut t: Topology = toml::from_str(text).map_err(|e| Error::Syntax {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        t.base = base.to_owned();
        t.check()?;
        Ok(t)
    }

    /// Writes the topology to `path` (relative paths stay relative: `path` should be in the
    /// topology's base directory), `header` first as comment lines.
    pub fn write(&self, path: &Path, header: &str) -> Result<(), Error> {
        let mut text = String::new();
        for line in header.lines() {
            text.push_str("# ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.to_toml());
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// The topology as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "required"));
        }
        self.clock.check()?;
        self.clearance.check()?;
        check_listen("registry.listen", &self.registry.listen)?;
        check_listen("declarant.listen", &self.declarant.listen)?;
        if self.countries.len() < 2 {
            return Err(invalid(
                "countries",
                "a corridor has at least two countries",
            ));
        }
        let mut codes = BTreeSet::new();
        let mut listens = BTreeSet::from([&self.registry.listen, &self.declarant.listen]);
        for (i, c) in self.countries.iter().enumerate() {
            let field = format!("countries[{i}]");
            let code = CountryCode::parse(&format!("{field}.code"), &c.code)
                .map_err(|e| invalid(e.field, e.reason))?;
            if !codes.insert(code) {
                return Err(invalid(format!("{field}.code"), "listed twice"));
            }
            check_listen(&format!("{field}.node.listen"), &c.node.listen)?;
            if !listens.insert(&c.node.listen) {
                return Err(invalid(
                    format!("{field}.node.listen"),
                    format!("address {} is used by another service", c.node.listen),
                ));
            }
            c.risk.check(&format!("{field}.risk"))?;
            for (j, p) in c.border_posts.iter().enumerate() {
                check_mode(&format!("{field}.border_posts[{j}].mode"), &p.mode)?;
            }
        }
        if self.legs.is_empty() {
            return Err(invalid("legs", "a corridor has at least one leg"));
        }
        let known = |field: String, s: &str| -> Result<CountryCode, Error> {
            let c = CountryCode::parse(&field, s).map_err(|e| invalid(e.field, e.reason))?;
            if codes.contains(&c) {
                Ok(c)
            } else {
                Err(invalid(
                    field,
                    format!("{s} is not a country of the corridor"),
                ))
            }
        };
        for (i, l) in self.legs.iter().enumerate() {
            let field = format!("legs[{i}]");
            known(format!("{field}.from"), &l.from)?;
            known(format!("{field}.to"), &l.to)?;
            check_mode(&format!("{field}.mode"), &l.mode)?;
            if !(l.hours.is_finite() && l.hours > 0.0) {
                return Err(invalid(format!("{field}.hours"), "must be more than zero"));
            }
            for (j, t) in l.transit.iter().enumerate() {
                let f = format!("{field}.transit[{j}]");
                let c = CountryCode::parse(&f, t).map_err(|e| invalid(e.field, e.reason))?;
                if codes.contains(&c) {
                    return Err(invalid(
                        f,
                        format!("{t} is a corridor country: make the leg end there instead"),
                    ));
                }
            }
        }
        let mut ids = BTreeSet::new();
        for (i, o) in self.operators.iter().enumerate() {
            let field = format!("operators[{i}]");
            let id = OperatorId::parse(&format!("{field}.id"), &o.id)
                .map_err(|e| invalid(e.field, e.reason))?;
            if !codes.contains(&id.country()) {
                return Err(invalid(
                    format!("{field}.id"),
                    format!("{} is not a country of the corridor", id.country()),
                ));
            }
            if !ids.insert(id) {
                return Err(invalid(format!("{field}.id"), "listed twice"));
            }
            if !["shipper", "consignee", "forwarder", "carrier"].contains(&o.role.as_str()) {
                return Err(invalid(
                    format!("{field}.role"),
                    format!(
                        "expected shipper, consignee, forwarder or carrier, got {:?}",
                        o.role
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The corridor countries in route order.
    pub fn country_codes(&self) -> Vec<CountryCode> {
        self.countries
            .iter()
            .filter_map(|c| CountryCode::parse("code", &c.code).ok())
            .collect()
    }

    /// Resolves a path from the file against its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.base.join(p)
        }
    }

    /// The registry's listen address.
    pub fn registry_addr(&self) -> Result<SocketAddr, Error> {
        parse_listen("registry.listen", &self.registry.listen)
    }

    /// Each country's customs authority public key, loaded from its file.
    pub fn authority_keys(&self) -> Result<BTreeMap<CountryCode, PublicKey>, Error> {
        let mut out = BTreeMap::new();
        for c in &self.countries {
            let code =
                CountryCode::parse("code", &c.code).map_err(|e| invalid(e.field, e.reason))?;
            let paths = c
                .authority_key
                .as_ref()
                .ok_or_else(|| Error::MissingKey(format!("the customs authority of {}", c.code)))?;
            out.insert(code, PublicKey::load(&self.resolve(&paths.public))?);
        }
        Ok(out)
    }

    /// Every other public key of a corridor role, with a description of the role (customs
    /// nodes, officers, services; operators apart, see [`Topology::operator_keys`]): keys
    /// known to the corridor that hold no authority of their own.
    pub fn other_keys(&self) -> Result<Vec<(String, PublicKey)>, Error> {
        let mut out = Vec::new();
        let mut add = |role: String, k: &Option<KeyPaths>| -> Result<(), Error> {
            if let Some(k) = k {
                out.push((role, PublicKey::load(&self.resolve(&k.public))?));
            }
            Ok(())
        };
        add("the AEO registry".into(), &self.registry.key)?;
        add("the declarant".into(), &self.declarant.key)?;
        for c in &self.countries {
            add(format!("the customs node of {}", c.code), &c.node.key)?;
            for o in &c.officers {
                add(format!("officer {} of {}", o.name, c.code), &o.key)?;
            }
        }
        Ok(out)
    }

    /// The demonstration operators' public keys (operators are registered in the AEO
    /// registry with them).
    pub fn operator_keys(&self) -> Result<Vec<(OperatorId, PublicKey)>, Error> {
        let mut out = Vec::new();
        for (i, o) in self.operators.iter().enumerate() {
            if let Some(k) = &o.key {
                let id = OperatorId::parse(&format!("operators[{i}].id"), &o.id)
                    .map_err(|e| invalid(e.field, e.reason))?;
                out.push((id, PublicKey::load(&self.resolve(&k.public))?));
            }
        }
        Ok(out)
    }

    /// The country `code` of the corridor, with its position on the route.
    pub fn country(&self, code: &CountryCode) -> Result<(usize, &Country), Error> {
        self.countries
            .iter()
            .enumerate()
            .find(|(_, c)| c.code == code.as_str())
            .ok_or_else(|| {
                invalid(
                    "countries",
                    format!("{code} is not a country of the corridor"),
                )
            })
    }

    /// The listen address of country `code`'s customs node.
    pub fn node_addr(&self, code: &CountryCode) -> Result<SocketAddr, Error> {
        let (i, c) = self.country(code)?;
        parse_listen(&format!("countries[{i}].node.listen"), &c.node.listen)
    }

    /// Each customs node's public key, by country.
    pub fn node_keys(&self) -> Result<BTreeMap<CountryCode, PublicKey>, Error> {
        let mut out = BTreeMap::new();
        for code in self.country_codes() {
            let (_, c) = self.country(&code)?;
            let paths = c
                .node
                .key
                .as_ref()
                .ok_or_else(|| Error::MissingKey(format!("the customs node of {code}")))?;
            out.insert(code, PublicKey::load(&self.resolve(&paths.public))?);
        }
        Ok(out)
    }

    /// The customs node of `code`'s private key, from the topology (development).
    pub fn node_signing_key(&self, code: &CountryCode) -> Result<SigningKey, Error> {
        let (_, c) = self.country(code)?;
        let p = c
            .node
            .key
            .as_ref()
            .and_then(|k| k.private.as_ref())
            .ok_or_else(|| Error::MissingKey(format!("the customs node of {code} (private)")))?;
        Ok(SigningKey::load(&self.resolve(p))?)
    }

    /// The public keys of country `code`'s officers, with their names.
    pub fn officer_keys(&self, code: &CountryCode) -> Result<Vec<(String, PublicKey)>, Error> {
        let (_, c) = self.country(code)?;
        let mut out = Vec::new();
        for o in &c.officers {
            if let Some(k) = &o.key {
                out.push((o.name.clone(), PublicKey::load(&self.resolve(&k.public))?));
            }
        }
        Ok(out)
    }

    /// The registry's private key, from the topology (development).
    pub fn registry_signing_key(&self) -> Result<SigningKey, Error> {
        let p = self
            .registry
            .key
            .as_ref()
            .and_then(|k| k.private.as_ref())
            .ok_or_else(|| Error::MissingKey("the AEO registry (private)".into()))?;
        Ok(SigningKey::load(&self.resolve(p))?)
    }

    /// Every key slot of the topology, with the file stem `keys init` gives it (relative to
    /// the keys directory): what `corridor keys init` fills.
    pub fn key_slots(&mut self) -> Vec<(String, &mut Option<KeyPaths>)> {
        let mut out: Vec<(String, &mut Option<KeyPaths>)> = vec![
            ("registry".into(), &mut self.registry.key),
            ("declarant".into(), &mut self.declarant.key),
        ];
        for c in &mut self.countries {
            let code = c.code.clone();
            out.push((format!("{code}/authority"), &mut c.authority_key));
            out.push((format!("{code}/node"), &mut c.node.key));
            for o in &mut c.officers {
                out.push((format!("{code}/officer-{}", o.name), &mut o.key));
            }
        }
        for o in &mut self.operators {
            out.push((format!("operators/{}", o.id), &mut o.key));
        }
        out
    }
}

fn parse_listen(field: &str, s: &str) -> Result<SocketAddr, Error> {
    s.parse().map_err(|_| {
        invalid(
            field,
            format!("expected host:port (e.g. 127.0.0.1:7401), got {s:?}"),
        )
    })
}

fn check_listen(field: &str, s: &str) -> Result<(), Error> {
    parse_listen(field, s).map(|_| ())
}

fn check_mode(field: &str, m: &str) -> Result<(), Error> {
    if MODES.contains(&m) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("expected one of rail, road, ferry, air; got {m:?}"),
        ))
    }
}
