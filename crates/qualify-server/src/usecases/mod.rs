//! The use cases: what a submission, a decision and a new customer do, each a plain async
//! function over an open [`Tx`](qualify_store::Tx). Each composes, in that one transaction, the
//! domain's rules (`qualify-domain`), the GCC code, the audit record and the outbox; a caller
//! that needs more in the same transaction (an idempotency record, a second use case) adds it
//! around. The HTTP handlers, and every other caller, reach the database's vetting data only
//! through these, so a decision is written, audited and announced the same way whoever makes it.

pub(crate) mod audit;
mod customers;
mod decide;
mod error;
pub(crate) mod idempotency;
#[cfg(test)]
mod stories;
mod submit;

use qualify_domain::SubmissionPolicy;

pub(crate) use customers::create_customer;
pub(crate) use decide::{Decider, When, decide};
pub(crate) use error::UseCaseError;
pub(crate) use submit::submit;

use std::sync::Arc;

use crate::events::Outbox;
use qualify_app::partners::Partners;
use qualify_app::vetting_rules::RuleBook;

/// What the vetting use cases work with besides the transaction.
#[derive(Debug, Clone)]
pub(crate) struct Vetting {
    /// Limits on submissions.
    pub(crate) policy: SubmissionPolicy,
    /// Where changes are announced.
    pub(crate) outbox: Outbox,
    /// The rules that decide without a reviewer.
    pub(crate) rules: Arc<RuleBook>,
    /// Each partner's time, and (in development mode) its own rules.
    pub(crate) partners: Partners,
    /// How many attempts a job (a rule's timed decision) gets.
    pub(crate) job_max_attempts: u32,
}

/// Who did something, as the audit trail names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    /// Their tenant: a partner's id, or `operator`.
    pub(crate) tenant: String,
    /// A user's sign-in name, `app:<client id>`, `rule:<name>`.
    pub(crate) name: String,
    /// The calling application's client id, when a request acted.
    pub(crate) application_id: Option<String>,
    /// The user's sign-in name, when a user acted.
    pub(crate) user_principal_name: Option<String>,
}

impl Actor {
    /// The caller of a request.
    pub(crate) fn caller(principal: &qualify_app::identity::Principal) -> Self {
        Self {
            tenant: principal.tenant_id.to_string(),
            name: principal.actor(),
            application_id: principal.app_id.clone(),
            user_principal_name: principal.user.as_ref().and_then(|u| u.upn.clone()),
        }
    }
}
