//! Each consignment driven through the corridor: what the seed plans for it (`Plan`), the
//! corridor's clock as the demo drives it (`Pace`), and the drivers that submit it and play
//! its officers (at the border posts it declares, `declared_posts`) and transport from
//! country to country (`Drivers`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use corridor_core::{CountryCode, Digest, Envelope, SigningKey, payload_type as pt};
use corridor_proto::examples::{Parties, plain_consignment};
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::{self, ConsignmentState as S, Lane};
use corridor_topology::Topology;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use super::parties::{CARRIER, CONSIGNEE, TRADERS, Trader};

/// An hour in microseconds.
pub(super) const HOUR: i64 = 3_600_000_000;

/// Restricted goods the demo sends now and then: (HS code, description).
const RESTRICTED: [(&str, &str); 2] = [
    (
        "2931900000",
        "Organo-phosphorus compounds (listed precursors)",
    ),
    ("9306210000", "Shotgun cartridges"),
];

/// What an officer decides about a consignment that awaits one, and after how long.
#[derive(Clone, Debug)]
pub(crate) struct Decide {
    /// Release or refuse.
    pub(crate) outcome: v1::Outcome,
    /// Corridor hours the check or inspection takes.
    pub(crate) hours: f64,
    /// What the officer found.
    pub(crate) findings: String,
}

impl Decide {
    pub(crate) fn release(hours: f64, findings: &str) -> Self {
        Self {
            outcome: v1::Outcome::Release,
            hours,
            findings: findings.into(),
        }
    }
}

/// What a scenario decides for one consignment: the seed's for the demo, a file's for
/// `corridor scenario`.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The consignment's number in the scenario.
    pub(crate) n: u32,
    /// Its trader, an index into `TRADERS`.
    pub(crate) trader: usize,
    /// The goods of its first item, when not the sample's: (HS code, description).
    pub(crate) goods: Option<(String, String)>,
    /// Whether those goods are restricted (as the report counts them).
    pub(crate) restricted: bool,
    /// The border (its index on the route) where a seal is found broken, if any.
    pub(crate) broken_seal_at: Option<usize>,
    /// When it sets off, in corridor hours after the scenario starts.
    pub(crate) start_hours: f64,
    /// At each country (by its index on the route), what an officer decides when the
    /// consignment awaits one in the yellow lane, and in the red lane.
    pub(crate) officers: Vec<(Decide, Decide)>,
    /// Its bill of lading's transport document reference, when not its own
    /// (`KTZE-DEMO-NNNNNN`): two consignments of one bill are a double spend.
    pub(crate) bill: Option<String>,
    /// Whether its declarant cancels it, and when.
    pub(crate) cancel: Option<Cancel>,
    /// The consignment (its number) whose bill of lading this one declares again, instead
    /// of a bill of its own: a double spend unless that one was cancelled.
    pub(crate) bill_of: Option<u32>,
}

/// A cancellation by the declarant.
#[derive(Clone, Debug)]
pub(crate) struct Cancel {
    /// Once the goods have arrived at the first border (which the node refuses), rather than
    /// half an hour after the declaration.
    pub(crate) after_arrival: bool,
    /// Why.
    pub(crate) reason: String,
}

/// A change to the corridor at a corridor time of the scenario: to the registry, signed by
/// the authority that may make it, or a node that stops answering for a while.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// The node process `pid` of `country` paused (SIGSTOP) for `hours`, then resumed: it
    /// answers nothing meanwhile, as a node that is down.
    Pause {
        /// The country.
        country: CountryCode,
        /// Its node's process.
        pid: u32,
        /// For how long, in corridor hours.
        hours: f64,
    },
    /// An AEO certificate suspended by its issuing country's authority.
    Suspend {
        /// The certificate.
        aeo_id: String,
        /// Why.
        reason: String,
    },
    /// An arrangement terminated by one of its parties.
    Terminate {
        /// The arrangement.
        arrangement_id: String,
        /// The party that terminates it.
        by: CountryCode,
        /// Why.
        reason: String,
    },
}

/// A registry change and when it happens, in corridor hours after the scenario starts.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) at_hours: f64,
    pub(crate) change: Change,
}

/// A request of a consignment's flow that a service refused, as the flow records it.
#[derive(Clone, Debug)]
pub(crate) struct Refusal {
    /// The consignment's number in the scenario.
    pub(crate) n: u32,
    /// What was refused: `submit` or `cancel`.
    pub(crate) action: &'static str,
    /// The gRPC status code.
    pub(crate) code: tonic::Code,
    /// Its message.
    pub(crate) message: String,
}

impl Plan {
    /// The demo's plan for its consignment `n` on a route of `countries`, from `seed`.
    pub(super) fn new(seed: u64, n: u32, countries: usize) -> Self {
        let d = Digest::of_parts(&[b"corridor/demo/v1", &seed.to_be_bytes(), &n.to_be_bytes()]);
        let b = d.as_bytes();
        let restricted = b[1]
            .is_multiple_of(12)
            .then_some(usize::from(b[2]) % RESTRICTED.len());
        let yellow_hours = 2.0 + f64::from(b[5] % 9);
        let red_hours = 12.0 + f64::from(b[6] % 25);
        let refuse_restricted = b[7].is_multiple_of(2);
        let red = if restricted.is_some() && refuse_restricted {
            Decide {
                outcome: v1::Outcome::Refuse,
                hours: red_hours,
                findings: "restricted goods without an export licence".into(),
            }
        } else {
            Decide::release(red_hours, "inspection: goods as declared")
        };
        Self {
            n,
            trader: usize::from(b[0]) % TRADERS.len(),
            goods: restricted.map(|r| (RESTRICTED[r].0.into(), RESTRICTED[r].1.into())),
            restricted: restricted.is_some(),
            broken_seal_at: b[3].is_multiple_of(25).then_some(usize::from(b[4]) % 4),
            start_hours: f64::from(n) * 0.5,
            officers: vec![(Decide::release(yellow_hours, "documents in order"), red); countries],
            bill: None,
            cancel: None,
            bill_of: None,
        }
    }
}

/// Where a consignment's officers record it at one country of its route.
pub(crate) struct StepPosts {
    /// The UN/LOCODE of the post it arrives at.
    pub(crate) arrival: String,
    /// The UN/LOCODE of the post it exits at (empty at the last country).
    pub(crate) exit: String,
}

/// The posts of each step of declaration `d`'s route, as declared: an arrival at the entry
/// post (at the first country, where the declaration names none, its first post in the
/// topology `t`: the goods are presented there for export), an exit at the exit post.
pub(crate) fn declared_posts(t: &Topology, d: &v1::Declaration) -> anyhow::Result<Vec<StepPosts>> {
    d.route
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let arrival = if i == 0 {
                let cc = CountryCode::parse("route[0].country", &step.country)?;
                let posts = t.posts(&cc)?;
                let first = posts
                    .first()
                    .with_context(|| format!("{cc} lists no border post"))?;
                first.locode.to_string()
            } else {
                step.entry_border_post.clone()
            };
            Ok(StepPosts {
                arrival,
                exit: step.exit_border_post.clone(),
            })
        })
        .collect()
}

/// Makes the sample declaration's `route` follow topology `t`'s: its steps for the
/// countries the topology has, in the topology's order, and a transit step for each country
/// the sample does not name (entering and leaving at its first entry and exit posts, planned
/// half way between its neighbours, carried as the next step is).
fn follow_route(t: &Topology, route: &mut Vec<v1::RouteStep>) -> anyhow::Result<()> {
    use corridor_topology::Crossing;
    let codes = t.country_codes();
    let mut out: Vec<v1::RouteStep> = Vec::with_capacity(codes.len());
    for (i, cc) in codes.iter().enumerate() {
        if let Some(step) = route.iter().find(|s| s.country == cc.as_str()) {
            out.push(step.clone());
            continue;
        }
        let posts = t.posts(cc)?;
        let first = |way| {
            posts
                .iter()
                .find(|p| p.crosses(way))
                .map(|p| p.locode.to_string())
                .with_context(|| format!("{cc} has no {way} post"))
        };
        let next = codes[i + 1..]
            .iter()
            .find_map(|n| route.iter().find(|s| s.country == n.as_str()));
        let before = out.last().map_or(0, |s| s.planned_arrival_unix_micros);
        let after = next.map_or(before, |s| s.planned_arrival_unix_micros);
        out.push(v1::RouteStep {
            country: cc.to_string(),
            role: v1::DeclarationRole::Transit as i32,
            entry_border_post: first(Crossing::Entry)?,
            exit_border_post: first(Crossing::Exit)?,
            planned_arrival_unix_micros: before + (after - before) / 2,
            border_transport_means: next.and_then(|s| s.border_transport_means.clone()),
        });
    }
    *route = out;
    Ok(())
}

/// What became of one consignment: its id, or why driving it failed.
pub(super) type Driven = Result<String, String>;

/// The corridor's clock as the demo drives it.
#[derive(Clone, Copy)]
pub(super) struct Pace {
    pub(super) speed: f64,
}

impl Pace {
    async fn hours(&self, h: f64) {
        if h > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(h * 3600.0 / self.speed)).await;
        }
    }
}

/// What the consignments' drivers share: the corridor's clients, clock and officers.
pub(super) struct Drivers {
    pub(super) t: Topology,
    pub(super) clock: corridor_topology::Clock,
    pub(super) pace: Pace,
    pub(super) declarant: DeclarantClient<Channel>,
    pub(super) nodes: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
    pub(super) officers: BTreeMap<CountryCode, SigningKey>,
    pub(super) route: Vec<CountryCode>,
    /// The requests refused along the consignments' flows.
    pub(super) refusals: std::sync::Mutex<Vec<Refusal>>,
    /// Each declared consignment's bill of lading id, by its number (`None`: its
    /// declaration was refused), for the consignments that declare it again.
    pub(super) bills: tokio::sync::watch::Sender<BTreeMap<u32, Option<String>>>,
}

impl Drivers {
    fn refused(&self, plan: &Plan, action: &'static str, s: &tonic::Status) {
        self.refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Refusal {
                n: plan.n,
                action,
                code: s.code(),
                message: s.message().to_owned(),
            });
    }

    /// Asks the declarant to cancel consignment `id` as `plan` says: whether it did (a
    /// refusal is recorded).
    async fn cancel(&self, plan: &Plan, c: &Cancel, id: &str) -> bool {
        let r = self
            .declarant
            .clone()
            .cancel_consignment(v1::CancelConsignmentRequest {
                consignment_id: id.into(),
                reason: c.reason.clone(),
            })
            .await;
        match r {
            Ok(_) => true,
            Err(s) => {
                self.refused(plan, "cancel", &s);
                false
            }
        }
    }

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

    pub(super) fn node(&self, cc: &CountryCode) -> anyhow::Result<CustomsNodeClient<Channel>> {
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

    /// Makes registry change `e` at its time; waits until every service has it.
    pub(super) async fn happen(&self, e: &Event) -> anyhow::Result<()> {
        use crate::bootstrap::{Registrar, authority_key, sync};
        self.pace.hours(e.at_hours).await;
        if let Change::Pause {
            country,
            pid,
            hours,
        } = &e.change
        {
            // Never 0: `kill` would signal this whole process group.
            if *pid == 0 {
                bail!("no process of the node of {country}");
            }
            let signal = |s: &str| {
                std::process::Command::new("kill")
                    .args([s, &pid.to_string()])
                    .status()
                    .ok()
                    .filter(std::process::ExitStatus::success)
                    .with_context(|| format!("kill {s} {pid} (the node of {country})"))
            };
            signal("-STOP")?;
            self.pace.hours(*hours).await;
            signal("-CONT")?;
            return Ok(());
        }
        let now = self.clock.now_micros();
        let mut registrar = Registrar::connect(&self.t).await?;
        match &e.change {
            Change::Pause { .. } => {}
            Change::Suspend { aeo_id, reason } => {
                let aeo = corridor_core::AeoId::parse("aeo_id", aeo_id)?;
                let doc = v1::CertificateStatusChange {
                    aeo_id: aeo_id.clone(),
                    action: v1::CertificateAction::Suspend as i32,
                    reason: reason.clone(),
                    effective_at_unix_micros: now,
                    issued_at_unix_micros: now,
                };
                registrar
                    .change_certificate_status(&doc, &authority_key(&self.t, &aeo.country())?)
                    .await
                    .map_err(|s| anyhow::anyhow!("suspending {aeo_id}: {}", s.message()))?;
            }
            Change::Terminate {
                arrangement_id,
                by,
                reason,
            } => {
                let doc = v1::ArrangementTermination {
                    arrangement_id: arrangement_id.clone(),
                    country: by.to_string(),
                    reason: reason.clone(),
                    effective_at_unix_micros: now,
                    issued_at_unix_micros: now,
                };
                registrar
                    .terminate_arrangement(&doc, &authority_key(&self.t, by)?)
                    .await
                    .map_err(|s| {
                        anyhow::anyhow!("terminating {arrangement_id}: {}", s.message())
                    })?;
            }
        }
        sync(&self.t).await?;
        Ok(())
    }

    /// One consignment from submission to its end, officers and transport simulated.
    pub(super) async fn drive(&self, plan: &Plan) -> anyhow::Result<String> {
        self.pace.hours(plan.start_hours).await;
        let Trader {
            operator: trader,
            origin,
            ..
        } = TRADERS[plan.trader];
        let now = self.clock.now_micros();
        let bill = plan
            .bill
            .clone()
            .unwrap_or_else(|| format!("KTZE-DEMO-{:06}", plan.n));
        let plain = plain_consignment(
            &bill,
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
            if let (Some((hs, what)), Some(i)) = (&plan.goods, b.consignment_items.first_mut()) {
                i.hs_code.clone_from(hs);
                i.description_of_goods.clone_from(what);
            }
        }
        if let (Some((hs, what)), Some(i)) = (
            &plan.goods,
            request
                .declaration
                .as_mut()
                .and_then(|d| d.items.first_mut()),
        ) {
            i.hs_code.clone_from(hs);
            i.description_of_goods.clone_from(what);
        }
        if let Some(d) = request.declaration.as_mut() {
            follow_route(&self.t, &mut d.route)?;
        }
        let posts = declared_posts(
            &self.t,
            request.declaration.as_ref().context("a declaration")?,
        )?;
        if let Some(k) = plan.bill_of {
            let mut issued = self.bills.subscribe();
            let bill = issued
                .wait_for(|m| m.contains_key(&k))
                .await
                .context("the bills' record")?
                .get(&k)
                .cloned()
                .flatten()
                .with_context(|| {
                    format!("consignment {k}, whose bill it declares, was not declared")
                })?;
            request.bill_of_lading = None;
            request.bill_of_lading_id = bill;
        }
        let submitted = self.declarant.clone().submit_consignment(request).await;
        let bill = submitted
            .as_ref()
            .ok()
            .map(|r| r.get_ref().bill_of_lading_id.clone());
        self.bills.send_modify(|m| {
            m.insert(plan.n, bill);
        });
        let r = submitted
            .map_err(|s| {
                self.refused(plan, "submit", &s);
                anyhow::anyhow!("submission refused: {}", s.message())
            })?
            .into_inner();
        let id = r.consignment_id;
        let idb = Digest::parse_hex("id", &id)?.as_bytes().to_vec();
        if let Some(c) = plan.cancel.as_ref().filter(|c| !c.after_arrival) {
            self.pace.hours(0.5).await;
            if self.cancel(plan, c, &id).await {
                return Ok(id);
            }
        }
        // The goods are presented at the place of loading an hour after the declaration.
        self.pace.hours(1.0).await;
        let last = self.route.len() - 1;
        for (i, cc) in self.route.iter().enumerate() {
            if i > 0 {
                self.pace
                    .hours(self.leg_hours(&self.route[i - 1], cc))
                    .await;
            }
            let at = posts
                .get(i)
                .context("a step of the route for every country")?;
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
                border_post: at.arrival.clone(),
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
                let (yellow, red) = plan
                    .officers
                    .get(i)
                    .context("an officer's plan for every country")?;
                let decide = if r.lane() == Lane::Red { red } else { yellow };
                self.pace.hours(decide.hours).await;
                let d = v1::OfficerDecision {
                    consignment_id: idb.clone(),
                    country: cc.to_string(),
                    outcome: decide.outcome as i32,
                    findings: decide.findings.clone(),
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
            if let Some(c) = plan.cancel.as_ref().filter(|c| c.after_arrival && i == 0)
                && self.cancel(plan, c, &id).await
            {
                return Ok(id);
            }
            if i == last {
                return Ok(id);
            }
            self.pace.hours(self.leg_hours(cc, cc)).await;
            let exit = v1::BorderEvent {
                consignment_id: idb.clone(),
                country: cc.to_string(),
                kind: v1::BorderEventKind::Exit as i32,
                border_post: at.exit.clone(),
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
