//! The bills' platform of record: the declarant. Before the first node takes a declaration,
//! it asks the platform for the declared bill's chain as it stands ([`Platform::chain_head`]:
//! `GetBill`, whose `head` is the platform's signed `ChainHead`), so that a chain the
//! platform has superseded (a holder declaring with the chain from before a transfer) is
//! refused; [`super::checks::Rules::current_chain`] compares the two.

use std::time::Duration;

use corridor_core::{Digest, Envelope, payload_type};
use corridor_proto::v1;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_service::Refusal;
use corridor_topology::Topology;
use tonic::transport::Channel;

use crate::error::Error;

/// A client of the declarant, the bills' platform of record (connected when first used).
pub(super) struct Platform {
    client: DeclarantClient<Channel>,
}

impl Platform {
    pub(super) fn new(t: &Topology, transport: &corridor_net::Transport) -> Result<Self, Error> {
        let endpoint = transport
            .endpoint(&t.declarant_addr()?.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10));
        Ok(Self {
            client: DeclarantClient::new(endpoint.connect_lazy()),
        })
    }

    /// The platform's signed statement of bill `bill`'s chain as it stands, or `None` when
    /// the platform does not have the bill. A platform that cannot be asked is UNAVAILABLE:
    /// whether the chain is current cannot be known then.
    pub(super) async fn chain_head(&self, bill: &Digest) -> Result<Option<Envelope>, Error> {
        let request = v1::GetBillRequest {
            bill_of_lading_id: bill.to_hex(),
        };
        let record = match self.client.clone().get_bill(request).await {
            Ok(r) => r.into_inner(),
            Err(s) if s.code() == tonic::Code::NotFound => return Ok(None),
            Err(s) => {
                return Err(Error::Refusal(Refusal::Unavailable(format!(
                    "the bill's platform of record (the declarant) cannot be asked for the chain of bill {bill}: {}",
                    s.message()
                ))));
            }
        };
        let head = corridor_proto::open_envelope("head", record.head, payload_type::CHAIN_HEAD)
            .map_err(|e| {
                Error::Refusal(Refusal::Unavailable(format!(
                    "the bill's platform of record answered for bill {bill} without a chain head: {e}"
                )))
            })?;
        Ok(Some(head))
    }
}
