#![allow(clippy::unwrap_used)]
//! The AEO replica against a real registry: an in-process server on 127.0.0.1:0 with a
//! temporary ledger, followed by a [`ReplicaStore`] in another temporary directory. The
//! replica must answer as the registry does, with and without it, and refuse entries that
//! were changed or forged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use corridor_aeo::sign::{request, sign, submit};
use corridor_aeo::{Config, Error, Replica, ReplicaStore, TrustedKeys};
use corridor_core::{CountryCode, Digest, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

const COUNTRIES: [&str; 4] = ["CN", "KZ", "AZ", "TR"];
const DAY: i64 = 86_400_000_000;
/// A guard against a hung test, not a readiness wait.
const PATIENCE: Duration = Duration::from_secs(60);

/// The corridor's keys: one customs authority per country, the registry.
struct Keys {
    authority: BTreeMap<&'static str, SigningKey>,
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
            vec![("the AEO registry".into(), self.registry.public())],
        )
    }
}

/// A registry running in-process, ready (ledger open, state rebuilt) once `start` returns.
struct Running {
    addr: String,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), Error>>,
}

impl Running {
    async fn start(dir: &Path, keys: &Keys) -> Self {
        Self::start_on(dir, keys, "127.0.0.1:0").await
    }

    /// On `bind` (an address a stopped registry used, to restart it there).
    async fn start_on(dir: &Path, keys: &Keys, bind: &str) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
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
            max_message_bytes: 1 << 20,
            transport: Default::default(),
        };
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(corridor_aeo::serve_ready(
            listener,
            config,
            shutdown.clone(),
            move |_| {
                let _ = ready_tx.send(());
            },
        ));
        ready.await.unwrap();
        Self {
            addr,
            shutdown,
            task,
        }
    }

    async fn client(&self) -> AeoRegistryClient<Channel> {
        AeoRegistryClient::connect(self.addr.clone()).await.unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A replica store following a registry until stopped.
struct Follower {
    store: Arc<ReplicaStore>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Follower {
    fn start(dir: &Path, keys: &Keys, addr: &str) -> Self {
        let store = ReplicaStore::open(dir, keys.trusted()).unwrap();
        let shutdown = CancellationToken::new();
        let registry = corridor_net::Transport::plaintext().endpoint(addr).unwrap();
        let task = tokio::spawn(store.clone().follow(registry, shutdown.clone()));
        Self {
            store,
            shutdown,
            task,
        }
    }

    /// Waits until the store holds `n` entries durably.
    async fn caught_up(&self, n: u64) {
        let mut len = self.store.subscribe();
        tokio::time::timeout(PATIENCE, len.wait_for(|l| *l >= n))
            .await
            .expect("the replica did not catch up")
            .unwrap();
        assert_eq!(self.store.len(), n);
    }

    /// Stops following; returns the store.
    async fn stop(self) -> Arc<ReplicaStore> {
        self.shutdown.cancel();
        self.task.await.unwrap();
        self.store
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

async fn issue(c: &mut AeoRegistryClient<Channel>, keys: &Keys, aeo: &str, op: &str) -> u64 {
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate(aeo, op, v1::AeoTier::Full),
        keys.of(&country_of(op)),
    ))
    .await
    .unwrap()
    .into_inner()
    .seq
}

/// Records, through the registry: CN1 certified by CN, KZ1 certified by KZ then suspended,
/// AZ1 without a certificate, an arrangement CN-TR in force for full AEOs. Returns the
/// ledger's length.
async fn populate(c: &mut AeoRegistryClient<Channel>, keys: &Keys) -> u64 {
    for id in ["CN1", "KZ1", "AZ1"] {
        register(c, keys, id).await;
    }
    issue(c, keys, "AEOCN0000000001", "CN1").await;
    issue(c, keys, "AEOKZ0000000001", "KZ1").await;
    c.change_certificate_status(request(
        pt::CERTIFICATE_STATUS_CHANGE,
        &v1::CertificateStatusChange {
            aeo_id: "AEOKZ0000000001".into(),
            action: v1::CertificateAction::Suspend as i32,
            reason: "audit finding".into(),
            effective_at_unix_micros: 0,
            issued_at_unix_micros: now(),
        },
        keys.of("KZ"),
    ))
    .await
    .unwrap();
    let mra = v1::MutualRecognitionArrangement {
        arrangement_id: "MRA-CN-TR".into(),
        countries: vec!["CN".into(), "TR".into()],
        tiers: vec![v1::AeoTier::Full as i32],
        benefits: Some(v1::ArrangementBenefits {
            document_check_rate_percent: 50,
            inspection_rate_percent: 25,
            priority_treatment: true,
        }),
        effective_from_unix_micros: now() - DAY,
        effective_to_unix_micros: 0,
        issued_at_unix_micros: now(),
    };
    let mut both = sign(pt::MUTUAL_RECOGNITION, &mra, keys.of("CN"));
    both.add_signature(keys.of("TR"));
    let r = c
        .propose_arrangement(submit(&both))
        .await
        .unwrap()
        .into_inner();
    assert!(r.in_force);
    r.seq + 1
}

/// The questions asked of registry and replica, with the reason the registry must give.
const QUESTIONS: [(&str, &str, v1::RecognitionReason); 6] = [
    ("CN1", "CN", v1::RecognitionReason::OwnCertificate),
    ("CN1", "TR", v1::RecognitionReason::MutualRecognition),
    ("CN1", "KZ", v1::RecognitionReason::NoArrangement),
    ("KZ1", "KZ", v1::RecognitionReason::Suspended),
    ("AZ1", "AZ", v1::RecognitionReason::NoCertificate),
    ("TR9", "TR", v1::RecognitionReason::UnknownOperator),
];

fn op(s: &str) -> OperatorId {
    OperatorId::parse("operator", s).unwrap()
}

fn country(s: &str) -> CountryCode {
    CountryCode::parse("country", s).unwrap()
}

/// The registry's answers to [`QUESTIONS`] at `at`, checked against their expected reasons.
async fn registry_answers(
    c: &mut AeoRegistryClient<Channel>,
    at: i64,
) -> Vec<v1::CheckRecognitionResponse> {
    let mut out = Vec::new();
    for (o, country, reason) in QUESTIONS {
        let a = c
            .check_recognition(v1::CheckRecognitionRequest {
                operator_id: o.into(),
                country: country.into(),
                at_unix_micros: at,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a.reason, reason as i32, "{o} in {country}: {a:?}");
        out.push(a);
    }
    out
}

/// Asserts the replica answers [`QUESTIONS`] at `at` exactly as the registry did.
fn assert_answers_as(replica: &Replica, at: i64, registry: &[v1::CheckRecognitionResponse]) {
    for ((o, c, _), want) in QUESTIONS.iter().zip(registry) {
        let got = replica.check_recognition(&op(o), &country(c), at);
        assert_eq!(&got, want, "{o} in {c}");
        let mirror = replica.recognition(&op(o), &country(c), at);
        assert_eq!(mirror.recognised, want.recognised, "{o} in {c}");
        assert_eq!(mirror.reason as i32, want.reason, "{o} in {c}");
        assert_eq!(
            mirror.aeo_id.map(|a| a.to_string()).unwrap_or_default(),
            want.aeo_id
        );
        assert_eq!(mirror.arrangement.unwrap_or_default(), want.arrangement_id);
        assert_eq!(mirror.since, want.since_unix_micros);
        assert_eq!(mirror.benefits, want.benefits);
        assert_eq!(mirror.detail, want.detail);
    }
}

/// Every entry of the registry's ledger, as `WatchChanges` streams them.
async fn entries(c: &mut AeoRegistryClient<Channel>, n: u64) -> Vec<v1::LedgerEntry> {
    let mut s = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while (out.len() as u64) < n {
        out.push(s.next().await.unwrap().unwrap().entry.unwrap());
    }
    out
}

/// An entry that follows `replica`'s head correctly (sequence, link, hash) and records `env`.
fn chained(replica: &Replica, kind: &str, subject: &str, env: &Envelope) -> v1::LedgerEntry {
    let e = corridor_ledger::Entry {
        seq: replica.len(),
        prev_hash: replica.head(),
        time_unix_micros: now(),
        kind: kind.into(),
        subject: subject.into(),
        envelope: corridor_proto::encode_envelope(env),
    };
    let hash = e.hash();
    corridor_proto::v1::LedgerEntry {
        seq: e.seq,
        prev_hash: e.prev_hash.as_bytes().to_vec(),
        time_unix_micros: e.time_unix_micros,
        kind: e.kind,
        subject: e.subject,
        envelope: e.envelope,
        hash: hash.as_bytes().to_vec(),
    }
}

/// Opens the replica's sled database directly, once the store just dropped has let go of
/// its lock (sled releases it a moment after the last handle is dropped).
fn open_sled(dir: &Path) -> sled::Db {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match corridor_ledger::layout::sled_config(dir).open() {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("lock"), "{e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Asserts `apply` refused entry `seq` saying `needle`, and left the replica as it was.
fn assert_refused(replica: &mut Replica, entry: &v1::LedgerEntry, seq: u64, needle: &str) {
    let (len, head) = (replica.len(), replica.head());
    match replica.apply(entry) {
        Err(Error::Refused { seq: s, reason }) => {
            assert_eq!(s, seq, "{reason}");
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        }
        other => panic!("expected a refusal of entry {seq}, got {other:?}"),
    }
    assert_eq!((replica.len(), replica.head()), (len, head));
}

#[tokio::test]
async fn a_follower_reaches_the_registry_and_answers_as_it_does() {
    let (reg_dir, rep_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = Keys::new();
    let r = Running::start(reg_dir.path(), &keys).await;
    let f = Follower::start(rep_dir.path(), &keys, &r.addr);
    let mut c = r.client().await;
    let n = populate(&mut c, &keys).await;
    f.caught_up(n).await;
    let at = now();
    let answers = registry_answers(&mut c, at).await;
    assert!(answers.iter().all(|a| a.ledger_size == n));
    {
        let replica = f.store.read();
        assert_eq!(replica.len(), n);
        assert_answers_as(&replica, at, &answers);
    }
    // A change recorded while it follows reaches it too.
    let seq = issue(&mut c, &keys, "AEOAZ0000000001", "AZ1").await;
    f.caught_up(seq + 1).await;
    let a = f
        .store
        .read()
        .recognition(&op("AZ1"), &country("AZ"), now());
    assert_eq!(a.reason, v1::RecognitionReason::OwnCertificate);
    assert!(a.recognised);
    assert_eq!(a.aeo_id.unwrap().to_string(), "AEOAZ0000000001");
    assert!(f.store.refusal().is_none());
    f.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn a_reopened_replica_answers_the_same_without_the_registry() {
    let (reg_dir, rep_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = Keys::new();
    let r = Running::start(reg_dir.path(), &keys).await;
    let f = Follower::start(rep_dir.path(), &keys, &r.addr);
    let mut c = r.client().await;
    let n = populate(&mut c, &keys).await;
    f.caught_up(n).await;
    let at = now();
    let answers = registry_answers(&mut c, at).await;
    let head = f.store.read().head();
    drop(f.stop().await);
    r.stop().await;

    // The node restarts while the registry is down: the replica comes from disk alone.
    let store = ReplicaStore::open(rep_dir.path(), keys.trusted()).unwrap();
    assert_eq!(store.len(), n);
    {
        let replica = store.read();
        assert_eq!((replica.len(), replica.head()), (n, head));
        assert_answers_as(&replica, at, &answers);
    }
    drop(store);

    // A stored entry changed on disk: the store refuses to open, naming the entry.
    {
        use prost::Message;
        let db = open_sled(rep_dir.path());
        let key = 2u64.to_be_bytes();
        let mut e = v1::LedgerEntry::decode(db.get(key).unwrap().unwrap().as_ref()).unwrap();
        let last = e.envelope.len() - 1;
        e.envelope[last] ^= 0x01;
        db.insert(key, e.encode_to_vec()).unwrap();
        db.flush().unwrap();
    }
    match ReplicaStore::open(rep_dir.path(), keys.trusted()) {
        Err(Error::Refused { seq, reason }) => {
            assert_eq!(seq, 2, "{reason}");
            assert!(reason.contains("changed after it was recorded"), "{reason}");
        }
        other => panic!("expected entry 2 refused, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn a_follower_retries_and_resumes_where_it_stopped() {
    let (reg_dir, rep_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = Keys::new();
    let r = Running::start(reg_dir.path(), &keys).await;
    let addr = r.addr.clone();
    let mut c = r.client().await;
    register(&mut c, &keys, "CN1").await;
    let f = Follower::start(rep_dir.path(), &keys, &addr);
    f.caught_up(1).await;
    // The registry goes away and comes back at the same address with one more change.
    r.stop().await;
    let r = Running::start_on(reg_dir.path(), &keys, addr.trim_start_matches("http://")).await;
    let mut c = r.client().await;
    register(&mut c, &keys, "KZ1").await;
    f.caught_up(2).await;
    assert_eq!(
        f.store
            .read()
            .recognition(&op("KZ1"), &country("KZ"), now())
            .reason,
        v1::RecognitionReason::NoCertificate
    );
    // Stopped and reopened, it resumes from what it stored.
    let store = f.stop().await;
    drop(store);
    let f = Follower::start(rep_dir.path(), &keys, &addr);
    assert_eq!(f.store.len(), 2);
    register(&mut c, &keys, "AZ1").await;
    f.caught_up(3).await;
    let expected = entries(&mut c, 3).await;
    assert_eq!(
        f.store.read().head().as_bytes().as_slice(),
        expected[2].hash
    );
    f.stop().await;
    r.stop().await;
}

#[tokio::test]
async fn changed_or_misplaced_entries_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let r = Running::start(dir.path(), &keys).await;
    let mut c = r.client().await;
    let n = populate(&mut c, &keys).await;
    let all = entries(&mut c, n).await;
    r.stop().await;

    let mut replica = Replica::new(keys.trusted());
    for e in &all[..3] {
        replica.apply(e).unwrap();
    }
    // One byte of the envelope changed: the entry no longer hashes to its hash.
    let mut changed = all[3].clone();
    let mid = changed.envelope.len() / 2;
    changed.envelope[mid] ^= 0x01;
    assert_refused(&mut replica, &changed, 3, "changed after it was recorded");
    // Claiming another predecessor.
    let mut relinked = all[3].clone();
    relinked.prev_hash = all[1].hash.clone();
    assert_refused(
        &mut replica,
        &relinked,
        3,
        "is not the hash of the entry before it",
    );
    // Out of order: entry 4 before 3, and entry 2 again.
    assert_refused(&mut replica, &all[4], 4, "out of sequence");
    assert_refused(&mut replica, &all[2], 2, "out of sequence");
    // The genuine entries still apply, and the replica ends where the registry's ledger does.
    for e in &all[3..] {
        replica.apply(e).unwrap();
    }
    assert_eq!(replica.len(), n);
    assert_eq!(
        replica.head().as_bytes().as_slice(),
        all[all.len() - 1].hash
    );
}

#[tokio::test]
async fn forged_entries_are_refused_for_their_signatures() {
    let keys = Keys::new();
    let mut replica = Replica::new(keys.trusted());
    let genuine = sign(
        pt::OPERATOR_REGISTRATION,
        &registration("KZ1", &SigningKey::generate()),
        keys.of("KZ"),
    );
    replica
        .apply(&chained(
            &replica,
            "aeo.operator.registered",
            "KZ1",
            &genuine,
        ))
        .unwrap();

    // Correctly chained and hashed, but the payload was changed after the authority signed.
    let doc = registration("KZ2", &SigningKey::generate());
    let (t, mut payload, sigs) = sign(pt::OPERATOR_REGISTRATION, &doc, keys.of("KZ")).into_parts();
    payload.push(0);
    let forged = Envelope::from_parts(t, payload, sigs).unwrap();
    let entry = chained(&replica, "aeo.operator.registered", "KZ2", &forged);
    assert_refused(&mut replica, &entry, 1, "does not verify");
    // Signed by a key the corridor does not know.
    let stranger = sign(pt::OPERATOR_REGISTRATION, &doc, &SigningKey::generate());
    let entry = chained(&replica, "aeo.operator.registered", "KZ2", &stranger);
    assert_refused(&mut replica, &entry, 1, "is not known to the registry");
    // Signed by an authority, but not the one whose operator it registers.
    let wrong = sign(pt::OPERATOR_REGISTRATION, &doc, keys.of("CN"));
    let entry = chained(&replica, "aeo.operator.registered", "KZ2", &wrong);
    assert_refused(&mut replica, &entry, 1, "customs authority of KZ");
    // A kind the registry never records.
    let entry = chained(&replica, "aeo.operator.renamed", "KZ2", &genuine);
    assert_refused(&mut replica, &entry, 1, "unknown kind");

    let genuine = sign(pt::OPERATOR_REGISTRATION, &doc, keys.of("KZ"));
    replica
        .apply(&chained(
            &replica,
            "aeo.operator.registered",
            "KZ2",
            &genuine,
        ))
        .unwrap();
    assert_eq!(replica.len(), 2);
    assert_ne!(replica.head(), Digest::ZERO);
}

#[tokio::test]
async fn operator_keys_are_valid_from_their_addition_until_their_revocation() {
    let (reg_dir, rep_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = Keys::new();
    let r = Running::start(reg_dir.path(), &keys).await;
    let f = Follower::start(rep_dir.path(), &keys, &r.addr);
    let mut c = r.client().await;
    let old = register(&mut c, &keys, "TR1").await;
    let new = SigningKey::generate();
    let update = c
        .update_operator_keys(request(
            pt::OPERATOR_KEY_UPDATE,
            &v1::OperatorKeyUpdate {
                operator_id: "TR1".into(),
                add_public_keys: vec![new.public().as_bytes().to_vec()],
                revoke_keyids: vec![old.id().to_string()],
                reason: "annual rotation".into(),
                issued_at_unix_micros: now(),
            },
            keys.of("TR"),
        ))
        .await
        .unwrap()
        .into_inner();
    f.caught_up(update.seq + 1).await;
    let record = c
        .get_operator(v1::GetOperatorRequest {
            operator_id: "TR1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let registered = record.registered_at_unix_micros;
    let rotated = update.recorded_at_unix_micros;
    assert_eq!(record.keys[0].revoked_at_unix_micros, rotated);
    assert_eq!(record.keys[1].added_at_unix_micros, rotated);
    assert!(registered < rotated);

    {
        let replica = f.store.read();
        let tr1 = op("TR1");
        let key_at = |k: &SigningKey, at: i64| replica.operator_key(&tr1, &k.id(), at);
        assert_eq!(key_at(&old, registered).unwrap(), old.public());
        assert_eq!(key_at(&old, rotated - 1).unwrap(), old.public());
        let revoked = key_at(&old, rotated).unwrap_err();
        assert!(
            revoked.contains("revoked") && revoked.contains(&rotated.to_string()),
            "{revoked}"
        );
        let early = key_at(&old, registered - 1).unwrap_err();
        assert!(early.contains("not yet valid"), "{early}");
        let early = key_at(&new, rotated - 1).unwrap_err();
        assert!(early.contains("not yet valid"), "{early}");
        assert_eq!(key_at(&new, rotated).unwrap(), new.public());
        let foreign = key_at(keys.of("TR"), rotated).unwrap_err();
        assert!(foreign.contains("not a key of operator TR1"), "{foreign}");
        let unknown = replica
            .operator_key(&op("TR9"), &new.id(), rotated)
            .unwrap_err();
        assert!(unknown.contains("not registered"), "{unknown}");
    }
    f.stop().await;
    r.stop().await;
}
