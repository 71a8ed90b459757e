"""Schemathesis hooks for Qualify's CI (loaded through SCHEMATHESIS_HOOKS by .ci/schemathesis).

`positive_data_acceptance` says every request the OpenAPI document allows must be accepted. The
document states every rule of a request's own shape, including the ones that tie its fields
together (see crates/qualify-server/src/openapi/requests.rs). A few refusals depend on what no
document can state: the server's data, the clock, a value in the query or path that must agree
with the body, or names unique within a list. For the operations where those exist, .ci/schemathesis.toml turns the built-in check off
and this one runs instead: the built-in check, except for exactly those refusals, each named
below with why.
"""

import json

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance


def _error(response):
    try:
        return json.loads(response.text)
    except ValueError:
        return {}


def _credentials_unknown(response):
    # Client ids, secrets, users, refresh tokens and tenants that do not exist: OAuth's answers
    # for them, as schemathesis itself allows for an OAuth2 scheme's tokenUrl. And Entra's rule
    # that ties the grant in the body to the authority in the path (AADSTS9001023: no password
    # or client credentials over /common; no client credentials over /organizations).
    error = _error(response)
    description = error.get("error_description", "")
    return (
        error.get("error") in {"invalid_client", "invalid_grant", "unauthorized_client"}
        or description.startswith(("AADSTS90002:", "AADSTS9001023:"))
        or "needs the application's tenant in the path" in description
    )


def _validation_code_refused(response):
    # A GCC code must be one of the calling partner's (server data), and `?code=` must agree
    # with the body's qualification and `validationCode` (a query value tied to the body).
    description = _error(response).get("description", "")
    return any(named in description for named in ("'validationCode'", "'code'", "validation code"))


def _period_refused(response):
    # Partner Center keeps 90 days of records, counted from today; and the period's end must
    # follow its start: relations to the clock and between two parameters.
    description = _error(response).get("description", "")
    return "days ago" in description or "must be after 'startDate'" in description


def _registration_lacks_test_event(response):
    # A validation event needs a registration that includes `test-created`: server data.
    return "does not include the event" in _error(response).get("description", "")


def _rule_name_repeated(response):
    # Rule names are unique in a set: JSON Schema's uniqueItems compares whole items, and has
    # no way to say "unique by one property".
    return "another rule is named" in _error(response).get("description", "")


def _patterns_over_their_bounds(response):
    # A partner's globs are bounded in bytes all together (4 KiB: what matching one request or
    # submission may cost), and a node's faults by a budget shared among the partners that have
    # some: a sum over a list, and server state, neither of which JSON Schema can state.
    description = _error(response).get("description", "")
    return "bytes together" in description or "room for faults is shared" in description


def _rules_refused(response):
    return _rule_name_repeated(response) or _patterns_over_their_bounds(response)


STATE_DEPENDENT_REFUSALS = {
    "POST /{tenant}/oauth2/v2.0/token": _credentials_unknown,
    "POST /v1/customers/{customer_id}/qualifications": _validation_code_refused,
    "PUT /v1/customers/{customer_id}/qualification": _validation_code_refused,
    "GET /v1/auditrecords": _period_refused,
    "GET /review/v1/auditrecords": _period_refused,
    "POST /webhooks/v1/registration/validationEvents": _registration_lacks_test_event,
    "PUT /test/v1/rules": _rules_refused,
    "PUT /test/v1/faults": _patterns_over_their_bounds,
}


@schemathesis.check
def positive_data_acceptance_but_state(ctx, response, case):
    """positive_data_acceptance, less the refusals that depend on state no schema holds."""
    refused_for_state = STATE_DEPENDENT_REFUSALS.get(case.operation.label)
    if refused_for_state is None:
        return None  # the built-in check runs on this operation
    if response.status_code == 400 and refused_for_state(response):
        return None
    return positive_data_acceptance(ctx, response, case)
