//! The store's story: every backend passes the same sequence of scenarios. SQLite always runs;
//! PostgreSQL runs when a server is reachable (and must, in CI).

// Helpers outside #[test] functions unwrap too: a test should stop loudly where it failed.
#![allow(clippy::unwrap_used)]

use qualify_domain::{
    DecisionRefused, DenialReason, Submission, SubmissionPolicy, SubmissionRefused,
    ValidationCodeValue, Verdict, VettingState,
};
use qualify_store::testing::TestDatabase;
use qualify_store::{
    BillingRecord, Conflict, IdempotencyRecord, NewCustomerRecord, NewTenant, NewValidationCode,
    NewVettingRequest, Store, StoreError, StoreOptions, TenantKind, VettingFilter, Written,
};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingRequestId,
    VettingStatus,
};

async fn open(db: &TestDatabase) -> Store {
    Store::connect(&StoreOptions::new(db.url().clone()))
        .await
        .expect("connect")
}

async fn partner(store: &Store, name: &str) -> TenantId {
    let id = TenantId::random();
    let tenant = NewTenant {
        id,
        kind: TenantKind::Partner,
        name,
        dev: false,
    };
    assert!(
        store
            .insert_tenant(&tenant, Timestamp::now())
            .await
            .unwrap()
    );
    id
}

async fn customer(store: &Store, partner: TenantId, domain: &str) -> CustomerId {
    let id = CustomerId::random();
    let billing = BillingRecord::default();
    let new = NewCustomerRecord {
        id,
        partner_tenant_id: partner,
        domain,
        company_name: "Contoso",
        billing: &billing,
        actor: "test",
    };
    match store
        .create_customer(&new, Timestamp::now(), None)
        .await
        .unwrap()
    {
        Written::Fresh(record) => assert_eq!(record.id, id),
        Written::Replayed(_) => panic!("nothing to replay"),
    }
    id
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

async fn submit(
    store: &Store,
    partner: TenantId,
    customer: CustomerId,
    submission: &Submission,
) -> Result<Written<qualify_store::VettingRecord>, StoreError> {
    let new = NewVettingRequest {
        id: VettingRequestId::random(),
        partner_tenant_id: partner,
        customer_id: customer,
        submission,
        actor: "user@partner.test",
    };
    store
        .submit_vetting(
            &new,
            &SubmissionPolicy::default(),
            Timestamp::now(),
            None,
            |_| Vec::new(),
        )
        .await
}

fn fresh<T>(written: Written<T>) -> T {
    match written {
        Written::Fresh(value) => value,
        Written::Replayed(_) => panic!("expected a fresh write"),
    }
}

fn deny(reason: &str) -> Verdict {
    Verdict::Deny(DenialReason::parse(reason).unwrap())
}

#[tokio::test]
async fn a_partner_sees_only_its_own_customers_and_pages_through_them() {
    for db in TestDatabase::every_backend("customers").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let b = partner(&store, "B").await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(customer(&store, a, &format!("c{n}.onmicrosoft.com")).await);
        }
        assert!(store.find_customer(a, ids[0]).await.unwrap().is_some());
        assert!(
            store.find_customer(b, ids[0]).await.unwrap().is_none(),
            "{:?}",
            db.backend()
        );

        let first = store.list_customers(a, None, 2).await.unwrap();
        let second = store.list_customers(a, first.next_after, 2).await.unwrap();
        let third = store.list_customers(a, second.next_after, 2).await.unwrap();
        let seen: Vec<_> = [first.customers, second.customers, third.customers.clone()]
            .concat()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(seen, ids);
        assert_eq!(third.customers.len(), 1);
        assert_eq!(third.next_after, None);
        assert!(
            store
                .list_customers(b, None, 10)
                .await
                .unwrap()
                .customers
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_domain_is_unique_per_partner_not_across_partners() {
    for db in TestDatabase::every_backend("domains").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let b = partner(&store, "B").await;
        customer(&store, a, "contoso.onmicrosoft.com").await;
        customer(&store, b, "contoso.onmicrosoft.com").await;
        let billing = BillingRecord::default();
        let again = NewCustomerRecord {
            id: CustomerId::random(),
            partner_tenant_id: a,
            domain: "contoso.onmicrosoft.com",
            company_name: "Contoso",
            billing: &billing,
            actor: "test",
        };
        let err = store
            .create_customer(&again, Timestamp::now(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(Conflict::CustomerDomainTaken(ref d)) if d == "contoso.onmicrosoft.com"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn submissions_follow_the_rules_and_decisions_are_final() {
    for db in TestDatabase::every_backend("lifecycle").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "school.onmicrosoft.com").await;

        let first = fresh(submit(&store, a, c, &education()).await.unwrap());
        assert_eq!(
            (first.attempt, first.state.clone()),
            (1, VettingState::InReview)
        );
        let duplicate = submit(&store, a, c, &education()).await.unwrap_err();
        assert!(matches!(
            duplicate,
            StoreError::Conflict(Conflict::Submission(
                SubmissionRefused::AlreadySubmitted { .. }
            ))
        ));

        let reviewer = TenantId::random();
        let denied = store
            .decide_vetting(
                first.id,
                &deny("Not an Education Customer"),
                reviewer,
                "reviewer@op.test",
                Timestamp::now(),
                |_| Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(denied.state.status(), VettingStatus::Denied);
        assert_eq!(denied.decided_by.as_deref(), Some("reviewer@op.test"));
        assert!(denied.decided_at.is_some());
        let again = store
            .decide_vetting(
                first.id,
                &Verdict::Approve,
                reviewer,
                "other@op.test",
                Timestamp::now(),
                |_| Vec::new(),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            again,
            StoreError::Conflict(Conflict::Decision(DecisionRefused::AlreadyDecided(
                VettingStatus::Denied
            )))
        ));

        // Two more attempts after denials, then the limit.
        let second = fresh(submit(&store, a, c, &education()).await.unwrap());
        assert_eq!(second.attempt, 2);
        store
            .decide_vetting(
                second.id,
                &deny("Not an Academic Domain"),
                reviewer,
                "r",
                Timestamp::now(),
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let third = fresh(submit(&store, a, c, &education()).await.unwrap());
        store
            .decide_vetting(
                third.id,
                &deny("Not an Academic Domain"),
                reviewer,
                "r",
                Timestamp::now(),
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let limit = submit(&store, a, c, &education()).await.unwrap_err();
        assert!(matches!(
            limit,
            StoreError::Conflict(Conflict::Submission(SubmissionRefused::LimitReached {
                max: 3,
                ..
            }))
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

        // Read with the caller's status (as a GET does), the history is the same.
        let (status, read_together) = store
            .principal_status_and_history(a, None, None, c)
            .await
            .unwrap();
        assert_eq!(read_together, Some(history));
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
        let a = partner(&store, "A").await;
        let b = partner(&store, "B").await;
        let code = NewValidationCode {
            partner_tenant_id: a,
            validation_id: "100001",
            organization_name: "City of Contoso",
            max_creates: 1,
            dev: false,
        };
        assert!(
            store
                .insert_validation_code(&code, Timestamp::now())
                .await
                .unwrap()
        );

        let c1 = customer(&store, a, "city1.onmicrosoft.com").await;
        let c2 = customer(&store, a, "city2.onmicrosoft.com").await;
        let cb = customer(&store, b, "city3.onmicrosoft.com").await;

        let unknown = submit(&store, b, cb, &gcc("100001")).await.unwrap_err();
        assert!(matches!(
            unknown,
            StoreError::Conflict(Conflict::Submission(
                SubmissionRefused::UnknownValidationCode(_)
            ))
        ));
        fresh(submit(&store, a, c1, &gcc("100001")).await.unwrap());
        let exhausted = submit(&store, a, c2, &gcc("100001")).await.unwrap_err();
        assert!(matches!(
            exhausted,
            StoreError::Conflict(Conflict::Submission(
                SubmissionRefused::ValidationCodeExhausted(_)
            ))
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

#[tokio::test]
async fn a_repeated_request_id_replays_the_first_response_and_writes_nothing() {
    for db in TestDatabase::every_backend("idempotency").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "retry.onmicrosoft.com").await;
        let record = IdempotencyRecord {
            partner_tenant_id: a,
            request_id: "037db222-6d8e-4d7f-ba78-df3dca33fb68".into(),
            fingerprint: "f1".into(),
            status: 201,
            body: "{\"first\":true}".into(),
        };
        let submission = education();
        let new = NewVettingRequest {
            id: VettingRequestId::random(),
            partner_tenant_id: a,
            customer_id: c,
            submission: &submission,
            actor: "user",
        };
        let policy = SubmissionPolicy::default();
        fresh(
            store
                .submit_vetting(&new, &policy, Timestamp::now(), Some(&record), |_| {
                    Vec::new()
                })
                .await
                .unwrap(),
        );
        let retry = NewVettingRequest {
            id: VettingRequestId::random(),
            ..new.clone()
        };
        match store
            .submit_vetting(&retry, &policy, Timestamp::now(), Some(&record), |_| {
                Vec::new()
            })
            .await
            .unwrap()
        {
            Written::Replayed(stored) => assert_eq!(stored, record),
            Written::Fresh(_) => panic!("the retry wrote again"),
        }
        assert_eq!(
            store.customer_history(a, c).await.unwrap().unwrap().len(),
            1
        );
        assert!(
            store
                .find_vetting_request(retry.id)
                .await
                .unwrap()
                .is_none()
        );

        // Keys older than the cutoff are forgotten.
        assert_eq!(
            store
                .purge_idempotency_records(Timestamp::now().plus_millis(1))
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .find_idempotency_record(a, &record.request_id)
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
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "race.onmicrosoft.com").await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { submit(&store, a, c, &education()).await })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => created += 1,
                Err(StoreError::Conflict(_)) => {}
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
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "decide.onmicrosoft.com").await;
        let request = fresh(submit(&store, a, c, &education()).await.unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                let verdict = if n % 2 == 0 {
                    Verdict::Approve
                } else {
                    deny("Not an Education Customer")
                };
                tokio::spawn(async move {
                    store
                        .decide_vetting(
                            request.id,
                            &verdict,
                            TenantId::random(),
                            &format!("r{n}"),
                            Timestamp::now(),
                            |_| Vec::new(),
                        )
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(StoreError::Conflict(Conflict::Decision(_))) => {}
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
async fn everything_written_is_there_after_reopening() {
    for db in TestDatabase::every_backend("reopen").await {
        let (a, c) = {
            let store = open(&db).await;
            let a = partner(&store, "A").await;
            let c = customer(&store, a, "durable.onmicrosoft.com").await;
            fresh(submit(&store, a, c, &education()).await.unwrap());
            store.close().await;
            (a, c)
        };
        let store = open(&db).await;
        assert!(store.find_customer(a, c).await.unwrap().is_some());
        assert_eq!(
            store.customer_history(a, c).await.unwrap().unwrap().len(),
            1
        );
    }
}

fn job(n: usize) -> qualify_store::NewJob {
    qualify_store::NewJob {
        kind: "test.job".into(),
        payload: format!("{{\"n\":{n}}}"),
        run_at: Timestamp::from_unix_millis(0).unwrap(),
        max_attempts: 2,
    }
}

#[tokio::test]
async fn a_job_is_leased_to_one_worker_and_taken_over_when_the_lease_expires() {
    use qualify_store::JobState;
    use std::time::Duration;
    for db in TestDatabase::every_backend("job leases").await {
        let store = open(&db).await;
        store
            .enqueue_jobs(&[job(1)], Timestamp::now())
            .await
            .unwrap();
        let now = Timestamp::now();
        let lease = Duration::from_secs(30);

        let first = store
            .claim_job("node-1", lease, now)
            .await
            .unwrap()
            .expect("a due job");
        assert_eq!(first.attempt, 1);
        assert!(
            store
                .claim_job("node-2", lease, now)
                .await
                .unwrap()
                .is_none(),
            "leased to node-1"
        );

        // node-1 dies; after its lease ends node-2 takes the job over.
        let later = now.plus_millis(31_000);
        let second = store
            .claim_job("node-2", lease, later)
            .await
            .unwrap()
            .expect("the expired lease");
        assert_eq!((second.id, second.attempt), (first.id, 2));
        assert!(
            !store.complete_job(first.id, "node-1", later).await.unwrap(),
            "node-1 lost its lease"
        );
        assert!(
            store
                .complete_job(second.id, "node-2", later)
                .await
                .unwrap()
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!((jobs[0].state, jobs[0].attempts), (JobState::Done, 2));
        assert!(
            store
                .claim_job("node-3", lease, later.plus_millis(60_000))
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_failed_job_waits_for_its_retry_and_dies_after_its_last_attempt() {
    use qualify_store::JobState;
    use std::time::Duration;
    for db in TestDatabase::every_backend("job retries").await {
        let store = open(&db).await;
        store
            .enqueue_jobs(&[job(1)], Timestamp::now())
            .await
            .unwrap();
        let now = Timestamp::now();
        let lease = Duration::from_secs(30);
        let claimed = store.claim_job("w", lease, now).await.unwrap().unwrap();
        let retry_at = now.plus_millis(10_000);
        assert_eq!(
            store
                .fail_job(claimed.id, "w", "HTTP 500", retry_at, now)
                .await
                .unwrap(),
            Some(JobState::Pending)
        );
        assert!(
            store
                .claim_job("w", lease, now.plus_millis(1))
                .await
                .unwrap()
                .is_none(),
            "not before its retry"
        );
        let again = store
            .claim_job("w", lease, retry_at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.attempt, 2);
        assert_eq!(
            store
                .fail_job(again.id, "w", "HTTP 500", retry_at, retry_at)
                .await
                .unwrap(),
            Some(JobState::Dead)
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!(jobs[0].state, JobState::Dead);
        assert_eq!(jobs[0].last_error.as_deref(), Some("HTTP 500"));
    }
}

#[tokio::test]
async fn concurrent_workers_each_claim_different_jobs() {
    use std::time::Duration;
    for db in TestDatabase::every_backend("job claims").await {
        let store = open(&db).await;
        let jobs: Vec<_> = (0..40).map(job).collect();
        store.enqueue_jobs(&jobs, Timestamp::now()).await.unwrap();
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(job) = store
                        .claim_job(&format!("w{w}"), Duration::from_secs(60), Timestamp::now())
                        .await
                        .unwrap()
                    {
                        mine.push(job.id);
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for worker in workers {
            claimed.extend(worker.await.unwrap());
        }
        claimed.sort_unstable();
        let before = claimed.len();
        claimed.dedup();
        assert_eq!(
            (before, claimed.len()),
            (40, 40),
            "every job claimed once, {:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn jobs_caused_by_a_change_are_enqueued_with_it_and_not_without_it() {
    for db in TestDatabase::every_backend("job outbox").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "outbox.onmicrosoft.com").await;
        let submission = education();
        let new = NewVettingRequest {
            id: VettingRequestId::random(),
            partner_tenant_id: a,
            customer_id: c,
            submission: &submission,
            actor: "user",
        };
        let policy = SubmissionPolicy::default();
        let outbox = |record: &qualify_store::VettingRecord| {
            vec![qualify_store::NewJob {
                payload: record.id.to_string(),
                ..job(0)
            }]
        };
        store
            .submit_vetting(&new, &policy, Timestamp::now(), None, outbox)
            .await
            .unwrap();
        // A refused duplicate enqueues nothing: the job shares the change's transaction.
        let again = NewVettingRequest {
            id: VettingRequestId::random(),
            ..new.clone()
        };
        assert!(
            store
                .submit_vetting(&again, &policy, Timestamp::now(), None, outbox)
                .await
                .is_err()
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].payload, new.id.to_string());
    }
}
