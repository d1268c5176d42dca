//! The deployment files of `deploy/` against the corridor they deploy, without a container
//! engine: the compose and Kubernetes topologies are `deploy/corridor.toml` but for their
//! addresses; compose.yaml and the manifests of `deploy/k8s/` run every service (the registry,
//! the declarant, a customs node per country) on the topology's ports and addresses, each with
//! its own data volume, the topology and its own private key and no other; the scripts that
//! split a `corridor keys init` directory give every container the public keys only and each
//! service its own private key; the Containerfile builds `corridor-cli` and runs unprivileged.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corridor_core::{PublicKey, SigningKey};
use corridor_topology::Topology;
use serde_norway::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn deploy(rel: &str) -> PathBuf {
    root().join("deploy").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- the services a topology defines -------------------------------------------------------

/// What a service runs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Registry,
    Declarant,
    Customs(String),
}

/// A service of a topology: its name in compose and Kubernetes, and its address.
#[derive(Clone, Debug)]
struct Svc {
    name: String,
    role: Role,
    addr: SocketAddr,
}

impl Svc {
    /// `corridor serve ...` up to the common flags.
    fn serve(&self) -> Vec<String> {
        let v: Vec<&str> = match &self.role {
            Role::Registry => vec!["serve", "aeo"],
            Role::Declarant => vec!["serve", "declarant"],
            Role::Customs(cc) => vec!["serve", "customs", "--country", cc],
        };
        v.into_iter().map(String::from).collect()
    }

    /// The full argument list, with the private key at `key` and, for a customs node, its
    /// witness's key at `witness_key`.
    fn args(&self, key: &str, witness_key: &str) -> Vec<String> {
        let mut a = self.serve();
        for s in [
            "--topology",
            "/etc/corridor/topology.toml",
            "--data",
            "/var/lib/corridor",
            "--listen",
            &format!("0.0.0.0:{}", self.addr.port()),
            "--key",
            key,
        ] {
            a.push(s.to_owned());
        }
        if self.role == Role::Declarant {
            a.push("--operator-keys".into());
            a.push("/run/corridor/operators".into());
        }
        if let Role::Customs(_) = self.role {
            a.push("--witness-key".into());
            a.push(witness_key.into());
        }
        a
    }

    /// The witness key's public half, for a customs node.
    fn witness_public_key(&self, t: &Topology) -> Option<PublicKey> {
        let Role::Customs(cc) = &self.role else {
            return None;
        };
        let c = t.countries.iter().find(|c| &c.code == cc).unwrap();
        let paths = c.witness_key.clone().unwrap();
        Some(PublicKey::load(&t.resolve(&paths.public)).unwrap())
    }

    /// The file stem `corridor keys init` gives the service's key.
    fn key_stem(&self) -> String {
        match &self.role {
            Role::Registry => "registry".into(),
            Role::Declarant => "declarant".into(),
            Role::Customs(cc) => format!("{cc}/node"),
        }
    }

    /// The service's public key in a topology with keys.
    fn public_key(&self, t: &Topology) -> PublicKey {
        let paths = match &self.role {
            Role::Registry => t.registry.key.clone(),
            Role::Declarant => t.declarant.key.clone(),
            Role::Customs(cc) => t
                .countries
                .iter()
                .find(|c| &c.code == cc)
                .unwrap()
                .node
                .key
                .clone(),
        };
        PublicKey::load(&t.resolve(&paths.unwrap().public)).unwrap()
    }
}

fn load(rel: &str) -> Topology {
    Topology::load(&deploy(rel)).unwrap_or_else(|e| panic!("deploy/{rel}: {e}"))
}

fn addr(field: &str, s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|_| panic!("{field}: {s:?} is not ip:port"))
}

fn services(t: &Topology) -> Vec<Svc> {
    let mut out = vec![
        Svc {
            name: "registry".into(),
            role: Role::Registry,
            addr: addr("registry.listen", &t.registry.listen),
        },
        Svc {
            name: "declarant".into(),
            role: Role::Declarant,
            addr: addr("declarant.listen", &t.declarant.listen),
        },
    ];
    for c in &t.countries {
        out.push(Svc {
            name: format!("customs-{}", c.code.to_lowercase()),
            role: Role::Customs(c.code.clone()),
            addr: addr("node.listen", &c.node.listen),
        });
    }
    out
}

fn names(svcs: &[Svc]) -> BTreeSet<String> {
    svcs.iter().map(|s| s.name.clone()).collect()
}

fn ports(svcs: &[Svc]) -> BTreeSet<u16> {
    svcs.iter().map(|s| s.addr.port()).collect()
}

/// The topology with every address replaced by `reference`'s and the same base directory.
fn with_addresses_of(mut t: Topology, reference: &Topology) -> Topology {
    t.registry.listen = reference.registry.listen.clone();
    t.declarant.listen = reference.declarant.listen.clone();
    assert_eq!(t.countries.len(), reference.countries.len());
    for (c, r) in t.countries.iter_mut().zip(&reference.countries) {
        c.node.listen = r.node.listen.clone();
    }
    t.base = reference.base.clone();
    t
}

// ---- YAML ------------------------------------------------------------------------------------

/// The documents of a YAML stream (split at `---` lines), without empty ones.
fn yaml_docs(text: &str) -> Vec<Value> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let d = docs.last_mut().unwrap();
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.iter()
        .map(|d| {
            let mut v: Value =
                serde_norway::from_str(d).unwrap_or_else(|e| panic!("YAML: {e}\n{d}"));
            v.apply_merge().unwrap();
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {v:?}"))
}

fn seq<'a>(v: &'a Value, what: &str) -> &'a [Value] {
    v.as_sequence()
        .unwrap_or_else(|| panic!("{what}: expected a list, got {v:?}"))
}

fn strings(v: &Value, what: &str) -> Vec<String> {
    seq(v, what).iter().map(|x| s(x, what).to_owned()).collect()
}

fn keys(v: &Value, what: &str) -> BTreeSet<String> {
    v.as_mapping()
        .unwrap_or_else(|| panic!("{what}: expected a mapping, got {v:?}"))
        .keys()
        .map(|k| s(k, what).to_owned())
        .collect()
}

fn u64_of(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v:?}"))
}

/// A file mode as Kubernetes reads it: a number, or a YAML 1.1 octal like `0400` (which a
/// YAML 1.2 parser reads as a string) written unquoted in `text`.
fn mode(v: &Value, key: &str, text: &str, what: &str) -> u32 {
    match v {
        Value::Number(n) => u32::try_from(n.as_u64().unwrap()).unwrap(),
        Value::String(m) => {
            assert!(
                m.starts_with('0') && text.contains(&format!("{key}: {m}\n")),
                "{what}: {key} {m:?} must be an unquoted octal number"
            );
            u32::from_str_radix(m, 8).unwrap_or_else(|e| panic!("{what}: {m}: {e}"))
        }
        _ => panic!("{what}: {key} is {v:?}"),
    }
}

// ---- the topologies ---------------------------------------------------------------------------

#[test]
fn deploy_topologies_for_compose_and_k8s_are_corridor_toml_but_for_addresses() {
    let reference = load("corridor.toml");
    let expected = services(&reference);
    for (rel, prefix) in [
        ("compose/topology.toml", "172.29.74."),
        ("k8s/topology.toml", "10.96.0."),
    ] {
        let t = load(rel);
        let svcs = services(&t);
        assert_eq!(names(&svcs), names(&expected), "{rel}");
        for (a, b) in svcs.iter().zip(&expected) {
            assert_eq!(a.name, b.name, "{rel}");
            assert_eq!(a.addr.port(), b.addr.port(), "{rel}: {} port", a.name);
            // The address the recipe in the file's header gives: 127.0.0.1:74NN -> PREFIX1NN.
            assert_eq!(
                a.addr.ip().to_string(),
                format!("{prefix}{}", b.addr.port() - 7300),
                "{rel}: {}",
                a.name
            );
        }
        let ips: BTreeSet<_> = svcs.iter().map(|s| s.addr.ip()).collect();
        assert_eq!(ips.len(), svcs.len(), "{rel}: an address per service");
        assert_eq!(
            with_addresses_of(t, &reference),
            reference,
            "{rel} must be deploy/corridor.toml but for the addresses"
        );
    }
}

// ---- compose ----------------------------------------------------------------------------------

const DIR_VAR: &str = "${CORRIDOR_DIR:?see deploy/compose/init.sh}";

fn compose() -> Value {
    let docs = yaml_docs(&read(&deploy("compose.yaml")));
    assert_eq!(docs.len(), 1);
    docs.into_iter().next().unwrap()
}

#[test]
fn deploy_compose_runs_every_service_with_its_volume_topology_and_own_key() {
    let c = compose();
    let reference = services(&load("corridor.toml"));
    let svcs = services(&load("compose/topology.toml"));
    let services_yaml = &c["services"];
    assert_eq!(keys(services_yaml, "services"), names(&svcs));

    let subnet = s(
        &c["networks"]["corridor"]["ipam"]["config"][0]["subnet"],
        "subnet",
    );
    assert_eq!(subnet, "172.29.74.0/24");

    let mut published = BTreeSet::new();
    let mut data_volumes = BTreeSet::new();
    let mut secrets_used = BTreeSet::new();
    for (svc, r) in svcs.iter().zip(&reference) {
        let name = &svc.name;
        let y = &services_yaml[name.as_str()];
        assert_eq!(s(&y["image"], name), "corridor:0.1.0");
        assert_eq!(s(&y["build"]["dockerfile"], name), "deploy/Containerfile");
        assert_eq!(s(&y["build"]["context"], name), "..");
        assert_eq!(
            y["read_only"].as_bool(),
            Some(true),
            "{name}: read-only root"
        );
        assert_eq!(strings(&y["cap_drop"], name), ["ALL"]);
        assert!(y["user"].is_null(), "{name} runs as the image's user");

        let secret = format!("{name}-key");
        assert_eq!(
            strings(&y["command"], name),
            svc.args(
                &format!("/run/secrets/{secret}"),
                &format!("/run/secrets/{name}-witness-key")
            ),
            "{name}: command"
        );
        assert_eq!(
            s(&y["networks"]["corridor"]["ipv4_address"], name),
            svc.addr.ip().to_string(),
            "{name}: the address the topology lists"
        );
        // The port of deploy/corridor.toml, published on the host's loopback.
        let port = r.addr.port();
        assert_eq!(
            strings(&y["ports"], name),
            [format!("127.0.0.1:{port}:{port}")]
        );
        published.insert(port);

        // Mounts: its own data volume, the public directory, and for the declarant the
        // operators' keys it signs with; nothing else.
        let mut mounts = BTreeMap::new();
        for m in seq(&y["volumes"], name) {
            let target = s(&m["target"], name).to_owned();
            let source = s(&m["source"], name).to_owned();
            let kind = s(&m["type"], name).to_owned();
            let ro = m["read_only"].as_bool().unwrap_or(false);
            assert!(
                mounts.insert(target.clone(), (kind, source, ro)).is_none(),
                "{name}: {target} mounted twice"
            );
        }
        let mut expected = BTreeMap::from([
            (
                "/var/lib/corridor".to_owned(),
                ("volume".to_owned(), format!("{name}-data"), false),
            ),
            (
                "/etc/corridor".to_owned(),
                ("bind".to_owned(), format!("{DIR_VAR}/public"), true),
            ),
        ]);
        if svc.role == Role::Declarant {
            expected.insert(
                "/run/corridor/operators".to_owned(),
                ("bind".to_owned(), format!("{DIR_VAR}/keys/operators"), true),
            );
        }
        assert_eq!(mounts, expected, "{name}: mounts");
        assert!(data_volumes.insert(format!("{name}-data")));

        // Its own private key as its only secret (a node's also its witness's).
        let mut own = vec![secret.clone()];
        if let Role::Customs(cc) = &svc.role {
            let witness = format!("{name}-witness-key");
            assert_eq!(
                s(&c["secrets"][witness.as_str()]["file"], &witness),
                format!("{DIR_VAR}/keys/{cc}/witness.key"),
                "{name}: its witness's key"
            );
            own.push(witness);
        }
        assert_eq!(strings(&y["secrets"], name), own);
        assert_eq!(
            s(&c["secrets"][secret.as_str()]["file"], &secret),
            format!("{DIR_VAR}/keys/{}.key", svc.key_stem()),
            "{name}: its own key"
        );
        secrets_used.extend(own);
    }
    assert_eq!(published, ports(&reference), "published ports");
    assert_eq!(
        published,
        BTreeSet::from([7401, 7402, 7411, 7412, 7413, 7414])
    );
    assert_eq!(keys(&c["volumes"], "volumes"), data_volumes);
    assert_eq!(keys(&c["secrets"], "secrets"), secrets_used);
}

/// A `corridor keys init` directory for a topology of `deploy/`.
fn keys_init(rel: &str) -> (tempfile::TempDir, Topology) {
    let dir = tempfile::tempdir().unwrap();
    let (t, _, _) = corridor_topology::init_keys(load(rel), dir.path(), "deploy_files test")
        .unwrap_or_else(|e| panic!("keys init {rel}: {e}"));
    (dir, t)
}

fn run_script(rel: &str, dir: &Path) -> String {
    let out = std::process::Command::new("sh")
        .arg(deploy(rel))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deploy/{rel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every public key a topology gives a role, by role.
fn all_public_keys(t: &Topology) -> Vec<(String, PublicKey)> {
    let mut out: Vec<(String, PublicKey)> = t
        .authority_keys()
        .unwrap()
        .into_iter()
        .map(|(c, k)| (format!("authority {c}"), k))
        .collect();
    out.extend(t.other_keys().unwrap());
    out.extend(
        t.operator_keys()
            .unwrap()
            .into_iter()
            .map(|(o, k)| (format!("operator {o}"), k)),
    );
    out.extend(
        t.node_keys()
            .unwrap()
            .into_iter()
            .map(|(c, k)| (format!("node {c}"), k)),
    );
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[cfg(unix)]
fn file_mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn deploy_compose_init_gives_containers_public_keys_and_each_service_its_own() {
    let (dir, t) = keys_init("compose/topology.toml");
    run_script("compose/init.sh", dir.path());

    // DIR/public, which every container mounts: the topology and public keys only.
    let public = dir.path().join("public");
    for f in files_under(&public) {
        let rel = f
            .strip_prefix(&public)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            rel == "topology.toml" || rel.ends_with(".key.pub"),
            "public/{rel}"
        );
        assert!(!read(&f).contains("PRIVATE KEY"), "public/{rel}");
    }
    let text = read(&public.join("topology.toml"));
    for private in ["private =", "operator_keys ="] {
        assert!(!text.contains(private), "public/topology.toml: {private}");
    }
    let p = Topology::load(&public.join("topology.toml")).unwrap();
    assert_eq!(all_public_keys(&p), all_public_keys(&t));

    // The secrets compose mounts: each service's own key, mode 0400, the one its topology lists.
    let c = compose();
    let dir_str = dir.path().to_str().unwrap();
    for svc in services(&t) {
        let file = s(
            &c["secrets"][format!("{}-key", svc.name).as_str()]["file"],
            "file",
        )
        .replace(DIR_VAR, dir_str);
        let path = PathBuf::from(&file);
        assert_eq!(file_mode(&path), 0o400, "{file}");
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(key.public(), svc.public_key(&t), "{}: {file}", svc.name);
        if let Some(w) = svc.witness_public_key(&t) {
            let file = s(
                &c["secrets"][format!("{}-witness-key", svc.name).as_str()]["file"],
                "file",
            )
            .replace(DIR_VAR, dir_str);
            let path = PathBuf::from(&file);
            assert_eq!(file_mode(&path), 0o400, "{file}");
            assert_eq!(SigningKey::load(&path).unwrap().public(), w, "{file}");
        }
    }
    for f in files_under(&dir.path().join("keys/operators")) {
        if f.extension().is_some_and(|x| x == "key") {
            assert_eq!(file_mode(&f), 0o400, "{}", f.display());
        }
    }

    // The host's topology: the same corridor at the published ports.
    let host = Topology::load(&dir.path().join("host-topology.toml")).unwrap();
    for (h, r) in services(&host)
        .iter()
        .zip(services(&load("corridor.toml")).iter())
    {
        assert_eq!(h.addr, r.addr, "host-topology.toml: {}", h.name);
    }
    let reference = Topology::load(&dir.path().join("topology.toml")).unwrap();
    assert_eq!(with_addresses_of(host, &reference), reference);
}

// ---- Kubernetes -------------------------------------------------------------------------------

/// Every object of the manifests in deploy/k8s, by kind and name, with its file's text.
fn k8s_objects() -> BTreeMap<(String, String), (Value, String)> {
    let mut out = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let text = read(&f);
        for doc in yaml_docs(&text) {
            let kind = s(&doc["kind"], "kind").to_owned();
            let name = s(&doc["metadata"]["name"], "metadata.name").to_owned();
            if kind != "Namespace" {
                assert_eq!(
                    doc["metadata"]["namespace"].as_str(),
                    Some("corridor"),
                    "{kind} {name}"
                );
            }
            assert!(
                out.insert((kind.clone(), name.clone()), (doc, text.clone()))
                    .is_none(),
                "{kind} {name} twice"
            );
        }
    }
    out
}

/// Names of the objects of `kind`.
fn of_kind(objs: &BTreeMap<(String, String), (Value, String)>, kind: &str) -> BTreeSet<String> {
    objs.keys()
        .filter(|(k, _)| k == kind)
        .map(|(_, n)| n.clone())
        .collect()
}

fn named<'a>(v: &'a Value, list: &str, name: &str) -> &'a Value {
    seq(&v[list], list)
        .iter()
        .find(|x| x["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// The Secrets a StatefulSet's pod mounts, with their modes.
fn secret_volumes(sts: &Value, text: &str, what: &str) -> BTreeMap<String, u32> {
    seq(&sts["spec"]["template"]["spec"]["volumes"], "volumes")
        .iter()
        .filter(|v| !v["secret"].is_null())
        .map(|v| {
            (
                s(&v["secret"]["secretName"], what).to_owned(),
                mode(&v["secret"]["defaultMode"], "defaultMode", text, what),
            )
        })
        .collect()
}

#[test]
fn deploy_k8s_has_a_statefulset_and_service_per_service_with_grpc_probes() {
    let objs = k8s_objects();
    let reference = services(&load("corridor.toml"));
    let svcs = services(&load("k8s/topology.toml"));
    assert!(objs.contains_key(&("Namespace".to_owned(), "corridor".to_owned())));
    assert_eq!(of_kind(&objs, "Service"), names(&svcs));
    assert_eq!(of_kind(&objs, "StatefulSet"), names(&svcs));

    let mut service_ports = BTreeSet::new();
    for (svc, r) in svcs.iter().zip(&reference) {
        let name = &svc.name;
        let port = r.addr.port();
        assert_eq!(svc.addr.port(), port);

        // The Service: the topology's address, the port of deploy/corridor.toml.
        let (service, _) = &objs[&("Service".to_owned(), name.clone())];
        let spec = &service["spec"];
        assert_eq!(
            s(&spec["clusterIP"], name),
            svc.addr.ip().to_string(),
            "{name}"
        );
        let sp = seq(&spec["ports"], "ports");
        assert_eq!(sp.len(), 1, "{name}: one port");
        assert_eq!(u64_of(&sp[0]["port"], name), u64::from(port), "{name}");
        assert_eq!(
            u64_of(&sp[0]["targetPort"], name),
            u64::from(port),
            "{name}"
        );
        service_ports.insert(port);

        // The StatefulSet.
        let (sts, text) = &objs[&("StatefulSet".to_owned(), name.clone())];
        let spec = &sts["spec"];
        assert_eq!(s(&spec["serviceName"], name), name);
        assert_eq!(u64_of(&spec["replicas"], name), 1);
        let labels = spec["template"]["metadata"]["labels"].as_mapping().unwrap();
        for sel in [
            &service["spec"]["selector"],
            &spec["selector"]["matchLabels"],
        ] {
            for (k, v) in sel.as_mapping().unwrap() {
                assert_eq!(labels.get(k), Some(v), "{name}: selector {k:?}");
            }
        }
        let claims = seq(&spec["volumeClaimTemplates"], "volumeClaimTemplates");
        assert_eq!(claims.len(), 1, "{name}");
        assert_eq!(s(&claims[0]["metadata"]["name"], name), "data");
        assert!(claims[0]["spec"]["resources"]["requests"]["storage"].is_string());

        let pod = &spec["template"]["spec"];
        assert!(
            pod["securityContext"]["fsGroup"].is_null(),
            "{name}: an fsGroup makes the Secret's files group-readable"
        );
        let containers = seq(&pod["containers"], "containers");
        assert_eq!(containers.len(), 1, "{name}");
        let main = &containers[0];
        assert_eq!(s(&main["image"], name), "corridor:0.1.0");
        assert_eq!(
            strings(&main["args"], name),
            svc.args("/run/corridor/key", "/run/corridor/witness-key"),
            "{name}: args"
        );
        assert!(main["command"].is_null(), "{name}: the image's entrypoint");
        let cp = seq(&main["ports"], "ports");
        assert_eq!(cp.len(), 1);
        assert_eq!(u64_of(&cp[0]["containerPort"], name), u64::from(port));
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            let p = &main[probe];
            assert_eq!(
                keys(&p["grpc"], probe),
                BTreeSet::from(["port".to_owned()]),
                "{name}: {probe} is a grpc probe of the whole server"
            );
            assert_eq!(u64_of(&p["grpc"]["port"], probe), u64::from(port), "{name}");
            for other in ["httpGet", "tcpSocket", "exec"] {
                assert!(p[other].is_null(), "{name}: {probe}.{other}");
            }
        }
        let requests = &main["resources"]["requests"];
        assert!(
            !requests["cpu"].is_null() && !requests["memory"].is_null(),
            "{name}"
        );
        let sc = &main["securityContext"];
        assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true), "{name}");
        assert_eq!(u64_of(&sc["runAsUser"], name), 10001, "{name}");
        assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true), "{name}");

        // The service mounts its data, the topology and its key copy; nothing else.
        let mounts: BTreeMap<String, (String, bool)> = seq(&main["volumeMounts"], "volumeMounts")
            .iter()
            .map(|m| {
                (
                    s(&m["mountPath"], name).to_owned(),
                    (
                        s(&m["name"], name).to_owned(),
                        m["readOnly"].as_bool().unwrap_or(false),
                    ),
                )
            })
            .collect();
        assert_eq!(
            mounts,
            BTreeMap::from([
                ("/var/lib/corridor".to_owned(), ("data".to_owned(), false)),
                ("/etc/corridor".to_owned(), ("config".to_owned(), true)),
                ("/run/corridor".to_owned(), ("keys".to_owned(), true)),
            ]),
            "{name}: mounts"
        );
        assert_eq!(
            s(&named(pod, "volumes", "config")["configMap"]["name"], name),
            "corridor-topology"
        );
        assert_eq!(
            s(&named(pod, "volumes", "keys")["emptyDir"]["medium"], name),
            "Memory"
        );

        // Its own Secret (and, for the declarant, the operators' keys), mode 0400.
        let mut expected = BTreeMap::from([(format!("corridor-key-{name}"), 0o400)]);
        if svc.role == Role::Declarant {
            expected.insert("corridor-operator-keys".to_owned(), 0o400);
        }
        assert_eq!(secret_volumes(sts, text, name), expected, "{name}: secrets");

        // The init container copies the key, 0400, for the service's user.
        let init = seq(&pod["initContainers"], "initContainers");
        assert_eq!(init.len(), 1, "{name}");
        let script = strings(&init[0]["command"], name).join(" ");
        assert!(
            script.contains("install -m 0400 /secret/key /run/corridor/key"),
            "{name}"
        );
        if let Role::Customs(_) = svc.role {
            assert!(
                script.contains("install -m 0400 /secret/witness /run/corridor/witness-key"),
                "{name}"
            );
        }
        assert!(script.contains("chown"), "{name}");
        assert!(script.contains("10001:10001"), "{name}");
        assert_eq!(
            s(
                &named(pod, "volumes", "secret")["secret"]["secretName"],
                name
            ),
            format!("corridor-key-{name}")
        );
    }
    assert_eq!(service_ports, ports(&reference), "Service ports");
    assert_eq!(
        service_ports,
        BTreeSet::from([7401, 7402, 7411, 7412, 7413, 7414])
    );
}

#[cfg(unix)]
#[test]
fn deploy_k8s_config_script_makes_the_configmap_and_secrets_the_manifests_mount() {
    use base64::Engine;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let (dir, t) = keys_init("k8s/topology.toml");
    let out = run_script("k8s/config.sh", dir.path());
    let docs = yaml_docs(&out);

    // The ConfigMap, written out as Kubernetes mounts it: a topology whose keys all load.
    let cm: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("ConfigMap"))
        .collect();
    assert_eq!(cm.len(), 1);
    assert_eq!(s(&cm[0]["metadata"]["name"], "name"), "corridor-topology");
    let mounted = tempfile::tempdir().unwrap();
    for (k, v) in cm[0]["data"].as_mapping().unwrap() {
        let (k, v) = (s(k, "key"), s(v, "value"));
        assert!(!v.contains("PRIVATE KEY"), "ConfigMap {k}");
        std::fs::write(mounted.path().join(k), v).unwrap();
    }
    let text = read(&mounted.path().join("topology.toml"));
    for private in ["private =", "operator_keys ="] {
        assert!(
            !text.contains(private),
            "the ConfigMap's topology: {private}"
        );
    }
    let p = Topology::load(&mounted.path().join("topology.toml")).unwrap();
    assert_eq!(all_public_keys(&p), all_public_keys(&t));
    for (a, b) in services(&p)
        .iter()
        .zip(&services(&load("k8s/topology.toml")))
    {
        assert_eq!(
            (&a.name, a.addr),
            (&b.name, b.addr),
            "the ConfigMap's topology"
        );
    }

    // The Secrets: exactly those the StatefulSets mount, each with the right keys.
    let objs = k8s_objects();
    let mut mounted_secrets = BTreeSet::new();
    for name in of_kind(&objs, "StatefulSet") {
        let (sts, text) = &objs[&("StatefulSet".to_owned(), name.clone())];
        mounted_secrets.extend(secret_volumes(sts, text, &name).into_keys());
    }
    let secrets: BTreeMap<String, &Value> = docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("Secret"))
        .map(|d| (s(&d["metadata"]["name"], "name").to_owned(), &d["data"]))
        .collect();
    assert_eq!(
        secrets.keys().cloned().collect::<BTreeSet<_>>(),
        mounted_secrets
    );

    let key_of = |data: &Value, item: &str| -> SigningKey {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(s(&data[item], item))
            .unwrap();
        let f = mounted.path().join("secret.key");
        let _ = std::fs::remove_file(&f);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(&f)
            .unwrap();
        file.write_all(&pem).unwrap();
        drop(file);
        SigningKey::load(&f).unwrap()
    };
    for svc in services(&t) {
        let data = secrets[&format!("corridor-key-{}", svc.name)];
        let witness = svc.witness_public_key(&t);
        let mut items = BTreeSet::from(["key".to_owned()]);
        if witness.is_some() {
            items.insert("witness".to_owned());
        }
        assert_eq!(keys(data, &svc.name), items);
        assert_eq!(
            key_of(data, "key").public(),
            svc.public_key(&t),
            "{}: its own key",
            svc.name
        );
        if let Some(w) = witness {
            assert_eq!(
                key_of(data, "witness").public(),
                w,
                "{}: its witness's key",
                svc.name
            );
        }
    }
    let operators = secrets["corridor-operator-keys"];
    let listed = t.operator_keys().unwrap();
    assert_eq!(
        keys(operators, "corridor-operator-keys"),
        listed.iter().map(|(o, _)| format!("{o}.key")).collect()
    );
    for (o, k) in &listed {
        assert_eq!(key_of(operators, &format!("{o}.key")).public(), *k, "{o}");
    }
}

// ---- the Containerfile ------------------------------------------------------------------------

#[test]
fn deploy_containerfile_builds_corridor_cli_and_runs_unprivileged() {
    let text = read(&deploy("Containerfile"));
    // Instructions, with continuation lines joined and comments left out.
    let mut lines: Vec<String> = Vec::new();
    let mut cont = false;
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('#') || (t.is_empty() && !cont) {
            continue;
        }
        if cont {
            lines.last_mut().unwrap().push(' ');
            lines.last_mut().unwrap().push_str(t.trim_end_matches('\\'));
        } else {
            lines.push(t.trim_end_matches('\\').to_owned());
        }
        cont = t.ends_with('\\');
    }
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "a multi-stage build");
    let build = &lines[stages[0]..stages[stages.len() - 1]];
    let runtime = &lines[stages[stages.len() - 1]..];
    assert!(
        build.iter().any(|l| l.starts_with("RUN ")
            && l.contains("cargo build --release -p corridor-cli --locked")),
        "builds corridor-cli"
    );

    // Every workspace member and the lock file are copied into the build.
    let manifest = read(&root().join("Cargo.toml"));
    let members = &manifest[manifest.find("members = [").unwrap()..];
    let members = &members[..members.find(']').unwrap()];
    let copied: Vec<&String> = build.iter().filter(|l| l.starts_with("COPY ")).collect();
    let copies = |p: &str| {
        copied
            .iter()
            .any(|l| l.split_whitespace().skip(1).any(|w| w == p))
    };
    assert!(copies("Cargo.lock"), "--locked needs Cargo.lock");
    for m in members.split('"').skip(1).step_by(2) {
        let top = m.split('/').next().unwrap();
        assert!(copies(top), "workspace member {m} is not copied");
    }

    // The runtime stage: no key, the binary, an unprivileged user, corridor as entrypoint.
    for l in runtime {
        assert!(
            !l.contains(".key") && !l.contains("keys/"),
            "no key in the image: {l}"
        );
    }
    let args: BTreeMap<&str, &str> = runtime
        .iter()
        .filter_map(|l| l.strip_prefix("ARG "))
        .filter_map(|a| a.split_once('='))
        .collect();
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    let uid = uid
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .map_or(uid, |v| args[v]);
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user}: a numeric uid"));
    assert_ne!(uid, 0, "USER {user}");
    assert_eq!(uid, 10001, "the uid the Kubernetes manifests run as");
    let entry = runtime
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    assert!(entry.contains("/usr/local/bin/corridor"), "{entry}");
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("COPY --from=") && l.ends_with("/usr/local/bin/corridor")),
        "the runtime stage gets the binary from the build"
    );
}
