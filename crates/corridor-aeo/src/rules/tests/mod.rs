//! The seven rules, each case a change checked against one state: what it changes when
//! accepted, or the gRPC code and message of its refusal. One file per kind of object.

mod arrangements;
mod certificates;
mod operators;

use corridor_core::{Envelope, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_service::Refusal;
use tonic::Code;

use super::Op;
use crate::error::Error;
use crate::sign::sign;
use crate::testing::{
    DAY, Fixture, T0, arrangement, authority, key_update, registration, termination,
};

use v1::AeoTier::Full;
use v1::CertificateAction::{Revoke, Suspend};

/// When the cases are checked: ten days after T0.
const NOW: i64 = T0 + 10 * DAY;

/// The state every case is checked against.
struct Base {
    f: Fixture,
    /// CN1's key.
    cn1: SigningKey,
    /// CN3's two keys; `cn3_revoked` was revoked.
    cn3: SigningKey,
    cn3_revoked: SigningKey,
    /// KZ1's key.
    kz1: SigningKey,
    /// The proposal of MRA-CN-AZ, signed by CN only.
    pending: v1::MutualRecognitionArrangement,
}

/// Operators CN1, CN2, CN3 (one key revoked), KZ1; certificates AEOCN0000000001 (CN1,
/// active), AEOCN0000000002 (CN2, suspended), AEOCN0000000003 (CN2, revoked); arrangements
/// MRA-CN-KZ (in force), MRA-CN-AZ (pending), MRA-KZ-AZ (terminated).
fn base() -> Base {
    let mut f = Fixture::new();
    let cn1 = f.operator("CN1");
    f.operator("CN2");
    let kz1 = f.operator("KZ1");
    let (cn3, cn3_revoked) = (SigningKey::generate(), SigningKey::generate());
    let doc = registration("CN3", &[&cn3, &cn3_revoked]);
    f.apply(
        Op::Register,
        sign(pt::OPERATOR_REGISTRATION, &doc, &authority("CN")),
        T0,
    );
    let doc = key_update("CN3", &[], &[&cn3_revoked]);
    f.apply(
        Op::Keys,
        sign(pt::OPERATOR_KEY_UPDATE, &doc, &authority("CN")),
        T0,
    );
    f.cert("AEOCN0000000001", "CN1", Full, T0 + 100 * DAY);
    f.cert("AEOCN0000000002", "CN2", Full, T0 + 100 * DAY);
    f.cert("AEOCN0000000003", "CN2", Full, T0 + 100 * DAY);
    f.status("AEOCN0000000002", Suspend, T0 + DAY);
    f.status("AEOCN0000000003", Revoke, T0 + DAY);
    f.mra("MRA-CN-KZ", "CN", "KZ", &[Full], T0);
    let pending = arrangement("MRA-CN-AZ", "CN", "AZ", &[Full], 0);
    f.apply(
        Op::Propose,
        sign(pt::MUTUAL_RECOGNITION, &pending, &authority("CN")),
        T0,
    );
    f.mra("MRA-KZ-AZ", "KZ", "AZ", &[Full], T0);
    let doc = termination("MRA-KZ-AZ", "KZ", 0);
    f.apply(
        Op::Terminate,
        sign(pt::ARRANGEMENT_TERMINATION, &doc, &authority("KZ")),
        T0 + DAY,
    );
    Base {
        f,
        cn1,
        cn3,
        cn3_revoked,
        kz1,
        pending,
    }
}

/// What a case expects.
enum Want {
    /// Accepted: the entry's subject, when the change takes effect, whether it brings an
    /// arrangement into force.
    Ok {
        subject: &'static str,
        effective_at: i64,
        in_force: bool,
    },
    /// Refused with this code and a message containing this.
    Refused(Code, &'static str),
}

use Want::Refused;

fn ok(subject: &'static str, effective_at: i64, in_force: bool) -> Want {
    Want::Ok {
        subject,
        effective_at,
        in_force,
    }
}

struct Case {
    what: &'static str,
    op: Op,
    env: Envelope,
    want: Want,
}

fn case(what: &'static str, op: Op, env: Envelope, want: Want) -> Case {
    Case {
        what,
        op,
        env,
        want,
    }
}

/// Checks every case against the same state at [`NOW`], none applied.
fn run(w: &Base, cases: Vec<Case>) {
    for c in cases {
        let got = w.f.state.prepare(c.op, &c.env, NOW, w.f.seq);
        match (got, c.want) {
            (
                Ok(change),
                Want::Ok {
                    subject,
                    effective_at,
                    in_force,
                },
            ) => {
                assert_eq!(change.subject(), subject, "{}", c.what);
                assert_eq!(change.effective_at(), effective_at, "{}", c.what);
                assert_eq!(change.in_force(), in_force, "{}", c.what);
                assert_eq!(change.document(), c.env.document_id(), "{}", c.what);
            }
            (Err(e), Refused(code, needle)) => {
                let s = tonic::Status::from(e);
                assert_eq!(s.code(), code, "{}: {}", c.what, s.message());
                assert!(
                    s.message().contains(needle),
                    "{}: {:?} does not contain {needle:?}",
                    c.what,
                    s.message()
                );
            }
            (Ok(change), Refused(code, needle)) => panic!(
                "{}: accepted ({:?}), expected {code:?} {needle:?}",
                c.what,
                change.subject()
            ),
            (Err(e), Want::Ok { .. }) => panic!("{}: refused: {e}", c.what),
        }
    }
}

fn registered(id: &str, key: &SigningKey, by: &SigningKey) -> Envelope {
    sign(pt::OPERATOR_REGISTRATION, &registration(id, &[key]), by)
}

#[test]
fn a_staged_change_counts_until_unstaged() {
    let mut w = base();
    let env = registered("CN4", &SigningKey::generate(), &authority("CN"));
    let again = registered("CN4", &SigningKey::generate(), &authority("CN"));
    let change = w.f.state.prepare(Op::Register, &env, NOW, w.f.seq).unwrap();
    w.f.state.stage(&change);
    let refused = w.f.state.prepare(Op::Register, &again, NOW, w.f.seq + 1);
    assert!(
        matches!(refused, Err(Error::Refusal(Refusal::AlreadyExists(ref m))) if m.contains("CN4 is already registered")),
        "{:?}",
        refused.err()
    );
    w.f.state.unstage();
    assert!(
        w.f.state
            .prepare(Op::Register, &again, NOW, w.f.seq)
            .is_ok()
    );
}
