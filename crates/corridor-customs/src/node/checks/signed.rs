//! Who signed an envelope: an operator with a key the registry lists for it at the
//! document's time, an officer of this country, or a corridor node.

use corridor_core::{CountryCode, Envelope, OperatorId};
use corridor_service::Refusal;

use super::{OperatorKeys, Rules};
use crate::error::Error;

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
                return env.verify_by(&k).map_err(|e| {
                    Error::Refusal(Refusal::Unauthenticated(format!(
                        "{what}: signature of {operator}: {e}"
                    )))
                });
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
        Ok(signer)
    }
}
