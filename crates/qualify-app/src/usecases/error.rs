//! Why a use case did not do what it was asked: a refusal the caller can explain, or a failure
//! of the store. Only the HTTP adapter turns these into statuses and Partner Center codes.

use qualify_domain::{DecisionRefused, SubmissionRefused};
use qualify_store::StoreError;
use qualify_types::{CustomerId, VettingRequestId};

/// A use case's refusal or failure.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    /// No such customer, or not the caller's.
    #[error("The customer '{0}' was not found.")]
    CustomerNotFound(CustomerId),
    /// No such vetting request.
    #[error("The vetting request '{0}' was not found.")]
    VettingRequestNotFound(VettingRequestId),
    /// The customer's history (or the partner's GCC codes) refuses the submission.
    #[error(transparent)]
    Submission(#[from] SubmissionRefused),
    /// The vetting request can't take this decision.
    #[error(transparent)]
    Decision(#[from] DecisionRefused),
    /// The partner already has a customer with this domain.
    #[error("The partner already has a customer with the domain '{0}'.")]
    CustomerDomainTaken(String),
    /// The partner's request id answered another request before.
    #[error(
        "The MS-RequestId was already used for a different request; send a new MS-RequestId for a new request."
    )]
    RequestIdReused,
    /// Something the caller sent is not acceptable, and why (in Partner Center's words).
    #[error("{0}")]
    Invalid(String),
    /// The partner has no webhook registration.
    #[error("The partner has no webhook registration; POST /webhooks/v1/registration makes one.")]
    WebhookNotRegistered,
    /// The partner has a webhook registration already.
    #[error(
        "The partner has a webhook registration already; PUT /webhooks/v1/registration changes it."
    )]
    WebhookRegistrationExists,
    /// The database holds its most partners made on demand.
    #[error(
        "This server holds its most partners made on demand ({max}); its operator can raise test_partners_max, or start from a fresh database."
    )]
    TestPartnersFull {
        /// The bound (`test_partners_max`).
        max: u64,
    },
    /// The caller asked too often: it may ask again after `retry_after` seconds.
    #[error("Rate limit is exceeded. Try again in {retry_after} seconds.")]
    Throttled {
        /// Seconds to wait.
        retry_after: u32,
    },
    /// The store failed (or a concurrent write won a race the schema settled).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug: what can't happen did.
    #[error("{0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl UseCaseError {
    /// A bug, with what went wrong.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }
}
