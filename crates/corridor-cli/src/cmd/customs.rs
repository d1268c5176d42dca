//! The customs nodes' client verbs: `arrive`, `exit`, `decide` (an officer's signed steps),
//! `queue` and `consignment` (what a node holds). Each finds the node of `--country`
//! through `--topology FILE`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use corridor_core::{CountryCode, Digest, Envelope, SigningKey, payload_type as pt};
use corridor_proto::customs::{lane_name, state_name};
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_topology::Topology;
use corridor_topology::clock::format_micros;
use prost::Message;
use tonic::transport::Channel;

use crate::Outcome;
use crate::cmd::runtime;

/// Where the corridor's services are: the default is where `corridor up` writes it.
pub(crate) const DEFAULT_TOPOLOGY: &str = "corridor-data/topology.toml";

/// The topology option every client verb takes.
#[derive(Args, Clone)]
pub(crate) struct TopologyArg {
    /// The corridor's topology (service addresses, keys, clock).
    #[arg(long, value_name = "FILE", env = "CORRIDOR_TOPOLOGY", default_value = DEFAULT_TOPOLOGY)]
    pub(crate) topology: PathBuf,
}

impl TopologyArg {
    pub(crate) fn load(&self) -> anyhow::Result<Topology> {
        Topology::load(&self.topology).with_context(|| {
            if self.topology == Path::new(DEFAULT_TOPOLOGY) {
                "no corridor found (start one with `corridor up`, or pass --topology FILE)"
                    .to_string()
            } else {
                format!("cannot load the topology {}", self.topology.display())
            }
        })
    }

    /// The topology of a verb that may read stopped services' files under `data`: there
    /// the default is `DATA/topology.toml`, the one the corridor ran with.
    pub(crate) fn load_beside(&self, data: Option<&Path>) -> anyhow::Result<Topology> {
        match data {
            Some(root) if self.topology == Path::new(DEFAULT_TOPOLOGY) => Self {
                topology: corridor_audit::layout::topology_file(root),
            }
            .load(),
            _ => self.load(),
        }
    }
}

/// An officer's signed step at one country's node.
#[derive(Args)]
pub(crate) struct OfficerArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    /// The country of the node (ISO 3166-1 alpha-2).
    #[arg(long, value_name = "CC")]
    pub(crate) country: String,
    /// The officer's private key.
    #[arg(long, value_name = "PATH")]
    pub(crate) key: PathBuf,
    /// The consignment id (64 hex digits).
    #[arg(value_name = "ID")]
    pub(crate) id: String,
}

/// `corridor arrive`.
#[derive(Args)]
pub(crate) struct ArriveArgs {
    #[command(flatten)]
    pub(crate) officer: OfficerArgs,
    /// Seals found broken, as CONTAINER/SEAL (repeat for several); every other seal on
    /// record is reported intact.
    #[arg(long, value_name = "CONTAINER/SEAL")]
    pub(crate) broken: Vec<String>,
    /// The UN/LOCODE of the border post where the goods arrived (e.g. KZKGS): at the first
    /// country of the route any of its posts, elsewhere an entry post (the topology's
    /// `border_posts`; `corridor topology show` prints the built-in one).
    #[arg(long, value_name = "LOCODE")]
    pub(crate) post: String,
}

/// `corridor exit`.
#[derive(Args)]
pub(crate) struct ExitArgs {
    #[command(flatten)]
    pub(crate) officer: OfficerArgs,
    /// The UN/LOCODE of the border post where the goods left (e.g. KZAAU): an exit post of
    /// the country (the topology's `border_posts`; `corridor topology show` prints the
    /// built-in one).
    #[arg(long, value_name = "LOCODE")]
    pub(crate) post: String,
}

/// An officer's decision.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Decision {
    /// The goods may go on.
    Release,
    /// The goods stay until a further decision.
    Hold,
    /// The goods may not go on.
    Refuse,
}

/// `corridor decide`.
#[derive(Args)]
pub(crate) struct DecideArgs {
    #[command(flatten)]
    pub(crate) officer: OfficerArgs,
    /// The decision.
    #[arg(value_enum)]
    pub(crate) decision: Decision,
    /// What the check or inspection found (required to hold or refuse).
    #[arg(long, default_value = "")]
    pub(crate) findings: String,
}

/// `corridor queue`.
#[derive(Args)]
pub(crate) struct QueueArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArg,
    /// The country of the node.
    #[arg(long, value_name = "CC")]
    pub(crate) country: String,
    /// Which consignments: awaiting an officer (default), flagged (clearance time past the
    /// warning share), open (still at the node) or all.
    #[arg(long, value_enum, default_value = "officer")]
    pub(crate) show: Show,
}

/// Which consignments `queue` lists.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Show {
    /// Awaiting an officer's decision, or held.
    Officer,
    /// Clearance time flagged or breached.
    Flagged,
    /// Still at the node.
    Open,
    /// Every consignment the node knows.
    All,
}

pub(crate) fn country(s: &str) -> anyhow::Result<CountryCode> {
    Ok(CountryCode::parse("--country", s)?)
}

pub(crate) fn consignment_id(s: &str) -> anyhow::Result<Digest> {
    Digest::parse_hex("consignment id", s).map_err(|e| {
        anyhow::anyhow!("{e} (a consignment id is the 64 hex digits `corridor declare` printed)")
    })
}

pub(crate) async fn node_client(
    t: &Topology,
    cc: &CountryCode,
) -> anyhow::Result<CustomsNodeClient<Channel>> {
    let addr = t.node_addr(cc)?;
    let channel = corridor_net::endpoint(
        t,
        &corridor_topology::ServiceRole::Client,
        &addr.to_string(),
    )?
    .connect()
    .await
    .with_context(|| format!("cannot reach the customs node of {cc} at {addr}"))?;
    Ok(CustomsNodeClient::new(channel))
}

fn load_key(p: &Path) -> anyhow::Result<SigningKey> {
    SigningKey::load(p).with_context(|| format!("cannot load the officer key {}", p.display()))
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", s.code().description(), s.message())
}

fn print_receipt(r: &v1::StepReceipt) {
    println!(
        "{}: {} ({} lane); entry {} {}{}",
        r.consignment_id,
        state_name(r.state),
        lane_name(r.lane),
        r.seq,
        hex::encode(&r.entry_hash),
        if r.new { "" } else { " (already recorded)" }
    );
}

fn signed(payload_type: &str, doc: &impl Message, key: &SigningKey) -> v1::SignedRequest {
    v1::SignedRequest {
        envelope: Some(v1::Envelope::from(&Envelope::sign(
            payload_type,
            doc.encode_to_vec(),
            key,
        ))),
    }
}

/// An officer acting at one country's node: what every officer verb starts from.
struct Officer {
    t: Topology,
    cc: CountryCode,
    id: Digest,
    key: SigningKey,
}

impl OfficerArgs {
    fn open(&self) -> anyhow::Result<Officer> {
        Ok(Officer {
            t: self.topology.load()?,
            cc: country(&self.country)?,
            id: consignment_id(&self.id)?,
            key: load_key(&self.key)?,
        })
    }
}

impl Officer {
    /// A border event of this officer's country, now on the corridor clock.
    fn border_event(
        &self,
        kind: v1::BorderEventKind,
        post: &str,
        seals: Vec<v1::SealCheck>,
    ) -> anyhow::Result<v1::BorderEvent> {
        Ok(v1::BorderEvent {
            consignment_id: self.id.as_bytes().to_vec(),
            country: self.cc.to_string(),
            kind: kind as i32,
            border_post: post.to_string(),
            seals,
            at_unix_micros: self.t.clock.clock()?.now_micros(),
        })
    }

    /// Signs `e` and records it at the node; prints the receipt.
    async fn record_border_event(
        &self,
        c: &mut CustomsNodeClient<Channel>,
        e: &v1::BorderEvent,
    ) -> anyhow::Result<Outcome> {
        let r = c
            .record_border_event(signed(pt::BORDER_EVENT, e, &self.key))
            .await
            .map_err(status)?
            .into_inner();
        print_receipt(&r);
        Ok(Outcome::Ok)
    }
}

/// `corridor arrive`: records arrival at the border, with the seals checked.
pub(crate) fn arrive(a: ArriveArgs) -> anyhow::Result<Outcome> {
    let o = a.officer.open()?;
    let mut broken = Vec::new();
    for b in &a.broken {
        let Some((container, seal)) = b.split_once('/') else {
            bail!("--broken {b:?}: expected CONTAINER/SEAL");
        };
        broken.push((container.to_string(), seal.to_string()));
    }
    runtime()?.block_on(async {
        let mut c = node_client(&o.t, &o.cc).await?;
        let view = c
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: o.id.to_hex(),
            })
            .await
            .map_err(status)?
            .into_inner();
        let mut seals: Vec<v1::SealCheck> = view.seals;
        for (container, seal) in &broken {
            match seals
                .iter_mut()
                .find(|s| &s.container_number == container && &s.seal_number == seal)
            {
                Some(s) => s.intact = false,
                None => seals.push(v1::SealCheck {
                    container_number: container.clone(),
                    seal_number: seal.clone(),
                    intact: false,
                }),
            }
        }
        let e = o.border_event(v1::BorderEventKind::Arrival, &a.post, seals)?;
        o.record_border_event(&mut c, &e).await
    })
}

/// `corridor exit`: records exit from the country; the node hands the consignment on.
pub(crate) fn exit(a: ExitArgs) -> anyhow::Result<Outcome> {
    let o = a.officer.open()?;
    runtime()?.block_on(async {
        let e = o.border_event(v1::BorderEventKind::Exit, &a.post, Vec::new())?;
        let mut c = node_client(&o.t, &o.cc).await?;
        o.record_border_event(&mut c, &e).await
    })
}

/// `corridor decide`: an officer's release, hold or refusal.
pub(crate) fn decide(a: DecideArgs) -> anyhow::Result<Outcome> {
    let o = a.officer.open()?;
    let outcome = match a.decision {
        Decision::Release => v1::Outcome::Release,
        Decision::Hold => v1::Outcome::Hold,
        Decision::Refuse => v1::Outcome::Refuse,
    };
    runtime()?.block_on(async {
        let d = v1::OfficerDecision {
            consignment_id: o.id.as_bytes().to_vec(),
            country: o.cc.to_string(),
            outcome: outcome as i32,
            findings: a.findings.clone(),
            at_unix_micros: o.t.clock.clock()?.now_micros(),
        };
        let r = node_client(&o.t, &o.cc)
            .await?
            .record_decision(signed(pt::OFFICER_DECISION, &d, &o.key))
            .await
            .map_err(status)?
            .into_inner();
        print_receipt(&r);
        Ok(Outcome::Ok)
    })
}

/// `corridor queue`: the consignments of one node, AEO priority first.
pub(crate) fn queue(a: QueueArgs) -> anyhow::Result<Outcome> {
    let t = a.topology.load()?;
    let cc = country(&a.country)?;
    let filter = match a.show {
        Show::Officer => v1::QueueFilter::AwaitingOfficer,
        Show::Flagged => v1::QueueFilter::Flagged,
        Show::Open => v1::QueueFilter::Unspecified,
        Show::All => v1::QueueFilter::All,
    };
    runtime()?.block_on(async {
        let list = node_client(&t, &cc)
            .await?
            .list_consignments(v1::ListConsignmentsRequest {
                filter: filter as i32,
            })
            .await
            .map_err(status)?
            .into_inner()
            .consignments;
        if list.is_empty() {
            println!("{cc}: none");
        }
        for v in list {
            println!(
                "{}  {:<20} {:<7} {:>7.1} h  {}{}  {}",
                v.consignment_id,
                state_name(v.state),
                lane_name(v.lane),
                v.clearance_micros as f64 / 3.6e9,
                if v.aeo_recognised { "AEO " } else { "" },
                match v1::ClearanceStatus::try_from(v.clearance_status) {
                    Ok(v1::ClearanceStatus::Flagged) => "FLAGGED",
                    Ok(v1::ClearanceStatus::Breached) => "BREACHED",
                    _ => "",
                },
                v.declaration_reference,
            );
            if v.arrived_at_unix_micros != 0 {
                println!("    arrived {}", format_micros(v.arrived_at_unix_micros));
            }
            for r in &v.reasons {
                println!("    {r}");
            }
        }
        Ok(Outcome::Ok)
    })
}
