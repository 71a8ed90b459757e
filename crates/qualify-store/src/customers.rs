//! Customers: created by a partner, visible only to that partner; and the customer's row lock,
//! which serialises changes to one customer's vetting on every backend.

use qualify_types::{CustomerId, TenantId, Timestamp};

use crate::db;
use crate::records::CustomerRow;
use crate::{BillingRecord, CustomerRecord, Store, StoreError, Tx, on_reader};

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
    /// The indirect reseller it is created for (Partner Center's `associatedPartnerId`), if any.
    pub associated_partner_id: Option<TenantId>,
}

/// A customer locked for a change to its vetting: what a vetting request shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedCustomer {
    /// Its domain.
    pub domain: String,
    /// Its company name.
    pub company_name: String,
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
             billing_company_name, country, region, city, address_line1, postal_code, created_at, \
             company_name_folded, associated_partner_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
            .bind(crate::customers::folded($new.company_name))
            .bind($new.associated_partner_id.map(|id| id.to_string()))
    };
}

/// `text` as customer search compares it: lower case, Unicode-aware, folded here rather than by
/// the database so that SQLite and PostgreSQL fold alike.
pub(crate) fn folded(text: &str) -> String {
    text.to_lowercase()
}

macro_rules! customer_columns {
    () => {
        "seq, id, partner_tenant_id, domain, company_name, email, culture, language, \
         billing_company_name, country, region, city, address_line1, postal_code, created_at, \
         associated_partner_id"
    };
}

impl Tx {
    /// Inserts a customer created at `at`. A partner's domains are unique
    /// ([`crate::Unique::CustomerDomain`]).
    pub async fn insert_customer(
        &mut self,
        new: &NewCustomerRecord<'_>,
        at: Timestamp,
    ) -> Result<CustomerRecord, StoreError> {
        const INSERT: &str = insert_customer_sql!(concat!(" RETURNING ", customer_columns!()));
        let row: CustomerRow = bind_customer!(db::query(INSERT), new, at)
            .fetch_one(self)
            .await?;
        CustomerRecord::try_from(row)
    }

    /// Locks the partner's customer `id` until the transaction ends, so that changes to its
    /// vetting are made one after another (on PostgreSQL a row lock; on SQLite the writer is
    /// one already). `None` when the customer does not exist or is another partner's.
    pub async fn lock_customer(
        &mut self,
        partner: TenantId,
        id: CustomerId,
    ) -> Result<Option<LockedCustomer>, StoreError> {
        const LOCK: &str = "UPDATE customers SET vetting_version = vetting_version + 1 \
                            WHERE id = $1 AND partner_tenant_id = $2 RETURNING domain, company_name";
        let locked: Option<(String, String)> = db::query(LOCK)
            .bind(id.to_string())
            .bind(partner.to_string())
            .fetch_optional(self)
            .await?;
        Ok(locked.map(|(domain, company_name)| LockedCustomer {
            domain,
            company_name,
        }))
    }
}

impl Store {
    /// Imports many customers at once, in transactions of up to 10,000: for seeding benchmarks
    /// and migrating from another system. Nothing else is written (no audit record: the
    /// importer knows what it imported).
    pub async fn import_customers(
        &self,
        customers: &[NewCustomerRecord<'_>],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        const INSERT: &str = insert_customer_sql!("");
        for chunk in customers.chunks(10_000) {
            self.transaction(async |tx: &mut Tx| {
                for new in chunk {
                    bind_customer!(db::query(INSERT), new, at)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        }
        self.analyze_after_import("ANALYZE customers").await
    }

    /// After a bulk import on PostgreSQL, brings the planner's statistics up to date at once,
    /// rather than whenever autovacuum comes by: without them, a search over a million freshly
    /// imported customers was planned as a scan of all of them (0.7 s a request, where the
    /// index answers in 0.06 ms). SQLite plans by its indexes alone and keeps no statistics
    /// unless asked, which Qualify never does, so its plans don't move.
    pub(crate) async fn analyze_after_import(
        &self,
        analyze: &'static str,
    ) -> Result<(), StoreError> {
        if self.backend() != crate::Backend::Postgres {
            return Ok(());
        }
        self.transaction(async |tx: &mut Tx| {
            db::query(analyze).execute(&mut *tx).await?;
            Ok::<_, StoreError>(())
        })
        .await
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
        let rows: Vec<CustomerRow> = on_reader!(self, |pool| db::query(SQL)
            .bind(partner.to_string())
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        page_of(rows, limit)
    }
}

/// Which of a partner's customers a search selects: those whose field starts with a prefix, in
/// any case (Partner Center's `starts_with`, the one operator its customer search has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerSearch {
    /// The company name starts with this.
    CompanyName(String),
    /// The domain starts with this.
    Domain(String),
    /// The indirect reseller's tenant id starts with this.
    AssociatedPartner(String),
}

/// A customer search's statement, per backend: the range of the field's index that starts with
/// `$2` (up to `$3`, `$2` followed by the last code point), exactly checked, after the customer
/// at position `$4` in the field's order. PostgreSQL compares in code-point order (`COLLATE "C"`,
/// as its indexes are made), where that range is exactly the prefix's; SQLite always does.
macro_rules! search_sql {
    ($field:literal, $collate:literal) => {
        concat!(
            "SELECT ",
            customer_columns!(),
            " FROM customers WHERE partner_tenant_id = $1 \
              AND ",
            $field,
            $collate,
            " >= $2 AND ",
            $field,
            $collate,
            " < $3 \
              AND substr(",
            $field,
            ", 1, length($2)) = $2 \
              AND ($4 IS NULL \
                   OR ",
            $field,
            $collate,
            " > (SELECT p.",
            $field,
            $collate,
            " FROM customers p WHERE p.seq = $4) \
                   OR (",
            $field,
            " = (SELECT p.",
            $field,
            " FROM customers p WHERE p.seq = $4) AND seq > $4)) \
              ORDER BY ",
            $field,
            $collate,
            ", seq LIMIT $5"
        )
    };
}

impl CustomerSearch {
    /// The statement for `backend`, and the folded prefix it binds.
    fn statement(&self, backend: crate::Backend) -> (&'static str, String) {
        use crate::Backend::{Postgres, Sqlite};
        let (sql, prefix) = match (self, backend) {
            (Self::CompanyName(p), Sqlite) => (search_sql!("company_name_folded", ""), p),
            (Self::CompanyName(p), Postgres) => {
                (search_sql!("company_name_folded", " COLLATE \"C\""), p)
            }
            (Self::Domain(p), Sqlite) => (search_sql!("domain", ""), p),
            (Self::Domain(p), Postgres) => (search_sql!("domain", " COLLATE \"C\""), p),
            (Self::AssociatedPartner(p), Sqlite) => (search_sql!("associated_partner_id", ""), p),
            (Self::AssociatedPartner(p), Postgres) => {
                (search_sql!("associated_partner_id", " COLLATE \"C\""), p)
            }
        };
        (sql, folded(prefix))
    }
}

impl Store {
    /// Up to `limit` of the partner's customers that `search` selects, in the order of the
    /// field searched (then of creation), after the customer at position `after` in that order.
    pub async fn search_customers(
        &self,
        partner: TenantId,
        search: &CustomerSearch,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CustomerPage, StoreError> {
        let (sql, prefix) = search.statement(self.backend());
        // Every string that starts with the prefix sorts below the prefix followed by the last
        // code point; the exact check in the statement settles the rest.
        let below = format!("{prefix}{}", char::MAX);
        let rows: Vec<CustomerRow> = on_reader!(self, |pool| db::query(sql)
            .bind(partner.to_string())
            .bind(&prefix)
            .bind(&below)
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await?);
        page_of(rows, limit)
    }
}

/// The page `rows` make, read with one more than `limit` to tell whether another page follows.
fn page_of(mut rows: Vec<CustomerRow>, limit: u32) -> Result<CustomerPage, StoreError> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_after = more.then(|| rows.last().map(|row| row.seq)).flatten();
    let customers = rows
        .into_iter()
        .map(CustomerRecord::try_from)
        .collect::<Result<_, _>>()?;
    Ok(CustomerPage {
        customers,
        next_after,
    })
}
