#![allow(clippy::unwrap_used)]
//! Clearance flows through the customs nodes of a whole corridor run in-process (see
//! `corridor_tests::sandbox`).

use corridor_core::document::examples::SHIPPER_ID;
use corridor_core::{CountryCode, Envelope};
use corridor_customs::risk::{AeoStatus, assess};
use corridor_proto::v1::{ConsignmentState as S, Lane};
use corridor_tests::sandbox::{ARRANGEMENT_BENEFITS, Consignment, Sandbox};

/// Whether consignment `c` draws green at every country after the first, for a holder
/// recognised there under an arrangement of [`Sandbox::arrange`]: the draw is deterministic,
/// so those lanes are known before the consignment is declared.
fn green_after_the_first(sb: &Sandbox, c: &Consignment) -> bool {
    let env: Envelope = c.request.declaration.clone().unwrap().try_into().unwrap();
    let declaration = corridor_proto::decode_declaration(env.payload()).unwrap();
    let aeo = AeoStatus {
        recognised: true,
        basis: String::new(),
        benefits: Some(ARRANGEMENT_BENEFITS),
    };
    c.route[1..].iter().all(|code| {
        let country = CountryCode::parse("country", code).unwrap();
        let profile = &sb.topology.country(&country).unwrap().1.risk;
        assess(profile, &country, &declaration, &aeo).lane == Lane::Green
    })
}

/// Clears a consignment released green everywhere: arrival and exit at each country, each
/// next node waited for through the previous one's handover.
async fn clear_green(sb: &Sandbox, c: &Consignment) {
    let last = c.route.len() - 1;
    for (i, code) in c.route.iter().enumerate() {
        let r = sb.arrive(code, &c.id, c.seals.clone()).await.unwrap();
        assert_eq!(r.lane(), Lane::Green, "at {code}");
        if i == last {
            assert_eq!(r.state(), S::Completed, "at {code}");
        } else {
            assert_eq!(r.state(), S::Released, "at {code}");
            sb.exit(code, &c.id).await.unwrap();
            sb.wait_for(code, &c.id, S::HandedOver).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recognised_aeo_clears_green_through_every_country() {
    let mut sb = Sandbox::start().await;
    sb.register_parties().await;
    sb.certify("AEOCN0000000001", SHIPPER_ID).await;
    for c in ["KZ", "AZ", "TR"] {
        sb.arrange(&format!("MRA-CN-{c}"), "CN", c).await;
    }
    sb.sync().await;
    // The default profile gives recognised AEOs a few controls: take consignments until one
    // is green everywhere (the draw is deterministic per consignment: CN answers its lane,
    // the others' are predicted).
    let mut cleared = None;
    for n in 0..40 {
        let c = sb.consignment(n, |_| {});
        let r = sb
            .node("CN")
            .await
            .submit_declaration(c.request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.consignment_id, c.id.to_hex());
        assert_eq!(r.state(), S::AwaitingArrival);
        let v = sb.view("CN", &c.id).await;
        assert!(v.aeo_recognised, "{:?}", v.aeo_basis);
        assert!(v.aeo_basis.contains("AEOCN0000000001"), "{}", v.aeo_basis);
        if r.lane() == Lane::Green && green_after_the_first(&sb, &c) {
            cleared = Some(c);
            break;
        }
    }
    let c = cleared.expect("a green consignment among 40");
    clear_green(&sb, &c).await;
    let v = sb.view("TR", &c.id).await;
    assert_eq!(v.state(), S::Completed);
    assert!(v.guarantee_discharged);
    assert_eq!(v.clearances.len(), 4, "{:?}", v.clearances);
    for code in ["KZ", "AZ", "TR"] {
        let v = sb.view(code, &c.id).await;
        assert!(v.aeo_recognised, "{code}: {}", v.aeo_basis);
        assert!(v.aeo_basis.contains("MRA-CN-"), "{code}: {}", v.aeo_basis);
    }
    sb.stop().await;
}
