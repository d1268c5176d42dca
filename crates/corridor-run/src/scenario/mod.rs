//! Scenarios: integration tests of clearance flows written as data (`corridor scenario run`).
//!
//! A scenario file ([`file::Scenario`]) names consignments (the sample consignment with the
//! scenario's trader, goods, broken seal and officers' decisions) and what must hold of each
//! at the end (its lanes, status, country, clearance time) and of the corridor (every ledger
//! and trace verified). [`check`] refuses a file that names a country not on the route or a
//! trader that is not one of the demonstration traders before anything starts; [`run`]
//! drives the consignments through a fresh corridor with the demo's engine
//! ([`crate::demo`]), on its scenario clock, and [`Outcome`] holds one [`Check`] per
//! expectation; [`junit`] writes them as JUnit XML.

pub mod file;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use corridor_core::CountryCode;
use corridor_proto::v1;
use corridor_topology::clock::format_micros;
use corridor_topology::{ClockConfig, Topology};
use serde_json::Value;

use crate::demo::{Cancel, Change, Decide, DemoConfig, Event, Plan, TRADERS};
use crate::launch::{Corridor, prepare};
use file::{Decision, Scenario};

/// A scenario file, read and checked against its topology: what [`run`] runs.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The file it came from.
    pub path: PathBuf,
    /// The scenario.
    pub scenario: Scenario,
    /// The topology file it runs on (`None`: the built-in Middle Corridor).
    pub topology: Option<PathBuf>,
    plans: Vec<Plan>,
    events: Vec<Event>,
}

/// Reads scenario file `path` and checks it against its topology: the scenario ready to run,
/// or one line naming the file and what is wrong.
pub fn check(path: &Path) -> Result<Checked, String> {
    let s = file::load(path)?;
    let shown = path.display();
    let topology = s
        .topology
        .as_ref()
        .map(|t| path.parent().unwrap_or_else(|| Path::new(".")).join(t));
    let t = match &topology {
        Some(p) => Topology::load(p),
        None => Topology::middle_corridor(),
    }
    .map_err(|e| format!("{shown}: topology: {e}"))?;
    let plans = plans(&s, &t).map_err(|e| format!("{shown}: {e}"))?;
    let events = events(&s, &t).map_err(|e| format!("{shown}: {e}"))?;
    Ok(Checked {
        path: path.to_owned(),
        scenario: s,
        topology,
        plans,
        events,
    })
}

/// The gRPC status codes a refusal may have, as tonic names them.
const CODES: [&str; 16] = [
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The registry changes of `s`, checked against `t`, or `FIELD: what is wrong`.
fn events(s: &Scenario, t: &Topology) -> Result<Vec<Event>, String> {
    let route = t.country_codes();
    let mut out = Vec::new();
    for (i, e) in s.events.iter().enumerate() {
        let at = |f: &str| format!("events[{i}].{f}");
        if !(e.at_hours.is_finite() && e.at_hours >= 0.0) {
            return Err(format!(
                "{}: {} is not zero or more",
                at("at_hours"),
                e.at_hours
            ));
        }
        let change = match (
            &e.suspend_certificate,
            &e.terminate_arrangement,
            &e.node_down,
        ) {
            (None, None, Some(down)) => {
                let country = route
                    .iter()
                    .find(|c| c.as_str() == down.country)
                    .ok_or_else(|| {
                        format!(
                            "{}: {:?} is not a country of the route",
                            at("node_down.country"),
                            down.country
                        )
                    })?;
                if !(down.hours.is_finite() && down.hours > 0.0) {
                    return Err(format!(
                        "{}: {} is not more than zero",
                        at("node_down.hours"),
                        down.hours
                    ));
                }
                // The process is known once the corridor runs.
                Change::Pause {
                    country: country.clone(),
                    pid: 0,
                    hours: down.hours,
                }
            }
            (Some(aeo), None, None) => {
                if !TRADERS.iter().any(|tr| tr.aeo == Some(aeo.as_str())) {
                    return Err(format!(
                        "{}: {aeo:?} is not a demonstration trader's certificate ({})",
                        at("suspend_certificate"),
                        TRADERS
                            .iter()
                            .filter_map(|t| t.aeo)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                Change::Suspend {
                    aeo_id: aeo.clone(),
                    reason: e.reason.clone(),
                }
            }
            (None, Some(term), None) => {
                let field = at("terminate_arrangement");
                let mut idx = Vec::new();
                for cc in &term.between {
                    idx.push(route.iter().position(|c| c.as_str() == cc).ok_or_else(|| {
                        format!("{field}.between: {cc:?} is not a country of the route")
                    })?);
                }
                idx.sort_unstable();
                if idx[0] == idx[1] {
                    return Err(format!(
                        "{field}.between: an arrangement is between two countries"
                    ));
                }
                if !term.between.contains(&term.by) {
                    return Err(format!(
                        "{field}.by: {:?} is not a party to the arrangement",
                        term.by
                    ));
                }
                Change::Terminate {
                    arrangement_id: format!("MRA-{}-{}", route[idx[0]], route[idx[1]]),
                    by: CountryCode::parse("by", &term.by).map_err(|x| x.to_string())?,
                    reason: e.reason.clone(),
                }
            }
            _ => {
                return Err(format!(
                    "events[{i}]: one of suspend_certificate, terminate_arrangement and node_down"
                ));
            }
        };
        out.push(Event {
            at_hours: e.at_hours,
            change,
        });
    }
    Ok(out)
}

/// The engine's plan of each consignment of `s` on `t`, or `FIELD: what is wrong`.
fn plans(s: &Scenario, t: &Topology) -> Result<Vec<Plan>, String> {
    if !(s.speed.is_finite() && s.speed > 0.0) {
        return Err(format!("speed: {} is not more than zero", s.speed));
    }
    if s.consignments.is_empty() {
        return Err("consignments: a scenario sends at least one".into());
    }
    let route = t.country_codes();
    let names: Vec<&str> = route.iter().map(CountryCode::as_str).collect();
    let country = |field: &str, cc: &str| -> Result<usize, String> {
        names.iter().position(|c| *c == cc).ok_or_else(|| {
            format!(
                "{field}: {cc:?} is not a country of the route ({})",
                names.join(", ")
            )
        })
    };
    let mut out = Vec::new();
    for (i, c) in s.consignments.iter().enumerate() {
        let at = |f: &str| format!("consignments[{i}].{f}");
        if s.consignments[..i].iter().any(|o| o.name == c.name) {
            return Err(format!(
                "{}: {:?} names two consignments",
                at("name"),
                c.name
            ));
        }
        let trader = TRADERS
            .iter()
            .position(|tr| tr.operator == c.trader)
            .ok_or_else(|| {
                format!(
                    "{}: {:?} is not a demonstration trader ({})",
                    at("trader"),
                    c.trader,
                    TRADERS.map(|t| t.operator).join(", ")
                )
            })?;
        if !(c.start_hours.is_finite() && c.start_hours >= 0.0) {
            return Err(format!(
                "{}: {} is not zero or more",
                at("start_hours"),
                c.start_hours
            ));
        }
        if c.goods.as_ref().is_some_and(|g| {
            !(6..=10).contains(&g.hs_code.len()) || !g.hs_code.bytes().all(|b| b.is_ascii_digit())
        }) {
            return Err(format!(
                "{}: an HS code is 6 to 10 digits",
                at("goods.hs_code")
            ));
        }
        let broken_seal_at = c
            .broken_seal_at
            .as_deref()
            .map(|cc| country(&at("broken_seal_at"), cc))
            .transpose()?;
        let mut officers = vec![
            (
                Decide::release(2.0, "documents in order"),
                Decide::release(2.0, "inspection: goods as declared"),
            );
            route.len()
        ];
        for (cc, o) in &c.officers {
            let k = country(&at(&format!("officers.{cc}")), cc)?;
            let field = at(&format!("officers.{cc}"));
            if !(o.after_hours.is_finite() && o.after_hours >= 0.0) {
                return Err(format!(
                    "{field}.after_hours: {} is not zero or more",
                    o.after_hours
                ));
            }
            let d = match (o.decision, &o.findings) {
                (Decision::Refuse, None) => {
                    return Err(format!("{field}.findings: a refusal states its findings"));
                }
                (Decision::Refuse, Some(f)) => Decide {
                    outcome: v1::Outcome::Refuse,
                    hours: o.after_hours,
                    findings: f.clone(),
                },
                (Decision::Release, f) => {
                    Decide::release(o.after_hours, f.as_deref().unwrap_or("documents in order"))
                }
            };
            officers[k] = (d.clone(), d);
        }
        for (j, r) in c.expect.refusals.iter().enumerate() {
            if !CODES.contains(&r.code.as_str()) {
                return Err(format!(
                    "{}: {:?} is not a gRPC status code ({})",
                    at(&format!("expect.refusals[{j}].code")),
                    r.code,
                    CODES.join(", ")
                ));
            }
        }
        for cc in c.expect.lanes.keys() {
            country(&at(&format!("expect.lanes.{cc}")), cc)?;
        }
        for cc in c.expect.aeo_recognised.keys() {
            country(&at(&format!("expect.aeo_recognised.{cc}")), cc)?;
        }
        if let Some(cc) = &c.expect.at {
            country(&at("expect.at"), cc)?;
        }
        let restricted = c.goods.as_ref().is_some_and(|g| {
            t.countries.iter().any(|k| {
                k.risk
                    .red_hs_prefixes
                    .iter()
                    .any(|p| g.hs_code.starts_with(p.as_str()))
            })
        });
        out.push(Plan {
            n: i as u32,
            trader,
            goods: c
                .goods
                .as_ref()
                .map(|g| (g.hs_code.clone(), g.description.clone())),
            restricted,
            broken_seal_at,
            start_hours: c.start_hours,
            officers,
            bill: c.bill.clone(),
            bill_of: match &c.bill_of {
                None => None,
                Some(other) => Some(
                    s.consignments[..i]
                        .iter()
                        .position(|o| &o.name == other)
                        .filter(|&k| s.consignments[k].start_hours <= c.start_hours)
                        .ok_or_else(|| {
                            format!(
                                "{}: {other:?} is not an earlier consignment of the file (one \
                                 listed before it, setting off no later)",
                                at("bill_of")
                            )
                        })? as u32,
                ),
            },
            cancel: c.cancel.as_ref().map(|k| Cancel {
                after_arrival: k.when == file::CancelWhen::AfterFirstBorder,
                reason: k.reason.clone(),
            }),
        });
    }
    Ok(out)
}

/// One expectation and what was seen.
#[derive(Clone, Debug)]
pub struct Check {
    /// The consignment it is about (`None`: the corridor).
    pub consignment: Option<String>,
    /// What was expected, in words.
    pub what: String,
    /// What was seen, when it was not what was expected.
    pub failure: Option<String>,
}

/// A scenario's run: each expectation's check.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// One per expectation, in the file's order.
    pub checks: Vec<Check>,
    /// How long the run took, corridor start-up included.
    pub took: Duration,
}

impl Outcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.failure.is_none())
    }

    /// A line per expectation: `ok` or `FAIL`, the scenario, the consignment, what was
    /// expected and (when it failed) what was seen.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| {
                let about = c.consignment.as_deref().unwrap_or("corridor");
                match &c.failure {
                    None => format!("ok   {} / {about}: {}", self.name, c.what),
                    Some(seen) => format!("FAIL {} / {about}: {}: {seen}", self.name, c.what),
                }
            })
            .collect()
    }
}

/// Runs scenario `c` on a fresh corridor under `root` (each service a child process of
/// `program`, the `corridor` binary, as `corridor up` starts them), stops it, and checks
/// every expectation.
pub async fn run(program: &Path, c: &Checked, root: &Path) -> anyhow::Result<Outcome> {
    let mut corridor = start(program, c, root).await?;
    let o = run_on(&corridor, c, 0).await;
    corridor.stop().await;
    o
}

/// Whether scenario `b` can run on the corridor started for `a` (`--shared`): the same
/// topology, clock speed and selectivity; else why not.
pub fn compatible(a: &Checked, b: &Checked) -> Result<(), String> {
    let why = if a.topology != b.topology {
        "another topology"
    } else if a.scenario.speed != b.scenario.speed {
        "another speed"
    } else if a.scenario.random_selectivity != b.scenario.random_selectivity {
        "another random_selectivity"
    } else {
        return Ok(());
    };
    Err(format!(
        "{}: cannot share {}'s corridor: {why}",
        b.path.display(),
        a.path.display()
    ))
}

/// Starts the corridor scenario `c` runs on, under `root`: its topology on free ports, on a
/// scenario clock at its speed, every random selection rate zero unless it keeps them.
pub async fn start(program: &Path, c: &Checked, root: &Path) -> anyhow::Result<Corridor> {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let start = format_micros(now);
    let speed = c.scenario.speed;
    let random = c.scenario.random_selectivity;
    let t = prepare(c.topology.as_deref(), root, true, |t| {
        t.clock = ClockConfig::Scenario {
            start: start.clone(),
            speed,
            anchor: Some(start.clone()),
        };
        if !random {
            let none = corridor_topology::risk::RiskProfile::all_green();
            for k in &mut t.countries {
                k.risk.rates = none.rates;
                k.risk.aeo_rates = none.aeo_rates;
                k.risk.min_random_rate = none.min_random_rate;
            }
        }
    })?;
    Corridor::start(program, t, root).await
}

/// Runs scenario `c` on `corridor` (started by [`start`]; scenarios that ran on it before
/// had `before` consignments in all, so this one's are numbered after them and its registry
/// is already set up) and checks every expectation.
pub async fn run_on(corridor: &Corridor, c: &Checked, before: u32) -> anyhow::Result<Outcome> {
    let began = Instant::now();
    let speed = c.scenario.speed;
    let cfg = DemoConfig {
        consignments: c.plans.len() as u32,
        seed: 0,
        speed,
    };
    let plans: Vec<Plan> = c
        .plans
        .iter()
        .cloned()
        .map(|mut p| {
            p.n += before;
            p.bill_of = p.bill_of.map(|k| k + before);
            p
        })
        .collect();
    let report = crate::demo::run_plans(
        corridor,
        plans,
        with_pids(&c.events, corridor),
        before == 0,
        cfg,
        Duration::from_secs(1),
        |_, _| {},
    )
    .await
    .context("the scenario's run")?;
    let route = corridor.topology.country_codes();
    let mut checks = Vec::new();
    let rows = report.json["consignments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, k) in c.scenario.consignments.iter().enumerate() {
        // Its number in the corridor's run.
        let n = before as usize + i;
        let mut say = |what: String, failure: Option<String>| {
            checks.push(Check {
                consignment: Some(k.name.clone()),
                what,
                failure,
            });
        };
        let e = &k.expect;
        let refused: Vec<&Value> = report.json["refusals"]
            .as_array()
            .map(|a| a.iter().filter(|r| r["n"] == n).collect())
            .unwrap_or_default();
        for r in &e.refusals {
            let what = format!(
                "{} refused with {}{}",
                r.action.name(),
                r.code,
                if r.message.is_empty() {
                    String::new()
                } else {
                    format!(" saying {:?}", r.message)
                }
            );
            let seen = refused.iter().find(|x| x["action"] == r.action.name());
            say(
                what,
                match seen {
                    None => Some(format!("{} was not refused", r.action.name())),
                    Some(x)
                        if x["code"] == r.code.as_str()
                            && x["message"]
                                .as_str()
                                .unwrap_or_default()
                                .contains(&r.message) =>
                    {
                        None
                    }
                    Some(x) => Some(format!(
                        "refused with {}: {}",
                        x["code"].as_str().unwrap_or_default(),
                        x["message"].as_str().unwrap_or_default()
                    )),
                },
            );
        }
        for x in refused
            .iter()
            .filter(|x| !e.refusals.iter().any(|r| x["action"] == r.action.name()))
        {
            say(
                format!(
                    "{} is not refused",
                    x["action"].as_str().unwrap_or_default()
                ),
                Some(format!(
                    "refused with {}: {}",
                    x["code"].as_str().unwrap_or_default(),
                    x["message"].as_str().unwrap_or_default()
                )),
            );
        }
        let Some(row) = rows.iter().find(|r| r["n"] == n) else {
            let declared = !refused.iter().any(|x| x["action"] == "submit");
            let why = report
                .problems
                .iter()
                .find(|p| p.starts_with(&format!("consignment {n}: ")))
                .cloned()
                .unwrap_or_else(|| "it was not driven to its end".into());
            match (e.status, declared) {
                (Some(file::Status::NotDeclared), false) => {
                    say("ends not declared".into(), None);
                }
                (Some(status), false) => {
                    say(
                        format!("ends {}", status.name()),
                        Some("it was not declared".into()),
                    );
                }
                (Some(status), true) => say(format!("ends {}", status.name()), Some(why)),
                (None, true) => say("driven to its end".into(), Some(why)),
                (None, false) => {}
            }
            continue;
        };
        // In route order.
        for (cc, lane) in route
            .iter()
            .filter_map(|cc| e.lanes.get_key_value(cc.as_str()))
        {
            let seen = row["countries"]
                .as_array()
                .and_then(|cs| cs.iter().find(|x| x["country"] == cc.as_str()))
                .map(|x| x["lane"].as_str().unwrap_or_default().to_owned());
            let want = lane.name();
            say(
                format!("lane at {cc} is {want}"),
                match seen {
                    Some(s) if s == want => None,
                    Some(s) => Some(format!("it is {s}")),
                    None => Some(format!("it never reached {cc}")),
                },
            );
        }
        for (cc, want) in route
            .iter()
            .filter_map(|cc| e.aeo_recognised.get_key_value(cc.as_str()))
        {
            let seen = row["countries"]
                .as_array()
                .and_then(|cs| cs.iter().find(|x| x["country"] == cc.as_str()))
                .map(|x| x["aeo"] == true);
            say(
                format!(
                    "its trader {} as an AEO at {cc}",
                    if *want {
                        "is recognised"
                    } else {
                        "is not recognised"
                    }
                ),
                match seen {
                    Some(s) if s == *want => None,
                    Some(s) => Some(format!("recognised: {s}")),
                    None => Some(format!("it never reached {cc}")),
                },
            );
        }
        if let Some(status) = e.status {
            say(
                format!("ends {}", status.name()),
                differs(&row["status"], status.name()),
            );
        }
        if let Some(cc) = &e.at {
            say(
                format!("ends at {cc}"),
                differs(&row["at"], cc).map(|_| format!("it ends at {}", row["at"])),
            );
        }
        if let Some(aeo) = e.aeo {
            say(
                if aeo {
                    "its trader is recognised as an AEO".into()
                } else {
                    "its trader is not recognised as an AEO".into()
                },
                (row["aeo"] != aeo).then(|| format!("recognised: {}", row["aeo"])),
            );
        }
        let hours = row["clearance_hours"].as_f64().unwrap_or_default();
        if let Some(most) = e.clearance_hours_at_most {
            say(
                format!("clears in at most {most} h"),
                (hours > most).then(|| format!("it took {hours:.1} h")),
            );
        }
        if let Some(least) = e.clearance_hours_at_least {
            say(
                format!("clears in at least {least} h"),
                (hours < least).then(|| format!("it took {hours:.1} h")),
            );
        }
        if let Some(within) = e.within_target {
            let seen = row["within_target"] == true;
            say(
                if within {
                    "completes within the clearance target".into()
                } else {
                    "does not complete within the clearance target (flagged)".into()
                },
                (seen != within).then(|| {
                    format!(
                        "{} in {hours:.1} h",
                        row["status"].as_str().unwrap_or_default()
                    )
                }),
            );
        }
        if e.lanes.is_empty()
            && e.status.is_none()
            && e.at.is_none()
            && e.aeo.is_none()
            && e.clearance_hours_at_most.is_none()
            && e.clearance_hours_at_least.is_none()
            && e.within_target.is_none()
            && e.refusals.is_empty()
            && e.aeo_recognised.is_empty()
        {
            say("driven to its end".into(), None);
        }
    }
    if !c.events.is_empty() {
        let failed: Vec<&str> = report
            .problems
            .iter()
            .filter(|p| p.starts_with("event at "))
            .map(String::as_str)
            .collect();
        checks.push(Check {
            consignment: None,
            what: "every registry event happens".into(),
            failure: (!failed.is_empty()).then(|| failed.join("; ")),
        });
    }
    if let Some(e) = &report.stopped {
        checks.push(Check {
            consignment: None,
            what: "every service runs to the end".into(),
            failure: Some(e.to_string()),
        });
    }
    let ledgers = report.json["ledgers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if c.scenario.expect.ledgers_verified {
        let bad: Vec<String> = ledgers
            .iter()
            .filter(|l| l["verified"] != true)
            .map(|l| l["service"].as_str().unwrap_or_default().to_owned())
            .collect();
        checks.push(Check {
            consignment: None,
            what: "every ledger verifies".into(),
            failure: (ledgers.is_empty() || !bad.is_empty())
                .then(|| format!("not verified: {}", bad.join(", "))),
        });
    }
    if c.scenario.expect.traces_verified {
        let bad: Vec<String> = rows
            .iter()
            .filter(|r| r["trace_verified"] != true)
            .map(|r| {
                r["id"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect()
            })
            .collect();
        let problems: Vec<&String> = report
            .problems
            .iter()
            .filter(|p| p.starts_with("trace "))
            .collect();
        checks.push(Check {
            consignment: None,
            what: "every consignment's trace verifies".into(),
            failure: (!bad.is_empty() || !problems.is_empty()).then(|| {
                format!(
                    "not verified: {}",
                    bad.iter()
                        .cloned()
                        .chain(problems.iter().map(|p| (*p).clone()))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }),
        });
    }
    Ok(Outcome {
        name: c.scenario.name.clone(),
        path: c.path.clone(),
        checks,
        took: began.elapsed(),
    })
}

/// `events` with each paused node's process id, from the running `corridor`.
fn with_pids(events: &[Event], corridor: &Corridor) -> Vec<Event> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            if let Change::Pause { country, pid, .. } = &mut e.change {
                let name = format!("customs {country}");
                *pid = corridor
                    .services
                    .iter()
                    .find(|s| s.name == name)
                    .map_or(0, |s| s.pid);
            }
            e
        })
        .collect()
}

/// `None` when `seen` is the string `want`, else what it is.
fn differs(seen: &Value, want: &str) -> Option<String> {
    match seen.as_str() {
        Some(s) if s == want => None,
        Some(s) => Some(format!("it ends {s}")),
        None => Some("not known".into()),
    }
}

/// The outcomes as JUnit XML: a test suite per scenario, a test case per expectation.
pub fn junit(outcomes: &[Outcome]) -> anyhow::Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut r = Report::new("corridor scenarios");
    for o in outcomes {
        let mut suite = TestSuite::new(o.name.as_str());
        suite.set_time(o.took);
        for c in &o.checks {
            let name = format!(
                "{}: {}",
                c.consignment.as_deref().unwrap_or("corridor"),
                c.what
            );
            let status = match &c.failure {
                None => TestCaseStatus::success(),
                Some(seen) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(seen.as_str());
                    s
                }
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(o.path.display().to_string());
            suite.add_test_case(case);
        }
        r.add_test_suite(suite);
    }
    r.to_string().context("cannot write the JUnit report")
}
