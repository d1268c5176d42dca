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

use corridor_audit::{Corpus, Source};
use corridor_core::Digest;
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
            "witnessed": witnessed_head(t, &t.registry.listen).await?,
        }));
        let declarant = corridor_audit::source::remote_ledger(
            t,
            &corridor_topology::ServiceRole::Declarant,
            Some(""),
        )
        .await?;
        ledgers.push(serde_json::json!({
            "service": "declarant",
            "verified": declarant.verified.is_ok(),
            "witnessed": witnessed_head(t, &t.declarant.listen).await?,
        }));
        for (cc, v) in corpus.node_ledgers() {
            ledgers.push(serde_json::json!({
                "service": format!("customs {cc}"),
                "country": cc.to_string(),
                "verified": v.is_ok(),
                "witnessed": witnessed_head(t, &t.node_addr(cc)?.to_string()).await?,
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
                serde_json::json!({
                    "country": v.country,
                    "lane": lane_name(v.lane),
                    "aeo": v.aeo_recognised,
                })
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
            "n": plan.n,
            "id": id_hex,
            "reference": last.declaration_reference,
            "trader": trader,
            "aeo": aeo,
            "status": status,
            "clearance_hours": (hours * 100.0).round() / 100.0,
            "within_target": status == "completed" && last.clearance_micros <= target,
            "restricted_goods": plan.restricted,
            "at": last.country,
            "countries": countries,
            "trace_verified": corpus.is_some() && trace_problems.is_empty(),
        }));
    }
    let share = (completed > 0).then(|| f64::from(within) / f64::from(completed));
    let (ma, mo) = (mean(&aeo_hours), mean(&other_hours));
    let (comparison, reduction) = compare(ma, mo);
    lines.push(String::new());
    lines.push(format!(
        "{} consignments: {completed} completed, {} refused or held; {}",
        rows.len(),
        rows.len() as u32 - completed,
        match share {
            Some(share) => format!(
                "within {} h: {within}/{completed} ({:.1} %)",
                t.clearance.target_hours,
                share * 100.0
            ),
            None => "none completed, so none within the target".to_owned(),
        }
    ));
    lines.push("clearance hours (completed)   n    mean    p95".into());
    for (who, hours, m) in [
        ("AEO traders", &aeo_hours, ma),
        ("other traders", &other_hours, mo),
    ] {
        lines.push(format!(
            "  {who:<24} {:>4} {:>7} {:>6}",
            hours.len(),
            hours_text(m),
            hours_text(p95(hours))
        ));
    }
    lines.push(comparison);
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
    let witnessed_line: Vec<String> = ledgers
        .iter()
        .map(|l| {
            let w = &l["witnessed"];
            let by: Vec<&str> = w["cosigners"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str())
                        .map(|n| n.rsplit('/').next().unwrap_or(n))
                        .collect()
                })
                .unwrap_or_default();
            let head = if w["head_witnessed"] == true {
                "head witnessed"
            } else {
                "head NOT witnessed"
            };
            format!(
                "{} {head} ({}/{} entries, by {})",
                l["service"].as_str().unwrap_or("?"),
                w["size"],
                w["ledger_size"],
                if by.is_empty() {
                    "nobody".to_owned()
                } else {
                    by.join(" ")
                }
            )
        })
        .collect();
    if stopped.is_none() && !witnessed_line.is_empty() {
        lines.push(format!("witnessing: {}", witnessed_line.join("; ")));
        for l in &ledgers {
            let w = &l["witnessed"];
            if w["quorum"].as_u64().unwrap_or(0) > 0 && w["head_witnessed"] != true {
                problems.push(format!(
                    "the head of the {} ledger was not witnessed by its quorum",
                    l["service"].as_str().unwrap_or("?")
                ));
            }
        }
    }
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

    let refusals: Vec<serde_json::Value> = drivers
        .refusals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|r| {
            serde_json::json!({
                "n": r.n,
                "action": r.action,
                "code": format!("{:?}", r.code),
                "message": r.message,
            })
        })
        .collect();
    let json = serde_json::json!({
        "seed": cfg.seed,
        "speed": cfg.speed,
        "partial": stopped.map(partial_json),
        "consignments": rows,
        "refusals": refusals,
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

/// The mean of `v`; none of no values.
fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The 95th percentile of `v` (nearest rank); none of no values.
fn p95(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[((s.len() as f64 * 0.95).ceil() as usize).clamp(1, s.len()) - 1])
}

fn hours_text(h: Option<f64>) -> String {
    h.map_or_else(|| "-".to_owned(), |h| format!("{h:.1}"))
}

/// The report's line comparing the mean clearance time of AEO traders (`aeo`) with the
/// others' (`other`), and the share by which AEO recognition cuts it: none unless both groups
/// completed consignments and the others' mean is above zero.
fn compare(aeo: Option<f64>, other: Option<f64>) -> (String, Option<f64>) {
    let (aeo, other) = match (aeo, other) {
        (Some(a), Some(o)) => (a, o),
        (None, None) => {
            return (
                "no consignment completed: no comparison of AEO traders with others".into(),
                None,
            );
        }
        (None, Some(_)) => {
            return (
                "no AEO trader's consignment completed: no comparison of AEO traders with others"
                    .into(),
                None,
            );
        }
        (Some(_), None) => {
            return (
                "no other trader's consignment completed: no comparison of AEO traders with others"
                    .into(),
                None,
            );
        }
    };
    if other <= 0.0 {
        let line = if aeo <= 0.0 {
            "AEO traders and others cleared without dwelling at any border: no difference"
        } else {
            "other traders cleared without dwelling at any border, AEO traders did not"
        };
        return (line.into(), None);
    }
    let reduction = 1.0 - aeo / other;
    let line = if reduction >= 0.0 {
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
    };
    (line, Some(reduction))
}

/// The witnessed checkpoint of the service at `addr`, once it covers the ledger (its head
/// is offered every witnessing interval; waited for at most 5 s): its size, the ledger's
/// size, who cosigned it and the quorum.
async fn witnessed_head(t: &Topology, addr: &str) -> anyhow::Result<serde_json::Value> {
    let mut c = corridor_proto::v1::ledger_reader_client::LedgerReaderClient::new(
        corridor_audit::source::connect(t, addr).await?,
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let w = c
            .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
            .await?
            .into_inner();
        let size = w.checkpoint.as_ref().map_or(0, |cp| cp.size);
        let head = w.checkpoint.is_some() && size == w.ledger_size && w.quorum > 0;
        if head || w.quorum == 0 || Instant::now() > deadline {
            return Ok(serde_json::json!({
                "size": size,
                "ledger_size": w.ledger_size,
                "cosigners": w.cosigners,
                "quorum": w.quorum,
                "head_witnessed": head,
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_needs_both_groups() {
        assert_eq!(
            compare(None, Some(10.0)),
            (
                "no AEO trader's consignment completed: no comparison of AEO traders with others"
                    .into(),
                None
            )
        );
        assert_eq!(compare(Some(4.0), None).1, None);
        assert!(compare(Some(4.0), None).0.starts_with("no other trader's"));
        assert_eq!(compare(None, None).1, None);
        assert!(
            compare(None, None)
                .0
                .starts_with("no consignment completed")
        );
    }

    #[test]
    fn a_comparison_of_both_groups_is_their_means_ratio() {
        let (line, r) = compare(Some(5.0), Some(10.0));
        assert_eq!(r, Some(0.5));
        assert_eq!(line, "AEO recognition cuts mean clearance time by 50.0 %");
        let (line, r) = compare(Some(12.0), Some(10.0));
        assert!((r.unwrap() + 0.2).abs() < 1e-12, "{r:?}");
        assert_eq!(
            line,
            "AEO traders' mean clearance time is 20.0 % longer than the others' in this run"
        );
        // Nothing to divide by: no share.
        assert_eq!(compare(Some(0.0), Some(0.0)).1, None);
        assert_eq!(compare(Some(3.0), Some(0.0)).1, None);
    }

    #[test]
    fn statistics_of_no_values_are_none() {
        assert_eq!(mean(&[]), None);
        assert_eq!(p95(&[]), None);
        assert_eq!(hours_text(None), "-");
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(p95(&twenty), Some(19.0));
        assert_eq!(p95(&[7.0]), Some(7.0));
    }
}
