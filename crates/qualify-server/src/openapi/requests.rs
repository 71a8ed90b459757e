//! What the server requires of a request beyond each type's own shape: the rules that tie one
//! field to another (Education needs a segment, a customer needs a name in one of two places,
//! each grant its own fields), written into the document as JSON Schema so that every request
//! the document allows is one the server takes.
//!
//! What no schema can say (whether a validation code is the partner's, whether a date is within
//! the last 90 days) is listed, with the server's refusals for it, in `.ci/schemathesis_hooks.py`.

use qualify_types::webhooks::EVENT_NAMES;
use qualify_types::{CustomerSearchField, PARTNER_CENTER_AUDIENCE, STARTS_WITH};
use serde_json::{Value, json};

use crate::test_control::faults::{MAX_DELAY_MS, MAX_PATH_CHARS};
use qualify_app::identity::USER_IMPERSONATION;
use qualify_app::usecases::webhooks::{MAX_URL_LEN, WEBHOOK_URL_PATTERN};
use qualify_domain::MAX_NAME;

/// Text without control characters, starting with a visible one: what the server's
/// `plain_text` takes (it trims), up to `max` characters.
fn plain_text_pattern(max: usize) -> String {
    format!(
        "^[^\\x00-\\x1F\\x7F-\\x9F\\s][^\\x00-\\x1F\\x7F-\\x9F]{{0,{}}}$",
        max - 1
    )
}

/// A string schema of [`plain_text_pattern`].
fn plain_text(max: usize) -> Value {
    json!({"type": "string", "pattern": plain_text_pattern(max)})
}

/// The customer's text fields, as `POST /v1/customers` checks them (the stored values it
/// answers with were checked so too).
fn customer_fields(schemas: &mut Value) {
    let fields: [(&str, &str, String); 10] = [
        ("CompanyProfile", "companyName", plain_text_pattern(200)),
        ("BillingProfile", "companyName", plain_text_pattern(200)),
        // something@somewhere.tld, as `optional_email` takes it.
        (
            "BillingProfile",
            "email",
            "^[^\\s@\\x00-\\x1F\\x7F-\\x9F]{1,100}@[^\\s@\\x00-\\x1F\\x7F-\\x9F]{0,100}\\.[^\\s@\\x00-\\x1F\\x7F-\\x9F]{0,50}$".to_owned(),
        ),
        ("BillingProfile", "culture", plain_text_pattern(16)),
        ("BillingProfile", "language", plain_text_pattern(16)),
        ("Address", "country", "^[A-Za-z]{2}$".to_owned()),
        ("Address", "region", plain_text_pattern(128)),
        ("Address", "city", plain_text_pattern(128)),
        ("Address", "addressLine1", plain_text_pattern(256)),
        ("Address", "postalCode", plain_text_pattern(32)),
    ];
    for (schema, name, pattern) in fields {
        let property = &mut schemas[schema]["properties"][name];
        assert!(property.is_object(), "the document has no {schema}.{name}");
        property["pattern"] = pattern.into();
    }
}

/// A GCC validation code: 1–64 characters, none of them spaces or controls.
fn validation_code() -> Value {
    json!({"type": "string", "pattern": "^[^\\x00-\\x20\\x7F-\\x9F\\s]{1,64}$"})
}

/// A GUID, in either case.
const GUID: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// A school's host name: two labels or more (as `Website::parse` wants), the last starting with a
/// letter (so no URL parser reads it as an IPv4 address).
const WEBSITE_HOST: &str =
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/// An optional path of unreserved characters after a host.
const URL_PATH: &str = r"(/[A-Za-z0-9._~/-]*)?";

/// `POST …/qualifications`: each qualification with exactly the details it takes.
fn qualification_submission() -> Value {
    let website = json!({
        "type": "string",
        "description": "The school's web site: a host name (`contoso.edu`) or an http(s) URL.",
        "pattern": format!("^([Hh][Tt][Tt][Pp][Ss]?://)?{WEBSITE_HOST}{URL_PATH}$"),
        "maxLength": 2048,
    });
    json!({
        "description": "The body of `POST …/qualifications`. The qualification's name is matched in any casing. \
            Education takes a segment (required) and a website; GovernmentCommunityCloud one of the partner's \
            validation codes (here or in `?code=`); StateOwnedEntity nothing more.",
        "example": {"qualification": "Education", "educationSegment": "K12", "website": "contoso.edu"},
        "oneOf": [
            {
                "type": "object",
                "title": "Education",
                "required": ["qualification", "educationSegment"],
                "properties": {
                    "qualification": {"const": "Education"},
                    "educationSegment": {"$ref": "#/components/schemas/EducationSegment"},
                    "website": {"oneOf": [website, {"type": "null"}]},
                    "validationCode": {"type": "null"},
                },
            },
            {
                "type": "object",
                "title": "GovernmentCommunityCloud",
                "required": ["qualification"],
                "properties": {
                    "qualification": {"const": "GovernmentCommunityCloud"},
                    "validationCode": validation_code(),
                    "educationSegment": {"type": "null"},
                    "website": {"type": "null"},
                },
            },
            {
                "type": "object",
                "title": "StateOwnedEntity",
                "required": ["qualification"],
                "properties": {
                    "qualification": {"const": "StateOwnedEntity"},
                    "educationSegment": {"type": "null"},
                    "website": {"type": "null"},
                    "validationCode": {"type": "null"},
                },
            },
        ],
    })
}

/// `POST /v1/customers`: the company's name is required, in either profile.
fn new_customer_needs_a_name(original: Value) -> Value {
    json!({
        "allOf": [
            original,
            {
                "anyOf": [
                    {
                        "required": ["billingProfile"],
                        "properties": {"billingProfile": {
                            "type": "object",
                            "required": ["companyName"],
                            "properties": {"companyName": plain_text(200)},
                        }},
                    },
                    {
                        "required": ["companyProfile"],
                        "properties": {"companyProfile": {
                            "type": "object",
                            "required": ["companyName"],
                            "properties": {"companyName": plain_text(200)},
                        }},
                    },
                ],
            },
        ],
    })
}

/// The token endpoint's form, one shape per grant.
fn token_form(original: Value) -> Value {
    let audience = regex_escape(PARTNER_CENTER_AUDIENCE);
    let default = format!("{audience}/\\.default");
    let impersonation = format!("{audience}/{USER_IMPERSONATION}");
    let openid = "(openid|profile|email|offline_access)";
    let delegated_scope = format!("^({openid} )*({default}|{impersonation})( {openid})*$");
    let text = json!({"type": "string", "pattern": "^[!-~]+$"});
    let description = original["description"].clone();
    json!({
        "description": description,
        "oneOf": [
            {
                "type": "object",
                "title": "client_credentials (App-only)",
                "required": ["grant_type", "client_id", "client_secret", "scope"],
                "properties": {
                    "grant_type": {"const": "client_credentials"},
                    "client_id": text,
                    "client_secret": text,
                    "scope": {"type": "string", "pattern": format!("^{default}$")},
                },
            },
            {
                "type": "object",
                "title": "password (App+User)",
                "required": ["grant_type", "client_id", "client_secret", "username", "password", "scope"],
                "properties": {
                    "grant_type": {"const": "password"},
                    "client_id": text,
                    "client_secret": text,
                    "username": text,
                    "password": text,
                    "scope": {"type": "string", "pattern": delegated_scope},
                    "client_info": original["properties"]["client_info"],
                },
            },
            {
                "type": "object",
                "title": "refresh_token",
                "required": ["grant_type", "client_id", "client_secret", "refresh_token"],
                "properties": {
                    "grant_type": {"const": "refresh_token"},
                    "client_id": text,
                    "client_secret": text,
                    "refresh_token": text,
                    "scope": {"type": "string", "pattern": delegated_scope},
                    "client_info": original["properties"]["client_info"],
                },
            },
        ],
    })
}

/// A reviewer's decision: an approval carries no reason, a denial one.
fn decision(original: Value) -> Value {
    json!({
        "description": original["description"],
        "example": original["example"],
        "oneOf": [
            {
                "type": "object",
                "title": "Approved",
                "required": ["vettingStatus"],
                "properties": {
                    "vettingStatus": {"const": "Approved"},
                    "vettingReason": {"type": "null"},
                },
            },
            {
                "type": "object",
                "title": "Denied",
                "required": ["vettingStatus", "vettingReason"],
                "properties": {
                    "vettingStatus": {"const": "Denied"},
                    "vettingReason": plain_text(500),
                },
            },
        ],
    })
}

/// `schema`, or null (which the server reads as absent).
fn optional(schema: Value) -> Value {
    json!({"oneOf": [schema, {"type": "null"}]})
}

/// A test's fault: an answer with a status (`retryAfter` only with 429), a closed connection, or
/// only a delay; on a path glob of whole `*`/`**` segments or names with at most one `*`.
fn fault(original: Value) -> Value {
    let base = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["path"],
        "properties": {
            "path": {
                "type": "string",
                "pattern": r"^(\*\*?|(/([A-Za-z0-9._~-]*\*?[A-Za-z0-9._~-]*|\*\*))+)$",
                "maxLength": MAX_PATH_CHARS,
            },
            // `*`, or any HTTP method: a token.
            "method": optional(json!({"type": "string", "pattern": r"^(\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+)$"})),
            "times": optional(json!({"type": "integer", "minimum": 1, "maximum": u32::MAX})),
            "probability": optional(json!({"type": "number", "minimum": 0, "maximum": 1})),
            "delayMs": optional(json!({"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS})),
            "seed": optional(json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            // Any value here: each branch below says which (an empty schema rather than `true`,
            // which some generators can't read).
            "status": {},
            "retryAfter": {},
            "close": {},
        },
    });
    json!({
        "description": original["description"],
        "allOf": [base, {"oneOf": [
            {
                "title": "Throttled",
                "required": ["status"],
                "properties": {
                    "status": {"const": 429},
                    "retryAfter": optional(json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})),
                    "close": {"enum": [false, null]},
                },
            },
            {
                "title": "An error",
                "required": ["status"],
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599, "not": {"const": 429}},
                    "retryAfter": {"type": "null"},
                    "close": {"enum": [false, null]},
                },
            },
            {
                "title": "A closed connection",
                "required": ["close"],
                "properties": {
                    "close": {"const": true},
                    "status": {"type": "null"},
                    "retryAfter": {"type": "null"},
                },
            },
            {
                "title": "A delay only",
                "required": ["delayMs"],
                "properties": {
                    "delayMs": {"type": "integer", "minimum": 1},
                    "close": {"enum": [false, null]},
                    "status": {"type": "null"},
                    "retryAfter": {"type": "null"},
                },
            },
        ]}],
    })
}

/// A test's vetting rule: its decision (a reason only with, and always with, `Denied`; a delay
/// only with a decision), and each condition only for the qualification it can apply to.
fn vetting_rule(original: Value) -> Value {
    let glob = json!({
        "type": "string",
        "pattern": r"^(\*|(\*?[A-Za-z0-9._-]+)+\*?)$",
        "maxLength": qualify_domain::MAX_GLOB_CHARS,
    });
    // A list key takes one string too.
    let globs = json!({"oneOf": [glob, {"type": "array", "items": glob}]});
    let guid = format!("^{GUID}$");
    let base = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "decision"],
        "properties": {
            "name": {"type": "string", "pattern": format!("^[A-Za-z0-9._-]{{1,{MAX_NAME}}}$")},
            "decision": {},
            "reason": {},
            "after": {},
            "qualification": {},
            "educationSegment": {"oneOf": [{"$ref": "#/components/schemas/EducationSegment"}, {"type": "null"}]},
            "customerDomain": globs,
            "website": globs,
            "validationCode": globs,
            "partner": {"oneOf": [
                {"type": "string", "pattern": guid},
                {"type": "array", "items": {"type": "string", "pattern": guid}},
            ]},
            "times": optional(json!({"type": "integer", "minimum": 1, "maximum": u32::MAX})),
        },
    });
    // Up to 999 of a unit: under the ten years a delay may be.
    let after = json!({"type": "string", "pattern": "^[1-9][0-9]{0,2}(s|m|h|d)$"});
    let none = json!({"type": "null"});
    let empty = json!({"type": "array", "maxItems": 0});
    json!({
        "description": original["description"],
        "allOf": [
            base,
            {"oneOf": [
                {"title": "Approves", "properties": {
                    "decision": {"const": "Approved"}, "reason": none, "after": {"oneOf": [after, none]}}},
                {"title": "Denies", "required": ["reason"], "properties": {
                    "decision": {"const": "Denied"}, "reason": plain_text(500), "after": {"oneOf": [after, none]}}},
                {"title": "Leaves to a reviewer", "properties": {
                    "decision": {"const": "InReview"}, "reason": none, "after": none}},
            ]},
            {"anyOf": [
                {"title": "Any qualification", "properties": {"qualification": none}},
                {"title": "Education", "properties": {
                    "qualification": {"const": "Education"}, "validationCode": empty}},
                {"title": "GovernmentCommunityCloud", "properties": {
                    "qualification": {"const": "GovernmentCommunityCloud"},
                    "website": empty, "educationSegment": none}},
                {"title": "StateOwnedEntity", "properties": {
                    "qualification": {"const": "StateOwnedEntity"},
                    "website": empty, "educationSegment": none, "validationCode": empty}},
            ]},
        ],
    })
}

/// The legacy PUT's body: a name the server reads (shown in its canonical and its lower snake
/// case forms; any casing is read) or the .NET enum's integer.
fn legacy_qualification(original: Value) -> Value {
    json!({
        "description": original["description"],
        // Both spellings are taken, each an enum of its own: one enum holding `Education` and
        // `education` is one generators refuse (their members' names collide).
        "oneOf": [
            {
                "title": "LegacyQualificationName",
                "type": "string",
                "enum": ["Education", "GovernmentCommunityCloud", "StateOwnedEntity"],
                "description": "The .NET enum's name, as the Java SDK and the PowerShell module send it.",
            },
            {
                "title": "LegacyQualificationWireName",
                "type": "string",
                "enum": ["education", "government_community_cloud", "state_owned_entity"],
                "description": "The name Partner Center's legacy endpoint writes in its answers.",
            },
            {
                "title": "LegacyQualificationNumber",
                "type": "integer",
                "enum": [1, 3, 4],
                "description": "The .NET enum's integer: 1 Education, 3 GovernmentCommunityCloud, 4 StateOwnedEntity.",
            },
        ],
    })
}

/// A registration: the URL the server takes, and the events a registration may name.
fn webhook_registration(mut original: Value) -> Value {
    original["properties"]["WebhookUrl"]["pattern"] = WEBHOOK_URL_PATTERN.into();
    original["properties"]["WebhookUrl"]["maxLength"] = MAX_URL_LEN.into();
    original["properties"]["WebhookEvents"]["items"] = json!({"enum": EVENT_NAMES});
    original
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$/".contains(c).then_some('\\');
            escape.into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// The audit record lists' parameters: `startDate` and `endDate` a date or an RFC 3339 date and
/// time (the .NET SDK's `MM/dd/yyyy HH:mm:ss` is read too, as the description says); `filter`
/// a JSON object in one of its three forms (its keys are read in any case, and in any order).
fn audit_parameters(document: &mut Value) {
    let date = json!({"anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]});
    let value = r#""Value":"[A-Za-z0-9][A-Za-z0-9 .,&'-]{0,99}""#;
    let filter = json!({"type": "string", "pattern": format!(
        r#"^(\{{"Field":"CompanyName",{value},"Operator":"substring"\}}|\{{"Field":"CustomerId","Value":"{GUID}","Operator":"equals"\}}|\{{"Field":"ResourceType",{value},"Operator":"equals"\}})$"#
    )});
    for id in ["getAuditRecords", "listAuditRecords"] {
        let Some(parameters) = operation(document, id)["parameters"].as_array_mut() else {
            panic!("the document's {id} has no parameters");
        };
        for parameter in parameters {
            match parameter["name"].as_str() {
                Some("startDate" | "endDate") => parameter["schema"] = date.clone(),
                Some("filter") => parameter["schema"] = filter.clone(),
                _ => {}
            }
        }
    }
}

/// The customer list's `filter`: Partner Center's customer search, a JSON object as Microsoft's
/// SDKs write it (compact, in this order; the server also reads other orders, casings and
/// spacing), its value up to 256 characters with no control character or JSON escape.
fn customer_parameters(document: &mut Value) {
    let fields = CustomerSearchField::ALL
        .map(CustomerSearchField::as_str)
        .join("|");
    let filter = json!({"type": "string", "pattern": format!(
        r#"^\{{"Field":"({fields})","Value":"[^"\\\x00-\x1F\x7F-\x9F]{{0,256}}","Operator":"{STARTS_WITH}"\}}$"#
    )});
    let Some(parameters) = operation(document, "listCustomers")["parameters"].as_array_mut() else {
        panic!("the document's listCustomers has no parameters");
    };
    for parameter in parameters {
        match parameter["name"].as_str() {
            Some("filter") => parameter["schema"] = filter.clone(),
            // `next` in any case: Partner Center's links write `next`, some of its pages `Next`.
            Some("seekOperation") => {
                parameter["schema"] = json!({"type": "string", "pattern": "^[Nn][Ee][Xx][Tt]$"});
            }
            _ => {}
        }
    }
}

/// The review queue's `decidedBy`: a reviewer's name, `rule:<name>`, or a prefix ending in `*`.
fn review_parameters(document: &mut Value) {
    let Some(parameters) = operation(document, "listVettingRequests")["parameters"].as_array_mut()
    else {
        panic!("the document's listVettingRequests has no parameters");
    };
    for parameter in parameters {
        if parameter["name"] == "decidedBy" {
            parameter["schema"] = plain_text(256);
        }
    }
}

/// The operation whose id is `id`, in the document as JSON: named by its id, never its path,
/// which only its handler's annotation writes. The document is made from the route table, so
/// an id it lacks is a mistake of this module's, caught by any test that reads the document.
fn operation<'a>(document: &'a mut Value, id: &str) -> &'a mut Value {
    document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .find(|operation| operation["operationId"] == id)
        .unwrap_or_else(|| panic!("the document has no operation {id}"))
}

/// A component schema's name, and what it becomes given what utoipa made of it.
type Rewrite = (&'static str, fn(Value) -> Value);

/// Rewrites, in the document as served, the request schemas whose fields depend on each other.
/// (As JSON: utoipa's schema types can't be read back from a composite without losing it.)
pub(super) fn describe(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    let rewrites: [Rewrite; 6] = [
        ("Decision", decision),
        ("QualificationSubmission", |_| qualification_submission()),
        ("NewCustomer", new_customer_needs_a_name),
        ("TokenForm", token_form),
        ("LegacyQualification", legacy_qualification),
        ("WebhookRegistrationRequest", webhook_registration),
    ];
    // Published only by a development server.
    let test_control: [Rewrite; 2] = [("Fault", fault), ("VettingRule", vetting_rule)];
    let development = schemas.get("Fault").is_some();
    for (name, rewrite) in rewrites
        .into_iter()
        .chain(test_control.into_iter().filter(|_| development))
    {
        let original = schemas[name].take();
        assert!(original.is_object(), "the document has no {name}");
        schemas[name] = rewrite(original);
    }
    customer_fields(&mut document["components"]["schemas"]);
    audit_parameters(document);
    customer_parameters(document);
    review_parameters(document);
}
