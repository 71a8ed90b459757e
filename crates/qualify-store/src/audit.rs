//! The audit trail's rows: who did what to which subject, when, and why; and, for a change to a
//! partner's customer, what Partner Center's audit records show of it (the partner, the
//! customer, the operation, the resource before and after). The layers above write each one
//! through [`Tx::record_audit`], in the transaction of the change it records, so the trail
//! never misses nor invents a change.

use qualify_types::{CustomerId, TenantId, Timestamp};

use crate::db;
use crate::records::timestamp;
use crate::{Store, StoreError, Tx, on_reader};

/// One event of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// When it happened.
    pub at: Timestamp,
    /// The tenant of whoever did it (`operator` for the operator's command line).
    pub actor_tenant: &'a str,
    /// Who did it: a user's sign-in name, `app:<client id>`, `rule:<name>`, `admin-cli:<user>`.
    pub actor: &'a str,
    /// What was done, e.g. `vetting.submitted`.
    pub action: &'a str,
    /// The id of what it was done to.
    pub subject: &'a str,
    /// Details, as JSON text.
    pub detail: &'a str,
    /// For a change to a partner's customer: the partner's audit record of it.
    pub change: Option<AuditedChange<'a>>,
}

/// What a partner's audit record says of a change to one of its customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedChange<'a> {
    /// The partner whose customer it is: the one who sees the record.
    pub partner: TenantId,
    /// The customer.
    pub customer: CustomerId,
    /// The customer's company name, as it was.
    pub customer_name: &'a str,
    /// Partner Center's resource type, e.g. `customer`.
    pub resource_type: &'a str,
    /// Partner Center's operation type, e.g. `add_customer`.
    pub operation_type: &'a str,
    /// The application that acted (a client id, or a service's name).
    pub application_id: Option<&'a str>,
    /// The user who acted.
    pub user_principal_name: Option<&'a str>,
    /// The resource before the change (JSON).
    pub old_value: Option<&'a str>,
    /// The resource after it (JSON).
    pub new_value: Option<&'a str>,
}

db::row! {
    struct Inserted {
        seq: i64,
    }
}

impl Tx {
    /// Appends `event` to the audit trail; its position there.
    pub async fn record_audit(&mut self, event: &AuditEvent<'_>) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO audit_events (at, actor_tenant_id, actor, action, subject_id, detail, \
                               partner_tenant_id, customer_id, customer_name, resource_type, operation_type, \
                               application_id, user_principal_name, old_value, new_value) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                           RETURNING seq";
        let change = event.change.as_ref();
        let inserted: Inserted = db::query(SQL)
            .bind(event.at.unix_millis())
            .bind(event.actor_tenant)
            .bind(event.actor)
            .bind(event.action)
            .bind(event.subject)
            .bind(event.detail)
            .bind(change.map(|c| c.partner.to_string()))
            .bind(change.map(|c| c.customer.to_string()))
            .bind(change.map(|c| c.customer_name))
            .bind(change.map(|c| c.resource_type))
            .bind(change.map(|c| c.operation_type))
            .bind(change.and_then(|c| c.application_id))
            .bind(change.and_then(|c| c.user_principal_name))
            .bind(change.and_then(|c| c.old_value))
            .bind(change.and_then(|c| c.new_value))
            .fetch_one(self)
            .await?;
        Ok(inserted.seq)
    }
}

/// An event of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its position in the trail.
    pub seq: i64,
    /// When it happened.
    pub at: Timestamp,
    /// The tenant of whoever did it.
    pub actor_tenant: String,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// The id of what it was done to.
    pub subject: String,
    /// Details, as JSON text.
    pub detail: String,
    /// The partner whose customer it concerns, if any.
    pub partner: Option<String>,
    /// The customer.
    pub customer: Option<String>,
    /// The customer's company name, as it was.
    pub customer_name: Option<String>,
    /// Partner Center's resource type.
    pub resource_type: Option<String>,
    /// Partner Center's operation type.
    pub operation_type: Option<String>,
    /// The application that acted.
    pub application_id: Option<String>,
    /// The user who acted.
    pub user_principal_name: Option<String>,
    /// The resource before (JSON).
    pub old_value: Option<String>,
    /// The resource after (JSON).
    pub new_value: Option<String>,
}

db::row! {
    struct AuditRow {
        seq: i64,
        at: i64,
        actor_tenant_id: String,
        actor: String,
        action: String,
        subject_id: String,
        detail: String,
        partner_tenant_id: Option<String>,
        customer_id: Option<String>,
        customer_name: Option<String>,
        resource_type: Option<String>,
        operation_type: Option<String>,
        application_id: Option<String>,
        user_principal_name: Option<String>,
        old_value: Option<String>,
        new_value: Option<String>,
    }
}

/// The columns [`AuditRow`] reads, in its order.
macro_rules! audit_select {
    () => {
        "SELECT seq, at, actor_tenant_id, actor, action, subject_id, detail, partner_tenant_id, \
         customer_id, customer_name, resource_type, operation_type, application_id, \
         user_principal_name, old_value, new_value FROM audit_events "
    };
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.seq,
            at: timestamp("audit_events.at", row.at)?,
            actor_tenant: row.actor_tenant_id,
            actor: row.actor,
            action: row.action,
            subject: row.subject_id,
            detail: row.detail,
            partner: row.partner_tenant_id,
            customer: row.customer_id,
            customer_name: row.customer_name,
            resource_type: row.resource_type,
            operation_type: row.operation_type,
            application_id: row.application_id,
            user_principal_name: row.user_principal_name,
            old_value: row.old_value,
            new_value: row.new_value,
        })
    }
}

/// Which audit records to read: a partner's (or everyone's), in a period, optionally of one
/// customer, of companies whose name contains a text, or of one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this partner's records; `None`: every record, the operator's own too.
    pub partner: Option<TenantId>,
    /// From this moment, inclusive.
    pub from: Timestamp,
    /// Until this one, exclusive.
    pub until: Timestamp,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only customers whose company name contains this, in any case.
    pub company_name_contains: Option<String>,
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// Oldest first (Partner Center's order), or newest first (an operator looking for today's).
    pub newest_first: bool,
}

/// A page of audit records, and the position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records, in the query's order.
    pub records: Vec<AuditRecord>,
    /// Where the next page starts, when there is one.
    pub next_after: Option<i64>,
}

/// `text` as a `LIKE … ESCAPE '\'` pattern matching any value that contains it, lower-cased.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Up to `limit` events of the audit trail after position `after`, oldest first.
    pub async fn audit_trail(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = concat!(audit_select!(), "WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<AuditRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(AuditRecord::try_from).collect()
    }

    /// The records `query` selects, in the order they happened (by date, then by position in
    /// the trail) or the reverse, up to `limit` of them after the record at position `after` in
    /// that order.
    pub async fn audit_records(
        &self,
        query: &AuditQuery,
        after: Option<i64>,
        limit: u32,
    ) -> Result<AuditPage, StoreError> {
        // The filters after the partner's (or everyone's) records in the period: the partner's
        // are read through their own index, so each query is a statement of its own. `$after`
        // is `>` with `ASC` as `$order` and `<` with `DESC`: the page after `$7` in either.
        macro_rules! filtered {
            ($who:literal, $after:literal, $order:literal) => {
                concat!(
                    audit_select!(),
                    "WHERE ",
                    $who,
                    " AND at >= $2 AND at < $3 \
                     AND ($4 IS NULL OR customer_id = $4) \
                     AND ($5 IS NULL OR lower(customer_name) LIKE $5 ESCAPE '\\') \
                     AND ($6 IS NULL OR resource_type = $6) \
                     AND ($7 IS NULL OR at ",
                    $after,
                    " (SELECT p.at FROM audit_events p WHERE p.seq = $7) \
                          OR (at = (SELECT p.at FROM audit_events p WHERE p.seq = $7) AND seq ",
                    $after,
                    " $7)) \
                     ORDER BY at ",
                    $order,
                    ", seq ",
                    $order,
                    " LIMIT $8"
                )
            };
        }
        const PARTNERS: &str = filtered!("partner_tenant_id = $1", ">", "ASC");
        const PARTNERS_NEWEST: &str = filtered!("partner_tenant_id = $1", "<", "DESC");
        // Everyone's, the operator's own records (tenants, applications) too; `$1` is unused.
        const EVERYONE: &str = filtered!("($1 IS NULL OR TRUE)", ">", "ASC");
        const EVERYONE_NEWEST: &str = filtered!("($1 IS NULL OR TRUE)", "<", "DESC");
        let sql = match (query.partner.is_some(), query.newest_first) {
            (true, false) => PARTNERS,
            (true, true) => PARTNERS_NEWEST,
            (false, false) => EVERYONE,
            (false, true) => EVERYONE_NEWEST,
        };
        let mut rows: Vec<AuditRow> = on_reader!(self, |pool| db::query(sql)
            .bind(query.partner.map(|p| p.to_string()))
            .bind(query.from.unix_millis())
            .bind(query.until.unix_millis())
            .bind(query.customer.map(|c| c.to_string()))
            .bind(query.company_name_contains.as_deref().map(contains_pattern))
            .bind(query.resource_type.as_deref())
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_after = more.then(|| rows.last().map(|row| row.seq)).flatten();
        let records = rows
            .into_iter()
            .map(AuditRecord::try_from)
            .collect::<Result<_, _>>()?;
        Ok(AuditPage {
            records,
            next_after,
        })
    }

    /// The record at position `seq`, if there is one.
    pub async fn audit_record(&self, seq: i64) -> Result<Option<AuditRecord>, StoreError> {
        const SQL: &str = concat!(audit_select!(), "WHERE seq = $1");
        let row: Option<AuditRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(seq)
            .fetch_optional(pool)
            .await?);
        row.map(AuditRecord::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{
        BillingRecord, NewCustomerRecord, NewTenant, NewVettingRequest, StoreOptions, TenantKind,
    };
    use qualify_domain::Submission;
    use qualify_types::{Qualification, VettingRequestId};

    /// The statements of migration 0008 that attribute earlier records to their partners,
    /// without their comments (which may hold a `;`).
    fn backfill(store: &Store) -> Vec<&'static str> {
        let script = match store.backend() {
            crate::Backend::Sqlite => include_str!("../migrations/sqlite/0008_audit_records.sql"),
            crate::Backend::Postgres => {
                include_str!("../migrations/postgres/0008_audit_records.sql")
            }
        };
        let (_, backfill) = script
            .split_once("-- Records written before this migration")
            .expect("the migration's backfill");
        let (_, backfill) = backfill.split_once('\n').expect("the marker's line ends");
        let code: String = backfill
            .lines()
            .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
            .collect::<Vec<_>>()
            .join("\n");
        // A test's dynamic statements: the query API takes static SQL.
        let code: &'static str = Box::leak(code.into_boxed_str());
        code.split(';').filter(|s| !s.trim().is_empty()).collect()
    }

    #[tokio::test]
    async fn records_written_before_migration_8_become_their_partners_records() {
        for db in TestDatabase::every_backend("audit backfill").await {
            let store = Store::connect(&StoreOptions::new(db.url().clone()))
                .await
                .unwrap();
            let at = Timestamp::from_unix_millis(1_700_000_000_000).unwrap();
            let partner = TenantId::random();
            let customer = CustomerId::random();
            let request = VettingRequestId::random();
            let submission =
                Submission::from_api(Qualification::StateOwnedEntity, None, None, None).unwrap();
            store
                .transaction(async |tx: &mut Tx| {
                    let tenant = NewTenant {
                        id: partner,
                        kind: TenantKind::Partner,
                        name: "Old",
                        dev: false,
                    };
                    tx.insert_tenant(&tenant, at).await?;
                    let billing = BillingRecord::default();
                    let new = NewCustomerRecord {
                        id: customer,
                        partner_tenant_id: partner,
                        domain: "old.onmicrosoft.com",
                        company_name: "Old Contoso",
                        billing: &billing,
                        associated_partner_id: None,
                    };
                    tx.insert_customer(&new, at).await?;
                    let new = NewVettingRequest {
                        id: request,
                        partner_tenant_id: partner,
                        customer_id: customer,
                        submission: &submission,
                        attempt: 1,
                        matched_rule: None,
                    };
                    tx.insert_vetting_request(&new, at).await?;
                    // As the code before migration 0008 wrote them.
                    for (actor, action, subject) in [
                        ("app:c1", "customer.created", customer.to_string()),
                        ("ops@old.example", "vetting.submitted", request.to_string()),
                        (
                            "alice@vetting.example",
                            "vetting.decided",
                            request.to_string(),
                        ),
                    ] {
                        tx.record_audit(&AuditEvent {
                            at,
                            actor_tenant: "t",
                            actor,
                            action,
                            subject: &subject,
                            detail: "{}",
                            change: None,
                        })
                        .await?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
            for statement in backfill(&store) {
                store
                    .transaction(async |tx: &mut Tx| {
                        db::query(statement).execute(tx).await?;
                        Ok::<_, StoreError>(())
                    })
                    .await
                    .unwrap();
            }
            let query = AuditQuery {
                partner: Some(partner),
                from: at,
                until: at.plus_millis(1),
                customer: None,
                company_name_contains: None,
                resource_type: None,
                newest_first: false,
            };
            let records = store.audit_records(&query, None, 10).await.unwrap().records;
            let seen: Vec<_> = records
                .iter()
                .map(|r| {
                    (
                        r.operation_type.as_deref(),
                        r.application_id.as_deref(),
                        r.user_principal_name.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                seen,
                [
                    (Some("add_customer"), Some("c1"), None),
                    (
                        Some("update_customer_qualification"),
                        None,
                        Some("ops@old.example")
                    ),
                    (
                        Some("decide_customer_qualification"),
                        Some("VettingService"),
                        None
                    ),
                ]
            );
            for record in &records {
                assert_eq!(
                    record.customer.as_deref(),
                    Some(customer.to_string().as_str())
                );
                assert_eq!(record.customer_name.as_deref(), Some("Old Contoso"));
                assert_eq!(record.resource_type.as_deref(), Some("customer"));
            }
        }
    }

    #[test]
    fn a_company_name_pattern_escapes_likes_wildcards() {
        assert_eq!(contains_pattern("Contoso"), "%contoso%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
