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
    // Published example keys, known answers of the key-file tests; nothing signs with them.
    let published = ["crates/corridor-core/testdata/rfc8410/private-key.pem"];
    for f in files
        .lines()
        .filter(|f| !f.ends_with(".rs") && !f.ends_with(".md"))
        .filter(|f| !published.contains(f))
    {
        let text = std::fs::read(root().join(f)).unwrap_or_default();
        let needle = b"-----BEGIN PRIVATE KEY-----";
        assert!(
            !text.windows(needle.len()).any(|w| w == needle),
            "{f} holds a private key"
        );
    }
    for f in published {
        assert!(files.lines().any(|l| l == f), "{f} is listed but gone");
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

type Graph = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// The module path of a source file under `src` (`node/checks/mod.rs` is `node::checks`,
/// `lib.rs` the crate root, `[]`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        f => parts.push(f.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// The module paths a source file names through `crate::` and `super::` paths (the first
/// name after each `::` prefix, and each first name of a braced list).
fn named_paths(text: &str, own: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let at_word = i == 0 || !text[..i].ends_with(ident);
        let (base, after) = if at_word && rest.starts_with("crate::") {
            (Vec::new(), &rest["crate::".len()..])
        } else if at_word && rest.starts_with("super::") {
            let mut base = own.to_vec();
            let mut after = rest;
            while let Some(r) = after.strip_prefix("super::") {
                base.pop();
                after = r;
            }
            (base, after)
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let names: Vec<String> = if let Some(list) = after.strip_prefix('{') {
            list[..list.find('}').unwrap_or(0)]
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or_default().to_owned())
                .collect()
        } else {
            // The whole path up to its item: `a::b::Item` names modules `a` and `a::b`.
            let path: String = after
                .chars()
                .take_while(|c| ident(*c) || *c == ':')
                .collect();
            vec![path]
        };
        for n in names {
            let mut p = base.clone();
            p.extend(n.split("::").filter(|s| !s.is_empty()).map(str::to_owned));
            out.push(p);
        }
        i += rest.len() - after.len();
    }
    out
}

/// For each module of the crate whose sources are in `src` that has submodules (the crate
/// root is `""`), which of its submodules names which other: through `crate::` or `super::`
/// paths, in code outside tests. A module and everything below it count as one node of its
/// parent's graph.
fn module_graphs(src: &Path) -> std::collections::BTreeMap<String, Graph> {
    let mut graphs = std::collections::BTreeMap::<String, Graph>::new();
    let is_module = |path: &[String]| {
        let p = path.iter().fold(src.to_owned(), |d, c| d.join(c));
        p.join("mod.rs").exists() || p.with_extension("rs").exists()
    };
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
            // Test-only modules (a module's `tests`, the crate's `testing` fixture) may use
            // anything.
            let test_only = rel.components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "tests" || c == "tests.rs" || c == "testing.rs"
            });
            let own = module_path(rel);
            if test_only || own.is_empty() {
                continue;
            }
            // Each module is a node of its parent's graph, whether it names anything or not.
            for k in 0..own.len() {
                graphs
                    .entry(own[..k].join("::"))
                    .or_default()
                    .entry(own[k].clone())
                    .or_default();
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
            for target in named_paths(&text, &own) {
                // The first level where the two paths part: an edge between siblings there,
                // if what is named is a module.
                let k = own.iter().zip(&target).take_while(|(a, b)| a == b).count();
                if k < own.len() && k < target.len() && is_module(&target[..=k]) {
                    graphs
                        .entry(own[..k].join("::"))
                        .or_default()
                        .entry(own[k].clone())
                        .or_default()
                        .insert(target[k].clone());
                }
            }
        }
    }
    graphs
}

/// The top-level modules of the crate whose sources are in `src` that each top-level module
/// names.
fn module_imports(src: &Path) -> Graph {
    module_graphs(src).remove("").unwrap_or_default()
}

#[test]
fn no_crate_s_modules_import_each_other_in_a_circle() {
    let mut crates: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|d| d.unwrap().path().join("src"))
        .collect();
    crates.push(root().join("tests/src"));
    let mut graphs_seen = 0;
    for src in crates {
        for (parent, graph) in module_graphs(&src) {
            graphs_seen += 1;
            if let Some(circle) = circle(&graph) {
                panic!(
                    "{} {}: modules in a circle: {}",
                    src.display(),
                    if parent.is_empty() {
                        "(crate root)"
                    } else {
                        &parent
                    },
                    circle.join(" -> ")
                );
            }
        }
    }
    // The crates' roots, and the modules split into submodules (the customs node, its
    // checks, the registry's rules, the ledger's store, the sandbox, ...).
    assert!(graphs_seen > 20, "{graphs_seen} module graphs read");
}

/// A circle in `graph`, if there is one.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    {
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
            if let Some(circle) = visit(m, graph, &mut Vec::new(), &mut done) {
                return Some(circle);
            }
        }
        None
    }
}

#[test]
fn the_ledger_s_pure_modules_are_leaves() {
    let graph = module_imports(&root().join("crates/corridor-ledger/src"));
    for leaf in ["entry", "merkle", "checkpoint", "cosignature"] {
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
    let merkle: std::collections::BTreeSet<String> = ["merkle".to_string()].into();
    assert_eq!(
        graph["proof"], merkle,
        "proof imports the merkle module alone"
    );
    let witness_may: std::collections::BTreeSet<String> = ["checkpoint", "cosignature", "proof"]
        .map(String::from)
        .into();
    assert!(
        graph["witness"].is_subset(&witness_may),
        "witness: {:?}",
        graph["witness"]
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
            &[
                "lib.rs",
                "service.rs",
                "node/courier.rs",
                "node/platform.rs",
            ],
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

/// The README names the Python client's pinned requirements as `tests/clients/python/
/// requirements.txt` pins them.
#[test]
fn the_readme_names_the_python_requirements_as_pinned() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let requirements =
        std::fs::read_to_string(root().join("tests/clients/python/requirements.txt")).unwrap();
    let pins: Vec<&str> = requirements
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(pins.len() >= 4, "{pins:?}");
    for pin in pins {
        assert!(pin.contains("=="), "{pin} is not pinned");
        assert!(readme.contains(pin), "the README does not name {pin}");
    }
}
