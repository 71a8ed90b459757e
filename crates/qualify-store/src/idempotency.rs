//! `MS-RequestId` idempotency. The first response to a partner's request id is stored in the
//! same transaction as the write it answers, so a retry either finds both or neither.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::records::parse;
use crate::{Store, StoreError, on_reader, on_writer};

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

/// What a write with an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    /// It wrote, and stored its response under the key.
    Fresh(T),
    /// The key was used before: nothing was written; here is what was stored under it.
    Replayed(IdempotencyRecord),
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

/// Finds the record of (partner, request id).
pub(crate) const FIND_SQL: &str = "SELECT partner_tenant_id, request_id, fingerprint, status, body \
                                   FROM idempotency_keys WHERE partner_tenant_id = $1 AND request_id = $2";
/// Stores a record; the primary key refuses a second one for the same (partner, request id).
pub(crate) const INSERT_SQL: &str = "INSERT INTO idempotency_keys \
                                     (partner_tenant_id, request_id, fingerprint, status, body, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6)";

impl Store {
    /// The record stored under a partner's request id, if any.
    pub async fn find_idempotency_record(
        &self,
        partner: TenantId,
        request_id: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row: Option<IdempotencyRow> = on_reader!(self, |pool| db::query(FIND_SQL)
            .bind(partner.to_string())
            .bind(request_id)
            .fetch_optional(pool)
            .await?);
        row.map(IdempotencyRecord::try_from).transpose()
    }

    /// Forgets records created before `cutoff`. Returns how many.
    pub async fn purge_idempotency_records(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
        Ok(on_writer!(self, |pool| db::query(SQL)
            .bind(cutoff.unix_millis())
            .execute(pool)
            .await?
            .rows_affected()))
    }

    /// After a write with `record` failed with a conflict: was it a concurrent retry of the same
    /// request that won the race? Then the answer is that request's stored response.
    pub(crate) async fn replay_after_conflict<T>(
        &self,
        record: Option<&IdempotencyRecord>,
        outcome: Result<Written<T>, StoreError>,
    ) -> Result<Written<T>, StoreError> {
        match (outcome, record) {
            (Err(StoreError::Conflict(conflict)), Some(record)) => {
                match self
                    .find_idempotency_record(record.partner_tenant_id, &record.request_id)
                    .await?
                {
                    Some(stored) => Ok(Written::Replayed(stored)),
                    None => Err(StoreError::Conflict(conflict)),
                }
            }
            (outcome, _) => outcome,
        }
    }
}
