//! Risk assessment into lanes (ASYCUDA selectivity): rules first (HS codes always inspected,
//! undervalued goods), then the node's target rates applied to a deterministic draw, then a
//! minimum random rate that spares no one. The same profile, consignment and recognition
//! always give the same lane.
//!
//! In order: HS prefixes always inspected (red), value floors (at least yellow), then the
//! node's lane rates for AEOs or others (an arrangement's benefits scale an AEO's
//! document-check and inspection rates) applied to a draw from sha256 of the node's seed,
//! the declarant and its reference (not the consignment id, which changes with the
//! declaration's time: a scenario run again draws the same lanes), then a minimum random
//! rate of document checks.

use corridor_core::aeo::document::ArrangementBenefits;
use corridor_core::document::{Declaration, Lane};
use corridor_core::{CountryCode, Digest};
use corridor_topology::{LaneRates, RiskProfile};

/// Whether the holder is recognised as an AEO, and on what terms.
#[derive(Clone, Debug, Default)]
pub struct AeoStatus {
    /// Recognised in the assessing country at assessment time.
    pub recognised: bool,
    /// Why or why not, for people and the record.
    pub basis: String,
    /// The benefits granted (an arrangement's, or full rates for an own certificate).
    pub benefits: Option<ArrangementBenefits>,
}

/// The outcome of an assessment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessed {
    /// The lane.
    pub lane: Lane,
    /// Every reason that contributed, in the order they were found.
    pub reasons: Vec<String>,
    /// The draw the rates were applied to, in millionths.
    pub draw_ppm: u32,
}

/// Two uniform draws in [0, 1) for a declaration, from the profile's seed. The key is the
/// declarant and its own reference (unique per declarant, as an NCTS local reference
/// number is), not the consignment id: the same declaration made again at another time
/// draws the same lane.
fn draws(seed: &str, declaration: &Declaration) -> (f64, f64) {
    let d = Digest::of_parts(&[
        b"corridor/risk/v1\n",
        seed.as_bytes(),
        b"\n",
        declaration.declarant_operator_id.as_str().as_bytes(),
        b"\n",
        declaration.declaration_reference.as_str().as_bytes(),
    ]);
    let b = d.as_bytes();
    let u = |s: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        // 53 bits: exactly representable in an f64.
        (u64::from_be_bytes(a) >> 11) as f64 / (1u64 << 53) as f64
    };
    (u(&b[0..8]), u(&b[8..16]))
}

/// Assesses `declaration` at `country` for a holder with `aeo` status.
pub fn assess(
    profile: &RiskProfile,
    country: &CountryCode,
    declaration: &Declaration,
    aeo: &AeoStatus,
) -> Assessed {
    let seed = if profile.seed.is_empty() {
        country.as_str()
    } else {
        profile.seed.as_str()
    };
    let (u, random) = draws(seed, declaration);
    let mut lane = Lane::Green;
    let mut reasons = Vec::new();
    let mut raise = |to: Lane, why: String, lane: &mut Lane| {
        if to > *lane {
            *lane = to;
        }
        reasons.push(why);
    };

    for (i, item) in declaration.items.iter().enumerate() {
        let hs = item.hs_code.as_str();
        if let Some(p) = profile
            .red_hs_prefixes
            .iter()
            .find(|p| hs.starts_with(p.as_str()))
        {
            raise(
                Lane::Red,
                format!(
                    "hs-rule: item {} HS {hs} is under {p}, always inspected",
                    i + 1
                ),
                &mut lane,
            );
        }
        let value = item.customs_value.minor_units() as u128;
        let net = item.net_weight_grams.get() as u128;
        for f in &profile.value_floors {
            if hs.starts_with(f.hs_prefix.as_str())
                && item.customs_value.currency().as_str() == f.currency
                && value * 1000 < f.min_minor_per_kg as u128 * net
            {
                raise(
                    Lane::Yellow,
                    format!(
                        "value: item {} declared at {} {} per kg, below the floor of {} for HS {}",
                        i + 1,
                        value * 1000 / net,
                        f.currency,
                        f.min_minor_per_kg,
                        f.hs_prefix
                    ),
                    &mut lane,
                );
            }
        }
    }

    let rates = if aeo.recognised {
        let mut r = profile.aeo_rates;
        if let Some(b) = &aeo.benefits {
            r.yellow *= f64::from(b.document_check_rate_percent()) / 100.0;
            r.red *= f64::from(b.inspection_rate_percent()) / 100.0;
        }
        r
    } else {
        profile.rates
    };
    let who = if aeo.recognised {
        "AEO rates"
    } else {
        "standard rates"
    };
    let LaneRates { blue, yellow, red } = rates;
    let (by_rate, what) = if u < red {
        (Lane::Red, format!("under the red rate {red:.3}"))
    } else if u < red + yellow {
        (Lane::Yellow, format!("under the yellow rate {yellow:.3}"))
    } else if u < red + yellow + blue {
        (Lane::Blue, format!("under the blue rate {blue:.3}"))
    } else {
        (Lane::Green, "above every control rate".to_string())
    };
    raise(
        by_rate,
        format!("selectivity ({who}): draw {u:.4} {what}"),
        &mut lane,
    );
    if random < profile.min_random_rate {
        raise(
            Lane::Yellow,
            format!(
                "random selection: draw {random:.4} under the minimum rate {:.3}",
                profile.min_random_rate
            ),
            &mut lane,
        );
    }
    if !aeo.basis.is_empty() {
        reasons.push(format!("aeo: {}", aeo.basis));
    }
    Assessed {
        lane,
        reasons,
        draw_ppm: (u * 1_000_000.0) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_core::document::examples::{sample_bill_of_lading, sample_declaration};

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse("c", s).unwrap()
    }

    fn decl() -> Declaration {
        let _ = sample_bill_of_lading();
        sample_declaration(Digest::of(b"bill"))
    }

    /// The sample declaration under reference `n`: another draw.
    fn decl_n(n: u32) -> Declaration {
        let mut parts = decl().into_parts();
        parts.declaration_reference =
            corridor_core::document::Text::parse("r", &format!("R-{n}")).unwrap();
        Declaration::new(parts).unwrap()
    }

    #[test]
    fn same_inputs_same_lane_and_seed_changes_the_draw() {
        let p = RiskProfile::default();
        let d = decl();
        let a = assess(&p, &cc("KZ"), &d, &AeoStatus::default());
        let b = assess(&p, &cc("KZ"), &d, &AeoStatus::default());
        assert_eq!(a, b);
        let other = assess(&p, &cc("AZ"), &d, &AeoStatus::default());
        assert_ne!(a.draw_ppm, other.draw_ppm);
    }

    #[test]
    fn rates_are_met_over_many_consignments_and_aeo_rates_are_lower() {
        let p = RiskProfile::default();
        let aeo = AeoStatus {
            recognised: true,
            basis: "own certificate".into(),
            benefits: None,
        };
        let (mut controlled, mut controlled_aeo) = (0, 0);
        let n = 4000;
        for i in 0..n {
            let d = decl_n(i);
            let l = assess(&p, &cc("KZ"), &d, &AeoStatus::default()).lane;
            if matches!(l, Lane::Yellow | Lane::Red) {
                controlled += 1;
            }
            let l = assess(&p, &cc("KZ"), &d, &aeo).lane;
            if matches!(l, Lane::Yellow | Lane::Red) {
                controlled_aeo += 1;
            }
        }
        // Standard: red + yellow = 0.35 (+ random 0.01 of the rest); AEO: 0.04 + 0.01.
        let share = controlled as f64 / n as f64;
        let share_aeo = controlled_aeo as f64 / n as f64;
        assert!((0.32..0.40).contains(&share), "{share}");
        assert!((0.03..0.07).contains(&share_aeo), "{share_aeo}");
    }

    #[test]
    fn arms_go_red_even_for_an_aeo_and_zero_rates_go_green() {
        let d = decl();
        let mut parts = d.clone().into_parts();
        let mut item = parts.items[0].clone().into_parts();
        item.hs_code = corridor_core::HsCode::parse("hs", "930190").unwrap();
        parts.items[0] = corridor_core::document::DeclaredItem::new(item).unwrap();
        let arms = Declaration::new(parts).unwrap();
        let aeo = AeoStatus {
            recognised: true,
            basis: String::new(),
            benefits: None,
        };
        let p = RiskProfile::all_green();
        let a = assess(&p, &cc("TR"), &arms, &aeo);
        assert_eq!(a.lane, Lane::Red);
        assert!(
            a.reasons[0].starts_with("hs-rule: item 1 HS 930190"),
            "{:?}",
            a.reasons
        );
        for i in 0..200 {
            assert_eq!(assess(&p, &cc("TR"), &decl_n(i), &aeo).lane, Lane::Green);
        }
    }

    #[test]
    fn undervalued_goods_go_to_a_document_check() {
        let d = decl();
        let mut parts = d.into_parts();
        let mut item = parts.items[1].clone().into_parts();
        // Laptops at one dollar a kilogram.
        item.customs_value = corridor_core::Money::parse("v", "USD", 840_000).unwrap();
        parts.items[1] = corridor_core::document::DeclaredItem::new(item).unwrap();
        let cheap = Declaration::new(parts).unwrap();
        let a = assess(
            &RiskProfile::all_green(),
            &cc("KZ"),
            &cheap,
            &AeoStatus::default(),
        );
        assert_eq!(a.lane, Lane::Yellow);
        assert!(
            a.reasons.iter().any(|r| r.starts_with("value: item 2")),
            "{:?}",
            a.reasons
        );
    }
}
