//! The handlers, one module per URL segment. Each extracts, calls the store or the rules, and
//! maps the outcome to a wire type; none holds SQL or builds JSON by hand.

pub(crate) mod audit_query;
pub(crate) mod audit_records;
pub(crate) mod customer_search;
pub(crate) mod customers;
pub(crate) mod discovery;
pub(crate) mod health;
pub(crate) mod legacy;
pub(crate) mod qualifications;
pub(crate) mod review;
pub(crate) mod test_control;
pub(crate) mod token;
pub(crate) mod validations;
pub(crate) mod webhook_registration;
