//! `corridor bench`: throughput benchmarks that anyone can run on their machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use corridor_core::{Envelope, SigningKey};
use corridor_ledger::verify_dir;
use corridor_ledger::{Append, GroupCommit, Ledger};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Durable ledger appends by concurrent appenders, against the raw sled group-commit
    /// limit measured in the same run, then a verification pass. Leaves a valid ledger (with a
    /// signed checkpoint) at DIR. Last line: a JSON object of the figures.
    Ledger {
        /// Ledger directory (created if missing; existing entries are kept and verified).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Private key that signs the envelopes and the checkpoint [default: DIR/node.key,
        /// created on first use].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Envelopes to append (1 KiB payload each).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        entries: u64,
        /// Concurrent appenders.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
        concurrency: u64,
    },
    /// `CheckRecognition` over gRPC on loopback against a registry (in this process, on
    /// 127.0.0.1:0) holding OPERATORS operators with one certificate each across four
    /// countries and arrangements among them, next to a trivial unary call (gRPC health
    /// `Check`) on the same server. Last line: a JSON object of the figures.
    Aeo(crate::cmd::bench_aeo::BenchAeo),
    /// Whole consignments cleared through the registry, the declarant and the customs nodes
    /// run as separate processes (as `up` runs them), every lane green and every trader an
    /// AEO, against the ceiling ed25519 sets on this machine. Last line: a JSON object of the
    /// figures.
    Corridor(crate::cmd::bench_corridor::BenchCorridor),
}

pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BenchCommand::Aeo(args) => crate::cmd::bench_aeo::run(args),
        BenchCommand::Corridor(args) => crate::cmd::bench_corridor::run(args),
        BenchCommand::Ledger {
            data,
            key,
            entries,
            concurrency,
        } => {
            let key = match key {
                Some(path) => SigningKey::load(&path)?,
                None => node_key(&data)?,
            };
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(bench_ledger(
                    &data,
                    &key,
                    entries as usize,
                    concurrency as usize,
                ))
        }
    }
}

/// The benchmark ledger's own key, `DIR/node.key`, created (with `DIR`) when missing.
fn node_key(dir: &Path) -> anyhow::Result<SigningKey> {
    let path = dir.join("node.key");
    if path.exists() {
        return Ok(SigningKey::load(&path)?);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = SigningKey::generate();
    key.save(&path)?;
    println!("created key {} ({}.pub)", path.display(), path.display());
    Ok(key)
}

/// The system clock in microseconds since the Unix epoch.
fn now_unix_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The benchmark ledger's name in its checkpoints.
const ORIGIN: &str = "corridor/bench";

/// The kind and subject of every benchmark entry.
const KIND: &str = "bench.recorded";
const SUBJECT: &str = "bench";

/// Rounds of ledger appends and raw inserts, alternating.
const ROUNDS: usize = 4;

/// Payload size of each benchmark envelope.
const PAYLOAD: usize = 1024;

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Runs `work(i)` for i in 0..n on `concurrency` tasks; returns each call's latency.
pub(crate) async fn drive<F, Fut>(
    n: usize,
    concurrency: usize,
    work: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (work, next) = (work.clone(), next.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(lat);
                }
                let t = Instant::now();
                work(i).await?;
                lat.push(t.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    all.sort_unstable();
    Ok(all)
}

async fn bench_ledger(
    dir: &Path,
    key: &SigningKey,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;

    // Sign every envelope before timing starts.
    let t = Instant::now();
    let run_tag = now_unix_micros();
    let envelopes: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..n)
            .map(|i| {
                let mut payload = vec![0u8; PAYLOAD];
                let tag = format!("corridor bench run {run_tag} envelope {i}");
                payload[..tag.len()].copy_from_slice(tag.as_bytes());
                let env = Envelope::sign("application/vnd.corridor.bench.v1", payload, key);
                corridor_proto::encode_envelope(&env)
            })
            .collect(),
    );
    println!(
        "signed {n} envelopes of {PAYLOAD} B in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // Durable appends, and the raw sled limit they are measured against: the same number of
    // inserts of values as large as the ledger's (an entry's record and hash) into a scratch
    // database on the same file system, each waiting on a one-flusher group commit. The two
    // run in alternating rounds, so that the disk's changing speed falls on both alike.
    let ledger = Arc::new(Ledger::open(dir, ORIGIN, key)?);
    let before = ledger.len();
    let scratch = tempfile::Builder::new()
        .prefix(".raw-sled-")
        .tempdir_in(dir)
        .context("cannot create the scratch database")?;
    let raw = corridor_ledger::layout::sled_config(scratch.path()).open()?;
    let raw_tree = raw.open_tree("scratch")?;
    let raw_commit = Arc::new(GroupCommit::start(raw.clone()));
    let value_len = {
        let e = corridor_ledger::Entry {
            seq: 0,
            prev_hash: corridor_core::Digest::ZERO,
            time_unix_micros: 0,
            kind: KIND.into(),
            subject: SUBJECT.into(),
            envelope: envelopes[0].clone(),
        };
        e.record().len() + 32
    };
    let raw_value = Arc::new(vec![0x5au8; value_len]);
    let (mut ledger_s, mut raw_s) = (0.0, 0.0);
    let mut lat = Vec::with_capacity(n);
    for round in 0..ROUNDS {
        let (from, to) = (round * n / ROUNDS, (round + 1) * n / ROUNDS);
        let start = Instant::now();
        let (l, envelopes) = (ledger.clone(), envelopes.clone());
        lat.extend(
            drive(to - from, concurrency, move |i| {
                let (ledger, envelopes) = (l.clone(), envelopes.clone());
                async move {
                    ledger
                        .append(Append {
                            kind: KIND.into(),
                            subject: SUBJECT.into(),
                            time_unix_micros: now_unix_micros(),
                            envelope: envelopes[from + i].clone(),
                            extra: vec![],
                        })
                        .await?;
                    Ok(())
                }
            })
            .await?,
        );
        ledger_s += start.elapsed().as_secs_f64();

        let start = Instant::now();
        let (tree, commit, value) = (raw_tree.clone(), raw_commit.clone(), raw_value.clone());
        drive(to - from, concurrency, move |i| {
            let (tree, commit, value) = (tree.clone(), commit.clone(), value.clone());
            async move {
                tree.insert(((from + i) as u64).to_be_bytes(), value.as_slice())?;
                commit.sync().await?;
                Ok(())
            }
        })
        .await?;
        raw_s += start.elapsed().as_secs_f64();
    }
    raw_commit.stop();
    drop((raw_tree, raw_commit, raw));
    drop(scratch);
    lat.sort_unstable();
    let appends_per_s = n as f64 / ledger_s;
    let raw_per_s = n as f64 / raw_s;
    let (p50_us, p99_us) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    let cp = ledger.sign_checkpoint(key).await?;
    println!(
        "ledger: {n} durable appends at concurrency {concurrency}: {appends_per_s:.0}/s, p50 {p50_us:.0} us, p99 {p99_us:.0} us ({before} -> {} entries)",
        ledger.len()
    );

    // Verification from genesis of the open ledger: every entry hash and link, the Merkle
    // root against the checkpoint, the checkpoint's signature once.
    let start = Instant::now();
    let verified = ledger.verify(Some(&key.public()))?;
    let secs = start.elapsed().as_secs_f64();
    let verify_per_s = verified.as_ref().map_or(0, |v| v.entries) as f64 / secs;
    println!(
        "verify: {} entries in {secs:.3} s: {verify_per_s:.0}/s; checkpoint size {} signed",
        ledger.len(),
        cp.size
    );
    drop(envelopes);
    Arc::try_unwrap(ledger)
        .map_err(|_| anyhow::anyhow!("ledger still shared"))?
        .close();

    // What a service does as it starts: open the ledger, which reads every entry back,
    // hashes it again, checks every link and the signed checkpoint, and rebuilds the indices.
    let start = Instant::now();
    let reopened = Ledger::open(dir, ORIGIN, key)?;
    let open_s = start.elapsed().as_secs_f64();
    let total = reopened.len();
    reopened.close();
    println!("open: {total} entries read back, verified and indexed in {open_s:.3} s");

    let ratio = appends_per_s / raw_per_s;
    println!(
        "raw sled: {n} group-committed inserts of {value_len} B: {raw_per_s:.0}/s (ledger/raw = {ratio:.2})"
    );

    // What an auditor runs on the stopped service: a private copy of the database, opened
    // (sled recovery) and verified.
    let start = Instant::now();
    let cold = verify_dir(dir, Some(&key.public()))?;
    let cold_secs = start.elapsed().as_secs_f64();
    let ok = verified.is_ok() && cold.is_ok();
    match (&verified, &cold) {
        (Err(d), _) | (_, Err(d)) => println!("{d}"),
        (Ok(_), Ok(v)) => println!(
            "ledger verify from a stopped database (open + verify): {} entries in {cold_secs:.3} s",
            v.entries
        ),
    }
    println!(
        "{}",
        serde_json::json!({
            "entries": n,
            "concurrency": concurrency,
            "appends_per_s": appends_per_s.round(),
            "raw_sled_per_s": raw_per_s.round(),
            "raw_value_bytes": value_len,
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "p50_us": p50_us.round(),
            "p99_us": p99_us.round(),
            "verify_per_s": verify_per_s.round(),
            "verify_cold_s": (cold_secs * 1000.0).round() / 1000.0,
            "open_s": (open_s * 1000.0).round() / 1000.0,
            "open_entries": total,
            "verified": ok,
        })
    );
    Ok(if ok { Outcome::Ok } else { Outcome::Damaged })
}
