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

/// The lanes in words, as the picture and the API's `lane` filter name them.
pub const LANES: [&str; 4] = ["green", "blue", "yellow", "red"];

/// The states in words, as the picture and the API's `state` filter name them.
pub const STATES: [&str; 9] = [
    "awaiting arrival",
    "awaiting an officer",
    "held",
    "released",
    "refused",
    "exited",
    "handed over",
    "completed",
    "cancelled",
];

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

/// Where a ledger's witnessing stands: its last witnessed checkpoint's size, root and head
/// entry hashes (hex), and its cosigners' countries.
fn witnessed(w: v1::WitnessedCheckpoint) -> Value {
    match w.checkpoint {
        Some(cp) => json!({
            "size": cp.size,
            "root": hex::encode(&cp.root_hash),
            "head": hex::encode(&cp.head_hash),
            "by": w.cosigners.iter().map(|n| n.rsplit('/').next().unwrap_or(n)).collect::<Vec<_>>(),
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

    /// The whole picture, as the page draws it. Every service is asked at once, so one that
    /// does not answer delays the picture by [`ASK_TIMEOUT`] at most.
    pub async fn snapshot(&self) -> Value {
        let t = &self.t;
        let target = t.clearance.target_micros();
        let mut asked = tokio::task::JoinSet::new();
        for (i, (cc, ch)) in self.nodes.iter().enumerate() {
            let (cc, ch) = (cc.clone(), ch.clone());
            asked.spawn(async move { (i, ask_node(cc, ch).await) });
        }
        let (registry, declarant) = tokio::join!(
            ledger("registry", &self.registry),
            ledger("declarant", &self.declarant)
        );
        let mut answers: Vec<Option<NodeAnswer>> = vec![None; self.nodes.len()];
        while let Some(done) = asked.join_next().await {
            // A task only panics if the runtime is shutting down: the picture is then moot.
            if let Ok((i, a)) = done {
                answers[i] = Some(a);
            }
        }
        let answers: Vec<NodeAnswer> = answers
            .into_iter()
            .zip(&self.nodes)
            .map(|(a, (cc, _))| a.unwrap_or_else(|| NodeAnswer::silent(cc)))
            .collect();
        let clock = answers.iter().find_map(|a| a.clock);
        let mut ledgers = vec![registry, declarant];
        let mut countries = Vec::new();
        for a in &answers {
            let name = t
                .countries
                .iter()
                .find(|c| c.code == a.cc)
                .map_or(String::new(), |c| c.name.clone());
            let waiting: Vec<Value> = a
                .views
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
            countries.push(match &a.status {
                Ok(s) => json!({
                    "code": a.cc,
                    "name": name,
                    "up": true,
                    "ledger_size": s.ledger_size,
                    "consignments": s.consignments,
                    "outbox": s.outbox,
                    "witnessed": a.ledger["witnessed"].clone(),
                    "waiting": waiting,
                }),
                Err(e) => json!({
                    "code": a.cc,
                    "name": name,
                    "up": false,
                    "error": e,
                    "waiting": [],
                }),
            });
            ledgers.push(a.ledger.clone());
        }
        let route = Route::of(t);
        json!({
            "corridor": t.name,
            "clock_unix_micros": clock,
            "target_hours": target as f64 / 3.6e9,
            "countries": countries,
            "stations": route.stations.iter().map(|(place, cc)| json!({
                "place": place, "country": cc,
            })).collect::<Vec<_>>(),
            "legs": t.legs.iter().map(|l| json!({
                "from": l.from, "to": l.to, "mode": l.mode,
                "from_place": l.from_place, "to_place": l.to_place, "hours": l.hours,
                "transit": l.transit,
            })).collect::<Vec<_>>(),
            "ledgers": ledgers,
            "consignments": consignments(&answers, &route, clock.unwrap_or(0), target),
        })
    }
}

/// What one node said: its consignments, status, ledger and the corridor clock, or why not.
#[derive(Clone)]
struct NodeAnswer {
    cc: String,
    views: Result<Vec<v1::ConsignmentView>, String>,
    status: Result<v1::NodeStatus, String>,
    ledger: Value,
    clock: Option<i64>,
}

impl NodeAnswer {
    fn silent(cc: &CountryCode) -> Self {
        Self {
            cc: cc.to_string(),
            views: Err("not asked".into()),
            status: Err("not asked".into()),
            ledger: json!({ "service": format!("customs {cc}"), "country": cc.as_str(), "up": false }),
            clock: None,
        }
    }
}

/// Asks country `cc`'s node everything the picture needs, each question at once.
async fn ask_node(cc: CountryCode, ch: Channel) -> NodeAnswer {
    let mut node = CustomsNodeClient::new(ch.clone());
    let mut node2 = node.clone();
    let mut clock = CorridorClockClient::new(ch.clone());
    let service = format!("customs {cc}");
    let (views, status, clock, mut ledger) = tokio::join!(
        node.list_consignments(v1::ListConsignmentsRequest {
            filter: v1::QueueFilter::All as i32,
        }),
        node2.get_node_status(v1::NodeStatusRequest::default()),
        clock.get_corridor_time(v1::GetCorridorTimeRequest {}),
        ledger(&service, &ch),
    );
    ledger["country"] = json!(cc.as_str());
    NodeAnswer {
        cc: cc.to_string(),
        views: views
            .map(|r| r.into_inner().consignments)
            .map_err(|s| s.message().to_string()),
        status: status
            .map(tonic::Response::into_inner)
            .map_err(|s| s.message().to_string()),
        ledger,
        clock: clock.ok().map(|r| r.into_inner().now_unix_micros),
    }
}

/// The route as the map draws it: its places in order (each leg's start, then the last
/// leg's end), each with its country, and the legs between them (leg `i` runs from place `i`
/// to place `i + 1`).
struct Route {
    stations: Vec<(String, String)>,
    legs: Vec<(String, String, f64)>,
}

impl Route {
    fn of(t: &Topology) -> Self {
        let mut stations: Vec<(String, String)> = t
            .legs
            .iter()
            .map(|l| (l.from_place.clone(), l.from.clone()))
            .collect();
        if let Some(l) = t.legs.last() {
            stations.push((l.to_place.clone(), l.to.clone()));
        }
        Self {
            stations,
            legs: t
                .legs
                .iter()
                .map(|l| (l.from.clone(), l.to.clone(), l.hours))
                .collect(),
        }
    }

    /// The place where goods enter country `cc`: the end of the leg into it (the route's
    /// first place for the first country).
    fn entry(&self, cc: &str) -> f64 {
        self.legs
            .iter()
            .position(|(from, to, _)| to == cc && from != cc)
            .map_or(0.0, |i| (i + 1) as f64)
    }

    /// Where goods are `hours` after starting the legs `of` (in order, one after another),
    /// as a place index with a fraction; `None` when there are no such legs. Short of the
    /// last place: arrival there is an officer's event, not a matter of time.
    fn along(&self, of: &[usize], mut hours: f64) -> Option<f64> {
        let last = *of.last()?;
        for &i in of {
            let h = self.legs[i].2;
            if hours < h {
                return Some(i as f64 + (hours.max(0.0) / h).min(0.97));
            }
            hours -= h;
        }
        Some(last as f64 + 0.97)
    }

    /// The legs goods travel once released in country `cc`: its domestic legs, then the leg
    /// out of it (none at the last country).
    fn onward(&self, cc: &str) -> Vec<usize> {
        let domestic =
            (0..self.legs.len()).filter(|&i| self.legs[i].0 == cc && self.legs[i].1 == cc);
        let out = self.legs.iter().position(|(f, t, _)| f == cc && t != cc);
        domestic.chain(out).collect()
    }

    /// Where a consignment is: at `cc`, in `state`, released there at `released` (0 when
    /// not yet), the corridor clock at `now`; `from` is the previous country and its release
    /// time when this one awaits its arrival. Goods released in a country travel its domestic
    /// legs and then the leg out of it on the corridor clock; anywhere else they are at a
    /// border: where they entered the country, or the route's end once completed. The second
    /// value says whether it is on the way.
    fn position(
        &self,
        cc: &str,
        state: v1::ConsignmentState,
        released: i64,
        now: i64,
        from: Option<(&str, i64)>,
    ) -> (f64, bool) {
        use v1::ConsignmentState as S;
        let travelled = |cc: &str, since: i64| {
            (since > 0)
                .then(|| self.along(&self.onward(cc), (now - since) as f64 / 3.6e9))
                .flatten()
        };
        let moving = match (state, from) {
            (S::AwaitingArrival, Some((prev, since))) => travelled(prev, since),
            // Exited: past the domestic legs, whatever the clock says.
            (S::Exited | S::HandedOver, _) => travelled(cc, released).map(|p| {
                let out = self.legs.iter().position(|(f, t, _)| f == cc && t != cc);
                out.map_or(p, |i| p.max(i as f64))
            }),
            (S::Released, _) => travelled(cc, released),
            _ => None,
        };
        match (moving, state) {
            // A thousandth of a leg is finer than the map draws.
            (Some(p), _) => ((p * 1000.0).round() / 1000.0, true),
            (None, S::Completed) => (self.stations.len().saturating_sub(1) as f64, false),
            (None, _) => (self.entry(cc), false),
        }
    }
}

/// Every consignment any node knows, once: its lane at each country, where it stands (the
/// view of the last country on the route that knows it) and where on the route it is at
/// `now`, AEO or not, and its clearance time against the target.
fn consignments(answers: &[NodeAnswer], route: &Route, now: i64, target_micros: i64) -> Vec<Value> {
    // Each country's view, in route order.
    let mut by_id: BTreeMap<&str, Vec<(&str, &v1::ConsignmentView)>> = BTreeMap::new();
    for a in answers {
        for x in a.views.iter().flatten() {
            by_id
                .entry(x.consignment_id.as_str())
                .or_default()
                .push((a.cc.as_str(), x));
        }
    }
    let mut out: Vec<(i64, Value)> = by_id
        .into_iter()
        .filter_map(|(id, seen)| {
            let &(cc, x) = seen.last()?;
            let state = v1::ConsignmentState::try_from(x.state).unwrap_or(v1::ConsignmentState::Unspecified);
            let hours = x.clearance_micros as f64 / 3.6e9;
            let flag = if target_micros > 0 && x.clearance_micros >= target_micros {
                "breach"
            } else if target_micros > 0 && x.clearance_micros * 5 >= target_micros * 4 {
                "warning"
            } else {
                ""
            };
            let from = seen
                .len()
                .checked_sub(2)
                .map(|i| (seen[i].0, seen[i].1.released_at_unix_micros));
            let (pos, moving) = route.position(cc, state, x.released_at_unix_micros, now, from);
            let started = seen[0].1.arrived_at_unix_micros;
            let latest = x.released_at_unix_micros.max(x.arrived_at_unix_micros).max(started);
            Some((
                latest,
                json!({
                    "id": id,
                    "at": cc,
                    "state": state_words(x.state),
                    "lanes": seen.iter().map(|(cc, x)| (*cc, lane(x.lane))).collect::<BTreeMap<_, _>>(),
                    "aeo": x.aeo_recognised,
                    "declarant": x.declarant_operator_id,
                    "clearance_hours": hours,
                    "flag": flag,
                    "arrived_unix_micros": (started > 0).then_some(started),
                    "completed_unix_micros": (state == v1::ConsignmentState::Completed).then_some(x.released_at_unix_micros),
                    "pos": pos,
                    "moving": moving,
                }),
            ))
        })
        .collect();
    // The most recently moved first.
    out.sort_by_key(|(latest, _)| std::cmp::Reverse(*latest));
    out.into_iter().map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use v1::ConsignmentState as S;

    fn route() -> Route {
        Route::of(&Topology::middle_corridor().unwrap())
    }

    #[test]
    fn every_state_and_lane_has_its_word_in_the_lists_the_filters_accept() {
        for s in 1..=9 {
            assert!(STATES.contains(&state_words(s)), "{s}");
        }
        for l in 1..=4 {
            assert!(LANES.contains(&lane(l)), "{l}");
        }
    }

    #[test]
    fn the_route_is_its_places_in_order_each_with_its_country() {
        let r = route();
        let places: Vec<(&str, &str)> = r
            .stations
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        assert_eq!(
            places,
            [
                ("Xi'an", "CN"),
                ("Altynkol", "KZ"),
                ("Aktau or Kuryk port", "KZ"),
                ("Alat", "AZ"),
                ("Kars", "TR")
            ]
        );
        assert_eq!(r.entry("CN"), 0.0);
        assert_eq!(r.entry("KZ"), 1.0);
        assert_eq!(r.entry("AZ"), 3.0);
        assert_eq!(r.entry("TR"), 4.0);
    }

    #[test]
    fn a_consignment_moves_along_the_legs_on_the_corridor_clock_and_stops_short_of_arrival() {
        let r = route();
        let h = |x: f64| (x * 3.6e9) as i64;
        // Awaiting arrival in KZ, released in CN 30 h ago: half way along the 60 h rail leg.
        assert_eq!(
            r.position("KZ", S::AwaitingArrival, 0, h(40.0), Some(("CN", h(10.0)))),
            (0.5, true)
        );
        // Released at Altynkol 40 h ago: half way along the 80 h domestic leg to the Caspian.
        assert_eq!(
            r.position("KZ", S::Released, h(10.0), h(50.0), None),
            (1.5, true)
        );
        // Then the 24 h ferry: 92 h after release, half way across.
        assert_eq!(
            r.position("KZ", S::HandedOver, h(8.0), h(100.0), None),
            (2.5, true)
        );
        // Exited early: on the ferry leg, not still inland.
        assert_eq!(
            r.position("KZ", S::Exited, h(8.0), h(9.0), None),
            (2.0, true)
        );
        // Long overdue at Alat: short of it, still on the way.
        assert_eq!(
            r.position("AZ", S::AwaitingArrival, 0, h(500.0), Some(("KZ", h(8.0)))),
            (2.97, true)
        );
        // At an officer, refused, or not yet arrived at the first country: at the border.
        assert_eq!(
            r.position("AZ", S::AwaitingOfficer, 0, h(5.0), None),
            (3.0, false)
        );
        assert_eq!(r.position("KZ", S::Refused, 0, h(5.0), None), (1.0, false));
        assert_eq!(
            r.position("CN", S::AwaitingArrival, 0, h(5.0), None),
            (0.0, false)
        );
        // Released in TR, the last country: nowhere further to go.
        assert_eq!(
            r.position("TR", S::Released, h(1.0), h(5.0), None),
            (4.0, false)
        );
        assert_eq!(
            r.position("TR", S::Completed, h(1.0), h(5.0), None),
            (4.0, false)
        );
    }
}
