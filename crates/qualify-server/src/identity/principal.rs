//! Who is calling, once their token is verified, and the extractors that state what a handler
//! requires: any partner token, a partner's App+User token, or a reviewer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use qualify_store::{HistoryEntry, TenantKind, UserRole};
use qualify_types::{CustomerId, TenantId};

use crate::http::IdPath;
use crate::{ApiError, AppState};

/// The user of an App+User token.
#[derive(Debug, Clone)]
pub struct PrincipalUser {
    /// The user's object id.
    pub object_id: String,
    /// The user's sign-in name.
    pub upn: Option<String>,
}

/// A verified caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's tenant.
    pub tenant_id: TenantId,
    /// Partner or operator.
    pub tenant_kind: TenantKind,
    /// The calling application's client id.
    pub app_id: Option<String>,
    /// The user, for an App+User token (`scp` contains `user_impersonation`).
    pub user: Option<PrincipalUser>,
    /// The user's role, for a user registered here.
    pub role: Option<UserRole>,
    /// Whether the user authenticated with MFA (`amr` contains `mfa`).
    pub mfa: bool,
}

impl Principal {
    /// Who to name in the audit trail: the user's sign-in name, or the application.
    pub fn actor(&self) -> String {
        match (&self.user, &self.app_id) {
            (Some(user), _) => user.upn.clone().unwrap_or_else(|| user.object_id.clone()),
            (None, Some(app)) => format!("app:{app}"),
            (None, None) => format!("tenant:{}", self.tenant_id),
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Several extractors may ask; the token is verified once per request.
        if let Some(principal) = parts.extensions.get::<Self>() {
            return Ok(principal.clone());
        }
        let principal = state.authenticator.authenticate(&parts.headers).await?;
        remember(parts, &principal);
        Ok(principal)
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
pub struct Partner(pub Principal);

impl FromRequestParts<AppState> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        partner_only(principal).map(Self)
    }
}

/// The principal, if a partner's.
fn partner_only(principal: Principal) -> Result<Principal, ApiError> {
    if principal.tenant_kind != TenantKind::Partner {
        return Err(ApiError::Forbidden(
            "This operation is for partners; the token belongs to the operator tenant.",
        ));
    }
    Ok(principal)
}

/// A partner reading one of its customers' vetting history (`/v1/customers/{customer_id}/…`):
/// the caller is checked as by [`Partner`], and the history is read together with the caller's
/// status, in one read of the database (the hot path of polling clients). The customer is
/// `None` when it does not exist or is another partner's.
#[derive(Debug)]
pub struct PartnerCustomerHistory {
    /// The verified caller, a partner.
    pub caller: Principal,
    /// The customer of the path.
    pub customer: CustomerId,
    /// Its history, oldest first.
    pub history: Option<Vec<HistoryEntry>>,
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
            .authenticator
            .authenticate_reading_history(&parts.headers, customer)
            .await?;
        remember(parts, &principal);
        Ok(Self {
            caller: partner_only(principal)?,
            customer,
            history,
        })
    }
}

/// A partner's App+User token.
#[derive(Debug, Clone)]
pub struct PartnerUser(pub Principal);

impl FromRequestParts<AppState> for PartnerUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Partner(principal) = Partner::from_request_parts(parts, state).await?;
        if principal.user.is_none() {
            return Err(ApiError::Forbidden(
                "This operation requires an App+User token (scope user_impersonation); the token is App-only.",
            ));
        }
        Ok(Self(principal))
    }
}

/// A reviewer: an App+User token of a user with the reviewer role in the operator tenant.
#[derive(Debug, Clone)]
pub struct Reviewer {
    /// The verified caller.
    pub principal: Principal,
    /// The reviewer's sign-in name, recorded on decisions.
    pub username: String,
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        // The role was read from the database with the token's status, so revoking it, or
        // disabling the user, takes effect at once.
        let username = principal
            .user
            .as_ref()
            .and_then(|user| user.upn.clone())
            .filter(|_| {
                principal.tenant_kind == TenantKind::Operator
                    && principal.role == Some(UserRole::Reviewer)
            })
            .ok_or(ApiError::Forbidden(
                "This operation requires a reviewer of the operator tenant.",
            ))?;
        Ok(Self {
            principal,
            username,
        })
    }
}
