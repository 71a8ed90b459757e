"""The generated-client scenario, through a client openapi-python-client made from the server's
own /openapi.json (imported as `qualify_client`), against a live development server: a token,
create a customer and find it with Partner Center's customer search, submit Education, see it
InReview, have the operator's reviewer approve it through the reviewer API, see Approved.
Usage: python scenario.py BASE_URL. Fails (exit 1) at the first step that goes otherwise."""

import sys
import uuid

from qualify_client import AuthenticatedClient, Client
from qualify_client.api.identity import issue_token
from qualify_client.api.partner_center import (
    create_customer,
    get_qualifications,
    list_customers,
    submit_qualification,
)
from qualify_client.api.review import decide_vetting_request, list_vetting_requests
from qualify_client.models import (
    Approved,
    BillingProfile,
    CompanyProfile,
    Customer,
    CustomerCollection,
    Education,
    EducationSegment,
    NewCustomer,
    PasswordAppUser,
    SubmittedQualification,
    TokenResponse,
    VettingRequest,
    VettingRequestCollection,
)

BASE = sys.argv[1]
SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"


def expect(what, value, kind):
    if not isinstance(value, kind):
        sys.exit(f"{what}: expected {kind.__name__}, got {value!r}")
    print(f"ok: {what}")
    return value


def token(tenant, client_id, secret, username, password):
    answer = issue_token.sync(
        tenant=tenant,
        client=Client(base_url=BASE),
        body=PasswordAppUser(
            grant_type="password", client_id=client_id, client_secret=secret,
            username=username, password=password, scope=SCOPE,
        ),
    )
    issued = expect(f"a token for {username}", answer, TokenResponse)
    return AuthenticatedClient(base_url=BASE, token=issued.access_token)


def states(partner, customer_id):
    answer = get_qualifications.sync(customer_id, client=partner)
    # The documented profile wraps the list ({"qualifications": [...]}); the sdk profile is bare.
    listed = answer if isinstance(answer, list) else getattr(answer, "qualifications", None)
    if listed is None:
        sys.exit(f"the qualifications: got {answer!r}")
    return [(str(s.qualification), str(s.vetting_status)) for s in listed]


partner = token("aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-0000000000a1",
                "dev-app-secret-a", "admin@partner-a.test", "dev-user-password-a")
domain = f"py-{uuid.uuid4().hex[:12]}.onmicrosoft.com"
created = expect("a customer created", create_customer.sync(
    client=partner,
    body=NewCustomer(
        company_profile=CompanyProfile(domain=domain),
        billing_profile=BillingProfile(company_name="Generated Python School"),
    ),
), Customer)
search = '{"Field":"Domain","Value":"%s","Operator":"starts_with"}' % domain[:15].upper()
found = expect("the customer search", list_customers.sync(client=partner, filter_=search),
               CustomerCollection)
if [c.id for c in found.items] != [created.id]:
    sys.exit(f"the search found {[c.id for c in found.items]}, not {created.id}")
print("ok: the search found exactly that customer")
expect("Education submitted", submit_qualification.sync(
    created.id, client=partner,
    body=Education(qualification="Education", education_segment=EducationSegment.K12),
), SubmittedQualification)
if states(partner, created.id) != [("Education", "InReview")]:
    sys.exit(f"expected InReview, got {states(partner, created.id)}")
print("ok: InReview")

reviewer = token("99999999-0000-4000-8000-000000000001", "99999999-0000-4000-8000-0000000000f1",
                 "dev-app-secret-operator", "reviewer@operator.test", "dev-reviewer-password")
queue = expect("the review queue", list_vetting_requests.sync(client=reviewer, customer_id=created.id),
               VettingRequestCollection)
expect("approved", decide_vetting_request.sync(
    queue.items[0].id, client=reviewer, body=Approved(vetting_status="Approved"),
), VettingRequest)
if states(partner, created.id) != [("Education", "Approved")]:
    sys.exit(f"expected Approved, got {states(partner, created.id)}")
print("ok: Approved, as the partner reads it")
