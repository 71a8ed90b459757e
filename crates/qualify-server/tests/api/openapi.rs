//! The published OpenAPI document and its page.

use qualify_server::ContractProfile;
use qualify_store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_public_operation() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let document: Value = server.get_json("/openapi.json").await;
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| {
            item.as_object()
                .unwrap()
                .values()
                .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        })
        .collect();
    operations.sort();
    // A development server publishes the test control plane too.
    assert_eq!(
        operations,
        [
            "advanceClock",
            "createCustomer",
            "createTestPartner",
            "createValidationEvent",
            "createWebhookRegistration",
            "decideVettingRequest",
            "deleteFaults",
            "deleteTestRules",
            "deleteWebhookRegistration",
            "getAuditRecord",
            "getAuditRecords",
            "getClock",
            "getConformance",
            "getCustomer",
            "getFaults",
            "getJournal",
            "getLegacyQualification",
            "getQualifications",
            "getTestRules",
            "getValidationEvent",
            "getVettingRequest",
            "getWebhookCertificate",
            "getWebhookRegistration",
            "health",
            "issueToken",
            "listAuditRecords",
            "listCustomers",
            "listValidationCodes",
            "listVettingRequests",
            "listWebhookEvents",
            "live",
            "openIdConfiguration",
            "openIdConfigurationV1",
            "ready",
            "resetTestData",
            "setConformanceSettings",
            "setFaults",
            "setTestRules",
            "signingKeys",
            "submitLegacyQualification",
            "submitQualification",
            "updateWebhookRegistration",
            "userRealm",
        ]
    );
    // Every operation documents the request ids and, when authenticated, the error body.
    let submit = &document["paths"]["/v1/customers/{customer_id}/qualifications"]["post"];
    let headers: Vec<&str> = submit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        headers.contains(&"MS-RequestId") && headers.contains(&"MS-CorrelationId"),
        "{headers:?}"
    );
    for status in ["400", "401", "403", "404", "409", "413", "500", "503"] {
        assert!(
            submit["responses"][status].is_object(),
            "{status} documented"
        );
    }
    assert!(submit["responses"]["201"]["headers"]["MS-RequestId"].is_object());
    // The ids' schema says what the server takes: a value it allows is taken, one it
    // forbids (a space inside) refused, so generated clients and fuzzers agree with it.
    let request_id = submit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "MS-RequestId")
        .unwrap();
    assert_eq!(request_id["schema"]["pattern"], "^[!-~]+$", "{request_id}");
    let token = server.token(PARTNER_A, Grant::User).await;
    for (value, status) in [("a!~{}", StatusCode::OK), ("a b", StatusCode::BAD_REQUEST)] {
        let answered = server
            .http
            .get(server.url("/v1/customers"))
            .bearer_auth(&token)
            .header("MS-RequestId", value)
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), status, "{value}");
    }
    // Continuation tokens have one published shape wherever they are taken.
    let mut tokens = 0;
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if name.eq_ignore_ascii_case("MS-ContinuationToken") || name == "continuationToken"
                {
                    assert_eq!(
                        parameter["schema"]["pattern"], "^[0-9]{1,18}$",
                        "{parameter}"
                    );
                    tokens += 1;
                }
            }
        }
    }
    assert_eq!(
        tokens, 7,
        "customers, audit records (two lists), the review queue"
    );
    // Fields that depend on each other are published as such: each qualification with its own.
    let submission = &document["components"]["schemas"]["QualificationSubmission"]["oneOf"];
    let titles: Vec<&str> = submission
        .as_array()
        .unwrap()
        .iter()
        .map(|branch| branch["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Education", "GovernmentCommunityCloud", "StateOwnedEntity"]
    );

    // The documented profile's list: the wrapped object, and no trace of the other shape.
    let list = &document["paths"]["/v1/customers/{customer_id}/qualifications"]["get"]["responses"]
        ["200"]["content"]["application/json"]["schema"];
    assert_eq!(list["$ref"], "#/components/schemas/Qualifications");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(!schemas.contains_key("SdkQualifications"));

    let page = server.http.get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));

    // The assets are stored gzipped: sent so to a browser, decompressed for anyone else.
    let bundle = server.url("/docs/swagger-ui-bundle.js");
    let to_browser = server
        .http
        .get(&bundle)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(to_browser.headers()["content-encoding"], "gzip");
    let gzipped = to_browser.bytes().await.unwrap();
    assert_eq!(&gzipped[..2], &[0x1f, 0x8b], "a gzip stream");
    let to_script = server.http.get(&bundle).send().await.unwrap();
    assert_eq!(to_script.status(), StatusCode::OK);
    assert!(to_script.headers().get("content-encoding").is_none());
    assert_eq!(to_script.headers()["vary"], "accept-encoding");
    let plain = to_script.text().await.unwrap();
    assert!(plain.contains("SwaggerUIBundle"), "readable JavaScript");
    assert!(plain.len() > gzipped.len() * 2);
    server.stop().await;
}

#[tokio::test]
async fn a_server_without_dev_publishes_no_test_control_operation() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start_with(&db, |s| s.dev = false).await;
    let document: Value = server.get_json("/openapi.json").await;
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.contains_key("/v1/customers"));
    assert!(
        paths.keys().all(|path| !path.starts_with("/test/")),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn each_contract_profile_publishes_the_list_it_answers() {
    let db = TestDatabase::sqlite();
    for (contract, schema, date, domain) in [
        (
            ContractProfile::Documented,
            "Qualifications",
            "vettingCreatedDate",
            "a.edu",
        ),
        (
            ContractProfile::Sdk,
            "SdkQualifications",
            "vettingCreateDate",
            "b.edu",
        ),
    ] {
        let server = TestServer::start_with(&db, |s| s.http.contract = contract).await;
        let document: Value = server.get_json("/openapi.json").await;
        let list = &document["paths"]["/v1/customers/{customer_id}/qualifications"]["get"]["responses"]
            ["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            list["$ref"],
            format!("#/components/schemas/{schema}"),
            "{contract:?}"
        );
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let other = if schema == "Qualifications" {
            "SdkQualifications"
        } else {
            "Qualifications"
        };
        assert!(
            !schemas.contains_key(other),
            "{contract:?} publishes only its own list"
        );
        let items = &schemas[schema]["properties"]["qualifications"]["items"];
        let items = match items["$ref"].as_str() {
            Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
            None => &schemas[schema]["items"],
        };
        assert!(
            items["properties"][date].is_object(),
            "{contract:?}: {items}"
        );
        // Every schema it names, it holds; and it holds none it doesn't use.
        let text = document.to_string();
        for name in schemas.keys() {
            assert!(
                text.contains(&format!("\"#/components/schemas/{name}\"")),
                "{contract:?}: {name} is unused"
            );
        }
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{contract:?}: {name} is missing"
            );
        }

        // What the server answers has the shape its document publishes.
        let token = server.token(PARTNER_A, Grant::User).await;
        let customer = server.create_customer(&token, domain).await;
        let submitted = server
            .submit(
                &token,
                &customer,
                &serde_json::json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        assert_eq!(submitted.status(), StatusCode::CREATED);
        let answer = server.qualifications(&token, &customer).await;
        let item = match contract {
            ContractProfile::Documented => &answer["qualifications"][0],
            ContractProfile::Sdk => &answer[0],
        };
        assert!(item[date].is_string(), "{contract:?}: {answer}");
        server.stop().await;
    }
}

#[tokio::test]
async fn every_operation_has_a_summary_that_says_what_it_does() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    let document: Value = server.get_json("/openapi.json").await;
    let mut summaries = std::collections::HashSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let summary = operation["summary"].as_str().unwrap_or_default();
            let what = format!("{method} {path}: {summary:?}");
            // Words a reader of Swagger UI's list understands, not the path again or markup.
            assert!(
                summary.chars().next().is_some_and(char::is_uppercase),
                "{what}"
            );
            assert!(
                !summary.contains('`') && !summary.contains('/') && !summary.contains('{'),
                "{what}"
            );
            assert!(
                (2..=12).contains(&summary.split_whitespace().count()),
                "{what}"
            );
            assert!(summaries.insert(summary.to_owned()), "{what}: not unique");
            // A description, where there is one, is prose too, not the path in backticks.
            if let Some(description) = operation["description"].as_str() {
                assert!(
                    !description.starts_with(&format!("`{}", method.to_uppercase())),
                    "{what}: {description}"
                );
            }
        }
    }
    assert!(summaries.len() > 30);
    server.stop().await;
}

/// Every schema in `value` (a document, or part of one), with where it is.
fn walk_schemas<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(object) => {
            for (key, member) in object {
                let here = format!("{at}/{key}");
                // Where JSON Schema holds schemas: a boolean there is a boolean schema.
                let holds_schemas = matches!(key.as_str(), "properties" | "$defs");
                // (`additionalProperties: false` is a boolean schema too, but one OpenAPI 3.0
                // already had and every generator reads.)
                let is_schema = matches!(key.as_str(), "schema" | "items" | "not" | "contains");
                if is_schema {
                    found.push((here.clone(), member));
                }
                if holds_schemas && let Some(schemas) = member.as_object() {
                    for (name, schema) in schemas {
                        found.push((format!("{here}/{name}"), schema));
                    }
                }
                walk_schemas(member, here, found);
            }
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                walk_schemas(item, format!("{at}/{n}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn generators_can_take_the_document_as_it_is() {
    let db = TestDatabase::sqlite();
    for contract in [ContractProfile::Documented, ContractProfile::Sdk] {
        let server =
            TestServer::start_with(&db, |settings| settings.http.contract = contract).await;
        let document: Value = server.get_json("/openapi.json").await;
        let mut schemas = Vec::new();
        walk_schemas(&document, String::new(), &mut schemas);
        assert!(schemas.len() > 100, "the walk found the schemas");
        for (at, schema) in &schemas {
            // `true`/`false` as a schema: valid JSON Schema, which openapi-python-client refuses.
            assert!(!schema.is_boolean(), "a boolean schema at {at}");
            // An enum whose members differ only in case makes colliding identifiers.
            if let Some(members) = schema["enum"].as_array() {
                let mut seen = std::collections::HashSet::new();
                for member in members.iter().filter_map(Value::as_str) {
                    assert!(
                        seen.insert(member.to_lowercase()),
                        "{member} twice, in any case, in the enum at {at}"
                    );
                }
            }
        }
        // Each page of a collection is named as its items are, and refers to them.
        let components = document["components"]["schemas"].as_object().unwrap();
        assert!(
            components.keys().all(|name| !name.contains('_')),
            "{:?}",
            components.keys().collect::<Vec<_>>()
        );
        assert_eq!(
            components["CustomerCollection"]["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/Customer"
        );
        server.stop().await;
    }
}
