//! Slow hashes of client secrets and user passwords (Argon2id, PHC strings), so a stolen
//! database does not give away credentials.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes a secret with Argon2id's recommended parameters (19 MiB, 2 passes).
pub fn hash_secret(secret: &str) -> String {
    hash_with(Argon2::default(), secret)
}

/// Hashes a secret that is public anyway (the documented development identities), with minimal
/// parameters so `--dev` starts fast. Verification reads the parameters from the hash.
pub fn hash_well_known(secret: &str) -> String {
    let params = Params::new(Params::MIN_M_COST * 2, 1, 1, None).unwrap_or_default();
    hash_with(
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        secret,
    )
}

fn hash_with(argon2: Argon2<'_>, secret: &str) -> String {
    // Hashing with a fresh salt only fails on parameter errors, which are constants here.
    argon2
        .hash_password(secret.as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
}

/// Does `secret` match the PHC string `hash`? A malformed hash matches nothing.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_and_nothing_else() {
        for hash in [hash_secret("s3cret"), hash_well_known("s3cret")] {
            assert!(hash.starts_with("$argon2id$"), "{hash}");
            assert!(verify_secret("s3cret", &hash));
            assert!(!verify_secret("s3cret ", &hash));
        }
        assert!(!verify_secret("s3cret", "not a hash"));
    }
}
