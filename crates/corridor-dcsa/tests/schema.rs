//! The checked-in JSON Schema of a DCSA transport document is the one generated from the
//! vendored DCSA OpenAPI document (dcsa/README.md says how).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `value` as a JSON Schema: OpenAPI `$ref`s rewritten to `definitions`, `example`s dropped.
/// Property names are kept as they are (a property may be called `example`).
fn convert(value: &Value, in_properties: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if in_properties {
                    out.insert(k.clone(), convert(v, false));
                    continue;
                }
                match (k.as_str(), v) {
                    ("example", _) => {}
                    ("$ref", Value::String(r)) => {
                        let name = r
                            .strip_prefix("#/components/schemas/")
                            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
                        out.insert(k.clone(), Value::String(format!("#/definitions/{name}")));
                    }
                    ("properties", v) => {
                        out.insert(k.clone(), convert(v, true));
                    }
                    _ => {
                        out.insert(k.clone(), convert(v, false));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, false)).collect()),
        other => other.clone(),
    }
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        found.push(r.rsplit('/').next().unwrap_or_default().to_owned())
                    }
                    _ => refs(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

fn generate(openapi: &Path) -> String {
    let text = std::fs::read_to_string(openapi).expect("the vendored DCSA document");
    let doc: Value = serde_norway::from_str(&text).expect("the DCSA document is YAML");
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let version = doc["info"]["version"].as_str().expect("info.version");
    let mut wanted = vec!["TransportDocument".to_owned()];
    let mut definitions = std::collections::BTreeMap::new();
    while let Some(name) = wanted.pop() {
        if definitions.contains_key(&name) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is referred to but not defined"));
        refs(schema, &mut wanted);
        definitions.insert(name, convert(schema, false));
    }
    let schema = serde_json::json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": format!("DCSA eBL {version} TransportDocument"),
        "description": format!(
            "Generated from components.schemas.TransportDocument of the DCSA eBL API {version} \
             OpenAPI document (dcsaorg/DCSA-OpenAPI, EBL_v{version}.yaml, Apache License 2.0) \
             and the schemas it refers to. Do not edit: see crates/corridor-dcsa/dcsa/README.md."
        ),
        "$ref": "#/definitions/TransportDocument",
        "definitions": definitions,
    });
    let mut out = serde_json::to_string_pretty(&schema).expect("JSON");
    out.push('\n');
    out
}

#[test]
fn the_checked_in_schema_is_generated_from_the_vendored_dcsa_document() {
    let dir = crate_dir();
    let generated = generate(&dir.join("dcsa/EBL_v3.0.4.yaml"));
    let path = dir.join("schema/transport-document-3.0.4.json");
    if std::env::var_os("CORRIDOR_DCSA_REGENERATE").is_some() {
        std::fs::write(&path, &generated).expect("write the schema");
    }
    let checked_in = std::fs::read_to_string(&path).expect("the checked-in schema");
    assert!(
        checked_in == generated,
        "{} is not the schema generated from dcsa/EBL_v3.0.4.yaml: run \
         CORRIDOR_DCSA_REGENERATE=1 cargo test -p corridor-dcsa --test schema",
        path.display()
    );
}

#[test]
fn the_vendored_dcsa_document_is_the_reference_copy_when_one_is_beside_the_project() {
    // The project's reference data lies in ../shared/dcsa when it is checked out for work.
    let shared = crate_dir().join("../../../shared/dcsa/EBL_v3.0.4.yaml");
    let vendored = std::fs::read(crate_dir().join("dcsa/EBL_v3.0.4.yaml")).expect("vendored");
    assert!(vendored.starts_with(b"openapi: 3.0.3"));
    if let Ok(reference) = std::fs::read(&shared) {
        assert!(
            reference == vendored,
            "dcsa/EBL_v3.0.4.yaml differs from {}",
            shared.display()
        );
    }
}
