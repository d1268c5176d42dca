//! The seven rules: what each kind of change requires, and what it changes. Pure decisions.
//!
//! [`check`] takes a signed envelope and the [`Registered`] state (applied changes, and those
//! staged before it in the same group) and returns a [`Change`]: the objects as they will be
//! once the change is recorded. Only the rules here construct a `Change`, and
//! [`crate::state::State`] stages and applies nothing else, so every object in the state got
//! there through these checks: on the way in, and again when the ledger is replayed.

use corridor_core::aeo::document::ArrangementId;
use corridor_core::aeo::document::{
    AeoCertificate, ArrangementTermination, CertificateAction, CertificateStatusChange,
    MutualRecognitionArrangement, OperatorKeyUpdate, OperatorRegistration,
};
use corridor_core::aeo::record::{
    ArrangementRecord, CertificateRecord, CertificateStatus, OperatorKey, OperatorRecord,
    StatusEvent, Termination,
};
use corridor_core::{AeoId, Digest, Envelope, KeyId, OperatorId, ParseError, payload_type};
use corridor_proto::aeo as wire;
use corridor_service::Refusal;

use crate::authority::{KnownKeys, Signers};
use crate::error::Error;
use crate::rows::{self, Row};

/// What the rules read of the registry's state: the changes applied, and those staged
/// ahead of them in the same write group.
pub(crate) trait Registered: KnownKeys {
    /// Operator `id`'s record.
    fn operator(&self, id: &OperatorId) -> Option<&OperatorRecord>;
    /// The operator key `k` was ever registered for, and that operator's record.
    fn key_owner(&self, k: &KeyId) -> Option<(&OperatorId, &OperatorRecord)>;
    /// Certificate `id`'s record.
    fn certificate(&self, id: &AeoId) -> Option<&CertificateRecord>;
    /// Arrangement `id`'s record.
    fn arrangement(&self, id: &ArrangementId) -> Option<&ArrangementRecord>;
}

#[cfg(test)]
mod tests;

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

/// A checked change, with the object it changes as it will be once the change is recorded.
/// Made only by [`check`].
#[derive(Clone, Debug)]
pub(crate) struct Change {
    /// The document's own `issued_at_unix_micros`.
    issued_at: i64,
    subject: String,
    effective_at: i64,
    in_force: bool,
    document: Digest,
    update: Update,
}

/// The object a change leaves behind.
#[derive(Clone, Debug)]
pub(crate) enum Update {
    Operator(OperatorRecord),
    Cert(Box<CertificateRecord>),
    Mra(Box<ArrangementRecord>),
}

impl Change {
    /// The time the document states it was issued at.
    pub(crate) fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// The ledger entry's subject: the operator's id, or the arrangement's.
    pub(crate) fn subject(&self) -> &str {
        &self.subject
    }

    /// When the change takes effect (microseconds since the Unix epoch).
    pub(crate) fn effective_at(&self) -> i64 {
        self.effective_at
    }

    /// Whether the change brings an arrangement into force.
    pub(crate) fn in_force(&self) -> bool {
        self.in_force
    }

    /// The changed document's id (sha256 of its payload).
    pub(crate) fn document(&self) -> Digest {
        self.document
    }

    /// The object as it will be.
    pub(crate) fn update(&self) -> &Update {
        &self.update
    }

    pub(crate) fn into_update(self) -> Update {
        self.update
    }

    /// The state row written in the same batch as the ledger entry.
    pub(crate) fn row(&self) -> Row {
        match &self.update {
            Update::Operator(o) => rows::operator(o),
            Update::Cert(c) => rows::certificate(c),
            Update::Mra(m) => rows::arrangement(m),
        }
    }
}

/// Checks `env` as a change of kind `op` recorded at `now` as entry `seq`, against
/// `latest`: what is written if it is accepted. Nothing changes here.
pub(crate) fn check(
    latest: &dyn Registered,
    op: Op,
    env: &Envelope,
    now: i64,
    seq: u64,
) -> Result<Change, Error> {
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
    let by = Signers::check(latest, env)?;
    let payload = env.payload();
    let (issued_at, outcome) = match op {
        Op::Register => {
            let r = wire::decode_operator_registration(payload)?;
            (r.issued_at_unix_micros, register(latest, &by, r, now, seq)?)
        }
        Op::Keys => {
            let u = wire::decode_operator_key_update(payload)?;
            (u.issued_at_unix_micros, keys(latest, &by, u, now)?)
        }
        Op::Issue => {
            let c = wire::decode_aeo_certificate(payload)?;
            (c.issued_at_unix_micros, issue(latest, &by, c, now, seq)?)
        }
        Op::Status => {
            let s = wire::decode_certificate_status_change(payload)?;
            (s.issued_at_unix_micros, status(latest, &by, s, now, seq)?)
        }
        Op::Propose => {
            let m = wire::decode_mutual_recognition_arrangement(payload)?;
            (
                m.issued_at_unix_micros,
                propose(latest, &by, env, m, now, seq)?,
            )
        }
        Op::Countersign => {
            let m = wire::decode_mutual_recognition_arrangement(payload)?;
            (
                m.issued_at_unix_micros,
                countersign(latest, &by, env, m, now)?,
            )
        }
        Op::Terminate => {
            let t = wire::decode_arrangement_termination(payload)?;
            (t.issued_at_unix_micros, terminate(latest, &by, t, now)?)
        }
    };
    Ok(Change {
        issued_at,
        subject: outcome.subject,
        effective_at: outcome.effective_at,
        in_force: outcome.in_force,
        document: env.document_id(),
        update: outcome.update,
    })
}

/// What one rule decides: a [`Change`] but for the document id, which [`check`] adds.
struct Outcome {
    subject: String,
    effective_at: i64,
    in_force: bool,
    update: Update,
}

fn register(
    latest: &dyn Registered,
    by: &Signers,
    r: OperatorRegistration,
    now: i64,
    seq: u64,
) -> Result<Outcome, Error> {
    latest.trusted().corridor_country("country", &r.country)?;
    by.require_authority(&r.country, "an operator registration")?;
    if let Some(o) = latest.operator(&r.operator_id) {
        return Err(Error::Refusal(Refusal::AlreadyExists(format!(
            "operator_id: {} is already registered (entry {})",
            r.operator_id, o.seq
        ))));
    }
    for (i, k) in r.public_keys.iter().enumerate() {
        if let Some((other, _)) = latest.key_owner(&k.id()) {
            return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                "public_keys[{i}]: key {} is already registered to operator {other}",
                k.id()
            ))));
        }
        if let Some(role) = latest.trusted().taken(&k.id(), &r.operator_id) {
            return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                "public_keys[{i}]: key {} belongs to {role}",
                k.id()
            ))));
        }
    }
    let r = r.into_parts();
    let subject = r.operator_id.to_string();
    let o = OperatorRecord {
        operator_id: r.operator_id,
        legal_name: r.legal_name,
        address: r.address,
        keys: r
            .public_keys
            .into_iter()
            .map(|key| OperatorKey {
                key,
                added_at_unix_micros: now,
                revoked_at_unix_micros: None,
            })
            .collect(),
        registered_at_unix_micros: now,
        seq,
    };
    Ok(Outcome {
        subject,
        effective_at: now,
        in_force: false,
        update: Update::Operator(o),
    })
}

fn keys(
    latest: &dyn Registered,
    by: &Signers,
    u: OperatorKeyUpdate,
    now: i64,
) -> Result<Outcome, Error> {
    let Some(o) = latest.operator(&u.operator_id) else {
        return Err(Error::Refusal(Refusal::NotFound(format!(
            "operator_id: {} is not registered",
            u.operator_id
        ))));
    };
    by.require_authority(&o.country(), "a key update")?;
    let mut next = o.clone();
    for (i, k) in u.add_public_keys.iter().enumerate() {
        let reserved_elsewhere = latest.trusted().taken(&k.id(), &u.operator_id).is_some();
        if latest.key_owner(&k.id()).is_some() || reserved_elsewhere {
            return Err(Error::Refusal(Refusal::AlreadyExists(format!(
                "add_public_keys[{i}]: key {} is already registered",
                k.id()
            ))));
        }
        next.keys.push(OperatorKey {
            key: *k,
            added_at_unix_micros: now,
            revoked_at_unix_micros: None,
        });
    }
    for (i, id) in u.revoke_keyids.iter().enumerate() {
        match next.keys.iter_mut().find(|k| k.key.id() == *id) {
            Some(k) if k.revoked_at_unix_micros.is_none() => k.revoked_at_unix_micros = Some(now),
            Some(_) => {
                return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                    "revoke_keyids[{i}]: key {id} is already revoked"
                ))));
            }
            None => {
                return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                    "revoke_keyids[{i}]: key {id} is not a key of operator {}",
                    u.operator_id
                ))));
            }
        }
    }
    if next.keys.iter().all(|k| k.revoked_at_unix_micros.is_some()) {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "revoke_keyids: the update would leave operator {} without an active key",
            u.operator_id
        ))));
    }
    Ok(Outcome {
        subject: u.operator_id.to_string(),
        effective_at: now,
        in_force: false,
        update: Update::Operator(next),
    })
}

fn issue(
    latest: &dyn Registered,
    by: &Signers,
    c: AeoCertificate,
    now: i64,
    seq: u64,
) -> Result<Outcome, Error> {
    let issuer = c.aeo_id.country();
    latest.trusted().corridor_country("aeo_id", &issuer)?;
    by.require_authority(&issuer, &format!("certificate {}", c.aeo_id))?;
    if c.operator_id.country() != issuer {
        return Err(Error::Refusal(Refusal::PermissionDenied(format!(
            "operator_id: the customs authority of {issuer} certifies operators registered in {issuer}; {} is registered in {}",
            c.operator_id,
            c.operator_id.country()
        ))));
    }
    if latest.operator(&c.operator_id).is_none() {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "operator_id: {} is not registered; register the operator before certifying it",
            c.operator_id
        ))));
    }
    if let Some(existing) = latest.certificate(&c.aeo_id) {
        return Err(Error::Refusal(Refusal::AlreadyExists(format!(
            "aeo_id: {} is already the id of another certificate (entry {})",
            c.aeo_id,
            existing.seq()
        ))));
    }
    let effective_from = c.valid_from_unix_micros.max(now);
    if c.valid_to_unix_micros <= effective_from {
        return Err(ParseError::new(
            "valid_to_unix_micros",
            format!(
                "validity ends ({}) before the certificate takes effect when recorded ({effective_from})",
                c.valid_to_unix_micros
            ),
        )
        .into());
    }
    let subject = c.operator_id.to_string();
    Ok(Outcome {
        subject,
        effective_at: effective_from,
        in_force: false,
        update: Update::Cert(Box::new(CertificateRecord::issued(c, effective_from, seq))),
    })
}

fn status(
    latest: &dyn Registered,
    by: &Signers,
    s: CertificateStatusChange,
    now: i64,
    seq: u64,
) -> Result<Outcome, Error> {
    let Some(c) = latest.certificate(&s.aeo_id) else {
        return Err(Error::Refusal(Refusal::NotFound(format!(
            "aeo_id: no certificate {}",
            s.aeo_id
        ))));
    };
    by.require_authority(
        &s.aeo_id.country(),
        &format!("a status change of certificate {}", s.aeo_id),
    )?;
    let last = c.latest();
    use CertificateAction as A;
    use CertificateStatus as S;
    let next = match (s.action, last.status) {
        (_, S::Revoked) => {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "certificate {} was revoked (entry {}); a revoked certificate cannot be changed",
                s.aeo_id, last.seq
            ))));
        }
        (A::Suspend, S::Active) => S::Suspended,
        (A::Reinstate, S::Suspended) => S::Active,
        (A::Revoke, _) => S::Revoked,
        (A::Suspend, _) => {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "certificate {} is already suspended (entry {})",
                s.aeo_id, last.seq
            ))));
        }
        (A::Reinstate, _) => {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "certificate {} is not suspended",
                s.aeo_id
            ))));
        }
    };
    let at = s
        .effective_at_unix_micros
        .max(now)
        .max(last.effective_at_unix_micros);
    let subject = c.certificate().operator_id.to_string();
    let state = c.clone().changed(StatusEvent {
        status: next,
        effective_at_unix_micros: at,
        reason: s.into_parts().reason,
        seq,
    });
    Ok(Outcome {
        subject,
        effective_at: at,
        in_force: false,
        update: Update::Cert(Box::new(state)),
    })
}

fn propose(
    latest: &dyn Registered,
    by: &Signers,
    env: &Envelope,
    m: MutualRecognitionArrangement,
    now: i64,
    seq: u64,
) -> Result<Outcome, Error> {
    for (i, c) in m.countries.iter().enumerate() {
        latest
            .trusted()
            .corridor_country(&format!("countries[{i}]"), c)?;
    }
    let signed = by.parties(&m)?;
    let id = &m.arrangement_id;
    if let Some(existing) = latest.arrangement(id) {
        return Err(Error::Refusal(Refusal::AlreadyExists(format!(
            "arrangement_id: {id} was proposed already (entry {}); countersign that proposal or use another id",
            existing.seq
        ))));
    }
    if let Some(to) = m.effective_to_unix_micros
        && to <= m.effective_from_unix_micros.max(now)
    {
        return Err(ParseError::new(
            "effective_to_unix_micros",
            format!("the arrangement ends ({to}) before it could come into force"),
        )
        .into());
    }
    let in_force = signed.len() == 2;
    let in_force_from = in_force.then(|| m.effective_from_unix_micros.max(now));
    let subject = id.to_string();
    let state = ArrangementRecord {
        arrangement: m,
        envelope: env.clone(),
        in_force_from_unix_micros: in_force_from,
        terminated: None,
        seq,
    };
    Ok(Outcome {
        subject,
        effective_at: in_force_from.unwrap_or(now),
        in_force,
        update: Update::Mra(Box::new(state)),
    })
}

fn countersign(
    latest: &dyn Registered,
    by: &Signers,
    env: &Envelope,
    m: MutualRecognitionArrangement,
    now: i64,
) -> Result<Outcome, Error> {
    let signed = by.parties(&m)?;
    let id = &m.arrangement_id;
    let Some(existing) = latest.arrangement(id) else {
        return Err(Error::Refusal(Refusal::NotFound(format!(
            "arrangement_id: {id} has not been proposed; propose it first"
        ))));
    };
    let proposed = existing.document_id();
    if proposed != env.document_id() {
        return Err(Error::Refusal(Refusal::AlreadyExists(format!(
            "arrangement_id: {id} was proposed with different terms (document {proposed}); a countersignature covers the proposal's exact payload"
        ))));
    }
    if existing.in_force_from_unix_micros.is_some() || existing.terminated.is_some() {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "arrangement {id} is {}, not pending",
            if existing.terminated.is_some() {
                "terminated"
            } else {
                "in force already"
            }
        ))));
    }
    if signed.len() != 2 {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "envelope.signatures: arrangement {id} comes into force with the signatures of both {} and {}; this envelope has {}",
            m.countries[0],
            m.countries[1],
            signed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    let from = m.effective_from_unix_micros.max(now);
    if let Some(to) = m.effective_to_unix_micros
        && to <= from
    {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "arrangement {id} ended ({to}) before it was countersigned"
        ))));
    }
    let mut state = existing.clone();
    state.envelope = env.clone();
    state.in_force_from_unix_micros = Some(from);
    Ok(Outcome {
        subject: id.to_string(),
        effective_at: from,
        in_force: true,
        update: Update::Mra(Box::new(state)),
    })
}

fn terminate(
    latest: &dyn Registered,
    by: &Signers,
    t: ArrangementTermination,
    now: i64,
) -> Result<Outcome, Error> {
    let id = &t.arrangement_id;
    let Some(existing) = latest.arrangement(id) else {
        return Err(Error::Refusal(Refusal::NotFound(format!(
            "arrangement_id: no arrangement {id}"
        ))));
    };
    if !existing.arrangement.party(&t.country) {
        return Err(Error::Refusal(Refusal::PermissionDenied(format!(
            "country: {} is not a party to arrangement {id}",
            t.country
        ))));
    }
    by.require_authority(&t.country, &format!("termination of {id}"))?;
    if existing.terminated.is_some() {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "arrangement {id} is already terminated"
        ))));
    }
    let Some(from) = existing.in_force_from_unix_micros else {
        return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
            "arrangement {id} is pending, not in force"
        ))));
    };
    let at = t.effective_at_unix_micros.max(now).max(from);
    let subject = id.to_string();
    let t = t.into_parts();
    let mut state = existing.clone();
    state.terminated = Some(Termination {
        at_unix_micros: at,
        by: t.country,
        reason: t.reason,
    });
    Ok(Outcome {
        subject,
        effective_at: at,
        in_force: false,
        update: Update::Mra(Box::new(state)),
    })
}
