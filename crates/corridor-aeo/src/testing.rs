//! A state built by applying changes directly (no ledger), for the unit tests of the rules
//! and of recognition; and the documents they sign.

use corridor_core::{
    AeoId, CountryCode, Digest, Envelope, OperatorId, SigningKey, payload_type as pt,
};
use corridor_proto::v1;

use crate::authority::{ReservedKey, TrustedKeys};
use crate::rules::Op;
use crate::sign::sign;
use crate::state::{Recorded, State};

pub(crate) const DAY: i64 = 86_400_000_000;
pub(crate) const T0: i64 = 1_800_000_000_000_000;

/// The customs authority of `c` (one of CN, KZ, AZ; any other code gets a key the
/// registry does not know).
pub(crate) fn authority(c: &str) -> SigningKey {
    let seed = match c {
        "CN" => 1,
        "KZ" => 2,
        "AZ" => 3,
        _ => 4,
    };
    SigningKey::from_seed(&[seed; 32])
}

/// The authority of the country an operator id belongs to.
pub(crate) fn authority_of_operator(id: &str) -> SigningKey {
    authority(
        OperatorId::parse("operator_id", id)
            .unwrap()
            .country()
            .as_str(),
    )
}

/// The authority of the country that issued an AEO certificate id.
pub(crate) fn authority_of_certificate(aeo: &str) -> SigningKey {
    authority(AeoId::parse("aeo_id", aeo).unwrap().country().as_str())
}

/// A key the topology gives to an officer: known, with no authority in the registry.
pub(crate) fn officer() -> SigningKey {
    SigningKey::from_seed(&[40; 32])
}

/// The key the topology reserves for operator CN9.
pub(crate) fn reserved() -> SigningKey {
    SigningKey::from_seed(&[41; 32])
}

pub(crate) fn registration(id: &str, keys: &[&SigningKey]) -> v1::OperatorRegistration {
    v1::OperatorRegistration {
        operator_id: id.into(),
        legal_name: "Operator".into(),
        address: "Street 1".into(),
        country: OperatorId::parse("operator_id", id)
            .unwrap()
            .country()
            .to_string(),
        public_keys: keys
            .iter()
            .map(|k| k.public().as_bytes().to_vec())
            .collect(),
        issued_at_unix_micros: T0,
    }
}

pub(crate) fn key_update(
    id: &str,
    add: &[&SigningKey],
    revoke: &[&SigningKey],
) -> v1::OperatorKeyUpdate {
    v1::OperatorKeyUpdate {
        operator_id: id.into(),
        add_public_keys: add.iter().map(|k| k.public().as_bytes().to_vec()).collect(),
        revoke_keyids: revoke.iter().map(|k| k.id().to_string()).collect(),
        reason: String::new(),
        issued_at_unix_micros: T0,
    }
}

pub(crate) fn certificate(
    aeo: &str,
    op: &str,
    tier: v1::AeoTier,
    from: i64,
    to: i64,
) -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: aeo.into(),
        operator_id: op.into(),
        tier: tier as i32,
        valid_from_unix_micros: from,
        valid_to_unix_micros: to,
        issued_at_unix_micros: T0,
    }
}

pub(crate) fn status_change(
    aeo: &str,
    action: v1::CertificateAction,
    effective_at: i64,
) -> v1::CertificateStatusChange {
    v1::CertificateStatusChange {
        aeo_id: aeo.into(),
        action: action as i32,
        reason: "reason".into(),
        effective_at_unix_micros: effective_at,
        issued_at_unix_micros: T0,
    }
}

pub(crate) fn arrangement(
    id: &str,
    a: &str,
    b: &str,
    tiers: &[v1::AeoTier],
    to: i64,
) -> v1::MutualRecognitionArrangement {
    v1::MutualRecognitionArrangement {
        arrangement_id: id.into(),
        countries: vec![a.into(), b.into()],
        tiers: tiers.iter().map(|t| *t as i32).collect(),
        benefits: Some(v1::ArrangementBenefits::default()),
        effective_from_unix_micros: T0,
        effective_to_unix_micros: to,
        issued_at_unix_micros: T0,
    }
}

pub(crate) fn termination(
    id: &str,
    country: &str,
    effective_at: i64,
) -> v1::ArrangementTermination {
    v1::ArrangementTermination {
        arrangement_id: id.into(),
        country: country.into(),
        reason: "reason".into(),
        effective_at_unix_micros: effective_at,
        issued_at_unix_micros: T0,
    }
}

/// `doc` signed by every key of `by`, in order.
pub(crate) fn signed(
    payload_type: &str,
    doc: &impl prost::Message,
    by: &[&SigningKey],
) -> Envelope {
    let mut env = sign(payload_type, doc, by[0]);
    for k in &by[1..] {
        env.add_signature(k);
    }
    env
}

/// A state built by applying changes directly (no ledger), each at its own time.
pub(crate) struct Fixture {
    pub(crate) state: State,
    pub(crate) seq: u64,
}

impl Fixture {
    /// The authorities of CN, KZ and AZ, an officer's key, and the key the topology
    /// reserves for operator CN9.
    pub(crate) fn new() -> Self {
        let authorities = ["CN", "KZ", "AZ"]
            .iter()
            .map(|c| (CountryCode::parse("c", c).unwrap(), authority(c).public()))
            .collect();
        let keys = TrustedKeys::new(
            authorities,
            vec![("officer 1 of CN".into(), officer().public())],
        )
        .with_operators([ReservedKey {
            operator: OperatorId::parse("o", "CN9").unwrap(),
            key: reserved().public(),
        }]);
        Self {
            state: State::new(keys),
            seq: 0,
        }
    }

    /// Checks and applies a change; panics if it is refused.
    pub(crate) fn apply(&mut self, op: Op, env: Envelope, now: i64) {
        let change = self.state.prepare(op, &env, now, self.seq).unwrap();
        let envelope_id = Digest::of(&corridor_proto::encode_envelope(&env));
        self.state.apply(
            change,
            Recorded {
                seq: self.seq,
                hash: Digest::ZERO,
                at: now,
                envelope_id,
            },
        );
        self.seq += 1;
    }

    /// Registers operator `id` with one new key, signed by its authority; returns the key.
    pub(crate) fn operator(&mut self, id: &str) -> SigningKey {
        let key = SigningKey::generate();
        let env = sign(
            pt::OPERATOR_REGISTRATION,
            &registration(id, &[&key]),
            &authority_of_operator(id),
        );
        self.apply(Op::Register, env, T0);
        key
    }

    /// Issues certificate `aeo` for `op`, valid from T0 to `to`.
    pub(crate) fn cert(&mut self, aeo: &str, op: &str, tier: v1::AeoTier, to: i64) {
        let doc = certificate(aeo, op, tier, T0, to);
        let env = sign(pt::AEO_CERTIFICATE, &doc, &authority_of_certificate(aeo));
        self.apply(Op::Issue, env, T0);
    }

    /// Changes the status of certificate `aeo`, recorded (and so effective) at `at`.
    pub(crate) fn status(&mut self, aeo: &str, action: v1::CertificateAction, at: i64) {
        let mut doc = status_change(aeo, action, 0);
        doc.issued_at_unix_micros = at;
        let env = sign(
            pt::CERTIFICATE_STATUS_CHANGE,
            &doc,
            &authority_of_certificate(aeo),
        );
        self.apply(Op::Status, env, at);
    }

    /// An open-ended arrangement between `a` and `b` signed by both, recorded at `at`.
    pub(crate) fn mra(&mut self, id: &str, a: &str, b: &str, tiers: &[v1::AeoTier], at: i64) {
        let mut doc = arrangement(id, a, b, tiers, 0);
        doc.issued_at_unix_micros = at;
        let env = signed(
            pt::MUTUAL_RECOGNITION,
            &doc,
            &[&authority(a), &authority(b)],
        );
        self.apply(Op::Propose, env, at);
    }
}
