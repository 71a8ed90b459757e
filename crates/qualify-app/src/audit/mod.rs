//! The audit trail as it is read: the dates a query names, and each record in Partner Center's
//! shape, as a partner sees its own and as the operator sees every one. What each change writes
//! to the trail is the use cases' (`usecases::audit`).

mod dates;
mod view;

pub use dates::{
    DEFAULT_WINDOW_DAYS, DateParam, InvalidDate, RETENTION_DAYS, days_after, days_before,
};
pub use view::{dto, operator_view, record_id};
