//! The declarant's calls to the customs nodes. Besides the gRPC layer (`service`), this is
//! the one module that speaks the wire: it is the declarant's gRPC client of the nodes. It
//! sends core envelopes and reads the nodes' receipts back into core values, so the platform
//! works in core values only; a node's refusal stays a `tonic::Status`, whose code says
//! whether it is the node's verdict and which the declarant passes on.

use std::collections::BTreeMap;
use std::time::Duration;

use corridor_core::document::StepReceipt;
use corridor_core::{CountryCode, Envelope};
use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_topology::Topology;
use tonic::transport::Channel;

use crate::error::Error;

/// A client of each customs node of the corridor, connected lazily.
pub(crate) struct Nodes(BTreeMap<CountryCode, CustomsNodeClient<Channel>>);

impl Nodes {
    /// A lazy client of every node of the topology.
    pub(crate) fn open(
        topology: &Topology,
        transport: &corridor_net::Transport,
    ) -> Result<Self, Error> {
        let mut nodes = BTreeMap::new();
        for cc in topology.country_codes() {
            let addr = topology.node_addr(&cc)?;
            let endpoint = transport
                .endpoint(&addr.to_string())?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(30));
            nodes.insert(cc, CustomsNodeClient::new(endpoint.connect_lazy()));
        }
        Ok(Self(nodes))
    }

    /// The gRPC client of the node of `country`, if the corridor has one (for the calls the
    /// gRPC layer forwards: watching and viewing consignments).
    pub(crate) fn grpc(&self, country: &CountryCode) -> Option<CustomsNodeClient<Channel>> {
        self.0.get(country).cloned()
    }

    /// The node of `country`.
    pub(crate) fn node(&self, country: &CountryCode) -> Result<NodeClient, Error> {
        self.grpc(country)
            .map(NodeClient)
            .ok_or_else(|| Error::State(format!("no node for {country}")))
    }
}

/// One node's client.
pub(crate) struct NodeClient(CustomsNodeClient<Channel>);

impl NodeClient {
    /// `SubmitDeclaration`: the declaration with its bill and the bill's transfer chain.
    pub(crate) async fn submit_declaration(
        mut self,
        declaration: &Envelope,
        bill_of_lading: &Envelope,
        transfer_chain: impl Iterator<Item = &Envelope>,
    ) -> Result<StepReceipt, tonic::Status> {
        let request = v1::SubmitDeclarationRequest {
            declaration: Some(v1::Envelope::from(declaration)),
            bill_of_lading: Some(v1::Envelope::from(bill_of_lading)),
            transfer_chain: transfer_chain.map(v1::Envelope::from).collect(),
        };
        receipt(self.0.submit_declaration(request).await)
    }

    /// `CancelDeclaration`: a signed cancellation.
    pub(crate) async fn cancel_declaration(
        mut self,
        cancellation: &Envelope,
    ) -> Result<StepReceipt, tonic::Status> {
        let request = v1::SignedRequest {
            envelope: Some(v1::Envelope::from(cancellation)),
        };
        receipt(self.0.cancel_declaration(request).await)
    }
}

/// A node's receipt in core values. One that cannot be read is no verdict of the node: it is
/// answered as an internal failure of the call.
fn receipt(
    answer: Result<tonic::Response<v1::StepReceipt>, tonic::Status>,
) -> Result<StepReceipt, tonic::Status> {
    StepReceipt::try_from(answer?.into_inner())
        .map_err(|e| tonic::Status::internal(format!("the node's receipt is malformed: {e}")))
}
