//! The route table: every path and method the server answers, in one place, and the layers
//! every request passes through. A documented route is registered from its handler's OpenAPI
//! annotation (`utoipa_axum::routes!`), so its path is written once, there; the table is built
//! once and split into what serves the routes and their document ([`documented`]). Handlers live
//! in `api/`, named after their URL segment; extractors and middleware in `http/`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use qualify_app::settings::ContractProfile;
use tower::ServiceBuilder;
use tower::util::MapRequest;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{
    audit_records, customers, discovery, health, legacy, qualifications, review, test_control,
    token, validations, webhook_registration,
};
use crate::error::ApiError;
use crate::http::{middleware as layers, request_ids, trace};
use crate::openapi;
use crate::state::AppState;

/// Every documented route of the API (the test control plane's aside).
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::check))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        // The built-in token issuer, at Entra ID's paths.
        .routes(routes!(token::issue))
        .routes(routes!(discovery::user_realm))
        .routes(routes!(discovery::openid_configuration))
        .routes(routes!(discovery::openid_configuration_v1))
        .routes(routes!(discovery::keys))
        // Partner Center.
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(validations::list))
        .routes(routes!(customers::show))
        // The retired singular endpoints, still called by the PowerShell module and the Java SDK.
        .routes(routes!(legacy::show, legacy::submit))
        .routes(routes!(qualifications::list, qualifications::submit))
        .routes(routes!(audit_records::list))
        .routes(routes!(audit_records::show))
        // Partner Center's webhooks.
        .routes(routes!(webhook_registration::events))
        .routes(routes!(
            webhook_registration::show,
            webhook_registration::create,
            webhook_registration::update,
            webhook_registration::delete
        ))
        .routes(routes!(webhook_registration::create_validation_event))
        .routes(routes!(webhook_registration::show_validation_event))
        .routes(routes!(webhook_registration::certificate))
        // The reviewers' API.
        .routes(routes!(audit_records::review_list))
        .routes(routes!(review::list))
        .routes(routes!(review::show))
        .routes(routes!(review::decide))
}

/// The test control plane, only in development mode: without it these paths don't exist.
fn test_control() -> OpenApiRouter<AppState> {
    use test_control::{clock, conformance, data, faults, journal, partners, rules};
    OpenApiRouter::new()
        .routes(routes!(partners::create))
        .routes(routes!(clock::show))
        .routes(routes!(clock::advance))
        .routes(routes!(rules::show, rules::set, rules::delete))
        .routes(routes!(faults::show, faults::set, faults::delete))
        .routes(routes!(journal::show))
        .routes(routes!(conformance::show))
        .routes(routes!(conformance::set))
        .routes(routes!(data::reset))
}

/// The documented routes of a server, as they serve, once their document is split off. The
/// API's and the test control plane's are kept apart because only the API's are throttled.
pub(crate) struct DocumentedRoutes {
    api: Router<AppState>,
    /// In development mode only.
    test_control: Option<Router<AppState>>,
}

/// The documented routes of a server in development mode (`dev`) or not, and their OpenAPI
/// document, answering lists in the `contract` profile: what the routes say of themselves, with
/// the conventions every operation shares. Built once, at start: a second build of the table
/// would only be thrown away.
pub(crate) fn documented(dev: bool, contract: ContractProfile) -> (DocumentedRoutes, Document) {
    let (api, mut paths) = api().split_for_parts();
    let test_control = dev.then(|| {
        let (routes, test_control_paths) = test_control().split_for_parts();
        paths.merge(test_control_paths);
        routes
    });
    let document = openapi::finish(paths, dev, contract);
    (DocumentedRoutes { api, test_control }, document)
}

/// The OpenAPI document alone (the routes built for it are dropped).
#[cfg(test)]
pub(crate) fn document(dev: bool, contract: ContractProfile) -> Document {
    documented(dev, contract).1
}

/// The reviewer console's pages, each answer carrying the console's security headers.
fn console() -> Router<AppState> {
    use crate::console::{assets, conformance, protect, queue, request, session};
    Router::new()
        .route("/console", get(queue::show))
        .route(
            "/console/sign-in",
            get(session::show).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/conformance", get(conformance::show))
        .route("/console/requests/{id}", get(request::show))
        .route("/console/requests/{id}/decision", post(request::decide))
        .route("/console/console.css", get(assets::style))
        .route("/console/console.js", get(assets::script))
        .layer(middleware::map_response(protect))
}

/// The routes with their layers; the outermost layer is listed first.
fn router(state: AppState, documented: DocumentedRoutes) -> Router {
    let settings = state.settings();
    let layers = ServiceBuilder::new()
        .layer(trace::RequestLogLayer)
        .layer(middleware::from_fn(request_ids::request_ids))
        // Only when metrics are served: without them, requests pay nothing for counting.
        .option_layer(
            settings
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
            settings
                .dev
                .then(|| crate::http::test_control::TestControlLayer(state.clone())),
        )
        .layer(DefaultBodyLimit::max(settings.http.body_limit))
        // Over TLS only: a browser told so by a plain-HTTP answer would be told by anyone.
        .option_layer(
            settings
                .http
                .serves_tls()
                .then(|| middleware::map_response(layers::strict_transport_security)),
        );
    let mut routes = documented
        .api
        // Published because OIDC metadata requires it; the built-in issuer has no
        // interactive sign-in, and the document describes none.
        .route("/{tenant}/oauth2/v2.0/authorize", get(discovery::authorize));
    if !state.rate_limits.is_empty() {
        // Only when configured: without limits, requests pay nothing for them.
        routes = routes.route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http::throttle::throttle,
        ));
    }
    if let Some(test_control) = documented.test_control {
        routes = routes.merge(test_control);
    }
    routes
        .merge(console())
        // The OpenAPI document, and a page to browse it (Swagger UI, served from the binary).
        .route("/openapi.json", get(openapi::serve))
        .merge(
            Router::from(
                utoipa_swagger_ui::SwaggerUi::new("/docs")
                    .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
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

/// The whole service as a server serves it, over hyper's connections.
pub(crate) type Routes =
    MapRequest<Router, fn(axum::http::Request<hyper::body::Incoming>) -> Request>;

/// The whole service, `documented`'s routes among the rest: paths are normalised before routing,
/// since Partner Center (ASP.NET) matches them case-insensitively and clients send
/// `/v1/Customers/…` too.
pub(crate) fn service<B>(
    state: AppState,
    documented: DocumentedRoutes,
) -> MapRequest<Router, fn(axum::http::Request<B>) -> Request>
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    ServiceBuilder::new()
        .map_request(layers::normalise_path::<B> as fn(axum::http::Request<B>) -> Request)
        .service(router(state, documented))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use qualify_app::settings::{RateLimit, RateLimitKey};

    use super::*;
    use crate::rate_limits::RateLimits;

    #[test]
    fn a_limit_must_name_an_operation_the_api_has() {
        let document = document(false, ContractProfile::Documented);
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
