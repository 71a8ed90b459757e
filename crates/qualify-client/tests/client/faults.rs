//! Retries, throttling and token renewal, against a scripted server that fails on purpose: the
//! failures a network and a loaded service produce, which a healthy Qualify never does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use qualify_client::{Client, ClientError, Credentials, RetryPolicy};
use qualify_types::{Qualification, QualificationSubmission};
use tokio::net::TcpListener;

/// What the scripted server saw and will answer.
#[derive(Default)]
struct Script {
    /// Answers to the next submissions, in order; 201 when exhausted.
    answers: VecDeque<(StatusCode, Vec<(&'static str, &'static str)>)>,
    /// Each submission's arrival time, MS-RequestId and bearer token.
    seen: Vec<(Instant, String, String)>,
    /// Tokens issued so far.
    tokens: usize,
    /// Lifetime of the tokens issued.
    token_lifetime: u64,
}

type Shared = Arc<Mutex<Script>>;

async fn token(State(script): State<Shared>) -> Response {
    let mut script = script.lock().unwrap();
    script.tokens += 1;
    let body = serde_json::json!({
        "token_type": "Bearer",
        "expires_in": script.token_lifetime,
        "access_token": format!("token-{}", script.tokens),
    });
    axum::Json(body).into_response()
}

async fn submit(State(script): State<Shared>, headers: HeaderMap) -> Response {
    let mut script = script.lock().unwrap();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    script.seen.push((
        Instant::now(),
        header("ms-requestid"),
        header("authorization"),
    ));
    let (status, extra) = script
        .answers
        .pop_front()
        .unwrap_or((StatusCode::CREATED, Vec::new()));
    let body = if status == StatusCode::CREATED {
        serde_json::json!({"qualification": "StateOwnedEntity", "vettingStatus": "InReview", "vettingCreateDate": "2020-12-04T20:54:24.000Z"})
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        serde_json::json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."})
    } else {
        serde_json::json!({"code": 800_003, "description": "scripted failure", "data": [], "source": "PartnerFD"})
    };
    let mut response = (status, axum::Json(body)).into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

async fn scripted(script: Script) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(script));
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1/customers/{id}/qualifications", post(submit))
        .with_state(Arc::clone(&shared));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, shared)
}

fn client(base: &str) -> Client {
    Client::builder(base)
        .unwrap()
        .credentials(Credentials::dev_user(qualify_types::dev::PARTNER_A))
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

fn soe() -> QualificationSubmission {
    QualificationSubmission::new(Qualification::StateOwnedEntity)
}

fn customer() -> qualify_types::CustomerId {
    qualify_types::CustomerId::random()
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_request_id() {
    let script = Script {
        answers: [
            (StatusCode::SERVICE_UNAVAILABLE, vec![]),
            (StatusCode::BAD_GATEWAY, vec![]),
        ]
        .into(),
        token_lifetime: 3600,
        ..Default::default()
    };
    let (base, seen) = scripted(script).await;
    client(&base)
        .submit_qualification(customer(), &soe())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.seen.len(), 3, "two failures, then success");
    let ids: Vec<&str> = seen.seen.iter().map(|(_, id, _)| id.as_str()).collect();
    assert!(uuid::Uuid::try_parse(ids[0]).is_ok());
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every retry reuses the MS-RequestId: {ids:?}"
    );
    assert_eq!(seen.tokens, 1, "the token is cached across retries");
}

#[tokio::test]
async fn throttling_is_retried_after_the_servers_retry_after() {
    let script = Script {
        answers: [(StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "1")])].into(),
        token_lifetime: 3600,
        ..Default::default()
    };
    let (base, seen) = scripted(script).await;
    client(&base)
        .submit_qualification(customer(), &soe())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.seen.len(), 2);
    let waited = seen.seen[1].0 - seen.seen[0].0;
    assert!(
        waited >= Duration::from_secs(1),
        "waited {waited:?}, the server asked for 1 s"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let script = Script {
        answers: [(StatusCode::CONFLICT, vec![])].into(),
        token_lifetime: 3600,
        ..Default::default()
    };
    let (base, seen) = scripted(script).await;
    let error = client(&base)
        .submit_qualification(customer(), &soe())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(409));
    assert_eq!(seen.lock().unwrap().seen.len(), 1);
}

#[tokio::test]
async fn retries_end_with_the_last_error() {
    let failure = (StatusCode::SERVICE_UNAVAILABLE, vec![]);
    let script = Script {
        answers: vec![failure; 10].into(),
        token_lifetime: 3600,
        ..Default::default()
    };
    let (base, seen) = scripted(script).await;
    let error = client(&base)
        .submit_qualification(customer(), &soe())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Api { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(seen.lock().unwrap().seen.len(), 4, "max_attempts");
}

#[tokio::test]
async fn tokens_are_cached_while_fresh_and_renewed_before_they_expire() {
    // Long-lived tokens: one for many calls.
    let (base, seen) = scripted(Script {
        token_lifetime: 3600,
        ..Default::default()
    })
    .await;
    let client_a = client(&base);
    for _ in 0..3 {
        client_a
            .submit_qualification(customer(), &soe())
            .await
            .unwrap();
    }
    assert_eq!(seen.lock().unwrap().tokens, 1);

    // Tokens too close to expiry to send: renewed for every call.
    let (base, seen) = scripted(Script {
        token_lifetime: 30,
        ..Default::default()
    })
    .await;
    let client_b = client(&base);
    for _ in 0..3 {
        client_b
            .submit_qualification(customer(), &soe())
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.tokens, 3);
    let sent: Vec<&str> = seen.seen.iter().map(|(_, _, auth)| auth.as_str()).collect();
    assert_eq!(sent, ["Bearer token-1", "Bearer token-2", "Bearer token-3"]);
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let script = Script {
        answers: [(StatusCode::UNAUTHORIZED, vec![])].into(),
        token_lifetime: 3600,
        ..Default::default()
    };
    let (base, seen) = scripted(script).await;
    client(&base)
        .submit_qualification(customer(), &soe())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.tokens, 2, "a new token after the 401");
    assert_eq!(seen.seen[1].2, "Bearer token-2");
}
