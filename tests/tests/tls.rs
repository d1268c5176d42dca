#![allow(clippy::unwrap_used)]
//! The corridor over mutual TLS: the registry, every customs node and the declarant run with
//! a topology that `init_keys_with` gave a development CA and a certificate per service. A
//! consignment is cleared at CN and handed over to KZ through the nodes' own mTLS clients;
//! the nodes and the declarant follow the registry over mTLS, and the dashboard reads every
//! service over it. A client without a certificate, with a certificate of another CA, or in
//! plaintext is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use corridor_core::document::examples::{
    CARRIER_ID, FORWARDER_ID, SHIPPER_ID, bill_of_lading_at, declaration_at,
};
use corridor_core::document::{BillOfLading, Declaration, TransferEntry};
use corridor_core::{CountryCode, Envelope, OperatorId, SigningKey, payload_type as pt};
use corridor_net::Transport;
use corridor_proto::v1;
use corridor_proto::v1::ConsignmentState as S;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_run::bootstrap::{Registrar, operator_registration};
use corridor_tests::sandbox::{border_event, deploy_dir, now, signed};
use corridor_topology::{InitOptions, ServiceRole, Topology};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// A corridor over mTLS, in-process on ephemeral ports.
struct Corridor {
    _dir: tempfile::TempDir,
    t: Topology,
    client: Transport,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<Result<(), String>>>,
}

impl Corridor {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Topology::load(&deploy_dir().join("corridor.toml")).unwrap();
        let bind = || async { TcpListener::bind("127.0.0.1:0").await.unwrap() };
        let registry = bind().await;
        t.registry.listen = registry.local_addr().unwrap().to_string();
        let declarant = bind().await;
        t.declarant.listen = declarant.local_addr().unwrap().to_string();
        let mut nodes = BTreeMap::new();
        for c in &mut t.countries {
            let l = bind().await;
            c.node.listen = l.local_addr().unwrap().to_string();
            nodes.insert(c.code.clone(), l);
        }
        let (t, _, _) =
            corridor_topology::init_keys_with(t, dir.path(), "tls test", InitOptions { tls: true })
                .unwrap();
        assert!(t.tls_enabled());
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let config =
            corridor_aeo::Config::from_topology(&t, dir.path().join("registry"), None).unwrap();
        assert!(config.transport.is_tls());
        let token = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            corridor_aeo::serve(registry, config, token)
                .await
                .map_err(|e| e.to_string())
        }));
        for (code, l) in nodes {
            let cc = CountryCode::parse("country", &code).unwrap();
            let data = dir.path().join("customs").join(&code);
            let config = corridor_customs::Config::from_topology(&t, cc, data, None).unwrap();
            let token = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                corridor_customs::serve(l, config, token)
                    .await
                    .map_err(|e| e.to_string())
            }));
        }
        let config =
            corridor_declarant::Config::from_topology(&t, dir.path().join("declarant"), None)
                .unwrap();
        let token = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            corridor_declarant::serve(declarant, config, token)
                .await
                .map_err(|e| e.to_string())
        }));
        let client = Transport::for_role(&t, &ServiceRole::Client).unwrap();
        Self {
            _dir: dir,
            t,
            client,
            shutdown,
            tasks,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let r = task.await;
            assert!(matches!(r, Ok(Ok(()))), "service stopped with {r:?}");
        }
    }

    /// A channel to `addr` as the corridor client (its `[tls].client` certificate).
    async fn channel(&self, addr: &str) -> Channel {
        self.client
            .endpoint(addr)
            .unwrap()
            .timeout(Duration::from_secs(20))
            .connect()
            .await
            .unwrap()
    }

    fn node_addr(&self, code: &str) -> String {
        let cc = CountryCode::parse("country", code).unwrap();
        self.t.node_addr(&cc).unwrap().to_string()
    }

    async fn node(&self, code: &str) -> CustomsNodeClient<Channel> {
        CustomsNodeClient::new(self.channel(&self.node_addr(code)).await)
    }

    fn private_key(&self, slot: &Option<corridor_topology::KeyPaths>) -> SigningKey {
        let p = slot.as_ref().unwrap().private.as_ref().unwrap();
        SigningKey::load(&self.t.resolve(p)).unwrap()
    }

    fn country(&self, code: &str) -> &corridor_topology::Country {
        self.t.countries.iter().find(|c| c.code == code).unwrap()
    }

    /// Registers operator `id` with a fresh key, signed by its country's authority.
    async fn register(&self, registry: &mut AeoRegistryClient<Channel>, id: &str) -> SigningKey {
        let key = SigningKey::generate();
        let op = OperatorId::parse("operator", id).unwrap();
        let doc = operator_registration(
            &op,
            &format!("Operator {id}"),
            "1 Station Road",
            &[key.public()],
            now(),
        );
        let authority = self.private_key(&self.country(op.country().as_str()).authority_key);
        Registrar::with_client(registry.clone())
            .register_operator(&doc, &authority)
            .await
            .unwrap();
        key
    }
}

/// Connects to `addr` through `endpoint` and asks for a checkpoint: `Err` if refused.
async fn try_call(endpoint: Endpoint) -> Result<u64, String> {
    let endpoint = endpoint
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await.map_err(|e| format!("{e:?}"))?;
    LedgerReaderClient::new(channel)
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .map(|r| r.into_inner().size)
        .map_err(|s| format!("{s:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consignment_is_handed_over_between_nodes_over_mutual_tls() {
    let c = Corridor::start().await;
    let mut registry = AeoRegistryClient::new(c.channel(&c.t.registry.listen).await);
    let mut keys = BTreeMap::new();
    for id in [SHIPPER_ID, CARRIER_ID, FORWARDER_ID] {
        keys.insert(id, c.register(&mut registry, id).await);
    }
    // Every node and the declarant follow the registry over mTLS.
    let size = LedgerReaderClient::new(c.channel(&c.t.registry.listen).await)
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size;
    assert_eq!(size, 3);
    for code in ["CN", "KZ", "AZ", "TR"] {
        let s = c
            .node(code)
            .await
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: size,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(s.registry_entries, size, "the node of {code}");
    }
    let s = DeclarantClient::new(c.channel(&c.t.declarant.listen).await)
        .get_platform_status(v1::PlatformStatusRequest {
            min_registry_entries: size,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.registry_entries, size, "the declarant");

    // A consignment declared at CN (the sample goods, Xi'an to Istanbul).
    let (shipper, carrier, forwarder) = (&keys[SHIPPER_ID], &keys[CARRIER_ID], &keys[FORWARDER_ID]);
    let t0 = now();
    let bill = bill_of_lading_at("KTZE-TLS-000001", t0);
    let benv = Envelope::sign(
        pt::BILL_OF_LADING,
        corridor_proto::encode_bill_of_lading(&bill),
        carrier,
    );
    let issue = TransferEntry::issue(
        benv.document_id(),
        OperatorId::parse("carrier", CARRIER_ID).unwrap(),
        OperatorId::parse("shipper", SHIPPER_ID).unwrap(),
        t0,
    )
    .unwrap();
    let ienv = Envelope::sign(
        pt::TRANSFER_ENTRY,
        corridor_proto::encode_transfer_entry(&issue),
        carrier,
    );
    let declaration: Declaration = declaration_at(benv.document_id(), "SRM-TLS-000001", t0);
    let mut denv = Envelope::sign(
        pt::DECLARATION,
        corridor_proto::encode_declaration(&declaration),
        forwarder,
    );
    denv.add_signature(shipper);
    let id = denv.document_id();
    let seals = seals_of(&bill);
    let r = c
        .node("CN")
        .await
        .submit_declaration(v1::SubmitDeclarationRequest {
            declaration: Some(v1::Envelope::from(&denv)),
            bill_of_lading: Some(v1::Envelope::from(&benv)),
            transfer_chain: vec![v1::Envelope::from(&ienv)],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.consignment_id, id.to_hex());
    assert_eq!(r.state(), S::AwaitingArrival);

    // Arrival and exit at CN, signed by its officer; an officer's release if the lane asks.
    let officer = c.private_key(&c.country("CN").officers[0].key);
    let arrival = border_event("CN", &id, v1::BorderEventKind::Arrival, "CNXIY", seals);
    let r = c
        .node("CN")
        .await
        .record_border_event(signed(pt::BORDER_EVENT, &arrival, &officer))
        .await
        .unwrap()
        .into_inner();
    if r.state() == S::AwaitingOfficer {
        let d = v1::OfficerDecision {
            consignment_id: id.as_bytes().to_vec(),
            country: "CN".into(),
            outcome: v1::Outcome::Release as i32,
            findings: "documents in order".into(),
            at_unix_micros: now(),
        };
        let r = c
            .node("CN")
            .await
            .record_decision(signed(pt::OFFICER_DECISION, &d, &officer))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.state(), S::Released);
    } else {
        assert_eq!(r.state(), S::Released);
    }
    let exit = border_event("CN", &id, v1::BorderEventKind::Exit, "CNKHG", Vec::new());
    c.node("CN")
        .await
        .record_border_event(signed(pt::BORDER_EVENT, &exit, &officer))
        .await
        .unwrap();

    // CN's delivery task hands it to KZ over mTLS, as the node of CN; KZ's receipt comes back.
    let mut events = c
        .node("CN")
        .await
        .watch_consignment(v1::WatchConsignmentRequest {
            consignment_id: id.to_hex(),
            from_sequence: 0,
            follow: true,
        })
        .await
        .unwrap()
        .into_inner();
    let handed_over = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = events.next().await {
            if e.unwrap().state() == S::HandedOver {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(handed_over, Ok(true), "CN handed the consignment over");
    let v = c
        .node("KZ")
        .await
        .get_consignment(v1::ConsignmentRequest {
            consignment_id: id.to_hex(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.state(), S::AwaitingArrival);

    // Witnessing runs over mTLS too: the registry's 3 entries reach the quorum of the
    // nodes' witnesses, each cosignature verifying with its witness's key.
    let mut reader = LedgerReaderClient::new(c.channel(&c.t.registry.listen).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let w = loop {
        let w = reader
            .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
            .await
            .unwrap()
            .into_inner();
        if w.checkpoint.as_ref().is_some_and(|cp| cp.size == size) && w.cosigners.len() >= 3 {
            break w;
        }
        assert!(std::time::Instant::now() < deadline, "not witnessed: {w:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(w.quorum, 3);

    // The dashboard reads every service over mTLS, with the topology's client certificate.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let dashboard = tokio::spawn(corridor_run::dashboard::serve(
        listener,
        c.t.clone(),
        stop.clone(),
    ));
    let a = corridor_tests::http::request(addr, "GET", "/api/state", b"").await;
    assert_eq!(a.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    let countries = v["countries"].as_array().unwrap();
    assert_eq!(countries.len(), 4, "{v}");
    assert!(countries.iter().all(|k| k["up"] == true), "{v}");
    assert!(
        v["ledgers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["up"] == true),
        "{v}"
    );
    assert_eq!(v["consignments"].as_array().unwrap().len(), 1, "{v}");
    stop.cancel();
    dashboard.await.unwrap().unwrap();
    c.stop().await;
}

fn seals_of(bill: &BillOfLading) -> Vec<v1::SealCheck> {
    bill.equipment
        .iter()
        .flat_map(|e| {
            e.seals.iter().map(|s| v1::SealCheck {
                container_number: e.container_number.as_str().into(),
                seal_number: s.number.as_str().into(),
                intact: true,
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_corridor_certificate_is_refused() {
    let c = Corridor::start().await;
    let addr = c.node_addr("KZ");
    let mine = c.t.tls_material(&ServiceRole::Client).unwrap().unwrap();
    let https = || Endpoint::from_shared(format!("https://{addr}")).unwrap();

    // The corridor client, with its certificate: answered.
    assert!(try_call(c.client.endpoint(&addr).unwrap()).await.is_ok());

    // Only the CA, no certificate of its own: refused.
    let ca_only = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&mine.ca_pem));
    let r = try_call(https().tls_config(ca_only).unwrap()).await;
    assert!(
        r.is_err(),
        "a client without a certificate was answered: {r:?}"
    );

    // A certificate signed by another CA (another corridor's development CA): refused.
    let other = tempfile::tempdir().unwrap();
    let t = Topology::load(&deploy_dir().join("corridor.toml")).unwrap();
    let (other_t, _, _) =
        corridor_topology::init_keys_with(t, other.path(), "other", InitOptions { tls: true })
            .unwrap();
    let theirs = other_t.tls_material(&ServiceRole::Client).unwrap().unwrap();
    let foreign = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&mine.ca_pem))
        .identity(Identity::from_pem(&theirs.cert_pem, &theirs.key_pem));
    let r = try_call(https().tls_config(foreign).unwrap()).await;
    assert!(r.is_err(), "a client of another CA was answered: {r:?}");

    // Plaintext: refused.
    let r = try_call(Transport::plaintext().endpoint(&addr).unwrap()).await;
    assert!(r.is_err(), "a plaintext client was answered: {r:?}");

    // The service answers the corridor client still.
    assert!(try_call(c.client.endpoint(&addr).unwrap()).await.is_ok());
    c.stop().await;
}
