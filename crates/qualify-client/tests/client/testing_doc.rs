//! docs/testing.md's Rust example: the function between the markers is the document's block,
//! run against a real development server.

use qualify_server::{App, Settings};
use qualify_store::testing::TestDatabase;
use tokio::net::TcpListener;

// docs/testing.md:start
use qualify_client::{Client, Credentials};
use qualify_types::{
    EducationSegment, Fault, Qualification, QualificationSubmission, VettingRule, VettingStatus,
};

/// One test of CSP software against `server` (`qualify serve --dev`), from setup to teardown.
async fn a_test(server: &str) -> Result<(), Box<dyn std::error::Error>> {
    // Setup: a partner of this test's own, and a client signed in as its user.
    let partner = Client::builder(server)?
        .build()?
        .create_test_partner()
        .await?;
    let client = Client::builder(server)?
        .credentials(Credentials::test_partner(&partner))
        .build()?;
    // Universities are approved three days after they submit.
    client
        .set_test_rules(vec![VettingRule {
            name: "universities".into(),
            customer_domain: vec!["*.edu".into()],
            decision: "Approved".into(),
            after: Some("3d".into()),
            ..VettingRule::default()
        }])
        .await?;
    // The next submission is throttled, as Partner Center throttles.
    client
        .set_faults(vec![Fault {
            method: Some("POST".into()),
            path: "/v1/customers/*/qualifications".into(),
            status: Some(429),
            retry_after: Some(1),
            times: Some(1),
            ..Fault::default()
        }])
        .await?;

    // The code under test would run here; the client plays its part.
    let customer = client
        .create_customer("state.edu", "State University")
        .await?;
    let submission = QualificationSubmission {
        education_segment: Some(EducationSegment::HigherEducation),
        ..QualificationSubmission::new(Qualification::Education)
    };
    // Throttled once, retried after Retry-After with the same MS-RequestId: one request.
    let submitted = client
        .submit_qualification(customer.id, &submission)
        .await?;
    assert_eq!(submitted.vetting_status, VettingStatus::InReview);
    // Three days pass on this partner's clock, and the rule decides.
    client.advance_clock(3 * 24 * 3600).await?;
    let qualifications = client.qualifications(customer.id).await?;
    assert_eq!(qualifications[0].vetting_status, VettingStatus::Approved);
    // What the code sent, as the server saw it.
    let journal = client.journal().await?;
    let statuses: Vec<u16> = journal
        .items
        .iter()
        .filter(|entry| entry.method == "POST")
        .map(|entry| entry.status)
        .collect();
    assert_eq!(statuses, [201, 429, 201]);

    // Teardown: the partner's data is gone; its credentials stay for the next test.
    client.reset_test_data().await?;
    assert!(client.all_customers().await?.is_empty());
    Ok(())
}
// docs/testing.md:end

#[tokio::test]
async fn the_testing_documents_rust_example_runs_as_written() {
    let doc = include_str!("../../../../docs/testing.md");
    let code = include_str!("testing_doc.rs");
    let between = |text: &'static str, start: &str, end: &str| -> &'static str {
        let from = text.find(start).expect("the start marker") + start.len();
        let to = text[from..].find(end).expect("the end marker") + from;
        text[from..to].trim()
    };
    assert_eq!(
        between(doc, "<!-- example:rust -->\n```rust\n", "```"),
        between(code, "// docs/testing.md:start\n", "// docs/testing.md:end"),
        "docs/testing.md shows the code this test runs"
    );

    let db = TestDatabase::sqlite();
    let mut settings = Settings::new(db.url().clone());
    settings.dev = true;
    let app = App::build(settings, TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let base = app.public_url().to_owned();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    a_test(&base).await.unwrap();
}
