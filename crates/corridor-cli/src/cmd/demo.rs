//! `corridor demo`: the corridor brought up as `up` does, on an accelerated scenario clock,
//! with consignments of AEO and other traders sent through the declarant, transport legs
//! taking their corridor time from the topology, and simulated officers at every border. At
//! the end every ledger is verified, every consignment traced, and a clearance report
//! printed (and written as JSON with `--report`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Args;
use corridor_core::{CountryCode, Digest, Envelope, PublicKey, SigningKey, payload_type as pt};
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::{self, ConsignmentState as S, Lane};
use corridor_topology::{ClockConfig, Topology};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::Outcome;
use crate::cmd::trace::{Corpus, Source, remote_ledger_in};
use crate::cmd::up::{Corridor, prepare};
use corridor_proto::examples::{Parties, plain_consignment};

/// `corridor demo`.
#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How many consignments to send.
    #[arg(long, default_value_t = 40)]
    consignments: u32,
    /// Seed of the scenario: the same seed gives the same traders, goods, lanes and
    /// officers' decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Corridor seconds per real second (the default runs the 200-hour route in about a
    /// minute).
    #[arg(long, default_value_t = 15_000.0)]
    speed: f64,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Keep everything in DIR (default: a temporary directory, removed at the end).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The corridor to run.
    #[arg(long, value_name = "FILE", default_value = "deploy/corridor.toml")]
    topology: PathBuf,
}

const HOUR: i64 = 3_600_000_000;

/// The demonstration traders: (operator id, AEO certificate id if certified, origin).
pub(crate) const TRADERS: [(&str, Option<&str>, &str); 4] = [
    ("CN91610131XA01", Some("AEOCN0000000001"), "CNXIY"),
    ("CN91650100UR04", Some("AEOCN0000000002"), "CNURC"),
    ("CN91650100UR03", None, "CNURC"),
    ("CN91610131XA05", None, "CNXIY"),
];
pub(crate) const CARRIER: &str = "KZ180540012345";
pub(crate) const CONSIGNEE: &str = "TR3456789012";

/// Restricted goods the demo sends now and then: (HS code, description).
const RESTRICTED: [(&str, &str); 2] = [
    (
        "2931900000",
        "Organo-phosphorus compounds (listed precursors)",
    ),
    ("9306210000", "Shotgun cartridges"),
];

/// What the scenario decides for one consignment, from the seed.
#[derive(Clone, Debug)]
struct Plan {
    n: u32,
    trader: usize,
    restricted: Option<usize>,
    broken_seal_at: Option<usize>,
    start_hours: f64,
    /// Hours an officer takes: (document check, inspection).
    yellow_hours: f64,
    red_hours: f64,
    refuse_restricted: bool,
}

impl Plan {
    fn new(seed: u64, n: u32) -> Self {
        let d = Digest::of_parts(&[b"corridor/demo/v1", &seed.to_be_bytes(), &n.to_be_bytes()]);
        let b = d.as_bytes();
        Self {
            n,
            trader: usize::from(b[0]) % TRADERS.len(),
            restricted: b[1]
                .is_multiple_of(12)
                .then_some(usize::from(b[2]) % RESTRICTED.len()),
            broken_seal_at: b[3].is_multiple_of(25).then_some(usize::from(b[4]) % 4),
            start_hours: f64::from(n) * 0.5,
            yellow_hours: 2.0 + f64::from(b[5] % 9),
            red_hours: 12.0 + f64::from(b[6] % 25),
            refuse_restricted: b[7].is_multiple_of(2),
        }
    }
}

/// What became of one consignment.
#[derive(Clone, Debug, Default)]
struct Result1 {
    id: String,
    error: Option<String>,
}

/// The corridor's clock as the demo drives it.
#[derive(Clone, Copy)]
struct Pace {
    speed: f64,
}

impl Pace {
    async fn hours(&self, h: f64) {
        if h > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(h * 3600.0 / self.speed)).await;
        }
    }
}

/// Everything the drivers share.
struct World {
    t: Topology,
    clock: corridor_topology::Clock,
    pace: Pace,
    declarant: DeclarantClient<Channel>,
    nodes: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
    officers: BTreeMap<CountryCode, SigningKey>,
    route: Vec<CountryCode>,
}

pub(crate) fn key_of(
    t: &Topology,
    slot: &Option<corridor_topology::KeyPaths>,
) -> anyhow::Result<SigningKey> {
    let p = slot
        .as_ref()
        .and_then(|k| k.private.as_ref())
        .context("a development key is missing from the topology")?;
    Ok(SigningKey::load(&t.resolve(p))?)
}

/// A plaintext channel to `addr`, for a corridor without TLS; [`channel_to`] follows the
/// topology.
pub(crate) async fn channel(addr: &str) -> anyhow::Result<Channel> {
    corridor_net::Transport::plaintext()
        .endpoint(addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))
}

/// A channel to the service of `t` at `addr`, as the `corridor` client: plaintext, or TLS
/// with the topology's `[tls].client` certificate.
pub(crate) async fn channel_to(t: &Topology, addr: &str) -> anyhow::Result<Channel> {
    corridor_net::endpoint(t, &corridor_topology::ServiceRole::Client, addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))
}

impl World {
    /// Hours of the legs from `a` to `b` in the topology (`a == b`: inside the country).
    fn leg_hours(&self, a: &CountryCode, b: &CountryCode) -> f64 {
        self.t
            .legs
            .iter()
            .filter(|l| l.from == a.as_str() && l.to == b.as_str())
            .map(|l| l.hours)
            .sum()
    }

    fn signed(
        &self,
        cc: &CountryCode,
        payload_type: &str,
        m: &impl Message,
    ) -> anyhow::Result<v1::SignedRequest> {
        let key = self.officers.get(cc).context("officer key")?;
        Ok(v1::SignedRequest {
            envelope: Some(v1::Envelope::from(&Envelope::sign(
                payload_type,
                m.encode_to_vec(),
                key,
            ))),
        })
    }

    fn node(&self, cc: &CountryCode) -> anyhow::Result<CustomsNodeClient<Channel>> {
        self.nodes.get(cc).cloned().context("node client")
    }

    /// Waits until the node of `cc` has handed consignment `id` over to the next one.
    async fn handed_over(&self, cc: &CountryCode, id: &str) -> anyhow::Result<()> {
        let mut s = self
            .node(cc)?
            .watch_consignment(v1::WatchConsignmentRequest {
                consignment_id: id.into(),
                from_sequence: 0,
                follow: true,
            })
            .await?
            .into_inner();
        while let Some(e) = s.next().await {
            if e?.state() == S::HandedOver {
                return Ok(());
            }
        }
        bail!("{cc} ended the consignment's stream before handing it over")
    }

    /// One consignment from submission to its end, officers and transport simulated.
    async fn drive(&self, plan: &Plan) -> anyhow::Result<String> {
        self.pace.hours(plan.start_hours).await;
        let (trader, _, origin) = TRADERS[plan.trader];
        let now = self.clock.now_micros();
        let plain = plain_consignment(
            &format!("KTZE-DEMO-{:06}", plan.n),
            &format!("DEMO-{:06}", plan.n),
            now + HOUR,
            &Parties {
                shipper: trader,
                declarant: trader,
                carrier: CARRIER,
                consignee: CONSIGNEE,
            },
        );
        let (mut request, seals) = (plain.request, plain.seals);
        if let Some(b) = request.bill_of_lading.as_mut() {
            b.place_of_loading = origin.into();
            if !b.place_of_receipt.is_empty() {
                b.place_of_receipt = origin.into();
            }
            if let Some(l) = b.transport_legs.first_mut() {
                l.from_location = origin.into();
            }
            if let (Some(r), Some(i)) = (plan.restricted, b.consignment_items.first_mut()) {
                i.hs_code = RESTRICTED[r].0.into();
                i.description_of_goods = RESTRICTED[r].1.into();
            }
        }
        if let (Some(r), Some(i)) = (
            plan.restricted,
            request
                .declaration
                .as_mut()
                .and_then(|d| d.items.first_mut()),
        ) {
            i.hs_code = RESTRICTED[r].0.into();
            i.description_of_goods = RESTRICTED[r].1.into();
        }
        let r = self
            .declarant
            .clone()
            .submit_consignment(request)
            .await
            .map_err(|s| anyhow::anyhow!("submission refused: {}", s.message()))?
            .into_inner();
        let id = r.consignment_id;
        let idb = Digest::parse_hex("id", &id)?.as_bytes().to_vec();
        // The goods are presented at the place of loading an hour after the declaration.
        self.pace.hours(1.0).await;
        let last = self.route.len() - 1;
        for (i, cc) in self.route.iter().enumerate() {
            if i > 0 {
                self.pace
                    .hours(self.leg_hours(&self.route[i - 1], cc))
                    .await;
            }
            let mut checked = seals.clone();
            if let Some(s) = checked
                .first_mut()
                .filter(|_| plan.broken_seal_at == Some(i))
            {
                s.intact = false;
            }
            let arrival = v1::BorderEvent {
                consignment_id: idb.clone(),
                country: cc.to_string(),
                kind: v1::BorderEventKind::Arrival as i32,
                border_post: String::new(),
                seals: checked,
                at_unix_micros: self.clock.now_micros(),
            };
            let mut node = self.node(cc)?;
            let r = node
                .record_border_event(self.signed(cc, pt::BORDER_EVENT, &arrival)?)
                .await
                .map_err(|s| anyhow::anyhow!("arrival at {cc}: {}", s.message()))?
                .into_inner();
            if r.state() == S::AwaitingOfficer {
                let red = r.lane() == Lane::Red;
                self.pace
                    .hours(if red {
                        plan.red_hours
                    } else {
                        plan.yellow_hours
                    })
                    .await;
                let refuse = red && plan.restricted.is_some() && plan.refuse_restricted;
                let d = v1::OfficerDecision {
                    consignment_id: idb.clone(),
                    country: cc.to_string(),
                    outcome: if refuse {
                        v1::Outcome::Refuse
                    } else {
                        v1::Outcome::Release
                    } as i32,
                    findings: if refuse {
                        "restricted goods without an export licence".into()
                    } else if red {
                        "inspection: goods as declared".into()
                    } else {
                        "documents in order".into()
                    },
                    at_unix_micros: self.clock.now_micros(),
                };
                let r = node
                    .record_decision(self.signed(cc, pt::OFFICER_DECISION, &d)?)
                    .await
                    .map_err(|s| anyhow::anyhow!("decision at {cc}: {}", s.message()))?
                    .into_inner();
                if r.state() == S::Refused {
                    return Ok(id);
                }
            }
            if i == last {
                return Ok(id);
            }
            self.pace.hours(self.leg_hours(cc, cc)).await;
            let exit = v1::BorderEvent {
                consignment_id: idb.clone(),
                country: cc.to_string(),
                kind: v1::BorderEventKind::Exit as i32,
                border_post: String::new(),
                seals: Vec::new(),
                at_unix_micros: self.clock.now_micros(),
            };
            node.record_border_event(self.signed(cc, pt::BORDER_EVENT, &exit)?)
                .await
                .map_err(|s| anyhow::anyhow!("exit from {cc}: {}", s.message()))?;
            self.handed_over(cc, &id).await?;
        }
        Ok(id)
    }
}

/// Registers the operators, certifies the AEO traders in CN, and records an arrangement
/// between every two countries, signed by both; waits until every service has a complete
/// copy of the registry.
/// Registers every operator of the topology that the registry does not know yet, with its
/// development key, signed by its country's customs authority: what `up` does so that the
/// demonstration operators can declare at once, and what the demo does first.
pub(crate) async fn register_operators(
    t: &Topology,
    clock: &corridor_topology::Clock,
) -> anyhow::Result<usize> {
    let mut registry = AeoRegistryClient::new(channel_to(t, &t.registry.listen).await?);
    let now = clock.now_micros();
    let mut n = 0;
    for o in &t.operators {
        let known = registry
            .get_operator(v1::GetOperatorRequest {
                operator_id: o.id.clone(),
            })
            .await;
        match known {
            Ok(_) => continue,
            Err(s) if s.code() == tonic::Code::NotFound => {}
            Err(s) => bail!("registry: {}", s.message()),
        }
        let public = PublicKey::load(&t.resolve(&o.key.as_ref().context("operator key")?.public))?;
        let doc = v1::OperatorRegistration {
            operator_id: o.id.clone(),
            legal_name: o.name.clone(),
            address: o.address.clone(),
            country: o.id[..2].into(),
            public_keys: vec![public.as_bytes().to_vec()],
            issued_at_unix_micros: now,
        };
        let (_, c) = t.country(&CountryCode::parse("operator", &o.id[..2])?)?;
        let env = Envelope::sign(
            pt::OPERATOR_REGISTRATION,
            doc.encode_to_vec(),
            &key_of(t, &c.authority_key)?,
        );
        registry
            .register_operator(v1::SubmitRequest {
                envelope: Some(v1::Envelope::from(&env)),
            })
            .await
            .map_err(|s| anyhow::anyhow!("register {}: {}", o.id, s.message()))?;
        n += 1;
    }
    Ok(n)
}

/// Waits until every node and the declarant have a complete copy of the registry; returns
/// the registry's size.
pub(crate) async fn sync(t: &Topology) -> anyhow::Result<u64> {
    let size = LedgerReaderClient::new(channel_to(t, &t.registry.listen).await?)
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await?
        .into_inner()
        .size;
    for cc in t.country_codes() {
        let s = CustomsNodeClient::new(channel_to(t, &t.node_addr(&cc)?.to_string()).await?)
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: size,
            })
            .await?
            .into_inner();
        if s.registry_entries < size {
            bail!(
                "the node of {cc} has {} of the registry's {size} entries",
                s.registry_entries
            );
        }
    }
    let s = DeclarantClient::new(channel_to(t, &t.declarant.listen).await?)
        .get_platform_status(v1::PlatformStatusRequest {
            min_registry_entries: size,
        })
        .await?
        .into_inner();
    if s.registry_entries < size {
        bail!(
            "the declarant has {} of the registry's {size} entries",
            s.registry_entries
        );
    }
    Ok(size)
}

pub(crate) async fn setup_registry(
    t: &Topology,
    clock: &corridor_topology::Clock,
) -> anyhow::Result<u64> {
    let mut registry = AeoRegistryClient::new(channel_to(t, &t.registry.listen).await?);
    let authority = |cc: &str| -> anyhow::Result<SigningKey> {
        let (_, c) = t.country(&CountryCode::parse("country", cc)?)?;
        key_of(t, &c.authority_key)
    };
    let now = clock.now_micros();
    let submit = |env: Envelope| v1::SubmitRequest {
        envelope: Some(v1::Envelope::from(&env)),
    };
    register_operators(t, clock).await?;
    for (id, aeo, _) in TRADERS {
        let Some(aeo) = aeo else { continue };
        let doc = v1::AeoCertificate {
            aeo_id: aeo.into(),
            operator_id: id.into(),
            tier: v1::AeoTier::Full as i32,
            valid_from_unix_micros: now - 24 * HOUR,
            valid_to_unix_micros: now + 2 * 365 * 24 * HOUR,
            issued_at_unix_micros: now,
        };
        let env = Envelope::sign(
            pt::AEO_CERTIFICATE,
            doc.encode_to_vec(),
            &authority(&aeo[3..5])?,
        );
        registry
            .issue_certificate(submit(env))
            .await
            .map_err(|s| anyhow::anyhow!("certificate {aeo}: {}", s.message()))?;
    }
    let codes: Vec<String> = t.country_codes().iter().map(|c| c.to_string()).collect();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let doc = v1::MutualRecognitionArrangement {
                arrangement_id: format!("MRA-{a}-{b}"),
                countries: vec![a.clone(), b.clone()],
                tiers: vec![
                    v1::AeoTier::Full as i32,
                    v1::AeoTier::CustomsSimplifications as i32,
                ],
                benefits: Some(v1::ArrangementBenefits {
                    document_check_rate_percent: 50,
                    inspection_rate_percent: 50,
                    priority_treatment: true,
                }),
                effective_from_unix_micros: now - 24 * HOUR,
                effective_to_unix_micros: 0,
                issued_at_unix_micros: now,
            };
            let mut env =
                Envelope::sign(pt::MUTUAL_RECOGNITION, doc.encode_to_vec(), &authority(a)?);
            env.add_signature(&authority(b)?);
            registry
                .propose_arrangement(submit(env))
                .await
                .map_err(|s| anyhow::anyhow!("arrangement {a}-{b}: {}", s.message()))?;
        }
    }
    sync(t).await
}

/// Per-country counts for the progress display.
async fn counts(world: &World) -> Vec<(String, [usize; 4])> {
    let mut out = Vec::new();
    for cc in &world.route {
        let Ok(mut n) = world.node(cc) else { continue };
        let list = n
            .list_consignments(v1::ListConsignmentsRequest {
                filter: v1::QueueFilter::All as i32,
            })
            .await
            .map(|r| r.into_inner().consignments)
            .unwrap_or_default();
        let mut c = [0usize; 4];
        for v in list {
            match v.state() {
                S::AwaitingOfficer | S::Held => c[1] += 1,
                S::HandedOver | S::Completed => c[2] += 1,
                S::Refused | S::Cancelled => c[3] += 1,
                _ => c[0] += 1,
            }
        }
        out.push((cc.to_string(), c));
    }
    out
}

fn lane_name(l: i32) -> &'static str {
    corridor_customs::risk::lane_name(Lane::try_from(l).unwrap_or(Lane::Unspecified))
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn p95(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() as f64 * 0.95).ceil() as usize).clamp(1, s.len()) - 1]
}

pub(crate) fn run(a: DemoArgs) -> anyhow::Result<Outcome> {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        bail!("--speed must be more than zero");
    }
    if a.consignments == 0 {
        bail!("--consignments must be at least 1");
    }
    let tmp;
    let root = match &a.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let start = corridor_topology::clock::format_micros(now);
    let speed = a.speed;
    let t = prepare(&a.topology, &root, true, |t| {
        t.clock = ClockConfig::Scenario {
            start: start.clone(),
            speed,
            anchor: Some(start.clone()),
        };
    })?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let mut corridor = Corridor::start(t, &root).await?;
            corridor.print_table();
            let r = tokio::select! {
                r = scenario(&corridor, &a) => r,
                _ = crate::cmd::up::signal() => Err(anyhow::anyhow!("interrupted")),
            };
            corridor.stop().await;
            r
        })
}

async fn scenario(corridor: &Corridor, a: &DemoArgs) -> anyhow::Result<Outcome> {
    let t = corridor.topology.clone();
    let clock = t.clock.clock()?;
    let began = std::time::Instant::now();
    setup_registry(&t, &clock).await?;
    let route = t.country_codes();
    let mut nodes = BTreeMap::new();
    let mut officers = BTreeMap::new();
    for cc in &route {
        nodes.insert(
            cc.clone(),
            CustomsNodeClient::new(channel_to(&t, &t.node_addr(cc)?.to_string()).await?),
        );
        let (_, c) = t.country(cc)?;
        let o = c.officers.first().context("a country without officers")?;
        officers.insert(cc.clone(), key_of(&t, &o.key)?);
    }
    let world = Arc::new(World {
        declarant: DeclarantClient::new(channel_to(&t, &t.declarant.listen).await?),
        clock,
        pace: Pace { speed: a.speed },
        nodes,
        officers,
        route: route.clone(),
        t: t.clone(),
    });
    println!(
        "demo: {} consignments, seed {}, corridor clock x{} from {}",
        a.consignments,
        a.seed,
        a.speed,
        corridor_topology::clock::format_micros(world.clock.now_micros())
    );
    let results: Arc<Mutex<Vec<(Plan, Result1)>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..a.consignments {
        let plan = Plan::new(a.seed, n);
        let world = world.clone();
        let results = results.clone();
        tasks.spawn(async move {
            let r = match world.drive(&plan).await {
                Ok(id) => Result1 { id, error: None },
                Err(e) => Result1 {
                    id: String::new(),
                    error: Some(format!("{e:#}")),
                },
            };
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((plan, r));
        });
    }
    // Progress while the consignments move.
    let tty = std::io::stdout().is_terminal();
    let mut drawn = 0;
    let mut last_line = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let done = tokio::select! {
            r = tasks.join_next() => r.is_none(),
            _ = tokio::time::sleep(Duration::from_millis(if tty { 500 } else { 1000 })) => false,
        };
        let finished = a.consignments as usize - tasks.len();
        if tty {
            let c = counts(&world).await;
            if drawn > 0 {
                print!("\x1b[{drawn}A");
            }
            println!(
                "\x1b[2K{} corridor time; {finished}/{} consignments done",
                corridor_topology::clock::format_micros(world.clock.now_micros()),
                a.consignments
            );
            println!(
                "\x1b[2K{:<8}{:>8}{:>10}{:>9}{:>9}",
                "country", "queue", "officer", "cleared", "refused"
            );
            for (cc, n) in &c {
                println!(
                    "\x1b[2K{cc:<8}{:>8}{:>10}{:>9}{:>9}",
                    n[0], n[1], n[2], n[3]
                );
            }
            drawn = 2 + c.len();
        } else if done || last_line.elapsed() >= Duration::from_secs(5) {
            last_line = std::time::Instant::now();
            let c = counts(&world).await;
            let per: Vec<String> = c
                .iter()
                .map(|(cc, n)| format!("{cc} queue {} officer {} cleared {}", n[0], n[1], n[2]))
                .collect();
            println!(
                "[{:>5.1}s] {} | {finished}/{} done | {}",
                began.elapsed().as_secs_f64(),
                corridor_topology::clock::format_micros(world.clock.now_micros()),
                a.consignments,
                per.join(" | ")
            );
        }
        if done || tasks.is_empty() {
            break;
        }
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    results.sort_by_key(|(p, _)| p.n);

    // Every ledger verified, every consignment traced.
    println!("verifying every ledger and tracing every consignment...");
    let corpus = Corpus::load(t.clone(), Source::Remote, None).await?;
    let mut ledgers = vec![serde_json::json!({
        "service": "registry",
        "verified": corpus.registry.is_ok(),
    })];
    let declarant_key =
        PublicKey::load(&t.resolve(&t.declarant.key.as_ref().context("declarant key")?.public))?;
    let (declarant_verified, _) =
        remote_ledger_in(&t, &t.declarant.listen, &declarant_key, Some("")).await?;
    ledgers.push(serde_json::json!({
        "service": "declarant",
        "verified": declarant_verified.is_ok(),
    }));
    for (cc, v) in corpus.node_ledgers() {
        ledgers.push(serde_json::json!({
            "service": format!("customs {cc}"),
            "country": cc.to_string(),
            "verified": v.is_ok(),
        }));
    }

    // The report.
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let (mut aeo_hours, mut other_hours) = (Vec::new(), Vec::new());
    let mut lanes: BTreeMap<String, BTreeMap<&'static str, u32>> = BTreeMap::new();
    let (mut completed, mut within) = (0u32, 0u32);
    let target = t.clearance.target_micros();
    println!();
    println!(
        "{:<18} {:<16} {:<4} {:<10} {:>7}  {}",
        "CONSIGNMENT",
        "TRADER",
        "AEO",
        "STATUS",
        "HOURS",
        route
            .iter()
            .map(|c| format!("{:<7}", c.as_str()))
            .collect::<String>()
    );
    for (plan, r) in &results {
        if let Some(e) = &r.error {
            problems.push(format!("consignment {}: {e}", plan.n));
            continue;
        }
        let id = Digest::parse_hex("id", &r.id)?;
        let traced = corpus.trace(&id);
        problems.extend(
            traced
                .problems
                .iter()
                .map(|p| format!("trace {}: {p}", &r.id[..12])),
        );
        let mut views = Vec::new();
        for cc in &route {
            match world
                .node(cc)?
                .get_consignment(v1::ConsignmentRequest {
                    consignment_id: r.id.clone(),
                })
                .await
            {
                Ok(v) => views.push(v.into_inner()),
                Err(_) => break,
            }
        }
        let Some(last) = views.last() else { continue };
        let status = match last.state() {
            S::Completed => "completed",
            S::Refused => "refused",
            S::Cancelled => "cancelled",
            _ => "held",
        };
        let aeo = views.first().is_some_and(|v| v.aeo_recognised);
        let hours = last.clearance_micros as f64 / HOUR as f64;
        if status == "completed" {
            completed += 1;
            if last.clearance_micros <= target {
                within += 1;
            }
            if aeo {
                aeo_hours.push(hours)
            } else {
                other_hours.push(hours)
            }
        }
        let countries: Vec<serde_json::Value> = views
            .iter()
            .map(|v| {
                *lanes
                    .entry(v.country.clone())
                    .or_default()
                    .entry(lane_name(v.lane))
                    .or_default() += 1;
                serde_json::json!({"country": v.country, "lane": lane_name(v.lane)})
            })
            .collect();
        println!(
            "{:<18} {:<16} {:<4} {:<10} {:>7.1}  {}",
            &r.id[..16],
            TRADERS[plan.trader].0,
            if aeo { "yes" } else { "no" },
            status,
            hours,
            views
                .iter()
                .map(|v| format!("{:<7}", lane_name(v.lane)))
                .collect::<String>()
        );
        rows.push(serde_json::json!({
            "id": r.id,
            "reference": last.declaration_reference,
            "trader": TRADERS[plan.trader].0,
            "aeo": aeo,
            "status": status,
            "clearance_hours": (hours * 100.0).round() / 100.0,
            "within_target": status == "completed" && last.clearance_micros <= target,
            "restricted_goods": plan.restricted.is_some(),
            "countries": countries,
            "trace_verified": traced.problems.is_empty(),
        }));
    }
    let share = if completed == 0 {
        0.0
    } else {
        f64::from(within) / f64::from(completed)
    };
    let (ma, mo) = (mean(&aeo_hours), mean(&other_hours));
    let reduction = if mo > 0.0 { 1.0 - ma / mo } else { 0.0 };
    println!();
    println!(
        "{} consignments: {completed} completed, {} refused or held; within {} h: {within}/{completed} ({:.1} %)",
        rows.len(),
        rows.len() as u32 - completed,
        t.clearance.target_hours,
        share * 100.0
    );
    println!("clearance hours (completed)   n    mean    p95");
    println!(
        "  AEO traders              {:>4} {:>7.1} {:>6.1}",
        aeo_hours.len(),
        ma,
        p95(&aeo_hours)
    );
    println!(
        "  other traders            {:>4} {:>7.1} {:>6.1}",
        other_hours.len(),
        mo,
        p95(&other_hours)
    );
    println!(
        "AEO recognition cuts mean clearance time by {:.1} %",
        reduction * 100.0
    );
    for (cc, l) in &lanes {
        let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("lanes at {cc}: {}", parts.join(", "));
    }
    let ledger_line: Vec<String> = ledgers
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["service"].as_str().unwrap_or("?"),
                if l["verified"].as_bool() == Some(true) {
                    "verified"
                } else {
                    "BROKEN"
                }
            )
        })
        .collect();
    println!("ledgers: {}", ledger_line.join(", "));
    let traced_ok = rows.iter().filter(|r| r["trace_verified"] == true).count();
    println!(
        "traces: {traced_ok}/{} verified across every ledger",
        rows.len()
    );
    println!("finished in {:.1} s", began.elapsed().as_secs_f64());

    let report = serde_json::json!({
        "seed": a.seed,
        "speed": a.speed,
        "consignments": rows,
        "summary": {
            "consignments": rows.len(),
            "completed": completed,
            "within_target": within,
            "within_target_share": share,
            "target_hours": t.clearance.target_hours,
            "aeo": {"completed": aeo_hours.len(), "mean_hours": ma, "p95_hours": p95(&aeo_hours)},
            "non_aeo": {"completed": other_hours.len(), "mean_hours": mo, "p95_hours": p95(&other_hours)},
            "aeo_reduction": reduction,
            "lanes": lanes,
        },
        "ledgers": ledgers,
    });
    if let Some(path) = &a.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    let ledgers_ok = report["ledgers"]
        .as_array()
        .is_some_and(|l| l.iter().all(|x| x["verified"] == true));
    if !problems.is_empty() || !ledgers_ok {
        for p in &problems {
            eprintln!("problem: {p}");
        }
        return Ok(Outcome::Damaged);
    }
    Ok(Outcome::Ok)
}
