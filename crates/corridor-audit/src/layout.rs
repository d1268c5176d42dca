//! Where each service's data lies under a corridor's data root, as `corridor up` lays it
//! out: `ROOT/topology.toml`, `ROOT/registry`, `ROOT/customs/<CC>`, `ROOT/declarant`,
//! `ROOT/logs`.

use std::path::{Path, PathBuf};

use corridor_core::CountryCode;
use corridor_topology::ServiceRole;

/// The corridor's topology as its services run it.
pub fn topology_file(root: &Path) -> PathBuf {
    root.join("topology.toml")
}

/// The registry's data directory.
pub fn registry_dir(root: &Path) -> PathBuf {
    root.join("registry")
}

/// The data directory of the customs node of `cc`.
pub fn node_dir(root: &Path, cc: &CountryCode) -> PathBuf {
    root.join("customs").join(cc.as_str())
}

/// The declarant's data directory.
pub fn declarant_dir(root: &Path) -> PathBuf {
    root.join("declarant")
}

/// Where the services' logs go.
pub fn logs_dir(root: &Path) -> PathBuf {
    root.join("logs")
}

/// The data directory of the service of `role`.
pub fn dir_of(root: &Path, role: &ServiceRole) -> anyhow::Result<PathBuf> {
    Ok(match role {
        ServiceRole::Registry => registry_dir(root),
        ServiceRole::Declarant => declarant_dir(root),
        ServiceRole::Node(cc) => node_dir(root, cc),
        ServiceRole::Client => anyhow::bail!("the client keeps no ledger"),
    })
}
