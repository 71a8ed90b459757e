//! Waiting for a vetting to end: polling a customer's qualification until it leaves
//! `InReview`, with backoff, until a deadline.

use std::time::{Duration, Instant};

use qualify_types::{CustomerId, Qualification, QualificationState, VettingStatus};

use crate::{Client, ClientError};

/// How to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// The first pause between polls; each next one is half as long again, up to `max_interval`.
    pub initial_interval: Duration,
    /// The longest pause between polls.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            initial_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(10),
        }
    }
}

impl Client {
    /// Polls the customer's `qualification` until its latest vetting request is no longer
    /// `InReview`, and returns that state (`Approved`, or `Denied` with its reason). Fails with
    /// [`ClientError::VettingTimeout`] at the deadline, and [`ClientError::NotSubmitted`] when the
    /// customer has no such qualification.
    pub async fn wait_for_vetting(
        &self,
        customer: CustomerId,
        qualification: Qualification,
        options: WaitOptions,
    ) -> Result<QualificationState, ClientError> {
        let started = Instant::now();
        let mut interval = options.initial_interval;
        loop {
            let states = self.qualifications(customer).await?;
            let state = states
                .into_iter()
                .find(|s| s.qualification == qualification)
                .ok_or(ClientError::NotSubmitted(qualification))?;
            if state.vetting_status != VettingStatus::InReview {
                return Ok(state);
            }
            let waited = started.elapsed();
            if waited >= options.timeout {
                return Err(ClientError::VettingTimeout {
                    qualification,
                    waited,
                });
            }
            tokio::time::sleep(interval.min(options.timeout - waited)).await;
            interval = interval
                .saturating_mul(3)
                .checked_div(2)
                .unwrap_or(interval)
                .min(options.max_interval);
        }
    }
}
