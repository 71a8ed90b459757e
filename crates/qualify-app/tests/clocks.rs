//! A partner's clock moved while its submissions commit (PostgreSQL, where they run at once):
//! every timed decision stays due when the partner's clock says, whatever commits during an
//! advance. On SQLite one writer serialises them anyway; the story is told on both.

// A failing story should stop loudly where it failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use qualify_app::usecases::{Actor, TimedDecision};
use qualify_app::{Clock, Qualify, Settings};
use qualify_domain::Submission;
use qualify_store::testing::TestDatabase;
use qualify_store::{BillingRecord, JobState, NewCustomerRecord};
use qualify_types::{CustomerId, EducationSegment, Qualification, TenantId, VettingRule};

/// Customers each submitter submits for.
const PER_SUBMITTER: usize = 40;
/// Submitters at once.
const SUBMITTERS: usize = 8;
/// Advancers at once, advancing for as long as the submitters submit.
const ADVANCERS: usize = 3;

fn actor(partner: TenantId) -> Actor {
    Actor {
        tenant: partner.to_string(),
        name: "admin@partner.test".into(),
        application_id: None,
        user_principal_name: Some("admin@partner.test".into()),
    }
}

async fn open(db: &TestDatabase) -> Qualify {
    let mut settings = Settings::new(db.url().clone());
    settings.dev = true;
    settings.jobs.job_workers = 0;
    Qualify::open(settings, Clock::wall(), "http://qualify.test".into())
        .await
        .unwrap()
}

async fn customers(app: &Qualify, partner: TenantId, count: usize) -> Vec<CustomerId> {
    let billing = BillingRecord::default();
    let mut made = Vec::new();
    for n in 0..count {
        let domain = format!("school-{n}.onmicrosoft.com");
        let new = NewCustomerRecord {
            id: CustomerId::random(),
            partner_tenant_id: partner,
            domain: &domain,
            company_name: "Contoso School",
            billing: &billing,
            associated_partner_id: None,
        };
        let answer = app
            .create_customer(&actor(partner), &new, None, |_| Ok((201, String::new())))
            .await
            .unwrap();
        assert_eq!(answer.status, 201);
        made.push(new.id);
    }
    made
}

/// Every pending decision on `partner`'s clock falls due (on the server's clock, `run_at`)
/// exactly when that clock reaches the decision's date: `run_at` + the clock's offset is the
/// date. A decision whose schedule an advance did not move would fall due later than that:
/// stranded, for as long as the advance moved the clock.
async fn assert_none_stranded(app: &Qualify, partner: TenantId) -> usize {
    let offset = app.store().partner_clock_offset(partner).await.unwrap();
    let mut pending = 0;
    for job in app.store().jobs().await.unwrap() {
        if job.kind != "vetting.decide" || job.state != JobState::Pending {
            continue;
        }
        let timed: TimedDecision = serde_json::from_str(&job.payload).unwrap();
        assert_eq!(
            job.run_at.unix_millis() + offset,
            timed.due.unix_millis(),
            "the decision of {} falls due {} ms after its date on the partner's clock",
            timed.request,
            job.run_at.unix_millis() + offset - timed.due.unix_millis()
        );
        pending += 1;
    }
    pending
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_racing_a_clocks_advances_leave_no_decision_stranded() {
    for db in TestDatabase::every_backend("advance race").await {
        let app = open(&db).await;
        let partner = app.create_test_partner(None).await.unwrap().tenant_id;
        let rule: VettingRule = serde_json::from_value(serde_json::json!({
            "name": "in-a-minute", "decision": "Approved", "after": "60s"
        }))
        .unwrap();
        app.set_test_rules(&actor(partner), partner, vec![rule])
            .await
            .unwrap();
        let submission = Arc::new(
            Submission::from_api(
                Qualification::Education,
                Some(EducationSegment::K12),
                None,
                None,
            )
            .unwrap(),
        );
        let customers = customers(&app, partner, SUBMITTERS * PER_SUBMITTER).await;

        let submitting = Arc::new(std::sync::atomic::AtomicUsize::new(SUBMITTERS));
        let mut tasks = Vec::new();
        for chunk in customers.chunks(PER_SUBMITTER) {
            let (app, chunk, submission) = (app.clone(), chunk.to_vec(), Arc::clone(&submission));
            let submitting = Arc::clone(&submitting);
            tasks.push(tokio::spawn(async move {
                for customer in chunk {
                    app.submit(
                        &actor(partner),
                        partner,
                        customer,
                        &submission,
                        None,
                        |_| Ok((201, String::new())),
                    )
                    .await
                    .unwrap();
                }
                submitting.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for _ in 0..ADVANCERS {
            let (app, submitting) = (app.clone(), Arc::clone(&submitting));
            tasks.push(tokio::spawn(async move {
                while submitting.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                    // A second: each advance leaves most decisions pending, to be moved by the
                    // next.
                    app.advance_clock(&actor(partner), partner, 1_000, Duration::from_secs(5))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_none_stranded(&app, partner).await;

        // A last advance past every date: each decision is made before it answers.
        app.advance_clock(&actor(partner), partner, 61_000, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(
            assert_none_stranded(&app, partner).await,
            0,
            "{:?}",
            db.backend()
        );
        app.store().close().await;
    }
}
