//! The extractors that state what a handler requires of its caller: any verified token
//! ([`Principal`]), a partner's ([`Partner`]), a partner's App+User token ([`PartnerUser`]), a
//! reviewer ([`Reviewer`]), or a partner reading one customer's history together with its own
//! status ([`PartnerCustomerHistory`]). Verification is `qualify_app::identity`'s; these read the
//! `Authorization` header, keep the verified caller for the request's other extractors and
//! layers, and turn a refusal into the contract's error.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use qualify_app::identity::Principal;
use qualify_store::HistoryEntry;
use qualify_types::CustomerId;

use crate::error::ApiError;
use crate::http::IdPath;
use crate::state::AppState;

/// The `Authorization` header's value, when it is text.
fn authorization(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

/// The verified caller of a request, whoever it is.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Several extractors may ask; the token is verified once per request.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Self(principal.clone()));
        }
        let principal = state
            .app
            .identity()
            .authenticate(authorization(parts))
            .await?;
        remember(parts, &principal);
        Ok(Self(principal))
    }
}

/// Keeps the verified caller for the request's later extractors, names its tenant in the
/// request's span (when on), and tells the layers waiting to know (`http::caller`): the request
/// log among them.
fn remember(parts: &mut Parts, principal: &Principal) {
    tracing::Span::current().record("tenant", tracing::field::display(principal.tenant_id));
    crate::http::caller::note(principal.tenant_id);
    parts.extensions.insert(principal.clone());
}

/// Any token of a partner (App-only or App+User).
#[derive(Debug, Clone)]
pub(crate) struct Partner(pub Principal);

impl FromRequestParts<AppState> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(Self(principal.partner()?))
    }
}

/// A partner reading one of its customers' vetting history (`/v1/customers/{customer_id}/…`):
/// the caller is checked as by [`Partner`], and the history is read together with the caller's
/// status, in one read of the database (the hot path of polling clients). The history is
/// `None` when the customer does not exist or is another partner's.
#[derive(Debug)]
pub(crate) struct PartnerCustomerHistory {
    /// The customer of the path.
    pub(crate) customer: CustomerId,
    /// Its history, oldest first.
    pub(crate) history: Option<Vec<HistoryEntry>>,
}

impl FromRequestParts<AppState> for PartnerCustomerHistory {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let customer = match IdPath::<CustomerId>::from_request_parts(parts, state).await {
            Ok(IdPath(customer)) => customer,
            Err(malformed) => {
                // The caller is checked first, as it would be before any path parameter.
                Partner::from_request_parts(parts, state).await?;
                return Err(malformed);
            }
        };
        let (principal, history) = state
            .app
            .identity()
            .authenticate_reading_history(authorization(parts), customer)
            .await?;
        remember(parts, &principal);
        principal.partner()?;
        Ok(Self { customer, history })
    }
}

/// A partner's App+User token.
#[derive(Debug, Clone)]
pub(crate) struct PartnerUser(pub Principal);

impl FromRequestParts<AppState> for PartnerUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(Self(principal.partner_user()?))
    }
}

/// A reviewer: an App+User token of a user with the reviewer role in the operator tenant.
#[derive(Debug, Clone)]
pub(crate) struct Reviewer {
    /// The verified caller.
    pub(crate) principal: Principal,
    /// The reviewer's sign-in name, recorded on decisions.
    pub(crate) username: String,
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        let username = principal.reviewer()?;
        Ok(Self {
            principal,
            username,
        })
    }
}
