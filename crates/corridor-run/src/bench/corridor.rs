//! `corridor bench corridor`: whole consignments cleared through the registry, the declarant
//! and the four customs nodes run as `up` runs them (separate processes, real ports, durable
//! sled), every lane green (a benchmark risk profile) and every trader an AEO; measured
//! against the ceiling that ed25519 sets on this machine, with the signatures counted by the
//! services themselves.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use corridor_core::{CountryCode, Digest, Envelope, SigningKey, payload_type as pt};
use corridor_proto::examples::{Parties, plain_consignment};
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_proto::v1::{self, ConsignmentState as S};
use corridor_topology::{ClockConfig, RiskProfile, Topology};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use corridor_audit::source::remote_ledger;
use corridor_audit::{Corpus, Source, connect_plain as channel};

use crate::bootstrap::dev_key;
use crate::demo::{CARRIER, CONSIGNEE, StepPosts, TRADERS, declared_posts, setup_registry};
use crate::launch::{Corridor, prepare};

use super::witness_lag;

/// Writes one line of the benchmark's output.
macro_rules! say {
    ($out:expr, $($t:tt)*) => {
        $out(format!($($t)*))
    };
}

/// Options of `bench corridor`.
#[derive(Clone, Debug)]
pub struct CorridorConfig {
    /// Consignments to clear.
    pub consignments: u32,
    /// Consignments in flight at once (a corridor has hundreds of trains under way).
    pub concurrency: u32,
    /// Keep everything in DIR (default: a temporary directory, removed at the end).
    pub data: Option<PathBuf>,
    /// How the border posts send their events: `batch` (`RecordBorderEvents`, every event
    /// queued while up to four calls are out goes in the next call, as a train's events go
    /// together) or `single` (`RecordBorderEvent`, one call each).
    pub events: Events,
    /// The corridor to run (default: the built-in Middle Corridor).
    pub topology: Option<PathBuf>,
    /// Whether the services have their checkpoints cosigned (the topology's
    /// `[witnessing].enabled`); its signatures count in `signs_per_consignment`.
    pub witnessing: bool,
}

/// How the benchmark's border posts send border events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Events {
    /// `RecordBorderEvents`: every event queued while calls are out goes in the next call.
    Batch,
    /// `RecordBorderEvent`: one call each.
    Single,
}

const HOUR: i64 = 3_600_000_000;

/// A border event waiting for its node's next batch, and where its outcome goes.
type Queued = (
    v1::SignedRequest,
    tokio::sync::oneshot::Sender<Result<v1::StepReceipt, tonic::Status>>,
);

/// Most `RecordBorderEvents` calls a post has out at once.
const POST_CALLS: usize = 4;

/// Sends the border events of one node in batches (`RecordBorderEvents`), as a border post
/// sends a train's: while `POST_CALLS` calls are out, the next events queue up for the next
/// call.
#[derive(Clone)]
enum Post {
    Batched(tokio::sync::mpsc::UnboundedSender<Queued>),
    Single(CustomsNodeClient<Channel>),
}

impl Post {
    fn start(client: CustomsNodeClient<Channel>, batched: bool) -> Self {
        if !batched {
            return Self::Single(client);
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Queued>();
        tokio::spawn(async move {
            let calls = Arc::new(tokio::sync::Semaphore::new(POST_CALLS));
            let mut queued = Vec::new();
            loop {
                let Ok(permit) = calls.clone().acquire_owned().await else {
                    return;
                };
                if rx.recv_many(&mut queued, corridor_customs::MAX_BATCH).await == 0 {
                    return;
                }
                let batch = std::mem::take(&mut queued);
                tokio::spawn(Self::send(client.clone(), batch, permit));
            }
        });
        Self::Batched(tx)
    }

    /// One `RecordBorderEvents` call; each event's outcome goes to its waiter.
    async fn send(
        mut client: CustomsNodeClient<Channel>,
        batch: Vec<Queued>,
        _permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        use v1::step_outcome::Outcome;
        let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let outcomes = client
            .record_border_events(v1::SignedRequests { requests })
            .await
            .map(|r| r.into_inner().outcomes);
        for (i, reply) in replies.into_iter().enumerate() {
            let r = match &outcomes {
                Err(s) => Err(s.clone()),
                Ok(o) => match o.get(i).and_then(|o| o.outcome.clone()) {
                    Some(Outcome::Receipt(r)) => Ok(r),
                    Some(Outcome::Refusal(r)) => {
                        Err(tonic::Status::new(Code::from_i32(r.code), r.message))
                    }
                    None => Err(tonic::Status::internal("no outcome for the event")),
                },
            };
            let _ = reply.send(r);
        }
    }

    async fn record(&self, request: v1::SignedRequest) -> Result<v1::StepReceipt, tonic::Status> {
        let tx_batch = match self {
            Self::Single(client) => {
                return client
                    .clone()
                    .record_border_event(request)
                    .await
                    .map(|r| r.into_inner());
            }
            Self::Batched(tx) => tx,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        tx_batch
            .send((request, tx))
            .map_err(|_| tonic::Status::unavailable("the batcher stopped"))?;
        rx.await
            .map_err(|_| tonic::Status::unavailable("the batcher stopped"))?
    }
}

/// The benchmark's clients and keys.
struct Driver {
    declarant: DeclarantClient<Channel>,
    nodes: Vec<(CountryCode, Post, SigningKey)>,
    seals: Vec<v1::SealCheck>,
    /// Where the officers record every consignment, country by country: the posts its
    /// declaration names (every consignment declares the sample's route).
    posts: Vec<StepPosts>,
    /// Border events sent again because the next node did not have the advance record yet.
    early: AtomicU32,
}

fn signed(key: &SigningKey, payload_type: &str, m: &impl Message) -> v1::SignedRequest {
    v1::SignedRequest {
        envelope: Some(v1::Envelope::from(&Envelope::sign(
            payload_type,
            m.encode_to_vec(),
            key,
        ))),
    }
}

impl Driver {
    /// One consignment: declared through the declarant, then arrival and exit at every
    /// border (green: each arrival releases), the next arrival sent once the next node has the
    /// advance record.
    async fn clear(&self, n: u32, now: i64) -> anyhow::Result<()> {
        let trader = TRADERS[0].operator;
        let request = plain_consignment(
            &format!("KTZE-BENCH-{n:07}"),
            &format!("BENCH-{n:07}"),
            now + HOUR,
            &Parties {
                shipper: trader,
                declarant: trader,
                carrier: CARRIER,
                consignee: CONSIGNEE,
            },
        )
        .request;
        let r = self
            .declarant
            .clone()
            .submit_consignment(request)
            .await
            .map_err(|s| anyhow::anyhow!("submission {n}: {}", s.message()))?
            .into_inner();
        let id = Digest::parse_hex("id", &r.consignment_id)?
            .as_bytes()
            .to_vec();
        let last = self.nodes.len() - 1;
        for (i, (cc, node, officer)) in self.nodes.iter().enumerate() {
            let at = self
                .posts
                .get(i)
                .context("a step of the route for every node")?;
            let arrival = v1::BorderEvent {
                consignment_id: id.clone(),
                country: cc.to_string(),
                kind: v1::BorderEventKind::Arrival as i32,
                border_post: at.arrival.clone(),
                seals: self.seals.clone(),
                at_unix_micros: now,
            };
            let request = signed(officer, pt::BORDER_EVENT, &arrival);
            let mut wait = Duration::from_micros(500);
            let r = loop {
                match node.record(request.clone()).await {
                    Ok(r) => break r,
                    // The advance record is on its way: the train has not arrived yet.
                    Err(s) if s.code() == Code::NotFound && i > 0 => {
                        self.early.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_millis(20));
                    }
                    Err(s) => bail!("arrival {n} at {cc}: {}", s.message()),
                }
            };
            let want = if i == last { S::Completed } else { S::Released };
            if r.state() != want {
                bail!("consignment {n} at {cc} is {:?}, not {want:?}", r.state());
            }
            if i < last {
                let exit = v1::BorderEvent {
                    kind: v1::BorderEventKind::Exit as i32,
                    border_post: at.exit.clone(),
                    seals: Vec::new(),
                    ..arrival
                };
                node.record(signed(officer, pt::BORDER_EVENT, &exit))
                    .await
                    .map_err(|s| anyhow::anyhow!("exit {n} from {cc}: {}", s.message()))?;
            }
        }
        Ok(())
    }
}

/// Single-core ed25519 signs per second, and signatures per second verified in batches of
/// 64, measured now on this machine.
fn crypto_rates() -> (f64, f64) {
    let key = SigningKey::generate();
    let msg = vec![7u8; 1024];
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(400) {
        std::hint::black_box(key.sign(&msg));
        n += 1;
    }
    let sign_rate = f64::from(n) / start.elapsed().as_secs_f64();
    let keys: Vec<ed25519_dalek::SigningKey> = (0..64u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 1024]).collect();
    let sigs: Vec<ed25519_dalek::Signature> = keys
        .iter()
        .zip(&msgs)
        .map(|(k, m)| ed25519_dalek::Signer::sign(k, m))
        .collect();
    let vks: Vec<ed25519_dalek::VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let start = Instant::now();
    let mut batches = 0u32;
    while start.elapsed() < Duration::from_millis(400) {
        if ed25519_dalek::verify_batch(&refs, &sigs, &vks).is_err() {
            break;
        }
        batches += 1;
    }
    let verify_rate = f64::from(batches) * 64.0 / start.elapsed().as_secs_f64();
    (sign_rate, verify_rate)
}

/// CPU seconds (user + system) process `pid` has used, from `/proc` (Linux); 0 elsewhere.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): state is field 3; utime and
    // stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of every service and of this process.
fn cpu(corridor: &Corridor) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = corridor
        .services
        .iter()
        .map(|s| (s.name.clone(), cpu_seconds(&s.pid.to_string())))
        .collect();
    out.push(("benchmark driver".into(), cpu_seconds("self")));
    out
}

/// Signatures made and verified by every service of the corridor, and by this process.
async fn counts(t: &Topology) -> anyhow::Result<(u64, u64)> {
    let (mut s, mut v) = corridor_core::signature_counts();
    for cc in t.country_codes() {
        let st = CustomsNodeClient::new(channel(&t.node_addr(&cc)?.to_string()).await?)
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: 0,
            })
            .await?
            .into_inner();
        s += st.signatures_made;
        v += st.signatures_verified;
    }
    let st = DeclarantClient::new(channel(&t.declarant.listen).await?)
        .get_platform_status(v1::PlatformStatusRequest {
            min_registry_entries: 0,
        })
        .await?
        .into_inner();
    Ok((s + st.signatures_made, v + st.signatures_verified))
}

/// Microseconds from a node recording a consignment's release to the next node having its
/// advance record in its ledger, for every hop, read from the ledgers' entry times.
async fn hops(t: &Topology) -> anyhow::Result<Vec<i64>> {
    let route = t.country_codes();
    let mut released: Vec<HashMap<String, i64>> = Vec::new();
    let mut received: Vec<HashMap<String, i64>> = Vec::new();
    for cc in &route {
        let mut c = LedgerReaderClient::new(channel(&t.node_addr(cc)?.to_string()).await?);
        let mut s = c
            .list_entries(v1::ListEntriesRequest {
                from_sequence: 0,
                to_sequence: 0,
            })
            .await?
            .into_inner();
        let (mut rel, mut rec) = (HashMap::new(), HashMap::new());
        while let Some(e) = s.next().await {
            let e = e?;
            match e.kind.as_str() {
                corridor_customs::consignment::kind::RELEASE_AUTOMATIC => {
                    rel.insert(e.subject, e.time_unix_micros);
                }
                corridor_customs::consignment::kind::ADVANCE_RECEIVED => {
                    rec.insert(e.subject, e.time_unix_micros);
                }
                _ => {}
            }
        }
        released.push(rel);
        received.push(rec);
    }
    let mut out = Vec::new();
    for k in 0..route.len().saturating_sub(1) {
        for (id, t0) in &released[k] {
            if let Some(t1) = received[k + 1].get(id) {
                out.push(t1 - t0);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Runs `bench corridor` with `a`, the services started from `program` (the `corridor`
/// binary); the last line of its output is the figures as JSON. Returns whether every
/// ledger verified.
pub async fn run(
    program: &std::path::Path,
    a: &CorridorConfig,
    mut out: impl FnMut(String),
) -> anyhow::Result<bool> {
    let figures = run_once(program, a, &mut out).await?;
    let verified = figures["ledgers_verified"] == true;
    say!(out, "{figures}");
    Ok(verified)
}

/// Runs `bench corridor` four times in one invocation, each on a corridor of its own,
/// alternating witnessing off and on (the topology's `[witnessing].enabled`) so that neither
/// gains from going first; the last line is every run's figures and the throughput with
/// witnessing over the throughput without (the sum of each side's consignments over its
/// time), as JSON.
pub async fn run_ab(
    program: &std::path::Path,
    a: &CorridorConfig,
    mut out: impl FnMut(String),
) -> anyhow::Result<bool> {
    let mut off = Vec::new();
    let mut on = Vec::new();
    for (i, witnessing) in [false, true, true, false].into_iter().enumerate() {
        let side = if witnessing { "on" } else { "off" };
        let run = CorridorConfig {
            witnessing,
            data: a
                .data
                .as_ref()
                .map(|d| d.join(format!("run-{i}-witnessing-{side}"))),
            ..a.clone()
        };
        say!(out, "run {}: witnessing {side}", i + 1);
        let f = run_once(program, &run, &mut out).await?;
        say!(out, "{f}");
        if witnessing { on.push(f) } else { off.push(f) }
    }
    let rate = |runs: &[serde_json::Value]| {
        let n: f64 = runs
            .iter()
            .map(|f| f["consignments"].as_f64().unwrap_or(0.0))
            .sum();
        let secs: f64 = runs
            .iter()
            .map(|f| f["seconds"].as_f64().unwrap_or(0.0))
            .sum();
        n / secs
    };
    let ratio = rate(&on) / rate(&off);
    say!(
        out,
        "throughput with witnessing on: {:.0}/s, {:.1} % of witnessing off ({:.0}/s)",
        rate(&on),
        ratio * 100.0,
        rate(&off)
    );
    let verified = on.iter().chain(&off).all(|f| f["ledgers_verified"] == true);
    say!(
        out,
        "{}",
        serde_json::json!({
            "witnessing_off": off,
            "witnessing_on": on,
            "consignments_per_s_off": rate(&off),
            "consignments_per_s_on": rate(&on),
            "throughput_on_over_off": ratio,
        })
    );
    Ok(verified)
}

async fn run_once(
    program: &std::path::Path,
    a: &CorridorConfig,
    out: &mut impl FnMut(String),
) -> anyhow::Result<serde_json::Value> {
    let tmp;
    let root = match &a.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let t = prepare(a.topology.as_deref(), &root, true, |t| {
        t.clock = ClockConfig::System;
        t.witnessing.enabled = a.witnessing;
        for c in &mut t.countries {
            c.risk = RiskProfile::all_green();
        }
    })?;
    let mut corridor = Corridor::start(program, t, &root).await?;
    let r = bench(&corridor, a, out).await;
    corridor.stop().await;
    r
}

async fn bench(
    corridor: &Corridor,
    a: &CorridorConfig,
    out: &mut impl FnMut(String),
) -> anyhow::Result<serde_json::Value> {
    let t = corridor.topology.clone();
    let clock = t.clock.clock()?;
    setup_registry(&t, clock.now_micros()).await?;
    let mut nodes = Vec::new();
    for cc in t.country_codes() {
        let (_, c) = t.country(&cc)?;
        let officer = dev_key(&t, &c.officers.first().context("no officer")?.key)?;
        let client = CustomsNodeClient::new(channel(&t.node_addr(&cc)?.to_string()).await?);
        nodes.push((cc, Post::start(client, a.events == Events::Batch), officer));
    }
    let sample = plain_consignment(
        "S",
        "S",
        clock.now_micros(),
        &Parties {
            shipper: TRADERS[0].operator,
            declarant: TRADERS[0].operator,
            carrier: CARRIER,
            consignee: CONSIGNEE,
        },
    );
    let posts = declared_posts(
        &t,
        sample
            .request
            .declaration
            .as_ref()
            .context("a declaration")?,
    )?;
    let driver = Arc::new(Driver {
        declarant: DeclarantClient::new(channel(&t.declarant.listen).await?),
        nodes,
        seals: sample.seals,
        posts,
        early: AtomicU32::new(0),
    });

    let addrs = witness_lag::addrs(&t)?;
    // Sampled with witnessing off too, so that an A/B compares like with like.
    let sampler = witness_lag::Sampler::start(&addrs).await?;
    let cosigned0 = witness_lag::cosignatures(&t).await?;
    let (s0, v0) = counts(&t).await?;
    let cpu0 = cpu(corridor);
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_micros() as i64;
    let next = Arc::new(AtomicU32::new(0));
    let mut latencies = Vec::with_capacity(a.consignments as usize);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency.min(a.consignments) {
        let driver = driver.clone();
        let next = next.clone();
        let total = a.consignments;
        tasks.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(lat);
                }
                let t0 = Instant::now();
                driver.clear(n, clock.now_micros()).await?;
                lat.push(t0.elapsed().as_micros() as i64);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        latencies.extend(r??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (s1, v1) = counts(&t).await?;
    let cosignatures_per_s = (witness_lag::cosignatures(&t).await? - cosigned0) as f64 / elapsed;
    let mut lag = Vec::new();
    let samples = sampler.finish(a.witnessing).await?;
    if a.witnessing {
        for (addr, samples) in addrs.iter().zip(&samples) {
            let times = witness_lag::entry_times(addr).await?;
            lag.extend(witness_lag::lags(&times, started_at, samples));
        }
    }
    lag.sort_unstable();
    let cpu_used: Vec<(String, f64)> = cpu(corridor)
        .into_iter()
        .zip(&cpu0)
        .map(|((name, after), (_, before))| (name, after - before))
        .collect();

    let n = f64::from(a.consignments);
    let per_s = n / elapsed;
    let signs = (s1 - s0) as f64 / n;
    let verifies = (v1 - v0) as f64 / n;
    let (sign_rate, verify_rate) = crypto_rates();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let ceiling = cores / (signs / sign_rate + verifies / verify_rate);
    let hop = hops(&t).await?;
    latencies.sort_unstable();

    let corpus = Corpus::load(t.clone(), Source::Remote, None).await?;
    let declarant_ok = remote_ledger(&t, &corridor_topology::ServiceRole::Declarant, Some(""))
        .await?
        .verified;
    let verified = corpus.registry.is_ok()
        && declarant_ok.is_ok()
        && corpus.node_ledgers().all(|(_, v)| v.is_ok());
    let proven = proof_figures(&t).await?;

    say!(
        out,
        "{} consignments cleared through {} nodes in {elapsed:.2} s at concurrency {}: {per_s:.0}/s",
        a.consignments,
        t.countries.len(),
        a.concurrency
    );
    say!(
        out,
        "per consignment: {signs:.1} signatures made, {verifies:.1} verified (counted by the services)"
    );
    say!(
        out,
        "ed25519 here: {sign_rate:.0} signs/s and {verify_rate:.0} batch-verified/s per core, {cores} cores: ceiling {ceiling:.0}/s; ratio {:.2}",
        per_s / ceiling
    );
    say!(
        out,
        "consignment latency through every node: p50 {:.1} ms, p99 {:.1} ms; hop (release to the next node's advance record) p50 {:.2} ms, p99 {:.2} ms; {} early arrivals retried",
        percentile(&latencies, 0.5) as f64 / 1000.0,
        percentile(&latencies, 0.99) as f64 / 1000.0,
        percentile(&hop, 0.5) as f64 / 1000.0,
        percentile(&hop, 0.99) as f64 / 1000.0,
        driver.early.load(Ordering::Relaxed)
    );
    let total_cpu: f64 = cpu_used.iter().map(|(_, c)| c).sum();
    let parts: Vec<String> = cpu_used
        .iter()
        .map(|(name, c)| format!("{name} {:.0}", c * 1e6 / n))
        .collect();
    say!(
        out,
        "CPU per consignment: {:.0} us in all ({}), {:.0} us of it ed25519",
        total_cpu * 1e6 / n,
        parts.join(", "),
        (signs / sign_rate + verifies / verify_rate) * 1e6
    );
    if a.witnessing {
        say!(
            out,
            "witness lag (an entry's append to a witnessed checkpoint covering it, seen within {} ms): p50 {:.0} ms, p99 {:.0} ms over {} entries; {cosignatures_per_s:.0} cosignatures/s",
            witness_lag::EVERY.as_millis(),
            percentile(&lag, 0.5) as f64 / 1000.0,
            percentile(&lag, 0.99) as f64 / 1000.0,
            lag.len()
        );
    }
    say!(
        out,
        "proof of one consignment through {} countries: {} bytes (proto3 JSON), {} entries; proof verify {:.2} ms (median of {PROOF_VERIFIES})",
        proven.countries,
        proven.bytes,
        proven.entries,
        proven.verify_ms
    );
    say!(out, "ledgers verified: {verified}");
    Ok(serde_json::json!({
            "consignments": a.consignments,
            "concurrency": a.concurrency,
            "border_events": match a.events {
                Events::Batch => "batch",
                Events::Single => "single",
            },
            "witnessing": a.witnessing,
            "seconds": elapsed,
            "consignments_per_s": per_s,
            "signs_per_consignment": signs,
            "verifies_per_consignment": verifies,
            "sign_rate_per_core": sign_rate,
            "batch_verify_rate_per_core": verify_rate,
            "cores": cores,
            "ceiling_per_s": ceiling,
            "ratio": per_s / ceiling,
            "latency_p50_us": percentile(&latencies, 0.5),
            "latency_p99_us": percentile(&latencies, 0.99),
            "hop_p50_us": percentile(&hop, 0.5),
            "hop_p99_us": percentile(&hop, 0.99),
            "ledgers_verified": verified,
            "cpu_us_per_consignment": total_cpu * 1e6 / n,
            "witness_lag_p50_ms": percentile(&lag, 0.5) as f64 / 1000.0,
            "witness_lag_p99_ms": percentile(&lag, 0.99) as f64 / 1000.0,
            "witness_lag_entries": lag.len(),
            "cosignatures_per_s": cosignatures_per_s,
            "proof_bytes": proven.bytes,
            "proof_entries": proven.entries,
            "proof_verify_ms": proven.verify_ms,
    }))
}

/// How many times [`proof_figures`] verifies the proof it makes.
const PROOF_VERIFIES: usize = 20;

/// One consignment's proof, as `corridor proof` makes it and `proof verify` checks it.
struct Proven {
    countries: usize,
    entries: usize,
    bytes: usize,
    /// The median time to read the file's bytes and verify them, in milliseconds.
    verify_ms: f64,
}

/// Makes the proof of the first consignment the last node completed and verifies it
/// [`PROOF_VERIFIES`] times from its JSON; refuses a proof that does not verify.
async fn proof_figures(t: &Topology) -> anyhow::Result<Proven> {
    use corridor_audit::proof;
    let last = t.country_codes().pop().context("no country")?;
    let mut c = LedgerReaderClient::new(channel(&t.node_addr(&last)?.to_string()).await?);
    let size = c
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await?
        .into_inner()
        .size;
    let mut entries = c
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: size,
        })
        .await?
        .into_inner();
    let mut id = None;
    while let Some(e) = entries.next().await {
        let e = e?;
        if e.kind == corridor_customs::consignment::kind::CONSIGNMENT_COMPLETED {
            id = Some(Digest::parse_hex("subject", &e.subject)?);
            break;
        }
    }
    let id = id.with_context(|| format!("{last} completed no consignment"))?;
    let made = proof::make_remote(t, &id, proof::DEFAULT_WAIT).await?;
    let json = proof::to_json(&made.proof)?;
    let mut times = Vec::with_capacity(PROOF_VERIFIES);
    let mut traced = None;
    for _ in 0..PROOF_VERIFIES {
        let t0 = Instant::now();
        let p = proof::parse(json.as_bytes())?;
        let checked = proof::verify(t, &p)?;
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        traced = Some(checked);
    }
    let traced = traced.context("no verification")?;
    if !traced.problems.is_empty() {
        bail!(
            "the proof of {id} does not verify: {}",
            traced.problems.join("; ")
        );
    }
    times.sort_by(f64::total_cmp);
    Ok(Proven {
        countries: traced.countries,
        entries: traced.entries,
        bytes: json.len(),
        verify_ms: times[times.len() / 2],
    })
}
