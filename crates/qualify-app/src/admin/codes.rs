//! GCC validation codes issued to partners, and the token issuer's signing keys.

use qualify_store::{NewValidationCode, TenantKind, Tx};
use qualify_types::TenantId;
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use super::{Admin, AdminError};
use crate::identity::{KeyEncryptionKey, generate_signing_key, key_to_store, open_stored_key};

/// A code issued to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code.
    pub validation_id: String,
}

/// How many random codes are tried before giving up (a partner with most six-digit codes taken).
const CODE_ATTEMPTS: usize = 8;

impl Admin {
    /// Issues a GCC validation code (`code`, or a new six-digit one) to the partner `tenant`,
    /// for `organization`, good for `max_creates` customers.
    pub async fn issue_validation_code(
        &self,
        tenant: TenantId,
        organization: &str,
        max_creates: u32,
        code: Option<&str>,
    ) -> Result<IssuedCode, AdminError> {
        let organization = organization.trim();
        if organization.is_empty() {
            return Err(AdminError::Invalid(
                "the organization's name is required".into(),
            ));
        }
        for _ in 0..CODE_ATTEMPTS {
            let candidate = match code {
                Some(code) => code.to_owned(),
                None => random_code(),
            };
            qualify_domain::ValidationCodeValue::parse(&candidate)
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            let at = self.now();
            let issued = self
                .store
                .transaction(async |tx: &mut Tx| {
                    let partner = tx
                        .find_tenant(tenant)
                        .await?
                        .filter(|t| t.kind == TenantKind::Partner);
                    if partner.is_none() {
                        return Err(AdminError::NoSuchPartner(tenant));
                    }
                    let new = NewValidationCode {
                        partner_tenant_id: tenant,
                        validation_id: &candidate,
                        organization_name: organization,
                        max_creates,
                        dev: false,
                    };
                    if !tx.insert_validation_code(&new, at).await? {
                        return Ok(false);
                    }
                    let detail = json!({ "tenantId": tenant, "maxCreates": max_creates });
                    self.audit(tx, at, "validation_code.created", &candidate, detail)
                        .await?;
                    Ok(true)
                })
                .await?;
            if issued {
                return Ok(IssuedCode {
                    validation_id: candidate,
                });
            }
            if code.is_some() {
                return Err(AdminError::CodeExists(candidate));
            }
        }
        Err(AdminError::NoFreeCode)
    }

    /// Makes a new key sign tokens; the old one keeps verifying until its tokens expire.
    /// The new key is sealed with `kek` when given; when the stored keys are sealed, `kek` must
    /// be the key that sealed them (a new key is never stored less protected than the old).
    /// Returns the new key's id.
    pub async fn rotate_signing_key(
        &self,
        kek: Option<&KeyEncryptionKey>,
    ) -> Result<String, AdminError> {
        for stored in self.store.signing_keys().await? {
            open_stored_key(kek, &stored.kid, stored.private_key_pem.expose_secret())?;
        }
        let (kid, pem) = tokio::task::spawn_blocking(generate_signing_key)
            .await
            .map_err(|_| AdminError::Random)??;
        let pem = key_to_store(kek, &kid, &pem)?;
        // A key's dates bound the tokens it signs, which follow the wall clock.
        let at = crate::clock::wall_now();
        self.store
            .transaction(async |tx: &mut Tx| {
                tx.rotate_signing_key(&kid, &pem, at).await?;
                self.audit(tx, at, "signing_key.rotated", &kid, json!({}))
                    .await?;
                Ok::<_, AdminError>(())
            })
            .await?;
        Ok(kid)
    }
}

/// A random six-digit code.
fn random_code() -> String {
    let value = u128::from_le_bytes(*Uuid::new_v4().as_bytes()) % 1_000_000;
    format!("{value:06}")
}
