//! Partners' clocks (development mode): how far each runs ahead of the server's. Moving one moves
//! the schedule of the jobs that follow it, so a timed decision falls due when the partner's
//! clock, not the server's, reaches its time.

use qualify_types::TenantId;

use crate::db::{self, Executor};
use crate::{Store, StoreError, Tx, on_reader};

/// How far `partner`'s clock runs ahead, in milliseconds, read on `on`.
async fn offset(on: impl Executor, partner: TenantId) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT offset_ms FROM partner_clocks WHERE partner_tenant_id = $1";
    let offset: Option<i64> = db::query(SQL)
        .bind(partner.to_string())
        .fetch_optional(on)
        .await?;
    Ok(offset.unwrap_or(0))
}

impl Store {
    /// How far `partner`'s clock runs ahead of the server's, in milliseconds (0 when never moved).
    pub async fn partner_clock_offset(&self, partner: TenantId) -> Result<i64, StoreError> {
        on_reader!(self, |pool| offset(pool, partner).await)
    }
}

impl Tx {
    /// How far `partner`'s clock runs ahead of the server's, as this transaction sees it.
    pub async fn partner_clock_offset(&mut self, partner: TenantId) -> Result<i64, StoreError> {
        offset(self, partner).await
    }

    /// Moves `partner`'s clock forward by `by_ms` (not negative), and the jobs on its clock with
    /// it (each falls due `by_ms` earlier on the server's clock). Returns the new offset.
    pub async fn advance_partner_clock(
        &mut self,
        partner: TenantId,
        by_ms: i64,
    ) -> Result<i64, StoreError> {
        const ADVANCE: &str = "INSERT INTO partner_clocks (partner_tenant_id, offset_ms) VALUES ($1, $2) \
            ON CONFLICT (partner_tenant_id) DO UPDATE SET offset_ms = partner_clocks.offset_ms + $2 \
            RETURNING offset_ms";
        const SHIFT: &str = "UPDATE jobs SET run_at = run_at - $2 \
            WHERE clock_partner = $1 AND state = 'pending'";
        // Waits for the submissions that read this partner's clock (`Tx::partner_controls`) to
        // commit, and makes those that follow wait for this advance: none schedules a timed
        // decision by an offset the advance has changed without moving it. By a statement of
        // its own, so the shift below sees every job those submissions committed.
        const LOCK_POSTGRES: &str = "SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE";
        if self.backend() == crate::Backend::Postgres {
            let _: Option<String> = db::query(LOCK_POSTGRES)
                .bind(partner.to_string())
                .fetch_optional(&mut *self)
                .await?;
        }
        let offset: i64 = db::query(ADVANCE)
            .bind(partner.to_string())
            .bind(by_ms)
            .fetch_one(&mut *self)
            .await?;
        db::query(SHIFT)
            .bind(partner.to_string())
            .bind(by_ms)
            .execute(self)
            .await?;
        Ok(offset)
    }
}
