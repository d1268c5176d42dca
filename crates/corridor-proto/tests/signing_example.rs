//! `proto/SIGNING.md` against the implementation: the worked example (its vector file
//! `testdata/signing-example.json`, which the document reproduces verbatim, and the byte
//! breakdowns and escaped PAE string in the document) is recomputed with `corridor_core` and
//! `corridor_proto`, and the document's table of payload types is the list of
//! `corridor_core::payload_type` constants, each with a message that exists.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use corridor_core::document::{DeclarationCancellation, Text};
use corridor_core::{Digest, Envelope, KeyId, SigningKey, pae, payload_type};
use prost::Message;
use serde_json::Value;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn signing_md() -> String {
    read(manifest_dir().join("../../proto/SIGNING.md"))
}

fn vector_text() -> String {
    read(manifest_dir().join("testdata/signing-example.json"))
}

/// The text of the fenced block that follows `<!-- example:NAME -->` in the document.
fn block(md: &str, name: &str) -> String {
    let marker = format!("<!-- example:{name} -->");
    assert_eq!(
        md.matches(&marker).count(),
        1,
        "SIGNING.md needs one {marker}"
    );
    let rest = md[md.find(&marker).unwrap() + marker.len()..].trim_start_matches(['\r', '\n']);
    assert!(
        rest.starts_with("```"),
        "{marker} must be followed by a fenced block"
    );
    let body = &rest[rest.find('\n').unwrap() + 1..];
    let end = body
        .find("\n```")
        .unwrap_or_else(|| panic!("the block after {marker} is not closed"));
    body[..=end].to_owned()
}

/// The bytes of a breakdown block: on each line, the hex digits before any `#`.
fn hex_block(md: &str, name: &str) -> Vec<u8> {
    let digits: String = block(md, name)
        .lines()
        .flat_map(|l| l.split('#').next().unwrap_or("").chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    hex::decode(&digits).unwrap_or_else(|e| panic!("block {name}: {e}"))
}

/// The document's escaping: printable ASCII as is, every other byte and `\` as `\xHH`.
fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..=0x7e).contains(&b) && b != b'\\' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\' {
            assert_eq!(tail.first(), Some(&b'x'), "only \\xHH escapes");
            let hh = std::str::from_utf8(&tail[1..3]).unwrap();
            out.push(u8::from_str_radix(hh, 16).unwrap());
            rest = &tail[3..];
        } else {
            assert!((0x20..=0x7e).contains(&b), "unescaped byte {b:#04x}");
            out.push(b);
            rest = tail;
        }
    }
    out
}

fn hex_field(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(str_field(v, k)).unwrap_or_else(|e| panic!("{k}: {e}"))
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} is not a string"))
}

#[test]
fn signing_example_is_what_the_implementation_computes() {
    let md = signing_md();
    let text = vector_text();
    assert_eq!(
        block(&md, "vector"),
        text,
        "SIGNING.md must reproduce testdata/signing-example.json verbatim"
    );
    let v: Value = serde_json::from_str(&text).unwrap();

    // Key and key id.
    let seed: [u8; 32] = hex_field(&v, "seed").try_into().unwrap();
    let key = SigningKey::from_seed(&seed);
    assert_eq!(
        key.public().as_bytes().to_vec(),
        hex_field(&v, "public_key")
    );
    let key_id = key.id().to_string();
    assert_eq!(key_id, str_field(&v, "key_id"));
    assert_eq!(key_id, Digest::of(key.public().as_bytes()).to_hex());
    assert_eq!(
        KeyId::of_public_key(key.public().as_bytes()),
        KeyId::parse("key_id", &key_id).unwrap()
    );
    assert!(
        key_id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    );

    // The document and its payload: the fields encode to the payload and decode from it.
    let ptype = str_field(&v, "payload_type");
    assert_eq!(ptype, payload_type::DECLARATION_CANCELLATION);
    assert_eq!(
        str_field(&v, "message"),
        "corridor.v1.DeclarationCancellation"
    );
    let f = &v["fields"];
    let doc = DeclarationCancellation::new(
        Digest::parse_hex("declaration_id", str_field(f, "declaration_id")).unwrap(),
        Text::parse("reason", str_field(f, "reason")).unwrap(),
        f["cancelled_at_unix_micros"].as_i64().unwrap(),
    )
    .unwrap();
    let payload = hex_field(&v, "payload");
    assert_eq!(
        corridor_proto::encode_declaration_cancellation(&doc),
        payload
    );
    assert_eq!(
        corridor_proto::decode_declaration_cancellation(&payload).unwrap(),
        doc
    );
    assert_eq!(
        hex_block(&md, "payload"),
        payload,
        "SIGNING.md payload breakdown"
    );
    assert_eq!(Digest::of(&payload).to_hex(), str_field(&v, "document_id"));

    // PAE: the vector, the breakdown and the escaped string.
    let pae_bytes = pae(ptype, &payload);
    assert_eq!(pae_bytes, hex_field(&v, "pae"));
    assert_eq!(hex_block(&md, "pae"), pae_bytes, "SIGNING.md PAE breakdown");
    let escaped = block(&md, "pae-escaped");
    let escaped = escaped.strip_suffix('\n').unwrap();
    assert_eq!(unescape(escaped), pae_bytes, "SIGNING.md escaped PAE");
    assert_eq!(escaped, escape(&pae_bytes));
    let dsse = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        dsse.as_bytes()
    );
    assert!(md.contains(dsse));

    // Signature, envelope and ids.
    let env = Envelope::sign(ptype, payload.clone(), &key);
    assert_eq!(env.signatures().len(), 1);
    assert_eq!(env.signatures()[0].key_id, key.id());
    assert_eq!(env.signatures()[0].sig.to_vec(), hex_field(&v, "signature"));
    assert_eq!(key.sign(&pae_bytes).to_vec(), hex_field(&v, "signature"));
    assert_eq!(env.document_id().to_hex(), str_field(&v, "document_id"));
    let encoded = corridor_proto::encode_envelope(&env);
    assert_eq!(encoded, hex_field(&v, "envelope"));
    assert_eq!(
        hex_block(&md, "envelope"),
        encoded,
        "SIGNING.md envelope breakdown"
    );
    assert_eq!(Digest::of(&encoded).to_hex(), str_field(&v, "envelope_id"));

    // What a receiver does with the envelope bytes.
    let received = corridor_proto::decode_envelope(&encoded).unwrap();
    assert_eq!(received, env);
    assert_eq!(
        received.open(ptype, &key.public()).unwrap(),
        payload.as_slice()
    );
    let (t, mut p, sigs) = received.clone().into_parts();
    p[0] ^= 1;
    let changed = Envelope::from_parts(t, p, sigs.clone()).unwrap();
    assert!(changed.verify_by(&key.public()).is_err());
    let retyped =
        Envelope::from_parts(payload_type::DECLARATION.into(), payload.clone(), sigs).unwrap();
    assert!(retyped.verify_by(&key.public()).is_err());

    // The values shown in the prose are the vector's too (each appears at least twice: in
    // the prose and in the reproduced vector).
    for k in ["seed", "public_key", "key_id", "document_id", "envelope_id"] {
        assert!(
            md.matches(str_field(&v, k)).count() >= 2,
            "SIGNING.md shows {k} {} only in the vector",
            str_field(&v, k)
        );
    }
    let sig = str_field(&v, "signature");
    assert!(md.contains(&format!("{}\n{}\n", &sig[..64], &sig[64..])));
}

/// `payload_type::NAME` constants with the message each names in its doc comment
/// (`corridor.v1.Message`), read from the source of `corridor_core::envelope`.
fn payload_type_constants() -> BTreeMap<String, String> {
    let src = read(manifest_dir().join("../corridor-core/src/envelope.rs"));
    let start = src.find("pub mod payload_type {").unwrap();
    let mut out = BTreeMap::new();
    let mut doc = String::new();
    let mut pending: Option<String> = None;
    for line in src[start..].lines().skip(1) {
        let l = line.trim();
        if l == "}" {
            break;
        }
        if let Some(d) = l.strip_prefix("///") {
            doc.push_str(d);
            continue;
        }
        if l.starts_with("pub const ") {
            pending = Some(std::mem::take(&mut doc));
        }
        if let (Some(d), Some(q)) = (&pending, l.find('"')) {
            let value = &l[q + 1..];
            let value = &value[..value.find('"').unwrap()];
            let m = &d[d.find("`corridor.v1.").unwrap() + 1..];
            let m = &m[..m.find('`').unwrap()];
            out.insert(value.to_owned(), m.to_owned());
            pending = None;
        }
    }
    out
}

/// The rows of SIGNING.md's payload type table: payload type to message.
fn documented_payload_types(md: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in md.lines().filter(|l| l.starts_with("| `application/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let t = cells[1].trim_matches('`').to_owned();
        let m = cells[2].trim_matches('`').to_owned();
        assert!(out.insert(t.clone(), m).is_none(), "{t} is listed twice");
    }
    out
}

#[test]
fn signing_md_documents_every_payload_type_and_its_message() {
    let consts = payload_type_constants();
    assert!(consts.contains_key(payload_type::DECLARATION_CANCELLATION));
    assert!(consts.contains_key(payload_type::ADVANCE_RECEIPT));
    assert_eq!(
        documented_payload_types(&signing_md()),
        consts,
        "SIGNING.md's table of payload types and corridor_core::payload_type differ"
    );
    let fds = prost_types::FileDescriptorSet::decode(corridor_proto::FILE_DESCRIPTOR_SET).unwrap();
    let messages: BTreeSet<String> = fds
        .file
        .iter()
        .flat_map(|f| {
            let package = f.package().to_owned();
            f.message_type
                .iter()
                .map(move |m| format!("{package}.{}", m.name()))
        })
        .collect();
    for (t, m) in &consts {
        assert!(messages.contains(m), "{t}: no message {m} in proto/");
        assert!(
            t.starts_with("application/vnd.corridor.") && t.ends_with(".v1+protobuf"),
            "{t}"
        );
    }
}
