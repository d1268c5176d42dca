//! The corridor's parties: the keys of every role, operators registered (fresh ones, or the
//! topology's own with their development keys) and certified, certificates suspended,
//! arrangements between countries recorded, and every running service caught up with the
//! registry.

use corridor_core::document::examples::{CARRIER_ID, FORWARDER_ID, SHIPPER_ID};
use corridor_core::{AeoId, CountryCode, OperatorId, SigningKey};
use corridor_proto::examples::Parties;
use corridor_proto::v1;
use corridor_run::bootstrap::{self, Registrar};

use super::{DAY, Sandbox, now};

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

impl Sandbox {
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
}

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
