//! Recognition: whether an operator counts as an AEO in a country at a time, and why. A
//! pure decision over the applied state (staged changes are never seen).
//!
//! An operator is recognised by a certificate of the country itself, or by a certificate of
//! another country under an arrangement between the two in force at the time whose scope
//! covers the certificate's tier. Certificates of the country itself are looked at first;
//! when none counts, the answer is the first reason one did not.

use corridor_core::{AeoId, AeoTier, CountryCode, OperatorId};
use corridor_proto::v1;

use crate::doc::tier_wire;
use crate::records::{CertState, MraState};
use crate::replica::Recognition;
use crate::state::State;

#[cfg(test)]
mod tests;

/// Why an operator is or is not recognised. Made only by [`check`].
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    reason: v1::RecognitionReason,
    aeo_id: Option<AeoId>,
    arrangement: Option<String>,
    tier: Option<AeoTier>,
    since: i64,
    benefits: Option<v1::ArrangementBenefits>,
    detail: String,
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

impl From<Finding> for Recognition {
    fn from(f: Finding) -> Self {
        Self {
            recognised: f.recognised(),
            reason: f.reason,
            aeo_id: f.aeo_id,
            arrangement: f.arrangement,
            tier: f.tier,
            since: f.since,
            benefits: f.benefits,
            detail: f.detail,
        }
    }
}

/// Is `operator` recognised as an AEO in `country` at time `t`, and why.
pub(crate) fn check(
    state: &State,
    operator: &OperatorId,
    country: &CountryCode,
    t: i64,
) -> Finding {
    use v1::RecognitionReason as R;
    if state.operator(operator).is_none() {
        return Finding::no(
            R::UnknownOperator,
            format!("operator {operator} is not registered"),
        );
    }
    let certs = state.certificates_of(operator);
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
        let failure = match valid_at(c, t) {
            Err(lapse) => Some(Finding {
                reason: lapse.reason,
                since: lapse.since,
                detail: lapse.detail,
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
                let in_force: Vec<&MraState> = state
                    .arrangements_between(&issuer, country)
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

/// Why a certificate does not count at a time.
struct Lapse {
    reason: v1::RecognitionReason,
    /// When a suspension or revocation took effect; 0 for a time outside the validity.
    since: i64,
    detail: String,
}

/// Whether a certificate counts at `t`: its status then, and its validity.
fn valid_at(c: &CertState, t: i64) -> Result<(), Lapse> {
    use v1::RecognitionReason as R;
    let e = c.at(t);
    match e.status {
        v1::CertificateStatus::Suspended if e.at <= t => {
            return Err(Lapse {
                reason: R::Suspended,
                since: e.at,
                detail: format!("certificate {} is suspended: {}", c.cert.aeo_id, e.reason),
            });
        }
        v1::CertificateStatus::Revoked if e.at <= t => {
            return Err(Lapse {
                reason: R::Revoked,
                since: e.at,
                detail: format!("certificate {} is revoked: {}", c.cert.aeo_id, e.reason),
            });
        }
        _ => {}
    }
    if t < c.effective_from || t >= c.cert.valid_to {
        return Err(Lapse {
            reason: R::OutsideValidity,
            since: 0,
            detail: format!(
                "certificate {} is valid from {} to {} (unix microseconds), not at {t}",
                c.cert.aeo_id, c.effective_from, c.cert.valid_to
            ),
        });
    }
    Ok(())
}
