//! Recognition: whether an operator counts as an AEO in a country at a time, and why. A
//! pure decision over the applied state (staged changes are never seen).
//!
//! An operator is recognised by a certificate of the country itself, or by a certificate of
//! another country under an arrangement between the two in force at the time whose scope
//! covers the certificate's tier. Certificates of the country itself are looked at first;
//! when none counts, the answer is the first reason one did not.

use corridor_core::aeo::document::{AeoCertificate, ArrangementBenefits, ArrangementId};
use corridor_core::aeo::record::{
    ArrangementRecord, CertificateRecord, CertificateStatus, RecognitionAnswer, RecognitionReason,
};
use corridor_core::{AeoId, AeoTier, CountryCode, OperatorId};

use crate::state::State;

#[cfg(test)]
mod tests;

/// Why an operator is or is not recognised. Made only by [`check`].
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    reason: RecognitionReason,
    aeo_id: Option<AeoId>,
    arrangement: Option<ArrangementId>,
    tier: Option<AeoTier>,
    since: i64,
    benefits: Option<ArrangementBenefits>,
    detail: String,
}

impl Finding {
    fn no(reason: RecognitionReason, detail: String) -> Self {
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

    /// A finding about certificate `c`, for `reason`.
    fn about(c: &AeoCertificate, reason: RecognitionReason, detail: String) -> Self {
        Self {
            reason,
            aeo_id: Some(c.aeo_id.clone()),
            arrangement: None,
            tier: Some(c.tier),
            since: 0,
            benefits: None,
            detail,
        }
    }

    /// The `CheckRecognition` answer for time `at` from a state of `ledger_size` entries.
    pub(crate) fn answer(self, at: i64, ledger_size: u64) -> RecognitionAnswer {
        RecognitionAnswer {
            reason: self.reason,
            aeo_id: self.aeo_id,
            arrangement_id: self.arrangement,
            tier: self.tier,
            since_unix_micros: self.since,
            benefits: self.benefits,
            at_unix_micros: at,
            detail: self.detail,
            ledger_size,
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
    use RecognitionReason as R;
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
        .partition(|c| c.certificate().aeo_id.country() == *country);
    for record in own.into_iter().chain(partner) {
        let c = record.certificate();
        let issuer = c.aeo_id.country();
        let failure = match valid_at(record, t) {
            Err(lapse) => Some(Finding {
                since: lapse.since,
                ..Finding::about(c, lapse.reason, lapse.detail)
            }),
            Ok(()) if issuer == *country => {
                return Finding {
                    benefits: Some(ArrangementBenefits::FULL_RATES),
                    ..Finding::about(
                        c,
                        R::OwnCertificate,
                        format!(
                            "{operator} holds {} ({}) of {country}, valid at this time",
                            c.aeo_id, c.tier
                        ),
                    )
                };
            }
            Ok(()) => {
                let in_force: Vec<&ArrangementRecord> = state
                    .arrangements_between(&issuer, country)
                    .filter(|m| m.in_force_at(t))
                    .collect();
                if let Some(m) = in_force.iter().find(|m| m.arrangement.covers(c.tier)) {
                    return Finding {
                        arrangement: Some(m.id().clone()),
                        benefits: Some(m.arrangement.benefits),
                        ..Finding::about(
                            c,
                            R::MutualRecognition,
                            format!(
                                "{operator} holds {} ({}) of {issuer}, which {country} recognises under arrangement {}",
                                c.aeo_id,
                                c.tier,
                                m.id()
                            ),
                        )
                    };
                }
                Some(match in_force.first() {
                    Some(m) => Finding {
                        arrangement: Some(m.id().clone()),
                        ..Finding::about(
                            c,
                            R::TierOutOfScope,
                            format!(
                                "arrangement {} between {issuer} and {country} does not cover tier {} of {}",
                                m.id(),
                                c.tier,
                                c.aeo_id
                            ),
                        )
                    },
                    None => Finding::about(
                        c,
                        R::NoArrangement,
                        format!(
                            "{} is a certificate of {issuer}, and no arrangement between {issuer} and {country} is in force at this time",
                            c.aeo_id
                        ),
                    ),
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
    reason: RecognitionReason,
    /// When a suspension or revocation took effect; 0 for a time outside the validity.
    since: i64,
    detail: String,
}

/// Whether a certificate counts at `t`: its status then, and its validity.
fn valid_at(c: &CertificateRecord, t: i64) -> Result<(), Lapse> {
    use RecognitionReason as R;
    let id = &c.certificate().aeo_id;
    let e = c.at(t);
    let why = e.reason.as_ref().map_or("", |r| r.as_str());
    match e.status {
        CertificateStatus::Suspended if e.effective_at_unix_micros <= t => {
            return Err(Lapse {
                reason: R::Suspended,
                since: e.effective_at_unix_micros,
                detail: format!("certificate {id} is suspended: {why}"),
            });
        }
        CertificateStatus::Revoked if e.effective_at_unix_micros <= t => {
            return Err(Lapse {
                reason: R::Revoked,
                since: e.effective_at_unix_micros,
                detail: format!("certificate {id} is revoked: {why}"),
            });
        }
        _ => {}
    }
    let from = c.effective_from_unix_micros();
    let to = c.certificate().valid_to_unix_micros;
    if t < from || t >= to {
        return Err(Lapse {
            reason: R::OutsideValidity,
            since: 0,
            detail: format!(
                "certificate {id} is valid from {from} to {to} (unix microseconds), not at {t}"
            ),
        });
    }
    Ok(())
}
