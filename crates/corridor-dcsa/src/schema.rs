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

/// Violations reported at most: a refusal stays a few KiB however broken the document is
/// (the validator stops looking after these).
pub const MAX_VIOLATIONS: usize = 50;

/// The ways `document` fails the DCSA schema (the first [`MAX_VIOLATIONS`] found, sorted by
/// pointer, then a last line `(more): ...` when there are more); `Ok` if it is valid.
pub fn validate(document: &Value) -> Result<(), Vec<Violation>> {
    let mut found: Vec<Violation> = validator()
        .iter_errors(document)
        .take(MAX_VIOLATIONS + 1)
        .map(|e| Violation {
            pointer: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let more = found.len() > MAX_VIOLATIONS;
    found.truncate(MAX_VIOLATIONS);
    found.sort_by(|a, b| a.pointer.cmp(&b.pointer).then(a.message.cmp(&b.message)));
    found.dedup();
    if more {
        found.push(Violation {
            pointer: "(more)".into(),
            message: format!(
                "the document breaks the schema in more places; only the first {MAX_VIOLATIONS} are listed"
            ),
        });
    }
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
    fn a_document_broken_everywhere_gets_a_bounded_refusal() {
        let items: Vec<Value> = (0..8000)
            .map(|_| serde_json::json!({"HSCodes": ["1"]}))
            .collect();
        let doc = serde_json::json!({ "consignmentItems": items });
        let found = validate(&doc).expect_err("not a transport document");
        assert_eq!(found.len(), MAX_VIOLATIONS + 1);
        let last = found.last().unwrap().to_string();
        assert!(
            last.starts_with("(more): the document breaks the schema"),
            "{last}"
        );
        let text: usize = found.iter().map(|v| v.to_string().len()).sum();
        assert!(text < 16 * 1024, "{text} bytes of refusal");
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
