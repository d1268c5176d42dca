//! Development keys for every role of a topology (`corridor keys init`, `corridor up`, test
//! sandboxes), and optionally a development CA with a TLS certificate per service.

use std::path::{Path, PathBuf};

use corridor_core::{PublicKey, SigningKey};

use crate::{Error, KeyPaths, ServiceRole, TlsConfig, TlsPaths, Topology};

/// What [`init_keys_with`] makes beyond the signing keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// Also a development CA (`keys/tls/ca.crt`, `ca.key`) and a TLS certificate and key per
    /// service and for the `corridor` client (`keys/tls/<stem>.crt`, `.key`), filling the
    /// topology's `[tls]` section. Implied when the topology has a `[tls]` section already.
    pub tls: bool,
}

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
pub fn init_keys(t: Topology, out: &Path, header: &str) -> Result<(Topology, usize, usize), Error> {
    init_keys_with(t, out, header, InitOptions::default())
}

/// [`init_keys`], and with `options.tls` (or a `[tls]` section in `t`) the development TLS
/// material too: a CA, and for each service and the client a certificate for 127.0.0.1,
/// localhost and the host of its listen address, signed by the CA (ECDSA P-256; private keys
/// mode 0600). Certificates already there are kept when the CA is; a new CA re-issues
/// every certificate. The counts include the TLS keys.
pub fn init_keys_with(
    mut t: Topology,
    out: &Path,
    header: &str,
    options: InitOptions,
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
    if options.tls || t.tls.is_some() {
        let (w, k) = init_tls(&mut t, out)?;
        written += w;
        kept += k;
    }
    let dest = out.join("topology.toml");
    t.write(&dest, header)?;
    // What was written must load as a topology, keys and all.
    let check = Topology::load(&dest)?;
    check.authority_keys()?;
    check.other_keys()?;
    check.operator_keys()?;
    check.node_keys()?;
    if check.tls_enabled() {
        let mut roles = vec![
            ServiceRole::Registry,
            ServiceRole::Declarant,
            ServiceRole::Client,
        ];
        roles.extend(check.country_codes().into_iter().map(ServiceRole::Node));
        for role in &roles {
            check.tls_material(role)?;
        }
    }
    Ok((check, written, kept))
}

/// The development CA's subject: the same on every run, so that certificates issued later by
/// the CA key on disk chain to the certificate on disk.
fn ca_params() -> rcgen::CertificateParams {
    use rcgen::{BasicConstraints, DnType, IsCa, KeyUsagePurpose};
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "corridor development CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

fn tls_error(what: &Path) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::Invalid {
        field: what.display().to_string(),
        reason: format!("cannot make a development certificate: {e}"),
    }
}

/// Writes a private key PEM with mode 0600 (replacing any file there).
fn write_private(path: &Path, pem: &str) -> Result<(), Error> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(pem.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Reads a private key PEM, refusing one its group or others may read.
fn read_private(path: &Path) -> Result<String, Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(io(path))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::Key(corridor_core::Error::KeyPermissions {
                path: path.to_owned(),
                mode,
            }));
        }
    }
    std::fs::read_to_string(path).map_err(io(path))
}

/// The CA under `out/keys/tls/`, then a certificate per TLS slot; returns (created, kept).
fn init_tls(t: &mut Topology, out: &Path) -> Result<(usize, usize), Error> {
    use rcgen::{DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose};
    let (mut written, mut kept) = (0, 0);
    let rel_dir = PathBuf::from("keys").join("tls");
    let dir = out.join(&rel_dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let (ca_crt, ca_key) = (dir.join("ca.crt"), dir.join("ca.key"));
    let fresh_ca = !(ca_crt.exists() && ca_key.exists());
    let ca_key_pair = if fresh_ca {
        let key = KeyPair::generate().map_err(tls_error(&ca_key))?;
        let cert = ca_params().self_signed(&key).map_err(tls_error(&ca_crt))?;
        write_private(&ca_key, &key.serialize_pem())?;
        std::fs::write(&ca_crt, cert.pem()).map_err(io(&ca_crt))?;
        written += 1;
        key
    } else {
        kept += 1;
        KeyPair::from_pem(&read_private(&ca_key)?).map_err(tls_error(&ca_key))?
    };
    let issuer = Issuer::new(ca_params(), ca_key_pair);
    for (stem, hosts, slot) in t.tls_slots() {
        let (crt_rel, key_rel) = (
            rel_dir.join(format!("{stem}.crt")),
            rel_dir.join(format!("{stem}.key")),
        );
        let (crt, key) = (out.join(&crt_rel), out.join(&key_rel));
        if let Some(d) = crt.parent() {
            std::fs::create_dir_all(d).map_err(io(d))?;
        }
        if !fresh_ca && crt.exists() && key.exists() {
            read_private(&key)?;
            kept += 1;
        } else {
            let mut params = rcgen::CertificateParams::new(hosts).map_err(tls_error(&crt))?;
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("corridor {stem}"));
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            params.use_authority_key_identifier_extension = true;
            let pair = KeyPair::generate().map_err(tls_error(&key))?;
            let cert = params.signed_by(&pair, &issuer).map_err(tls_error(&crt))?;
            write_private(&key, &pair.serialize_pem())?;
            std::fs::write(&crt, cert.pem()).map_err(io(&crt))?;
            written += 1;
        }
        *slot = Some(TlsPaths {
            cert: crt_rel,
            key: key_rel,
        });
    }
    let client = t.tls.as_ref().and_then(|c| c.client.clone());
    t.tls = Some(TlsConfig {
        ca: rel_dir.join("ca.crt"),
        client,
    });
    Ok((written, kept))
}
