//! The DCSA schema of a transport document, and validation against it.
//!
//! `schema/transport-document-3.0.4.json` is generated from the DCSA eBL 3.0.4 OpenAPI
//! document (`dcsa/README.md`); the `jsonschema` crate validates against it, formats
//! (`date`, `date-time`) included.

use std::sync::OnceLock;

use serde_json::Value;

use crate::Violation;

/// The JSON Schema (draft 4) of a DCSA eBL 3.0.4 `TransportDocument`.
pub const TRANSPORT_DOCUMENT_SCHEMA: &str = include_str!("../schema/transport-document-3.0.4.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value =
            serde_json::from_str(TRANSPORT_DOCUMENT_SCHEMA).expect("the built-in schema is JSON");
        jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the built-in schema compiles")
    })
}

/// Every way `document` fails the DCSA schema, in document order; `Ok` if it is valid.
pub fn validate(document: &Value) -> Result<(), Vec<Violation>> {
    let mut found: Vec<Violation> = validator()
        .iter_errors(document)
        .map(|e| Violation {
            pointer: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.message.cmp(&b.message)));
    found.dedup();
    Err(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_names_its_pointer_and_what_is_wrong() {
        let doc = serde_json::json!({"consignmentItems": [{"HSCodes": ["85414"]}]});
        let found = validate(&doc).expect_err("not a transport document");
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            lines.contains(
                &r#"/consignmentItems/0/HSCodes/0: "85414" is shorter than 6 characters"#
                    .to_string()
            ),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("/: \"transportDocumentReference\" is a required property")),
            "{lines:#?}"
        );
    }

    #[test]
    fn dates_are_checked_as_dates() {
        let doc = serde_json::json!({"issueDate": "2026-13-45"});
        let found = validate(&doc).expect_err("not a transport document");
        assert!(
            found.iter().any(|v| v.pointer == "/issueDate"),
            "{found:#?}"
        );
    }
}
