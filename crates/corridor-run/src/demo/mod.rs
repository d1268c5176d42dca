//! The demonstration scenario: consignments of four traders (two AEO-certified) sent through
//! a running corridor on an accelerated clock, officers and transport simulated from a seed,
//! then every ledger verified and every consignment traced, and a clearance report.
//!
//! The same seed gives the same traders, goods, lanes and officers' decisions, so the same
//! report (but for ids, times and how long it took).
//!
//! - `parties`: the demonstration traders, carrier and consignee, and the registry they need
//!   (`setup_registry`).
//! - `drive`: what the seed plans for each consignment, and the drivers that take each one
//!   from submission to its end, officers and transport simulated on the corridor's clock.
//! - `report`: every ledger verified, every consignment traced, and the clearance report
//!   with its statistics.
//!
//! The run watches the corridor's children: when one exits while the scenario runs, the
//! progress callback hears of it at once ([`Progress::stopped`]), driving stops, and the
//! report is a partial one of the consignments that ended before ([`Report::stopped`]),
//! made without the ledgers and traces a stopped service cannot give.

mod drive;
mod parties;
mod report;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use corridor_audit::connect;
use corridor_core::CountryCode;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::{self, ConsignmentState as S};

pub use parties::{CARRIER, CONSIGNEE, TRADERS, Trader, setup_registry};
pub use report::Report;

use crate::bootstrap::dev_key;
use crate::launch::{Corridor, Exited};
pub(crate) use drive::{Cancel, Change, Decide, Event, Plan};
use drive::{Driven, Drivers, Pace};
pub(crate) use drive::{StepPosts, declared_posts};

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
    /// The service that stopped while the demo ran: driving stops, and the report is
    /// partial.
    pub stopped: Option<Exited>,
}

/// Runs the scenario on `corridor`, calling `progress` once when the registry is set up
/// (without counts), every `tick` while consignments move, and once when they have all
/// ended; then verifies every ledger, traces every
/// consignment and reports. When a service of the corridor stops before the consignments
/// have ended, `progress` is called at once with [`Progress::stopped`], driving stops, and
/// the report is partial: the consignments that had ended, no ledger verified.
pub async fn run(
    corridor: &Corridor,
    cfg: DemoConfig,
    tick: Duration,
    progress: impl FnMut(&Progress, &[CountryCounts]),
) -> anyhow::Result<Report> {
    let countries = corridor.topology.countries.len();
    let plans = (0..cfg.consignments)
        .map(|n| Plan::new(cfg.seed, n, countries))
        .collect();
    run_plans(corridor, plans, Vec::new(), true, cfg, tick, progress).await
}

/// Runs `plans` (one consignment each) and `events` on `corridor` as [`run`] runs the
/// demo's, setting up the registry first when `setup` (a corridor that ran plans before has
/// it); `cfg` gives the speed, and the seed the report states.
pub(crate) async fn run_plans(
    corridor: &Corridor,
    plans: Vec<Plan>,
    events: Vec<Event>,
    setup: bool,
    cfg: DemoConfig,
    tick: Duration,
    mut progress: impl FnMut(&Progress, &[CountryCounts]),
) -> anyhow::Result<Report> {
    let cfg = DemoConfig {
        consignments: plans.len() as u32,
        ..cfg
    };
    let t = corridor.topology.clone();
    let clock = t.clock.clock()?;
    let began = Instant::now();
    let stopped = corridor.next_exit();
    tokio::pin!(stopped);
    tokio::select! {
        r = setup_registry(&t, clock.now_micros()), if setup => {
            r?;
        }
        () = std::future::ready(()), if !setup => {}
        e = &mut stopped => {
            let e = stopped_service(e)?;
            progress(&Progress {
                corridor_time: clock.now_micros(),
                finished: 0,
                total: cfg.consignments as usize,
                done: true,
                elapsed: began.elapsed(),
                stopped: Some(e.clone()),
            }, &[]);
            return Ok(report::stopped(&t, &e, cfg, began));
        }
    }
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
        refusals: std::sync::Mutex::default(),
        bills: tokio::sync::watch::Sender::new(BTreeMap::new()),
    });
    progress(
        &Progress {
            corridor_time: drivers.clock.now_micros(),
            finished: 0,
            total: cfg.consignments as usize,
            done: false,
            elapsed: began.elapsed(),
            stopped: None,
        },
        &[],
    );
    let results: Arc<Mutex<Vec<(Plan, Driven)>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for plan in plans {
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
    // The registry's changes, each at its time; what failed is a problem of the report.
    let failed_events: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut happenings = tokio::task::JoinSet::new();
    for e in events {
        let drivers = drivers.clone();
        let failed = failed_events.clone();
        happenings.spawn(async move {
            if let Err(x) = drivers.happen(&e).await {
                failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("event at {} h: {x:#}", e.at_hours));
            }
        });
    }
    let mut dead = None;
    loop {
        let done = tokio::select! {
            r = tasks.join_next() => r.is_none(),
            _ = tokio::time::sleep(tick) => false,
            e = &mut stopped, if dead.is_none() => {
                let e = stopped_service(e)?;
                // Told at once, before anything that might wait on the stopped service.
                progress(&Progress {
                    corridor_time: drivers.clock.now_micros(),
                    finished: cfg.consignments as usize - tasks.len(),
                    total: cfg.consignments as usize,
                    done: true,
                    elapsed: began.elapsed(),
                    stopped: Some(e.clone()),
                }, &[]);
                tasks.abort_all();
                dead = Some(e);
                break;
            }
        };
        let p = Progress {
            corridor_time: drivers.clock.now_micros(),
            finished: cfg.consignments as usize - tasks.len(),
            total: cfg.consignments as usize,
            done: done || tasks.is_empty(),
            elapsed: began.elapsed(),
            stopped: None,
        };
        progress(&p, &counts(&drivers).await);
        if p.done {
            break;
        }
    }
    while tasks.join_next().await.is_some() {}
    // Changes due after the last consignment ended still happen (unless a service stopped).
    if dead.is_some() {
        happenings.abort_all();
    }
    while happenings.join_next().await.is_some() {}
    let mut results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    results.sort_by_key(|(p, _)| p.n);
    let mut report = report::report(&t, &drivers, &results, cfg, began, dead.as_ref()).await?;
    report.problems.extend(std::mem::take(
        &mut *failed_events.lock().unwrap_or_else(|p| p.into_inner()),
    ));
    Ok(report)
}

/// The service whose exit a run saw (every child's exit already seen is a corridor that
/// cannot be running).
fn stopped_service(e: Option<Exited>) -> anyhow::Result<Exited> {
    e.context("every service of the corridor has exited")
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
