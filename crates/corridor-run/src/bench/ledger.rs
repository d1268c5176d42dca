//! `bench ledger`: durable appends by concurrent appenders against the raw sled
//! group-commit limit measured in the same run, then a verification pass.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use corridor_core::{Envelope, SigningKey};
use corridor_ledger::verify_dir;
use corridor_ledger::{Append, GroupCommit, Ledger};

use super::{drive, percentile};

/// Writes one line of the benchmark's output.
macro_rules! say {
    ($out:expr, $($t:tt)*) => {
        $out(format!($($t)*))
    };
}

/// The benchmark ledger's own key, `DIR/node.key`, created (with `DIR`) when missing.
pub fn node_key(dir: &Path, out: &mut impl FnMut(String)) -> anyhow::Result<SigningKey> {
    let path = dir.join("node.key");
    if path.exists() {
        return Ok(SigningKey::load(&path)?);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = SigningKey::generate();
    key.save(&path)?;
    say!(
        out,
        "created key {} ({}.pub)",
        path.display(),
        path.display()
    );
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

/// Runs `bench ledger`: `n` appends by `concurrency` appenders to the ledger at `dir`
/// signed by `key`.
pub async fn run(
    dir: &Path,
    key: &SigningKey,
    n: usize,
    concurrency: usize,
    mut out: impl FnMut(String),
) -> anyhow::Result<bool> {
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
    say!(
        out,
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
                            rows: vec![],
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
    say!(
        out,
        "ledger: {n} durable appends at concurrency {concurrency}: {appends_per_s:.0}/s, p50 {p50_us:.0} us, p99 {p99_us:.0} us ({before} -> {} entries)",
        ledger.len()
    );

    // Verification from genesis of the open ledger: every entry hash and link, the Merkle
    // root against the checkpoint, the checkpoint's signature once.
    let start = Instant::now();
    let verified = ledger.verify(Some(&key.public()))?;
    let secs = start.elapsed().as_secs_f64();
    let verify_per_s = verified.as_ref().map_or(0, |v| v.entries) as f64 / secs;
    say!(
        out,
        "verify: {} entries in {secs:.3} s: {verify_per_s:.0}/s; checkpoint size {} signed",
        ledger.len(),
        cp.size()
    );
    let proofs = proofs(&ledger, &mut out)?;
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
    say!(
        out,
        "open: {total} entries read back, verified and indexed in {open_s:.3} s"
    );

    let ratio = appends_per_s / raw_per_s;
    say!(
        out,
        "raw sled: {n} group-committed inserts of {value_len} B: {raw_per_s:.0}/s (ledger/raw = {ratio:.2})"
    );

    // What an auditor runs on the stopped service: a private copy of the database, opened
    // (sled recovery) and verified.
    let start = Instant::now();
    let cold = verify_dir(dir, Some(&key.public()))?;
    let cold_secs = start.elapsed().as_secs_f64();
    let ok = verified.is_ok() && cold.is_ok();
    match (&verified, &cold) {
        (Err(d), _) | (_, Err(d)) => say!(out, "{d}"),
        (Ok(_), Ok(v)) => say!(
            out,
            "ledger verify from a stopped database (open + verify): {} entries in {cold_secs:.3} s",
            v.entries
        ),
    }
    say!(
        out,
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
            "inclusion_proofs_per_s": proofs.inclusion_per_s.round(),
            "consistency_proofs_per_s": proofs.consistency_per_s.round(),
            "proof_hashes_read_max": proofs.longest,
            "verified": ok && proofs.verified,
        })
    );
    Ok(ok && proofs.verified)
}

/// Proofs made from the open ledger, as `LedgerReader` makes them.
struct Proofs {
    inclusion_per_s: f64,
    consistency_per_s: f64,
    /// The most subtree hashes one proof held (each one read): O(log n).
    longest: usize,
    /// Every proof verified against the ledger's roots.
    verified: bool,
}

/// How many proofs of each kind are made.
const PROOFS: u64 = 20_000;

/// Makes [`PROOFS`] inclusion proofs (of entries at random in the tree of every entry) and
/// as many consistency proofs (from random sizes to the whole tree), timed; then verifies
/// each against the roots the ledger gives, untimed.
fn proofs(ledger: &Ledger, out: &mut impl FnMut(String)) -> anyhow::Result<Proofs> {
    use corridor_ledger::merkle::leaf_hash;
    use corridor_ledger::proof::{verify_consistency, verify_inclusion};

    let size = ledger.len();
    // xorshift64: the same sequence every run.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |below: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % below.max(1)
    };
    let picks: Vec<(u64, u64)> = (0..PROOFS)
        .map(|_| (next(size), 1 + next(size.saturating_sub(1))))
        .collect();
    let start = Instant::now();
    let mut inclusion = Vec::with_capacity(picks.len());
    for &(seq, _) in &picks {
        inclusion.push(ledger.inclusion_proof(seq, size)?);
    }
    let inclusion_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut consistency = Vec::with_capacity(picks.len());
    for &(_, old) in &picks {
        consistency.push(ledger.consistency_proof(old, size)?);
    }
    let consistency_s = start.elapsed().as_secs_f64();
    let root = ledger.root_at(size)?;
    let mut verified = true;
    for (&(seq, old), (inc, con)) in picks.iter().zip(inclusion.iter().zip(&consistency)) {
        let entry = ledger.entry_hash(seq).context("an entry of the ledger")?;
        verified &= verify_inclusion(&leaf_hash(entry.as_bytes()), seq, size, inc, &root).is_ok();
        verified &= verify_consistency(old, size, con, &ledger.root_at(old)?, &root).is_ok();
    }
    let longest = inclusion
        .iter()
        .chain(&consistency)
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let p = Proofs {
        inclusion_per_s: PROOFS as f64 / inclusion_s,
        consistency_per_s: PROOFS as f64 / consistency_s,
        longest,
        verified,
    };
    say!(
        out,
        "proofs in the tree of {size} entries: {PROOFS} inclusion at {:.0}/s, {PROOFS} consistency at {:.0}/s, at most {longest} hashes each; all verified: {verified}",
        p.inclusion_per_s,
        p.consistency_per_s
    );
    Ok(p)
}
