//! Throw-away databases filled for a run: customers of partner A, each with a qualification in
//! every state (StateOwnedEntity approved; Education denied, then resubmitted and in review),
//! and fresh customers with none, for submissions.

use qualify_domain::{DenialReason, VettingState};
use qualify_store::testing::TestDatabase;
use qualify_store::{BillingRecord, ImportedVetting, NewCustomerRecord, Store, StoreOptions};
use qualify_types::{
    CustomerId, EducationSegment, Qualification, TenantId, Timestamp, VettingRequestId, dev,
};

/// Customers to read, and customers to submit for.
pub(crate) struct Seeded {
    pub(crate) with_history: Vec<CustomerId>,
    pub(crate) fresh: Vec<CustomerId>,
}

async fn import(
    store: &Store,
    partner: TenantId,
    count: usize,
    prefix: &str,
) -> anyhow::Result<Vec<CustomerId>> {
    let ids: Vec<CustomerId> = (0..count).map(|_| CustomerId::random()).collect();
    let billing = BillingRecord::default();
    for (chunk_index, chunk) in ids.chunks(50_000).enumerate() {
        let domains: Vec<String> = (0..chunk.len())
            .map(|n| format!("{prefix}{}-{n}.onmicrosoft.com", chunk_index))
            .collect();
        let records: Vec<NewCustomerRecord<'_>> = chunk
            .iter()
            .zip(&domains)
            .map(|(id, domain)| NewCustomerRecord {
                id: *id,
                partner_tenant_id: partner,
                domain,
                company_name: "Bench",
                billing: &billing,
                associated_partner_id: None,
            })
            .collect();
        store.import_customers(&records, seeded_at()).await?;
    }
    Ok(ids)
}

/// Fills `db` (whose schema and dev identities a server already created) for partner A.
pub(crate) async fn populate(
    db: &TestDatabase,
    with_history: usize,
    fresh: usize,
) -> anyhow::Result<Seeded> {
    let partner: TenantId = dev::PARTNER_A
        .tenant_id
        .parse()
        .map_err(|_| anyhow::anyhow!("partner A's id"))?;
    populate_for(db, partner, with_history, fresh).await
}

/// Fills `db` with `partner`'s customers.
pub(crate) async fn populate_for(
    db: &TestDatabase,
    partner: TenantId,
    with_history: usize,
    fresh: usize,
) -> anyhow::Result<Seeded> {
    let store = Store::connect(&StoreOptions::new(db.url().clone())).await?;
    let read = import(&store, partner, with_history, "read").await?;
    let reason =
        DenialReason::parse("Not an Education Customer").map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = seeded_at();
    for chunk in read.chunks(20_000) {
        let mut history = Vec::with_capacity(chunk.len() * 3);
        for customer in chunk {
            let request = |qualification, segment, attempt, state: VettingState, decided: bool| {
                ImportedVetting {
                    id: VettingRequestId::random(),
                    customer_id: *customer,
                    partner_tenant_id: partner,
                    qualification,
                    education_segment: segment,
                    attempt,
                    state,
                    created_at: now,
                    decided: decided.then(|| (now, "reviewer@operator.test".to_owned())),
                }
            };
            history.push(request(
                Qualification::StateOwnedEntity,
                None,
                1,
                VettingState::Approved,
                true,
            ));
            history.push(request(
                Qualification::Education,
                Some(EducationSegment::K12),
                1,
                VettingState::Denied(reason.clone()),
                true,
            ));
            history.push(request(
                Qualification::Education,
                Some(EducationSegment::K12),
                2,
                VettingState::InReview,
                false,
            ));
        }
        store.import_vetting_requests(&history).await?;
    }
    let fresh = import(&store, partner, fresh, "fresh").await?;
    store.close().await;
    Ok(Seeded {
        with_history: read,
        fresh,
    })
}

/// When seeded rows say they were made: now, by the wall clock (the server under test runs on
/// it too).
fn seeded_at() -> Timestamp {
    qualify_app::wall_now()
}
