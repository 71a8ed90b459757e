//! Background work: how many workers a node runs in each lane, how long a claim lasts, how
//! failures retry, and what a delivery may cost.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::InvalidSettings;

/// The settings of background jobs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct JobSettings {
    /// Workers making due decisions (a rule's, when its delay ends) on this node; 0 runs no
    /// job at all, deliveries included (the node only serves requests).
    pub job_workers: usize,
    /// Deliveries of events in flight at once on this node, every receiver together.
    pub delivery_concurrency: usize,
    /// Deliveries to one receiver in flight at once, every node together: a slow receiver
    /// holds no more slots than this.
    pub delivery_per_receiver: u32,
    /// How long a delivery may take to connect to its receiver (at most half the job lease).
    #[serde(with = "humantime_serde")]
    pub delivery_connect_timeout: Duration,
    /// How long a receiver may take to answer a delivery (its status line), from the attempt's
    /// start (at most half the job lease): a receiver that accepts and says nothing costs a slot
    /// this long, and counts as a failure.
    #[serde(with = "humantime_serde")]
    pub delivery_response_timeout: Duration,
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
            // A worker makes its batch's statements one round trip at a time, so on PostgreSQL
            // the lane's pace is workers over round-trip time, not the machine's CPU: at 1,000
            // submissions a second with a black-hole receiver (`qualify-bench jobs`), 2 workers
            // fell 9 s behind, 4 stayed within 0.4 s at p99. SQLite's one writer takes them in
            // turn, and is as fast with 4 as with 2. Half the default pool (8), so requests keep
            // connections while every worker holds one.
            job_workers: 4,
            // A receiver's throughput is its share over a delivery's round trip (claim, POST,
            // record): 16 keeps up with a partner's 1,000 changes a second on SQLite, where 4
            // fell seconds behind (`qualify-bench jobs`), and 64 slots leave 48 for others
            // while one receiver holds its 16 in timeouts.
            delivery_concurrency: 64,
            delivery_per_receiver: 16,
            delivery_connect_timeout: Duration::from_secs(2),
            delivery_response_timeout: Duration::from_secs(5),
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
        if self.delivery_concurrency < 1 || self.delivery_per_receiver < 1 {
            return Err(InvalidSettings::new(
                "delivery_concurrency and delivery_per_receiver must be at least 1",
            ));
        }
        if self.delivery_connect_timeout < Duration::from_millis(100)
            || self.delivery_response_timeout < Duration::from_millis(100)
        {
            return Err(InvalidSettings::new(
                "delivery_connect_timeout and delivery_response_timeout must each be at least 100ms",
            ));
        }
        Ok(())
    }
}
