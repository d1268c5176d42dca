//! Who may sign what: the keys the topology gives roles to, and the signers of an envelope,
//! each signature checked against those keys and the operators' registered keys.
//!
//! [`Signers`] is the checked value: only [`Signers::check`] makes one, after every
//! signature of the envelope verified, so a rule holding one knows who signed.

use corridor_service::Refusal;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use corridor_core::aeo::document::MutualRecognitionArrangement;
use corridor_core::{CountryCode, Envelope, KeyId, OperatorId, ParseError, PublicKey};

use crate::error::Error;

/// Who holds a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A country's customs authority.
    Authority(CountryCode),
    /// A registered operator.
    Operator(OperatorId),
    /// Another corridor role named in the topology (a node, an officer, a service).
    Other(String),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Authority(c) => write!(f, "the customs authority of {c}"),
            Role::Operator(o) => write!(f, "operator {o}"),
            Role::Other(s) => f.write_str(s),
        }
    }
}

/// A key the topology gives to a role.
#[derive(Clone, Debug)]
struct RoleKey {
    role: Role,
    key: PublicKey,
}

/// A key the topology names for one of its operators, registered or not yet: it may be
/// registered for that operator only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservedKey {
    /// The operator.
    pub operator: OperatorId,
    /// Its key.
    pub key: PublicKey,
}

/// The keys the topology gives roles to.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    authorities: BTreeMap<CountryCode, PublicKey>,
    by_id: HashMap<KeyId, RoleKey>,
    /// Keys the topology gives to operators not necessarily registered yet: each may be
    /// registered for its own operator only.
    reserved: HashMap<KeyId, OperatorId>,
}

impl TrustedKeys {
    /// Customs authority keys by country, and other known keys with a description of their
    /// role (they hold no authority in the registry).
    pub fn new(
        authorities: BTreeMap<CountryCode, PublicKey>,
        others: Vec<(String, PublicKey)>,
    ) -> Self {
        let mut by_id = HashMap::new();
        for (role, key) in others {
            let role = Role::Other(role);
            by_id.insert(key.id(), RoleKey { role, key });
        }
        for (c, k) in &authorities {
            let role = Role::Authority(c.clone());
            by_id.insert(k.id(), RoleKey { role, key: *k });
        }
        Self {
            authorities,
            by_id,
            reserved: HashMap::new(),
        }
    }

    /// Adds the topology's operators' keys: known to the registry (they hold no authority),
    /// and registrable for their own operator only.
    pub fn with_operators(mut self, operators: impl IntoIterator<Item = ReservedKey>) -> Self {
        for ReservedKey { operator, key } in operators {
            self.by_id.entry(key.id()).or_insert_with(|| RoleKey {
                role: Role::Other(format!("operator {operator} (topology)")),
                key,
            });
            self.reserved.insert(key.id(), operator);
        }
        self
    }

    /// The keys a topology names: its customs authorities, every other role's key, and its
    /// operators' keys (registrable for their own operator only).
    pub fn from_topology(
        t: &corridor_topology::Topology,
    ) -> Result<Self, corridor_topology::Error> {
        let operators = t.operator_keys()?.into_iter();
        let reserved = operators.map(|(operator, key)| ReservedKey { operator, key });
        Ok(Self::new(t.authority_keys()?, t.other_keys()?).with_operators(reserved))
    }

    /// The key with id `k` if the topology gives it to a role (an operator's topology key
    /// included).
    pub(crate) fn role_key(&self, k: &KeyId) -> Option<PublicKey> {
        self.by_id.get(k).map(|held| held.key)
    }

    /// The corridor's countries (those with a customs authority key).
    pub fn countries(&self) -> impl Iterator<Item = &CountryCode> {
        self.authorities.keys()
    }

    /// Refuses a country that is not one of the corridor's; `field` names the field.
    pub(crate) fn corridor_country(&self, field: &str, c: &CountryCode) -> Result<(), Error> {
        if self.authorities.contains_key(c) {
            Ok(())
        } else {
            Err(ParseError::new(field, format!("{c} is not a country of the corridor")).into())
        }
    }

    /// The role the topology gives key `k`, unless it is an operator key the topology
    /// reserves for `operator`: the role that makes `k` unavailable to `operator`.
    pub(crate) fn taken(&self, k: &KeyId, operator: &OperatorId) -> Option<&Role> {
        let held = self.by_id.get(k)?;
        (self.reserved.get(k) != Some(operator)).then_some(&held.role)
    }
}

/// The roles of an envelope's signers, in signature order, every signature verified.
#[derive(Clone, Debug)]
pub(crate) struct Signers {
    roles: Vec<Role>,
}

/// The keys the registry's state knows: operators' keys (as registered, staged changes
/// included) and the topology's.
pub(crate) trait KnownKeys {
    /// The operator key `k` was registered for, and the key itself (`None` once revoked).
    fn operator_key(&self, k: &KeyId) -> Option<(OperatorId, Option<PublicKey>)>;
    /// The topology's keys.
    fn trusted(&self) -> &TrustedKeys;
}

impl Signers {
    /// Checks every signature of `env`: each must be by a key the registry knows (an
    /// operator's key not revoked in `known`, or a topology key), and verify.
    pub(crate) fn check(known: &(impl KnownKeys + ?Sized), env: &Envelope) -> Result<Self, Error> {
        let mut roles = Vec::with_capacity(env.signatures().len());
        for (i, s) in env.signatures().iter().enumerate() {
            let (role, key) = if let Some((op, key)) = known.operator_key(&s.key_id) {
                match key {
                    Some(k) => (Role::Operator(op), k),
                    None => {
                        return Err(Error::Refusal(Refusal::Unauthenticated(format!(
                            "envelope.signatures[{i}]: key {} of operator {op} is revoked",
                            s.key_id
                        ))));
                    }
                }
            } else if let Some(held) = known.trusted().by_id.get(&s.key_id) {
                (held.role.clone(), held.key)
            } else {
                return Err(Error::Refusal(Refusal::Unauthenticated(format!(
                    "envelope.signatures[{i}]: key {} is not known to the registry",
                    s.key_id
                ))));
            };
            if !key.verify(
                &corridor_core::pae(env.payload_type(), env.payload()),
                &s.sig,
            ) {
                return Err(Error::Refusal(Refusal::Unauthenticated(format!(
                    "envelope.signatures[{i}]: signature by key {} ({role}) does not verify",
                    s.key_id
                ))));
            }
            roles.push(role);
        }
        Ok(Self { roles })
    }

    /// Refuses unless the customs authority of `country` signed; `what` names the document.
    pub(crate) fn require_authority(&self, country: &CountryCode, what: &str) -> Result<(), Error> {
        if self.roles.contains(&Role::Authority(country.clone())) {
            return Ok(());
        }
        let by: Vec<String> = self.roles.iter().map(ToString::to_string).collect();
        Err(Error::Refusal(Refusal::PermissionDenied(format!(
            "{what} must be signed by the customs authority of {country}; signed by {}",
            by.join(" and ")
        ))))
    }

    /// Which of the arrangement's two parties signed; refuses a signer who is not one of
    /// them.
    pub(crate) fn parties(
        &self,
        m: &MutualRecognitionArrangement,
    ) -> Result<BTreeSet<CountryCode>, Error> {
        let mut signed = BTreeSet::new();
        for r in &self.roles {
            match r {
                Role::Authority(c) if m.party(c) => {
                    signed.insert(c.clone());
                }
                other => {
                    return Err(Error::Refusal(Refusal::PermissionDenied(format!(
                        "arrangement {} between {} and {} is signed by their customs authorities only; signed by {other}",
                        m.arrangement_id, m.countries[0], m.countries[1]
                    ))));
                }
            }
        }
        Ok(signed)
    }
}
