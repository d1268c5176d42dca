//! Per-node risk profiles and the corridor clearance target, as the topology states them.
//! The engine that applies a profile lives in `corridor-customs`; this is the data.

use serde::{Deserialize, Serialize};

use crate::{Error, invalid};

/// Shares (0 to 1) of consignments a node aims to send to each lane other than green; green
/// takes the rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneRates {
    /// Release with post-clearance audit.
    pub blue: f64,
    /// Document check.
    pub yellow: f64,
    /// Physical inspection.
    pub red: f64,
}

impl LaneRates {
    fn check(&self, field: &str) -> Result<(), Error> {
        for (name, v) in [
            ("blue", self.blue),
            ("yellow", self.yellow),
            ("red", self.red),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(invalid(
                    format!("{field}.{name}"),
                    format!("a rate is between 0 and 1, got {v}"),
                ));
            }
        }
        if self.blue + self.yellow + self.red > 1.0 + 1e-9 {
            return Err(invalid(field, "blue + yellow + red is more than 1"));
        }
        Ok(())
    }
}

/// A declared value below which goods of an HS heading are suspicious (undervaluation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueFloor {
    /// HS code prefix (2 to 10 digits), e.g. "8471".
    pub hs_prefix: String,
    /// ISO 4217 currency of the floor; items in another currency are not compared.
    pub currency: String,
    /// Least plausible value per kilogram of net weight, in minor units of `currency`.
    pub min_minor_per_kg: u64,
}

/// How a customs node assesses consignments into lanes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskProfile {
    /// Seed of the deterministic draw (same seed and consignment, same lane); empty means
    /// the country code.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub seed: String,
    /// Target rates for operators without recognised AEO status.
    pub rates: LaneRates,
    /// Target rates for recognised AEOs (own certificate, or a partner's under an MRA in
    /// force).
    pub aeo_rates: LaneRates,
    /// Share of every consignment, AEOs included, sent at least to a document check at
    /// random, whatever the rates say.
    pub min_random_rate: f64,
    /// HS code prefixes that always go red, even for an AEO: arms (chapter 93) and listed
    /// restricted chemicals.
    pub red_hs_prefixes: Vec<String>,
    /// Value floors: an item declared below one goes at least to a document check.
    pub value_floors: Vec<ValueFloor>,
    /// Duties and taxes at risk, as a share of the customs value: the transit guarantee must
    /// cover at least this much.
    pub guarantee_share: f64,
}

impl Default for RiskProfile {
    fn default() -> Self {
        Self {
            seed: String::new(),
            rates: LaneRates {
                blue: 0.20,
                yellow: 0.25,
                red: 0.10,
            },
            aeo_rates: LaneRates {
                blue: 0.10,
                yellow: 0.03,
                red: 0.01,
            },
            min_random_rate: 0.01,
            // Chapter 93: arms and ammunition. 2812: halides of non-metals (phosgene,
            // phosphorus trichloride). 2931: organo-phosphorus compounds (nerve agent
            // precursors). 3601-3603: propellants, explosives, detonators.
            red_hs_prefixes: ["93", "2812", "2931", "3601", "3602", "3603"]
                .map(String::from)
                .to_vec(),
            value_floors: vec![
                ValueFloor {
                    hs_prefix: "8471".into(),
                    currency: "USD".into(),
                    min_minor_per_kg: 2_000,
                },
                ValueFloor {
                    hs_prefix: "8507".into(),
                    currency: "USD".into(),
                    min_minor_per_kg: 500,
                },
            ],
            guarantee_share: 0.2,
        }
    }
}

impl RiskProfile {
    /// A profile that sends everything green except the HS rules: every rate and the random
    /// rate at zero (used by the corridor benchmark).
    pub fn all_green() -> Self {
        let zero = LaneRates {
            blue: 0.0,
            yellow: 0.0,
            red: 0.0,
        };
        Self {
            rates: zero,
            aeo_rates: zero,
            min_random_rate: 0.0,
            ..Self::default()
        }
    }

    pub(crate) fn check(&self, field: &str) -> Result<(), Error> {
        self.rates.check(&format!("{field}.rates"))?;
        self.aeo_rates.check(&format!("{field}.aeo_rates"))?;
        let r = self.min_random_rate;
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            return Err(invalid(
                format!("{field}.min_random_rate"),
                format!("a rate is between 0 and 1, got {r}"),
            ));
        }
        let g = self.guarantee_share;
        if !(g.is_finite() && (0.0..=1.0).contains(&g)) {
            return Err(invalid(
                format!("{field}.guarantee_share"),
                format!("a share is between 0 and 1, got {g}"),
            ));
        }
        let digits = |s: &str| (2..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        for (i, p) in self.red_hs_prefixes.iter().enumerate() {
            if !digits(p) {
                return Err(invalid(
                    format!("{field}.red_hs_prefixes[{i}]"),
                    format!("expected 2 to 10 digits, got {p:?}"),
                ));
            }
        }
        for (i, f) in self.value_floors.iter().enumerate() {
            if !digits(&f.hs_prefix) {
                return Err(invalid(
                    format!("{field}.value_floors[{i}].hs_prefix"),
                    format!("expected 2 to 10 digits, got {:?}", f.hs_prefix),
                ));
            }
            corridor_core::Currency::parse(
                &format!("{field}.value_floors[{i}].currency"),
                &f.currency,
            )
            .map_err(|e| invalid(e.field, e.reason))?;
        }
        Ok(())
    }
}

/// The corridor clearance target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClearanceTarget {
    /// Corridor clearance time allowed, in hours (the sum of border dwell times).
    pub target_hours: f64,
    /// Share of the target past which a consignment is flagged (0 to 1).
    pub warning_share: f64,
}

impl Default for ClearanceTarget {
    fn default() -> Self {
        Self {
            target_hours: 72.0,
            warning_share: 0.8,
        }
    }
}

impl ClearanceTarget {
    /// The target in microseconds.
    pub fn target_micros(&self) -> i64 {
        (self.target_hours * 3_600_000_000.0) as i64
    }

    /// The warning threshold in microseconds.
    pub fn warning_micros(&self) -> i64 {
        (self.target_hours * self.warning_share * 3_600_000_000.0) as i64
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if !(self.target_hours.is_finite() && self.target_hours > 0.0) {
            return Err(invalid("clearance.target_hours", "must be more than zero"));
        }
        if !(self.warning_share.is_finite() && (0.0..=1.0).contains(&self.warning_share)) {
            return Err(invalid(
                "clearance.warning_share",
                "must be between 0 and 1",
            ));
        }
        Ok(())
    }
}
