//! The registry's documents from the wire: each row a valid message changed in one way, and
//! the field path and reason of the refusal; and every document back to the same bytes.

use corridor_core::SigningKey;

use super::*;

const T: i64 = 1_800_000_000_000_000;

fn key(seed: u8) -> Vec<u8> {
    SigningKey::from_seed(&[seed; 32])
        .public()
        .as_bytes()
        .to_vec()
}

fn registration() -> v1::OperatorRegistration {
    v1::OperatorRegistration {
        operator_id: "CN1".into(),
        legal_name: "Operator".into(),
        address: "Street 1".into(),
        country: "CN".into(),
        public_keys: vec![key(1)],
        issued_at_unix_micros: T,
    }
}

fn key_update() -> v1::OperatorKeyUpdate {
    v1::OperatorKeyUpdate {
        operator_id: "CN1".into(),
        add_public_keys: vec![key(2)],
        revoke_keyids: vec![SigningKey::from_seed(&[1; 32]).id().to_string()],
        reason: "rotation".into(),
        issued_at_unix_micros: T,
    }
}

fn certificate() -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: "AEOCN0000000001".into(),
        operator_id: "CN1".into(),
        tier: v1::AeoTier::Full as i32,
        valid_from_unix_micros: T,
        valid_to_unix_micros: T + 1,
        issued_at_unix_micros: T,
    }
}

fn status_change() -> v1::CertificateStatusChange {
    v1::CertificateStatusChange {
        aeo_id: "AEOCN0000000001".into(),
        action: v1::CertificateAction::Suspend as i32,
        reason: "audit".into(),
        effective_at_unix_micros: 0,
        issued_at_unix_micros: T,
    }
}

fn arrangement() -> v1::MutualRecognitionArrangement {
    v1::MutualRecognitionArrangement {
        arrangement_id: "MRA-CN-KZ".into(),
        countries: vec!["CN".into(), "KZ".into()],
        tiers: vec![v1::AeoTier::Full as i32, v1::AeoTier::SecuritySafety as i32],
        benefits: Some(v1::ArrangementBenefits {
            document_check_rate_percent: 50,
            inspection_rate_percent: 25,
            priority_treatment: true,
        }),
        effective_from_unix_micros: T,
        effective_to_unix_micros: 0,
        issued_at_unix_micros: T,
    }
}

fn termination() -> v1::ArrangementTermination {
    v1::ArrangementTermination {
        arrangement_id: "MRA-CN-KZ".into(),
        country: "KZ".into(),
        reason: "review".into(),
        effective_at_unix_micros: 0,
        issued_at_unix_micros: T,
    }
}

/// A row: what it changes, the change, and the refusal's field and a fragment of its reason
/// (`None`: accepted).
type Row<M> = (
    &'static str,
    fn(&mut M),
    Option<(&'static str, &'static str)>,
);

/// Runs `table` on `base`: each row changes a copy, converts it, and expects success or
/// the refusal's field and a fragment of its reason; an accepted message converts back to
/// the same bytes.
fn run<M, D>(base: fn() -> M, table: &[Row<M>])
where
    M: Message + Clone + PartialEq + std::fmt::Debug,
    D: TryFrom<M, Error = ParseError>,
    for<'a> M: From<&'a D>,
{
    for (what, change, want) in table {
        let mut m = base();
        change(&mut m);
        match (D::try_from(m.clone()), want) {
            (Ok(d), None) => assert_eq!(M::from(&d), m, "{what}: back to the wire"),
            (Err(e), Some((field, reason))) => {
                assert_eq!(e.field, *field, "{what}: {e}");
                assert!(e.reason.contains(reason), "{what}: {e}");
            }
            (Ok(_), Some(w)) => panic!("{what}: accepted, expected {w:?}"),
            (Err(e), None) => panic!("{what}: refused: {e}"),
        }
    }
}

#[test]
fn registrations_and_key_updates_from_the_wire() {
    run::<_, OperatorRegistration>(
        registration,
        &[
            ("as it is", |_| {}, None),
            (
                "a bad id",
                |m| m.operator_id = "cn1".into(),
                Some(("operator_id", "")),
            ),
            (
                "an id of another country, checked before the keys",
                |m| {
                    m.country = "KZ".into();
                    m.public_keys = vec![vec![1]];
                },
                Some(("operator_id", "starting with KZ")),
            ),
            (
                "a key twice before a bad key",
                |m| m.public_keys = vec![key(1), key(1), vec![1]],
                Some(("public_keys[1]", "listed twice")),
            ),
            (
                "no key",
                |m| m.public_keys.clear(),
                Some(("public_keys", "at least one key")),
            ),
            (
                "no time, checked before the name",
                |m| {
                    m.issued_at_unix_micros = 0;
                    m.legal_name.clear();
                },
                Some(("issued_at_unix_micros", "required")),
            ),
            (
                "no legal name",
                |m| m.legal_name.clear(),
                Some(("legal_name", "required")),
            ),
            (
                "an address with a line break",
                |m| m.address = "a\nb".into(),
                Some(("address", "control character")),
            ),
        ],
    );
    run::<_, OperatorKeyUpdate>(
        key_update,
        &[
            ("as it is", |_| {}, None),
            ("no reason", |m| m.reason.clear(), None),
            (
                "a key revoked twice",
                |m| m.revoke_keyids.push(m.revoke_keyids[0].clone()),
                Some(("revoke_keyids[1]", "listed twice")),
            ),
            (
                "a key added and revoked",
                |m| m.revoke_keyids = vec![SigningKey::from_seed(&[2; 32]).id().to_string()],
                Some(("revoke_keyids[0]", "listed twice")),
            ),
            (
                "nothing to do",
                |m| {
                    m.add_public_keys.clear();
                    m.revoke_keyids.clear();
                },
                Some(("add_public_keys", "at least one key")),
            ),
            (
                "a bad key id",
                |m| m.revoke_keyids = vec!["x".into()],
                Some(("revoke_keyids[0]", "")),
            ),
        ],
    );
}

#[test]
fn certificates_and_status_changes_from_the_wire() {
    run::<_, AeoCertificate>(
        certificate,
        &[
            ("as it is", |_| {}, None),
            (
                "no tier",
                |m| m.tier = 0,
                Some(("tier", "required: a tier")),
            ),
            (
                "an unknown tier",
                |m| m.tier = 9,
                Some(("tier", "unknown tier number 9")),
            ),
            (
                "a validity ending as it starts, checked before the time",
                |m| {
                    m.valid_to_unix_micros = T;
                    m.issued_at_unix_micros = 0;
                },
                Some(("valid_to_unix_micros", "before it starts")),
            ),
        ],
    );
    run::<_, CertificateStatusChange>(
        status_change,
        &[
            ("as it is", |_| {}, None),
            (
                "a reinstatement without a reason",
                |m| {
                    m.action = v1::CertificateAction::Reinstate as i32;
                    m.reason.clear();
                },
                None,
            ),
            (
                "a suspension without a reason",
                |m| m.reason.clear(),
                Some(("reason", "required")),
            ),
            (
                "no action",
                |m| m.action = 0,
                Some(("action", "required: suspend, reinstate or revoke")),
            ),
            (
                "an unknown action",
                |m| m.action = 7,
                Some(("action", "unknown action number 7")),
            ),
            (
                "a negative time",
                |m| m.effective_at_unix_micros = -1,
                Some(("effective_at_unix_micros", "or 0; got -1")),
            ),
        ],
    );
}

#[test]
fn arrangements_and_terminations_from_the_wire() {
    run::<_, MutualRecognitionArrangement>(
        arrangement,
        &[
            ("as it is", |_| {}, None),
            ("with an end", |m| m.effective_to_unix_micros = T + 1, None),
            (
                "three countries",
                |m| m.countries.push("AZ".into()),
                Some(("countries", "exactly two countries, got 3")),
            ),
            (
                "one country twice",
                |m| m.countries[1] = "CN".into(),
                Some(("countries[1]", "must be different")),
            ),
            (
                "a tier twice",
                |m| m.tiers.push(v1::AeoTier::Full as i32),
                Some(("tiers[2]", "listed twice")),
            ),
            (
                "no tier",
                |m| m.tiers.clear(),
                Some(("tiers", "at least one tier")),
            ),
            (
                "no benefits",
                |m| m.benefits = None,
                Some(("benefits", "required")),
            ),
            (
                "a rate over 100 %",
                |m| {
                    if let Some(b) = m.benefits.as_mut() {
                        b.inspection_rate_percent = 101;
                    }
                },
                Some(("benefits.inspection_rate_percent", "got 101")),
            ),
            (
                "an end before the start",
                |m| m.effective_to_unix_micros = T - 1,
                Some(("effective_to_unix_micros", "before it starts")),
            ),
            (
                "a negative end",
                |m| m.effective_to_unix_micros = -1,
                Some(("effective_to_unix_micros", "or 0; got -1")),
            ),
            (
                "a lower-case id",
                |m| m.arrangement_id = "mra".into(),
                Some(("arrangement_id", "capital letters")),
            ),
        ],
    );
    run::<_, ArrangementTermination>(
        termination,
        &[
            ("as it is", |_| {}, None),
            (
                "no reason",
                |m| m.reason.clear(),
                Some(("reason", "required")),
            ),
            (
                "no time",
                |m| m.issued_at_unix_micros = 0,
                Some(("issued_at_unix_micros", "required")),
            ),
        ],
    );
}

#[test]
fn payloads_that_are_not_protobuf_name_the_payload() {
    let e = decode_aeo_certificate(b"\xff\xff").unwrap_err();
    assert_eq!(e.field, "envelope.payload");
    assert!(e.reason.starts_with("not a protobuf AeoCertificate"), "{e}");
    let bytes = registration().encode_to_vec();
    let r = decode_operator_registration(&bytes).unwrap();
    assert_eq!(v1::OperatorRegistration::from(&r).encode_to_vec(), bytes);
}
