//! The registry's state: what each change does, who may make it, and what it means for
//! recognition. Pure logic over in-memory maps; [`crate::registry`] records every change in
//! the ledger first and applies it here after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use corridor_core::{
    AeoId, AeoTier, CountryCode, Digest, Envelope, KeyId, OperatorId, ParseError, PublicKey,
    payload_type,
};
use corridor_ledger::Entry;
use corridor_proto::v1;
use prost::Message;

use crate::doc::{
    Action, Arrangement, Certificate, KeyUpdate, Registration, StatusChange, Termination, tier_wire,
};
use crate::error::Error;

/// The kinds of change, each one RPC, one payload type and one ledger entry kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Register,
    Keys,
    Issue,
    Status,
    Propose,
    Countersign,
    Terminate,
}

impl Op {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Op::Register => "aeo.operator.registered",
            Op::Keys => "aeo.operator.keys",
            Op::Issue => "aeo.certificate.issued",
            Op::Status => "aeo.certificate.status",
            Op::Propose => "aeo.mra.proposed",
            Op::Countersign => "aeo.mra.countersigned",
            Op::Terminate => "aeo.mra.terminated",
        }
    }

    pub(crate) fn from_kind(kind: &str) -> Option<Self> {
        [
            Op::Register,
            Op::Keys,
            Op::Issue,
            Op::Status,
            Op::Propose,
            Op::Countersign,
            Op::Terminate,
        ]
        .into_iter()
        .find(|o| o.kind() == kind)
    }

    pub(crate) fn payload_type(self) -> &'static str {
        match self {
            Op::Register => payload_type::OPERATOR_REGISTRATION,
            Op::Keys => payload_type::OPERATOR_KEY_UPDATE,
            Op::Issue => payload_type::AEO_CERTIFICATE,
            Op::Status => payload_type::CERTIFICATE_STATUS_CHANGE,
            Op::Propose | Op::Countersign => payload_type::MUTUAL_RECOGNITION,
            Op::Terminate => payload_type::ARRANGEMENT_TERMINATION,
        }
    }
}

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

/// The keys the topology gives roles to.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    authorities: BTreeMap<CountryCode, PublicKey>,
    by_id: HashMap<KeyId, (Role, PublicKey)>,
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
        for (role, k) in others {
            by_id.insert(k.id(), (Role::Other(role), k));
        }
        for (c, k) in &authorities {
            by_id.insert(k.id(), (Role::Authority(c.clone()), *k));
        }
        Self {
            authorities,
            by_id,
            reserved: HashMap::new(),
        }
    }

    /// Adds the topology's operators' keys: known to the registry (they hold no authority),
    /// and registrable for their own operator only.
    pub fn with_operators(mut self, operators: Vec<(OperatorId, PublicKey)>) -> Self {
        for (id, k) in operators {
            self.by_id
                .entry(k.id())
                .or_insert_with(|| (Role::Other(format!("operator {id} (topology)")), k));
            self.reserved.insert(k.id(), id);
        }
        self
    }

    /// The keys a topology names: its customs authorities, every other role's key, and its
    /// operators' keys (registrable for their own operator only).
    pub fn from_topology(
        t: &corridor_topology::Topology,
    ) -> Result<Self, corridor_topology::Error> {
        Ok(Self::new(t.authority_keys()?, t.other_keys()?).with_operators(t.operator_keys()?))
    }

    /// The corridor's countries (those with a customs authority key).
    pub fn countries(&self) -> impl Iterator<Item = &CountryCode> {
        self.authorities.keys()
    }
}

/// A recorded change's outcome, kept so the same envelope gets the same answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Receipt {
    pub(crate) seq: u64,
    pub(crate) hash: Digest,
    pub(crate) document: Digest,
    pub(crate) recorded_at: i64,
    pub(crate) effective_at: i64,
    pub(crate) in_force: bool,
}

impl Receipt {
    pub(crate) fn wire(&self, new: bool) -> v1::ChangeReceipt {
        v1::ChangeReceipt {
            seq: self.seq,
            entry_hash: self.hash.as_bytes().to_vec(),
            document_id: self.document.as_bytes().to_vec(),
            new,
            recorded_at_unix_micros: self.recorded_at,
            effective_at_unix_micros: self.effective_at,
            in_force: self.in_force,
        }
    }
}

/// An operator key and when it was added and revoked.
#[derive(Clone, Debug)]
pub(crate) struct KeyState {
    pub(crate) key: PublicKey,
    /// When the key was registered (the recording time of its entry).
    pub(crate) added_at: i64,
    /// When it was revoked, if it was.
    pub(crate) revoked_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub(crate) struct OperatorState {
    id: OperatorId,
    legal_name: String,
    address: String,
    country: CountryCode,
    keys: Vec<KeyState>,
    registered_at: i64,
    seq: u64,
}

impl OperatorState {
    /// The key with id `id`, if it was ever registered for this operator.
    pub(crate) fn key(&self, id: &KeyId) -> Option<&KeyState> {
        self.keys.iter().find(|k| k.key.id() == *id)
    }

    pub(crate) fn record(&self) -> v1::OperatorRecord {
        v1::OperatorRecord {
            operator_id: self.id.to_string(),
            legal_name: self.legal_name.clone(),
            address: self.address.clone(),
            country: self.country.to_string(),
            keys: self
                .keys
                .iter()
                .map(|k| v1::OperatorKey {
                    keyid: k.key.id().to_string(),
                    public_key: k.key.as_bytes().to_vec(),
                    added_at_unix_micros: k.added_at,
                    revoked_at_unix_micros: k.revoked_at.unwrap_or(0),
                })
                .collect(),
            registered_at_unix_micros: self.registered_at,
            seq: self.seq,
        }
    }
}

#[derive(Clone, Debug)]
struct Event {
    status: v1::CertificateStatus,
    at: i64,
    reason: String,
    seq: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct CertState {
    cert: Certificate,
    effective_from: i64,
    history: Vec<Event>,
    seq: u64,
}

impl CertState {
    fn latest(&self) -> &Event {
        // A certificate always has its issuance event.
        &self.history[self.history.len() - 1]
    }

    /// The event in effect at `t` (the issuance before anything else took effect).
    fn at(&self, t: i64) -> &Event {
        self.history
            .iter()
            .rev()
            .find(|e| e.at <= t)
            .unwrap_or(&self.history[0])
    }

    pub(crate) fn record(&self) -> v1::CertificateRecord {
        v1::CertificateRecord {
            certificate: Some(self.cert.wire.clone()),
            status: self.latest().status as i32,
            history: self
                .history
                .iter()
                .map(|e| v1::StatusEvent {
                    status: e.status as i32,
                    effective_at_unix_micros: e.at,
                    reason: e.reason.clone(),
                    seq: e.seq,
                })
                .collect(),
            effective_from_unix_micros: self.effective_from,
            seq: self.seq,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct MraState {
    mra: Arrangement,
    document: Digest,
    envelope: Envelope,
    in_force_from: Option<i64>,
    terminated: Option<(i64, CountryCode, String)>,
    seq: u64,
}

impl MraState {
    fn in_force_at(&self, t: i64) -> bool {
        self.in_force_from.is_some_and(|f| f <= t)
            && (self.mra.effective_to == 0 || t < self.mra.effective_to)
            && self.terminated.as_ref().is_none_or(|(at, _, _)| t < *at)
    }

    fn state(&self) -> v1::ArrangementState {
        match (&self.in_force_from, &self.terminated) {
            (_, Some(_)) => v1::ArrangementState::Terminated,
            (Some(_), None) => v1::ArrangementState::InForce,
            (None, None) => v1::ArrangementState::Pending,
        }
    }

    pub(crate) fn record(&self) -> v1::ArrangementRecord {
        let (at, by, why) = match &self.terminated {
            Some((at, by, why)) => (*at, by.to_string(), why.clone()),
            None => (0, String::new(), String::new()),
        };
        v1::ArrangementRecord {
            arrangement: Some(self.mra.wire.clone()),
            state: self.state() as i32,
            envelope: Some(v1::Envelope::from(&self.envelope)),
            in_force_from_unix_micros: self.in_force_from.unwrap_or(0),
            terminated_at_unix_micros: at,
            terminated_by: by,
            termination_reason: why,
            seq: self.seq,
        }
    }
}

/// A checked change, with the objects as they will be once it is recorded.
pub(crate) struct Prepared {
    pub(crate) subject: String,
    pub(crate) effective_at: i64,
    pub(crate) in_force: bool,
    update: Update,
}

enum Update {
    Operator(OperatorState),
    Cert(Box<CertState>),
    Mra(Box<MraState>),
}

impl Prepared {
    /// The state rows written in the same batch as the ledger entry.
    pub(crate) fn rows(&self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let (key, value) = match &self.update {
            Update::Operator(o) => (row_key("op/", o.id.as_str()), o.record().encode_to_vec()),
            Update::Cert(c) => (
                row_key("cert/", c.cert.aeo_id.as_str()),
                c.record().encode_to_vec(),
            ),
            Update::Mra(m) => (row_key("mra/", &m.mra.id), m.record().encode_to_vec()),
        };
        vec![(key, Some(value))]
    }
}

/// Prefixes of the state rows, one per kind of object.
pub(crate) const ROW_PREFIXES: [&str; 3] = ["op/", "cert/", "mra/"];

fn row_key(prefix: &str, id: &str) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// Why an operator is or is not recognised.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) reason: v1::RecognitionReason,
    pub(crate) aeo_id: Option<AeoId>,
    pub(crate) arrangement: Option<String>,
    pub(crate) tier: Option<AeoTier>,
    pub(crate) since: i64,
    pub(crate) benefits: Option<v1::ArrangementBenefits>,
    pub(crate) detail: String,
}

impl Finding {
    fn no(reason: v1::RecognitionReason, detail: String) -> Self {
        Self {
            reason,
            aeo_id: None,
            arrangement: None,
            tier: None,
            since: 0,
            benefits: None,
            detail,
        }
    }

    pub(crate) fn recognised(&self) -> bool {
        matches!(
            self.reason,
            v1::RecognitionReason::OwnCertificate | v1::RecognitionReason::MutualRecognition
        )
    }

    pub(crate) fn wire(&self, at: i64, ledger_size: u64) -> v1::CheckRecognitionResponse {
        v1::CheckRecognitionResponse {
            recognised: self.recognised(),
            reason: self.reason as i32,
            aeo_id: self
                .aeo_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            arrangement_id: self.arrangement.clone().unwrap_or_default(),
            tier: self.tier.map_or(v1::AeoTier::Unspecified, tier_wire) as i32,
            since_unix_micros: self.since,
            benefits: self.benefits,
            at_unix_micros: at,
            detail: self.detail.clone(),
            ledger_size,
        }
    }
}

/// The registry's current state.
#[derive(Default)]
pub(crate) struct State {
    keys: TrustedKeys,
    operators: HashMap<OperatorId, OperatorState>,
    /// Operator keys ever registered: key id -> operator.
    operator_keys: HashMap<KeyId, OperatorId>,
    certs: BTreeMap<AeoId, CertState>,
    certs_by_operator: HashMap<OperatorId, Vec<AeoId>>,
    mras: BTreeMap<String, MraState>,
    /// Arrangement ids by unordered country pair (smaller code first).
    mras_by_pair: HashMap<(CountryCode, CountryCode), Vec<String>>,
    receipts: HashMap<Digest, Receipt>,
    /// Changes checked and sent to the ledger but not yet durable: later changes of the same
    /// group are checked against them; queries never see them.
    staged: Staged,
}

#[derive(Default)]
struct Staged {
    operators: HashMap<OperatorId, OperatorState>,
    operator_keys: HashMap<KeyId, OperatorId>,
    certs: HashMap<AeoId, CertState>,
    mras: HashMap<String, MraState>,
}

fn pair(a: &CountryCode, b: &CountryCode) -> (CountryCode, CountryCode) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

impl State {
    pub(crate) fn new(keys: TrustedKeys) -> Self {
        Self {
            keys,
            ..Self::default()
        }
    }

    fn operator_staged(&self, id: &OperatorId) -> Option<&OperatorState> {
        self.staged
            .operators
            .get(id)
            .or_else(|| self.operators.get(id))
    }

    fn key_owner(&self, k: &KeyId) -> Option<(&OperatorId, &OperatorState)> {
        let id = self
            .staged
            .operator_keys
            .get(k)
            .or_else(|| self.operator_keys.get(k))?;
        Some((id, self.operator_staged(id)?))
    }

    fn cert_staged(&self, id: &AeoId) -> Option<&CertState> {
        self.staged.certs.get(id).or_else(|| self.certs.get(id))
    }

    fn mra_staged(&self, id: &str) -> Option<&MraState> {
        self.staged.mras.get(id).or_else(|| self.mras.get(id))
    }

    /// Stages a prepared change: later changes are checked against it until the group it
    /// belongs to is durable ([`State::apply`]) or failed ([`State::unstage`]).
    pub(crate) fn stage(&mut self, p: &Prepared) {
        match &p.update {
            Update::Operator(o) => {
                for k in &o.keys {
                    self.staged.operator_keys.insert(k.key.id(), o.id.clone());
                }
                self.staged.operators.insert(o.id.clone(), o.clone());
            }
            Update::Cert(c) => {
                self.staged
                    .certs
                    .insert(c.cert.aeo_id.clone(), c.as_ref().clone());
            }
            Update::Mra(m) => {
                self.staged
                    .mras
                    .insert(m.mra.id.clone(), m.as_ref().clone());
            }
        }
    }

    /// Forgets every staged change.
    pub(crate) fn unstage(&mut self) {
        self.staged = Staged::default();
    }

    /// The receipt of an envelope already recorded (by its envelope id).
    pub(crate) fn receipt(&self, envelope_id: &Digest) -> Option<Receipt> {
        self.receipts.get(envelope_id).copied()
    }

    /// Checks every signature of `env`: each must be by a key the registry knows, and
    /// verify. Returns the signers' roles.
    fn signers(&self, env: &Envelope) -> Result<Vec<Role>, Error> {
        let mut roles = Vec::with_capacity(env.signatures().len());
        for (i, s) in env.signatures().iter().enumerate() {
            let (role, key) = if let Some((op, o)) = self.key_owner(&s.key_id) {
                let k = o.keys.iter().find(|k| k.key.id() == s.key_id);
                match k {
                    Some(k) if k.revoked_at.is_none() => (Role::Operator(op.clone()), k.key),
                    _ => {
                        return Err(Error::Unauthenticated(format!(
                            "envelope.signatures[{i}]: key {} of operator {op} is revoked",
                            s.key_id
                        )));
                    }
                }
            } else if let Some((role, key)) = self.keys.by_id.get(&s.key_id) {
                (role.clone(), *key)
            } else {
                return Err(Error::Unauthenticated(format!(
                    "envelope.signatures[{i}]: key {} is not known to the registry",
                    s.key_id
                )));
            };
            if !key.verify(
                &corridor_core::pae(env.payload_type(), env.payload()),
                &s.sig,
            ) {
                return Err(Error::Unauthenticated(format!(
                    "envelope.signatures[{i}]: signature by key {} ({role}) does not verify",
                    s.key_id
                )));
            }
            roles.push(role);
        }
        Ok(roles)
    }

    fn require_authority(roles: &[Role], country: &CountryCode, what: &str) -> Result<(), Error> {
        if roles.contains(&Role::Authority(country.clone())) {
            return Ok(());
        }
        let by: Vec<String> = roles.iter().map(ToString::to_string).collect();
        Err(Error::PermissionDenied(format!(
            "{what} must be signed by the customs authority of {country}; signed by {}",
            by.join(" and ")
        )))
    }

    fn corridor_country(&self, field: &str, c: &CountryCode) -> Result<(), Error> {
        if self.keys.authorities.contains_key(c) {
            Ok(())
        } else {
            Err(ParseError::new(field, format!("{c} is not a country of the corridor")).into())
        }
    }

    /// Checks `env` as a change of kind `op` recorded at `now` as entry `seq`: what is
    /// written if it is accepted. Nothing changes here.
    pub(crate) fn prepare(
        &self,
        op: Op,
        env: &Envelope,
        now: i64,
        seq: u64,
    ) -> Result<Prepared, Error> {
        if env.payload_type() != op.payload_type() {
            return Err(ParseError::new(
                "envelope.payload_type",
                format!(
                    "expected {:?}, got {:?}",
                    op.payload_type(),
                    env.payload_type()
                ),
            )
            .into());
        }
        let roles = self.signers(env)?;
        let payload = env.payload();
        match op {
            Op::Register => self.prepare_register(&roles, Registration::decode(payload)?, now, seq),
            Op::Keys => self.prepare_keys(&roles, KeyUpdate::decode(payload)?, now),
            Op::Issue => self.prepare_issue(&roles, Certificate::decode(payload)?, now, seq),
            Op::Status => self.prepare_status(&roles, StatusChange::decode(payload)?, now, seq),
            Op::Propose => {
                self.prepare_propose(&roles, env, Arrangement::decode(payload)?, now, seq)
            }
            Op::Countersign => {
                self.prepare_countersign(&roles, env, Arrangement::decode(payload)?, now)
            }
            Op::Terminate => self.prepare_terminate(&roles, Termination::decode(payload)?, now),
        }
    }

    fn prepare_register(
        &self,
        roles: &[Role],
        r: Registration,
        now: i64,
        seq: u64,
    ) -> Result<Prepared, Error> {
        self.corridor_country("country", &r.country)?;
        Self::require_authority(roles, &r.country, "an operator registration")?;
        if let Some(o) = self.operator_staged(&r.operator_id) {
            return Err(Error::AlreadyExists(format!(
                "operator_id: {} is already registered (entry {})",
                r.operator_id, o.seq
            )));
        }
        for (i, k) in r.keys.iter().enumerate() {
            if let Some(other) = self.key_owner(&k.id()).map(|(id, _)| id) {
                return Err(Error::AlreadyExists(format!(
                    "public_keys[{i}]: key {} is already registered to operator {other}",
                    k.id()
                )));
            }
            if let Some((role, _)) = self.keys.by_id.get(&k.id())
                && self.keys.reserved.get(&k.id()) != Some(&r.operator_id)
            {
                return Err(Error::AlreadyExists(format!(
                    "public_keys[{i}]: key {} belongs to {role}",
                    k.id()
                )));
            }
        }
        let o = OperatorState {
            id: r.operator_id.clone(),
            legal_name: r.legal_name,
            address: r.address,
            country: r.country,
            keys: r
                .keys
                .into_iter()
                .map(|key| KeyState {
                    key,
                    added_at: now,
                    revoked_at: None,
                })
                .collect(),
            registered_at: now,
            seq,
        };
        Ok(Prepared {
            subject: r.operator_id.to_string(),
            effective_at: now,
            in_force: false,
            update: Update::Operator(o),
        })
    }

    fn prepare_keys(&self, roles: &[Role], u: KeyUpdate, now: i64) -> Result<Prepared, Error> {
        let Some(o) = self.operator_staged(&u.operator_id) else {
            return Err(Error::FailedPrecondition(format!(
                "operator_id: {} is not registered",
                u.operator_id
            )));
        };
        Self::require_authority(roles, &o.country, "a key update")?;
        let mut next = o.clone();
        for (i, k) in u.add.iter().enumerate() {
            let reserved_elsewhere = self.keys.by_id.contains_key(&k.id())
                && self.keys.reserved.get(&k.id()) != Some(&u.operator_id);
            if self.key_owner(&k.id()).is_some() || reserved_elsewhere {
                return Err(Error::AlreadyExists(format!(
                    "add_public_keys[{i}]: key {} is already registered",
                    k.id()
                )));
            }
            next.keys.push(KeyState {
                key: *k,
                added_at: now,
                revoked_at: None,
            });
        }
        for (i, id) in u.revoke.iter().enumerate() {
            match next.keys.iter_mut().find(|k| k.key.id() == *id) {
                Some(k) if k.revoked_at.is_none() => k.revoked_at = Some(now),
                Some(_) => {
                    return Err(Error::FailedPrecondition(format!(
                        "revoke_keyids[{i}]: key {id} is already revoked"
                    )));
                }
                None => {
                    return Err(Error::FailedPrecondition(format!(
                        "revoke_keyids[{i}]: key {id} is not a key of operator {}",
                        u.operator_id
                    )));
                }
            }
        }
        if next.keys.iter().all(|k| k.revoked_at.is_some()) {
            return Err(Error::FailedPrecondition(format!(
                "revoke_keyids: the update would leave operator {} without an active key",
                u.operator_id
            )));
        }
        Ok(Prepared {
            subject: u.operator_id.to_string(),
            effective_at: now,
            in_force: false,
            update: Update::Operator(next),
        })
    }

    fn prepare_issue(
        &self,
        roles: &[Role],
        c: Certificate,
        now: i64,
        seq: u64,
    ) -> Result<Prepared, Error> {
        let issuer = c.aeo_id.country();
        self.corridor_country("aeo_id", &issuer)?;
        Self::require_authority(roles, &issuer, &format!("certificate {}", c.aeo_id))?;
        if c.operator_id.country() != issuer {
            return Err(Error::PermissionDenied(format!(
                "operator_id: the customs authority of {issuer} certifies operators registered in {issuer}; {} is registered in {}",
                c.operator_id,
                c.operator_id.country()
            )));
        }
        if self.operator_staged(&c.operator_id).is_none() {
            return Err(Error::FailedPrecondition(format!(
                "operator_id: {} is not registered; register the operator before certifying it",
                c.operator_id
            )));
        }
        if let Some(existing) = self.cert_staged(&c.aeo_id) {
            return Err(Error::AlreadyExists(format!(
                "aeo_id: {} is already the id of another certificate (entry {})",
                c.aeo_id, existing.seq
            )));
        }
        let effective_from = c.valid_from.max(now);
        if c.valid_to <= effective_from {
            return Err(ParseError::new(
                "valid_to_unix_micros",
                format!(
                    "validity ends ({}) before the certificate takes effect when recorded ({effective_from})",
                    c.valid_to
                ),
            )
            .into());
        }
        let state = CertState {
            effective_from,
            history: vec![Event {
                status: v1::CertificateStatus::Active,
                at: effective_from,
                reason: String::new(),
                seq,
            }],
            seq,
            cert: c,
        };
        Ok(Prepared {
            subject: state.cert.operator_id.to_string(),
            effective_at: effective_from,
            in_force: false,
            update: Update::Cert(Box::new(state)),
        })
    }

    fn prepare_status(
        &self,
        roles: &[Role],
        s: StatusChange,
        now: i64,
        seq: u64,
    ) -> Result<Prepared, Error> {
        let Some(c) = self.cert_staged(&s.aeo_id) else {
            return Err(Error::NotFound(format!(
                "aeo_id: no certificate {}",
                s.aeo_id
            )));
        };
        Self::require_authority(
            roles,
            &s.aeo_id.country(),
            &format!("a status change of certificate {}", s.aeo_id),
        )?;
        let latest = c.latest();
        use v1::CertificateStatus as S;
        let next = match (s.action, latest.status) {
            (_, S::Revoked) => {
                return Err(Error::FailedPrecondition(format!(
                    "certificate {} was revoked (entry {}); a revoked certificate cannot be changed",
                    s.aeo_id, latest.seq
                )));
            }
            (Action::Suspend, S::Active) => S::Suspended,
            (Action::Reinstate, S::Suspended) => S::Active,
            (Action::Revoke, _) => S::Revoked,
            (Action::Suspend, _) => {
                return Err(Error::FailedPrecondition(format!(
                    "certificate {} is already suspended (entry {})",
                    s.aeo_id, latest.seq
                )));
            }
            (Action::Reinstate, _) => {
                return Err(Error::FailedPrecondition(format!(
                    "certificate {} is not suspended",
                    s.aeo_id
                )));
            }
        };
        let at = s.effective_at.max(now).max(latest.at);
        let mut state = c.clone();
        state.history.push(Event {
            status: next,
            at,
            reason: s.reason,
            seq,
        });
        Ok(Prepared {
            subject: state.cert.operator_id.to_string(),
            effective_at: at,
            in_force: false,
            update: Update::Cert(Box::new(state)),
        })
    }

    /// Which of the two parties signed; refuses a signer who is not one of them.
    fn parties_signed(roles: &[Role], m: &Arrangement) -> Result<BTreeSet<CountryCode>, Error> {
        let mut signed = BTreeSet::new();
        for r in roles {
            match r {
                Role::Authority(c) if m.party(c) => {
                    signed.insert(c.clone());
                }
                other => {
                    return Err(Error::PermissionDenied(format!(
                        "arrangement {} between {} and {} is signed by their customs authorities only; signed by {other}",
                        m.id, m.countries[0], m.countries[1]
                    )));
                }
            }
        }
        Ok(signed)
    }

    fn prepare_propose(
        &self,
        roles: &[Role],
        env: &Envelope,
        m: Arrangement,
        now: i64,
        seq: u64,
    ) -> Result<Prepared, Error> {
        for (i, c) in m.countries.iter().enumerate() {
            self.corridor_country(&format!("countries[{i}]"), c)?;
        }
        let signed = Self::parties_signed(roles, &m)?;
        if let Some(existing) = self.mra_staged(&m.id) {
            return Err(Error::AlreadyExists(format!(
                "arrangement_id: {} was proposed already (entry {}); countersign that proposal or use another id",
                m.id, existing.seq
            )));
        }
        if m.effective_to != 0 && m.effective_to <= m.effective_from.max(now) {
            return Err(ParseError::new(
                "effective_to_unix_micros",
                format!(
                    "the arrangement ends ({}) before it could come into force",
                    m.effective_to
                ),
            )
            .into());
        }
        let in_force = signed.len() == 2;
        let in_force_from = in_force.then(|| m.effective_from.max(now));
        let state = MraState {
            document: env.document_id(),
            envelope: env.clone(),
            in_force_from,
            terminated: None,
            seq,
            mra: m,
        };
        Ok(Prepared {
            subject: state.mra.id.clone(),
            effective_at: in_force_from.unwrap_or(now),
            in_force,
            update: Update::Mra(Box::new(state)),
        })
    }

    fn prepare_countersign(
        &self,
        roles: &[Role],
        env: &Envelope,
        m: Arrangement,
        now: i64,
    ) -> Result<Prepared, Error> {
        let signed = Self::parties_signed(roles, &m)?;
        let Some(existing) = self.mra_staged(&m.id) else {
            return Err(Error::FailedPrecondition(format!(
                "arrangement_id: {} has not been proposed; propose it first",
                m.id
            )));
        };
        if existing.document != env.document_id() {
            return Err(Error::AlreadyExists(format!(
                "arrangement_id: {} was proposed with different terms (document {}); a countersignature covers the proposal's exact payload",
                m.id, existing.document
            )));
        }
        if existing.in_force_from.is_some() || existing.terminated.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "arrangement {} is {}, not pending",
                m.id,
                if existing.terminated.is_some() {
                    "terminated"
                } else {
                    "in force already"
                }
            )));
        }
        if signed.len() != 2 {
            return Err(Error::FailedPrecondition(format!(
                "envelope.signatures: arrangement {} comes into force with the signatures of both {} and {}; this envelope has {}",
                m.id,
                m.countries[0],
                m.countries[1],
                signed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let from = m.effective_from.max(now);
        if m.effective_to != 0 && m.effective_to <= from {
            return Err(Error::FailedPrecondition(format!(
                "arrangement {} ended ({}) before it was countersigned",
                m.id, m.effective_to
            )));
        }
        let mut state = existing.clone();
        state.envelope = env.clone();
        state.in_force_from = Some(from);
        Ok(Prepared {
            subject: m.id,
            effective_at: from,
            in_force: true,
            update: Update::Mra(Box::new(state)),
        })
    }

    fn prepare_terminate(
        &self,
        roles: &[Role],
        t: Termination,
        now: i64,
    ) -> Result<Prepared, Error> {
        let Some(existing) = self.mra_staged(&t.id) else {
            return Err(Error::NotFound(format!(
                "arrangement_id: no arrangement {}",
                t.id
            )));
        };
        if !existing.mra.party(&t.country) {
            return Err(ParseError::new(
                "country",
                format!("{} is not a party to arrangement {}", t.country, t.id),
            )
            .into());
        }
        Self::require_authority(roles, &t.country, &format!("termination of {}", t.id))?;
        if existing.terminated.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "arrangement {} is already terminated",
                t.id
            )));
        }
        let Some(from) = existing.in_force_from else {
            return Err(Error::FailedPrecondition(format!(
                "arrangement {} is pending, not in force",
                t.id
            )));
        };
        let at = t.effective_at.max(now).max(from);
        let mut state = existing.clone();
        state.terminated = Some((at, t.country, t.reason));
        Ok(Prepared {
            subject: t.id,
            effective_at: at,
            in_force: false,
            update: Update::Mra(Box::new(state)),
        })
    }

    /// Checks ledger entry `entry` (stored hash `hash`) again as the change it recorded and
    /// applies it: the one step of rebuilding the state from a ledger, taken by the registry
    /// on start and by replicas for every entry they receive. On error (what is wrong, for
    /// the caller to name the entry) nothing changed.
    pub(crate) fn replay(&mut self, entry: &Entry, hash: Digest) -> Result<(), String> {
        let op =
            Op::from_kind(&entry.kind).ok_or_else(|| format!("unknown kind {:?}", entry.kind))?;
        let env = corridor_proto::decode_envelope(&entry.envelope).map_err(|e| e.to_string())?;
        let p = self
            .prepare(op, &env, entry.time_unix_micros, entry.seq)
            .map_err(|e| format!("no longer applies: {e}"))?;
        let receipt = Receipt {
            seq: entry.seq,
            hash,
            document: env.document_id(),
            recorded_at: entry.time_unix_micros,
            effective_at: p.effective_at,
            in_force: p.in_force,
        };
        self.apply(p, Digest::of(&entry.envelope), receipt);
        Ok(())
    }

    /// Applies a prepared change once it is recorded.
    pub(crate) fn apply(&mut self, p: Prepared, envelope_id: Digest, receipt: Receipt) {
        match p.update {
            Update::Operator(o) => {
                for k in &o.keys {
                    self.operator_keys.insert(k.key.id(), o.id.clone());
                }
                self.operators.insert(o.id.clone(), o);
            }
            Update::Cert(c) => {
                let ids = self
                    .certs_by_operator
                    .entry(c.cert.operator_id.clone())
                    .or_default();
                if !ids.contains(&c.cert.aeo_id) {
                    ids.push(c.cert.aeo_id.clone());
                    ids.sort();
                }
                self.certs.insert(c.cert.aeo_id.clone(), *c);
            }
            Update::Mra(m) => {
                let ids = self
                    .mras_by_pair
                    .entry(pair(&m.mra.countries[0], &m.mra.countries[1]))
                    .or_default();
                if !ids.contains(&m.mra.id) {
                    ids.push(m.mra.id.clone());
                }
                self.mras.insert(m.mra.id.clone(), *m);
            }
        }
        self.receipts.insert(envelope_id, receipt);
    }

    /// Every state row as it should be stored.
    pub(crate) fn rows(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut out = BTreeMap::new();
        for o in self.operators.values() {
            out.insert(row_key("op/", o.id.as_str()), o.record().encode_to_vec());
        }
        for c in self.certs.values() {
            out.insert(
                row_key("cert/", c.cert.aeo_id.as_str()),
                c.record().encode_to_vec(),
            );
        }
        for m in self.mras.values() {
            out.insert(row_key("mra/", &m.mra.id), m.record().encode_to_vec());
        }
        out
    }

    pub(crate) fn operator(&self, id: &OperatorId) -> Option<&OperatorState> {
        self.operators.get(id)
    }

    pub(crate) fn certificates_of(&self, id: &OperatorId) -> Vec<&CertState> {
        self.certs_by_operator
            .get(id)
            .map(|ids| ids.iter().filter_map(|a| self.certs.get(a)).collect())
            .unwrap_or_default()
    }

    pub(crate) fn certificates_by(&self, country: &CountryCode) -> Vec<&CertState> {
        self.certs
            .values()
            .filter(|c| c.cert.aeo_id.country() == *country)
            .collect()
    }

    pub(crate) fn arrangements(&self, country: Option<&CountryCode>) -> Vec<&MraState> {
        self.mras
            .values()
            .filter(|m| country.is_none_or(|c| m.mra.party(c)))
            .collect()
    }

    /// Is `operator` recognised as an AEO in `country` at time `t`, and why.
    pub(crate) fn check(&self, operator: &OperatorId, country: &CountryCode, t: i64) -> Finding {
        use v1::RecognitionReason as R;
        if !self.operators.contains_key(operator) {
            return Finding::no(
                R::UnknownOperator,
                format!("operator {operator} is not registered"),
            );
        }
        let certs = self.certificates_of(operator);
        if certs.is_empty() {
            return Finding::no(
                R::NoCertificate,
                format!("operator {operator} holds no AEO certificate"),
            );
        }
        let mut first_failure: Option<Finding> = None;
        let (own, partner): (Vec<_>, Vec<_>) = certs
            .into_iter()
            .partition(|c| c.cert.aeo_id.country() == *country);
        for c in own.into_iter().chain(partner) {
            let issuer = c.cert.aeo_id.country();
            let base = Finding {
                reason: R::Unspecified,
                aeo_id: Some(c.cert.aeo_id.clone()),
                arrangement: None,
                tier: Some(c.cert.tier),
                since: 0,
                benefits: None,
                detail: String::new(),
            };
            let failure = match cert_valid_at(c, t) {
                Err((reason, since, detail)) => Some(Finding {
                    reason,
                    since,
                    detail,
                    ..base
                }),
                Ok(()) if issuer == *country => {
                    return Finding {
                        reason: R::OwnCertificate,
                        benefits: Some(v1::ArrangementBenefits {
                            document_check_rate_percent: 100,
                            inspection_rate_percent: 100,
                            priority_treatment: false,
                        }),
                        detail: format!(
                            "{operator} holds {} ({}) of {country}, valid at this time",
                            c.cert.aeo_id, c.cert.tier
                        ),
                        ..base
                    };
                }
                Ok(()) => {
                    let in_force: Vec<&MraState> = self
                        .mras_by_pair
                        .get(&pair(&issuer, country))
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.mras.get(id))
                        .filter(|m| m.in_force_at(t))
                        .collect();
                    if let Some(m) = in_force.iter().find(|m| m.mra.tiers.contains(&c.cert.tier)) {
                        return Finding {
                            reason: R::MutualRecognition,
                            arrangement: Some(m.mra.id.clone()),
                            benefits: m.mra.wire.benefits,
                            detail: format!(
                                "{operator} holds {} ({}) of {issuer}, which {country} recognises under arrangement {}",
                                c.cert.aeo_id, c.cert.tier, m.mra.id
                            ),
                            ..base
                        };
                    }
                    Some(match in_force.first() {
                        Some(m) => Finding {
                            reason: R::TierOutOfScope,
                            arrangement: Some(m.mra.id.clone()),
                            detail: format!(
                                "arrangement {} between {issuer} and {country} does not cover tier {} of {}",
                                m.mra.id, c.cert.tier, c.cert.aeo_id
                            ),
                            ..base
                        },
                        None => Finding {
                            reason: R::NoArrangement,
                            detail: format!(
                                "{} is a certificate of {issuer}, and no arrangement between {issuer} and {country} is in force at this time",
                                c.cert.aeo_id
                            ),
                            ..base
                        },
                    })
                }
            };
            if first_failure.is_none() {
                first_failure = failure;
            }
        }
        first_failure.unwrap_or_else(|| {
            Finding::no(
                R::NoCertificate,
                format!("operator {operator} holds no AEO certificate"),
            )
        })
    }
}

/// Whether a certificate counts at `t`: its status then, and its validity.
fn cert_valid_at(c: &CertState, t: i64) -> Result<(), (v1::RecognitionReason, i64, String)> {
    use v1::RecognitionReason as R;
    let e = c.at(t);
    match e.status {
        v1::CertificateStatus::Suspended if e.at <= t => {
            return Err((
                R::Suspended,
                e.at,
                format!("certificate {} is suspended: {}", c.cert.aeo_id, e.reason),
            ));
        }
        v1::CertificateStatus::Revoked if e.at <= t => {
            return Err((
                R::Revoked,
                e.at,
                format!("certificate {} is revoked: {}", c.cert.aeo_id, e.reason),
            ));
        }
        _ => {}
    }
    if t < c.effective_from || t >= c.cert.valid_to {
        return Err((
            R::OutsideValidity,
            0,
            format!(
                "certificate {} is valid from {} to {} (unix microseconds), not at {t}",
                c.cert.aeo_id, c.effective_from, c.cert.valid_to
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::sign;

    const DAY: i64 = 86_400_000_000;
    const T0: i64 = 1_800_000_000_000_000;

    fn authority(c: &str) -> corridor_core::SigningKey {
        let seed = match c {
            "CN" => 1,
            "KZ" => 2,
            _ => 3,
        };
        corridor_core::SigningKey::from_seed(&[seed; 32])
    }

    /// A state built by applying changes directly (no ledger), each at its own time.
    struct Fixture {
        state: State,
        seq: u64,
    }

    impl Fixture {
        fn new() -> Self {
            let authorities = ["CN", "KZ", "AZ"]
                .iter()
                .map(|c| (CountryCode::parse("c", c).unwrap(), authority(c).public()))
                .collect();
            Self {
                state: State::new(TrustedKeys::new(authorities, vec![])),
                seq: 0,
            }
        }

        fn apply(&mut self, op: Op, env: Envelope, now: i64) {
            let p = self.state.prepare(op, &env, now, self.seq).unwrap();
            let receipt = Receipt {
                seq: self.seq,
                hash: Digest::ZERO,
                document: env.document_id(),
                recorded_at: now,
                effective_at: p.effective_at,
                in_force: p.in_force,
            };
            let id = Digest::of(&corridor_proto::encode_envelope(&env));
            self.state.apply(p, id, receipt);
            self.seq += 1;
        }

        fn operator(&mut self, id: &str) {
            let doc = v1::OperatorRegistration {
                operator_id: id.into(),
                legal_name: "Operator".into(),
                address: "Street 1".into(),
                country: id[..2].into(),
                public_keys: vec![
                    corridor_core::SigningKey::generate()
                        .public()
                        .as_bytes()
                        .to_vec(),
                ],
                issued_at_unix_micros: T0,
            };
            let env = sign(
                payload_type::OPERATOR_REGISTRATION,
                &doc,
                &authority(&id[..2]),
            );
            self.apply(Op::Register, env, T0);
        }

        fn cert(&mut self, aeo: &str, op: &str, tier: v1::AeoTier, to: i64) {
            let doc = v1::AeoCertificate {
                aeo_id: aeo.into(),
                operator_id: op.into(),
                tier: tier as i32,
                valid_from_unix_micros: T0,
                valid_to_unix_micros: to,
                issued_at_unix_micros: T0,
            };
            let env = sign(payload_type::AEO_CERTIFICATE, &doc, &authority(&aeo[3..5]));
            self.apply(Op::Issue, env, T0);
        }

        fn status(&mut self, aeo: &str, action: v1::CertificateAction, at: i64) {
            let doc = v1::CertificateStatusChange {
                aeo_id: aeo.into(),
                action: action as i32,
                reason: "reason".into(),
                effective_at_unix_micros: 0,
                issued_at_unix_micros: at,
            };
            let env = sign(
                payload_type::CERTIFICATE_STATUS_CHANGE,
                &doc,
                &authority(&aeo[3..5]),
            );
            self.apply(Op::Status, env, at);
        }

        fn mra(&mut self, id: &str, a: &str, b: &str, tiers: &[v1::AeoTier], at: i64) {
            let doc = v1::MutualRecognitionArrangement {
                arrangement_id: id.into(),
                countries: vec![a.into(), b.into()],
                tiers: tiers.iter().map(|t| *t as i32).collect(),
                benefits: Some(v1::ArrangementBenefits::default()),
                effective_from_unix_micros: T0,
                effective_to_unix_micros: 0,
                issued_at_unix_micros: at,
            };
            let mut env = sign(payload_type::MUTUAL_RECOGNITION, &doc, &authority(a));
            env.add_signature(&authority(b));
            self.apply(Op::Propose, env, at);
        }
    }

    #[test]
    fn an_arrangement_that_ended_while_pending_cannot_come_into_force() {
        let mut f = Fixture::new();
        let doc = v1::MutualRecognitionArrangement {
            arrangement_id: "MRA-CN-KZ".into(),
            countries: vec!["CN".into(), "KZ".into()],
            tiers: vec![v1::AeoTier::Full as i32],
            benefits: Some(v1::ArrangementBenefits::default()),
            effective_from_unix_micros: T0,
            effective_to_unix_micros: T0 + DAY,
            issued_at_unix_micros: T0,
        };
        let proposal = sign(payload_type::MUTUAL_RECOGNITION, &doc, &authority("CN"));
        f.apply(Op::Propose, proposal.clone(), T0);
        let mut both = proposal;
        both.add_signature(&authority("KZ"));
        assert!(
            f.state
                .prepare(Op::Countersign, &both, T0 + DAY / 2, 1)
                .is_ok()
        );
        let late = f.state.prepare(Op::Countersign, &both, T0 + 2 * DAY, 1);
        assert!(
            matches!(late, Err(Error::FailedPrecondition(ref m)) if m.contains("ended")),
            "{:?}",
            late.err()
        );
    }

    #[test]
    fn recognition_decision_table() {
        use v1::AeoTier::{Full, SecuritySafety};
        use v1::RecognitionReason as R;
        let mut f = Fixture::new();
        for op in ["CN1", "CN2", "CN3", "KZ1", "AZ1"] {
            f.operator(op);
        }
        f.cert("AEOCN0000000001", "CN1", Full, T0 + 100 * DAY);
        f.cert("AEOCN0000000002", "CN2", SecuritySafety, T0 + 100 * DAY);
        f.cert("AEOKZ0000000001", "KZ1", Full, T0 + 10 * DAY);
        f.status(
            "AEOCN0000000002",
            v1::CertificateAction::Suspend,
            T0 + 5 * DAY,
        );
        f.status(
            "AEOKZ0000000001",
            v1::CertificateAction::Revoke,
            T0 + 7 * DAY,
        );
        f.mra("MRA-CN-KZ", "CN", "KZ", &[Full], T0 + 2 * DAY);
        f.mra("MRA-CN-AZ", "CN", "AZ", &[Full], T0 + 3 * DAY);

        let table: &[(&str, &str, i64, R)] = &[
            ("CN1", "CN", T0 + DAY, R::OwnCertificate),
            ("CN1", "CN", T0 - 1, R::OutsideValidity),
            ("CN1", "CN", T0 + 100 * DAY, R::OutsideValidity),
            ("CN1", "KZ", T0 + DAY, R::NoArrangement),
            ("CN1", "KZ", T0 + 2 * DAY, R::MutualRecognition),
            ("CN1", "AZ", T0 + 4 * DAY, R::MutualRecognition),
            ("CN1", "TR", T0 + 4 * DAY, R::NoArrangement),
            ("CN2", "KZ", T0 + 4 * DAY, R::TierOutOfScope),
            ("CN2", "CN", T0 + 4 * DAY, R::OwnCertificate),
            ("CN2", "CN", T0 + 5 * DAY, R::Suspended),
            ("CN3", "CN", T0 + DAY, R::NoCertificate),
            ("KZ1", "CN", T0 + 6 * DAY, R::MutualRecognition),
            ("KZ1", "CN", T0 + 7 * DAY, R::Revoked),
            ("KZ1", "AZ", T0 + 6 * DAY, R::NoArrangement),
            ("AZ1", "AZ", T0, R::NoCertificate),
            ("TR1", "TR", T0, R::UnknownOperator),
        ];
        for (op, country, at, want) in table {
            let got = f.state.check(
                &OperatorId::parse("op", op).unwrap(),
                &CountryCode::parse("c", country).unwrap(),
                *at,
            );
            assert_eq!(
                got.reason,
                *want,
                "{op} in {country} at T0{:+}: {got:?}",
                at - T0
            );
        }
    }
}
