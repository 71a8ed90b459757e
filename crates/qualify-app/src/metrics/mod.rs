//! What a node counts for Prometheus, in a registry of its own (tests run several nodes in one
//! process): requests (counted by the HTTP adapter), decisions, tokens, job attempts and
//! deliveries, and the counts read from the database at each scrape. Every label takes values
//! from a small fixed set (route templates, methods, statuses, states, outcomes, reasons, job
//! kinds), never an id, a path or anything a client chose, so the series stay few however the
//! node is used. Serving `/metrics` is the HTTP adapter's.

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use qualify_types::VettingStatus;

mod counted;

pub use counted::{COUNTS_TIMEOUT, Counted};

/// Every metric of one server, in the registry a scrape encodes.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    tokens_issued: Family<GrantLabels, Counter>,
    token_refusals: Family<RefusalLabels, Counter>,
    job_attempts: Family<JobAttemptLabels, Counter>,
    decision_lateness: Histogram,
    deliveries: Family<DeliveryLabels, Counter>,
    /// Read from the database at each scrape (`scrape.rs`).
    pub counted: Counted,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Cow<'static, str>,
    method: &'static str,
    /// [`status_label`]: a fixed set of values, whatever status an answer had.
    status: &'static str,
}

/// A status as the `status` label holds it: the code, when it is one this server answers with
/// itself; otherwise its class (`4xx`, `5xx`). A test's faults answer any status from 400 to
/// 599, and each new value of a label is a new series: one partner once made 8,333 of them in
/// 20 s. Classes keep the label's values (and so the series) few, and alerts on `5..` still see
/// every server error.
fn status_label(status: u16) -> &'static str {
    match status {
        // The statuses the server answers with itself.
        200 => "200",
        201 => "201",
        204 => "204",
        301 => "301",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        409 => "409",
        413 => "413",
        415 => "415",
        429 => "429",
        431 => "431",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            5 => "5xx",
            _ => "other",
        },
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Cow<'static, str>,
    method: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    decided_by: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobAttemptLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    /// The lane.
    pub lane: &'static str,
    /// `due` (waiting for a worker) or `running`.
    pub state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneOnlyLabels {
    /// The lane.
    pub lane: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    receiver: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: &'static str,
    pub state: &'static str,
}

/// The fixed values of labels that name things other parts know: each has its series from the
/// start, zero or not (a series that appears only with its first increase hides that increase
/// from `rate()` and `increase()`).
#[derive(Debug, Clone, Copy)]
pub struct KnownLabels<'a> {
    /// The grant types the token endpoint issues under.
    pub grant_types: &'a [&'static str],
    /// The OAuth errors it refuses with.
    pub token_refusals: &'a [&'static str],
    /// The kinds of job the node runs.
    pub job_kinds: &'a [&'static str],
    /// The lanes jobs run in.
    pub lanes: &'a [&'static str],
}

/// Who made a decision, as the decisions are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    Reviewer,
    Rule,
}

/// What became of one attempt of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Done.
    Done,
    /// Failed; it will be tried again.
    Retry,
    /// Failed for the last time, or can never succeed: given up.
    Dead,
}

impl AttemptOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry => "retry",
            Self::Dead => "dead",
        }
    }

    /// The outcome as deliveries are counted.
    fn delivery(self) -> &'static str {
        match self {
            Self::Done => "delivered",
            Self::Retry => "failed",
            Self::Dead => "given_up",
        }
    }
}

impl Metrics {
    /// The server's metrics, with what `store` observes of its own.
    pub fn new(store: &qualify_store::Store, labels: &KnownLabels<'_>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::default();
        registry.register(
            "qualify_http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(request_latency_histogram);
        registry.register_with_unit(
            "qualify_http_request_duration",
            "Time from a request's arrival to its response's headers, by route template and method",
            Unit::Seconds,
            request_seconds.clone(),
        );
        let decisions = Family::default();
        registry.register(
            "qualify_vetting_decisions",
            "Vetting requests decided by this node, by outcome and by who decided (reviewer or rule)",
            decisions.clone(),
        );
        let tokens_issued = Family::default();
        registry.register(
            "qualify_tokens_issued",
            "Access tokens issued by the built-in token endpoint, by grant type",
            tokens_issued.clone(),
        );
        let token_refusals = Family::default();
        registry.register(
            "qualify_token_refusals",
            "Token requests refused, by OAuth error (invalid_client, invalid_grant, …)",
            token_refusals.clone(),
        );
        let job_attempts = Family::default();
        registry.register(
            "qualify_job_attempts",
            "Attempts of background jobs run by this node, by kind and outcome",
            job_attempts.clone(),
        );
        let decision_lateness = Histogram::new(exponential_buckets(0.001, 2.0, 17));
        registry.register_with_unit(
            "qualify_decision_lateness",
            "How long after they fell due this node made due decisions (a rule's, when its delay ended)",
            Unit::Seconds,
            decision_lateness.clone(),
        );
        let deliveries = Family::default();
        registry.register(
            "qualify_webhook_deliveries",
            "Event delivery attempts, by receiver (operator or partner) and outcome",
            deliveries.clone(),
        );
        let counted = Counted {
            job_kinds: labels.job_kinds.to_vec(),
            lanes: labels.lanes.to_vec(),
            ..Counted::default()
        };
        registry.register(
            "qualify_vetting_requests",
            "Vetting requests in the database, by state (read at each scrape)",
            counted.vetting_requests.clone(),
        );
        registry.register_with_unit(
            "qualify_vetting_oldest_in_review_age",
            "How long the oldest request still in review has waited (0 when none is)",
            Unit::Seconds,
            counted.oldest_in_review_seconds.clone(),
        );
        registry.register(
            "qualify_jobs",
            "Background jobs not done, by kind and state: due, running, scheduled, dead",
            counted.jobs.clone(),
        );
        registry.register(
            "qualify_job_lane_jobs",
            "Jobs of each lane waiting for a worker (due) and held by one (running)",
            counted.lane_jobs.clone(),
        );
        registry.register_with_unit(
            "qualify_job_lane_oldest_due_age",
            "How long the oldest job of each lane waiting for a worker has been due (0 when none is)",
            Unit::Seconds,
            counted.lane_oldest_due_seconds.clone(),
        );
        registry.register(
            "qualify_webhook_receivers_backed_off",
            "Receivers whose deliveries are held back after failing in a row (their breaker is open)",
            counted.receivers_backed_off.clone(),
        );
        registry.register(
            "qualify_database_up",
            "1 when the last scrape read the counts from the database, 0 when it did not answer",
            counted.database_up.clone(),
        );
        store.register_metrics(&mut registry);
        let metrics = Self {
            registry,
            requests,
            request_seconds,
            decisions,
            tokens_issued,
            token_refusals,
            job_attempts,
            decision_lateness,
            deliveries,
            counted,
        };
        metrics.start_at_zero(labels);
        metrics
    }

    /// Creates the series of every fixed label combination at zero: a series that appears only
    /// with its first increase hides that increase from `rate()` and `increase()`.
    fn start_at_zero(&self, labels: &KnownLabels<'_>) {
        for outcome in ["Approved", "Denied"] {
            for decided_by in ["reviewer", "rule"] {
                self.decisions
                    .get_or_create(&DecisionLabels {
                        outcome,
                        decided_by,
                    })
                    .inc_by(0);
            }
        }
        for reason in labels.token_refusals.iter().copied() {
            self.token_refusals
                .get_or_create(&RefusalLabels { reason })
                .inc_by(0);
        }
        for grant_type in labels.grant_types.iter().copied() {
            self.tokens_issued
                .get_or_create(&GrantLabels { grant_type })
                .inc_by(0);
        }
        for outcome in [
            AttemptOutcome::Done,
            AttemptOutcome::Retry,
            AttemptOutcome::Dead,
        ] {
            for kind in labels.job_kinds.iter().copied() {
                self.job_attempts
                    .get_or_create(&JobAttemptLabels {
                        kind,
                        outcome: outcome.as_str(),
                    })
                    .inc_by(0);
            }
            for receiver in ["operator", "partner"] {
                self.deliveries
                    .get_or_create(&DeliveryLabels {
                        receiver,
                        outcome: outcome.delivery(),
                    })
                    .inc_by(0);
            }
        }
    }

    /// Counts an answered request; `route` is the matched route template.
    pub fn request(
        &self,
        route: Cow<'static, str>,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        let route_labels = RouteLabels { route, method };
        self.request_seconds
            .get_or_create(&route_labels)
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                route: route_labels.route,
                method,
                status: status_label(status),
            })
            .inc();
    }

    /// Counts a decision that was committed.
    pub fn decided(&self, status: VettingStatus, by: DecidedBy) {
        let outcome = match status {
            VettingStatus::Approved => "Approved",
            VettingStatus::Denied => "Denied",
            VettingStatus::InReview => return,
        };
        let decided_by = match by {
            DecidedBy::Reviewer => "reviewer",
            DecidedBy::Rule => "rule",
        };
        self.decisions
            .get_or_create(&DecisionLabels {
                outcome,
                decided_by,
            })
            .inc();
    }

    /// Counts an access token issued with `grant_type` (one the endpoint accepts).
    pub fn token_issued(&self, grant_type: &'static str) {
        self.tokens_issued
            .get_or_create(&GrantLabels { grant_type })
            .inc();
    }

    /// Counts a token request refused with the OAuth error `reason`.
    pub fn token_refused(&self, reason: &'static str) {
        self.token_refusals
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Observes a decision made `seconds` after it fell due.
    pub fn decision_late(&self, seconds: f64) {
        self.decision_lateness.observe(seconds);
    }

    /// Counts one attempt of a job of `kind` (a kind this server names).
    pub fn job_attempt(&self, kind: &'static str, outcome: AttemptOutcome) {
        self.job_attempts
            .get_or_create(&JobAttemptLabels {
                kind,
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Counts one attempt to deliver an event to the operator's or a partner's receiver.
    pub fn delivery(&self, receiver: &'static str, outcome: AttemptOutcome) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                receiver,
                outcome: outcome.delivery(),
            })
            .inc();
    }

    /// The registry, for a scrape to encode.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Latency buckets from 250 µs to about 16 s, doubling: a GET on SQLite answers in well under a
/// millisecond, a submission waits for an fsync, and a request may run to its 30 s timeout.
fn request_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

#[cfg(test)]
mod tests {
    use super::status_label;

    #[test]
    fn the_status_label_takes_few_values_whatever_statuses_answers_have() {
        let labels: std::collections::HashSet<&str> = (0..=u16::MAX).map(status_label).collect();
        assert!(labels.len() < 30, "{labels:?}");
        assert_eq!(status_label(201), "201");
        assert_eq!(status_label(429), "429");
        // What only a test's fault answers with: its class.
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(0), "other");
    }
}
