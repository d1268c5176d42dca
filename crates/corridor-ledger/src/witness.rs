//! The pure parts of C2SP `tlog-witness`: the `add-checkpoint` request, the witness's
//! decision on it, and equivocation evidence that anyone holding the log's key can check.
//!
//! A witness keeps, for each log it knows (by origin, with the log's key), the latest
//! checkpoint it cosigned. [`decide`] takes a request and that record and says what the
//! spec says to answer: cosign the new checkpoint, or refuse with the status of
//! [`Refusal::status`] (400 malformed or an old size above the checkpoint's, 404 an unknown
//! origin, 403 no valid signature by the log's key, 409 an old size other than the
//! witness's, 422 a proof that does not verify or a same-size checkpoint of another root).
//! The caller checks and stores atomically (see `tlog-witness`: two requests racing must not
//! roll the record back) and persists the new record before it answers.
//!
//! Checkpoints are read in the generic C2SP `tlog-checkpoint` form (origin, size, root and
//! any extension lines), so a witness can witness any C2SP log, not only corridor ledgers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use corridor_core::{Digest, PublicKey};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, signed_by};
use crate::cosignature::note_body;
use crate::proof::{ProofError, verify_consistency};

/// The most consistency proof lines a request may carry (`tlog-witness`).
pub const MAX_PROOF_LINES: usize = 63;

/// The largest `add-checkpoint` body a witness reads, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A checkpoint as a witness reads it: the first three lines of any C2SP checkpoint, and
/// the note's whole text. Its signatures are not checked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// The origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The RFC 6962 root hash.
    pub root: Digest,
    /// The whole signed note.
    pub note: String,
}

impl Tree {
    /// Reads the checkpoint note `note` (`tlog-checkpoint`: origin, decimal size without
    /// leading zeros, base64 root, optional extension lines, a blank line, signatures).
    pub fn parse(note: &str) -> Result<Self, String> {
        let body =
            note_body(note).ok_or("the checkpoint has no blank line before its signatures")?;
        let mut lines = body.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or("the checkpoint has no origin line")?;
        let size_line = lines.next().ok_or("the checkpoint has no size line")?;
        let size = decimal(size_line).ok_or_else(|| {
            format!("the checkpoint's size line {size_line:?} is not a decimal number")
        })?;
        let root_line = lines.next().ok_or("the checkpoint has no root line")?;
        let root = B64
            .decode(root_line)
            .ok()
            .and_then(|b| Digest::from_slice("root", &b).ok())
            .ok_or_else(|| {
                format!("the checkpoint's root line {root_line:?} is not a base64 SHA-256 hash")
            })?;
        if note[body.len() + 1..]
            .lines()
            .all(|l| !l.starts_with('\u{2014}'))
        {
            return Err("the checkpoint carries no signature line".into());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            note: note.to_owned(),
        })
    }

    /// The note's body: what its signatures cover.
    pub fn body(&self) -> &str {
        note_body(&self.note).unwrap_or_default()
    }
}

/// An ASCII decimal with no leading zeros (`0` itself allowed), as C2SP writes sizes.
fn decimal(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

/// An `add-checkpoint` request: the size of the checkpoint the client believes the witness
/// last cosigned, the consistency proof from it, and the new signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The old size line's value.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Digest>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Reads a request body, refusing (as 400) what `tlog-witness` does not spell.
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let bad = |why: String| Refusal::Malformed(why);
        if body.len() > MAX_BODY_BYTES {
            return Err(bad(format!(
                "the body has {} bytes; at most {MAX_BODY_BYTES} are read",
                body.len()
            )));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8".into()))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line between the proof and the checkpoint".into()))?;
        let mut lines = head.split('\n');
        let old_line = lines.next().unwrap_or_default();
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(decimal)
            .ok_or_else(|| {
                bad(format!(
                    "the first line {old_line:?} is not `old <size>` with a decimal size"
                ))
            })?;
        let mut proof = Vec::new();
        for (i, line) in lines.enumerate() {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(format!(
                    "more than {MAX_PROOF_LINES} consistency proof lines"
                )));
            }
            let hash = B64
                .decode(line)
                .ok()
                .and_then(|b| Digest::from_slice("proof", &b).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "consistency proof line {} is not a base64 SHA-256 hash",
                        i + 1
                    ))
                })?;
            proof.push(hash);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The request body.
    pub fn body(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&B64.encode(h.as_bytes()));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

/// Why a witness does not cosign, with the HTTP status `tlog-witness` gives each.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The body is not an `add-checkpoint` request, or its checkpoint not a checkpoint: 400.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The old size is above the checkpoint's size: 400.
    #[error("the old size {old} is above the checkpoint's size {size}")]
    OldBeyondSize {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The witness knows no log of this origin: 404.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No valid signature by the log's key: 403.
    #[error("{0}")]
    Unsigned(String),
    /// The old size is not the size of the checkpoint the witness last cosigned: 409, the
    /// body that size.
    #[error("the old size {old} is not the size of the checkpoint last cosigned ({size})")]
    Conflict {
        /// The request's old size.
        old: u64,
        /// The size of the witness's latest cosigned checkpoint.
        size: u64,
    },
    /// A size-0 checkpoint without the empty tree's root, or a proof given from size 0: 422.
    #[error("{0}")]
    Unprocessable(String),
    /// The checkpoint is not consistent with the one the witness cosigned: its consistency
    /// proof does not verify, or it has the same size and another root. 422; the log may be
    /// equivocating.
    #[error("not consistent with the checkpoint of size {cosigned} cosigned before: {why}")]
    Inconsistent {
        /// The size of the checkpoint cosigned before.
        cosigned: u64,
        /// What failed.
        why: String,
    },
}

impl Refusal {
    /// The HTTP status `tlog-witness` answers this refusal with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldBeyondSize { .. } => 400,
            Self::Unsigned(_) => 403,
            Self::UnknownOrigin(_) => 404,
            Self::Conflict { .. } => 409,
            Self::Unprocessable(_) | Self::Inconsistent { .. } => 422,
        }
    }
}

/// Decides on `request` for a log whose key is `log_key` (`None`: a log the witness does not
/// know), given `latest`, the checkpoint the witness last cosigned for that origin. Returns
/// the new checkpoint, to cosign and store, or the refusal, in `tlog-witness`'s order.
/// `origin_of` is called with the request's origin to find the log's key.
pub fn decide<'k>(
    request: &AddCheckpoint,
    log_key: impl FnOnce(&str) -> Option<&'k PublicKey>,
    latest: impl FnOnce(&str) -> Option<Tree>,
) -> Result<Tree, Refusal> {
    let tree = Tree::parse(&request.checkpoint).map_err(Refusal::Malformed)?;
    let key = log_key(&tree.origin).ok_or_else(|| Refusal::UnknownOrigin(tree.origin.clone()))?;
    signed_by(&tree.note, &tree.origin, key).map_err(|e| {
        Refusal::Unsigned(match e {
            CheckpointError::Unsigned { .. } => format!(
                "no signature by the key of log {:?} (key id {})",
                tree.origin,
                key.id()
            ),
            e => e.to_string(),
        })
    })?;
    if request.old_size > tree.size {
        return Err(Refusal::OldBeyondSize {
            old: request.old_size,
            size: tree.size,
        });
    }
    let latest = latest(&tree.origin);
    let cosigned = latest.as_ref().map_or(0, |l| l.size);
    if request.old_size != cosigned {
        return Err(Refusal::Conflict {
            old: request.old_size,
            size: cosigned,
        });
    }
    if tree.size == 0 && tree.root != Digest::of(b"") {
        return Err(Refusal::Unprocessable(
            "a checkpoint of size 0 must have the empty tree's root (SHA-256 of nothing)".into(),
        ));
    }
    let Some(latest) = latest.filter(|l| l.size > 0) else {
        if !request.proof.is_empty() {
            return Err(Refusal::Unprocessable(
                "a proof from size 0 must be empty: every tree extends the empty one".into(),
            ));
        }
        return Ok(tree);
    };
    verify_consistency(
        latest.size,
        tree.size,
        &request.proof,
        &latest.root,
        &tree.root,
    )
    .map_err(|e| Refusal::Inconsistent {
        cosigned: latest.size,
        why: match e {
            ProofError::SameSizeRootsDiffer { .. } => "the same size with another root".to_owned(),
            e => format!("the consistency proof does not verify: {e}"),
        },
    })?;
    Ok(tree)
}

/// Two checkpoints of one log, both signed by its key, that cannot both hold: a proof that
/// the log showed two histories. `cosigned` is the one a witness cosigned, `conflicting`
/// the one it refused. With equal sizes their roots differ. Otherwise `old_root` is the root
/// that the larger checkpoint's tree has at the smaller one's size, and `proof` the
/// consistency proof from that root to the larger checkpoint's root: it verifies, and
/// `old_root` is not the smaller checkpoint's root. Hashes are base64, as in the notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The log's origin.
    pub origin: String,
    /// The witness that found it (its name).
    pub witness: String,
    /// When it was found, POSIX seconds.
    pub found_at: u64,
    /// The checkpoint the witness had cosigned (with its cosignature).
    pub cosigned: String,
    /// The checkpoint it refused.
    pub conflicting: String,
    /// The root of the larger tree at the smaller size, when the sizes differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_root: Option<String>,
    /// The consistency proof from `old_root` to the larger root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proof: Vec<String>,
}

impl Evidence {
    /// Checks the evidence with the log's key: `Ok` with a sentence saying what it proves,
    /// or `Err` saying why it proves nothing.
    pub fn verify(&self, log_key: &PublicKey) -> Result<String, String> {
        let read = |what: &str, note: &str| -> Result<Tree, String> {
            let t = Tree::parse(note).map_err(|e| format!("{what}: {e}"))?;
            if t.origin != self.origin {
                return Err(format!(
                    "{what} is of log {:?}, the evidence of {:?}",
                    t.origin, self.origin
                ));
            }
            signed_by(note, &t.origin, log_key).map_err(|e| format!("{what}: {e}"))?;
            Ok(t)
        };
        let a = read("the cosigned checkpoint", &self.cosigned)?;
        let b = read("the conflicting checkpoint", &self.conflicting)?;
        if a.size == b.size {
            return if a.root == b.root {
                Err(format!(
                    "both checkpoints have size {} and the same root: they agree",
                    a.size
                ))
            } else {
                Ok(format!(
                    "log {:?} signed two trees of size {} with different roots",
                    self.origin, a.size
                ))
            };
        }
        let (small, big) = if a.size < b.size { (&a, &b) } else { (&b, &a) };
        let hash = |what: &str, s: &str| -> Result<Digest, String> {
            B64.decode(s)
                .ok()
                .and_then(|b| Digest::from_slice(what, &b).ok())
                .ok_or_else(|| format!("{what} {s:?} is not a base64 SHA-256 hash"))
        };
        let old_root = hash(
            "old_root",
            self.old_root
                .as_deref()
                .ok_or("the sizes differ and the evidence has no old_root")?,
        )?;
        let proof = self
            .proof
            .iter()
            .map(|p| hash("proof", p))
            .collect::<Result<Vec<_>, _>>()?;
        verify_consistency(small.size, big.size, &proof, &old_root, &big.root).map_err(|e| {
            format!(
                "the proof does not show the tree of size {} at size {}: {e}",
                big.size, small.size
            )
        })?;
        if old_root == small.root {
            return Err(format!(
                "the tree of size {} extends the tree of size {}: they agree",
                big.size, small.size
            ));
        }
        Ok(format!(
            "log {:?} signed a tree of size {} and a tree of size {} that does not extend it",
            self.origin, small.size, big.size
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_c2sp_writes_them() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("120"), Some(120));
        assert_eq!(decimal("012"), None);
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
        assert_eq!(decimal("18446744073709551616"), None);
    }

    #[test]
    fn request_body_round_trip() {
        let r = AddCheckpoint {
            old_size: 7,
            proof: vec![Digest::of(b"a"), Digest::of(b"b")],
            checkpoint: "o\n9\nroot\n\n\u{2014} o sig\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(r.body().as_bytes()).unwrap(), r);
    }
}
