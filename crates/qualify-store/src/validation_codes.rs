//! GCC validation codes: issued to a partner by the operator, spent by GCC submissions. The
//! schema keeps their remaining creates from going below zero.

use qualify_types::{TenantId, Timestamp};

use crate::db;
use crate::records::ValidationCodeRow;
use crate::{Store, StoreError, Tx, ValidationCodeRecord, on_reader};

/// A validation code to issue.
#[derive(Debug, Clone)]
pub struct NewValidationCode<'a> {
    /// The partner it is issued to.
    pub partner_tenant_id: TenantId,
    /// The code.
    pub validation_id: &'a str,
    /// The government organisation it is for.
    pub organization_name: &'a str,
    /// How many customers it may qualify.
    pub max_creates: u32,
    /// A well-known development identity.
    pub dev: bool,
}

/// What spending one create of a validation code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSpent {
    /// One create was spent.
    Spent,
    /// The partner has no such code.
    NoSuchCode,
    /// The code has no creates left.
    NoneLeft,
}

impl Tx {
    /// Spends one create of the partner's validation code `code`, at `at`.
    pub async fn spend_validation_code(
        &mut self,
        partner: TenantId,
        code: &str,
        at: Timestamp,
    ) -> Result<CodeSpent, StoreError> {
        const SPEND: &str = "UPDATE validation_codes SET remaining_creates = remaining_creates - 1, updated_at = $3 \
                             WHERE partner_tenant_id = $1 AND validation_id = $2 AND remaining_creates > 0";
        const EXISTS: &str = "SELECT COUNT(*) FROM validation_codes WHERE partner_tenant_id = $1 AND validation_id = $2";
        let spent = db::query(SPEND)
            .bind(partner.to_string())
            .bind(code)
            .bind(at.unix_millis())
            .execute(&mut *self)
            .await?
            .rows_affected();
        if spent == 1 {
            return Ok(CodeSpent::Spent);
        }
        let exists: i64 = db::query(EXISTS)
            .bind(partner.to_string())
            .bind(code)
            .fetch_one(self)
            .await?;
        Ok(if exists == 0 {
            CodeSpent::NoSuchCode
        } else {
            CodeSpent::NoneLeft
        })
    }

    /// Issues a validation code unless the partner already has one with this id. True when
    /// it was issued.
    pub async fn insert_validation_code(
        &mut self,
        code: &NewValidationCode<'_>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO validation_codes \
                           (partner_tenant_id, validation_id, organization_name, max_creates, remaining_creates, dev, updated_at) \
                           VALUES ($1, $2, $3, $4, $4, $5, $6) ON CONFLICT DO NOTHING";
        let done = db::query(SQL)
            .bind(code.partner_tenant_id.to_string())
            .bind(code.validation_id)
            .bind(code.organization_name)
            .bind(i64::from(code.max_creates))
            .bind(i64::from(code.dev))
            .bind(at.unix_millis())
            .execute(self)
            .await?
            .rows_affected();
        Ok(done == 1)
    }
}

impl Store {
    /// The validation codes of `partner` (or every partner's), in partner and code order.
    pub async fn validation_codes(
        &self,
        partner: Option<TenantId>,
    ) -> Result<Vec<ValidationCodeRecord>, StoreError> {
        const SQL: &str = "SELECT partner_tenant_id, validation_id, organization_name, max_creates, remaining_creates, updated_at \
                           FROM validation_codes WHERE ($1 IS NULL OR partner_tenant_id = $1) \
                           ORDER BY partner_tenant_id, validation_id";
        let rows: Vec<ValidationCodeRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.map(|p| p.to_string()))
            .fetch_all(pool)
            .await?);
        rows.into_iter()
            .map(ValidationCodeRecord::try_from)
            .collect()
    }
}
