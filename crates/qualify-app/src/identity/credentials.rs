//! Checking the credentials a token request presents: the application's client id and secret,
//! and for the password grant the user's name and password. Secrets are compared against slow
//! hashes on the blocking pool, so a burst of token requests can't stall the API.

use qualify_store::{AppRecord, Store, UserRecord};
use uuid::Uuid;

use super::Authority;
use super::OAuthError;
use super::passwords::verify_secret;

/// Verifies `secret` against `hash` without blocking the async runtime.
async fn verify_off_thread(secret: &str, hash: &str) -> bool {
    let (secret, hash) = (secret.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
        .await
        .unwrap_or(false)
}

fn store_failure(error: qualify_store::StoreError) -> OAuthError {
    tracing::error!(error = %error, "token request: store failure");
    OAuthError::temporarily_unavailable()
}

/// The application `client_id` of the tenant `authority` names (any, for a multi-tenant
/// authority), if `secret` is its secret and it may sign in.
pub(crate) async fn check_client(
    store: &Store,
    authority: Authority,
    client_id: &str,
    secret: &str,
    dev_mode: bool,
) -> Result<AppRecord, OAuthError> {
    let shown: String = client_id.chars().take(64).collect();
    // The first thing a newcomer tries against a server started without --dev: say why it fails.
    let hint = if !dev_mode
        && qualify_types::dev::ALL
            .iter()
            .any(|identity| identity.client_id == client_id.trim())
    {
        " This is a well-known development identity: it exists only on a server started with --dev (qualify serve --dev)."
    } else {
        ""
    };
    let not_found = || {
        OAuthError::invalid_client(format!(
            "AADSTS700016: Application with identifier '{shown}' was not found in the directory '{authority}'.{hint}"
        ))
    };
    let Ok(client_uuid) = Uuid::try_parse(client_id.trim()) else {
        return Err(not_found());
    };
    let app = store
        .find_app(client_uuid)
        .await
        .map_err(store_failure)?
        .ok_or_else(not_found)?;
    if authority
        .tenant()
        .is_some_and(|tenant| tenant != app.tenant_id)
    {
        return Err(not_found());
    }
    if app.dev && !dev_mode {
        return Err(OAuthError::invalid_client(
            "AADSTS7000112: This is a well-known development credential; it is refused because the server is not running with --dev.",
        ));
    }
    let tenant_record = store
        .find_tenant(app.tenant_id)
        .await
        .map_err(store_failure)?;
    if app.disabled || tenant_record.is_none_or(|t| t.disabled) {
        return Err(OAuthError::invalid_client(
            "AADSTS7000112: Application is disabled.",
        ));
    }
    if !verify_off_thread(secret, &app.secret_hash).await {
        return Err(OAuthError::invalid_client(format!(
            "AADSTS7000215: Invalid client secret provided for application '{shown}'."
        )));
    }
    Ok(app)
}

/// The user `username` of the application's tenant, if `password` is theirs.
pub(crate) async fn check_user(
    store: &Store,
    app: &AppRecord,
    username: &str,
    password: &str,
    dev_mode: bool,
) -> Result<UserRecord, OAuthError> {
    let invalid = || {
        OAuthError::invalid_grant(
            "AADSTS50126: Error validating credentials due to invalid username or password.",
        )
    };
    let user = store
        .find_user_by_name(username.trim())
        .await
        .map_err(store_failure)?
        .ok_or_else(invalid)?;
    if user.tenant_id != app.tenant_id || (user.dev && !dev_mode) {
        return Err(invalid());
    }
    if !verify_off_thread(password, &user.password_hash).await {
        return Err(invalid());
    }
    if user.disabled {
        return Err(OAuthError::invalid_grant(
            "AADSTS50057: The user account is disabled.",
        ));
    }
    Ok(user)
}

/// Why a reviewer's sign-in to the console was refused. The console shows every one the same
/// way, so it tells a guesser nothing; the variants are for the log.
#[derive(Debug)]
pub(crate) enum ReviewerRefused {
    /// No such user, or not this password.
    BadCredentials,
    /// A user, but not a reviewer of an enabled operator tenant (or a disabled one).
    NotAReviewer,
    /// The database could not be read.
    Unavailable(qualify_store::StoreError),
}

/// The reviewer `username`, if `password` is theirs: the token endpoint's users and password
/// check, for the console's sign-in.
pub(crate) async fn check_reviewer(
    store: &Store,
    username: &str,
    password: &str,
    dev_mode: bool,
) -> Result<UserRecord, ReviewerRefused> {
    let unavailable = ReviewerRefused::Unavailable;
    let user = store
        .find_user_by_name(username.trim())
        .await
        .map_err(unavailable)?
        .ok_or(ReviewerRefused::BadCredentials)?;
    if (user.dev && !dev_mode) || !verify_off_thread(password, &user.password_hash).await {
        return Err(ReviewerRefused::BadCredentials);
    }
    let tenant = store
        .find_tenant(user.tenant_id)
        .await
        .map_err(unavailable)?;
    if is_reviewer(&user, tenant.as_ref()) {
        Ok(user)
    } else {
        Err(ReviewerRefused::NotAReviewer)
    }
}

/// Whether `user` of `tenant` may review: an enabled reviewer of an enabled operator tenant.
pub(crate) fn is_reviewer(user: &UserRecord, tenant: Option<&qualify_store::TenantRecord>) -> bool {
    !user.disabled
        && user.role == qualify_store::UserRole::Reviewer
        && tenant.is_some_and(|t| t.kind == qualify_store::TenantKind::Operator && !t.disabled)
}
