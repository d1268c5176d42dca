#![allow(clippy::unwrap_used)]
//! The `[connections]` section: optional, with documented defaults, each field optional, and
//! a wrong value refused naming the field.

use std::path::{Path, PathBuf};

use corridor_topology::{Connections, Error, Topology};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/corridor.toml")
}

fn with(section: &str) -> Result<Topology, Error> {
    let text = std::fs::read_to_string(deploy()).unwrap();
    Topology::parse(
        &format!("{text}\n[connections]\n{section}\n"),
        Path::new("."),
    )
}

fn refused(section: &str) -> String {
    match with(section) {
        Err(Error::Invalid { field, .. }) => field,
        Err(e) => panic!("expected an invalid field, got {e}"),
        Ok(_) => panic!("accepted {section:?}"),
    }
}

#[test]
fn without_the_section_every_default_applies() {
    let t = Topology::load(&deploy()).unwrap();
    let c = t.connections;
    assert_eq!(c, Connections::default());
    assert_eq!(
        (
            c.max_connections,
            c.handshake_timeout_ms,
            c.idle_timeout_secs,
            c.keepalive_interval_secs,
            c.keepalive_timeout_secs,
            c.max_concurrent_streams,
            c.request_timeout_secs,
        ),
        (4096, 10_000, 300, 30, 20, 1024, 60)
    );
    // Written back, the defaults stay out of the file.
    assert!(!t.to_toml().contains("[connections]"));
}

#[test]
fn a_field_given_replaces_its_default_only() {
    let t = with("max_connections = 64\nhandshake_timeout_ms = 200").unwrap();
    assert_eq!(
        t.connections,
        Connections {
            max_connections: 64,
            handshake_timeout_ms: 200,
            ..Connections::default()
        }
    );
    // And it survives being written and read again.
    let again = Topology::parse(&t.to_toml(), Path::new(".")).unwrap();
    assert_eq!(again.connections, t.connections);
}

#[test]
fn a_wrong_value_names_its_field() {
    for (section, field) in [
        ("max_connections = 0", "connections.max_connections"),
        ("max_connections = 2000000", "connections.max_connections"),
        (
            "handshake_timeout_ms = 0",
            "connections.handshake_timeout_ms",
        ),
        (
            "request_timeout_secs = 0",
            "connections.request_timeout_secs",
        ),
        (
            "max_concurrent_streams = 0",
            "connections.max_concurrent_streams",
        ),
        (
            "keepalive_interval_secs = 0",
            "connections.keepalive_interval_secs",
        ),
        (
            "keepalive_timeout_secs = 0",
            "connections.keepalive_timeout_secs",
        ),
        ("idle_timeout_secs = 50", "connections.idle_timeout_secs"),
        (
            "handshake_timeout_ms = 400000",
            "connections.handshake_timeout_ms",
        ),
    ] {
        assert_eq!(refused(section), field, "{section}");
    }
}

#[test]
fn an_unknown_or_negative_field_is_a_syntax_error_naming_it() {
    for (section, name) in [
        ("max_connection = 10", "max_connection"),
        ("max_connections = -1", "max_connections"),
    ] {
        match with(section) {
            Err(Error::Syntax { message, .. }) => {
                assert!(message.contains(name), "{section}: {message}")
            }
            other => panic!("{section}: expected a syntax error, got {other:?}"),
        }
    }
}
