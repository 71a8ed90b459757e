//! What the server stores outlives it: data, signing keys, idempotency records; and a database
//! once used with `--dev` does not keep accepting the well-known credentials without it.

use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_restart_keeps_customers_requests_keys_and_idempotency_records() {
    for db in TestDatabase::every_backend("restart").await {
        let server = TestServer::start(&db).await;
        let partner = server.token(PARTNER_A, Grant::User).await;
        let customer = server
            .create_customer(&partner, "durable.onmicrosoft.com")
            .await;
        let path = format!("/v1/customers/{customer}/qualifications");
        let key = "d0d0d0d0-0000-4000-8000-000000000001";
        let body = json!({"qualification": "StateOwnedEntity"});
        let first = server
            .http
            .post(server.url(&path))
            .bearer_auth(&partner)
            .header("MS-RequestId", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first = first.text().await.unwrap();
        let before = server.qualifications(&partner, &customer).await;
        server.stop().await;

        // A new server process on the same database; its port differs, so its issuer does too:
        // a token is re-issued, but the signing key (its kid) is the same.
        let server = TestServer::start(&db).await;
        let again = server.token(PARTNER_A, Grant::User).await;
        assert_eq!(
            jsonwebtoken::decode_header(&again).unwrap().kid,
            jsonwebtoken::decode_header(&partner).unwrap().kid,
            "the signing key is persisted, not regenerated"
        );
        assert_eq!(server.qualifications(&again, &customer).await, before);
        let retry = server
            .http
            .post(server.url(&path))
            .bearer_auth(&again)
            .header("MS-RequestId", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(retry.status(), StatusCode::CREATED);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.text().await.unwrap(), first);
        server.stop().await;
    }
}

#[tokio::test]
async fn the_well_known_credentials_are_refused_without_dev_even_on_a_dev_database() {
    for db in TestDatabase::every_backend("dev refused").await {
        let public_url = "http://qualify.test";
        let dev = TestServer::start_with(&db, |s| {
            s.http.public_url = Some(public_url.parse().unwrap())
        })
        .await;
        let token = dev.token(PARTNER_A, Grant::User).await;
        dev.stop().await;

        let prod = TestServer::start_with(&db, |s| {
            s.dev = false;
            s.http.public_url = Some(public_url.parse().unwrap());
        })
        .await;
        for grant in [Grant::App, Grant::User] {
            let response = prod.token_response(PARTNER_A, grant).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_client");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("--dev"),
                "{body}"
            );
        }
        // A token issued while the server ran with --dev is refused too.
        let description = assert_error(
            prod.get("/v1/customers", &token).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;
        assert!(description.contains("--dev"), "{description}");
        prod.stop().await;
    }
}

#[tokio::test]
async fn a_server_without_dev_says_the_development_identities_need_it() {
    for db in TestDatabase::every_backend("dev hint").await {
        // A database no server with --dev has seen: the identities do not exist at all.
        let prod = TestServer::start_with(&db, |s| s.dev = false).await;
        let response = prod.token_response(PARTNER_A, Grant::App).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        let description = body["error_description"].as_str().unwrap();
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(
            description.starts_with("AADSTS700016:") && description.contains("qualify serve --dev"),
            "{body}"
        );
        // Any other unknown application gets Entra's words alone.
        let unknown = prod
            .http
            .post(prod.url(&format!("/{}/oauth2/v2.0/token", PARTNER_A.tenant_id)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "12345678-0000-4000-8000-000000000000"),
                ("client_secret", "whatever"),
                ("scope", "https://api.partnercenter.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = unknown.json().await.unwrap();
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with("AADSTS700016:") && !description.contains("--dev"),
            "{body}"
        );
        prod.stop().await;
    }
}
