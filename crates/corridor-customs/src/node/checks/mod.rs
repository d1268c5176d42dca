//! Pure decisions: what a request may do. Nothing here reads a clock, a ledger or a lock,
//! and nothing here changes anything; the node passes in the time, its key and the registry
//! copy it reads.
//!
//! A request is checked, in the order ARCHITECTURE.md gives (envelopes and payload types,
//! signatures, fields against each other, roles), into a value that only these checks build:
//! [`Declared`] (a declaration with its bill and transfer chain), [`Announced`] (the
//! previous node's advance record), [`OfficerSigned`] (a border event or an officer
//! decision by an officer of this country), [`Cancellation`] (the declarant's, checked
//! against the consignment it withdraws) and [`Receipt`] (the next node's receipt for an
//! advance record). The `plan_*` functions take a checked value and, when the step depends
//! on it, the consignment as it stands, and decide the step: a [`Plan`] of the entries to
//! record, or the error that refuses it (a field that depends on the consignment first, such
//! as a border event's post, then FailedPrecondition for a step out of order). Border posts
//! are checked against the topology's ([`Corridor::posts`]): a declared route's entry and
//! exit posts, and the post of each border event.
//! `record` takes nothing but a `Plan`, so only a checked step is ever written.

mod fields;
mod plans;
mod requests;
mod signed;
#[cfg(test)]
mod tests;

use corridor_service::Refusal;
use std::collections::{BTreeMap, HashMap};

use corridor_core::{CountryCode, Digest, Envelope, KeyId, ParseError, PublicKey};
use corridor_topology::{ClearanceTarget, DocumentTimes, Post, RiskProfile, Topology};

use crate::consignment::{Consignment, Effect};
use crate::error::Error;

pub(crate) use plans::{Signer, plan_handover};
pub(crate) use requests::{
    Announced, Cancellation, CancellationRequest, Declared, OfficerPayload, OfficerSigned, Receipt,
    opened_from_record,
};

/// An officer of a corridor country, from the topology.
#[derive(Clone, Debug)]
pub(crate) struct Officer {
    pub(crate) country: CountryCode,
    pub(crate) name: String,
    pub(crate) key: PublicKey,
}

/// What the checks know of the corridor: its route, its border posts and the keys of its
/// nodes and officers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Corridor {
    /// The corridor's countries, in route order.
    pub(crate) route: Vec<CountryCode>,
    /// Each country's border posts, as the topology lists them: what declared routes and
    /// border events may name.
    pub(crate) posts: BTreeMap<CountryCode, Vec<Post>>,
    pub(crate) nodes: BTreeMap<CountryCode, PublicKey>,
    pub(crate) node_by_key: HashMap<KeyId, CountryCode>,
    pub(crate) officers: HashMap<KeyId, Officer>,
    /// The declarant's key, which signs the bills' chain heads.
    pub(crate) declarant: Option<PublicKey>,
}

impl Corridor {
    /// The route, border posts, nodes and officers a topology lists.
    pub(crate) fn from_topology(t: &Topology) -> Result<Self, Error> {
        let route = t.country_codes();
        let mut officers = Vec::new();
        let mut posts = BTreeMap::new();
        for c in &route {
            for (name, key) in t.officer_keys(c)? {
                officers.push(Officer {
                    country: c.clone(),
                    name,
                    key,
                });
            }
            posts.insert(c.clone(), t.posts(c)?);
        }
        Ok(Self {
            declarant: Some(t.declarant_key()?),
            ..Self::new(route, posts, t.node_keys()?, officers)
        })
    }

    pub(crate) fn new(
        route: Vec<CountryCode>,
        posts: BTreeMap<CountryCode, Vec<Post>>,
        nodes: BTreeMap<CountryCode, PublicKey>,
        officers: Vec<Officer>,
    ) -> Self {
        Self {
            node_by_key: nodes.iter().map(|(c, k)| (k.id(), c.clone())).collect(),
            officers: officers.into_iter().map(|o| (o.key.id(), o)).collect(),
            route,
            posts,
            nodes,
            declarant: None,
        }
    }

    /// The key of country `country`'s node.
    fn node_key(&self, country: &CountryCode) -> Result<&PublicKey, Error> {
        self.nodes
            .get(country)
            .ok_or_else(|| Error::State("node key".into()))
    }
}

/// What a node checks requests against: its country, the corridor, its risk profile, the
/// clearance target and the window of document times.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    pub(crate) country: CountryCode,
    pub(crate) corridor: Corridor,
    pub(crate) risk: RiskProfile,
    pub(crate) target: ClearanceTarget,
    /// The window a document entering the corridor here must be dated in.
    pub(crate) times: DocumentTimes,
}

/// The operators' keys, as the node's copy of the registry has them.
pub(crate) use corridor_aeo::replica::OperatorKeys;

/// One entry of a step: its kind, the exact envelope bytes, and what it does once durable.
pub(crate) struct Planned {
    pub(crate) kind: &'static str,
    pub(crate) envelope: Vec<u8>,
    pub(crate) effect: Effect,
}

/// The entries of one step, in ledger order. Only the checks make one.
pub(crate) struct Plan(Vec<Planned>);

impl Plan {
    fn new(kind: &'static str, env: &Envelope, effect: Effect) -> Self {
        Self(Vec::new()).then(kind, env, effect)
    }

    fn then(mut self, kind: &'static str, env: &Envelope, effect: Effect) -> Self {
        self.0.push(Planned {
            kind,
            envelope: corridor_proto::encode_envelope(env),
            effect,
        });
        self
    }

    /// The entries, for `record`.
    pub(crate) fn into_entries(self) -> Vec<Planned> {
        self.0
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::Refusal(Refusal::Invalid(ParseError::new(field, reason)))
}

fn digest(field: &str, b: &[u8]) -> Result<Digest, Error> {
    Ok(Digest::from_slice(field, b)?)
}

/// The sha256 of an envelope's canonical bytes: what the ledger finds a repeat by.
/// An envelope's id: the SHA-256 of its bytes (LEDGER.md), signatures included.
pub(crate) fn envelope_id(env: &Envelope) -> Digest {
    Digest::of(&corridor_proto::encode_envelope(env))
}

fn step_error(c: &Consignment, step: &str, rule: &str) -> Error {
    Error::Refusal(Refusal::FailedPrecondition(format!(
        "{step} is out of order for consignment {} at {}: it is {} ({rule})",
        c.id,
        c.country,
        c.state.name()
    )))
}
