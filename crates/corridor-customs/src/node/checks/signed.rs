//! Who signed an envelope: an operator with a key the registry lists for it at the
//! document's time, an officer of this country, or a corridor node. And the rule for the
//! signatures beyond the one required: each must be by a key the corridor knows and verify,
//! so that nothing recorded carries a signature nobody can check.

use corridor_core::{CountryCode, Envelope, KeyId, OperatorId, PublicKey};
use corridor_service::Refusal;

use super::{OperatorKeys, Rules};
use crate::error::Error;

/// Checks that every signature of `env` is by a key `known` gives and verifies; `what`
/// names the document.
fn every_signature(
    env: &Envelope,
    what: &str,
    known: impl Fn(&KeyId) -> Result<PublicKey, String>,
) -> Result<(), Error> {
    env.verify_every(known)
        .map_err(|e| Error::Refusal(Refusal::Unauthenticated(format!("{what}: {e}"))))
}

/// Checks that `operator` signed `env` with a key registered for it and valid at `at`.
pub(super) fn operator_signed(
    keys: &impl OperatorKeys,
    env: &Envelope,
    operator: &OperatorId,
    at: i64,
    what: &str,
) -> Result<(), Error> {
    let mut why = None;
    for s in env.signatures() {
        match keys.operator_key(operator, &s.key_id, at) {
            Ok(k) => {
                env.verify_by(&k).map_err(|e| {
                    Error::Refusal(Refusal::Unauthenticated(format!(
                        "{what}: signature of {operator}: {e}"
                    )))
                })?;
                return every_signature(env, what, |k| keys.known_key(k, at));
            }
            Err(e) => {
                why.get_or_insert(e);
            }
        }
    }
    Err(Error::Refusal(Refusal::Unauthenticated(format!(
        "{what} is not signed by {operator} with a key valid at {}: {}",
        corridor_topology::clock::format_micros(at),
        why.unwrap_or_else(|| "no signature".into())
    ))))
}

impl Rules {
    /// The officer of this country who signed `env`.
    pub(super) fn officer_signed(&self, env: &Envelope) -> Result<String, Error> {
        let mut foreign = None;
        for s in env.signatures() {
            if let Some(o) = self.corridor.officers.get(&s.key_id) {
                env.verify_by(&o.key).map_err(|e| {
                    Error::Refusal(Refusal::Unauthenticated(format!("officer signature: {e}")))
                })?;
                if o.country == self.country {
                    every_signature(env, "officer's document", |k| self.corridor_key(k))?;
                    return Ok(o.name.clone());
                }
                foreign.get_or_insert(format!("officer {} of {}", o.name, o.country));
            }
        }
        match foreign {
            Some(who) => Err(Error::Refusal(Refusal::PermissionDenied(format!(
                "{who} may not act at the customs node of {}",
                self.country
            )))),
            None => Err(Error::Refusal(Refusal::Unauthenticated(format!(
                "not signed by an officer key of any corridor country (key {})",
                env.signatures()
                    .first()
                    .map_or(String::new(), |s| s.key_id.to_string())
            )))),
        }
    }

    /// The corridor node that signed the advance record `env`.
    pub(super) fn node_signed(&self, env: &Envelope) -> Result<CountryCode, Error> {
        let signer = env
            .signatures()
            .iter()
            .find_map(|s| self.corridor.node_by_key.get(&s.key_id).cloned())
            .ok_or_else(|| {
                Error::Refusal(Refusal::Unauthenticated(
                    "the advance record is not signed by a customs node of this corridor".into(),
                ))
            })?;
        env.verify_by(self.corridor.node_key(&signer)?)
            .map_err(|e| {
                Error::Refusal(Refusal::Unauthenticated(format!("advance record: {e}")))
            })?;
        every_signature(env, "advance record", |k| self.corridor_key(k))?;
        Ok(signer)
    }

    /// The key with id `k` if it is an officer's or a node's of this corridor.
    fn corridor_key(&self, k: &KeyId) -> Result<PublicKey, String> {
        if let Some(o) = self.corridor.officers.get(k) {
            return Ok(o.key);
        }
        match self.corridor.node_by_key.get(k) {
            Some(country) => self
                .corridor
                .node_key(country)
                .copied()
                .map_err(|e| e.to_string()),
            None => Err(format!("key {k} is not an officer's or a customs node's")),
        }
    }
}
