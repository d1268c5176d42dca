//! `corridor trace ID`: follows one consignment through every node's ledger, in route
//! order. Each ledger is verified from genesis against its node's signed checkpoint; each of
//! the consignment's entries has its signatures checked against the key its role requires
//! (operators' keys valid at the document's time, from the registry's own ledger); each
//! handoff must link the previous node's exit entry by hash, and each receipt the next
//! node's entry. Reads the running services through their ledger read service, or the data
//! directories of stopped ones (`--data ROOT`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use corridor_aeo::TrustedKeys;
use corridor_aeo::replica::Replica;
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, PublicKey};
use corridor_customs::consignment::kind;
use corridor_ledger::verify::ChainVerifier;
use corridor_ledger::{Checkpoint, Damage, Entry, Verified};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Topology;
use corridor_topology::clock::format_micros;
use prost::Message;
use tokio_stream::StreamExt;

use crate::Outcome;
use crate::cmd::customs::{DEFAULT_TOPOLOGY, TopologyArg, consignment_id};

/// `corridor trace`.
#[derive(Args)]
pub(crate) struct TraceArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Read stopped services' data directories under ROOT (ROOT/registry,
    /// ROOT/customs/CC, as `corridor up` lays them out) instead of the running services;
    /// the topology defaults to ROOT/topology.toml.
    #[arg(long, value_name = "ROOT")]
    data: Option<PathBuf>,
    /// The consignment id (64 hex digits).
    #[arg(value_name = "ID")]
    id: String,
}

/// Where a node's data directory is under a corridor's data root.
pub(crate) fn node_dir(root: &Path, cc: &CountryCode) -> PathBuf {
    root.join("customs").join(cc.as_str())
}

/// Where the registry's data directory is under a corridor's data root.
pub(crate) fn registry_dir(root: &Path) -> PathBuf {
    root.join("registry")
}

/// A ledger as read: its verification, and the entries kept.
type ReadLedger = (Result<Verified, Damage>, Vec<(Entry, Digest)>);

/// One node's ledger as read for a trace.
#[derive(Clone)]
struct NodeLedger {
    cc: CountryCode,
    verified: Result<Verified, Damage>,
    /// The consignment's entries, in order.
    entries: Vec<(Entry, Digest)>,
}

fn wire(e: &Entry, hash: &Digest) -> v1::LedgerEntry {
    v1::LedgerEntry {
        seq: e.seq,
        prev_hash: e.prev_hash.as_bytes().to_vec(),
        time_unix_micros: e.time_unix_micros,
        kind: e.kind.clone(),
        subject: e.subject.clone(),
        envelope: e.envelope.clone(),
        hash: hash.as_bytes().to_vec(),
    }
}

fn unwire(e: v1::LedgerEntry) -> anyhow::Result<(Entry, Digest)> {
    Ok((
        Entry {
            seq: e.seq,
            prev_hash: Digest::from_slice("prev_hash", &e.prev_hash)?,
            time_unix_micros: e.time_unix_micros,
            kind: e.kind,
            subject: e.subject,
            envelope: e.envelope,
        },
        Digest::from_slice("hash", &e.hash)?,
    ))
}

/// [`remote_ledger_in`] over plaintext, for a corridor without TLS.
pub(crate) async fn remote_ledger(
    addr: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<ReadLedger> {
    let channel = crate::cmd::demo::channel(addr).await?;
    read_remote(channel, addr, key, subject).await
}

/// Streams the ledger of the service of `t` at `addr` (over TLS when `t` has `[tls]`),
/// verifying it against a fresh checkpoint signed by `key`; keeps the entries about
/// `subject` (all of them when `None`).
pub(crate) async fn remote_ledger_in(
    t: &Topology,
    addr: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<ReadLedger> {
    let channel = crate::cmd::demo::channel_to(t, addr).await?;
    read_remote(channel, addr, key, subject).await
}

async fn read_remote(
    channel: tonic::transport::Channel,
    addr: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<ReadLedger> {
    let mut c = LedgerReaderClient::new(channel);
    let cp = c
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .with_context(|| format!("checkpoint of {addr}"))?
        .into_inner();
    let checkpoint = Checkpoint::parse(&cp.note)?;
    if let Err(e) = checkpoint.verify(key) {
        let damage = Damage {
            seq: 0,
            what: format!("the checkpoint is not signed by the key the topology lists: {e}"),
        };
        return Ok((Err(damage), Vec::new()));
    }
    let size = checkpoint.size;
    let mut verifier = ChainVerifier::new(Some(checkpoint));
    let mut stream = c
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: size,
        })
        .await
        .with_context(|| format!("entries of {addr}"))?
        .into_inner();
    let mut kept = Vec::new();
    while let Some(e) = stream.next().await {
        let (entry, hash) = unwire(e.with_context(|| format!("entries of {addr}"))?)?;
        if let Err(d) = verifier.push(entry.seq, &entry.record(), &hash) {
            return Ok((Err(d), kept));
        }
        if subject.is_none_or(|s| s == entry.subject) {
            kept.push((entry, hash));
        }
    }
    Ok((verifier.finish(), kept))
}

/// Reads a stopped service's ledger from `dir` (a private copy: nothing in `dir` changes),
/// verified against its last checkpoint, which must name `origin` and be signed by `key`; keeps the entries about `subject`
/// (all when `None`).
fn local_ledger(
    dir: &Path,
    origin: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<ReadLedger> {
    let snapshot = corridor_ledger::Snapshot::open(dir)
        .with_context(|| format!("cannot read the ledger in {}", dir.display()))?;
    let verified = match snapshot.checkpoint() {
        Some(cp) if cp.origin != origin => Err(Damage {
            seq: 0,
            what: format!(
                "the signed checkpoint is of ledger {:?}, not {origin:?}",
                cp.origin
            ),
        }),
        _ => snapshot.verify(Some(key))?,
    };
    // Only the entries that verified, as a remote read stops at the first damage.
    let verified_len = match &verified {
        Ok(v) => v.entries,
        Err(d) => d.seq,
    };
    let mut kept = Vec::new();
    for (expected, e) in (0..verified_len).zip(snapshot.entries()) {
        let (entry, hash) = e?;
        if entry.seq != expected {
            break;
        }
        if subject.is_none_or(|s| s == entry.subject) {
            kept.push((entry, hash));
        }
    }
    Ok((verified, kept))
}

/// What a verification checked, as a trace says it; `signer` signed the checkpoint.
fn checked(v: &Verified, signer: &str) -> String {
    match v.checkpoint_size {
        Some(n) if n == v.entries => format!(
            "{} entries, all under the checkpoint signed by {signer}",
            v.entries
        ),
        Some(n) => format!(
            "{} entries: the first {n} under the checkpoint signed by {signer}, the rest by their hash links",
            v.entries
        ),
        None => format!("{} entries, no signed checkpoint", v.entries),
    }
}

/// The keys a trace checks against: the topology's, and the operators' from the
/// registry's ledger.
struct Trace {
    t: Topology,
    replica: Replica,
    route: Vec<CountryCode>,
}

/// What one consignment's trace found.
pub(crate) struct Traced {
    /// Countries whose ledger holds the consignment.
    pub(crate) countries: usize,
    /// Its entries, across every ledger.
    pub(crate) entries: usize,
    /// Every break found; empty when the trace verifies.
    pub(crate) problems: Vec<String>,
    /// The chain as people read it, breaks included.
    pub(crate) lines: Vec<String>,
}

impl Traced {
    fn say(&mut self, line: String) {
        self.lines.push(line);
    }

    fn fail(&mut self, what: String) {
        self.lines.push(format!("  BROKEN: {what}"));
        self.problems.push(what);
    }
}

impl Trace {
    fn node_key(&self, cc: &CountryCode) -> Option<PublicKey> {
        self.t.node_keys().ok()?.get(cc).copied()
    }

    fn officer_signed(&self, cc: &CountryCode, env: &Envelope) -> Result<String, String> {
        let officers = self.t.officer_keys(cc).map_err(|e| e.to_string())?;
        for (name, k) in officers {
            if env.verify_by(&k).is_ok() {
                return Ok(format!("officer {name} of {cc}"));
            }
        }
        Err(format!("not signed by an officer of {cc}"))
    }

    fn node_signed(&self, cc: &CountryCode, env: &Envelope) -> Result<String, String> {
        let k = self
            .node_key(cc)
            .ok_or_else(|| format!("no key for the node of {cc}"))?;
        env.verify_by(&k)
            .map(|()| format!("node {cc}"))
            .map_err(|e| format!("not signed by the node of {cc}: {e}"))
    }

    fn operator_signed(&self, op: &OperatorId, at: i64, env: &Envelope) -> Result<String, String> {
        let mut why = String::from("no signature");
        for s in env.signatures() {
            match self.replica.operator_key(op, &s.key_id, at) {
                Ok(k) => {
                    return env
                        .verify_by(&k)
                        .map(|()| format!("{op}"))
                        .map_err(|e| format!("{op}: {e}"));
                }
                Err(e) => why = e,
            }
        }
        Err(format!(
            "not signed by {op} with a key valid at {}: {why}",
            format_micros(at)
        ))
    }

    /// Checks one entry's signatures; returns who signed.
    fn check_entry(&self, cc: &CountryCode, e: &Entry, env: &Envelope) -> Result<String, String> {
        let prev = |cc: &CountryCode| {
            let i = self.route.iter().position(|c| c == cc)?;
            i.checked_sub(1).map(|i| self.route[i].clone())
        };
        let next = |cc: &CountryCode| {
            let i = self.route.iter().position(|c| c == cc)?;
            self.route.get(i + 1).cloned()
        };
        match e.kind.as_str() {
            kind::DECLARATION_ACCEPTED => {
                let d =
                    corridor_proto::decode_declaration(env.payload()).map_err(|x| x.to_string())?;
                let at = d.created_at_unix_micros;
                let mut who = self.operator_signed(&d.declarant_operator_id, at, env)?;
                if d.holder_operator_id != d.declarant_operator_id {
                    who = format!(
                        "{who} and {}",
                        self.operator_signed(&d.holder_operator_id, at, env)?
                    );
                }
                Ok(who)
            }
            kind::BILL_PRESENTED => {
                let b = corridor_proto::decode_bill_of_lading(env.payload())
                    .map_err(|x| x.to_string())?;
                self.operator_signed(&b.carrier.operator_id, b.issued_at_unix_micros, env)
            }
            kind::BILL_TRANSFER => {
                let t = corridor_proto::decode_transfer_entry(env.payload())
                    .map_err(|x| x.to_string())?;
                self.operator_signed(&t.actor, t.time_unix_micros, env)
            }
            kind::ADVANCE_RECEIVED => {
                let p = prev(cc).ok_or("an advance record at the first country")?;
                self.node_signed(&p, env)
            }
            kind::ADVANCE_ACKNOWLEDGED => {
                let n = next(cc).ok_or("a receipt at the last country")?;
                self.node_signed(&n, env)
            }
            kind::BORDER_ARRIVAL | kind::BORDER_EXIT | kind::OFFICER_DECISION => {
                self.officer_signed(cc, env)
            }
            _ => self.node_signed(cc, env),
        }
    }
}

fn find<'a>(l: &'a NodeLedger, k: &str) -> Option<&'a (Entry, Digest)> {
    l.entries.iter().find(|(e, _)| e.kind == k)
}

fn decode_env<M: Message + Default>(e: &Entry) -> Option<M> {
    let env = corridor_proto::decode_envelope(&e.envelope).ok()?;
    M::decode(env.payload()).ok()
}

/// Where a trace reads the ledgers.
pub(crate) enum Source<'a> {
    /// The running services' ledger read services.
    Remote,
    /// Stopped services' data directories under a root.
    Local(&'a Path),
}

/// Every ledger of a corridor (or, with a subject, every ledger's entries about it), each
/// verified from genesis against its service's signed checkpoint.
pub(crate) struct Corpus {
    trace: Trace,
    /// The registry's ledger verification.
    pub(crate) registry: Result<Verified, Damage>,
    nodes: Vec<NodeLedger>,
}

impl Corpus {
    /// Reads the registry's ledger (into a replica, for the operators' keys at each
    /// document's time) and every node's.
    pub(crate) async fn load(
        t: Topology,
        source: Source<'_>,
        subject: Option<&str>,
    ) -> anyhow::Result<Self> {
        let keys = TrustedKeys::from_topology(&t)?;
        let node_keys = t.node_keys()?;
        let registry_key = t
            .registry
            .key
            .as_ref()
            .map(|k| PublicKey::load(&t.resolve(&k.public)))
            .transpose()?
            .context("the topology lists no registry key")?;
        let route = t.country_codes();
        let (registry, registry_entries) = match source {
            Source::Local(root) => local_ledger(
                &registry_dir(root),
                &corridor_aeo::origin(&t.name),
                &registry_key,
                None,
            )?,
            Source::Remote => remote_ledger_in(&t, &t.registry.listen, &registry_key, None).await?,
        };
        let mut replica = Replica::new(keys);
        for (e, h) in &registry_entries {
            replica
                .apply(&wire(e, h))
                .map_err(|x| anyhow::anyhow!("registry ledger: {x}"))?;
        }
        let mut nodes = Vec::new();
        for cc in &route {
            let key = node_keys.get(cc).context("node key")?;
            let (verified, entries) = match source {
                Source::Local(root) => local_ledger(
                    &node_dir(root, cc),
                    &corridor_customs::origin(&t.name, cc),
                    key,
                    subject,
                )?,
                Source::Remote => {
                    let addr = t.node_addr(cc)?.to_string();
                    remote_ledger_in(&t, &addr, key, subject).await?
                }
            };
            nodes.push(NodeLedger {
                cc: cc.clone(),
                verified,
                entries,
            });
        }
        Ok(Self {
            trace: Trace { t, replica, route },
            registry,
            nodes,
        })
    }

    /// Each node's country and its ledger verification, in route order.
    pub(crate) fn node_ledgers(
        &self,
    ) -> impl Iterator<Item = (&CountryCode, &Result<Verified, Damage>)> {
        self.nodes.iter().map(|n| (&n.cc, &n.verified))
    }

    /// Whether the first node knows consignment `id`.
    pub(crate) fn knows(&self, id: &Digest) -> bool {
        let subject = id.to_hex();
        self.nodes
            .first()
            .is_some_and(|n| n.entries.iter().any(|(e, _)| e.subject == subject))
    }

    /// Traces consignment `id` through every ledger.
    pub(crate) fn trace(&self, id: &Digest) -> Traced {
        let subject = id.to_hex();
        let ledgers: Vec<NodeLedger> = self
            .nodes
            .iter()
            .map(|n| NodeLedger {
                cc: n.cc.clone(),
                verified: n.verified.clone(),
                entries: n
                    .entries
                    .iter()
                    .filter(|(e, _)| e.subject == subject)
                    .cloned()
                    .collect(),
            })
            .collect();
        let trace = &self.trace;
        let mut out = Traced {
            countries: 0,
            entries: 0,
            problems: Vec::new(),
            lines: Vec::new(),
        };
        out.say(format!("consignment {id}"));
        match &self.registry {
            Ok(v) => out.say(format!(
                "registry ledger verified: {}",
                checked(v, "the registry")
            )),
            Err(d) => out.fail(format!("registry ledger: entry {}: {}", d.seq, d.what)),
        }
        for (i, l) in ledgers.iter().enumerate() {
            if l.entries.is_empty() {
                let handed = i > 0 && find(&ledgers[i - 1], kind::ADVANCE_ACKNOWLEDGED).is_some();
                if handed {
                    out.fail(format!(
                        "{} acknowledged the consignment, but its ledger has no entry of it",
                        l.cc
                    ));
                } else {
                    out.say(format!("{}: not reached yet", l.cc));
                }
                break;
            }
            out.countries += 1;
            match &l.verified {
                Ok(v) => out.say(format!(
                    "{}: ledger verified ({})",
                    l.cc,
                    checked(v, "the node")
                )),
                Err(d) => out.fail(format!("{} ledger: entry {}: {}", l.cc, d.seq, d.what)),
            }
            for (e, h) in &l.entries {
                out.entries += 1;
                let who = corridor_proto::decode_envelope(&e.envelope)
                    .map_err(|x| x.to_string())
                    .and_then(|env| trace.check_entry(&l.cc, e, &env));
                let head = format!(
                    "  #{:<6} {}  {:<22} {}",
                    e.seq,
                    format_micros(e.time_unix_micros),
                    e.kind,
                    &h.to_hex()[..16]
                );
                match who {
                    Ok(who) => out.say(format!("{head}  signed by {who}")),
                    Err(x) => {
                        out.say(head);
                        out.fail(format!("{} #{} {}: {x}", l.cc, e.seq, e.kind));
                    }
                }
            }
            // The handoff into this country links the previous one's exit entry.
            if i > 0 {
                let link = find(l, kind::ADVANCE_RECEIVED)
                    .and_then(|(e, _)| decode_env::<v1::AdvanceRecord>(e));
                let exit = find(&ledgers[i - 1], kind::BORDER_EXIT);
                match (link, exit) {
                    (Some(r), Some((x, xh)))
                        if r.prev_entry_hash == xh.as_bytes() && r.prev_entry_seq == x.seq =>
                    {
                        out.say(format!(
                            "  linked to {} #{} ({})",
                            ledgers[i - 1].cc,
                            x.seq,
                            &xh.to_hex()[..16]
                        ));
                    }
                    (Some(r), Some((x, xh))) => out.fail(format!(
                        "the advance record into {} links entry {} {}, not {}'s exit entry {} {}",
                        l.cc,
                        r.prev_entry_seq,
                        hex::encode(&r.prev_entry_hash),
                        ledgers[i - 1].cc,
                        x.seq,
                        xh
                    )),
                    _ => out.fail(format!(
                        "no advance record into {} matching an exit from {}",
                        l.cc,
                        ledgers[i - 1].cc
                    )),
                }
            }
            // A receipt recorded here names the next country's entry.
            if let Some((e, _)) = find(l, kind::ADVANCE_ACKNOWLEDGED) {
                let receipt = decode_env::<v1::AdvanceReceipt>(e);
                let theirs = ledgers
                    .get(i + 1)
                    .and_then(|n| find(n, kind::ADVANCE_RECEIVED));
                match (receipt, theirs) {
                    (Some(r), Some((ne, nh)))
                        if r.entry_hash == nh.as_bytes() && r.entry_seq == ne.seq => {}
                    _ => out.fail(format!(
                        "{}'s receipt for the advance record does not name the entry recorded there",
                        ledgers
                            .get(i + 1)
                            .map_or("the next node".to_string(), |n| n.cc.to_string())
                    )),
                }
            }
        }
        out
    }
}

pub(crate) fn run(a: TraceArgs) -> anyhow::Result<Outcome> {
    let id = consignment_id(&a.id)?;
    let topology_file = match &a.data {
        Some(root) if a.topology.topology == Path::new(DEFAULT_TOPOLOGY) => {
            root.join("topology.toml")
        }
        _ => a.topology.topology.clone(),
    };
    let t = TopologyArg {
        topology: topology_file,
    }
    .load()?;
    let first = t
        .country_codes()
        .first()
        .map_or("?".into(), |c| c.to_string());
    let subject = id.to_hex();
    let source = match &a.data {
        Some(root) => Source::Local(root),
        None => Source::Remote,
    };
    let corpus = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(Corpus::load(t, source, Some(&subject)))?;
    if !corpus.knows(&id) {
        anyhow::bail!("consignment {id} is not known at {first} (the first node)");
    }
    let traced = corpus.trace(&id);
    for l in &traced.lines {
        println!("{l}");
    }
    if !traced.problems.is_empty() {
        println!("trace: {} problems", traced.problems.len());
        return Ok(Outcome::Damaged);
    }
    println!(
        "trace: {} countries, {} entries; every ledger, link and signature verified",
        traced.countries, traced.entries
    );
    Ok(Outcome::Ok)
}
