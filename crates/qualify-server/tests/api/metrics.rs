//! `GET /metrics` on the metrics listener: off unless asked for; in Prometheus's text format or
//! OpenMetrics as the scraper asks; every series the Grafana dashboard in deploy/ draws is
//! there; labels are route templates and fixed words, never what a client sent.

use qualify_store::testing::TestDatabase;
use qualify_types::dev;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn scrape(server: &TestServer, accept: Option<&str>) -> (String, String) {
    let url = server.metrics_url.as_deref().expect("metrics are on");
    let mut request = server.http.get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// The value of the sample written exactly as `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn with_metrics(db: &TestDatabase) -> TestServer {
    TestServer::start_with(db, |s| {
        s.http.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

#[tokio::test]
async fn without_the_flag_there_is_no_metrics_listener() {
    let db = TestDatabase::sqlite();
    let server = TestServer::start(&db).await;
    assert!(server.metrics_url.is_none());
    // Nor does the API answer /metrics: metrics are never on the public listener.
    let response = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_scrape_counts_requests_by_route_template_and_reads_the_queue() {
    for db in TestDatabase::every_backend("metrics").await {
        let server = with_metrics(&db).await;
        let partner = server.token(dev::PARTNER_A, Grant::User).await;
        let customer = server.create_customer(&partner, "metrics.example").await;
        let submitted = server
            .submit(
                &partner,
                &customer,
                &json!({"qualification": "StateOwnedEntity"}),
            )
            .await;
        assert_eq!(submitted.status(), StatusCode::CREATED);
        // A path no route takes, with something hostile in it, and a method nobody names.
        let hostile = server
            .http
            .get(server.url("/nowhere/%3Cscript%3E"))
            .send()
            .await
            .unwrap();
        assert_eq!(hostile.status(), StatusCode::NOT_FOUND);
        let odd = server
            .http
            .request(
                reqwest::Method::from_bytes(b"BREW").unwrap(),
                server.url("/healthz"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(odd.status(), StatusCode::METHOD_NOT_ALLOWED);

        let (content_type, text) = scrape(&server, None).await;
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        let submit = r#"qualify_http_requests_total{route="/v1/customers/{customer_id}/qualifications",method="POST",status="201"}"#;
        assert_eq!(sample(&text, submit), Some(1.0), "{text}");
        assert_eq!(
            sample(
                &text,
                r#"qualify_http_requests_total{route="unmatched",method="GET",status="404"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"qualify_http_requests_total{route="/healthz",method="other",status="405"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, r#"qualify_vetting_requests{state="InReview"}"#),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, r#"qualify_vetting_requests{state="Approved"}"#),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"qualify_tokens_issued_total{grant_type="password"}"#
            ),
            Some(1.0)
        );
        assert_eq!(sample(&text, "qualify_database_up"), Some(1.0));
        // No id, and nothing the client wrote, became a label.
        assert!(!text.contains(&customer), "a customer id in a label");
        assert!(!text.contains("script"), "a client's path in a label");
        assert!(!text.contains("BREW"), "a client's method in a label");

        let (content_type, open_metrics) =
            scrape(&server, Some("application/openmetrics-text;version=1.0.0")).await;
        assert!(content_type.starts_with("application/openmetrics-text"));
        assert!(open_metrics.ends_with("# EOF\n"));
        server.stop().await;
    }
}

#[tokio::test]
async fn every_series_the_dashboard_draws_is_served() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut drawn = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr.match_indices("qualify_") {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                drawn.insert(name);
            }
        }
    }
    assert!(drawn.len() >= 10, "{drawn:?}");
    for db in TestDatabase::every_backend("metrics-dashboard").await {
        let server = with_metrics(&db).await;
        // A request, and a token refused: families without a sample are not written at all.
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        let refused = server
            .http
            .post(server.url(&format!("/{}/oauth2/v2.0/token", dev::PARTNER_A.tenant_id)))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let (_, text) = scrape(&server, None).await;
        let other_backend = match db.backend() {
            qualify_store::Backend::Sqlite => "qualify_postgres_",
            qualify_store::Backend::Postgres => "qualify_sqlite_",
        };
        for name in drawn.iter().filter(|n| !n.starts_with(other_backend)) {
            // A histogram is declared by its base name, and drawn by its _bucket, _sum, _count.
            let histogram = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix));
            let declared = match histogram {
                Some(base) => text.contains(&format!("# TYPE {base} histogram\n")),
                None => text.contains(&format!("# TYPE {name} ")),
            };
            assert!(
                declared,
                "the dashboard draws {name}, which the scrape lacks:\n{text}"
            );
        }
        server.stop().await;
    }
}
