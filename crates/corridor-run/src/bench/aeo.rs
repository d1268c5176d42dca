//! `corridor bench aeo`: recognition checks over gRPC, next to a trivial call on the same
//! server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use corridor_aeo::sign::{request, submit};
use corridor_core::{CountryCode, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_topology::{Clock, Topology};
use tokio_util::sync::CancellationToken;
use tonic_health::pb::health_client::HealthClient;

use super::{drive, percentile};
use crate::bootstrap::DAY;

/// Writes one line of the benchmark's output.
macro_rules! say {
    ($out:expr, $($t:tt)*) => {
        $out(format!($($t)*))
    };
}

/// Options of `bench aeo`.
#[derive(Clone, Debug)]
pub struct AeoConfig {
    /// The topology whose countries the operators are spread over (its keys are not used);
    /// default: the Middle Corridor of `deploy/corridor.toml`, built in.
    pub topology: Option<PathBuf>,
    /// Operators, each with one certificate, spread over the topology's countries.
    pub operators: u64,
    /// Calls measured, for the checks and for the trivial call each.
    pub requests: u64,
    /// Concurrent callers.
    pub concurrency: u64,
    /// HTTP/2 connections the callers share.
    pub connections: u64,
    /// The registry's ledger directory (default: a temporary directory, removed after).
    pub data: Option<PathBuf>,
}

const TIERS: [v1::AeoTier; 3] = [
    v1::AeoTier::Full,
    v1::AeoTier::SecuritySafety,
    v1::AeoTier::CustomsSimplifications,
];

/// Runs `bench aeo` with `args`.
pub async fn run(args: &AeoConfig, mut out: impl FnMut(String)) -> anyhow::Result<bool> {
    let topology = match &args.topology {
        Some(p) => Topology::load(p)?,
        None => Topology::middle_corridor()?,
    };
    let countries: Arc<Vec<CountryCode>> = Arc::new(topology.country_codes());
    let nc = countries.len();
    let operator_id = {
        let countries = countries.clone();
        move |i: usize| format!("{}{:010}", countries[i % nc], i)
    };
    let n_ops = args.operators as usize;
    let n = args.requests as usize;
    let concurrency = args.concurrency as usize;
    let tmp = tempfile::tempdir()?;
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| tmp.path().join("registry"));

    let authorities: Vec<SigningKey> = (0..nc)
        .map(|i| SigningKey::from_seed(&[i as u8 + 1; 32]))
        .collect();
    let registry_key = SigningKey::generate();
    let keys = corridor_aeo::TrustedKeys::new(
        countries
            .iter()
            .zip(&authorities)
            .map(|(c, k)| (c.clone(), k.public()))
            .collect(),
        vec![],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(corridor_aeo::serve(
        listener,
        corridor_aeo::Config {
            // The registry alone: no witnesses to ask.
            witnessing: Default::default(),
            data_dir: dir.clone(),
            origin: "bench/aeo-registry".into(),
            key: registry_key,
            keys,
            clock: Clock::System,
            document_times: Default::default(),
            max_message_bytes: corridor_aeo::DEFAULT_MAX_MESSAGE_BYTES,
            transport: Default::default(),
        },
        shutdown.clone(),
    ));
    let mut channels = Vec::new();
    for _ in 0..args.connections {
        channels.push(
            corridor_net::Transport::plaintext()
                .endpoint(&addr)?
                .connect()
                .await
                .context("cannot reach the registry")?,
        );
    }
    let channels = Arc::new(channels);
    let registry = |i: usize| AeoRegistryClient::new(channels[i % channels.len()].clone());

    // Seed: operators, then their certificates, then arrangements.
    let now = Clock::System.now_micros();
    let start = Instant::now();
    let authorities = Arc::new(authorities);
    let regs: Arc<Vec<v1::SubmitRequest>> = Arc::new(
        (0..n_ops)
            .map(|i| {
                let op = SigningKey::from_seed(&seed(i));
                let doc = v1::OperatorRegistration {
                    operator_id: operator_id(i),
                    legal_name: format!("Benchmark Operator {i}"),
                    address: format!("{i} Corridor Street"),
                    country: countries[i % nc].to_string(),
                    public_keys: vec![op.public().as_bytes().to_vec()],
                    issued_at_unix_micros: now,
                };
                request(pt::OPERATOR_REGISTRATION, &doc, &authorities[i % nc])
            })
            .collect(),
    );
    let certs: Arc<Vec<v1::SubmitRequest>> = Arc::new(
        (0..n_ops)
            .map(|i| {
                let doc = v1::AeoCertificate {
                    aeo_id: format!("AEO{}{:010}", countries[i % nc], i),
                    operator_id: operator_id(i),
                    tier: TIERS[(i / 4) % 3] as i32,
                    valid_from_unix_micros: now - DAY,
                    valid_to_unix_micros: now + 3 * 365 * DAY,
                    issued_at_unix_micros: now,
                };
                request(pt::AEO_CERTIFICATE, &doc, &authorities[i % nc])
            })
            .collect(),
    );
    let seed_concurrency = concurrency.min(64);
    for batch in [regs, certs.clone()] {
        let channels = channels.clone();
        drive(n_ops, seed_concurrency, move |i| {
            let (batch, ch) = (batch.clone(), channels[i % channels.len()].clone());
            async move {
                let mut c = AeoRegistryClient::new(ch);
                if batch[i]
                    .envelope
                    .as_ref()
                    .is_some_and(|e| e.payload_type == pt::OPERATOR_REGISTRATION)
                {
                    c.register_operator(batch[i].clone()).await?;
                } else {
                    c.issue_certificate(batch[i].clone()).await?;
                }
                Ok(())
            }
        })
        .await?;
    }
    // Arrangements between neighbours on the route, with different scopes, and one between
    // its two ends.
    let scopes: [&[v1::AeoTier]; 3] = [
        &[v1::AeoTier::Full, v1::AeoTier::CustomsSimplifications],
        &[v1::AeoTier::Full],
        &TIERS,
    ];
    let mut mras: Vec<(usize, usize, &[v1::AeoTier])> =
        (0..nc - 1).map(|a| (a, a + 1, scopes[a % 3])).collect();
    if nc > 2 {
        mras.push((0, nc - 1, &[v1::AeoTier::SecuritySafety]));
    }
    for &(a, b, tiers) in &mras {
        let doc = v1::MutualRecognitionArrangement {
            arrangement_id: format!("MRA-{}-{}", countries[a], countries[b]),
            countries: vec![countries[a].to_string(), countries[b].to_string()],
            tiers: tiers.iter().map(|t| *t as i32).collect(),
            benefits: Some(v1::ArrangementBenefits {
                document_check_rate_percent: 50,
                inspection_rate_percent: 30,
                priority_treatment: true,
            }),
            effective_from_unix_micros: now - DAY,
            effective_to_unix_micros: 0,
            issued_at_unix_micros: now,
        };
        let mut env = corridor_aeo::sign::sign(pt::MUTUAL_RECOGNITION, &doc, &authorities[a]);
        env.add_signature(&authorities[b]);
        registry(0).propose_arrangement(submit(&env)).await?;
    }
    let seed_s = start.elapsed().as_secs_f64();
    let changes = 2 * n_ops + mras.len();
    say!(
        out,
        "seeded {n_ops} operators, {n_ops} certificates, {} arrangements: {changes} durable changes in {seed_s:.2} s ({:.0}/s)",
        mras.len(),
        changes as f64 / seed_s
    );

    // The question each call asks: operator i in country j (a different one from i's
    // about three times in four).
    let ask = move |k: usize| -> v1::CheckRecognitionRequest {
        let i = k.wrapping_mul(7919) % n_ops;
        v1::CheckRecognitionRequest {
            operator_id: operator_id(i),
            country: countries[(k / 3) % nc].to_string(),
            at_unix_micros: 0,
        }
    };
    let recognised = {
        let mut c = registry(0);
        let mut yes = 0;
        for k in 0..1000 {
            if c.check_recognition(ask(k)).await?.into_inner().recognised {
                yes += 1;
            }
        }
        yes as f64 / 1000.0
    };

    let echo = |label: &'static str| {
        let channels = channels.clone();
        async move {
            let start = Instant::now();
            let lat = drive(n, concurrency, move |i| {
                let ch = channels[i % channels.len()].clone();
                async move {
                    HealthClient::new(ch)
                        .check(tonic_health::pb::HealthCheckRequest {
                            service: String::new(),
                        })
                        .await?;
                    Ok(())
                }
            })
            .await?;
            let per_s = n as f64 / start.elapsed().as_secs_f64();
            let line = format!(
                "{label}: {n} calls at concurrency {concurrency}: {per_s:.0}/s, p50 {:.0} us, p99 {:.0} us",
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            );
            anyhow::Ok((per_s, lat, line))
        }
    };
    let (echo_per_s, echo_lat, line) = echo("echo (grpc.health.v1.Health/Check)").await?;
    out(line);
    let start = Instant::now();
    let lat = {
        let channels = channels.clone();
        drive(n, concurrency, move |k| {
            let ch = channels[k % channels.len()].clone();
            let req = ask(k);
            async move {
                AeoRegistryClient::new(ch).check_recognition(req).await?;
                Ok(())
            }
        })
        .await?
    };
    let checks_per_s = n as f64 / start.elapsed().as_secs_f64();
    let (p50_us, p99_us) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    say!(
        out,
        "CheckRecognition: {n} calls at concurrency {concurrency}: {checks_per_s:.0}/s, p50 {p50_us:.0} us, p99 {p99_us:.0} us ({:.0}% recognised)",
        recognised * 100.0
    );
    let ratio = checks_per_s / echo_per_s;

    drop(channels);
    shutdown.cancel();
    server.await??;
    say!(
        out,
        "{}",
        serde_json::json!({
            "operators": n_ops,
            "certificates": n_ops,
            "arrangements": mras.len(),
            "requests": n,
            "concurrency": concurrency,
            "connections": args.connections,
            "checks_per_s": checks_per_s.round(),
            "echo_per_s": echo_per_s.round(),
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "p50_us": p50_us.round(),
            "p99_us": p99_us.round(),
            "echo_p50_us": percentile(&echo_lat, 0.5).round(),
            "echo_p99_us": percentile(&echo_lat, 0.99).round(),
            "recognised_share": recognised,
            "seed_changes_per_s": (changes as f64 / seed_s).round(),
        })
    );
    Ok(true)
}

/// A distinct key seed per operator.
fn seed(i: usize) -> [u8; 32] {
    let mut s = [7u8; 32];
    s[..8].copy_from_slice(&(i as u64).to_be_bytes());
    s
}
