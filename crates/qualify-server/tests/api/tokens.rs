//! The built-in token issuer, and the checks every API call makes on its bearer token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn issued_tokens_verify_against_the_published_keys_and_carry_entras_claims() {
    for db in TestDatabase::every_backend("token claims").await {
        let server = TestServer::start(&db).await;
        let discovery: Value = server
            .get_json(&format!(
                "/{}/v2.0/.well-known/openid-configuration",
                PARTNER_A.tenant_id
            ))
            .await;
        let issuer = discovery["issuer"].as_str().unwrap().to_owned();
        assert_eq!(
            issuer,
            format!("{}/{}/v2.0", server.public_url, PARTNER_A.tenant_id)
        );
        let jwks: JwkSet = server
            .http
            .get(discovery["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        let response = server.token_response(PARTNER_A, Grant::User).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let token = body["access_token"].as_str().unwrap();

        let header = decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let jwk = jwks
            .find(header.kid.as_deref().unwrap())
            .expect("the token's key is published");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["https://api.partnercenter.microsoft.com"]);
        validation.set_issuer(&[&issuer]);
        let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["tid"], PARTNER_A.tenant_id);
        assert_eq!(claims["appid"], PARTNER_A.client_id);
        assert_eq!(claims["scp"], "user_impersonation");
        assert_eq!(claims["upn"], PARTNER_A.username);
        assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
        for claim in ["oid", "iat", "nbf", "exp"] {
            assert!(!claims[claim].is_null(), "{claim}");
        }

        let app = server.token(PARTNER_A, Grant::App).await;
        let claims = decode::<Value>(&app, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
        assert!(claims.get("scp").is_none(), "App-only tokens have no scp");
        assert!(claims.get("upn").is_none());
        server.stop().await;
    }
}

#[tokio::test]
async fn token_endpoint_failures_are_oauth_errors() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let endpoint = server.url(&format!("/{}/oauth2/v2.0/token", PARTNER_A.tenant_id));
    let scope = "https://api.partnercenter.microsoft.com/.default";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", "wrong"),
                ("scope", scope),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", PARTNER_B.client_id),
                ("client_secret", PARTNER_B.client_secret),
                ("scope", scope),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("scope", scope),
                ("username", PARTNER_A.username),
                ("password", "wrong"),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("scope", scope),
                ("username", PARTNER_B.username),
                ("password", PARTNER_B.password),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("scope", scope),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("client_id", PARTNER_A.client_id),
                ("client_secret", PARTNER_A.client_secret),
                ("scope", scope),
            ],
            "invalid_request",
        ),
    ];
    for (form, error) in cases {
        let response = server
            .http
            .post(&endpoint)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{error}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS"),
            "{body}"
        );
    }
    let response = server
        .http
        .post(server.url("/not-a-tenant/oauth2/v2.0/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // HTTP Basic client authentication works, and its failure is a 401.
    let basic = server
        .http
        .post(&endpoint)
        .basic_auth(PARTNER_A.client_id, Some(PARTNER_A.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let failed = server
        .http
        .post(&endpoint)
        .basic_auth(PARTNER_A.client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

/// A token signed with the server's key (so only the claim under test is wrong).
async fn forged(db: &TestDatabase, server: &TestServer, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims_for(server, PARTNER_A);
    change(&mut claims);
    sign_with_server_key(db, &claims).await
}

#[tokio::test]
async fn tokens_are_checked_for_signature_algorithm_issuer_audience_and_lifetime() {
    for db in TestDatabase::every_backend("token checks").await {
        let server = TestServer::start(&db).await;
        let path = "/v1/customers";
        let valid = forged(&db, &server, |_| {}).await;
        assert_eq!(
            server.get(path, &valid).await.status(),
            StatusCode::OK,
            "the baseline token is accepted"
        );

        let now = claims_for(&server, PARTNER_A)["iat"].as_i64().unwrap();
        let cases = [
            (
                "expired",
                forged(&db, &server, |c| c["exp"] = json!(now - 3600)).await,
            ),
            (
                "not yet valid",
                forged(&db, &server, |c| c["nbf"] = json!(now + 3600)).await,
            ),
            (
                "wrong audience",
                forged(&db, &server, |c| {
                    c["aud"] = json!("https://graph.microsoft.com")
                })
                .await,
            ),
            (
                "wrong issuer",
                forged(&db, &server, |c| {
                    c["iss"] = json!("https://login.microsoftonline.com/x/v2.0")
                })
                .await,
            ),
            (
                "another tenant's application",
                forged(&db, &server, |c| {
                    c["appid"] = json!(PARTNER_B.client_id);
                    c["sub"] = json!(PARTNER_B.client_id);
                })
                .await,
            ),
            (
                "unknown tenant",
                forged(&db, &server, |c| {
                    let tid = "0a1b2c3d-0000-4000-8000-00000000000f";
                    c["tid"] = json!(tid);
                    c["iss"] = json!(format!("{}/{tid}/v2.0", server.public_url));
                })
                .await,
            ),
        ];
        for (what, token) in cases {
            let response = server.get(path, &token).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
            assert_error(response, StatusCode::UNAUTHORIZED, 400).await;
        }

        // A tampered payload: same signature, different claims.
        let parts: Vec<&str> = valid.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["tid"] = json!(PARTNER_B.tenant_id);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert_error(
            server.get(path, &tampered).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;

        // alg none.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_error(
            server.get(path, &unsigned).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;

        // HS256 with the public key as the secret.
        let jwks: Value = server.get_json("/discovery/v2.0/keys").await;
        let public = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = jwks["keys"][0]["kid"].as_str().map(str::to_owned);
        let hs256 = jsonwebtoken::encode(
            &header,
            &claims_for(&server, PARTNER_A),
            &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap();
        assert_error(
            server.get(path, &hs256).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;

        // An unknown key id.
        let mut header = decode_header(&valid).unwrap();
        header.kid = Some("not-a-key".into());
        let header_json = serde_json::to_string(&header).unwrap();
        let unknown_kid = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            parts[1],
            parts[2]
        );
        assert_error(
            server.get(path, &unknown_kid).await,
            StatusCode::UNAUTHORIZED,
            400,
        )
        .await;
        server.stop().await;
    }
}

/// POSTs `form` to the token endpoint of `authority` (a tenant id, `organizations`, `common`).
async fn token_request(
    server: &TestServer,
    authority: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    server
        .http
        .post(server.url(&format!("/{authority}/oauth2/v2.0/token")))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The same, its answer read as JSON.
async fn token_json(server: &TestServer, authority: &str, form: &[(&str, &str)]) -> Value {
    token_request(server, authority, form)
        .await
        .json()
        .await
        .unwrap()
}

/// What MSAL asks for in a delegated grant: the API's scope and OpenID's.
const MSAL_USER_SCOPE: &str =
    "https://api.partnercenter.microsoft.com/user_impersonation offline_access openid profile";

/// Partner A's application's credentials, as a token request's form carries them.
const APP_A: [(&str, &str); 2] = [
    ("client_id", PARTNER_A.client_id),
    ("client_secret", PARTNER_A.client_secret),
];

/// A password sign-in as MSAL sends it: OpenID scopes and `client_info=1` beside the API's.
async fn msal_password_sign_in(server: &TestServer) -> Value {
    let form = [
        APP_A.as_slice(),
        &[
            ("grant_type", "password"),
            ("client_info", "1"),
            ("username", PARTNER_A.username),
            ("password", PARTNER_A.password),
            ("scope", MSAL_USER_SCOPE),
        ],
    ]
    .concat();
    token_json(server, PARTNER_A.tenant_id, &form).await
}

/// The ID token's claims, its signature checked against the published keys, its audience the
/// application and its issuer the access token's.
async fn verified_id_token(server: &TestServer, body: &Value) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(server.get_json("/discovery/v2.0/keys").await).unwrap();
    let id_token = body["id_token"].as_str().expect("an ID token");
    let header = decode_header(id_token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let access = claims_of(body["access_token"].as_str().unwrap());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[PARTNER_A.client_id]);
    validation.set_issuer(&[access["iss"].as_str().unwrap()]);
    decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn a_delegated_sign_in_asking_for_openid_gets_an_id_token_and_client_info_as_from_entra() {
    for db in TestDatabase::every_backend("id token").await {
        let server = TestServer::start(&db).await;
        let body = msal_password_sign_in(&server).await;
        // The OpenID scopes asked for are echoed; offline_access is granted with a refresh token.
        let scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
        for granted in [
            "https://api.partnercenter.microsoft.com/user_impersonation",
            "openid",
            "profile",
        ] {
            assert!(scope.contains(&granted), "{granted} in {body}");
        }
        assert!(body["refresh_token"].is_string(), "{body}");

        let id = verified_id_token(&server, &body).await;
        let access = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(id["tid"], PARTNER_A.tenant_id);
        assert_eq!(id["oid"], access["oid"]);
        assert_eq!(id["sub"], access["oid"]);
        assert_eq!(id["preferred_username"], PARTNER_A.username);
        assert_eq!(id["name"], PARTNER_A.username);
        assert_eq!(id["ver"], "2.0");
        for claim in ["iat", "nbf", "exp", "uti"] {
            assert!(!id[claim].is_null(), "{claim}");
        }

        // client_info: unpadded base64url of the user's and the tenant's ids (MSAL's account).
        let client_info = body["client_info"].as_str().expect("client_info");
        assert!(!client_info.contains('='), "{client_info}");
        let info: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(client_info).unwrap()).unwrap();
        assert_eq!(
            info,
            json!({ "uid": access["oid"], "utid": PARTNER_A.tenant_id })
        );

        // Silent renewal, as MSAL sends it: the refresh grant gets them again.
        let refresh = [
            APP_A.as_slice(),
            &[
                ("grant_type", "refresh_token"),
                ("client_info", "1"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("scope", MSAL_USER_SCOPE),
                (
                    "claims",
                    r#"{"id_token":{"signin_state":{"essential":false}}}"#,
                ),
            ],
        ]
        .concat();
        let renewed = token_json(&server, PARTNER_A.tenant_id, &refresh).await;
        assert_eq!(
            verified_id_token(&server, &renewed).await["oid"],
            access["oid"]
        );
        assert_eq!(renewed["client_info"], body["client_info"], "{renewed}");
        assert!(renewed["refresh_token"].is_string(), "{renewed}");
        server.stop().await;
    }
}

#[tokio::test]
async fn no_id_token_unless_asked_for_and_never_for_an_application_alone() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let user = "https://api.partnercenter.microsoft.com/user_impersonation";
    // A delegated grant without openid or client_info=1: neither.
    let password = [
        APP_A.as_slice(),
        &[
            ("grant_type", "password"),
            ("username", PARTNER_A.username),
            ("password", PARTNER_A.password),
            ("scope", user),
        ],
    ]
    .concat();
    let plain = token_json(&server, PARTNER_A.tenant_id, &password).await;
    assert!(plain["access_token"].is_string(), "{plain}");
    assert!(
        plain.get("id_token").is_none() && plain.get("client_info").is_none(),
        "{plain}"
    );
    assert_eq!(plain["scope"], user);
    // An application alone has no user to name, whatever it asks for.
    let app_only = [
        APP_A.as_slice(),
        &[
            ("grant_type", "client_credentials"),
            ("client_info", "1"),
            (
                "scope",
                "https://api.partnercenter.microsoft.com/.default openid",
            ),
        ],
    ]
    .concat();
    let app = token_json(&server, PARTNER_A.tenant_id, &app_only).await;
    assert!(app["access_token"].is_string(), "{app}");
    assert!(
        app.get("id_token").is_none() && app.get("client_info").is_none(),
        "{app}"
    );
    assert_eq!(
        app["scope"],
        "https://api.partnercenter.microsoft.com/.default"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_user_realm_is_managed_for_every_name_and_discovery_has_entras_fields() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    for (name, domain) in [
        (PARTNER_A.username, "partner-a.test"),
        ("nobody@unknown.example", "unknown.example"),
        ("no-at-sign", ""),
    ] {
        let realm: Value = server
            .get_json(&format!("/common/userrealm/{name}?api-version=1.0"))
            .await;
        assert_eq!(realm["account_type"], "Managed", "{name}");
        assert_eq!(realm["domain_name"], domain, "{name}");
        assert_eq!(realm["cloud_instance_name"], "microsoftonline.com");
    }
    let discovery: Value = server
        .get_json(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            PARTNER_A.tenant_id
        ))
        .await;
    for field in [
        "issuer",
        "token_endpoint",
        "authorization_endpoint",
        "device_authorization_endpoint",
        "end_session_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "tenant_region_scope",
        "cloud_instance_name",
        "cloud_graph_host_name",
        "msgraph_host",
        "http_logout_supported",
        "request_uri_parameter_supported",
    ] {
        assert!(!discovery[field].is_null(), "{field}: {discovery}");
    }
    let scopes = discovery["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&json!("openid")) && scopes.contains(&json!("offline_access")));
    server.stop().await;
}

#[tokio::test]
async fn organizations_and_common_stand_for_the_applications_tenant_where_entra_accepts_them() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let password = [
        APP_A.as_slice(),
        &[
            ("grant_type", "password"),
            ("username", PARTNER_A.username),
            ("password", PARTNER_A.password),
            ("scope", MSAL_USER_SCOPE),
        ],
    ]
    .concat();
    let app_only = [
        APP_A.as_slice(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ],
    ]
    .concat();

    // A user signs in through /organizations: the tokens are the application's tenant's.
    let signed_in = token_request(&server, "organizations", &password).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let body: Value = signed_in.json().await.unwrap();
    let access = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(access["tid"], PARTNER_A.tenant_id);
    assert_eq!(
        access["iss"],
        format!("{}/{}/v2.0", server.public_url, PARTNER_A.tenant_id)
    );
    assert_eq!(
        claims_of(body["id_token"].as_str().unwrap())["tid"],
        PARTNER_A.tenant_id
    );
    // The token works on Partner Center's API.
    let listed = server
        .get("/v1/customers", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(listed.status(), StatusCode::OK);

    // Its refresh token renews through /common, as MSAL may ask.
    let refresh = [
        APP_A.as_slice(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("scope", MSAL_USER_SCOPE),
        ],
    ]
    .concat();
    let renewed = token_request(&server, "common", &refresh).await;
    assert_eq!(renewed.status(), StatusCode::OK);

    // Where Entra refuses: a password over /common, an application alone over either.
    for (authority, form) in [
        ("common", &password),
        ("common", &app_only),
        ("organizations", &app_only),
    ] {
        let refused = token_request(&server, authority, form).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{authority}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{authority}: {body}");
    }
    // Anything else is no tenant at all.
    let body = token_json(&server, "consumers", &password).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90002:"),
        "{body}"
    );

    // Their discovery documents, as Entra's: the authority's endpoints, the issuer a placeholder.
    let organizations: Value = server
        .get_json("/organizations/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        organizations["token_endpoint"],
        format!("{}/organizations/oauth2/v2.0/token", server.public_url)
    );
    assert_eq!(
        organizations["issuer"],
        format!("{}/{{tenantid}}/v2.0", server.public_url)
    );
    assert!(organizations["tenant_region_scope"].is_null());
    // And the v1 path answers the tenant's (v2) document.
    let v2: Value = server
        .get_json(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            PARTNER_A.tenant_id
        ))
        .await;
    let v1: Value = server
        .get_json(&format!(
            "/{}/.well-known/openid-configuration",
            PARTNER_A.tenant_id
        ))
        .await;
    assert_eq!(v1, v2);
    assert_eq!(v2["tenant_region_scope"], "NA");
    server.stop().await;
}
