//! A whole corridor on this machine, each service a separate `corridor serve` process with
//! its own data directory and port.
//!
//! Each child's standard input is a pipe that only this process holds: when it exits, by
//! any means (SIGKILL included), the kernel closes it and every child stops as on SIGTERM
//! (`serve --stop-on-stdin-eof`), flushing its ledger. Children's logs go to
//! `DATA/logs/<service>.log`; the data root is laid out as [`corridor_audit::layout`] says.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use corridor_audit::layout::{declarant_dir, logs_dir, node_dir, registry_dir, topology_file};
use corridor_topology::Topology;
use tokio::sync::mpsc;

/// The data root's topology: made (keys and all) from `src` (the built-in Middle Corridor,
/// [`corridor_topology::MIDDLE_CORRIDOR`], when `None`) on the first run, read back on later
/// ones; `adjust` may change it (ports, clock, risk) before it is written again.
pub fn prepare(
    src: Option<&Path>,
    root: &Path,
    auto_ports: bool,
    adjust: impl FnOnce(&mut Topology),
) -> anyhow::Result<Topology> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("cannot create the data directory {}", root.display()))?;
    let probe = root.join(".corridor-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("the data directory {} is not writable", root.display()))?;
    let _ = std::fs::remove_file(&probe);
    let file = topology_file(root);
    let mut t = if file.exists() {
        let mut t = Topology::load(&file)?;
        if t.key_slots().iter().any(|(_, slot)| slot.is_none()) {
            // Made before a role had a key of its own (the witnesses'): the keys there are
            // kept and the missing ones made.
            t = corridor_topology::init_keys(
                t,
                root,
                "Written by `corridor up`: development keys, never to be committed.",
            )?
            .0;
        }
        t
    } else {
        let (t, from) = match src {
            Some(src) => (
                Topology::load(src)
                    .with_context(|| format!("cannot load the topology {}", src.display()))?,
                src.display().to_string(),
            ),
            None => (
                Topology::middle_corridor()?,
                "the built-in Middle Corridor".to_string(),
            ),
        };
        let header = format!(
            "Written by `corridor up` from {from}: development keys, never to be committed."
        );
        corridor_topology::init_keys(t, root, &header)?.0
    };
    if auto_ports {
        let mut addrs = free_addrs(2 + t.countries.len())?.into_iter();
        let mut next = || addrs.next().context("cannot pick a free port");
        t.registry.listen = next()?;
        t.declarant.listen = next()?;
        for c in &mut t.countries {
            c.node.listen = next()?;
        }
    }
    adjust(&mut t);
    t.write(
        &file,
        "Written by `corridor up`: the corridor as its services run it. Development keys.",
    )?;
    Ok(Topology::load(&file)?)
}

/// `n` distinct free ports on 127.0.0.1: all bound at once (so the system hands out no port
/// twice), then released for the services to bind.
fn free_addrs(n: usize) -> anyhow::Result<Vec<String>> {
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("cannot pick a free port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(held
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect::<std::io::Result<_>>()?)
}

/// One service to run.
struct Spec {
    name: String,
    args: Vec<String>,
    listen: String,
    data: PathBuf,
    health: &'static str,
}

fn specs(t: &Topology, root: &Path) -> Vec<Spec> {
    let topo = topology_file(root).display().to_string();
    let mut out = vec![Spec {
        name: "registry".into(),
        args: vec!["aeo".into()],
        listen: t.registry.listen.clone(),
        data: registry_dir(root),
        health: "corridor.v1.AeoRegistry",
    }];
    for cc in t.country_codes() {
        let listen = t
            .country(&cc)
            .map(|(_, c)| c.node.listen.clone())
            .unwrap_or_default();
        out.push(Spec {
            name: format!("customs {cc}"),
            args: vec!["customs".into(), "--country".into(), cc.to_string()],
            listen,
            data: node_dir(root, &cc),
            health: "corridor.v1.CustomsNode",
        });
    }
    out.push(Spec {
        name: "declarant".into(),
        args: vec!["declarant".into()],
        listen: t.declarant.listen.clone(),
        data: declarant_dir(root),
        health: "corridor.v1.Declarant",
    });
    for s in &mut out {
        s.args.extend([
            "--topology".into(),
            topo.clone(),
            "--data".into(),
            s.data.display().to_string(),
            "--listen".into(),
            s.listen.clone(),
        ]);
    }
    out
}

/// A running child.
pub struct Running {
    /// The service's name (`registry`, `customs KZ`, `declarant`).
    pub name: String,
    /// Where it listens.
    pub addr: String,
    /// Its data directory.
    pub data: PathBuf,
    /// Its process id.
    pub pid: u32,
    stdin: Option<ChildStdin>,
}

/// A corridor of child processes.
pub struct Corridor {
    /// The data root.
    pub root: PathBuf,
    /// The topology the services run with.
    pub topology: Topology,
    /// The services, in start order.
    pub services: Vec<Running>,
    /// The dashboard, once [`Corridor::start_dashboard`] started it (in this process).
    pub dashboard: Option<crate::dashboard::Running>,
    /// Children that exited, as each exits. Behind a lock so that a run of the corridor
    /// (holding it shared) can watch for them.
    exits: tokio::sync::Mutex<mpsc::UnboundedReceiver<Exited>>,
}

/// A child that exited.
#[derive(Clone, Debug)]
pub struct Exited {
    /// The service's name (`registry`, `customs KZ`, `declarant`).
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// How it ended.
    pub status: ExitStatus,
}

impl std::fmt::Display for Exited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service {} (pid {}) stopped: {}",
            self.name, self.pid, self.status
        )
    }
}

impl Corridor {
    /// Starts every service of `t` (already prepared under `root`) as a child `PROGRAM serve`
    /// (`program` is the `corridor` binary), each once the one before it is listening, then waits for each to report SERVING on gRPC health.
    pub async fn start(program: &Path, t: Topology, root: &Path) -> anyhow::Result<Self> {
        let specs = specs(&t, root);
        for s in &specs {
            if let Err(e) = std::net::TcpListener::bind(&s.listen) {
                bail!("{}: cannot listen on {}: {e}", s.name, s.listen);
            }
        }
        let logs = logs_dir(root);
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        let (tx, exits) = mpsc::unbounded_channel();
        let mut corridor = Self {
            root: root.to_owned(),
            topology: t,
            services: Vec::new(),
            dashboard: None,
            exits: tokio::sync::Mutex::new(exits),
        };
        for s in specs {
            let log_path = logs.join(format!("{}.log", s.name.replace(' ', "-")));
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let mut child = Command::new(program)
                .arg("serve")
                .arg("--stop-on-stdin-eof")
                .args(&s.args)
                .env(
                    "CORRIDOR_LOG",
                    std::env::var("CORRIDOR_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .spawn()
                .with_context(|| format!("cannot start {}", s.name))?;
            let stdin = child.stdin.take();
            let stdout = child.stdout.take().context("child stdout")?;
            let pid = child.id();
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            if !first.starts_with("listening on ") {
                let status = child.wait().ok();
                let last = std::fs::read_to_string(&log_path)
                    .ok()
                    .and_then(|l| {
                        l.lines()
                            .rev()
                            .find(|x| !x.trim().is_empty())
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                corridor.stop().await;
                bail!(
                    "{} did not start ({}): {last} (log: {})",
                    s.name,
                    status.map_or("unknown status".into(), |s| s.to_string()),
                    log_path.display()
                );
            }
            let name = s.name.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                // Drain stdout, then report the exit.
                for _ in lines.lines() {}
                if let Ok(status) = wait(child) {
                    let _ = tx.send(Exited { name, pid, status });
                }
            });
            corridor.services.push(Running {
                name: s.name.clone(),
                addr: s.listen,
                data: s.data,
                pid,
                stdin,
            });
            wait_serving(
                &corridor.topology,
                &corridor.services[corridor.services.len() - 1].addr,
                s.health,
            )
            .await
            .with_context(|| format!("{} did not report SERVING", s.name))?;
        }
        Ok(corridor)
    }

    /// Starts the dashboard of the corridor on `listen` (port 0 picks a free one); the table
    /// then lists it, and [`Corridor::stop`] stops it first.
    pub async fn start_dashboard(&mut self, listen: &str) -> anyhow::Result<()> {
        let d = crate::dashboard::Running::start(listen, self.topology.clone()).await?;
        self.dashboard = Some(d);
        Ok(())
    }

    /// The corridor's topology file.
    pub fn topology_file(&self) -> PathBuf {
        topology_file(&self.root)
    }

    /// The table of services, a line each, with a header: name, gRPC address, the URL of
    /// its ledger's C2SP tiles on the same port (`https` under `[tls]`), process id, data
    /// directory; the dashboard last when it runs (its page's URL, this process's id, no
    /// data directory: `-`); then, after an empty line, the table of the corridor's border posts, a
    /// line each: country, UN/LOCODE, crossings (`inland` for an office where goods cross no
    /// frontier) and name.
    pub fn table(&self) -> Vec<String> {
        let scheme = if self.topology.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let mut lines = vec![format!(
            "{:<12} {:<22} {:<30} {:<8} DATA",
            "SERVICE", "ADDRESS", "URL", "PID"
        )];
        for s in &self.services {
            lines.push(format!(
                "{:<12} {:<22} {:<30} {:<8} {}",
                s.name,
                s.addr,
                format!("{scheme}://{}/", s.addr),
                s.pid,
                s.data.display()
            ));
        }
        if let Some(d) = &self.dashboard {
            lines.push(format!(
                "{:<12} {:<22} {:<30} {:<8} -",
                "dashboard",
                d.addr(),
                d.url(),
                std::process::id()
            ));
        }
        lines.push(String::new());
        lines.push(format!(
            "{:<8} {:<8} {:<12} NAME",
            "COUNTRY", "POST", "CROSSINGS"
        ));
        for cc in self.topology.country_codes() {
            // The topology was checked when it was loaded: every post has a valid code.
            for p in self.topology.posts(&cc).unwrap_or_default() {
                lines.push(format!(
                    "{:<8} {:<8} {:<12} {}",
                    cc.as_str(),
                    p.locode.as_str(),
                    p.crossings_text(),
                    p.name
                ));
            }
        }
        lines
    }

    /// The next child to exit on its own (at once when one has exited unseen); `None` once
    /// every child has been seen to exit.
    pub async fn next_exit(&self) -> Option<Exited> {
        self.exits.lock().await.recv().await
    }

    /// Stops every child (as on SIGTERM: it finishes its calls, flushes its ledger and signs
    /// a checkpoint) and waits for each; a child still running after 30 s is killed. The
    /// dashboard stops first.
    pub async fn stop(&mut self) {
        if let Some(d) = self.dashboard.take() {
            d.stop().await;
        }
        let n = self.services.len();
        for s in &mut self.services {
            drop(s.stdin.take());
        }
        let mut exited = 0;
        let mut exits = self.exits.lock().await;
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        while exited < n {
            tokio::select! {
                e = exits.recv() => match e {
                    Some(_) => exited += 1,
                    None => break,
                },
                _ = &mut deadline => {
                    for s in &self.services {
                        let _ = Command::new("kill").args(["-KILL", &s.pid.to_string()]).status();
                    }
                    break;
                }
            }
        }
    }
}

fn wait(mut child: Child) -> std::io::Result<ExitStatus> {
    child.wait()
}

/// Waits until the service at `addr` reports SERVING for `service` on gRPC health (as the
/// topology's client: over TLS when `t` has `[tls]`).
async fn wait_serving(t: &Topology, addr: &str, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let channel = corridor_net::endpoint(t, &corridor_topology::ServiceRole::Client, addr)?
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let mut c = HealthClient::new(channel);
    let r = c
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await?
        .into_inner();
    if r.status() != ServingStatus::Serving {
        bail!("{service} at {addr} is {:?}", r.status());
    }
    Ok(())
}

/// Cancels on SIGTERM or ctrl-c.
pub async fn signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
