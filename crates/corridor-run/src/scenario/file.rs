//! The scenario file (TOML): its types, from which the JSON Schema is generated
//! ([`schema`]), and its reading ([`load`]): a bad file is one line naming the file, the
//! line and column, the field and what is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

/// A flow of consignments through a fresh corridor, and what must hold of it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario checks, in a few words: its name in the output and in JUnit.
    pub name: String,
    /// What it is about, at more length.
    #[serde(default)]
    pub description: String,
    /// The corridor's topology file, relative to the scenario file (default: the Middle
    /// Corridor built into the binary).
    #[serde(default)]
    pub topology: Option<PathBuf>,
    /// Corridor seconds per real second on the scenario clock.
    #[serde(default = "default_speed")]
    pub speed: f64,
    /// Whether the nodes draw consignments at random for checks, at the topology's rates.
    /// `false` sets every rate to zero: lanes then follow the risk rules alone (restricted
    /// HS codes, value floors, seals), the same on every run.
    #[serde(default = "yes")]
    pub random_selectivity: bool,
    /// The consignments, each driven from its declaration to its end.
    pub consignments: Vec<Consignment>,
    /// Changes to the AEO registry at corridor times of the scenario.
    #[serde(default)]
    pub events: Vec<Event>,
    /// What must hold of the whole corridor at the end.
    #[serde(default)]
    pub expect: CorridorExpect,
}

fn default_speed() -> f64 {
    50_000.0
}

fn yes() -> bool {
    true
}

/// One consignment: the sample consignment (`deploy/examples/consignment.json`) with the
/// scenario's changes, sent through the declarant.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consignment {
    /// Its name in the output.
    pub name: String,
    /// The trader who ships and declares it: one of the demonstration traders
    /// (`CN91610131XA01` and `CN91650100UR04` are AEO-certified, `CN91650100UR03` and
    /// `CN91610131XA05` are not).
    pub trader: String,
    /// When it sets off, in corridor hours after the scenario starts.
    #[serde(default)]
    pub start_hours: f64,
    /// The goods of its first item, instead of the sample's.
    #[serde(default)]
    pub goods: Option<Goods>,
    /// The country whose arrival finds a seal broken.
    #[serde(default)]
    pub broken_seal_at: Option<String>,
    /// Its bill of lading's transport document reference (default: its own).
    #[serde(default)]
    pub bill: Option<String>,
    /// The name of an earlier consignment whose bill of lading (the same signed document)
    /// this one declares again instead of a bill of its own: a double spend, unless that
    /// one was cancelled.
    #[serde(default)]
    pub bill_of: Option<String>,
    /// Its declarant cancels it.
    #[serde(default)]
    pub cancel: Option<Cancel>,
    /// What an officer decides where the consignment awaits one, by country (ISO 3166-1
    /// alpha-2); elsewhere officers release it after two hours.
    #[serde(default)]
    pub officers: BTreeMap<String, Officer>,
    /// What must hold of it at the end.
    #[serde(default)]
    pub expect: ConsignmentExpect,
}

/// A change to the corridor at a corridor time: to the AEO registry, signed by the authority
/// that may make it (every service has it before the scenario goes on), or a node down for
/// a while. Exactly one change per event.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When, in corridor hours after the scenario starts.
    pub at_hours: f64,
    /// An AEO certificate (e.g. `AEOCN0000000001`) suspended by its issuing country.
    #[serde(default)]
    pub suspend_certificate: Option<String>,
    /// The arrangement between two countries terminated by one of them.
    #[serde(default)]
    pub terminate_arrangement: Option<Termination>,
    /// A country's node down (its process paused: it answers nothing) for a while.
    #[serde(default)]
    pub node_down: Option<NodeDown>,
    /// Why.
    #[serde(default = "event_reason")]
    pub reason: String,
}

fn event_reason() -> String {
    "scenario event".into()
}

/// A node down for a while.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeDown {
    /// Its country.
    pub country: String,
    /// For how many corridor hours.
    pub hours: f64,
}

/// An arrangement's termination.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    /// The arrangement's two countries (the demonstration registry has one between every
    /// two countries of the route).
    pub between: [String; 2],
    /// The party that terminates it: one of the two.
    pub by: String,
}

/// A cancellation by the declarant.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// When: half an hour after the declaration, before the goods reach the first border
    /// (the node accepts), or once they have arrived there (the node refuses).
    pub when: CancelWhen,
    /// Why.
    #[serde(default = "cancel_reason")]
    pub reason: String,
}

fn cancel_reason() -> String {
    "cancelled by the declarant".into()
}

/// When a declarant cancels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelWhen {
    /// Before the goods arrive at the first border.
    BeforeFirstBorder,
    /// Once they have arrived there.
    AfterFirstBorder,
}

/// A request the flow makes that a service refuses.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusalExpect {
    /// What is refused.
    pub action: Action,
    /// The gRPC status code, as tonic names it (`FailedPrecondition`, `AlreadyExists`,
    /// `InvalidArgument`, ...).
    pub code: String,
    /// A phrase of its message.
    #[serde(default)]
    pub message: String,
}

/// A request of a consignment's flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Its declaration, through the declarant.
    Submit,
    /// Its cancellation, through the declarant.
    Cancel,
}

impl Action {
    /// The action's name, as the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Cancel => "cancel",
        }
    }
}

/// Goods, by their Harmonized System code.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Goods {
    /// HS code, 6 to 10 digits.
    pub hs_code: String,
    /// Description of the goods.
    pub description: String,
}

/// An officer's decision on a consignment in the yellow or red lane.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Release or refuse.
    pub decision: Decision,
    /// Corridor hours the check or inspection takes before the decision.
    #[serde(default = "two_hours")]
    pub after_hours: f64,
    /// What the officer found (required for a refusal).
    #[serde(default)]
    pub findings: Option<String>,
}

fn two_hours() -> f64 {
    2.0
}

/// An officer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The goods may go on.
    Release,
    /// The goods may not go on; the consignment stops there.
    Refuse,
}

/// A lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// Released at arrival.
    Green,
    /// Released at arrival, checked after release.
    Blue,
    /// A document check by an officer.
    Yellow,
    /// A physical inspection by an officer.
    Red,
}

impl From<Lane> for corridor_core::document::Lane {
    fn from(l: Lane) -> Self {
        match l {
            Lane::Green => Self::Green,
            Lane::Blue => Self::Blue,
            Lane::Yellow => Self::Yellow,
            Lane::Red => Self::Red,
        }
    }
}

impl Lane {
    /// The lane's name, as the report and the dashboard write it.
    pub fn name(self) -> &'static str {
        corridor_core::document::Lane::from(self).name()
    }
}

/// How a consignment ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Import clearance done at the last country.
    Completed,
    /// Refused at a border.
    Refused,
    /// Cancelled by its declarant.
    Cancelled,
    /// Still held at a border.
    Held,
    /// Its declaration was refused: no node knows it.
    #[serde(rename = "not declared")]
    NotDeclared,
}

impl Status {
    /// The status's name, as the report writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Refused => "refused",
            Self::Cancelled => "cancelled",
            Self::Held => "held",
            Self::NotDeclared => "not declared",
        }
    }
}

/// What must hold of one consignment at the end; each is one line of the output.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentExpect {
    /// Its lane at each country named.
    #[serde(default)]
    pub lanes: BTreeMap<String, Lane>,
    /// How it ends.
    #[serde(default)]
    pub status: Option<Status>,
    /// The country where it ends (the last that knows it).
    #[serde(default)]
    pub at: Option<String>,
    /// Whether its trader's AEO status was recognised at the first country.
    #[serde(default)]
    pub aeo: Option<bool>,
    /// Whether its trader's AEO status was recognised at each country named (each node
    /// decides at its own assessment, from its copy of the registry then).
    #[serde(default)]
    pub aeo_recognised: BTreeMap<String, bool>,
    /// Its corridor clearance time (the sum of its dwell at every border), at most this many
    /// hours.
    #[serde(default)]
    pub clearance_hours_at_most: Option<f64>,
    /// Its clearance time, at least this many hours.
    #[serde(default)]
    pub clearance_hours_at_least: Option<f64>,
    /// Whether it completed within the corridor's clearance target (72 h by default): false
    /// expects the breach flagged.
    #[serde(default)]
    pub within_target: Option<bool>,
    /// Requests of its flow that a service refuses, each with its code and a phrase of its
    /// message (and no others refused).
    #[serde(default)]
    pub refusals: Vec<RefusalExpect>,
}

/// What must hold of the whole corridor at the end.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorridorExpect {
    /// Every service's ledger verifies (signatures, chain, checkpoints).
    #[serde(default = "yes")]
    pub ledgers_verified: bool,
    /// Every consignment's trace verifies across the ledgers.
    #[serde(default = "yes")]
    pub traces_verified: bool,
}

impl Default for CorridorExpect {
    fn default() -> Self {
        Self {
            ledgers_verified: true,
            traces_verified: true,
        }
    }
}

/// The JSON Schema of scenario files, as `deploy/scenarios/scenario.schema.json` ships it.
pub fn schema() -> String {
    let s = schemars::schema_for!(Scenario);
    serde_json::to_string_pretty(&s).unwrap_or_default() + "\n"
}

/// The 1-based line and column of byte `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Reads scenario file `path`: the scenario, or one line naming the file, the line and
/// column, the field and what is wrong.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    parse(&text).map_err(|e| format!("{shown}:{e}"))
}

/// Parses scenario text: the scenario, or `LINE:COLUMN: FIELD: what is wrong`.
pub fn parse(text: &str) -> Result<Scenario, String> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| located(text, &e, ""))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        located(text, e.inner(), if path == "." { "" } else { &path })
    })
}

fn located(text: &str, e: &toml::de::Error, field: &str) -> String {
    let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    let message = e.message().trim().replace('\n', " ");
    if field.is_empty() {
        format!("{line}:{col}: {message}")
    } else {
        format!("{line}:{col}: {field}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_is_one_line_with_its_line_column_and_field() {
        let e = parse("name = \"x\"\n[[consignments]]\nname = \"a\"\ntrader = 7\n").unwrap_err();
        assert!(e.starts_with("4:10: consignments[0].trader: "), "{e}");
        assert!(e.contains("expected a string"), "{e}");
        let e = parse("name = \"x\"\nconsignments = []\ncolour = 1\n").unwrap_err();
        assert!(e.starts_with("3:1: "), "{e}");
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = parse("name = \"x\"\n[[consignments]]\nname = \"a\"\ntrader = \"T\"\n[consignments.expect]\nstatus = \"lost\"\n").unwrap_err();
        assert!(
            e.starts_with("6:10: consignments[0].expect.status: "),
            "{e}"
        );
        assert!(e.contains("unknown variant `lost`"), "{e}");
        let e = parse("name = \"x\"\nconsignments = [\n").unwrap_err();
        assert!(e.starts_with("2:"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            parse("consignments = []\n")
                .unwrap_err()
                .contains("missing field `name`")
        );
    }

    #[test]
    fn defaults_fill_what_a_file_leaves_out() {
        let s = parse("name = \"x\"\n[[consignments]]\nname = \"a\"\ntrader = \"T\"\n").unwrap();
        assert_eq!(s.speed, 50_000.0);
        assert!(s.expect.ledgers_verified && s.expect.traces_verified);
        assert_eq!(s.consignments[0].start_hours, 0.0);
        assert!(s.consignments[0].officers.is_empty());
    }
}
