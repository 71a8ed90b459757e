//! The token issuer's RSA keys: generated once and stored in the database (so every node and
//! every restart uses the same ones), published as a JWKS, and reloaded when a token names a key
//! this process has not seen (another node's, or one rotated in by an operator).
//!
//! On a new database the first key is made in the background: an RSA-2048 key takes 50–150 ms,
//! most of an empty server's start, and nothing but issuing tokens and publishing the JWKS
//! needs it, so those two wait for it ([`KeyRing::current`]) while the rest is served at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use qualify_store::{SigningKeyRecord, Store, StoreError, Tx, Unique};
use secrecy::ExposeSecret;

use super::key_encryption::{KeyEncryptionKey, SealError, from_store, is_sealed, to_store};

/// How often an unknown `kid` may trigger a reload from the database: bounds the database load
/// a stream of forged tokens can cause.
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The key that signs new tokens.
pub(crate) struct Signer {
    pub(crate) kid: String,
    pub(crate) key: EncodingKey,
}

/// The keys known at one moment.
pub(crate) struct KeySet {
    pub(crate) signer: Signer,
    verifiers: HashMap<String, DecodingKey>,
    /// The JWKS document, serialised once.
    pub(crate) jwks: Arc<[u8]>,
}

/// How long to wait before trying again to make the first key, when the database refused it.
const FIRST_KEY_RETRY: Duration = Duration::from_secs(1);

/// The keys, shared by the issuer and the verifier.
pub(crate) struct KeyRing {
    store: Store,
    /// `None` until the first key of a new database is made.
    current: tokio::sync::watch::Sender<Option<Arc<KeySet>>>,
    last_reload: tokio::sync::Mutex<Option<Instant>>,
    /// Retired keys are dropped once every token they signed has expired.
    token_lifetime: Duration,
    /// Seals new keys and opens stored ones, when the operator gave one.
    kek: Option<Arc<KeyEncryptionKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signer", &self.now().map(|keys| keys.signer.kid.clone()))
            .finish_non_exhaustive()
    }
}

/// A failure to load or create keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error("reading or storing signing keys")]
    Store(#[from] StoreError),
    /// Key generation failed.
    #[error("generating an RSA key")]
    Generate,
    /// A stored key is sealed and can't be opened, or a new one can't be sealed.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// A stored key could not be read.
    #[error("signing key {kid} is not usable")]
    Unusable {
        /// Which key.
        kid: String,
        /// Why.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// A new 2048-bit RSA signing key as (kid, PKCS#8 PEM): for the first key, and for
/// `qualify admin keys rotate`.
pub fn generate_signing_key() -> Result<(String, String), KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let der = pair.as_der().map_err(|_| KeyError::Generate)?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let (_, jwk) = public_jwk("new", &pem)?;
    // RFC 7638 thumbprint: a kid derived from the key, the same wherever it is computed.
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| KeyError::Generate)?;
    Ok((kid, pem))
}

/// Seals the keys of `records` stored unsealed, with `kek`; refuses to go on when a sealed one
/// does not open with it (another key-encryption key sealed it).
async fn seal_stored_keys(
    store: &Store,
    kek: &KeyEncryptionKey,
    records: &[SigningKeyRecord],
) -> Result<(), KeyError> {
    for record in records {
        let stored = record.private_key_pem.expose_secret();
        let pem = from_store(Some(kek), &record.kid, stored)?;
        if !is_sealed(stored) {
            let sealed = to_store(Some(kek), &record.kid, pem.expose_secret())?;
            if store
                .transaction(async |tx: &mut Tx| {
                    tx.replace_signing_key_text(&record.kid, stored, &sealed)
                        .await
                })
                .await?
            {
                tracing::info!(
                    kid = record.kid,
                    "sealed a signing key with the key-encryption key"
                );
            }
        }
    }
    Ok(())
}

/// The signing key and its public JWK.
fn public_jwk(kid: &str, pem: &str) -> Result<(EncodingKey, Jwk), KeyError> {
    let unusable = |source| KeyError::Unusable {
        kid: kid.to_owned(),
        source,
    };
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(unusable)?;
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).map_err(unusable)?;
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    Ok((key, jwk))
}

impl KeySet {
    fn from_records(
        records: &[SigningKeyRecord],
        token_lifetime: Duration,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<Option<Self>, KeyError> {
        let now = crate::clock::wall_now();
        let lifetime_ms = i64::try_from(token_lifetime.as_millis()).unwrap_or(i64::MAX);
        let mut signer = None;
        let mut verifiers = HashMap::new();
        let mut jwks = JwkSet { keys: Vec::new() };
        // Records come newest first: the newest unretired key signs.
        for record in records {
            let still_verifies = record
                .retired_at
                .is_none_or(|at| at.plus_millis(lifetime_ms) > now);
            if !still_verifies {
                continue;
            }
            let pem = from_store(kek, &record.kid, record.private_key_pem.expose_secret())?;
            let (key, jwk) = public_jwk(&record.kid, pem.expose_secret())?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|source| KeyError::Unusable {
                kid: record.kid.clone(),
                source,
            })?;
            verifiers.insert(record.kid.clone(), decoding);
            jwks.keys.push(jwk);
            if signer.is_none() && record.retired_at.is_none() {
                signer = Some(Signer {
                    kid: record.kid.clone(),
                    key,
                });
            }
        }
        let jwks = serde_json::to_vec(&jwks).map_err(|_| KeyError::Generate)?;
        Ok(signer.map(|signer| Self {
            signer,
            verifiers,
            jwks: jwks.into(),
        }))
    }
}

impl KeyRing {
    /// Loads the stored keys; on a database that has none, the ring is empty until
    /// [`Self::make_first_key_in_background`] has made one. With `kek`, new keys are sealed
    /// with it, and keys stored unsealed are sealed now.
    pub(crate) async fn load(
        store: Store,
        token_lifetime: Duration,
        kek: Option<Arc<KeyEncryptionKey>>,
    ) -> Result<Self, KeyError> {
        let mut records = store.signing_keys().await?;
        if let Some(kek) = kek.as_deref() {
            seal_stored_keys(&store, kek, &records).await?;
            records = store.signing_keys().await?;
        }
        let keys = KeySet::from_records(&records, token_lifetime, kek.as_deref())?;
        Ok(Self {
            store,
            current: tokio::sync::watch::Sender::new(keys.map(Arc::new)),
            last_reload: tokio::sync::Mutex::new(None),
            token_lifetime,
            kek,
        })
    }

    /// On a database without a key, makes the first one in a task of its own, trying again
    /// while the database refuses; does nothing when there is a key.
    pub(crate) fn make_first_key_in_background(self: &Arc<Self>) {
        if self.now().is_some() {
            return;
        }
        let ring = Arc::clone(self);
        tokio::spawn(async move {
            while let Err(error) = ring.make_first_key().await {
                tracing::warn!(%error, "making the first signing key failed; trying again");
                tokio::time::sleep(FIRST_KEY_RETRY).await;
            }
        });
    }

    /// Makes and stores a key, unless another node stored one first; then reads the keys.
    async fn make_first_key(&self) -> Result<(), KeyError> {
        let (kid, pem) = tokio::task::spawn_blocking(generate_signing_key)
            .await
            .map_err(|_| KeyError::Generate)??;
        let stored = to_store(self.kek.as_deref(), &kid, &pem)?;
        match self
            .store
            .transaction(async |tx: &mut Tx| {
                tx.insert_signing_key(&kid, &stored, crate::clock::wall_now())
                    .await
            })
            .await
        {
            Ok(()) => tracing::info!(kid, "created a signing key"),
            // Another node starting at the same time stored its key first: use that one.
            Err(StoreError::Duplicate(Unique::ActiveSigningKey)) => {
                tracing::info!("another node created the signing key")
            }
            Err(error) => return Err(error.into()),
        }
        self.reload().await?;
        if self.now().is_none() {
            return Err(KeyError::Generate);
        }
        Ok(())
    }

    /// The keys as they are now; on a new database, once the first key is made.
    pub(crate) async fn current(&self) -> Arc<KeySet> {
        let mut keys = self.current.subscribe();
        loop {
            if let Some(keys) = keys.borrow_and_update().clone() {
                return keys;
            }
            if keys.changed().await.is_err() {
                // The sender lives as long as `self`, so this is never reached.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The keys as they are now, if there are any yet.
    fn now(&self) -> Option<Arc<KeySet>> {
        self.current.borrow().clone()
    }

    /// The key that verifies tokens signed by `kid`, reloading from the database (at most once
    /// per [`RELOAD_INTERVAL`]) when it is not known here. Callers that find the same unknown key
    /// at once wait for one reload rather than each being refused.
    pub(crate) async fn verifier(&self, kid: &str) -> Option<DecodingKey> {
        let known = |ring: &Self| ring.now().and_then(|keys| keys.verifiers.get(kid).cloned());
        if let Some(key) = known(self) {
            return Some(key);
        }
        let mut last_reload = self.last_reload.lock().await;
        if let Some(key) = known(self) {
            return Some(key); // another caller reloaded while this one waited
        }
        if last_reload.is_some_and(|at| at.elapsed() < RELOAD_INTERVAL) {
            return None;
        }
        *last_reload = Some(Instant::now());
        match self.reload().await {
            Ok(()) => known(self),
            Err(error) => {
                tracing::warn!(error = %error, "reloading signing keys failed");
                None
            }
        }
    }

    /// Reads the keys again: a rotation by `qualify admin keys rotate` (or another node) takes
    /// effect here at the next reload, for signing and in the JWKS.
    pub(crate) async fn reload(&self) -> Result<(), KeyError> {
        let records = self.store.signing_keys().await?;
        if let Some(keys) =
            KeySet::from_records(&records, self.token_lifetime, self.kek.as_deref())?
        {
            self.current.send_replace(Some(Arc::new(keys)));
        }
        Ok(())
    }
}
