//! The corridor declaration: one submission covering export at the first country, transit
//! through the middle ones and import at the last (after eTIR and NCTS), and its
//! cancellation.

use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Deref;

use crate::codes::{
    ContainerNumber, CountryCode, HsCode, Money, OperatorId, PackageType, UnLocode,
};
use crate::digest::Digest;
use crate::document::ebl::{BillOfLading, check_item_containers};
use crate::document::{Text, TransportMode, UnixMicros, first_duplicate, require_time};
use crate::error::ParseError;

/// What a country does with the consignment on the route.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DeclarationRole {
    /// The goods leave this country: the first step.
    Export,
    /// The goods cross this country under customs control: the middle steps.
    Transit,
    /// The goods are released for free circulation here: the last step.
    Import,
}

impl DeclarationRole {
    /// Upper-case name, as in the proto enum without its prefix: `EXPORT`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Export => "EXPORT",
            Self::Transit => "TRANSIT",
            Self::Import => "IMPORT",
        }
    }
}

/// The active means of transport crossing a border.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TransportMeans {
    /// Mode of transport.
    pub mode: TransportMode,
    /// Train number, vessel name or IMO number, or road vehicle registration.
    pub identification: Text,
    /// Registration country; `None` where there is none (a train, often).
    pub nationality: Option<CountryCode>,
}

/// The parts of a [`RouteStep`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RouteStepParts {
    /// The country.
    pub country: CountryCode,
    /// Export, transit or import.
    pub role: DeclarationRole,
    /// Border post where the goods enter the country: for TRANSIT and IMPORT only.
    pub entry_border_post: Option<UnLocode>,
    /// Border post where the goods leave the country: for EXPORT and TRANSIT only.
    pub exit_border_post: Option<UnLocode>,
    /// Planned arrival at the entry border post (EXPORT: planned presentation to customs).
    pub planned_arrival_unix_micros: UnixMicros,
    /// Means of transport crossing the border: at exit for EXPORT, at entry otherwise.
    pub border_transport_means: TransportMeans,
}

/// One country of a declaration's route, with the border posts its role needs, in that
/// country.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RouteStep(RouteStepParts);

impl RouteStep {
    /// Checks a step: EXPORT has an exit border post and no entry, IMPORT an entry and no
    /// exit, TRANSIT both; border posts lie in the step's country; the arrival is planned.
    pub fn new(parts: RouteStepParts) -> Result<Self, ParseError> {
        let role = parts.role.name();
        let (needs_entry, needs_exit) = match parts.role {
            DeclarationRole::Export => (false, true),
            DeclarationRole::Transit => (true, true),
            DeclarationRole::Import => (true, false),
        };
        for (field, post, needed) in [
            ("entry_border_post", &parts.entry_border_post, needs_entry),
            ("exit_border_post", &parts.exit_border_post, needs_exit),
        ] {
            match post {
                None if needed => {
                    return Err(ParseError::new(field, format!("required for {role}")));
                }
                Some(p) if !needed => {
                    return Err(ParseError::new(
                        field,
                        format!("must be empty for {role}, got {p}"),
                    ));
                }
                Some(p) if p.country() != parts.country => {
                    return Err(ParseError::new(
                        field,
                        format!("border post {p} is not in {}", parts.country),
                    ));
                }
                _ => {}
            }
        }
        require_time(
            "planned_arrival_unix_micros",
            parts.planned_arrival_unix_micros,
        )?;
        Ok(Self(parts))
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> RouteStepParts {
        self.0
    }
}

impl Deref for RouteStep {
    type Target = RouteStepParts;
    fn deref(&self) -> &RouteStepParts {
        &self.0
    }
}

/// The parts of a [`DeclaredItem`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeclaredItemParts {
    /// HS code of the goods.
    pub hs_code: HsCode,
    /// Plain-language description of the goods.
    pub description_of_goods: Text,
    /// Number of outer packages: at least one.
    pub number_of_packages: NonZeroU32,
    /// UN/ECE Rec. 21 package type.
    pub package_type: PackageType,
    /// Gross weight, packaging included, in grams.
    pub gross_weight_grams: NonZeroU64,
    /// Net weight, without any packaging, in grams: not above the gross weight.
    pub net_weight_grams: NonZeroU64,
    /// Customs (statistical) value.
    pub customs_value: Money,
    /// Country of origin of the goods.
    pub origin_country: CountryCode,
    /// Containers carrying the item, none twice; each is on the bill of lading.
    pub container_numbers: Vec<ContainerNumber>,
}

/// One line of goods in a declaration. Its item number is its position in
/// [`DeclarationParts::items`] plus one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeclaredItem(DeclaredItemParts);

impl DeclaredItem {
    /// Checks an item: net weight not above gross, no container twice.
    pub fn new(parts: DeclaredItemParts) -> Result<Self, ParseError> {
        if parts.net_weight_grams > parts.gross_weight_grams {
            return Err(ParseError::new(
                "net_weight_grams",
                format!(
                    "net weight {} g is above gross weight {} g",
                    parts.net_weight_grams, parts.gross_weight_grams
                ),
            ));
        }
        if let Some(j) = first_duplicate(&parts.container_numbers) {
            return Err(ParseError::new(
                format!("container_numbers[{j}]"),
                format!("container {} is listed twice", parts.container_numbers[j]),
            ));
        }
        Ok(Self(parts))
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> DeclaredItemParts {
        self.0
    }
}

impl Deref for DeclaredItem {
    type Target = DeclaredItemParts;
    fn deref(&self) -> &DeclaredItemParts {
        &self.0
    }
}

/// The guarantee covering the duties and taxes at risk during transit.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Guarantee {
    /// TIR carnet number or guarantee reference number (GRN).
    pub reference: Text,
    /// Amount covered; a declaration needs more than zero.
    pub amount: Money,
    /// Who issued the guarantee: a national TIR association or a bank.
    pub guarantor_name: Text,
}

/// The parts of a [`Declaration`], before its checks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeclarationParts {
    /// The declarant's own reference (NCTS local reference number).
    pub declaration_reference: Text,
    /// Document id of the bill of lading: sha256 of its payload bytes.
    pub bill_of_lading_id: Digest,
    /// The declarant, who lodges and signs the declaration.
    pub declarant_operator_id: OperatorId,
    /// The holder of the operation, for whom the declarant acts (may be the declarant).
    pub holder_operator_id: OperatorId,
    /// The countries in order: EXPORT first, IMPORT last, TRANSIT between; none twice.
    pub route: Vec<RouteStep>,
    /// The goods: at least one item.
    pub items: Vec<DeclaredItem>,
    /// Guarantee for the transit.
    pub guarantee: Guarantee,
    /// Time the declaration was made.
    pub created_at_unix_micros: UnixMicros,
}

/// A corridor declaration, checked as a customs system accepts one. Read its parts through
/// `Deref`: `declaration.route[0].country`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Declaration(DeclarationParts);

impl Declaration {
    /// Checks a declaration: made at a time; a route of at least two countries, EXPORT
    /// first, IMPORT last, TRANSIT between, no country twice, arrivals in order; at least
    /// one item; a guarantee of more than zero.
    pub fn new(parts: DeclarationParts) -> Result<Self, ParseError> {
        require_time("created_at_unix_micros", parts.created_at_unix_micros)?;
        let route = &parts.route;
        if route.len() < 2 {
            return Err(ParseError::new(
                "route",
                format!(
                    "a route has at least two countries (export and import), got {}",
                    route.len()
                ),
            ));
        }
        let last = route.len() - 1;
        for (i, step) in route.iter().enumerate() {
            let expected = match i {
                0 => DeclarationRole::Export,
                i if i == last => DeclarationRole::Import,
                _ => DeclarationRole::Transit,
            };
            if step.role != expected {
                let place = match expected {
                    DeclarationRole::Export => "the first step",
                    DeclarationRole::Import => "the last step",
                    DeclarationRole::Transit => "a middle step",
                };
                return Err(ParseError::new(
                    format!("route[{i}].role"),
                    format!("{place} is {}, not {}", expected.name(), step.role.name()),
                ));
            }
        }
        let countries: Vec<&CountryCode> = route.iter().map(|s| &s.country).collect();
        if let Some(i) = first_duplicate(&countries) {
            return Err(ParseError::new(
                format!("route[{i}].country"),
                format!("{} is on the route twice", countries[i]),
            ));
        }
        for (i, pair) in route.windows(2).enumerate() {
            if pair[1].planned_arrival_unix_micros < pair[0].planned_arrival_unix_micros {
                return Err(ParseError::new(
                    format!("route[{}].planned_arrival_unix_micros", i + 1),
                    "planned arrival is before the previous country's",
                ));
            }
        }
        if parts.items.is_empty() {
            return Err(ParseError::new(
                "items",
                "a declaration has at least one item",
            ));
        }
        if parts.guarantee.amount.minor_units() == 0 {
            return Err(ParseError::new(
                "guarantee.amount.amount_minor",
                "a guarantee covers more than zero",
            ));
        }
        Ok(Self(parts))
    }

    /// Checks the declaration against the bill of lading it names: every container of
    /// every item is on the bill; item by item, the same HS subheading, packages, gross
    /// weight and containers as the bill's consignment items; the export country is where the goods are loaded and the
    /// import country where they are delivered. (That `bill_of_lading_id` is the bill's id
    /// is for the caller, who has its bytes.)
    pub fn check_against_bill(&self, bill: &BillOfLading) -> Result<(), ParseError> {
        let known: Vec<&ContainerNumber> =
            bill.equipment.iter().map(|e| &e.container_number).collect();
        for (i, item) in self.0.items.iter().enumerate() {
            check_item_containers(&item.container_numbers, &known)
                .map_err(|e| e.within(&format!("items[{i}]")))?;
        }
        if self.0.items.len() != bill.consignment_items.len() {
            return Err(ParseError::new(
                "items",
                format!(
                    "the bill has {} consignment items, the declaration {}",
                    bill.consignment_items.len(),
                    self.0.items.len()
                ),
            ));
        }
        for (i, (item, on_bill)) in self.0.items.iter().zip(&bill.consignment_items).enumerate() {
            let differs = |field: &str, what: String| {
                Err(ParseError::new(
                    format!("items[{i}].{field}"),
                    format!("{what} (bill item {i})"),
                ))
            };
            if item.hs_code.subheading() != on_bill.hs_code.subheading() {
                return differs(
                    "hs_code",
                    format!(
                        "subheading {} differs from the bill's {}",
                        item.hs_code.subheading(),
                        on_bill.hs_code.subheading()
                    ),
                );
            }
            if item.number_of_packages != on_bill.number_of_packages
                || item.package_type != on_bill.package_type
            {
                return differs(
                    "number_of_packages",
                    format!(
                        "{} x {} differs from the bill's {} x {}",
                        item.number_of_packages,
                        item.package_type.as_str(),
                        on_bill.number_of_packages,
                        on_bill.package_type.as_str()
                    ),
                );
            }
            if item.gross_weight_grams != on_bill.gross_weight_grams {
                return differs(
                    "gross_weight_grams",
                    format!(
                        "{} g differs from the bill's {} g",
                        item.gross_weight_grams, on_bill.gross_weight_grams
                    ),
                );
            }
            let mut a: Vec<&ContainerNumber> = item.container_numbers.iter().collect();
            let mut b: Vec<&ContainerNumber> = on_bill.container_numbers.iter().collect();
            a.sort_by_key(|c| c.as_str());
            b.sort_by_key(|c| c.as_str());
            if a != b {
                return differs(
                    "container_numbers",
                    "the containers differ from the bill's".into(),
                );
            }
        }
        let (first, last) = (&self.0.route[0], &self.0.route[self.0.route.len() - 1]);
        let loading = bill.place_of_loading.country();
        if first.country != loading {
            return Err(ParseError::new(
                "route[0].country",
                format!(
                    "the bill's goods are loaded in {loading}, not {}",
                    first.country
                ),
            ));
        }
        let delivery = bill.delivery_location().country();
        if last.country != delivery {
            return Err(ParseError::new(
                format!("route[{}].country", self.0.route.len() - 1),
                format!(
                    "the bill's goods are delivered in {delivery}, not {}",
                    last.country
                ),
            ));
        }
        Ok(())
    }

    /// The step of `country`, if the route crosses it.
    pub fn step(&self, country: &CountryCode) -> Option<&RouteStep> {
        self.0.route.iter().find(|s| &s.country == country)
    }

    /// The step after `country`'s on the route: where the consignment goes next.
    pub fn next_step(&self, country: &CountryCode) -> Option<&RouteStep> {
        let i = self.0.route.iter().position(|s| &s.country == country)?;
        self.0.route.get(i + 1)
    }

    /// The parts, to change and check again.
    pub fn into_parts(self) -> DeclarationParts {
        self.0
    }
}

impl Deref for Declaration {
    type Target = DeclarationParts;
    fn deref(&self) -> &DeclarationParts {
        &self.0
    }
}

/// Withdrawal of a declaration by its declarant.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeclarationCancellation {
    declaration_id: Digest,
    reason: Text,
    cancelled_at_unix_micros: UnixMicros,
}

impl DeclarationCancellation {
    /// A cancellation of declaration `declaration_id` (sha256 of its payload) for `reason`
    /// at a time that is set.
    pub fn new(
        declaration_id: Digest,
        reason: Text,
        cancelled_at_unix_micros: UnixMicros,
    ) -> Result<Self, ParseError> {
        require_time("cancelled_at_unix_micros", cancelled_at_unix_micros)?;
        Ok(Self {
            declaration_id,
            reason,
            cancelled_at_unix_micros,
        })
    }

    /// Document id of the cancelled declaration.
    pub fn declaration_id(&self) -> &Digest {
        &self.declaration_id
    }

    /// Why the declaration is cancelled.
    pub fn reason(&self) -> &Text {
        &self.reason
    }

    /// Time of cancellation.
    pub fn cancelled_at_unix_micros(&self) -> UnixMicros {
        self.cancelled_at_unix_micros
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::examples::{sample_bill_of_lading, sample_declaration};

    fn parts() -> DeclarationParts {
        sample_declaration(Digest::of(b"bill")).into_parts()
    }

    fn field_of(parts: DeclarationParts) -> String {
        Declaration::new(parts)
            .expect_err("the declaration should be refused")
            .field
    }

    fn country(s: &str) -> CountryCode {
        CountryCode::parse("c", s).expect("valid country")
    }

    fn locode(s: &str) -> UnLocode {
        UnLocode::parse("l", s).expect("valid locode")
    }

    fn step_field(p: RouteStepParts) -> String {
        RouteStep::new(p)
            .expect_err("the step should be refused")
            .field
    }

    #[test]
    fn the_sample_declaration_is_valid_and_fits_the_bill() {
        let d = sample_declaration(Digest::of(b"bill"));
        assert_eq!(Declaration::new(d.clone().into_parts()), Ok(d.clone()));
        d.check_against_bill(&sample_bill_of_lading())
            .expect("fits the bill");
        let countries: Vec<&str> = d.route.iter().map(|s| s.country.as_str()).collect();
        assert_eq!(countries, ["CN", "KZ", "AZ", "TR"]);
        assert_eq!(
            d.next_step(&country("KZ")).map(|s| s.country.as_str()),
            Some("AZ")
        );
        assert!(d.next_step(&country("TR")).is_none());
        assert!(d.step(&country("GE")).is_none());
    }

    #[test]
    fn creation_time_is_required() {
        let mut p = parts();
        p.created_at_unix_micros = -1;
        assert_eq!(field_of(p), "created_at_unix_micros");
    }

    #[test]
    fn route_runs_export_transit_import() {
        let mut p = parts();
        p.route.truncate(1);
        assert_eq!(field_of(p), "route");

        let mut p = parts();
        p.route.remove(0);
        assert_eq!(field_of(p), "route[0].role");

        let mut p = parts();
        p.route.pop();
        assert_eq!(field_of(p), "route[2].role");

        let mut p = parts();
        p.route.swap(0, 1);
        assert_eq!(field_of(p), "route[0].role");

        let mut p = parts();
        p.route.swap(1, 2);
        assert_eq!(field_of(p), "route[2].planned_arrival_unix_micros");

        // A middle step that is not TRANSIT.
        let mut p = parts();
        let mut s = p.route[3].clone().into_parts();
        s.country = country("GE");
        s.entry_border_post = Some(locode("GETBS"));
        p.route.insert(2, RouteStep::new(s).expect("valid alone"));
        assert_eq!(field_of(p), "route[2].role");
    }

    #[test]
    fn no_country_twice() {
        let mut p = parts();
        let mut s = p.route[1].clone().into_parts();
        s.planned_arrival_unix_micros = p.route[2].planned_arrival_unix_micros;
        p.route.insert(3, RouteStep::new(s).expect("valid alone"));
        assert_eq!(field_of(p), "route[3].country");
    }

    #[test]
    fn border_posts_fit_the_role_and_country() {
        let route = parts().route;
        let export = route[0].clone().into_parts();
        let transit = route[1].clone().into_parts();
        let import = route[3].clone().into_parts();

        let mut p = export.clone();
        p.entry_border_post = Some(locode("CNXIY"));
        assert_eq!(step_field(p), "entry_border_post");
        let mut p = export;
        p.exit_border_post = None;
        assert_eq!(step_field(p), "exit_border_post");

        let mut p = transit.clone();
        p.entry_border_post = None;
        assert_eq!(step_field(p), "entry_border_post");
        let mut p = transit.clone();
        p.exit_border_post = Some(locode("AZBAK"));
        assert_eq!(step_field(p), "exit_border_post");
        let mut p = transit;
        p.planned_arrival_unix_micros = 0;
        assert_eq!(step_field(p), "planned_arrival_unix_micros");

        let mut p = import.clone();
        p.exit_border_post = Some(locode("TRIST"));
        assert_eq!(step_field(p), "exit_border_post");
        let mut p = import;
        p.entry_border_post = None;
        assert_eq!(step_field(p), "entry_border_post");
    }

    #[test]
    fn items_are_required_and_weigh_sensibly() {
        let mut p = parts();
        p.items.clear();
        assert_eq!(field_of(p), "items");

        let item = parts().items[0].clone().into_parts();
        let mut p = item.clone();
        p.net_weight_grams = p.gross_weight_grams.saturating_add(1);
        assert_eq!(
            DeclaredItem::new(p).map_err(|e| e.field),
            Err("net_weight_grams".into())
        );
        let mut p = item.clone();
        p.net_weight_grams = p.gross_weight_grams;
        assert!(DeclaredItem::new(p).is_ok());
        let mut p = item;
        let c = p.container_numbers[0].clone();
        p.container_numbers.push(c);
        assert_eq!(
            DeclaredItem::new(p).map_err(|e| e.field),
            Err("container_numbers[1]".into())
        );
    }

    #[test]
    fn guarantee_covers_something() {
        let mut p = parts();
        p.guarantee.amount = Money::new(p.guarantee.amount.currency().clone(), 0);
        assert_eq!(field_of(p), "guarantee.amount.amount_minor");
    }

    #[test]
    fn declaration_must_fit_its_bill() {
        let bill = sample_bill_of_lading();

        let mut p = parts();
        let mut item = p.items[1].clone().into_parts();
        item.container_numbers = vec![ContainerNumber::parse("c", "CSQU3054383").expect("valid")];
        p.items[1] = DeclaredItem::new(item).expect("valid alone");
        let d = Declaration::new(p).expect("valid alone");
        assert_eq!(
            d.check_against_bill(&bill).map_err(|e| e.field),
            Err("items[1].container_numbers[0]".into())
        );

        let mut p = parts();
        p.route.remove(0);
        let mut kz = p.route[0].clone().into_parts();
        kz.role = DeclarationRole::Export;
        kz.entry_border_post = None;
        p.route[0] = RouteStep::new(kz).expect("valid alone");
        let d = Declaration::new(p).expect("valid alone");
        assert_eq!(
            d.check_against_bill(&bill).map_err(|e| e.field),
            Err("route[0].country".into())
        );

        let mut p = parts();
        p.route.pop();
        let mut az = p.route[2].clone().into_parts();
        az.role = DeclarationRole::Import;
        az.exit_border_post = None;
        p.route[2] = RouteStep::new(az).expect("valid alone");
        let d = Declaration::new(p).expect("valid alone");
        assert_eq!(
            d.check_against_bill(&bill).map_err(|e| e.field),
            Err("route[2].country".into())
        );
    }

    #[test]
    fn cancellation_needs_a_time() {
        let reason = Text::parse("reason", "wrong HS code").expect("text");
        let c = DeclarationCancellation::new(Digest::ZERO, reason.clone(), 5).expect("valid");
        assert_eq!((c.reason(), c.cancelled_at_unix_micros()), (&reason, 5));
        assert_eq!(
            DeclarationCancellation::new(Digest::ZERO, reason, 0).map_err(|e| e.field),
            Err("cancelled_at_unix_micros".into())
        );
    }
}
