//! The use cases: what each write of the product does, each a plain async function over an
//! open [`Tx`](qualify_store::Tx): a submission, a decision, a new customer, a partner's webhook
//! registration and validation events, what a test does to its partner (clock, rules, reset,
//! partners on demand). Each composes, in that one transaction, the domain's rules
//! (`qualify-domain`), the GCC code, the audit record and the outbox; a caller that needs more
//! in the same transaction (an idempotency record) adds it around. The façade
//! ([`crate::qualify::Qualify`]) opens the transaction and does what follows a commit; whoever writes,
//! a handler, the console, a rule's timed job, writes through the same one.

pub mod audit;
mod customers;
mod decide;
mod error;
pub mod idempotency;
#[cfg(test)]
mod stories;
mod submit;
pub(crate) mod test_control;
pub(crate) mod test_partners;
mod timed_decision;
pub mod webhooks;

use qualify_domain::SubmissionPolicy;

pub(crate) use customers::create_customer;
pub(crate) use decide::decide;
pub use decide::{Decider, When};
pub use error::UseCaseError;
pub(crate) use submit::submit;
pub use timed_decision::TimedDecision;

use std::sync::Arc;

use crate::events::Outbox;
use crate::partners::Partners;
use crate::vetting_rules::RuleBook;

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
pub struct Actor {
    /// Their tenant: a partner's id, or `operator`.
    pub tenant: String,
    /// A user's sign-in name, `app:<client id>`, `rule:<name>`.
    pub name: String,
    /// The calling application's client id, when a request acted.
    pub application_id: Option<String>,
    /// The user's sign-in name, when a user acted.
    pub user_principal_name: Option<String>,
}

impl Actor {
    /// The caller of a request.
    pub fn caller(principal: &crate::identity::Principal) -> Self {
        Self {
            tenant: principal.tenant_id.to_string(),
            name: principal.actor(),
            application_id: principal.app_id.clone(),
            user_principal_name: principal.user.as_ref().and_then(|u| u.upn.clone()),
        }
    }
}
