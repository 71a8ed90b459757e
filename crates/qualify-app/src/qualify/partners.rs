//! A partner's own writes besides vetting: its webhook registration, and the validation events
//! that test its receiver.

use qualify_store::{Tx, WebhookRegistration};
use qualify_types::TenantId;
use qualify_types::webhooks::WebhookRegistrationRequest;

use super::Qualify;
use crate::usecases::{Actor, UseCaseError, webhooks};

impl Qualify {
    /// Whether partners' receivers may be internal addresses.
    fn allow_private(&self) -> bool {
        self.settings.webhooks.allow_private(self.settings.dev)
    }

    /// The partner's first webhook registration, as `caller` asked for it.
    pub async fn register_webhook(
        &self,
        caller: &Actor,
        partner: TenantId,
        request: &WebhookRegistrationRequest,
    ) -> Result<WebhookRegistration, UseCaseError> {
        let at = self.clock.now();
        let registered = self
            .store
            .transaction(async |tx: &mut Tx| {
                webhooks::register(tx, caller, partner, request, self.allow_private(), at).await
            })
            .await?;
        self.committed(None);
        Ok(registered)
    }

    /// Changes the partner's webhook registration.
    pub async fn update_webhook(
        &self,
        caller: &Actor,
        partner: TenantId,
        request: &WebhookRegistrationRequest,
    ) -> Result<WebhookRegistration, UseCaseError> {
        let at = self.clock.now();
        let updated = self
            .store
            .transaction(async |tx: &mut Tx| {
                webhooks::update(tx, caller, partner, request, self.allow_private(), at).await
            })
            .await?;
        self.committed(None);
        Ok(updated)
    }

    /// Removes the partner's webhook registration.
    pub async fn remove_webhook(
        &self,
        caller: &Actor,
        partner: TenantId,
    ) -> Result<(), UseCaseError> {
        let at = self.clock.now();
        self.store
            .transaction(async |tx: &mut Tx| webhooks::remove(tx, caller, partner, at).await)
            .await?;
        self.committed(None);
        Ok(())
    }

    /// Sends a `test-created` event to the partner's receiver; its correlation id.
    pub async fn send_validation_event(&self, partner: TenantId) -> Result<String, UseCaseError> {
        let now = self.clock.now();
        let max_attempts = self.settings.jobs.job_max_attempts;
        let public_base = self.identity.public_base();
        let correlation_id = self
            .store
            .transaction(async |tx: &mut Tx| {
                webhooks::send_validation_event(tx, public_base, partner, max_attempts, now).await
            })
            .await?;
        self.committed(None);
        Ok(correlation_id)
    }
}
