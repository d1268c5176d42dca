//! A declaration's fields against the corridor: its route and its guarantee.

use corridor_core::CountryCode;
use corridor_core::document::Declaration;

use super::{Rules, invalid};
use crate::error::Error;

impl Rules {
    /// Checks that the route follows the topology from this node on: consecutive steps are
    /// consecutive corridor countries, and one of them is this node's.
    pub(super) fn check_route(&self, d: &Declaration) -> Result<(), Error> {
        let route = &self.corridor.route;
        let pos = |c: &CountryCode| route.iter().position(|r| r == c);
        for (i, step) in d.route.iter().enumerate() {
            let Some(p) = pos(&step.country) else {
                return Err(invalid(
                    &format!("declaration.route[{i}].country"),
                    format!("{} is not a country of this corridor", step.country),
                ));
            };
            if i > 0 {
                let prev = &d.route[i - 1].country;
                if pos(prev).map(|q| q + 1) != Some(p) {
                    return Err(invalid(
                        &format!("declaration.route[{i}].country"),
                        format!("the corridor does not go from {prev} to {}", step.country),
                    ));
                }
            }
        }
        if d.step(&self.country).is_none() {
            return Err(invalid(
                "declaration.route",
                format!("the route does not cross {}", self.country),
            ));
        }
        Ok(())
    }

    /// Checks that the guarantee covers the duties and taxes at risk.
    pub(super) fn check_guarantee(&self, d: &Declaration) -> Result<(), Error> {
        let g = &d.guarantee;
        let mut value: u128 = 0;
        for (i, item) in d.items.iter().enumerate() {
            if item.customs_value.currency() != g.amount.currency() {
                return Err(invalid(
                    &format!("declaration.items[{i}].customs_value.currency"),
                    format!(
                        "the guarantee is in {}, the item in {}",
                        g.amount.currency().as_str(),
                        item.customs_value.currency().as_str()
                    ),
                ));
            }
            value += u128::from(item.customs_value.minor_units());
        }
        let share = self.risk.guarantee_share;
        let needed = (value as f64 * share).ceil() as u128;
        if u128::from(g.amount.minor_units()) < needed {
            return Err(invalid(
                "declaration.guarantee.amount.amount_minor",
                format!(
                    "{} does not cover the duties and taxes at risk: {} ({:.0} % of the customs value {})",
                    g.amount.minor_units(),
                    needed,
                    share * 100.0,
                    value
                ),
            ));
        }
        Ok(())
    }
}
