//! The confirmation a reviewer sees after deciding on the console: which request, which
//! customer, which outcome, by whom, with a link to the decided request.
//!
//! Why a confirmation and a link, not an undo window: a decision is acknowledged to the partner
//! the moment it commits (its webhook event is queued and its audit record written in the same
//! transaction, and a poll reads it at once). Undoing it would be a second change the partner
//! can observe, `Approved` going back to `InReview`, which Partner Center never does. So the
//! console makes the decision visible instead: the next page names it, and one click shows the
//! decided request, so that a mistake is seen at once and corrected in the open rather than
//! silently rewritten.
//!
//! The confirmation travels as `?decided=<request id>` on the redirect after the decision and is
//! read back from the store, so it always says what is stored, never what a link claims.

use qualify_domain::VettingState;
use qualify_types::VettingRequestId;

use crate::error::ApiError;
use crate::state::AppState;

/// A decided request, as the confirmation names it.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) request_id: String,
    /// `Approved` or `Denied`.
    pub(crate) outcome: &'static str,
    pub(crate) qualification: String,
    pub(crate) domain: String,
    pub(crate) company: String,
    /// The denial's reason, or empty.
    pub(crate) reason: String,
    pub(crate) decided_by: String,
}

impl Decided {
    /// The request `decided` names, when there is one and it is decided; anything else (an id
    /// that isn't one, a request still in review) shows no confirmation rather than a wrong one.
    pub(crate) async fn read(
        state: &AppState,
        decided: Option<&str>,
    ) -> Result<Option<Decided>, ApiError> {
        let Some(id) = decided.and_then(|id| id.trim().parse::<VettingRequestId>().ok()) else {
            return Ok(None);
        };
        let Some(record) = state.app.store().find_vetting_request(id).await? else {
            return Ok(None);
        };
        let (outcome, reason) = match &record.state {
            VettingState::Approved => ("Approved", String::new()),
            VettingState::Denied(reason) => ("Denied", reason.to_string()),
            VettingState::InReview => return Ok(None),
        };
        Ok(Some(Decided {
            request_id: record.id.to_string(),
            outcome,
            qualification: record.qualification.to_string(),
            domain: record.customer_domain,
            company: record.customer_company_name,
            reason,
            decided_by: record.decided_by.unwrap_or_default(),
        }))
    }
}

/// `path` with the confirmation of `decided` added to its query.
pub(crate) fn confirming(path: &str, decided: VettingRequestId) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}decided={decided}")
}
