//! The writer and flusher threads of an open ledger: the writer gathers the appends waiting
//! (their entries, the subtree rows they fill or extend, their caller rows) into one atomic
//! sled batch, the flusher makes each batch durable, then adds it to the
//! indices and answers its appenders.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use corridor_core::Digest;

use super::{Append, Appended, RowChange, Shared, write};
use crate::entry::Entry;
use crate::error::Error;
use crate::layout::subtrees::Frontier;
use crate::layout::{SEQ_LIMIT, entry_key, row_key};

/// Outcomes for one call, sent once they are durable.
type Reply = tokio::sync::oneshot::Sender<Result<Vec<Appended>, Error>>;

/// The appends of one call, waiting for the writer, and where their outcomes go. The writer
/// never splits a request between groups. A request without appends is answered once
/// everything queued before it is durable.
pub(super) struct Request {
    /// The appends in order, each with the sha256 of its envelope bytes (computed by the
    /// appending task).
    pub(super) appends: Vec<(Append, Digest)>,
    pub(super) reply: Reply,
}

impl Request {
    fn bytes(&self) -> u64 {
        self.appends.iter().map(|(a, _)| a.stored_bytes()).sum()
    }
}

/// A group applied to sled, on its way to the flusher: what the indices gain once it is
/// durable, and the answers waiting for that.
pub(super) struct Written {
    /// The new entries' hashes and subjects, in sequence order.
    entries: Vec<(Digest, String)>,
    rows: Vec<RowChange>,
    replies: Vec<(Reply, Vec<Appended>)>,
}

/// A group applied to the sled tree (not yet durable): its new entries' hashes and subjects,
/// the row changes, and each request's outcomes.
struct Applied {
    entries: Vec<(Digest, String)>,
    rows: Vec<RowChange>,
    outcomes: Vec<Vec<Appended>>,
}

/// Most appends the writer puts into one sled batch (a single larger request is written
/// whole, alone): enough that a loaded ledger needs few flushes, few enough that one batch
/// does not hold the writer for long.
const MAX_GROUP: usize = 512;

/// Most bytes one call's appends may take in the database, and most the writer puts into
/// one batch.
pub(super) const MAX_GROUP_BYTES: u64 = 1 << 30;

/// Where a writer starts: the ledger as read back from its database.
pub(super) struct Resume {
    /// The next entry's sequence number.
    pub(super) next: u64,
    /// The last entry's hash.
    pub(super) head: Digest,
    /// sha256 of the exact envelope bytes -> (seq, hash) of the entry that recorded them.
    pub(super) recorded: HashMap<Digest, (u64, Digest)>,
    /// The subtree rows not yet full.
    pub(super) subtrees: Frontier,
}

/// The writer thread's state: where the chain and the subtree rows stand in what has been
/// applied to sled (durable or not yet), and every envelope recorded so far.
pub(super) struct Writer {
    pub(super) tree: sled::Tree,
    pub(super) shared: Arc<Shared>,
    pub(super) next: u64,
    pub(super) head: Digest,
    /// sha256 of the exact envelope bytes -> (seq, hash) of the entry that recorded them.
    pub(super) recorded: HashMap<Digest, (u64, Digest)>,
    /// The subtree rows not yet full, as applied to sled. Not rolled back with a failed
    /// group: after one the writer takes no appends, and a recovery starts a new writer from
    /// what it reads back.
    pub(super) subtrees: Frontier,
    pub(super) to_flusher: std::sync::mpsc::SyncSender<Written>,
}

impl Writer {
    /// Takes every request waiting, up to `MAX_GROUP` appends in all, applies them as one
    /// batch and passes them to the flusher.
    ///
    /// A request is never split: one that would take the group past `MAX_GROUP` waits for
    /// the next group, which it starts (alone, when it is larger than `MAX_GROUP` by itself).
    pub(super) fn run(mut self, rx: &std::sync::mpsc::Receiver<Request>) {
        let mut held: Option<Request> = None;
        loop {
            let first = match held.take() {
                Some(r) => r,
                None => match rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                },
            };
            let mut total = first.appends.len();
            let mut bytes = first.bytes();
            let mut group = vec![first];
            while total < MAX_GROUP {
                match rx.try_recv() {
                    Ok(r)
                        if total + r.appends.len() <= MAX_GROUP
                            && bytes + r.bytes() <= MAX_GROUP_BYTES =>
                    {
                        total += r.appends.len();
                        bytes += r.bytes();
                        group.push(r);
                    }
                    Ok(r) => {
                        held = Some(r);
                        break;
                    }
                    Err(_) => break,
                }
            }
            match self.apply(&mut group) {
                Ok(Applied {
                    entries,
                    rows,
                    outcomes,
                }) => {
                    let replies = group.into_iter().map(|r| r.reply).zip(outcomes).collect();
                    let _ = self.to_flusher.send(Written {
                        entries,
                        rows,
                        replies,
                    });
                }
                Err(why) => {
                    tracing::error!(error = %why, "ledger batch failed; nothing of it was acknowledged");
                    let why = format!("{}: {why}", self.shared.dir.display());
                    for r in group {
                        let _ = r.reply.send(Err(Error::Write(why.clone())));
                    }
                }
            }
        }
    }

    /// Applies the appends of a group of requests, in order, as one atomic sled batch. Returns
    /// the new entries (hash and subject), the row changes and the outcomes per request.
    /// A refused group gets the reason, for every appender of it.
    fn apply(&mut self, group: &mut [Request]) -> Result<Applied, String> {
        if self.shared.failed.load(Ordering::SeqCst) {
            return Err(
                "an earlier write to the ledger failed; it takes no appends until it is opened again".into(),
            );
        }
        let (start, start_head) = (self.next, self.head);
        let mut batch = sled::Batch::default();
        let mut entries = Vec::new();
        let mut rows = Vec::new();
        let mut outcomes = Vec::with_capacity(group.len());
        let mut added = Vec::new();
        for r in group.iter_mut() {
            let mut out = Vec::with_capacity(r.appends.len());
            for (a, envelope_id) in r.appends.iter_mut() {
                if let Some(&(seq, hash)) = self.recorded.get(envelope_id) {
                    out.push(Appended {
                        seq,
                        hash,
                        new: false,
                    });
                    continue;
                }
                if self.next >= SEQ_LIMIT {
                    self.roll_back(start, start_head, added);
                    return Err(format!("the ledger is full ({SEQ_LIMIT} entries)"));
                }
                let entry = Entry {
                    seq: self.next,
                    prev_hash: self.head,
                    time_unix_micros: a.time_unix_micros,
                    kind: std::mem::take(&mut a.kind),
                    subject: std::mem::take(&mut a.subject),
                    envelope: std::mem::take(&mut a.envelope),
                };
                // The stored value: the record, then its hash.
                let mut value = entry.record_with_room(32);
                let hash = crate::entry::hash_record(&value);
                value.extend_from_slice(hash.as_bytes());
                batch.insert(&entry_key(entry.seq)[..], value);
                for r in std::mem::take(&mut a.rows) {
                    match &r.value {
                        Some(v) => batch.insert(row_key(&r.key), v.as_slice()),
                        None => batch.remove(row_key(&r.key)),
                    }
                    rows.push(r);
                }
                let appended = Appended {
                    seq: entry.seq,
                    hash,
                    new: true,
                };
                self.recorded.insert(*envelope_id, (entry.seq, hash));
                added.push(*envelope_id);
                entries.push((hash, entry.subject));
                self.next += 1;
                self.head = hash;
                out.push(appended);
            }
            outcomes.push(out);
        }
        // The subtree rows the new entries fill or extend, in the same batch.
        self.subtrees
            .extend(entries.iter().map(|(hash, _)| hash), &mut batch);
        if !entries.is_empty()
            && let Err(e) = self.tree.apply_batch(batch)
        {
            self.roll_back(start, start_head, added);
            return Err(e.to_string());
        }
        Ok(Applied {
            entries,
            rows,
            outcomes,
        })
    }

    /// Nothing of a group was applied: the writer's view goes back to where it was before it,
    /// and the ledger stops (what sled holds is in doubt until it is opened again).
    fn roll_back(&mut self, next: u64, head: Digest, added: Vec<Digest>) {
        self.shared.fail();
        for id in added {
            self.recorded.remove(&id);
        }
        (self.next, self.head) = (next, head);
    }
}

/// The flusher thread: takes every group applied so far, flushes sled once, then adds them to
/// the indices and answers their appenders. A failed flush answers every group it covered
/// with the error and stops the ledger taking appends.
pub(super) fn flusher(db: &sled::Db, shared: &Shared, rx: &std::sync::mpsc::Receiver<Written>) {
    while let Ok(first) = rx.recv() {
        let mut groups = vec![first];
        while let Ok(w) = rx.try_recv() {
            groups.push(w);
        }
        // After a failed flush nothing more is made durable or shown: a group applied before
        // the failure was noticed would otherwise extend a chain missing the failed group.
        let flushed = if shared.failed.load(Ordering::SeqCst) {
            Err("an earlier write to the ledger failed; it takes no appends until it is opened again".to_string())
        } else {
            db.flush()
                .map_err(|e| format!("flush to disk failed: {e}"))
                .and_then(|n| injected_failure(shared).map(|()| n))
        };
        match flushed {
            Ok(_) => {
                let mut replies = Vec::new();
                {
                    let mut index = write(&shared.index);
                    for mut w in groups {
                        replies.append(&mut w.replies);
                        index.apply(w.entries, w.rows);
                    }
                }
                for (reply, outcome) in replies {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(why) => {
                shared.fail();
                tracing::error!(error = %why, "ledger flush failed; nothing it covered was acknowledged, and the ledger takes no more appends");
                let msg = format!("{}: {why}", shared.dir.display());
                for w in groups {
                    for (reply, _) in w.replies {
                        let _ = reply.send(Err(Error::Write(msg.clone())));
                    }
                }
            }
        }
    }
}

/// Tests only: a flush failure injected after sled has written the batch.
#[cfg(test)]
fn injected_failure(shared: &Shared) -> Result<(), String> {
    if shared.fail_next_flush.swap(false, Ordering::SeqCst) {
        return Err("flush to disk failed: injected by a test".into());
    }
    Ok(())
}

#[cfg(not(test))]
fn injected_failure(_: &Shared) -> Result<(), String> {
    Ok(())
}
