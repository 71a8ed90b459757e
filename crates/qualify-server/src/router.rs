//! The route table: every path and method the server answers, in one function, and the layers
//! every request passes through. Handlers live in `api/`, named after their URL segment;
//! extractors and middleware in `http/`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use tower::ServiceBuilder;
use tower::util::MapRequest;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::{
    audit_records, customers, discovery, health, legacy, qualifications, review, test_control,
    token, validations, webhook_registration,
};
use crate::error::ApiError;
use crate::http::{middleware as layers, request_ids, trace};
use crate::state::AppState;

/// Every route of the server.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::check))
        .route("/livez", get(health::live))
        .route("/readyz", get(health::ready))
        // The built-in token issuer, at Entra ID's paths.
        .route("/{tenant}/oauth2/v2.0/token", post(token::issue))
        .route("/{tenant}/oauth2/v2.0/authorize", get(discovery::authorize))
        .route("/common/userrealm/{username}", get(discovery::user_realm))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration_v1),
        )
        .route("/discovery/v2.0/keys", get(discovery::keys))
        // Partner Center.
        .route(
            "/v1/customers",
            get(customers::list).post(customers::create),
        )
        .route("/v1/customers/all/validations", get(validations::list))
        .route("/v1/customers/{customer_id}", get(customers::show))
        // The retired singular endpoints, still called by the PowerShell module and the Java SDK.
        .route(
            "/v1/customers/{customer_id}/qualification",
            get(legacy::show).put(legacy::submit),
        )
        .route(
            "/v1/customers/{customer_id}/qualifications",
            get(qualifications::list).post(qualifications::submit),
        )
        .route("/v1/auditrecords", get(audit_records::list))
        .route("/v1/auditrecords/{id}", get(audit_records::show))
        // Partner Center's webhooks.
        .route(
            "/webhooks/v1/registration/events",
            get(webhook_registration::events),
        )
        .route(
            "/webhooks/v1/registration",
            get(webhook_registration::show)
                .post(webhook_registration::create)
                .put(webhook_registration::update)
                .delete(webhook_registration::delete),
        )
        .route(
            "/webhooks/v1/registration/validationEvents",
            post(webhook_registration::create_validation_event),
        )
        .route(
            "/webhooks/v1/registration/validationEvents/{correlation_id}",
            get(webhook_registration::show_validation_event),
        )
        .route(
            "/webhooks/v1/certificates/{name}",
            get(webhook_registration::certificate),
        )
        // The reviewers' API.
        .route("/review/v1/auditrecords", get(audit_records::review_list))
        .route("/review/v1/requests", get(review::list))
        .route("/review/v1/requests/{id}", get(review::show))
        .route("/review/v1/requests/{id}/decision", post(review::decide))
}

/// The test control plane, only in development mode: without it these paths don't exist.
fn test_control_routes() -> Router<AppState> {
    use test_control::{clock, data, faults, journal, partners, rules};
    Router::new()
        .route("/test/v1/partners", post(partners::create))
        .route("/test/v1/clock", get(clock::show))
        .route("/test/v1/clock/advance", post(clock::advance))
        .route(
            "/test/v1/rules",
            get(rules::show).put(rules::set).delete(rules::delete),
        )
        .route(
            "/test/v1/faults",
            get(faults::show).put(faults::set).delete(faults::delete),
        )
        .route("/test/v1/journal", get(journal::show))
        .route("/test/v1/data", delete(data::reset))
}

/// The reviewer console's pages, each answer carrying the console's security headers.
fn console_routes() -> Router<AppState> {
    use crate::console::{assets, protect, queue, request, session};
    Router::new()
        .route("/console", get(queue::show))
        .route(
            "/console/sign-in",
            get(session::show).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/requests/{id}", get(request::show))
        .route("/console/requests/{id}/decision", post(request::decide))
        .route("/console/console.css", get(assets::style))
        .route("/console/console.js", get(assets::script))
        .layer(middleware::map_response(protect))
}

/// The routes with their layers; the outermost layer is listed first.
fn router(state: AppState) -> Router {
    let layers = ServiceBuilder::new()
        .layer(trace::RequestLogLayer)
        .layer(middleware::from_fn(request_ids::request_ids))
        // Only when metrics are served: without them, requests pay nothing for counting.
        .option_layer(
            state
                .settings()
                .http
                .metrics_listen
                .is_some()
                .then(|| crate::metrics::http::RequestMetricsLayer(state.clone())),
        )
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::request_timeout,
        ))
        // Development mode only: a server without --dev has no such layer at all.
        .option_layer(
            state
                .settings()
                .dev
                .then(|| crate::http::test_control::TestControlLayer(state.clone())),
        )
        .layer(DefaultBodyLimit::max(state.settings().http.body_limit));
    let mut routes = routes();
    if !state.rate_limits.is_empty() {
        // Only when configured: without limits, requests pay nothing for them.
        routes = routes.route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http::throttle::throttle,
        ));
    }
    if state.settings().dev {
        routes = routes.merge(test_control_routes());
    }
    routes = routes.merge(console_routes());
    routes
        // The OpenAPI document, and a page to browse it (Swagger UI, served from the binary).
        .merge(
            Router::from(
                utoipa_swagger_ui::SwaggerUi::new("/docs").external_url_unchecked(
                    "/openapi.json",
                    crate::openapi::published(state.settings().dev, state.settings().http.contract),
                ),
            )
            .layer(middleware::from_fn(
                crate::http::docs_assets::gunzip_unless_accepted,
            )),
        )
        .fallback(layers::not_found)
        .method_not_allowed_fallback(layers::method_not_allowed)
        .layer(layers)
        .with_state(state)
}

/// The whole service: paths are normalised before routing, since Partner Center (ASP.NET)
/// matches them case-insensitively and clients send `/v1/Customers/…` too.
pub(crate) fn service<B>(
    state: AppState,
) -> MapRequest<Router, fn(axum::http::Request<B>) -> Request>
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    ServiceBuilder::new()
        .map_request(layers::normalise_path::<B> as fn(axum::http::Request<B>) -> Request)
        .service(router(state))
}
