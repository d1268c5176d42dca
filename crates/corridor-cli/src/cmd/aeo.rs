//! `corridor aeo`: the AEO registry's client verbs. Each finds the registry through
//! `--registry ADDR` or `--topology FILE`, and signs with `--key PATH` where it signs.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use corridor_aeo::sign::{request, submit};
use corridor_core::{AeoTier, Envelope, OperatorId, PublicKey, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_topology::Topology;
use corridor_topology::clock::{format_micros, parse_time};
use tonic::transport::Channel;

use crate::Outcome;

/// Where the registry is.
#[derive(Args, Clone)]
pub(crate) struct RegistryAddr {
    /// The registry's address (host:port).
    #[arg(long, value_name = "ADDR", env = "CORRIDOR_REGISTRY", global = true)]
    registry: Option<String>,
    /// A topology file: the registry's address is its `registry.listen`.
    #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY", global = true)]
    topology: Option<PathBuf>,
}

impl RegistryAddr {
    /// The registry's address, and the endpoint to reach it: as the topology's client
    /// (`[tls].client` under TLS) when a topology is given, plaintext otherwise.
    fn endpoint(&self) -> anyhow::Result<(String, tonic::transport::Endpoint)> {
        let t = self.topology.as_deref().map(Topology::load).transpose()?;
        let addr = match (&self.registry, &t) {
            (Some(a), _) => a.clone(),
            (None, Some(t)) => t.registry.listen.clone(),
            (None, None) => bail!("where is the registry? pass --registry ADDR or --topology FILE"),
        };
        let endpoint = match &t {
            Some(t) => corridor_net::endpoint(t, &corridor_topology::ServiceRole::Client, &addr)?,
            None => corridor_net::Transport::plaintext().endpoint(&addr)?,
        };
        Ok((addr, endpoint))
    }
}

#[derive(Args)]
pub(crate) struct AeoArgs {
    #[command(flatten)]
    at: RegistryAddr,
    #[command(subcommand)]
    command: AeoCommand,
}

#[derive(Subcommand)]
enum AeoCommand {
    /// Economic operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// AEO certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Mutual recognition arrangements.
    #[command(subcommand)]
    Mra(MraCommand),
    /// Is an operator recognised as an AEO in a country (now, or at --at), and why.
    Check {
        /// The operator's id.
        #[arg(long, value_name = "ID")]
        operator: String,
        /// The asking country (ISO 3166-1 alpha-2).
        #[arg(long, value_name = "CC")]
        country: String,
        /// The time asked about: RFC 3339 UTC or unix microseconds; default now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Register an operator, signed by its country's customs authority (--key).
    Register {
        /// The operator's id (its country code then up to 15 capital letters or digits).
        #[arg(long, value_name = "ID")]
        id: String,
        /// Registered legal name.
        #[arg(long)]
        name: String,
        /// Registered address.
        #[arg(long)]
        address: String,
        /// The operator's public key files (repeat for several).
        #[arg(long = "operator-key", value_name = "PATH.pub", required = true)]
        operator_keys: Vec<PathBuf>,
        /// The customs authority's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// Show an operator and its keys.
    Show {
        /// The operator's id.
        #[arg(long, value_name = "ID")]
        id: String,
    },
}

#[derive(Subcommand)]
enum CertCommand {
    /// Issue a certificate, signed by the issuing customs authority (--key).
    Issue {
        /// Certificate id: AEO + country + 10 digits (AEOCN0123456789).
        #[arg(long, value_name = "AEO_ID")]
        aeo_id: String,
        /// The certified operator.
        #[arg(long, value_name = "ID")]
        operator: String,
        /// security-safety, customs-simplifications or full.
        #[arg(long)]
        tier: AeoTier,
        /// Start of validity (RFC 3339 UTC or unix microseconds); default now.
        #[arg(long, value_name = "TIME")]
        valid_from: Option<String>,
        /// End of validity (RFC 3339 UTC or unix microseconds).
        #[arg(long, value_name = "TIME")]
        valid_to: String,
        /// The customs authority's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// Suspend a certificate.
    Suspend(StatusArgs),
    /// Lift a suspension.
    Reinstate(StatusArgs),
    /// Revoke a certificate for good.
    Revoke(StatusArgs),
    /// List certificates of an operator or of an issuing country.
    List {
        /// Certificates of this operator.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "country",
            required_unless_present = "country"
        )]
        operator: Option<String>,
        /// Certificates issued by this country.
        #[arg(long, value_name = "CC")]
        country: Option<String>,
    },
}

#[derive(Args)]
struct StatusArgs {
    /// The certificate.
    #[arg(long, value_name = "AEO_ID")]
    aeo_id: String,
    /// Why (required to suspend or revoke).
    #[arg(long, default_value = "")]
    reason: String,
    /// When it takes effect (RFC 3339 UTC or unix microseconds); default when recorded.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// The issuing customs authority's private key.
    #[arg(long, value_name = "PATH")]
    key: PathBuf,
}

#[derive(Subcommand)]
enum MraCommand {
    /// Propose an arrangement, signed by one party's authority (--key).
    Propose {
        /// Arrangement id (capital letters, digits, '-').
        #[arg(long, value_name = "ID")]
        id: String,
        /// The two countries, e.g. CN,KZ.
        #[arg(long, value_delimiter = ',', required = true)]
        countries: Vec<String>,
        /// Tiers in scope, e.g. full,security-safety.
        #[arg(long, value_delimiter = ',', required = true)]
        tiers: Vec<AeoTier>,
        /// Document-check rate for recognised operators, percent of the normal rate.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
        document_check_rate: u32,
        /// Inspection rate for recognised operators, percent of the normal rate.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
        inspection_rate: u32,
        /// Recognised operators' consignments go first.
        #[arg(long)]
        priority: bool,
        /// Start (RFC 3339 UTC or unix microseconds); default now.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End (RFC 3339 UTC or unix microseconds); default open-ended.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// The proposing authority's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// Countersign a pending arrangement (read from the registry) with the other party's key.
    Countersign {
        /// Arrangement id.
        #[arg(long, value_name = "ID")]
        id: String,
        /// The countersigning authority's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// Terminate an arrangement in force.
    Terminate {
        /// Arrangement id.
        #[arg(long, value_name = "ID")]
        id: String,
        /// The terminating party.
        #[arg(long, value_name = "CC")]
        country: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// When it takes effect (RFC 3339 UTC or unix microseconds); default when recorded.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The terminating authority's private key.
        #[arg(long, value_name = "PATH")]
        key: PathBuf,
    },
    /// List arrangements.
    List {
        /// Only those of this country.
        #[arg(long, value_name = "CC")]
        country: Option<String>,
    },
}

fn now() -> i64 {
    corridor_topology::Clock::System.now_micros()
}

/// The time given to `--flag`, or `default`.
fn time(flag: &str, s: Option<&str>, default: i64) -> anyhow::Result<i64> {
    let Some(s) = s else { return Ok(default) };
    parse_time(flag, s).map_err(|e| match e {
        corridor_topology::Error::Invalid { field, reason } => {
            anyhow::anyhow!("--{field}: {reason}")
        }
        e => e.into(),
    })
}

fn load_key(p: &std::path::Path) -> anyhow::Result<SigningKey> {
    SigningKey::load(p).with_context(|| format!("cannot load the signing key {}", p.display()))
}

fn wire_tier(t: AeoTier) -> i32 {
    corridor_aeo::doc::tier_wire(t) as i32
}

fn tier_name(t: i32) -> &'static str {
    corridor_aeo::doc::tier("tier", t).map_or("-", |t| t.as_str())
}

/// A gRPC failure, said plainly (exit 2).
pub(crate) fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code(), e.message())
}

fn print_receipt(what: &str, r: &v1::ChangeReceipt) {
    println!(
        "{what}: entry {} {}{} recorded {} effective {}{}",
        r.seq,
        hex::encode(&r.entry_hash),
        if r.new { "" } else { " (already recorded)" },
        format_micros(r.recorded_at_unix_micros),
        format_micros(r.effective_at_unix_micros),
        if r.in_force { " in force" } else { "" },
    );
}

pub(crate) fn run(args: AeoArgs) -> anyhow::Result<Outcome> {
    let (addr, endpoint) = args.at.endpoint()?;
    crate::cmd::runtime()?.block_on(async move {
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the registry at {addr}"))?;
        let mut c = AeoRegistryClient::new(channel);
        run_command(&mut c, args.command).await
    })
}

async fn run_command(
    c: &mut AeoRegistryClient<Channel>,
    command: AeoCommand,
) -> anyhow::Result<Outcome> {
    match command {
        AeoCommand::Operator(OperatorCommand::Register {
            id,
            name,
            address,
            operator_keys,
            key,
        }) => {
            let key = load_key(&key)?;
            let id = OperatorId::parse("--id", &id)?;
            let public_keys = operator_keys
                .iter()
                .map(|p| PublicKey::load(p))
                .collect::<Result<Vec<_>, _>>()?;
            let doc = corridor_run::bootstrap::operator_registration(
                &id,
                &name,
                &address,
                &public_keys,
                now(),
            );
            let r = c
                .register_operator(request(pt::OPERATOR_REGISTRATION, &doc, &key))
                .await
                .map_err(status)?
                .into_inner();
            print_receipt(&format!("registered {}", doc.operator_id), &r);
        }
        AeoCommand::Operator(OperatorCommand::Show { id }) => {
            let o = c
                .get_operator(v1::GetOperatorRequest { operator_id: id })
                .await
                .map_err(status)?
                .into_inner();
            println!(
                "{} {:?} {:?} {} registered {} (entry {})",
                o.operator_id,
                o.legal_name,
                o.address,
                o.country,
                format_micros(o.registered_at_unix_micros),
                o.seq
            );
            for k in o.keys {
                let state = if k.revoked_at_unix_micros == 0 {
                    "active".to_owned()
                } else {
                    format!("revoked {}", format_micros(k.revoked_at_unix_micros))
                };
                println!("  key {} {state}", k.keyid);
            }
        }
        AeoCommand::Cert(CertCommand::Issue {
            aeo_id,
            operator,
            tier,
            valid_from,
            valid_to,
            key,
        }) => {
            let key = load_key(&key)?;
            let doc = v1::AeoCertificate {
                aeo_id,
                operator_id: operator,
                tier: wire_tier(tier),
                valid_from_unix_micros: time("valid-from", valid_from.as_deref(), now())?,
                valid_to_unix_micros: time("valid-to", Some(&valid_to), 0)?,
                issued_at_unix_micros: now(),
            };
            let r = c
                .issue_certificate(request(pt::AEO_CERTIFICATE, &doc, &key))
                .await
                .map_err(status)?
                .into_inner();
            print_receipt(&format!("issued {}", doc.aeo_id), &r);
        }
        AeoCommand::Cert(CertCommand::Suspend(a)) => {
            status_change(c, a, v1::CertificateAction::Suspend).await?;
        }
        AeoCommand::Cert(CertCommand::Reinstate(a)) => {
            status_change(c, a, v1::CertificateAction::Reinstate).await?;
        }
        AeoCommand::Cert(CertCommand::Revoke(a)) => {
            status_change(c, a, v1::CertificateAction::Revoke).await?;
        }
        AeoCommand::Cert(CertCommand::List { operator, country }) => {
            let l = c
                .list_certificates(v1::ListCertificatesRequest {
                    operator_id: operator.unwrap_or_default(),
                    country: country.unwrap_or_default(),
                })
                .await
                .map_err(status)?
                .into_inner();
            for r in l.certificates {
                let cert = r.certificate.unwrap_or_default();
                let st = v1::CertificateStatus::try_from(r.status).map_or("?", |s| s.as_str_name());
                println!(
                    "{} {} {} {} from {} to {}",
                    cert.aeo_id,
                    cert.operator_id,
                    tier_name(cert.tier),
                    st.trim_start_matches("CERTIFICATE_STATUS_").to_lowercase(),
                    format_micros(r.effective_from_unix_micros),
                    format_micros(cert.valid_to_unix_micros),
                );
            }
        }
        AeoCommand::Mra(MraCommand::Propose {
            id,
            countries,
            tiers,
            document_check_rate,
            inspection_rate,
            priority,
            from,
            to,
            key,
        }) => {
            let key = load_key(&key)?;
            let doc = v1::MutualRecognitionArrangement {
                arrangement_id: id,
                countries,
                tiers: tiers.into_iter().map(wire_tier).collect(),
                benefits: Some(v1::ArrangementBenefits {
                    document_check_rate_percent: document_check_rate,
                    inspection_rate_percent: inspection_rate,
                    priority_treatment: priority,
                }),
                effective_from_unix_micros: time("from", from.as_deref(), now())?,
                effective_to_unix_micros: time("to", to.as_deref(), 0)?,
                issued_at_unix_micros: now(),
            };
            let r = c
                .propose_arrangement(request(pt::MUTUAL_RECOGNITION, &doc, &key))
                .await
                .map_err(status)?
                .into_inner();
            print_receipt(&format!("proposed {}", doc.arrangement_id), &r);
        }
        AeoCommand::Mra(MraCommand::Countersign { id, key }) => {
            let key = load_key(&key)?;
            let l = c
                .list_arrangements(v1::ListArrangementsRequest {
                    country: String::new(),
                })
                .await
                .map_err(status)?
                .into_inner();
            let Some(rec) = l.arrangements.into_iter().find(|a| {
                a.arrangement
                    .as_ref()
                    .is_some_and(|m| m.arrangement_id == id)
            }) else {
                bail!("the registry has no arrangement {id}");
            };
            let mut env: Envelope = rec
                .envelope
                .context("the registry sent the arrangement without its envelope")?
                .try_into()?;
            env.add_signature(&key);
            let r = c
                .countersign_arrangement(submit(&env))
                .await
                .map_err(status)?
                .into_inner();
            print_receipt(&format!("countersigned {id}"), &r);
        }
        AeoCommand::Mra(MraCommand::Terminate {
            id,
            country,
            reason,
            at,
            key,
        }) => {
            let key = load_key(&key)?;
            let doc = v1::ArrangementTermination {
                arrangement_id: id,
                country,
                reason,
                effective_at_unix_micros: time("at", at.as_deref(), 0)?,
                issued_at_unix_micros: now(),
            };
            let r = c
                .terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &doc, &key))
                .await
                .map_err(status)?
                .into_inner();
            print_receipt(&format!("terminated {}", doc.arrangement_id), &r);
        }
        AeoCommand::Mra(MraCommand::List { country }) => {
            let l = c
                .list_arrangements(v1::ListArrangementsRequest {
                    country: country.unwrap_or_default(),
                })
                .await
                .map_err(status)?
                .into_inner();
            for r in l.arrangements {
                let m = r.arrangement.unwrap_or_default();
                let st = v1::ArrangementState::try_from(r.state).map_or("?", |s| s.as_str_name());
                let tiers: Vec<_> = m.tiers.iter().map(|t| tier_name(*t)).collect();
                println!(
                    "{} {} {} tiers {} from {}",
                    m.arrangement_id,
                    m.countries.join("-"),
                    st.trim_start_matches("ARRANGEMENT_STATE_").to_lowercase(),
                    tiers.join(","),
                    format_micros(
                        r.in_force_from_unix_micros
                            .max(m.effective_from_unix_micros)
                    ),
                );
            }
        }
        AeoCommand::Check {
            operator,
            country,
            at,
        } => {
            let a = c
                .check_recognition(v1::CheckRecognitionRequest {
                    operator_id: operator,
                    country,
                    at_unix_micros: time("at", at.as_deref(), 0)?,
                })
                .await
                .map_err(status)?
                .into_inner();
            let reason = v1::RecognitionReason::try_from(a.reason)
                .map_or("?", |r| r.as_str_name())
                .trim_start_matches("RECOGNITION_REASON_")
                .to_lowercase();
            println!(
                "{} {reason}: {} (at {})",
                if a.recognised {
                    "recognised"
                } else {
                    "not recognised"
                },
                a.detail,
                format_micros(a.at_unix_micros)
            );
        }
    }
    Ok(Outcome::Ok)
}

async fn status_change(
    c: &mut AeoRegistryClient<Channel>,
    a: StatusArgs,
    action: v1::CertificateAction,
) -> anyhow::Result<()> {
    let key = load_key(&a.key)?;
    let doc = v1::CertificateStatusChange {
        aeo_id: a.aeo_id,
        action: action as i32,
        reason: a.reason,
        effective_at_unix_micros: time("at", a.at.as_deref(), 0)?,
        issued_at_unix_micros: now(),
    };
    let r = c
        .change_certificate_status(request(pt::CERTIFICATE_STATUS_CHANGE, &doc, &key))
        .await
        .map_err(status)?
        .into_inner();
    let what = action
        .as_str_name()
        .trim_start_matches("CERTIFICATE_ACTION_")
        .to_lowercase();
    print_receipt(&format!("{what} {}", doc.aeo_id), &r);
    Ok(())
}
