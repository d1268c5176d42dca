#![allow(clippy::unwrap_used)]
//! `corridor scenario` as its users run it: the library of flows in `deploy/scenarios/`
//! passes, with a JUnit report that parses back with a test case per expectation; a
//! scenario with a wrong expectation fails with exit 1 and the line saying what was expected
//! and seen; bad files are one line each with the file, line, column, field and reason, exit
//! 2, before any corridor starts; the shipped JSON Schema is the one the binary generates,
//! and every shipped scenario validates against it.

mod common;

use std::path::{Path, PathBuf};

use common::{deploy, run};

/// The scenario files of `deploy/scenarios/`.
fn library() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn scenario(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn the_scenario_library_passes_with_a_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let files = library();
    assert!(files.len() >= 6, "{files:?}");
    let mut args = vec!["scenario", "run", "--junit", junit.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(fails.is_empty(), "{fails:#?}");
    let oks = out.lines().filter(|l| l.starts_with("ok   ")).count();
    assert!(
        out.contains(&format!(
            "{n}/{n} scenarios passed; {oks}/{oks} expectations held",
            n = files.len()
        )),
        "{out}"
    );
    assert!(
        out.contains("ok   restricted goods refused at KZ / cartridges: ends refused"),
        "{out}"
    );

    // The JUnit report: a suite per scenario, a case per expectation, no failure.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), files.len());
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), oks);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
    assert!(
        cases
            .iter()
            .any(|c| c.attribute("name") == Some("cartridges: ends at KZ")),
        "{xml}"
    );
}

#[test]
fn a_wrong_expectation_fails_with_exit_1_saying_what_was_expected_and_seen() {
    let dir = tempfile::tempdir().unwrap();
    let f = scenario(
        dir.path(),
        "wrong.toml",
        r#"
name = "wrong on purpose"
random_selectivity = false

[[consignments]]
name = "batteries"
trader = "CN91610131XA01"

[consignments.expect]
lanes = { KZ = "red" }
status = "refused"
"#,
    );
    let junit = dir.path().join("junit.xml");
    let (code, out, err) = run(&["scenario", "run", &f, "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL wrong on purpose / batteries: lane at KZ is red: it is green"),
        "{out}"
    );
    assert!(
        out.contains("FAIL wrong on purpose / batteries: ends refused: it ends completed"),
        "{out}"
    );
    assert!(
        out.contains("ok   wrong on purpose / corridor: every ledger verifies"),
        "{out}"
    );
    assert!(
        out.contains("0/1 scenarios passed; 2/4 expectations held"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2, "{xml}");
    assert_eq!(
        failures[0].attribute("message"),
        Some("it is green"),
        "{xml}"
    );
}

#[test]
fn a_bad_file_is_one_line_naming_the_file_line_column_and_field_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = library().into_iter().next().unwrap();
    let head = "name = \"x\"\nrandom_selectivity = false\n[[consignments]]\nname = \"a\"\n";
    let cases = [
        (
            "type.toml",
            format!("{head}trader = 7\n"),
            "type.toml:5:10: consignments[0].trader: invalid type: integer `7`, expected a string",
        ),
        (
            "unknown.toml",
            format!("{head}trader = \"CN91610131XA01\"\ncolour = \"red\"\n"),
            "unknown.toml:6:1: consignments[0].colour: unknown field `colour`",
        ),
        (
            "lane.toml",
            format!("{head}trader = \"CN91610131XA01\"\nexpect.lanes.KZ = \"purple\"\n"),
            "lane.toml:6:19: consignments[0].expect.lanes.KZ: unknown variant `purple`",
        ),
        (
            "syntax.toml",
            format!("{head}trader = \"CN91610131XA01\n"),
            "syntax.toml:5:",
        ),
        (
            "country.toml",
            format!("{head}trader = \"CN91610131XA01\"\nbroken_seal_at = \"GE\"\n"),
            "country.toml: consignments[0].broken_seal_at: \"GE\" is not a country of the route (CN, KZ, AZ, TR)",
        ),
        (
            "trader.toml",
            format!("{head}trader = \"CN00000000NOPE\"\n"),
            "trader.toml: consignments[0].trader: \"CN00000000NOPE\" is not a demonstration trader",
        ),
        (
            "refusal.toml",
            format!(
                "{head}trader = \"CN91610131XA01\"\nofficers.KZ = {{ decision = \"refuse\" }}\n"
            ),
            "refusal.toml: consignments[0].officers.KZ.findings: a refusal states its findings",
        ),
        (
            "bill.toml",
            format!(
                "{head}trader = \"CN91610131XA01\"\nbill_of = \"b\"\n[[consignments]]\nname = \"b\"\ntrader = \"CN91610131XA01\"\n"
            ),
            "bill.toml: consignments[0].bill_of: \"b\" is not an earlier consignment of the file",
        ),
        (
            "code.toml",
            format!(
                "{head}trader = \"CN91610131XA01\"\nexpect.refusals = [{{ action = \"submit\", code = \"Nope\" }}]\n"
            ),
            "code.toml: consignments[0].expect.refusals[0].code: \"Nope\" is not a gRPC status code",
        ),
        (
            "event.toml",
            format!(
                "{head}trader = \"CN91610131XA01\"\n[[events]]\nat_hours = 5.0\nterminate_arrangement = {{ between = [\"CN\", \"AZ\"], by = \"TR\" }}\n"
            ),
            "event.toml: events[0].terminate_arrangement.by: \"TR\" is not a party to the arrangement",
        ),
        (
            "empty.toml",
            "name = \"x\"\nconsignments = []\n".to_string(),
            "empty.toml: consignments: a scenario sends at least one",
        ),
    ];
    for (name, text, says) in cases {
        let f = scenario(dir.path(), name, &text);
        // A bad file among good ones: nothing runs.
        let (code, out, err) = run(&["scenario", "run", good.to_str().unwrap(), &f]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert_eq!(out, "", "{name}: nothing runs: {out}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    let (code, _, err) = run(&["scenario", "run", "/no/such/file.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file.toml: cannot read"), "{err}");
}

#[test]
fn the_shipped_schema_is_the_generated_one_and_every_shipped_scenario_validates() {
    let (code, generated, err) = run(&["scenario", "schema"]);
    assert_eq!(code, 0, "{err}");
    let shipped = std::fs::read_to_string(deploy("scenarios/scenario.schema.json")).unwrap();
    assert_eq!(
        shipped, generated,
        "deploy/scenarios/scenario.schema.json is stale: corridor scenario schema > it"
    );
    let schema: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for f in library() {
        let doc: serde_json::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
    // And a file the schema refuses: an unknown field.
    let bad = serde_json::json!({"name": "x", "consignments": [], "colour": 1});
    assert!(!v.is_valid(&bad));
}

#[test]
fn the_readme_example_runs_and_passes() {
    let readme = std::fs::read_to_string(deploy("../README.md")).unwrap();
    let example = readme
        .split("A complete file:\n\n```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("README: a complete scenario file");
    let dir = tempfile::tempdir().unwrap();
    let topology = deploy("corridor.toml");
    let text = example.replace(
        "topology = \"../corridor.toml\"",
        &format!("topology = {:?}", topology.to_str().unwrap()),
    );
    assert_ne!(text, example, "the example names a topology");
    let f = scenario(dir.path(), "example.toml", &text);
    let (code, out, err) = run(&["scenario", "run", &f]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1/1 scenarios passed"), "{out}");
}

#[test]
fn shared_scenarios_run_on_one_corridor_one_after_another() {
    let s = |name: &str| {
        deploy(&format!("scenarios/{name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (green, double) = (s("aeo-trader-green.toml"), s("double-spend.toml"));
    let (code, out, err) = run(&["scenario", "run", "--shared", &green, &double]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("one corridor for 2 scenarios: "))
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("2/2 scenarios passed"), "{out}");
    assert!(
        out.contains(
            "ok   a double spend of the bill refused / second: submit refused with AlreadyExists"
        ),
        "{out}"
    );
    // Another topology cannot share the corridor: refused before anything runs.
    let (code, out, err) = run(&["scenario", "run", "--shared", &green, &s("georgia.toml")]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("georgia.toml: cannot share ") && err.contains(": another topology"),
        "{err}"
    );
}
