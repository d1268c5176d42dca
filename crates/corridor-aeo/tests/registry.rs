#![allow(clippy::unwrap_used)]
//! The AEO registry over gRPC: an in-process server on 127.0.0.1:0 with a temporary ledger.
//! Each rule of the service is a test; every refused request is checked to have written
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;

use corridor_aeo::sign::{request, sign, submit};
use corridor_aeo::{Config, TrustedKeys};
use corridor_core::{CountryCode, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_ledger::Ledger;
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;

const COUNTRIES: [&str; 4] = ["CN", "KZ", "AZ", "TR"];
const DAY: i64 = 86_400_000_000;

/// The corridor's keys: one customs authority per country, an officer, the registry.
struct Keys {
    authority: BTreeMap<&'static str, SigningKey>,
    officer: SigningKey,
    registry: SigningKey,
}

impl Keys {
    fn new() -> Self {
        Self {
            authority: COUNTRIES
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, SigningKey::from_seed(&[i as u8 + 1; 32])))
                .collect(),
            officer: SigningKey::from_seed(&[40; 32]),
            registry: SigningKey::from_seed(&[50; 32]),
        }
    }

    fn of(&self, c: &str) -> &SigningKey {
        &self.authority[c]
    }

    fn trusted(&self) -> TrustedKeys {
        TrustedKeys::new(
            self.authority
                .iter()
                .map(|(c, k)| (CountryCode::parse("c", c).unwrap(), k.public()))
                .collect(),
            vec![
                ("officer 1 of CN".into(), self.officer.public()),
                ("the AEO registry".into(), self.registry.public()),
            ],
        )
    }
}

/// A registry on a fresh data directory (kept alive by the returned guard), its keys, and
/// a client of it.
async fn fresh() -> (tempfile::TempDir, Keys, Running, AeoRegistryClient<Channel>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let r = Running::start(dir.path(), &keys, 1 << 20).await;
    let c = r.client().await;
    (dir, keys, r, c)
}

/// A registry running in-process.
struct Running {
    addr: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), corridor_aeo::Error>>,
}

impl Running {
    async fn start(dir: &Path, keys: &Keys, max_message_bytes: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let config = Config {
            data_dir: dir.to_owned(),
            origin: "test/aeo-registry".into(),
            key: keys.registry.clone(),
            keys: keys.trusted(),
            clock: Clock::System,
            max_message_bytes,
            transport: Default::default(),
        };
        let task = tokio::spawn(corridor_aeo::serve(listener, config, shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.addr.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn client(&self) -> AeoRegistryClient<Channel> {
        AeoRegistryClient::connect(self.addr.clone()).await.unwrap()
    }

    async fn reader(&self) -> LedgerReaderClient<Channel> {
        LedgerReaderClient::connect(self.addr.clone())
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// The code of the country that registers operator `id`.
fn country_of(id: &str) -> String {
    OperatorId::parse("operator_id", id)
        .unwrap()
        .country()
        .to_string()
}

fn registration(id: &str, key: &SigningKey) -> v1::OperatorRegistration {
    v1::OperatorRegistration {
        operator_id: id.into(),
        legal_name: format!("Operator {id} LLC"),
        address: "1 Station Road".into(),
        country: country_of(id),
        public_keys: vec![key.public().as_bytes().to_vec()],
        issued_at_unix_micros: now(),
    }
}

fn certificate(aeo_id: &str, operator: &str, tier: v1::AeoTier) -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: aeo_id.into(),
        operator_id: operator.into(),
        tier: tier as i32,
        valid_from_unix_micros: now() - DAY,
        valid_to_unix_micros: now() + 365 * DAY,
        issued_at_unix_micros: now(),
    }
}

fn status_change(
    aeo_id: &str,
    action: v1::CertificateAction,
    at: i64,
) -> v1::CertificateStatusChange {
    v1::CertificateStatusChange {
        aeo_id: aeo_id.into(),
        action: action as i32,
        reason: "audit finding".into(),
        effective_at_unix_micros: at,
        issued_at_unix_micros: now(),
    }
}

fn arrangement(
    id: &str,
    a: &str,
    b: &str,
    tiers: &[v1::AeoTier],
) -> v1::MutualRecognitionArrangement {
    v1::MutualRecognitionArrangement {
        arrangement_id: id.into(),
        countries: vec![a.into(), b.into()],
        tiers: tiers.iter().map(|t| *t as i32).collect(),
        benefits: Some(v1::ArrangementBenefits {
            document_check_rate_percent: 50,
            inspection_rate_percent: 25,
            priority_treatment: true,
        }),
        effective_from_unix_micros: now() - DAY,
        effective_to_unix_micros: 0,
        issued_at_unix_micros: now(),
    }
}

async fn check(
    c: &mut AeoRegistryClient<Channel>,
    op: &str,
    country: &str,
    at: i64,
) -> v1::CheckRecognitionResponse {
    c.check_recognition(v1::CheckRecognitionRequest {
        operator_id: op.into(),
        country: country.into(),
        at_unix_micros: at,
    })
    .await
    .unwrap()
    .into_inner()
}

async fn ledger_size(r: &Running) -> u64 {
    r.reader()
        .await
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size
}

/// Registers `id` (with a fresh operator key) by its country's authority.
async fn register(c: &mut AeoRegistryClient<Channel>, keys: &Keys, id: &str) -> SigningKey {
    let op_key = SigningKey::generate();
    c.register_operator(request(
        pt::OPERATOR_REGISTRATION,
        &registration(id, &op_key),
        keys.of(&country_of(id)),
    ))
    .await
    .unwrap();
    op_key
}

/// Asserts `r` failed with `code` and a message containing `needle`.
fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, needle: &str) {
    let s = r.unwrap_err();
    assert_eq!(s.code(), code, "{s:?}");
    assert!(
        s.message().contains(needle),
        "{:?} lacks {needle:?}",
        s.message()
    );
}

#[tokio::test]
async fn an_own_certificate_is_recognised_with_its_reason() {
    let (_dir, keys, r, mut c) = fresh().await;
    let op_key = register(&mut c, &keys, "CN91310000MA1K").await;
    let before = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert_eq!(before.reason, v1::RecognitionReason::NoCertificate as i32);
    let receipt = c
        .issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(receipt.new);
    assert_eq!(receipt.seq, 1);
    // Validity started a day ago; it counts from when it was recorded: not back-dated.
    assert!(receipt.effective_at_unix_micros >= receipt.recorded_at_unix_micros);

    let a = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert!(a.recognised, "{a:?}");
    assert_eq!(a.reason, v1::RecognitionReason::OwnCertificate as i32);
    assert_eq!(a.aeo_id, "AEOCN0123456789");
    assert_eq!(a.tier, v1::AeoTier::Full as i32);
    assert_eq!(a.ledger_size, 2);
    // Before it was recorded it did not count.
    let early = check(&mut c, "CN91310000MA1K", "CN", now() - DAY / 2).await;
    assert_eq!(early.reason, v1::RecognitionReason::OutsideValidity as i32);
    // Not recognised in KZ: no arrangement.
    let kz = check(&mut c, "CN91310000MA1K", "KZ", 0).await;
    assert!(!kz.recognised);
    assert_eq!(kz.reason, v1::RecognitionReason::NoArrangement as i32);
    let unknown = check(&mut c, "KZ999", "KZ", 0).await;
    assert_eq!(
        unknown.reason,
        v1::RecognitionReason::UnknownOperator as i32
    );

    let o = c
        .get_operator(v1::GetOperatorRequest {
            operator_id: "CN91310000MA1K".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o.keys[0].keyid, op_key.id().to_string());
    let list = c
        .list_certificates(v1::ListCertificatesRequest {
            operator_id: String::new(),
            country: "CN".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.certificates.len(), 1);
    assert_eq!(
        list.certificates[0].status,
        v1::CertificateStatus::Active as i32
    );
    r.stop().await;
}

#[tokio::test]
async fn unknown_or_bad_signatures_are_unauthenticated_and_write_nothing() {
    let (_dir, keys, r, mut c) = fresh().await;
    let stranger = SigningKey::generate();
    let reg = registration("KZ180540012345", &SigningKey::generate());
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, &stranger))
            .await,
        Code::Unauthenticated,
        "is not known to the registry",
    );
    // A known key, a signature that does not verify (payload changed after signing).
    let env = sign(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ"));
    let (t, mut payload, sigs) = env.into_parts();
    payload.push(0);
    let forged = Envelope::from_parts(t, payload, sigs).unwrap();
    refused(
        c.register_operator(submit(&forged)).await,
        Code::Unauthenticated,
        "does not verify",
    );
    // No signature at all: malformed.
    let mut m = v1::Envelope::from(&sign(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ")));
    m.signatures.clear();
    refused(
        c.register_operator(v1::SubmitRequest { envelope: Some(m) })
            .await,
        Code::InvalidArgument,
        "envelope.signatures",
    );
    assert_eq!(ledger_size(&r).await, 0);
    r.stop().await;
}

#[tokio::test]
async fn keys_acting_beyond_their_role_are_permission_denied() {
    let (_dir, keys, r, mut c) = fresh().await;
    let op_key = register(&mut c, &keys, "KZ180540012345").await;
    // CN's authority certifying a KZ operator under a CN id.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOCN0000000001", "KZ180540012345", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await,
        Code::PermissionDenied,
        "registered in KZ",
    );
    // CN's authority signing a KZ certificate.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
            keys.of("CN"),
        ))
        .await,
        Code::PermissionDenied,
        "customs authority of KZ",
    );
    // The operator's own key signing its certificate.
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
            &op_key,
        ))
        .await,
        Code::PermissionDenied,
        "operator KZ180540012345",
    );
    // An officer registering an operator.
    refused(
        c.register_operator(request(
            pt::OPERATOR_REGISTRATION,
            &registration("CN777", &SigningKey::generate()),
            &keys.officer,
        ))
        .await,
        Code::PermissionDenied,
        "officer 1 of CN",
    );
    assert_eq!(ledger_size(&r).await, 1);
    r.stop().await;
}

#[tokio::test]
async fn steps_out_of_order_are_failed_preconditions() {
    let (_dir, keys, r, mut c) = fresh().await;
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOAZ0000000001", "AZ1700112233", v1::AeoTier::Full),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "AZ1700112233 is not registered",
    );
    register(&mut c, &keys, "AZ1700112233").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOAZ0000000001", "AZ1700112233", v1::AeoTier::Full),
        keys.of("AZ"),
    ))
    .await
    .unwrap();
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Reinstate, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "not suspended",
    );
    let revoked = c
        .change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Revoke, 0),
            keys.of("AZ"),
        ))
        .await
        .unwrap()
        .into_inner();
    let size = ledger_size(&r).await;
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000001", v1::CertificateAction::Suspend, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::FailedPrecondition,
        "revoked",
    );
    assert_eq!(ledger_size(&r).await, size);
    let a = check(&mut c, "AZ1700112233", "AZ", 0).await;
    assert_eq!(a.reason, v1::RecognitionReason::Revoked as i32);
    assert_eq!(a.since_unix_micros, revoked.effective_at_unix_micros);
    refused(
        c.change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change("AEOAZ0000000009", v1::CertificateAction::Suspend, 0),
            keys.of("AZ"),
        ))
        .await,
        Code::NotFound,
        "AEOAZ0000000009",
    );
    r.stop().await;
}

#[tokio::test]
async fn malformed_fields_are_invalid_arguments_naming_the_field() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "TR3456789012").await;
    let mut cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full);
    cert.valid_to_unix_micros = cert.valid_from_unix_micros - 1;
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "valid_to_unix_micros",
    );
    // Validity that ended before the certificate could be recorded: it would never count.
    let mut cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full);
    cert.valid_from_unix_micros = now() - 2 * DAY;
    cert.valid_to_unix_micros = now() - DAY;
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "valid_to_unix_micros",
    );
    let cert = certificate("AEOTR00000001", "TR3456789012", v1::AeoTier::Full);
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "aeo_id",
    );
    let cert = certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Unspecified);
    refused(
        c.issue_certificate(request(pt::AEO_CERTIFICATE, &cert, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "tier",
    );
    let mut reg = registration("TR1111", &SigningKey::generate());
    reg.country = "XX".into();
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "country",
    );
    let mut reg = registration("TR1111", &SigningKey::generate());
    reg.public_keys[0].truncate(31);
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "public_keys[0]",
    );
    // A document of the wrong kind for the RPC.
    refused(
        c.issue_certificate(request(
            pt::OPERATOR_REGISTRATION,
            &registration("TR2222", &SigningKey::generate()),
            keys.of("TR"),
        ))
        .await,
        Code::InvalidArgument,
        "envelope.payload_type",
    );
    let mut ended = arrangement("MRA-TR-AZ-OLD", "TR", "AZ", &[v1::AeoTier::Full]);
    ended.effective_from_unix_micros = now() - 3 * DAY;
    ended.effective_to_unix_micros = now() - 2 * DAY;
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &ended, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "effective_to_unix_micros",
    );
    let mut mra = arrangement("MRA-TR-TR", "TR", "TR", &[v1::AeoTier::Full]);
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "countries[1]",
    );
    mra.countries[1] = "AZ".into();
    mra.arrangement_id = "mra tr az".into();
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("TR")))
            .await,
        Code::InvalidArgument,
        "arrangement_id",
    );
    refused(
        c.check_recognition(v1::CheckRecognitionRequest {
            operator_id: "TR3456789012".into(),
            country: "tr".into(),
            at_unix_micros: 0,
        })
        .await,
        Code::InvalidArgument,
        "country",
    );
    refused(
        c.check_recognition(v1::CheckRecognitionRequest {
            operator_id: "T".into(),
            country: "TR".into(),
            at_unix_micros: 0,
        })
        .await,
        Code::InvalidArgument,
        "operator_id",
    );
    assert_eq!(ledger_size(&r).await, 1);
    r.stop().await;
}

#[tokio::test]
async fn the_same_envelope_twice_is_one_entry_and_a_conflicting_id_already_exists() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN91310000MA1K").await;
    let req = request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
        keys.of("CN"),
    );
    let first = c.issue_certificate(req.clone()).await.unwrap().into_inner();
    let again = c.issue_certificate(req).await.unwrap().into_inner();
    assert!(first.new && !again.new);
    assert_eq!(
        (first.seq, &first.entry_hash, first.effective_at_unix_micros),
        (again.seq, &again.entry_hash, again.effective_at_unix_micros)
    );
    assert_eq!(ledger_size(&r).await, 2);
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate(
                "AEOCN0123456789",
                "CN91310000MA1K",
                v1::AeoTier::SecuritySafety,
            ),
            keys.of("CN"),
        ))
        .await,
        Code::AlreadyExists,
        "AEOCN0123456789",
    );
    let mut reg = registration("CN91310000MA1K", &SigningKey::generate());
    reg.legal_name = "Someone Else".into();
    refused(
        c.register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("CN")))
            .await,
        Code::AlreadyExists,
        "already registered",
    );
    assert_eq!(ledger_size(&r).await, 2);
    r.stop().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_by_the_configured_limit() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let r = Running::start(dir.path(), &keys, 16 * 1024).await;
    let mut c = r.client().await;
    let mut reg = registration("KZ180540012345", &SigningKey::generate());
    reg.address = "x".repeat(20 * 1024);
    let s = c
        .register_operator(request(pt::OPERATOR_REGISTRATION, &reg, keys.of("KZ")))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    assert!(s.message().contains("16384"), "{s:?}");
    assert_eq!(ledger_size(&r).await, 0);
    r.stop().await;
}

#[tokio::test]
async fn arrangements_need_both_signatures_and_their_scope_decides() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ180540012345").await;
    register(&mut c, &keys, "AZ1700112233").await;
    for (aeo, op, tier) in [
        ("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
        (
            "AEOAZ0000000001",
            "AZ1700112233",
            v1::AeoTier::SecuritySafety,
        ),
    ] {
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate(aeo, op, tier),
            keys.of(&country_of(op)),
        ))
        .await
        .unwrap();
    }
    let mra = arrangement("MRA-KZ-AZ-2026", "KZ", "AZ", &[v1::AeoTier::Full]);
    // Neither party: refused.
    refused(
        c.propose_arrangement(request(pt::MUTUAL_RECOGNITION, &mra, keys.of("CN")))
            .await,
        Code::PermissionDenied,
        "customs authority of CN",
    );
    // Countersigning before a proposal.
    let mut both = sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("KZ"));
    both.add_signature(keys.of("AZ"));
    refused(
        c.countersign_arrangement(submit(&both)).await,
        Code::FailedPrecondition,
        "has not been proposed",
    );
    let proposed = sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("KZ"));
    let p = c
        .propose_arrangement(submit(&proposed))
        .await
        .unwrap()
        .into_inner();
    assert!(!p.in_force);
    let pending = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert_eq!(pending.reason, v1::RecognitionReason::NoArrangement as i32);
    // The proposal again is the same entry; the other side's signature alone does not bring
    // it into force.
    let same = c
        .countersign_arrangement(submit(&proposed))
        .await
        .unwrap()
        .into_inner();
    assert!(!same.new && !same.in_force && same.seq == p.seq);
    refused(
        c.countersign_arrangement(submit(&sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("AZ"))))
            .await,
        Code::FailedPrecondition,
        "signatures of both",
    );
    // Different terms under the same id.
    let mut other = mra.clone();
    other.tiers.push(v1::AeoTier::SecuritySafety as i32);
    let mut other_env = sign(pt::MUTUAL_RECOGNITION, &other, keys.of("KZ"));
    other_env.add_signature(keys.of("AZ"));
    refused(
        c.countersign_arrangement(submit(&other_env)).await,
        Code::AlreadyExists,
        "different terms",
    );
    // The other side countersigns the record it reads from the registry.
    let listed = c
        .list_arrangements(v1::ListArrangementsRequest {
            country: "AZ".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.arrangements[0].state,
        v1::ArrangementState::Pending as i32
    );
    let mut countersigned: Envelope = listed.arrangements[0]
        .envelope
        .clone()
        .unwrap()
        .try_into()
        .unwrap();
    countersigned.add_signature(keys.of("AZ"));
    let cs = c
        .countersign_arrangement(submit(&countersigned))
        .await
        .unwrap()
        .into_inner();
    assert!(cs.in_force && cs.new && cs.seq == p.seq + 1);

    let a = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert!(a.recognised, "{a:?}");
    assert_eq!(a.reason, v1::RecognitionReason::MutualRecognition as i32);
    assert_eq!(a.arrangement_id, "MRA-KZ-AZ-2026");
    assert_eq!(a.benefits.unwrap().inspection_rate_percent, 25);
    // The AZ certificate is security-and-safety only: out of the arrangement's scope.
    let b = check(&mut c, "AZ1700112233", "KZ", 0).await;
    assert_eq!(b.reason, v1::RecognitionReason::TierOutOfScope as i32);
    // Before the countersignature was recorded it was not in force.
    let before = check(&mut c, "KZ180540012345", "AZ", p.recorded_at_unix_micros).await;
    assert!(!before.recognised);

    // Only a party terminates, signed by its own authority.
    let term = v1::ArrangementTermination {
        arrangement_id: "MRA-KZ-AZ-2026".into(),
        country: "AZ".into(),
        reason: "renegotiation".into(),
        effective_at_unix_micros: 0,
        issued_at_unix_micros: now(),
    };
    refused(
        c.terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &term, keys.of("KZ")))
            .await,
        Code::PermissionDenied,
        "customs authority of AZ",
    );
    let t = c
        .terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &term, keys.of("AZ")))
        .await
        .unwrap()
        .into_inner();
    let after = check(&mut c, "KZ180540012345", "AZ", 0).await;
    assert_eq!(after.reason, v1::RecognitionReason::NoArrangement as i32);
    let during = check(
        &mut c,
        "KZ180540012345",
        "AZ",
        t.effective_at_unix_micros - 1,
    )
    .await;
    assert!(during.recognised);
    let mut again = term.clone();
    again.issued_at_unix_micros += 1;
    refused(
        c.terminate_arrangement(request(pt::ARRANGEMENT_TERMINATION, &again, keys.of("AZ")))
            .await,
        Code::FailedPrecondition,
        "already terminated",
    );
    r.stop().await;
}

#[tokio::test]
async fn suspension_and_reinstatement_take_effect_when_stated_never_earlier() {
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN91310000MA1K").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOCN0123456789", "CN91310000MA1K", v1::AeoTier::Full),
        keys.of("CN"),
    ))
    .await
    .unwrap();
    // A back-dated suspension takes effect when recorded.
    let s = c
        .change_certificate_status(request(
            pt::CERTIFICATE_STATUS_CHANGE,
            &status_change(
                "AEOCN0123456789",
                v1::CertificateAction::Suspend,
                now() - DAY,
            ),
            keys.of("CN"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(s.effective_at_unix_micros >= s.recorded_at_unix_micros);
    let a = check(&mut c, "CN91310000MA1K", "CN", 0).await;
    assert_eq!(a.reason, v1::RecognitionReason::Suspended as i32);
    assert_eq!(a.since_unix_micros, s.effective_at_unix_micros);
    assert!(a.detail.contains("audit finding"));
    let earlier = check(
        &mut c,
        "CN91310000MA1K",
        "CN",
        s.effective_at_unix_micros - 1,
    )
    .await;
    assert!(earlier.recognised);
    // Reinstated a day from now: suspended until then, recognised after.
    let later = now() + DAY;
    c.change_certificate_status(request(
        pt::CERTIFICATE_STATUS_CHANGE,
        &status_change("AEOCN0123456789", v1::CertificateAction::Reinstate, later),
        keys.of("CN"),
    ))
    .await
    .unwrap();
    assert!(!check(&mut c, "CN91310000MA1K", "CN", 0).await.recognised);
    assert!(
        check(&mut c, "CN91310000MA1K", "CN", later)
            .await
            .recognised
    );
    let list = c
        .list_certificates(v1::ListCertificatesRequest {
            operator_id: "CN91310000MA1K".into(),
            country: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.certificates[0].history.len(), 3);
    r.stop().await;
}

#[tokio::test]
async fn key_rotation_and_revocation_by_the_operators_authority() {
    let (_dir, keys, r, mut c) = fresh().await;
    let old = register(&mut c, &keys, "TR3456789012").await;
    let new = SigningKey::generate();
    let update = v1::OperatorKeyUpdate {
        operator_id: "TR3456789012".into(),
        add_public_keys: vec![new.public().as_bytes().to_vec()],
        revoke_keyids: vec![old.id().to_string()],
        reason: "annual rotation".into(),
        issued_at_unix_micros: now(),
    };
    refused(
        c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &update, keys.of("AZ")))
            .await,
        Code::PermissionDenied,
        "customs authority of TR",
    );
    c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &update, keys.of("TR")))
        .await
        .unwrap();
    let o = c
        .get_operator(v1::GetOperatorRequest {
            operator_id: "TR3456789012".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(o.keys[0].revoked_at_unix_micros > 0);
    assert_eq!(o.keys[1].keyid, new.id().to_string());
    assert_eq!(o.keys[1].revoked_at_unix_micros, 0);
    // Revoking the last active key is refused; a revoked key signs nothing.
    let last = v1::OperatorKeyUpdate {
        add_public_keys: vec![],
        revoke_keyids: vec![new.id().to_string()],
        issued_at_unix_micros: now() + 1,
        ..update.clone()
    };
    refused(
        c.update_operator_keys(request(pt::OPERATOR_KEY_UPDATE, &last, keys.of("TR")))
            .await,
        Code::FailedPrecondition,
        "without an active key",
    );
    refused(
        c.issue_certificate(request(
            pt::AEO_CERTIFICATE,
            &certificate("AEOTR0000000001", "TR3456789012", v1::AeoTier::Full),
            &old,
        ))
        .await,
        Code::Unauthenticated,
        "revoked",
    );
    r.stop().await;
}

#[tokio::test]
async fn watchers_resume_from_any_sequence_without_gaps_or_duplicates() {
    let (_dir, keys, r, mut c) = fresh().await;
    for id in ["CN1", "KZ1", "AZ1"] {
        register(&mut c, &keys, id).await;
    }
    let mut all = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut from_two = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 2 })
        .await
        .unwrap()
        .into_inner();
    for want in 0..3 {
        let e = all.next().await.unwrap().unwrap().entry.unwrap();
        assert_eq!(e.seq, want);
        assert_eq!(e.kind, "aeo.operator.registered");
    }
    assert_eq!(
        from_two.next().await.unwrap().unwrap().entry.unwrap().seq,
        2
    );
    // A change recorded while they watch reaches both, once.
    register(&mut c, &keys, "TR1").await;
    let e = all.next().await.unwrap().unwrap().entry.unwrap();
    assert_eq!((e.seq, e.subject.as_str()), (3, "TR1"));
    assert_eq!(
        from_two.next().await.unwrap().unwrap().entry.unwrap().seq,
        3
    );
    // The entries' links hold.
    let first = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 3 })
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap()
        .entry
        .unwrap();
    assert_eq!(first.hash, e.hash);
    drop((all, from_two));
    r.stop().await;
}

#[tokio::test]
async fn health_reflection_and_the_ledger_reader_are_served() {
    use tonic_health::pb::health_client::HealthClient;
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN1").await;
    register(&mut c, &keys, "KZ1").await;

    let mut h = HealthClient::new(r.channel().await);
    for service in ["", "corridor.v1.AeoRegistry", "corridor.v1.LedgerReader"] {
        let s = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            s.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }

    // Reflection, both versions: list services.
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut rc = ServerReflectionClient::new(r.channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut s = rc
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(l)) =
            s.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        let names: Vec<_> = l.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.contains(&"corridor.v1.AeoRegistry".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"corridor.v1.LedgerReader".to_string()),
            "{names:?}"
        );
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut rc = ServerReflectionClient::new(r.channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "corridor.v1.AeoRegistry".into(),
            )),
        };
        let mut s = rc
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::FileDescriptorResponse(f)) =
            s.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected file descriptors");
        };
        assert!(!f.file_descriptor_proto.is_empty());
    }

    let mut reader = r.reader().await;
    let cp = reader
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.size, 2);
    corridor_ledger::Checkpoint::parse(&cp.note)
        .unwrap()
        .verify(&keys.registry.public())
        .unwrap();
    let entries: Vec<_> = reader
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(entries[1].hash, cp.head_hash);
    let kz: Vec<_> = reader
        .list_subject_entries(v1::ListSubjectEntriesRequest {
            subject: "KZ1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(kz.len(), 1);
    assert_eq!(kz[0].seq, 1);
    r.stop().await;
}

#[tokio::test]
async fn a_restarted_registry_answers_the_same_and_its_ledger_verifies() {
    let (dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ180540012345").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
        keys.of("KZ"),
    ))
    .await
    .unwrap();
    let mut both = sign(
        pt::MUTUAL_RECOGNITION,
        &arrangement("MRA-KZ-TR", "KZ", "TR", &[v1::AeoTier::Full]),
        keys.of("TR"),
    );
    both.add_signature(keys.of("KZ"));
    assert!(
        c.propose_arrangement(submit(&both))
            .await
            .unwrap()
            .into_inner()
            .in_force
    );
    let at = now();
    let before = check(&mut c, "KZ180540012345", "TR", at).await;
    assert!(before.recognised);
    r.stop().await;

    let verified = corridor_ledger::verify_dir(dir.path(), Some(&keys.registry.public()))
        .unwrap()
        .unwrap();
    assert_eq!(verified.entries, 3);

    let r = Running::start(dir.path(), &keys, 1 << 20).await;
    let mut c = r.client().await;
    assert_eq!(check(&mut c, "KZ180540012345", "TR", at).await, before);
    r.stop().await;
}

#[tokio::test]
async fn a_state_row_that_disagrees_with_the_ledger_stops_the_start() {
    let (dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ1").await;
    r.stop().await;
    {
        // An entry recorded with a state row that says something else.
        let ledger = Ledger::open(dir.path(), "test/aeo-registry", &keys.registry).unwrap();
        let env = sign(
            pt::OPERATOR_REGISTRATION,
            &registration("KZ2", &SigningKey::generate()),
            keys.of("KZ"),
        );
        ledger
            .append(corridor_ledger::Append {
                kind: "aeo.operator.registered".into(),
                subject: "KZ2".into(),
                time_unix_micros: now(),
                envelope: corridor_proto::encode_envelope(&env),
                extra: vec![(b"op/KZ2".to_vec(), Some(b"not the record".to_vec()))],
            })
            .await
            .unwrap();
        ledger.close();
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        origin: "test/aeo-registry".into(),
        key: keys.registry.clone(),
        keys: keys.trusted(),
        clock: Clock::System,
        max_message_bytes: 1 << 20,
        transport: Default::default(),
    };
    let err = corridor_aeo::serve(listener, config, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("op/KZ2"), "{err}");
}
