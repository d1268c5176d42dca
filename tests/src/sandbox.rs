//! A whole corridor in one test process: the AEO registry, every customs node of a topology
//! and the declarant, each a real gRPC server on an ephemeral port of 127.0.0.1 with its own
//! sled directory under one temporary directory, and development keys made for every role.
//!
//! Listeners are bound before anything starts, so every address is known (and in the
//! topology every service reads) before a service runs, and a client can connect at once:
//! no test waits for readiness.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};
use corridor_core::document::{BillOfLading, BillOfLadingParts, DeclarationParts, TransferEntry};
use corridor_core::{
    AeoId, CountryCode, Digest, Envelope, OperatorId, SigningKey, payload_type as pt,
};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_run::bootstrap::{self, Registrar};
use corridor_topology::Topology;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// A day in microseconds.
pub use corridor_run::bootstrap::DAY;

/// The benefits every arrangement of [`Sandbox::arrange`] grants: half the document checks,
/// a quarter of the inspections, priority.
pub const ARRANGEMENT_BENEFITS: v1::ArrangementBenefits = v1::ArrangementBenefits {
    document_check_rate_percent: 50,
    inspection_rate_percent: 25,
    priority_treatment: true,
};

/// The shipper among `deploy/corridor.toml`'s operators: Xi'an Silk Road Exports.
pub const TOPOLOGY_SHIPPER: &str = "CN91610131XA01";
/// The forwarder in China among `deploy/corridor.toml`'s operators: lodges for the shipper.
pub const TOPOLOGY_FORWARDER: &str = "CN91650000HG02";
/// The carrier among `deploy/corridor.toml`'s operators: KTZ Express.
pub const TOPOLOGY_CARRIER: &str = "KZ180540012345";
/// The forwarder in Azerbaijan among `deploy/corridor.toml`'s operators.
pub const TOPOLOGY_AZ_FORWARDER: &str = "AZ1700112233";
/// The consignee among `deploy/corridor.toml`'s operators: Anatolia Import Trading.
pub const TOPOLOGY_CONSIGNEE: &str = "TR3456789012";

/// Now on the system clock, in unix microseconds (the sandbox's corridor clock).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The repository's `deploy/` directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        let r = self.task.await;
        assert!(matches!(r, Ok(Ok(()))), "service stopped with {r:?}");
    }
}

/// A running corridor.
pub struct Sandbox {
    /// Holds every data directory and key.
    pub dir: tempfile::TempDir,
    /// The corridor as the services read it (ephemeral addresses, development keys).
    pub topology: Topology,
    registry: Option<Running>,
    nodes: BTreeMap<String, Running>,
    declarant: Option<Running>,
    /// Keys of the operators registered so far.
    pub operators: BTreeMap<String, SigningKey>,
}

fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

impl Sandbox {
    /// The Middle Corridor of `deploy/corridor.toml`.
    pub async fn start() -> Self {
        Self::start_with(&deploy_dir().join("corridor.toml")).await
    }

    /// The corridor of topology file `file`, on ephemeral ports.
    pub async fn start_with(file: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let t = Topology::load(file).expect("topology");
        let (mut t, _, _) =
            corridor_topology::init_keys(t, dir.path(), "sandbox").expect("development keys");
        let bind = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0")
        };
        let registry = bind().await;
        t.registry.listen = registry.local_addr().expect("addr").to_string();
        let declarant = bind().await;
        t.declarant.listen = declarant.local_addr().expect("addr").to_string();
        let mut listeners = BTreeMap::new();
        for c in &mut t.countries {
            let l = bind().await;
            c.node.listen = l.local_addr().expect("addr").to_string();
            listeners.insert(c.code.clone(), l);
        }
        let mut sandbox = Self {
            dir,
            topology: t,
            registry: None,
            nodes: BTreeMap::new(),
            declarant: None,
            operators: BTreeMap::new(),
        };
        sandbox.registry = Some(sandbox.spawn_registry(registry));
        for (code, l) in listeners {
            let node = sandbox.spawn_node(&code, l);
            sandbox.nodes.insert(code, node);
        }
        sandbox.declarant = Some(sandbox.spawn_declarant(declarant));
        sandbox
    }

    fn spawn_declarant(&self, listener: TcpListener) -> Running {
        let config = corridor_declarant::Config::from_topology(
            &self.topology,
            self.dir.path().join("declarant"),
            None,
        )
        .expect("declarant config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_declarant::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    fn spawn_registry(&self, listener: TcpListener) -> Running {
        let config = corridor_aeo::Config::from_topology(
            &self.topology,
            self.dir.path().join("registry"),
            None,
        )
        .expect("registry config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_aeo::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    fn spawn_node(&self, code: &str, listener: TcpListener) -> Running {
        let cc = CountryCode::parse("country", code).expect("country");
        let config =
            corridor_customs::Config::from_topology(&self.topology, cc, self.node_dir(code), None)
                .expect("node config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_customs::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    /// The data directory of country `code`'s node (laid out as `corridor up` does).
    pub fn node_dir(&self, code: &str) -> PathBuf {
        self.dir.path().join("customs").join(code)
    }

    /// Starts country `code`'s node on a fresh port from its data directory, and returns
    /// its error when it refuses to start (a node that starts is stopped again; then `Ok`).
    pub async fn try_start_node(&self, code: &str) -> Result<(), String> {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let cc = CountryCode::parse("country", code).expect("country");
        let config =
            corridor_customs::Config::from_topology(&self.topology, cc, self.node_dir(code), None)
                .expect("node config");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shutdown = CancellationToken::new();
        let serving = corridor_customs::serve_ready(l, config, shutdown.clone(), move |_| {
            let _ = tx.send(());
        });
        tokio::pin!(serving);
        tokio::select! {
            r = &mut serving => r.map_err(|e| e.to_string()),
            _ = rx => {
                shutdown.cancel();
                serving.await.map_err(|e| e.to_string())
            }
        }
    }

    /// Stops country `code`'s node (its ledger flushed, a final checkpoint signed).
    pub async fn stop_node(&mut self, code: &str) {
        if let Some(n) = self.nodes.remove(code) {
            n.stop().await;
        }
    }

    /// Starts country `code`'s node again on its address, from its data directory.
    pub async fn restart_node(&mut self, code: &str) {
        let addr = self.node_addr(code);
        let l = TcpListener::bind(addr)
            .await
            .expect("rebind the node's port");
        let node = self.spawn_node(code, l);
        self.nodes.insert(code.to_string(), node);
    }

    /// Stops the registry.
    pub async fn stop_registry(&mut self) {
        if let Some(r) = self.registry.take() {
            r.stop().await;
        }
    }

    /// Stops the declarant (its ledger flushed, a final checkpoint signed).
    pub async fn stop_declarant(&mut self) {
        if let Some(d) = self.declarant.take() {
            d.stop().await;
        }
    }

    /// Starts the declarant again on its address, from its data directory.
    pub async fn restart_declarant(&mut self) {
        let l = TcpListener::bind(self.declarant_addr())
            .await
            .expect("rebind the declarant's port");
        self.declarant = Some(self.spawn_declarant(l));
    }

    /// Stops everything.
    pub async fn stop(mut self) {
        self.stop_declarant().await;
        let codes: Vec<String> = self.nodes.keys().cloned().collect();
        for c in codes {
            self.stop_node(&c).await;
        }
        self.stop_registry().await;
    }

    /// The address of country `code`'s node.
    pub fn node_addr(&self, code: &str) -> SocketAddr {
        let cc = CountryCode::parse("country", code).expect("country");
        self.topology.node_addr(&cc).expect("node address")
    }

    /// The declarant's address.
    pub fn declarant_addr(&self) -> SocketAddr {
        self.topology
            .declarant
            .listen
            .parse()
            .expect("declarant address")
    }

    /// A client of the declarant.
    pub async fn declarant(&self) -> DeclarantClient<Channel> {
        DeclarantClient::connect(endpoint(self.declarant_addr()))
            .await
            .expect("connect to the declarant")
    }

    /// A ledger reader of the declarant.
    pub async fn declarant_ledger(&self) -> LedgerReaderClient<Channel> {
        LedgerReaderClient::connect(endpoint(self.declarant_addr()))
            .await
            .expect("connect to the declarant")
    }

    /// The number of entries in the declarant's ledger, from a checkpoint it signs.
    pub async fn declarant_ledger_size(&self) -> u64 {
        self.declarant_ledger()
            .await
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .expect("checkpoint")
            .into_inner()
            .size
    }

    /// The entries of the declarant's ledger about `subject` (a consignment or a bill), in
    /// sequence order.
    pub async fn declarant_entries(&self, subject: &Digest) -> Vec<v1::LedgerEntry> {
        let mut stream = self
            .declarant_ledger()
            .await
            .list_subject_entries(v1::ListSubjectEntriesRequest {
                subject: subject.to_hex(),
            })
            .await
            .expect("subject entries")
            .into_inner();
        let mut out = Vec::new();
        while let Some(e) = stream.next().await {
            out.push(e.expect("entry"));
        }
        out
    }

    /// The declarant's status, answered at once.
    pub async fn platform_status(&self) -> v1::PlatformStatus {
        self.declarant()
            .await
            .get_platform_status(v1::PlatformStatusRequest {
                min_registry_entries: 0,
            })
            .await
            .expect("platform status")
            .into_inner()
    }

    /// A client of the registry.
    pub async fn registry(&self) -> AeoRegistryClient<Channel> {
        AeoRegistryClient::connect(endpoint(self.topology.registry_addr().expect("addr")))
            .await
            .expect("connect to the registry")
    }

    /// A client of country `code`'s node.
    pub async fn node(&self, code: &str) -> CustomsNodeClient<Channel> {
        CustomsNodeClient::connect(endpoint(self.node_addr(code)))
            .await
            .expect("connect to the node")
    }

    /// A ledger reader of country `code`'s node.
    pub async fn node_ledger(&self, code: &str) -> LedgerReaderClient<Channel> {
        LedgerReaderClient::connect(endpoint(self.node_addr(code)))
            .await
            .expect("connect to the node")
    }

    fn private_key(&self, slot: &Option<corridor_topology::KeyPaths>) -> SigningKey {
        let p = slot
            .as_ref()
            .and_then(|k| k.private.as_ref())
            .expect("development key");
        SigningKey::load(&self.topology.resolve(p)).expect("load key")
    }

    fn country(&self, code: &str) -> &corridor_topology::Country {
        self.topology
            .countries
            .iter()
            .find(|c| c.code == code)
            .expect("country of the topology")
    }

    /// Country `code`'s customs authority key.
    pub fn authority(&self, code: &str) -> SigningKey {
        self.private_key(&self.country(code).authority_key)
    }

    /// The first officer key of country `code`.
    pub fn officer(&self, code: &str) -> SigningKey {
        self.private_key(&self.country(code).officers[0].key)
    }

    /// Country `code`'s node key.
    pub fn node_key(&self, code: &str) -> SigningKey {
        self.private_key(&self.country(code).node.key)
    }

    /// Registers operator `id` with a fresh key, signed by its country's authority.
    pub async fn register(&mut self, id: &str) -> SigningKey {
        let key = SigningKey::generate();
        let op = OperatorId::parse("operator", id).expect("operator id");
        let doc = bootstrap::operator_registration(
            &op,
            &format!("Operator {id}"),
            "1 Station Road",
            &[key.public()],
            now(),
        );
        self.registrar()
            .await
            .register_operator(&doc, &self.authority(op.country().as_str()))
            .await
            .expect("register operator");
        self.operators.insert(id.to_string(), key.clone());
        key
    }

    /// The registry's client that signs with the authorities' keys.
    pub async fn registrar(&self) -> Registrar {
        Registrar::connect(&self.topology)
            .await
            .expect("connect to the registry")
    }

    /// The development key of the topology's operator `id` (`keys/operators/<ID>.key`, the
    /// key the declarant acts with).
    pub fn operator_key(&self, id: &str) -> SigningKey {
        let o = self
            .topology
            .operators
            .iter()
            .find(|o| o.id == id)
            .expect("an operator of the topology");
        self.private_key(&o.key)
    }

    /// Registers every operator of the topology (`[[operators]]`) with its development
    /// public key, each signed by its country's authority: the operators the declarant acts
    /// for.
    pub async fn register_topology_operators(&mut self) {
        let n = bootstrap::register_topology_operators(&self.topology, now())
            .await
            .expect("register a topology operator");
        assert_eq!(n, self.topology.operators.len(), "every operator is new");
        for o in self.topology.operators.clone() {
            let key = self.operator_key(&o.id);
            self.operators.insert(o.id.clone(), key);
        }
    }

    /// Registers the parties of [`Sandbox::consignment`]: shipper, carrier and forwarder.
    pub async fn register_parties(&mut self) {
        for id in [SHIPPER_ID, CARRIER_ID, FORWARDER_ID] {
            self.register(id).await;
        }
    }

    /// Issues AEO certificate `aeo_id` (full tier, valid a year) to `operator`, signed by the
    /// authority of the certificate's country.
    pub async fn certify(&self, aeo_id: &str, operator: &str) {
        let aeo = AeoId::parse("aeo_id", aeo_id).expect("aeo id");
        let doc = bootstrap::certificate(
            &aeo,
            &OperatorId::parse("operator_id", operator).expect("operator id"),
            v1::AeoTier::Full,
            (now() - DAY, now() + 365 * DAY),
            now(),
        );
        self.registrar()
            .await
            .issue_certificate(&doc, &self.authority(aeo.country().as_str()))
            .await
            .expect("issue certificate");
    }

    /// Suspends certificate `aeo_id` from now on.
    pub async fn suspend(&self, aeo_id: &str) {
        let doc = v1::CertificateStatusChange {
            aeo_id: aeo_id.into(),
            action: v1::CertificateAction::Suspend as i32,
            reason: "audit finding".into(),
            effective_at_unix_micros: now(),
            issued_at_unix_micros: now(),
        };
        let country = AeoId::parse("aeo_id", aeo_id).expect("aeo id").country();
        self.registrar()
            .await
            .change_certificate_status(&doc, &self.authority(country.as_str()))
            .await
            .expect("suspend certificate");
    }

    /// Records an arrangement between countries `a` and `b` (all tiers, with
    /// [`ARRANGEMENT_BENEFITS`]), signed by both, in force at once.
    pub async fn arrange(&self, id: &str, a: &str, b: &str) {
        let doc = v1::MutualRecognitionArrangement {
            arrangement_id: id.into(),
            countries: vec![a.into(), b.into()],
            tiers: vec![
                v1::AeoTier::SecuritySafety as i32,
                v1::AeoTier::CustomsSimplifications as i32,
                v1::AeoTier::Full as i32,
            ],
            benefits: Some(ARRANGEMENT_BENEFITS),
            effective_from_unix_micros: now() - DAY,
            effective_to_unix_micros: 0,
            issued_at_unix_micros: now(),
        };
        let r = self
            .registrar()
            .await
            .propose_arrangement(&doc, &[&self.authority(a), &self.authority(b)])
            .await
            .expect("arrangement");
        assert!(r.in_force, "an arrangement signed by both is in force");
    }

    /// Waits until every running node's and the declarant's copy of the registry has every
    /// registry entry.
    pub async fn sync(&self) {
        let running: Vec<CountryCode> = self
            .nodes
            .keys()
            .map(|c| CountryCode::parse("country", c).expect("country"))
            .collect();
        bootstrap::sync_services(&self.topology, &running, self.declarant.is_some())
            .await
            .expect("every running service has the whole registry");
    }

    /// A fresh consignment `n` of the sample goods (Xi'an to Istanbul), declared by the
    /// forwarder for the shipper (who co-signs), its bill issued by the carrier to the
    /// shipper; `tweak` may change the declaration first. The parties must be registered.
    pub fn consignment(&self, n: u32, tweak: impl FnOnce(&mut DeclarationParts)) -> Consignment {
        self.consignment_with(n, |_| {}, tweak)
    }

    /// [`Sandbox::consignment`], with `bill_tweak` changing the bill of lading before the
    /// carrier signs it (the declaration then names the changed bill, and its items must
    /// still match the bill's item by item: change both alike).
    pub fn consignment_with(
        &self,
        n: u32,
        bill_tweak: impl FnOnce(&mut BillOfLadingParts),
        tweak: impl FnOnce(&mut DeclarationParts),
    ) -> Consignment {
        let key = |id: &str| self.operators.get(id).expect("registered party").clone();
        let (shipper, carrier, forwarder) = (key(SHIPPER_ID), key(CARRIER_ID), key(FORWARDER_ID));
        let t0 = now();
        let mut bill_parts = bill_of_lading_at(&format!("KTZE-T-{n:06}"), t0).into_parts();
        bill_tweak(&mut bill_parts);
        let bill = BillOfLading::new(bill_parts).expect("valid bill of lading");
        let benv = Envelope::sign(
            pt::BILL_OF_LADING,
            corridor_proto::encode_bill_of_lading(&bill),
            &carrier,
        );
        let bill_id = benv.document_id();
        let issue = TransferEntry::issue(
            bill_id,
            OperatorId::parse("carrier", CARRIER_ID).expect("id"),
            OperatorId::parse("shipper", SHIPPER_ID).expect("id"),
            t0,
        )
        .expect("issue entry");
        let ienv = Envelope::sign(
            pt::TRANSFER_ENTRY,
            corridor_proto::encode_transfer_entry(&issue),
            &carrier,
        );
        let mut parts = declaration_at(bill_id, &format!("SRM-T-{n:06}"), t0).into_parts();
        tweak(&mut parts);
        let declaration =
            corridor_core::document::Declaration::new(parts).expect("valid declaration");
        let mut denv = Envelope::sign(
            pt::DECLARATION,
            corridor_proto::encode_declaration(&declaration),
            &forwarder,
        );
        denv.add_signature(&shipper);
        let seals = corridor_proto::seal_checks(&bill);
        Consignment {
            id: denv.document_id(),
            request: v1::SubmitDeclarationRequest {
                declaration: Some(v1::Envelope::from(&denv)),
                bill_of_lading: Some(v1::Envelope::from(&benv)),
                transfer_chain: vec![v1::Envelope::from(&ienv)],
            },
            route: declaration
                .route
                .iter()
                .map(|s| s.country.to_string())
                .collect(),
            seals,
        }
    }

    /// Another declaration of consignment `c`'s bill, with the same bill and transfer chain:
    /// `c`'s declaration changed by `tweak`, signed as [`Sandbox::consignment`] signs one.
    pub fn redeclared(
        &self,
        c: &Consignment,
        tweak: impl FnOnce(&mut DeclarationParts),
    ) -> Consignment {
        let key = |id: &str| self.operators.get(id).expect("registered party").clone();
        let env: Envelope = c
            .request
            .declaration
            .clone()
            .expect("a declaration")
            .try_into()
            .expect("a valid envelope");
        let mut parts = corridor_proto::decode_declaration(env.payload())
            .expect("a valid declaration")
            .into_parts();
        tweak(&mut parts);
        let declaration =
            corridor_core::document::Declaration::new(parts).expect("valid declaration");
        let mut denv = Envelope::sign(
            pt::DECLARATION,
            corridor_proto::encode_declaration(&declaration),
            &key(FORWARDER_ID),
        );
        denv.add_signature(&key(SHIPPER_ID));
        let mut request = c.request.clone();
        request.declaration = Some(v1::Envelope::from(&denv));
        Consignment {
            id: denv.document_id(),
            request,
            route: declaration
                .route
                .iter()
                .map(|s| s.country.to_string())
                .collect(),
            seals: c.seals.clone(),
        }
    }

    /// Records arrival (with `seals`) at country `code`, signed by its officer.
    pub async fn arrive(
        &self,
        code: &str,
        id: &Digest,
        seals: Vec<v1::SealCheck>,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        let e = border_event(code, id, v1::BorderEventKind::Arrival, seals);
        self.node(code)
            .await
            .record_border_event(signed(pt::BORDER_EVENT, &e, &self.officer(code)))
            .await
            .map(|r| r.into_inner())
    }

    /// Records exit from country `code`, signed by its officer.
    pub async fn exit(&self, code: &str, id: &Digest) -> Result<v1::StepReceipt, tonic::Status> {
        let e = border_event(code, id, v1::BorderEventKind::Exit, Vec::new());
        self.node(code)
            .await
            .record_border_event(signed(pt::BORDER_EVENT, &e, &self.officer(code)))
            .await
            .map(|r| r.into_inner())
    }

    /// Records an officer's decision at country `code`.
    pub async fn decide(
        &self,
        code: &str,
        id: &Digest,
        outcome: v1::Outcome,
        findings: &str,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        let d = v1::OfficerDecision {
            consignment_id: id.as_bytes().to_vec(),
            country: code.into(),
            outcome: outcome as i32,
            findings: findings.into(),
            at_unix_micros: now(),
        };
        self.node(code)
            .await
            .record_decision(signed(pt::OFFICER_DECISION, &d, &self.officer(code)))
            .await
            .map(|r| r.into_inner())
    }

    /// Follows consignment `id` at country `code` until an event in `state` (or the end of
    /// the consignment there); returns the events seen.
    pub async fn wait_for(
        &self,
        code: &str,
        id: &Digest,
        state: v1::ConsignmentState,
    ) -> Vec<v1::ConsignmentEvent> {
        let mut stream = self
            .node(code)
            .await
            .watch_consignment(v1::WatchConsignmentRequest {
                consignment_id: id.to_hex(),
                from_sequence: 0,
                follow: true,
            })
            .await
            .expect("watch")
            .into_inner();
        let mut seen = Vec::new();
        while let Some(e) = stream.next().await {
            let e = e.expect("event");
            let done = e.state() == state;
            seen.push(e);
            if done {
                return seen;
            }
        }
        panic!("consignment {id} at {code} ended before {state:?}: {seen:#?}");
    }

    /// Country `code`'s node status, answered at once.
    pub async fn node_status(&self, code: &str) -> v1::NodeStatus {
        self.node(code)
            .await
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: 0,
            })
            .await
            .expect("node status")
            .into_inner()
    }

    /// The number of entries in country `code`'s ledger, from a checkpoint the node signs.
    pub async fn ledger_size(&self, code: &str) -> u64 {
        self.node_ledger(code)
            .await
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .expect("checkpoint")
            .into_inner()
            .size
    }

    /// The entries of country `code`'s ledger about consignment `id`, in sequence order.
    pub async fn subject_entries(&self, code: &str, id: &Digest) -> Vec<v1::LedgerEntry> {
        let mut stream = self
            .node_ledger(code)
            .await
            .list_subject_entries(v1::ListSubjectEntriesRequest {
                subject: id.to_hex(),
            })
            .await
            .expect("subject entries")
            .into_inner();
        let mut out = Vec::new();
        while let Some(e) = stream.next().await {
            out.push(e.expect("entry"));
        }
        out
    }

    /// The consignment as country `code` sees it.
    pub async fn view(&self, code: &str, id: &Digest) -> v1::ConsignmentView {
        self.node(code)
            .await
            .get_consignment(v1::ConsignmentRequest {
                consignment_id: id.to_hex(),
            })
            .await
            .expect("consignment")
            .into_inner()
    }
}

/// A consignment ready to submit.
pub struct Consignment {
    /// Its id: the declaration's document id.
    pub id: Digest,
    /// The submission.
    pub request: v1::SubmitDeclarationRequest,
    /// The countries of its route, in order.
    pub route: Vec<String>,
    /// Every seal of its bill, intact.
    pub seals: Vec<v1::SealCheck>,
}

/// A border event document.
pub fn border_event(
    code: &str,
    id: &Digest,
    kind: v1::BorderEventKind,
    seals: Vec<v1::SealCheck>,
) -> v1::BorderEvent {
    v1::BorderEvent {
        consignment_id: id.as_bytes().to_vec(),
        country: code.into(),
        kind: kind as i32,
        border_post: String::new(),
        seals,
        at_unix_micros: now(),
    }
}

/// `doc` signed by `key`, as a request.
pub fn signed(
    payload_type: &str,
    doc: &impl prost::Message,
    key: &SigningKey,
) -> v1::SignedRequest {
    v1::SignedRequest {
        envelope: Some(v1::Envelope::from(&Envelope::sign(
            payload_type,
            doc.encode_to_vec(),
            key,
        ))),
    }
}

pub use corridor_proto::examples::Parties;

/// The topology's demonstration parties: [`TOPOLOGY_SHIPPER`], lodged for by
/// [`TOPOLOGY_FORWARDER`], carried by [`TOPOLOGY_CARRIER`] to [`TOPOLOGY_CONSIGNEE`].
pub fn topology_parties() -> Parties<'static> {
    Parties {
        shipper: TOPOLOGY_SHIPPER,
        declarant: TOPOLOGY_FORWARDER,
        carrier: TOPOLOGY_CARRIER,
        consignee: TOPOLOGY_CONSIGNEE,
    }
}

/// A consignment as plain data for the declarant.
#[derive(Clone, Debug)]
pub struct PlainConsignment {
    /// The request, bill and declaration unsigned.
    pub request: v1::SubmitConsignmentRequest,
    /// The countries of its route, in order.
    pub route: Vec<String>,
    /// Every seal of its bill, intact.
    pub seals: Vec<v1::SealCheck>,
}

/// Consignment `n` of the sample goods as plain data for the declarant, between `parties`,
/// planned from now (`corridor_proto::examples::plain_consignment`).
pub fn plain_consignment(n: u32, parties: &Parties<'_>) -> PlainConsignment {
    let plain = corridor_proto::examples::plain_consignment(
        &format!("KTZE-D-{n:06}"),
        &format!("XSRE-D-{n:06}"),
        now(),
        parties,
    );
    let route = plain
        .request
        .declaration
        .iter()
        .flat_map(|d| &d.route)
        .map(|s| s.country.clone())
        .collect();
    PlainConsignment {
        request: plain.request,
        route,
        seals: plain.seals,
    }
}
