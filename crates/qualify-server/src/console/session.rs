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
use qualify_types::TenantId;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use qualify_app::identity::{SignInRefused, random_secret};

use super::pages::{self, SignInPage};
use crate::error::ApiError;
use crate::http::client_address::ClientAddress;
use crate::state::AppState;

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
    // Every secret this server makes is long; an empty one (a cookie emptied by whoever sends
    // the form, and an empty field to match) matches nothing.
    !b.is_empty() && Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let jar = CookieJar::from_headers(&parts.headers);
        let (session_cookie, _) = cookie_names(state);
        let Some(id) = jar.get(session_cookie).map(Cookie::value) else {
            return Err(NotSignedIn::SignIn);
        };
        let reviewer = state
            .app
            .identity()
            .session_reviewer(id)
            .await
            .map_err(|error| NotSignedIn::Failed(error.into()))?
            .ok_or(NotSignedIn::SignIn)?;
        Ok(Self {
            tenant: reviewer.tenant,
            username: reviewer.username,
            csrf_token: reviewer.csrf_token,
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
    sign_in_page(&state, jar, ("", None), StatusCode::OK)
}

/// The sign-in form, with the name last tried and what went wrong with it.
fn sign_in_page(
    state: &AppState,
    jar: CookieJar,
    (username, problem): (&str, Option<String>),
    status: StatusCode,
) -> Result<Response, ApiError> {
    let token =
        random_secret().ok_or_else(|| ApiError::internal("the OS random generator failed"))?;
    let (_, sign_in_cookie) = cookie_names(state);
    let jar = jar.add(cookie(state, sign_in_cookie, token.clone()));
    let page = pages::render(&SignInPage {
        csrf_token: &token,
        username,
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
    ClientAddress(source): ClientAddress,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let (session_cookie, sign_in_cookie) = cookie_names(&state);
    let expected = jar.get(sign_in_cookie).map(|c| c.value().to_owned());
    if !expected.is_some_and(|expected| same_secret(&form.csrf, &expected)) {
        return Ok(pages::refused_form());
    }
    let replacing = jar.get(session_cookie).map(|old| old.value().to_owned());
    let session = match state
        .app
        .identity()
        .sign_in_reviewer(
            (&form.username, &form.password),
            replacing.as_deref(),
            source,
        )
        .await
    {
        Ok(session) => session,
        Err(SignInRefused::Locked(wait)) => {
            let problem = format!(
                "Too many failed sign-ins for this name. Try again in {} seconds.",
                wait.as_secs().max(1)
            );
            let shown = (form.username.as_str(), Some(problem));
            return sign_in_page(&state, jar, shown, StatusCode::TOO_MANY_REQUESTS);
        }
        Err(SignInRefused::BadCredentials) => {
            let problem = "That name and password do not sign in a reviewer.";
            let shown = (form.username.as_str(), Some(problem.to_owned()));
            return sign_in_page(&state, jar, shown, StatusCode::UNAUTHORIZED);
        }
        Err(SignInRefused::Store(error)) => return Err(error.into()),
        Err(SignInRefused::Internal(why)) => return Err(ApiError::internal(why)),
    };
    let session_id = session.id;
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
            .app
            .identity()
            .sign_out_reviewer(current.value())
            .await?;
    }
    let jar = jar.remove(cookie(&state, session_cookie, String::new()));
    Ok((jar, Redirect::to("/console/sign-in")).into_response())
}
