//! The wire contract of Qualify: every body that crosses HTTP, shared by the server and the
//! client so the two can't drift. Serde and plain value types only; no behaviour beyond parsing
//! and printing the contract's own values.
//!
//! Names follow Partner Center's REST API (`../shared/spec/partner-center-api.md`): camelCase
//! keys, absent values omitted, dates in UTC with millisecond precision.

mod audit;
mod collection;
mod conformance;
mod customers;
pub mod dev;
mod enums;
mod error;
mod events;
mod ids;
mod qualifications;
mod review;
#[cfg(feature = "openapi")]
mod schema;
mod testing;
mod time;
mod token;
mod validations;
pub mod webhooks;

pub use audit::{AuditRecord, KeyValue};
pub use collection::{Attributes, Collection, CollectionLinks, HeaderPair, Link};
pub use conformance::{
    ConformanceEvidence, ConformanceFinding, ConformanceReport, ConformanceSettings,
    MAX_POLLS_PER_MINUTE, Severity, SeverityCounts,
};
pub use customers::{
    Address, BillingProfile, CompanyProfile, Customer, CustomerFilter, CustomerSearchField,
    NewCustomer, STARTS_WITH,
};
pub use enums::{
    EducationSegment, ParseEnumError, Qualification, QualificationChoice, VettingStatus,
};
pub use error::{ErrorBody, ThrottleBody, codes};
pub use events::{Event, EventData, EventType};
pub use ids::{CustomerId, ParseIdError, TenantId, VettingRequestId};
pub use qualifications::{
    QualificationState, QualificationSubmission, Qualifications, SdkQualifications,
    SubmittedQualification,
};
pub use review::{Decision, SubmissionChannel, VettingRequest};
pub use testing::{
    AdvanceClock, ClockNow, Fault, Journal, JournalEntry, TestFaults, TestPartner, TestRules,
    VettingRule,
};
pub use time::{Timestamp, rounded_millis};
pub use token::{OAuthErrorBody, TokenResponse};
pub use validations::ValidationCode;

/// Partner Center's continuation-token header, used by every paginated collection.
pub const CONTINUATION_TOKEN_HEADER: &str = "MS-ContinuationToken";
/// Partner Center's request id header: unique per logical request, reused by retries, and
/// therefore the idempotency key of every write.
pub const REQUEST_ID_HEADER: &str = "MS-RequestId";
/// Partner Center's correlation id header: ties together the calls of one client operation.
pub const CORRELATION_ID_HEADER: &str = "MS-CorrelationId";
/// Partner Center's API version header: "Required", its REST conventions say; `v1`.
pub const CONTRACT_VERSION_HEADER: &str = "MS-Contract-Version";
/// The token audience (and resource) of Partner Center's API.
pub const PARTNER_CENTER_AUDIENCE: &str = "https://api.partnercenter.microsoft.com";
