//! Who signed an envelope: an officer of this country, or a corridor node. (An operator's
//! signature, by a key the registry lists for it at the document's time, is
//! `corridor_aeo::replica::operator_signed`, the rule the declarant checks by too.) Every
//! other signature of an officer's document or an advance record must be an officer's or a
//! node's key of the corridor and verify, so nothing recorded carries a signature nobody can
//! check.

use corridor_core::{CountryCode, Envelope, KeyId, PublicKey};
use corridor_service::Refusal;

use super::Rules;
use crate::error::Error;

/// Checks that every signature of `env` but the one at `verified` is by a key `known`
/// gives and verifies; `what` names the document.
fn every_other_signature(
    env: &Envelope,
    verified: usize,
    what: &str,
    known: impl Fn(&KeyId) -> Result<PublicKey, String>,
) -> Result<(), Error> {
    env.verify_every(Some(verified), known)
        .map_err(|e| Error::Refusal(Refusal::Unauthenticated(format!("{what}: {e}"))))
}

impl Rules {
    /// The officer of this country who signed `env`.
    pub(super) fn officer_signed(&self, env: &Envelope) -> Result<String, Error> {
        let mut foreign = None;
        for (i, s) in env.signatures().iter().enumerate() {
            if let Some(o) = self.corridor.officers.get(&s.key_id) {
                env.verify_by(&o.key).map_err(|e| {
                    Error::Refusal(Refusal::Unauthenticated(format!("officer signature: {e}")))
                })?;
                if o.country == self.country {
                    every_other_signature(env, i, "officer's document", |k| self.corridor_key(k))?;
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
        let (at, signer) = env
            .signatures()
            .iter()
            .enumerate()
            .find_map(|(i, s)| Some((i, self.corridor.node_by_key.get(&s.key_id)?.clone())))
            .ok_or_else(|| {
                Error::Refusal(Refusal::Unauthenticated(
                    "the advance record is not signed by a customs node of this corridor".into(),
                ))
            })?;
        env.verify_by(self.corridor.node_key(&signer)?)
            .map_err(|e| {
                Error::Refusal(Refusal::Unauthenticated(format!("advance record: {e}")))
            })?;
        every_other_signature(env, at, "advance record", |k| self.corridor_key(k))?;
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
