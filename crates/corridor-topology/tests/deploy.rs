#![allow(clippy::unwrap_used)]
//! The topology files in `deploy/` load, and a wrong topology is refused naming the field.

use std::path::{Path, PathBuf};

use corridor_topology::{Error, Topology};

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

fn codes(t: &Topology) -> Vec<String> {
    t.country_codes().iter().map(ToString::to_string).collect()
}

#[test]
fn the_middle_corridor_crosses_georgia_in_transit() {
    let t = Topology::load(&deploy("corridor.toml")).unwrap();
    assert_eq!(codes(&t), ["CN", "KZ", "AZ", "TR"]);
    let btk = t.legs.iter().find(|l| l.from == "AZ").unwrap();
    assert_eq!(
        (btk.to.as_str(), btk.transit.as_slice()),
        ("TR", &["GE".to_string()][..])
    );
    assert!(t.legs.iter().any(|l| l.mode == "ferry"));
    assert!(t.clock.clock().is_ok());
    assert!(t.registry_addr().is_ok());
    // No keys in the committed file.
    assert!(matches!(t.authority_keys(), Err(Error::MissingKey(_))));
}

#[test]
fn with_georgia_as_a_fifth_country_no_leg_is_transit() {
    let t = Topology::load(&deploy("corridor-ge.toml")).unwrap();
    assert_eq!(codes(&t), ["CN", "KZ", "AZ", "GE", "TR"]);
    assert!(t.legs.iter().all(|l| l.transit.is_empty()));
    assert!(t.legs.iter().any(|l| l.from == "GE" && l.to == "TR"));
}

fn refused(edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(deploy("corridor.toml")).unwrap();
    match Topology::parse(&edit(text), Path::new(".")) {
        Err(Error::Invalid { field, .. }) => field,
        Err(e) => panic!("expected an invalid field, got {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_wrong_topology_names_the_field() {
    assert_eq!(
        refused(|t| t.replace("transit = [\"GE\"]", "transit = [\"TR\"]")),
        "legs[3].transit[0]"
    );
    assert_eq!(
        refused(|t| t.replacen("from = \"CN\"", "from = \"US\"", 1)),
        "legs[0].from"
    );
    assert_eq!(
        refused(|t| t.replace("listen = \"127.0.0.1:7412\"", "listen = \"127.0.0.1:7411\"")),
        "countries[1].node.listen"
    );
    assert_eq!(
        refused(|t| t.replace(
            "mode = \"ferry\"\nfrom_place",
            "mode = \"camel\"\nfrom_place"
        )),
        "legs[2].mode"
    );
    assert_eq!(
        refused(|t| t.replace(
            "[clock]\nkind = \"system\"",
            "[clock]\nkind = \"scenario\"\nstart = \"soon\"\nspeed = 60.0"
        )),
        "clock.start"
    );
    assert_eq!(
        refused(|t| t.replace("id = \"AZ1700112233\"", "id = \"GE1700112233\"")),
        "operators[3].id"
    );
}
