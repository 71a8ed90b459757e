//! Customers: created by a partner, visible only to that partner.

use qualify_types::{CustomerId, TenantId, Timestamp};

use crate::db;
use crate::idempotency::{self, IdempotencyRow};
use crate::records::CustomerRow;
use crate::{
    BillingRecord, Conflict, CustomerRecord, IdempotencyRecord, Store, StoreError, Written, audit,
    in_transaction, on_reader,
};

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomerRecord<'a> {
    /// Its tenant id, chosen by the caller.
    pub id: CustomerId,
    /// The partner creating it.
    pub partner_tenant_id: TenantId,
    /// Its domain (already validated, lower case).
    pub domain: &'a str,
    /// Its company name.
    pub company_name: &'a str,
    /// Billing details.
    pub billing: &'a BillingRecord,
    /// Who creates it, for the audit trail.
    pub actor: &'a str,
}

/// A page of a partner's customers, oldest first.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    /// The customers of this page.
    pub customers: Vec<CustomerRecord>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<i64>,
}

/// Inserts one customer: the statement, with `$suffix` (e.g. a `RETURNING` clause) appended.
macro_rules! insert_customer_sql {
    ($suffix:expr) => {
        concat!(
            "INSERT INTO customers (id, partner_tenant_id, domain, company_name, email, culture, language, \
             billing_company_name, country, region, city, address_line1, postal_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            $suffix
        )
    };
}

/// Binds a [`NewCustomerRecord`] and its creation time to an `insert_customer_sql!` statement.
macro_rules! bind_customer {
    ($query:expr, $new:expr, $at:expr) => {
        $query
            .bind($new.id.to_string())
            .bind($new.partner_tenant_id.to_string())
            .bind($new.domain)
            .bind($new.company_name)
            .bind($new.billing.email.as_deref())
            .bind($new.billing.culture.as_deref())
            .bind($new.billing.language.as_deref())
            .bind($new.billing.company_name.as_deref())
            .bind($new.billing.country.as_deref())
            .bind($new.billing.region.as_deref())
            .bind($new.billing.city.as_deref())
            .bind($new.billing.address_line1.as_deref())
            .bind($new.billing.postal_code.as_deref())
            .bind($at.unix_millis())
    };
}

macro_rules! customer_columns {
    () => {
        "seq, id, partner_tenant_id, domain, company_name, email, culture, language, \
         billing_company_name, country, region, city, address_line1, postal_code, created_at"
    };
}

impl Store {
    /// Creates a customer. With `idempotency`, a repeat of the same partner's request id
    /// creates nothing and returns the first response instead.
    pub async fn create_customer(
        &self,
        new: &NewCustomerRecord<'_>,
        at: Timestamp,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Written<CustomerRecord>, StoreError> {
        const INSERT: &str = insert_customer_sql!(concat!(" RETURNING ", customer_columns!()));
        let partner = new.partner_tenant_id.to_string();
        let detail = serde_json::json!({ "domain": new.domain, "companyName": new.company_name })
            .to_string();
        let outcome = in_transaction!(self, |tx| {
            if let Some(record) = idempotency {
                let stored: Option<IdempotencyRow> = db::query(idempotency::FIND_SQL)
                    .bind(&partner)
                    .bind(&record.request_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(stored) = stored {
                    return Ok(Written::Replayed(stored.try_into()?));
                }
            }
            let row: CustomerRow = bind_customer!(db::query(INSERT), new, at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(Conflict::Unique(_)) => {
                        StoreError::from(Conflict::CustomerDomainTaken(new.domain.to_owned()))
                    }
                    other => other,
                })?;
            db::query(audit::INSERT_SQL)
                .bind(at.unix_millis())
                .bind(&partner)
                .bind(new.actor)
                .bind("customer.created")
                .bind(new.id.to_string())
                .bind(&detail)
                .execute(&mut *tx)
                .await?;
            if let Some(record) = idempotency {
                db::query(idempotency::INSERT_SQL)
                    .bind(&partner)
                    .bind(&record.request_id)
                    .bind(&record.fingerprint)
                    .bind(i64::from(record.status))
                    .bind(&record.body)
                    .bind(at.unix_millis())
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Written::Fresh(CustomerRecord::try_from(row)?))
        });
        self.replay_after_conflict(idempotency, outcome).await
    }

    /// Imports many customers at once, in transactions of up to 10,000 (one audit event per
    /// transaction): for seeding benchmarks and migrating from another system.
    pub async fn import_customers(
        &self,
        customers: &[NewCustomerRecord<'_>],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const INSERT: &str = insert_customer_sql!("");
        for chunk in customers.chunks(10_000) {
            in_transaction!(self, |tx| {
                for new in chunk {
                    bind_customer!(db::query(INSERT), new, at)
                        .execute(&mut *tx)
                        .await?;
                }
                let detail = serde_json::json!({ "count": chunk.len() }).to_string();
                let actor = chunk.first().map(|c| c.actor).unwrap_or_default();
                let partner = chunk
                    .first()
                    .map(|c| c.partner_tenant_id.to_string())
                    .unwrap_or_default();
                db::query(audit::INSERT_SQL)
                    .bind(at.unix_millis())
                    .bind(&partner)
                    .bind(actor)
                    .bind("customers.imported")
                    .bind(&partner)
                    .bind(&detail)
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The partner's customer `id`; `None` when it does not exist or is another partner's.
    pub async fn find_customer(
        &self,
        partner: TenantId,
        id: CustomerId,
    ) -> Result<Option<CustomerRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            customer_columns!(),
            " FROM customers WHERE id = $1 AND partner_tenant_id = $2"
        );
        let row: Option<CustomerRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(id.to_string())
            .bind(partner.to_string())
            .fetch_optional(pool)
            .await?);
        row.map(CustomerRecord::try_from).transpose()
    }

    /// Up to `limit` of the partner's customers, oldest first, after the position `after`.
    pub async fn list_customers(
        &self,
        partner: TenantId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CustomerPage, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            customer_columns!(),
            " FROM customers WHERE partner_tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        // One more than asked tells whether another page follows.
        let mut rows: Vec<CustomerRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.to_string())
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_after = if more {
            rows.last().map(|row| row.seq)
        } else {
            None
        };
        let customers = rows
            .into_iter()
            .map(CustomerRecord::try_from)
            .collect::<Result<_, _>>()?;
        Ok(CustomerPage {
            customers,
            next_after,
        })
    }
}
