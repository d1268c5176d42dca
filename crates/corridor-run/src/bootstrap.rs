//! Bringing a fresh corridor's registry to a usable state: the topology's operators
//! registered with their development keys, AEO certificates issued, arrangements in force,
//! and every replica caught up. `corridor up`, `corridor demo`, the benchmarks and the test
//! sandbox all bootstrap through here.
//!
//! Every document is signed by the authority the registry requires for it (the customs
//! authority of the operator's or certificate's country; both authorities for an
//! arrangement) and submitted through the registry's gRPC API, as any client would.

use anyhow::{Context, bail};
use corridor_audit::connect;
use corridor_core::{AeoId, CountryCode, OperatorId, PublicKey, SigningKey, payload_type as pt};
use corridor_proto::v1;
use corridor_proto::v1::aeo_registry_client::AeoRegistryClient;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::{KeyPaths, Topology};
use tonic::Status;
use tonic::transport::Channel;

/// A day in microseconds.
pub const DAY: i64 = 86_400_000_000;

/// The development private key in a topology key slot.
pub fn dev_key(t: &Topology, slot: &Option<KeyPaths>) -> anyhow::Result<SigningKey> {
    let p = slot
        .as_ref()
        .and_then(|k| k.private.as_ref())
        .context("a development key is missing from the topology")?;
    Ok(SigningKey::load(&t.resolve(p))?)
}

/// The development key of the customs authority of `cc`.
pub fn authority_key(t: &Topology, cc: &CountryCode) -> anyhow::Result<SigningKey> {
    let (_, c) = t.country(cc)?;
    dev_key(t, &c.authority_key)
}

/// An operator's registration: its id, names and keys, from `now`; the country is the
/// id's.
pub fn operator_registration(
    id: &OperatorId,
    legal_name: &str,
    address: &str,
    keys: &[PublicKey],
    now: i64,
) -> v1::OperatorRegistration {
    v1::OperatorRegistration {
        operator_id: id.to_string(),
        legal_name: legal_name.into(),
        address: address.into(),
        country: id.country().to_string(),
        public_keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
        issued_at_unix_micros: now,
    }
}

/// An AEO certificate of `tier` for `operator`, valid from `from` to `to`, issued `now`.
pub fn certificate(
    aeo_id: &AeoId,
    operator: &OperatorId,
    tier: v1::AeoTier,
    (from, to): (i64, i64),
    now: i64,
) -> v1::AeoCertificate {
    v1::AeoCertificate {
        aeo_id: aeo_id.to_string(),
        operator_id: operator.to_string(),
        tier: tier as i32,
        valid_from_unix_micros: from,
        valid_to_unix_micros: to,
        issued_at_unix_micros: now,
    }
}

/// The registry's client with the signing each submission needs.
pub struct Registrar {
    client: AeoRegistryClient<Channel>,
}

impl Registrar {
    /// A registrar over `channel` to the registry.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: AeoRegistryClient::new(channel),
        }
    }

    /// A registrar over a registry client already connected (over TLS, say).
    pub fn with_client(client: AeoRegistryClient<Channel>) -> Self {
        Self { client }
    }

    /// A registrar of the registry of `t`.
    pub async fn connect(t: &Topology) -> anyhow::Result<Self> {
        Ok(Self::new(connect(t, &t.registry.listen).await?))
    }

    /// Whether the registry knows operator `id`.
    pub async fn knows_operator(&mut self, id: &str) -> Result<bool, Status> {
        match self
            .client
            .get_operator(v1::GetOperatorRequest {
                operator_id: id.into(),
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
            Err(s) => Err(s),
        }
    }

    /// Registers an operator, signed by `authority`.
    pub async fn register_operator(
        &mut self,
        doc: &v1::OperatorRegistration,
        authority: &SigningKey,
    ) -> Result<v1::ChangeReceipt, Status> {
        let r = corridor_aeo::sign::request(pt::OPERATOR_REGISTRATION, doc, authority);
        Ok(self.client.register_operator(r).await?.into_inner())
    }

    /// Issues an AEO certificate, signed by `authority`.
    pub async fn issue_certificate(
        &mut self,
        doc: &v1::AeoCertificate,
        authority: &SigningKey,
    ) -> Result<v1::ChangeReceipt, Status> {
        let r = corridor_aeo::sign::request(pt::AEO_CERTIFICATE, doc, authority);
        Ok(self.client.issue_certificate(r).await?.into_inner())
    }

    /// Suspends, reinstates or revokes a certificate, signed by `authority`.
    pub async fn change_certificate_status(
        &mut self,
        doc: &v1::CertificateStatusChange,
        authority: &SigningKey,
    ) -> Result<v1::ChangeReceipt, Status> {
        let r = corridor_aeo::sign::request(pt::CERTIFICATE_STATUS_CHANGE, doc, authority);
        Ok(self.client.change_certificate_status(r).await?.into_inner())
    }

    /// Terminates an arrangement, signed by `authority` (of one of its parties).
    pub async fn terminate_arrangement(
        &mut self,
        doc: &v1::ArrangementTermination,
        authority: &SigningKey,
    ) -> Result<v1::ChangeReceipt, Status> {
        let r = corridor_aeo::sign::request(pt::ARRANGEMENT_TERMINATION, doc, authority);
        Ok(self.client.terminate_arrangement(r).await?.into_inner())
    }

    /// Proposes an arrangement signed by every key of `authorities` (all parties: in force
    /// at once).
    pub async fn propose_arrangement(
        &mut self,
        doc: &v1::MutualRecognitionArrangement,
        authorities: &[&SigningKey],
    ) -> Result<v1::ChangeReceipt, Status> {
        let (first, rest) = authorities
            .split_first()
            .ok_or_else(|| Status::invalid_argument("an arrangement needs a signer"))?;
        let mut env = corridor_aeo::sign::sign(pt::MUTUAL_RECOGNITION, doc, first);
        for k in rest {
            env.add_signature(k);
        }
        let r = corridor_aeo::sign::submit(&env);
        Ok(self.client.propose_arrangement(r).await?.into_inner())
    }
}

/// Registers every operator of the topology (`[[operators]]`) that the registry does not
/// know yet, with its development public key, signed by its country's customs authority;
/// returns how many it registered.
pub async fn register_topology_operators(t: &Topology, now: i64) -> anyhow::Result<usize> {
    let mut registrar = Registrar::connect(t).await?;
    let mut n = 0;
    for o in &t.operators {
        if registrar
            .knows_operator(&o.id)
            .await
            .map_err(|s| anyhow::anyhow!("registry: {}", s.message()))?
        {
            continue;
        }
        let id = OperatorId::parse("operator", &o.id)?;
        let public = PublicKey::load(&t.resolve(&o.key.as_ref().context("operator key")?.public))?;
        let doc = operator_registration(&id, &o.name, &o.address, &[public], now);
        registrar
            .register_operator(&doc, &authority_key(t, &id.country())?)
            .await
            .map_err(|s| anyhow::anyhow!("register {}: {}", o.id, s.message()))?;
        n += 1;
    }
    Ok(n)
}

/// The size of the registry's ledger of `t`.
pub async fn registry_size(t: &Topology) -> anyhow::Result<u64> {
    Ok(
        LedgerReaderClient::new(connect(t, &t.registry.listen).await?)
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await?
            .into_inner()
            .size,
    )
}

/// Waits until the nodes of `countries` (and the declarant, when `declarant`) have a
/// complete copy of the registry of `t`; returns the registry's size.
pub async fn sync_services<'a>(
    t: &Topology,
    countries: impl IntoIterator<Item = &'a CountryCode>,
    declarant: bool,
) -> anyhow::Result<u64> {
    let size = registry_size(t).await?;
    for cc in countries {
        let s = CustomsNodeClient::new(connect(t, &t.node_addr(cc)?.to_string()).await?)
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: size,
            })
            .await?
            .into_inner();
        if s.registry_entries < size {
            bail!(
                "the node of {cc} has {} of the registry's {size} entries",
                s.registry_entries
            );
        }
    }
    if declarant {
        let s = DeclarantClient::new(connect(t, &t.declarant.listen).await?)
            .get_platform_status(v1::PlatformStatusRequest {
                min_registry_entries: size,
            })
            .await?
            .into_inner();
        if s.registry_entries < size {
            bail!(
                "the declarant has {} of the registry's {size} entries",
                s.registry_entries
            );
        }
    }
    Ok(size)
}

/// Waits until every node and the declarant have a complete copy of the registry; returns
/// the registry's size.
pub async fn sync(t: &Topology) -> anyhow::Result<u64> {
    sync_services(t, &t.country_codes(), true).await
}
