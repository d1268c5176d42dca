//! Known-answer tests against published vectors (in `testdata/`) and negative tests of
//! envelope verification.

#![allow(clippy::unwrap_used)]

use corridor_core::{Digest, Envelope, PublicKey, SigningKey, pae};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn hex_field(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap()).unwrap()
}

#[test]
fn rfc8032_ed25519_vectors() {
    let doc = load("rfc8032-ed25519.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let seed: [u8; 32] = hex_field(v, "secret_key").try_into().unwrap();
        let key = SigningKey::from_seed(&seed);
        assert_eq!(
            key.public().as_bytes().to_vec(),
            hex_field(v, "public_key"),
            "{}",
            v["name"]
        );
        let msg = hex_field(v, "message");
        let sig = key.sign(&msg);
        assert_eq!(sig.to_vec(), hex_field(v, "signature"), "{}", v["name"]);
        let public = PublicKey::from_bytes("pk", &hex_field(v, "public_key")).unwrap();
        assert!(public.verify(&msg, &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!public.verify(&msg, &bad));
    }
}

#[test]
fn sha256_vectors() {
    let doc = load("sha256.json");
    for v in doc["vectors"].as_array().unwrap() {
        let input = v["text"]
            .as_str()
            .unwrap()
            .repeat(v["repeat"].as_u64().unwrap() as usize);
        assert_eq!(
            Digest::of(input.as_bytes()).to_hex(),
            v["digest"].as_str().unwrap()
        );
    }
}

#[test]
fn dsse_pae_vector() {
    let doc = load("dsse-pae.json");
    for v in doc["vectors"].as_array().unwrap() {
        let out = pae(
            v["payload_type"].as_str().unwrap(),
            v["payload"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(out, v["pae"].as_str().unwrap().as_bytes());
    }
}

fn signed() -> (SigningKey, Envelope) {
    let key = SigningKey::from_seed(&[7; 32]);
    let env = Envelope::sign(
        "application/vnd.corridor.test",
        b"consignment 42".to_vec(),
        &key,
    );
    (key, env)
}

#[test]
fn envelope_verifies_and_names_its_document() {
    let (key, env) = signed();
    env.verify_by(&key.public()).unwrap();
    assert_eq!(env.document_id(), Digest::of(b"consignment 42"));
    assert_eq!(
        env.open("application/vnd.corridor.test", &key.public())
            .unwrap(),
        b"consignment 42"
    );
    assert!(
        env.open("application/vnd.corridor.other", &key.public())
            .is_err()
    );
}

#[test]
fn a_flipped_bit_anywhere_fails_verification() {
    let (key, env) = signed();
    let (ty, payload, sigs) = env.into_parts();
    for i in 0..payload.len() * 8 {
        let mut p = payload.clone();
        p[i / 8] ^= 1 << (i % 8);
        let e = Envelope::from_parts(ty.clone(), p, sigs.clone()).unwrap();
        assert!(e.verify_by(&key.public()).is_err(), "payload bit {i}");
    }
    for i in 0..ty.len() * 8 {
        let mut t = ty.clone().into_bytes();
        t[i / 8] ^= 1 << (i % 8);
        let Ok(t) = String::from_utf8(t) else {
            continue;
        };
        let e = Envelope::from_parts(t, payload.clone(), sigs.clone()).unwrap();
        assert!(e.verify_by(&key.public()).is_err(), "type bit {i}");
    }
    for i in 0..64 * 8 {
        let mut s = sigs.clone();
        s[0].sig[i / 8] ^= 1 << (i % 8);
        let e = Envelope::from_parts(ty.clone(), payload.clone(), s).unwrap();
        assert!(e.verify_by(&key.public()).is_err(), "signature bit {i}");
    }
}

#[test]
fn a_signature_by_another_key_fails() {
    let (_, env) = signed();
    let other = SigningKey::from_seed(&[8; 32]);
    // Not signed by `other` at all.
    assert!(env.verify_by(&other.public()).is_err());
    // A signature made by `other` but labelled with the signer's key id.
    let (ty, payload, mut sigs) = env.clone().into_parts();
    sigs[0].sig = other.sign(&pae(&ty, &payload));
    let forged = Envelope::from_parts(ty, payload, sigs).unwrap();
    assert!(
        forged
            .verify_by(&SigningKey::from_seed(&[7; 32]).public())
            .is_err()
    );
}

#[test]
fn two_signatures_on_one_envelope() {
    let (kz, mut env) = signed();
    let az = SigningKey::from_seed(&[9; 32]);
    env.add_signature(&az);
    env.add_signature(&az);
    assert_eq!(env.signatures().len(), 2);
    env.verify_by(&kz.public()).unwrap();
    env.verify_by(&az.public()).unwrap();
}

/// RFC 8410 section 10's example keys (`testdata/rfc8410/`): the private key is written
/// byte for byte in its v1 form, its public key as section 10.1 gives it, and both read back.
#[test]
fn rfc8410_key_files() {
    let dir = format!("{}/testdata/rfc8410", env!("CARGO_MANIFEST_DIR"));
    let want_private = std::fs::read_to_string(format!("{dir}/private-key.pem")).unwrap();
    let want_public = std::fs::read_to_string(format!("{dir}/public-key.pem")).unwrap();
    let seed: [u8; 32] =
        hex::decode("d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842")
            .unwrap()
            .try_into()
            .unwrap();
    let key = SigningKey::from_seed(&seed);

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("example.key");
    let pub_path = key.save(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want_private);
    assert_eq!(std::fs::read_to_string(&pub_path).unwrap(), want_public);

    assert_eq!(SigningKey::load(&path).unwrap().public(), key.public());
    let public = PublicKey::load(std::path::Path::new(&format!("{dir}/public-key.pem"))).unwrap();
    assert_eq!(public, key.public());
}

/// Weak (small-order) and non-canonically encoded public keys are refused wherever a key
/// enters (raw bytes from the wire, hex or PEM key files); the canonical encoding of the
/// same point is a key (`testdata/weak-keys.json`).
#[test]
fn weak_and_non_canonical_public_keys_are_refused() {
    let doc = load("weak-keys.json");
    for v in doc["vectors"].as_array().unwrap() {
        let raw = hex_field(v, "key");
        let note = v["note"].as_str().unwrap();
        let from_raw = PublicKey::from_bytes("key", &raw);
        let from_hex = PublicKey::from_pem_or_hex("key", v["key"].as_str().unwrap());
        match v["refused"].as_str().unwrap() {
            "" => {
                assert_eq!(
                    from_raw.unwrap().as_bytes().as_slice(),
                    raw.as_slice(),
                    "{note}"
                );
                assert!(from_hex.is_ok(), "{note}");
            }
            why => {
                let want = if why == "weak" { "weak" } else { "canonical" };
                for r in [from_raw, from_hex] {
                    let e = r.expect_err(note);
                    assert_eq!(e.field, "key");
                    assert!(e.reason.contains(want), "{note}: {}", e.reason);
                }
                if let Some(c) = v.get("canonical") {
                    let canonical = hex::decode(c.as_str().unwrap()).unwrap();
                    assert!(PublicKey::from_bytes("key", &canonical).is_ok(), "{note}");
                }
            }
        }
    }
}
