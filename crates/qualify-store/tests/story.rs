//! The store's story: every backend passes the same sequence of scenarios. SQLite always runs;
//! PostgreSQL runs when a server is reachable (and must, in CI). The store's business is
//! persistence (statements, transactions, the schema's rules, jobs); what the service decides
//! with them is told by the use cases' own story (`qualify-server`, `usecases/stories.rs`).

// Helpers outside #[test] functions unwrap too: a test should stop loudly where it failed.
#![allow(clippy::unwrap_used)]
// The store takes times as arguments; its tests pass the wall clock's.
#![allow(clippy::disallowed_methods)]

use qualify_domain::{DenialReason, Submission, Verdict, VettingState};
use qualify_store::testing::TestDatabase;
use qualify_store::{
    BillingRecord, ImportedVetting, NewCustomerRecord, NewTenant, NewVettingRequest, Store,
    StoreError, StoreOptions, TenantKind, Tx, Unique, VettingFilter,
};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingRequestId,
    VettingStatus,
};

/// The wall clock's time, to the millisecond, as the store keeps it.
fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_unix_millis(i64::try_from(since_epoch.as_millis()).unwrap()).unwrap()
}

/// A job's claim, completion or failure, each in a transaction of its own (as a runner makes
/// them).
struct InTx<'a>(&'a Store);

fn in_tx(store: &Store) -> InTx<'_> {
    InTx(store)
}

impl InTx<'_> {
    async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
        now: Timestamp,
        only: Option<TenantId>,
    ) -> Result<Option<qualify_store::ClaimedJob>, StoreError> {
        self.0
            .transaction(async |tx: &mut Tx| tx.claim_job(worker, lease, now, only).await)
            .await
    }

    async fn complete_job(
        &self,
        id: i64,
        worker: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.0
            .transaction(async |tx: &mut Tx| tx.complete_job(id, worker, now).await)
            .await
    }

    async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<qualify_store::JobState>, StoreError> {
        self.0
            .transaction(async |tx: &mut Tx| tx.fail_job(id, worker, error, retry_at, now).await)
            .await
    }
}

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
    let created = store
        .transaction(async |tx: &mut Tx| tx.insert_tenant(&tenant, now()).await)
        .await;
    assert!(created.unwrap());
    id
}

async fn insert_customer(
    store: &Store,
    partner: TenantId,
    domain: &str,
) -> Result<CustomerId, StoreError> {
    let id = CustomerId::random();
    let billing = BillingRecord::default();
    let new = NewCustomerRecord {
        id,
        partner_tenant_id: partner,
        domain,
        company_name: "Contoso",
        billing: &billing,
        associated_partner_id: None,
    };
    let record = store
        .transaction(async |tx: &mut Tx| tx.insert_customer(&new, now()).await)
        .await?;
    assert_eq!(record.id, id);
    Ok(id)
}

async fn customer(store: &Store, partner: TenantId, domain: &str) -> CustomerId {
    insert_customer(store, partner, domain).await.unwrap()
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

/// Inserts a request in review, as attempt `attempt`.
async fn insert_request(
    store: &Store,
    partner: TenantId,
    customer: CustomerId,
    attempt: u32,
) -> Result<VettingRequestId, StoreError> {
    let id = VettingRequestId::random();
    let submission = education();
    let new = NewVettingRequest {
        id,
        partner_tenant_id: partner,
        customer_id: customer,
        submission: &submission,
        attempt,
        matched_rule: None,
    };
    store
        .transaction(async |tx: &mut Tx| tx.insert_vetting_request(&new, now()).await)
        .await?;
    Ok(id)
}

/// Records `verdict` on `id`, as its own transaction; true when it was in review.
async fn decide(store: &Store, id: VettingRequestId, verdict: &Verdict, by: &str) -> bool {
    store
        .transaction(async |tx: &mut Tx| tx.decide_vetting_request(id, verdict, by, now()).await)
        .await
        .unwrap()
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
        let err = insert_customer(&store, a, "contoso.onmicrosoft.com")
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate(Unique::CustomerDomain)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn everything_written_is_there_after_reopening() {
    for db in TestDatabase::every_backend("reopen").await {
        let (a, c) = {
            let store = open(&db).await;
            let a = partner(&store, "A").await;
            let c = customer(&store, a, "durable.onmicrosoft.com").await;
            insert_request(&store, a, c, 1).await.unwrap();
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

async fn enqueue(store: &Store, jobs: &[qualify_store::NewJob]) {
    store
        .transaction(async |tx: &mut Tx| tx.enqueue_jobs(jobs, now()).await)
        .await
        .unwrap();
}

fn job(n: usize) -> qualify_store::NewJob {
    qualify_store::NewJob {
        kind: "test.job".into(),
        payload: format!("{{\"n\":{n}}}"),
        run_at: Timestamp::from_unix_millis(0).unwrap(),
        max_attempts: 2,
        clock_partner: None,
        sequence_key: None,
        lane: "decisions",
        receiver: None,
    }
}

#[tokio::test]
async fn a_job_is_leased_to_one_worker_and_taken_over_when_the_lease_expires() {
    use qualify_store::JobState;
    use std::time::Duration;
    for db in TestDatabase::every_backend("job leases").await {
        let store = open(&db).await;
        enqueue(&store, &[job(1)]).await;
        let now = now();
        let lease = Duration::from_secs(30);

        let first = in_tx(&store)
            .claim_job("node-1", lease, now, None)
            .await
            .unwrap()
            .expect("a due job");
        assert_eq!(first.attempt, 1);
        assert!(
            in_tx(&store)
                .claim_job("node-2", lease, now, None)
                .await
                .unwrap()
                .is_none(),
            "leased to node-1"
        );

        // node-1 dies; after its lease ends node-2 takes the job over.
        let later = now.plus_millis(31_000);
        let second = in_tx(&store)
            .claim_job("node-2", lease, later, None)
            .await
            .unwrap()
            .expect("the expired lease");
        assert_eq!((second.id, second.attempt), (first.id, 2));
        assert!(
            !in_tx(&store)
                .complete_job(first.id, "node-1", later)
                .await
                .unwrap(),
            "node-1 lost its lease"
        );
        assert!(
            in_tx(&store)
                .complete_job(second.id, "node-2", later)
                .await
                .unwrap()
        );
        let jobs = store.jobs().await.unwrap();
        assert_eq!((jobs[0].state, jobs[0].attempts), (JobState::Done, 2));
        assert!(
            in_tx(&store)
                .claim_job("node-3", lease, later.plus_millis(60_000), None)
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
        enqueue(&store, &[job(1)]).await;
        let now = now();
        let lease = Duration::from_secs(30);
        let claimed = in_tx(&store)
            .claim_job("w", lease, now, None)
            .await
            .unwrap()
            .unwrap();
        let retry_at = now.plus_millis(10_000);
        assert_eq!(
            in_tx(&store)
                .fail_job(claimed.id, "w", "HTTP 500", retry_at, now)
                .await
                .unwrap(),
            Some(JobState::Pending)
        );
        assert!(
            in_tx(&store)
                .claim_job("w", lease, now.plus_millis(1), None)
                .await
                .unwrap()
                .is_none(),
            "not before its retry"
        );
        let again = in_tx(&store)
            .claim_job("w", lease, retry_at, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.attempt, 2);
        assert_eq!(
            in_tx(&store)
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
        enqueue(&store, &jobs).await;
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(job) = in_tx(&store)
                        .claim_job(&format!("w{w}"), Duration::from_secs(60), now(), None)
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
async fn a_transaction_keeps_all_its_writes_or_none() {
    for db in TestDatabase::every_backend("transactions").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "atomic.onmicrosoft.com").await;
        // Two writes, then a failure: neither write stays, and the failure is the caller's.
        #[derive(Debug, PartialEq)]
        enum Failure {
            Store(String),
            ChangedMind,
        }
        impl From<StoreError> for Failure {
            fn from(error: StoreError) -> Self {
                Self::Store(error.to_string())
            }
        }
        let submission = education();
        let failed: Result<(), Failure> = store
            .transaction(async |tx: &mut Tx| {
                let new = NewVettingRequest {
                    id: VettingRequestId::random(),
                    partner_tenant_id: a,
                    customer_id: c,
                    submission: &submission,
                    attempt: 1,
                    matched_rule: None,
                };
                tx.insert_vetting_request(&new, now()).await?;
                tx.enqueue_jobs(&[job(1)], now()).await?;
                // What the transaction wrote, it reads back.
                let seen = tx.customer_history(a, c).await?;
                assert_eq!(seen.map(|h| h.len()), Some(1));
                Err(Failure::ChangedMind)
            })
            .await;
        assert_eq!(failed, Err(Failure::ChangedMind));
        assert!(
            store
                .customer_history(a, c)
                .await
                .unwrap()
                .unwrap()
                .is_empty()
        );
        assert!(store.jobs().await.unwrap().is_empty());
        // And the writer goes on.
        insert_request(&store, a, c, 1).await.unwrap();
        assert_eq!(
            store.customer_history(a, c).await.unwrap().unwrap().len(),
            1
        );
    }
}

#[tokio::test]
async fn the_schema_keeps_one_held_request_per_customer_and_qualification() {
    for db in TestDatabase::every_backend("held requests").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "held.onmicrosoft.com").await;
        let first = insert_request(&store, a, c, 1).await.unwrap();
        let second = insert_request(&store, a, c, 2).await.unwrap_err();
        assert!(
            matches!(second, StoreError::Duplicate(Unique::HeldQualification)),
            "{second:?}"
        );
        assert!(decide(&store, first, &deny("Not an Education Customer"), "r").await);
        let same_attempt = insert_request(&store, a, c, 1).await.unwrap_err();
        assert!(
            matches!(same_attempt, StoreError::Duplicate(Unique::VettingAttempt)),
            "{same_attempt:?}"
        );
        insert_request(&store, a, c, 2).await.unwrap();
    }
}

#[tokio::test]
async fn of_concurrent_decisions_on_one_request_the_database_lets_exactly_one_through() {
    for db in TestDatabase::every_backend("decision race").await {
        let store = open(&db).await;
        let a = partner(&store, "A").await;
        let c = customer(&store, a, "decide.onmicrosoft.com").await;
        let request = insert_request(&store, a, c, 1).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                let verdict = if n % 2 == 0 {
                    Verdict::Approve
                } else {
                    deny("Not an Education Customer")
                };
                tokio::spawn(
                    async move { decide(&store, request, &verdict, &format!("r{n}")).await },
                )
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
        let decided = store.find_vetting_request(request).await.unwrap().unwrap();
        assert_ne!(decided.state, VettingState::InReview);
        assert!(decided.decided_by.is_some() && decided.decided_at.is_some());
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

/// The read cache (SQLite's, or a PostgreSQL node's) serves what is stored, whoever wrote it
/// (this store, another process on the file, another node), and keeps to its bound when more
/// customers are read than fit.
#[tokio::test]
async fn the_read_cache_serves_what_is_stored_and_keeps_to_its_bound() {
    for db in TestDatabase::every_backend("read cache bound").await {
        let bound = 32 * 1024;
        let mut options = StoreOptions::new(db.url().clone());
        options.read_cache_bytes = bound;
        let store = Store::connect(&options).await.unwrap();
        // What `qualify admin`, or a second server, does to the same database.
        let other_process = open(&db).await;
        let a = partner(&store, "A").await;
        let history = async |store: &Store, customer| {
            let (status, history) = store
                .principal_status_and_history(a, None, None, customer)
                .await
                .unwrap();
            assert!(status.tenant.is_some());
            history.map(|entries| entries.iter().map(|e| e.state.clone()).collect::<Vec<_>>())
        };

        let first = customer(&store, a, "first.example").await;
        assert_eq!(history(&store, first).await, Some(vec![]));
        // Read again from the cache, then written by this store: the next read sees the write.
        assert_eq!(history(&store, first).await, Some(vec![]));
        let request = insert_request(&store, a, first, 1).await.unwrap();
        assert_eq!(
            history(&store, first).await,
            Some(vec![VettingState::InReview])
        );
        // Written by another process: seen as well.
        assert!(decide(&other_process, request, &Verdict::Approve, "reviewer").await);
        assert_eq!(
            history(&store, first).await,
            Some(vec![VettingState::Approved])
        );
        // Imported by another process: seen as well.
        let imported = ImportedVetting {
            id: VettingRequestId::random(),
            customer_id: first,
            partner_tenant_id: a,
            qualification: Qualification::StateOwnedEntity,
            education_segment: None,
            attempt: 1,
            state: VettingState::InReview,
            created_at: now(),
            decided: None,
        };
        other_process
            .import_vetting_requests(&[imported])
            .await
            .unwrap();
        assert_eq!(
            history(&store, first).await,
            Some(vec![VettingState::Approved, VettingState::InReview])
        );
        // Another partner's customer is not the caller's, cached or not.
        let b = partner(&store, "B").await;
        for _ in 0..2 {
            let (_, theirs) = store
                .principal_status_and_history(b, None, None, first)
                .await
                .unwrap();
            assert!(theirs.is_none());
        }

        // Far more customers than fit.
        let mut customers = Vec::new();
        for n in 0..600 {
            customers.push(customer(&store, a, &format!("c{n}.example")).await);
        }
        for &customer in &customers {
            assert_eq!(history(&store, customer).await, Some(vec![]));
        }
        let usage = store.read_cache_usage().unwrap();
        assert!(usage.bytes <= bound, "{usage:?}");
        assert!(usage.histories < 600, "{usage:?}");
        assert!(usage.histories > 0, "{usage:?}");
        // Evicted or not, each reads right.
        for &customer in customers.iter().rev().take(50) {
            assert_eq!(history(&store, customer).await, Some(vec![]));
        }
        assert_eq!(
            history(&store, first).await,
            Some(vec![VettingState::Approved, VettingState::InReview])
        );
    }
}

/// GETs read concurrently each get their own caller's status and their own customer's history,
/// whichever other reads they share a statement with; on PostgreSQL they do share statements.
#[tokio::test]
async fn concurrent_reads_each_get_their_own_answer() {
    for db in TestDatabase::every_backend("concurrent reads").await {
        let store = open(&db).await;
        let (a, b) = (partner(&store, "A").await, partner(&store, "B").await);
        let enabled_app = uuid::Uuid::new_v4();
        let disabled_app = uuid::Uuid::new_v4();
        for app in [enabled_app, disabled_app] {
            let new = qualify_store::NewApp {
                client_id: app,
                tenant_id: a,
                name: "app",
                secret_hash: "not a hash",
                dev: false,
            };
            store
                .transaction(async |tx: &mut Tx| tx.insert_app(&new, now()).await)
                .await
                .unwrap();
        }
        store
            .transaction(async |tx: &mut Tx| tx.set_app_disabled(disabled_app, true, now()).await)
            .await
            .unwrap();
        // Customers with no request, one in review, one approved, two of one qualification.
        let mut customers = Vec::new();
        for (n, partner) in [a, a, a, a, b, b].into_iter().enumerate() {
            let customer = customer(&store, partner, &format!("c{n}.example")).await;
            if n % 4 >= 1 {
                let first = insert_request(&store, partner, customer, 1).await.unwrap();
                if n % 4 >= 2 {
                    assert!(decide(&store, first, &deny("Not a school."), "reviewer").await);
                }
                if n % 4 == 3 {
                    insert_request(&store, partner, customer, 2).await.unwrap();
                }
            }
            customers.push(customer);
        }
        let callers = [
            (a, None),
            (a, Some(enabled_app)),
            (a, Some(disabled_app)),
            (a, Some(uuid::Uuid::new_v4())),
            (b, None),
            (TenantId::random(), None),
        ];
        let mut expected = Vec::new();
        for &(tenant, app) in &callers {
            let status = store.principal_status(tenant, app, None).await.unwrap();
            for &customer in &customers {
                let history = match status.tenant {
                    Some(_) => store.customer_history(tenant, customer).await.unwrap(),
                    None => None,
                };
                expected.push(((tenant, app, customer), (status.clone(), history)));
            }
        }

        // Every read twice over, all at once: the second time, PostgreSQL's node holds the
        // histories it read the first time.
        for _ in 0..2 {
            let mut reads = tokio::task::JoinSet::new();
            for (n, ((tenant, app, customer), _)) in expected.iter().cycle().take(200).enumerate() {
                let (store, tenant, app, customer) = (store.clone(), *tenant, *app, *customer);
                reads.spawn(async move {
                    let answer = store
                        .principal_status_and_history(tenant, app, None, customer)
                        .await
                        .unwrap();
                    (n, answer)
                });
            }
            while let Some(read) = reads.join_next().await {
                let (n, answer) = read.unwrap();
                let (key, wanted) = &expected[n % expected.len()];
                assert_eq!(&answer, wanted, "{key:?}");
            }
        }

        if db.backend() == qualify_store::Backend::Postgres {
            let mut registry = prometheus_client::registry::Registry::default();
            store.register_metrics(&mut registry);
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
            let metric = |name: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
                    .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            };
            let reads = metric("qualify_postgres_get_reads_per_statement_sum");
            let statements = metric("qualify_postgres_get_reads_per_statement_count");
            assert_eq!(reads, 400.0, "{text}");
            assert!(
                statements < reads,
                "{statements} statements for {reads} reads"
            );
        }
        store.close().await;
    }
}
