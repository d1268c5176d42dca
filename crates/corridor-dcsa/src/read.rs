//! Reading a transport document: its size and depth before parsing, then JSON, then the
//! DCSA schema, then its canonical form.

use corridor_core::Digest;
use corridor_core::document::TransportDocumentJson;
use serde_json::Value;

use crate::{DcsaError, MAX_BYTES, MAX_DEPTH, schema};

/// A transport document valid against the DCSA schema, with its RFC 8785 canonical form.
#[derive(Clone, Debug)]
pub struct TransportDocument {
    value: Value,
    kept: TransportDocumentJson,
}

impl TransportDocument {
    /// Reads a transport document's JSON text: refused past [`MAX_BYTES`] or [`MAX_DEPTH`]
    /// before it is parsed, then if it is not a JSON object, then with every way it fails
    /// the DCSA schema.
    pub fn read(text: &str) -> Result<Self, DcsaError> {
        if text.len() > MAX_BYTES {
            return Err(DcsaError::TooLarge {
                bytes: text.len(),
                limit: MAX_BYTES,
            });
        }
        if nesting(text.as_bytes()) > MAX_DEPTH {
            return Err(DcsaError::TooDeep { limit: MAX_DEPTH });
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| DcsaError::NotJson(format!("not JSON: {e}")))?;
        Self::from_value(value)
    }

    /// A parsed document, checked against the DCSA schema.
    pub fn from_value(value: Value) -> Result<Self, DcsaError> {
        if !value.is_object() {
            return Err(DcsaError::NotJson(
                "a transport document is a JSON object".into(),
            ));
        }
        schema::validate(&value).map_err(DcsaError::Schema)?;
        let canonical = canonical_json(&value)?;
        if canonical.len() > MAX_BYTES {
            // Numbers can be longer written out in full (`1e300`).
            return Err(DcsaError::TooLarge {
                bytes: canonical.len(),
                limit: MAX_BYTES,
            });
        }
        let kept =
            TransportDocumentJson::new(canonical).map_err(|e| DcsaError::NotJson(e.to_string()))?;
        Ok(Self { value, kept })
    }

    /// A document kept in a bill, read back.
    pub fn from_kept(kept: &TransportDocumentJson) -> Result<Self, DcsaError> {
        Self::read(kept.canonical_json())
    }

    /// The document as parsed.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Its RFC 8785 canonical form and checksum, as a bill keeps them.
    pub fn kept(&self) -> &TransportDocumentJson {
        &self.kept
    }

    /// SHA-256 of the canonical form: DCSA's checksum of the document.
    pub fn checksum(&self) -> Digest {
        self.kept.checksum()
    }
}

/// The RFC 8785 (JSON Canonicalization Scheme) form of `value`.
pub(crate) fn canonical_json(value: &Value) -> Result<String, DcsaError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| DcsaError::NotJson(format!("has no canonical form: {e}")))
}

/// The deepest nesting of objects and arrays in a JSON text, counted without parsing it
/// (brackets inside strings do not count).
fn nesting(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert_eq!(nesting(b"{}"), 1);
        assert_eq!(nesting(br#"{"a":[{"b":[]}]}"#), 4);
        assert_eq!(nesting(br#"{"a":"[[[[{{{{"}"#), 1);
        assert_eq!(nesting(br#"{"a":"\"[[[["}"#), 1);
        assert_eq!(nesting(b"[[[[[[]]]]]]"), 6);
    }

    #[test]
    fn size_and_depth_are_refused_before_parsing() {
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_BYTES));
        assert!(matches!(
            TransportDocument::read(&big),
            Err(DcsaError::TooLarge { .. })
        ));
        // Not even valid JSON: the depth is refused before the parser would say so.
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(
            TransportDocument::read(&deep).map(|_| ()),
            Err(DcsaError::TooDeep { limit: MAX_DEPTH })
        );
        assert!(matches!(
            TransportDocument::read("{\"a\":"),
            Err(DcsaError::NotJson(_))
        ));
        assert!(matches!(
            TransportDocument::read("[]"),
            Err(DcsaError::NotJson(_))
        ));
    }
}
