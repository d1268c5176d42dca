//! A consignment as one node sees it, and what each recorded step does to it. The same
//! `Consignment::apply` runs when a step is recorded and when the node rebuilds its state
//! from its ledger on start, so the two cannot disagree.

use std::collections::HashMap;

use corridor_core::document::{
    Assessment, BorderEvent, ClearanceStatus, ConsignmentEvent, ConsignmentState as S,
    CountryClearance, Declaration, Lane, OfficerDecision, Outcome, SealCheck,
};
use corridor_core::{CountryCode, Digest, Envelope, UnLocode};

/// Ledger entry kinds a customs node records, in the order a consignment meets them.
pub mod kind {
    /// The bill of lading presented with a declaration (first node).
    pub const BILL_PRESENTED: &str = "bill.presented";
    /// One entry of the bill's transfer chain (first node).
    pub const BILL_TRANSFER: &str = "bill.transfer";
    /// The bill's platform of record's statement that the chain presented is current
    /// (signed by the declarant).
    pub const BILL_CHAIN_HEAD: &str = "bill.chain-head";
    /// The declaration accepted (first node).
    pub const DECLARATION_ACCEPTED: &str = "declaration.accepted";
    /// The previous node's advance record received (other nodes).
    pub const ADVANCE_RECEIVED: &str = "advance.received";
    /// The pre-arrival risk assessment.
    pub const RISK_ASSESSED: &str = "risk.assessed";
    /// Arrival at the border, signed by an officer.
    pub const BORDER_ARRIVAL: &str = "border.arrival";
    /// Re-assessment after the arrival found something.
    pub const RISK_REASSESSED: &str = "risk.reassessed";
    /// Automatic release of a green or blue consignment.
    pub const RELEASE_AUTOMATIC: &str = "release.automatic";
    /// An officer's release, hold or refusal.
    pub const OFFICER_DECISION: &str = "officer.decision";
    /// Exit from the country, signed by an officer; writes the outbox row.
    pub const BORDER_EXIT: &str = "border.exit";
    /// The next node's receipt for the advance record; removes the outbox row.
    pub const ADVANCE_ACKNOWLEDGED: &str = "advance.acknowledged";
    /// Import clearance at the last country; the guarantee is discharged.
    pub const CONSIGNMENT_COMPLETED: &str = "consignment.completed";
    /// The declarant withdrew the declaration before arrival at the first border.
    pub const DECLARATION_CANCELLED: &str = "declaration.cancelled";
}

/// What a consignment is created from: the declaration accepted at the first node, or the
/// previous node's advance record.
#[derive(Clone, Debug)]
pub(crate) struct Opened {
    pub(crate) declaration_envelope: Envelope,
    pub(crate) declaration: Declaration,
    pub(crate) seals: Vec<SealCheck>,
    pub(crate) carried: Vec<CountryClearance>,
    pub(crate) aeo_at_origin: Option<bool>,
}

/// What a recorded step does.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    /// Recorded for the audit trail; changes nothing (transfer entries).
    Nothing,
    /// The bill of lading presented (its document id): the seals the goods travel under.
    Bill {
        /// The bill's document id.
        bill: Digest,
        /// Its seals, as the bill lists them.
        seals: Vec<SealCheck>,
    },
    /// A consignment starts here.
    Opened(Box<Opened>),
    /// An assessment (pre-arrival, or re-assessment).
    Assessed(Assessment),
    /// Arrival at the border.
    Arrived(BorderEvent),
    /// Automatic release.
    Released,
    /// An officer's decision.
    Decided(OfficerDecision),
    /// Exit from the country, at this border post.
    Exited(UnLocode),
    /// The next node acknowledged.
    HandedOver {
        /// The next node's country.
        by: CountryCode,
    },
    /// Import clearance done.
    Completed,
    /// The declaration withdrawn, with the declarant's reason.
    Cancelled(String),
    /// The consignment was opened by this entry (what `Opened` leaves once applied).
    Started,
}

/// Where the entry that recorded a step is.
#[derive(Clone, Debug)]
pub(crate) struct At {
    pub(crate) seq: u64,
    pub(crate) hash: Digest,
    pub(crate) time: i64,
    pub(crate) kind: String,
    pub(crate) envelope_id: Digest,
}

/// Where an entry is in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryRef {
    pub(crate) seq: u64,
    pub(crate) hash: Digest,
}

/// The exit entry of a consignment: what the advance record links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExitEntry {
    pub(crate) entry: EntryRef,
    /// When it was recorded.
    pub(crate) at: i64,
}

impl At {
    /// The entry, without its time and kind.
    pub(crate) fn entry(&self) -> EntryRef {
        EntryRef {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// One consignment at this node.
#[derive(Clone, Debug)]
pub(crate) struct Consignment {
    pub(crate) id: Digest,
    pub(crate) country: CountryCode,
    pub(crate) declaration_envelope: Envelope,
    pub(crate) declaration: Declaration,
    /// Envelope id of the entry that opened the consignment here (declaration or advance
    /// record): the same envelope again is the same step.
    pub(crate) opened_by: Digest,
    pub(crate) seals: Vec<SealCheck>,
    pub(crate) next: Option<CountryCode>,
    pub(crate) carried: Vec<CountryClearance>,
    pub(crate) aeo_at_origin: bool,
    pub(crate) state: S,
    /// The lane, once assessed.
    pub(crate) lane: Option<Lane>,
    pub(crate) reasons: Vec<String>,
    pub(crate) aeo: bool,
    pub(crate) aeo_basis: String,
    pub(crate) arrived_at: i64,
    pub(crate) released_at: i64,
    /// The exit entry, once recorded.
    pub(crate) exit: Option<ExitEntry>,
    pub(crate) events: Vec<ConsignmentEvent>,
    /// Every envelope recorded for this consignment, by envelope id: its entry.
    pub(crate) recorded: HashMap<Digest, EntryRef>,
}

impl Consignment {
    /// A consignment opened by the entry at `at`.
    pub(crate) fn open(id: Digest, country: CountryCode, o: Opened, at: &At) -> Self {
        let next = o.declaration.next_step(&country).map(|s| s.country.clone());
        Self {
            id,
            country,
            declaration_envelope: o.declaration_envelope,
            declaration: o.declaration,
            opened_by: at.envelope_id,
            seals: o.seals,
            next,
            carried: o.carried,
            aeo_at_origin: o.aeo_at_origin.unwrap_or(false),
            state: S::AwaitingArrival,
            lane: None,
            reasons: Vec::new(),
            aeo: false,
            aeo_basis: String::new(),
            arrived_at: 0,
            released_at: 0,
            exit: None,
            events: Vec::new(),
            recorded: HashMap::new(),
        }
    }

    /// Whether this node is the last of the route (import clearance).
    pub(crate) fn is_last(&self) -> bool {
        self.next.is_none()
    }

    /// Whether this node is the first of the route (export).
    pub(crate) fn is_first(&self) -> bool {
        self.declaration.route[0].country == self.country
    }

    /// Whether the consignment has left this node for good.
    pub(crate) fn is_done_here(&self) -> bool {
        matches!(
            self.state,
            S::HandedOver | S::Completed | S::Refused | S::Cancelled
        )
    }

    /// Corridor clearance time before this country.
    pub(crate) fn carried_micros(&self) -> i64 {
        self.carried.iter().map(|c| c.dwell_micros).sum()
    }

    /// This country's dwell: release minus arrival, or arrival until `now` while at the
    /// border, or nothing before arrival.
    pub(crate) fn dwell_micros(&self, now: i64) -> i64 {
        match (self.arrived_at, self.released_at) {
            (0, _) => 0,
            (a, 0) if matches!(self.state, S::AwaitingOfficer | S::Held) => (now - a).max(0),
            (_, 0) => 0,
            (a, r) => (r - a).max(0),
        }
    }

    /// Corridor clearance time up to `now`.
    pub(crate) fn clearance_micros(&self, now: i64) -> i64 {
        self.carried_micros() + self.dwell_micros(now)
    }

    /// Every country's dwell, this one included once released.
    pub(crate) fn clearances(&self) -> Vec<CountryClearance> {
        let mut out = self.carried.clone();
        // Released: assessed before (an assessment is recorded with every opening).
        if let (true, Some(lane)) = (self.released_at != 0, self.lane) {
            out.push(CountryClearance {
                country: self.country.clone(),
                lane,
                dwell_micros: self.dwell_micros(self.released_at),
            });
        }
        out
    }

    /// The lane's name, `unassessed` before the assessment.
    fn lane_name(&self) -> &'static str {
        self.lane.map_or("unassessed", Lane::name)
    }

    fn release(&mut self, t: i64) {
        self.released_at = t;
        self.state = S::Released;
    }

    /// Applies a recorded step; returns the event it adds.
    pub(crate) fn apply(&mut self, effect: &Effect, at: &At) -> ConsignmentEvent {
        let detail = match effect {
            Effect::Nothing if at.kind == kind::BILL_CHAIN_HEAD => {
                "the bill's platform of record stated its chain head".to_string()
            }
            Effect::Nothing => "bill transfer entry presented".to_string(),
            Effect::Bill { seals, .. } => {
                self.seals = seals.clone();
                format!("bill of lading presented; {} seals", seals.len())
            }
            Effect::Opened(_) | Effect::Started => {
                if self.is_first() {
                    format!(
                        "declaration {} accepted",
                        self.declaration.declaration_reference.as_str()
                    )
                } else {
                    format!(
                        "advance record received; {:.1} h of corridor clearance so far",
                        self.carried_micros() as f64 / 3.6e9
                    )
                }
            }
            Effect::Assessed(a) => {
                self.lane = Some(a.lane);
                self.reasons.extend(a.reasons.iter().cloned());
                if a.reassessment {
                    self.state = S::AwaitingOfficer;
                } else {
                    self.aeo = a.aeo_recognised;
                    self.aeo_basis = a.aeo_basis.clone();
                    if self.is_first() {
                        self.aeo_at_origin = a.aeo_recognised;
                    }
                }
                format!(
                    "{} {}: {}",
                    if a.reassessment {
                        "re-assessed"
                    } else {
                        "assessed"
                    },
                    a.lane.name(),
                    a.reasons.join("; ")
                )
            }
            Effect::Arrived(e) => {
                self.arrived_at = at.time;
                // Green and blue: the release entry follows in the same atomic batch.
                if matches!(self.lane, Some(Lane::Yellow | Lane::Red)) {
                    self.state = S::AwaitingOfficer;
                }
                let broken: Vec<String> = e
                    .seals
                    .iter()
                    .filter(|s| !s.intact)
                    .map(|s| format!("{} on {}", s.seal_number, s.container_number))
                    .collect();
                for s in &mut self.seals {
                    if e.seals.iter().any(|f| {
                        !f.intact
                            && f.seal_number == s.seal_number
                            && f.container_number == s.container_number
                    }) {
                        s.intact = false;
                    }
                }
                let declared = self
                    .declaration
                    .step(&self.country)
                    .and_then(|s| s.entry_border_post.as_ref());
                let post = post(&e.border_post, declared);
                if broken.is_empty() {
                    format!("arrived at {post}; seals intact")
                } else {
                    format!("arrived at {post}; seals broken: {}", broken.join(", "))
                }
            }
            Effect::Released => {
                self.release(at.time);
                format!("released ({} lane)", self.lane_name())
            }
            Effect::Decided(d) => match d.outcome {
                Outcome::Release => {
                    self.release(at.time);
                    if !d.findings.is_empty() {
                        self.reasons.push(format!("officer: {}", d.findings));
                    }
                    "released by an officer".to_string()
                }
                Outcome::Hold => {
                    self.state = S::Held;
                    self.reasons.push(format!("held: {}", d.findings));
                    format!("held: {}", d.findings)
                }
                Outcome::Refuse => {
                    self.state = S::Refused;
                    self.reasons.push(format!("refused: {}", d.findings));
                    format!("refused: {}", d.findings)
                }
            },
            Effect::Exited(at_post) => {
                self.state = S::Exited;
                self.exit = Some(ExitEntry {
                    entry: at.entry(),
                    at: at.time,
                });
                let declared = self
                    .declaration
                    .step(&self.country)
                    .and_then(|s| s.exit_border_post.as_ref());
                format!(
                    "exited at {} towards {}",
                    post(at_post, declared),
                    self.next.as_ref().map_or("nowhere", |c| c.as_str())
                )
            }
            Effect::HandedOver { by } => {
                self.state = S::HandedOver;
                format!("{by} acknowledged the advance record")
            }
            Effect::Cancelled(reason) => {
                self.state = S::Cancelled;
                self.reasons.push(format!("cancelled: {reason}"));
                format!("cancelled by the declarant: {reason}")
            }
            Effect::Completed => {
                self.state = S::Completed;
                format!(
                    "import clearance done; guarantee {} discharged; corridor clearance {:.1} h",
                    self.declaration.guarantee.reference.as_str(),
                    self.clearance_micros(at.time) as f64 / 3.6e9
                )
            }
        };
        self.recorded.insert(at.envelope_id, at.entry());
        let event = ConsignmentEvent {
            country: self.country.clone(),
            seq: at.seq,
            entry_hash: at.hash,
            kind: at.kind.clone(),
            recorded_at_unix_micros: at.time,
            state: self.state,
            lane: self.lane,
            detail,
        };
        self.events.push(event.clone());
        event
    }
}

/// Where a corridor clearance time stands against the target: flagged past the warning
/// share, breached past the target.
pub(crate) fn clearance_status(
    clearance_micros: i64,
    target: &corridor_topology::ClearanceTarget,
) -> ClearanceStatus {
    if clearance_micros > target.target_micros() {
        ClearanceStatus::Breached
    } else if clearance_micros > target.warning_micros() {
        ClearanceStatus::Flagged
    } else {
        ClearanceStatus::OnTrack
    }
}

/// The border post an event was recorded at, and the one declared for it if that was
/// another (a diversion): `KZKUR (declared KZAAU)`.
fn post(at: &UnLocode, declared: Option<&UnLocode>) -> String {
    match declared {
        Some(d) if d != at => format!("{at} (declared {d})"),
        _ => at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::BorderEventKind;
    use corridor_core::document::examples::sample_declaration;
    use corridor_core::{SigningKey, payload_type};

    const HOUR: i64 = 3_600_000_000;

    fn at(seq: u64, time: i64, kind: &str) -> At {
        At {
            seq,
            hash: Digest::of(&seq.to_be_bytes()),
            time,
            kind: kind.into(),
            envelope_id: Digest::of(kind.as_bytes()),
        }
    }

    /// A consignment at KZ that arrived with `carried` hours of clearance from CN.
    fn at_kz(carried: i64) -> Consignment {
        let d = sample_declaration(Digest::of(b"bill"));
        let kz = CountryCode::parse("c", "KZ").unwrap();
        let o = Opened {
            declaration_envelope: Envelope::sign(
                payload_type::DECLARATION,
                Vec::new(),
                &SigningKey::from_seed(&[1; 32]),
            ),
            declaration: d,
            seals: Vec::new(),
            carried: vec![CountryClearance {
                country: CountryCode::parse("c", "CN").unwrap(),
                lane: Lane::Yellow,
                dwell_micros: carried * HOUR,
            }],
            aeo_at_origin: Some(false),
        };
        let mut c = Consignment::open(
            Digest::of(b"c"),
            kz.clone(),
            o,
            &at(0, 0, kind::ADVANCE_RECEIVED),
        );
        c.apply(&Effect::Started, &at(0, 0, kind::ADVANCE_RECEIVED));
        let assessment = Assessment {
            consignment_id: Digest::of(b"c"),
            country: kz,
            lane: Lane::Red,
            reasons: Vec::new(),
            aeo_recognised: false,
            aeo_basis: String::new(),
            reassessment: false,
            draw_ppm: 0,
            assessed_at_unix_micros: 0,
        };
        c.apply(
            &Effect::Assessed(assessment),
            &at(1, 0, kind::RISK_ASSESSED),
        );
        c
    }

    fn arrival() -> BorderEvent {
        BorderEvent {
            consignment_id: Digest::of(b"c"),
            country: CountryCode::parse("c", "KZ").unwrap(),
            kind: BorderEventKind::Arrival,
            border_post: corridor_core::UnLocode::parse("p", "KZKGS").unwrap(),
            seals: Vec::new(),
            at_unix_micros: 1,
        }
    }

    #[test]
    fn dwell_counts_from_arrival_to_release_and_carries_the_earlier_countries() {
        let mut c = at_kz(30);
        assert_eq!(c.clearance_micros(100 * HOUR), 30 * HOUR, "before arrival");
        c.apply(
            &Effect::Arrived(arrival()),
            &at(2, 10 * HOUR, kind::BORDER_ARRIVAL),
        );
        assert_eq!(c.state, S::AwaitingOfficer);
        // Waiting for an officer counts until now.
        assert_eq!(c.clearance_micros(25 * HOUR), 45 * HOUR);
        let release = OfficerDecision {
            consignment_id: Digest::of(b"c"),
            country: CountryCode::parse("c", "KZ").unwrap(),
            outcome: Outcome::Release,
            findings: String::new(),
            at_unix_micros: 22 * HOUR,
        };
        c.apply(
            &Effect::Decided(release),
            &at(3, 22 * HOUR, kind::OFFICER_DECISION),
        );
        assert_eq!(c.state, S::Released);
        // Released: the transport leg after it does not count.
        assert_eq!(c.clearance_micros(500 * HOUR), 42 * HOUR);
        let dwell: Vec<i64> = c
            .clearances()
            .iter()
            .map(|x| x.dwell_micros / HOUR)
            .collect();
        assert_eq!(dwell, [30, 12]);
    }

    #[test]
    fn border_events_say_where_and_a_diversion_names_the_declared_post() {
        let locode = |s: &str| corridor_core::UnLocode::parse("p", s).unwrap();
        let mut c = at_kz(0);
        let e = c.apply(
            &Effect::Arrived(arrival()),
            &at(2, HOUR, kind::BORDER_ARRIVAL),
        );
        assert_eq!(e.detail, "arrived at KZKGS; seals intact");
        c.apply(&Effect::Released, &at(3, 2 * HOUR, kind::RELEASE_AUTOMATIC));
        let e = c.apply(
            &Effect::Exited(locode("KZKUR")),
            &at(4, 3 * HOUR, kind::BORDER_EXIT),
        );
        assert_eq!(e.detail, "exited at KZKUR (declared KZAAU) towards AZ");
    }

    #[test]
    fn past_the_warning_share_is_flagged_and_past_the_target_breached() {
        let t = corridor_topology::ClearanceTarget::default();
        assert_eq!(clearance_status(57 * HOUR, &t), ClearanceStatus::OnTrack);
        assert_eq!(clearance_status(58 * HOUR, &t), ClearanceStatus::Flagged);
        assert_eq!(clearance_status(72 * HOUR, &t), ClearanceStatus::Flagged);
        assert_eq!(
            clearance_status(72 * HOUR + 1, &t),
            ClearanceStatus::Breached
        );
        let mut c = at_kz(50);
        c.apply(
            &Effect::Arrived(arrival()),
            &at(2, HOUR, kind::BORDER_ARRIVAL),
        );
        assert_eq!(
            clearance_status(c.clearance_micros(11 * HOUR), &t),
            ClearanceStatus::Flagged
        );
        assert_eq!(
            clearance_status(c.clearance_micros(24 * HOUR), &t),
            ClearanceStatus::Breached
        );
    }
}
