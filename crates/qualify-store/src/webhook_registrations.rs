//! A partner's webhook registration, as stored: its one receiver, the events it wants, and
//! where the signature goes.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::{Store, StoreError, Tx, on_reader};

/// A partner's webhook registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// The partner.
    pub partner: TenantId,
    /// Partner Center's `SubscriberId`.
    pub subscriber_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The event names it receives.
    pub events: Vec<String>,
    /// The signature goes in `x-ms-signature`, not `Authorization`.
    pub signature_header: bool,
}

/// The tenant id a column holds.
pub(crate) fn tenant(column: &'static str, text: &str) -> Result<TenantId, StoreError> {
    text.parse().map_err(|_| StoreError::corrupt(column, text))
}

db::row! {
    struct RegistrationRow {
        partner_tenant_id: String,
        subscriber_id: String,
        url: String,
        events: String,
        signature_header: i64,
    }
}

impl TryFrom<RegistrationRow> for WebhookRegistration {
    type Error = StoreError;

    fn try_from(row: RegistrationRow) -> Result<Self, StoreError> {
        Ok(Self {
            partner: tenant(
                "webhook_registrations.partner_tenant_id",
                &row.partner_tenant_id,
            )?,
            subscriber_id: row.subscriber_id,
            url: row.url,
            events: serde_json::from_str(&row.events)
                .map_err(|_| StoreError::corrupt("webhook_registrations.events", &row.events))?,
            signature_header: row.signature_header != 0,
        })
    }
}

/// `partner`'s registration, read on `on`.
async fn registration(
    on: impl db::Executor,
    partner: TenantId,
) -> Result<Option<WebhookRegistration>, StoreError> {
    const SQL: &str = "SELECT partner_tenant_id, subscriber_id, url, events, signature_header \
                       FROM webhook_registrations WHERE partner_tenant_id = $1";
    let row: Option<RegistrationRow> = db::query(SQL)
        .bind(partner.to_string())
        .fetch_optional(on)
        .await?;
    row.map(WebhookRegistration::try_from).transpose()
}

impl Tx {
    /// The partner's registration, read in this transaction (to enqueue its events with the
    /// change that causes them).
    pub async fn webhook_registration(
        &mut self,
        partner: TenantId,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        registration(self, partner).await
    }

    /// Stores `registration` as its partner's first; false when the partner has one already.
    pub async fn insert_webhook_registration(
        &mut self,
        registration: &WebhookRegistration,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO webhook_registrations \
                           (partner_tenant_id, subscriber_id, url, events, signature_header, created_at, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (partner_tenant_id) DO NOTHING";
        let events = serde_json::to_string(&registration.events).unwrap_or_else(|_| "[]".into());
        let inserted = db::query(SQL)
            .bind(registration.partner.to_string())
            .bind(&registration.subscriber_id)
            .bind(&registration.url)
            .bind(&events)
            .bind(i64::from(registration.signature_header))
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    /// Replaces the partner's registration's URL, events and signature header; false when it
    /// has none.
    pub async fn update_webhook_registration(
        &mut self,
        registration: &WebhookRegistration,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE webhook_registrations SET url = $2, events = $3, signature_header = $4, updated_at = $5 \
                           WHERE partner_tenant_id = $1";
        let events = serde_json::to_string(&registration.events).unwrap_or_else(|_| "[]".into());
        let updated = db::query(SQL)
            .bind(registration.partner.to_string())
            .bind(&registration.url)
            .bind(&events)
            .bind(i64::from(registration.signature_header))
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    /// Removes the partner's registration; false when it had none.
    pub async fn delete_webhook_registration(
        &mut self,
        partner: TenantId,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM webhook_registrations WHERE partner_tenant_id = $1";
        let deleted = db::query(SQL)
            .bind(partner.to_string())
            .execute(&mut *self)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }
}

impl Store {
    /// The partner's registration.
    pub async fn webhook_registration(
        &self,
        partner: TenantId,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        on_reader!(self, |pool| registration(pool, partner).await)
    }
}
