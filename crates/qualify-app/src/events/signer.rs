//! The key and certificate that sign partners' events as Partner Center signs them: RSA-2048,
//! PKCS#1 v1.5 with SHA-256 over the raw body, and a self-signed certificate that Qualify serves
//! (`/webhooks/v1/certificates/{name}`) for receivers to verify with. Made when first needed,
//! stored in the database (the key sealed when the server has a key-encryption key), and the
//! same on every node.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Datelike;
use qualify_store::{Store, StoreError, StoredWebhookSigner, Tx};
use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::identity::{KeyEncryptionKey, SealError, key_to_store, open_stored_key};

/// How the sealed key is named when sealed (its "kid"): what binds the ciphertext to its use.
const SEAL_NAME: &str = "webhook-signing";

/// Why the signer could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The store failed.
    #[error("reading or storing the webhook signing key")]
    Store(#[from] StoreError),
    /// The key is sealed and can't be opened.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// Making or reading the key or certificate failed.
    #[error("the webhook signing key or certificate: {0}")]
    Unusable(String),
}

/// Signs partners' events.
pub struct WebhookSigner {
    key: RsaKeyPair,
    certificate_der: Vec<u8>,
    /// What the certificate is served as: a digest of it, so a new certificate gets a new URL.
    certificate_name: String,
}

impl std::fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSigner")
            .field("certificate", &self.certificate_name)
            .finish_non_exhaustive()
    }
}

impl WebhookSigner {
    /// The stored signer, made and stored first if there is none.
    pub(crate) async fn load_or_create(
        store: &Store,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, SignerError> {
        let stored = match store.webhook_signer().await? {
            Some(stored) => stored,
            None => {
                let made = tokio::task::spawn_blocking(make)
                    .await
                    .map_err(|e| SignerError::Unusable(e.to_string()))??;
                let stored = StoredWebhookSigner {
                    private_key: key_to_store(kek, SEAL_NAME, &made.private_key)?,
                    certificate_pem: made.certificate_pem,
                };
                // Another node may have stored its own first: every node uses the stored one.
                store
                    .transaction(async |tx: &mut Tx| {
                        tx.insert_webhook_signer(&stored, crate::clock::wall_now())
                            .await
                    })
                    .await?
            }
        };
        Self::from_stored(&stored, kek)
    }

    fn from_stored(
        stored: &StoredWebhookSigner,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Self, SignerError> {
        let unusable = |what: &str| SignerError::Unusable(what.to_owned());
        let pem = open_stored_key(kek, SEAL_NAME, &stored.private_key)?;
        let key_der =
            pem::parse(pem.expose_secret()).map_err(|_| unusable("the key is not PEM"))?;
        let key = RsaKeyPair::from_pkcs8(key_der.contents())
            .map_err(|_| unusable("the key is not an RSA PKCS#8 key"))?;
        let certificate = pem::parse(&stored.certificate_pem)
            .map_err(|_| unusable("the certificate is not PEM"))?;
        let certificate_der = certificate.contents().to_vec();
        let digest = Sha256::digest(&certificate_der);
        let certificate_name = format!(
            "{}.cer",
            digest[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Ok(Self {
            key,
            certificate_der,
            certificate_name,
        })
    }

    /// The signature of `body`, base64: what follows `Signature ` in the header.
    pub fn sign(&self, body: &[u8]) -> Result<String, SignerError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                body,
                &mut signature,
            )
            .map_err(|_| SignerError::Unusable("signing failed".into()))?;
        Ok(STANDARD.encode(signature))
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate's file name under `/webhooks/v1/certificates/`.
    pub fn certificate_name(&self) -> &str {
        &self.certificate_name
    }
}

/// A new key and its certificate, PEM.
struct Made {
    private_key: String,
    certificate_pem: String,
}

/// Makes an RSA-2048 key and a self-signed certificate for it, valid from last year for five
/// years (receivers that check dates accept it; the operator replaces it before it ends).
fn make() -> Result<Made, SignerError> {
    let unusable = |e: rcgen::Error| SignerError::Unusable(e.to_string());
    let key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(unusable)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(unusable)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Qualify webhook signing");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Qualify");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let year = crate::clock::wall_now().as_datetime().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 5, 1, 1);
    let certificate = params.self_signed(&key).map_err(unusable)?;
    Ok(Made {
        private_key: key.serialize_pem(),
        certificate_pem: certificate.pem(),
    })
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::KeyPair as _;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    use super::*;

    #[test]
    fn a_made_signer_signs_what_its_public_key_verifies() {
        let made = make().unwrap();
        let stored = StoredWebhookSigner {
            private_key: made.private_key,
            certificate_pem: made.certificate_pem,
        };
        let signer = WebhookSigner::from_stored(&stored, None).unwrap();
        let signature = STANDARD
            .decode(signer.sign(b"{\"EventName\":\"test-created\"}").unwrap())
            .unwrap();
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            signer.key.public_key().as_ref().to_vec(),
        );
        public
            .verify(b"{\"EventName\":\"test-created\"}", &signature)
            .unwrap();
        assert!(public.verify(b"{}", &signature).is_err());
        assert!(signer.certificate_name().ends_with(".cer"));
        assert_eq!(signer.certificate_name().len(), 16 + 4);
    }
}
