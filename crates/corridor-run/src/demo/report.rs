//! The clearance report: every ledger verified, every consignment traced and looked up at
//! each country of its route, and the table, summary and JSON document made of them, with
//! their statistics (mean and 95th percentile of clearance hours).
//!
//! A run during which a service stopped gets a partial report, marked PARTIAL and naming
//! the service: the consignments that had ended, looked up at each country still answering,
//! with no ledger verified and no consignment traced (a stopped service's ledger cannot be
//! read through it).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use corridor_audit::{Corpus, Source};
use corridor_core::{Digest, PublicKey};
use corridor_proto::customs::lane_name;
use corridor_proto::v1::{self, ConsignmentState as S};
use corridor_topology::Topology;

use super::DemoConfig;
use super::drive::{Driven, Drivers, HOUR, Plan};
use super::parties::TRADERS;
use crate::launch::Exited;

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
    /// The service that stopped during the run, when the report is partial.
    pub stopped: Option<Exited>,
}

impl Report {
    /// Whether every consignment was driven and every ledger and trace verified (never for
    /// a partial report).
    pub fn verified(&self) -> bool {
        let ledgers_ok = self.json["ledgers"]
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["verified"] == true));
        self.problems.is_empty() && ledgers_ok && self.stopped.is_none()
    }
}

/// The first line of a partial report.
fn partial_line(e: &Exited, ended: usize, total: u32) -> String {
    format!(
        "PARTIAL report: {e}; {ended} of {total} consignments had ended; ledgers and traces not verified"
    )
}

/// What a partial report's JSON says of the stopped service.
fn partial_json(e: &Exited) -> serde_json::Value {
    serde_json::json!({
        "stopped": e.name,
        "pid": e.pid,
        "status": e.status.to_string(),
    })
}

/// The partial report of a run during which `e` stopped before any consignment was sent.
pub(super) fn stopped(t: &Topology, e: &Exited, cfg: DemoConfig, began: Instant) -> Report {
    let lines = vec![
        String::new(),
        partial_line(e, 0, cfg.consignments),
        format!("finished in {:.1} s", began.elapsed().as_secs_f64()),
    ];
    let json = serde_json::json!({
        "seed": cfg.seed,
        "speed": cfg.speed,
        "partial": partial_json(e),
        "consignments": [],
        "summary": {"consignments": 0, "completed": 0, "target_hours": t.clearance.target_hours},
        "ledgers": [],
    });
    Report {
        json,
        lines,
        problems: vec![e.to_string()],
        stopped: Some(e.clone()),
    }
}

/// Verifies every ledger, traces every consignment and writes the report; when `stopped`
/// (a service stopped during the run), a partial one of `results`, with no ledger verified
/// and no consignment traced.
pub(super) async fn report(
    t: &Topology,
    drivers: &Drivers,
    results: &[(Plan, Driven)],
    cfg: DemoConfig,
    began: Instant,
    stopped: Option<&Exited>,
) -> anyhow::Result<Report> {
    let route = &drivers.route;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut ledgers = Vec::new();
    let corpus = match stopped {
        Some(e) => {
            lines.push(String::new());
            lines.push(partial_line(e, results.len(), cfg.consignments));
            problems.push(e.to_string());
            None
        }
        None => Some(Corpus::load(t.clone(), Source::Remote, None).await?),
    };
    if let Some(corpus) = &corpus {
        ledgers.push(serde_json::json!({
            "service": "registry",
            "verified": corpus.registry.is_ok(),
        }));
        let declarant_key = PublicKey::load(
            &t.resolve(&t.declarant.key.as_ref().context("declarant key")?.public),
        )?;
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
    }

    let mut rows = Vec::new();
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
        let trace_problems = corpus
            .as_ref()
            .map(|c| c.trace(&id).problems)
            .unwrap_or_default();
        problems.extend(
            trace_problems
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
            "trace_verified": corpus.is_some() && trace_problems.is_empty(),
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
    lines.push(if reduction >= 0.0 {
        format!(
            "AEO recognition cuts mean clearance time by {:.1} %",
            reduction * 100.0
        )
    } else {
        // A small run can draw more controls for AEO traders than for the others.
        format!(
            "AEO traders' mean clearance time is {:.1} % longer than the others' in this run",
            -reduction * 100.0
        )
    });
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
    if let Some(e) = stopped {
        lines.push(format!(
            "ledgers: not verified ({} stopped during the run)",
            e.name
        ));
        lines.push("traces: not verified".into());
    } else {
        lines.push(format!("ledgers: {}", ledger_line.join(", ")));
        let traced_ok = rows.iter().filter(|r| r["trace_verified"] == true).count();
        lines.push(format!(
            "traces: {traced_ok}/{} verified across every ledger",
            rows.len()
        ));
    }
    lines.push(format!(
        "finished in {:.1} s",
        began.elapsed().as_secs_f64()
    ));

    let json = serde_json::json!({
        "seed": cfg.seed,
        "speed": cfg.speed,
        "partial": stopped.map(partial_json),
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
        stopped: stopped.cloned(),
    })
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
