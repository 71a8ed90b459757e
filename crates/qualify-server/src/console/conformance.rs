//! `GET /console/conformance` (development servers): for an operator, the conformance findings
//! of the partners most recently active on this node, worst first in counts, each finding linked
//! to Microsoft's guidance.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use qualify_types::Severity;

use super::pages::{self, Chrome, ConformancePage, FindingRow, MessagePage, PartnerFindings};
use super::partners;
use super::session::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;

/// Partners looked at: the most recently active. A report is worked out from a partner's
/// journal when asked for, so a page costs this many of them at most.
const PARTNERS_SHOWN: usize = 50;

/// `GET /console/conformance`.
pub(crate) async fn show(
    State(state): State<AppState>,
    reviewer: SignedIn,
) -> Result<Response, ApiError> {
    let Some(control) = state.test_control.as_deref() else {
        let page = MessagePage {
            title: "Conformance",
            message: "The conformance report exists on development servers (qualify serve --dev) only.",
        };
        return Ok(pages::render(&page)?.into_response());
    };
    let reports: Vec<_> = control
        .journal
        .recent_partners(PARTNERS_SHOWN)
        .into_iter()
        .map(|partner| {
            (
                partner,
                control.conformance.report(&control.journal, partner),
            )
        })
        .filter(|(_, report)| !report.items.is_empty())
        .collect();
    let names = partners::names(
        state.app.store(),
        reports.iter().map(|(partner, _)| *partner).collect(),
    )
    .await?;
    let partners = reports
        .into_iter()
        .map(|(partner, report)| PartnerFindings {
            name: names.of(partner),
            tenant: partner.to_string(),
            errors: report.counts.error,
            warnings: report.counts.warning,
            infos: report.counts.info,
            findings: report
                .items
                .into_iter()
                .map(|finding| FindingRow {
                    severity: match finding.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                        Severity::Info => "info",
                    },
                    code: finding.code,
                    count: finding.count,
                    last_seen: finding.last_seen.to_string(),
                    message: finding.message,
                    guidance: finding.guidance,
                })
                .collect(),
        })
        .collect();
    let page = ConformancePage {
        chrome: Chrome {
            reviewer: &reviewer.username,
            csrf_token: &reviewer.csrf_token,
            dev: true,
        },
        partners,
        looked_at: PARTNERS_SHOWN,
    };
    Ok(pages::render(&page)?.into_response())
}
