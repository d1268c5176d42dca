//! What the process-level tests share: running the `corridor` binary, a corridor's data root
//! made by `keys init` with free ports, and `corridor serve` children.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_proto::v1;
use corridor_proto::v1::customs_node_client::CustomsNodeClient;
use corridor_proto::v1::declarant_client::DeclarantClient;
use corridor_proto::v1::ledger_reader_client::LedgerReaderClient;
use corridor_topology::Topology;

pub(crate) const ROUTE: [&str; 4] = ["CN", "KZ", "AZ", "TR"];

/// Where the officers record the sample consignment's arrival at each country of [`ROUTE`]
/// (`arrive --post`): the entry posts its declaration names, and at CN, where it names none,
/// the inland office where the goods are presented for export.
pub(crate) const ARRIVAL_POSTS: [&str; 4] = ["CNXIY", "KZKGS", "AZBAK", "TRKSY"];

/// Where the officers record its exit from each country but the last (`exit --post`): the
/// exit posts its declaration names.
pub(crate) const EXIT_POSTS: [&str; 3] = ["CNKHG", "KZAAU", "AZBKS"];

pub(crate) fn corridor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
}

pub(crate) fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = corridor().args(args).output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

pub(crate) fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "corridor {args:?}: {out}{err}");
    out
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// A `corridor serve` child, once it said it listens.
pub(crate) struct Service {
    pub(crate) child: Child,
    /// Where it said it listens.
    pub(crate) addr: String,
}

impl Service {
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = corridor()
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{args:?}: {line:?}"))
            .trim()
            .to_owned();
        Self { child, addr }
    }

    pub(crate) fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub(crate) fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A test that failed half-way leaves no service running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) struct Corridor {
    pub(crate) root: PathBuf,
    pub(crate) topology: PathBuf,
}

impl Corridor {
    pub(crate) fn path(&self, rel: &str) -> String {
        self.root.join(rel).to_str().unwrap().to_owned()
    }

    pub(crate) fn node(&self, cc: &str) -> Service {
        Service::start(&[
            "customs",
            "--country",
            cc,
            "--topology",
            self.topology.to_str().unwrap(),
            "--data",
            &self.path(&format!("customs/{cc}")),
        ])
    }

    pub(crate) fn declarant(&self) -> Service {
        Service::start(&[
            "declarant",
            "--topology",
            self.topology.to_str().unwrap(),
            "--data",
            &self.path("declarant"),
        ])
    }

    /// Registers every operator of the topology with its development key, signed by its
    /// country's authority, through the CLI.
    pub(crate) fn register_operators(&self) {
        let t = Topology::load(&self.topology).unwrap();
        for o in &t.operators {
            ok(&[
                "aeo",
                "--topology",
                self.topology.to_str().unwrap(),
                "operator",
                "register",
                "--id",
                &o.id,
                "--name",
                &o.name,
                "--address",
                &o.address,
                "--operator-key",
                &self.path(&format!("keys/operators/{}.key.pub", o.id)),
                "--key",
                &self.path(&format!("keys/{}/authority.key", country_of(&o.id))),
            ]);
        }
    }

    pub(crate) fn registry(&self) -> Service {
        Service::start(&[
            "aeo",
            "--topology",
            self.topology.to_str().unwrap(),
            "--data",
            &self.path("registry"),
        ])
    }

    /// Declares the consignment of JSON file `file` through the CLI (`corridor declare`);
    /// returns its id.
    pub(crate) fn declare(&self, file: &Path) -> String {
        let out = ok(&[
            "declare",
            "--topology",
            self.topology.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
        ]);
        let id = out.split_whitespace().next().unwrap_or_default().to_owned();
        assert_eq!(id.len(), 64, "{out}");
        id
    }

    /// Runs an officer verb at `cc`; returns its output line.
    pub(crate) fn officer(&self, verb: &str, cc: &str, id: &str, rest: &[&str]) -> String {
        let key = self.path(&format!("keys/{cc}/officer-1.key"));
        let mut args = vec![
            verb,
            "--topology",
            self.topology.to_str().unwrap(),
            "--country",
            cc,
            "--key",
            &key,
            id,
        ];
        args.extend_from_slice(rest);
        ok(&args)
    }

    /// Moves consignment `id` through every country of the route as its officers do (a
    /// release with `findings` where one is awaited), each arrival once `corridor watch` has
    /// shown the previous country's handover acknowledged; the watch's lines from the last
    /// handover on, until it ends with the consignment.
    pub(crate) fn carry(&self, id: &str, findings: &str) -> Vec<String> {
        let mut watch = corridor()
            .args(["watch", "--topology", self.topology.to_str().unwrap(), id])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
        for (i, cc) in ROUTE.iter().enumerate() {
            if i > 0 {
                loop {
                    let l = lines.next().unwrap().unwrap();
                    if l.contains("advance.acknowledged") {
                        break;
                    }
                }
            }
            let out = self.officer("arrive", cc, id, &["--post", ARRIVAL_POSTS[i]]);
            if out.contains("awaiting an officer") {
                self.officer("decide", cc, id, &["release", "--findings", findings]);
            }
            if i + 1 < ROUTE.len() {
                self.officer("exit", cc, id, &["--post", EXIT_POSTS[i]]);
            }
        }
        let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
        assert!(watch.wait().unwrap().success());
        rest
    }
}

/// Keys init into a fresh root, with free ports written into its topology.
pub(crate) fn corridor_root(dir: &Path) -> Corridor {
    let root = dir.join("corridor");
    ok(&[
        "keys",
        "init",
        "--topology",
        deploy("corridor.toml").to_str().unwrap(),
        "--out",
        root.to_str().unwrap(),
    ]);
    let file = root.join("topology.toml");
    let mut t = Topology::load(&file).unwrap();
    // Every port bound at once, so that no two services are given the same one.
    let held: Vec<TcpListener> = (0..2 + t.countries.len())
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut addrs = held.iter().map(|l| l.local_addr().unwrap().to_string());
    t.registry.listen = addrs.next().unwrap();
    t.declarant.listen = addrs.next().unwrap();
    for c in &mut t.countries {
        c.node.listen = addrs.next().unwrap();
    }
    drop(held);
    std::fs::write(&file, t.to_toml()).unwrap();
    Corridor {
        root,
        topology: file,
    }
}

/// A `corridor up --ports auto` child, once it printed `corridor up: ready` (every service
/// SERVING, the topology's operators registered).
/// Killed on drop, so that a failed test leaves no corridor behind.
pub(crate) struct Up {
    pub(crate) child: Child,
    /// `DATA/topology.toml`, with the ports the services listen on.
    pub(crate) topology: PathBuf,
}

impl Up {
    /// Starts the development corridor on free ports under `data`.
    pub(crate) fn start(data: &Path) -> Self {
        let mut child = corridor()
            .args(["up", "--ports", "auto", "--topology"])
            .arg(deploy("corridor.toml"))
            .arg("--data")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next()
                .expect("corridor up ended before it was up")
                .unwrap();
            if line == "corridor up: ready" {
                break;
            }
        }
        // Keep draining stdout so `up` never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            topology: data.join("topology.toml"),
        }
    }

    /// Stops `up` with SIGTERM; it must stop its children and exit 0.
    pub(crate) fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "corridor up: {status}");
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // Nothing to do once `terminate` has waited for it.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The country of operator `id`.
pub(crate) fn country_of(id: &str) -> corridor_core::CountryCode {
    corridor_core::OperatorId::parse("operator", id)
        .expect("an operator id")
        .country()
}

/// The size of the ledger the service at `addr` serves, by its latest checkpoint.
pub(crate) async fn ledger_size(addr: &str) -> u64 {
    LedgerReaderClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .get_checkpoint(v1::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .size
}

/// Waits until every node's and the declarant's copy of the registry is complete.
pub(crate) async fn sync(t: &Topology) {
    let size = ledger_size(&t.registry.listen).await;
    for c in &t.countries {
        let s = CustomsNodeClient::connect(format!("http://{}", c.node.listen))
            .await
            .unwrap()
            .get_node_status(v1::NodeStatusRequest {
                min_registry_entries: size,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(s.registry_entries, size, "{}", c.code);
    }
    let s = DeclarantClient::connect(format!("http://{}", t.declarant.listen))
        .await
        .unwrap()
        .get_platform_status(v1::PlatformStatusRequest {
            min_registry_entries: size,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.registry_entries, size);
    assert!(s.operators.contains(&"KZ180540012345".to_string()), "{s:?}");
}
