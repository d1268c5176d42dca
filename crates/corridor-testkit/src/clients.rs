//! Clients of the running services, and the calls tests make through them: border events
//! (at the posts the sample declaration names, or at a post given) and officers' decisions
//! signed and recorded, consignments followed and looked up, and
//! ledgers read.

use std::net::SocketAddr;

use corridor_core::{CountryCode, Digest, Envelope, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Crossing;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use super::{Sandbox, now};

/// The address of the plain-text gRPC server at `addr`, for a client to connect to.
fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

impl Sandbox {
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
        subject_entries(self.declarant_ledger().await, subject).await
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

    /// The UN/LOCODE of the border post where the officers of country `code` record a `kind`
    /// event of a consignment declared as the sample is, at the posts the declaration names:
    /// an arrival at the corridor's first country at its first post (the goods are presented
    /// there for export), any other arrival at the country's first entry post, an exit at its
    /// first exit post.
    pub fn border_post(&self, code: &str, kind: v1::BorderEventKind) -> String {
        let cc = CountryCode::parse("code", code).expect("a country code");
        let posts = self.topology.posts(&cc).expect("a country of the corridor");
        let first = self.topology.country_codes().first() == Some(&cc);
        let post = match kind {
            v1::BorderEventKind::Arrival if first => posts.first(),
            v1::BorderEventKind::Exit => posts.iter().find(|p| p.crosses(Crossing::Exit)),
            _ => posts.iter().find(|p| p.crosses(Crossing::Entry)),
        };
        post.unwrap_or_else(|| panic!("{code} has no post for {kind:?}"))
            .locode
            .to_string()
    }

    /// Records arrival (with `seals`) at country `code`, at the declared post
    /// ([`Sandbox::border_post`]), signed by its officer.
    pub async fn arrive(
        &self,
        code: &str,
        id: &Digest,
        seals: Vec<v1::SealCheck>,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        let post = self.border_post(code, v1::BorderEventKind::Arrival);
        self.arrive_at(code, &post, id, seals).await
    }

    /// Records arrival (with `seals`) at border post `post` of country `code`, signed by its
    /// officer.
    pub async fn arrive_at(
        &self,
        code: &str,
        post: &str,
        id: &Digest,
        seals: Vec<v1::SealCheck>,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        let e = border_event(code, id, v1::BorderEventKind::Arrival, post, seals);
        self.record(code, &e).await
    }

    /// Records border event `e` at country `code`, signed by its officer.
    async fn record(
        &self,
        code: &str,
        e: &v1::BorderEvent,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        self.node(code)
            .await
            .record_border_event(signed(pt::BORDER_EVENT, e, &self.officer(code)))
            .await
            .map(|r| r.into_inner())
    }

    /// Records exit from country `code`, at the declared post ([`Sandbox::border_post`]),
    /// signed by its officer.
    pub async fn exit(&self, code: &str, id: &Digest) -> Result<v1::StepReceipt, tonic::Status> {
        let post = self.border_post(code, v1::BorderEventKind::Exit);
        self.exit_at(code, &post, id).await
    }

    /// Records exit from country `code` at border post `post`, signed by its officer.
    pub async fn exit_at(
        &self,
        code: &str,
        post: &str,
        id: &Digest,
    ) -> Result<v1::StepReceipt, tonic::Status> {
        let e = border_event(code, id, v1::BorderEventKind::Exit, post, Vec::new());
        self.record(code, &e).await
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
        subject_entries(self.node_ledger(code).await, id).await
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

/// The entries about `subject` that the ledger behind `reader` holds, in sequence order.
async fn subject_entries(
    mut reader: LedgerReaderClient<Channel>,
    subject: &Digest,
) -> Vec<v1::LedgerEntry> {
    let mut stream = reader
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

/// A border event document at border post `post` (a UN/LOCODE) of country `code`.
pub fn border_event(
    code: &str,
    id: &Digest,
    kind: v1::BorderEventKind,
    post: &str,
    seals: Vec<v1::SealCheck>,
) -> v1::BorderEvent {
    v1::BorderEvent {
        consignment_id: id.as_bytes().to_vec(),
        country: code.into(),
        kind: kind as i32,
        border_post: post.into(),
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

/// The witnessed checkpoint of the service at `addr` once it covers at least `size`
/// entries. Witnessing runs on the services' own timers, so this asks every 20 ms, for at
/// most 20 s (then panics with the last answer).
pub async fn witnessed(addr: SocketAddr, size: u64) -> v1::WitnessedCheckpoint {
    let mut c = LedgerReaderClient::connect(endpoint(addr))
        .await
        .expect("connect");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let w = c
            .get_witnessed_checkpoint(v1::GetWitnessedCheckpointRequest {})
            .await
            .expect("witnessed checkpoint")
            .into_inner();
        if w.checkpoint.as_ref().is_some_and(|cp| cp.size >= size) {
            return w;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{addr}: no witnessed checkpoint of {size} entries: {w:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
