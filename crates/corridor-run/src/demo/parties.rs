//! The demonstration's parties: four traders (two AEO-certified), the carrier and the
//! consignee, and the registry brought to what they need.

use corridor_core::{AeoId, OperatorId};
use corridor_proto::v1;
use corridor_topology::Topology;

use crate::bootstrap::{
    DAY, Registrar, authority_key, certificate, register_topology_operators, sync,
};

/// A demonstration trader.
#[derive(Clone, Copy, Debug)]
pub struct Trader {
    /// Its operator id (one of the topology's operators).
    pub operator: &'static str,
    /// Its AEO certificate, when certified.
    pub aeo: Option<&'static str>,
    /// Where its goods start (UN/LOCODE).
    pub origin: &'static str,
}

const fn trader(operator: &'static str, aeo: Option<&'static str>, origin: &'static str) -> Trader {
    Trader {
        operator,
        aeo,
        origin,
    }
}

/// The demonstration traders: two AEO-certified, two not.
pub const TRADERS: [Trader; 4] = [
    trader("CN91610131XA01", Some("AEOCN0000000001"), "CNXIY"),
    trader("CN91650100UR04", Some("AEOCN0000000002"), "CNURC"),
    trader("CN91650100UR03", None, "CNURC"),
    trader("CN91610131XA05", None, "CNXIY"),
];
/// The demonstration carrier.
pub const CARRIER: &str = "KZ180540012345";
/// The demonstration consignee.
pub const CONSIGNEE: &str = "TR3456789012";

/// Registers the topology's operators, certifies the AEO traders in CN, and records an
/// arrangement between every two countries, signed by both; waits until every service has a
/// complete copy of the registry and returns its size.
pub async fn setup_registry(t: &Topology, now: i64) -> anyhow::Result<u64> {
    let mut registrar = Registrar::connect(t).await?;
    register_topology_operators(t, now).await?;
    for tr in TRADERS {
        let Some(aeo) = tr.aeo else { continue };
        let aeo = AeoId::parse("aeo_id", aeo)?;
        let doc = certificate(
            &aeo,
            &OperatorId::parse("operator_id", tr.operator)?,
            v1::AeoTier::Full,
            (now - DAY, now + 2 * 365 * DAY),
            now,
        );
        registrar
            .issue_certificate(&doc, &authority_key(t, &aeo.country())?)
            .await
            .map_err(|s| anyhow::anyhow!("certificate {aeo}: {}", s.message()))?;
    }
    let codes = t.country_codes();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let doc = v1::MutualRecognitionArrangement {
                arrangement_id: format!("MRA-{a}-{b}"),
                countries: vec![a.to_string(), b.to_string()],
                tiers: vec![
                    v1::AeoTier::Full as i32,
                    v1::AeoTier::CustomsSimplifications as i32,
                ],
                benefits: Some(v1::ArrangementBenefits {
                    document_check_rate_percent: 50,
                    inspection_rate_percent: 50,
                    priority_treatment: true,
                }),
                effective_from_unix_micros: now - DAY,
                effective_to_unix_micros: 0,
                issued_at_unix_micros: now,
            };
            registrar
                .propose_arrangement(&doc, &[&authority_key(t, a)?, &authority_key(t, b)?])
                .await
                .map_err(|s| anyhow::anyhow!("arrangement {a}-{b}: {}", s.message()))?;
        }
    }
    sync(t).await
}
