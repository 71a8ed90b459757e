//! The client and a real server on 127.0.0.1:0.

use std::time::Duration;

use qualify_client::{Client, ClientError, Credentials, RetryPolicy, ReviewFilter, WaitOptions};
use qualify_server::{App, Settings};
use qualify_store::testing::TestDatabase;
use qualify_types::dev::{OPERATOR, PARTNER_A, PARTNER_B};
use qualify_types::{
    Decision, EducationSegment, Qualification, QualificationSubmission, VettingStatus,
};
use tokio::net::TcpListener;

async fn server(db: &TestDatabase) -> String {
    let mut settings = Settings::new(db.url().clone());
    settings.dev = true;
    let app = App::build(settings, TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let base = app.public_url().to_owned();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

fn client(base: &str, credentials: Credentials) -> Client {
    Client::builder(base)
        .unwrap()
        .credentials(credentials)
        .build()
        .unwrap()
}

fn education() -> QualificationSubmission {
    QualificationSubmission {
        education_segment: Some(EducationSegment::K12),
        ..QualificationSubmission::new(Qualification::Education)
    }
}

#[tokio::test]
async fn a_partner_and_a_reviewer_go_through_the_whole_lifecycle() {
    let db = TestDatabase::sqlite();
    let base = server(&db).await;
    let partner = client(&base, Credentials::dev_user(PARTNER_A));
    let reviewer = client(&base, Credentials::dev_user(OPERATOR));

    let customer = partner
        .create_customer("lifecycle.onmicrosoft.com", "Lifecycle School")
        .await
        .unwrap();
    assert_eq!(partner.customer(customer.id).await.unwrap(), customer);
    let submitted = partner
        .submit_qualification(customer.id, &education())
        .await
        .unwrap();
    assert_eq!(submitted.vetting_status, VettingStatus::InReview);

    let open = reviewer
        .all_review_requests(&ReviewFilter {
            status: Some(VettingStatus::InReview),
            customer_id: Some(customer.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let waiting = tokio::spawn(async move {
        partner
            .wait_for_vetting(
                customer.id,
                Qualification::Education,
                WaitOptions::default(),
            )
            .await
    });
    let decided = reviewer
        .decide(open[0].id, &Decision::deny("Not an Education Customer"))
        .await
        .unwrap();
    assert_eq!(decided.decided_by.as_deref(), Some(OPERATOR.username));
    let outcome = waiting.await.unwrap().unwrap();
    assert_eq!(outcome.vetting_status, VettingStatus::Denied);
    assert_eq!(
        outcome.vetting_reason.as_deref(),
        Some("Not an Education Customer")
    );
}

#[tokio::test]
async fn waiting_ends_at_the_deadline_or_when_there_is_nothing_to_wait_for() {
    let db = TestDatabase::sqlite();
    let base = server(&db).await;
    let partner = client(&base, Credentials::dev_user(PARTNER_A));
    let customer = partner
        .create_customer("waiting.onmicrosoft.com", "Waiting")
        .await
        .unwrap();

    let nothing = partner
        .wait_for_vetting(
            customer.id,
            Qualification::Education,
            WaitOptions::default(),
        )
        .await;
    assert!(
        matches!(
            nothing,
            Err(ClientError::NotSubmitted(Qualification::Education))
        ),
        "{nothing:?}"
    );

    partner
        .submit_qualification(customer.id, &education())
        .await
        .unwrap();
    let options = WaitOptions {
        timeout: Duration::from_millis(300),
        initial_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let timed_out = partner
        .wait_for_vetting(customer.id, Qualification::Education, options)
        .await;
    assert!(
        matches!(timed_out, Err(ClientError::VettingTimeout { .. })),
        "{timed_out:?}"
    );
}

#[tokio::test]
async fn service_errors_carry_partner_centers_code_and_are_not_retried() {
    let db = TestDatabase::sqlite();
    let base = server(&db).await;
    let partner = client(&base, Credentials::dev_user(PARTNER_A));
    let customer = partner
        .create_customer("errors.onmicrosoft.com", "Errors")
        .await
        .unwrap();
    partner
        .submit_qualification(customer.id, &education())
        .await
        .unwrap();
    let duplicate = partner
        .submit_qualification(customer.id, &education())
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Some(610_001));
    assert_eq!(duplicate.status(), Some(409));

    let other = client(&base, Credentials::dev_user(PARTNER_B));
    let hidden = other.qualifications(customer.id).await.unwrap_err();
    assert_eq!(hidden.code(), Some(60_003));

    let wrong = client(
        &base,
        Credentials::App {
            tenant: PARTNER_A.tenant_id.parse().unwrap(),
            client_id: PARTNER_A.client_id.into(),
            client_secret: "wrong".into(),
        },
    );
    match wrong.customer(customer.id).await.unwrap_err() {
        ClientError::Auth { error, .. } => assert_eq!(error, "invalid_client"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener); // nothing listens there now
    let client = Client::builder(&base)
        .unwrap()
        .credentials(Credentials::Token("t".into()))
        .retry(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let error = client.all_customers().await.unwrap_err();
    assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
}

#[tokio::test]
async fn the_legacy_calls_and_validation_codes_are_typed_too() {
    use qualify_types::QualificationChoice;
    let db = TestDatabase::sqlite();
    let base = server(&db).await;
    let partner = client(&base, Credentials::dev_user(PARTNER_A));
    let customer = partner
        .create_customer("legacy-client.onmicrosoft.com", "Legacy")
        .await
        .unwrap();
    assert_eq!(
        partner.legacy_qualification(customer.id).await.unwrap(),
        QualificationChoice::None
    );
    let submitted = partner
        .submit_legacy_qualification(
            customer.id,
            Qualification::GovernmentCommunityCloud,
            Some("100001"),
        )
        .await
        .unwrap();
    assert_eq!(submitted, QualificationChoice::GovernmentCommunityCloud);
    let codes = partner.validation_codes().await.unwrap();
    assert_eq!(
        (codes[0].validation_id.as_str(), codes[0].remaining_creates),
        ("100001", 4)
    );
}
