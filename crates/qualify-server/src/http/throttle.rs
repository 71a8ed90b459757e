//! Rate limits as Partner Center throttles (`rate_limits` in the config file; none unless
//! configured): at most so many requests of an operation in a window, per partner or per
//! partner and customer; more answer 429 with `Retry-After` and Partner Center's throttling
//! body. Each node counts its own requests: behind a load balancer spreading requests over N
//! nodes, a partner gets up to N times a limit.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota};
use qualify_types::{CustomerId, TenantId};

use crate::settings::{RateLimit, RateLimitKey};
use crate::{AppState, InvalidSettings};

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

pub(crate) use crate::error::throttled;

/// Counts the request against its operation's limits; answers 429 when one is spent.
pub(crate) async fn throttle(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limits = request.extensions().get::<MatchedPath>().and_then(|route| {
        state
            .rate_limits
            .by_route
            .get(&(request.method().clone(), route.as_str().to_owned()))
            .map(|limits| (route.as_str().to_owned(), limits))
    });
    let Some((template, limits)) = limits else {
        return next.run(request).await;
    };
    // A request without a valid token is the handler's to refuse, and counts for nobody.
    let Some(partner) = state
        .app
        .identity()
        .verified_tenant(
            request
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok()),
        )
        .await
    else {
        return next.run(request).await;
    };
    for limit in limits {
        let customer = limit
            .per_customer
            .then(|| customer_of(&template, request.uri().path()))
            .flatten();
        if limit.limiter.len() > TIDY_ABOVE {
            limit.limiter.retain_recent();
        }
        if let Err(not_until) = limit.limiter.check_key(&(partner, customer)) {
            let wait = not_until.wait_time_from(Instant::now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return throttled(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX));
        }
    }
    next.run(request).await
}

/// Forgets, now and then, the counts of keys whose windows have passed.
pub(crate) async fn tidy(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        for limits in state.rate_limits.by_route.values() {
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

    #[test]
    fn a_limit_must_name_an_operation_the_api_has() {
        let document = crate::openapi::document(false, crate::ContractProfile::Documented);
        let limit = |operation: &str, key| RateLimit {
            operation: operation.into(),
            key,
            requests: 5,
            per: Duration::from_secs(60),
        };
        assert!(
            RateLimits::new(
                &[limit(
                    "submitQualification",
                    RateLimitKey::PartnerAndCustomer
                )],
                &document
            )
            .is_ok()
        );
        assert!(
            RateLimits::new(&[limit("*", RateLimitKey::PartnerAndCustomer)], &document).is_ok()
        );
        let unknown = RateLimits::new(
            &[limit("submitQualifications", RateLimitKey::Partner)],
            &document,
        );
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("submitQualifications")
        );
        let no_customer = RateLimits::new(
            &[limit("listCustomers", RateLimitKey::PartnerAndCustomer)],
            &document,
        );
        assert!(no_customer.unwrap_err().to_string().contains("names none"));
    }
}
