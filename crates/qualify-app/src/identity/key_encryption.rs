//! Signing keys sealed at rest: with a key-encryption key the operator supplies
//! (`--key-encryption-key-file`), each private key is stored encrypted (AES-256-GCM, bound to
//! its `kid`), so a copy of the database or of a backup mints no tokens. Without one, keys are
//! stored as PEM, as before; a key stored either way reads back the same.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// What a sealed key's stored text starts with: the format's version, then the key-encryption
/// key's fingerprint (so the wrong key is named as such, not as corrupt data).
const SEALED: &str = "sealed:v1:";

/// The operator's key-encryption key: 32 bytes.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
    /// The first 8 bytes of the key's SHA-256, in hex: names it without revealing it.
    fingerprint: String,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Why a stored key could not be sealed or opened, or the key-encryption key read.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file can't be read.
    #[error("reading the key-encryption key {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds something else than 32 bytes (raw, or in base64).
    #[error(
        "the key-encryption key {0} must hold 32 random bytes, raw or in base64 (make one with `openssl rand -base64 32`)"
    )]
    Malformed(String),
    /// Stored keys are sealed and no key-encryption key was given.
    #[error(
        "signing key {kid} is encrypted: give the key-encryption key it was sealed with (--key-encryption-key-file)"
    )]
    Missing {
        /// Which signing key.
        kid: String,
    },
    /// The stored key was sealed with another key-encryption key.
    #[error(
        "signing key {kid} was sealed with key-encryption key {sealed_with}, not with the one given ({given})"
    )]
    WrongKey {
        /// Which signing key.
        kid: String,
        /// The fingerprint it names.
        sealed_with: String,
        /// The fingerprint of the key given.
        given: String,
    },
    /// The sealed text is damaged, or was moved to another key's row.
    #[error("signing key {kid} can't be decrypted: its stored text is damaged or not its own")]
    Damaged {
        /// Which signing key.
        kid: String,
    },
    /// The system's random source failed.
    #[error("no randomness for a nonce")]
    Random,
}

impl KeyEncryptionKey {
    /// Reads the key from `path`: 32 bytes, raw or in base64 (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        let shown = path.display().to_string();
        let contents = std::fs::read(path).map_err(|source| SealError::Read {
            path: shown.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&contents);
        let bytes = match STANDARD.decode(text.trim()) {
            Ok(decoded) if decoded.len() == 32 => decoded,
            _ if contents.len() == 32 => contents,
            _ => return Err(SealError::Malformed(shown)),
        };
        Self::from_bytes(&bytes).ok_or(SealError::Malformed(shown))
    }

    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        let digest = Sha256::digest(bytes);
        let fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Some(Self {
            key: LessSafeKey::new(key),
            fingerprint,
        })
    }

    /// `pem` sealed for storage as the key `kid`.
    fn seal(&self, kid: &str, pem: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut sealed = pem.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SealError::Random)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED}{}:{}",
            self.fingerprint,
            STANDARD.encode(stored)
        ))
    }

    /// The PEM that `stored` (sealed text of the key `kid`) holds.
    fn open(&self, kid: &str, stored: &str) -> Result<String, SealError> {
        let damaged = || SealError::Damaged {
            kid: kid.to_owned(),
        };
        let rest = stored.strip_prefix(SEALED).ok_or_else(damaged)?;
        let (fingerprint, sealed) = rest.split_once(':').ok_or_else(damaged)?;
        if fingerprint != self.fingerprint {
            return Err(SealError::WrongKey {
                kid: kid.to_owned(),
                sealed_with: fingerprint.to_owned(),
                given: self.fingerprint.clone(),
            });
        }
        let bytes = STANDARD.decode(sealed).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| damaged())?;
        let mut sealed = sealed.to_vec();
        let pem = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut sealed)
            .map_err(|_| damaged())?;
        String::from_utf8(pem.to_vec()).map_err(|_| damaged())
    }
}

/// Whether `stored` is a sealed key.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// What to store for the new key `kid`: sealed with `kek` when there is one, else the PEM.
pub fn to_store(kek: Option<&KeyEncryptionKey>, kid: &str, pem: &str) -> Result<String, SealError> {
    match kek {
        Some(kek) => kek.seal(kid, pem),
        None => Ok(pem.to_owned()),
    }
}

/// The PEM of the stored key `kid`: opened with `kek` when sealed, as stored otherwise.
pub fn from_store(
    kek: Option<&KeyEncryptionKey>,
    kid: &str,
    stored: &str,
) -> Result<SecretString, SealError> {
    if !is_sealed(stored) {
        return Ok(SecretString::from(stored.to_owned()));
    }
    let kek = kek.ok_or_else(|| SealError::Missing {
        kid: kid.to_owned(),
    })?;
    kek.open(kid, stored).map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_with_its_kek_only_and_only_as_itself() {
        let stored = to_store(Some(&kek(1)), "kid-a", PEM).unwrap();
        assert!(
            is_sealed(&stored) && !stored.contains("PRIVATE KEY"),
            "{stored}"
        );
        let opened = from_store(Some(&kek(1)), "kid-a", &stored).unwrap();
        assert_eq!(opened.expose_secret(), PEM);
        assert!(matches!(
            from_store(None, "kid-a", &stored),
            Err(SealError::Missing { .. })
        ));
        assert!(matches!(
            from_store(Some(&kek(2)), "kid-a", &stored),
            Err(SealError::WrongKey { .. })
        ));
        // Moved to another key's row, or altered: refused.
        assert!(matches!(
            from_store(Some(&kek(1)), "kid-b", &stored),
            Err(SealError::Damaged { .. })
        ));
        let mut altered = stored.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(from_store(Some(&kek(1)), "kid-a", &altered).is_err());
        // Two seals of one key differ (fresh nonces).
        assert_ne!(stored, to_store(Some(&kek(1)), "kid-a", PEM).unwrap());
    }

    #[test]
    fn an_unsealed_key_reads_as_stored() {
        let stored = to_store(None, "kid", PEM).unwrap();
        assert_eq!(stored, PEM);
        assert_eq!(
            from_store(Some(&kek(1)), "kid", &stored)
                .unwrap()
                .expose_secret(),
            PEM
        );
    }

    #[test]
    fn the_key_file_holds_32_bytes_raw_or_in_base64() {
        let dir = tempfile::tempdir().unwrap();
        let base64 = dir.path().join("kek.b64");
        std::fs::write(&base64, format!("{}\n", STANDARD.encode([7u8; 32]))).unwrap();
        let raw = dir.path().join("kek.bin");
        std::fs::write(&raw, [7u8; 32]).unwrap();
        let (a, b) = (
            KeyEncryptionKey::from_file(&base64).unwrap(),
            KeyEncryptionKey::from_file(&raw).unwrap(),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        let short = dir.path().join("short");
        std::fs::write(&short, "too short").unwrap();
        assert!(matches!(
            KeyEncryptionKey::from_file(&short),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            KeyEncryptionKey::from_file(&dir.path().join("absent")),
            Err(SealError::Read { .. })
        ));
    }
}
