//! The customs node: checks every request, records each step in the ledger (with the
//! outbox row it implies, in the same atomic batch), applies it to the consignment, and
//! delivers advance records to the next node.
//!
//! Each consignment has its own async lock: steps of one consignment are taken one at a
//! time, steps of different consignments run concurrently and share the ledger's group
//! commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use corridor_aeo::follow::ReplicaStore;
use corridor_aeo::replica::Replica;
use corridor_core::document::Declaration;
use corridor_core::{
    CountryCode, Digest, Envelope, KeyId, OperatorId, ParseError, PublicKey, SigningKey,
    payload_type,
};
use corridor_ledger::{Append, Appended, Ledger};
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::{self, ConsignmentState as S, Lane};
use corridor_topology::{ClearanceTarget, Clock, RiskProfile, Topology};
use prost::Message;
use tokio::sync::{OwnedMutexGuard, broadcast};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::consignment::{At, Consignment, Effect, Opened, kind};
use crate::error::Error;
use crate::risk::{AeoStatus, assess};

/// Outbox rows: `outbox/` + consignment id (32 bytes) -> the advance record without its
/// link (the link is the exit entry written in the same batch).
const OUTBOX: &[u8] = b"outbox/";

fn outbox_key(id: &Digest) -> Vec<u8> {
    let mut k = OUTBOX.to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

type Slot = Arc<tokio::sync::Mutex<Option<Consignment>>>;

/// What a node needs to know about the corridor, from the topology.
pub(crate) struct Peers {
    pub(crate) route: Vec<CountryCode>,
    pub(crate) nodes: BTreeMap<CountryCode, PublicKey>,
    pub(crate) node_by_key: HashMap<KeyId, CountryCode>,
    pub(crate) officers: HashMap<KeyId, (CountryCode, String, PublicKey)>,
    pub(crate) clients: BTreeMap<CountryCode, CustomsNodeClient<Channel>>,
}

impl Peers {
    pub(crate) fn from_topology(
        t: &Topology,
        transport: &corridor_net::Transport,
    ) -> Result<Self, Error> {
        let route = t.country_codes();
        let nodes = t.node_keys()?;
        let node_by_key = nodes.iter().map(|(c, k)| (k.id(), c.clone())).collect();
        let mut officers = HashMap::new();
        let mut clients = BTreeMap::new();
        for c in &route {
            for (name, k) in t.officer_keys(c)? {
                officers.insert(k.id(), (c.clone(), name, k));
            }
            let addr = t.node_addr(c)?;
            let endpoint = transport
                .endpoint(&addr.to_string())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(10));
            clients.insert(c.clone(), CustomsNodeClient::new(endpoint.connect_lazy()));
        }
        Ok(Self {
            route,
            nodes,
            node_by_key,
            officers,
            clients,
        })
    }
}

pub(crate) struct Inner {
    pub(crate) country: CountryCode,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) replica: Arc<ReplicaStore>,
    pub(crate) key: SigningKey,
    pub(crate) peers: Peers,
    pub(crate) risk: RiskProfile,
    pub(crate) target: ClearanceTarget,
    pub(crate) clock: Clock,
    slots: Mutex<HashMap<Digest, Slot>>,
    /// Bills presented here (first node): the consignment declared with each, and its seals.
    bills: Mutex<HashMap<Digest, (Digest, Vec<v1::SealCheck>)>>,
    pub(crate) events: broadcast::Sender<(Digest, v1::ConsignmentEvent)>,
    failed: AtomicBool,
    pub(crate) shutdown: CancellationToken,
    /// Deliveries and the registry follower: joined before the node's databases close.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// Consignments whose advance record is due, for the courier to deliver together.
    courier: tokio::sync::mpsc::UnboundedSender<Digest>,
    /// The courier's end of that queue, until `start_deliveries` takes it.
    courier_queue: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Digest>>>,
    /// How long records the next node did not take wait before they are sent again.
    courier_backoff: Mutex<Duration>,
}

/// One country's customs node; cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

/// Most `DeliverAdvanceRecords` calls the courier has out at once: enough to keep the next
/// node busy while one call waits for its ledger's sync, few enough that records queue up
/// into batches under load.
const COURIER_CALLS: usize = 4;

/// The courier's first wait before sending again records the next node did not take.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Most bytes of advance records the courier puts into one call (the receiving node takes
/// messages of up to 1 MiB by default).
const BATCH_BYTES: usize = 512 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One step to record: the entry, and what it does once durable.
struct Planned {
    kind: &'static str,
    envelope: Vec<u8>,
    extra: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    effect: Effect,
}

impl Planned {
    fn new(kind: &'static str, env: &Envelope, effect: Effect) -> Self {
        Self {
            kind,
            envelope: corridor_proto::encode_envelope(env),
            extra: Vec::new(),
            effect,
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::Invalid(ParseError::new(field, reason))
}

fn open_envelope(
    field: &str,
    env: Option<v1::Envelope>,
    expected: &str,
) -> Result<Envelope, Error> {
    let env: Envelope = env
        .ok_or_else(|| ParseError::new(field, "required"))?
        .try_into()
        .map_err(|e: ParseError| e.within(field))?;
    if env.payload_type() != expected {
        return Err(invalid(
            &format!("{field}.payload_type"),
            format!("expected {expected:?}, got {:?}", env.payload_type()),
        ));
    }
    Ok(env)
}

fn digest(field: &str, b: &[u8]) -> Result<Digest, Error> {
    Ok(Digest::from_slice(field, b)?)
}

fn decode<M: Message + Default>(field: &str, env: &Envelope) -> Result<M, Error> {
    M::decode(env.payload()).map_err(|e| invalid(&format!("{field}.payload"), e.to_string()))
}

impl Node {
    /// Opens the node: rebuilds every consignment from the ledger (each entry applied again
    /// in order) and checks the outbox rows against it.
    #[allow(clippy::too_many_arguments)] // what a node is made of; one caller, in lib.rs
    pub(crate) fn open(
        country: CountryCode,
        ledger: Arc<Ledger>,
        replica: Arc<ReplicaStore>,
        key: SigningKey,
        topology: &Topology,
        transport: &corridor_net::Transport,
        clock: Clock,
        shutdown: CancellationToken,
    ) -> Result<Self, Error> {
        let (_, c) = topology.country(&country)?;
        let (courier, courier_queue) = tokio::sync::mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            country: country.clone(),
            peers: Peers::from_topology(topology, transport)?,
            risk: c.risk.clone(),
            target: topology.clearance,
            ledger,
            replica,
            key,
            clock,
            slots: Mutex::new(HashMap::new()),
            bills: Mutex::new(HashMap::new()),
            events: broadcast::channel(4096).0,
            failed: AtomicBool::new(false),
            shutdown,
            tasks: tokio_util::task::TaskTracker::new(),
            courier,
            courier_queue: Mutex::new(Some(courier_queue)),
            courier_backoff: Mutex::new(FIRST_BACKOFF),
        });
        let node = Self { inner };
        node.replay()?;
        Ok(node)
    }

    fn replay(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let mut map: HashMap<Digest, Consignment> = HashMap::new();
        // Outbox key -> the row each exit entry wrote, rebuilt from the entries.
        let mut outbox: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut n = 0;
        for r in inner.ledger.entries(0) {
            let (entry, hash) = r?;
            let bad = |what: String| Error::State(format!("ledger entry {}: {what}", entry.seq));
            let env =
                corridor_proto::decode_envelope(&entry.envelope).map_err(|e| bad(e.to_string()))?;
            let id =
                Digest::parse_hex("subject", &entry.subject).map_err(|e| bad(e.to_string()))?;
            let effect = self
                .effect_of(&entry.kind, &env, &id)
                .map_err(|e| bad(e.to_string()))?;
            let at = At {
                seq: entry.seq,
                hash,
                time: entry.time_unix_micros,
                kind: entry.kind.clone(),
                envelope_id: Digest::of(&entry.envelope),
            };
            if let (Effect::Exited, Some(c)) = (&effect, map.get(&id)) {
                // The outbox row the exit wrote: the advance record as it stood then.
                outbox.insert(
                    outbox_key(&id),
                    self.advance_record(c, None).encode_to_vec(),
                );
            }
            self.apply_to(&mut map, id, effect, &at)
                .map_err(|e| bad(e.to_string()))?;
            n = entry.seq + 1;
        }
        if n != inner.ledger.len() {
            return Err(Error::State(format!(
                "read {n} entries of a ledger of {}",
                inner.ledger.len()
            )));
        }
        // The outbox rows are exactly the consignments that exited and were not yet
        // acknowledged, each holding the record its exit entry wrote: a row is not covered by
        // any hash, so what the courier will sign is checked against the hashed entries.
        let rows = inner.ledger.extra_prefix(OUTBOX);
        let due: std::collections::BTreeSet<Vec<u8>> = map
            .values()
            .filter(|c| c.state == S::Exited)
            .map(|c| outbox_key(&c.id))
            .collect();
        if rows.len() != due.len() || rows.iter().any(|(k, _)| !due.contains(k)) {
            return Err(Error::State(format!(
                "{} outbox rows, but {} consignments exited without acknowledgement",
                rows.len(),
                due.len()
            )));
        }
        if let Some((k, _)) = rows.iter().find(|(k, v)| outbox.get(k) != Some(v)) {
            return Err(Error::State(format!(
                "the outbox row of consignment {} differs from the advance record its exit entry wrote",
                Digest::from_slice("outbox", &k[OUTBOX.len()..])
                    .map(|d| d.to_hex())
                    .unwrap_or_default()
            )));
        }
        let mut slots = lock(&inner.slots);
        for (id, c) in map {
            slots.insert(id, Arc::new(tokio::sync::Mutex::new(Some(c))));
        }
        tracing::info!(
            country = %inner.country,
            entries = n,
            consignments = slots.len(),
            outbox = due.len(),
            "customs node state rebuilt from the ledger"
        );
        Ok(())
    }

    /// Applies a replayed step to the map being rebuilt.
    fn apply_to(
        &self,
        map: &mut HashMap<Digest, Consignment>,
        id: Digest,
        effect: Effect,
        at: &At,
    ) -> Result<(), Error> {
        let mut slot = map.remove(&id);
        self.apply(&mut slot, id, effect, at)?;
        if let Some(c) = slot {
            map.insert(id, c);
        }
        Ok(())
    }

    /// What a recorded entry does (the envelope was checked when it was recorded).
    fn effect_of(&self, kind: &str, env: &Envelope, id: &Digest) -> Result<Effect, Error> {
        Ok(match kind {
            kind::BILL => {
                let bill = corridor_proto::decode_bill_of_lading(env.payload())?;
                let seals = corridor_proto::seal_checks(&bill);
                lock(&self.inner.bills).insert(env.document_id(), (*id, seals.clone()));
                Effect::Bill(seals)
            }
            kind::TRANSFER => Effect::Nothing,
            kind::DECLARED => {
                let declaration = corridor_proto::decode_declaration(env.payload())?;
                // A bill declared again (after its consignment was refused or cancelled) was
                // recorded once, under the first consignment: it now belongs to this one, as
                // `submit` noted when it accepted the declaration.
                let seals = lock(&self.inner.bills)
                    .get_mut(&declaration.bill_of_lading_id)
                    .map(|(c, s)| {
                        *c = *id;
                        s.clone()
                    })
                    .unwrap_or_default();
                Effect::Opened(Box::new(Opened {
                    declaration_envelope: v1::Envelope::from(env),
                    declaration,
                    seals,
                    carried: Vec::new(),
                    aeo_at_origin: None,
                }))
            }
            kind::ANNOUNCED => {
                let r: v1::AdvanceRecord = decode("advance_record", env)?;
                Effect::Opened(Box::new(opened_from_record(r)?))
            }
            kind::ASSESSED | kind::REASSESSED => Effect::Assessed(decode("assessment", env)?),
            kind::ARRIVED => Effect::Arrived(decode("border_event", env)?),
            kind::RELEASED => Effect::Released,
            kind::DECIDED => Effect::Decided(decode("decision", env)?),
            kind::EXITED => Effect::Exited,
            kind::HANDED_OVER => Effect::HandedOver(decode("receipt", env)?),
            kind::COMPLETED => Effect::Completed,
            kind::CANCELLED => {
                let c = corridor_proto::decode_declaration_cancellation(env.payload())?;
                Effect::Cancelled(c.reason().as_str().to_string())
            }
            other => return Err(Error::State(format!("unknown entry kind {other:?}"))),
        })
    }

    /// Applies one recorded step to a consignment slot, and announces the event.
    fn apply(
        &self,
        slot: &mut Option<Consignment>,
        id: Digest,
        effect: Effect,
        at: &At,
    ) -> Result<(), Error> {
        let effect = match effect {
            Effect::Opened(o) => {
                if slot.is_some() {
                    return Err(Error::State(format!("consignment {id} opened twice")));
                }
                *slot = Some(Consignment::open(id, self.inner.country.clone(), *o, at));
                Effect::Started
            }
            e => e,
        };
        let Some(c) = slot.as_mut() else {
            return Err(Error::State(format!(
                "step {} before the consignment",
                at.kind
            )));
        };
        let ev = c.apply(&effect, at);
        let _ = self.inner.events.send((id, ev));
        Ok(())
    }

    /// Records `planned` steps of consignment `id` in one atomic batch and applies them.
    async fn record(
        &self,
        slot: &mut Option<Consignment>,
        id: Digest,
        planned: Vec<Planned>,
        now: i64,
    ) -> Result<Vec<Appended>, Error> {
        if self.inner.failed.load(Ordering::Acquire) {
            return Err(Error::Unavailable(
                "the node stopped recording after a ledger failure; restart it".into(),
            ));
        }
        let subject = id.to_hex();
        let mut effects = Vec::with_capacity(planned.len());
        let mut appends = Vec::with_capacity(planned.len());
        for p in planned {
            effects.push((p.kind, Digest::of(&p.envelope), p.effect));
            appends.push(Append {
                kind: p.kind.to_string(),
                subject: subject.clone(),
                time_unix_micros: now,
                envelope: p.envelope,
                extra: p.extra,
            });
        }
        let appended = match self.inner.ledger.append_all(appends).await {
            Ok(a) => a,
            Err(e) => {
                self.inner.failed.store(true, Ordering::Release);
                return Err(e.into());
            }
        };
        for ((kind, envelope_id, effect), a) in effects.into_iter().zip(&appended) {
            let at = At {
                seq: a.seq,
                hash: a.hash,
                time: now,
                kind: kind.to_string(),
                envelope_id,
            };
            if a.new {
                self.apply(slot, id, effect, &at)?;
            } else if let Some(c) = slot.as_mut() {
                // The same bytes were recorded for another consignment (a bill presented
                // twice): remember the entry for this one too.
                c.recorded.insert(envelope_id, (a.seq, a.hash));
            } else if let Effect::Opened(_) = effect {
                self.apply(slot, id, effect, &at)?;
            }
        }
        Ok(appended)
    }

    /// The slot of consignment `id`, created empty when `create`.
    async fn slot(
        &self,
        id: &Digest,
        create: bool,
    ) -> Result<OwnedMutexGuard<Option<Consignment>>, Error> {
        let slot = {
            let mut slots = lock(&self.inner.slots);
            match slots.get(id) {
                Some(s) => s.clone(),
                None if create => {
                    let s: Slot = Arc::new(tokio::sync::Mutex::new(None));
                    slots.insert(*id, s.clone());
                    s
                }
                None => {
                    return Err(Error::NotFound(format!(
                        "consignment {id} is not known at {}",
                        self.inner.country
                    )));
                }
            }
        };
        Ok(slot.lock_owned().await)
    }

    fn forget_if_empty(&self, id: &Digest, guard: OwnedMutexGuard<Option<Consignment>>) {
        if guard.is_none() {
            drop(guard);
            let mut slots = lock(&self.inner.slots);
            if slots
                .get(id)
                .is_some_and(|s| s.try_lock().is_ok_and(|g| g.is_none()))
            {
                slots.remove(id);
            }
        }
    }

    fn receipt(&self, c: &Consignment, a: Option<&Appended>, now: i64) -> v1::StepReceipt {
        let (seq, hash, new) = match a {
            Some(a) => (a.seq, a.hash, a.new),
            None => {
                let e = c.events.last();
                (
                    e.map_or(0, |e| e.seq),
                    e.and_then(|e| Digest::from_slice("h", &e.entry_hash).ok())
                        .unwrap_or(Digest::ZERO),
                    false,
                )
            }
        };
        v1::StepReceipt {
            consignment_id: c.id.to_hex(),
            seq,
            entry_hash: hash.as_bytes().to_vec(),
            new,
            state: c.state as i32,
            lane: c.lane as i32,
            recorded_at_unix_micros: now,
        }
    }

    /// The receipt of a step recorded before, answered again: the step's last entry (the
    /// entries the node wrote in the same batch after the one that recorded `seq`: bill,
    /// transfers, assessment, release, completion) and the state and lane after it, as the
    /// first answer gave them.
    fn receipt_again(&self, c: &Consignment, seq: u64) -> v1::StepReceipt {
        let first = c.events.iter().position(|e| e.seq == seq);
        let last = first.map(|i| {
            let follow = c.events[i + 1..]
                .iter()
                .take_while(|e| {
                    matches!(
                        e.kind.as_str(),
                        kind::BILL
                            | kind::TRANSFER
                            | kind::ASSESSED
                            | kind::REASSESSED
                            | kind::RELEASED
                            | kind::COMPLETED
                    )
                })
                .count();
            &c.events[i + follow]
        });
        match last {
            Some(e) => v1::StepReceipt {
                consignment_id: c.id.to_hex(),
                seq: e.seq,
                entry_hash: e.entry_hash.clone(),
                new: false,
                state: e.state,
                lane: e.lane,
                recorded_at_unix_micros: e.recorded_at_unix_micros,
            },
            None => self.receipt(c, None, self.inner.clock.now_micros()),
        }
    }

    fn replica(&self) -> std::sync::RwLockReadGuard<'_, Replica> {
        self.inner.replica.read()
    }

    /// Checks that `operator` signed `env` with a key registered for it and valid at `at`.
    fn operator_signed(
        &self,
        replica: &Replica,
        env: &Envelope,
        operator: &OperatorId,
        at: i64,
        what: &str,
    ) -> Result<(), Error> {
        let mut why = None;
        for s in env.signatures() {
            match replica.operator_key(operator, &s.key_id, at) {
                Ok(k) => {
                    return env.verify_by(&k).map_err(|e| {
                        Error::Unauthenticated(format!("{what}: signature of {operator}: {e}"))
                    });
                }
                Err(e) => {
                    why.get_or_insert(e);
                }
            }
        }
        Err(Error::Unauthenticated(format!(
            "{what} is not signed by {operator} with a key valid at {}: {}",
            corridor_topology::clock::format_micros(at),
            why.unwrap_or_else(|| "no signature".into())
        )))
    }

    /// The officer of this country who signed `env`.
    fn officer_signed(&self, env: &Envelope) -> Result<String, Error> {
        let mut foreign = None;
        for s in env.signatures() {
            if let Some((country, name, key)) = self.inner.peers.officers.get(&s.key_id) {
                env.verify_by(key)
                    .map_err(|e| Error::Unauthenticated(format!("officer signature: {e}")))?;
                if *country == self.inner.country {
                    return Ok(name.clone());
                }
                foreign.get_or_insert(format!("officer {name} of {country}"));
            }
        }
        match foreign {
            Some(who) => Err(Error::PermissionDenied(format!(
                "{who} may not act at the customs node of {}",
                self.inner.country
            ))),
            None => Err(Error::Unauthenticated(format!(
                "not signed by an officer key of any corridor country (key {})",
                env.signatures()
                    .first()
                    .map_or(String::new(), |s| s.key_id.to_string())
            ))),
        }
    }

    fn sign<M: Message>(&self, payload_type: &str, m: &M) -> Envelope {
        Envelope::sign(payload_type, m.encode_to_vec(), &self.inner.key)
    }

    fn aeo_status(&self, replica: &Replica, holder: &OperatorId, now: i64) -> AeoStatus {
        let r = replica.recognition(holder, &self.inner.country, now);
        let basis = match (&r.aeo_id, &r.arrangement) {
            (Some(a), Some(m)) if r.recognised => format!("{a} recognised under {m}"),
            (Some(a), None) if r.recognised => format!("own certificate {a}"),
            _ => format!("not recognised: {}", r.detail),
        };
        AeoStatus {
            recognised: r.recognised,
            basis,
            benefits: r.benefits,
        }
    }

    fn assessment(
        &self,
        c_id: &Digest,
        declaration: &Declaration,
        aeo: &AeoStatus,
        now: i64,
    ) -> v1::Assessment {
        let a = assess(&self.inner.risk, &self.inner.country, declaration, aeo);
        v1::Assessment {
            consignment_id: c_id.as_bytes().to_vec(),
            country: self.inner.country.to_string(),
            lane: a.lane as i32,
            reasons: a.reasons,
            aeo_recognised: aeo.recognised,
            aeo_basis: aeo.basis.clone(),
            reassessment: false,
            draw_ppm: a.draw_ppm,
            assessed_at_unix_micros: now,
        }
    }

    /// Checks that the route follows the topology from this node on: consecutive steps are
    /// consecutive corridor countries.
    fn check_route(&self, d: &Declaration) -> Result<(), Error> {
        let route = &self.inner.peers.route;
        let pos = |c: &CountryCode| route.iter().position(|r| r == c);
        for (i, step) in d.route.iter().enumerate() {
            let Some(p) = pos(&step.country) else {
                return Err(invalid(
                    &format!("declaration.route[{i}].country"),
                    format!("{} is not a country of this corridor", step.country),
                ));
            };
            if i > 0 {
                let prev = &d.route[i - 1].country;
                if pos(prev).map(|q| q + 1) != Some(p) {
                    return Err(invalid(
                        &format!("declaration.route[{i}].country"),
                        format!("the corridor does not go from {prev} to {}", step.country),
                    ));
                }
            }
        }
        if d.step(&self.inner.country).is_none() {
            return Err(invalid(
                "declaration.route",
                format!("the route does not cross {}", self.inner.country),
            ));
        }
        Ok(())
    }

    /// Checks that the guarantee covers the duties and taxes at risk.
    fn check_guarantee(&self, d: &Declaration) -> Result<(), Error> {
        let g = &d.guarantee;
        let mut value: u128 = 0;
        for (i, item) in d.items.iter().enumerate() {
            if item.customs_value.currency() != g.amount.currency() {
                return Err(invalid(
                    &format!("declaration.items[{i}].customs_value.currency"),
                    format!(
                        "the guarantee is in {}, the item in {}",
                        g.amount.currency().as_str(),
                        item.customs_value.currency().as_str()
                    ),
                ));
            }
            value += u128::from(item.customs_value.minor_units());
        }
        let share = self.inner.risk.guarantee_share;
        let needed = (value as f64 * share).ceil() as u128;
        if u128::from(g.amount.minor_units()) < needed {
            return Err(invalid(
                "declaration.guarantee.amount.amount_minor",
                format!(
                    "{} does not cover the duties and taxes at risk: {} ({:.0} % of the customs value {})",
                    g.amount.minor_units(),
                    needed,
                    share * 100.0,
                    value
                ),
            ));
        }
        Ok(())
    }

    /// `SubmitDeclaration`.
    pub(crate) async fn submit(
        &self,
        req: v1::SubmitDeclarationRequest,
    ) -> Result<v1::StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        let denv = open_envelope("declaration", req.declaration, payload_type::DECLARATION)?;
        let benv = open_envelope(
            "bill_of_lading",
            req.bill_of_lading,
            payload_type::BILL_OF_LADING,
        )?;
        if req.transfer_chain.is_empty() {
            return Err(invalid(
                "transfer_chain",
                "the bill's transfer chain is required, from its ISSUE entry on",
            ));
        }
        let mut tenvs = Vec::with_capacity(req.transfer_chain.len());
        for (i, t) in req.transfer_chain.into_iter().enumerate() {
            tenvs.push(open_envelope(
                &format!("transfer_chain[{i}]"),
                Some(t),
                payload_type::TRANSFER_ENTRY,
            )?);
        }
        // Decode (field errors) before the signatures, which need the signers' ids.
        let declaration = corridor_proto::decode_declaration(denv.payload())
            .map_err(|e| e.within("declaration.payload"))?;
        let bill = corridor_proto::decode_bill_of_lading(benv.payload())
            .map_err(|e| e.within("bill_of_lading.payload"))?;
        let mut chain = Vec::with_capacity(tenvs.len());
        for (i, t) in tenvs.iter().enumerate() {
            chain.push(
                corridor_proto::decode_transfer_entry(t.payload())
                    .map_err(|e| e.within(&format!("transfer_chain[{i}].payload")))?,
            );
        }
        let id = denv.document_id();
        let bill_id = benv.document_id();

        // Signatures: carrier on the bill, actors on the chain, declarant (and holder).
        {
            let replica = self.replica();
            let carrier = &bill.carrier.operator_id;
            self.operator_signed(
                &replica,
                &benv,
                carrier,
                bill.issued_at_unix_micros,
                "bill_of_lading",
            )?;
            for (i, (t, e)) in tenvs.iter().zip(&chain).enumerate() {
                self.operator_signed(
                    &replica,
                    t,
                    &e.actor,
                    e.time_unix_micros,
                    &format!("transfer_chain[{i}]"),
                )?;
            }
            let at = declaration.created_at_unix_micros;
            self.operator_signed(
                &replica,
                &denv,
                &declaration.declarant_operator_id,
                at,
                "declaration",
            )?;
            if declaration.holder_operator_id != declaration.declarant_operator_id {
                self.operator_signed(
                    &replica,
                    &denv,
                    &declaration.holder_operator_id,
                    at,
                    "declaration (the holder's mandate)",
                )
                .map_err(|e| match e {
                    Error::Unauthenticated(m) => Error::PermissionDenied(format!(
                        "{} declares for {} without the holder's signature: {m}",
                        declaration.declarant_operator_id, declaration.holder_operator_id
                    )),
                    e => e,
                })?;
            }
        }

        // Fields against each other.
        if declaration.bill_of_lading_id != bill_id {
            return Err(invalid(
                "declaration.payload.bill_of_lading_id",
                format!(
                    "names bill {}, but the bill presented is {bill_id}",
                    declaration.bill_of_lading_id
                ),
            ));
        }
        declaration
            .check_against_bill(&bill)
            .map_err(|e| e.within("declaration"))?;
        for (i, e) in chain.iter().enumerate() {
            let field = format!("transfer_chain[{i}]");
            if e.document_id != bill_id {
                return Err(invalid(
                    &format!("{field}.document_id"),
                    "not the bill presented",
                ));
            }
            e.check_against_bill(&bill).map_err(|x| x.within(&field))?;
            if i == 0 {
                if e.action != corridor_core::document::TransferAction::Issue {
                    return Err(invalid(
                        &format!("{field}.action"),
                        "the chain starts with ISSUE",
                    ));
                }
            } else {
                e.check_follows(&tenvs[i - 1].document_id(), &chain[i - 1])
                    .map_err(|x| x.within(&field))?;
            }
        }
        self.check_route(&declaration)?;
        self.check_guarantee(&declaration)?;

        // Roles and state.
        let last = &chain[chain.len() - 1];
        if last.is_final() {
            return Err(Error::FailedPrecondition(format!(
                "bill {bill_id} has been surrendered and accepted: it is spent"
            )));
        }
        if last.to_holder != declaration.holder_operator_id {
            return Err(Error::PermissionDenied(format!(
                "the bill is held by {}, not by {}: the declarant neither holds it nor acts for its holder",
                last.to_holder, declaration.holder_operator_id
            )));
        }
        if declaration.route[0].country != self.inner.country {
            return Err(Error::FailedPrecondition(format!(
                "a declaration is submitted at the first country of its route ({}), not at {}",
                declaration.route[0].country, self.inner.country
            )));
        }

        let mut slot = self.slot(&id, true).await?;
        if let Some(c) = slot.as_ref() {
            let env_id = Digest::of(&corridor_proto::encode_envelope(&denv));
            return match c.recorded.get(&env_id) {
                Some((seq, _)) if c.opened_by == env_id => Ok(self.receipt_again(c, *seq)),
                _ => Err(Error::AlreadyExists(format!(
                    "consignment {id} was declared with another envelope"
                ))),
            };
        }
        if let Err(e) = self.check_bill_free(&bill_id, &id).await {
            self.forget_if_empty(&id, slot);
            return Err(e);
        }
        let aeo = self.aeo_status(&self.replica(), &declaration.holder_operator_id, now);
        let assessment = self.assessment(&id, &declaration, &aeo, now);
        let aenv = self.sign(payload_type::ASSESSMENT, &assessment);
        let seals = corridor_proto::seal_checks(&bill);
        lock(&self.inner.bills).insert(bill_id, (id, seals.clone()));
        let mut planned = vec![Planned::new(
            kind::DECLARED,
            &denv,
            Effect::Opened(Box::new(Opened {
                declaration_envelope: v1::Envelope::from(&denv),
                declaration,
                seals: seals.clone(),
                carried: Vec::new(),
                aeo_at_origin: None,
            })),
        )];
        planned.push(Planned::new(kind::BILL, &benv, Effect::Bill(seals)));
        for t in &tenvs {
            planned.push(Planned::new(kind::TRANSFER, t, Effect::Nothing));
        }
        planned.push(Planned::new(
            kind::ASSESSED,
            &aenv,
            Effect::Assessed(assessment),
        ));
        let out = match self.record(&mut slot, id, planned, now).await {
            Ok(a) => slot
                .as_ref()
                .map(|c| self.receipt(c, a.last(), now))
                .ok_or_else(|| Error::State("declared consignment missing".into())),
            Err(e) => Err(e),
        };
        self.forget_if_empty(&id, slot);
        out
    }

    /// A bill is declared once: another consignment of the same bill that has not been
    /// refused or cancelled makes a second declaration a conflict.
    async fn check_bill_free(&self, bill_id: &Digest, id: &Digest) -> Result<(), Error> {
        let other = lock(&self.inner.bills).get(bill_id).map(|(c, _)| *c);
        let Some(other) = other.filter(|o| o != id) else {
            return Ok(());
        };
        let slot = lock(&self.inner.slots).get(&other).cloned();
        let Some(s) = slot else { return Ok(()) };
        let open = s
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| !matches!(c.state, S::Refused | S::Cancelled));
        if open {
            return Err(Error::AlreadyExists(format!(
                "bill {bill_id} is already declared in consignment {other}"
            )));
        }
        Ok(())
    }

    /// `DeliverAdvanceRecord`.
    pub(crate) async fn deliver(
        &self,
        req: v1::SignedRequest,
    ) -> Result<v1::DeliverAdvanceRecordResponse, Error> {
        let now = self.inner.clock.now_micros();
        let env = open_envelope("envelope", req.envelope, payload_type::ADVANCE_RECORD)?;
        // The signer must be a corridor node, and the previous node on the route.
        let signer = env
            .signatures()
            .iter()
            .find_map(|s| self.inner.peers.node_by_key.get(&s.key_id).cloned())
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "the advance record is not signed by a customs node of this corridor".into(),
                )
            })?;
        let signer_key = self
            .inner
            .peers
            .nodes
            .get(&signer)
            .ok_or_else(|| Error::State("node key".into()))?;
        env.verify_by(signer_key)
            .map_err(|e| Error::Unauthenticated(format!("advance record: {e}")))?;
        let mut record: v1::AdvanceRecord = decode("envelope", &env)?;
        // What is checked below besides the consignment; the rest opens it.
        let consignment_id = std::mem::take(&mut record.consignment_id);
        let from_country = std::mem::take(&mut record.from_country);
        let to_country = std::mem::take(&mut record.to_country);
        let prev_entry_hash = std::mem::take(&mut record.prev_entry_hash);
        let opened = opened_from_record(record)?;
        let id = digest("envelope.payload.consignment_id", &consignment_id)?;
        let denv: Envelope = opened
            .declaration_envelope
            .clone()
            .try_into()
            .map_err(|e: ParseError| e.within("envelope.payload.declaration"))?;
        if denv.document_id() != id {
            return Err(invalid(
                "envelope.payload.consignment_id",
                "is not the declaration's document id",
            ));
        }
        let declaration = &opened.declaration;
        {
            let replica = self.replica();
            let at = declaration.created_at_unix_micros;
            self.operator_signed(
                &replica,
                &denv,
                &declaration.declarant_operator_id,
                at,
                "declaration",
            )?;
        }
        if to_country != self.inner.country.as_str() {
            return Err(invalid(
                "envelope.payload.to_country",
                format!("this is the node of {}", self.inner.country),
            ));
        }
        self.check_route(declaration)?;
        let prev = declaration
            .route
            .iter()
            .position(|s| s.country == self.inner.country)
            .and_then(|i| i.checked_sub(1))
            .map(|i| declaration.route[i].country.clone())
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "{} is the first country of the route: declare there",
                    self.inner.country
                ))
            })?;
        if signer != prev || from_country != prev.as_str() {
            return Err(Error::PermissionDenied(format!(
                "the advance record is signed by the node of {signer} for {}; only the node of {prev} hands this consignment to {}",
                from_country, self.inner.country
            )));
        }
        digest("envelope.payload.prev_entry_hash", &prev_entry_hash)?;

        let env_id = Digest::of(&corridor_proto::encode_envelope(&env));
        let mut slot = self.slot(&id, true).await?;
        if let Some(c) = slot.as_ref() {
            return match c.recorded.get(&env_id) {
                Some((seq, hash)) if c.opened_by == env_id => {
                    let at = c.events.first().map_or(now, |e| e.recorded_at_unix_micros);
                    Ok(self.advance_receipt(&id, &env, *seq, *hash, at, false))
                }
                _ => Err(Error::AlreadyExists(format!(
                    "consignment {id} was announced here with another advance record"
                ))),
            };
        }
        let aeo = self.aeo_status(&self.replica(), &declaration.holder_operator_id, now);
        let assessment = self.assessment(&id, declaration, &aeo, now);
        let aenv = self.sign(payload_type::ASSESSMENT, &assessment);
        let planned = vec![
            Planned::new(kind::ANNOUNCED, &env, Effect::Opened(Box::new(opened))),
            Planned::new(kind::ASSESSED, &aenv, Effect::Assessed(assessment)),
        ];
        let result = self.record(&mut slot, id, planned, now).await;
        let out = result.and_then(|a| {
            let first = a
                .first()
                .ok_or_else(|| Error::State("nothing appended".into()))?;
            Ok(self.advance_receipt(&id, &env, first.seq, first.hash, now, first.new))
        });
        self.forget_if_empty(&id, slot);
        out
    }

    fn advance_receipt(
        &self,
        id: &Digest,
        env: &Envelope,
        seq: u64,
        hash: Digest,
        at: i64,
        new: bool,
    ) -> v1::DeliverAdvanceRecordResponse {
        let r = v1::AdvanceReceipt {
            consignment_id: id.as_bytes().to_vec(),
            country: self.inner.country.to_string(),
            advance_record_id: env.document_id().as_bytes().to_vec(),
            entry_seq: seq,
            entry_hash: hash.as_bytes().to_vec(),
            received_at_unix_micros: at,
        };
        v1::DeliverAdvanceRecordResponse {
            receipt: Some(v1::Envelope::from(
                &self.sign(payload_type::ADVANCE_RECEIPT, &r),
            )),
            new,
        }
    }

    /// An officer-signed step (border event or decision) for this country: checks the
    /// envelope, the officer, the consignment id and country; returns the slot locked.
    async fn officer_step<M: Message + Default>(
        &self,
        req: v1::SignedRequest,
        payload: &str,
        id_of: impl Fn(&M) -> (&[u8], &str, i64),
    ) -> Result<
        (
            Envelope,
            M,
            Digest,
            Digest,
            OwnedMutexGuard<Option<Consignment>>,
        ),
        Error,
    > {
        let env = open_envelope("envelope", req.envelope, payload)?;
        self.officer_signed(&env)?;
        let m: M = decode("envelope", &env)?;
        let (idb, country, at) = id_of(&m);
        let id = digest("envelope.payload.consignment_id", idb)?;
        if country != self.inner.country.as_str() {
            return Err(invalid(
                "envelope.payload.country",
                format!(
                    "this is the node of {}, not {country:?}",
                    self.inner.country
                ),
            ));
        }
        if at <= 0 {
            return Err(invalid("envelope.payload.at_unix_micros", "required"));
        }
        let env_id = Digest::of(&corridor_proto::encode_envelope(&env));
        let slot = self.slot(&id, false).await?;
        if slot.is_none() {
            return Err(Error::NotFound(format!(
                "consignment {id} is not known at {}",
                self.inner.country
            )));
        }
        Ok((env, m, id, env_id, slot))
    }

    /// `RecordBorderEvent`.
    pub(crate) async fn border_event(
        &self,
        req: v1::SignedRequest,
    ) -> Result<v1::StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        let (env, e, id, env_id, mut slot) = self
            .officer_step::<v1::BorderEvent>(req, payload_type::BORDER_EVENT, |e| {
                (&e.consignment_id, &e.country, e.at_unix_micros)
            })
            .await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        if let Some((seq, _)) = c.recorded.get(&env_id) {
            return Ok(self.receipt_again(c, *seq));
        }
        let planned = match e.kind() {
            v1::BorderEventKind::Arrival => {
                if c.state != S::AwaitingArrival {
                    return Err(step_error(
                        c,
                        "arrival",
                        "only a consignment awaiting arrival arrives",
                    ));
                }
                let problems = seal_problems(&c.seals, &e.seals);
                let mut planned = vec![Planned::new(
                    kind::ARRIVED,
                    &env,
                    Effect::Arrived(e.clone()),
                )];
                let mut lane = c.lane;
                if !problems.is_empty() {
                    lane = Lane::Red;
                    let a = v1::Assessment {
                        consignment_id: id.as_bytes().to_vec(),
                        country: self.inner.country.to_string(),
                        lane: Lane::Red as i32,
                        reasons: problems.iter().map(|p| format!("seal: {p}")).collect(),
                        aeo_recognised: c.aeo,
                        aeo_basis: c.aeo_basis.clone(),
                        reassessment: true,
                        draw_ppm: 0,
                        assessed_at_unix_micros: now,
                    };
                    let aenv = self.sign(payload_type::ASSESSMENT, &a);
                    planned.push(Planned::new(kind::REASSESSED, &aenv, Effect::Assessed(a)));
                }
                if matches!(lane, Lane::Green | Lane::Blue) {
                    let r = v1::Release {
                        consignment_id: id.as_bytes().to_vec(),
                        country: self.inner.country.to_string(),
                        lane: lane as i32,
                        released_at_unix_micros: now,
                        dwell_micros: 0,
                        clearance_micros: c.carried_micros(),
                    };
                    let renv = self.sign(payload_type::RELEASE, &r);
                    planned.push(Planned::new(kind::RELEASED, &renv, Effect::Released));
                    if c.is_last() {
                        planned.push(self.completion(c, now, now));
                    }
                }
                planned
            }
            v1::BorderEventKind::Exit => {
                if c.is_last() {
                    return Err(Error::FailedPrecondition(format!(
                        "{} is the last country of the route: import clearance completes the consignment, it does not exit",
                        self.inner.country
                    )));
                }
                if c.state != S::Released {
                    return Err(step_error(c, "exit", "only a released consignment exits"));
                }
                let mut p = Planned::new(kind::EXITED, &env, Effect::Exited);
                let record = self.advance_record(c, None);
                p.extra
                    .push((outbox_key(&id), Some(record.encode_to_vec())));
                vec![p]
            }
            v1::BorderEventKind::Unspecified => {
                return Err(invalid("envelope.payload.kind", "ARRIVAL or EXIT"));
            }
        };
        let appended = self.record(&mut slot, id, planned, now).await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        if c.state == S::Exited {
            self.queue_delivery(id);
        }
        Ok(self.receipt(c, appended.last(), now))
    }

    /// The completion of a consignment released at `released_at` at the last country (its
    /// arrival may be recorded in the same batch, when `arrived_at` is still 0).
    fn completion(&self, c: &Consignment, released_at: i64, now: i64) -> Planned {
        let dwell = if c.arrived_at == 0 {
            0
        } else {
            (released_at - c.arrived_at).max(0)
        };
        let clearance = c.carried_micros() + dwell;
        let m = v1::Completion {
            consignment_id: c.id.as_bytes().to_vec(),
            country: self.inner.country.to_string(),
            completed_at_unix_micros: now,
            clearance_micros: clearance,
            within_target: clearance <= self.inner.target.target_micros(),
            guarantee_reference: c.declaration.guarantee.reference.as_str().to_string(),
        };
        Planned::new(
            kind::COMPLETED,
            &self.sign(payload_type::COMPLETION, &m),
            Effect::Completed,
        )
    }

    /// `RecordDecision`.
    pub(crate) async fn decide(&self, req: v1::SignedRequest) -> Result<v1::StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        let (env, d, id, env_id, mut slot) = self
            .officer_step::<v1::OfficerDecision>(req, payload_type::OFFICER_DECISION, |d| {
                (&d.consignment_id, &d.country, d.at_unix_micros)
            })
            .await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        if let Some((seq, _)) = c.recorded.get(&env_id) {
            return Ok(self.receipt_again(c, *seq));
        }
        let outcome = d.outcome();
        if outcome == v1::Outcome::Unspecified {
            return Err(invalid(
                "envelope.payload.outcome",
                "RELEASE, HOLD or REFUSE",
            ));
        }
        if matches!(outcome, v1::Outcome::Hold | v1::Outcome::Refuse)
            && d.findings.trim().is_empty()
        {
            return Err(invalid(
                "envelope.payload.findings",
                "a hold or refusal states its findings",
            ));
        }
        match (c.state, outcome) {
            (S::AwaitingOfficer, _) | (S::Held, v1::Outcome::Release | v1::Outcome::Refuse) => {}
            (S::Held, _) => {
                return Err(Error::FailedPrecondition(format!(
                    "consignment {id} is already held"
                )));
            }
            _ => {
                return Err(step_error(
                    c,
                    "an officer decision",
                    "only a consignment awaiting an officer, or held, is decided",
                ));
            }
        }
        let mut planned = vec![Planned::new(kind::DECIDED, &env, Effect::Decided(d))];
        if outcome == v1::Outcome::Release && c.is_last() {
            planned.push(self.completion(c, now, now));
        }
        let appended = self.record(&mut slot, id, planned, now).await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        Ok(self.receipt(c, appended.last(), now))
    }

    /// `CancelDeclaration`: the declarant withdraws a declaration before the goods arrive at
    /// the first border.
    pub(crate) async fn cancel(&self, req: v1::SignedRequest) -> Result<v1::StepReceipt, Error> {
        let now = self.inner.clock.now_micros();
        let env = open_envelope(
            "envelope",
            req.envelope,
            payload_type::DECLARATION_CANCELLATION,
        )?;
        let cancellation = corridor_proto::decode_declaration_cancellation(env.payload())
            .map_err(|e| e.within("envelope.payload"))?;
        let id = *cancellation.declaration_id();
        let env_id = Digest::of(&corridor_proto::encode_envelope(&env));
        let mut slot = self.slot(&id, false).await?;
        let c = slot
            .as_ref()
            .ok_or_else(|| Error::NotFound(format!("consignment {id} is not known here")))?;
        {
            let replica = self.replica();
            self.operator_signed(
                &replica,
                &env,
                &c.declaration.declarant_operator_id,
                cancellation.cancelled_at_unix_micros(),
                "cancellation",
            )?;
        }
        if let Some((seq, hash)) = c.recorded.get(&env_id) {
            let mut r = self.receipt(c, None, now);
            (r.seq, r.entry_hash) = (*seq, hash.as_bytes().to_vec());
            return Ok(r);
        }
        if !c.is_first() {
            return Err(Error::FailedPrecondition(format!(
                "a declaration is cancelled at the first country of its route ({}), not at {}",
                c.declaration.route[0].country, self.inner.country
            )));
        }
        if c.state != S::AwaitingArrival {
            return Err(step_error(
                c,
                "cancellation",
                "a declaration is cancelled only before the goods arrive at the first border",
            ));
        }
        let effect = Effect::Cancelled(cancellation.reason().as_str().to_string());
        let appended = self
            .record(
                &mut slot,
                id,
                vec![Planned::new(kind::CANCELLED, &env, effect)],
                now,
            )
            .await?;
        let c = slot.as_ref().ok_or_else(|| Error::State("slot".into()))?;
        Ok(self.receipt(c, appended.last(), now))
    }

    /// The advance record for a consignment that exits (`exit`: the exit entry, once
    /// recorded).
    fn advance_record(
        &self,
        c: &Consignment,
        exit: Option<(u64, Digest, i64)>,
    ) -> v1::AdvanceRecord {
        let (seq, hash, at) = exit.unwrap_or((0, Digest::ZERO, 0));
        let clearances = c.clearances();
        v1::AdvanceRecord {
            consignment_id: c.id.as_bytes().to_vec(),
            from_country: self.inner.country.to_string(),
            to_country: c.next.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            declaration: Some(c.declaration_envelope.clone()),
            bill_of_lading_id: c.declaration.bill_of_lading_id.as_bytes().to_vec(),
            lane: c.lane as i32,
            reasons: c.reasons.clone(),
            clearance_micros: clearances.iter().map(|x| x.dwell_micros).sum(),
            clearances,
            prev_entry_seq: seq,
            prev_entry_hash: if exit.is_some() {
                hash.as_bytes().to_vec()
            } else {
                Vec::new()
            },
            exited_at_unix_micros: at,
            aeo_at_origin: c.aeo_at_origin,
            seals: c.seals.clone(),
        }
    }

    /// Queues consignment `id`'s advance record for the courier.
    pub(crate) fn queue_delivery(&self, id: Digest) {
        // The courier stops only with the node; a record queued then is in the outbox and
        // goes out after the restart.
        let _ = self.inner.courier.send(id);
    }

    /// Starts the courier and queues every advance record in the outbox (after a restart).
    pub(crate) fn start_deliveries(&self) {
        if let Some(queue) = lock(&self.inner.courier_queue).take() {
            let node = self.clone();
            self.inner
                .tasks
                .spawn(async move { node.courier(queue).await });
        }
        let due: Vec<Digest> = self
            .inner
            .ledger
            .extra_prefix(OUTBOX)
            .into_iter()
            .filter_map(|(k, _)| Digest::from_slice("outbox", &k[OUTBOX.len()..]).ok())
            .collect();
        for id in due {
            self.queue_delivery(id);
        }
    }

    /// The courier: takes every advance record due (up to `MAX_BATCH`) and delivers them to
    /// the next node in one `DeliverAdvanceRecords` call; while `COURIER_CALLS` calls are
    /// out, the next ones queue up. Each receipt is recorded in its own task (their appends
    /// share ledger batches); a record refused or not delivered is queued again after a
    /// backoff (`requeue`).
    async fn courier(&self, mut queue: tokio::sync::mpsc::UnboundedReceiver<Digest>) {
        let calls = Arc::new(tokio::sync::Semaphore::new(COURIER_CALLS));
        let mut ids = Vec::new();
        loop {
            let Ok(permit) = calls.clone().acquire_owned().await else {
                return;
            };
            let n = tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                n = queue.recv_many(&mut ids, crate::MAX_BATCH) => n,
            };
            if n == 0 {
                return;
            }
            let mut due: Vec<(Digest, Envelope, CountryCode)> = Vec::with_capacity(n);
            for id in ids.drain(..) {
                match self.prepare_delivery(&id).await {
                    Ok(Some((env, next))) => due.push((id, env, next)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(consignment = %id, error = %e, "advance record not prepared; trying again");
                        self.requeue(vec![id]);
                    }
                }
            }
            let node = self.clone();
            self.inner.tasks.spawn(async move {
                node.deliver_due(due).await;
                drop(permit);
            });
        }
    }

    /// Delivers the records `due`: one call per next node, within its message size.
    async fn deliver_due(&self, mut due: Vec<(Digest, Envelope, CountryCode)>) {
        while let Some(next) = due.first().map(|d| d.2.clone()) {
            let mut bytes = 0;
            let (mut batch, mut rest) = (Vec::new(), Vec::new());
            for d in due {
                let size = d.1.payload().len() + 256;
                if d.2 == next && (batch.is_empty() || bytes + size <= BATCH_BYTES) {
                    bytes += size;
                    batch.push(d);
                } else {
                    rest.push(d);
                }
            }
            due = rest;
            self.deliver_batch(next, batch).await;
        }
    }

    /// One `DeliverAdvanceRecords` call; each record acknowledged is recorded in its own task,
    /// the others are queued again (`requeue`). A call cut short by the node stopping leaves
    /// its records in the outbox, sent again after the restart.
    async fn deliver_batch(&self, next: CountryCode, batch: Vec<(Digest, Envelope, CountryCode)>) {
        let Some(mut client) = self.inner.peers.clients.get(&next).cloned() else {
            tracing::error!(country = %next, "no client for the next node");
            self.requeue(batch.into_iter().map(|(id, _, _)| id).collect());
            return;
        };
        let requests = batch
            .iter()
            .map(|(_, env, _)| v1::SignedRequest {
                envelope: Some(v1::Envelope::from(env)),
            })
            .collect();
        let answer = tokio::select! {
            _ = self.inner.shutdown.cancelled() => return,
            r = client.deliver_advance_records(v1::SignedRequests { requests }) => r,
        };
        let outcomes = match answer {
            Ok(r) => {
                *lock(&self.inner.courier_backoff) = FIRST_BACKOFF;
                r.into_inner().outcomes
            }
            Err(s) => {
                tracing::warn!(country = %next, code = ?s.code(), error = s.message(), records = batch.len(), "advance records not delivered; sending them again");
                self.requeue(batch.into_iter().map(|(id, _, _)| id).collect());
                return;
            }
        };
        let mut outcomes = outcomes.into_iter();
        let mut again = Vec::new();
        for (id, env, next) in batch {
            match outcomes.next().and_then(|o| o.outcome) {
                Some(v1::deliver_outcome::Outcome::Response(resp)) => {
                    let node = self.clone();
                    self.inner.tasks.spawn(async move {
                        if let Err(e) = node.acknowledged(&id, &env, &next, resp).await {
                            tracing::warn!(consignment = %id, error = %e, "advance receipt not recorded; sending the record again");
                            node.requeue(vec![id]);
                        }
                    });
                }
                Some(v1::deliver_outcome::Outcome::Refusal(r)) => {
                    tracing::warn!(consignment = %id, code = r.code, error = r.message, "advance record refused; sending it again");
                    again.push(id);
                }
                None => again.push(id),
            }
        }
        if !again.is_empty() {
            self.requeue(again);
        }
    }

    /// Queues records for the courier again after the courier's backoff (100 ms, doubling to
    /// 5 s while calls keep failing; back to 100 ms once a call is answered): one timer per
    /// failed call, and the records go out together again.
    fn requeue(&self, ids: Vec<Digest>) {
        let delay = {
            let mut b = lock(&self.inner.courier_backoff);
            let d = *b;
            *b = (*b * 2).min(Duration::from_secs(5));
            d
        };
        let node = self.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                _ = node.inner.shutdown.cancelled() => {}
                _ = tokio::time::sleep(delay) => {
                    for id in ids {
                        node.queue_delivery(id);
                    }
                }
            }
        });
    }

    /// The signed advance record of consignment `id` and the node it goes to; `None` when
    /// nothing is due (not exited, or already handed over).
    async fn prepare_delivery(
        &self,
        id: &Digest,
    ) -> Result<Option<(Envelope, CountryCode)>, Error> {
        let slot = self.slot(id, false).await?;
        let Some(c) = slot.as_ref() else {
            return Ok(None);
        };
        if c.state != S::Exited {
            return Ok(None);
        }
        let Some(next) = c.next.clone() else {
            return Ok(None);
        };
        let env = self.sign(
            payload_type::ADVANCE_RECORD,
            &self.advance_record(c, c.exit),
        );
        Ok(Some((env, next)))
    }

    /// Checks the next node's receipt for the advance record `env` and records it, removing
    /// the outbox row.
    async fn acknowledged(
        &self,
        id: &Digest,
        env: &Envelope,
        next: &CountryCode,
        resp: v1::DeliverAdvanceRecordResponse,
    ) -> Result<(), Error> {
        let renv = open_envelope("receipt", resp.receipt, payload_type::ADVANCE_RECEIPT)?;
        let key = self
            .inner
            .peers
            .nodes
            .get(next)
            .ok_or_else(|| Error::State("node key".into()))?;
        renv.verify_by(key)
            .map_err(|e| Error::Unauthenticated(format!("receipt from {next}: {e}")))?;
        let r: v1::AdvanceReceipt = decode("receipt", &renv)?;
        if r.consignment_id != id.as_bytes()
            || r.country != next.as_str()
            || r.advance_record_id != env.document_id().as_bytes()
        {
            return Err(Error::Unauthenticated(format!(
                "the receipt from {next} is for another record"
            )));
        }
        let now = self.inner.clock.now_micros();
        let mut slot = self.slot(id, false).await?;
        if slot.as_ref().is_none_or(|c| c.state != S::Exited) {
            return Ok(());
        }
        let mut p = Planned::new(kind::HANDED_OVER, &renv, Effect::HandedOver(r));
        p.extra.push((outbox_key(id), None));
        self.record(&mut slot, *id, vec![p], now).await?;
        Ok(())
    }

    /// A consignment's view, with its events when `events`.
    pub(crate) async fn view(
        &self,
        id: &Digest,
        events: bool,
    ) -> Result<v1::ConsignmentView, Error> {
        let slot = self.slot(id, false).await?;
        let c = slot.as_ref().ok_or_else(|| {
            Error::NotFound(format!(
                "consignment {id} is not known at {}",
                self.inner.country
            ))
        })?;
        Ok(self.view_of(c, events))
    }

    pub(crate) fn view_of(&self, c: &Consignment, events: bool) -> v1::ConsignmentView {
        let now = self.inner.clock.now_micros();
        let clearance = c.clearance_micros(now);
        let status = crate::consignment::clearance_status(clearance, &self.inner.target);
        v1::ConsignmentView {
            consignment_id: c.id.to_hex(),
            country: c.country.to_string(),
            state: c.state as i32,
            lane: c.lane as i32,
            reasons: c.reasons.clone(),
            aeo_recognised: c.aeo,
            aeo_basis: c.aeo_basis.clone(),
            declarant_operator_id: c.declaration.declarant_operator_id.to_string(),
            holder_operator_id: c.declaration.holder_operator_id.to_string(),
            arrived_at_unix_micros: c.arrived_at,
            released_at_unix_micros: c.released_at,
            clearance_micros: clearance,
            clearance_status: status as i32,
            next_country: c.next.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            events: if events { c.events.clone() } else { Vec::new() },
            guarantee_reference: c.declaration.guarantee.reference.as_str().to_string(),
            guarantee_discharged: c.state == S::Completed,
            declaration_reference: c.declaration.declaration_reference.as_str().to_string(),
            clearances: c.clearances(),
            seals: c.seals.clone(),
        }
    }

    /// Every consignment's view (without events), AEO priority first, then by arrival.
    pub(crate) async fn list(&self, filter: v1::QueueFilter) -> Vec<v1::ConsignmentView> {
        let slots: Vec<Slot> = lock(&self.inner.slots).values().cloned().collect();
        let mut out = Vec::new();
        for s in slots {
            let g = s.lock().await;
            let Some(c) = g.as_ref() else { continue };
            let keep = match filter {
                v1::QueueFilter::Unspecified => !c.is_done_here(),
                v1::QueueFilter::AwaitingOfficer => matches!(c.state, S::AwaitingOfficer | S::Held),
                v1::QueueFilter::Flagged => true,
                v1::QueueFilter::All => true,
            };
            if keep {
                let v = self.view_of(c, false);
                if filter != v1::QueueFilter::Flagged
                    || v.clearance_status() != v1::ClearanceStatus::OnTrack
                {
                    out.push(v);
                }
            }
        }
        out.sort_by_key(|v| {
            (
                !v.aeo_recognised,
                v.arrived_at_unix_micros,
                v.consignment_id.clone(),
            )
        });
        out
    }

    /// The node's status.
    pub(crate) fn status(&self) -> v1::NodeStatus {
        v1::NodeStatus {
            country: self.inner.country.to_string(),
            ledger_size: self.inner.ledger.len(),
            registry_entries: self.inner.replica.len(),
            consignments: lock(&self.inner.slots).len() as u64,
            outbox: self.inner.ledger.extra_prefix(OUTBOX).len() as u64,
            signatures_made: corridor_core::signature_counts().0,
            signatures_verified: corridor_core::signature_counts().1,
        }
    }
}

fn step_error(c: &Consignment, step: &str, rule: &str) -> Error {
    Error::FailedPrecondition(format!(
        "{step} is out of order for consignment {} at {}: it is {} ({rule})",
        c.id,
        c.country,
        state_name(c.state)
    ))
}

/// The state's name in lower case.
pub fn state_name(s: S) -> &'static str {
    match s {
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

/// What is wrong with the seals found at arrival against those expected: broken, missing
/// or unknown seals.
fn seal_problems(expected: &[v1::SealCheck], found: &[v1::SealCheck]) -> Vec<String> {
    let mut out = Vec::new();
    for f in found {
        let known = expected
            .iter()
            .any(|e| e.container_number == f.container_number && e.seal_number == f.seal_number);
        if !known {
            out.push(format!(
                "seal {} on {} is not on the record",
                f.seal_number, f.container_number
            ));
        } else if !f.intact {
            out.push(format!(
                "seal {} on {} is broken",
                f.seal_number, f.container_number
            ));
        }
    }
    for e in expected {
        if !found
            .iter()
            .any(|f| e.container_number == f.container_number && e.seal_number == f.seal_number)
        {
            out.push(format!(
                "seal {} on {} was not checked",
                e.seal_number, e.container_number
            ));
        }
    }
    out
}

fn opened_from_record(r: v1::AdvanceRecord) -> Result<Opened, Error> {
    let denv = r
        .declaration
        .ok_or_else(|| ParseError::new("envelope.payload.declaration", "required"))?;
    let declaration = corridor_proto::decode_declaration(&denv.payload)
        .map_err(|e| e.within("envelope.payload.declaration.payload"))?;
    Ok(Opened {
        declaration_envelope: denv,
        declaration,
        seals: r.seals,
        carried: r.clearances,
        aeo_at_origin: Some(r.aeo_at_origin),
    })
}
