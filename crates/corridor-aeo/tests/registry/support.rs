//! The corridor's keys, a registry running in-process, and the documents the tests sign.

use std::collections::BTreeMap;
use std::path::Path;

use corridor_aeo::sign::request;
use corridor_aeo::{Config, TrustedKeys};
use corridor_core::{CountryCode, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;

pub(crate) const COUNTRIES: [&str; 4] = ["CN", "KZ", "AZ", "TR"];
pub(crate) const DAY: i64 = 86_400_000_000;

/// The corridor's keys: one customs authority per country, an officer, the registry.
pub(crate) struct Keys {
    pub(crate) authority: BTreeMap<&'static str, SigningKey>,
    pub(crate) officer: SigningKey,
    pub(crate) registry: SigningKey,
}

impl Keys {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn of(&self, c: &str) -> &SigningKey {
        &self.authority[c]
    }

    pub(crate) fn trusted(&self) -> TrustedKeys {
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
pub(crate) async fn fresh() -> (tempfile::TempDir, Keys, Running, AeoRegistryClient<Channel>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let r = Running::start(dir.path(), &keys, 1 << 20).await;
    let c = r.client().await;
    (dir, keys, r, c)
}

/// A registry running in-process.
pub(crate) struct Running {
    pub(crate) addr: String,
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: JoinHandle<Result<(), corridor_aeo::Error>>,
}

impl Running {
    pub(crate) async fn start(dir: &Path, keys: &Keys, max_message_bytes: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let config = Config {
            witnessing: Default::default(),
            data_dir: dir.to_owned(),
            origin: "test/aeo-registry".into(),
            key: keys.registry.clone(),
            keys: keys.trusted(),
            clock: Clock::System,
            document_times: Default::default(),
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

    pub(crate) async fn channel(&self) -> Channel {
        Channel::from_shared(self.addr.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub(crate) async fn client(&self) -> AeoRegistryClient<Channel> {
        AeoRegistryClient::connect(self.addr.clone()).await.unwrap()
    }

    pub(crate) async fn reader(&self) -> LedgerReaderClient<Channel> {
        LedgerReaderClient::connect(self.addr.clone())
            .await
            .unwrap()
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// The code of the country that registers operator `id`.
pub(crate) fn country_of(id: &str) -> String {
    OperatorId::parse("operator_id", id)
        .unwrap()
        .country()
        .to_string()
}

pub(crate) fn registration(id: &str, key: &SigningKey) -> v1::OperatorRegistration {
    v1::OperatorRegistration {
        operator_id: id.into(),
        legal_name: format!("Operator {id} LLC"),
        address: "1 Station Road".into(),
        country: country_of(id),
        public_keys: vec![key.public().as_bytes().to_vec()],
        issued_at_unix_micros: now(),
    }
}

pub(crate) fn certificate(aeo_id: &str, operator: &str, tier: v1::AeoTier) -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: aeo_id.into(),
        operator_id: operator.into(),
        tier: tier as i32,
        valid_from_unix_micros: now() - DAY,
        valid_to_unix_micros: now() + 365 * DAY,
        issued_at_unix_micros: now(),
    }
}

pub(crate) fn status_change(
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

pub(crate) fn arrangement(
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

pub(crate) async fn check(
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

pub(crate) async fn ledger_size(r: &Running) -> u64 {
    r.reader()
        .await
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size
}

/// Registers `id` (with a fresh operator key) by its country's authority.
pub(crate) async fn register(
    c: &mut AeoRegistryClient<Channel>,
    keys: &Keys,
    id: &str,
) -> SigningKey {
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
pub(crate) fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, needle: &str) {
    let s = r.unwrap_err();
    assert_eq!(s.code(), code, "{s:?}");
    assert!(
        s.message().contains(needle),
        "{:?} lacks {needle:?}",
        s.message()
    );
}
