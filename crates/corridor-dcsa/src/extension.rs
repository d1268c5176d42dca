//! The `corridor` property: what a corridor bill holds that a DCSA transport document has
//! no field for, written by [`crate::export()`] into the documents it generates and read by
//! [`crate::import()`] when present.
//!
//! A transport document is an open JSON object (the DCSA schema allows properties it does
//! not define), so a document with this property is still a valid DCSA document, and a
//! DCSA tool ignores it. Every member is optional; without it the import derives the value
//! from the standard fields (proto/DCSA.md):
//!
//! ```json
//! "corridor": {
//!   "issuedAt": "2026-11-20T08:00:00.000000Z",
//!   "transportLegs": [{"mode": "RAIL", "carrierOperatorId": "KZ...", "transportName": "...",
//!     "transportNumber": "X8024", "from": "CNXIY", "to": "KZAAU",
//!     "plannedDeparture": "2026-11-20T10:00:00.000000Z",
//!     "plannedArrival": "2026-11-26T08:00:00.000000Z"}],
//!   "consignmentItems": [{"declaredValue": {"currency": "USD", "amountMinor": 26400000},
//!     "originCountry": "CN"}]
//! }
//! ```

use serde::{Deserialize, Serialize};

/// Name of the property in a transport document.
pub const PROPERTY: &str = "corridor";

/// The `corridor` property.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Extension {
    /// The bill's time of issue, RFC 3339 UTC; on the document's `issueDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// The legs of the carriage, from `transports.portOfLoading` to `portOfDischarge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_legs: Option<Vec<Leg>>,
    /// Per consignment item, in the order of the document's `consignmentItems`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignment_items: Option<Vec<Item>>,
}

/// One leg of the carriage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Leg {
    /// `RAIL`, `ROAD`, `SEA`, `FERRY`, `INLAND_WATER` or `AIR`.
    pub mode: String,
    /// Operator id of the carrier of this leg, when it is not the document's carrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_operator_id: Option<String>,
    /// Vessel name, train name or road vehicle registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_name: Option<String>,
    /// Voyage, train or flight number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_number: Option<String>,
    /// Where the leg starts, UN/LOCODE.
    pub from: String,
    /// Where the leg ends, UN/LOCODE.
    pub to: String,
    /// Planned departure, RFC 3339 UTC.
    pub planned_departure: String,
    /// Planned arrival, RFC 3339 UTC.
    pub planned_arrival: String,
}

/// What a consignment item holds beyond DCSA's fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Item {
    /// Declared value of the item's goods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_value: Option<Money>,
    /// Country of origin of the goods, ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
}

/// An amount as corridor writes it: a currency and a count of its minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Money {
    /// ISO 4217 code.
    pub currency: String,
    /// Amount in the currency's minor unit.
    pub amount_minor: u64,
}
