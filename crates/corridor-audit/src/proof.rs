//! One consignment's proof (`corridor.v1.ConsignmentProof`, proto/LEDGER.md "Consignment
//! proofs"): made from the running services or from stopped ones' data directories, and
//! checked offline with the topology's public keys only.
//!
//! [`make_remote`] and [`make_local`] gather, for each node on the route, the consignment's
//! entries and the node's latest witnessed checkpoint, and for the registry the entries about
//! each operator that signed one of its documents; every entry gets its inclusion proof to
//! its ledger's checkpoint. A ledger whose witnessed checkpoint does not cover the entries yet
//! is waited for; past the wait its latest signed checkpoint is used instead, and the proof
//! then fails verification for want of a quorum (a ledger whose witnesses refuse it, as after
//! a rewrite, never gets one).
//!
//! [`verify`] checks each excerpt (origin, the service's signature on the checkpoint, the
//! witness quorum, each entry's hash recomputed from its fields and its inclusion proof),
//! builds the registry's state from the proven registry entries, and runs the trace's rules
//! ([`crate::Corpus::trace`]) over the proven node entries: who signs each kind, with which
//! key valid when, and the links between the nodes.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use corridor_aeo::TrustedKeys;
use corridor_aeo::replica::Replica;
use corridor_core::{CountryCode, Digest};
use corridor_ledger::proof::{MemoryTree, inclusion_proof, verify_inclusion};
use corridor_ledger::{Entry, Note, Snapshot, merkle};
use corridor_proto::ledger::{entry_from_wire, entry_to_wire};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::{ServiceRole, Topology};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::corpus::{Corpus, Covered, NodeLedger, Traced};
use crate::layout::dir_of;
use crate::signers::operators;
use crate::source::{addr_of, connect, witnessed_note};

/// The `format` of a proof this version makes and verifies.
pub const FORMAT: &str = "corridor-consignment-proof/v1";

/// The message's full name, for its JSON form.
pub const MESSAGE: &str = "corridor.v1.ConsignmentProof";

/// How long [`make_remote`] waits by default for the witnessed checkpoints to cover the
/// consignment's entries.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// The largest proof file `proof verify` reads (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A proof as made, and what the maker noticed (a ledger proven under a checkpoint no quorum
/// cosigned, a node that has no entry of the consignment yet).
pub struct Made {
    /// The proof.
    pub proof: v1::ConsignmentProof,
    /// What the maker noticed, a line each.
    pub notes: Vec<String>,
}

/// What was read of one ledger: the entries kept, its witnessed checkpoint's note if it has
/// one, and its latest signed checkpoint's note (covering every entry kept), read only when
/// the witnessed one does not do.
struct Gathered {
    origin: String,
    entries: Vec<(Entry, Digest)>,
    witnessed: Option<String>,
    latest: Option<String>,
}

fn note_size(note: &str) -> anyhow::Result<u64> {
    Ok(Note::parse(note)
        .map_err(corridor_ledger::Error::from)?
        .tree()
        .size)
}

impl Gathered {
    /// The size every entry kept must be below.
    fn needed(&self) -> u64 {
        self.entries.last().map_or(0, |(e, _)| e.seq + 1)
    }

    /// Whether the witnessed checkpoint covers every entry kept.
    fn witnessed_covers(&self) -> bool {
        self.witnessed
            .as_deref()
            .and_then(|n| note_size(n).ok())
            .is_some_and(|size| size >= self.needed())
    }

    /// The checkpoint to prove under, with its size: the witnessed one when it covers every
    /// entry, otherwise the latest signed one (and, where `witnessing` is on, a note saying
    /// so).
    fn checkpoint(
        &self,
        witnessing: bool,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<(String, u64)> {
        let latest = || {
            let note = self
                .latest
                .clone()
                .with_context(|| format!("{}: no signed checkpoint read", self.origin))?;
            let size = note_size(&note)?;
            anyhow::Ok((note, size))
        };
        if !witnessing {
            return latest();
        }
        if self.witnessed_covers() {
            let note = self.witnessed.clone().unwrap_or_default();
            let size = note_size(&note)?;
            return Ok((note, size));
        }
        let witnessed = match self.witnessed.as_deref().map(note_size) {
            Some(Ok(size)) => format!("its witnessed checkpoint covers {size} entries"),
            _ => "it has no witnessed checkpoint".to_string(),
        };
        notes.push(format!(
            "{}: {witnessed}, not the {} its entries need; proven under its latest signed checkpoint, which no witness quorum cosigned",
            self.origin,
            self.needed()
        ));
        latest()
    }
}

/// A proof's node excerpts as they are read, in route order, up to the first node the
/// consignment has not reached; and what the maker noticed on the way.
#[derive(Default)]
struct Route {
    nodes: Vec<v1::LedgerExcerpt>,
    gathered: Vec<Gathered>,
    notes: Vec<String>,
}

impl Route {
    /// Takes the excerpt read of country `cc`'s node; false when the consignment has not
    /// reached it (the route read stops there).
    fn take(&mut self, cc: &CountryCode, (x, g): (v1::LedgerExcerpt, Gathered)) -> bool {
        if g.entries.is_empty() {
            self.notes
                .push(format!("{cc}: no entry of the consignment yet"));
            return false;
        }
        self.nodes.push(x);
        self.gathered.push(g);
        true
    }

    /// The operators whose registry entries the proof needs, each once; refused when the
    /// first node holds no entry of consignment `id`.
    fn operators(&self, id: &Digest) -> anyhow::Result<Vec<String>> {
        if self.nodes.is_empty() {
            anyhow::bail!("consignment {id} is not known at the first node");
        }
        let set: BTreeSet<String> = self
            .gathered
            .iter()
            .flat_map(|g| g.entries.iter())
            .flat_map(|(e, _)| operators(e))
            .map(|o| o.to_string())
            .collect();
        Ok(set.into_iter().collect())
    }

    /// The proof of consignment `id` in corridor `t`, with the registry's excerpt.
    fn finish(self, t: &Topology, id: &Digest, registry: v1::LedgerExcerpt) -> Made {
        Made {
            proof: v1::ConsignmentProof {
                format: FORMAT.to_string(),
                corridor: t.name.clone(),
                consignment_id: id.as_bytes().to_vec(),
                made_at_unix_micros: made_now(),
                nodes: self.nodes,
                registry: Some(registry),
            },
            notes: self.notes,
        }
    }
}

fn excerpt(g: &Gathered, checkpoint: String, proofs: Vec<Vec<Digest>>) -> v1::LedgerExcerpt {
    v1::LedgerExcerpt {
        origin: g.origin.clone(),
        checkpoint,
        entries: g
            .entries
            .iter()
            .zip(proofs)
            .map(|((e, h), p)| v1::ProvenEntry {
                entry: Some(entry_to_wire(e, h)),
                inclusion_proof: p.iter().map(|d| d.as_bytes().to_vec()).collect(),
            })
            .collect(),
    }
}

fn made_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

// ---- from the running services

/// Every entry of the ledger behind `c` about one of `subjects`, in ledger order.
async fn subject_entries(
    c: &mut LedgerReaderClient<Channel>,
    origin: &str,
    subjects: &[String],
) -> anyhow::Result<Vec<(Entry, Digest)>> {
    let mut entries = Vec::new();
    for s in subjects {
        let mut stream = c
            .list_subject_entries(v1::ListSubjectEntriesRequest { subject: s.clone() })
            .await
            .with_context(|| format!("entries of {origin}"))?
            .into_inner();
        while let Some(e) = stream.next().await {
            entries.push(entry_from_wire(
                e.with_context(|| format!("entries of {origin}"))?,
            )?);
        }
    }
    entries.sort_by_key(|(e, _)| e.seq);
    entries.dedup_by_key(|(e, _)| e.seq);
    Ok(entries)
}

/// Reads one ledger for a proof: its entries about `subjects`, then its witnessed
/// checkpoint, asked again until `deadline` until it covers them (its latest signed
/// checkpoint only when it does not), and proves each entry under the checkpoint chosen.
async fn remote_excerpt(
    t: &Topology,
    role: &ServiceRole,
    subjects: &[String],
    deadline: Option<Instant>,
    notes: &mut Vec<String>,
) -> anyhow::Result<(v1::LedgerExcerpt, Gathered)> {
    let channel = connect(t, &addr_of(t, role)?)
        .await
        .with_context(|| format!("{role}"))?;
    let mut c = LedgerReaderClient::new(channel);
    let origin = t.ledger_origin(role);
    let mut g = Gathered {
        entries: subject_entries(&mut c, &origin, subjects).await?,
        origin,
        witnessed: None,
        latest: None,
    };
    loop {
        g.witnessed = witnessed_note(&mut c, &g.origin).await?;
        let past = deadline.is_some_and(|d| Instant::now() >= d);
        if !t.witnessing.enabled || g.witnessed_covers() || past {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !t.witnessing.enabled || !g.witnessed_covers() {
        // Read after the entries, so it covers them.
        let cp = c
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .with_context(|| format!("checkpoint of {}", g.origin))?;
        g.latest = Some(cp.into_inner().note);
    }
    let (checkpoint, size) = g.checkpoint(t.witnessing.enabled, notes)?;
    let mut proofs = Vec::new();
    for (e, _) in &g.entries {
        let p = c
            .get_inclusion_proof(v1::GetInclusionProofRequest {
                seq: e.seq,
                tree_size: size,
            })
            .await
            .with_context(|| format!("inclusion proof of {} entry {}", g.origin, e.seq))?
            .into_inner();
        proofs.push(
            p.hashes
                .iter()
                .map(|h| Digest::from_slice("hashes", h))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok((excerpt(&g, checkpoint, proofs), g))
}

/// The proof of consignment `id` from the running services of `t`, waiting up to `wait`
/// for each ledger's witnessed checkpoint to cover the entries.
pub async fn make_remote(t: &Topology, id: &Digest, wait: Duration) -> anyhow::Result<Made> {
    // A wait too long to add to the clock is no deadline.
    let deadline = Instant::now().checked_add(wait);
    let subject = [id.to_hex()];
    let mut route = Route::default();
    for cc in t.country_codes() {
        let role = ServiceRole::Node(cc.clone());
        let read = remote_excerpt(t, &role, &subject, deadline, &mut route.notes).await?;
        if !route.take(&cc, read) {
            break;
        }
    }
    let ops = route.operators(id)?;
    let role = ServiceRole::Registry;
    let (registry, _) = remote_excerpt(t, &role, &ops, deadline, &mut route.notes).await?;
    Ok(route.finish(t, id, registry))
}

// ---- from stopped services' data directories

fn gather_local(
    dir: &Path,
    origin: String,
    subjects: &[String],
) -> anyhow::Result<(Gathered, MemoryTree)> {
    let snapshot = Snapshot::open(dir)
        .with_context(|| format!("cannot read the ledger in {}", dir.display()))?;
    let latest = snapshot
        .checkpoint_note()
        .map(|n| n.text().to_string())
        .with_context(|| format!("the ledger in {} has no signed checkpoint", dir.display()))?;
    let mut tree = MemoryTree::new();
    let mut entries = Vec::new();
    for e in snapshot.entries() {
        let (entry, hash) = e?;
        if entry.seq != tree.size() {
            anyhow::bail!(
                "the ledger in {} has a gap before entry {}",
                dir.display(),
                entry.seq
            );
        }
        tree.push(&hash);
        if subjects.contains(&entry.subject) {
            entries.push((entry, hash));
        }
    }
    let g = Gathered {
        origin,
        entries,
        witnessed: snapshot.witnessed_note().map(str::to_string),
        latest: Some(latest),
    };
    Ok((g, tree))
}

fn local_excerpt(
    t: &Topology,
    dir: &Path,
    role: &ServiceRole,
    subjects: &[String],
    notes: &mut Vec<String>,
) -> anyhow::Result<(v1::LedgerExcerpt, Gathered)> {
    let (g, tree) = gather_local(dir, t.ledger_origin(role), subjects)?;
    let (checkpoint, size) = g.checkpoint(t.witnessing.enabled, notes)?;
    if size > tree.size() {
        anyhow::bail!(
            "{}: its checkpoint covers {size} entries, its database holds {}",
            g.origin,
            tree.size()
        );
    }
    let proofs = g
        .entries
        .iter()
        .map(|(e, _)| inclusion_proof(&tree, e.seq, size))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((excerpt(&g, checkpoint, proofs), g))
}

/// The proof of consignment `id` from the stopped services' data directories under `root`
/// (as `corridor up` lays them out).
pub fn make_local(t: &Topology, root: &Path, id: &Digest) -> anyhow::Result<Made> {
    let subject = [id.to_hex()];
    let mut route = Route::default();
    for cc in t.country_codes() {
        let role = ServiceRole::Node(cc.clone());
        let read = local_excerpt(t, &dir_of(root, &role)?, &role, &subject, &mut route.notes)?;
        if !route.take(&cc, read) {
            break;
        }
    }
    let ops = route.operators(id)?;
    let role = ServiceRole::Registry;
    let (registry, _) = local_excerpt(t, &dir_of(root, &role)?, &role, &ops, &mut route.notes)?;
    Ok(route.finish(t, id, registry))
}

// ---- reading and writing

/// The proof as its file holds it: proto3 JSON.
pub fn to_json(p: &v1::ConsignmentProof) -> anyhow::Result<String> {
    Ok(corridor_proto::json::to_json(p, MESSAGE)?)
}

/// A proof file's bytes read: proto3 JSON (a text whose first non-blank character is `{`)
/// or the binary protobuf encoding; either way its `format` must be [`FORMAT`].
pub fn parse(bytes: &[u8]) -> anyhow::Result<v1::ConsignmentProof> {
    use prost::Message;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let p = if first == Some(&b'{') {
        let text = std::str::from_utf8(bytes).context("the file is not UTF-8 JSON")?;
        corridor_proto::json::from_json::<v1::ConsignmentProof>(text, MESSAGE)?
    } else {
        v1::ConsignmentProof::decode(bytes)
            .context("the file is neither proto3 JSON nor a binary ConsignmentProof")?
    };
    if p.format != FORMAT {
        anyhow::bail!(
            "format: {:?} is not a proof this version reads ({FORMAT:?})",
            p.format
        );
    }
    Digest::from_slice("consignment_id", &p.consignment_id)?;
    Ok(p)
}

// ---- verification

/// One excerpt checked: what it covered (or why its checkpoint fails), the entries whose
/// hash and inclusion proof verify, and a finding for each entry that does not.
struct ExcerptChecked {
    covered: Covered,
    entries: Vec<(Entry, Digest)>,
    findings: Vec<String>,
}

/// Checks the checkpoint of excerpt `x` as the ledger of `role`'s: the excerpt's origin,
/// then the note ([`crate::cosigned::check`]). Says what it covers, or what fails.
fn check_checkpoint(
    t: &Topology,
    role: &ServiceRole,
    x: &v1::LedgerExcerpt,
) -> Result<(corridor_ledger::Checkpoint, String), String> {
    let origin = t.ledger_origin(role);
    if x.origin != origin {
        return Err(format!(
            "the excerpt is of ledger {:?}, not {origin:?}",
            x.origin
        ));
    }
    crate::cosigned::check(t, role, &x.checkpoint).map(|(cp, c)| (cp, c.words()))
}

fn check_excerpt(
    t: &Topology,
    role: &ServiceRole,
    label: &str,
    x: &v1::LedgerExcerpt,
    subject: Option<&str>,
) -> ExcerptChecked {
    let mut out = ExcerptChecked {
        covered: Ok(String::new()),
        entries: Vec::new(),
        findings: Vec::new(),
    };
    // A checkpoint that fails is named, and the entries are still checked against the tree
    // it claims, so that the trace reads on and names what else fails.
    let checked = check_checkpoint(t, role, x);
    let tree = match &checked {
        Ok((cp, _)) => cp.tree(),
        Err(_) => match Note::parse(&x.checkpoint) {
            Ok(n) => n.tree(),
            Err(_) => {
                out.covered = checked.map(|_| String::new());
                return out;
            }
        },
    };
    let mut last: Option<u64> = None;
    for (i, p) in x.entries.iter().enumerate() {
        let Some(wire) = p.entry.clone() else {
            out.findings.push(format!("{label} entries[{i}]: no entry"));
            continue;
        };
        let seq = wire.seq;
        let fail = |what: String| format!("{label} #{seq}: {what}");
        let (e, stated) = match entry_from_wire(wire) {
            Ok(v) => v,
            Err(err) => {
                out.findings.push(fail(err.to_string()));
                continue;
            }
        };
        if last.is_some_and(|l| seq <= l) {
            out.findings.push(fail(
                "out of order: entries must be in ascending seq".into(),
            ));
            continue;
        }
        last = Some(seq);
        let hash = e.hash();
        if hash != stated {
            out.findings.push(fail(format!(
                "its fields hash to {hash}, not to its stated hash {stated}: it was changed after it was recorded"
            )));
            continue;
        }
        if let Some(s) = subject
            && e.subject != s
        {
            out.findings
                .push(fail(format!("about {:?}, not the consignment", e.subject)));
            continue;
        }
        let proof = match p
            .inclusion_proof
            .iter()
            .map(|h| Digest::from_slice("inclusion_proof", h))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) => v,
            Err(err) => {
                out.findings.push(fail(err.to_string()));
                continue;
            }
        };
        let leaf = merkle::leaf_hash(hash.as_bytes());
        if let Err(err) = verify_inclusion(&leaf, seq, tree.size, &proof, &tree.root) {
            out.findings.push(fail(format!(
                "its inclusion proof in the checkpoint of {} entries does not verify: {err}",
                tree.size
            )));
            continue;
        }
        out.entries.push((e, hash));
    }
    out.covered = checked.map(|(cp, words)| {
        format!(
            "{} entries proven under its checkpoint of {} entries, signed by {role} and {words}",
            out.entries.len(),
            cp.size()
        )
    });
    out
}

/// Verifies proof `p` against topology `t` with its public keys only: every excerpt, then
/// the trace's rules over the proven entries. What it found is a [`Traced`], whose
/// `problems` are empty when the proof is valid.
pub fn verify(t: &Topology, p: &v1::ConsignmentProof) -> anyhow::Result<Traced> {
    let id = Digest::from_slice("consignment_id", &p.consignment_id)?;
    let mut findings = Vec::new();
    if p.corridor != t.name {
        findings.push(format!(
            "the proof is of corridor {:?}, the topology is {:?}",
            p.corridor, t.name
        ));
    }
    let registry = p.registry.clone().unwrap_or_default();
    let reg = check_excerpt(t, &ServiceRole::Registry, "registry", &registry, None);
    findings.extend(reg.findings);
    let mut replica = Replica::new(TrustedKeys::from_topology(t)?);
    for (e, h) in &reg.entries {
        if let Err(err) = replica.apply_proven(&entry_to_wire(e, h)) {
            findings.push(format!("registry #{}: {err}", e.seq));
        }
    }
    let route = t.country_codes();
    if p.nodes.len() > route.len() {
        findings.push(format!(
            "the proof has {} node excerpts, the route {} countries",
            p.nodes.len(),
            route.len()
        ));
    }
    let subject = id.to_hex();
    let mut nodes = Vec::new();
    for (i, cc) in route.iter().enumerate() {
        match p.nodes.get(i) {
            Some(x) => {
                let c = check_excerpt(
                    t,
                    &ServiceRole::Node(cc.clone()),
                    cc.as_str(),
                    x,
                    Some(&subject),
                );
                findings.extend(c.findings);
                nodes.push(NodeLedger {
                    cc: cc.clone(),
                    covered: c.covered,
                    entries: c.entries,
                });
            }
            // Past the proof's last node: no entries, so the trace asks whether the node
            // before handed the consignment on.
            None => nodes.push(NodeLedger {
                cc: cc.clone(),
                covered: Ok(String::new()),
                entries: Vec::new(),
            }),
        }
    }
    let corpus = Corpus::of_excerpts(t.clone(), replica, reg.covered, nodes);
    let mut traced = corpus.trace(&id);
    if traced.countries == 0 {
        findings.push(format!(
            "the proof holds no entry of the consignment at {} (the first node)",
            route.first().map_or("?", |c| c.as_str())
        ));
    }
    for f in findings {
        traced.lines.push(format!("  BROKEN: {f}"));
        traced.problems.push(f);
    }
    Ok(traced)
}
