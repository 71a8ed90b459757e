//! The rate limits configured (`rate_limits` in the config file; none unless configured), as
//! Partner Center throttles: at most so many requests of an operation in a window, per partner
//! or per partner and customer, and their counts. Each node counts its own requests: behind a
//! load balancer spreading requests over N nodes, a partner gets up to N times a limit. The
//! middleware that applies them is `throttle`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use axum::http::Method;
use governor::{DefaultKeyedRateLimiter, Quota};
use qualify_app::settings::{InvalidSettings, RateLimit, RateLimitKey};
use qualify_types::{CustomerId, TenantId};

/// What one request is counted as: the partner, and the customer when the limit says so.
type Key = (TenantId, Option<CustomerId>);

/// Keys a limiter holds before it forgets those whose windows have passed.
const TIDY_ABOVE: usize = 100_000;

/// One configured limit and its counts.
#[derive(Debug)]
struct Limit {
    per_customer: bool,
    limiter: DefaultKeyedRateLimiter<Key>,
}

/// Every configured limit, by the route and method it applies to.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    by_route: HashMap<(Method, String), Vec<Arc<Limit>>>,
}

impl RateLimits {
    /// The limits of `configured`, over the operations of `document` (the OpenAPI document:
    /// each operation's id, path template and method). An operation no route has is refused.
    pub(crate) fn new(
        configured: &[RateLimit],
        document: &utoipa::openapi::OpenApi,
    ) -> Result<Self, InvalidSettings> {
        let mut by_route: HashMap<(Method, String), Vec<Arc<Limit>>> = HashMap::new();
        for rate in configured {
            let requests = NonZeroU32::new(rate.requests)
                .ok_or_else(|| InvalidSettings::new("a rate limit allows at least 1 request"))?;
            let quota = Quota::with_period(rate.per / rate.requests)
                .ok_or_else(|| InvalidSettings::new("a rate limit's window is too short"))?
                .allow_burst(requests);
            let limit = Arc::new(Limit {
                per_customer: rate.key == RateLimitKey::PartnerAndCustomer,
                limiter: DefaultKeyedRateLimiter::keyed(quota),
            });
            let mut found = false;
            for (path, item) in &document.paths.paths {
                // Partner Center's operations only: tokens, health and the reviewer API are not
                // throttled as Partner Center throttles its partners.
                if !path.starts_with("/v1/") {
                    continue;
                }
                for (method, operation) in [
                    (Method::GET, &item.get),
                    (Method::POST, &item.post),
                    (Method::PUT, &item.put),
                    (Method::DELETE, &item.delete),
                ] {
                    let Some(operation) = operation else { continue };
                    let id = operation.operation_id.as_deref().unwrap_or_default();
                    if rate.operation != "*" && rate.operation != id {
                        continue;
                    }
                    if limit.per_customer && !path.contains("{customer_id}") {
                        if rate.operation == "*" {
                            continue;
                        }
                        return Err(InvalidSettings::new(format!(
                            "the rate limit of {id} counts per customer, but its path names none"
                        )));
                    }
                    found = true;
                    by_route
                        .entry((method, path.clone()))
                        .or_default()
                        .push(Arc::clone(&limit));
                }
            }
            if !found {
                return Err(InvalidSettings::new(format!(
                    "a rate limit names the operation '{}', which the API has not (see the operationId of /openapi.json's Partner Center operations, or use *)",
                    rate.operation
                )));
            }
        }
        Ok(Self { by_route })
    }

    /// Whether any limit is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }
}

/// The customer of a path whose template names one.
fn customer_of(template: &str, path: &str) -> Option<CustomerId> {
    let index = template.split('/').position(|s| s == "{customer_id}")?;
    path.split('/').nth(index)?.parse().ok()
}

impl RateLimits {
    /// Whether `method` on the route `template` has limits to count.
    pub(crate) fn apply_to(&self, method: &Method, template: &str) -> bool {
        self.by_route
            .contains_key(&(method.clone(), template.to_owned()))
    }

    /// Counts `partner`'s request (`method` on `path`, whose route is `template`) against
    /// the limits of its operation: `Err` with the seconds to wait when one is spent.
    pub(crate) fn count(
        &self,
        method: &Method,
        template: &str,
        path: &str,
        partner: TenantId,
    ) -> Result<(), u32> {
        let Some(limits) = self.by_route.get(&(method.clone(), template.to_owned())) else {
            return Ok(());
        };
        for limit in limits {
            let customer = limit
                .per_customer
                .then(|| customer_of(template, path))
                .flatten();
            if limit.limiter.len() > TIDY_ABOVE {
                limit.limiter.retain_recent();
            }
            if let Err(not_until) = limit.limiter.check_key(&(partner, customer)) {
                let wait = not_until.wait_time_from(Instant::now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX));
            }
        }
        Ok(())
    }

    /// Forgets the counts of keys whose windows have passed.
    pub(crate) fn tidy(&self) {
        for limits in self.by_route.values() {
            for limit in limits {
                limit.limiter.retain_recent();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customer_is_read_where_the_template_names_it() {
        let customer = "3f2c7a1e-5b1d-4c7e-9a4b-2f1d3c4b5a6e";
        assert_eq!(
            customer_of(
                "/v1/customers/{customer_id}/qualifications",
                &format!("/v1/customers/{customer}/qualifications")
            ),
            Some(customer.parse().unwrap())
        );
        assert_eq!(customer_of("/v1/customers", "/v1/customers"), None);
        assert_eq!(
            customer_of("/v1/customers/{customer_id}", "/v1/customers/not-a-guid"),
            None
        );
    }
}
