//! The key and certificate that sign partners' events: one for every node, made by whichever
//! node needs it first.

use qualify_types::Timestamp;

use crate::db;
use crate::{Store, StoreError, Tx, on_reader};

/// The key and certificate signing partners' events, as stored (the key maybe sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookSigner {
    /// The private key: PEM, or sealed by the server's key-encryption key.
    pub private_key: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
}

db::row! {
    struct SignerRow {
        private_key_pem: String,
        certificate_pem: String,
    }
}

/// The stored signer, read on `on`.
async fn stored_signer(on: impl db::Executor) -> Result<Option<StoredWebhookSigner>, StoreError> {
    const SQL: &str =
        "SELECT private_key_pem, certificate_pem FROM webhook_signing_keys WHERE id = 1";
    let row: Option<SignerRow> = db::query(SQL).fetch_optional(on).await?;
    Ok(row.map(|row| StoredWebhookSigner {
        private_key: row.private_key_pem,
        certificate_pem: row.certificate_pem,
    }))
}

impl Tx {
    /// Stores the signing key and certificate, unless another node stored its own first; the
    /// one stored either way.
    pub async fn insert_webhook_signer(
        &mut self,
        signer: &StoredWebhookSigner,
        at: Timestamp,
    ) -> Result<StoredWebhookSigner, StoreError> {
        const SQL: &str = "INSERT INTO webhook_signing_keys (id, private_key_pem, certificate_pem, created_at) \
                           VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING";
        db::query(SQL)
            .bind(&signer.private_key)
            .bind(&signer.certificate_pem)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?;
        stored_signer(self)
            .await?
            .ok_or_else(|| StoreError::corrupt("webhook_signing_keys", "missing after insert"))
    }
}

impl Store {
    /// The key and certificate that sign partners' events, if made.
    pub async fn webhook_signer(&self) -> Result<Option<StoredWebhookSigner>, StoreError> {
        on_reader!(self, |pool| stored_signer(pool).await)
    }
}
