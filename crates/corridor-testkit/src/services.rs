//! The corridor's services started and stopped: the registry, every node and the
//! declarant, each served on a listener bound beforehand, stopped cleanly (ledgers flushed,
//! final checkpoints signed), and started again on its address from its data directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corridor_core::CountryCode;
use corridor_topology::Topology;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Sandbox;

/// A service running in a task of the test process, and what stops it.
pub(super) struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        let r = self.task.await;
        assert!(matches!(r, Ok(Ok(()))), "service stopped with {r:?}");
    }
}

impl Sandbox {
    /// The Middle Corridor built into corridor (`corridor topology show`), on ephemeral
    /// ports.
    pub async fn start() -> Self {
        Self::start_topology(Topology::middle_corridor().expect("the built-in topology")).await
    }

    /// The corridor of topology file `file`, on ephemeral ports.
    pub async fn start_with(file: &Path) -> Self {
        Self::start_topology(Topology::load(file).expect("topology")).await
    }

    /// The corridor of topology `t`, on ephemeral ports.
    pub async fn start_topology(t: Topology) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (mut t, _, _) =
            corridor_topology::init_keys(t, dir.path(), "sandbox").expect("development keys");
        let bind = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0")
        };
        let registry = bind().await;
        t.registry.listen = registry.local_addr().expect("addr").to_string();
        let declarant = bind().await;
        t.declarant.listen = declarant.local_addr().expect("addr").to_string();
        let mut listeners = BTreeMap::new();
        for c in &mut t.countries {
            let l = bind().await;
            c.node.listen = l.local_addr().expect("addr").to_string();
            listeners.insert(c.code.clone(), l);
        }
        let mut sandbox = Self {
            dir,
            topology: t,
            registry: None,
            nodes: BTreeMap::new(),
            declarant: None,
            operators: BTreeMap::new(),
        };
        sandbox.registry = Some(sandbox.spawn_registry(registry));
        for (code, l) in listeners {
            let node = sandbox.spawn_node(&code, l);
            sandbox.nodes.insert(code, node);
        }
        sandbox.declarant = Some(sandbox.spawn_declarant(declarant));
        sandbox
    }

    fn spawn_declarant(&self, listener: TcpListener) -> Running {
        let config = corridor_declarant::Config::from_topology(
            &self.topology,
            self.dir.path().join("declarant"),
            None,
        )
        .expect("declarant config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_declarant::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    fn spawn_registry(&self, listener: TcpListener) -> Running {
        let config = corridor_aeo::Config::from_topology(
            &self.topology,
            self.dir.path().join("registry"),
            None,
        )
        .expect("registry config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_aeo::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    fn spawn_node(&self, code: &str, listener: TcpListener) -> Running {
        let cc = CountryCode::parse("country", code).expect("country");
        let config =
            corridor_customs::Config::from_topology(&self.topology, cc, self.node_dir(code), None)
                .expect("node config");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            corridor_customs::serve(listener, config, token)
                .await
                .map_err(|e| e.to_string())
        });
        Running { shutdown, task }
    }

    /// The data directory of country `code`'s node (laid out as `corridor up` does).
    pub fn node_dir(&self, code: &str) -> PathBuf {
        self.dir.path().join("customs").join(code)
    }

    /// Starts country `code`'s node on a fresh port from its data directory, and returns
    /// its error when it refuses to start (a node that starts is stopped again; then `Ok`).
    pub async fn try_start_node(&self, code: &str) -> Result<(), String> {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let cc = CountryCode::parse("country", code).expect("country");
        let config =
            corridor_customs::Config::from_topology(&self.topology, cc, self.node_dir(code), None)
                .expect("node config");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shutdown = CancellationToken::new();
        let serving = corridor_customs::serve_ready(l, config, shutdown.clone(), move |_| {
            let _ = tx.send(());
        });
        tokio::pin!(serving);
        tokio::select! {
            r = &mut serving => r.map_err(|e| e.to_string()),
            _ = rx => {
                shutdown.cancel();
                serving.await.map_err(|e| e.to_string())
            }
        }
    }

    /// Stops country `code`'s node (its ledger flushed, a final checkpoint signed).
    pub async fn stop_node(&mut self, code: &str) {
        if let Some(n) = self.nodes.remove(code) {
            n.stop().await;
        }
    }

    /// Starts country `code`'s node again on its address, from its data directory.
    pub async fn restart_node(&mut self, code: &str) {
        let addr = self.node_addr(code);
        let l = TcpListener::bind(addr)
            .await
            .expect("rebind the node's port");
        let node = self.spawn_node(code, l);
        self.nodes.insert(code.to_string(), node);
    }

    /// Stops the registry.
    pub async fn stop_registry(&mut self) {
        if let Some(r) = self.registry.take() {
            r.stop().await;
        }
    }

    /// Stops the declarant (its ledger flushed, a final checkpoint signed).
    pub async fn stop_declarant(&mut self) {
        if let Some(d) = self.declarant.take() {
            d.stop().await;
        }
    }

    /// Starts the declarant again on its address, from its data directory.
    pub async fn restart_declarant(&mut self) {
        let l = TcpListener::bind(self.declarant_addr())
            .await
            .expect("rebind the declarant's port");
        self.declarant = Some(self.spawn_declarant(l));
    }

    /// Stops everything.
    pub async fn stop(mut self) {
        self.stop_declarant().await;
        let codes: Vec<String> = self.nodes.keys().cloned().collect();
        for c in codes {
            self.stop_node(&c).await;
        }
        self.stop_registry().await;
    }

    /// The address of country `code`'s node.
    pub fn node_addr(&self, code: &str) -> SocketAddr {
        let cc = CountryCode::parse("country", code).expect("country");
        self.topology.node_addr(&cc).expect("node address")
    }

    /// The declarant's address.
    pub fn declarant_addr(&self) -> SocketAddr {
        self.topology
            .declarant
            .listen
            .parse()
            .expect("declarant address")
    }
}
