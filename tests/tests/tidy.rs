//! Repository invariants that no compiler checks.

#![allow(clippy::unwrap_used)]

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn core_and_ledger_know_no_wire_format() {
    for krate in ["corridor-core", "corridor-ledger"] {
        let manifest =
            std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
        for dep in ["prost", "tonic"] {
            assert!(
                !manifest.lines().any(|l| l.trim_start().starts_with(dep)),
                "{krate} must not depend on {dep}"
            );
        }
    }
}

#[test]
fn no_private_keys_are_committed() {
    let out = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .expect("git ls-files");
    assert!(out.status.success());
    let files = String::from_utf8_lossy(&out.stdout);
    assert!(
        files.lines().any(|f| f == "Cargo.toml"),
        "git lists the workspace"
    );
    for f in files
        .lines()
        .filter(|f| !f.ends_with(".rs") && !f.ends_with(".md"))
    {
        let text = std::fs::read(root().join(f)).unwrap_or_default();
        let needle = b"-----BEGIN PRIVATE KEY-----";
        assert!(
            !text.windows(needle.len()).any(|w| w == needle),
            "{f} holds a private key"
        );
    }
}

/// The `corridor-*` crates each crate's `[dependencies]` names, from its manifest.
fn corridor_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && line.starts_with("corridor-") {
            let name = line.split(['.', ' ', '=']).next().unwrap_or_default();
            deps.push(name.to_owned());
        }
    }
    deps.sort();
    deps
}

/// The crate graph as ARCHITECTURE.md draws it: the lines `crate -> dep, dep` of its
/// `crate-graph` block.
fn drawn_graph() -> std::collections::BTreeMap<String, Vec<String>> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let block = doc
        .split("```text crate-graph\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```text crate-graph block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (krate, deps) = l.split_once("->").expect("a line `crate -> deps`");
            let mut deps: Vec<String> = deps
                .split(',')
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty() && d != "(nothing)")
                .collect();
            deps.sort();
            (krate.trim().to_owned(), deps)
        })
        .collect()
}

#[test]
fn the_crate_graph_is_the_one_architecture_md_draws() {
    let drawn = drawn_graph();
    let mut manifests: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.join("Cargo.toml"))
        })
        .collect();
    manifests.push(("corridor-tests".into(), root().join("tests/Cargo.toml")));
    manifests.sort();
    let names: Vec<&String> = manifests.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        drawn.keys().collect::<Vec<_>>(),
        "every crate is drawn, and only those"
    );
    for (krate, manifest) in &manifests {
        let deps = corridor_dependencies(&std::fs::read_to_string(manifest).unwrap());
        assert_eq!(&deps, &drawn[krate], "{krate}'s dependencies");
    }
}

/// The top-level modules of the crate whose sources are in `src` that each top-level module
/// names through `crate::` paths.
fn module_imports(
    src: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            // The crate root, and test-only modules (a module's `tests`, the crate's
            // `testing` fixture), which may use anything.
            let test_only = rel.components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "tests" || c == "tests.rs" || c == "testing.rs"
            });
            if top == "lib" || top == "main" || test_only {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // A module's own tests may use anything; a comment's link imports nothing.
            let text: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let uses = graph.entry(top.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                if text[..i].ends_with(char::is_alphanumeric) || text[..i].ends_with('_') {
                    continue;
                }
                let rest = &text[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let names: Vec<String> = if name.is_empty() && rest.starts_with('{') {
                    rest[1..rest.find('}').unwrap_or(1)]
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or_default().to_owned())
                        .collect()
                } else {
                    vec![name]
                };
                for n in names {
                    let is_module = src.join(format!("{n}.rs")).exists()
                        || src.join(&n).join("mod.rs").exists();
                    if !n.is_empty() && n != top && is_module {
                        uses.insert(n);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn no_crate_s_modules_import_each_other_in_a_circle() {
    let mut crates: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|d| d.unwrap().path().join("src"))
        .collect();
    crates.push(root().join("tests/src"));
    for src in crates {
        let graph = module_imports(&src);
        // Depth-first search for a back edge.
        fn visit(
            m: &str,
            graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut std::collections::BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == m) {
                let mut circle = path[i..].to_vec();
                circle.push(m.to_owned());
                return Some(circle);
            }
            if done.contains(m) {
                return None;
            }
            path.push(m.to_owned());
            for next in graph.get(m).into_iter().flatten() {
                if let Some(c) = visit(next, graph, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(m.to_owned());
            None
        }
        let mut done = std::collections::BTreeSet::new();
        for m in graph.keys() {
            if let Some(circle) = visit(m, &graph, &mut Vec::new(), &mut done) {
                panic!(
                    "{}: modules in a circle: {}",
                    src.display(),
                    circle.join(" -> ")
                );
            }
        }
    }
}

#[test]
fn the_ledger_s_pure_modules_are_leaves() {
    let graph = module_imports(&root().join("crates/corridor-ledger/src"));
    for leaf in ["entry", "merkle", "checkpoint"] {
        assert_eq!(
            graph[leaf],
            Default::default(),
            "{leaf} imports nothing of the crate"
        );
    }
    let pure: std::collections::BTreeSet<String> =
        ["entry", "merkle", "checkpoint"].map(String::from).into();
    assert!(
        graph["verify"].is_subset(&pure),
        "verify: {:?}",
        graph["verify"]
    );
}

/// Every `.rs` file under `dir`, as a path relative to it.
fn sources(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// Generated wire types stay in each service's gRPC layer: its server (`lib.rs`, the
/// service module), the gRPC clients it runs (the customs courier, the declarant's calls to
/// the nodes, the registry's followers and their replica, the signing helpers of a registry
/// client) and the tests. Every other module of a service holds core values only.
#[test]
fn the_services_pure_modules_name_no_wire_type() {
    let grpc_layer: &[(&str, &[&str])] = &[
        (
            "corridor-aeo",
            &[
                "lib.rs",
                "registry.rs",
                "follow.rs",
                "replica.rs",
                "sign.rs",
                "testing.rs",
            ],
        ),
        (
            "corridor-customs",
            &["lib.rs", "service.rs", "node/courier.rs"],
        ),
        ("corridor-declarant", &["lib.rs", "service.rs", "nodes.rs"]),
    ];
    for (krate, allowed) in grpc_layer {
        let src = root().join("crates").join(krate).join("src");
        let files = sources(&src);
        for a in *allowed {
            assert!(files.iter().any(|f| f == a), "{krate}/src/{a} is gone");
        }
        let pure: Vec<_> = files
            .iter()
            .filter(|f| !allowed.contains(&f.as_str()))
            .filter(|f| !f.ends_with("tests.rs") && !f.contains("tests/"))
            .collect();
        assert!(pure.len() >= 5, "{krate}: {pure:?}");
        for f in pure {
            let text = std::fs::read_to_string(src.join(f)).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(
                !code.contains("v1::") && !code.contains("corridor_proto::v1"),
                "{krate}/src/{f} names a generated wire type"
            );
        }
    }
}
