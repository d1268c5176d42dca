//! Where a ledger is read from: a running service's `LedgerReader`, or a stopped service's
//! data directory. Either way the ledger is verified as it is read, from genesis, against a
//! checkpoint signed by the key the topology lists, and only the entries that verified are
//! kept.

use std::path::Path;

use anyhow::Context;
use corridor_core::{Digest, PublicKey};
use corridor_ledger::verify::ChainVerifier;
use corridor_ledger::{Damage, Entry, Note, Verified};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::{ServiceRole, Topology};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// A ledger as read: how its verification ended, and the entries kept (those that verified,
/// about the subject asked for).
#[derive(Clone, Debug)]
pub struct LedgerRead {
    /// The verification: what it covered, or the first damage.
    pub verified: Result<Verified, Damage>,
    /// The entries kept with their hashes, in ledger order.
    pub entries: Vec<(Entry, Digest)>,
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

/// Streams the ledger of the service of `t` at `addr` (over TLS when `t` has `[tls]`),
/// verifying it against a fresh checkpoint signed by `key`; keeps the entries about
/// `subject` (all of them when `None`).
pub async fn remote_ledger(
    t: &Topology,
    addr: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    read_remote(connect(t, addr).await?, addr, key, subject).await
}

/// [`remote_ledger`] over `channel`, already connected to the service at `addr`.
pub async fn read_remote(
    channel: Channel,
    addr: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    let mut c = LedgerReaderClient::new(channel);
    let cp = c
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .with_context(|| format!("checkpoint of {addr}"))?
        .into_inner();
    let note = Note::parse(&cp.note).map_err(corridor_ledger::Error::from)?;
    let checkpoint = match note.verify(key) {
        Ok(cp) => cp,
        Err(e) => {
            let damage = Damage {
                seq: 0,
                what: format!("the checkpoint is not signed by the key the topology lists: {e}"),
            };
            return Ok(LedgerRead {
                verified: Err(damage),
                entries: Vec::new(),
            });
        }
    };
    let size = checkpoint.size();
    let mut verifier = ChainVerifier::new(Some(checkpoint.tree()));
    let mut stream = c
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: size,
        })
        .await
        .with_context(|| format!("entries of {addr}"))?
        .into_inner();
    let mut entries = Vec::new();
    while let Some(e) = stream.next().await {
        let (entry, hash) = corridor_proto::ledger::entry_from_wire(
            e.with_context(|| format!("entries of {addr}"))?,
        )?;
        if let Err(d) = verifier.push(entry.seq, &entry.record(), &hash) {
            return Ok(LedgerRead {
                verified: Err(d),
                entries,
            });
        }
        if subject.is_none_or(|s| s == entry.subject) {
            entries.push((entry, hash));
        }
    }
    Ok(LedgerRead {
        verified: verifier.finish(),
        entries,
    })
}

/// Reads a stopped service's ledger from `dir` (a private copy: nothing in `dir` changes),
/// verified against its last checkpoint, which must name `origin` and be signed by `key`;
/// keeps the entries about `subject` (all when `None`).
pub fn local_ledger(
    dir: &Path,
    origin: &str,
    key: &PublicKey,
    subject: Option<&str>,
) -> anyhow::Result<LedgerRead> {
    let snapshot = corridor_ledger::Snapshot::open(dir)
        .with_context(|| format!("cannot read the ledger in {}", dir.display()))?;
    let verified = match snapshot.checkpoint_note() {
        Some(note) if note.origin() != origin => Err(Damage {
            seq: 0,
            what: format!(
                "the signed checkpoint is of ledger {:?}, not {origin:?}",
                note.origin()
            ),
        }),
        _ => snapshot.verify(Some(key))?,
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
    Ok(LedgerRead { verified, entries })
}
