#![allow(clippy::unwrap_used)]
//! Every server tells the corridor time by the clock it checks documents by
//! (`corridor.v1.CorridorClock`).

use std::net::SocketAddr;

use corridor_proto::v1;
use corridor_proto::v1::corridor_clock_client::CorridorClockClient;
use corridor_tests::sandbox::{Sandbox, now};

async fn corridor_time(addr: SocketAddr) -> v1::CorridorTime {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    CorridorClockClient::new(channel)
        .get_corridor_time(v1::GetCorridorTimeRequest {})
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_tells_the_corridor_time_it_checks_documents_by() {
    let sb = Sandbox::start().await;
    let mut addrs = vec![
        ("registry".to_string(), sb.topology.registry_addr().unwrap()),
        ("declarant".to_string(), sb.declarant_addr()),
    ];
    for code in ["CN", "KZ", "AZ", "TR"] {
        addrs.push((format!("node {code}"), sb.node_addr(code)));
    }
    for (name, addr) in addrs {
        let before = now();
        let t = corridor_time(addr).await;
        let after = now();
        // The sandbox's corridor runs on the system clock.
        assert_eq!(t.kind(), v1::ClockKind::System, "{name}");
        assert!((t.speed - 1.0).abs() < f64::EPSILON, "{name}: {}", t.speed);
        for (what, v) in [("now", t.now_unix_micros), ("real", t.real_unix_micros)] {
            assert!(
                before <= v && v <= after,
                "{name}: {what} {v} outside [{before}, {after}]"
            );
        }
    }
    sb.stop().await;
}
