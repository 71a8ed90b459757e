//! The use cases' story: what a submission, a decision and a retried request do, told on every
//! backend (SQLite always; PostgreSQL when reachable, and in CI). These scenarios lived in the
//! store's story while the store held the business rules.

use qualify_domain::{
    DecisionRefused, DenialReason, Submission, SubmissionRefused, ValidationCodeValue, Verdict,
    VettingState,
};
use qualify_store::testing::TestDatabase;
use qualify_store::{
    BillingRecord, NewCustomerRecord, NewTenant, NewValidationCode, Store, StoreOptions,
    TenantKind, Tx, VettingFilter, VettingRecord,
};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingStatus,
};

use std::sync::Arc;

use super::idempotency::{Answer, IdempotencyKey, once};
use super::{Actor, Decider, UseCaseError, Vetting, When, create_customer, decide, submit};
use crate::clock::Clock;
use crate::events::Outbox;
use crate::partners::Partners;
use crate::vetting_rules::RuleBook;

fn now() -> Timestamp {
    Clock::wall().now()
}

/// Vetting as a server with `settings` does it, without rules, on the wall clock.
fn vetting_of(settings: &crate::settings::Settings) -> Vetting {
    Vetting {
        policy: settings.vetting.submission_policy(),
        outbox: Outbox::new(
            &settings.webhooks,
            settings.jobs.job_max_attempts,
            "http://qualify.test".into(),
        ),
        rules: Arc::new(RuleBook::load(None).unwrap()),
        partners: Partners::new(Clock::wall(), false),
        job_max_attempts: settings.jobs.job_max_attempts,
    }
}

fn vetting() -> Vetting {
    vetting_of(&crate::settings::Settings::default())
}

/// Vetting whose changes are announced to one webhook.
fn announcing() -> Vetting {
    let mut settings = crate::settings::Settings::default();
    settings.webhooks.webhooks.push(crate::settings::Webhook {
        url: "http://127.0.0.1:9/hooks".parse().unwrap(),
        secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_owned().into(),
        previous_secret: None,
    });
    vetting_of(&settings)
}

fn user() -> Actor {
    Actor {
        tenant: "partner".into(),
        name: "user@partner.test".into(),
        application_id: None,
        user_principal_name: Some("user@partner.test".into()),
    }
}

fn reviewer(name: &str) -> Decider {
    Decider::Reviewer {
        tenant: TenantId::random().to_string(),
        username: name.into(),
    }
}

async fn open(db: &TestDatabase) -> Store {
    Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .expect("connect")
}

async fn partner(store: &Store) -> TenantId {
    let id = TenantId::random();
    let tenant = NewTenant {
        id,
        kind: TenantKind::Partner,
        name: "Partner",
        dev: false,
    };
    store
        .transaction(async |tx: &mut Tx| tx.insert_tenant(&tenant, now()).await)
        .await
        .unwrap();
    id
}

async fn customer(store: &Store, partner: TenantId, domain: &str) -> CustomerId {
    let billing = BillingRecord::default();
    let new = NewCustomerRecord {
        id: CustomerId::random(),
        partner_tenant_id: partner,
        domain,
        company_name: "Contoso",
        billing: &billing,
        associated_partner_id: None,
    };
    store
        .transaction(async |tx: &mut Tx| create_customer(tx, &vetting(), &user(), &new).await)
        .await
        .unwrap()
        .id
}

fn education() -> Submission {
    Submission::from_api(
        Qualification::Education,
        Some(EducationSegment::K12),
        None,
        None,
    )
    .unwrap()
}

fn gcc(code: &str) -> Submission {
    Submission::from_api(
        Qualification::GovernmentCommunityCloud,
        None,
        None,
        Some(ValidationCodeValue::parse(code).unwrap()),
    )
    .unwrap()
}

async fn submit_with(
    store: &Store,
    vetting: &Vetting,
    partner: TenantId,
    customer: CustomerId,
    submission: &Submission,
) -> Result<VettingRecord, UseCaseError> {
    store
        .transaction(async |tx: &mut Tx| {
            submit(tx, vetting, &user(), partner, customer, submission).await
        })
        .await
}

async fn submit_one(
    store: &Store,
    partner: TenantId,
    customer: CustomerId,
    submission: &Submission,
) -> Result<VettingRecord, UseCaseError> {
    submit_with(store, &vetting(), partner, customer, submission).await
}

async fn decide_one(
    store: &Store,
    id: qualify_types::VettingRequestId,
    verdict: &Verdict,
    by: &Decider,
) -> Result<VettingRecord, UseCaseError> {
    store
        .transaction(async |tx: &mut Tx| decide(tx, &vetting(), id, verdict, by, When::Now).await)
        .await
}

fn deny(reason: &str) -> Verdict {
    Verdict::Deny(DenialReason::parse(reason).unwrap())
}

#[tokio::test]
async fn submissions_follow_the_rules_and_decisions_are_final() {
    for db in TestDatabase::every_backend("lifecycle").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let c = customer(&store, a, "school.onmicrosoft.com").await;

        let first = submit_one(&store, a, c, &education()).await.unwrap();
        assert_eq!(
            (first.attempt, first.state.clone()),
            (1, VettingState::InReview)
        );
        let duplicate = submit_one(&store, a, c, &education()).await.unwrap_err();
        assert!(matches!(
            duplicate,
            UseCaseError::Submission(SubmissionRefused::AlreadySubmitted { .. })
        ));

        let denied = decide_one(
            &store,
            first.id,
            &deny("Not an Education Customer"),
            &reviewer("reviewer@op.test"),
        )
        .await
        .unwrap();
        assert_eq!(denied.state.status(), VettingStatus::Denied);
        assert_eq!(denied.decided_by.as_deref(), Some("reviewer@op.test"));
        assert!(denied.decided_at.is_some());
        let again = decide_one(
            &store,
            first.id,
            &Verdict::Approve,
            &reviewer("other@op.test"),
        )
        .await
        .unwrap_err();
        assert!(matches!(
            again,
            UseCaseError::Decision(DecisionRefused::AlreadyDecided(VettingStatus::Denied))
        ));

        // Two more attempts after denials, then the limit.
        let second = submit_one(&store, a, c, &education()).await.unwrap();
        assert_eq!(second.attempt, 2);
        decide_one(
            &store,
            second.id,
            &deny("Not an Academic Domain"),
            &reviewer("r"),
        )
        .await
        .unwrap();
        let third = submit_one(&store, a, c, &education()).await.unwrap();
        decide_one(
            &store,
            third.id,
            &deny("Not an Academic Domain"),
            &reviewer("r"),
        )
        .await
        .unwrap();
        let limit = submit_one(&store, a, c, &education()).await.unwrap_err();
        assert!(matches!(
            limit,
            UseCaseError::Submission(SubmissionRefused::LimitReached { max: 3, .. })
        ));

        let history = store.customer_history(a, c).await.unwrap().unwrap();
        assert_eq!(
            history.iter().map(|h| h.attempt).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(
            store
                .customer_history(TenantId::random(), c)
                .await
                .unwrap()
                .is_none()
        );
        // Another partner's customer, or none, is not found.
        let stranger = submit_one(&store, TenantId::random(), c, &education())
            .await
            .unwrap_err();
        assert!(matches!(stranger, UseCaseError::CustomerNotFound(id) if id == c));

        // Read with the caller's status (as a GET does), the history is the same.
        let (status, read_together) = store
            .principal_status_and_history(a, None, None, c)
            .await
            .unwrap();
        assert_eq!(read_together.as_deref(), Some(&history[..]));
        assert_eq!(status, store.principal_status(a, None, None).await.unwrap());
        assert!(status.tenant.is_some());
        // A stranger's read: no such tenant, and not its customer.
        let (status, read_together) = store
            .principal_status_and_history(TenantId::random(), None, None, c)
            .await
            .unwrap();
        assert_eq!(status.tenant, None);
        assert_eq!(read_together, None);
    }
}

#[tokio::test]
async fn gcc_submissions_use_up_the_partners_own_codes() {
    for db in TestDatabase::every_backend("gcc").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let b = partner(&store).await;
        let code = NewValidationCode {
            partner_tenant_id: a,
            validation_id: "100001",
            organization_name: "City of Contoso",
            max_creates: 1,
            dev: false,
        };
        let issued = store
            .transaction(async |tx: &mut Tx| tx.insert_validation_code(&code, now()).await)
            .await;
        assert!(issued.unwrap());

        let c1 = customer(&store, a, "city1.onmicrosoft.com").await;
        let c2 = customer(&store, a, "city2.onmicrosoft.com").await;
        let cb = customer(&store, b, "city3.onmicrosoft.com").await;

        let unknown = submit_one(&store, b, cb, &gcc("100001")).await.unwrap_err();
        assert!(matches!(
            unknown,
            UseCaseError::Submission(SubmissionRefused::UnknownValidationCode(_))
        ));
        submit_one(&store, a, c1, &gcc("100001")).await.unwrap();
        let exhausted = submit_one(&store, a, c2, &gcc("100001")).await.unwrap_err();
        assert!(matches!(
            exhausted,
            UseCaseError::Submission(SubmissionRefused::ValidationCodeExhausted(_))
        ));
        let codes = store.validation_codes(Some(a)).await.unwrap();
        assert_eq!((codes[0].max_creates, codes[0].remaining_creates), (1, 0));
        // The refused submission stored nothing.
        assert!(
            store
                .customer_history(a, c2)
                .await
                .unwrap()
                .unwrap()
                .is_empty()
        );
    }
}

/// Submits through `once`, as the endpoint does, answering with the record's id.
async fn submit_once(
    store: &Store,
    key: &IdempotencyKey,
    customer: CustomerId,
) -> Result<Answer, UseCaseError> {
    let submission = education();
    once(
        store,
        Some(key),
        now(),
        async |tx: &mut Tx| {
            submit(tx, &vetting(), &user(), key.partner, customer, &submission).await
        },
        |created| Ok((201, format!("{{\"id\":\"{}\"}}", created.id))),
    )
    .await
}

#[tokio::test]
async fn a_repeated_request_id_replays_the_first_response_and_writes_nothing() {
    for db in TestDatabase::every_backend("idempotency").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let c = customer(&store, a, "retry.onmicrosoft.com").await;
        let key = IdempotencyKey {
            partner: a,
            request_id: "037db222-6d8e-4d7f-ba78-df3dca33fb68".into(),
            fingerprint: "f1".into(),
        };
        let first = submit_once(&store, &key, c).await.unwrap();
        assert!(!first.replayed);
        let retry = submit_once(&store, &key, c).await.unwrap();
        assert!(retry.replayed, "the retry wrote again");
        assert_eq!((retry.status, &retry.body), (201, &first.body));
        assert_eq!(
            store.customer_history(a, c).await.unwrap().unwrap().len(),
            1
        );
        // The same id with another request is refused, and writes nothing either.
        let other = IdempotencyKey {
            fingerprint: "f2".into(),
            ..key.clone()
        };
        let reused = submit_once(&store, &other, c).await.unwrap_err();
        assert!(matches!(reused, UseCaseError::RequestIdReused));

        // Keys older than the cutoff are forgotten.
        assert_eq!(
            store
                .transaction(async |tx: &mut Tx| tx
                    .purge_idempotency_records(now().plus_millis(1))
                    .await)
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .find_idempotency_record(a, &key.request_id)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn concurrent_submissions_for_one_customer_create_exactly_one_request() {
    for db in TestDatabase::every_backend("submission race").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let c = customer(&store, a, "race.onmicrosoft.com").await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { submit_one(&store, a, c, &education()).await })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => created += 1,
                Err(UseCaseError::Submission(_) | UseCaseError::Store(_)) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(created, 1, "{:?}", db.backend());
        assert_eq!(
            store.customer_history(a, c).await.unwrap().unwrap().len(),
            1
        );
    }
}

#[tokio::test]
async fn concurrent_decisions_on_one_request_let_exactly_one_win() {
    for db in TestDatabase::every_backend("decision race").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let c = customer(&store, a, "decide.onmicrosoft.com").await;
        let request = submit_one(&store, a, c, &education()).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                let verdict = if n % 2 == 0 {
                    Verdict::Approve
                } else {
                    deny("Not an Education Customer")
                };
                tokio::spawn(async move {
                    decide_one(&store, request.id, &verdict, &reviewer(&format!("r{n}"))).await
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(UseCaseError::Decision(_)) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(winners, 1);
        let listed = store
            .list_vetting_requests(
                &VettingFilter {
                    status: Some(VettingStatus::InReview),
                    ..Default::default()
                },
                None,
                10,
            )
            .await
            .unwrap();
        assert!(listed.requests.is_empty());
    }
}

#[tokio::test]
async fn jobs_caused_by_a_change_are_enqueued_with_it_and_not_without_it() {
    for db in TestDatabase::every_backend("job outbox").await {
        let store = open(&db).await;
        let a = partner(&store).await;
        let c = customer(&store, a, "outbox.onmicrosoft.com").await;
        let vetting = announcing();
        let created = submit_with(&store, &vetting, a, c, &education())
            .await
            .unwrap();
        // A refused duplicate enqueues nothing: the job shares the change's transaction.
        assert!(
            submit_with(&store, &vetting, a, c, &education())
                .await
                .is_err()
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(jobs[0].payload.contains(&created.id.to_string()));
    }
}
