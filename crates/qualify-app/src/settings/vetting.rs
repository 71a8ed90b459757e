//! Submissions: how many a customer may make, and the rules that decide them.

use std::path::PathBuf;
use std::time::Duration;

use qualify_domain::SubmissionPolicy;
use serde::{Deserialize, Serialize};

use super::InvalidSettings;

/// The vetting settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct VettingSettings {
    /// How many vetting requests a customer may have for one qualification, counting the first.
    pub max_vetting_requests: u32,
    /// The vetting rules file (TOML): rules that decide submissions without a reviewer
    /// (docs/rules.md). Read at start and again on SIGHUP.
    pub rules: Option<PathBuf>,
    /// How long `MS-RequestId` idempotency records are kept (at least 24 hours).
    #[serde(with = "humantime_serde")]
    pub idempotency_retention: Duration,
}

impl Default for VettingSettings {
    fn default() -> Self {
        Self {
            max_vetting_requests: SubmissionPolicy::default().max_requests_per_qualification,
            rules: None,
            idempotency_retention: Duration::from_secs(24 * 3600),
        }
    }
}

impl VettingSettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        if self.max_vetting_requests < 1 {
            return Err(InvalidSettings::new(
                "max_vetting_requests must be at least 1",
            ));
        }
        Ok(())
    }

    /// The limits on submissions.
    pub fn submission_policy(&self) -> SubmissionPolicy {
        SubmissionPolicy {
            max_requests_per_qualification: self.max_vetting_requests,
        }
    }
}
