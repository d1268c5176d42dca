#![allow(clippy::unwrap_used)]
//! Every service serves its ledger as C2SP tlog-tiles over HTTP/1.1 on its gRPC port: the
//! checkpoint is the one `LedgerReader` gives and verifies with the service's key, the
//! tiles and entry bundles are the tree it commits to, with the cache headers the spec
//! asks for; paths outside the spec and tiles beyond the tree are 404; gRPC on the same
//! port is unchanged, and a gRPC call to a service the server does not offer is still
//! UNIMPLEMENTED.

use std::net::SocketAddr;

use corridor_core::Digest;
use corridor_ledger::Note;
use corridor_ledger::merkle::{leaf_hash, node_hash};
use corridor_proto::v1;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_tests::http::{self, Answer};
use corridor_tests::sandbox::{Sandbox, plain_consignment, topology_parties, witnessed};
use corridor_topology::ServiceRole;

async fn request(addr: SocketAddr, method: &str, path: &str) -> Answer {
    http::request(addr, method, path, b"").await
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path).await
}

fn root_of_leaf_hashes(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => Digest::of(b""),
        1 => leaves[0],
        n => {
            let k = 1usize << (n - 1).ilog2();
            node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_serves_its_ledger_as_tiles_beside_grpc() {
    let mut sb = Sandbox::start().await;
    sb.register_topology_operators().await;
    // A consignment declared, so that the first node's and the declarant's ledgers hold
    // entries too.
    let c = plain_consignment(1, &topology_parties());
    sb.declarant()
        .await
        .submit_consignment(c.request)
        .await
        .unwrap();
    let t = &sb.topology;
    let key = |role| t.service_key(&role, None).unwrap().public();
    let services = [
        (t.registry_addr().unwrap(), key(ServiceRole::Registry)),
        (
            sb.node_addr("CN"),
            key(ServiceRole::Node("CN".parse().unwrap())),
        ),
        (sb.declarant_addr(), key(ServiceRole::Declarant)),
    ];
    for (addr, key) in services {
        let cp = LedgerReaderClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
            .get_checkpoint(v1::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner();

        // Once the ledger's size is witnessed, /checkpoint is that witnessed checkpoint.
        let w = witnessed(addr, cp.size).await;
        let a = get(addr, "/checkpoint").await;
        assert_eq!(a.status, 200, "{addr}");
        assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(a.header("cache-control"), Some("no-cache"));
        let note = String::from_utf8(a.body).unwrap();
        assert_eq!(
            note,
            w.checkpoint.as_ref().unwrap().note,
            "{addr}: /checkpoint is not the witnessed checkpoint"
        );
        assert!(
            note.starts_with(cp.note.split("\n\n").next().unwrap()),
            "{addr}: {note}"
        );
        assert!(
            w.cosigners.len() >= w.quorum as usize && w.quorum >= 2,
            "{addr}: {w:?}"
        );
        let checked = Note::parse(&note).unwrap().verify(&key).unwrap();
        assert_eq!(checked.size(), cp.size);

        // The level-0 tile and the entry bundle of the whole (small) ledger.
        let size = cp.size;
        assert!(size > 0 && size < 256, "{addr}: {size} entries");
        let a = get(addr, &format!("/tile/0/000.p/{size}")).await;
        assert_eq!(a.status, 200, "{addr}");
        assert_eq!(a.header("content-type"), Some("application/octet-stream"));
        assert_eq!(
            a.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let leaves: Vec<Digest> = a
            .body
            .chunks(32)
            .map(|c| Digest::from_slice("tile", c).unwrap())
            .collect();
        assert_eq!(leaves.len() as u64, size);
        assert_eq!(root_of_leaf_hashes(&leaves), checked.root(), "{addr}");
        let a = get(addr, &format!("/tile/entries/000.p/{size}")).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body.len() as u64, size * 34);
        for (i, e) in a.body.chunks(34).enumerate() {
            assert_eq!(&e[..2], &[0, 32]);
            assert_eq!(leaf_hash(&e[2..]), leaves[i], "{addr}: entry {i}");
        }
        // An earlier partial tile stays; HEAD answers as GET without the body.
        assert_eq!(get(addr, "/tile/0/000.p/1").await.status, 200);
        let a = request(addr, "HEAD", "/tile/0/000.p/1").await;
        assert_eq!((a.status, a.body.len()), (200, 0));

        for (path, why) in [
            (format!("/tile/0/000.p/{}", size + 1), "is not in the tree"),
            ("/tile/0/000".into(), "is not in the tree"),
            ("/tile/1/000.p/1".into(), "is not in the tree"),
            ("/tile/0/0".into(), "is not a tile path"),
            ("/tile/00/000".into(), "is not a tile path"),
            ("/tile/0/000.p/256".into(), "is not a tile path"),
            ("/tile/entries/x000/001".into(), "is not a tile path"),
            ("/tile/".into(), "is not served here"),
            ("/checkpoints".into(), "is not served here"),
            ("/".into(), "is not served here"),
        ] {
            let a = get(addr, &path).await;
            assert_eq!(a.status, 404, "{addr}{path}");
            let body = String::from_utf8(a.body).unwrap();
            assert!(body.contains(why), "{addr}{path}: {body}");
        }
        assert_eq!(request(addr, "POST", "/checkpoint").await.status, 405);
        assert_eq!(request(addr, "DELETE", "/tile/0/000.p/1").await.status, 405);
    }

    // gRPC on the same port: a service the server does not offer is UNIMPLEMENTED.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", sb.node_addr("KZ")))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = corridor_proto::v1::declarant_client::DeclarantClient::new(channel)
        .get_platform_status(v1::PlatformStatusRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    sb.stop().await;
}
