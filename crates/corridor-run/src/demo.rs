//! The demonstration scenario: consignments of four traders (two AEO-certified) sent through
//! a running corridor on an accelerated clock, officers and transport simulated from a seed,
//! then every ledger verified and every consignment traced, and a clearance report.
//!
//! The same seed gives the same traders, goods, lanes and officers' decisions, so the same
//! report (but for ids, times and how long it took).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use corridor_audit::{Corpus, Source, connect};
use corridor_core::{
    AeoId, CountryCode, Digest, Envelope, OperatorId, PublicKey, SigningKey, payload_type as pt,
};
use corridor_proto::customs::lane_name;
use corridor_proto::examples::{Parties, plain_consignment};
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::{self, ConsignmentState as S, Lane};
use corridor_topology::Topology;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::bootstrap::{
    DAY, Registrar, authority_key, certificate, dev_key, register_topology_operators, sync,
};
use crate::launch::Corridor;

/// How the demo runs.
#[derive(Clone, Copy, Debug)]
pub struct DemoConfig {
    /// How many consignments to send.
    pub consignments: u32,
    /// Seed of the scenario.
    pub seed: u64,
    /// Corridor seconds per real second.
    pub speed: f64,
}

/// One country's consignments by where they are, for the progress display.
#[derive(Clone, Debug)]
pub struct CountryCounts {
    /// The country.
    pub country: CountryCode,
    /// In the queue or moving.
    pub queue: usize,
    /// Waiting for an officer, or held.
    pub officer: usize,
    /// Cleared: handed over or completed.
    pub cleared: usize,
    /// Refused or cancelled.
    pub refused: usize,
}

/// Where the demo is, as it runs.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The corridor clock now.
    pub corridor_time: i64,
    /// Consignments driven to their end.
    pub finished: usize,
    /// Consignments in all.
    pub total: usize,
    /// Whether every consignment has ended.
    pub done: bool,
    /// Real time since the demo began.
    pub elapsed: Duration,
}

const HOUR: i64 = 3_600_000_000;

/// A demonstration trader.
#[derive(Clone, Copy, Debug)]
pub struct Trader {
    /// Its operator id (one of the topology's operators).
    pub operator: &'static str,
    /// Its AEO certificate, when certified.
    pub aeo: Option<&'static str>,
    /// Where its goods start (UN/LOCODE).
    pub origin: &'static str,
}

const fn trader(operator: &'static str, aeo: Option<&'static str>, origin: &'static str) -> Trader {
    Trader {
        operator,
        aeo,
        origin,
    }
}

/// The demonstration traders: two AEO-certified, two not.
pub const TRADERS: [Trader; 4] = [
    trader("CN91610131XA01", Some("AEOCN0000000001"), "CNXIY"),
    trader("CN91650100UR04", Some("AEOCN0000000002"), "CNURC"),
    trader("CN91650100UR03", None, "CNURC"),
    trader("CN91610131XA05", None, "CNXIY"),
];
/// The demonstration carrier.
pub const CARRIER: &str = "KZ180540012345";
/// The demonstration consignee.
pub const CONSIGNEE: &str = "TR3456789012";

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

/// What became of one consignment: its id, or why driving it failed.
type Driven = Result<String, String>;

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

/// What the consignments' drivers share: the corridor's clients, clock and officers.
struct Drivers {
    t: Topology,
    clock: corridor_topology::Clock,
    pace: Pace,
    declarant: DeclarantClient<Channel>,
    nodes: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
    officers: BTreeMap<CountryCode, SigningKey>,
    route: Vec<CountryCode>,
}

impl Drivers {
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
        let Trader {
            operator: trader,
            origin,
            ..
        } = TRADERS[plan.trader];
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

/// Per-country counts for the progress display.
async fn counts(world: &Drivers) -> Vec<CountryCounts> {
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
        let mut c = CountryCounts {
            country: cc.clone(),
            queue: 0,
            officer: 0,
            cleared: 0,
            refused: 0,
        };
        for v in list {
            match v.state() {
                S::AwaitingOfficer | S::Held => c.officer += 1,
                S::HandedOver | S::Completed => c.cleared += 1,
                S::Refused | S::Cancelled => c.refused += 1,
                _ => c.queue += 1,
            }
        }
        out.push(c);
    }
    out
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

/// Registers the topology's operators, certifies the AEO traders in CN, and records an
/// arrangement between every two countries, signed by both; waits until every service has a
/// complete copy of the registry and returns its size.
pub async fn setup_registry(t: &Topology, now: i64) -> anyhow::Result<u64> {
    let mut registrar = Registrar::connect(t).await?;
    register_topology_operators(t, now).await?;
    for tr in TRADERS {
        let Some(aeo) = tr.aeo else { continue };
        let aeo = AeoId::parse("aeo_id", aeo)?;
        let doc = certificate(
            &aeo,
            &OperatorId::parse("operator_id", tr.operator)?,
            v1::AeoTier::Full,
            (now - DAY, now + 2 * 365 * DAY),
            now,
        );
        registrar
            .issue_certificate(&doc, &authority_key(t, &aeo.country())?)
            .await
            .map_err(|s| anyhow::anyhow!("certificate {aeo}: {}", s.message()))?;
    }
    let codes = t.country_codes();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let doc = v1::MutualRecognitionArrangement {
                arrangement_id: format!("MRA-{a}-{b}"),
                countries: vec![a.to_string(), b.to_string()],
                tiers: vec![
                    v1::AeoTier::Full as i32,
                    v1::AeoTier::CustomsSimplifications as i32,
                ],
                benefits: Some(v1::ArrangementBenefits {
                    document_check_rate_percent: 50,
                    inspection_rate_percent: 50,
                    priority_treatment: true,
                }),
                effective_from_unix_micros: now - DAY,
                effective_to_unix_micros: 0,
                issued_at_unix_micros: now,
            };
            registrar
                .propose_arrangement(&doc, &[&authority_key(t, a)?, &authority_key(t, b)?])
                .await
                .map_err(|s| anyhow::anyhow!("arrangement {a}-{b}: {}", s.message()))?;
        }
    }
    sync(t).await
}

/// What the demo found: the report as JSON (the `--report` file), its text form, and every
/// problem (a consignment that could not be driven, a trace or ledger that did not verify).
#[derive(Clone, Debug)]
pub struct Report {
    /// The report document.
    pub json: serde_json::Value,
    /// The report as a table and a summary, a line each.
    pub lines: Vec<String>,
    /// Every problem found; empty when the demo verified.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether every consignment was driven and every ledger and trace verified.
    pub fn verified(&self) -> bool {
        let ledgers_ok = self.json["ledgers"]
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["verified"] == true));
        self.problems.is_empty() && ledgers_ok
    }
}

/// Runs the scenario on `corridor`, calling `progress` once when the registry is set up
/// (without counts), every `tick` while consignments move, and once when they have all
/// ended; then verifies every ledger, traces every
/// consignment and reports.
pub async fn run(
    corridor: &Corridor,
    cfg: DemoConfig,
    tick: Duration,
    mut progress: impl FnMut(&Progress, &[CountryCounts]),
) -> anyhow::Result<Report> {
    let t = corridor.topology.clone();
    let clock = t.clock.clock()?;
    let began = Instant::now();
    setup_registry(&t, clock.now_micros()).await?;
    let route = t.country_codes();
    let mut nodes = BTreeMap::new();
    let mut officers = BTreeMap::new();
    for cc in &route {
        nodes.insert(
            cc.clone(),
            CustomsNodeClient::new(connect(&t, &t.node_addr(cc)?.to_string()).await?),
        );
        let (_, c) = t.country(cc)?;
        let o = c.officers.first().context("a country without officers")?;
        officers.insert(cc.clone(), dev_key(&t, &o.key)?);
    }
    let drivers = Arc::new(Drivers {
        declarant: DeclarantClient::new(connect(&t, &t.declarant.listen).await?),
        clock,
        pace: Pace { speed: cfg.speed },
        nodes,
        officers,
        route: route.clone(),
        t: t.clone(),
    });
    progress(
        &Progress {
            corridor_time: drivers.clock.now_micros(),
            finished: 0,
            total: cfg.consignments as usize,
            done: false,
            elapsed: began.elapsed(),
        },
        &[],
    );
    let results: Arc<Mutex<Vec<(Plan, Driven)>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..cfg.consignments {
        let plan = Plan::new(cfg.seed, n);
        let drivers = drivers.clone();
        let results = results.clone();
        tasks.spawn(async move {
            let r = drivers.drive(&plan).await.map_err(|e| format!("{e:#}"));
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((plan, r));
        });
    }
    loop {
        let done = tokio::select! {
            r = tasks.join_next() => r.is_none(),
            _ = tokio::time::sleep(tick) => false,
        };
        let p = Progress {
            corridor_time: drivers.clock.now_micros(),
            finished: cfg.consignments as usize - tasks.len(),
            total: cfg.consignments as usize,
            done: done || tasks.is_empty(),
            elapsed: began.elapsed(),
        };
        progress(&p, &counts(&drivers).await);
        if p.done {
            break;
        }
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    results.sort_by_key(|(p, _)| p.n);
    report(&t, &drivers, &results, cfg, began).await
}

/// Verifies every ledger, traces every consignment and writes the report.
async fn report(
    t: &Topology,
    drivers: &Drivers,
    results: &[(Plan, Driven)],
    cfg: DemoConfig,
    began: Instant,
) -> anyhow::Result<Report> {
    let route = &drivers.route;
    let mut lines = Vec::new();
    let corpus = Corpus::load(t.clone(), Source::Remote, None).await?;
    let mut ledgers = vec![serde_json::json!({
        "service": "registry",
        "verified": corpus.registry.is_ok(),
    })];
    let declarant_key =
        PublicKey::load(&t.resolve(&t.declarant.key.as_ref().context("declarant key")?.public))?;
    let declarant =
        corridor_audit::source::remote_ledger(t, &t.declarant.listen, &declarant_key, Some(""))
            .await?;
    ledgers.push(serde_json::json!({
        "service": "declarant",
        "verified": declarant.verified.is_ok(),
    }));
    for (cc, v) in corpus.node_ledgers() {
        ledgers.push(serde_json::json!({
            "service": format!("customs {cc}"),
            "country": cc.to_string(),
            "verified": v.is_ok(),
        }));
    }

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let (mut aeo_hours, mut other_hours) = (Vec::new(), Vec::new());
    let mut lanes: BTreeMap<String, BTreeMap<&'static str, u32>> = BTreeMap::new();
    let (mut completed, mut within) = (0u32, 0u32);
    let target = t.clearance.target_micros();
    lines.push(String::new());
    lines.push(format!(
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
    ));
    for (plan, r) in results {
        let id_hex = match r {
            Ok(id) => id,
            Err(e) => {
                problems.push(format!("consignment {}: {e}", plan.n));
                continue;
            }
        };
        let id = Digest::parse_hex("id", id_hex)?;
        let traced = corpus.trace(&id);
        problems.extend(
            traced
                .problems
                .iter()
                .map(|p| format!("trace {}: {p}", &id_hex[..12])),
        );
        let mut views = Vec::new();
        for cc in route {
            match drivers
                .node(cc)?
                .get_consignment(v1::ConsignmentRequest {
                    consignment_id: id_hex.clone(),
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
        let trader = TRADERS[plan.trader].operator;
        lines.push(format!(
            "{:<18} {:<16} {:<4} {:<10} {:>7.1}  {}",
            &id_hex[..16],
            trader,
            if aeo { "yes" } else { "no" },
            status,
            hours,
            views
                .iter()
                .map(|v| format!("{:<7}", lane_name(v.lane)))
                .collect::<String>()
        ));
        rows.push(serde_json::json!({
            "id": id_hex,
            "reference": last.declaration_reference,
            "trader": trader,
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
    lines.push(String::new());
    lines.push(format!(
        "{} consignments: {completed} completed, {} refused or held; within {} h: {within}/{completed} ({:.1} %)",
        rows.len(),
        rows.len() as u32 - completed,
        t.clearance.target_hours,
        share * 100.0
    ));
    lines.push("clearance hours (completed)   n    mean    p95".into());
    lines.push(format!(
        "  AEO traders              {:>4} {:>7.1} {:>6.1}",
        aeo_hours.len(),
        ma,
        p95(&aeo_hours)
    ));
    lines.push(format!(
        "  other traders            {:>4} {:>7.1} {:>6.1}",
        other_hours.len(),
        mo,
        p95(&other_hours)
    ));
    lines.push(format!(
        "AEO recognition cuts mean clearance time by {:.1} %",
        reduction * 100.0
    ));
    for (cc, l) in &lanes {
        let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k} {v}")).collect();
        lines.push(format!("lanes at {cc}: {}", parts.join(", ")));
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
    lines.push(format!("ledgers: {}", ledger_line.join(", ")));
    let traced_ok = rows.iter().filter(|r| r["trace_verified"] == true).count();
    lines.push(format!(
        "traces: {traced_ok}/{} verified across every ledger",
        rows.len()
    ));
    lines.push(format!(
        "finished in {:.1} s",
        began.elapsed().as_secs_f64()
    ));

    let json = serde_json::json!({
        "seed": cfg.seed,
        "speed": cfg.speed,
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
    Ok(Report {
        json,
        lines,
        problems,
    })
}
