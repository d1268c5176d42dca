#![allow(clippy::unwrap_used)]
//! The `[tls]` section: `keys init --tls` fills it, and a half-configured one is refused
//! naming the field.

use std::path::{Path, PathBuf};

use corridor_core::CountryCode;
use corridor_topology::{Error, InitOptions, ServiceRole, Topology, init_keys_with};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/corridor.toml")
}

fn refused(text: &str) -> String {
    match Topology::parse(text, Path::new(".")) {
        Err(Error::Invalid { field, .. }) => field,
        Err(e) => panic!("expected an invalid field, got {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn keys_init_with_tls_makes_a_ca_and_a_certificate_per_service() {
    let dir = tempfile::tempdir().unwrap();
    let t = Topology::load(&deploy()).unwrap();
    assert!(!t.tls_enabled());
    let opts = InitOptions { tls: true };
    let (t, written, _) = init_keys_with(t, dir.path(), "test", opts).unwrap();
    assert!(t.tls_enabled());
    let cn = CountryCode::parse("cc", "CN").unwrap();
    for role in [
        ServiceRole::Registry,
        ServiceRole::Declarant,
        ServiceRole::Node(cn.clone()),
        ServiceRole::Client,
    ] {
        let m = t.tls_material(&role).unwrap().unwrap();
        assert!(String::from_utf8_lossy(&m.cert_pem).contains("BEGIN CERTIFICATE"));
        assert!(String::from_utf8_lossy(&m.key_pem).contains("BEGIN PRIVATE KEY"));
    }
    let (_, paths) = t.tls_paths(&ServiceRole::Node(cn)).unwrap().unwrap();
    assert_eq!(paths.cert, Path::new("keys/tls/CN/node.crt"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = t.resolve(&paths.key);
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Another run keeps every key and certificate.
        let before = std::fs::read(&key).unwrap();
        let t2 = Topology::load(&dir.path().join("topology.toml")).unwrap();
        let (_, again, kept) = init_keys_with(t2, dir.path(), "test", opts).unwrap();
        assert_eq!((again, kept), (0, written));
        assert_eq!(std::fs::read(&key).unwrap(), before);
        // A readable key is refused.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            t.tls_material(&ServiceRole::Node(CountryCode::parse("cc", "CN").unwrap())),
            Err(Error::Key(_))
        ));
    }
    // Written and read back, the section keeps its shape.
    let text = std::fs::read_to_string(dir.path().join("topology.toml")).unwrap();
    assert!(text.contains("[tls]"), "{text}");
}

#[test]
fn a_half_configured_tls_section_is_refused() {
    let text = std::fs::read_to_string(deploy()).unwrap();
    let cert = r#"tls = { cert = "a.crt", key = "a.key" }"#;
    // A service certificate without a CA.
    let with_registry_cert = text.replacen("[registry]\n", &format!("[registry]\n{cert}\n"), 1);
    assert_eq!(refused(&with_registry_cert), "registry.tls");
    // A CA without every service's certificate.
    let mut t2 = Topology::parse(&text, Path::new(".")).unwrap();
    t2.tls = Some(corridor_topology::TlsConfig {
        ca: "ca.crt".into(),
        client: None,
    });
    t2.registry.tls = Some(corridor_topology::TlsPaths {
        cert: "a.crt".into(),
        key: "a.key".into(),
    });
    assert_eq!(refused(&t2.to_toml()), "declarant.tls");
    t2.declarant.tls = t2.registry.tls.clone();
    assert_eq!(refused(&t2.to_toml()), "countries[0].node.tls");
    for c in &mut t2.countries {
        c.node.tls = t2.registry.tls.clone();
    }
    let ok = Topology::parse(&t2.to_toml(), Path::new(".")).unwrap();
    assert!(ok.tls_enabled());
    // A certificate without its key does not parse.
    let half = t2.to_toml().replacen("key = \"a.key\"\n", "", 1);
    assert!(matches!(
        Topology::parse(&half, Path::new(".")),
        Err(Error::Syntax { .. })
    ));
}
