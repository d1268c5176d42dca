//! The corridor's topology: which countries in which order, their border posts, the legs
//! between them, where each service listens, each role's key files, and the corridor clock.
//!
//! The route is data: no code names a country. `deploy/corridor.toml` is the Middle Corridor
//! (CN, KZ, AZ, TR, with the Baku-Tbilisi-Kars railway marked as transit through Georgia);
//! `deploy/corridor-ge.toml` is the same route with Georgia as a fifth country.
//! `corridor keys init` fills in the key paths ([`Topology::key_slots`]) and writes the result.
//!
//! Relative paths in a topology file are relative to the file's directory.
//!
//! # The file
//!
//! `name`; `[clock]` (`kind = "system"`, or `"scenario"` with `start` in RFC 3339, `speed`
//! and an optional `anchor`); `[clearance]` (`target_hours`, default 72, and
//! `warning_share`, default 0.8); `[document_times]` (`max_ahead_secs`, default 300, and
//! `max_age_secs`, default 2,592,000: how far from a receiver's corridor clock a document
//! entering the corridor may be dated, [`DocumentTimes`]); `[connections]` (the limits every
//! server holds its connections to, each optional: `max_connections`, default 4096,
//! `handshake_timeout_ms`, default 10000, `idle_timeout_secs`, default 300,
//! `keepalive_interval_secs`, default 30, `keepalive_timeout_secs`, default 20,
//! `max_concurrent_streams`, default 1024, and `request_timeout_secs`, default 60; see
//! [`connections`]); `[witnessing]` (`enabled`, `quorum`, `interval_ms`, `timeout_ms`: who
//! cosigns whose checkpoints, [`witnessing`]); `[registry]` and `[declarant]` (`listen`, optional `key`);
//! `[[countries]]` in route order (`code`, `name`, `authority_key`, `witness_key`, `node = {listen, key}`,
//! `border_posts` (`{name, locode, mode, crossings, note?}`, below), `officers`, and an
//! optional `risk` profile: `rates` and `aeo_rates` as `{blue, yellow, red}`,
//! `min_random_rate`, `red_hs_prefixes`, `value_floors`, `guarantee_share`, `seed`);
//! `[[legs]]` (`from`, `to`, `mode`, `from_place`, `to_place`, `hours`, `transit`: countries
//! outside the corridor that a leg crosses); `[[operators]]`. A key is `{public, private?}`;
//! `corridor keys init` creates them under `DIR/keys/` and writes `DIR/topology.toml`.
//!
//! # Border posts
//!
//! Each country lists the customs offices where the corridor's goods meet its customs, each
//! with its `locode` and its `crossings`:
//!
//! ```toml
//! border_posts = [
//!     { name = "Altynkol", locode = "KZKGS", mode = "rail", crossings = ["entry"] },
//!     { name = "Aktau port", locode = "KZAAU", mode = "ferry", crossings = ["exit"] },
//! ]
//! ```
//!
//! `locode` is required: the post's UN/LOCODE (parsed as [`corridor_core::UnLocode`]), whose
//! first two letters are the country's code; no two posts of the corridor share one. It is
//! what a declaration's route steps (`entry_border_post`, `exit_border_post`) and an
//! officer's border events (`border_post`) name the post by. `crossings` lists the ways goods
//! cross the frontier there, `"entry"` and/or `"exit"`; an empty list (the default) is an
//! inland customs office, where goods are presented for export or import clearance but cross
//! no frontier (Xi'an's, where the Middle Corridor's trains are cleared and loaded). A
//! customs node takes a declared route whose entry posts are entry posts of their countries
//! and whose exit posts are exit posts; an arrival at the route's first country at any of its
//! posts, at any other country at an entry post; an exit at an exit post. A wrong post is
//! refused naming the field, e.g. `countries[1].border_posts[0].locode: ...`.
//! [`Topology::posts`] gives a country's posts with their codes parsed ([`Post`]).
//!
//! # TLS
//!
//! Without a `[tls]` section the services speak plaintext gRPC. With one, every service
//! serves TLS and requires a client certificate signed by the corridor CA (mutual TLS), and
//! every call between services presents the caller's own certificate:
//!
//! ```toml
//! [tls]
//! ca = "keys/tls/ca.crt"                                       # the CA every service trusts
//! client = { cert = "keys/tls/client.crt", key = "keys/tls/client.key" }   # the CLI's
//!
//! [registry]
//! listen = "127.0.0.1:7401"
//! tls = { cert = "keys/tls/registry.crt", key = "keys/tls/registry.key" }
//!
//! [declarant]
//! listen = "127.0.0.1:7402"
//! tls = { cert = "keys/tls/declarant.crt", key = "keys/tls/declarant.key" }
//!
//! [[countries]]
//! code = "CN"
//! node = { listen = "127.0.0.1:7411", tls = { cert = "keys/tls/CN/node.crt", key = "keys/tls/CN/node.key" } }
//! ```
//!
//! A service's `tls` is its certificate chain and private key (PEM; the key file readable by
//! its owner only), used both as its server certificate and as its client certificate when
//! it calls another service. With a `[tls]` section every service must have one; without it
//! none may. `client` is the identity of the `corridor` command's client verbs (`aeo`,
//! `declare`, `status`, `arrive`, `queue`, `trace`, `ledger export --addr`, `up`'s health
//! checks, `demo`): a certificate of its own, not a service's, so that operating the corridor
//! needs no service's private key (without it the command cannot reach a TLS corridor).
//! [`ServiceRole`] names who is calling; [`Topology::tls_material`] loads its files.
//! `corridor keys init --tls` ([`init_keys_with`]) makes a development CA and every
//! certificate.

pub mod clock;
pub mod connections;
mod init;
pub mod risk;
pub mod witnessing;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corridor_core::{CountryCode, OperatorId, PublicKey, SigningKey, UnLocode};
use serde::{Deserialize, Serialize};

pub use clock::{Clock, ClockConfig, DocumentTimes};
pub use connections::Connections;
pub use init::{InitOptions, init_keys, init_keys_with};
pub use risk::{ClearanceTarget, LaneRates, RiskProfile, ValueFloor};
pub use witnessing::{WitnessOf, WitnessedLog, Witnessing, ledger_origin};

/// The Middle Corridor (China -> Kazakhstan -> Azerbaijan -> Turkey) as `deploy/corridor.toml`
/// describes it, built into the binary so that `corridor up`, `demo` and `bench` run from
/// any directory (`corridor topology show` prints it for editing).
pub const MIDDLE_CORRIDOR: &str = include_str!("../../../deploy/corridor.toml");

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
    #[error(
        "topology: no key configured for {0} (run `corridor keys init`, or pass its file: `--key`, `--witness-key` for a witness)"
    )]
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

/// Paths of one TLS identity: a certificate (chain) and its private key, PEM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPaths {
    /// The certificate, then any intermediate certificates (PEM).
    pub cert: PathBuf,
    /// The certificate's private key (PKCS#8 PEM, mode 0600).
    pub key: PathBuf,
}

/// The `[tls]` section: with it, every service serves TLS and requires client certificates
/// signed by `ca`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The CA certificate (PEM) every service trusts, for servers and clients alike.
    pub ca: PathBuf,
    /// The identity the `corridor` command's client verbs present (see [`ServiceRole::Client`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<TlsPaths>,
}

/// Who is speaking on a connection: the TLS identity a server or a client uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceRole {
    /// The AEO registry.
    Registry,
    /// The declarant.
    Declarant,
    /// The customs node of a country.
    Node(CountryCode),
    /// The `corridor` command acting as a client (`[tls].client`).
    Client,
}

impl std::fmt::Display for ServiceRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Registry => f.write_str("the AEO registry"),
            Self::Declarant => f.write_str("the declarant"),
            Self::Node(c) => write!(f, "the customs node of {c}"),
            Self::Client => f.write_str("the corridor client"),
        }
    }
}

/// The TLS files of one role, read: what a server or client configures TLS with.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The corridor CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// The role's certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// The role's private key (PEM).
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &self.ca_pem.len())
            .field("cert_pem", &self.cert_pem.len())
            .finish_non_exhaustive()
    }
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
    /// The service's TLS certificate and key (required when the topology has `[tls]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsPaths>,
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
    /// The service's TLS certificate and key (required when the topology has `[tls]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsPaths>,
}

/// A customs office of a country on the route: a border post where goods cross the
/// frontier, or an inland office where they are presented for export or import clearance
/// without crossing one (see [the crate docs](crate#border-posts)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorderPost {
    /// Name of the post (e.g. "Khorgos").
    pub name: String,
    /// The post's UN/LOCODE (e.g. `CNKHG`), what declarations and border events name it by:
    /// its first two letters are its country's code, and no other post of the corridor has
    /// it. Required (the default, empty, is refused naming the field).
    #[serde(default)]
    pub locode: String,
    /// What crosses there: `rail`, `road`, `ferry` or `air`.
    pub mode: String,
    /// Which ways goods cross the frontier here: `entry`, `exit`, or both; none for an inland
    /// office.
    #[serde(default)]
    pub crossings: Vec<String>,
    /// Free text: the post's role on the route.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A way goods cross a country's frontier at a border post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Crossing {
    /// Into the country.
    Entry,
    /// Out of the country.
    Exit,
}

impl Crossing {
    /// Both, in the order a consignment meets them.
    pub const ALL: [Self; 2] = [Self::Entry, Self::Exit];

    /// The name the topology file uses: `entry` or `exit`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::Exit => "exit",
        }
    }

    fn parse(field: &str, s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| invalid(field, format!("expected entry or exit, got {s:?}")))
    }
}

impl std::fmt::Display for Crossing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A border post of a checked topology, as code uses it: its UN/LOCODE parsed and its
/// crossings read ([`Topology::posts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The post's UN/LOCODE.
    pub locode: UnLocode,
    /// Its name.
    pub name: String,
    /// Which ways goods cross the frontier here, as the topology lists them; empty for an
    /// inland office.
    pub crossings: Vec<Crossing>,
}

impl Post {
    /// Whether goods cross the frontier `way` here.
    pub fn crosses(&self, way: Crossing) -> bool {
        self.crossings.contains(&way)
    }

    /// The crossings as a table shows them: `entry`, `exit`, `entry, exit`, or `inland`.
    pub fn crossings_text(&self) -> String {
        if self.crossings.is_empty() {
            return "inland".into();
        }
        let names: Vec<&str> = self.crossings.iter().map(|c| c.name()).collect();
        names.join(", ")
    }
}

impl std::fmt::Display for Post {
    /// `KZKGS (Altynkol)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.locode, self.name)
    }
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
    /// The key of the country's witness: it cosigns the other services' checkpoints (see
    /// [`witnessing`]); apart from the node's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_key: Option<KeyPaths>,
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
    /// How far from a receiver's clock a document may be dated (5 minutes ahead, 30 days
    /// behind, by default).
    #[serde(default)]
    pub document_times: DocumentTimes,
    /// TLS between the services; plaintext without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// How many connections each server holds open and for how long (defaults without it).
    #[serde(default, skip_serializing_if = "Connections::is_default")]
    pub connections: Connections,
    /// Who cosigns whose checkpoints, and how many cosignatures make one witnessed.
    #[serde(default, skip_serializing_if = "Witnessing::is_default")]
    pub witnessing: Witnessing,
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

    /// [`MIDDLE_CORRIDOR`], parsed and checked (it names no file).
    pub fn middle_corridor() -> Result<Self, Error> {
        Self::parse(MIDDLE_CORRIDOR, Path::new("."))
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
        self.document_times.check()?;
        self.connections.check()?;
        self.witnessing.check(self.countries.len())?;
        check_listen("registry.listen", &self.registry.listen)?;
        check_listen("declarant.listen", &self.declarant.listen)?;
        self.check_tls()?;
        if self.countries.len() < 2 {
            return Err(invalid(
                "countries",
                "a corridor has at least two countries",
            ));
        }
        let mut codes = BTreeSet::new();
        // Every post's UN/LOCODE, with the field that lists it.
        let mut posts = BTreeMap::new();
        let mut listens = BTreeSet::from([&self.registry.listen, &self.declarant.listen]);
        for (i, c) in self.countries.iter().enumerate() {
            let field = format!("countries[{i}]");
            let code = CountryCode::parse(&format!("{field}.code"), &c.code)
                .map_err(|e| invalid(e.field, e.reason))?;
            if !codes.insert(code.clone()) {
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
                let field = format!("{field}.border_posts[{j}]");
                check_post(&field, &code, p, &mut posts)?;
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

    /// A `[tls]` section needs every service's certificate; without one, none may have any.
    fn check_tls(&self) -> Result<(), Error> {
        let mut services = vec![
            ("registry.tls".to_string(), &self.registry.tls),
            ("declarant.tls".to_string(), &self.declarant.tls),
        ];
        for (i, c) in self.countries.iter().enumerate() {
            services.push((format!("countries[{i}].node.tls"), &c.node.tls));
        }
        let empty = |p: &Path| p.as_os_str().is_empty();
        let Some(tls) = &self.tls else {
            return match services.iter().find(|(_, p)| p.is_some()) {
                Some((field, _)) => Err(invalid(
                    field.clone(),
                    "a service certificate needs a [tls] section naming the CA (`ca`)",
                )),
                None => Ok(()),
            };
        };
        if empty(&tls.ca) {
            return Err(invalid("tls.ca", "required: the CA certificate (PEM)"));
        }
        if tls.client.is_some() {
            services.push(("tls.client".into(), &tls.client));
        }
        for (field, paths) in services {
            let Some(paths) = paths else {
                return Err(invalid(
                    field,
                    "required: with a [tls] section every service has \
                     `tls = { cert = ..., key = ... }` (run `corridor keys init --tls`)",
                ));
            };
            if empty(&paths.cert) || empty(&paths.key) {
                return Err(invalid(field, "cert and key are both required"));
            }
        }
        Ok(())
    }

    /// Is TLS on (the topology has a `[tls]` section)?
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS identity paths of `role`, as written (relative to the file), with the field
    /// naming them; `None` without a `[tls]` section.
    pub fn tls_paths(&self, role: &ServiceRole) -> Result<Option<(String, &TlsPaths)>, Error> {
        let Some(tls) = &self.tls else {
            return Ok(None);
        };
        let (field, paths) = match role {
            ServiceRole::Registry => ("registry.tls".to_string(), self.registry.tls.as_ref()),
            ServiceRole::Declarant => ("declarant.tls".to_string(), self.declarant.tls.as_ref()),
            ServiceRole::Node(cc) => {
                let (i, c) = self.country(cc)?;
                (format!("countries[{i}].node.tls"), c.node.tls.as_ref())
            }
            ServiceRole::Client => ("tls.client".to_string(), tls.client.as_ref()),
        };
        let paths = paths.ok_or_else(|| {
            invalid(
                field.clone(),
                format!(
                    "required: {role} has no TLS certificate and the corridor runs TLS                      (run `corridor keys init --tls`)"
                ),
            )
        })?;
        Ok(Some((field, paths)))
    }

    /// The TLS files `role` serves and calls with (the CA, its certificate and its key),
    /// read; `None` without a `[tls]` section (plaintext). A private key file its group or
    /// others may read is refused, as for signing keys.
    pub fn tls_material(&self, role: &ServiceRole) -> Result<Option<TlsMaterial>, Error> {
        let (Some(tls), Some((_, paths))) = (&self.tls, self.tls_paths(role)?) else {
            return Ok(None);
        };
        let read = |p: &Path| {
            let path = self.resolve(p);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        };
        let key = self.resolve(&paths.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&key).map_err(|source| Error::Io {
                path: key.clone(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(Error::Key(corridor_core::Error::KeyPermissions {
                    path: key,
                    mode,
                }));
            }
        }
        Ok(Some(TlsMaterial {
            ca_pem: read(&tls.ca)?,
            cert_pem: read(&paths.cert)?,
            key_pem: read(&key)?,
        }))
    }

    /// Every TLS identity slot of the topology (services, then the client), with the file
    /// stem `keys init --tls` gives it under `keys/tls/` and the host names and addresses
    /// its certificate is for: what `corridor keys init --tls` fills. Adds a `[tls]` section
    /// if there is none (its `ca` empty: the caller sets it).
    pub fn tls_slots(&mut self) -> Vec<(String, Vec<String>, &mut Option<TlsPaths>)> {
        let host = |listen: &str| -> Vec<String> {
            let mut out = vec!["127.0.0.1".to_string(), "localhost".to_string()];
            if let Ok(a) = listen.parse::<SocketAddr>() {
                let ip = a.ip().to_string();
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
            out
        };
        let client = &mut self
            .tls
            .get_or_insert_with(|| TlsConfig {
                ca: PathBuf::new(),
                client: None,
            })
            .client;
        let mut out: Vec<(String, Vec<String>, &mut Option<TlsPaths>)> = vec![
            (
                "registry".into(),
                host(&self.registry.listen),
                &mut self.registry.tls,
            ),
            (
                "declarant".into(),
                host(&self.declarant.listen),
                &mut self.declarant.tls,
            ),
        ];
        for c in &mut self.countries {
            out.push((
                format!("{}/node", c.code),
                host(&c.node.listen),
                &mut c.node.tls,
            ));
        }
        out.push(("client".into(), host("127.0.0.1:0"), client));
        out
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

    /// The declarant's listen address.
    pub fn declarant_addr(&self) -> Result<SocketAddr, Error> {
        parse_listen("declarant.listen", &self.declarant.listen)
    }

    /// The declarant service's public key, loaded from its file: what its statements (a
    /// bill's chain head, its ledger's checkpoints) are checked with.
    pub fn declarant_key(&self) -> Result<PublicKey, Error> {
        let paths = self
            .declarant
            .key
            .as_ref()
            .ok_or_else(|| Error::MissingKey("the declarant (declarant.key)".into()))?;
        Ok(PublicKey::load(&self.resolve(&paths.public))?)
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
            add(format!("the witness of {}", c.code), &c.witness_key)?;
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

    /// The border posts of country `code`, in the topology's order, with their UN/LOCODEs
    /// parsed (checked when the topology was read).
    pub fn posts(&self, code: &CountryCode) -> Result<Vec<Post>, Error> {
        let (i, c) = self.country(code)?;
        let mut out = Vec::with_capacity(c.border_posts.len());
        for (j, p) in c.border_posts.iter().enumerate() {
            let field = format!("countries[{i}].border_posts[{j}]");
            let locode = UnLocode::parse(&format!("{field}.locode"), &p.locode)
                .map_err(|e| invalid(e.field, e.reason))?;
            let crossings = p
                .crossings
                .iter()
                .enumerate()
                .map(|(k, c)| Crossing::parse(&format!("{field}.crossings[{k}]"), c))
                .collect::<Result<_, _>>()?;
            out.push(Post {
                locode,
                name: p.name.clone(),
                crossings,
            });
        }
        Ok(out)
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

    /// The signing key of service `role`: `given` (a deployment passes `--key`), or the
    /// private key the topology names (development). Where the topology lists the role's
    /// public key, the key must be that one: auditors and peers check the service's
    /// signatures and checkpoints with the listed key.
    pub fn service_key(
        &self,
        role: &ServiceRole,
        given: Option<SigningKey>,
    ) -> Result<SigningKey, Error> {
        let (field, slot) = match role {
            ServiceRole::Registry => ("registry.key".to_string(), &self.registry.key),
            ServiceRole::Declarant => ("declarant.key".to_string(), &self.declarant.key),
            ServiceRole::Node(code) => {
                let (i, c) = self.country(code)?;
                (format!("countries[{i}].node.key"), &c.node.key)
            }
            ServiceRole::Client => {
                return Err(Error::MissingKey(format!("{role}: it signs nothing")));
            }
        };
        self.signing_key_in(&field, &role.to_string(), slot, given)
    }

    /// The signing key of `who`, whose slot `field` of the topology is `slot`: `given`, or
    /// the private key the slot names; where the slot lists a public key, it must be the
    /// key's.
    pub(crate) fn signing_key_in(
        &self,
        field: &str,
        who: &str,
        slot: &Option<KeyPaths>,
        given: Option<SigningKey>,
    ) -> Result<SigningKey, Error> {
        let key = match given {
            Some(k) => k,
            None => {
                let p = slot
                    .as_ref()
                    .and_then(|k| k.private.as_ref())
                    .ok_or_else(|| Error::MissingKey(format!("{who} ({field}.private)")))?;
                SigningKey::load(&self.resolve(p))?
            }
        };
        if let Some(paths) = slot {
            let listed = PublicKey::load(&self.resolve(&paths.public))?;
            if listed != key.public() {
                return Err(invalid(
                    format!("{field}.public"),
                    format!(
                        "the key {} of {who} is not the key the topology lists ({})",
                        key.id(),
                        listed.id()
                    ),
                ));
            }
        }
        Ok(key)
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
            out.push((format!("{code}/witness"), &mut c.witness_key));
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

/// Checks border post `p` of country `country` at `field`, and that no post before it (in
/// `seen`, with their fields) has its UN/LOCODE.
fn check_post(
    field: &str,
    country: &CountryCode,
    p: &BorderPost,
    seen: &mut BTreeMap<UnLocode, String>,
) -> Result<(), Error> {
    if p.name.trim().is_empty() {
        return Err(invalid(format!("{field}.name"), "required"));
    }
    let f = format!("{field}.locode");
    if p.locode.is_empty() {
        return Err(invalid(
            f,
            "required: the post's UN/LOCODE (e.g. KZKGS), what declarations and border events name it by",
        ));
    }
    let locode = UnLocode::parse(&f, &p.locode).map_err(|e| invalid(e.field, e.reason))?;
    if locode.country() != *country {
        return Err(invalid(
            f,
            format!("{locode} is not a UN/LOCODE of {country}: it must start with {country}"),
        ));
    }
    if let Some(other) = seen.get(&locode) {
        return Err(invalid(
            f,
            format!("{locode} is already the UN/LOCODE of {other}"),
        ));
    }
    seen.insert(locode, field.to_string());
    check_mode(&format!("{field}.mode"), &p.mode)?;
    let mut ways = BTreeSet::new();
    for (k, c) in p.crossings.iter().enumerate() {
        let f = format!("{field}.crossings[{k}]");
        if !ways.insert(Crossing::parse(&f, c)?) {
            return Err(invalid(f, "listed twice"));
        }
    }
    Ok(())
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
