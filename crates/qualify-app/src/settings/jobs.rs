//! Background work: how many workers a node runs, how long a claim lasts, how failures retry.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::InvalidSettings;

/// The settings of background jobs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct JobSettings {
    /// Background jobs run at once on this node; 0 runs none (the node only serves requests).
    pub job_workers: usize,
    /// How long a claimed job is this node's: if the node dies, another takes the job over once
    /// the lease ends. Longer than any job runs.
    #[serde(with = "humantime_serde")]
    pub job_lease: Duration,
    /// How often idle workers look for due jobs (they are also woken by this node's writes).
    #[serde(with = "humantime_serde")]
    pub job_poll_interval: Duration,
    /// The wait before a failed job's first retry; it doubles with each attempt, up to an hour.
    #[serde(with = "humantime_serde")]
    pub job_retry_base: Duration,
    /// Attempts before a job is given up.
    pub job_max_attempts: u32,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            job_workers: 2,
            job_lease: Duration::from_secs(60),
            job_poll_interval: Duration::from_secs(1),
            job_retry_base: Duration::from_secs(10),
            job_max_attempts: 10,
        }
    }
}

impl JobSettings {
    pub(super) fn check(&self) -> Result<(), InvalidSettings> {
        if self.job_lease < Duration::from_secs(1) {
            return Err(InvalidSettings::new("job_lease must be at least 1s"));
        }
        if self.job_max_attempts < 1 {
            return Err(InvalidSettings::new("job_max_attempts must be at least 1"));
        }
        Ok(())
    }
}
