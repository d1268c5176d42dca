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

/// The field and reason of the refusal of `deploy/corridor.toml` with `from` replaced by `to`
/// (which must be in it).
fn refused_post(from: &str, to: &str) -> (String, String) {
    let text = std::fs::read_to_string(deploy("corridor.toml")).unwrap();
    assert!(
        text.contains(from),
        "{from:?} is not in deploy/corridor.toml"
    );
    match Topology::parse(&text.replacen(from, to, 1), Path::new(".")) {
        Err(Error::Invalid { field, reason }) => (field, reason),
        Err(e) => panic!("{from:?} -> {to:?}: expected an invalid field, got {e}"),
        Ok(_) => panic!("{from:?} -> {to:?}: accepted"),
    }
}

#[test]
fn every_border_post_has_a_unique_locode_of_its_country_and_known_crossings() {
    let altynkol = "locode = \"KZKGS\", mode = \"rail\", crossings = [\"entry\"]";
    let rows = [
        (
            "no locode",
            altynkol,
            "mode = \"rail\", crossings = [\"entry\"]",
            "countries[1].border_posts[0].locode",
            "required: the post's UN/LOCODE",
        ),
        (
            "not a UN/LOCODE",
            "locode = \"KZKGS\"",
            "locode = \"KZ-KGS\"",
            "countries[1].border_posts[0].locode",
            "a UN/LOCODE is a country code and 3 characters",
        ),
        (
            "of another country",
            "locode = \"KZKGS\"",
            "locode = \"CNKGS\"",
            "countries[1].border_posts[0].locode",
            "CNKGS is not a UN/LOCODE of KZ: it must start with KZ",
        ),
        (
            "listed twice",
            "locode = \"KZKUR\"",
            "locode = \"KZAAU\"",
            "countries[1].border_posts[2].locode",
            "KZAAU is already the UN/LOCODE of countries[1].border_posts[1]",
        ),
        (
            "an unknown crossing",
            "crossings = [\"entry\"], note = \"entry from China",
            "crossings = [\"in\"], note = \"entry from China",
            "countries[1].border_posts[0].crossings[0]",
            "expected entry or exit, got \"in\"",
        ),
        (
            "a crossing twice",
            "crossings = [\"exit\"], note = \"exit to Kazakhstan",
            "crossings = [\"exit\", \"exit\"], note = \"exit to Kazakhstan",
            "countries[0].border_posts[1].crossings[1]",
            "listed twice",
        ),
        (
            "no name",
            "name = \"Kars\"",
            "name = \" \"",
            "countries[3].border_posts[0].name",
            "required",
        ),
    ];
    for (row, from, to, field, reason) in rows {
        let (f, r) = refused_post(from, to);
        assert_eq!(f, field, "{row}: {r}");
        assert!(r.contains(reason), "{row}: {r:?} lacks {reason:?}");
    }
}

#[test]
fn the_middle_corridors_posts_are_listed_by_locode_with_their_crossings() {
    use corridor_topology::Crossing::{Entry, Exit};
    let t = Topology::middle_corridor().unwrap();
    let posts = |cc: &str| -> Vec<(String, Vec<corridor_topology::Crossing>)> {
        let cc = corridor_core::CountryCode::parse("cc", cc).unwrap();
        t.posts(&cc)
            .unwrap()
            .into_iter()
            .map(|p| (p.locode.to_string(), p.crossings))
            .collect()
    };
    let p = |code: &str, crossings: &[corridor_topology::Crossing]| {
        (code.to_string(), crossings.to_vec())
    };
    assert_eq!(posts("CN"), [p("CNXIY", &[]), p("CNKHG", &[Exit])]);
    assert_eq!(
        posts("KZ"),
        [
            p("KZKGS", &[Entry]),
            p("KZAAU", &[Exit]),
            p("KZKUR", &[Exit])
        ]
    );
    assert_eq!(posts("AZ"), [p("AZBAK", &[Entry]), p("AZBKS", &[Exit])]);
    assert_eq!(posts("TR"), [p("TRKSY", &[Entry])]);
    let khorgos = &t.posts(&t.country_codes()[0]).unwrap()[1];
    assert_eq!(khorgos.to_string(), "CNKHG (Khorgos)");
    assert_eq!(khorgos.crossings_text(), "exit");

    // Written out (as `corridor keys init` writes a topology) and read back, every post keeps
    // its code and crossings; the Georgian corridor's posts are of their countries too.
    let again = Topology::parse(&t.to_toml(), Path::new(".")).unwrap();
    for cc in t.country_codes() {
        assert_eq!(again.posts(&cc).unwrap(), t.posts(&cc).unwrap(), "{cc}");
    }
    let ge = Topology::load(&deploy("corridor-ge.toml")).unwrap();
    for cc in ge.country_codes() {
        for post in ge.posts(&cc).unwrap() {
            assert_eq!(post.locode.country(), cc, "{post}");
        }
    }
}

#[test]
fn the_sample_declaration_names_posts_the_middle_corridor_lists_crossed_its_way() {
    use corridor_core::Digest;
    use corridor_core::document::examples::sample_declaration;
    use corridor_topology::Crossing;
    let t = Topology::middle_corridor().unwrap();
    let d = sample_declaration(Digest::ZERO);
    for step in &d.route {
        let posts = t.posts(&step.country).unwrap();
        for (post, way) in [
            (&step.entry_border_post, Crossing::Entry),
            (&step.exit_border_post, Crossing::Exit),
        ] {
            if let Some(post) = post {
                assert!(
                    posts.iter().any(|p| p.locode == *post && p.crosses(way)),
                    "{post} is not an {way} post of {}",
                    step.country
                );
            }
        }
    }
}
