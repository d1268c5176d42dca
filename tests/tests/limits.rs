#![allow(clippy::unwrap_used)]
//! The message limits a client meets: a request over a server's limit is RESOURCE_EXHAUSTED
//! naming the limit (gRPC's status table), and the largest batch a batch call allows fits.

use corridor_core::{Digest, payload_type};
use corridor_customs::{DEFAULT_MAX_MESSAGE_BYTES, MAX_BATCH};
use corridor_proto::v1;
use corridor_tests::sandbox::{Sandbox, border_event, signed};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_limit_is_resource_exhausted_and_the_largest_batch_fits() {
    let sb = Sandbox::start().await;
    let mut node = sb.node("CN").await;
    let officer = sb.officer("CN");

    // One byte of payload over the limit.
    let mut doc = border_event(
        "CN",
        &Digest::of(b"x"),
        v1::BorderEventKind::Arrival,
        "CNXIY",
        vec![],
    );
    doc.border_post = "p".repeat(DEFAULT_MAX_MESSAGE_BYTES);
    let refused = node
        .record_border_event(signed(payload_type::BORDER_EVENT, &doc, &officer))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused
            .message()
            .contains(&format!("the limit is: {DEFAULT_MAX_MESSAGE_BYTES} bytes")),
        "{}",
        refused.message()
    );
    // The same limit on the batch call, and on the registry and the declarant.
    let big = v1::SignedRequests {
        requests: vec![signed(payload_type::BORDER_EVENT, &doc, &officer)],
    };
    let refused = node.record_border_events(big).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let refused = sb
        .registry()
        .await
        .get_operator(v1::GetOperatorRequest {
            operator_id: "x".repeat(corridor_aeo::DEFAULT_MAX_MESSAGE_BYTES + 1),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains(&format!(
            "the limit is: {} bytes",
            corridor_aeo::DEFAULT_MAX_MESSAGE_BYTES
        )),
        "{}",
        refused.message()
    );
    let refused = sb
        .declarant()
        .await
        .get_bill(v1::GetBillRequest {
            bill_of_lading_id: "x".repeat(DEFAULT_MAX_MESSAGE_BYTES + 1),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    // The largest batch of border events allowed: MAX_BATCH events, each of a consignment
    // the node does not know, is taken as a call and answered item by item.
    let requests: Vec<_> = (0..MAX_BATCH)
        .map(|i| {
            let id = Digest::of(format!("consignment {i}").as_bytes());
            let e = border_event("CN", &id, v1::BorderEventKind::Arrival, "CNKHG", vec![]);
            signed(payload_type::BORDER_EVENT, &e, &officer)
        })
        .collect();
    let outcomes = node
        .record_border_events(v1::SignedRequests { requests })
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(outcomes.len(), MAX_BATCH);
    for o in outcomes {
        match o.outcome {
            Some(v1::step_outcome::Outcome::Refusal(r)) => {
                assert_eq!(r.code, Code::NotFound as i32, "{}", r.message);
            }
            other => panic!("{other:?}"),
        }
    }
    sb.stop().await;
}
