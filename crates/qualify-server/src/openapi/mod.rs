//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types, so it
//! can't drift from the code: built once at start, served at `/openapi.json` as bytes, browsable
//! at `/docs`. What every operation shares (Partner Center's request-id headers, the error
//! responses and their body, bearer authentication) is added once, by [`Conventions`], rather
//! than repeated on each handler; the rules that tie one request field to another, by
//! [`requests`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, Required};
use utoipa::{Modify, OpenApi};

mod names;
mod requests;

use qualify_app::settings::ContractProfile;
use qualify_types::{
    CONTINUATION_TOKEN_HEADER, QualificationState, Qualifications, SdkQualifications,
};

use crate::state::AppState;

/// What the document says of itself: its title, description and tags. Its operations come from
/// the route table (`router::documented`), each from its handler's annotation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Qualify",
        description = "Microsoft Partner Center's customer qualification API, with the vetting behind it. \
            Errors use Partner Center's body (`code`, `description`, `data`, `source`); every response \
            echoes `MS-RequestId` and `MS-CorrelationId`. See the project's docs/ for the contract profiles, \
            error codes and compatibility notes."
    ),
    tags(
        (name = "partner-center", description = "Partner Center's qualification API, as partners call it"),
        (name = "identity", description = "The built-in Entra-compatible token issuer"),
        (name = "webhooks", description = "Partner Center's webhook registration API, and the certificate that verifies events"),
        (name = "review", description = "The reviewers' API (reviewer role of the operator tenant)"),
        (name = "operations", description = "Health")
    )
)]
struct ApiDoc;

/// The test control plane's tag, published only by a server in development mode (the only one
/// that serves it).
#[derive(OpenApi)]
#[openapi(tags((name = "test-control", description = "The test control plane: only with --dev, and acting on the calling partner alone")))]
struct TestControlDoc;

/// Shared parts of every operation.
struct Conventions;

/// The error statuses every authenticated operation may answer.
const COMMON_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed input: a GUID (900118), an enum value (900126), a property or header (3000), the body (800002)",
    ),
    ("401", "No bearer token (800001) or an invalid one (400)"),
    ("403", "The token lacks the right for this call (900150)"),
    ("413", "The body is larger than the limit (610008)"),
    (
        "500",
        "An unexpected error (800003); the cause is in the server's log",
    ),
    (
        "503",
        "The database is unavailable (610011) or the request took too long (610012); retry",
    ),
];

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn id_header(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(128))
                .min_length(Some(1))
                // What the server takes: printable ASCII without spaces (a GUID, typically).
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.schemas.insert(
            "ErrorBody".into(),
            <qualify_types::ErrorBody as utoipa::PartialSchema>::schema(),
        );
        components.schemas.insert(
            "ThrottleBody".into(),
            <qualify_types::ThrottleBody as utoipa::PartialSchema>::schema(),
        );
        let throttled = ResponseBuilder::new()
            .description("Throttled, as Partner Center throttles: a configured rate limit (or, with --dev, a test's fault); retry after Retry-After seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ThrottleBody")))
                    .build(),
            )
            .build();
        let error = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        let echoed = |description: &str| {
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(description))
                .build()
        };

        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = ["/v1/", "/review/", "/test/", "/webhooks/v1/registration"]
                .iter()
                .any(|prefix| path.starts_with(prefix));
            for operation in operations(item) {
                // An operation that states its own security (none, for making a test partner)
                // keeps it.
                let authenticated = api && operation.security.is_none();
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                for parameter in parameters.iter_mut() {
                    let utoipa::openapi::RefOr::T(parameter) = parameter else {
                        continue;
                    };
                    if parameter
                        .name
                        .eq_ignore_ascii_case(CONTINUATION_TOKEN_HEADER)
                        || parameter.name == "continuationToken"
                    {
                        parameter.schema = Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(crate::http::pagination::TOKEN_PATTERN))
                                .into(),
                        );
                    }
                }
                parameters.push(id_header("MS-RequestId", "Unique per request (a GUID); a retry sends the same one, which makes POSTs idempotent. Generated when absent.").into());
                parameters.push(id_header("MS-CorrelationId", "Ties the calls of one client operation together (a GUID). Generated when absent.").into());
                if authenticated {
                    operation.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                    if path.starts_with("/v1/") {
                        operation
                            .responses
                            .responses
                            .entry("429".to_owned())
                            .or_insert_with(|| throttled.clone().into());
                    }
                    for (status, description) in COMMON_ERRORS {
                        operation
                            .responses
                            .responses
                            .entry((*status).to_owned())
                            .or_insert_with(|| {
                                ResponseBuilder::new()
                                    .description(*description)
                                    .content("application/json", error.clone())
                                    .into()
                            });
                    }
                } else {
                    operation
                        .responses
                        .responses
                        .entry("400".to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(
                                    "An unusable MS-RequestId or MS-CorrelationId header (3000)",
                                )
                                .content("application/json", error.clone())
                                .into()
                        });
                }
                for response in operation.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response {
                        response.headers.insert(
                            "MS-RequestId".into(),
                            echoed("The request's MS-RequestId, or the one generated for it")
                                .into(),
                        );
                        response.headers.insert(
                            "MS-CorrelationId".into(),
                            echoed("The request's MS-CorrelationId, or the one generated for it")
                                .into(),
                        );
                    }
                }
            }
        }
        add_links(openapi);
    }
}

/// The operation whose id is `id`: operations are named by their ids here, never by their
/// paths, which only the handlers' annotations write.
fn operation_mut<'a>(openapi: &'a mut Document, id: &str) -> Option<&'a mut Operation> {
    openapi
        .paths
        .paths
        .values_mut()
        .flat_map(operations)
        .find(|operation| operation.operation_id.as_deref() == Some(id))
}

/// Links from a created customer to what can be done with it, so tools (schemathesis' stateful
/// testing among them) can follow POST → GET.
fn add_links(openapi: &mut Document) {
    let Some(create) = operation_mut(openapi, "createCustomer") else {
        return;
    };
    let Some(utoipa::openapi::RefOr::T(created)) = create.responses.responses.get_mut("201") else {
        return;
    };
    for (name, operation_id) in [
        ("GetCustomer", "getCustomer"),
        ("GetQualifications", "getQualifications"),
        ("SubmitQualification", "submitQualification"),
        ("GetLegacyQualification", "getLegacyQualification"),
    ] {
        let link = LinkBuilder::new()
            .operation_id(operation_id)
            .parameter("customer_id", "$response.body#/id")
            .build();
        created.links.insert(name.to_owned(), link.into());
    }
}

/// The document as `/openapi.json` serves it: `document`, with the rules that tie request
/// fields together.
pub(crate) fn published(document: Document) -> serde_json::Value {
    let mut published = serde_json::to_value(document).expect("the document serialises");
    requests::describe(&mut published);
    names::collections_by_reference(&mut published);
    published
}

/// `published` as the bytes `/openapi.json` answers.
pub(crate) fn serialised(published: &serde_json::Value) -> Bytes {
    Bytes::from(serde_json::to_vec(published).expect("a JSON value serialises"))
}

/// `GET /openapi.json`: the document this server publishes, serialised once at start.
pub(crate) async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.clone(),
    )
}

/// The document of a server whose routes describe themselves as `routes`: in development mode
/// (`dev`) with the test control plane's tag, its `contract` profile's qualification list, and
/// what every operation shares. Each profile gets a document of its own, rather than one with a
/// union of both lists, so a client generated from it gets the one type the server answers.
pub(crate) fn finish(routes: Document, dev: bool, contract: ContractProfile) -> Document {
    let mut document = ApiDoc::openapi();
    if dev {
        document.merge(TestControlDoc::openapi());
    }
    document.merge(routes);
    Conventions.modify(&mut document);
    if contract == ContractProfile::Sdk {
        describe_sdk_list(&mut document);
    }
    document
}

/// Makes `getQualifications` answer the `sdk` profile's bare array (the annotations describe the
/// `documented` profile's wrapped list).
fn describe_sdk_list(openapi: &mut Document) {
    use utoipa::{PartialSchema, ToSchema};
    let listed = operation_mut(openapi, "getQualifications")
        .and_then(|get| get.responses.responses.get_mut("200"));
    let Some(utoipa::openapi::RefOr::T(listed)) = listed else {
        unreachable!("getQualifications documents its 200");
    };
    for content in listed.content.values_mut() {
        if let utoipa::openapi::RefOr::T(content) = content {
            content.schema = Some(Ref::from_schema_name(SdkQualifications::name()).into());
        }
    }
    let components = openapi.components.get_or_insert_with(Default::default);
    // The wrapped list, and its items that name the date otherwise.
    components.schemas.remove(&*Qualifications::name());
    components.schemas.remove(&*QualificationState::name());
    components.schemas.insert(
        SdkQualifications::name().into(),
        SdkQualifications::schema(),
    );
}
