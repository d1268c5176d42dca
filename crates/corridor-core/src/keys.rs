//! ed25519 keys: generation, key files, key ids.
//!
//! Private keys are stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) in RFC 8410's form:
//! a version 0 (v1) OneAsymmetricKey holding the 32-byte seed and no public key, the form
//! OpenSSL, Python's `cryptography` and every language's ed25519 library load. Public keys
//! are SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). The loader also reads the
//! RFC 5958 v2 form (the public key embedded), which earlier versions wrote. A private key
//! file is created with mode 0600 and the loader refuses a file that its group or others may
//! read.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};

use crate::digest::Digest;
use crate::error::{Error, ParseError};

/// A key id: sha256 of the 32-byte ed25519 public key, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Digest);

impl KeyId {
    /// The key id of a raw 32-byte public key.
    pub fn of_public_key(bytes: &[u8; 32]) -> Self {
        Self(Digest::of(bytes))
    }

    /// Parses 64 hex digits.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        Digest::parse_hex(field, s).map(Self)
    }

    /// The id as a digest.
    pub fn digest(&self) -> &Digest {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// An ed25519 public key with its key id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// A public key from its 32 raw bytes; refuses bytes that are not a curve point, a point
    /// of small order (the identity among them: a "weak" key, under which one signature can
    /// verify for many messages), and a non-canonical encoding (a y coordinate of p or more,
    /// which gives a second byte string, and a second key id, for one key).
    pub fn from_bytes(field: &str, bytes: &[u8]) -> Result<Self, ParseError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            ParseError::new(
                field,
                format!("an ed25519 public key is 32 bytes, got {}", bytes.len()),
            )
        })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&arr)
            .map_err(|_| ParseError::new(field, "not a valid ed25519 public key"))?;
        Self::strong(field, key)
    }

    /// `key`, unless it is weak (of small order) or not canonically encoded.
    fn strong(field: &str, key: ed25519_dalek::VerifyingKey) -> Result<Self, ParseError> {
        if key.is_weak() {
            return Err(ParseError::new(
                field,
                "a weak ed25519 public key (a point of small order): no signature by it proves anything",
            ));
        }
        if key.to_edwards().compress().as_bytes() != key.as_bytes() {
            return Err(ParseError::new(
                field,
                "not the canonical encoding of an ed25519 public key",
            ));
        }
        Ok(Self::from_dalek(key))
    }

    fn from_dalek(key: ed25519_dalek::VerifyingKey) -> Self {
        Self {
            id: KeyId::of_public_key(key.as_bytes()),
            key,
        }
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Verifies a 64-byte signature over `msg` (RFC 8032 ed25519, strict: rejects
    /// non-canonical and small-order encodings).
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        VERIFIED.fetch_add(1, Ordering::Relaxed);
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        self.key.verify_strict(msg, &sig).is_ok()
    }

    /// The dalek key, for batch verification.
    pub fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// SubjectPublicKeyInfo PEM text.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(Default::default())
            .unwrap_or_default()
    }

    /// Parses a public key file's text: SPKI PEM, or 64 hex digits of the raw key.
    pub fn from_pem_or_hex(field: &str, text: &str) -> Result<Self, ParseError> {
        let t = text.trim();
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let raw = hex::decode(t).map_err(|e| ParseError::new(field, e.to_string()))?;
            return Self::from_bytes(field, &raw);
        }
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(t).map_err(|_| {
            ParseError::new(
                field,
                "expected an ed25519 public key (PEM \"BEGIN PUBLIC KEY\" or 64 hex digits)",
            )
        })?;
        Self::strong(field, key)
    }

    /// Writes the public key file (PEM), readable by anyone.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        fs::write(path, self.to_pem()).map_err(|source| Error::KeyIo {
            path: path.to_owned(),
            source,
        })
    }

    /// Loads a public key file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = fs::read_to_string(path).map_err(|source| Error::KeyIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem_or_hex("public key", &text).map_err(|e| Error::KeyFormat {
            path: path.to_owned(),
            reason: e.reason,
        })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

static SIGNED: AtomicU64 = AtomicU64::new(0);
static VERIFIED: AtomicU64 = AtomicU64::new(0);

/// Signatures this process has made and verified so far (ed25519 operations through
/// [`SigningKey::sign`] and [`PublicKey::verify`]): what a benchmark counts instead of
/// assuming.
pub fn signature_counts() -> (u64, u64) {
    (
        SIGNED.load(Ordering::Relaxed),
        VERIFIED.load(Ordering::Relaxed),
    )
}

/// An ed25519 private key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        Self::from_seed(&ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng).to_bytes())
    }

    /// The key for a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = PublicKey::from_dalek(key.verifying_key());
        Self { key, public }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.public.id
    }

    /// Signs `msg` (RFC 8032 ed25519).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        SIGNED.fetch_add(1, Ordering::Relaxed);
        self.key.sign(msg).to_bytes()
    }

    /// The key as PKCS#8 PEM in RFC 8410's v1 form (the seed, no public key), in memory
    /// that is zeroed when dropped.
    fn to_pem(
        &self,
    ) -> Result<impl std::ops::Deref<Target = String> + use<>, ed25519_dalek::pkcs8::Error> {
        let bytes = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        bytes.to_pkcs8_pem(Default::default())
    }

    /// Writes the key to `path` (PKCS#8 PEM in RFC 8410's v1 form, mode 0600, refusing to
    /// overwrite) and the public key to `path` + `.pub`.
    pub fn save(&self, path: &Path) -> Result<PathBuf, Error> {
        let io = |source| Error::KeyIo {
            path: path.to_owned(),
            source,
        };
        let pem = self.to_pem().map_err(|e| Error::KeyFormat {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::KeyExists(path.to_owned())
            } else {
                io(e)
            }
        })?;
        f.write_all(pem.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        let mut pub_path = path.as_os_str().to_owned();
        pub_path.push(".pub");
        let pub_path = PathBuf::from(pub_path);
        self.public.save(&pub_path)?;
        Ok(pub_path)
    }

    /// Loads a private key file, refusing one that its group or others may read.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::KeyIo {
            path: path.to_owned(),
            source,
        };
        let meta = fs::metadata(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(Error::KeyPermissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        if !meta.is_file() {
            return Err(Error::KeyFormat {
                path: path.to_owned(),
                reason: "not a regular file".into(),
            });
        }
        let text = fs::read_to_string(path).map_err(|_| Error::KeyFormat {
            path: path.to_owned(),
            reason: "not a PEM text file".into(),
        })?;
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim()).map_err(|_| {
            Error::KeyFormat {
                path: path.to_owned(),
                reason: "expected an ed25519 private key (PEM \"BEGIN PRIVATE KEY\", PKCS#8)"
                    .into(),
            }
        })?;
        Ok(Self::from_seed(&key.to_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_permissions_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = SigningKey::generate();
        let pub_path = key.save(&path).unwrap();
        assert_eq!(pub_path, dir.path().join("node.key.pub"));
        assert_eq!(SigningKey::load(&path).unwrap().id(), key.id());
        assert_eq!(PublicKey::load(&pub_path).unwrap(), key.public());
        assert!(matches!(key.save(&path), Err(Error::KeyExists(_))));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
            let err = SigningKey::load(&path).unwrap_err();
            assert!(
                matches!(err, Error::KeyPermissions { mode: 0o640, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("0640"));
        }
    }

    /// What is written is the v1 form (no public key inside); the v2 form that earlier
    /// versions wrote, with the public key embedded, still loads.
    #[test]
    fn keys_are_written_in_the_v1_form_and_the_v2_form_still_loads() {
        use ed25519_dalek::pkcs8::{KeypairBytes, PublicKeyBytes};
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate();
        let path = dir.path().join("v1.key");
        key.save(&path).unwrap();
        let written = fs::read_to_string(&path).unwrap();
        let der = ed25519_dalek::pkcs8::Document::from_pem(written.trim())
            .unwrap()
            .1;
        // SEQUENCE { INTEGER 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { seed } }
        assert_eq!(der.as_bytes().len(), 48, "{written}");
        assert_eq!(&der.as_bytes()[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);

        let v2 = KeypairBytes {
            secret_key: key.key.to_bytes(),
            public_key: Some(PublicKeyBytes(*key.public().as_bytes())),
        }
        .to_pkcs8_pem(Default::default())
        .unwrap();
        assert!(v2.len() > written.len(), "v2 carries the public key");
        let v2_path = dir.path().join("v2.key");
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&v2_path)
            .unwrap()
            .write_all(v2.as_bytes())
            .unwrap();
        assert_eq!(SigningKey::load(&v2_path).unwrap().id(), key.id());
    }

    #[test]
    fn garbage_key_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&path).unwrap().write_all(b"not a key").unwrap();
        assert!(matches!(
            SigningKey::load(&path),
            Err(Error::KeyFormat { .. })
        ));
        fs::write(dir.path().join("bad.pub"), b"zz").unwrap();
        assert!(matches!(
            PublicKey::load(&dir.path().join("bad.pub")),
            Err(Error::KeyFormat { .. })
        ));
    }
}
