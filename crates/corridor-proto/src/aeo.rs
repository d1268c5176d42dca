//! Conversions between the messages of `aeo.proto` and the AEO registry's validated
//! documents and records of `corridor_core::aeo`.
//!
//! Wire to core is `TryFrom`, checking each field in message order and each rule across
//! fields where its last field is read, so the error names the first fault in field order;
//! the `decode_*` functions take a payload's bytes (after the envelope's signatures are
//! verified). Core to wire is `From<&T>`, for clients that build documents and for the
//! registry's records and answers; the `encode_*_record` functions give a record's bytes as
//! the registry stores them beside its ledger.

use corridor_core::aeo::document::{
    AeoCertificate, AeoCertificateParts, ArrangementBenefits, ArrangementId,
    ArrangementTermination, ArrangementTerminationParts, CertificateAction,
    CertificateStatusChange, CertificateStatusChangeParts, MutualRecognitionArrangement,
    MutualRecognitionArrangementParts, OperatorKeyUpdate, OperatorKeyUpdateParts,
    OperatorRegistration, OperatorRegistrationParts, check_optional_time, check_time,
};
use corridor_core::aeo::record::{
    ArrangementRecord, ArrangementState, CertificateRecord, CertificateStatus, ChangeReceipt,
    OperatorRecord, RecognitionAnswer, RecognitionReason, StatusEvent,
};
use corridor_core::document::Text;
use corridor_core::{AeoId, AeoTier, CountryCode, KeyId, OperatorId, ParseError, PublicKey};
use prost::Message;

use crate::v1;

// ---- enums --------------------------------------------------------------------------------

/// A tier from its wire number.
pub fn tier(field: &str, t: i32) -> Result<AeoTier, ParseError> {
    match v1::AeoTier::try_from(t) {
        Ok(v1::AeoTier::SecuritySafety) => Ok(AeoTier::SecuritySafety),
        Ok(v1::AeoTier::CustomsSimplifications) => Ok(AeoTier::CustomsSimplifications),
        Ok(v1::AeoTier::Full) => Ok(AeoTier::Full),
        Ok(v1::AeoTier::Unspecified) => Err(ParseError::new(field, "required: a tier")),
        Err(_) => Err(ParseError::new(field, format!("unknown tier number {t}"))),
    }
}

impl From<AeoTier> for v1::AeoTier {
    fn from(t: AeoTier) -> Self {
        match t {
            AeoTier::SecuritySafety => v1::AeoTier::SecuritySafety,
            AeoTier::CustomsSimplifications => v1::AeoTier::CustomsSimplifications,
            AeoTier::Full => v1::AeoTier::Full,
        }
    }
}

/// A tier's wire number.
pub fn tier_wire(t: AeoTier) -> v1::AeoTier {
    t.into()
}

fn certificate_action(v: i32) -> Result<CertificateAction, ParseError> {
    match v1::CertificateAction::try_from(v) {
        Ok(v1::CertificateAction::Suspend) => Ok(CertificateAction::Suspend),
        Ok(v1::CertificateAction::Reinstate) => Ok(CertificateAction::Reinstate),
        Ok(v1::CertificateAction::Revoke) => Ok(CertificateAction::Revoke),
        Ok(v1::CertificateAction::Unspecified) => Err(ParseError::new(
            "action",
            "required: suspend, reinstate or revoke",
        )),
        Err(_) => Err(ParseError::new(
            "action",
            format!("unknown action number {v}"),
        )),
    }
}

impl From<CertificateAction> for v1::CertificateAction {
    fn from(a: CertificateAction) -> Self {
        match a {
            CertificateAction::Suspend => v1::CertificateAction::Suspend,
            CertificateAction::Reinstate => v1::CertificateAction::Reinstate,
            CertificateAction::Revoke => v1::CertificateAction::Revoke,
        }
    }
}

impl From<CertificateStatus> for v1::CertificateStatus {
    fn from(s: CertificateStatus) -> Self {
        match s {
            CertificateStatus::Active => v1::CertificateStatus::Active,
            CertificateStatus::Suspended => v1::CertificateStatus::Suspended,
            CertificateStatus::Revoked => v1::CertificateStatus::Revoked,
        }
    }
}

impl From<ArrangementState> for v1::ArrangementState {
    fn from(s: ArrangementState) -> Self {
        match s {
            ArrangementState::Pending => v1::ArrangementState::Pending,
            ArrangementState::InForce => v1::ArrangementState::InForce,
            ArrangementState::Terminated => v1::ArrangementState::Terminated,
        }
    }
}

impl From<RecognitionReason> for v1::RecognitionReason {
    fn from(r: RecognitionReason) -> Self {
        use RecognitionReason as R;
        match r {
            R::OwnCertificate => v1::RecognitionReason::OwnCertificate,
            R::MutualRecognition => v1::RecognitionReason::MutualRecognition,
            R::UnknownOperator => v1::RecognitionReason::UnknownOperator,
            R::NoCertificate => v1::RecognitionReason::NoCertificate,
            R::Suspended => v1::RecognitionReason::Suspended,
            R::Revoked => v1::RecognitionReason::Revoked,
            R::OutsideValidity => v1::RecognitionReason::OutsideValidity,
            R::NoArrangement => v1::RecognitionReason::NoArrangement,
            R::TierOutOfScope => v1::RecognitionReason::TierOutOfScope,
        }
    }
}

// ---- field helpers ------------------------------------------------------------------------

fn opt_string<T: ToString>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_default()
}

/// A list of public keys, each parsed and compared with those before it in turn.
fn public_keys(field: &str, keys: &[Vec<u8>]) -> Result<Vec<PublicKey>, ParseError> {
    let mut out: Vec<PublicKey> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let key = PublicKey::from_bytes(&f, k)?;
        if out.contains(&key) {
            return Err(ParseError::new(f, "listed twice"));
        }
        out.push(key);
    }
    Ok(out)
}

fn keys_to_wire(keys: &[PublicKey]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.as_bytes().to_vec()).collect()
}

// ---- documents ----------------------------------------------------------------------------

impl TryFrom<v1::OperatorRegistration> for OperatorRegistration {
    type Error = ParseError;
    fn try_from(m: v1::OperatorRegistration) -> Result<Self, ParseError> {
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let country = CountryCode::parse("country", &m.country)?;
        OperatorRegistration::check_country(&operator_id, &country)?;
        let public_keys = public_keys("public_keys", &m.public_keys)?;
        OperatorRegistration::check_keys(&public_keys)?;
        check_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        OperatorRegistration::new(OperatorRegistrationParts {
            operator_id,
            legal_name: Text::parse("legal_name", &m.legal_name)?,
            address: Text::parse("address", &m.address)?,
            country,
            public_keys,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&OperatorRegistration> for v1::OperatorRegistration {
    fn from(r: &OperatorRegistration) -> Self {
        v1::OperatorRegistration {
            operator_id: r.operator_id.to_string(),
            legal_name: r.legal_name.to_string(),
            address: r.address.to_string(),
            country: r.country.to_string(),
            public_keys: keys_to_wire(&r.public_keys),
            issued_at_unix_micros: r.issued_at_unix_micros,
        }
    }
}

impl TryFrom<v1::OperatorKeyUpdate> for OperatorKeyUpdate {
    type Error = ParseError;
    fn try_from(m: v1::OperatorKeyUpdate) -> Result<Self, ParseError> {
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let add = public_keys("add_public_keys", &m.add_public_keys)?;
        let mut revoke = Vec::with_capacity(m.revoke_keyids.len());
        for (i, k) in m.revoke_keyids.iter().enumerate() {
            let id = KeyId::parse(&format!("revoke_keyids[{i}]"), k)?;
            OperatorKeyUpdate::check_revoked(i, &id, &revoke, &add)?;
            revoke.push(id);
        }
        OperatorKeyUpdate::check_not_empty(&add, &revoke)?;
        let reason = Text::parse_optional("reason", &m.reason)?;
        check_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        OperatorKeyUpdate::new(OperatorKeyUpdateParts {
            operator_id,
            add_public_keys: add,
            revoke_keyids: revoke,
            reason,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&OperatorKeyUpdate> for v1::OperatorKeyUpdate {
    fn from(u: &OperatorKeyUpdate) -> Self {
        v1::OperatorKeyUpdate {
            operator_id: u.operator_id.to_string(),
            add_public_keys: keys_to_wire(&u.add_public_keys),
            revoke_keyids: u.revoke_keyids.iter().map(ToString::to_string).collect(),
            reason: opt_string(u.reason.as_ref()),
            issued_at_unix_micros: u.issued_at_unix_micros,
        }
    }
}

impl TryFrom<v1::AeoCertificate> for AeoCertificate {
    type Error = ParseError;
    fn try_from(m: v1::AeoCertificate) -> Result<Self, ParseError> {
        let aeo_id = AeoId::parse("aeo_id", &m.aeo_id)?;
        let operator_id = OperatorId::parse("operator_id", &m.operator_id)?;
        let tier = tier("tier", m.tier)?;
        check_time("valid_from_unix_micros", m.valid_from_unix_micros)?;
        check_time("valid_to_unix_micros", m.valid_to_unix_micros)?;
        AeoCertificate::check_validity(m.valid_from_unix_micros, m.valid_to_unix_micros)?;
        check_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        AeoCertificate::new(AeoCertificateParts {
            aeo_id,
            operator_id,
            tier,
            valid_from_unix_micros: m.valid_from_unix_micros,
            valid_to_unix_micros: m.valid_to_unix_micros,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&AeoCertificate> for v1::AeoCertificate {
    fn from(c: &AeoCertificate) -> Self {
        v1::AeoCertificate {
            aeo_id: c.aeo_id.to_string(),
            operator_id: c.operator_id.to_string(),
            tier: v1::AeoTier::from(c.tier).into(),
            valid_from_unix_micros: c.valid_from_unix_micros,
            valid_to_unix_micros: c.valid_to_unix_micros,
            issued_at_unix_micros: c.issued_at_unix_micros,
        }
    }
}

impl TryFrom<v1::CertificateStatusChange> for CertificateStatusChange {
    type Error = ParseError;
    fn try_from(m: v1::CertificateStatusChange) -> Result<Self, ParseError> {
        let aeo_id = AeoId::parse("aeo_id", &m.aeo_id)?;
        let action = certificate_action(m.action)?;
        let reason = if action == CertificateAction::Reinstate {
            Text::parse_optional("reason", &m.reason)?
        } else {
            Some(Text::parse("reason", &m.reason)?)
        };
        check_optional_time("effective_at_unix_micros", m.effective_at_unix_micros)?;
        check_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        CertificateStatusChange::new(CertificateStatusChangeParts {
            aeo_id,
            action,
            reason,
            effective_at_unix_micros: m.effective_at_unix_micros,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&CertificateStatusChange> for v1::CertificateStatusChange {
    fn from(s: &CertificateStatusChange) -> Self {
        v1::CertificateStatusChange {
            aeo_id: s.aeo_id.to_string(),
            action: v1::CertificateAction::from(s.action).into(),
            reason: opt_string(s.reason.as_ref()),
            effective_at_unix_micros: s.effective_at_unix_micros,
            issued_at_unix_micros: s.issued_at_unix_micros,
        }
    }
}

impl TryFrom<v1::ArrangementBenefits> for ArrangementBenefits {
    type Error = ParseError;
    fn try_from(b: v1::ArrangementBenefits) -> Result<Self, ParseError> {
        ArrangementBenefits::new(
            b.document_check_rate_percent,
            b.inspection_rate_percent,
            b.priority_treatment,
        )
    }
}

impl From<ArrangementBenefits> for v1::ArrangementBenefits {
    fn from(b: ArrangementBenefits) -> Self {
        v1::ArrangementBenefits {
            document_check_rate_percent: b.document_check_rate_percent(),
            inspection_rate_percent: b.inspection_rate_percent(),
            priority_treatment: b.priority_treatment(),
        }
    }
}

impl TryFrom<v1::MutualRecognitionArrangement> for MutualRecognitionArrangement {
    type Error = ParseError;
    fn try_from(m: v1::MutualRecognitionArrangement) -> Result<Self, ParseError> {
        let arrangement_id = ArrangementId::parse("arrangement_id", &m.arrangement_id)?;
        if m.countries.len() != 2 {
            return Err(ParseError::new(
                "countries",
                format!(
                    "an arrangement has exactly two countries, got {}",
                    m.countries.len()
                ),
            ));
        }
        let a = CountryCode::parse("countries[0]", &m.countries[0])?;
        let b = CountryCode::parse("countries[1]", &m.countries[1])?;
        MutualRecognitionArrangement::check_parties(&a, &b)?;
        let mut tiers = Vec::with_capacity(m.tiers.len());
        for (i, t) in m.tiers.iter().enumerate() {
            let f = format!("tiers[{i}]");
            let t = tier(&f, *t)?;
            if tiers.contains(&t) {
                return Err(ParseError::new(f, "listed twice"));
            }
            tiers.push(t);
        }
        MutualRecognitionArrangement::check_tiers(&tiers)?;
        let benefits = m
            .benefits
            .ok_or_else(|| ParseError::new("benefits", "required"))?
            .try_into()
            .map_err(|e: ParseError| e.within("benefits"))?;
        check_time("effective_from_unix_micros", m.effective_from_unix_micros)?;
        check_optional_time("effective_to_unix_micros", m.effective_to_unix_micros)?;
        let effective_to = (m.effective_to_unix_micros != 0).then_some(m.effective_to_unix_micros);
        MutualRecognitionArrangement::check_period(m.effective_from_unix_micros, effective_to)?;
        check_time("issued_at_unix_micros", m.issued_at_unix_micros)?;
        MutualRecognitionArrangement::new(MutualRecognitionArrangementParts {
            arrangement_id,
            countries: [a, b],
            tiers,
            benefits,
            effective_from_unix_micros: m.effective_from_unix_micros,
            effective_to_unix_micros: effective_to,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&MutualRecognitionArrangement> for v1::MutualRecognitionArrangement {
    fn from(m: &MutualRecognitionArrangement) -> Self {
        v1::MutualRecognitionArrangement {
            arrangement_id: m.arrangement_id.to_string(),
            countries: m.countries.iter().map(ToString::to_string).collect(),
            tiers: m
                .tiers
                .iter()
                .map(|t| v1::AeoTier::from(*t).into())
                .collect(),
            benefits: Some(m.benefits.into()),
            effective_from_unix_micros: m.effective_from_unix_micros,
            effective_to_unix_micros: m.effective_to_unix_micros.unwrap_or(0),
            issued_at_unix_micros: m.issued_at_unix_micros,
        }
    }
}

impl TryFrom<v1::ArrangementTermination> for ArrangementTermination {
    type Error = ParseError;
    fn try_from(m: v1::ArrangementTermination) -> Result<Self, ParseError> {
        ArrangementTermination::new(ArrangementTerminationParts {
            arrangement_id: ArrangementId::parse("arrangement_id", &m.arrangement_id)?,
            country: CountryCode::parse("country", &m.country)?,
            reason: Text::parse("reason", &m.reason)?,
            effective_at_unix_micros: m.effective_at_unix_micros,
            issued_at_unix_micros: m.issued_at_unix_micros,
        })
    }
}

impl From<&ArrangementTermination> for v1::ArrangementTermination {
    fn from(t: &ArrangementTermination) -> Self {
        v1::ArrangementTermination {
            arrangement_id: t.arrangement_id.to_string(),
            country: t.country.to_string(),
            reason: t.reason.to_string(),
            effective_at_unix_micros: t.effective_at_unix_micros,
            issued_at_unix_micros: t.issued_at_unix_micros,
        }
    }
}

// ---- payload bytes ------------------------------------------------------------------------

/// Decodes payload bytes as message `M`; a decode error names `envelope.payload`.
fn decode<M: Message + Default>(what: &str, payload: &[u8]) -> Result<M, ParseError> {
    M::decode(payload)
        .map_err(|e| ParseError::new("envelope.payload", format!("not a protobuf {what}: {e}")))
}

/// Decodes and checks an operator registration from payload bytes.
pub fn decode_operator_registration(payload: &[u8]) -> Result<OperatorRegistration, ParseError> {
    decode::<v1::OperatorRegistration>("OperatorRegistration", payload)?.try_into()
}

/// Decodes and checks an operator key update from payload bytes.
pub fn decode_operator_key_update(payload: &[u8]) -> Result<OperatorKeyUpdate, ParseError> {
    decode::<v1::OperatorKeyUpdate>("OperatorKeyUpdate", payload)?.try_into()
}

/// Decodes and checks an AEO certificate from payload bytes.
pub fn decode_aeo_certificate(payload: &[u8]) -> Result<AeoCertificate, ParseError> {
    decode::<v1::AeoCertificate>("AeoCertificate", payload)?.try_into()
}

/// Decodes and checks a certificate status change from payload bytes.
pub fn decode_certificate_status_change(
    payload: &[u8],
) -> Result<CertificateStatusChange, ParseError> {
    decode::<v1::CertificateStatusChange>("CertificateStatusChange", payload)?.try_into()
}

/// Decodes and checks a mutual recognition arrangement from payload bytes.
pub fn decode_mutual_recognition_arrangement(
    payload: &[u8],
) -> Result<MutualRecognitionArrangement, ParseError> {
    decode::<v1::MutualRecognitionArrangement>("MutualRecognitionArrangement", payload)?.try_into()
}

/// Decodes and checks an arrangement termination from payload bytes.
pub fn decode_arrangement_termination(
    payload: &[u8],
) -> Result<ArrangementTermination, ParseError> {
    decode::<v1::ArrangementTermination>("ArrangementTermination", payload)?.try_into()
}

// ---- records and answers ------------------------------------------------------------------

impl From<&OperatorRecord> for v1::OperatorRecord {
    fn from(o: &OperatorRecord) -> Self {
        v1::OperatorRecord {
            operator_id: o.operator_id.to_string(),
            legal_name: o.legal_name.to_string(),
            address: o.address.to_string(),
            country: o.country().to_string(),
            keys: o
                .keys
                .iter()
                .map(|k| v1::OperatorKey {
                    keyid: k.key.id().to_string(),
                    public_key: k.key.as_bytes().to_vec(),
                    added_at_unix_micros: k.added_at_unix_micros,
                    revoked_at_unix_micros: k.revoked_at_unix_micros.unwrap_or(0),
                })
                .collect(),
            registered_at_unix_micros: o.registered_at_unix_micros,
            seq: o.seq,
        }
    }
}

impl From<&StatusEvent> for v1::StatusEvent {
    fn from(e: &StatusEvent) -> Self {
        v1::StatusEvent {
            status: v1::CertificateStatus::from(e.status).into(),
            effective_at_unix_micros: e.effective_at_unix_micros,
            reason: opt_string(e.reason.as_ref()),
            seq: e.seq,
        }
    }
}

impl From<&CertificateRecord> for v1::CertificateRecord {
    fn from(c: &CertificateRecord) -> Self {
        v1::CertificateRecord {
            certificate: Some(c.certificate().into()),
            status: v1::CertificateStatus::from(c.latest().status).into(),
            history: c.history().iter().map(Into::into).collect(),
            effective_from_unix_micros: c.effective_from_unix_micros(),
            seq: c.seq(),
        }
    }
}

impl From<&ArrangementRecord> for v1::ArrangementRecord {
    fn from(m: &ArrangementRecord) -> Self {
        let t = m.terminated.as_ref();
        v1::ArrangementRecord {
            arrangement: Some((&m.arrangement).into()),
            state: v1::ArrangementState::from(m.state()).into(),
            envelope: Some((&m.envelope).into()),
            in_force_from_unix_micros: m.in_force_from_unix_micros.unwrap_or(0),
            terminated_at_unix_micros: t.map_or(0, |t| t.at_unix_micros),
            terminated_by: opt_string(t.map(|t| &t.by)),
            termination_reason: opt_string(t.map(|t| &t.reason)),
            seq: m.seq,
        }
    }
}

/// An operator record's protobuf bytes, as stored beside the registry's ledger.
pub fn encode_operator_record(o: &OperatorRecord) -> Vec<u8> {
    v1::OperatorRecord::from(o).encode_to_vec()
}

/// A certificate record's protobuf bytes, as stored beside the registry's ledger.
pub fn encode_certificate_record(c: &CertificateRecord) -> Vec<u8> {
    v1::CertificateRecord::from(c).encode_to_vec()
}

/// An arrangement record's protobuf bytes, as stored beside the registry's ledger.
pub fn encode_arrangement_record(m: &ArrangementRecord) -> Vec<u8> {
    v1::ArrangementRecord::from(m).encode_to_vec()
}

impl From<&ChangeReceipt> for v1::ChangeReceipt {
    fn from(r: &ChangeReceipt) -> Self {
        v1::ChangeReceipt {
            seq: r.seq,
            entry_hash: r.entry_hash.as_bytes().to_vec(),
            document_id: r.document_id.as_bytes().to_vec(),
            new: r.new,
            recorded_at_unix_micros: r.recorded_at_unix_micros,
            effective_at_unix_micros: r.effective_at_unix_micros,
            in_force: r.in_force,
        }
    }
}

impl From<&RecognitionAnswer> for v1::CheckRecognitionResponse {
    fn from(a: &RecognitionAnswer) -> Self {
        v1::CheckRecognitionResponse {
            recognised: a.reason.recognises(),
            reason: v1::RecognitionReason::from(a.reason).into(),
            aeo_id: opt_string(a.aeo_id.as_ref()),
            arrangement_id: opt_string(a.arrangement_id.as_ref()),
            tier: a.tier.map_or(v1::AeoTier::Unspecified, v1::AeoTier::from) as i32,
            since_unix_micros: a.since_unix_micros,
            benefits: a.benefits.map(Into::into),
            at_unix_micros: a.at_unix_micros,
            detail: a.detail.clone(),
            ledger_size: a.ledger_size,
        }
    }
}

#[cfg(test)]
mod tests;
