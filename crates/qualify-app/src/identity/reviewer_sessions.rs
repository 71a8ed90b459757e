//! The reviewers' console sessions: a reviewer signs in with the token endpoint's users and
//! passwords (through its throttle on guessing), gets a session stored in the database by the
//! hash of its id (so it survives restarts and works on every node) with a CSRF token, and every
//! page reads the reviewer's role again, so disabling a reviewer ends their sessions at once.
//! The cookies that carry a session are the console's business (`qualify-server`).

use qualify_store::{StoreError, Tx};
use qualify_types::{TenantId, Timestamp};

use super::credentials::{ReviewerRefused, check_reviewer, is_reviewer};
use super::{Identity, random_secret, secret_hash};

/// How long a session lasts from sign-in: a working day.
const SESSION_HOURS: i64 = 10;

/// A session made at sign-in: its id (for the cookie) and the token its forms carry.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session's id; only its hash is stored.
    pub id: String,
    /// What the session's forms carry.
    pub csrf_token: String,
    /// Who signed in.
    pub username: String,
}

/// A reviewer signed in to a session.
#[derive(Debug, Clone)]
pub struct SessionReviewer {
    /// The operator tenant.
    pub tenant: TenantId,
    /// The reviewer's sign-in name, recorded on decisions.
    pub username: String,
    /// What this session's forms carry.
    pub csrf_token: String,
}

/// Why a sign-in made no session.
#[derive(Debug, thiserror::Error)]
pub enum SignInRefused {
    /// Too many failures for this name: try again after this long.
    #[error("too many failed sign-ins for this name")]
    Locked(std::time::Duration),
    /// Not a reviewer's name and password (which one, the guesser is not told).
    #[error("that name and password do not sign in a reviewer")]
    BadCredentials,
    /// The operating system's random generator failed, or a date went out of range.
    #[error("{0}")]
    Internal(&'static str),
    /// The database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Identity {
    /// Signs `username` in to the console with `password`, ending the session `replacing` (the
    /// one the browser held, if any: a new id at every sign-in, so an id planted before it
    /// opens nothing). Failures count toward a lock-out of the name tried from `source` (the
    /// browser's address), as the token endpoint counts them under the client id and source.
    pub async fn sign_in_reviewer(
        &self,
        (username, password): (&str, &str),
        replacing: Option<&str>,
        source: Option<std::net::IpAddr>,
    ) -> Result<NewSession, SignInRefused> {
        let throttle_key = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("console:{}", username.trim().to_lowercase()).as_bytes(),
        )
        .to_string();
        if let Some(wait) = self.login_throttle.locked_for(&throttle_key, source) {
            return Err(SignInRefused::Locked(wait));
        }
        let user = match check_reviewer(&self.store, username, password, self.dev).await {
            Ok(user) => user,
            Err(ReviewerRefused::Unavailable(error)) => return Err(error.into()),
            Err(refused) => {
                self.login_throttle.failed(&throttle_key, source);
                tracing::info!(reason = ?refused, "console sign-in refused");
                return Err(SignInRefused::BadCredentials);
            }
        };
        self.login_throttle.succeeded(&throttle_key, source);
        if let Some(old) = replacing {
            self.store
                .transaction(async |tx: &mut Tx| tx.delete_console_session(&secret_hash(old)).await)
                .await?;
        }
        let random =
            || random_secret().ok_or(SignInRefused::Internal("the OS random generator failed"));
        let (id, csrf_token) = (random()?, random()?);
        let now = crate::clock::wall_now();
        let expires_at = Timestamp::from_unix_millis(now.unix_millis() + SESSION_HOURS * 3_600_000)
            .ok_or(SignInRefused::Internal(
                "the session's expiry is out of range",
            ))?;
        self.store
            .transaction(async |tx: &mut Tx| {
                tx.insert_console_session(&secret_hash(&id), user.id, &csrf_token, now, expires_at)
                    .await
            })
            .await?;
        tracing::info!(reviewer = %user.username, "console sign-in");
        Ok(NewSession {
            id,
            csrf_token,
            username: user.username,
        })
    }

    /// The reviewer of the session `id`, if it is current and its user still a reviewer.
    pub async fn session_reviewer(&self, id: &str) -> Result<Option<SessionReviewer>, StoreError> {
        let Some(session) = self
            .store
            .find_console_session(&secret_hash(id), crate::clock::wall_now())
            .await?
        else {
            return Ok(None);
        };
        let Some(user) = self.store.find_user(session.user_id).await? else {
            return Ok(None);
        };
        let tenant = self.store.find_tenant(user.tenant_id).await?;
        if !is_reviewer(&user, tenant.as_ref()) || (user.dev && !self.dev) {
            return Ok(None);
        }
        Ok(Some(SessionReviewer {
            tenant: user.tenant_id,
            username: user.username,
            csrf_token: session.csrf_token,
        }))
    }

    /// Ends the session `id`.
    pub async fn sign_out_reviewer(&self, id: &str) -> Result<(), StoreError> {
        self.store
            .transaction(async |tx: &mut Tx| tx.delete_console_session(&secret_hash(id)).await)
            .await
    }
}
