//! Who is calling, once their token is verified, and what they may do: act for a partner (with
//! any token, or only with an App+User token), or review for the operator.

use qualify_store::{TenantKind, UserRole};
use qualify_types::TenantId;

use super::AuthError;

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

    /// The caller, if a partner's (App-only or App+User).
    pub fn partner(self) -> Result<Self, AuthError> {
        if self.tenant_kind != TenantKind::Partner {
            return Err(AuthError::Forbidden(
                "This operation is for partners; the token belongs to the operator tenant.",
            ));
        }
        Ok(self)
    }

    /// The caller, if a partner's user (an App+User token).
    pub fn partner_user(self) -> Result<Self, AuthError> {
        let partner = self.partner()?;
        if partner.user.is_none() {
            return Err(AuthError::Forbidden(
                "This operation requires an App+User token (scope user_impersonation); the token is App-only.",
            ));
        }
        Ok(partner)
    }

    /// The reviewer's sign-in name, if the caller is a reviewer of the operator tenant. The
    /// role was read from the database with the token's status, so revoking it, or disabling
    /// the user, takes effect at once.
    pub fn reviewer(&self) -> Result<String, AuthError> {
        self.user
            .as_ref()
            .and_then(|user| user.upn.clone())
            .filter(|_| {
                self.tenant_kind == TenantKind::Operator && self.role == Some(UserRole::Reviewer)
            })
            .ok_or(AuthError::Forbidden(
                "This operation requires a reviewer of the operator tenant.",
            ))
    }
}
