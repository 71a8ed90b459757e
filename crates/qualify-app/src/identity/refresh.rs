//! Secrets this server makes up: refresh tokens, generated client secrets and passwords: 43
//! letters and digits (256 bits) from the operating system's generator, so they are safe to paste
//! into a shell or a flag (no leading `-`). Only a hash of each is stored.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// 43 characters of 62 give 256 bits.
const LENGTH: usize = 43;

/// A new random secret, `None` if the OS generator failed.
pub fn random_secret() -> Option<String> {
    let mut secret = String::with_capacity(LENGTH);
    while secret.len() < LENGTH {
        let mut bytes = [0u8; 64];
        aws_lc_rs::rand::fill(&mut bytes).ok()?;
        // Rejection sampling: bytes of 248 and above would favour the first letters.
        for byte in bytes.into_iter().filter(|b| *b < 248) {
            if secret.len() == LENGTH {
                break;
            }
            secret.push(char::from(ALPHABET[usize::from(byte % 62)]));
        }
    }
    Some(secret)
}

/// What is stored of a refresh token or a console session id: its SHA-256. (They are random and
/// long, so a fast hash is enough; passwords and client secrets, which people choose, get Argon2.)
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_url_safe() {
        let (a, b) = (random_secret().unwrap(), random_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(hash(&a).len(), 64);
    }
}
