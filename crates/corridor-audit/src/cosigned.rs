//! A checkpoint note checked as a ledger's witnessed checkpoint: of the ledger the topology
//! names for a role, signed by that service's key, and cosigned by a quorum of the ledger's
//! witnesses (or only signed, where the topology turns witnessing off).

use corridor_core::PublicKey;
use corridor_ledger::{Checkpoint, Note, cosignature};
use corridor_topology::{ServiceRole, Topology};

/// The most signature lines a checkpoint note may carry to be checked (the service's own and
/// one per witness, with room to spare): a note with more is refused before any signature is
/// verified, so that a crafted note cannot make a verifier check a million signatures.
pub const MAX_SIGNATURE_LINES: usize = 64;

/// Who cosigned a checkpoint, as checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The countries whose witnesses' cosignatures verify, in route order.
    pub by: Vec<String>,
    /// How many the ledger needs (0: witnessing is off).
    pub quorum: usize,
    /// How many witnesses the ledger has.
    pub witnesses: usize,
}

impl Cosigned {
    /// The cosigners in words: "cosigned by KZ, AZ, TR (quorum 2 of 3)".
    pub fn words(&self) -> String {
        if self.quorum == 0 {
            return "not cosigned (witnessing is off in this topology)".to_string();
        }
        format!(
            "cosigned by {} (quorum {} of {})",
            self.by.join(", "),
            self.quorum,
            self.witnesses
        )
    }
}

/// Checks `note` as a checkpoint of the ledger of `role` in `t`: its origin, the service's
/// signature, and (where witnessing is on) the cosignatures of at least the quorum of the
/// ledger's witnesses. Says what fails.
pub fn check(
    t: &Topology,
    role: &ServiceRole,
    note: &str,
) -> Result<(Checkpoint, Cosigned), String> {
    let origin = t.ledger_origin(role);
    let lines = note
        .split_once("\n\n")
        .map_or(0, |(_, sigs)| sigs.lines().count());
    if lines > MAX_SIGNATURE_LINES {
        return Err(format!(
            "checkpoint: {lines} signature lines, more than the {MAX_SIGNATURE_LINES} a note may carry"
        ));
    }
    let key = t.service_public_key(role).map_err(|e| e.to_string())?;
    let cp = Note::parse(note)
        .and_then(|n| n.verify(&key))
        .map_err(|e| format!("checkpoint: not a checkpoint signed by the key of {role}: {e}"))?;
    if cp.origin() != origin {
        return Err(format!(
            "checkpoint: of ledger {:?}, not {origin:?}",
            cp.origin()
        ));
    }
    if !t.witnessing.enabled {
        let none = Cosigned {
            by: Vec::new(),
            quorum: 0,
            witnesses: 0,
        };
        return Ok((cp, none));
    }
    let witnesses: Vec<(String, PublicKey)> = t
        .witnesses_of(role)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|w| (w.name, w.key))
        .collect();
    let c = Cosigned {
        by: cosignature::cosigners(note, &witnesses)
            .iter()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
            .collect(),
        quorum: t.quorum_of(role),
        witnesses: witnesses.len(),
    };
    if c.by.len() < c.quorum {
        return Err(format!(
            "checkpoint of {} entries not witnessed by quorum: {} of the {} cosignatures needed verify{}",
            cp.size(),
            c.by.len(),
            c.quorum,
            if c.by.is_empty() {
                String::new()
            } else {
                format!(" (by {})", c.by.join(", "))
            }
        ));
    }
    Ok((cp, c))
}
