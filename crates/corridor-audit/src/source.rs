//! Where a ledger is read from: a running service's `LedgerReader`, or a stopped service's
//! data directory. Either way the ledger is verified as it is read, from genesis, against a
//! checkpoint signed by the key the topology lists and against its latest witnessed
//! checkpoint (signed, and cosigned by a quorum of its witnesses: a ledger that differs from
//! it was rewritten after it was witnessed), and only the entries that verified are kept.

use std::path::Path;

use anyhow::Context;
use corridor_core::Digest;
use corridor_ledger::verify::ChainVerifier;
use corridor_ledger::{Damage, Entry, Note, TreeHead, Verified};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::{ServiceRole, Topology};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::cosigned::Cosigned;

/// A ledger as read: how its verification ended, the entries kept (those that verified,
/// about the subject asked for), and its witnessed checkpoint.
#[derive(Clone, Debug)]
pub struct LedgerRead {
    /// The verification: what it covered, or the first damage.
    pub verified: Result<Verified, Damage>,
    /// The entries kept with their hashes, in ledger order.
    pub entries: Vec<(Entry, Digest)>,
    /// The service's latest witnessed checkpoint, its signature and quorum checked (and the
    /// ledger compared with it at its size); `None` when it has none.
    pub witnessed: Option<(u64, Cosigned)>,
}

impl LedgerRead {
    /// What the read covered, in words, or what broke it: the verification, and how far
    /// the ledger is witnessed and by whom.
    pub fn covered(&self, t: &Topology, signer: &str) -> Result<String, String> {
        let v = self
            .verified
            .as_ref()
            .map_err(|d| format!("entry {}: {}", d.seq, d.what))?;
        let mut words = match v.checkpoint_size {
            Some(n) if n == v.entries => format!(
                "ledger verified: {} entries, all under the checkpoint signed by {signer}",
                v.entries
            ),
            Some(n) => format!(
                "ledger verified: {} entries, the first {n} under the checkpoint signed by {signer}, the rest by their hash links",
                v.entries
            ),
            None => format!(
                "ledger verified: {} entries, no signed checkpoint",
                v.entries
            ),
        };
        match &self.witnessed {
            Some((size, c)) => {
                let what = if *size == v.entries {
                    "head witnessed".to_string()
                } else {
                    format!("witnessed up to entry {size} of {}", v.entries)
                };
                words.push_str(&format!("; {what}, {}", c.words()));
            }
            None if t.witnessing.enabled && v.entries > 0 => {
                words.push_str("; not witnessed yet");
            }
            None => {}
        }
        Ok(words)
    }
}

/// Where the service of `role` in `t` answers.
pub fn addr_of(t: &Topology, role: &ServiceRole) -> anyhow::Result<String> {
    Ok(match role {
        ServiceRole::Registry => t.registry.listen.clone(),
        ServiceRole::Declarant => t.declarant.listen.clone(),
        ServiceRole::Node(cc) => t.node_addr(cc)?.to_string(),
        ServiceRole::Client => anyhow::bail!("the client keeps no ledger"),
    })
}

/// The note of the latest witnessed checkpoint of the ledger behind `c` (`what` names it in
/// an error), if it has one.
pub(crate) async fn witnessed_note(
    c: &mut LedgerReaderClient<Channel>,
    what: &str,
) -> anyhow::Result<Option<String>> {
    Ok(
        c.get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
            .await
            .with_context(|| format!("witnessed checkpoint of {what}"))?
            .into_inner()
            .checkpoint
            .map(|cp| cp.note),
    )
}

/// A witnessed checkpoint's note checked ([`crate::cosigned::check`]), or the damage it is.
fn witnessed_tree(
    t: &Topology,
    role: &ServiceRole,
    note: &str,
) -> Result<(TreeHead, Cosigned), Damage> {
    crate::cosigned::check(t, role, note)
        .map(|(cp, c)| (cp.tree(), c))
        .map_err(|what| Damage {
            seq: 0,
            what: format!("its witnessed checkpoint: {what}"),
        })
}

/// A channel to the service of `t` at `addr`, as the `corridor` client: plaintext, or TLS
/// with the topology's `[tls].client` certificate.
pub async fn connect(t: &Topology, addr: &str) -> anyhow::Result<Channel> {
    corridor_net::endpoint(t, &ServiceRole::Client, addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))
}

/// A plaintext channel to `addr`, for a corridor without TLS.
pub async fn connect_plain(addr: &str) -> anyhow::Result<Channel> {
    corridor_net::Transport::plaintext()
        .endpoint(addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))
}

/// Streams the ledger of the service of `role` in `t` (over TLS when `t` has `[tls]`),
/// verifying it against a fresh checkpoint signed by the key the topology lists, and against
/// its latest witnessed checkpoint (taken first, so the fresh one covers it); keeps the
/// entries about `subject` (all of them when `None`).
pub async fn remote_ledger(
    t: &Topology,
    role: &ServiceRole,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    let addr = addr_of(t, role)?;
    let key = t.service_public_key(role)?;
    let mut c = LedgerReaderClient::new(connect(t, &addr).await?);
    let damaged = |d: Damage| LedgerRead {
        verified: Err(d),
        entries: Vec::new(),
        witnessed: None,
    };
    let witnessed_note = witnessed_note(&mut c, &addr).await?;
    // A witnessed checkpoint that fails its own check is the verdict unless the chain fails
    // first; the entries are verified without it.
    let (witnessed, witnessed_damage) = split(
        witnessed_note
            .as_deref()
            .map(|n| witnessed_tree(t, role, n)),
    );
    let cp = c
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .with_context(|| format!("checkpoint of {addr}"))?
        .into_inner();
    let note = Note::parse(&cp.note).map_err(corridor_ledger::Error::from)?;
    let checkpoint = match note.verify(&key) {
        Ok(cp) => cp,
        Err(e) => {
            return Ok(damaged(Damage {
                seq: 0,
                what: format!("the checkpoint is not signed by the key the topology lists: {e}"),
            }));
        }
    };
    let size = checkpoint.size();
    let mut verifier = ChainVerifier::new(Some(checkpoint.tree()));
    if let Some((tree, _)) = &witnessed {
        verifier = verifier.witnessed(*tree);
    }
    let mut stream = c
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: size,
        })
        .await
        .with_context(|| format!("entries of {addr}"))?
        .into_inner();
    let mut entries = Vec::new();
    let witnessed = witnessed.map(|(tree, c)| (tree.size, c));
    while let Some(e) = stream.next().await {
        let (entry, hash) = corridor_proto::ledger::entry_from_wire(
            e.with_context(|| format!("entries of {addr}"))?,
        )?;
        if let Err(d) = verifier.push(entry.seq, &entry.record(), &hash) {
            return Ok(LedgerRead {
                verified: Err(d),
                entries,
                witnessed,
            });
        }
        if subject.is_none_or(|s| s == entry.subject) {
            entries.push((entry, hash));
        }
    }
    Ok(LedgerRead {
        verified: verdict(verifier.finish(), witnessed_damage),
        entries,
        witnessed,
    })
}

/// A witnessed checkpoint's check split into the checkpoint (when it holds) and the damage
/// (when it does not).
fn split(
    checked: Option<Result<(TreeHead, Cosigned), Damage>>,
) -> (Option<(TreeHead, Cosigned)>, Option<Damage>) {
    match checked {
        Some(Ok(w)) => (Some(w), None),
        Some(Err(d)) => (None, Some(d)),
        None => (None, None),
    }
}

/// The chain's verification, or the witnessed checkpoint's damage when the chain holds.
fn verdict(chain: Result<Verified, Damage>, witnessed: Option<Damage>) -> Result<Verified, Damage> {
    match (chain, witnessed) {
        (Ok(_), Some(d)) => Err(d),
        (chain, _) => chain,
    }
}

/// Reads the stopped ledger of the service of `role` in `t` from `dir` (a private copy:
/// nothing in `dir` changes), verified against its last checkpoint, which must be of the
/// role's ledger and signed by its key, and against its witnessed checkpoint
/// (`witnessed.note`) when it has one; keeps the entries about `subject` (all when `None`).
pub fn local_ledger(
    t: &Topology,
    dir: &Path,
    role: &ServiceRole,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    let origin = t.ledger_origin(role);
    let key = t.service_public_key(role)?;
    let snapshot = corridor_ledger::Snapshot::open(dir)
        .with_context(|| format!("cannot read the ledger in {}", dir.display()))?;
    let (witnessed, witnessed_damage) = split(
        snapshot
            .witnessed_note()
            .map(|n| witnessed_tree(t, role, n)),
    );
    let verified = match snapshot.checkpoint_note() {
        Some(note) if note.origin() != origin => Err(Damage {
            seq: 0,
            what: format!(
                "the signed checkpoint is of ledger {:?}, not {origin:?}",
                note.origin()
            ),
        }),
        _ => snapshot.verify_witnessed(Some(&key), witnessed.as_ref().map(|(tree, _)| *tree))?,
    };
    // Only the entries that verified, as a remote read stops at the first damage.
    let verified_len = match &verified {
        Ok(v) => v.entries,
        Err(d) => d.seq,
    };
    let mut entries = Vec::new();
    for (expected, e) in (0..verified_len).zip(snapshot.entries()) {
        let (entry, hash) = e?;
        if entry.seq != expected {
            break;
        }
        if subject.is_none_or(|s| s == entry.subject) {
            entries.push((entry, hash));
        }
    }
    Ok(LedgerRead {
        verified: verdict(verified, witnessed_damage),
        entries,
        witnessed: witnessed.map(|(tree, c)| (tree.size, c)),
    })
}
