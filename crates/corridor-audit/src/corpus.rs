//! Every ledger of a corridor, read and verified at once, and the trace of one consignment
//! through them.
//!
//! A trace follows the consignment through every node's ledger in route order. Each ledger
//! is verified from genesis against its node's signed checkpoint and its latest witnessed
//! one ([`crate::source`]); each of the consignment's
//! entries has its signatures checked against the key its role requires ([`crate::signers`]);
//! each handoff must link the previous node's exit entry by hash (the advance record names
//! that entry, the two countries, the consignment and the exit time), and each receipt the
//! next node's entry and the advance record it acknowledges. The same trace runs over the
//! excerpts a consignment proof holds ([`Corpus::of_excerpts`], [`crate::proof`]).

use std::path::Path;

use corridor_aeo::TrustedKeys;
use corridor_aeo::replica::Replica;
use corridor_core::{CountryCode, Digest};
use corridor_customs::consignment::kind;
use corridor_ledger::Entry;
use corridor_proto::v1;
use corridor_topology::clock::format_micros;
use corridor_topology::{ServiceRole, Topology};
use prost::Message;

use crate::layout::dir_of;
use crate::signers::Signers;
use crate::source::{LedgerRead, local_ledger, remote_ledger};

/// Where the ledgers are read.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// The running services' ledger read services.
    Remote,
    /// Stopped services' data directories under a data root.
    Local(&'a Path),
}

/// What the check of a ledger (or of the excerpt of it a proof holds) covered, in words
/// ("ledger verified: ..."), or what broke it.
pub type Covered = Result<String, String>;

/// One node's ledger as read, or the excerpt of it a proof holds.
#[derive(Clone)]
pub struct NodeLedger {
    /// The node's country.
    pub cc: CountryCode,
    /// What its check covered, or what broke it.
    pub covered: Covered,
    /// The entries kept (those checked), in order.
    pub entries: Vec<(Entry, Digest)>,
}

impl NodeLedger {
    fn find(&self, k: &str) -> Option<&(Entry, Digest)> {
        self.entries.iter().find(|(e, _)| e.kind == k)
    }
}

fn decode_env<M: Message + Default>(e: &Entry) -> Option<(M, Digest)> {
    let env = corridor_proto::decode_envelope(&e.envelope).ok()?;
    Some((M::decode(env.payload()).ok()?, env.document_id()))
}

/// The ledger of `role` read from `source`.
async fn read(
    t: &Topology,
    source: Source<'_>,
    role: &ServiceRole,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    match source {
        Source::Local(root) => local_ledger(t, &dir_of(root, role)?, role, subject),
        Source::Remote => remote_ledger(t, role, subject).await,
    }
}

/// What one consignment's trace found.
#[derive(Clone, Debug, Default)]
pub struct Traced {
    /// Countries whose ledger holds the consignment.
    pub countries: usize,
    /// Its entries, across every ledger.
    pub entries: usize,
    /// Every break found; empty when the trace verifies.
    pub problems: Vec<String>,
    /// The chain as people read it, breaks included.
    pub lines: Vec<String>,
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

/// Every ledger of a corridor (or, with a subject, every node ledger's entries about it),
/// each verified from genesis against its service's signed checkpoint.
pub struct Corpus {
    signers: Signers,
    /// The registry's ledger check.
    pub registry: Covered,
    nodes: Vec<NodeLedger>,
}

impl Corpus {
    /// Reads the registry's ledger (into a replica, for the operators' keys at each
    /// document's time) and every node's, keeping the node entries about `subject` (all
    /// when `None`).
    pub async fn load(
        t: Topology,
        source: Source<'_>,
        subject: Option<&str>,
    ) -> anyhow::Result<Self> {
        let keys = TrustedKeys::from_topology(&t)?;
        let registry = read(&t, source, &ServiceRole::Registry, None).await?;
        let mut replica = Replica::new(keys);
        for (e, h) in &registry.entries {
            replica
                .apply(&corridor_proto::ledger::entry_to_wire(e, h))
                .map_err(|x| anyhow::anyhow!("registry ledger: {x}"))?;
        }
        let mut nodes = Vec::new();
        for cc in t.country_codes() {
            let l = read(&t, source, &ServiceRole::Node(cc.clone()), subject).await?;
            nodes.push(NodeLedger {
                covered: l.covered(&t, "the node"),
                entries: l.entries,
                cc,
            });
        }
        let registry = registry.covered(&t, "the registry");
        Ok(Self {
            signers: Signers::new(t, replica),
            registry,
            nodes,
        })
    }

    /// A corpus of ledger excerpts checked already (a consignment proof's): the registry's
    /// state as `replica` holds it and its check, and for each node in route order its
    /// check and its entries.
    pub fn of_excerpts(
        t: Topology,
        replica: Replica,
        registry: Covered,
        nodes: Vec<NodeLedger>,
    ) -> Self {
        Self {
            signers: Signers::new(t, replica),
            registry,
            nodes,
        }
    }

    /// Each node's country and its ledger check, in route order.
    pub fn node_ledgers(&self) -> impl Iterator<Item = (&CountryCode, &Covered)> {
        self.nodes.iter().map(|n| (&n.cc, &n.covered))
    }

    /// Whether the first node knows consignment `id`.
    pub fn knows(&self, id: &Digest) -> bool {
        let subject = id.to_hex();
        self.nodes
            .first()
            .is_some_and(|n| n.entries.iter().any(|(e, _)| e.subject == subject))
    }

    /// Traces consignment `id` through every ledger.
    pub fn trace(&self, id: &Digest) -> Traced {
        let subject = id.to_hex();
        let ledgers: Vec<NodeLedger> = self
            .nodes
            .iter()
            .map(|n| NodeLedger {
                cc: n.cc.clone(),
                covered: n.covered.clone(),
                entries: n
                    .entries
                    .iter()
                    .filter(|(e, _)| e.subject == subject)
                    .cloned()
                    .collect(),
            })
            .collect();
        // The declarant, whom a cancellation must be signed by: from the declaration the
        // first node accepted.
        let declarant = ledgers
            .first()
            .and_then(|l| l.find(kind::DECLARATION_ACCEPTED))
            .and_then(|(e, _)| corridor_proto::decode_envelope(&e.envelope).ok())
            .and_then(|env| corridor_proto::decode_declaration(env.payload()).ok())
            .map(|d| d.declarant_operator_id.clone());
        let mut out = Traced::default();
        out.say(format!("consignment {id}"));
        match &self.registry {
            Ok(v) => out.say(format!("registry: {v}")),
            Err(d) => out.fail(format!("registry ledger: {d}")),
        }
        for (i, l) in ledgers.iter().enumerate() {
            if l.entries.is_empty() {
                // A ledger that did not verify keeps no entries: its damage is why.
                if let Err(d) = &l.covered {
                    out.fail(format!("{} ledger: {d}", l.cc));
                }
                let handed = i > 0 && ledgers[i - 1].find(kind::ADVANCE_ACKNOWLEDGED).is_some();
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
            match &l.covered {
                Ok(v) => out.say(format!("{}: {v}", l.cc)),
                Err(d) => out.fail(format!("{} ledger: {d}", l.cc)),
            }
            for (e, h) in &l.entries {
                out.entries += 1;
                let who = corridor_proto::decode_envelope(&e.envelope)
                    .map_err(|x| x.to_string())
                    .and_then(|env| self.signers.check(&l.cc, e, &env, declarant.as_ref()));
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
            if i > 0 {
                check_handoff(&mut out, id, &ledgers[i - 1], l);
            }
            if let Some((e, _)) = l.find(kind::ADVANCE_ACKNOWLEDGED) {
                check_receipt(&mut out, e, ledgers.get(i + 1));
            }
        }
        out
    }
}

/// The handoff into `to` links the exit entry of `from`: the advance record names it by
/// sequence number and hash, and names the consignment, both countries and the exit time.
fn check_handoff(out: &mut Traced, id: &Digest, from: &NodeLedger, to: &NodeLedger) {
    let link = to
        .find(kind::ADVANCE_RECEIVED)
        .and_then(|(e, _)| decode_env::<v1::AdvanceRecord>(e));
    let Some(((r, _), (x, xh))) = link.zip(from.find(kind::BORDER_EXIT)) else {
        out.fail(format!(
            "no advance record into {} matching an exit from {}",
            to.cc, from.cc
        ));
        return;
    };
    if r.prev_entry_hash != xh.as_bytes() || r.prev_entry_seq != x.seq {
        out.fail(format!(
            "the advance record into {} links entry {} {}, not {}'s exit entry {} {}",
            to.cc,
            r.prev_entry_seq,
            hex::encode(&r.prev_entry_hash),
            from.cc,
            x.seq,
            xh
        ));
        return;
    }
    let named = (r.from_country.as_str(), r.to_country.as_str());
    if named != (from.cc.as_str(), to.cc.as_str()) {
        out.fail(format!(
            "the advance record into {} names the handoff {} -> {}, not {} -> {}",
            to.cc, named.0, named.1, from.cc, to.cc
        ));
    } else if r.consignment_id != id.as_bytes() {
        out.fail(format!(
            "the advance record into {} is of consignment {}",
            to.cc,
            hex::encode(&r.consignment_id)
        ));
    } else if r.exited_at_unix_micros != x.time_unix_micros {
        out.fail(format!(
            "the advance record into {} says the goods exited {} at {}, but the exit entry is of {}",
            to.cc,
            from.cc,
            format_micros(r.exited_at_unix_micros),
            format_micros(x.time_unix_micros)
        ));
    } else {
        out.say(format!(
            "  linked to {} #{} ({})",
            from.cc,
            x.seq,
            &xh.to_hex()[..16]
        ));
    }
}

/// A receipt recorded as entry `e` names the entry recorded in `next` and the
/// advance record it acknowledges.
fn check_receipt(out: &mut Traced, e: &Entry, next: Option<&NodeLedger>) {
    let receipt = decode_env::<v1::AdvanceReceipt>(e);
    let theirs = next.and_then(|n| n.find(kind::ADVANCE_RECEIVED));
    let record_id = theirs
        .and_then(|(ne, _)| corridor_proto::decode_envelope(&ne.envelope).ok())
        .map(|env| env.document_id());
    let names_it = match (receipt, theirs, record_id) {
        (Some((r, _)), Some((ne, nh)), Some(rid)) => {
            r.entry_hash == nh.as_bytes()
                && r.entry_seq == ne.seq
                && r.advance_record_id == rid.as_bytes()
                && next.is_some_and(|n| r.country == n.cc.as_str())
        }
        _ => false,
    };
    if !names_it {
        out.fail(format!(
            "{}'s receipt for the advance record does not name the entry recorded there",
            next.map_or("the next node".to_string(), |n| n.cc.to_string())
        ));
    }
}
