//! Recognition decided over states built change by change: who is recognised where and
//! when, and what the answer names.

use corridor_core::aeo::record::RecognitionReason;
use corridor_core::{CountryCode, OperatorId};
use corridor_proto::v1;

use super::{Finding, check};
use crate::testing::{DAY, Fixture, T0};

/// Operators CN1 (full, valid 100 days), CN2 (security and safety, suspended on day 5),
/// CN3 (no certificate), KZ1 (full, valid 10 days, revoked on day 7) and AZ1; arrangements
/// CN-KZ (full, from day 2) and CN-AZ (full, from day 3).
fn corridor() -> Fixture {
    use v1::AeoTier::{Full, SecuritySafety};
    let mut f = Fixture::new();
    for op in ["CN1", "CN2", "CN3", "KZ1", "AZ1"] {
        f.operator(op);
    }
    f.cert("AEOCN0000000001", "CN1", Full, T0 + 100 * DAY);
    f.cert("AEOCN0000000002", "CN2", SecuritySafety, T0 + 100 * DAY);
    f.cert("AEOKZ0000000001", "KZ1", Full, T0 + 10 * DAY);
    f.status(
        "AEOCN0000000002",
        v1::CertificateAction::Suspend,
        T0 + 5 * DAY,
    );
    f.status(
        "AEOKZ0000000001",
        v1::CertificateAction::Revoke,
        T0 + 7 * DAY,
    );
    f.mra("MRA-CN-KZ", "CN", "KZ", &[Full], T0 + 2 * DAY);
    f.mra("MRA-CN-AZ", "CN", "AZ", &[Full], T0 + 3 * DAY);
    f
}

fn ask(f: &Fixture, op: &str, country: &str, at: i64) -> Finding {
    check(
        &f.state,
        &OperatorId::parse("op", op).unwrap(),
        &CountryCode::parse("c", country).unwrap(),
        at,
    )
}

#[test]
fn recognition_decision_table() {
    use RecognitionReason as R;
    let f = corridor();
    let table: &[(&str, &str, i64, R)] = &[
        ("CN1", "CN", T0 + DAY, R::OwnCertificate),
        ("CN1", "CN", T0 - 1, R::OutsideValidity),
        ("CN1", "CN", T0 + 100 * DAY, R::OutsideValidity),
        ("CN1", "KZ", T0 + DAY, R::NoArrangement),
        ("CN1", "KZ", T0 + 2 * DAY, R::MutualRecognition),
        ("CN1", "AZ", T0 + 4 * DAY, R::MutualRecognition),
        ("CN1", "TR", T0 + 4 * DAY, R::NoArrangement),
        ("CN2", "KZ", T0 + 4 * DAY, R::TierOutOfScope),
        ("CN2", "CN", T0 + 4 * DAY, R::OwnCertificate),
        ("CN2", "CN", T0 + 5 * DAY, R::Suspended),
        ("CN3", "CN", T0 + DAY, R::NoCertificate),
        ("KZ1", "CN", T0 + 6 * DAY, R::MutualRecognition),
        ("KZ1", "CN", T0 + 7 * DAY, R::Revoked),
        ("KZ1", "AZ", T0 + 6 * DAY, R::NoArrangement),
        ("AZ1", "AZ", T0, R::NoCertificate),
        ("TR1", "TR", T0, R::UnknownOperator),
    ];
    for (op, country, at, want) in table {
        let got = ask(&f, op, country, *at);
        assert_eq!(
            got.reason,
            *want,
            "{op} in {country} at T0{:+}: {got:?}",
            at - T0
        );
    }
}

/// What a finding names besides its reason.
struct Named {
    recognised: bool,
    aeo_id: Option<&'static str>,
    arrangement: Option<&'static str>,
    since: i64,
    /// Benefits' document check rate, when there are benefits.
    document_checks: Option<u32>,
    detail: &'static str,
}

#[test]
fn findings_name_the_certificate_the_arrangement_and_since_when() {
    let f = corridor();
    let table: &[(&str, &str, i64, Named)] = &[
        (
            "CN1",
            "CN",
            T0 + DAY,
            Named {
                recognised: true,
                aeo_id: Some("AEOCN0000000001"),
                arrangement: None,
                since: 0,
                document_checks: Some(100),
                detail: "CN1 holds AEOCN0000000001 (full) of CN, valid at this time",
            },
        ),
        (
            "CN1",
            "KZ",
            T0 + 2 * DAY,
            Named {
                recognised: true,
                aeo_id: Some("AEOCN0000000001"),
                arrangement: Some("MRA-CN-KZ"),
                since: 0,
                document_checks: Some(0),
                detail: "which KZ recognises under arrangement MRA-CN-KZ",
            },
        ),
        (
            "CN2",
            "KZ",
            T0 + 4 * DAY,
            Named {
                recognised: false,
                aeo_id: Some("AEOCN0000000002"),
                arrangement: Some("MRA-CN-KZ"),
                since: 0,
                document_checks: None,
                detail: "does not cover tier security-safety of AEOCN0000000002",
            },
        ),
        (
            "CN2",
            "CN",
            T0 + 6 * DAY,
            Named {
                recognised: false,
                aeo_id: Some("AEOCN0000000002"),
                arrangement: None,
                since: T0 + 5 * DAY,
                document_checks: None,
                detail: "certificate AEOCN0000000002 is suspended: reason",
            },
        ),
        (
            "KZ1",
            "CN",
            T0 + 8 * DAY,
            Named {
                recognised: false,
                aeo_id: Some("AEOKZ0000000001"),
                arrangement: None,
                since: T0 + 7 * DAY,
                document_checks: None,
                detail: "certificate AEOKZ0000000001 is revoked: reason",
            },
        ),
        (
            "CN1",
            "CN",
            T0 - 1,
            Named {
                recognised: false,
                aeo_id: Some("AEOCN0000000001"),
                arrangement: None,
                since: 0,
                document_checks: None,
                detail: "is valid from",
            },
        ),
        (
            "CN1",
            "KZ",
            T0 + DAY,
            Named {
                recognised: false,
                aeo_id: Some("AEOCN0000000001"),
                arrangement: None,
                since: 0,
                document_checks: None,
                detail: "no arrangement between CN and KZ is in force at this time",
            },
        ),
        (
            "TR1",
            "TR",
            T0,
            Named {
                recognised: false,
                aeo_id: None,
                arrangement: None,
                since: 0,
                document_checks: None,
                detail: "operator TR1 is not registered",
            },
        ),
    ];
    for (op, country, at, want) in table {
        let got = ask(&f, op, country, *at);
        let row = format!("{op} in {country} at T0{:+}: {got:?}", at - T0);
        assert_eq!(got.reason.recognises(), want.recognised, "{row}");
        assert_eq!(
            got.aeo_id.as_ref().map(|a| a.as_str()),
            want.aeo_id,
            "{row}"
        );
        assert_eq!(
            got.arrangement.as_ref().map(|m| m.as_str()),
            want.arrangement,
            "{row}"
        );
        assert_eq!(got.since, want.since, "{row}");
        assert_eq!(
            got.benefits.map(|b| b.document_check_rate_percent()),
            want.document_checks,
            "{row}"
        );
        assert!(got.detail.contains(want.detail), "{row}");
    }
}

#[test]
fn the_first_certificate_that_counts_answers_else_the_first_failure() {
    // CN4's certificates in id order: 5 (suspended from day 1, valid 10 days), then 6
    // (valid 100 days).
    use RecognitionReason as R;
    use v1::AeoTier::Full;
    let mut f = Fixture::new();
    f.operator("CN4");
    f.cert("AEOCN0000000005", "CN4", Full, T0 + 10 * DAY);
    f.cert("AEOCN0000000006", "CN4", Full, T0 + 100 * DAY);
    f.status("AEOCN0000000005", v1::CertificateAction::Suspend, T0 + DAY);
    let table: &[(i64, R, &str)] = &[
        (T0 + 2 * DAY, R::OwnCertificate, "AEOCN0000000006"),
        (T0 + 200 * DAY, R::Suspended, "AEOCN0000000005"),
    ];
    for (at, reason, aeo) in table {
        let got = ask(&f, "CN4", "CN", *at);
        assert_eq!(got.reason, *reason, "{got:?}");
        assert_eq!(
            got.aeo_id.as_ref().map(|a| a.as_str()),
            Some(*aeo),
            "{got:?}"
        );
    }
}
