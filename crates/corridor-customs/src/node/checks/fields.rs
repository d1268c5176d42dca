//! Fields against the corridor: a declaration's route (its countries and border posts) and
//! guarantee, and the border post a border event names.

use corridor_core::document::Declaration;
use corridor_core::{CountryCode, UnLocode};
use corridor_topology::{Crossing, Post};

use super::{Corridor, Rules, invalid};
use crate::error::Error;

impl Corridor {
    /// Checks that `post`, named at `field`, is a border post of `country` where goods cross
    /// `way` (any of its posts for `None`); the refusal names the posts that are.
    pub(super) fn check_post(
        &self,
        field: &str,
        country: &CountryCode,
        way: Option<Crossing>,
        post: &UnLocode,
    ) -> Result<(), Error> {
        let allowed: Vec<&Post> = self
            .posts
            .get(country)
            .into_iter()
            .flatten()
            .filter(|p| way.is_none_or(|w| p.crosses(w)))
            .collect();
        if allowed.iter().any(|p| p.locode == *post) {
            return Ok(());
        }
        let (a, kind) = match way {
            Some(w) => ("an", format!("{w} ")),
            None => ("a", String::new()),
        };
        let listed = if allowed.is_empty() {
            format!("{country} has no {kind}border posts")
        } else {
            let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            format!("its {kind}posts are {}", names.join(", "))
        };
        Err(invalid(
            field,
            format!("{post} is not {a} {kind}border post of {country}; {listed}"),
        ))
    }
}

impl Rules {
    /// Checks that the route follows the topology from this node on: consecutive steps are
    /// consecutive corridor countries, one of them is this node's, and each step's entry
    /// post is an entry post of its country, its exit post an exit post.
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
            for (name, way, post) in [
                (
                    "entry_border_post",
                    Crossing::Entry,
                    &step.entry_border_post,
                ),
                ("exit_border_post", Crossing::Exit, &step.exit_border_post),
            ] {
                if let Some(post) = post {
                    self.corridor.check_post(
                        &format!("declaration.route[{i}].{name}"),
                        &step.country,
                        Some(way),
                        post,
                    )?;
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
