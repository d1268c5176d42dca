//! Development keys for every role of a topology (`corridor keys init`, `corridor up`, test
//! sandboxes).

use std::path::{Path, PathBuf};

use corridor_core::{PublicKey, SigningKey};

use crate::{Error, KeyPaths, Topology};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates the keys of every role of `topology` (each country's customs authority, node and
/// officers, the registry, the declarant, the operators) under `out/keys/`, points the
/// topology at them and writes it to `out/topology.toml` (`header` first, as comment lines).
/// Keys already there are kept (a private key whose public file disagrees is an error), so
/// running it again changes nothing. Returns the topology as written, loaded back from its
/// file, and the numbers of keys created and kept.
pub fn init_keys(
    mut t: Topology,
    out: &Path,
    header: &str,
) -> Result<(Topology, usize, usize), Error> {
    let (mut written, mut kept) = (0, 0);
    for (stem, slot) in t.key_slots() {
        let rel = PathBuf::from("keys").join(format!("{stem}.key"));
        let path = out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut public = path.clone().into_os_string();
        public.push(".pub");
        let public = PathBuf::from(public);
        if path.exists() {
            // Loading checks it is a private key readable by its owner only; its public key
            // file must match it (it is what every other role trusts).
            let key = SigningKey::load(&path)?;
            if public.exists() {
                if PublicKey::load(&public)? != key.public() {
                    return Err(Error::Invalid {
                        field: public.display().to_string(),
                        reason: format!(
                            "is not the public key of {}; remove one of them",
                            path.display()
                        ),
                    });
                }
            } else {
                key.public().save(&public)?;
            }
            kept += 1;
        } else {
            SigningKey::generate().save(&path)?;
            written += 1;
        }
        let mut public_rel = rel.clone().into_os_string();
        public_rel.push(".pub");
        *slot = Some(KeyPaths {
            public: public_rel.into(),
            private: Some(rel),
        });
    }
    if !t.operators.is_empty() {
        t.declarant.operator_keys = Some(PathBuf::from("keys").join("operators"));
    }
    let dest = out.join("topology.toml");
    t.write(&dest, header)?;
    // What was written must load as a topology, keys and all.
    let check = Topology::load(&dest)?;
    check.authority_keys()?;
    check.other_keys()?;
    check.operator_keys()?;
    check.node_keys()?;
    Ok((check, written, kept))
}
