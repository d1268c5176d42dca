//! The service around the rules: watching changes, health, reflection and the ledger
//! reader, restarts, and state rows checked on start.

use corridor_aeo::Config;
use corridor_aeo::sign::{request, sign, submit};
use corridor_core::{SigningKey, payload_type as pt};
use corridor_ledger::Ledger;
use corridor_ledger::RowChange;
use corridor_proto::v1;
use corridor_topology::Clock;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::support::*;

#[tokio::test]
async fn watchers_resume_from_any_sequence_without_gaps_or_duplicates() {
    let (_dir, keys, r, mut c) = fresh().await;
    for id in ["CN1", "KZ1", "AZ1"] {
        register(&mut c, &keys, id).await;
    }
    let mut all = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut from_two = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 2 })
        .await
        .unwrap()
        .into_inner();
    for want in 0..3 {
        let e = all.next().await.unwrap().unwrap().entry.unwrap();
        assert_eq!(e.seq, want);
        assert_eq!(e.kind, "aeo.operator.registered");
    }
    assert_eq!(
        from_two.next().await.unwrap().unwrap().entry.unwrap().seq,
        2
    );
    // A change recorded while they watch reaches both, once.
    register(&mut c, &keys, "TR1").await;
    let e = all.next().await.unwrap().unwrap().entry.unwrap();
    assert_eq!((e.seq, e.subject.as_str()), (3, "TR1"));
    assert_eq!(
        from_two.next().await.unwrap().unwrap().entry.unwrap().seq,
        3
    );
    // The entries' links hold.
    let first = c
        .watch_changes(v1::WatchChangesRequest { from_sequence: 3 })
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap()
        .entry
        .unwrap();
    assert_eq!(first.hash, e.hash);
    drop((all, from_two));
    r.stop().await;
}

#[tokio::test]
async fn health_reflection_and_the_ledger_reader_are_served() {
    use tonic_health::pb::health_client::HealthClient;
    let (_dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "CN1").await;
    register(&mut c, &keys, "KZ1").await;

    let mut h = HealthClient::new(r.channel().await);
    for service in ["", "corridor.v1.AeoRegistry", "corridor.v1.LedgerReader"] {
        let s = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            s.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }

    // Reflection, both versions: list services.
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut rc = ServerReflectionClient::new(r.channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut s = rc
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(l)) =
            s.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        let names: Vec<_> = l.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.contains(&"corridor.v1.AeoRegistry".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"corridor.v1.LedgerReader".to_string()),
            "{names:?}"
        );
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut rc = ServerReflectionClient::new(r.channel().await);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "corridor.v1.AeoRegistry".into(),
            )),
        };
        let mut s = rc
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::FileDescriptorResponse(f)) =
            s.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected file descriptors");
        };
        assert!(!f.file_descriptor_proto.is_empty());
    }

    let mut reader = r.reader().await;
    let cp = reader
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.size, 2);
    corridor_ledger::Checkpoint::open(&cp.note, &keys.registry.public()).unwrap();
    let entries: Vec<_> = reader
        .list_entries(v1::ListEntriesRequest {
            from_sequence: 0,
            to_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(entries[1].hash, cp.head_hash);
    let kz: Vec<_> = reader
        .list_subject_entries(v1::ListSubjectEntriesRequest {
            subject: "KZ1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(kz.len(), 1);
    assert_eq!(kz[0].seq, 1);
    r.stop().await;
}

#[tokio::test]
async fn a_restarted_registry_answers_the_same_and_its_ledger_verifies() {
    let (dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ180540012345").await;
    c.issue_certificate(request(
        pt::AEO_CERTIFICATE,
        &certificate("AEOKZ0000000001", "KZ180540012345", v1::AeoTier::Full),
        keys.of("KZ"),
    ))
    .await
    .unwrap();
    let mut both = sign(
        pt::MUTUAL_RECOGNITION,
        &arrangement("MRA-KZ-TR", "KZ", "TR", &[v1::AeoTier::Full]),
        keys.of("TR"),
    );
    both.add_signature(keys.of("KZ"));
    assert!(
        c.propose_arrangement(submit(&both))
            .await
            .unwrap()
            .into_inner()
            .in_force
    );
    let at = now();
    let before = check(&mut c, "KZ180540012345", "TR", at).await;
    assert!(before.recognised);
    r.stop().await;

    let verified = corridor_ledger::verify_dir(dir.path(), Some(&keys.registry.public()))
        .unwrap()
        .unwrap();
    assert_eq!(verified.entries, 3);

    let r = Running::start(dir.path(), &keys, 1 << 20).await;
    let mut c = r.client().await;
    assert_eq!(check(&mut c, "KZ180540012345", "TR", at).await, before);
    r.stop().await;
}

#[tokio::test]
async fn a_state_row_that_disagrees_with_the_ledger_stops_the_start() {
    let (dir, keys, r, mut c) = fresh().await;
    register(&mut c, &keys, "KZ1").await;
    r.stop().await;
    {
        // An entry recorded with a state row that says something else.
        let ledger = Ledger::open(dir.path(), "test/aeo-registry", &keys.registry).unwrap();
        let env = sign(
            pt::OPERATOR_REGISTRATION,
            &registration("KZ2", &SigningKey::generate()),
            keys.of("KZ"),
        );
        ledger
            .append(corridor_ledger::Append {
                kind: "aeo.operator.registered".into(),
                subject: "KZ2".into(),
                time_unix_micros: now(),
                envelope: corridor_proto::encode_envelope(&env),
                rows: vec![RowChange::set(
                    b"op/KZ2".to_vec(),
                    b"not the record".to_vec(),
                )],
            })
            .await
            .unwrap();
        ledger.close();
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        witnessing: Default::default(),
        data_dir: dir.path().to_owned(),
        origin: "test/aeo-registry".into(),
        key: keys.registry.clone(),
        keys: keys.trusted(),
        clock: Clock::System,
        document_times: Default::default(),
        max_message_bytes: 1 << 20,
        transport: Default::default(),
    };
    let err = corridor_aeo::serve(listener, config, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("op/KZ2"), "{err}");
}
