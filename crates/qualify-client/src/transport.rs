//! One call to the service: the Partner Center headers, the bearer token, retries with the same
//! `MS-RequestId`, and turning the answer into a value or a [`ClientError`].

use std::time::Duration;

use qualify_types::{
    CONTRACT_VERSION_HEADER, CORRELATION_ID_HEADER, ErrorBody, OAuthErrorBody, REQUEST_ID_HEADER,
    ThrottleBody, TokenResponse,
};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::CachedToken;
use crate::retry::{retryable_status, retryable_transport};
use crate::{Client, ClientError, Credentials};

/// A request to make.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) headers: &'a [(&'static str, String)],
    /// Sent without a token (the one call that needs none: making a test partner).
    pub(crate) anonymous: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            headers: &[],
            anonymous: false,
        }
    }

    pub(crate) fn post(path: String, body: serde_json::Value) -> Self {
        Self::with(Method::POST, path, Some(body))
    }

    pub(crate) fn with(method: Method, path: String, body: Option<serde_json::Value>) -> Self {
        Self {
            method,
            path,
            body,
            headers: &[],
            anonymous: false,
        }
    }
}

fn snippet(text: &str) -> String {
    let mut shown: String = text.chars().take(300).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// The error a failed answer carries.
async fn failure(response: Response) -> ClientError {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    if let Ok(body) = serde_json::from_str::<ErrorBody>(&text) {
        return ClientError::Api {
            status,
            code: body.code,
            description: body.description,
            request_id,
        };
    }
    if let Ok(body) = serde_json::from_str::<OAuthErrorBody>(&text) {
        return ClientError::Auth {
            status,
            error: body.error,
            description: body.error_description,
        };
    }
    if status == 429 && serde_json::from_str::<ThrottleBody>(&text).is_ok() {
        return ClientError::Throttled { retry_after: None };
    }
    ClientError::UnexpectedResponse {
        status,
        snippet: snippet(&text),
    }
}

impl Client {
    /// A token for the next call: the cached one while fresh, else a new one.
    pub(crate) async fn bearer(&self) -> Result<String, ClientError> {
        let credentials = self.credentials.as_ref().ok_or_else(|| {
            ClientError::Config("no credentials: give a tenant with a client id and secret (and a user), or a token".into())
        })?;
        if let Credentials::Token(token) = credentials {
            return Ok(token.clone());
        }
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.access_token.clone());
        }
        if cached.is_none()
            && let Some((store, key)) = &self.store
            && let Some((token, expires_at)) = store.load(key)
        {
            let left = expires_at
                .duration_since(crate::auth::wall_now())
                .unwrap_or_default();
            let kept = CachedToken::new(token, left, None);
            if kept.is_fresh() {
                let token = kept.access_token.clone();
                *cached = Some(kept);
                return Ok(token);
            }
        }
        // Renew with the refresh token when there is one; sign in again when it is refused.
        let refreshed = match cached.as_ref().and_then(|t| t.refresh_token.clone()) {
            Some(refresh_token) => self.refresh(credentials, &refresh_token).await.ok(),
            None => None,
        };
        let response = match refreshed {
            Some(response) => response,
            None => self.request_token(credentials).await?,
        };
        let lifetime = Duration::from_secs(response.expires_in);
        let token = CachedToken::new(
            response.access_token.clone(),
            lifetime,
            response.refresh_token.clone(),
        );
        *cached = Some(token);
        if let Some((store, key)) = &self.store {
            store.save(
                key,
                &response.access_token,
                crate::auth::wall_now() + lifetime,
            );
        }
        Ok(response.access_token)
    }

    /// Forgets the cached token, after the service refused it (in the store too).
    pub(crate) async fn forget_token(&self) {
        *self.token.lock().await = None;
        if let Some((store, key)) = &self.store {
            store.forget(key);
        }
    }

    /// Exchanges a refresh token for a new access token (and a new refresh token).
    async fn refresh(
        &self,
        credentials: &Credentials,
        refresh_token: &str,
    ) -> Result<TokenResponse, ClientError> {
        let Credentials::User {
            tenant,
            client_id,
            client_secret,
            ..
        } = credentials
        else {
            return Err(ClientError::Config(
                "only a user's sign-in has refresh tokens".into(),
            ));
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("refresh_token", refresh_token),
        ];
        let url = self.url(&format!("/{tenant}/oauth2/v2.0/token"));
        let response = self
            .http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|error| ClientError::Transport {
                url: url.to_string(),
                source: error.without_url(),
            })?;
        if response.status().is_success() {
            decode(response).await
        } else {
            Err(failure(response).await)
        }
    }

    /// Asks the token endpoint.
    pub(crate) async fn request_token(
        &self,
        credentials: &Credentials,
    ) -> Result<TokenResponse, ClientError> {
        let tenant = credentials
            .tenant()
            .ok_or_else(|| ClientError::Config("a fixed token can't be renewed".into()))?;
        let path = format!("/{tenant}/oauth2/v2.0/token");
        let form = credentials.form();
        let mut attempt = 0;
        loop {
            let url = self.url(&path);
            let sent = self.http.post(url.clone()).form(&form).send().await;
            match sent {
                Err(error)
                    if retryable_transport(&error) && attempt + 1 < self.retry.max_attempts => {}
                Err(source) => {
                    return Err(ClientError::Transport {
                        url: url.to_string(),
                        source,
                    });
                }
                Ok(response) if response.status().is_success() => return decode(response).await,
                Ok(response)
                    if retryable_status(response.status())
                        && attempt + 1 < self.retry.max_attempts => {}
                Ok(response) => return Err(failure(response).await),
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// Makes `call`, retrying what is worth retrying with the same `MS-RequestId`.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<T, ClientError> {
        let request_id = Uuid::new_v4().to_string();
        let correlation_id = self
            .correlation_id
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let url = self.url(&call.path);
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(call.method.clone(), url.clone());
            if !call.anonymous {
                request = request.bearer_auth(self.bearer().await?);
            }
            let mut request = request
                .header(REQUEST_ID_HEADER, &request_id)
                .header(CORRELATION_ID_HEADER, &correlation_id)
                .header(CONTRACT_VERSION_HEADER, "v1")
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in call.headers {
                request = request.header(*name, value);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let last_try = attempt + 1 >= self.retry.max_attempts;
            let wait = match request.send().await {
                Err(error) if retryable_transport(&error) && !last_try => {
                    self.retry.backoff(attempt)
                }
                Err(source) => {
                    return Err(ClientError::Transport {
                        url: url.to_string(),
                        source,
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return decode(response).await;
                    }
                    if status == StatusCode::UNAUTHORIZED
                        && !call.anonymous
                        && !refreshed
                        && self
                            .credentials
                            .as_ref()
                            .is_some_and(|c| c.tenant().is_some())
                    {
                        // The token may have been rotated away or revoked: one fresh token, once.
                        refreshed = true;
                        self.forget_token().await;
                        continue;
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        match self.retry.throttled(attempt, response.headers()) {
                            Some(wait) if !last_try => wait,
                            _ => {
                                return Err(ClientError::Throttled {
                                    retry_after: crate::retry::retry_after(response.headers()),
                                });
                            }
                        }
                    } else if retryable_status(status) && !last_try {
                        self.retry.backoff(attempt)
                    } else {
                        return Err(failure(response).await);
                    }
                }
            };
            tracing::debug!(attempt, ?wait, %request_id, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| ClientError::Transport {
            url: String::new(),
            source,
        })?;
    // No content (204) reads as JSON's null: `()`, `None`.
    let json: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    serde_json::from_slice(json).map_err(|source| ClientError::Decode { status, source })
}
