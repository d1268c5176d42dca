//! What the dashboard shows, gathered from the services as an ordinary client: each node's
//! status and consignments, each ledger's size and witnessed checkpoint, the corridor clock.
//! A service that does not answer within [`ASK_TIMEOUT`] is shown as down; nothing here
//! fails because a service is missing.

use std::collections::BTreeMap;
use std::time::Duration;

use corridor_core::CountryCode;
use corridor_proto::v1;
use corridor_proto::v1::corridor_clock_client::CorridorClockClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::{ServiceRole, Topology};
use serde_json::{Value, json};
use tonic::transport::Channel;

/// How long one question to a service may take before it is shown as down.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// A channel to each service, connecting (and reconnecting) when used.
pub struct Services {
    t: Topology,
    registry: Channel,
    declarant: Channel,
    nodes: Vec<(CountryCode, Channel)>,
}

fn lazy(t: &Topology, addr: &str) -> anyhow::Result<Channel> {
    Ok(corridor_net::endpoint(t, &ServiceRole::Client, addr)?
        .connect_timeout(ASK_TIMEOUT)
        .timeout(ASK_TIMEOUT)
        .connect_lazy())
}

/// A lane in words (`green`, `yellow`, ...), empty when unassessed.
fn lane(l: i32) -> &'static str {
    match v1::Lane::try_from(l).unwrap_or(v1::Lane::Unspecified) {
        v1::Lane::Green => "green",
        v1::Lane::Blue => "blue",
        v1::Lane::Yellow => "yellow",
        v1::Lane::Red => "red",
        v1::Lane::Unspecified => "",
    }
}

/// A consignment state in words (`awaiting arrival`, `completed`, ...).
pub fn state_words(s: i32) -> &'static str {
    use v1::ConsignmentState as S;
    match S::try_from(s).unwrap_or(S::Unspecified) {
        S::Unspecified => "unknown",
        S::AwaitingArrival => "awaiting arrival",
        S::AwaitingOfficer => "awaiting an officer",
        S::Held => "held",
        S::Released => "released",
        S::Refused => "refused",
        S::Exited => "exited",
        S::HandedOver => "handed over",
        S::Completed => "completed",
        S::Cancelled => "cancelled",
    }
}

/// Where a ledger's witnessing stands: its witnessed size and cosigners' countries.
fn witnessed(w: v1::WitnessedCheckpoint) -> Value {
    match w.checkpoint.map(|cp| (cp.size, w.cosigners)) {
        Some((size, by)) => json!({
            "size": size,
            "by": by.iter().map(|n| n.rsplit('/').next().unwrap_or(n)).collect::<Vec<_>>(),
        }),
        None => Value::Null,
    }
}

/// One ledger's size and witnessed checkpoint; `up: false` when the service does not answer.
/// Both come from `GetWitnessedCheckpoint`, which only reads (`GetCheckpoint` would have the
/// service sign a checkpoint for every poll).
async fn ledger(service: &str, channel: &Channel) -> Value {
    let answer = LedgerReaderClient::new(channel.clone())
        .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
        .await;
    match answer {
        Ok(w) => {
            let w = w.into_inner();
            json!({
                "service": service,
                "up": true,
                "size": w.ledger_size,
                "witnessed": witnessed(w),
            })
        }
        Err(s) => json!({ "service": service, "up": false, "error": s.message() }),
    }
}

impl Services {
    /// Channels to every service of `t` (none connects until it is asked).
    pub fn new(t: &Topology) -> anyhow::Result<Self> {
        let mut nodes = Vec::new();
        for cc in t.country_codes() {
            let addr = t.node_addr(&cc)?.to_string();
            nodes.push((cc, lazy(t, &addr)?));
        }
        Ok(Self {
            t: t.clone(),
            registry: lazy(t, &t.registry.listen)?,
            declarant: lazy(t, &t.declarant.listen)?,
            nodes,
        })
    }

    /// The topology the services were found by.
    pub fn topology(&self) -> &Topology {
        &self.t
    }

    /// The channel to country `cc`'s node.
    pub fn node(&self, cc: &str) -> Option<&Channel> {
        self.nodes
            .iter()
            .find(|(c, _)| c.as_str() == cc)
            .map(|(_, ch)| ch)
    }

    /// Every node's consignment views, by country in route order; a node that does not
    /// answer has none.
    async fn views(&self) -> Vec<(String, Result<Vec<v1::ConsignmentView>, String>)> {
        let mut out = Vec::new();
        for (cc, ch) in &self.nodes {
            let r = CustomsNodeClient::new(ch.clone())
                .list_consignments(v1::ListConsignmentsRequest {
                    filter: v1::QueueFilter::All as i32,
                })
                .await
                .map(|r| r.into_inner().consignments)
                .map_err(|s| s.message().to_string());
            out.push((cc.to_string(), r));
        }
        out
    }

    /// The whole picture, as the page draws it.
    pub async fn snapshot(&self) -> Value {
        let t = &self.t;
        let target = t.clearance.target_micros();
        let views = self.views().await;
        let mut countries = Vec::new();
        let mut ledgers = vec![
            ledger("registry", &self.registry).await,
            ledger("declarant", &self.declarant).await,
        ];
        let mut clock = None;
        for ((cc, ch), (_, v)) in self.nodes.iter().zip(&views) {
            let name = t
                .countries
                .iter()
                .find(|c| c.code == cc.as_str())
                .map_or(String::new(), |c| c.name.clone());
            let status = CustomsNodeClient::new(ch.clone())
                .get_node_status(v1::NodeStatusRequest::default())
                .await
                .map(tonic::Response::into_inner);
            if clock.is_none() {
                clock = CorridorClockClient::new(ch.clone())
                    .get_corridor_time(v1::GetCorridorTimeRequest {})
                    .await
                    .ok()
                    .map(|r| r.into_inner().now_unix_micros);
            }
            let mut l = ledger(&format!("customs {cc}"), ch).await;
            l["country"] = json!(cc.as_str());
            let waiting: Vec<Value> = v
                .as_ref()
                .map(|views| {
                    views
                        .iter()
                        .filter(|x| {
                            matches!(
                                v1::ConsignmentState::try_from(x.state),
                                Ok(v1::ConsignmentState::AwaitingOfficer
                                    | v1::ConsignmentState::Held)
                            )
                        })
                        .map(|x| {
                            json!({
                                "id": x.consignment_id,
                                "lane": lane(x.lane),
                                "state": state_words(x.state),
                                "since_unix_micros": x.arrived_at_unix_micros,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            countries.push(match status {
                Ok(s) => json!({
                    "code": cc.as_str(),
                    "name": name,
                    "up": true,
                    "ledger_size": s.ledger_size,
                    "consignments": s.consignments,
                    "outbox": s.outbox,
                    "witnessed": l["witnessed"].clone(),
                    "waiting": waiting,
                }),
                Err(e) => json!({
                    "code": cc.as_str(),
                    "name": name,
                    "up": false,
                    "error": e.message(),
                    "waiting": [],
                }),
            });
            ledgers.push(l);
        }
        json!({
            "corridor": t.name,
            "clock_unix_micros": clock,
            "target_hours": target as f64 / 3.6e9,
            "countries": countries,
            "legs": t.legs.iter().map(|l| json!({
                "from": l.from, "to": l.to, "mode": l.mode,
                "from_place": l.from_place, "to_place": l.to_place, "hours": l.hours,
            })).collect::<Vec<_>>(),
            "ledgers": ledgers,
            "consignments": consignments(&views, target),
        })
    }
}

/// Every consignment any node knows, once: its lane at each country, where it stands (the
/// view of the last country on the route that knows it), AEO or not, and its clearance time
/// against the target.
fn consignments(
    views: &[(String, Result<Vec<v1::ConsignmentView>, String>)],
    target_micros: i64,
) -> Vec<Value> {
    /// Each country's lane, and the latest view.
    type Seen<'a> = (Vec<(String, &'static str)>, &'a v1::ConsignmentView);
    let mut by_id: BTreeMap<String, Seen<'_>> = BTreeMap::new();
    for (cc, v) in views {
        for x in v.iter().flatten() {
            let e = by_id
                .entry(x.consignment_id.clone())
                .or_insert_with(|| (Vec::new(), x));
            e.0.push((cc.clone(), lane(x.lane)));
            // Route order: a later country's view is the more recent one.
            e.1 = x;
        }
    }
    let mut out: Vec<(i64, Value)> = by_id
        .into_iter()
        .map(|(id, (lanes, x))| {
            let hours = x.clearance_micros as f64 / 3.6e9;
            let flag = if target_micros > 0 && x.clearance_micros >= target_micros {
                "breach"
            } else if target_micros > 0 && x.clearance_micros * 5 >= target_micros * 4 {
                "warning"
            } else {
                ""
            };
            let latest = x.events.last().map_or(0, |e| e.recorded_at_unix_micros);
            (
                latest,
                json!({
                    "id": id,
                    "at": x.country,
                    "state": state_words(x.state),
                    "lanes": lanes.into_iter().collect::<BTreeMap<_, _>>(),
                    "aeo": x.aeo_recognised,
                    "declarant": x.declarant_operator_id,
                    "clearance_hours": hours,
                    "flag": flag,
                }),
            )
        })
        .collect();
    // The most recently moved first.
    out.sort_by_key(|(latest, _)| std::cmp::Reverse(*latest));
    out.into_iter().map(|(_, v)| v).collect()
}
