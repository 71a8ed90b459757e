//! Signing in to the console and staying signed in: a session per sign-in, stored in the
//! database (by the hash of its id) so it survives restarts and works on every node; its id in
//! an `HttpOnly`, `SameSite=Lax` cookie (`Secure`, and `__Host-` named, over HTTPS); a new id at
//! every sign-in, so an id planted before it opens nothing; a CSRF token per session that every
//! form carries; and the token endpoint's lock-out after repeated failures.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use qualify_types::{TenantId, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::pages::{self, SignInPage};
use crate::clock::wall_now;
use crate::identity::{ReviewerRefused, check_reviewer, is_reviewer, random_secret, secret_hash};
use crate::{ApiError, AppState};

/// How long a session lasts from sign-in: a working day.
const SESSION_HOURS: i64 = 10;

/// A signed-in reviewer, from the request's session cookie.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// The operator tenant.
    pub(crate) tenant: TenantId,
    /// The reviewer's sign-in name, recorded on decisions.
    pub(crate) username: String,
    /// What this session's forms carry.
    pub(crate) csrf_token: String,
}

/// Why a page was not served to a signed-in reviewer.
#[derive(Debug)]
pub(crate) enum NotSignedIn {
    /// No session (or an expired one, or a user no longer a reviewer): to the sign-in page.
    SignIn,
    /// The server failed.
    Failed(ApiError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/console/sign-in").into_response(),
            Self::Failed(error) => error.into_response(),
        }
    }
}

/// The cookie names: a `__Host-` prefix over HTTPS binds a cookie to this origin only.
fn cookie_names(state: &AppState) -> (&'static str, &'static str) {
    if secure(state) {
        ("__Host-qualify-session", "__Host-qualify-sign-in")
    } else {
        ("qualify-session", "qualify-sign-in")
    }
}

/// Whether the console is reached over HTTPS (its public URL says so).
fn secure(state: &AppState) -> bool {
    state.public_base().starts_with("https://")
}

/// A cookie of the console's: `HttpOnly`, `SameSite=Lax`, path `/`, `Secure` over HTTPS. Its
/// removal carries the same attributes: a browser ignores a `__Host-` cookie without `Secure`,
/// even one that removes it.
fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .path("/")
        .build()
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let jar = CookieJar::from_headers(&parts.headers);
        let (session_cookie, _) = cookie_names(state);
        let Some(id) = jar.get(session_cookie).map(Cookie::value) else {
            return Err(NotSignedIn::SignIn);
        };
        let failed = |error: qualify_store::StoreError| NotSignedIn::Failed(error.into());
        let session = state
            .store
            .find_console_session(&secret_hash(id), wall_now())
            .await
            .map_err(failed)?
            .ok_or(NotSignedIn::SignIn)?;
        // The user and role are read on every page, so disabling a reviewer or taking the role
        // away ends their sessions at once.
        let user = state
            .store
            .find_user(session.user_id)
            .await
            .map_err(failed)?
            .ok_or(NotSignedIn::SignIn)?;
        let tenant = state
            .store
            .find_tenant(user.tenant_id)
            .await
            .map_err(failed)?;
        if !is_reviewer(&user, tenant.as_ref()) || (user.dev && !state.settings.dev) {
            return Err(NotSignedIn::SignIn);
        }
        Ok(Self {
            tenant: user.tenant_id,
            username: user.username,
            csrf_token: session.csrf_token,
        })
    }
}

impl SignedIn {
    /// Whether a form carries this session's CSRF token (one without it is refused with
    /// [`pages::refused_form`]).
    pub(crate) fn sent_csrf(&self, sent: &str) -> bool {
        same_secret(sent, &self.csrf_token)
    }
}

/// `GET /console/sign-in`: the form, with a fresh token for it in a cookie (so that another
/// site can't sign a browser in to an account of its choosing).
pub(crate) async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    sign_in_page(&state, jar, None, StatusCode::OK)
}

fn sign_in_page(
    state: &AppState,
    jar: CookieJar,
    problem: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let token =
        random_secret().ok_or_else(|| ApiError::internal("the OS random generator failed"))?;
    let (_, sign_in_cookie) = cookie_names(state);
    let jar = jar.add(cookie(state, sign_in_cookie, token.clone()));
    let page = pages::render(&SignInPage {
        csrf_token: &token,
        problem: problem.as_deref(),
    })?;
    Ok((status, jar, page).into_response())
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    username: String,
    password: String,
    csrf: String,
}

/// `POST /console/sign-in`.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let (session_cookie, sign_in_cookie) = cookie_names(&state);
    let expected = jar.get(sign_in_cookie).map(|c| c.value().to_owned());
    if !expected.is_some_and(|expected| same_secret(&form.csrf, &expected)) {
        return Ok(pages::refused_form());
    }
    // Counted under the name tried, as the token endpoint counts under the client id.
    let throttle_key = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("console:{}", form.username.trim().to_lowercase()).as_bytes(),
    )
    .to_string();
    if let Some(wait) = state.login_throttle.locked_for(&throttle_key) {
        let problem = format!(
            "Too many failed sign-ins for this name. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return sign_in_page(&state, jar, Some(problem), StatusCode::TOO_MANY_REQUESTS);
    }
    let user = match check_reviewer(
        &state.store,
        &form.username,
        &form.password,
        state.settings.dev,
    )
    .await
    {
        Ok(user) => user,
        Err(ReviewerRefused::Unavailable(error)) => return Err(error.into()),
        Err(refused) => {
            state.login_throttle.failed(&throttle_key);
            tracing::info!(reason = ?refused, "console sign-in refused");
            return sign_in_page(
                &state,
                jar,
                Some("That name and password do not sign in a reviewer.".into()),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    state.login_throttle.succeeded(&throttle_key);
    // A new id at every sign-in: whatever session cookie the browser held before is ended.
    if let Some(old) = jar.get(session_cookie) {
        state
            .store
            .delete_console_session(&secret_hash(old.value()))
            .await?;
    }
    let session_id =
        random_secret().ok_or_else(|| ApiError::internal("the OS random generator failed"))?;
    let csrf_token =
        random_secret().ok_or_else(|| ApiError::internal("the OS random generator failed"))?;
    let now = wall_now();
    let expires_at = Timestamp::from_unix_millis(now.unix_millis() + SESSION_HOURS * 3_600_000)
        .ok_or_else(|| ApiError::internal("the session's expiry is out of range"))?;
    state
        .store
        .insert_console_session(
            &secret_hash(&session_id),
            user.id,
            &csrf_token,
            now,
            expires_at,
        )
        .await?;
    tracing::info!(reviewer = %user.username, "console sign-in");
    let jar = jar
        .remove(cookie(&state, sign_in_cookie, String::new()))
        .add(cookie(&state, session_cookie, session_id));
    Ok((jar, Redirect::to("/console")).into_response())
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignOutForm {
    csrf: String,
}

/// `POST /console/sign-out`: ends the session.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    reviewer: SignedIn,
    jar: CookieJar,
    Form(form): Form<SignOutForm>,
) -> Result<Response, ApiError> {
    if !reviewer.sent_csrf(&form.csrf) {
        return Ok(pages::refused_form());
    }
    let (session_cookie, _) = cookie_names(&state);
    if let Some(current) = jar.get(session_cookie) {
        state
            .store
            .delete_console_session(&secret_hash(current.value()))
            .await?;
    }
    let jar = jar.remove(cookie(&state, session_cookie, String::new()));
    Ok((jar, Redirect::to("/console/sign-in")).into_response())
}
