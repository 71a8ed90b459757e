//! What a GET of a customer's qualifications asks PostgreSQL: the caller's status and the
//! customer's version from one snapshot, and the customer's requests only when this node does not
//! hold that version's history (`read_cache/versioned.rs`); one statement, merged with the other
//! GETs waiting at the time (`db/batched.rs`).

use qualify_types::{CustomerId, TenantId};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::admin;
use crate::db::{self, Batched, BatchedRead};
use crate::history::{HistoryEntry, HistoryRow, caller_and_history_rows, history, history_query};
use crate::read_cache::versioned::{CustomerVersion, VersionedHistories};
use crate::{PrincipalStatus, StoreError};

/// The caller's status beside the customer's version (`seq`, `vetting_version`), and the
/// customer's requests only when that version is not the one the node holds (`held_seq`,
/// `held_vetting`): for every key of a batch. The condition is on the outer row alone, so the
/// planner makes it a one-time filter: for a customer that has not changed, the requests' index
/// is not touched. (The inner `ORDER BY` keeps the subquery from being flattened into a plain
/// join, where the condition would filter the requests after reading them.) A key whose tenant
/// does not exist has no row.
const STATUS_AND_VERSIONED_HISTORY_SQL: &str = "SELECT k.place, \
    t.id, t.kind, t.name, t.dev, t.disabled_at, \
    a.client_id AS app_found, a.disabled_at AS app_disabled_at, \
    u.role AS user_role, u.disabled_at AS user_disabled_at, \
    c.seq AS customer_seq, c.vetting_version, \
    v.qualification, v.status, v.reason, v.attempt, v.created_at \
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) \
        WITH ORDINALITY AS k(tenant, app, usr, customer, held_seq, held_vetting, place) \
    JOIN tenants t ON t.id = k.tenant \
    LEFT JOIN apps a ON a.client_id = k.app AND a.tenant_id = t.id \
    LEFT JOIN users u ON u.id = k.usr AND u.tenant_id = t.id \
    LEFT JOIN customers c ON c.id = k.customer AND c.partner_tenant_id = t.id \
    LEFT JOIN LATERAL (SELECT r.seq, r.qualification, r.status, r.reason, r.attempt, r.created_at \
        FROM vetting_requests r \
        WHERE r.customer_id = c.id \
            AND (c.seq <> k.held_seq OR c.vetting_version <> k.held_vetting) \
        ORDER BY r.seq) v ON true \
    ORDER BY k.place, v.seq";

/// One GET's read: whose status, which customer, and the version of its history the node holds.
pub(crate) struct StatusAndHistoryKey {
    caller: (TenantId, Option<Uuid>, Option<Uuid>),
    customer: CustomerId,
    held: CustomerVersion,
}

/// A row of `STATUS_AND_VERSIONED_HISTORY_SQL`.
pub(crate) struct StatusVersionedHistoryRow {
    status: admin::StatusRow,
    /// `None` when the customer is not the tenant's.
    customer: Option<CustomerVersion>,
    history: HistoryRow,
}

impl db::FromRow for StatusVersionedHistoryRow {
    fn from_row(row: &impl db::Row) -> Result<Self, StoreError> {
        let seq: Option<i64> = db::Row::get_expected_at(row, 10, "customer_seq")?;
        let vetting: Option<i64> = db::Row::get_expected_at(row, 11, "vetting_version")?;
        Ok(Self {
            status: admin::StatusRow::from_row_at(row, 1)?,
            customer: seq
                .zip(vetting)
                .map(|(seq, vetting)| CustomerVersion { seq, vetting }),
            history: HistoryRow::from_row_at(row, 12)?,
        })
    }
}

/// The GETs' read, merged.
pub(crate) struct StatusAndHistory;

impl BatchedRead for StatusAndHistory {
    type Key = StatusAndHistoryKey;
    type Row = StatusVersionedHistoryRow;
    const SQL: &'static str = STATUS_AND_VERSIONED_HISTORY_SQL;

    fn parameters(keys: &[Self::Key]) -> Vec<Box<dyn ToSql + Send + Sync>> {
        /// One array parameter: `value` of every key.
        fn array<T: ToSql + Send + Sync + 'static>(
            keys: &[StatusAndHistoryKey],
            value: fn(&StatusAndHistoryKey) -> T,
        ) -> Box<dyn ToSql + Send + Sync> {
            Box::new(keys.iter().map(value).collect::<Vec<T>>())
        }
        vec![
            array(keys, |key| key.caller.0.to_string()),
            array(keys, |key| key.caller.1.map(|app| app.to_string())),
            array(keys, |key| key.caller.2.map(|user| user.to_string())),
            array(keys, |key| key.customer.to_string()),
            array(keys, |key| key.held.seq),
            array(keys, |key| key.held.vetting),
        ]
    }
}

/// `Store::principal_status_and_history` on PostgreSQL: through `reads`, with the node's
/// `histories` unless it keeps none.
pub(crate) async fn status_and_history(
    reads: &Batched<StatusAndHistory>,
    pipeline: &db::Pipeline,
    histories: Option<&VersionedHistories>,
    caller: (TenantId, Option<Uuid>, Option<Uuid>),
    customer: CustomerId,
) -> Result<(PrincipalStatus, Option<Vec<HistoryEntry>>), StoreError> {
    let partner = caller.0;
    let held = histories.map(|histories| histories.held(customer));
    let held_version = held
        .as_ref()
        .map_or(CustomerVersion::NONE, |held| held.version());
    let rows = reads
        .read(StatusAndHistoryKey {
            caller,
            customer,
            held: held_version,
        })
        .await?;
    let (found, mut history_rows) = caller_and_history_rows(
        rows.into_iter()
            .map(|row| ((row.status, row.customer), row.history)),
    );
    // No row: no such tenant, so no status and no customer of its.
    let Some((status_row, customer_version)) = found else {
        return Ok((admin::principal_status(None)?, None));
    };
    let status = admin::principal_status(Some(status_row))?;
    let Some(version) = customer_version else {
        return Ok((status, None));
    };
    if version == held_version {
        // The database did not send the requests: they are the ones held.
        if let Some(history) = held.and_then(|held| held.history_at(partner, version)) {
            return Ok((status, Some(history)));
        }
        // Held bytes that don't read back: read the requests after all.
        history_rows = history_query(partner, customer).fetch_all(pipeline).await?;
    }
    let history = history(history_rows)?;
    if let (Some(histories), Some(history)) = (histories, &history) {
        histories.keep(partner, customer, version, history);
    }
    Ok((status, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{Pool, Store, StoreOptions};

    /// The point of `STATUS_AND_VERSIONED_HISTORY_SQL`: PostgreSQL's generic plan, the one a
    /// prepared statement settles on, reads the requests only behind the version check, and
    /// each customer by its id.
    #[tokio::test]
    async fn postgres_reads_the_requests_only_when_the_version_moved() {
        let Some(db) = TestDatabase::postgres("versioned history plan").await else {
            return;
        };
        let store = Store::connect(&StoreOptions::new(db.url().clone()))
            .await
            .unwrap();
        let Pool::Postgres(pool, ..) = &store.pool else {
            panic!("a PostgreSQL store");
        };
        let mut conn = pool.acquire().await.unwrap();
        for sql in [
            // Customers to choose among, so that the planner weighs the indexes as it would in
            // use (an empty table's are any).
            "INSERT INTO tenants (id, kind, name, created_at) VALUES ('t', 'partner', 'T', 0)"
                .to_owned(),
            "INSERT INTO customers (id, partner_tenant_id, domain, company_name, created_at) \
             SELECT 'c' || n, 't', 'd' || n, 'C', 0 FROM generate_series(1, 2000) AS n"
                .to_owned(),
            "ANALYZE".to_owned(),
            "SET plan_cache_mode = force_generic_plan".to_owned(),
            format!(
                "PREPARE status_and_history (text[], text[], text[], text[], bigint[], bigint[]) \
                 AS {STATUS_AND_VERSIONED_HISTORY_SQL}"
            ),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let plan: Vec<String> = sqlx::query_scalar(
            "EXPLAIN (COSTS OFF) EXECUTE status_and_history \
             ('{t}', '{a}', '{u}', '{c}', '{0}', '{0}')",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let gate = plan
            .iter()
            .position(|line| {
                line.contains(
                    "One-Time Filter: ((c.seq <> k.held_seq) OR \
                     (c.vetting_version <> k.held_vetting))",
                )
            })
            .unwrap_or_else(|| panic!("no version check gates the requests:\n{plan:#?}"));
        let requests = plan
            .iter()
            .position(|line| line.contains("on vetting_requests r"))
            .unwrap_or_else(|| panic!("the requests are not read:\n{plan:#?}"));
        assert!(gate < requests, "{plan:#?}");
        assert!(
            plan.iter()
                .any(|line| line.contains("Index Scan using customers_id_key on customers c")),
            "customers are not read by their id's index:\n{plan:#?}"
        );
        drop(conn);
        store.close().await;
    }
}
