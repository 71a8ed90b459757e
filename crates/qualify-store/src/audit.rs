//! The audit trail: who did what to which subject, when, and why. Each event is written in the
//! transaction of the change it records, so the trail never misses nor invents a change.

/// Appends one event. Binds: at, actor tenant, actor, action, subject id, detail (JSON text).
pub(crate) const INSERT_SQL: &str = "INSERT INTO audit_events (at, actor_tenant_id, actor, action, subject_id, detail) \
                                     VALUES ($1, $2, $3, $4, $5, $6)";
