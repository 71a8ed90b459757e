//! `MS-RequestId` idempotency records: the first response to a partner's request id. Stored in
//! the same transaction as the write it answers (by the layers above, through [`Tx`]), so a
//! retry finds both or neither.

use qualify_types::{TenantId, Timestamp};

use crate::db::{self, Executor};
use crate::records::parse;
use crate::{Store, StoreError, Tx, on_reader};

/// The first response given to one partner's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The partner.
    pub partner_tenant_id: TenantId,
    /// Its `MS-RequestId`.
    pub request_id: String,
    /// A digest of the request (method, path, normalised body); a retry must match it.
    pub fingerprint: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The JSON body answered.
    pub body: String,
}

db::row! {
    pub(crate) struct IdempotencyRow {
        partner_tenant_id: String,
        request_id: String,
        fingerprint: String,
        status: i64,
        body: String,
    }
}

impl TryFrom<IdempotencyRow> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(row: IdempotencyRow) -> Result<Self, StoreError> {
        Ok(Self {
            partner_tenant_id: parse("idempotency_keys.partner_tenant_id", &row.partner_tenant_id)?,
            request_id: row.request_id,
            fingerprint: row.fingerprint,
            status: u16::try_from(row.status).map_err(|_| {
                StoreError::corrupt("idempotency_keys.status", &row.status.to_string())
            })?,
            body: row.body,
        })
    }
}

/// The record of (partner, request id), read on `on`.
async fn find(
    on: impl Executor,
    partner: TenantId,
    request_id: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    const SQL: &str = "SELECT partner_tenant_id, request_id, fingerprint, status, body \
                       FROM idempotency_keys WHERE partner_tenant_id = $1 AND request_id = $2";
    let row: Option<IdempotencyRow> = db::query(SQL)
        .bind(partner.to_string())
        .bind(request_id)
        .fetch_optional(on)
        .await?;
    row.map(IdempotencyRecord::try_from).transpose()
}

impl Tx {
    /// The record stored under a partner's request id, as this transaction sees it.
    pub async fn find_idempotency_record(
        &mut self,
        partner: TenantId,
        request_id: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        find(self, partner, request_id).await
    }

    /// Stores `record`, created at `at`. A partner's request id has one record
    /// ([`crate::Unique::IdempotencyKey`]).
    pub async fn save_idempotency_record(
        &mut self,
        record: &IdempotencyRecord,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO idempotency_keys \
                           (partner_tenant_id, request_id, fingerprint, status, body, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        db::query(SQL)
            .bind(record.partner_tenant_id.to_string())
            .bind(&record.request_id)
            .bind(&record.fingerprint)
            .bind(i64::from(record.status))
            .bind(&record.body)
            .bind(at.unix_millis())
            .execute(self)
            .await?;
        Ok(())
    }

    /// Forgets records created before `cutoff`. Returns how many.
    pub async fn purge_idempotency_records(
        &mut self,
        cutoff: Timestamp,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
        Ok(db::query(SQL)
            .bind(cutoff.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected())
    }
}

impl Store {
    /// The record stored under a partner's request id, if any.
    pub async fn find_idempotency_record(
        &self,
        partner: TenantId,
        request_id: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        on_reader!(self, |pool| find(pool, partner, request_id).await)
    }
}
