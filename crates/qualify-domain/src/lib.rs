//! Qualify's rules, free of I/O: what a valid submission is, which submissions a customer's
//! history allows, and how a vetting request moves from `InReview` to a decision.
//!
//! Everything here is a value or a pure function, so the rules are tested exhaustively without a
//! server or a database, and the store and the HTTP layer only ever ask these functions.

mod glob;
mod rules;
mod submission;
mod values;
mod vetting;
mod vetting_rules;

pub use glob::{Glob, InvalidGlob, MAX_GLOB_CHARS, Slash};
pub use rules::{
    PriorRequest, SubmissionPolicy, SubmissionRefused, check_submission, latest_per_qualification,
};
pub use submission::{Submission, SubmissionDetails};
pub use values::{
    CompanyName, CustomerDomain, DenialReason, InvalidValue, ValidationCodeValue, Website,
    optional_country, optional_email, optional_text,
};
pub use vetting::{DecisionRefused, Verdict, VettingState};
pub use vetting_rules::{
    Facts, MAX_DELAY, MAX_NAME, Rule, RuleDecision, RuleError, RuleSet, RuleSpec,
};
