//! Steps decided: a checked request, with the consignment as it stands, becomes the entries
//! to record, or the error that refuses the step. The node's own documents (assessments,
//! releases, completions) are signed here; ed25519 is deterministic, so a plan is a pure
//! function of its inputs.

use corridor_core::document::ConsignmentState as S;
use corridor_core::document::{
    Assessment, BorderEvent, BorderEventKind, Completion, Declaration, Lane, OfficerDecision,
    Outcome, Release, SealCheck,
};
use corridor_core::{Digest, Envelope, SigningKey, payload_type};
use corridor_proto::customs::{encode_assessment, encode_completion, encode_release};
use corridor_service::Refusal;
use corridor_topology::Crossing;

use super::{
    Announced, Cancellation, Declared, OfficerSigned, Plan, Receipt, Rules, invalid, step_error,
};
use crate::consignment::{Consignment, Effect, Opened, kind};
use crate::error::Error;
use crate::risk::{AeoStatus, assess};

/// The node's key and the time of the step: what the node's own documents are signed with
/// and dated.
#[derive(Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub(crate) key: &'a SigningKey,
    pub(crate) now: i64,
}

impl Signer<'_> {
    fn sign(&self, payload_type: &str, payload: Vec<u8>) -> Envelope {
        Envelope::sign(payload_type, payload, self.key)
    }

    fn sign_assessment(&self, a: &Assessment) -> Envelope {
        self.sign(payload_type::ASSESSMENT, encode_assessment(a))
    }
}

impl Rules {
    fn assessment(
        &self,
        id: &Digest,
        declaration: &Declaration,
        aeo: &AeoStatus,
        now: i64,
    ) -> Assessment {
        let a = assess(&self.risk, &self.country, declaration, aeo);
        Assessment {
            consignment_id: *id,
            country: self.country.clone(),
            lane: a.lane,
            reasons: a.reasons,
            aeo_recognised: aeo.recognised,
            aeo_basis: aeo.basis.clone(),
            reassessment: false,
            draw_ppm: a.draw_ppm,
            assessed_at_unix_micros: now,
        }
    }

    /// A declaration accepted: the declaration, the bill, its transfer chain and the
    /// pre-arrival assessment, in one batch.
    pub(crate) fn plan_declaration(&self, d: Declared, aeo: &AeoStatus, s: Signer<'_>) -> Plan {
        let id = d.id();
        let assessment = self.assessment(&id, &d.declaration, aeo, s.now);
        let aenv = s.sign_assessment(&assessment);
        let bill = d.bill_id();
        let mut plan = Plan::new(
            kind::DECLARATION_ACCEPTED,
            &d.declaration_envelope,
            Effect::Opened(Box::new(Opened {
                declaration_envelope: d.declaration_envelope.clone(),
                declaration: d.declaration,
                seals: d.seals.clone(),
                carried: Vec::new(),
                aeo_at_origin: None,
            })),
        )
        .then(
            kind::BILL_PRESENTED,
            &d.bill_envelope,
            Effect::Bill {
                bill,
                seals: d.seals,
            },
        );
        for t in &d.transfers {
            plan = plan.then(kind::BILL_TRANSFER, t, Effect::Nothing);
        }
        if let Some(h) = &d.chain_head {
            plan = plan.then(kind::BILL_CHAIN_HEAD, h, Effect::Nothing);
        }
        plan.then(kind::RISK_ASSESSED, &aenv, Effect::Assessed(assessment))
    }

    /// An advance record received: the record and the pre-arrival assessment.
    pub(crate) fn plan_announcement(&self, a: Announced, aeo: &AeoStatus, s: Signer<'_>) -> Plan {
        let assessment = self.assessment(&a.id, &a.opened.declaration, aeo, s.now);
        let aenv = s.sign_assessment(&assessment);
        Plan::new(
            kind::ADVANCE_RECEIVED,
            &a.envelope,
            Effect::Opened(Box::new(a.opened)),
        )
        .then(kind::RISK_ASSESSED, &aenv, Effect::Assessed(assessment))
    }

    /// A border event for consignment `c`. Its post is one of this country's in the
    /// topology: for an arrival at the route's first country any of them (the goods are
    /// presented for export there), for another arrival an entry post, for an exit an exit
    /// post; another post than the declared one is a diversion, recorded as sent. An arrival
    /// checks the seals (re-assessing red if one is broken, missing or unknown) and releases
    /// green and blue at once (completing them at the last country); an exit is of a
    /// released consignment, not at the last country.
    pub(crate) fn plan_border_event(
        &self,
        c: &Consignment,
        e: OfficerSigned<BorderEvent>,
        s: Signer<'_>,
    ) -> Result<Plan, Error> {
        let event = e.document()?;
        let way = match event.kind {
            BorderEventKind::Arrival if c.is_first() => None,
            BorderEventKind::Arrival => Some(Crossing::Entry),
            BorderEventKind::Exit => Some(Crossing::Exit),
        };
        self.corridor.check_post(
            "envelope.payload.border_post",
            &self.country,
            way,
            &event.border_post,
        )?;
        let (env, id) = (e.envelope, e.id);
        match event.kind {
            BorderEventKind::Arrival => {
                if c.state != S::AwaitingArrival {
                    return Err(step_error(
                        c,
                        "arrival",
                        "only a consignment awaiting arrival arrives",
                    ));
                }
                let problems = seal_problems(&c.seals, &event.seals);
                let mut plan = Plan::new(kind::BORDER_ARRIVAL, &env, Effect::Arrived(event));
                let mut lane = c.lane;
                if !problems.is_empty() {
                    lane = Some(Lane::Red);
                    let a = Assessment {
                        consignment_id: id,
                        country: self.country.clone(),
                        lane: Lane::Red,
                        reasons: problems.iter().map(|p| format!("seal: {p}")).collect(),
                        aeo_recognised: c.aeo,
                        aeo_basis: c.aeo_basis.clone(),
                        reassessment: true,
                        draw_ppm: 0,
                        assessed_at_unix_micros: s.now,
                    };
                    let aenv = s.sign_assessment(&a);
                    plan = plan.then(kind::RISK_REASSESSED, &aenv, Effect::Assessed(a));
                }
                if let Some(lane @ (Lane::Green | Lane::Blue)) = lane {
                    let r = Release {
                        consignment_id: id,
                        country: self.country.clone(),
                        lane,
                        released_at_unix_micros: s.now,
                        dwell_micros: 0,
                        clearance_micros: c.carried_micros(),
                    };
                    let renv = s.sign(payload_type::RELEASE, encode_release(&r));
                    plan = plan.then(kind::RELEASE_AUTOMATIC, &renv, Effect::Released);
                    if c.is_last() {
                        plan = self.then_completion(plan, c, s);
                    }
                }
                Ok(plan)
            }
            BorderEventKind::Exit => {
                if c.is_last() {
                    return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                        "{} is the last country of the route: import clearance completes the consignment, it does not exit",
                        self.country
                    ))));
                }
                if c.state != S::Released {
                    return Err(step_error(c, "exit", "only a released consignment exits"));
                }
                Ok(Plan::new(
                    kind::BORDER_EXIT,
                    &env,
                    Effect::Exited(event.border_post),
                ))
            }
        }
    }

    /// An officer's decision on consignment `c`: release, hold (with findings) or refuse
    /// (with findings), of a consignment awaiting an officer; a held one is released or
    /// refused. A release at the last country completes the consignment.
    pub(crate) fn plan_decision(
        &self,
        c: &Consignment,
        d: OfficerSigned<OfficerDecision>,
        s: Signer<'_>,
    ) -> Result<Plan, Error> {
        let decision = d.document()?;
        let (env, id) = (d.envelope, d.id);
        let outcome = decision.outcome;
        if matches!(outcome, Outcome::Hold | Outcome::Refuse) && decision.findings.trim().is_empty()
        {
            return Err(invalid(
                "envelope.payload.findings",
                "a hold or refusal states its findings",
            ));
        }
        match (c.state, outcome) {
            (S::AwaitingOfficer, _) | (S::Held, Outcome::Release | Outcome::Refuse) => {}
            (S::Held, _) => {
                return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                    "consignment {id} is already held"
                ))));
            }
            _ => {
                return Err(step_error(
                    c,
                    "an officer decision",
                    "only a consignment awaiting an officer, or held, is decided",
                ));
            }
        }
        let plan = Plan::new(kind::OFFICER_DECISION, &env, Effect::Decided(decision));
        Ok(if outcome == Outcome::Release && c.is_last() {
            self.then_completion(plan, c, s)
        } else {
            plan
        })
    }

    /// The declarant's cancellation of consignment `c`: at the first country, before the
    /// goods arrive there.
    pub(crate) fn plan_cancellation(
        &self,
        c: &Consignment,
        x: Cancellation,
    ) -> Result<Plan, Error> {
        if !c.is_first() {
            return Err(Error::Refusal(Refusal::FailedPrecondition(format!(
                "a declaration is cancelled at the first country of its route ({}), not at {}",
                c.declaration.route[0].country, self.country
            ))));
        }
        if c.state != S::AwaitingArrival {
            return Err(step_error(
                c,
                "cancellation",
                "a declaration is cancelled only before the goods arrive at the first border",
            ));
        }
        Ok(Plan::new(
            kind::DECLARATION_CANCELLED,
            &x.envelope,
            Effect::Cancelled(x.reason),
        ))
    }

    /// `plan` and the completion of consignment `c`, released now at the last country (its
    /// arrival may be in the same batch, when `arrived_at` is still 0).
    fn then_completion(&self, plan: Plan, c: &Consignment, s: Signer<'_>) -> Plan {
        let released_at = s.now;
        let dwell = if c.arrived_at == 0 {
            0
        } else {
            (released_at - c.arrived_at).max(0)
        };
        let clearance = c.carried_micros() + dwell;
        let m = Completion {
            consignment_id: c.id,
            country: self.country.clone(),
            completed_at_unix_micros: s.now,
            clearance_micros: clearance,
            within_target: clearance <= self.target.target_micros(),
            guarantee_reference: c.declaration.guarantee.reference.as_str().to_string(),
        };
        plan.then(
            kind::CONSIGNMENT_COMPLETED,
            &s.sign(payload_type::COMPLETION, encode_completion(&m)),
            Effect::Completed,
        )
    }
}

/// The next node's receipt for consignment `c`, which exited here; `None` when it is no
/// longer waiting for one (recorded already).
pub(crate) fn plan_handover(c: &Consignment, r: Receipt) -> Option<Plan> {
    (c.state == S::Exited).then(|| {
        Plan::new(
            kind::ADVANCE_ACKNOWLEDGED,
            &r.envelope,
            Effect::HandedOver { by: r.by },
        )
    })
}

/// What is wrong with the seals found at arrival against those expected: broken, missing
/// or unknown seals.
pub(crate) fn seal_problems(expected: &[SealCheck], found: &[SealCheck]) -> Vec<String> {
    let mut out = Vec::new();
    for f in found {
        let known = expected
            .iter()
            .any(|e| e.container_number == f.container_number && e.seal_number == f.seal_number);
        if !known {
            out.push(format!(
                "seal {} on {} is not on the record",
                f.seal_number, f.container_number
            ));
        } else if !f.intact {
            out.push(format!(
                "seal {} on {} is broken",
                f.seal_number, f.container_number
            ));
        }
    }
    for e in expected {
        if !found
            .iter()
            .any(|f| e.container_number == f.container_number && e.seal_number == f.seal_number)
        {
            out.push(format!(
                "seal {} on {} was not checked",
                e.seal_number, e.container_number
            ));
        }
    }
    out
}
