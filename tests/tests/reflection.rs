#![allow(clippy::unwrap_used)]
//! Each server's reflection lists what that server serves, and nothing of the other
//! services' (grpcurl `list` on a customs node shows no `Declarant`).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use corridor_tests::sandbox::Sandbox;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// The services the reflection of the server at `addr` lists.
async fn listed(addr: SocketAddr) -> BTreeSet<String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("not a list of services: {other:?}"),
    }
}

fn names(own: &[&str]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = [
        "corridor.v1.CorridorClock",
        "corridor.v1.LedgerReader",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]
    .map(String::from)
    .into();
    names.extend(own.iter().map(|s| s.to_string()));
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_s_reflection_lists_only_what_it_serves() {
    let sb = Sandbox::start().await;
    assert_eq!(
        listed(sb.topology.registry_addr().unwrap()).await,
        names(&["corridor.v1.AeoRegistry"])
    );
    for code in ["CN", "KZ", "AZ", "TR"] {
        assert_eq!(
            listed(sb.node_addr(code)).await,
            names(&["corridor.v1.CustomsNode", "corridor.v1.Witness"]),
            "the node of {code}"
        );
    }
    assert_eq!(
        listed(sb.declarant_addr()).await,
        names(&["corridor.v1.Declarant"])
    );
    sb.stop().await;
}
