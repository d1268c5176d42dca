//! The rules across fields of the registry's documents, one row per rule: the parts of a
//! valid document changed in one way, and the field and reason of the refusal.

use super::*;
use crate::keys::SigningKey;

const T: UnixMicros = 1_800_000_000_000_000;

fn op(s: &str) -> OperatorId {
    OperatorId::parse("operator_id", s).unwrap()
}

fn country(s: &str) -> CountryCode {
    CountryCode::parse("country", s).unwrap()
}

fn key(seed: u8) -> PublicKey {
    SigningKey::from_seed(&[seed; 32]).public()
}

fn text(s: &str) -> Text {
    Text::parse("text", s).unwrap()
}

/// `Ok(())`, or the field and a fragment of the reason.
type Want = Result<(), (&'static str, &'static str)>;

fn check<T>(what: &str, got: Result<T, ParseError>, want: &Want) {
    match (got, want) {
        (Ok(_), Ok(())) => {}
        (Err(e), Err((field, reason))) => {
            assert_eq!(e.field, *field, "{what}: {e}");
            assert!(e.reason.contains(reason), "{what}: {e}");
        }
        (Ok(_), Err(w)) => panic!("{what}: accepted, expected {w:?}"),
        (Err(e), Ok(())) => panic!("{what}: refused: {e}"),
    }
}

#[test]
fn registrations_and_key_updates() {
    let registration = || OperatorRegistrationParts {
        operator_id: op("CN1"),
        legal_name: text("Operator"),
        address: text("Street 1"),
        country: country("CN"),
        public_keys: vec![key(1)],
        issued_at_unix_micros: T,
    };
    type Change = fn(&mut OperatorRegistrationParts);
    let table: &[(&str, Change, Want)] = &[
        ("as it is", |_| {}, Ok(())),
        (
            "an id of another country",
            |p| p.country = country("KZ"),
            Err(("operator_id", "registered in KZ has an id starting with KZ")),
        ),
        (
            "no key",
            |p| p.public_keys.clear(),
            Err(("public_keys", "at least one key")),
        ),
        (
            "a key twice",
            |p| p.public_keys = vec![key(1), key(2), key(1)],
            Err(("public_keys[2]", "listed twice")),
        ),
        (
            "no time",
            |p| p.issued_at_unix_micros = 0,
            Err(("issued_at_unix_micros", "required")),
        ),
    ];
    for (what, change, want) in table {
        let mut p = registration();
        change(&mut p);
        check(what, OperatorRegistration::new(p), want);
    }

    let update = || OperatorKeyUpdateParts {
        operator_id: op("CN1"),
        add_public_keys: vec![key(2)],
        revoke_keyids: vec![key(1).id()],
        reason: None,
        issued_at_unix_micros: T,
    };
    type UpdateChange = fn(&mut OperatorKeyUpdateParts);
    let table: &[(&str, UpdateChange, Want)] = &[
        ("as it is", |_| {}, Ok(())),
        ("only an addition", |p| p.revoke_keyids.clear(), Ok(())),
        ("only a revocation", |p| p.add_public_keys.clear(), Ok(())),
        (
            "nothing",
            |p| {
                p.add_public_keys.clear();
                p.revoke_keyids.clear();
            },
            Err(("add_public_keys", "adds or revokes at least one key")),
        ),
        (
            "a key added twice",
            |p| p.add_public_keys.push(key(2)),
            Err(("add_public_keys[1]", "listed twice")),
        ),
        (
            "a key revoked twice",
            |p| p.revoke_keyids.push(key(1).id()),
            Err(("revoke_keyids[1]", "listed twice")),
        ),
        (
            "a key added and revoked",
            |p| p.revoke_keyids = vec![key(2).id()],
            Err(("revoke_keyids[0]", "listed twice")),
        ),
    ];
    for (what, change, want) in table {
        let mut p = update();
        change(&mut p);
        check(what, OperatorKeyUpdate::new(p), want);
    }
}

#[test]
fn certificates_and_status_changes() {
    let certificate = || AeoCertificateParts {
        aeo_id: AeoId::parse("aeo_id", "AEOCN0000000001").unwrap(),
        operator_id: op("CN1"),
        tier: AeoTier::Full,
        valid_from_unix_micros: T,
        valid_to_unix_micros: T + 1,
        issued_at_unix_micros: T,
    };
    type Change = fn(&mut AeoCertificateParts);
    let table: &[(&str, Change, Want)] = &[
        ("as it is", |_| {}, Ok(())),
        (
            "a validity that ends as it starts",
            |p| p.valid_to_unix_micros = T,
            Err(("valid_to_unix_micros", "validity ends")),
        ),
        (
            "no start",
            |p| p.valid_from_unix_micros = 0,
            Err(("valid_from_unix_micros", "required")),
        ),
    ];
    for (what, change, want) in table {
        let mut p = certificate();
        change(&mut p);
        check(what, AeoCertificate::new(p), want);
    }

    let change = |action, reason: Option<&str>, effective_at| CertificateStatusChangeParts {
        aeo_id: AeoId::parse("aeo_id", "AEOCN0000000001").unwrap(),
        action,
        reason: reason.map(text),
        effective_at_unix_micros: effective_at,
        issued_at_unix_micros: T,
    };
    use CertificateAction::{Reinstate, Revoke, Suspend};
    let table: &[(&str, CertificateStatusChangeParts, Want)] = &[
        ("a suspension", change(Suspend, Some("audit"), 0), Ok(())),
        (
            "a reinstatement without a reason",
            change(Reinstate, None, 0),
            Ok(()),
        ),
        (
            "a revocation without a reason",
            change(Revoke, None, 0),
            Err(("reason", "required")),
        ),
        (
            "a negative time",
            change(Suspend, Some("audit"), -1),
            Err(("effective_at_unix_micros", "or 0; got -1")),
        ),
    ];
    for (what, parts, want) in table {
        check(what, CertificateStatusChange::new(parts.clone()), want);
    }
}

#[test]
fn arrangements_and_benefits() {
    let arrangement = || MutualRecognitionArrangementParts {
        arrangement_id: ArrangementId::parse("arrangement_id", "MRA-CN-KZ").unwrap(),
        countries: [country("CN"), country("KZ")],
        tiers: vec![AeoTier::Full, AeoTier::SecuritySafety],
        benefits: ArrangementBenefits::FULL_RATES,
        effective_from_unix_micros: T,
        effective_to_unix_micros: None,
        issued_at_unix_micros: T,
    };
    type Change = fn(&mut MutualRecognitionArrangementParts);
    let table: &[(&str, Change, Want)] = &[
        ("as it is", |_| {}, Ok(())),
        (
            "an end after the start",
            |p| p.effective_to_unix_micros = Some(T + 1),
            Ok(()),
        ),
        (
            "one country twice",
            |p| p.countries[1] = country("CN"),
            Err(("countries[1]", "must be different")),
        ),
        (
            "no tier",
            |p| p.tiers.clear(),
            Err(("tiers", "at least one tier")),
        ),
        (
            "a tier twice",
            |p| p.tiers.push(AeoTier::Full),
            Err(("tiers[2]", "listed twice")),
        ),
        (
            "an end at the start",
            |p| p.effective_to_unix_micros = Some(T),
            Err(("effective_to_unix_micros", "ends")),
        ),
    ];
    for (what, change, want) in table {
        let mut p = arrangement();
        change(&mut p);
        let got = MutualRecognitionArrangement::new(p);
        check(what, got.clone(), want);
        if let Ok(m) = got {
            assert!(m.party(&country("KZ")) && !m.party(&country("AZ")));
            assert!(m.covers(AeoTier::Full) && !m.covers(AeoTier::CustomsSimplifications));
        }
    }

    let table: &[(u32, u32, Want)] = &[
        (0, 100, Ok(())),
        (101, 0, Err(("document_check_rate_percent", "got 101"))),
        (0, 101, Err(("inspection_rate_percent", "got 101"))),
    ];
    for (documents, inspections, want) in table {
        let what = format!("{documents} % and {inspections} %");
        check(
            &what,
            ArrangementBenefits::new(*documents, *inspections, false),
            want,
        );
    }

    for (id, ok) in [
        ("MRA-CN-KZ", true),
        ("", false),
        ("mra-cn-kz", false),
        ("MRA CN", false),
        (&"A".repeat(64), true),
        (&"A".repeat(65), false),
    ] {
        assert_eq!(
            ArrangementId::parse("arrangement_id", id).is_ok(),
            ok,
            "{id:?}"
        );
    }
}
