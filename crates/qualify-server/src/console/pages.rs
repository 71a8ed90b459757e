//! The console's pages: askama templates (compile-time checked, HTML-escaped by default) under
//! `templates/console/`, and what each needs to render.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use qualify_store::VettingRecord;

use super::decided::Decided;
use super::partners::PartnerNames;
use crate::error::ApiError;

/// Reasons reviewers give most, offered as suggestions for a denial (any other may be typed).
pub(crate) const COMMON_REASONS: &[&str] = &[
    "Not an Education Customer",
    "The domain does not belong to an accredited institution",
    "Not a government entity",
    "Not a state-owned entity",
    "The customer's eligibility could not be verified",
    "A duplicate of an earlier request",
];

/// What every page of a signed-in reviewer shows around its content.
#[derive(Debug)]
pub(crate) struct Chrome<'a> {
    /// Who is signed in.
    pub(crate) reviewer: &'a str,
    /// The session's CSRF token, for the sign-out form.
    pub(crate) csrf_token: &'a str,
    /// A development server: its conformance report is linked.
    pub(crate) dev: bool,
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub(crate) struct SignInPage<'a> {
    pub(crate) csrf_token: &'a str,
    /// The name last tried, kept so that a mistyped password costs only the password.
    pub(crate) username: &'a str,
    pub(crate) problem: Option<&'a str>,
}

/// One state's tab on the queue: its name, how many requests are in it, whether it is shown.
#[derive(Debug)]
pub(crate) struct StateCount {
    pub(crate) name: &'static str,
    pub(crate) count: u64,
    pub(crate) current: bool,
}

/// A request as a row of a table.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) id: String,
    /// When it was submitted, to the minute, as a reviewer reads it.
    pub(crate) submitted: String,
    /// When it was submitted, to the millisecond (RFC 3339), for the detail.
    pub(crate) submitted_at: String,
    pub(crate) age: String,
    /// The partner's tenant id.
    pub(crate) partner: String,
    /// The partner's display name.
    pub(crate) partner_name: String,
    pub(crate) domain: String,
    pub(crate) company: String,
    pub(crate) qualification: String,
    pub(crate) segment: String,
    pub(crate) attempt: u32,
    pub(crate) state: String,
    pub(crate) reason: String,
    pub(crate) decided_by: String,
}

impl Row {
    /// `record` as shown at `now` (for its age), its partner named from `partners`.
    pub(crate) fn of(
        record: &VettingRecord,
        now: qualify_types::Timestamp,
        partners: &PartnerNames,
    ) -> Self {
        let (state, reason) = match &record.state {
            qualify_domain::VettingState::Denied(reason) => {
                ("Denied".to_owned(), reason.to_string())
            }
            other => (other.status().to_string(), String::new()),
        };
        Self {
            id: record.id.to_string(),
            submitted: record
                .created_at
                .as_datetime()
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            submitted_at: record.created_at.to_string(),
            age: age(now.unix_millis() - record.created_at.unix_millis()),
            partner: record.partner_tenant_id.to_string(),
            partner_name: partners.of(record.partner_tenant_id),
            domain: record.customer_domain.clone(),
            company: record.customer_company_name.clone(),
            qualification: record.qualification.to_string(),
            segment: record
                .education_segment
                .map(|segment| segment.to_string())
                .unwrap_or_default(),
            attempt: record.attempt,
            state,
            reason,
            decided_by: record.decided_by.clone().unwrap_or_default(),
        }
    }
}

/// A duration as a reviewer reads an age: `3 d`, `5 h`, `12 min`.
fn age(millis: i64) -> String {
    let minutes = millis.max(0) / 60_000;
    match minutes {
        m if m >= 2 * 24 * 60 => format!("{} d", m / (24 * 60)),
        m if m >= 120 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// The queue.
#[derive(Template)]
#[template(path = "console/queue.html")]
pub(crate) struct QueuePage<'a> {
    pub(crate) chrome: Chrome<'a>,
    pub(crate) states: Vec<StateCount>,
    pub(crate) state: &'a str,
    pub(crate) partner: &'a str,
    /// The qualification filtered by, or empty.
    pub(crate) qualification: &'a str,
    /// Every qualification, for the filter's choices.
    pub(crate) qualifications: &'static [&'static str],
    /// The text customer domains are filtered by, or empty.
    pub(crate) domain: &'a str,
    /// The filters as query parameters (`&partner=…`), carried on by the page's links.
    pub(crate) filters: &'a str,
    pub(crate) rows: Vec<Row>,
    /// The link to the next page, if there is one.
    pub(crate) next: Option<String>,
    pub(crate) problem: Option<&'a str>,
    /// The decision just made on this console, confirmed at the top.
    pub(crate) decided: Option<Decided>,
}

/// One request, its customer's history, and the forms to decide it.
#[derive(Template)]
#[template(path = "console/request.html")]
pub(crate) struct RequestPage<'a> {
    pub(crate) chrome: Chrome<'a>,
    pub(crate) request: Row,
    pub(crate) customer_id: String,
    pub(crate) website: String,
    pub(crate) validation_code: String,
    pub(crate) channel: &'static str,
    pub(crate) decided_at: String,
    pub(crate) matched_rule: String,
    pub(crate) in_review: bool,
    pub(crate) history: Vec<Row>,
    pub(crate) reasons: &'static [&'static str],
    /// What happened to a decision just tried, when it did not go through as asked.
    pub(crate) notice: Option<String>,
    /// The decision just made on this console (of another request), confirmed at the top.
    pub(crate) decided: Option<Decided>,
}

/// A short page saying why a form was refused.
#[derive(Template)]
#[template(path = "console/message.html")]
pub(crate) struct MessagePage<'a> {
    pub(crate) title: &'a str,
    pub(crate) message: &'a str,
}

/// One finding, as the conformance page lists it.
#[derive(Debug)]
pub(crate) struct FindingRow {
    pub(crate) severity: &'static str,
    pub(crate) code: String,
    pub(crate) count: u32,
    pub(crate) last_seen: String,
    pub(crate) message: String,
    pub(crate) guidance: String,
}

/// One partner's findings.
#[derive(Debug)]
pub(crate) struct PartnerFindings {
    pub(crate) name: String,
    pub(crate) tenant: String,
    pub(crate) errors: u32,
    pub(crate) warnings: u32,
    pub(crate) infos: u32,
    pub(crate) findings: Vec<FindingRow>,
}

/// The conformance report of the partners most recently active on this node.
#[derive(Template)]
#[template(path = "console/conformance.html")]
pub(crate) struct ConformancePage<'a> {
    pub(crate) chrome: Chrome<'a>,
    pub(crate) partners: Vec<PartnerFindings>,
    /// Partners looked at: the most recently active, at most this many.
    pub(crate) looked_at: usize,
}

/// `template`, rendered.
pub(crate) fn render(template: &impl Template) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(ApiError::internal)
}

/// A form without this session's token: sent from another site, or from a page of a session
/// that has ended.
pub(crate) fn refused_form() -> Response {
    let page = MessagePage {
        title: "Form refused",
        message: "This form was not sent from a current page of the console. Go back, reload the page and try again.",
    };
    match render(&page) {
        Ok(html) => (StatusCode::FORBIDDEN, html).into_response(),
        Err(error) => error.into_response(),
    }
}
